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

    # --- capacities ------------------------------------------------------------------------
    def fit_bin(self, state: int, household: Household) -> int:
        """Waiting-list bin of a household for a state: persons (shelter) or size class."""
        if self.capacity_kind[state] == "shelter":
            return min(household.persons, MAX_PERSONS_BIN) - 1
        return household.size_class

    def free_places(self, state: int) -> int:
        return self.places[state] - self.persons[state]

    def occupy(self, state: int, household: Household, sign: int) -> None:
        """Count a household into (+1) or out of (-1) a state."""
        self.households[state] += sign
        self.persons[state] += sign * household.persons
        if self.capacity_kind[state] == "units":
            self.used_units[state][household.size_class] += sign

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
        return math.nan

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
            edges = self.config.edges
            queues = tuple(
                (t, edges[t.index]) for t in self.pathway.out_transitions(name, "queue") if household.is_eligible(t, names)
            )
            hazards = tuple(
                (t, edges[t.index].rate_per_year / DAYS_PER_YEAR)
                for t in self.pathway.out_transitions(name, "hazard")
                if household.is_eligible(t, names) and edges[t.index].rate_per_year > 0
            )
            routes = Routes(queues, hazards, frozenset(t.target.index for t, _ in queues))
            table[state] = routes
        return routes
