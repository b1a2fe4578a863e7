"""The pathway graph: states and transitions, built as a ``networkx.DiGraph`` and validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from .errors import ConfigError
from .laws import law_at
from .schema import CAUSES, NEEDS

#: State kinds whose capacity is counted, so that they are entered through a queue.
CAPACITATED = {"shelter", "units", "turnover"}


@dataclass(frozen=True)
class State:
    """A state of the pathway graph."""

    name: str
    index: int
    kind: str  # street, shelter, housing or exit
    supply: str | None  # for housing: units, turnover or open
    label: dict[str, str]
    optional: bool = False  # a territory may leave it out: it then has no capacity there

    @property
    def capacity_kind(self) -> str:
        """``shelter`` (places), ``units``, ``turnover`` or ``none``."""
        if self.kind == "shelter":
            return "shelter"
        if self.kind == "housing" and self.supply in ("units", "turnover"):
            return self.supply
        return "none"

    @property
    def capacitated(self) -> bool:
        return self.capacity_kind in CAPACITATED


@dataclass(frozen=True)
class Transition:
    """An edge of the pathway graph with its default parameters."""

    index: int
    origin: State
    target: State
    mode: str  # queue, stay or hazard
    eligible: dict[str, frozenset[Any]]
    label: dict[str, str]
    defaults: dict[str, Any] = field(default_factory=dict)
    #: A request to an emergency line (the 115): the household asks at its calls, each answered
    #: for a short while, instead of waiting on a list (see the territory's ``emergency_line``).
    request: bool = False

    @property
    def key(self) -> str:
        return f"{self.origin.name}->{self.target.name}"


@dataclass(frozen=True)
class Kind:
    """A household kind and its distribution of persons."""

    name: str
    persons: tuple[int, ...]
    cumulative: tuple[float, ...]
    isolated: bool
    family: bool = False  # a household with children (the 115's families-first rule)


class Pathway:
    """States, transitions, size classes and household kinds of a configuration.

    ``graph`` is the ``networkx.DiGraph`` of states; each edge carries its ``Transition``.
    """

    def __init__(self, config: dict[str, Any], file: str = "<pathway>") -> None:
        spec = config["pathway"]
        self.file = file
        self.name: str = spec["name"]
        self.description: str = spec.get("description", "")
        self.size_classes = self._size_classes(spec["size_classes"])
        self.kinds = self._kinds(spec["kinds"])
        self.states: list[State] = [
            State(name, i, s["kind"], s.get("supply"), s.get("label", {"fr": name, "en": name}), bool(s.get("optional", False)))
            for i, (name, s) in enumerate(spec["states"].items())
        ]
        self.state_index = {s.name: s.index for s in self.states}
        self._check_states(spec["states"])
        self.transitions = self._transitions(spec["transitions"])
        self.transition_index = {t.key: t.index for t in self.transitions}
        self.graph = nx.DiGraph(name=self.name)
        for s in self.states:
            self.graph.add_node(s.name, state=s)
        for t in self.transitions:
            self.graph.add_edge(t.origin.name, t.target.name, transition=t, mode=t.mode)
        self._check_graph()

    # --- construction helpers -------------------------------------------------------------
    def _size_classes(self, spec: dict[str, Any]) -> list[tuple[str, int]]:
        classes = [(name, int(c["max_persons"])) for name, c in spec.items()]
        limits = [m for _, m in classes]
        if limits != sorted(limits) or len(set(limits)) != len(limits):
            raise ConfigError(self.file, "pathway.size_classes", f"max_persons must increase strictly: {limits}")
        return classes

    def _kinds(self, spec: dict[str, Any]) -> dict[str, Kind]:
        kinds = {}
        for name, k in spec.items():
            dist = {int(n): float(p) for n, p in k["persons"].items()}
            total = sum(dist.values())
            if abs(total - 1) > 1e-6:
                raise ConfigError(self.file, f"pathway.kinds.{name}.persons", f"shares sum to {total:.6g}, not 1: {dist}")
            persons = tuple(sorted(dist))
            if persons[-1] > self.size_classes[-1][1]:
                raise ConfigError(
                    self.file, f"pathway.kinds.{name}.persons",
                    f"{persons[-1]} persons exceed the largest size class ({self.size_classes[-1][1]})",
                )
            cumulative, acc = [], 0.0
            for n in persons:
                acc += dist[n]
                cumulative.append(acc / total)
            kinds[name] = Kind(name, persons, tuple(cumulative), bool(k["isolated"]), bool(k.get("family", False)))
        return kinds

    def _check_states(self, spec: dict[str, Any]) -> None:
        for s in self.states:
            where = f"pathway.states.{s.name}"
            if s.kind == "housing" and s.supply is None:
                raise ConfigError(self.file, where, "a housing state needs a supply: units, turnover or open")
            if s.kind != "housing" and s.supply is not None:
                raise ConfigError(self.file, f"{where}.supply", f"only housing states have a supply, not a {s.kind} state")
            if s.optional and not s.capacitated:
                raise ConfigError(
                    self.file, f"{where}.optional",
                    "only a state with a capacity (a shelter, or housing supplied by units or turnover) can be optional: "
                    "a territory leaving it out has no places or units there",
                )
        if not any(s.kind == "street" for s in self.states):
            raise ConfigError(self.file, "pathway.states", "the graph needs a state of kind street (where households arrive)")
        if not any(s.kind == "exit" for s in self.states):
            raise ConfigError(self.file, "pathway.states", "the graph needs at least one exit state")

    def _state(self, name: str, where: str) -> State:
        if name not in self.state_index:
            raise ConfigError(self.file, where, f"unknown state {name!r} (states: {', '.join(self.state_index)})")
        return self.states[self.state_index[name]]

    def _transitions(self, spec: list[dict[str, Any]]) -> list[Transition]:
        transitions: list[Transition] = []
        seen: set[tuple[str, str]] = set()
        for i, t in enumerate(spec):
            where = f"pathway.transitions[{i}]"
            origin = self._state(t["from"], f"{where}.from")
            target = self._state(t["to"], f"{where}.to")
            mode = t["mode"]
            if (origin.name, target.name) in seen:
                raise ConfigError(self.file, where, f"duplicate transition {origin.name}->{target.name}")
            seen.add((origin.name, target.name))
            if origin == target:
                raise ConfigError(self.file, where, f"a transition from {origin.name} to itself")
            if origin.kind == "exit":
                raise ConfigError(self.file, f"{where}.from", f"{origin.name!r} is an exit state: no transition leaves it")
            if mode == "queue" and not target.capacitated:
                raise ConfigError(
                    self.file, f"{where}.mode",
                    f"queue into {target.name!r}, which has no capacity: use a stay or hazard transition",
                )
            if mode != "queue" and target.capacitated:
                raise ConfigError(
                    self.file, f"{where}.mode",
                    f"{mode} transition into {target.name!r}, which has a capacity: households enter it through a queue",
                )
            if mode == "stay" and "eligible" in t:
                raise ConfigError(self.file, f"{where}.eligible", "stay transitions share the departures of every household: eligibility applies to queue and hazard transitions only")
            eligible = {attr: frozenset(values) for attr, values in t.get("eligible", {}).items()}
            self._check_eligibility(eligible, f"{where}.eligible")
            defaults: dict[str, Any] = {k: t[k] for k in ("weight", "rate_per_year", "refusal_probability", "ready_after") if k in t}
            if "ready_after" in defaults:
                defaults["ready_after"] = law_at(defaults["ready_after"], self.file, f"{where}.ready_after")
            label = t.get("label", {"fr": f"{origin.label['fr']} → {target.label['fr']}", "en": f"{origin.label['en']} → {target.label['en']}"})
            request = bool(t.get("request", False))
            if request and (mode != "queue" or target.kind != "shelter"):
                raise ConfigError(self.file, f"{where}.request", "only a queue into a shelter can be a request to the emergency line (115)")
            transitions.append(Transition(len(transitions), origin, target, mode, eligible, label, defaults, request))
        return transitions

    def _check_eligibility(self, eligible: dict[str, frozenset[Any]], where: str) -> None:
        allowed: dict[str, set[Any]] = {
            "kind": set(self.kinds),
            "needs": set(NEEDS),
            "cause": set(CAUSES),
            "size_class": {name for name, _ in self.size_classes},
            "isolated": {True, False},
            "regular_status": {True, False},
            "priority": {True, False},
        }
        for attr, values in eligible.items():
            boolean = attr in ("isolated", "regular_status", "priority")
            unknown = [v for v in values if isinstance(v, bool) != boolean or v not in allowed[attr]]
            if unknown:
                shown = ", ".join(str(v).lower() if isinstance(v, bool) else repr(v) for v in sorted(allowed[attr], key=str))
                raise ConfigError(self.file, f"{where}.{attr}", f"unknown value(s) {unknown} (allowed: {shown})")

    def _check_graph(self) -> None:
        entries = [s.name for s in self.states if s.kind == "street"]
        reachable = set(entries)
        for e in entries:
            reachable |= nx.descendants(self.graph, e)
        unreachable = [s.name for s in self.states if s.name not in reachable]
        if unreachable:
            raise ConfigError(self.file, "pathway.transitions", f"state(s) unreachable from the street: {', '.join(unreachable)}")
        for s in self.states:
            if s.kind != "exit" and self.graph.out_degree(s.name) == 0:
                raise ConfigError(self.file, f"pathway.states.{s.name}", "no transition leaves this state: make it an exit")

    # --- queries ---------------------------------------------------------------------------
    def out_transitions(self, state: str, mode: str | None = None) -> list[Transition]:
        """Transitions leaving ``state`` (optionally of one mode), in configuration order."""
        return [t for t in self.transitions if t.origin.name == state and (mode is None or t.mode == mode)]

    def size_class_of(self, persons: int) -> int:
        """Index of the smallest size class that holds ``persons``."""
        for i, (_, limit) in enumerate(self.size_classes):
            if persons <= limit:
                return i
        return len(self.size_classes) - 1

    @property
    def size_class_names(self) -> list[str]:
        return [name for name, _ in self.size_classes]

    def __repr__(self) -> str:
        return f"Pathway({self.name!r}, {len(self.states)} states, {len(self.transitions)} transitions)"
