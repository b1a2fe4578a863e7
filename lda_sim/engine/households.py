"""Households: views of the rows of the compiled engine's household arrays.

A household lives in the kernel's arrays (one row, a *slot*, reused after it leaves); a
:class:`Household` is a light view of that row, made on demand (``model.household(slot)``,
``model.households(state=...)``) and by the kernel when a Python hook needs one. Subclass it to
change behaviour: :meth:`accepts_offer` and :meth:`accepts_move` are called from the compiled
loop only when a subclass overrides them (the scenarios that do pay for it). A subclass takes the
constructor's two arguments ``(model, slot)``; behaviour lives in methods, state in the arrays.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..config.schema import CAUSES, NEEDS
from . import streams

if TYPE_CHECKING:  # pragma: no cover
    from ..config.pathway import Transition
    from .model import HousingModel
    from .territory import TerritoryView

NEEDS_LEVEL = {"low": 0, "medium": 1, "high": 2}


class _PerState(Mapping[int, Any]):
    """A household's values per target state (waits begun, offers received), as a mapping."""

    __slots__ = ("_row", "_qidx", "_missing")

    def __init__(self, row: Any, qidx: Any, missing: Any) -> None:
        self._row, self._qidx, self._missing = row, qidx, missing

    def _value(self, state: int) -> Any:
        if not 0 <= state < len(self._qidx) or self._qidx[state] < 0:
            return None
        v = self._row[self._qidx[state]]
        return None if self._missing(v) else v

    def __getitem__(self, state: int) -> Any:
        v = self._value(state)
        if v is None:
            raise KeyError(state)
        return v.item() if hasattr(v, "item") else v

    def __iter__(self) -> Iterator[int]:
        return (s for s in range(len(self._qidx)) if self._value(s) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Household:
    """A household moving through the pathway graph of its territory (a view of its row).

    Attributes and durations come from the household's own counter-based random stream
    (:mod:`lda_sim.engine.streams`), so the same household behaves the same in every scenario. Read
    attributes: ``unique_id``, ``seed``, ``territory``, ``cause``, ``kind``, ``isolated``,
    ``persons``, ``size_class``, ``needs``, ``regular_status``, ``priority``, ``state``,
    ``entered_state``, ``entered_system``, ``supported``, ``housed_at``, ``visits``, ``offers``,
    ``mobility_offers``, ``queue_since``.
    """

    __slots__ = ("model", "slot")

    def __init__(self, model: HousingModel, slot: int) -> None:
        self.model = model
        self.slot = slot

    def _get(self, name: str) -> Any:
        return self.model._h[name][self.slot]

    @property
    def unique_id(self) -> int:
        return int(self._get("uid"))

    @property
    def seed(self) -> int:
        return int(self._get("seed"))

    @property
    def territory(self) -> TerritoryView:
        return self.model.territories[int(self._get("territory"))]

    @property
    def cause(self) -> str:
        return CAUSES[int(self._get("cause"))]

    @property
    def kind(self) -> str:
        return list(self.model.pathway.kinds)[int(self._get("kind"))]

    @property
    def isolated(self) -> bool:
        return bool(self.model.pathway.kinds[self.kind].isolated)

    @property
    def family(self) -> bool:
        """Whether the household has children (its kind is marked ``family`` in the pathway)."""
        return bool(self.model.pathway.kinds[self.kind].family)

    @property
    def calls_115(self) -> bool:
        """Whether the household asks the emergency line (115) when on the street."""
        return bool(self._get("calls") > 0)

    @property
    def persons(self) -> int:
        return int(self._get("persons"))

    @property
    def size_class(self) -> int:
        return int(self._get("size_class"))

    @property
    def needs(self) -> str:
        return NEEDS[int(self._get("needs"))]

    @property
    def regular_status(self) -> bool:
        return bool(self._get("regular_status"))

    @property
    def priority(self) -> bool:
        return bool(self._get("priority"))

    @property
    def state(self) -> int:
        """Index of the current state (-2 once the household has left the system)."""
        return int(self._get("state"))

    @property
    def entered_state(self) -> float:
        return float(self._get("entered_state"))

    @property
    def entered_system(self) -> float:
        return float(self._get("entered_system"))

    @property
    def supported(self) -> bool:
        return bool(self._get("supported"))

    @property
    def housed_at(self) -> float | None:
        v = float(self._get("housed_at"))
        return None if v != v else v

    @property
    def token(self) -> int:
        return int(self._get("token"))

    @property
    def mobility_offers(self) -> int:
        return int(self._get("mobility_offers"))

    @property
    def visits(self) -> dict[int, int]:
        row = self.model._h["visits"][self.slot]
        return {int(s): int(v) for s, v in enumerate(row) if v}

    @property
    def offers(self) -> Mapping[int, int]:
        """Offers received, by target state (a state with none is absent)."""
        return _PerState(self.model._h["offers"][self.slot], self.model._a["qidx"], lambda v: v == 0)

    @property
    def queue_since(self) -> Mapping[int, float]:
        """Time the household began waiting, by target state (absent where it does not wait)."""
        return _PerState(self.model._h["queue_since"][self.slot], self.model._a["qidx"], lambda v: v != v)

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

    def accepts_move(self, destination: TerritoryView, probability: float) -> bool:
        """Whether the household accepts an offer of a home in another territory, which a household
        like it accepts with ``probability`` (falling with distance, see :mod:`lda_sim.config.mobility`)."""
        return self.uniform(streams.tag(streams.MOBILITY, destination.index, self.mobility_offers)) < probability

    # --- eligibility ---------------------------------------------------------------------------
    def profile(self) -> tuple[Any, ...]:
        """The attributes that eligibility rules look at (households sharing it are alike)."""
        return (self.kind, self.isolated, self.needs, self.regular_status, self.priority, self.cause, self.size_class)

    def is_eligible(self, transition: Transition, size_class_names: list[str]) -> bool:
        """Whether this household may take ``transition``."""
        for attr, allowed in transition.eligible.items():
            value = size_class_names[self.size_class] if attr == "size_class" else getattr(self, attr)
            if value not in allowed:
                return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Household) and other.model is self.model and other.unique_id == self.unique_id

    def __hash__(self) -> int:
        return hash((id(self.model), self.unique_id))

    def __repr__(self) -> str:
        return f"Household({self.unique_id}, {self.kind}, {self.persons}p, state={self.state})"
