"""The kernel's state: one numba StructRef holding every array of a run (struct of arrays).

This module only defines the type, so that numba's on-disk cache recognises it across processes
(numba issue #9030: a StructRef type defined beside the functions that use it defeats the cache).
Households are rows of the ``h_*`` arrays (a slot is reused after its household leaves);
territories, states, size classes and transitions are axes of the other arrays. See
:mod:`lda_sim.engine.build` for what each field holds and :mod:`lda_sim.engine.kernel` for the
functions that run on it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numba import njit, typeof, types
from numba.core import cgutils
from numba.core.extending import intrinsic
from numba.experimental import structref

_f8_1, _f8_2, _f8_3 = types.float64[::1], types.float64[:, ::1], types.float64[:, :, ::1]
_i8_1, _i8_2, _i8_3 = types.int64[::1], types.int64[:, ::1], types.int64[:, :, ::1]
_i8_4 = types.int64[:, :, :, ::1]
_u8_1, _u8_2 = types.uint64[::1], types.uint64[:, ::1]
_i4_1, _i4_2 = types.int32[::1], types.int32[:, ::1]
_i2_2 = types.int16[:, ::1]
_f8_4 = types.float64[:, :, :, ::1]
_b1_1, _b1_2 = types.boolean[::1], types.boolean[:, ::1]
#: Waiting-list heaps (one per territory, state and fit bin) live in one pool of rows
#: (``heap_pool``; heap ``i`` holds rows ``heap_off[i]`` to ``heap_off[i] + heap_size[i]``).
#: Columns of a waiting-list heap row: four key components, the sequence number, the household slot.
HEAP_COLUMNS = 6


@structref.register
class KernelStateType(types.StructRef):
    """Numba type of the kernel state."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


