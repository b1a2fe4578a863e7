"""Scenario-contrast experiments: scenarios x replicates with common random numbers, indicators
summarised by their median and 10-90% band over replicates, for each scenario and for each
difference between scenarios (computed replicate by replicate).

An experiment script (see ``experiments/*/run.py``) describes an :class:`Experiment` and calls
:func:`main`, which gives it a command line (``--replicates``, ``--years``, ``--workers``,
``--seed``, ``--out``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xarray as xr

from .. import __version__
from ..config.files import write_atomic
from ..dataset.output import save_dataset
from .ensemble import combine, plan_runs, run_ensemble, run_to_file
from .indicators import housed_flow, persons_in

#: Indicators every experiment reports first: name -> label.
COMMON_LABELS = {
    "street_persons_end": "persons on the street at the horizon",
    "street_persons_last_year": "persons on the street, mean of the last 12 month-ends",
    "sheltered_persons_end": "persons sheltered at the horizon",
    "housed_per_year": "households housed per year (from street or shelter)",
    "median_time_to_housing_days": "median time from entry to a first home (days)",
    "p90_time_to_housing_days": "90th percentile of the time to a first home (days)",
}


def common_indicators(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """The indicators of :data:`COMMON_LABELS`, by scenario, replicate and territory."""
    street = persons_in(ds, "street")
    return {
        "street_persons_end": street.isel(time=-1),
        "street_persons_last_year": street.isel(time=slice(-12, None)).mean("time"),
        "sheltered_persons_end": persons_in(ds, "shelter").isel(time=-1),
        "housed_per_year": housed_flow(ds).sum("time") / (ds.sizes["time"] / 12),
        "median_time_to_housing_days": ds.time_to_housing_run.sel(statistic="median", drop=True),
        "p90_time_to_housing_days": ds.time_to_housing_run.sel(statistic="p90", drop=True),
    }


@dataclass(frozen=True)
class Experiment:
    """Scenarios to run, contrasts to compute and indicators to report."""

    doc: str  # the script's docstring: its first paragraph is the command's description
    folder: Path  # the experiment's folder (results go to ``results/`` there by default)
    scenarios: list[Path]
    contrasts: list[tuple[str, str, str]]  # (label, scenario, reference)
    labels: dict[str, str]  # indicator -> label, in the order of the report
    indicators: Callable[[xr.Dataset], xr.Dataset]  # by scenario, replicate and territory
    seed: int = 20250101


def bands(values: xr.Dataset, labels: dict[str, str]) -> pd.DataFrame:
    """Median and 10th-90th percentiles over replicates, one row per indicator and territory."""
    q = values.quantile([0.1, 0.5, 0.9], dim="replicate").assign_coords(quantile=["p10", "median", "p90"])
    table = q.to_dataframe().drop(columns=[c for c in ("scenario_description",) if c in q.coords], errors="ignore")
    table = table[list(labels)].rename_axis(columns="indicator").stack().unstack("quantile")
    return table[["median", "p10", "p90"]]


def summarise(ds: xr.Dataset, experiment: Experiment) -> pd.DataFrame:
    """Each scenario and each contrast: median and 10-90% band over replicates, per territory and indicator."""
    values = experiment.indicators(ds)
    labels = experiment.labels
    pieces = []
    for scenario in values.scenario.values:
        pieces.append(bands(values.sel(scenario=scenario, drop=True), labels).assign(what=str(scenario)))
    for label, scenario, reference in experiment.contrasts:
        diff = values.sel(scenario=scenario, drop=True) - values.sel(scenario=reference, drop=True)
        pieces.append(bands(diff, labels).assign(what=label))
    out = pd.concat(pieces).reset_index()
    return out[["territory", "what", "indicator", "median", "p10", "p90"]]


def format_summary(summary: pd.DataFrame, labels: dict[str, str]) -> str:
    """One block per territory: indicators by row, scenarios and contrasts by column, 'median [p10, p90]'."""
    def number(value: float) -> str:
        return "n/a" if pd.isna(value) else f"{int(round(value)):,}"  # no "-0"

    def cell(row: pd.Series) -> str:
        return f"{number(row['median'])} [{number(row['p10'])}, {number(row['p90'])}]"

    blocks = []
    for territory, part in summary.groupby("territory", sort=False):
        wide = part.assign(cell=part.apply(cell, axis=1)).pivot(index="indicator", columns="what", values="cell")
        wide = wide.reindex(index=list(labels), columns=list(dict.fromkeys(part["what"])))
        wide.index = [labels[i] for i in wide.index]
        blocks.append(f"{territory}\n{wide.to_string()}")
    return "\n\n".join(blocks)


def run(specs: list, run_dir: Path, workers: int) -> xr.Dataset:
    """The runs combined into one dataset (``scenario`` and ``replicate`` dimensions): on a local
    Dask cluster, or one after the other in this process with ``workers=0``."""
    if workers == 0:
        files = {spec.key: Path(run_to_file(spec, str(run_dir / f"{spec.key}.nc"))) for spec in specs}
        combined = combine(specs, files)
        if combined is None:
            raise SystemExit("no run finished")
        ds = combined.load()
        for path in files.values():
            path.unlink()
        return ds
    result = run_ensemble(specs, run_dir, workers=workers, progress=False)
    if result.failures or result.dataset is None:
        raise SystemExit(f"{len(result.failures)} run(s) failed: {result.failures[:1]}")
    return result.dataset


def main(experiment: Experiment, argv: list[str] | None = None) -> None:
    """The command line of an experiment script: run, summarise, write ``ensemble.nc`` and ``summary.csv``."""
    parser = argparse.ArgumentParser(description=experiment.doc.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=5, help="replicates per scenario (default 5)")
    parser.add_argument("--years", type=float, default=None, help="horizon in years (default 5)")
    parser.add_argument("--until", default=None, metavar="YYYY-MM", help="last month of the runs, instead of --years")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (default 2; 0: in this process, without Dask); results do not depend on it")
    parser.add_argument("--seed", type=int, default=experiment.seed, help=f"root seed of the replicates (default {experiment.seed})")
    parser.add_argument("--out", type=Path, default=experiment.folder / "results", help="output folder (default: results/ here, git-ignored)")
    args = parser.parse_args(argv)
    if args.replicates < 1:
        parser.error("--replicates must be at least 1 (the bands need several)")
    if args.workers < 0:
        parser.error("--workers must be 0 (in this process) or more")

    if args.years is not None and args.until is not None:
        parser.error("give the horizon as --years or --until, not both")
    if args.until is not None:
        from ..config.errors import ConfigError
        from ..config.scenario import load_scenario

        try:
            args.years = load_scenario(experiment.scenarios[0], until=args.until).years
        except ConfigError as exc:
            parser.error(str(exc))
    args.years = 5.0 if args.years is None else args.years

    started = time.perf_counter()
    specs = plan_runs([str(p) for p in experiment.scenarios], seed=args.seed, replicates=args.replicates, years=args.years)
    ds = run(specs, args.out / "runs", args.workers)
    summary = summarise(ds, experiment)
    save_dataset(ds, args.out / "ensemble.nc")
    csv = write_atomic(args.out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False, float_format="%.6g"))
    elapsed = time.perf_counter() - started

    print(f"{len(specs)} runs ({len(experiment.scenarios)} scenarios x {args.replicates} replicates x {args.years:g} years), "
          f"root seed {args.seed}, lda_sim {__version__}, {elapsed:.0f} s "
          f"{'in one process' if args.workers == 0 else f'on {args.workers} worker(s)'}")
    print("median [10th, 90th percentile] over replicates\n")
    print(format_summary(summary, experiment.labels))
    print(f"\nwrote {csv} and {args.out / 'ensemble.nc'}")


