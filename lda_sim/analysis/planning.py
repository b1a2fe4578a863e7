"""Inverse planning: the least-cost lever values for which a target holds with a given probability.

``plan(scenario, target, levers, confidence=0.8, replicates=N)`` answers "how many places do we
need so that the street is at most 50 persons by 2030-12 with 80 % certainty?".

Method
------
* **Probability of meeting the target.** A candidate (one value per lever, set by path like a
  sweep's ``PATH=value``) is run with the same ``N`` replicate seeds as every other candidate
  (common random numbers, seeds from :func:`lda_sim.analysis.ensemble.replicate_seeds`), each run only up
  to the target's last month; ``p`` is the share of replicates in which the target holds, with a
  Wilson score interval (95 %). A candidate is accepted when ``p >= confidence``.
* **One lever: stochastic bisection.** With common random numbers the estimated probability is a
  (nearly) monotone step function of the lever, so bisection on it finds the smallest value whose
  estimate reaches the confidence, to one unit for integer levers (``LOW`` and ``HIGH`` written
  without a decimal point) or 1/100 of the range otherwise. The bracket is first narrowed around
  the **mean-field seed**: the smallest value for which the deterministic approximation
  (:mod:`lda_sim.analysis.meanfield`) meets the target (for ``free:STATE >= 1`` targets, for which the
  probability is ``1 - Erlang C`` at the mean-field offered load); from it the search steps
  outwards, doubling its step, until the target's status flips, then bisects.
* **Several levers: cost-weighted bisection along budget mixes.** Each lever has a cost per unit
  and year (from the territory file's ``costs`` of the state the lever sizes, assuming full
  occupancy, or given with ``--cost PATH=EUR``). For every mix of budget shares on a simplex grid
  (step 1/4 for two levers, 1/3 for three, 1/2 beyond), the levers are raised from ``LOW`` along
  that mix (``x_i = LOW_i + t * w_i * B / c_i``, clipped at ``HIGH_i``, ``B`` the cost of raising
  every lever to ``HIGH``), and the smallest ``t`` meeting the confidence is found by the
  bisection above; the cheapest of the mixes' answers is the plan. The grid is the resolution of
  the answer: a cheaper mix between two grid points may exist.
* **Cost** of a candidate: the sum over levers of the lever's value times its cost per unit-year
  (euros a year of the capacity the levers fund).

The result lists every candidate run (lever values, probability and interval, cost, the indicator
across replicates and its mean-field value), the answer and the number of runs it took; it is saved
as a dataset that ``lda-sim compare`` reads, and drawn by :func:`plot_plan`.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..config.errors import ConfigError
from ..config.scenario import Scenario, load_scenario
from .targets import Indicator, Target

Z95 = 1.959963984540054


class PlanError(ValueError):
    """A plan that cannot be set up (bad lever, missing cost, target out of the horizon)."""


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95 % by default)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


@dataclass(frozen=True)
class Lever:
    """A parameter the plan may set, between ``low`` and ``high``, with its cost per unit and year."""

    path: str
    low: float
    high: float
    integer: bool
    unit_cost: float | None = None  # EUR per unit and year
    cost_note: str = ""

    @classmethod
    def parse(cls, text: str) -> Lever:
        path, sep, spec = text.rpartition("=")
        match = re.fullmatch(rf"\s*({_NUMBER})\s*:\s*({_NUMBER})\s*", spec)
        if not sep or not path or not match:
            raise PlanError(f"--lever {text!r}: expected PATH=LOW:HIGH")
        low, high = float(match[1]), float(match[2])
        if not low < high:
            raise PlanError(f"--lever {text!r}: LOW must be below HIGH")
        integer = all(re.fullmatch(r"[-+]?\d+", g) for g in (match[1], match[2]))
        return cls(path.strip(), low, high, integer)

    def value(self, x: float) -> float | int:
        """``x`` clipped to the range, rounded up to an integer for integer levers."""
        x = min(max(x, self.low), self.high)
        return int(math.ceil(x - 1e-9)) if self.integer else float(x)


def _mean_persons(scenario: Scenario, territory) -> float:
    kinds = territory.population.kinds
    total = 0.0
    for name in kinds.names:
        kind = scenario.pathway.kinds[name]
        shares = np.diff((0.0, *kind.cumulative))
        total += kinds.share(name) * float(np.dot(kind.persons, shares))
    return total


def price_lever(scenario: Scenario, path: str) -> tuple[float | None, str]:
    """The cost per unit and year of a lever that sizes a state's places or units, from the
    territory file's ``costs`` (full occupancy assumed); ``(None, reason)`` for other levers."""
    match = re.fullmatch(r"territory\.([^.]+)\.states\.([^.]+)\.(places|units)(?:\.value)?(?:\.[^.]+)?", path)
    if not match:
        return None, "not a state's places or units: give its cost with --cost PATH=EUR"
    territory_name, state_name, what = match.groups()
    try:
        territory = scenario.territory(territory_name)
    except KeyError:
        return None, f"unknown territory {territory_name!r}"
    index = scenario.pathway.state_index.get(state_name)
    if index is None or index not in territory.costs:
        return None, f"{territory.file} gives no cost for {state_name!r}: give it with --cost PATH=EUR"
    basis, per_day = territory.costs[index]
    per_year = per_day * 365.25
    persons = _mean_persons(scenario, territory)
    if basis == "capacity":
        return per_year, f"{per_year:,.0f} EUR per {'place' if what == 'places' else 'unit'} and year ({territory.file})"
    if what == "places":  # a place holds a person
        factor = 1.0 if basis == "persons" else 1 / persons
    else:  # a unit holds a household
        factor = persons if basis == "persons" else 1.0
    cost = per_year * factor
    unit = "place" if what == "places" else "unit"
    return cost, f"{cost:,.0f} EUR per {unit} and year: {per_year:,.0f} EUR per {basis[:-1]}-year x {factor:.2f} {basis} per {unit}, full ({territory.file})"


