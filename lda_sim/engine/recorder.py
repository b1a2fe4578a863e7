"""Monthly counters of a run, turned into an ``xarray.Dataset`` at the end."""

from __future__ import annotations

import json
import math

import numpy as np
import xarray as xr

from .. import __version__
from ..config.scenario import Scenario
from ..config.schema import CAUSES
from ..config.timebase import MONTH_DAYS
from .survival import kaplan_meier

#: The kernel's counters of a run (each the array ``r_NAME`` of the kernel state).
_COUNTERS = (
    "occupancy", "persons", "capacity", "queue_length", "flow", "flow_persons", "entries", "entries_persons", "offers",
    "refusals", "lettings", "lettings_unused", "occupancy_mean", "cost", "support_slots", "support_used", "support_cost",
    "prevented", "diverted", "migration", "migration_persons", "migration_out", "migration_in", "mobility_offers",
    "mobility_refusals", "initial", "initial_persons", "requests", "unmet", "regularised", "support_started",
    "occupancy_kind", "persons_regular", "silent", "persons_kind", "cost_needs",
)
#: Edges of the waiting-time histogram, in days (fine at first, then coarser).
WAIT_BIN_EDGES = np.array(
    [0, 1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60, 90, 120, 150, 180, 240, 300, 365, 450, 540, 630, 730, 900, 1095, 1460, 1825, 2555, 3650, 1e9],
    dtype=float,
)
STATISTICS = ("mean", "median", "p90")
POOLED_KINDS = ("shelter", "housing")
#: Events that end a spell towards housing (kernel SPELL_* codes 0-2).
SPELL_EVENTS = ("housed", "left_unhoused", "censored")
SPELL_RETURN = 3
#: Statistics of the Kaplan-Meier time to housing, and the horizons (months) of the shares housed.
KM_STATISTICS = ("p25", "median", "p75")
KM_QUANTILES = (0.25, 0.5, 0.75)
HORIZONS_MONTHS = (6, 12, 24)
NEEDS_LEVELS = ("low", "medium", "high")
PRIORITY_CLASSES = ("other", "priority")
#: Group dimensions of the outcomes by group: (dimension, column of the spell log, of the wait log).
SPELL_GROUPS = (("household_kind", 3), ("needs_level", 4), ("priority_class", 5), ("entry_state", 1))
WAIT_GROUPS = (("household_kind", 0), ("needs_level", 1), ("priority_class", 2), ("from_state", 3))
RETURN_WINDOW_DAYS = 12 * MONTH_DAYS


