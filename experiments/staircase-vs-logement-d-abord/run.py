"""Staircase versus Logement d'abord in Aix-Marseille-Provence.

Does housing people directly from the street and the shelters (Logement d'abord) rather than
through the staircase of shelter -> insertion shelter -> adapted housing -> housing change how many
people are on the street, how long it takes to get a home, and what it costs? Runs the bundled
``baseline``, ``staircase`` and ``logement-d-abord`` scenarios, restricted to Aix-Marseille-Provence
(``scenarios/*.yaml`` here extend those of ``configs/scenarios/``), for N replicates with common
random numbers (replicate i uses the same seed in every scenario), on Dask. Reports, per indicator,
the median and the 10-90% band over replicates of each scenario and of the differences
staircase - baseline, Logement d'abord - baseline and Logement d'abord - staircase.

    python experiments/staircase-vs-logement-d-abord/run.py [--replicates 5] [--years 5] [--workers 2] [--out DIR]
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from lda_sim.analysis.experiment import COMMON_LABELS, Experiment, common_indicators, main
from lda_sim.analysis.indicators import total_cost

HERE = Path(__file__).resolve().parent
SCENARIOS = [HERE / "scenarios" / f"{name}.yaml" for name in ("baseline", "staircase", "logement-d-abord")]
#: (label, scenario, reference): differences computed replicate by replicate.
CONTRASTS = [
    ("staircase - baseline", "staircase", "baseline"),
    ("logement-d-abord - baseline", "logement-d-abord", "baseline"),
    ("logement-d-abord - staircase", "logement-d-abord", "staircase"),
]
ROOT_SEED = 20250101
#: Indicator -> label, in the order of the report.
LABELS = {
    **COMMON_LABELS,
    "median_wait_housing_days": "median wait on a housing list, households served (days)",
    "waiting_social_housing_end": "households on the social housing list at the horizon",
    "in_insertion_shelter_end": "persons in insertion shelters (CHRS) at the horizon",
    "total_cost_meur": "total cost over the run (EUR m)",
}


def indicators(ds: xr.Dataset) -> xr.Dataset:
    """The indicators of :data:`LABELS`, by scenario, replicate and territory."""
    return xr.Dataset(
        {
            **common_indicators(ds),
            "median_wait_housing_days": ds.wait_days_by_kind.sel(state_group="housing", statistic="median", drop=True),
            "waiting_social_housing_end": ds.queue_length.sel(state="social_housing", drop=True).isel(time=-1),
            "in_insertion_shelter_end": ds.occupancy_persons.sel(state="insertion_shelter", drop=True).isel(time=-1),
            "total_cost_meur": total_cost(ds).sum("time") / 1e6,
        }
    )


EXPERIMENT = Experiment(__doc__, HERE, SCENARIOS, CONTRASTS, LABELS, indicators, ROOT_SEED)


if __name__ == "__main__":
    main(EXPERIMENT)
