"""A mean-field cross-check: the expected stocks and flows of a scenario's pathway, computed by a
deterministic fluid approximation of the same configuration (no random draws, well under a second).

Method (a fluid model with household types and capacity constraints, integrated by day):

* Households are split into **types**: kind x support needs x residence status x priority flag,
  with the shares of each inflow cause's population (and of the territory's population for the
  initial stocks), so that eligibility to a queue (``eligible:`` of a transition) is exact per
  type; ``size_class`` and ``cause`` conditions are applied as the share of the type that meets
  them. A type's persons per household is the mean of its kind's law.
* Each day: Poisson inflows arrive at their expected rate; a state's households leave along
  hazard edges at ``rate_per_year / 365.25`` and along stay edges at ``1 / mean stay`` (the mean
  of the stay law: exact for exponential stays, an approximation otherwise), split by the edges'
  weights; then every capacitated target takes households from its queues: a shelter up to its
  free places (persons), a housing state up to its free units, a turnover-supplied state up to
  its lettings to homeless households of the day; the vacancies are shared among the eligible
  households of the source states in proportion to their numbers (a fluid first come, first
  served); offers refused are ignored (the refuser keeps its place, so throughput is unchanged).
* Waits follow from Little's law: households eligible for a state and waiting for it over the
  flow into it. For each capacitated state the **offered load** ``a`` (flow in per day x mean
  time in the state) gives the M/M/c probability of waiting (Erlang C) with ``c`` its capacity:
  the queueing correction the fluid limit lacks (in the fluid limit nobody waits below capacity).

Left out: policies (capacities stay as configured at the start), mobility between territories,
readiness delays, size matching of units (units of every class pooled), the timing of the stay law
beyond its mean. It is a cross-check of orders of magnitude and a seed for searches, not a
substitute for the simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..config.scenario import Scenario, TerritoryConfig
from ..config.timebase import MONTH_DAYS

NEEDS_LEVELS = ("low", "medium", "high")


@dataclass
class _Types:
    """Household types of a territory: attributes, persons per household and shares."""

    kind: list[str]
    needs: list[str]
    regular: np.ndarray  # bool
    priority: np.ndarray  # bool
    isolated: np.ndarray  # bool
    persons: np.ndarray  # mean persons per household

    def shares(self, population) -> np.ndarray:
        """Share of each type in a population (attributes independent, as the engine draws them)."""
        out = np.empty(len(self.kind))
        for i, (k, n) in enumerate(zip(self.kind, self.needs)):
            pk = population.kinds.share(k) if k in population.kinds.names else 0.0
            pn = population.needs.share(n) if n in population.needs.names else 0.0
            pr = population.regular_status_share if self.regular[i] else 1 - population.regular_status_share
            pp = population.priority_share if self.priority[i] else 1 - population.priority_share
            out[i] = pk * pn * pr * pp
        return out / out.sum() if out.sum() > 0 else out


def _types(scenario: Scenario) -> _Types:
    kinds, needs, regular, priority, isolated, persons = [], [], [], [], [], []
    for name, kind in scenario.pathway.kinds.items():
        shares = np.diff((0.0, *kind.cumulative))
        mean_persons = float(np.dot(kind.persons, shares))
        for n in NEEDS_LEVELS:
            for r in (True, False):
                for p in (True, False):
                    kinds.append(name)
                    needs.append(n)
                    regular.append(r)
                    priority.append(p)
                    isolated.append(kind.isolated)
                    persons.append(mean_persons)
    return _Types(kinds, needs, np.array(regular), np.array(priority), np.array(isolated), np.array(persons))


def _eligible(transition, types: _Types, scenario: Scenario) -> np.ndarray:
    """Share of each type that may take a queue edge (1 or 0, or a share for size and cause)."""
    out = np.ones(len(types.kind))
    for attr, values in transition.eligible.items():
        if attr == "kind":
            out *= np.array([k in values for k in types.kind], dtype=float)
        elif attr == "needs":
            out *= np.array([n in values for n in types.needs], dtype=float)
        elif attr == "regular_status":
            out *= np.isin(types.regular, list(values)).astype(float)
        elif attr == "priority":
            out *= np.isin(types.priority, list(values)).astype(float)
        elif attr == "isolated":
            out *= np.isin(types.isolated, list(values)).astype(float)
        elif attr == "size_class":
            classes = scenario.pathway.size_class_names
            for i, k in enumerate(types.kind):
                kind = scenario.pathway.kinds[k]
                shares = np.diff((0.0, *kind.cumulative))
                ok = sum(s for n, s in zip(kind.persons, shares) if classes[scenario.pathway.size_class_of(n)] in values)
                out[i] *= ok
        # 'cause': every type may come from every cause; the condition is not applied
    return out


def erlang_c(c: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load ``a`` (1 if a >= c)."""
    a = float(offered_load)
    if c <= 0 or a >= c:
        return 1.0
    if a <= 0:
        return 0.0
    b = 1.0  # Erlang B by recursion
    for k in range(1, int(c) + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1 - b))


