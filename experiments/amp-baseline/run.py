"""Aix-Marseille-Provence baseline across seeds.

Where do the street, shelter and housing stocks of Aix-Marseille-Provence go in ten years if
nothing changes, and how much do they vary between seeds? Runs the bundled baseline scenario
(Aix-Marseille-Provence with Lyon beside it) once per seed 1..N, saves each dataset as
``baseline_seed<N>.nc``, writes ``summary.csv`` (one row per seed and territory: the columns of
:func:`lda_sim.analysis.indicators.summary_table`, the persons in housing at the horizon and the median wait
for social housing) and prints the median, minimum and maximum of the key figures across seeds.

    python experiments/amp-baseline/run.py [--seeds 5] [--years 10] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import xarray as xr

import lda_sim
from lda_sim.analysis.indicators import persons_in, summary_table
from lda_sim.analysis.run import run_scenario
from lda_sim.config.files import write_atomic
from lda_sim.config.scenario import load_scenario
from lda_sim.dataset.output import save_dataset

HERE = Path(__file__).resolve().parent
SCENARIO = (HERE / "../../configs/scenarios/baseline.yaml").resolve()

#: Figures compared across seeds: summary column -> label.
FIGURES = {
    "street_persons_end": "street persons at the horizon",
    "sheltered_persons_end": "persons sheltered at the horizon",
    "housed_persons_end": "persons in housing at the horizon",
    "housed_per_year": "households housed per year (last 12 months)",
    "median_wait_social_housing_days": "median wait for social housing (days)",
    "median_wait_housing_days": "median wait for any housing (days)",
}


def summarise(ds: xr.Dataset, seed: int) -> pd.DataFrame:
    """The summary table of one run, with its seed, the persons housed and the social-housing wait."""
    table = summary_table(ds)  # over the last 12 months; the stocks at the horizon beside it
    table["street_persons_end"] = persons_in(ds, "street").isel(time=-1).sel(territory=table.index).values
    table["sheltered_persons_end"] = persons_in(ds, "shelter").isel(time=-1).sel(territory=table.index).values
    table["housed_persons_end"] = persons_in(ds, "housing").isel(time=-1).sel(territory=table.index).values
    table["median_wait_social_housing_days"] = (
        ds.wait_days_run.sel(state="social_housing", statistic="median").sel(territory=table.index).values
    )
    return table.reset_index().assign(seed=seed).set_index(["seed", "territory_id"])


def across_seeds(summary: pd.DataFrame) -> pd.DataFrame:
    """Median, minimum and maximum of each figure across seeds, per territory."""
    long = summary.set_index("territory", append=True)[list(FIGURES)].rename(columns=FIGURES)
    long = long.rename_axis(columns="figure").stack().rename("value").reset_index()
    stats = long.groupby(["territory", "figure"], sort=False)["value"].agg(["median", "min", "max"])
    return stats.round(0).astype("Int64")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds, run as 1..N (default 5)")
    parser.add_argument("--years", type=float, default=None, help="horizon in years (default: the scenario's, 10)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="output folder (default: results/ here)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")

    scenario = load_scenario(SCENARIO, years=args.years)
    tables = []
    for seed in range(1, args.seeds + 1):
        ds = run_scenario(scenario, seed=seed)
        save_dataset(ds, args.out / f"baseline_seed{seed}.nc")
        tables.append(summarise(ds, seed))
        print(f"seed {seed}: {ds.attrs['events']:,} events", flush=True)
    summary = pd.concat(tables)
    csv = write_atomic(args.out / "summary.csv", lambda tmp: summary.to_csv(tmp))

    print(f"\n{scenario.name}, {scenario.years:g}-year horizon, seeds 1-{args.seeds}, lda_sim {lda_sim.__version__}")
    print(across_seeds(summary).to_string())
    print(f"\nwrote {csv} and {args.seeds} datasets in {args.out}")


if __name__ == "__main__":
    main()