@dataclass
class Evaluation:
    """One candidate: lever values, the indicator in each replicate and the probability of the target."""

    values: tuple[float, ...]
    indicator: np.ndarray
    successes: int
    cost: float | None
    meanfield: float = float("nan")
    mix: int = -1  # budget mix of a multi-lever search (-1: one lever)

    @property
    def n(self) -> int:
        return int(len(self.indicator))

    @property
    def probability(self) -> float:
        return self.successes / self.n if self.n else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.successes, self.n)


def evaluate_run(scenario: str, seed: int, years: float, overrides: dict[str, Any], indicator: str) -> float:
    """Run one replicate of a candidate and return the indicator (top level, for Dask workers)."""
    from ..dataset.trajectories import trajectory_table
    from ..engine.model import HousingModel

    ind = Indicator.parse(indicator)
    sc = load_scenario(scenario, years=years, seed=seed, overrides=overrides)
    model = HousingModel(sc, trajectories=ind.needs_trajectories)
    ds = model.run()
    moves = trajectory_table(model) if ind.needs_trajectories else None
    return float(ind.value(ds, moves))


def _indicator_text(ind: Indicator) -> str:
    where = f" in {ind.territory}" if ind.territory else ""
    return f"{ind.name}{where} over {ind.first}:{ind.last}"


