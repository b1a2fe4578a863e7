"""Households: the agents of the model."""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any

import mesa

from . import streams

if TYPE_CHECKING:  # pragma: no cover
    from .config import Population
    from .pathway import Pathway, Transition
    from .territory import Territory

NEEDS_LEVEL = {"low": 0, "medium": 1, "high": 2}
_KIND_TAG, _PERSONS_TAG, _NEEDS_TAG, _STATUS_TAG, _PRIORITY_TAG = (
    streams.tag(p) for p in (streams.KIND, streams.PERSONS, streams.NEEDS, streams.STATUS, streams.PRIORITY)
)


class Household(mesa.Agent):
    """A household moving through the pathway graph of its territory.

    Attributes are drawn from the household's own random stream (see :mod:`lda_sim.streams`), so
    that the same household gets the same attributes and durations in every scenario. Subclass it
    to change behaviour, e.g. :meth:`accepts_offer`.
    """

    def __init__(
        self,
        model: mesa.Model,
        territory: Territory,
        seed: int,
        cause: str,
        population: Population,
        pathway: Pathway,
        now: float,
    ) -> None:
        super().__init__(model)
        self.territory = territory
        self.seed = seed
        self.cause = cause
        u = streams.uniform
        kinds, needs = population.kinds, population.needs
        kind = kinds.names[bisect_right(kinds.cumulative, u(seed, _KIND_TAG), 0, len(kinds.cumulative) - 1)]
        spec = pathway.kinds[kind]
        persons = spec.persons[bisect_right(spec.cumulative, u(seed, _PERSONS_TAG), 0, len(spec.cumulative) - 1)]
        self.kind: str = kind
        self.isolated: bool = spec.isolated
        self.persons: int = persons
        self.size_class: int = pathway.size_class_of(persons)
        self.needs: str = needs.names[bisect_right(needs.cumulative, u(seed, _NEEDS_TAG), 0, len(needs.cumulative) - 1)]
        self.regular_status: bool = u(seed, _STATUS_TAG) < population.regular_status_share
        self.priority: bool = u(seed, _PRIORITY_TAG) < population.priority_share
        self.state: int = -1
        self.entered_state: float = now
        self.entered_system: float = now
        self.supported: bool = False  # holds a support slot in its current housing
        self.housed_at: float | None = None  # first entry into housing
        self.token: int = 0  # bumped at each move: pending events of an older state are stale
        self.visits: dict[int, int] = {}  # state -> visits so far
        self.offers: dict[int, int] = {}  # target state -> offers received
        self.mobility_offers: int = 0  # offers received from other territories
        self.queue_since: dict[int, float] = {}  # target state -> time the household began waiting
        self.tickets: dict[int, int] = {}  # target state -> ticket of its live entry in the waiting list
        self._profile = (self.kind, self.isolated, self.needs, self.regular_status, self.priority, self.cause, self.size_class)
        self.profile_id: int = territory.profile_id(self)

    # --- randomness ----------------------------------------------------------------------------
    def uniform(self, draw_tag: int) -> float:
        """This household's uniform number for a tagged purpose."""
        return streams.uniform(self.seed, draw_tag)

    # --- behaviour that subclasses may change -------------------------------------------------
    def accepts_offer(self, transition: Transition, refusal_probability: float) -> bool:
        """Whether the household accepts an offer to move along ``transition``."""
        if refusal_probability <= 0:
            return True
        n = self.offers.get(transition.target.index, 0)
        return self.uniform(streams.tag(streams.OFFER, transition.target.index, n)) >= refusal_probability

    def accepts_move(self, destination: Territory, probability: float) -> bool:
        """Whether the household accepts an offer of a home in another territory, which a household
        like it accepts with ``probability`` (falling with distance, see :mod:`lda_sim.mobility`)."""
        return self.uniform(streams.tag(streams.MOBILITY, destination.index, self.mobility_offers)) < probability

    # --- eligibility ---------------------------------------------------------------------------
    def profile(self) -> tuple[Any, ...]:
        """The attributes that eligibility rules look at (households sharing it are alike)."""
        return self._profile

    def is_eligible(self, transition: Transition, size_class_names: list[str]) -> bool:
        """Whether this household may take ``transition``."""
        for attr, allowed in transition.eligible.items():
            value = size_class_names[self.size_class] if attr == "size_class" else getattr(self, attr)
            if value not in allowed:
                return False
        return True

    def __repr__(self) -> str:
        return f"Household({self.unique_id}, {self.kind}, {self.persons}p, state={self.state})"
