"""Python extension points called from the compiled kernel (numba object-mode blocks).

The kernel calls these only where the scenario uses a Python hook: a custom priority rule, or a
household class that overrides :meth:`~lda_sim.engine.households.Household.accepts_offer` or
:meth:`~lda_sim.engine.households.Household.accepts_move`. The model whose kernel is running is found
on a per-thread stack (:func:`active`), so several models may run in one process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_local = threading.local()


@contextmanager
def active(model: Any) -> Iterator[None]:
    """Make ``model`` the one whose hooks the kernel calls, while the block runs."""
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(model)
    try:
        yield
    finally:
        stack.pop()


def _model() -> Any:
    return _local.stack[-1]


def priority_key(rule: int, slot: int, target: int) -> tuple[float, float, float, float]:
    """Sort key of the household in ``slot`` on the waiting list of ``target`` by a custom rule."""
    return _model().custom_key(rule, slot, target)


def accepts_offer(slot: int, transition: int, refusal_probability: float) -> bool:
    """Whether the household in ``slot`` accepts an offer along ``transition``."""
    return bool(_model().hook_accepts_offer(slot, transition, refusal_probability))


def accepts_move(slot: int, destination: int, probability: float) -> bool:
    """Whether the household in ``slot`` accepts a home in territory ``destination``."""
    return bool(_model().hook_accepts_move(slot, destination, probability))
