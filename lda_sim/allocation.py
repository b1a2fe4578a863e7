"""Allocation: waiting lists of the SIAO and of social lettings, and priority rules.

A waiting list holds the households waiting for one state of one territory, in sub-lists by fit
(persons for shelter places, size class for housing units) so that a vacancy finds the best
household that fits in logarithmic time. A priority rule gives each household a sort key when it
joins the list: the lowest key is served first.
"""

from __future__ import annotations

import heapq
import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .households import NEEDS_LEVEL

if TYPE_CHECKING:  # pragma: no cover
    from .households import Household

PriorityRule = Callable[["Household", int], Any]


def fcfs(household: Household, target: int) -> Any:
    """First come, first served: the earliest to start waiting."""
    return household.queue_since[target]


def priority_first(household: Household, target: int) -> Any:
    """Households with a priority flag (DALO, violence...) first, then first come."""
    return (not household.priority, household.queue_since[target])


def longest_in_system(household: Household, target: int) -> Any:
    """The longest homeless first (time since entering the system)."""
    return (household.entered_system, household.queue_since[target])


def vulnerability(household: Household, target: int) -> Any:
    """Highest support needs first, then priority flag, then first come."""
    return (-NEEDS_LEVEL[household.needs], not household.priority, household.queue_since[target])


PRIORITY_RULES: dict[str, PriorityRule] = {
    "fcfs": fcfs,
    "priority_first": priority_first,
    "longest_in_system": longest_in_system,
    "vulnerability": vulnerability,
}


def resolve_rule(name: str) -> PriorityRule:
    """A built-in rule by name, or a function by import path ``package.module:function``."""
    if name in PRIORITY_RULES:
        return PRIORITY_RULES[name]
    if ":" not in name:
        raise ValueError(f"unknown priority rule {name!r} (built-in: {', '.join(PRIORITY_RULES)}; or 'module:function')")
    module_name, _, attr = name.partition(":")
    try:
        rule = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import priority rule {name!r}: {exc}") from None
    if not callable(rule):
        raise ValueError(f"priority rule {name!r} is not callable")
    return rule


class WaitingList:
    """Households waiting for one state, in heaps by fit bin, with lazy deletion.

    A household's live entry is the one whose ticket matches ``household.tickets[state]``; entries
    of households that left the list are skipped when met and purged when they pile up.
    """

    __slots__ = ("state", "heaps", "count", "_seq", "_stale")

    def __init__(self, state: int, bins: int) -> None:
        self.state = state
        self.heaps: list[list[tuple[Any, int, Household]]] = [[] for _ in range(bins)]
        self.count = 0
        self._seq = 0
        self._stale = 0

    def __len__(self) -> int:
        return self.count

    def add(self, household: Household, key: Any, fit_bin: int) -> None:
        """Put ``household`` on the list with sort key ``key``."""
        self._seq += 1
        household.tickets[self.state] = self._seq
        heapq.heappush(self.heaps[fit_bin], (key, self._seq, household))
        self.count += 1

    def discard(self, household: Household) -> bool:
        """Take ``household`` off the list; return whether it was on it."""
        if household.tickets.pop(self.state, None) is None:
            return False
        self.count -= 1
        self._stale += 1
        if self._stale > 1024 and self._stale > 2 * self.count:
            self._purge()
        return True

    def _purge(self) -> None:
        state = self.state
        for i, heap in enumerate(self.heaps):
            live = [e for e in heap if e[2].tickets.get(state) == e[1]]
            heapq.heapify(live)
            self.heaps[i] = live
        self._stale = 0

    def best(self, bins: Iterable[int]) -> Household | None:
        """The household with the lowest key among the heads of ``bins``, left on the list."""
        state = self.state
        best_entry = None
        for b in bins:
            heap = self.heaps[b]
            while heap:
                head = heap[0]
                if head[2].tickets.get(state) == head[1]:
                    if best_entry is None or head[:2] < best_entry[:2]:
                        best_entry = head
                    break
                heapq.heappop(heap)
                self._stale -= 1
        return None if best_entry is None else best_entry[2]

    def households(self) -> list[Household]:
        """The households on the list, in no particular order."""
        state = self.state
        return [e[2] for heap in self.heaps for e in heap if e[2].tickets.get(state) == e[1]]