def _quantiles_sorted(values: np.ndarray, starts: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile (linear interpolation, as numpy's default) of each group of a sorted array."""
    position = q * (counts - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, counts - 1)
    fraction = position - low
    return values[starts + low] * (1 - fraction) + values[starts + high] * fraction


def _monthly_statistics(values: np.ndarray, months: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean, median and 90th percentile of ``values`` in each of ``m`` months (NaN where a month
    has none), and over all; vectorised over months."""
    order = np.lexsort((values, months))
    v, month = values[order], months[order]
    counts = np.bincount(month, minlength=m)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.full((m, len(STATISTICS)), np.nan)
    has = counts > 0
    out[has, 0] = np.bincount(month, weights=v, minlength=m)[has] / counts[has]
    out[has, 1] = _quantiles_sorted(v, starts[has], counts[has], 0.5)
    out[has, 2] = _quantiles_sorted(v, starts[has], counts[has], 0.9)
    overall = np.array((values.mean(), np.median(values), np.quantile(values, 0.9)))
    return out, overall


class Recorder:
    """The monthly counters of a run (arrays the compiled kernel fills), turned into a dataset.

    Stocks are snapshotted at month ends; moves, entries, offers and lettings are counted in the
    month of the event; waits and times to housing are logged one by one and summarised here.
    """

    occupancy: np.ndarray
    persons: np.ndarray
    capacity: np.ndarray
    queue_length: np.ndarray
    flow: np.ndarray
    flow_persons: np.ndarray
    entries: np.ndarray
    entries_persons: np.ndarray
    offers: np.ndarray
    refusals: np.ndarray
    lettings: np.ndarray
    lettings_unused: np.ndarray
    occupancy_mean: np.ndarray
    cost: np.ndarray
    support_slots: np.ndarray
    support_used: np.ndarray
    support_cost: np.ndarray
    prevented: np.ndarray
    diverted: np.ndarray
    migration: np.ndarray
    migration_persons: np.ndarray
    migration_out: np.ndarray
    migration_in: np.ndarray
    mobility_offers: np.ndarray
    requests: np.ndarray
    unmet: np.ndarray
    regularised: np.ndarray
    support_started: np.ndarray
    occupancy_kind: np.ndarray
    persons_regular: np.ndarray
    silent: np.ndarray
    persons_kind: np.ndarray
    mobility_refusals: np.ndarray
    initial: np.ndarray
    initial_persons: np.ndarray
    cost_needs: np.ndarray

    def __init__(self, scenario: Scenario, seed: int, arrays: dict[str, np.ndarray], delivered: np.ndarray | None = None) -> None:
        self.scenario = scenario
        t, s, m = len(scenario.territories), len(scenario.pathway.states), scenario.months
        self.delivered = np.zeros((t, s, m), np.int64) if delivered is None else delivered
        self.seed = seed
        self.events = 0
        self.months = scenario.months
        self.months_done = 0  # month ends recorded so far
        for name in _COUNTERS:
            setattr(self, name, arrays["r_" + name])
        self.waits: list[list[np.ndarray]] = []
        self.to_housing: list[np.ndarray] = []
        self.to_housing_months: list[np.ndarray] = []
        self.wait_months: list[list[np.ndarray]] = []

    def month_of(self, time: float) -> int:
        return min(int(time / MONTH_DAYS), self.months - 1)

    def _read_logs(self, logs: tuple[np.ndarray, ...]) -> None:
        """Split the kernel's logs of waits and times to housing by territory and state, in the
        order they were recorded."""
        w_val, w_where, w_month, th_val, th_terr, th_month = logs[:6]
        t, s = self.occupancy.shape[:2]
        order = np.argsort(w_where, kind="stable")
        bounds = np.searchsorted(w_where[order], np.arange(t * s + 1))
        self.waits = [[w_val[order[bounds[ti * s + si]:bounds[ti * s + si + 1]]] for si in range(s)] for ti in range(t)]
        self.wait_months = [[w_month[order[bounds[ti * s + si]:bounds[ti * s + si + 1]]] for si in range(s)] for ti in range(t)]
        self.to_housing = [th_val[th_terr == ti] for ti in range(t)]
        self.to_housing_months = [th_month[th_terr == ti] for ti in range(t)]

    # --- the dataset ---------------------------------------------------------------------------
    def _time_to_housing(self) -> tuple[np.ndarray, np.ndarray]:
        t, _, m = self.occupancy.shape
        monthly = np.full((t, m, len(STATISTICS)), np.nan)
        overall = np.full((t, len(STATISTICS)), np.nan)
        for ti in range(t):
            if len(self.to_housing[ti]):
                monthly[ti], overall[ti] = _monthly_statistics(np.asarray(self.to_housing[ti]), np.asarray(self.to_housing_months[ti]), m)
        return monthly, overall

    def _pooled_waits(self) -> np.ndarray:
        """Run-wide wait statistics pooled over the states of each kind (shelter, housing)."""
        kinds = [s.kind for s in self.scenario.pathway.states]
        out = np.full((len(self.waits), len(POOLED_KINDS), len(STATISTICS)), np.nan)
        for ti, per_state in enumerate(self.waits):
            for ki, kind in enumerate(POOLED_KINDS):
                pooled = [waits for si, waits in enumerate(per_state) if kinds[si] == kind]
                if sum(len(w) for w in pooled):
                    w = np.concatenate(pooled)
                    out[ti, ki] = (w.mean(), np.median(w), np.quantile(w, 0.9))
        return out

    def _wait_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        t, s, m = self.occupancy.shape
        stats = np.full((t, s, m, len(STATISTICS)), np.nan)
        overall = np.full((t, s, len(STATISTICS)), np.nan)
        served = np.zeros((t, s, m), dtype=np.int64)
        hist = np.zeros((t, s, m, len(WAIT_BIN_EDGES) - 1), dtype=np.int64)
        for ti in range(t):
            for si in range(s):
                if not len(self.waits[ti][si]):
                    continue
                w = np.asarray(self.waits[ti][si])
                month = np.asarray(self.wait_months[ti][si])
                stats[ti, si], overall[ti, si] = _monthly_statistics(w, month, m)
                served[ti, si] = np.bincount(month, minlength=m)
                bins = np.clip(np.searchsorted(WAIT_BIN_EDGES, w, side="right") - 1, 0, len(WAIT_BIN_EDGES) - 2)
                hist[ti, si] = np.bincount(month * (len(WAIT_BIN_EDGES) - 1) + bins, minlength=m * (len(WAIT_BIN_EDGES) - 1)).reshape(m, -1)
        return stats, overall, served, hist

    # --- spells towards housing and outcomes by group -------------------------------------------
    def _group_sizes(self) -> dict[str, int]:
        n_states = len(self.scenario.pathway.states)
        return {"household_kind": len(self.scenario.pathway.kinds), "needs_level": len(NEEDS_LEVELS),
                "priority_class": len(PRIORITY_CLASSES), "entry_state": n_states, "from_state": n_states}

    def _spell_variables(self, spells: tuple[np.ndarray, ...] | None) -> dict[str, tuple]:
        """Kaplan-Meier times to housing and shares housed within 6, 12, 24 months, by territory and
        by group, the spells by how they ended, and the returns to the street within 12 months."""
        t = self.occupancy.shape[0]
        sizes = self._group_sizes()
        if spells is None:
            sp_i, sp_f = np.zeros((0, 9), np.int32), np.zeros((0, 2))
        else:
            sp_i, sp_f = spells[0], spells[1]
        # columns taken one at a time (not the rows as int64: 72 bytes a spell, most of the dataset's peak)
        spell = sp_i[:, 2] != SPELL_RETURN
        terr, event, duration = sp_i[spell, 0].astype(np.int64), sp_i[spell, 2], sp_f[spell, 1]
        housed = event == 0
        comment = (
            "households that entered the system during the run (arrivals, including those diverted straight to "
            "housing, housed at once); a spell ends when the household is housed, or is censored when it leaves "
            "the system unhoused or the run ends; Kaplan-Meier estimate (lda_sim.engine.survival). The initial population "
            "is left out: its entry dates are not known"
        )
        horizons = np.array(HORIZONS_MONTHS, float) * MONTH_DAYS

        def km(group: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            code = terr * n + group
            curves = kaplan_meier(duration, housed, code, t * n)
            quantiles = np.stack([curves.quantile(q) for q in KM_QUANTILES], axis=-1).reshape(t, n, -1)
            shares = np.stack([1.0 - curves.survival_at(h) for h in horizons], axis=-1).reshape(t, n, -1)
            counts = np.zeros((t * n, len(SPELL_EVENTS)), np.int64)
            np.add.at(counts, (code, event), 1)
            return quantiles, shares, counts.reshape(t, n, -1)

        out: dict[str, tuple] = {}
        q, sh, counts = km(np.zeros(len(terr), np.int64), 1)
        out["spells"] = (("territory", "spell_event"), counts[:, 0], "households", "Spells towards housing of the households that entered during the run, by how they ended", comment)
        out["time_to_housing_km"] = (("territory", "km_statistic"), q[:, 0], "days", "Time from entering the system to a first home (Kaplan-Meier, censoring-aware)", comment)
        out["share_housed_within"] = (("territory", "horizon"), sh[:, 0], "1", "Share of entering households housed within the horizon (Kaplan-Meier)", comment)
        for dim, column in SPELL_GROUPS:
            q, sh, counts = km(sp_i[spell, column].astype(np.int64), sizes[dim])
            out[f"spells_by_{dim}"] = ((("territory", dim, "spell_event")), counts, "households", f"Spells towards housing by {dim.replace('_', ' ')} and how they ended", comment)
            out[f"time_to_housing_km_by_{dim}"] = (("territory", dim, "km_statistic"), q, "days", f"Time to a first home by {dim.replace('_', ' ')} (Kaplan-Meier)", comment)
            out[f"share_housed_within_by_{dim}"] = (("territory", dim, "horizon"), sh, "1", f"Share housed within the horizon by {dim.replace('_', ' ')} (Kaplan-Meier)", comment)
        # returns to the street within 12 months: among those housed at least 12 months before the end
        end = self.months_done * MONTH_DAYS
        ri, rf = sp_i[~spell, 0], sp_f[~spell]
        housed_at = sp_f[spell, 0][housed] + duration[housed]
        exposed = np.bincount(terr[housed][housed_at <= end - RETURN_WINDOW_DAYS], minlength=t)
        back = (rf[:, 0] <= end - RETURN_WINDOW_DAYS) & (rf[:, 1] <= RETURN_WINDOW_DAYS)
        returned = np.bincount(ri[back], minlength=t)
        rcomment = (
            "households that entered during the run and were first housed at least 12 months before the end of the "
            "run (the denominator, housed_12_months_before_end); those back on the street (any state of kind street) "
            "within 12 months of that first home. Leaving the system while housed counts as not returned"
        )
        out["housed_12_months_before_end"] = (("territory",), exposed, "households", "Households first housed at least 12 months before the end of the run", rcomment)
        out["returned_to_street_within_12_months"] = (("territory",), returned, "households", "Of those, households back on the street within 12 months", rcomment)
        share = np.divide(returned, exposed, out=np.full(t, np.nan), where=exposed > 0)
        out["share_returned_to_street_within_12_months"] = (("territory",), share, "1", "Share back on the street within 12 months of a first home", rcomment)
        return out

    def _wait_group_variables(self, logs: tuple[np.ndarray, ...], spells: tuple[np.ndarray, ...] | None) -> dict[str, tuple]:
        """Waits pooled over the states of each kind (shelter, housing), by group of the household
        served: its kind, needs level, priority class and the state it waited in."""
        w_val, w_where = logs[0], logs[1]
        t, s = self.occupancy.shape[:2]
        groups = spells[2] if spells is not None and len(spells) > 2 else np.full((len(w_val), 4), -1, np.int32)
        kinds = np.array([st.kind for st in self.scenario.pathway.states])
        state_group = np.full(s, -1, np.int64)
        for ki, kind in enumerate(POOLED_KINDS):
            state_group[kinds == kind] = ki
        pooled = state_group[w_where % s] if len(w_where) else np.zeros(0, np.int64)
        terr = w_where // s
        sizes = self._group_sizes()
        out: dict[str, tuple] = {}
        comment = "waits of all households that got through a waiting list during the run, pooled over the states of the kind"
        for dim, column in WAIT_GROUPS:
            n = sizes[dim]
            g = groups[:, column].astype(np.int64)
            keep = (pooled >= 0) & (g >= 0)
            code = (terr[keep] * len(POOLED_KINDS) + pooled[keep]) * n + g[keep]
            values = w_val[keep]
            m = t * len(POOLED_KINDS) * n
            stats = np.full((m, len(STATISTICS)), np.nan)
            counts = np.bincount(code, minlength=m)
            if len(values):
                stats, _ = _monthly_statistics(values, code, m)
            shape = (t, len(POOLED_KINDS), n)
            out[f"served_by_{dim}"] = (("territory", "state_group", dim), counts.reshape(shape), "households", f"Households that got through a waiting list of a shelter or of housing during the run, by {dim.replace('_', ' ')}", comment)
            out[f"wait_days_by_{dim}"] = (("territory", "state_group", dim, "statistic"), stats.reshape(*shape, -1), "days", f"Waiting time by {dim.replace('_', ' ')}", comment)
        return out

    def dataset(self, logs: tuple[np.ndarray, ...], spells: tuple[np.ndarray, ...] | None = None) -> xr.Dataset:
        """All counters as a dataset with units and long names (``logs``: the kernel's logs;
        ``spells``: its spell log and the groups of the wait log, :func:`kernel.spell_log`)."""
        self._read_logs(logs)
        sc = self.scenario
        pathway = sc.pathway
        states = [s.name for s in pathway.states]
        transitions = [t.key for t in pathway.transitions]
        exit_idx = [s.index for s in pathway.states if s.kind == "exit"]
        time = sc.start + np.arange(self.months)
        queued = np.array([s.capacitated for s in pathway.states])
        stats, overall, served, hist = self._wait_arrays()
        to_housing, to_housing_run = self._time_to_housing()
        queue_length = np.where(queued[None, :, None], self.queue_length.astype(float), np.nan)
        exits = np.stack([self.flow[:, [t.index for t in pathway.transitions if t.target.index == e], :].sum(axis=1) for e in exit_idx], axis=1)

        def var(dims: tuple[str, ...], data: np.ndarray, units: str, long_name: str, **attrs: str) -> tuple:
            return (dims, data, {"units": units, "long_name": long_name, **attrs})

        tsm = ("territory", "state", "time")
        ds = xr.Dataset(
            {
                "occupancy": var(tsm, self.occupancy, "households", "Households in each state at the end of the month"),
                "occupancy_persons": var(tsm, self.persons, "persons", "Persons in each state at the end of the month"),
                "capacity": var(tsm, self.capacity, "places or units", "Capacity at the end of the month: places (persons) for shelters, units (households) for housing, the whole stock for turnover-supplied housing"),
                "queue_length": var(tsm, queue_length, "households", "Households waiting for a vacancy in the state at the end of the month"),
                "flow": var(("territory", "transition", "time"), self.flow, "households", "Moves along each transition during the month"),
                "flow_persons": var(("territory", "transition", "time"), self.flow_persons, "persons", "Persons moved along each transition during the month"),
                "entries": var(("territory", "cause", "time"), self.entries, "households", "Households entering the system during the month, by cause"),
                "entries_persons": var(("territory", "cause", "time"), self.entries_persons, "persons", "Persons entering the system during the month, by cause"),
                "exits": var(("territory", "exit_state", "time"), exits, "households", "Households leaving the system during the month, by exit state"),
                "served": var(tsm, served, "households", "Households that got through the waiting list of the state during the month"),
                "wait_days": var(
                    tsm + ("statistic",), stats, "days",
                    "Waiting time of the households that got through the waiting list during the month",
                    comment=(
                        "measured in continuous time from the start of the wait, not rounded to the month; "
                        "households present at the start count their wait from their entry into their state "
                        "(drawn at equilibrium with their elapsed stay), so waits show no ramp from zero"
                    ),
                ),
                "wait_days_run": var(("territory", "state", "statistic"), overall, "days", "Waiting time of all households that got through the waiting list during the run"),
                "wait_days_by_kind": var(
                    ("territory", "state_group", "statistic"), self._pooled_waits(), "days",
                    "Waiting time of all households that got through a waiting list of a shelter or of housing during the run",
                ),
                "wait_histogram": var(tsm + ("wait_bin",), hist, "households", "Households served in the month by waiting time bin"),
                "offers": var(tsm, self.offers, "offers", "Offers made from the waiting list during the month"),
                "refusals": var(tsm, self.refusals, "offers", "Offers refused during the month"),
                "lettings": var(tsm, self.lettings, "lettings", "Lettings of a turnover-supplied state offered to the model during the month"),
                "lettings_unused": var(tsm, self.lettings_unused, "lettings", "Lettings that found no eligible waiting household (went to ordinary demand)"),
                "occupancy_mean": var(tsm, self.occupancy_mean, "households", "Mean number of households in each state during the month (time average)"),
                "cost": var(tsm, self.cost, "EUR", "Cost of the month by state (per person, household or funded place, as configured)"),
                "units_delivered": var(tsm, self.delivered, "units", "Units delivered by production policies during the month"),
                "production_cost": var(
                    tsm, self.delivered * np.array([[tc.production_costs.get(si, 0.0) for si in range(len(states))] for tc in sc.territories])[:, :, None],
                    "EUR", "One-off public cost of the units delivered by production policies during the month (production_costs of the territory files)",
                ),
                "cost_by_needs": var(
                    ("territory", "state", "needs_level", "time"), self.cost_needs, "EUR",
                    "Cost of the month of the states costed by needs level, by the needs level of the household (its other members at their own rate); zero elsewhere",
                ),
                "support_slots": var(("territory", "time"), self.support_slots, "slots", "Support slots funded at the end of the month"),
                "support_used": var(("territory", "time"), self.support_used, "households", "Tenants holding a support slot at the end of the month"),
                "support_cost": var(("territory", "time"), self.support_cost, "EUR", "Cost of the funded support slots during the month"),
                "prevented": var(("territory", "cause", "time"), self.prevented, "households", "Households kept out of homelessness by prevention during the month"),
                "diverted": var(("territory", "cause", "time"), self.diverted, "households", "Entering households sent straight to housing by prevention during the month (counted in entries)"),
                "time_to_housing": var(
                    ("territory", "time", "statistic"), to_housing, "days",
                    "Time from entering the system to a first home, of the households housed during the month",
                ),
                "time_to_housing_run": var(("territory", "statistic"), to_housing_run, "days", "Time from entering the system to a first home, over the run"),
                "migration": var(
                    ("origin", "destination", "time"), self.migration, "households",
                    "Households that moved from a territory to a home in another during the month (mobility)",
                ),
                "migration_persons": var(("origin", "destination", "time"), self.migration_persons, "persons", "Persons that moved between territories during the month"),
                "migration_out": var(tsm, self.migration_out, "households", "Households that left the state for a home in another territory during the month"),
                "migration_in": var(tsm, self.migration_in, "households", "Households from another territory that entered the state during the month"),
                "occupancy_by_kind": var(
                    ("territory", "state", "household_kind", "time"), self.occupancy_kind, "households",
                    "Households in each state at the end of the month, by household kind",
                ),
                "occupancy_persons_by_kind": var(
                    ("territory", "state", "household_kind", "time"), self.persons_kind, "persons",
                    "Persons in each state at the end of the month, by household kind",
                ),
                "occupancy_persons_regular": var(tsm, self.persons_regular, "persons", "Persons with a regular residence status in each state at the end of the month"),
                "street_not_calling": var(
                    ("territory", "time"), self.silent, "households",
                    "Households on the street at the end of the month who do not ask the 115 (not yet reached by outreach)",
                ),
                "requests_115": var(("territory", "time"), self.requests, "requests", "Requests to the emergency line (115) by households on the street during the month (one per call)"),
                "requests_115_unmet": var(("territory", "time"), self.unmet, "requests", "Requests to the 115 that lapsed unmet during the month (no place came free for the caller while the request was open)"),
                "regularised": var(("territory", "time"), self.regularised, "households", "Households that got a regular residence status during the month"),
                "support_started": var(("territory", "time"), self.support_started, "households", "Tenants who got a support slot at their move-in during the month"),
                "mobility_offers": var(("territory", "time"), self.mobility_offers, "offers", "Lettings of the territory offered to households waiting in another territory during the month"),
                "mobility_refusals": var(("territory", "time"), self.mobility_refusals, "offers", "Offers to households of another territory refused during the month"),
                "initial_occupancy": var(("territory", "state"), self.initial, "households", "Households in each state at the start"),
                "initial_occupancy_persons": var(("territory", "state"), self.initial_persons, "persons", "Persons in each state at the start"),
            },
            coords={
                "household_kind": ("household_kind", list(pathway.kinds), {"long_name": "Household kind"}),
                "needs_level": ("needs_level", list(NEEDS_LEVELS), {"long_name": "Support needs level"}),
                "priority_class": ("priority_class", list(PRIORITY_CLASSES), {"long_name": "Priority (DALO) flag"}),
                "entry_state": ("entry_state", states, {"long_name": "State entered on arrival"}),
                "from_state": ("from_state", states, {"long_name": "State waited in"}),
                "spell_event": ("spell_event", list(SPELL_EVENTS), {"long_name": "How a spell towards housing ended"}),
                "km_statistic": ("km_statistic", list(KM_STATISTICS), {"long_name": "Quantile of the Kaplan-Meier time to housing"}),
                "horizon": ("horizon", list(HORIZONS_MONTHS), {"units": "months", "long_name": "Months after entering the system"}),
                "territory": ("territory", [t.name for t in sc.territories], {"long_name": "Territory"}),
                "territory_label": ("territory", [t.label for t in sc.territories]),
                "origin": ("origin", [t.name for t in sc.territories], {"long_name": "Territory left"}),
                "destination": ("destination", [t.name for t in sc.territories], {"long_name": "Territory entered"}),
                "state": ("state", states, {"long_name": "State of the pathway graph"}),
                "state_kind": ("state", [s.kind for s in pathway.states]),
                "state_label_fr": ("state", [s.label["fr"] for s in pathway.states]),
                "state_label_en": ("state", [s.label["en"] for s in pathway.states]),
                "transition": ("transition", transitions, {"long_name": "Transition origin->target"}),
                "transition_source": ("transition", [t.origin.name for t in pathway.transitions]),
                "transition_target": ("transition", [t.target.name for t in pathway.transitions]),
                "transition_mode": ("transition", [t.mode for t in pathway.transitions]),
                "cause": ("cause", list(CAUSES), {"long_name": "Cause of entry"}),
                "exit_state": ("exit_state", [states[i] for i in exit_idx]),
                "statistic": ("statistic", list(STATISTICS)),
                "state_group": ("state_group", list(POOLED_KINDS), {"long_name": "Kind of state a waiting list leads to"}),
                "wait_bin": ("wait_bin", WAIT_BIN_EDGES[:-1], {"units": "days", "long_name": "Lower edge of the waiting-time bin"}),
                "wait_bin_upper": ("wait_bin", np.where(np.isfinite(WAIT_BIN_EDGES[1:]) & (WAIT_BIN_EDGES[1:] < 1e9), WAIT_BIN_EDGES[1:], math.inf), {"units": "days"}),
                "time": ("time", time.astype("datetime64[ns]"), {"long_name": "Month (stocks at its end, flows during it)"}),
            },
            attrs={
                "title": f"lda_sim results: {sc.name}",
                "scenario": sc.name,
                "scenario_description": sc.description,
                "scenario_file": sc.file,
                "pathway": pathway.name,
                "policies": json.dumps([p.spec for p in sc.policies], ensure_ascii=False, default=str),
                "seed": int(self.seed),
                "events": int(self.events),
                "lda_sim_version": __version__,
                "start": str(sc.start),
                "months": int(self.months),
                "month_days": MONTH_DAYS,
                "Conventions": "CF-1.10",
            },
        )
        for name, (dims, data, units, long_name, comment) in {**self._spell_variables(spells), **self._wait_group_variables(logs, spells)}.items():
            ds[name] = var(dims, data, units, long_name, comment=comment)
        return ds.isel(time=slice(0, self.months_done)) if self.months_done < self.months else ds
