"""The kernel's state: one numba StructRef holding every array of a run (struct of arrays).

This module only defines the type, so that numba's on-disk cache recognises it across processes
(numba issue #9030: a StructRef type defined beside the functions that use it defeats the cache).
Households are rows of the ``h_*`` arrays (a slot is reused after its household leaves);
territories, states, size classes and transitions are axes of the other arrays. See
:mod:`lda_sim.engine.build` for what each field holds and :mod:`lda_sim.engine.kernel` for the
functions that run on it.
"""

from __future__ import annotations

from numba import njit, types
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
    ('ev_kind', _i8_1),
    ('ev_a', _i8_1),
    ('ev_b', _i8_1),
    ('ev_c', _i8_1),
    ('ev_next', _i8_1),
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


@njit(cache=True)
def new_state(  # noqa: PLR0913
    clock,
    counters,
    h_seed,
    h_terr,
    h_kind,
    h_persons,
    h_size,
    h_needs,
    h_status,
    h_priority,
    h_cause,
    h_profile,
    h_state,
    h_entered_state,
    h_entered_system,
    h_supported,
    h_housed_at,
    h_token,
    h_uid,
    h_mobility_offers,
    h_ntickets,
    h_visits,
    h_offers,
    h_queue_since,
    h_ticket,
    free_slots,
    cap_kind,
    state_kind,
    qidx,
    n_bins,
    occ_h,
    occ_p,
    places,
    units,
    used_units,
    closing_places,
    closing_units,
    stay_law,
    stay_tr,
    stay_cum,
    stay_n,
    edge_origin,
    edge_target,
    edge_mode,
    edge_index,
    e_rate,
    e_refusal,
    e_ready,
    e_closed,
    out_q,
    n_out_q,
    out_h,
    n_out_h,
    elig,
    profile_dims,
    kind_isolated,
    kind_p_vals,
    kind_p_cum,
    kind_p_n,
    size_of_persons,
    pop_kind_idx,
    pop_kind_cum,
    pop_kind_n,
    pop_needs_idx,
    pop_needs_cum,
    pop_needs_n,
    pop_status,
    pop_priority,
    inf_n,
    inf_rate,
    inf_entry,
    inf_cause,
    inf_pop,
    inf_stream,
    prevented,
    div_share,
    div_to,
    has_cause,
    sup_is,
    sup_stock,
    sup_turn,
    sup_share,
    sup_token,
    sup_carry,
    sup_mix_cum,
    sup_mix_n,
    sup_stream,
    support_slots,
    support_used,
    support_states,
    support_reduction,
    slide_flag,
    slide_buf,
    hdays,
    pdays,
    cdays,
    last_change,
    cap_last,
    cost_basis,
    cost_per_day,
    support_cost_day,
    rule,
    wl_count,
    wl_seq,
    wl_stale,
    heap_pool,
    heap_size,
    heap_off,
    heap_cap,
    pending,
    mob_share,
    mob_stream,
    mob_states,
    link_j,
    link_p,
    link_n,
    st_exp,
    st_uni,
    st_seed,
    st_used,
    st_filled,
    law_code,
    law_a,
    law_b,
    law_off,
    law_n,
    law_lbtotal,
    emp_edges,
    emp_cum,
    emp_lbcum,
    ev_time,
    ev_seq,
    ev_kind,
    ev_a,
    ev_b,
    ev_c,
    ev_next,
    day_head,
    td_time,
    td_seq,
    td_id,
    lp_time,
    lp_seq,
    lp_slot,
    lp_token,
    lp_head,
    lp_n,
    r_occupancy,
    r_persons,
    r_capacity,
    r_queue_length,
    r_flow,
    r_flow_persons,
    r_entries,
    r_entries_persons,
    r_offers,
    r_refusals,
    r_lettings,
    r_lettings_unused,
    r_occupancy_mean,
    r_cost,
    r_support_slots,
    r_support_used,
    r_support_cost,
    r_prevented,
    r_diverted,
    r_migration,
    r_migration_persons,
    r_migration_out,
    r_migration_in,
    r_mobility_offers,
    r_mobility_refusals,
    r_initial,
    r_initial_persons,
    w_val,
    w_where,
    w_month,
    th_val,
    th_terr,
    th_month,
    mv_i,
    mv_f,
    refused,
    h_calls,
    h_ncalls,
    e_request,
    line_recall,
    line_par,
    pop_calls,
    kind_family,
    grp_cum,
    grp_on,
    support_law,
    r_requests,
    r_unmet,
    r_regularised,
    r_support_started,
    occ_kind,
    occ_reg_p,
    silent_occ,
    r_occupancy_kind,
    r_persons_regular,
    r_silent,
    occ_kind_p,
    r_persons_kind,
    h_spell,
    sp_i,
    sp_f,
    w_grp,
    nd_costed,
    nd_rate,
    nd_other,
    nd_occ_h,
    nd_occ_p,
    nd_hdays,
    nd_pdays,
    nd_last,
    r_cost_needs,
):
    """The kernel state from its arrays (one argument per field of :data:`FIELDS`, in order)."""
    st = structref.new(KERNEL_STATE)  # type: ignore[call-arg, var-annotated]  # a numba intrinsic, typed by numba
    st.clock = clock
    st.counters = counters
    st.h_seed = h_seed
    st.h_terr = h_terr
    st.h_kind = h_kind
    st.h_persons = h_persons
    st.h_size = h_size
    st.h_needs = h_needs
    st.h_status = h_status
    st.h_priority = h_priority
    st.h_cause = h_cause
    st.h_profile = h_profile
    st.h_state = h_state
    st.h_entered_state = h_entered_state
    st.h_entered_system = h_entered_system
    st.h_supported = h_supported
    st.h_housed_at = h_housed_at
    st.h_token = h_token
    st.h_uid = h_uid
    st.h_mobility_offers = h_mobility_offers
    st.h_ntickets = h_ntickets
    st.h_visits = h_visits
    st.h_offers = h_offers
    st.h_queue_since = h_queue_since
    st.h_ticket = h_ticket
    st.free_slots = free_slots
    st.cap_kind = cap_kind
    st.state_kind = state_kind
    st.qidx = qidx
    st.n_bins = n_bins
    st.occ_h = occ_h
    st.occ_p = occ_p
    st.places = places
    st.units = units
    st.used_units = used_units
    st.closing_places = closing_places
    st.closing_units = closing_units
    st.stay_law = stay_law
    st.stay_tr = stay_tr
    st.stay_cum = stay_cum
    st.stay_n = stay_n
    st.edge_origin = edge_origin
    st.edge_target = edge_target
    st.edge_mode = edge_mode
    st.edge_index = edge_index
    st.e_rate = e_rate
    st.e_refusal = e_refusal
    st.e_ready = e_ready
    st.e_closed = e_closed
    st.out_q = out_q
    st.n_out_q = n_out_q
    st.out_h = out_h
    st.n_out_h = n_out_h
    st.elig = elig
    st.profile_dims = profile_dims
    st.kind_isolated = kind_isolated
    st.kind_p_vals = kind_p_vals
    st.kind_p_cum = kind_p_cum
    st.kind_p_n = kind_p_n
    st.size_of_persons = size_of_persons
    st.pop_kind_idx = pop_kind_idx
    st.pop_kind_cum = pop_kind_cum
    st.pop_kind_n = pop_kind_n
    st.pop_needs_idx = pop_needs_idx
    st.pop_needs_cum = pop_needs_cum
    st.pop_needs_n = pop_needs_n
    st.pop_status = pop_status
    st.pop_priority = pop_priority
    st.inf_n = inf_n
    st.inf_rate = inf_rate
    st.inf_entry = inf_entry
    st.inf_cause = inf_cause
    st.inf_pop = inf_pop
    st.inf_stream = inf_stream
    st.prevented = prevented
    st.div_share = div_share
    st.div_to = div_to
    st.has_cause = has_cause
    st.sup_is = sup_is
    st.sup_stock = sup_stock
    st.sup_turn = sup_turn
    st.sup_share = sup_share
    st.sup_token = sup_token
    st.sup_carry = sup_carry
    st.sup_mix_cum = sup_mix_cum
    st.sup_mix_n = sup_mix_n
    st.sup_stream = sup_stream
    st.support_slots = support_slots
    st.support_used = support_used
    st.support_states = support_states
    st.support_reduction = support_reduction
    st.slide_flag = slide_flag
    st.slide_buf = slide_buf
    st.hdays = hdays
    st.pdays = pdays
    st.cdays = cdays
    st.last_change = last_change
    st.cap_last = cap_last
    st.cost_basis = cost_basis
    st.cost_per_day = cost_per_day
    st.support_cost_day = support_cost_day
    st.rule = rule
    st.wl_count = wl_count
    st.wl_seq = wl_seq
    st.wl_stale = wl_stale
    st.heap_pool = heap_pool
    st.heap_size = heap_size
    st.heap_off = heap_off
    st.heap_cap = heap_cap
    st.pending = pending
    st.mob_share = mob_share
    st.mob_stream = mob_stream
    st.mob_states = mob_states
    st.link_j = link_j
    st.link_p = link_p
    st.link_n = link_n
    st.st_exp = st_exp
    st.st_uni = st_uni
    st.st_seed = st_seed
    st.st_used = st_used
    st.st_filled = st_filled
    st.law_code = law_code
    st.law_a = law_a
    st.law_b = law_b
    st.law_off = law_off
    st.law_n = law_n
    st.law_lbtotal = law_lbtotal
    st.emp_edges = emp_edges
    st.emp_cum = emp_cum
    st.emp_lbcum = emp_lbcum
    st.ev_time = ev_time
    st.ev_seq = ev_seq
    st.ev_kind = ev_kind
    st.ev_a = ev_a
    st.ev_b = ev_b
    st.ev_c = ev_c
    st.ev_next = ev_next
    st.day_head = day_head
    st.td_time = td_time
    st.td_seq = td_seq
    st.td_id = td_id
    st.lp_time = lp_time
    st.lp_seq = lp_seq
    st.lp_slot = lp_slot
    st.lp_token = lp_token
    st.lp_head = lp_head
    st.lp_n = lp_n
    st.r_occupancy = r_occupancy
    st.r_persons = r_persons
    st.r_capacity = r_capacity
    st.r_queue_length = r_queue_length
    st.r_flow = r_flow
    st.r_flow_persons = r_flow_persons
    st.r_entries = r_entries
    st.r_entries_persons = r_entries_persons
    st.r_offers = r_offers
    st.r_refusals = r_refusals
    st.r_lettings = r_lettings
    st.r_lettings_unused = r_lettings_unused
    st.r_occupancy_mean = r_occupancy_mean
    st.r_cost = r_cost
    st.r_support_slots = r_support_slots
    st.r_support_used = r_support_used
    st.r_support_cost = r_support_cost
    st.r_prevented = r_prevented
    st.r_diverted = r_diverted
    st.r_migration = r_migration
    st.r_migration_persons = r_migration_persons
    st.r_migration_out = r_migration_out
    st.r_migration_in = r_migration_in
    st.r_mobility_offers = r_mobility_offers
    st.r_mobility_refusals = r_mobility_refusals
    st.r_initial = r_initial
    st.r_initial_persons = r_initial_persons
    st.w_val = w_val
    st.w_where = w_where
    st.w_month = w_month
    st.th_val = th_val
    st.th_terr = th_terr
    st.th_month = th_month
    st.mv_i = mv_i
    st.mv_f = mv_f
    st.refused = refused
    st.h_calls = h_calls
    st.h_ncalls = h_ncalls
    st.e_request = e_request
    st.line_recall = line_recall
    st.line_par = line_par
    st.pop_calls = pop_calls
    st.kind_family = kind_family
    st.grp_cum = grp_cum
    st.grp_on = grp_on
    st.support_law = support_law
    st.r_requests = r_requests
    st.r_unmet = r_unmet
    st.r_regularised = r_regularised
    st.r_support_started = r_support_started
    st.occ_kind = occ_kind
    st.occ_reg_p = occ_reg_p
    st.silent_occ = silent_occ
    st.r_occupancy_kind = r_occupancy_kind
    st.r_persons_regular = r_persons_regular
    st.r_silent = r_silent
    st.occ_kind_p = occ_kind_p
    st.r_persons_kind = r_persons_kind
    st.h_spell = h_spell
    st.sp_i = sp_i
    st.sp_f = sp_f
    st.w_grp = w_grp
    st.nd_costed = nd_costed
    st.nd_rate = nd_rate
    st.nd_other = nd_other
    st.nd_occ_h = nd_occ_h
    st.nd_occ_p = nd_occ_p
    st.nd_hdays = nd_hdays
    st.nd_pdays = nd_pdays
    st.nd_last = nd_last
    st.r_cost_needs = r_cost_needs
    return st

