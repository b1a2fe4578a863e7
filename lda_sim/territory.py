"""A territory during a run: stocks, capacities, waiting lists and resolved transitions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .allocation import PriorityRule, WaitingList
from .config import EdgeParams, TerritoryConfig
from .laws import StayLaw
from .pathway import Pathway, Transition
from .streams import BlockStream, process_rng

if TYPE_CHECKING:  # pragma: no cover
    from .households import Household

DAYS_PER_YEAR = 365.25
#: Waiting lists for shelter places sort households by persons, up to this many (larger share a bin).
MAX_PERSONS_BIN = 12


@dataclass(frozen=True, slots=True)
class Routes:
    """What a household of one profile can do from one state of one territory."""

    queues: tuple[tuple[Transition, EdgeParams], ...]
    hazards: tuple[tuple[Transition, float], ...]  # (transition, rate per day)
    queue_targets: frozenset[int]


class Territory:
    """The run-time state of one territory."""

    def __init__(self, index: int, config: TerritoryConfig, pathway: Pathway, seed: int, rules: dict[int, PriorityRule]) -> None:
        self.index = index
        self.config = config
        self.name = config.name
        self.pathway = pathway
        n = len(pathway.states)
        self.households = [0] * n  # households per state
        self.persons = [0] * n  # persons per state
        self.capacity_kind = [s.capacity_kind for s in pathway.states]
        self.places: list[int] = [config.places.get(i, 0) for i in range(n)]
        self.units: list[list[int]] = [list(config.units.get(i, [])) for i in range(n)]
        self.used_units: list[list[int]] = [[0] * len(u) for u in self.units]
        self.supplies = config.supplies
        self.stays: list[StayLaw | None] = [config.stays.get(i) for i in range(n)]
        self.stay_edges: list[tuple[tuple[Transition, ...], tuple[float, ...]]] = []
        for s in pathway.states:
            edges = tuple(pathway.out_transitions(s.name, "stay"))
            acc, cumulative = 0.0, []
            for t in edges:
                acc += config.edges[t.index].weight
                cumulative.append(acc)
            self.stay_edges.append((edges, tuple(cumulative)))
        self.waiting: dict[int, WaitingList] = {}
        self.rules: dict[int, PriorityRule] = {}
        for s in pathway.states:
            if s.capacitated:
                bins = MAX_PERSONS_BIN if s.capacity_kind == "shelter" else len(pathway.size_classes)
                self.waiting[s.index] = WaitingList(s.index, bins)
                self.rules[s.index] = rules[s.index]
        self.arrivals = [BlockStream(process_rng(seed, config.name, "arrivals", f.cause)) for f in config.inflows]
        self.lettings = {s: BlockStream(process_rng(seed, config.name, "lettings", pathway.states[s].name)) for s in self.supplies}
        self._profiles: dict[tuple[Any, ...], int] = {}
        self._routes: list[list[Routes | None]] = []  # [profile id][state]
        # --- levers (policies change these during a run) ---
        self.edges: dict[int, EdgeParams] = dict(config.edges)
        self.closed: set[int] = set()  # queue transitions closed by a pathway doctrine
        self.stock_units = {s: float(sup.stock_units) for s, sup in self.supplies.items()}
        self.turnover_rate = {s: sup.turnover_rate for s, sup in self.supplies.items()}
        self.share_to_homeless = {s: sup.share_to_homeless for s, sup in self.supplies.items()}
        self.letting_token = {s: 0 for s in self.supplies}
        self.first_lettings_carry = {s: 0.0 for s in self.supplies}
        self.closing_places = [0] * n
        self.closing_units = [[0] * len(u) for u in self.units]
        self.prevented = {f.cause: 0.0 for f in config.inflows}
        self.diverted: dict[str, tuple[float, int]] = {f.cause: (0.0, -1) for f in config.inflows}
        self.support_slots = 0
        self.support_used = 0
        self.support_states: frozenset[int] = frozenset()
        self.support_reduction = 0.0
        self.slide_handlers: dict[int, list[Any]] = {}  # state -> callbacks when a lease slides out of it
        # --- time integrals for costs and mean occupancy, reset each month ---
        self.household_days = [0.0] * n
        self.person_days = [0.0] * n
        self.capacity_days = [0.0] * n
        self.last_change = [0.0] * n
        self.capacity_last = [0.0] * n

    # --- capacities ------------------------------------------------------------------------
    def fit_bin(self, state: int, household: Household) -> int:
        """Waiting-list bin of a household for a state: persons (shelter) or size class."""
        if self.capacity_kind[state] == "shelter":
            return min(household.persons, MAX_PERSONS_BIN) - 1
        return household.size_class

    def free_places(self, state: int) -> int:
        return self.places[state] - self.persons[state]

    def occupy(self, state: int, household: Household, sign: int, now: float) -> None:
        """Count a household into (+1) or out of (-1) a state at time ``now``."""
        self._integrate(state, now)
        self.households[state] += sign
        self.persons[state] += sign * household.persons
        if self.capacity_kind[state] == "units":
            self.used_units[state][household.size_class] += sign

    def _integrate(self, state: int, now: float) -> None:
        dt = now - self.last_change[state]
        if dt > 0:
            self.household_days[state] += self.households[state] * dt
            self.person_days[state] += self.persons[state] * dt
            self.last_change[state] = now

    def _integrate_capacity(self, state: int, now: float) -> None:
        dt = now - self.capacity_last[state]
        if dt > 0:
            capacity = self.capacity(state)
            if capacity == capacity:  # not NaN
                self.capacity_days[state] += capacity * dt
            self.capacity_last[state] = now

    def integrals(self, now: float) -> tuple[list[float], list[float], list[float]]:
        """Household-, person- and capacity-days since the last call, per state; then reset."""
        for s in range(len(self.households)):
            self._integrate(s, now)
            self._integrate_capacity(s, now)
        out = (self.household_days, self.person_days, self.capacity_days)
        n = len(self.households)
        self.household_days, self.person_days, self.capacity_days = [0.0] * n, [0.0] * n, [0.0] * n
        return out

    def letting_rate(self, state: int) -> float:
        """Lettings per day of a turnover-supplied state that go to households of the model."""
        return self.stock_units[state] * self.turnover_rate[state] * self.share_to_homeless[state] / DAYS_PER_YEAR

    def has_room(self, state: int, household: Household) -> bool:
        """Whether ``household`` fits in ``state`` now."""
        kind = self.capacity_kind[state]
        if kind == "shelter":
            return self.persons[state] + household.persons <= self.places[state]
        if kind == "units":
            c = household.size_class
            return self.used_units[state][c] < self.units[state][c]
        return True

    def capacity(self, state: int) -> float:
        """Places (shelter) or units (housing) of a state; NaN where capacity is not counted."""
        kind = self.capacity_kind[state]
        if kind == "shelter":
            return float(self.places[state])
        if kind == "units":
            return float(sum(self.units[state]))
        if kind == "turnover":
            return self.stock_units[state]
        return math.nan

    def change_capacity(self, state: int, amount: int, size_class: int | None, now: float) -> None:
        """Add (``amount`` > 0) places or units, or close them (< 0): free ones at once, occupied
        ones when their occupants leave (nobody is put out)."""
        self._integrate_capacity(state, now)
        kind = self.capacity_kind[state]
        if kind == "turnover":
            self.stock_units[state] = max(0.0, self.stock_units[state] + amount)
            return
        if kind == "shelter":
            closing, room = self.closing_places[state], self.places[state] - self.persons[state]
        else:
            assert size_class is not None
            closing = self.closing_units[state][size_class]
            room = self.units[state][size_class] - self.used_units[state][size_class]
        if amount >= 0:
            cancelled = min(closing, amount)  # reopening cancels pending closures first
            closing -= cancelled
            delta = amount - cancelled
        else:
            now_closed = min(-amount, max(room, 0))
            closing += -amount - now_closed
            delta = -now_closed
        if kind == "shelter":
            self.places[state] += delta
            self.closing_places[state] = closing
        else:
            self.units[state][size_class] += delta
            self.closing_units[state][size_class] = closing

    def apply_closures(self, state: int, size_class: int, now: float) -> None:
        """Close places or units that were waiting for their occupants to leave."""
        kind = self.capacity_kind[state]
        if kind == "shelter" and self.closing_places[state]:
            k = min(self.closing_places[state], self.places[state] - self.persons[state])
            if k > 0:
                self._integrate_capacity(state, now)
                self.places[state] -= k
                self.closing_places[state] -= k
        elif kind == "units" and self.closing_units[state][size_class]:
            k = min(self.closing_units[state][size_class], self.units[state][size_class] - self.used_units[state][size_class])
            if k > 0:
                self._integrate_capacity(state, now)
                self.units[state][size_class] -= k
                self.closing_units[state][size_class] -= k

    def reset_routes(self) -> None:
        """Forget cached routes (after transitions were opened, closed or given readiness)."""
        self._routes = [[None] * len(self.pathway.states) for _ in self._routes]

    # --- routes ----------------------------------------------------------------------------
    def profile_id(self, household: Household) -> int:
        """A small integer shared by the households with the same eligibility profile."""
        profile = household.profile()
        pid = self._profiles.get(profile)
        if pid is None:
            pid = self._profiles[profile] = len(self._profiles)
            self._routes.append([None] * len(self.pathway.states))
        return pid

    def routes(self, state: int, household: Household) -> Routes:
        """The queues and hazards open to ``household`` from ``state`` (cached by profile)."""
        table = self._routes[household.profile_id]
        routes = table[state]
        if routes is None:
            names = self.pathway.size_class_names
            name = self.pathway.states[state].name
            edges = self.edges
            queues = tuple(
                (t, edges[t.index])
                for t in self.pathway.out_transitions(name, "queue")
                if t.index not in self.closed and household.is_eligible(t, names)
            )
            hazards = tuple(
                (t, edges[t.index].rate_per_year / DAYS_PER_YEAR)
                for t in self.pathway.out_transitions(name, "hazard")
                if household.is_eligible(t, names) and edges[t.index].rate_per_year > 0
            )
            routes = Routes(queues, hazards, frozenset(t.target.index for t, _ in queues))
            table[state] = routes
        return routes