class Evaluator:
    """Runs candidates (all replicates, common random numbers) in this process or on Dask, caching them."""

    def __init__(self, scenario: str, target: Target, levers: Sequence[Lever], *, replicates: int, seed: int, years: float,
                 workers: int | None = None, scheduler: str | None = None, log: Callable[[str], None] | None = None) -> None:
        from .ensemble import replicate_seeds

        self.scenario, self.target, self.levers = scenario, target, list(levers)
        self.seeds = replicate_seeds(seed, replicates)
        self.years = years
        self.log = log or (lambda message: None)
        self.cache: dict[tuple[float, ...], Evaluation] = {}
        self.order: list[Evaluation] = []
        self.runs = 0
        self.client: Any = None
        self._client_context: Any = None
        if workers or scheduler:
            from .ensemble import dask_client

            self._client_context = dask_client(workers, scheduler)
            self.client = self._client_context.__enter__()

    def close(self) -> None:
        if self._client_context is not None:
            self._client_context.__exit__(None, None, None)
            self._client_context = None
            self.client = None

    def cost(self, values: Sequence[float]) -> float | None:
        if any(lv.unit_cost is None for lv in self.levers):
            return None
        return float(sum(v * (lv.unit_cost or 0.0) for v, lv in zip(values, self.levers)))

    def __call__(self, values: Sequence[float], *, meanfield: float = float("nan"), mix: int = -1) -> Evaluation:
        values = tuple(lv.value(v) for lv, v in zip(self.levers, values))
        if values in self.cache:
            return self.cache[values]
        overrides = {lv.path: v for lv, v in zip(self.levers, values)}
        text = _indicator_text(self.target.indicator)
        if self.client is None:
            results = [evaluate_run(self.scenario, s, self.years, overrides, text) for s in self.seeds]
        else:
            futures = [self.client.submit(evaluate_run, self.scenario, s, self.years, overrides, text, pure=False) for s in self.seeds]
            results = self.client.gather(futures)
        self.runs += len(self.seeds)
        indicator = np.array(results, dtype=float)
        successes = int(sum(self.target.holds(v) for v in indicator))
        ev = Evaluation(values, indicator, successes, self.cost(values), meanfield, mix)
        self.cache[values] = ev
        self.order.append(ev)
        lo, hi = ev.interval
        shown = ", ".join(f"{lv.path}={v:g}" for lv, v in zip(self.levers, values))
        self.log(f"  {shown}: P(target) = {ev.probability:.2f} [{lo:.2f}, {hi:.2f}] over {ev.n} replicates")
        return ev


# --------------------------------------------------------------------------------------------
# Mean-field seed
# --------------------------------------------------------------------------------------------
def meanfield_indicator(ind: Indicator, mf: xr.Dataset) -> tuple[float, float | None]:
    """The indicator in a mean-field dataset, and for ``free:STATE`` the probability of at least one
    free place or unit (``1 - Erlang C``). NaN where the mean-field has no counterpart."""
    window = ind._window(mf)
    part = mf.sel(territory=ind.territory) if ind.territory else mf.isel(territory=0)
    part = part.isel(time=window)
    base, _, state = ind.name.partition(":")
    kinds = {"street": "street", "sheltered": "shelter", "housed": "housing"}
    if base in kinds:
        states = [str(s) for s, k in zip(part.state.values, part.state_kind.values) if k == kinds[base]]
        return float(part.occupancy_persons.sel(state=states).sum("state").mean("time")), None
    if base == "persons":
        return float(part.occupancy_persons.sel(state=state).mean("time")), None
    if base == "queue":
        return float(part.queue_length.sel(state=state).mean("time")), None
    if base == "free":
        kind = str(part.state_kind.sel(state=state).values)
        held = part.occupancy_persons if kind == "shelter" else part.occupancy
        free = float((part.capacity.sel(state=state) - held.sel(state=state)).mean("time"))
        p_wait = float(part.wait_probability.sel(state=state).mean("time"))
        return free, (1 - p_wait) if np.isfinite(p_wait) else None
    if base in ("median_wait", "p90_wait"):
        states = [str(s) for s, k in zip(part.state.values, part.state_kind.values) if k == "housing"]
        waits = part.mean_wait_days.sel(state=states)
        flows = part.queue_length.sel(state=states)  # weights: the households waiting
        total = float(flows.sum())
        return (float((waits.fillna(0) * flows).sum() / total) if total > 0 else float("nan")), None
    return float("nan"), None


