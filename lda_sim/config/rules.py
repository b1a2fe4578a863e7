"""Priority rules as configuration: the names of the built-in rules, and the check of a rule of
your own named ``module:function``.

The configuration holds a rule's name only; the engine (:mod:`lda_sim.engine.allocation`) resolves it
to the function its waiting lists run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .imports import import_object

#: The built-in priority rules, by the name a scenario gives in ``allocation.rule``.
BUILT_IN_RULES = ("families_first", "fcfs", "priority_first", "longest_in_system", "vulnerability")


def custom_rule(name: str) -> Callable[..., Any] | None:
    """None for a built-in rule's name; the function for ``package.module:function``; a
    :class:`ValueError` for anything else (an unknown name, a name that does not import, an object
    that is not callable)."""
    if name in BUILT_IN_RULES:
        return None
    if ":" not in name:
        raise ValueError(f"unknown priority rule {name!r} (built-in: {', '.join(BUILT_IN_RULES)}; or 'module:function')")
    rule = import_object(name, "priority rule")
    if not callable(rule):
        raise ValueError(f"priority rule {name!r} is not callable")
    return rule
