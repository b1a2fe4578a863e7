"""Censoring-aware durations: the Kaplan–Meier estimator, vectorised over groups (numpy only).

A household that entered the system is followed until it is housed (the event), leaves the system
unhoused or reaches the end of the run (both censor its spell: it was not yet housed after that
long). Counting only those housed during the run, as a plain median of their times does, leaves out
the longest spells, which are still running at the end; the Kaplan–Meier estimate keeps them in the
risk set for as long as they were observed.

Conventions (those of ``lifelines``): at a time where some spells end by the event and others are
censored, the events come first (the censored ones are still at risk); the survival ``S(t)`` is the
share not yet housed after ``t``; the median is the first time with ``S(t) <= 0.5`` (NaN if the curve
never gets there), and ``S(t)`` is NaN past the longest spell observed in the group (no
extrapolation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan–Meier curves of ``n_groups`` groups, as steps sorted by (group, time).

    ``time[i]``, ``survival[i]``: a distinct duration of group ``group[i]`` and the survival just
    after it; ``at_risk[i]`` and ``events[i]`` the spells at risk at that time and those ending by
    the event then. ``size[g]`` and ``longest[g]``: the spells of group ``g`` and the longest one.
    """

    group: np.ndarray
    time: np.ndarray
    survival: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    size: np.ndarray
    longest: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.size)

    def _last_step(self, t: float) -> np.ndarray:
        """Index of each group's last step at or before ``t`` (-1 where none)."""
        key = self.time  # sorted within each group
        starts = np.searchsorted(self.group, np.arange(self.n_groups), side="left")
        ends = np.searchsorted(self.group, np.arange(self.n_groups), side="right")
        out = np.full(self.n_groups, -1, np.int64)
        for g in np.flatnonzero(ends > starts):  # one search per group: groups are few, steps many
            k = int(np.searchsorted(key[starts[g]:ends[g]], t, side="right"))
            out[g] = starts[g] + k - 1 if k else -1
        return out

    def survival_at(self, t: float) -> np.ndarray:
        """``S(t)`` of every group: NaN for an empty group or past its longest spell."""
        last = self._last_step(t)
        out = np.where(last >= 0, self.survival[np.maximum(last, 0)], 1.0)
        return np.where((self.size > 0) & (t <= self.longest), out, np.nan)

    def quantile(self, p: float) -> np.ndarray:
        """The first time at which a share ``p`` of each group has had the event (``S <= 1 - p``);
        NaN where the curve never gets there. ``quantile(0.5)`` is the median."""
        reached = self.survival <= 1.0 - p + 1e-12
        out = np.full(self.n_groups, np.nan)
        index = np.flatnonzero(reached)
        if len(index):
            first = np.unique(self.group[index], return_index=True)
            out[first[0]] = self.time[index[first[1]]]
        return out

    def median(self) -> np.ndarray:
        return self.quantile(0.5)


def kaplan_meier(durations: np.ndarray, observed: np.ndarray, group: np.ndarray | None = None, n_groups: int | None = None) -> KaplanMeier:
    """Kaplan–Meier curves of the spells (``durations``, ``observed``: whether each ended by the
    event) in each group (``group``: integers ``0..n_groups-1``; all in one group by default)."""
    durations = np.asarray(durations, dtype=float)
    observed = np.asarray(observed, dtype=bool)
    group = np.zeros(len(durations), np.int64) if group is None else np.asarray(group, dtype=np.int64)
    if n_groups is None:
        n_groups = int(group.max()) + 1 if len(group) else 1
    size = np.bincount(group, minlength=n_groups)
    longest = np.full(n_groups, -np.inf)
    np.maximum.at(longest, group, durations)
    if not len(durations):
        empty = np.zeros(0)
        return KaplanMeier(np.zeros(0, np.int64), empty, empty, np.zeros(0, np.int64), np.zeros(0, np.int64), size, longest)
    order = np.lexsort((durations, group))
    g, d, e = group[order], durations[order], observed[order]
    # distinct (group, time) steps
    new = np.ones(len(d), bool)
    new[1:] = (g[1:] != g[:-1]) | (d[1:] != d[:-1])
    first = np.flatnonzero(new)
    step_group, step_time = g[first], d[first]
    step_events = np.add.reduceat(e.astype(np.int64), first)
    group_start = np.searchsorted(g, step_group, side="left")  # first row of the step's group
    at_risk = size[step_group] - (first - group_start)
    factor = 1.0 - step_events / at_risk
    # the product within each group, group by group: a group's curve does not depend on the others
    # (a running product over all groups divided back would not give the same last bits)
    survival = np.empty(len(factor))
    bounds = np.flatnonzero(np.r_[True, step_group[1:] != step_group[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        survival[lo:hi] = np.cumprod(factor[lo:hi])
    return KaplanMeier(step_group, step_time, survival, at_risk, step_events, size, longest)
