"""Residential and geographic mobility between territories.

A household waiting for social housing in a tight market may accept a home in another territory.
The territories form an undirected ``networkx.Graph`` whose edges carry the distance between them
(great-circle distance of their main cities, or given). Each territory puts a share of its lettings
to homeless households (``offer_share``) on an exchange: such a letting is offered to a household
waiting in a linked territory, chosen with probability proportional to the households waiting
there for that kind of home times the acceptance probability at that distance. The household
accepts with probability ``at_zero_km * 2 ** (-distance / halving_km)`` (its own random draw); if
it refuses, the letting goes back to the territory's own waiting list. An accepted offer moves the
household and its persons from one territory to the other (``migration`` in the dataset).

Territories without a location (e.g. a "rest of the country") are linked only by explicit edges.
Without links, or with ``offer_share`` 0, nothing changes: each territory runs as it would alone
with the same seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx

from .errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from .pathway import Pathway
    from .scenario import TerritoryConfig

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance in km between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def _same_region(a: TerritoryConfig, b: TerritoryConfig) -> bool:
    """Whether two territories name the same region (a territory without a region has none)."""
    return bool(a.region and a.region == b.region)


@dataclass(frozen=True)
class Mobility:
    """The mobility settings of a scenario, resolved against its territories."""

    graph: nx.Graph  # nodes: territory names (label, region, location, inhabitants, offer_share); edges: distance_km, same_region
    states: tuple[int, ...]  # turnover-supplied housing states whose lettings may go elsewhere
    offer_share: dict[str, float]  # per territory
    at_zero_km: float
    halving_km: float
    spec: dict[str, Any] = field(default_factory=dict)

    def acceptance(self, distance_km: float) -> float:
        """Probability that a household accepts an offer at ``distance_km`` from where it waits."""
        return self.at_zero_km * 2.0 ** (-distance_km / self.halving_km)

    def neighbours(self, names: list[str]) -> list[list[tuple[int, float, float]]]:
        """For each territory index: (neighbour index, distance km, acceptance probability)."""
        index = {n: i for i, n in enumerate(names)}
        out: list[list[tuple[int, float, float]]] = []
        for name in names:
            links = []
            for other, data in sorted(self.graph[name].items(), key=lambda kv: index[kv[0]]):
                d = float(data["distance_km"])
                links.append((index[other], d, self.acceptance(d)))
            out.append(links)
        return out


def build_mobility(spec: dict[str, Any], pathway: Pathway, territories: list[TerritoryConfig], file: str) -> Mobility:
    """Check a scenario's ``mobility`` section and build the graph of territories."""
    where = "scenario.mobility"
    names = [t.name for t in territories]
    states = []
    for i, name in enumerate(spec["states"]):
        if name not in pathway.state_index:
            raise ConfigError(file, f"{where}.states[{i}]", f"unknown state {name!r}")
        state = pathway.states[pathway.state_index[name]]
        if state.capacity_kind != "turnover":
            raise ConfigError(file, f"{where}.states[{i}]", f"{name!r} is not a housing state supplied by the turnover of a stock: only lettings can go elsewhere")
        states.append(state.index)
    shares = {n: float(spec["offer_share"]) for n in names}
    for name, value in spec.get("offer_shares", {}).items():
        if name not in shares:
            raise ConfigError(file, f"{where}.offer_shares.{name}", f"unknown territory {name!r} (territories: {', '.join(names)})")
        shares[name] = float(value)
    graph = nx.Graph(name="mobility")
    for t in territories:
        graph.add_node(t.name, label=t.label, region=t.region, location=t.location, inhabitants=t.inhabitants, offer_share=shares[t.name])
    links = spec.get("links", {})
    located = [t for t in territories if t.location is not None]
    if ("max_km" in links or links.get("same_region")) and len(located) < 2:
        missing = [t.name for t in territories if t.location is None]
        raise ConfigError(file, f"{where}.links", f"territories without a location cannot be linked by distance: {', '.join(missing)} (add territory.location to their files)")
    for i, a in enumerate(territories):
        for b in territories[i + 1 :]:
            if a.location is None or b.location is None:
                continue
            d = great_circle_km(a.location, b.location)
            near = "max_km" in links and d <= float(links["max_km"])
            same = _same_region(a, b)
            if near or (links.get("same_region") and same):
                graph.add_edge(a.name, b.name, distance_km=d, same_region=same)
    by_name = {t.name: t for t in territories}
    for i, edge in enumerate(links.get("edges", [])):
        a, b = edge["between"]
        for j, n in enumerate((a, b)):
            if n not in by_name:
                raise ConfigError(file, f"{where}.links.edges[{i}].between[{j}]", f"unknown territory {n!r} (territories: {', '.join(names)})")
        if a == b:
            raise ConfigError(file, f"{where}.links.edges[{i}].between", f"a territory cannot be linked to itself ({a!r})")
        if "distance_km" in edge:
            d = float(edge["distance_km"])
        elif (loc_a := by_name[a].location) is not None and (loc_b := by_name[b].location) is not None:
            d = great_circle_km(loc_a, loc_b)
        else:
            raise ConfigError(file, f"{where}.links.edges[{i}].distance_km", "give the distance: one of the territories has no location")
        graph.add_edge(a, b, distance_km=d, same_region=_same_region(by_name[a], by_name[b]))
    acceptance = spec["acceptance"]
    return Mobility(
        graph=graph,
        states=tuple(states),
        offer_share=shares,
        at_zero_km=float(acceptance["at_zero_km"]),
        halving_km=float(acceptance["halving_km"]),
        spec=spec,
    )