def meanfield_holds(target: Target, scenario: str, overrides: dict[str, Any], years: float, confidence: float) -> tuple[float, bool | None]:
    """The mean-field indicator and whether it meets the target (None if it cannot tell); cached."""
    return _meanfield_holds(target, scenario, tuple(sorted(overrides.items())), years, confidence)


@functools.lru_cache(maxsize=512)
def _meanfield_holds(target: Target, scenario: str, overrides: tuple[tuple[str, Any], ...], years: float, confidence: float) -> tuple[float, bool | None]:
    from .meanfield import meanfield

    sc = load_scenario(scenario, years=years, overrides=dict(overrides))
    value, probability = meanfield_indicator(target.indicator, meanfield(sc))
    if probability is not None and target.indicator.name.startswith("free:") and target.op in (">=", ">") and target.threshold <= 1:
        want = 1 if target.op == ">=" else 0
        return value, bool(probability >= confidence) if target.threshold <= want else None
    if not np.isfinite(value):
        return value, None
    return value, target.holds(value)


# --------------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------------
@dataclass
class PlanResult:
    """The answer of a plan and every candidate evaluated."""

    target: Target
    levers: list[Lever]
    confidence: float
    replicates: int
    seeds: list[int]
    evaluations: list[Evaluation]
    answer: Evaluation | None
    runs: int
    seconds: float
    scenario: str
    method: str
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"Target: {self.target.text}, with probability >= {self.confidence:g} over {self.replicates} replicates (common random numbers)"]
        lines.append(f"Method: {self.method}")
        for lv in self.levers:
            lines.append(f"  lever {lv.path} in [{lv.low:g}, {lv.high:g}]{' (integer)' if lv.integer else ''}: "
                         + (lv.cost_note or "no cost"))
        if self.answer is None:
            lines.append("No answer: the target is not met with that probability at the top of the lever ranges.")
        else:
            a = self.answer
            lo, hi = a.interval
            lines.append("Answer: " + ", ".join(f"{lv.path} = {v:g}" for lv, v in zip(self.levers, a.values)))
            lines.append(f"  P(target met) = {a.probability:.3f} (95% Wilson interval {lo:.3f}-{hi:.3f}, {a.successes}/{a.n} replicates)")
            q10, q50, q90 = np.nanquantile(a.indicator, [0.1, 0.5, 0.9]) if np.isfinite(a.indicator).any() else (np.nan,) * 3
            lines.append(f"  {self.target.indicator.describe()}: median {q50:,.1f} [10-90%: {q10:,.1f}, {q90:,.1f}] across replicates"
                         + (f"; mean-field {a.meanfield:,.1f}" if np.isfinite(a.meanfield) else ""))
            lines.append(f"  cost: {a.cost:,.0f} EUR a year" if a.cost is not None else "  cost: not priced (no cost for the lever)")
        lines.append(f"Runs: {self.runs} ({len(self.evaluations)} candidates x {self.replicates} replicates) in {self.seconds:.1f} s")
        lines.extend(self.notes)
        return "\n".join(lines)

    def to_dataset(self) -> xr.Dataset:
        """The plan as a dataset: one row per candidate (``evaluation``), replicates along ``replicate``."""
        evs = self.evaluations
        ci = np.array([e.interval for e in evs]).reshape(-1, 2)
        chosen = evs.index(self.answer) if self.answer is not None else -1
        ds = xr.Dataset(
            {
                "lever_value": (("evaluation", "lever"), np.array([e.values for e in evs], dtype=float).reshape(len(evs), len(self.levers)),
                                {"long_name": "Lever value of the candidate"}),
                "indicator": (("evaluation", "replicate"), np.array([e.indicator for e in evs]).reshape(len(evs), self.replicates),
                              {"long_name": self.target.indicator.describe()}),
                "met": (("evaluation", "replicate"), np.array([[self.target.holds(v) for v in e.indicator] for e in evs], dtype=np.int8).reshape(len(evs), self.replicates),
                        {"long_name": "Target met in the replicate (1) or not (0)"}),
                "probability": ("evaluation", np.array([e.probability for e in evs]), {"long_name": "Share of replicates meeting the target"}),
                "probability_low": ("evaluation", ci[:, 0], {"long_name": "95% Wilson interval, lower end"}),
                "probability_high": ("evaluation", ci[:, 1], {"long_name": "95% Wilson interval, upper end"}),
                "cost": ("evaluation", np.array([np.nan if e.cost is None else e.cost for e in evs]), {"units": "EUR/year", "long_name": "Cost of the lever values"}),
                "meanfield_indicator": ("evaluation", np.array([e.meanfield for e in evs]), {"long_name": "Indicator by the mean-field approximation"}),
                "mix": ("evaluation", np.array([e.mix for e in evs]), {"long_name": "Budget mix of the multi-lever search (-1: one lever)"}),
            },
            coords={
                "evaluation": np.arange(len(evs)),
                "lever": [lv.path for lv in self.levers],
                "lever_low": ("lever", [lv.low for lv in self.levers]),
                "lever_high": ("lever", [lv.high for lv in self.levers]),
                "lever_unit_cost": ("lever", [np.nan if lv.unit_cost is None else lv.unit_cost for lv in self.levers]),
                "replicate": np.arange(self.replicates),
                "replicate_seed": ("replicate", np.array(self.seeds, dtype=np.int64)),
            },
        )
        ds.attrs.update(
            lda_sim_kind="plan", target=self.target.text, confidence=self.confidence, replicates=self.replicates,
            answer=chosen, runs=self.runs, seconds=round(self.seconds, 3), scenario_file=self.scenario, method=self.method,
            notes=json.dumps(self.notes), title=f"lda_sim plan: {self.target.text}",
        )
        return ds


