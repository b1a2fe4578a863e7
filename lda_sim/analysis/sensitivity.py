"""Global sensitivity analysis of a scenario's indicators to its parameters, with SALib, on Dask.

Method
------
* Parameters are set by path like a sweep's ``PATH=value`` (integers if ``LOW`` and ``HIGH`` are
  written without a decimal point), each uniform on ``[LOW, HIGH]``.
* **Morris** (elementary effects, SALib's ``morris`` sampler with 4 levels and ``r`` trajectories:
  ``r (k + 1)`` runs for ``k`` parameters): ``mu*`` (mean absolute elementary effect, in the
  indicator's unit, over the parameter's whole range) with its bootstrap 95 % interval, and
  ``sigma`` (interactions or non-linearity). A screening method: it ranks, it does not apportion
  variance.
* **Sobol** (Saltelli's sampling, ``N (k + 2)`` runs, ``N`` a power of two): first-order ``S1``
  and total ``ST`` indices with their bootstrap 95 % intervals.
* Every run uses the same seed(s) (common random numbers): with ``replicates`` > 1 each sample
  point is run with that many seeds and the indicator is their mean, so that the effect of a
  parameter is not confused with the noise between seeds.
* Runs go to a Dask cluster (the ensemble module's: a local one of ``workers`` processes, or a
  scheduler address), or run in this process with ``workers=0``.

The tornado chart draws ``mu*`` (or ``ST``, with ``S1`` inside) by parameter, largest on top, with
the intervals as error bars.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..config.errors import ConfigError
from ..config.scenario import load_scenario
from .planning import Lever, PlanError
from .targets import Indicator

METHODS = ("morris", "sobol")


def _evaluate_point(scenario: str, seeds: Sequence[int], years: float, overrides: dict, indicators: Sequence[str]) -> list[float]:
    """Run one sample point with each seed; the mean of each indicator over seeds (top level, for Dask)."""
    from ..dataset.trajectories import trajectory_table
    from ..engine.model import HousingModel

    parsed = [Indicator.parse(text) for text in indicators]
    needs = any(i.needs_trajectories for i in parsed)
    values = np.zeros((len(seeds), len(parsed)))
    for r, seed in enumerate(seeds):
        model = HousingModel(load_scenario(scenario, years=years, seed=seed, overrides=overrides), trajectories=needs)
        ds = model.run()
        moves = trajectory_table(model) if needs else None
        values[r] = [float(i.value(ds, moves)) for i in parsed]
    return list(values.mean(axis=0))


@dataclass
class SensitivityResult:
    """Indices per output and parameter, the sample and the outputs."""

    method: str
    parameters: list[Lever]
    outputs: list[str]
    indices: pd.DataFrame  # one row per (output, parameter)
    sample: np.ndarray
    values: np.ndarray  # sample points x outputs
    runs: int
    seconds: float
    replicates: int

    def format(self) -> str:
        lines = [f"{self.method}: {len(self.sample)} sample points x {self.replicates} seed(s) = {self.runs} runs in {self.seconds:.0f} s; "
                 "95% bootstrap intervals"]
        for output, part in self.indices.groupby("output", sort=False):
            lines.append(f"== {output}")
            if self.method == "morris":
                part = part.sort_values("mu_star", ascending=False)
                lines.append(f"  {'parameter':60s} {'mu*':>12s} {'95% interval':>22s} {'sigma':>12s}")
                for row in part.itertuples():
                    lines.append(f"  {row.parameter:60s} {row.mu_star:12.4g} [{row.mu_star - row.mu_star_conf:9.4g}, {row.mu_star + row.mu_star_conf:9.4g}] {row.sigma:12.4g}")
            else:
                part = part.sort_values("ST", ascending=False)
                lines.append(f"  {'parameter':60s} {'S1':>8s} {'+-':>6s} {'ST':>8s} {'+-':>6s}")
                for row in part.itertuples():
                    lines.append(f"  {row.parameter:60s} {row.S1:8.3f} {row.S1_conf:6.3f} {row.ST:8.3f} {row.ST_conf:6.3f}")
        return "\n".join(lines)


def sensitivity(
    scenario: str | Path,
    parameters: Sequence[str | Lever],
    outputs: Sequence[str],
    *,
    method: str = "morris",
    trajectories: int = 4,
    base_samples: int = 64,
    replicates: int = 1,
    seed: int | None = None,
    workers: int | None = 2,
    scheduler: str | None = None,
    log: Callable[[str], None] | None = None,
    expand: Callable[[dict], dict] | None = None,
) -> SensitivityResult:
    """Sample the parameters (Morris: ``trajectories``; Sobol: ``base_samples``, a power of two),
    run the scenario at each point, and compute the indices of each output (see the module docstring).

    ``expand`` maps a point (parameter path -> value) to the overrides run, e.g. to rescale the
    other stay weights of a state when one is a parameter (weights must sum to one)."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    from .ensemble import replicate_seeds

    started = time.perf_counter()
    say = log or (lambda message: None)
    if method not in METHODS:
        raise PlanError(f"--method {method!r}: expected morris or sobol")
    params = [p if isinstance(p, Lever) else Lever.parse(p) for p in parameters]
    if len(params) < 2:
        raise PlanError("give at least two --param PATH=LOW:HIGH")
    if len({p.path for p in params}) != len(params):
        raise PlanError("a --param is given twice")
    if method == "sobol" and (base_samples < 2 or base_samples & (base_samples - 1)):
        raise PlanError(f"--samples {base_samples}: Sobol sampling needs a power of two")
    scenario = str(scenario)
    base = load_scenario(scenario)
    indicators = [Indicator.parse(o) for o in outputs]
    for ind in indicators:
        ind.check([t.name for t in base.territories], [s.name for s in base.pathway.states], base.start, base.months)
    years = max(ind.months_needed(base.start) for ind in indicators) / 12
    expand = expand or (lambda point: point)
    for p in params:
        for v in (p.value(p.low), p.value(p.high)):
            try:
                load_scenario(scenario, years=years, overrides=expand({p.path: v}))
            except ConfigError as exc:
                raise PlanError(f"--param {p.path}={v:g}: {exc}") from None
    problem = {"num_vars": len(params), "names": [p.path for p in params], "bounds": [[p.low, p.high] for p in params]}
    root = base.seed if seed is None else seed
    if method == "morris":
        sample = morris_sample.sample(problem, trajectories, num_levels=4, seed=root % (2**32))
    else:
        sample = sobol_sample.sample(problem, base_samples, calc_second_order=False, seed=root % (2**32))
    seeds = replicate_seeds(root, replicates) if replicates > 1 else [root]
    points = [expand({p.path: p.value(v) for p, v in zip(params, row)}) for row in sample]
    texts = [f"{i.name}{' in ' + i.territory if i.territory else ''} over {i.first}:{i.last}" for i in indicators]
    say(f"{method}: {len(points)} sample points x {len(seeds)} seed(s), {years:g} years each")
    if workers == 0 and not scheduler:
        values = [_evaluate_point(scenario, seeds, years, pt, texts) for pt in points]
    else:
        from distributed import as_completed

        from .ensemble import dask_client

        with dask_client(workers, scheduler) as client:
            futures = [client.submit(_evaluate_point, scenario, seeds, years, pt, texts, pure=False) for pt in points]
            done = 0
            for _ in as_completed(futures):
                done += 1
                if done % max(1, len(points) // 10) == 0:
                    say(f"  {done}/{len(points)} points")
            values = client.gather(futures)
    y = np.array(values, dtype=float)
    rows = []
    for j, output in enumerate(outputs):
        column = y[:, j]
        if not np.isfinite(column).all():
            raise PlanError(f"--output {output!r}: undefined in {int((~np.isfinite(column)).sum())} runs (e.g. nobody served in the period)")
        if method == "morris":
            si = morris_analyze.analyze(problem, sample, column, conf_level=0.95, num_levels=4, seed=root % (2**32))
            for i, p in enumerate(params):
                rows.append({"output": output, "parameter": p.path, "mu": si["mu"][i], "mu_star": si["mu_star"][i],
                             "mu_star_conf": si["mu_star_conf"][i], "sigma": si["sigma"][i]})
        else:
            si = sobol_analyze.analyze(problem, column, calc_second_order=False, conf_level=0.95, seed=root % (2**32))
            for i, p in enumerate(params):
                rows.append({"output": output, "parameter": p.path, "S1": si["S1"][i], "S1_conf": si["S1_conf"][i],
                             "ST": si["ST"][i], "ST_conf": si["ST_conf"][i]})
    return SensitivityResult(method, params, list(outputs), pd.DataFrame(rows), sample, y, len(points) * len(seeds),
                             time.perf_counter() - started, len(seeds))


def tornado(result: SensitivityResult, output: str | None = None, *, top: int = 15) -> Figure:
    """Tornado chart of one output: the parameters by ``mu*`` (Morris) or ``ST`` (Sobol, ``S1`` inside)."""
    output = output or result.outputs[0]
    part = result.indices[result.indices.output == output]
    key = "mu_star" if result.method == "morris" else "ST"
    part = part.sort_values(key, ascending=True).tail(top)
    fig = Figure(figsize=(10, 0.45 * len(part) + 1.8), dpi=144, layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(part))
    ax.barh(y, part[key], xerr=part[f"{key}_conf"], color="#0072B2", capsize=3, label="mu* (95% CI)" if key == "mu_star" else "ST (95% CI)")
    if result.method == "sobol":
        ax.barh(y, part["S1"], height=0.4, color="#E69F00", label="S1")
    ax.set_yticks(y, [p if len(p) < 70 else "…" + p[-68:] for p in part.parameter], fontsize=8)
    ax.set_xlabel("mean |elementary effect| over the range (indicator units)" if key == "mu_star" else "Sobol index")
    ax.set_title(f"{output} — {result.method}, {result.runs} runs", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=9, frameon=False, loc="lower right")
    return fig
