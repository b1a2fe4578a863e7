"""Targets and indicators over a period, read from a results dataset (or a mean-field one).

A target is written ``INDICATOR OP VALUE [in TERRITORY] (by YYYY-MM | over YYYY-MM:YYYY-MM)``,
e.g. ``street <= 50 in aix-marseille-provence by 2030-12``: ``by`` takes the month named, ``over``
the mean of the months of the period. An indicator without the comparison (``--output`` of
``sensitivity``) is ``INDICATOR [in TERRITORY] (by ... | over ...)``.

Indicators (month-end values unless said):

* ``street`` — persons on the street (states of kind street); ``sheltered`` — persons in shelters;
  ``housed`` — persons in housing states;
* ``median_wait`` / ``p90_wait`` — median / 90th percentile of the waits (days) of the households
  that got a home through a waiting list in the month (pooled over the period's months for
  ``over``); ``median_wait_shelter`` for shelters;
* ``housed_12m`` — share of the households entering in month m-12 that reached a home within 365
  days (pooled over the cohorts whose year ends in the period); it needs the households' moves, so
  runs for it record trajectories;
* ``persons:STATE``, ``queue:STATE`` (households waiting for it), ``free:STATE`` (capacity not
  occupied: places minus persons for a shelter, units minus households for housing);
* ``cost`` — cost of the month in euros (all states and support).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .indicators import histogram_quantile, persons_in, states_of_kind, total_cost

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_SIMPLE = ("street", "sheltered", "housed", "median_wait", "p90_wait", "median_wait_shelter", "housed_12m", "cost")
_PER_STATE = ("persons", "queue", "free")

_PERIOD = r"(?:by\s+(?P<by>\d{4}-\d{2})|over\s+(?P<first>\d{4}-\d{2}):(?P<last>\d{4}-\d{2}))"
_INDICATOR = r"(?P<name>[a-z_0-9]+(?::[A-Za-z_0-9]+)?)"
_TERRITORY = r"(?:\s+in\s+(?P<territory>\S+))?"
_TARGET_RE = re.compile(rf"^\s*{_INDICATOR}\s*(?P<op><=|>=|<|>)\s*(?P<value>[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?){_TERRITORY}\s+{_PERIOD}\s*$")
_OUTPUT_RE = re.compile(rf"^\s*{_INDICATOR}{_TERRITORY}\s+{_PERIOD}\s*$")


class TargetError(ValueError):
    """A target or indicator that cannot be read or does not fit the scenario."""


def _month(text: str) -> np.datetime64:
    if not 1 <= int(text[5:7]) <= 12:
        raise TargetError(f"{text!r} is not a month (YYYY-MM)")
    return np.datetime64(text, "M")


@dataclass(frozen=True)
class Indicator:
    """An indicator of one territory over a period of months (first == last for ``by``)."""

    name: str
    territory: str | None
    first: np.datetime64
    last: np.datetime64

    @classmethod
    def parse(cls, text: str) -> Indicator:
        match = _OUTPUT_RE.match(text)
        if not match:
            raise TargetError(f"indicator {text!r}: expected 'INDICATOR [in TERRITORY] by YYYY-MM' or '... over YYYY-MM:YYYY-MM'")
        return cls._from(match, text)

    @classmethod
    def _from(cls, match: re.Match, text: str) -> Indicator:
        name = match["name"]
        base, _, state = name.partition(":")
        if not (name in _SIMPLE or (base in _PER_STATE and state)):
            raise TargetError(f"{text!r}: unknown indicator {name!r} (known: {', '.join(_SIMPLE)}, {', '.join(p + ':STATE' for p in _PER_STATE)})")
        first = _month(match["by"] or match["first"])
        last = _month(match["by"] or match["last"])
        if last < first:
            raise TargetError(f"{text!r}: the period ends before it starts")
        return cls(name, match["territory"], first, last)

    @property
    def needs_trajectories(self) -> bool:
        return self.name == "housed_12m"

    def describe(self) -> str:
        where = f" in {self.territory}" if self.territory else ""
        when = f"by {self.first}" if self.first == self.last else f"over {self.first}:{self.last} (mean of the months)"
        return f"{self.name}{where} {when}"

    def months_needed(self, start: np.datetime64) -> int:
        """Months a run from ``start`` must cover to reach the end of the period."""
        return int((self.last - np.datetime64(start, "M")).astype(int)) + 1

    def check(self, territories: list[str], states: list[str], start: np.datetime64, months: int) -> None:
        """Raise :class:`TargetError` if the territory, state or period does not fit the scenario."""
        if self.territory is None and len(territories) > 1:
            raise TargetError(f"{self.describe()}: name the territory ('in NAME'): the scenario has {', '.join(territories)}")
        if self.territory is not None and self.territory not in territories:
            raise TargetError(f"{self.describe()}: unknown territory {self.territory!r} (territories: {', '.join(territories)})")
        _, _, state = self.name.partition(":")
        if state and state not in states:
            raise TargetError(f"{self.describe()}: unknown state {state!r}")
        start = np.datetime64(start, "M")
        offset = 12 if self.needs_trajectories else 0
        if self.first - np.timedelta64(offset, "M") < start:
            raise TargetError(f"{self.describe()}: the period starts before the run ({start}){' plus 12 months of follow-up' if offset else ''}")
        if self.months_needed(start) > months:
            raise TargetError(f"{self.describe()}: the period ends after the horizon ({start + np.timedelta64(months - 1, 'M')})")

    def _window(self, ds: xr.Dataset) -> slice:
        start = np.datetime64(str(ds.time.values[0])[:7], "M")
        i = int((self.first - start).astype(int))
        j = int((self.last - start).astype(int)) + 1
        if i < 0 or j > ds.sizes["time"]:
            raise TargetError(f"{self.describe()}: the dataset covers {start} to {start + np.timedelta64(ds.sizes['time'] - 1, 'M')}")
        return slice(i, j)

    def value(self, ds: xr.Dataset, moves=None) -> xr.DataArray:
        """The indicator in ``ds`` (any extra dimensions, e.g. replicate, are kept; territory dropped).

        ``moves`` is the trajectory table of the run (``housed_12m`` only).
        """
        window = self._window(ds)
        if self.territory is not None:
            ds = ds.sel(territory=self.territory)
        elif "territory" in ds.dims:
            ds = ds.isel(territory=0)
        base, _, state = self.name.partition(":")
        part = ds.isel(time=window)
        if base in ("median_wait", "p90_wait", "median_wait_shelter"):
            kind = "shelter" if self.name.endswith("shelter") else "housing"
            hist = part.wait_histogram.sel(state=states_of_kind(part, kind)).sum(["state", "time"])
            return histogram_quantile(hist, 0.9 if base == "p90_wait" else 0.5)
        if base == "housed_12m":
            return xr.DataArray(self._housed_12m(ds, moves))
        if base == "street":
            series = persons_in(part, "street")
        elif base == "sheltered":
            series = persons_in(part, "shelter")
        elif base == "housed":
            series = persons_in(part, "housing")
        elif base == "cost":
            cost = total_cost(part)
            if cost is None:
                raise TargetError(f"{self.describe()}: the results have no costs")
            series = cost
        elif base == "persons":
            series = part.occupancy_persons.sel(state=state)
        elif base == "queue":
            series = part.queue_length.sel(state=state)
        else:  # free
            kind = str(part.state_kind.sel(state=state).values)
            held = part.occupancy_persons if kind == "shelter" else part.occupancy
            series = part.capacity.sel(state=state) - held.sel(state=state)
        return series.mean("time")

    def _housed_12m(self, ds: xr.Dataset, moves) -> float:
        if moves is None:
            raise TargetError(f"{self.describe()}: housed_12m needs the households' moves (run with trajectories)")
        start = np.datetime64(str(ds.time.values[0])[:7], "M")
        first = int((self.first - start).astype(int)) - 12
        last = int((self.last - start).astype(int)) - 12
        table = moves[moves["territory"] == (self.territory or moves["territory"].iloc[0])] if "territory" in moves else moves
        entries = table[table["event"] == "entry"]
        cohort = entries[(entries["month_index"] >= first) & (entries["month_index"] <= last)][["household_id", "time_days"]]
        if cohort.empty:
            return float("nan")
        housing = set(states_of_kind(ds, "housing"))
        homes = table[(table["event"] == "move") & table["to_state"].isin(housing)].groupby("household_id")["time_days"].min()
        reached = cohort["household_id"].map(homes)
        return float(((reached - cohort["time_days"]) <= 365.0).mean())


@dataclass(frozen=True)
class Target:
    """An indicator compared with a threshold."""

    indicator: Indicator
    op: str
    threshold: float
    text: str

    @classmethod
    def parse(cls, text: str) -> Target:
        match = _TARGET_RE.match(text)
        if not match:
            raise TargetError(
                f"target {text!r}: expected 'INDICATOR OP VALUE [in TERRITORY] by YYYY-MM' or '... over YYYY-MM:YYYY-MM', "
                "e.g. 'street <= 50 in aix-marseille-provence by 2030-12'"
            )
        return cls(Indicator._from(match, text), match["op"], float(match["value"]), text.strip())

    def holds(self, value: float) -> bool:
        """Whether a value meets the target (NaN does not)."""
        return bool(np.isfinite(value) and _OPS[self.op](value, self.threshold))

    @property
    def lower_is_better(self) -> bool:
        return self.op in ("<=", "<")