def _simplex(k: int) -> list[tuple[float, ...]]:
    steps = 4 if k == 2 else 3 if k == 3 else 2
    points = [c for c in itertools.product(range(steps + 1), repeat=k) if sum(c) == steps]
    return [tuple(v / steps for v in c) for c in points]


def _bisect(evaluate: Callable[[float], Evaluation], ok: Callable[[Evaluation], bool], low: float, high: float, tol: float,
            seed: float | None) -> Evaluation | None:
    """Smallest ``t`` in [low, high] whose evaluation is ok (monotone in t), to ``tol``; None if ``high`` fails."""
    lo_t, hi_t = None, None  # lo_t fails, hi_t succeeds
    hi_ev = None
    if seed is not None and low < seed < high:
        step = max(tol, (high - low) / 16)
        ev = evaluate(seed)
        if ok(ev):
            hi_t, hi_ev = seed, ev
            t = seed
            while lo_t is None:
                t = max(low, t - step)
                ev = evaluate(t)
                if ok(ev):
                    hi_t, hi_ev = t, ev
                    if t <= low:
                        return hi_ev
                    step *= 2
                else:
                    lo_t = t
        else:
            lo_t = seed
            t = seed
            while hi_t is None:
                t = min(high, t + step)
                ev = evaluate(t)
                if ok(ev):
                    hi_t, hi_ev = t, ev
                else:
                    lo_t = t
                    if t >= high:
                        return None
                    step *= 2
    else:
        ev = evaluate(high)
        if not ok(ev):
            return None
        hi_t, hi_ev = high, ev
        ev = evaluate(low)
        if ok(ev):
            return ev
        lo_t = low
    while hi_t - lo_t > tol:
        mid = (lo_t + hi_t) / 2
        ev = evaluate(mid)
        if ok(ev):
            hi_t, hi_ev = mid, ev
        else:
            lo_t = mid
    return hi_ev


def _mf_seed(holds: Callable[[float], bool | None], low: float, high: float, tol: float) -> float | None:
    """Smallest t where the mean-field meets the target, by bisection (None if it never or always does)."""
    top, bottom = holds(high), holds(low)
    if top is not True or bottom is not False:
        return None
    lo, hi = low, high
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if holds(mid):
            hi = mid
        else:
            lo = mid
    return hi