FIELDS: tuple[tuple[str, types.Type], ...] = (
    ('clock', _f8_1),
    ('counters', _i8_1),
    ('h_seed', _u8_1),
    ('h_terr', _i4_1),
    ('h_kind', _i4_1),
    ('h_persons', _i4_1),
    ('h_size', _i4_1),
    ('h_needs', _i4_1),
    ('h_status', _i4_1),
    ('h_priority', _i4_1),
    ('h_cause', _i4_1),
    ('h_profile', _i4_1),
    ('h_state', _i4_1),
    ('h_entered_state', _f8_1),
    ('h_entered_system', _f8_1),
    ('h_supported', _i4_1),
    ('h_housed_at', _f8_1),
    ('h_token', _i8_1),
    ('h_uid', _i8_1),
    ('h_mobility_offers', _i4_1),
    ('h_ntickets', _i4_1),
    ('h_visits', _i2_2),
    ('h_offers', _i4_2),
    ('h_queue_since', _f8_2),
    ('h_ticket', _i4_2),
    ('free_slots', _i8_1),
    ('cap_kind', _i8_1),
    ('state_kind', _i8_1),
    ('qidx', _i8_1),
    ('n_bins', _i8_1),
    ('occ_h', _i8_2),
    ('occ_p', _i8_2),
    ('places', _i8_2),
    ('units', _i8_3),
    ('used_units', _i8_3),
    ('closing_places', _i8_2),
    ('closing_units', _i8_3),
    ('stay_law', _i8_2),
    ('stay_tr', _i8_3),
    ('stay_cum', _f8_3),
    ('stay_n', _i8_2),
    ('edge_origin', _i8_1),
    ('edge_target', _i8_1),
    ('edge_mode', _i8_1),
    ('edge_index', _i8_2),
    ('e_rate', _f8_2),
    ('e_refusal', _f8_2),
    ('e_ready', _i8_2),
    ('e_closed', _b1_2),
    ('out_q', _i8_2),
    ('n_out_q', _i8_1),
    ('out_h', _i8_2),
    ('n_out_h', _i8_1),
    ('elig', _b1_2),
    ('profile_dims', _i8_1),
    ('kind_isolated', _i8_1),
    ('kind_p_vals', _i8_2),
    ('kind_p_cum', _f8_2),
    ('kind_p_n', _i8_1),
    ('size_of_persons', _i8_1),
    ('pop_kind_idx', _i8_2),
    ('pop_kind_cum', _f8_2),
    ('pop_kind_n', _i8_1),
    ('pop_needs_idx', _i8_2),
    ('pop_needs_cum', _f8_2),
    ('pop_needs_n', _i8_1),
    ('pop_status', _f8_1),
    ('pop_priority', _f8_1),
    ('inf_n', _i8_1),
    ('inf_rate', _f8_2),
    ('inf_entry', _i8_2),
    ('inf_cause', _i8_2),
    ('inf_pop', _i8_2),
    ('inf_stream', _i8_2),
    ('prevented', _f8_2),
    ('div_share', _f8_2),
    ('div_to', _i8_2),
    ('has_cause', _b1_2),
    ('sup_is', _b1_2),
    ('sup_stock', _f8_2),
    ('sup_turn', _f8_2),
    ('sup_share', _f8_2),
    ('sup_token', _i8_2),
    ('sup_carry', _f8_2),
    ('sup_mix_cum', _f8_3),
    ('sup_mix_n', _i8_2),
    ('sup_stream', _i8_2),
    ('support_slots', _i8_1),
    ('support_used', _i8_1),
    ('support_states', _b1_2),
    ('support_reduction', _f8_1),
    ('slide_flag', _b1_2),
    ('slide_buf', _i8_2),
    ('hdays', _f8_2),
    ('pdays', _f8_2),
    ('cdays', _f8_2),
    ('last_change', _f8_2),
    ('cap_last', _f8_2),
    ('cost_basis', _i8_2),
    ('cost_per_day', _f8_2),
    ('support_cost_day', _f8_1),
    ('rule', _i8_2),
    ('wl_count', _i8_2),
    ('wl_seq', _i8_2),
    ('wl_stale', _i8_2),
    ('heap_pool', _f8_2),
    ('heap_size', _i8_1),
    ('heap_off', _i8_1),
    ('heap_cap', _i8_1),
    ('pending', _i8_1),
    ('mob_share', _f8_1),
    ('mob_stream', _i8_1),
    ('mob_states', _b1_1),
    ('link_j', _i8_2),
    ('link_p', _f8_2),
    ('link_n', _i8_1),
    ('st_exp', _f8_2),
    ('st_uni', _f8_2),
    ('st_seed', _u8_2),
    ('st_used', _i8_1),
    ('st_filled', _i8_1),
    ('law_code', _i8_1),
    ('law_a', _f8_1),
    ('law_b', _f8_1),
    ('law_off', _i8_1),
    ('law_n', _i8_1),
    ('law_lbtotal', _f8_1),
    ('emp_edges', _f8_1),
    ('emp_cum', _f8_1),
    ('emp_lbcum', _f8_1),
    ('ev_time', _f8_1),
    ('ev_seq', _i8_1),
    ('ev_data', _i4_2),
    ('day_head', _i8_1),
    ('td_time', _f8_1),
    ('td_seq', _i8_1),
    ('td_id', _i8_1),
    ('lp_time', _f8_2),
    ('lp_seq', _i8_2),
    ('lp_slot', _i8_2),
    ('lp_token', _i8_2),
    ('lp_head', _i8_1),
    ('lp_n', _i8_1),
    ('r_occupancy', _i8_3),
    ('r_persons', _i8_3),
    ('r_capacity', _f8_3),
    ('r_queue_length', _i8_3),
    ('r_flow', _i8_3),
    ('r_flow_persons', _i8_3),
    ('r_entries', _i8_3),
    ('r_entries_persons', _i8_3),
    ('r_offers', _i8_3),
    ('r_refusals', _i8_3),
    ('r_lettings', _i8_3),
    ('r_lettings_unused', _i8_3),
    ('r_occupancy_mean', _f8_3),
    ('r_cost', _f8_3),
    ('r_support_slots', _i8_2),
    ('r_support_used', _i8_2),
    ('r_support_cost', _f8_2),
    ('r_prevented', _i8_3),
    ('r_diverted', _i8_3),
    ('r_migration', _i8_3),
    ('r_migration_persons', _i8_3),
    ('r_migration_out', _i8_3),
    ('r_migration_in', _i8_3),
    ('r_mobility_offers', _i8_2),
    ('r_mobility_refusals', _i8_2),
    ('r_initial', _i8_2),
    ('r_initial_persons', _i8_2),
    ('w_val', _f8_1),
    ('w_where', _i4_1),
    ('w_month', _i4_1),
    ('th_val', _f8_1),
    ('th_terr', _i4_1),
    ('th_month', _i4_1),
    ('mv_i', _i8_2),
    ('mv_f', _f8_2),
    ('refused', _f8_2),
    ('h_calls', _i4_1),
    ('h_ncalls', _i4_1),
    ('e_request', _b1_1),
    ('line_recall', _i8_1),
    ('line_par', _f8_2),
    ('pop_calls', _f8_1),
    ('kind_family', _b1_1),
    ('grp_cum', _f8_3),
    ('grp_on', _b1_2),
    ('support_law', _i8_1),
    ('r_requests', _i8_2),
    ('r_unmet', _i8_2),
    ('r_regularised', _i8_2),
    ('r_support_started', _i8_2),
    ('occ_kind', _i8_3),
    ('occ_reg_p', _i8_2),
    ('silent_occ', _i8_1),
    ('r_occupancy_kind', _i8_4),
    ('r_persons_regular', _i8_3),
    ('r_silent', _i8_2),
    ('occ_kind_p', _i8_3),
    ('r_persons_kind', _i8_4),
    # spells to housing and costs by needs level (kernel section "Spells to housing")
    ('h_spell', _i4_1),
    ('sp_i', _i4_2),
    ('sp_f', _f8_2),
    ('w_grp', _i4_2),
    ('nd_costed', _b1_2),
    ('nd_rate', _f8_3),
    ('nd_other', _f8_2),
    ('nd_occ_h', _i8_3),
    ('nd_occ_p', _i8_3),
    ('nd_hdays', _f8_3),
    ('nd_pdays', _f8_3),
    ('nd_last', _f8_2),
    ('r_cost_needs', _f8_4),
)

