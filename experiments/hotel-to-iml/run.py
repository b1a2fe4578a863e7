"""Hotel places converted to IML in Aix-Marseille-Provence.

What happens to the street, the waits and the costs if 500 hotel places are turned into IML
sublease units over 2025-2026? Runs the bundled ``baseline`` and ``hotel-to-iml`` scenarios,
restricted to Aix-Marseille-Provence (``scenarios/*.yaml`` here extend those of
``configs/scenarios/``), for N replicates with common random numbers (replicate i uses the same
seed in both scenarios), on Dask. Reports, per indicator, the median and the 10-90% band over
replicates of each scenario and of the difference hotel-to-iml - baseline.

    python experiments/hotel-to-iml/run.py [--replicates 5] [--years 5] [--workers 2] [--out DIR]
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from lda_sim.analysis.experiment import COMMON_LABELS, Experiment, common_indicators, main
from lda_sim.analysis.indicators import total_cost

HERE = Path(__file__).resolve().parent
SCENARIOS = [HERE / "scenarios" / f"{name}.yaml" for name in ("baseline", "hotel-to-iml")]
#: (label, scenario, reference): differences computed replicate by replicate.
CONTRASTS = [("hotel-to-iml - baseline", "hotel-to-iml", "baseline")]
ROOT_SEED = 20250101
#: Indicator -> label, in the order of the report.
LABELS = {
    **COMMON_LABELS,
    "median_wait_housing_days": "median wait on a housing list (days)",
    "median_wait_shelter_days": "median wait for a shelter place (days)",
    "hotel_places_end": "hotel places at the horizon",
    "iml_sublease_units_end": "IML sublease units at the horizon",
    "median_wait_iml_sublease_days": "median wait for IML sublease (days)",
    "housed_in_iml_sublease_per_year": "households entering IML sublease per year",
    "total_cost_meur": "total cost over the run (EUR m)",
}


def indicators(ds: xr.Dataset) -> xr.Dataset:
    """The indicators of :data:`LABELS`, by scenario, replicate and territory."""
    return xr.Dataset(
        {
            **common_indicators(ds),
            "median_wait_housing_days": ds.wait_days_by_kind.sel(state_group="housing", statistic="median", drop=True),
            "median_wait_shelter_days": ds.wait_days_by_kind.sel(state_group="shelter", statistic="median", drop=True),
            "hotel_places_end": ds.capacity.sel(state="hotel", drop=True).isel(time=-1),
            "iml_sublease_units_end": ds.capacity.sel(state="iml_sublease", drop=True).isel(time=-1),
            "median_wait_iml_sublease_days": ds.wait_days_run.sel(state="iml_sublease", statistic="median", drop=True),
            "housed_in_iml_sublease_per_year": ds.served.sel(state="iml_sublease", drop=True).sum("time") / (ds.sizes["time"] / 12),
            "total_cost_meur": total_cost(ds).sum("time") / 1e6,
        }
    )


EXPERIMENT = Experiment(__doc__, HERE, SCENARIOS, CONTRASTS, LABELS, indicators, ROOT_SEED)


if __name__ == "__main__":
    main(EXPERIMENT)