def plan(
    scenario: str | Path,
    target: str | Target,
    levers: Sequence[str | Lever],
    *,
    confidence: float = 0.8,
    replicates: int = 20,
    seed: int | None = None,
    costs: dict[str, float] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    use_meanfield: bool = True,
    log: Callable[[str], None] | None = None,
) -> PlanResult:
    """Find the least-cost lever values meeting ``target`` with probability ``confidence`` (module docstring)."""
    started = time.perf_counter()
    scenario = str(scenario)
    target = target if isinstance(target, Target) else Target.parse(target)
    parsed = [lv if isinstance(lv, Lever) else Lever.parse(lv) for lv in levers]
    if not parsed:
        raise PlanError("give at least one --lever PATH=LOW:HIGH")
    if not 0 < confidence < 1:
        raise PlanError(f"--confidence {confidence:g}: must be between 0 and 1")
    base = load_scenario(scenario)
    ind = target.indicator
    ind.check([t.name for t in base.territories], [s.name for s in base.pathway.states], base.start, base.months)
    months = ind.months_needed(base.start)
    years = months / 12
    costs = dict(costs or {})
    priced: list[Lever] = []
    for lv in parsed:
        if lv.path in costs:
            priced.append(Lever(lv.path, lv.low, lv.high, lv.integer, float(costs.pop(lv.path)), f"{costs_note(lv.path)}"))
            continue
        cost, note = price_lever(base, lv.path)
        priced.append(Lever(lv.path, lv.low, lv.high, lv.integer, cost, note if cost is not None else f"not priced: {note}"))
    if costs:
        raise PlanError(f"--cost {next(iter(costs))}: not one of the levers")
    if len(priced) > 1 and any(lv.unit_cost is None for lv in priced):
        bad = next(lv for lv in priced if lv.unit_cost is None)
        raise PlanError(f"--lever {bad.path}: {bad.cost_note}; several levers are weighed by their costs")
    for lv in priced:  # every lever must be a valid override at both ends
        for v in (lv.value(lv.low), lv.value(lv.high)):
            try:
                load_scenario(scenario, years=years, overrides={lv.path: v})
            except ConfigError as exc:
                raise PlanError(f"--lever {lv.path}={v:g}: {exc}") from None
    say = log or (lambda message: None)
    root = base.seed if seed is None else seed
    evaluator = Evaluator(scenario, target, priced, replicates=replicates, seed=root, years=years, workers=workers, scheduler=scheduler, log=say)
    notes: list[str] = []
    ok = lambda ev: ev.probability >= confidence  # noqa: E731
    try:
        if len(priced) == 1:
            lv = priced[0]
            tol = 1.0 if lv.integer else (lv.high - lv.low) / 100

            def mf(x: float) -> tuple[float, bool | None]:
                return meanfield_holds(target, scenario, {lv.path: lv.value(x)}, years, confidence)

            seed_value = None
            if use_meanfield:
                seed_value = _mf_seed(lambda x: mf(x)[1], lv.low, lv.high, tol)
                notes.append(f"Mean-field seed: {lv.path} = {lv.value(seed_value):g}" if seed_value is not None
                             else "Mean-field seed: none (the approximation meets the target at both ends of the range, or at neither)")
                if seed_value is not None:
                    say(f"mean-field seed: {lv.path} = {lv.value(seed_value):g}")
            answer = _bisect(lambda x: evaluator((x,), meanfield=mf(x)[0] if use_meanfield else float("nan")), ok, lv.low, lv.high, tol,
                             None if seed_value is None else float(lv.value(seed_value)))
            method = ("stochastic bisection on the lever with common random numbers"
                      + (", bracket seeded by the mean-field approximation" if use_meanfield else ""))
        else:
            unit_costs: list[float] = []
            for lv in priced:
                assert lv.unit_cost is not None  # checked above: several levers are all priced
                unit_costs.append(lv.unit_cost)
            budget = sum((lv.high - lv.low) * c for lv, c in zip(priced, unit_costs))
            best: Evaluation | None = None
            best_cost = math.inf
            for m, mix in enumerate(_simplex(len(priced))):
                def point(t: float, mix: tuple[float, ...] = mix) -> tuple[float, ...]:
                    return tuple(lv.low + t * w * budget / c if c > 0 else (lv.high if w > 0 else lv.low)
                                 for lv, w, c in zip(priced, mix, unit_costs))

                def mf_mix(t: float, point: Callable[[float], tuple[float, ...]] = point) -> tuple[float, bool | None]:
                    values = point(t)
                    return meanfield_holds(target, scenario, {lv.path: lv.value(v) for lv, v in zip(priced, values)}, years, confidence)

                def evaluate_mix(t: float, point: Callable[[float], tuple[float, ...]] = point,
                                 mf: Callable[[float], tuple[float, bool | None]] = mf_mix, m: int = m) -> Evaluation:
                    return evaluator(point(t), meanfield=mf(t)[0] if use_meanfield else float("nan"), mix=m)

                tol = 1 / 64
                seed_t = _mf_seed(lambda t: mf_mix(t)[1], 0.0, 1.0, tol) if use_meanfield else None
                say(f"budget mix {m}: " + ", ".join(f"{w:.0%} {lv.path}" for lv, w in zip(priced, mix)))
                found = _bisect(evaluate_mix, ok, 0.0, 1.0, tol, seed_t)
                if found is not None:
                    assert found.cost is not None  # every lever is priced
                    if best is None or found.cost < best_cost:
                        best, best_cost = found, found.cost
            answer = best
            method = (f"cost-weighted search: for each of {len(_simplex(len(priced)))} budget mixes on a simplex grid, stochastic "
                      "bisection of the budget with common random numbers"
                      + (" (brackets seeded by the mean-field approximation)" if use_meanfield else "") + "; the cheapest answer wins")
    finally:
        evaluator.close()
    return PlanResult(target, priced, confidence, replicates, evaluator.seeds, evaluator.order, answer, evaluator.runs,
                      time.perf_counter() - started, scenario, method, notes)


