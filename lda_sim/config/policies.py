"""Policy settings: each policy of a scenario, checked against the pathway and the territories
when the scenario is loaded, and held as data.

A scenario lists policies (``scenario.policies``); each is read here into the settings of its
type (a built-in type, or your own class named ``module:Class``, a subclass of
:class:`lda_sim.engine.policies.Policy`), which check its fields (raising :class:`ConfigError`) and
derive what the lever needs (target states, shares, laws, dates on the model's clock). The engine
(:mod:`lda_sim.engine.policies`) gives each model its own policy objects, which act on the run:
they schedule their events and call the model's levers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import numpy as np

from .errors import ConfigError
from .imports import import_object
from .laws import StayLaw, law_at
from .rules import custom_rule
from .timebase import day_of, end_of

if TYPE_CHECKING:  # pragma: no cover
    from .pathway import Pathway, State


class PolicySettings:
    """The settings of a lever with a timeline (``start``, optional ``end``, optional ``territories``).

    ``start`` and ``end`` are months (``2027-03``: from the start of March; to the end of March) or
    dates (``2027-03-15``: from the start of that day; to the end of it); see
    :mod:`lda_sim.config.timebase` for how a date is placed on the model's clock.

    Subclasses check their fields in :meth:`validate` (raising :class:`ConfigError` via
    :meth:`error`); the engine's :class:`lda_sim.engine.policies.Policy` adds the action.
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

    # --- to implement --------------------------------------------------------------------------
    def validate(self) -> None:
        """Check the configuration against the pathway (load time)."""

    def check_territories(self, configs: list[Any]) -> None:
        """Check the configuration against the loaded territories (load time, after validate)."""

    def extra_households(self, configs: list[Any], years: float) -> float:
        """Households this policy adds to a run of ``years`` beyond the territories' own inflows,
        about (for the run-size guard of :func:`lda_sim.config.scenario.check_run_size`)."""
        return 0.0

    def describe(self) -> str:
        """One line for reports."""
        return f"{self.type_name} {self.spec}"


class ProductionSettings(PolicySettings):
    """The settings of :class:`lda_sim.engine.policies.Production`, checked at load time."""

    type_name = "production"

    def validate(self) -> None:
        self.target = self.state("state", capacity=("units", "turnover"))
        self.lag_days = float(self.spec.get("delivery_lag_years", 0)) * 365.25
        self.shares = self.size_mix()
        self.first_letting_share = self.spec.get("share_to_homeless")
        if self.first_letting_share is not None and self.target.capacity_kind != "turnover":
            self.error("share_to_homeless", f"{self.target.name!r} is not supplied by turnover: its new units go to waiting households")


class IMLCaptureSettings(PolicySettings):
    """The settings of :class:`lda_sim.engine.policies.IMLCapture`, checked at load time."""

    type_name = "iml_capture"

    def validate(self) -> None:
        self.target = self.state("state", capacity=("units",))
        self.shares = self.size_mix()
        self.exit_rate = float(self.spec.get("owner_exit_rate_per_year", 0.0))
        self.sliding = bool(self.spec.get("sliding_lease_leaves_scheme", False))
        if self.sliding and not any(t.origin.name == self.target.name and t.mode == "stay" and t.target.kind == "housing" for t in self.pathway.transitions):
            self.error("sliding_lease_leaves_scheme", f"no stay transition from {self.target.name!r} into housing to slide the lease along")


class TransformationSettings(PolicySettings):
    """The settings of :class:`lda_sim.engine.policies.Transformation`, checked at load time."""

    type_name = "transformation"

    def validate(self) -> None:
        self.origin = self.state("from", capacity=("shelter",))
        self.target = self.state("to", capacity=("units", "shelter"))
        self.persons_per_unit = float(self.spec.get("persons_per_unit", 1.0))
        self.shares = self.size_mix()


