"""From a scenario to the kernel's arrays: what each field of the kernel state holds.

Axes: ``T`` territories, ``S`` states, ``Q`` capacitated states (a household's waits, offers and
waiting-list tickets are indexed by ``qidx[state]``), ``C`` size classes, ``E`` transitions,
``NC`` causes, ``P`` household profiles (kind x needs x status x priority x cause x size class:
eligibility is a table ``elig[P, E]``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config.laws import Empirical, Exponential, Fixed, LogNormal, StayLaw
from ..config.schema import CAUSES, NEEDS
from . import kernel as k
from .state import FIELDS, HEAP_COLUMNS, new_state
from .streams import MASK64, process_rng

if TYPE_CHECKING:  # pragma: no cover
    from ..config.scenario import Population, Scenario

#: Households alive at once that a run may hold (about 350 bytes each): past it the run stops
#: with an error instead of taking the machine (an absurd inflow, say).
MAX_HOUSEHOLDS = 20_000_000
_CAP = {"none": k.CAP_NONE, "shelter": k.CAP_SHELTER, "units": k.CAP_UNITS, "turnover": k.CAP_TURNOVER}
_KIND = {"street": k.KIND_STREET, "shelter": k.KIND_SHELTER, "housing": k.KIND_HOUSING, "exit": k.KIND_EXIT}
_MODE = {"queue": k.MODE_QUEUE, "stay": k.MODE_STAY, "hazard": k.MODE_HAZARD}
_BASIS = {"persons": k.BASIS_PERSONS, "households": k.BASIS_HOUSEHOLDS, "capacity": k.BASIS_CAPACITY}


#: Kernel fields of the law table, in the order of :func:`lda_sim.engine.kernel.set_laws`.
LAW_FIELDS = ("law_code", "law_a", "law_b", "law_off", "law_n", "law_lbtotal", "emp_edges", "emp_cum", "emp_lbcum")


class LawTable:
    """Stay and readiness laws as arrays (a law is an index into them)."""

    def __init__(self) -> None:
        self.laws: list[StayLaw] = []
        self._index: dict[int, int] = {}

    def index(self, law: StayLaw) -> int:
        key = id(law)
        if key not in self._index:
            self._index[key] = len(self.laws)
            self.laws.append(law)
        return self._index[key]

    def arrays(self) -> dict[str, np.ndarray]:
        n = len(self.laws)
        code, a, b = np.zeros(n, np.int64), np.zeros(n, np.float64), np.zeros(n, np.float64)
        off, nbins, lbtotal = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.float64)
        edges: list[float] = []
        cum: list[float] = []
        lbcum: list[float] = []
        for i, law in enumerate(self.laws):
            if isinstance(law, Exponential):
                code[i], a[i] = k.LAW_EXPONENTIAL, law.mean
            elif isinstance(law, LogNormal):
                code[i], a[i], b[i] = k.LAW_LOGNORMAL, law.median, law.sigma
            elif isinstance(law, Fixed):
                code[i], a[i] = k.LAW_FIXED, law.days
            elif isinstance(law, Empirical):
                code[i] = k.LAW_EMPIRICAL
                weights = [s * (lo + hi) / 2 for s, lo, hi in zip(law.shares, law.edges, law.edges[1:])]
                off[i], nbins[i] = len(edges), len(law.shares)
                edges.extend(law.edges)
                cum.extend(law._cumulative + (0.0,))  # type: ignore[attr-defined]
                lbcum.extend(list(itertools.accumulate(weights)) + [0.0])
                lbtotal[i] = sum(weights)
            else:
                raise TypeError(f"the compiled engine has no sampler for stay law {type(law).__name__}")
        return {
            "law_code": code, "law_a": a, "law_b": b, "law_off": off, "law_n": nbins, "law_lbtotal": lbtotal,
            "emp_edges": np.array(edges + [0.0]), "emp_cum": np.array(cum + [0.0]), "emp_lbcum": np.array(lbcum + [0.0]),
        }


@dataclass
class Streams:
    """The numpy generators behind the kernel's process streams (refilled block by block)."""

    rngs: list[np.random.Generator] = field(default_factory=list)
    names: list[tuple[str, ...]] = field(default_factory=list)

    def add(self, seed: int, *names: str) -> int:
        self.rngs.append(process_rng(seed, *names))
        self.names.append(names)
        return len(self.rngs) - 1

    def refill(self, exp: np.ndarray, uni: np.ndarray, seeds: np.ndarray, used: np.ndarray, filled: np.ndarray) -> None:
        """Give a block to every stream with a free half (a block: 1,024 exponentials, then uniforms, then seeds)."""
        block = k.BLOCK
        for i in np.flatnonzero(filled - used <= block):
            rng = self.rngs[i]
            half = (filled[i] // block) % 2
            window = slice(half * block, (half + 1) * block)
            exp[i, window] = rng.standard_exponential(block)
            uni[i, window] = rng.random(block)
            seeds[i, window] = rng.integers(0, MASK64, block, dtype=np.uint64, endpoint=True)
            filled[i] += block


@dataclass
class Built:
    """A kernel state and what Python keeps beside it."""

    state: Any
    arrays: dict[str, np.ndarray]
    streams: Streams
    laws: LawTable
    initial_streams: dict[tuple[int, int], int]
    populations: dict[int, int]
    n_profiles: int


def _populations(scenario: Scenario) -> tuple[list[Population], dict[int, int]]:
    pops: list[Population] = []
    index: dict[int, int] = {}

    def add(p: Population) -> None:
        if id(p) not in index:
            index[id(p)] = len(pops)
            pops.append(p)

    for t in scenario.territories:
        add(t.population)
        for f in t.inflows:
            add(f.population)
    return pops, index


def build(scenario: Scenario, seed: int, rules: dict[int, int], *, trajectories: bool, max_households: int = MAX_HOUSEHOLDS) -> Built:
    """The kernel state of a run of ``scenario`` before its population is placed."""
    pathway = scenario.pathway
    states, transitions = pathway.states, pathway.transitions
    kinds = list(pathway.kinds)
    size_names = pathway.size_class_names
    territories = scenario.territories
    T, S, E, C, NC = len(territories), len(states), len(transitions), len(size_names), len(CAUSES)
    capacitated = [s.index for s in states if s.capacitated]
    Q = len(capacitated)
    qidx = np.full(S, -1, np.int64)
    qidx[capacitated] = np.arange(Q)
    cause_index = {c: i for i, c in enumerate(CAUSES)}
    a: dict[str, Any] = {}
    a["clock"] = np.array([0.0, k.MONTH_DAYS, np.inf, 0.0])  # now, month end, next lapse of a 115 request
    counters = np.zeros(k.N_COUNTERS, np.int64)
    counters[k.C_UID] = 1  # Mesa numbers agents from 1
    counters[k.C_TRAJECTORIES] = int(trajectories)
    counters[k.C_MONTHS] = scenario.months
    counters[k.C_MOVING] = -1
    counters[k.C_LAPSE_T] = -1
    counters[k.C_MAX_HOUSEHOLDS] = max_households
    a["counters"] = counters
    # --- households (grown by the kernel) ---
    H = 1024
    for name in ("h_terr", "h_kind", "h_persons", "h_size", "h_needs", "h_status", "h_priority", "h_cause", "h_profile",
                 "h_state", "h_supported", "h_mobility_offers", "h_ntickets", "h_calls", "h_ncalls", "h_spell"):
        a[name] = np.zeros(H, np.int32)  # small values: half the memory of int64
    for name in ("h_token", "h_uid", "free_slots"):
        a[name] = np.zeros(H, np.int64)
    a["h_seed"] = np.zeros(H, np.uint64)
    for name in ("h_entered_state", "h_entered_system", "h_housed_at"):
        a[name] = np.zeros(H, np.float64)
    a["h_visits"] = np.zeros((H, S), np.int16)  # visits to each state (a household's own count)
    a["h_offers"] = np.zeros((H, max(Q, 1)), np.int32)
    a["h_queue_since"] = np.full((H, max(Q, 1)), np.nan)
    a["h_ticket"] = np.zeros((H, max(Q, 1)), np.int32)
    # --- the pathway ---
    a["cap_kind"] = np.array([_CAP[s.capacity_kind] for s in states], np.int64)
    a["state_kind"] = np.array([_KIND[s.kind] for s in states], np.int64)
    a["qidx"] = qidx
    a["n_bins"] = np.array([k.MAX_PERSONS_BIN if s.capacity_kind == "shelter" else C for s in states], np.int64)
    a["edge_origin"] = np.array([t.origin.index for t in transitions], np.int64)
    a["edge_target"] = np.array([t.target.index for t in transitions], np.int64)
    a["edge_mode"] = np.array([_MODE[t.mode] for t in transitions], np.int64)
    a["e_request"] = np.array([t.request for t in transitions], np.bool_)
    edge_index = np.full((S, S), -1, np.int64)
    for t in transitions:
        edge_index[t.origin.index, t.target.index] = t.index
    a["edge_index"] = edge_index
    out_q = [[t.index for t in pathway.out_transitions(s.name, "queue")] for s in states]
    out_h = [[t.index for t in pathway.out_transitions(s.name, "hazard")] for s in states]
    a["out_q"], a["n_out_q"] = _ragged(out_q)
    a["out_h"], a["n_out_h"] = _ragged(out_h)
    # --- household kinds, populations and eligibility by profile ---
    a["kind_isolated"] = np.array([int(pathway.kinds[n].isolated) for n in kinds], np.int64)
    a["kind_family"] = np.array([pathway.kinds[n].family for n in kinds], np.bool_)
    a["kind_p_vals"], a["kind_p_n"] = _ragged([list(pathway.kinds[n].persons) for n in kinds])
    a["kind_p_cum"], _ = _ragged([list(pathway.kinds[n].cumulative) for n in kinds], np.float64)
    max_persons = max(max(pathway.kinds[n].persons) for n in kinds)
    a["size_of_persons"] = np.array([pathway.size_class_of(p) for p in range(max_persons + 2)], np.int64)
    pops, pop_index = _populations(scenario)
    a["pop_kind_idx"], a["pop_kind_n"] = _ragged([[kinds.index(n) for n in p.kinds.names] for p in pops])
    a["pop_kind_cum"], _ = _ragged([list(p.kinds.cumulative) for p in pops], np.float64)
    a["pop_needs_idx"], a["pop_needs_n"] = _ragged([[NEEDS.index(n) for n in p.needs.names] for p in pops])
    a["pop_needs_cum"], _ = _ragged([list(p.needs.cumulative) for p in pops], np.float64)
    a["pop_status"] = np.array([p.regular_status_share for p in pops], np.float64)
    a["pop_priority"] = np.array([p.priority_share for p in pops], np.float64)
    a["pop_calls"] = np.array([p.calls_115_share for p in pops], np.float64)
    a["profile_dims"] = np.array([len(kinds), len(NEEDS), NC, C], np.int64)
    a["elig"] = _eligibility(pathway, kinds)
    # --- territories ---
    laws = LawTable()
    streams = Streams()
    i2 = lambda: np.zeros((T, S), np.int64)  # noqa: E731
    f2 = lambda: np.zeros((T, S), np.float64)  # noqa: E731
    a["occ_h"], a["occ_p"], a["places"], a["closing_places"] = i2(), i2(), i2(), i2()
    a["units"], a["used_units"], a["closing_units"] = (np.zeros((T, S, C), np.int64) for _ in range(3))
    a["stay_law"] = np.full((T, S), -1, np.int64)
    stay_lists = []
    a["e_rate"], a["e_refusal"] = np.zeros((T, E)), np.zeros((T, E))
    a["e_ready"] = np.full((T, E), -1, np.int64)
    a["e_closed"] = np.zeros((T, E), np.bool_)
    n_inflows = max(1, max(len(t.inflows) for t in territories))
    a["inf_n"] = np.array([len(t.inflows) for t in territories], np.int64)
    a["inf_rate"] = np.zeros((T, n_inflows))
    a["inf_entry"], a["inf_cause"], a["inf_pop"] = (np.zeros((T, n_inflows), np.int64) for _ in range(3))
    a["inf_stream"] = np.full((T, n_inflows), -1, np.int64)
    a["prevented"], a["div_share"] = np.zeros((T, NC)), np.zeros((T, NC))
    a["div_to"] = np.full((T, NC), -1, np.int64)
    a["has_cause"] = np.zeros((T, NC), np.bool_)
    a["sup_is"] = np.zeros((T, S), np.bool_)
    a["sup_stock"], a["sup_turn"], a["sup_share"], a["sup_carry"] = f2(), f2(), f2(), f2()
    a["sup_token"], a["sup_mix_n"] = i2(), i2()
    a["sup_mix_cum"] = np.zeros((T, S, C))
    a["sup_stream"] = np.full((T, S), -1, np.int64)
    a["support_slots"], a["support_used"] = np.zeros(T, np.int64), np.zeros(T, np.int64)
    a["support_states"] = np.zeros((T, S), np.bool_)
    a["support_reduction"] = np.zeros(T)
    a["slide_flag"] = np.zeros((T, S), np.bool_)
    a["slide_buf"] = np.zeros((16, 3), np.int64)
    for name in ("hdays", "pdays", "cdays", "last_change", "cap_last"):
        a[name] = f2()
    a["cost_basis"] = np.full((T, S), -1, np.int64)
    a["cost_per_day"] = f2()
    a["nd_costed"] = np.zeros((T, S), np.bool_)  # states costed by needs level
    a["nd_rate"], a["nd_other"] = np.zeros((T, S, k.N_NEEDS)), f2()
    for name in ("nd_occ_h", "nd_occ_p"):
        a[name] = np.zeros((T, S, k.N_NEEDS), np.int64)
    a["nd_hdays"], a["nd_pdays"], a["nd_last"] = np.zeros((T, S, k.N_NEEDS)), np.zeros((T, S, k.N_NEEDS)), f2()
    a["support_cost_day"] = np.array([t.support_cost_per_slot_day for t in territories], np.float64)
    a["rule"] = np.zeros((T, S), np.int64)
    # the 115 (line_par: request days, outreach per year, regularisation per year) and support
    a["line_recall"] = np.full(T, -1, np.int64)
    a["line_par"] = np.zeros((T, 4))
    a["support_law"] = np.full(T, -1, np.int64)
    # lettings by origin: cumulative shares of the publics (priority, street, shelter, housing)
    a["grp_on"] = np.zeros((T, S), np.bool_)
    a["grp_cum"] = np.zeros((T, S, k.N_PUBLICS))
    initial_streams: dict[tuple[int, int], int] = {}
    for ti, tc in enumerate(territories):
        for si, n in tc.places.items():
            a["places"][ti, si] = n
        for si, per_class in tc.units.items():
            a["units"][ti, si, : len(per_class)] = per_class
        row = []
        for state in states:
            law = tc.stays.get(state.index)
            if law is not None:
                a["stay_law"][ti, state.index] = laws.index(law)
            edges, acc, cumulative = pathway.out_transitions(state.name, "stay"), 0.0, []
            for t in edges:
                acc += tc.edges[t.index].weight
                cumulative.append(acc)
            row.append(([t.index for t in edges], cumulative))
        stay_lists.append(row)
        for e, params in tc.edges.items():
            a["e_rate"][ti, e] = params.rate_per_year
            a["e_refusal"][ti, e] = params.refusal_probability
            if params.ready_after is not None:
                a["e_ready"][ti, e] = laws.index(params.ready_after)
        for i, f in enumerate(tc.inflows):
            c = cause_index[f.cause]
            a["inf_rate"][ti, i] = f.households_per_year
            a["inf_entry"][ti, i] = f.entry
            a["inf_cause"][ti, i] = c
            a["inf_pop"][ti, i] = pop_index[id(f.population)]
            a["has_cause"][ti, c] = True
        line = tc.emergency_line
        if line is not None:
            a["line_recall"][ti] = laws.index(line.recall_after)
            a["line_par"][ti, 0] = line.request_days
            a["line_par"][ti, 1] = line.outreach_per_year
        a["line_par"][ti, 2] = tc.regularisation_per_year
        for s, sup in tc.supplies.items():
            if sup.by_origin is not None:
                if k.N_PUBLICS * C > k.MAX_PERSONS_BIN:
                    raise ValueError(f"{tc.file}: states.{states[s].name}.lettings_by_origin: {C} size classes x {k.N_PUBLICS} publics exceed the {k.MAX_PERSONS_BIN} lists of a state")
                a["grp_on"][ti, s] = True
                a["grp_cum"][ti, s] = sup.by_origin.cumulative
                a["n_bins"][s] = k.N_PUBLICS * C
            a["sup_is"][ti, s] = True
            a["sup_stock"][ti, s] = float(sup.stock_units)
            a["sup_turn"][ti, s] = sup.turnover_rate
            a["sup_share"][ti, s] = sup.share_to_homeless
            a["sup_mix_n"][ti, s] = len(sup.size_mix.cumulative)
            a["sup_mix_cum"][ti, s, : len(sup.size_mix.cumulative)] = sup.size_mix.cumulative
        for s, (basis, per_day) in tc.costs.items():
            a["cost_basis"][ti, s] = _BASIS[basis]
            a["cost_per_day"][ti, s] = per_day
        for s, (rates, other) in tc.needs_costs.items():
            a["nd_costed"][ti, s] = True
            a["nd_rate"][ti, s] = rates
            a["nd_other"][ti, s] = other
        for s in range(S):
            a["rule"][ti, s] = rules.get(s, k.RULE_FCFS)
    K = max(1, max(len(e) for row in stay_lists for e, _ in row))
    a["stay_tr"] = np.zeros((T, S, K), np.int64)
    a["stay_cum"] = np.zeros((T, S, K))
    a["stay_n"] = i2()
    for ti, row in enumerate(stay_lists):
        for si, (indices, cumulative) in enumerate(row):
            a["stay_tr"][ti, si, : len(indices)] = indices
            a["stay_cum"][ti, si, : len(indices)] = cumulative
            a["stay_n"][ti, si] = len(indices)
    # --- streams, in the order the Python engine created them (names key them, not order) ---
    for ti, tc in enumerate(territories):
        for i, f in enumerate(tc.inflows):
            a["inf_stream"][ti, i] = streams.add(seed, tc.name, "arrivals", f.cause)
        for s in tc.supplies:
            a["sup_stream"][ti, s] = streams.add(seed, tc.name, "lettings", states[s].name)
        for s in tc.initial:
            initial_streams[ti, s] = streams.add(seed, tc.name, "initial", states[s].name)
    # --- mobility ---
    a["mob_share"] = np.zeros(T)
    a["mob_stream"] = np.full(T, -1, np.int64)
    a["mob_states"] = np.zeros(S, np.bool_)
    links: list[list[tuple[int, float, float]]] = [[] for _ in territories]
    mobility = scenario.mobility
    if mobility is not None:
        links = mobility.neighbours([t.name for t in territories])
        for s in mobility.states:
            a["mob_states"][s] = True
        for ti, tc in enumerate(territories):
            share = mobility.offer_share[tc.name]
            if share > 0 and links[ti]:
                a["mob_share"][ti] = share
                a["mob_stream"][ti] = streams.add(seed, tc.name, "mobility")
    L = max(1, max(len(x) for x in links))
    a["link_j"], a["link_p"] = np.zeros((T, L), np.int64), np.zeros((T, L))
    a["link_n"] = np.array([len(x) for x in links], np.int64)
    for ti, x in enumerate(links):
        for j, (other, _, probability) in enumerate(x):
            a["link_j"][ti, j], a["link_p"][ti, j] = other, probability
    n_streams = max(1, len(streams.rngs))
    a["st_exp"], a["st_uni"] = np.zeros((n_streams, 2 * k.BLOCK)), np.zeros((n_streams, 2 * k.BLOCK))
    a["st_seed"] = np.zeros((n_streams, 2 * k.BLOCK), np.uint64)
    a["st_used"], a["st_filled"] = np.zeros(n_streams, np.int64), np.zeros(n_streams, np.int64)
    # --- laws of policies (readiness) are added later through the law table ---
    a.update(laws.arrays())
    # --- waiting lists ---
    a["wl_count"], a["wl_seq"], a["wl_stale"] = i2(), i2(), i2()
    n_heaps = T * S * k.MAX_PERSONS_BIN
    a["heap_pool"] = np.zeros((4096, HEAP_COLUMNS))
    a["heap_size"], a["heap_off"], a["heap_cap"] = (np.zeros(n_heaps, np.int64) for _ in range(3))
    a["pending"] = np.zeros(64, np.int64)
    # --- the event queue ---
    n_events = 1024
    a["ev_time"], a["td_time"] = np.zeros(n_events), np.zeros(n_events)
    for name in ("ev_seq", "td_seq", "td_id"):
        a[name] = np.zeros(n_events, np.int64)
    a["ev_data"] = np.zeros((n_events, k.EV_COLUMNS), np.int32)
    # --- lapses of 115 requests: a ring per territory (kernel.lapse_push) ---
    a["lp_time"] = np.zeros((T, 64))
    a["lp_seq"], a["lp_slot"], a["lp_token"] = (np.zeros((T, 64), np.int64) for _ in range(3))
    a["lp_head"], a["lp_n"] = np.zeros(T, np.int64), np.zeros(T, np.int64)
    a["day_head"] = np.full(int(scenario.months * k.MONTH_DAYS + scenario.spin_up_years * k.DAYS_PER_YEAR) + 2, -1, np.int64)
    counters[k.C_DAY] = -1
    counters[k.C_FREE_EV] = -1
    # --- recorder ---
    M = scenario.months
    for name in ("r_occupancy", "r_persons", "r_queue_length", "r_offers", "r_refusals", "r_lettings", "r_lettings_unused",
                 "r_migration_out", "r_migration_in"):
        a[name] = np.zeros((T, S, M), np.int64)
    a["r_capacity"] = np.full((T, S, M), np.nan)
    a["r_occupancy_mean"], a["r_cost"] = np.zeros((T, S, M)), np.zeros((T, S, M))
    a["r_flow"], a["r_flow_persons"] = np.zeros((T, E, M), np.int64), np.zeros((T, E, M), np.int64)
    for name in ("r_entries", "r_entries_persons", "r_prevented", "r_diverted"):
        a[name] = np.zeros((T, NC, M), np.int64)
    a["r_support_slots"], a["r_support_used"] = np.zeros((T, M), np.int64), np.zeros((T, M), np.int64)
    a["r_support_cost"] = np.zeros((T, M))
    a["r_migration"], a["r_migration_persons"] = np.zeros((T, T, M), np.int64), np.zeros((T, T, M), np.int64)
    a["r_mobility_offers"], a["r_mobility_refusals"] = np.zeros((T, M), np.int64), np.zeros((T, M), np.int64)
    a["r_initial"], a["r_initial_persons"] = np.zeros((T, S), np.int64), np.zeros((T, S), np.int64)
    for name in ("r_requests", "r_unmet", "r_regularised", "r_support_started", "r_silent"):
        a[name] = np.zeros((T, M), np.int64)
    a["r_persons_regular"] = np.zeros((T, S, M), np.int64)
    # stocks by household kind, persons with a regular status, households on the street who do not call
    a["occ_kind"], a["r_occupancy_kind"] = np.zeros((T, S, len(kinds)), np.int64), np.zeros((T, S, len(kinds), M), np.int64)
    a["occ_reg_p"], a["silent_occ"] = np.zeros((T, S), np.int64), np.zeros(T, np.int64)
    a["occ_kind_p"], a["r_persons_kind"] = np.zeros((T, S, len(kinds)), np.int64), np.zeros((T, S, len(kinds), M), np.int64)
    for name in ("w_val", "th_val"):
        a[name] = np.zeros(1024)
    for name in ("w_where", "w_month", "th_terr", "th_month"):
        a[name] = np.zeros(1024, np.int32)
    a["mv_i"] = np.zeros((1024 if trajectories else 1, k.TRAJECTORY_COLUMNS), np.int64)
    a["mv_f"] = np.zeros((1024 if trajectories else 1, 2))
    a["refused"] = np.zeros((64, HEAP_COLUMNS))
    a["sp_i"], a["sp_f"] = np.zeros((1024, k.SPELL_COLUMNS), np.int32), np.zeros((1024, 2))
    a["w_grp"] = np.full((1024, k.WAIT_GROUP_COLUMNS), -1, np.int32)
    a["r_cost_needs"] = np.zeros((T, S, k.N_NEEDS, M))
    missing = [n for n, _ in FIELDS if n not in a]
    if missing:  # pragma: no cover - a programming error
        raise RuntimeError(f"kernel fields not built: {missing}")
    a = {n: (np.ascontiguousarray(a[n]) if isinstance(a[n], np.ndarray) else a[n]) for n, _ in FIELDS}
    streams.refill(a["st_exp"], a["st_uni"], a["st_seed"], a["st_used"], a["st_filled"])
    streams.refill(a["st_exp"], a["st_uni"], a["st_seed"], a["st_used"], a["st_filled"])
    kernel_state = new_state(a)
    n_profiles = int(np.prod(a["profile_dims"])) * 4
    return Built(kernel_state, a, streams, laws, initial_streams, pop_index, n_profiles)


def _ragged(rows: list[list[Any]], dtype: Any = np.int64) -> tuple[np.ndarray, np.ndarray]:
    """Rows of different lengths as a padded 2-D array and the lengths."""
    width = max(1, max((len(r) for r in rows), default=0))
    out = np.zeros((max(1, len(rows)), width), dtype)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out, np.array([len(r) for r in rows] or [0], np.int64)


def _eligibility(pathway: Any, kinds: list[str]) -> np.ndarray:
    """``elig[profile, transition]``: whether households of a profile may take a transition."""
    size_names = pathway.size_class_names
    values = {
        "kind": kinds, "needs": list(NEEDS), "regular_status": [False, True], "priority": [False, True],
        "cause": list(CAUSES), "size_class": size_names,
    }
    dims = [len(kinds), len(NEEDS), 2, 2, len(CAUSES), len(size_names)]
    grid = np.indices(dims).reshape(len(dims), -1)
    out = np.ones((grid.shape[1], len(pathway.transitions)), np.bool_)
    isolated = np.array([pathway.kinds[n].isolated for n in kinds])
    for t in pathway.transitions:
        ok = np.ones(grid.shape[1], np.bool_)
        for attr, allowed in t.eligible.items():
            if attr == "isolated":
                ok &= np.isin(isolated[grid[0]], list(allowed))
                continue
            axis = ["kind", "needs", "regular_status", "priority", "cause", "size_class"].index(attr)
            mask = np.array([v in allowed for v in values[attr]])
            ok &= mask[grid[axis]]
        out[:, t.index] = ok
    return out