def costs_note(path: str) -> str:
    return f"cost given with --cost {path}"


def plot_plan(ds: xr.Dataset, *, lang: str = "en") -> Figure:
    """Probability of meeting the target against the lever (one lever) or the cost (several), with
    the 95 % intervals, the confidence asked and the answer."""
    fig = Figure(figsize=(8, 5), dpi=144, layout="constrained")
    ax = fig.subplots()
    one = ds.sizes["lever"] == 1
    if one:
        x = ds.lever_value.isel(lever=0).values
        label = str(ds.lever.values[0])
    else:
        x = ds.cost.values
        label = "coût des leviers (EUR/an)" if lang == "fr" else "cost of the levers (EUR/year)"
    order = np.argsort(x)
    p = ds.probability.values
    # clipped: at p = 1 (or 0) the Wilson bound differs from p by rounding only
    err = np.vstack([p - ds.probability_low.values, ds.probability_high.values - p]).clip(min=0)
    ax.errorbar(x[order], p[order], yerr=err[:, order], fmt="o-" if one else "o", color="#0072B2", capsize=3,
                label="simulation (95% Wilson)" if lang == "en" else "simulation (IC Wilson 95 %)")
    ax.axhline(float(ds.attrs["confidence"]), color="#D55E00", ls="--", label=("confidence asked" if lang == "en" else "confiance demandée"))
    chosen = int(ds.attrs["answer"])
    if chosen >= 0:
        ax.plot([x[chosen]], [p[chosen]], marker="*", ms=16, color="#E69F00", ls="none", label="answer" if lang == "en" else "réponse")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(label)
    ax.set_ylabel("P(cible atteinte)" if lang == "fr" else "P(target met)")
    ax.set_title(str(ds.attrs["target"]), fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, frameon=False)
    return fig