def meanfield(scenario: Scenario, *, days_per_step: float = 1.0) -> xr.Dataset:
    """The expected trajectory of every territory of ``scenario`` by the fluid approximation above.

    Returns a dataset with dimensions ``territory``, ``state``, ``transition``, ``time`` (month
    ends, as the simulation's): ``occupancy`` and ``occupancy_persons`` (expected stocks at each
    month end), ``flow`` (expected moves per month), ``queue_length`` (expected households waiting
    for each capacitated state), ``mean_wait_days`` (Little's law), ``offered_load`` and
    ``wait_probability`` (Erlang C) of each capacitated state, and ``capacity``.
    """
    pathway = scenario.pathway
    states, transitions = pathway.states, pathway.transitions
    n_s, n_e, months = len(states), len(transitions), scenario.months
    types = _types(scenario)
    n_t = len(types.kind)
    steps_per_month = max(1, int(round(MONTH_DAYS / days_per_step)))
    dt = MONTH_DAYS / steps_per_month
    out_occ = np.zeros((len(scenario.territories), n_s, months))
    out_persons = np.zeros_like(out_occ)
    out_queue = np.full_like(out_occ, np.nan)
    out_cap = np.full_like(out_occ, np.nan)
    out_wait = np.full_like(out_occ, np.nan)
    out_load = np.full_like(out_occ, np.nan)
    out_pwait = np.full_like(out_occ, np.nan)
    out_flow = np.zeros((len(scenario.territories), n_e, months))
    exit_mask = np.array([s.kind == "exit" for s in states])
    for ti, territory in enumerate(scenario.territories):
        flows, occ, persons, queue, cap, wait, load, pwait = _territory(
            scenario, territory, types, n_t, steps_per_month, dt, months, exit_mask
        )
        out_flow[ti], out_occ[ti], out_persons[ti], out_queue[ti], out_cap[ti] = flows, occ, persons, queue, cap
        out_wait[ti], out_load[ti], out_pwait[ti] = wait, load, pwait
    time = np.array([scenario.start + np.timedelta64(m, "M") for m in range(months)]).astype("datetime64[ns]")
    tsm = ("territory", "state", "time")
    return xr.Dataset(
        {
            "occupancy": (tsm, out_occ, {"units": "households", "long_name": "Expected households in each state at the end of the month (mean-field)"}),
            "occupancy_persons": (tsm, out_persons, {"units": "persons", "long_name": "Expected persons in each state at the end of the month (mean-field)"}),
            "queue_length": (tsm, out_queue, {"units": "households", "long_name": "Expected households waiting for the state (mean-field)"}),
            "capacity": (tsm, out_cap, {"units": "places or units", "long_name": "Capacity (as configured at the start)"}),
            "mean_wait_days": (tsm, out_wait, {"units": "days", "long_name": "Mean wait for the state by Little's law (mean-field)"}),
            "offered_load": (tsm, out_load, {"units": "places or units", "long_name": "Offered load: flow in per day x mean time in the state"}),
            "wait_probability": (tsm, out_pwait, {"units": "1", "long_name": "M/M/c probability of waiting (Erlang C) at the offered load"}),
            "flow": (("territory", "transition", "time"), out_flow, {"units": "households", "long_name": "Expected moves along each transition during the month (mean-field)"}),
        },
        coords={
            "territory": [t.name for t in scenario.territories],
            "state": [s.name for s in states],
            "state_kind": ("state", [s.kind for s in states]),
            "transition": [t.key for t in transitions],
            "time": time,
        },
        attrs={"model": "mean-field (fluid approximation with Erlang C waits)", "scenario": scenario.name, "start": str(scenario.start)},
    )


