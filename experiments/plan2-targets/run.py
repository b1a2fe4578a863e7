"""The second Logement d'abord plan's targets in Aix-Marseille-Provence and Lyon.

What do the second plan's national targets (10,000 pension de famille places and 30,000 IML places
over 2023-2027, scaled to each territory by its share of the national social stock) change by the
horizon? Runs the bundled ``baseline`` and ``plan2`` scenarios of ``configs/scenarios/``, both
territories (plan2 has policies for each, so it cannot be restricted to one), for N replicates
with common random numbers (replicate i uses the same seed in both scenarios), on Dask. Reports,
per indicator, the median and the 10-90% band over replicates of each scenario and of the
difference plan2 - baseline.

    python experiments/plan2-targets/run.py [--replicates 5] [--years 5] [--workers 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import xarray as xr

import lda_sim
from lda_sim.analysis import housed_flow, persons_in, total_cost
from lda_sim.ensemble import combine, plan_runs, run_ensemble, run_to_file
from lda_sim.output import save_dataset, write_atomic

HERE = Path(__file__).resolve().parent
SCENARIOS = [HERE.parent.parent / "configs" / "scenarios" / f"{name}.yaml" for name in ("baseline", "plan2")]
#: (label, scenario, reference): differences computed replicate by replicate.
CONTRASTS = [("plan2 - baseline", "plan2", "baseline")]
ROOT_SEED = 20250101
IML = ("iml_sublease", "iml_mandate")
#: Indicator -> label, in the order of the report.
LABELS = {
    "street_persons_end": "persons on the street at the horizon",
    "street_persons_last_year": "persons on the street, mean of the last 12 month-ends",
    "sheltered_persons_end": "persons sheltered at the horizon",
    "housed_per_year": "households housed per year (from street or shelter)",
    "median_time_to_housing_days": "median time from entry to a first home (days)",
    "p90_time_to_housing_days": "90th percentile of the time to a first home (days)",
    "median_wait_housing_days": "median wait on a housing list (days)",
    "pension_de_famille_units_end": "pension de famille units at the horizon",
    "iml_sublease_units_end": "IML sublease units at the horizon",
    "iml_mandate_units_end": "IML management-mandate units at the horizon",
    "housed_in_plan_states_per_year": "households entering pension de famille or IML per year",
    "total_cost_meur": "total cost over the run (EUR m)",
}


def indicators(ds: xr.Dataset) -> xr.Dataset:
    """The indicators of :data:`LABELS`, by scenario, replicate and territory."""
    street = persons_in(ds, "street")
    return xr.Dataset(
        {
            "street_persons_end": street.isel(time=-1),
            "street_persons_last_year": street.isel(time=slice(-12, None)).mean("time"),
            "sheltered_persons_end": persons_in(ds, "shelter").isel(time=-1),
            "housed_per_year": housed_flow(ds).sum("time") / (ds.sizes["time"] / 12),
            "median_time_to_housing_days": ds.time_to_housing_run.sel(statistic="median", drop=True),
            "p90_time_to_housing_days": ds.time_to_housing_run.sel(statistic="p90", drop=True),
            "median_wait_housing_days": ds.wait_days_by_kind.sel(state_group="housing", statistic="median", drop=True),
            "pension_de_famille_units_end": ds.capacity.sel(state="pension_de_famille", drop=True).isel(time=-1),
            "iml_sublease_units_end": ds.capacity.sel(state="iml_sublease", drop=True).isel(time=-1),
            "iml_mandate_units_end": ds.capacity.sel(state="iml_mandate", drop=True).isel(time=-1),
            "housed_in_plan_states_per_year": ds.served.sel(state=["pension_de_famille", *IML]).sum(["state", "time"]) / (ds.sizes["time"] / 12),
            "total_cost_meur": total_cost(ds).sum("time") / 1e6,
        }
    )


def bands(values: xr.Dataset) -> pd.DataFrame:
    """Median and 10th-90th percentiles over replicates, one row per indicator and territory."""
    q = values.quantile([0.1, 0.5, 0.9], dim="replicate").assign_coords(quantile=["p10", "median", "p90"])
    table = q.to_dataframe().drop(columns=[c for c in ("scenario_description",) if c in q.coords], errors="ignore")
    table = table[list(LABELS)].rename_axis(columns="indicator").stack().unstack("quantile")
    return table[["median", "p10", "p90"]]


def summarise(ds: xr.Dataset) -> pd.DataFrame:
    """Each scenario and each contrast: median and 10-90% band over replicates, per territory and indicator."""
    values = indicators(ds)
    pieces = []
    for scenario in values.scenario.values:
        pieces.append(bands(values.sel(scenario=scenario, drop=True)).assign(what=str(scenario)))
    for label, scenario, reference in CONTRASTS:
        diff = values.sel(scenario=scenario, drop=True) - values.sel(scenario=reference, drop=True)
        pieces.append(bands(diff).assign(what=label))
    out = pd.concat(pieces).reset_index()
    return out[["territory", "what", "indicator", "median", "p10", "p90"]]


def format_summary(summary: pd.DataFrame) -> str:
    """One block per territory: indicators by row, scenarios and contrasts by column, 'median [p10, p90]'."""
    def number(value: float) -> str:
        return "n/a" if pd.isna(value) else f"{int(round(value)):,}"  # no "-0"

    def cell(row: pd.Series) -> str:
        return f"{number(row['median'])} [{number(row['p10'])}, {number(row['p90'])}]"

    blocks = []
    for territory, part in summary.groupby("territory", sort=False):
        wide = part.assign(cell=part.apply(cell, axis=1)).pivot(index="indicator", columns="what", values="cell")
        wide = wide.reindex(index=list(LABELS), columns=list(dict.fromkeys(part["what"])))
        wide.index = [LABELS[i] for i in wide.index]
        blocks.append(f"{territory}\n{wide.to_string()}")
    return "\n\n".join(blocks)


def run(specs: list, run_dir: Path, workers: int) -> xr.Dataset:
    """The runs combined into one dataset (``scenario`` and ``replicate`` dimensions): on a local
    Dask cluster, or one after the other in this process with ``workers=0``."""
    if workers == 0:
        files = {spec.key: Path(run_to_file(spec, str(run_dir / f"{spec.key}.nc"))) for spec in specs}
        ds = combine(specs, files).load()
        for path in files.values():
            path.unlink()
        return ds
    result = run_ensemble(specs, run_dir, workers=workers, progress=False)
    if result.failures or result.dataset is None:
        raise SystemExit(f"{len(result.failures)} run(s) failed: {result.failures[:1]}")
    return result.dataset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=5, help="replicates per scenario (default 5)")
    parser.add_argument("--years", type=float, default=5, help="horizon in years (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (default 2; 0: in this process, without Dask); results do not depend on it")
    parser.add_argument("--seed", type=int, default=ROOT_SEED, help=f"root seed of the replicates (default {ROOT_SEED})")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="output folder (default: results/ here, git-ignored)")
    args = parser.parse_args(argv)
    if args.replicates < 1:
        parser.error("--replicates must be at least 1 (the bands need several)")
    if args.workers < 0:
        parser.error("--workers must be 0 (in this process) or more")

    started = time.perf_counter()
    specs = plan_runs([str(p) for p in SCENARIOS], seed=args.seed, replicates=args.replicates, years=args.years)
    ds = run(specs, args.out / "runs", args.workers)
    summary = summarise(ds)
    save_dataset(ds, args.out / "ensemble.nc")
    csv = write_atomic(args.out / "summary.csv", lambda tmp: summary.to_csv(tmp, index=False, float_format="%.6g"))
    elapsed = time.perf_counter() - started

    print(f"{len(specs)} runs ({len(SCENARIOS)} scenarios x {args.replicates} replicates x {args.years:g} years), "
          f"root seed {args.seed}, lda_sim {lda_sim.__version__}, {elapsed:.0f} s "
          f"{'in one process' if args.workers == 0 else f'on {args.workers} worker(s)'}")
    print("median [10th, 90th percentile] over replicates\n")
    print(format_summary(summary))
    print(f"\nwrote {csv} and {args.out / 'ensemble.nc'}")


if __name__ == "__main__":
    main()