KERNEL_STATE = KernelStateType(list(FIELDS))


class KernelState(structref.StructRefProxy):
    """Python handle on a kernel state (opaque: Python reads it through :mod:`lda_sim.engine.kernel`)."""


structref.define_boxing(KernelStateType, KernelState)


@intrinsic
def _store_field(typingctx, st, index, value):
    """Store ``value`` in field number ``index`` (a run-time integer) of the state, if that field has
    ``value``'s type; return whether it did. One switch over the fields of that type, so that one
    compiled function per array type fills all of them (a constructor taking the 218 arrays as
    arguments took 7 s to compile, half of it in unboxing its arguments)."""
    if not isinstance(st, KernelStateType) or not isinstance(index, types.Integer):
        return None
    fields = [(i, name) for i, (name, typ) in enumerate(FIELDS) if typ == value]

    def codegen(context, builder, signature, args):
        instance, number, val = args
        data = structref._Utils(context, builder, st).get_data_struct(instance)
        stored = cgutils.alloca_once_value(builder, cgutils.false_bit)
        done = builder.append_basic_block("stored")
        otherwise = builder.append_basic_block("no_such_field")
        switch = builder.switch(number, otherwise)
        for i, name in fields:
            block = builder.append_basic_block(name)
            switch.add_case(number.type(i), block)
            with builder.goto_block(block):
                old = getattr(data, name)
                context.nrt.incref(builder, value, val)
                context.nrt.decref(builder, value, old)
                setattr(data, name, val)
                builder.store(cgutils.true_bit, stored)
                builder.branch(done)
        with builder.goto_block(otherwise):
            builder.branch(done)
        builder.position_at_end(done)
        return builder.load(stored)

    return types.boolean(st, index, value), codegen


@njit(cache=True)
def _empty_state():
    """A state whose fields are all null (set every one with :func:`_store` before use)."""
    return structref.new(KERNEL_STATE)  # type: ignore[call-arg]  # a numba intrinsic, typed by numba


@njit(cache=True)
def _store(st, index, value):
    return _store_field(st, index, value)  # type: ignore[call-arg]  # numba passes the typing context


def new_state(arrays: Mapping[str, np.ndarray]) -> KernelState:
    """The kernel state holding ``arrays`` (one per field of :data:`FIELDS`, by name, of the field's type)."""
    st = _empty_state()
    for index, (name, typ) in enumerate(FIELDS):
        value = arrays[name]
        if not _store(st, index, value):
            raise TypeError(f"kernel state field {name!r} must be {typ}, got {typeof(value)}")
    return st