def _territory(scenario: Scenario, territory: TerritoryConfig, types: _Types, n_t: int, steps_per_month: int, dt: float,
               months: int, exit_mask: np.ndarray):
    pathway = scenario.pathway
    states, transitions = pathway.states, pathway.transitions
    n_s, n_e = len(states), len(transitions)
    x = np.zeros((n_t, n_s))  # households by type and state
    base_shares = types.shares(territory.population)
    for s, (unit, count) in territory.initial.items():
        households = count / float(np.dot(base_shares, types.persons)) if unit == "persons" else float(count)
        x[:, s] += households * base_shares
    inflow = np.zeros((n_t, n_s))  # households per day by type and entry state
    for inf in territory.inflows:
        inflow[:, inf.entry] += inf.households_per_year / 365.25 * types.shares(inf.population)
    # stay and hazard rates per day, by transition
    rates = np.zeros(n_e)
    for tr in transitions:
        params = territory.edges.get(tr.index)
        if tr.mode == "hazard":
            rates[tr.index] = (params.rate_per_year if params else float(tr.defaults.get("rate_per_year", 0.0))) / 365.25
        elif tr.mode == "stay":
            law = territory.stays.get(tr.origin.index)
            if law is None:
                continue
            weights = {t.index: (territory.edges[t.index].weight if t.index in territory.edges else float(t.defaults.get("weight", 0.0)))
                       for t in pathway.out_transitions(tr.origin.name, "stay")}
            total = sum(weights.values())
            if total > 0:
                rates[tr.index] = weights[tr.index] / total / law.mean_days
    moving = [tr for tr in transitions if tr.mode in ("stay", "hazard") and rates[tr.index] > 0]
    move_ids = np.array([tr.index for tr in moving], dtype=int)
    move_src = np.array([tr.origin.index for tr in moving], dtype=int)
    move_rates = np.array([rates[tr.index] for tr in moving])
    move_net = np.zeros((len(moving), n_s))  # moving edges x states: -1 at the origin, +1 at the target
    move_out = np.zeros((len(moving), n_s))
    for j, tr in enumerate(moving):
        move_net[j, tr.origin.index] -= 1
        move_net[j, tr.target.index] += 1
        move_out[j, tr.origin.index] = 1
    # capacitated targets (places in persons, units in households, lettings per day) and their queue edges
    cap_states, cap_per, cap_value = [], [], []
    for state in states:
        kind = state.capacity_kind
        if kind == "shelter":
            cap_states.append(state.index)
            cap_per.append(0)
            cap_value.append(float(territory.places.get(state.index, 0)))
        elif kind == "units":
            cap_states.append(state.index)
            cap_per.append(1)
            cap_value.append(float(sum(territory.units.get(state.index, []))))
        elif kind == "turnover":
            supply = territory.supplies.get(state.index)
            cap_states.append(state.index)
            cap_per.append(2)
            cap_value.append(supply.lettings_per_year / 365.25 if supply else 0.0)
    cap_states_a, cap_per_a, cap_value_a = np.array(cap_states, dtype=int), np.array(cap_per), np.array(cap_value)
    position = {s: i for i, s in enumerate(cap_states)}
    queue_edges = [tr for tr in transitions if tr.mode == "queue" and tr.target.index in position]
    q_ids = np.array([tr.index for tr in queue_edges], dtype=int)
    q_src = np.array([tr.origin.index for tr in queue_edges], dtype=int)
    q_cap = np.array([position[tr.target.index] for tr in queue_edges], dtype=int)  # index into cap_states
    q_elig = np.stack([_eligible(tr, types, scenario) for tr in queue_edges]) if queue_edges else np.zeros((0, n_t))
    q_net = np.zeros((len(queue_edges), n_s))
    q_out = np.zeros((len(queue_edges), n_s))
    for j, tr in enumerate(queue_edges):
        q_net[j, tr.origin.index] -= 1
        q_net[j, tr.target.index] += 1
        q_out[j, tr.origin.index] = 1
    n_cap = len(cap_states)
    per_edge_persons = cap_per_a[q_cap] == 0 if len(queue_edges) else np.zeros(0, dtype=bool)
    flows = np.zeros((n_e, months))
    occ = np.zeros((n_s, months))
    persons = np.zeros((n_s, months))
    queue_out = np.full((n_s, months), np.nan)
    cap_out = np.full((n_s, months), np.nan)
    wait_out = np.full((n_s, months), np.nan)
    load_out = np.full((n_s, months), np.nan)
    pwait_out = np.full((n_s, months), np.nan)
    # time in each state (days): one over the rates out of it (stays and hazards)
    out_rate = move_out.T @ move_rates if len(moving) else np.zeros(n_s)
    time_in = np.divide(1.0, out_rate, out=np.full(n_s, np.inf), where=out_rate > 0)
    month_flow = np.zeros(n_e)
    for month in range(months):
        month_flow[:] = 0.0
        for _ in range(steps_per_month):
            x += inflow * dt
            if len(moving):
                moved = x[:, move_src] * (move_rates * dt)  # types x moving edges
                leaving = moved @ move_out
                scale = np.minimum(1.0, np.divide(x, leaving, out=np.ones_like(x), where=leaving > x))
                moved *= scale[:, move_src]
                x += moved @ move_net
                month_flow[move_ids] += moved.sum(axis=0)
            if len(queue_edges):
                demand = q_elig * x[:, q_src].T  # queue edges x types
                size = np.where(per_edge_persons[:, None], types.persons[None, :], 1.0)
                wanted = np.bincount(q_cap, weights=(demand * size).sum(axis=1), minlength=n_cap)
                held_h = x[:, cap_states_a].sum(axis=0)
                held_p = types.persons @ x[:, cap_states_a]
                free = np.where(cap_per_a == 0, cap_value_a - held_p, np.where(cap_per_a == 1, cap_value_a - held_h, cap_value_a * dt))
                ratio = np.minimum(1.0, np.divide(np.maximum(free, 0.0), wanted, out=np.zeros(n_cap), where=wanted > 0))
                take = demand * ratio[q_cap][:, None]
                # a household counted in several queues leaves its state once: cap what a state gives
                given = take.T @ q_out  # types x states
                scale = np.minimum(1.0, np.divide(x, given, out=np.ones_like(x), where=given > x))
                take *= scale[:, q_src].T
                x += take.T @ q_net
                month_flow[q_ids] += take.sum(axis=1)
        flows[:, month] = month_flow
        occ[:, month] = x.sum(axis=0)
        persons[:, month] = x.T @ types.persons
        waiting_by_edge = (q_elig * x[:, q_src].T).sum(axis=1) if len(queue_edges) else np.zeros(0)
        for i, target in enumerate(cap_states):
            edges = q_cap == i
            waiting = float(waiting_by_edge[edges].sum())
            inflow_month = float(month_flow[q_ids[edges]].sum())
            queue_out[target, month] = waiting
            cap_out[target, month] = cap_value[i] * 365.25 if cap_per[i] == 2 else cap_value[i]
            if inflow_month > 0:
                wait_out[target, month] = waiting / (inflow_month / MONTH_DAYS)
            if cap_per[i] != 2 and math.isfinite(time_in[target]):
                # offered load: the flow into the state per day x the mean time in it, in places or units
                a = inflow_month / MONTH_DAYS * time_in[target]
                if cap_per[i] == 0 and x[:, target].sum() > 0:
                    a *= float(types.persons @ x[:, target] / x[:, target].sum())
                load_out[target, month] = a
                pwait_out[target, month] = erlang_c(int(round(cap_value[i])), a)
    occ[exit_mask] = 0.0  # exits are not stocks (as in the simulation's dataset)
    persons[exit_mask] = 0.0
    return flows, occ, persons, queue_out, cap_out, wait_out, load_out, pwait_out
