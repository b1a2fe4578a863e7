"""Territories during a run: views of their stocks, capacities and waiting lists in the kernel."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config.timebase import DAYS_PER_YEAR
from . import kernel as k

if TYPE_CHECKING:  # pragma: no cover
    from ..config.scenario import TerritoryConfig
    from .households import Household
    from .model import HousingModel

__all__ = ["DAYS_PER_YEAR", "MAX_PERSONS_BIN", "TerritoryView", "WaitingListView"]

#: Waiting lists for shelter places sort households by persons, up to this many (larger share a bin).
MAX_PERSONS_BIN = k.MAX_PERSONS_BIN


class WaitingListView:
    """The households waiting for one state of one territory."""

    def __init__(self, model: HousingModel, territory: int, state: int) -> None:
        self.model, self.territory, self.state = model, territory, state

    @property
    def count(self) -> int:
        return int(self.model._a["wl_count"][self.territory, self.state])

    def __len__(self) -> int:
        return self.count

    @property
    def bins(self) -> int:
        """Fit bins: persons (shelter places) or size classes (housing units)."""
        return int(self.model._a["n_bins"][self.state])

    def best(self, bins: Iterable[int] | None = None) -> Household | None:
        """The household first in line among those of ``bins`` (all by default), left on the list."""
        chosen = range(self.bins) if bins is None else sorted(bins)
        best_slot, best_key = -1, None
        for b in chosen:
            slot = k.wl_best(self.model._st, self.territory, self.state, b, b + 1)
            if slot < 0:
                continue
            key = self._head_key(b)
            if best_key is None or key < best_key:
                best_slot, best_key = slot, key
        return None if best_slot < 0 else self.model.household(best_slot)

    def _head_key(self, fit: int) -> tuple[float, ...]:
        hid = k.heap_id(self.model._st, self.territory, self.state, fit)
        return tuple(k.heap_head(self.model._st, hid))

    def households(self) -> list[Household]:
        """The households on the list, in no particular order."""
        return [self.model.household(s) for s in k.wl_households(self.model._st, self.territory, self.state)]


class _WaitingLists(Mapping[int, WaitingListView]):
    def __init__(self, model: HousingModel, territory: int) -> None:
        self._model, self._territory = model, territory
        self._states = [int(s) for s in np.flatnonzero(model._a["qidx"] >= 0)]

    def __getitem__(self, state: int) -> WaitingListView:
        if state not in self._states:
            raise KeyError(state)
        return WaitingListView(self._model, self._territory, state)

    def __iter__(self) -> Iterator[int]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)


class TerritoryView:
    """The run-time state of one territory (live views of the kernel's arrays)."""

    def __init__(self, model: HousingModel, index: int, config: TerritoryConfig) -> None:
        self.model = model
        self.index = index
        self.config = config
        self.name = config.name
        self.label = config.label
        self.waiting: Mapping[int, WaitingListView] = _WaitingLists(model, index)

    def _row(self, name: str) -> Any:
        return self.model._a[name][self.index]

    @property
    def households(self) -> np.ndarray:
        """Households per state now."""
        return self._row("occ_h")

    @property
    def persons(self) -> np.ndarray:
        """Persons per state now."""
        return self._row("occ_p")

    @property
    def places(self) -> np.ndarray:
        """Places per shelter state."""
        return self._row("places")

    @property
    def units(self) -> np.ndarray:
        """Units per housing state and size class."""
        return self._row("units")

    @property
    def used_units(self) -> np.ndarray:
        return self._row("used_units")

    @property
    def stock_units(self) -> np.ndarray:
        """Whole stock of each turnover-supplied state."""
        return self._row("sup_stock")

    @property
    def share_to_homeless(self) -> np.ndarray:
        return self._row("sup_share")

    @property
    def inflow_rates(self) -> np.ndarray:
        """Rate of each of the territory's inflows now (households per year, in the order of
        ``config.inflows``), as set by ``HousingModel.set_inflow_rate``."""
        return self._row("inf_rate")[: len(self.config.inflows)]

    @property
    def support_slots(self) -> int:
        return int(self._row("support_slots"))

    @property
    def support_used(self) -> int:
        return int(self._row("support_used"))

    def capacity(self, state: int) -> float:
        """Places (shelter) or units (housing) of a state; NaN where capacity is not counted."""
        return float(k.capacity(self.model._st, self.index, state))

    def free_places(self, state: int) -> int:
        return int(self.places[state] - self.persons[state])

    def __repr__(self) -> str:
        return f"TerritoryView({self.index}, {self.name!r})"