class CapacityChangeSettings(PolicySettings):
    """The settings of :class:`lda_sim.engine.policies.CapacityChange`, checked at load time."""

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


class SeasonalCapacitySettings(PolicySettings):
    """The settings of :class:`lda_sim.engine.policies.SeasonalCapacity`, checked at load time."""

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

    def describe(self) -> str:
        return f"{self.type_name}: {self.places} places of {self.target.name} from {self.season[0]} to {self.season[1]} every year"


class InflowProjectionSettings(PolicySettings):
    """The settings of :class:`lda_sim.engine.policies.InflowProjection`, checked at load time."""

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


class PreventionSettings(PolicySettings):
    """The settings of :class:`lda_sim.engine.policies.Prevention`, checked at load time."""

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


class SupportSettings(PolicySettings):
    """The settings of :class:`lda_sim.engine.policies.Support`, checked at load time."""

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
            self.duration = law_at(self.spec["support_days"], self.file, f"{self.where}.support_days")


class AllocationSettings(PolicySettings):
    """The settings of :class:`lda_sim.engine.policies.Allocation`, checked at load time."""

    type_name = "allocation"

    def validate(self) -> None:
        if "share_to_homeless" in self.spec:
            if "state" not in self.spec:
                self.error("state", "missing: the turnover-supplied state whose lettings share changes")
            self.target = self.state("state", capacity=("turnover",))
        self.rule_name = self.spec.get("rule")
        if self.rule_name is not None:
            try:
                custom_rule(self.rule_name)
            except ValueError as exc:
                self.error("rule", str(exc))
        if "share_to_homeless" not in self.spec and self.rule_name is None:
            self.error("", "an allocation policy needs 'share_to_homeless' or 'rule'")


class PathwayDoctrineSettings(PolicySettings):
    """The settings of :class:`lda_sim.engine.policies.PathwayDoctrine`, checked at load time."""

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
            self.ready[t.index] = law_at(law, self.file, f"{self.where}.ready_after.{key}")
        self.doctrine = self.spec.get("doctrine", "")


#: The settings of the built-in policy types, by the name a scenario gives in ``type``.
SETTINGS_TYPES: dict[str, type[PolicySettings]] = {
    cls.type_name: cls for cls in (
        ProductionSettings, IMLCaptureSettings, TransformationSettings, CapacityChangeSettings, SeasonalCapacitySettings,
        InflowProjectionSettings, PreventionSettings, SupportSettings, AllocationSettings, PathwayDoctrineSettings,
    )
}

#: The class your own policies subclass (by name: the configuration does not import the engine).
POLICY_BASE = "lda_sim.engine.policies.Policy"


def build_settings(spec: dict[str, Any], *, file: str, where: str, pathway: Pathway, territories: list[str], start: np.datetime64) -> PolicySettings:
    """A policy's settings from its configuration: a built-in type, or ``module:Class``, a subclass
    of :class:`lda_sim.engine.policies.Policy` (checked by its ancestry's names)."""
    kind = spec["type"]
    cls = SETTINGS_TYPES.get(kind)
    if cls is None:
        if ":" not in kind:
            raise ConfigError(file, f"{where}.type", f"unknown policy type {kind!r} (built-in: {', '.join(SETTINGS_TYPES)}; or 'module:Class')")
        try:
            cls = import_object(kind, "policy")
        except ValueError as exc:
            raise ConfigError(file, f"{where}.type", str(exc)) from None
        names = {f"{c.__module__}.{c.__qualname__}" for c in getattr(cls, "__mro__", ())}
        if not (isinstance(cls, type) and issubclass(cls, PolicySettings) and POLICY_BASE in names):
            raise ConfigError(file, f"{where}.type", f"{kind!r} is not a subclass of {POLICY_BASE}")
    if "start" not in spec:
        raise ConfigError(file, f"{where}.start", "missing required key 'start'")
    return cls(spec, file=file, where=where, pathway=pathway, territories=territories, start=start)
