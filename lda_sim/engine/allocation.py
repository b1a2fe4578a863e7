"""Allocation: the priority rules of the SIAO's and social lettings' waiting lists.

A waiting list holds the households waiting for one state of one territory, in bins by fit
(persons for shelter places, size class for housing units), so that a vacancy finds the best
household that fits. A priority rule gives each household a sort key when it joins the list: the
lowest key is served first, ties by order of joining. The lists themselves live in the compiled
kernel (:mod:`lda_sim.engine.kernel`); the built-in rules below run there, compiled, and a rule of
your own (a Python function ``(household, target_state) -> number or tuple of up to 4
numbers``, named ``module:function``) is called from the kernel for the scenarios that use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config.rules import custom_rule

if TYPE_CHECKING:  # pragma: no cover
    from .households import Household

PriorityRule = Callable[["Household", int], Any]
NEEDS_LEVEL = {"low": 0, "medium": 1, "high": 2}


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


def families_first(household: Household, target: int) -> Any:
    """Households with children first, then first come (the 115's practice). On a shelter's list
    the places that free up are held for the family at the head until its request lapses, rather
    than given one by one to single people behind it."""
    return (not household.family, household.queue_since[target])


PRIORITY_RULES: dict[str, PriorityRule] = {
    "families_first": families_first,
    "fcfs": fcfs,
    "priority_first": priority_first,
    "longest_in_system": longest_in_system,
    "vulnerability": vulnerability,
}


def resolve_rule(name: str) -> PriorityRule:
    """A built-in rule by name, or a function by import path ``package.module:function`` (checked
    by :func:`lda_sim.config.rules.custom_rule`)."""
    rule = PRIORITY_RULES.get(name) or custom_rule(name)
    assert rule is not None, f"built-in rule {name!r} missing from PRIORITY_RULES"
    return rule
