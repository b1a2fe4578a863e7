"""Policy levers: objects with a timeline that act on a run.

A scenario lists policies (``scenario.policies``); each is built here from its configuration,
validated against the pathway and the territories when the scenario is loaded, and installed on
the model, where it schedules its own events with Mesa's event scheduling (bound methods). The
model offers the operations they need: adding or closing capacity, changing inflows, the share of
lettings to homeless households, the priority rule, the transitions open and the support slots.

Write your own lever by subclassing :class:`Policy` and naming it in a scenario file by its import
path, ``type: mypackage.module:MyPolicy``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import numpy as np
from mesa.time import Schedule

from .allocation import resolve_rule
from .errors import ConfigError
from .imports import import_subclass
from .laws import StayLaw, make_law
from .timebase import MONTH_DAYS, day_of, end_of

if TYPE_CHECKING:  # pragma: no cover
    from .model import HousingModel
    from .pathway import Pathway, State
    from .territory import TerritoryView as Territory


class Policy:
    """A lever with a timeline (``start``, optional ``end``, optional ``territories``).

    ``start`` and ``end`` are months (``2027-03``: from the start of March; to the end of March) or
    dates (``2027-03-15``: from the start of that day; to the end of it); see
    :mod:`lda_sim.timebase` for how a date is placed on the model's clock.

    Subclasses check their fields in :meth:`validate` (raising :class:`ConfigError` via
    :meth:`error`) and act in :meth:`install`, called once when the model is built.
    """

    type_name: ClassVar[str] = ""

    def __init__(self, spec: dict[str, Any], *, file: str, where: str, pathway: Pathway, territories: list[str], start: np.datetime64) -> None:
        self.spec = spec
        self.file = file
        self.where = where
        self.pathway = pathway
        self.note = spec.get("note", "")
        self.scenario_start = start
        self.start_day = self._day(spec["start"], "start", start)
        self.end_day = self._day(spec["end"], "end", start, end=True) if "end" in spec else math.inf
        if self.end_day <= self.start_day:
            self.error("end", f"end {spec['end']} is before start {spec['start']}")
        names = spec.get("territories", territories)
        unknown = [n for n in names if n not in territories]
        if unknown:
            self.error("territories", f"unknown territory {unknown[0]!r} (territories: {', '.join(territories)})")
        self.territory_names = list(names)
        self.validate()

    # --- helpers for subclasses ----------------------------------------------------------------
    def error(self, field: str, message: str) -> NoReturn:
        raise ConfigError(self.file, f"{self.where}.{field}" if field else self.where, message)

    def _day(self, when: str, field: str, start: np.datetime64, *, end: bool = False) -> float:
        """Model time of a month ``YYYY-MM`` or a date ``YYYY-MM-DD``: its start, or with ``end``
        its end (a policy's ``end`` is the last month or day it is in force)."""
        try:
            day = end_of(when, start) if end else day_of(when, start)
        except ValueError as exc:
            self.error(field, str(exc))
        if day_of(when, start) < 0:
            self.error(field, f"{when} is before the scenario starts ({start})")
        return day

    def state(self, field: str, *, capacity: tuple[str, ...] | None = None) -> State:
        """The pathway state named by ``spec[field]``, optionally of given capacity kinds."""
        name = self.spec[field]
        if name not in self.pathway.state_index:
            self.error(field, f"unknown state {name!r} (states: {', '.join(self.pathway.state_index)})")
        state = self.pathway.states[self.pathway.state_index[name]]
        if capacity is not None and state.capacity_kind not in capacity:
            self.error(field, f"{name!r} has capacity kind {state.capacity_kind!r}; this lever needs one of: {', '.join(capacity)}")
        return state

    def size_mix(self, field: str = "size_mix") -> list[float]:
        """Shares of the size classes (default: all in the smallest class)."""
        names = self.pathway.size_class_names
        mix = self.spec.get(field, {names[0]: 1.0})
        unknown = set(mix) - set(names)
        if unknown:
            self.error(field, f"unknown size class(es) {sorted(unknown)} (size classes: {', '.join(names)})")
        total = sum(mix.values())
        if abs(total - 1) > 1e-6:
            self.error(field, f"shares sum to {total:.6g}, not 1: {mix}")
        return [float(mix.get(n, 0.0)) for n in names]

    def territories(self, model: HousingModel) -> list[Territory]:
        return [t for t in model.territories if t.name in self.territory_names]

    def monthly(self, model: HousingModel, callback: Any, *, offset_days: float = 0.0) -> None:
        """Call ``callback`` (a bound method) at the start of every month of the timeline."""
        start = self.start_day + offset_days
        end = self.end_day + offset_days
        months = math.ceil((min(end, model.horizon) - start) / MONTH_DAYS - 1e-9)
        if months > 0 and start < model.horizon:
            model.schedule_recurring(callback, Schedule(interval=MONTH_DAYS, start=start, count=months))

    def during(self, model: HousingModel, apply: Any, stop: Any) -> None:
        """Call ``apply`` when the policy starts and ``stop`` when it ends (if before the horizon)."""
        self.at_start(model, apply)
        if math.isfinite(self.end_day) and self.end_day <= model.horizon:
            model.schedule_event(stop, at=self.end_day)

    def at_start(self, model: HousingModel, callback: Any) -> None:
        """Call ``callback`` when the policy starts: at once if it starts with the run (before
        the initial population is placed, so that it applies to it too), else as a Mesa event."""
        if self.start_day <= 0:
            callback()
        elif self.start_day <= model.horizon:
            model.schedule_event(callback, at=self.start_day)

    # --- to implement --------------------------------------------------------------------------
    def validate(self) -> None:
        """Check the configuration against the pathway (load time)."""

    def check_territories(self, configs: list[Any]) -> None:
        """Check the configuration against the loaded territories (load time, after validate)."""

    def extra_households(self, configs: list[Any], years: float) -> float:
        """Households this policy adds to a run of ``years`` beyond the territories' own inflows,
        about (for the run-size guard of :func:`lda_sim.config.check_run_size`)."""
        return 0.0

    def install(self, model: HousingModel) -> None:
        """Schedule this policy's events on ``model``."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line for reports."""
        return f"{self.type_name} {self.spec}"


class _Spread:
    """Whole units from a yearly rate spread over months, split by size class, without rounding loss."""

    def __init__(self, per_year: float, shares: list[float]) -> None:
        self.per_month = per_year / 12
        self.shares = shares
        self.carry = [0.0] * len(shares)

    def next_month(self) -> list[int]:
        out = []
        for i, share in enumerate(self.shares):
            self.carry[i] += self.per_month * share
            whole = math.floor(self.carry[i] + 1e-9)
            self.carry[i] -= whole
            out.append(whole)
        return out


class Production(Policy):
    """New social housing, pension de famille or résidence sociale units, delivered after a lag."""

    type_name = "production"

    def validate(self) -> None:
        self.target = self.state("state", capacity=("units", "turnover"))
        self.lag_days = float(self.spec.get("delivery_lag_years", 0)) * 365.25
        self.shares = self.size_mix()
        self.first_letting_share = self.spec.get("share_to_homeless")
        if self.first_letting_share is not None and self.target.capacity_kind != "turnover":
            self.error("share_to_homeless", f"{self.target.name!r} is not supplied by turnover: its new units go to waiting households")

    def install(self, model: HousingModel) -> None:
        self._spreads = {t.index: _Spread(float(self.spec["units_per_year"]), self.shares) for t in self.territories(model)}
        self._model = model
        self.monthly(model, self.deliver, offset_days=self.lag_days)

    def deliver(self) -> None:
        for territory in self.territories(self._model):
            for size_class, n in enumerate(self._spreads[territory.index].next_month()):
                if n:
                    self._model.add_capacity(territory, self.target.index, n, size_class, first_letting_share=self.first_letting_share)
                    self._model.record_delivery(territory, self.target.index, n)


class IMLCapture(Policy):
    """Private rentals captured for IML (sublease or management mandate), owners leaving over time."""

    type_name = "iml_capture"

    def validate(self) -> None:
        self.target = self.state("state", capacity=("units",))
        self.shares = self.size_mix()
        self.exit_rate = float(self.spec.get("owner_exit_rate_per_year", 0.0))
        self.sliding = bool(self.spec.get("sliding_lease_leaves_scheme", False))
        if self.sliding and not any(t.origin.name == self.target.name and t.mode == "stay" and t.target.kind == "housing" for t in self.pathway.transitions):
            self.error("sliding_lease_leaves_scheme", f"no stay transition from {self.target.name!r} into housing to slide the lease along")

    def install(self, model: HousingModel) -> None:
        self._model = model
        territories = self.territories(model)
        self._spreads = {t.index: _Spread(float(self.spec["units_per_year"]), self.shares) for t in territories}
        self._rng = {t.index: model.policy_rng(self, t) for t in territories}
        # captured units still in the scheme, by territory and size class: only these leave it
        # (by owner exit or sliding lease); the existing stock stays as in the baseline
        self._in_scheme = {t.index: [0] * len(self.shares) for t in territories}
        self.monthly(model, self.capture)
        if self.sliding:
            for t in territories:
                model.on_slide(t, self.target.index, self.lease_slides)

    def capture(self) -> None:
        model = self._model
        for territory in self.territories(model):
            for size_class, n in enumerate(self._spreads[territory.index].next_month()):
                if not n:
                    continue
                model.add_capacity(territory, self.target.index, n, size_class)
                self._in_scheme[territory.index][size_class] += n
                if self.exit_rate > 0:
                    rng = self._rng[territory.index]
                    for lifetime in rng.exponential(365.25 / self.exit_rate, n):
                        model.schedule(model.time + float(lifetime), self.owner_leaves, territory, size_class)

    def _leave(self, territory: Territory, size_class: int) -> None:
        if self._in_scheme[territory.index][size_class] > 0:
            self._in_scheme[territory.index][size_class] -= 1
            self._model.remove_capacity(territory, self.target.index, 1, size_class)

    def owner_leaves(self, territory: Territory, size_class: int) -> None:
        """An owner takes a captured unit back (closed when vacated)."""
        self._leave(territory, size_class)

    def lease_slides(self, territory: Territory, size_class: int) -> None:
        """A lease slid to its household: the unit leaves the scheme if it was one of the units
        captured here, which it is with probability captured / all units of its size class."""
        captured = self._in_scheme[territory.index][size_class]
        units = territory.units[self.target.index][size_class] + 1  # the unit just vacated counts
        if captured and self._rng[territory.index].random() < captured / units:
            self._leave(territory, size_class)


class Transformation(Policy):
    """Shelter places (hotel, emergency, CHRS) converted into housing units on a schedule.

    Converted places close as they empty, so nobody is put out; the new units are let through the
    waiting lists, on which the residents of the converted places already stand.
    """

    type_name = "transformation"

    def validate(self) -> None:
        self.origin = self.state("from", capacity=("shelter",))
        self.target = self.state("to", capacity=("units", "shelter"))
        self.persons_per_unit = float(self.spec.get("persons_per_unit", 1.0))
        self.shares = self.size_mix()

    def install(self, model: HousingModel) -> None:
        self._model = model
        per_year = float(self.spec["places_per_year"])
        self._places = {t.index: _Spread(per_year, [1.0]) for t in self.territories(model)}
        self._units = {t.index: _Spread(per_year / self.persons_per_unit, self.shares) for t in self.territories(model)}
        self.monthly(model, self.convert)

    def convert(self) -> None:
        model = self._model
        for territory in self.territories(model):
            (places,) = self._places[territory.index].next_month()
            if places:
                model.remove_capacity(territory, self.origin.index, places)
            if self.target.capacity_kind == "shelter":
                if places:
                    model.add_capacity(territory, self.target.index, places)
                continue
            for size_class, n in enumerate(self._units[territory.index].next_month()):
                if n:
                    model.add_capacity(territory, self.target.index, n, size_class)


class CapacityChange(Policy):
    """Places or units opened (positive) or closed as they empty (negative), e.g. fewer hotel nights:
    ``change_per_year`` spread over the months of the timeline, or ``change`` all at once on the
    ``start`` date (a delivery or a closure on an exact day, ``start: 2027-03-15``)."""

    type_name = "capacity_change"

    def validate(self) -> None:
        self.target = self.state("state", capacity=("shelter", "units"))
        self.shares = self.size_mix() if self.target.capacity_kind == "units" else [1.0]
        if "change" in self.spec and "change_per_year" in self.spec:
            self.error("change", "give 'change_per_year' (spread over months) or 'change' (all on the start date), not both")
        if "change" not in self.spec and "change_per_year" not in self.spec:
            self.error("change_per_year", "missing: 'change_per_year' (spread over months) or 'change' (all on the start date)")
        self.once = "change" in self.spec
        if self.once and "end" in self.spec:
            self.error("end", "'change' acts once, on the start date: it takes no end")

    def install(self, model: HousingModel) -> None:
        self._model = model
        change = float(self.spec["change" if self.once else "change_per_year"])
        self.sign = 1 if change >= 0 else -1
        if self.once:
            self._amounts = _split(int(abs(change)), self.shares)
            self.at_start(model, self.apply_once)
            return
        self._spreads = {t.index: _Spread(abs(change), self.shares) for t in self.territories(model)}
        self.monthly(model, self.apply)

    def _change(self, territory: Territory, amounts: list[int]) -> None:
        for size_class, n in enumerate(amounts):
            if not n:
                continue
            cls = size_class if self.target.capacity_kind == "units" else None
            if self.sign > 0:
                self._model.add_capacity(territory, self.target.index, n, cls)
            else:
                self._model.remove_capacity(territory, self.target.index, n, cls)

    def apply(self) -> None:
        for territory in self.territories(self._model):
            self._change(territory, self._spreads[territory.index].next_month())

    def apply_once(self) -> None:
        for territory in self.territories(self._model):
            self._change(territory, self._amounts)


def _split(amount: int, shares: list[float]) -> list[int]:
    """``amount`` whole units split by ``shares`` (largest remainders: they add up to ``amount``)."""
    exact = [amount * share for share in shares]
    whole = [math.floor(x + 1e-9) for x in exact]
    for i in sorted(range(len(shares)), key=lambda i: whole[i] - exact[i])[: amount - sum(whole)]:
        whole[i] += 1
    return whole


class SeasonalCapacity(Policy):
    """Places opened every year for a season, e.g. the winter plan (plan hivernal): ``places``
    extra places of a shelter ``state`` from ``opens`` (``MM-DD``, default ``11-01``) to
    ``closes`` (the last day open, default ``03-31``), within the policy's timeline.

    The places open at the start of the opening day and close at the end of the closing day, as
    they empty: nobody is put out, and places still occupied close when their occupants leave
    (the model's ``remove_capacity``). A timeline that starts within a season opens the places at
    once; one that ends within a season closes them at its end.
    """

    type_name = "seasonal_capacity"

    def validate(self) -> None:
        self.target = self.state("state", capacity=("shelter",))
        places = self.spec["places"]
        if not float(places).is_integer() or places <= 0:
            self.error("places", f"expected a positive whole number of places, got {places!r}")
        self.places = int(places)
        self.season = []
        for key, default in (("opens", "11-01"), ("closes", "03-31")):
            day = str(self.spec.get(key, default))
            if day == "02-29":
                self.error(key, "02-29 is not a day of every year: use 02-28 or 03-01")
            try:
                day_of(f"2001-{day}", np.datetime64("2001-01", "M"))  # a real day of a (non-leap) year
            except ValueError:
                self.error(key, f"{day!r} is not a day of the year (MM-DD)")
            self.season.append(day)

    def seasons(self, horizon: float) -> list[tuple[float, float]]:
        """The (opening, closing) model times of the seasons within the timeline and the horizon."""
        start = self.scenario_start
        opens, closes = self.season
        wraps = closes < opens  # the season runs over the new year (November to March)
        first_year = int(str(start)[:4]) - 1
        last = min(self.end_day, horizon)
        out = []
        for year in range(first_year, first_year + int(last / 365.25) + 3):
            begin = day_of(f"{year:04d}-{opens}", start)
            end = end_of(f"{year + int(wraps):04d}-{closes}", start)
            begin, end = max(begin, self.start_day), min(end, self.end_day)
            if begin < end and begin < horizon:
                out.append((begin, end))
        return out

    def install(self, model: HousingModel) -> None:
        self._model = model
        for begin, end in self.seasons(model.horizon):
            if begin <= 0:
                self.open()
            else:
                model.schedule_event(self.open, at=begin)
            if end <= model.horizon:
                model.schedule_event(self.close, at=end)

    def open(self) -> None:
        for territory in self.territories(self._model):
            self._model.add_capacity(territory, self.target.index, self.places)

    def close(self) -> None:
        for territory in self.territories(self._model):
            self._model.remove_capacity(territory, self.target.index, self.places)

    def describe(self) -> str:
        return f"{self.type_name}: {self.places} places of {self.target.name} from {self.season[0]} to {self.season[1]} every year"


class InflowProjection(Policy):
    """A projection of arrivals: the rate of an inflow by calendar year, set on each 1 January.

    ``households_per_year`` maps years to the rate of the inflow of ``cause`` (``{2026: 550,
    2027: 600}``): a year not given holds the rate of the last year given before it; before the
    first year given, the territory's own rate. Or ``growth_per_year``: the rates of the inflows
    (of ``cause``, or all) grow by this share every 1 January after ``start`` (0.03: +3 % a year).
    At ``end`` the territory's own rates come back.
    """

    type_name = "inflow_projection"

    def validate(self) -> None:
        from .schema import CAUSES

        self.cause = self.spec.get("cause")
        if self.cause is not None and self.cause not in CAUSES:
            self.error("cause", f"unknown cause {self.cause!r} (causes: {', '.join(CAUSES)})")
        given = [key for key in ("households_per_year", "growth_per_year") if key in self.spec]
        if len(given) != 1:
            self.error(given[-1] if given else "households_per_year",
                       "give 'households_per_year' (rates by year) or 'growth_per_year', not both" if given
                       else "missing: 'households_per_year' (rates by year, {2026: 550, ...}) or 'growth_per_year'")
        self.rates: dict[int, float] = {}
        self.growth = float(self.spec.get("growth_per_year", 0.0))
        if "households_per_year" in self.spec:
            if self.cause is None:
                self.error("cause", "missing: the cause whose inflow 'households_per_year' projects")
            for key, rate in self.spec["households_per_year"].items():
                if float(rate) <= 0:
                    self.error(f"households_per_year.{key}", "a rate of 0 stops the inflow for good in this engine (no arrival is drawn "
                               "after it): to stop arrivals for a while, use a prevention policy (reduce: {cause: 1})")
                self.rates[int(key)] = float(rate)
            self.first_year = min(self.rates)

    def check_territories(self, configs: list[Any]) -> None:
        """Each territory of the policy has an inflow of ``cause`` with a positive rate (an inflow
        at rate 0 draws no arrivals: its rate cannot be raised later)."""
        for config in configs:
            if config.name not in self.territory_names:
                continue
            inflows = [f for f in config.inflows if self.cause in (None, f.cause)]
            if not inflows:
                self.error("cause", f"territory {config.name!r} has no inflow of cause {self.cause!r} ({config.file})")
            for f in inflows:
                if f.households_per_year <= 0:
                    self.error("cause", f"the {f.cause} inflow of {config.name!r} has a rate of 0 ({config.file}): "
                               "the engine draws no arrivals for it, so a projection cannot raise it; give it a positive rate")

    def extra_households(self, configs: list[Any], years: float) -> float:
        """The largest projected rate over the run, less the inflows' own, times the horizon."""
        base = sum(f.households_per_year for c in configs if c.name in self.territory_names for f in c.inflows if self.cause in (None, f.cause))
        if self.rates:
            n = sum(1 for c in configs if c.name in self.territory_names)
            return max(0.0, max(self.rates.values()) * n - base) * years
        return max(0.0, base * ((1 + self.growth) ** math.ceil(years + 1) - 1)) * years

    def rate(self, base: float, year: int) -> float:
        """The rate in calendar ``year`` of an inflow whose own rate is ``base``."""
        if self.rates:
            given = [y for y in self.rates if y <= year]
            return self.rates[max(given)] if given else base
        return base * (1 + self.growth) ** (year - self.start_year)

    def install(self, model: HousingModel) -> None:
        self._model = model
        start = self.scenario_start
        self.start_year = _year_at(self.start_day, start)
        self._inflows = [
            (t, i, f.households_per_year) for t in self.territories(model)
            for i, f in enumerate(t.config.inflows) if self.cause in (None, f.cause)
        ]
        self.at_start(model, self.apply)
        last = min(self.end_day, model.horizon)
        for year in range(self.start_year + 1, _year_at(last, start) + 1):
            at = day_of(f"{year:04d}-01", start)
            if self.start_day < at < last:
                model.schedule_event(self.apply, at=at)
        if math.isfinite(self.end_day) and self.end_day <= model.horizon:
            model.schedule_event(self.stop, at=self.end_day)

    def apply(self) -> None:
        """Set the rates of the calendar year of the model's time (at the start, each 1 January)."""
        year = _year_at(max(self._model.time, self.start_day), self.scenario_start)
        for territory, inflow, base in self._inflows:
            self._model.set_inflow_rate(territory, inflow, self.rate(base, year))

    def stop(self) -> None:
        for territory, inflow, base in self._inflows:
            self._model.set_inflow_rate(territory, inflow, base)


def _year_at(day: float, start: np.datetime64) -> int:
    """The calendar year at model time ``day``."""
    month = np.datetime64(start, "M") + np.timedelta64(int(math.floor(day / MONTH_DAYS + 1e-9)), "M")
    return int(str(month)[:4])


class Prevention(Policy):
    """Fewer entries: a share of a cause's inflow prevented, or diverted straight into housing."""

    type_name = "prevention"

    def validate(self) -> None:
        self.reduce = {cause: float(share) for cause, share in self.spec.get("reduce", {}).items()}
        self.divert: dict[str, tuple[float, int]] = {}
        for cause, d in self.spec.get("divert", {}).items():
            name = d["to"]
            if name not in self.pathway.state_index:
                self.error(f"divert.{cause}.to", f"unknown state {name!r}")
            state = self.pathway.states[self.pathway.state_index[name]]
            if state.capacitated or state.kind in ("exit", "street"):
                self.error(f"divert.{cause}.to", f"{name!r} must be housing without capacity (households enter it directly)")
            self.divert[cause] = (float(d["share"]), state.index)
            if self.reduce.get(cause, 0.0) + float(d["share"]) > 1 + 1e-9:
                self.error(f"divert.{cause}.share", "prevented and diverted shares of a cause exceed 1")
        if not self.reduce and not self.divert:
            self.error("", "a prevention policy needs 'reduce' or 'divert'")

    def install(self, model: HousingModel) -> None:
        self._model = model
        self.during(model, self.apply, self.stop)

    def apply(self) -> None:
        for territory in self.territories(self._model):
            for cause, share in self.reduce.items():
                self._model.set_prevention(territory, cause, prevented=share)
            for cause, (share, state) in self.divert.items():
                self._model.set_prevention(territory, cause, diverted=share, divert_to=state)

    def stop(self) -> None:
        for territory in self.territories(self._model):
            for cause in set(self.reduce) | set(self.divert):
                self._model.set_prevention(territory, cause, prevented=0.0, diverted=0.0)


class Support(Policy):
    """Support slots (accompagnement): supported tenants fail less often; when full, none."""

    type_name = "support"

    def validate(self) -> None:
        self.states = []
        for i, name in enumerate(self.spec["states"]):
            if name not in self.pathway.state_index or self.pathway.states[self.pathway.state_index[name]].kind != "housing":
                self.error(f"states[{i}]", f"{name!r} is not a housing state")
            self.states.append(self.pathway.state_index[name])
        self.slots = int(self.spec["slots"])
        self.reduction = float(self.spec["failure_reduction"])
        self.duration = None
        if "support_days" in self.spec:
            try:
                self.duration = make_law(self.spec["support_days"])
            except ValueError as exc:
                self.error("support_days", str(exc))

    def install(self, model: HousingModel) -> None:
        self._model = model
        self.during(model, self.apply, self.stop)

    def apply(self) -> None:
        for territory in self.territories(self._model):
            self._model.set_support(territory, self.slots, self.states, self.reduction, self.duration)

    def stop(self) -> None:
        for territory in self.territories(self._model):
            self._model.set_support(territory, 0, self.states, self.reduction)


class Allocation(Policy):
    """Allocation rules from a date: share of lettings to homeless households, priority rule."""

    type_name = "allocation"

    def validate(self) -> None:
        if "share_to_homeless" in self.spec:
            if "state" not in self.spec:
                self.error("state", "missing: the turnover-supplied state whose lettings share changes")
            self.target = self.state("state", capacity=("turnover",))
        self.rule = None
        if "rule" in self.spec:
            try:
                self.rule = resolve_rule(self.spec["rule"])
            except ValueError as exc:
                self.error("rule", str(exc))
        if "share_to_homeless" not in self.spec and self.rule is None:
            self.error("", "an allocation policy needs 'share_to_homeless' or 'rule'")

    def install(self, model: HousingModel) -> None:
        self._model = model
        self.at_start(model, self.apply)

    def apply(self) -> None:
        for territory in self.territories(self._model):
            if "share_to_homeless" in self.spec:
                self._model.set_share_to_homeless(territory, self.target.index, float(self.spec["share_to_homeless"]))
            if self.rule is not None:
                states = [self.target.index] if "state" in self.spec else list(territory.waiting)
                for s in states:
                    self._model.set_priority_rule(territory, s, self.rule)


class PathwayDoctrine(Policy):
    """Which transitions are open and which need readiness: the staircase or Logement d'abord."""

    type_name = "pathway"

    def validate(self) -> None:
        self.closed = []
        for i, key in enumerate(self.spec.get("close", [])):
            if key not in self.pathway.transition_index:
                self.error(f"close[{i}]", f"unknown transition {key!r}")
            t = self.pathway.transitions[self.pathway.transition_index[key]]
            if t.mode != "queue":
                self.error(f"close[{i}]", f"{key!r} is a {t.mode} transition: only queue transitions can be closed")
            self.closed.append(t.index)
        self.ready: dict[int, StayLaw] = {}
        for key, law in self.spec.get("ready_after", {}).items():
            if key not in self.pathway.transition_index:
                self.error(f"ready_after.{key}", f"unknown transition {key!r}")
            t = self.pathway.transitions[self.pathway.transition_index[key]]
            if t.mode != "queue":
                self.error(f"ready_after.{key}", f"{key!r} is not a queue transition")
            try:
                self.ready[t.index] = make_law(law)
            except ValueError as exc:
                self.error(f"ready_after.{key}", str(exc))
        self.doctrine = self.spec.get("doctrine", "")

    def install(self, model: HousingModel) -> None:
        self._model = model
        self.at_start(model, self.apply)

    def apply(self) -> None:
        for territory in self.territories(self._model):
            self._model.set_transitions(territory, closed=self.closed, ready_after=self.ready)


POLICY_TYPES: dict[str, type[Policy]] = {
    cls.type_name: cls for cls in (
        Production, IMLCapture, Transformation, CapacityChange, SeasonalCapacity, InflowProjection, Prevention, Support, Allocation,
        PathwayDoctrine,
    )
}


def build_policy(spec: dict[str, Any], *, file: str, where: str, pathway: Pathway, territories: list[str], start: np.datetime64) -> Policy:
    """A policy object from its configuration: a built-in type or ``module:Class``."""
    kind = spec["type"]
    cls = POLICY_TYPES.get(kind)
    if cls is None:
        if ":" not in kind:
            raise ConfigError(file, f"{where}.type", f"unknown policy type {kind!r} (built-in: {', '.join(POLICY_TYPES)}; or 'module:Class')")
        try:
            cls = import_subclass(kind, Policy, "policy")
        except ValueError as exc:
            raise ConfigError(file, f"{where}.type", str(exc)) from None
    if "start" not in spec:
        raise ConfigError(file, f"{where}.start", "missing required key 'start'")
    return cls(spec, file=file, where=where, pathway=pathway, territories=territories, start=start)
