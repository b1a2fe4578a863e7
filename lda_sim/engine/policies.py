"""Policy levers: objects with a timeline that act on a run.

A scenario holds the settings of its policies, checked when it is loaded
(:mod:`lda_sim.config.policies`); each model gets its own policy objects from them
(:func:`policy_for`) and installs them, and they schedule their own events with Mesa's event
scheduling (bound methods). The model offers the operations they need: adding or closing capacity,
changing inflows, the share of lettings to homeless households, the priority rule, the transitions
open and the support slots.

Write your own lever by subclassing :class:`Policy` (its settings checked in ``validate``, its
action in ``install``) and naming it in a scenario file by its import path,
``type: mypackage.module:MyPolicy``.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from mesa.time import Schedule

from ..config.policies import (
    AllocationSettings,
    CapacityChangeSettings,
    IMLCaptureSettings,
    InflowProjectionSettings,
    PathwayDoctrineSettings,
    PolicySettings,
    PreventionSettings,
    ProductionSettings,
    SeasonalCapacitySettings,
    SupportSettings,
    TransformationSettings,
)
from ..config.timebase import MONTH_DAYS, day_of
from .allocation import resolve_rule

if TYPE_CHECKING:  # pragma: no cover
    from .model import HousingModel
    from .territory import TerritoryView as Territory


class Policy(PolicySettings):
    """A lever with a timeline (``start``, optional ``end``, optional ``territories``), acting on a run.

    Its settings (:class:`lda_sim.config.policies.PolicySettings`) are checked in :meth:`validate`
    when the scenario is loaded; :meth:`install`, called once when a model is built, schedules its
    events on that model.
    """

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

    def install(self, model: HousingModel) -> None:
        """Schedule this policy's events on ``model``."""
        raise NotImplementedError


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


class Production(ProductionSettings, Policy):
    """New social housing, pension de famille or résidence sociale units, delivered after a lag."""

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


class IMLCapture(IMLCaptureSettings, Policy):
    """Private rentals captured for IML (sublease or management mandate), owners leaving over time."""

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


class Transformation(TransformationSettings, Policy):
    """Shelter places (hotel, emergency, CHRS) converted into housing units on a schedule.

    Converted places close as they empty, so nobody is put out; the new units are let through the
    waiting lists, on which the residents of the converted places already stand.
    """

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


class CapacityChange(CapacityChangeSettings, Policy):
    """Places or units opened (positive) or closed as they empty (negative), e.g. fewer hotel nights:
    ``change_per_year`` spread over the months of the timeline, or ``change`` all at once on the
    ``start`` date (a delivery or a closure on an exact day, ``start: 2027-03-15``)."""

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


class SeasonalCapacity(SeasonalCapacitySettings, Policy):
    """Places opened every year for a season, e.g. the winter plan (plan hivernal): ``places``
    extra places of a shelter ``state`` from ``opens`` (``MM-DD``, default ``11-01``) to
    ``closes`` (the last day open, default ``03-31``), within the policy's timeline.

    The places open at the start of the opening day and close at the end of the closing day, as
    they empty: nobody is put out, and places still occupied close when their occupants leave
    (the model's ``remove_capacity``). A timeline that starts within a season opens the places at
    once; one that ends within a season closes them at its end.
    """

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


class InflowProjection(InflowProjectionSettings, Policy):
    """A projection of arrivals: the rate of an inflow by calendar year, set on each 1 January.

    ``households_per_year`` maps years to the rate of the inflow of ``cause`` (``{2026: 550,
    2027: 600}``): a year not given holds the rate of the last year given before it; before the
    first year given, the territory's own rate. Or ``growth_per_year``: the rates of the inflows
    (of ``cause``, or all) grow by this share every 1 January after ``start`` (0.03: +3 % a year).
    At ``end`` the territory's own rates come back.
    """

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


class Prevention(PreventionSettings, Policy):
    """Fewer entries: a share of a cause's inflow prevented, or diverted straight into housing."""

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


class Support(SupportSettings, Policy):
    """Support slots (accompagnement): supported tenants fail less often; when full, none."""

    def install(self, model: HousingModel) -> None:
        self._model = model
        self.during(model, self.apply, self.stop)

    def apply(self) -> None:
        for territory in self.territories(self._model):
            self._model.set_support(territory, self.slots, self.states, self.reduction, self.duration)

    def stop(self) -> None:
        for territory in self.territories(self._model):
            self._model.set_support(territory, 0, self.states, self.reduction)


class Allocation(AllocationSettings, Policy):
    """Allocation rules from a date: share of lettings to homeless households, priority rule."""

    def install(self, model: HousingModel) -> None:
        self._model = model
        self.rule = None if self.rule_name is None else resolve_rule(self.rule_name)
        self.at_start(model, self.apply)

    def apply(self) -> None:
        for territory in self.territories(self._model):
            if "share_to_homeless" in self.spec:
                self._model.set_share_to_homeless(territory, self.target.index, float(self.spec["share_to_homeless"]))
            if self.rule is not None:
                states = [self.target.index] if "state" in self.spec else list(territory.waiting)
                for s in states:
                    self._model.set_priority_rule(territory, s, self.rule)


class PathwayDoctrine(PathwayDoctrineSettings, Policy):
    """Which transitions are open and which need readiness: the staircase or Logement d'abord."""

    def install(self, model: HousingModel) -> None:
        self._model = model
        self.at_start(model, self.apply)

    def apply(self) -> None:
        for territory in self.territories(self._model):
            self._model.set_transitions(territory, closed=self.closed, ready_after=self.ready)


#: The built-in policy types, by the name a scenario gives in ``type``.
POLICY_TYPES: dict[str, type[Policy]] = {
    cls.type_name: cls for cls in (
        Production, IMLCapture, Transformation, CapacityChange, SeasonalCapacity, InflowProjection, Prevention, Support, Allocation,
        PathwayDoctrine,
    )
}
_ACTING: dict[type[PolicySettings], type[Policy]] = {cls.__bases__[0]: cls for cls in POLICY_TYPES.values()}


def policy_for(settings: PolicySettings) -> Policy:
    """A model's own policy object for a scenario's policy settings (a shallow copy: the settings
    are shared by the runs of the scenario, the state of the lever is the model's)."""
    if isinstance(settings, Policy):  # your own class: settings and action in one
        return copy.copy(settings)
    policy = object.__new__(_ACTING[type(settings)])
    policy.__dict__.update(settings.__dict__)
    return policy
