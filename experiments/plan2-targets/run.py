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

from pathlib import Path

import xarray as xr

from lda_sim.analysis.experiment import COMMON_LABELS, Experiment, common_indicators, main
from lda_sim.analysis.indicators import total_cost

HERE = Path(__file__).resolve().parent
SCENARIOS = [HERE.parent.parent / "configs" / "scenarios" / f"{name}.yaml" for name in ("baseline", "plan2")]
#: (label, scenario, reference): differences computed replicate by replicate.
CONTRASTS = [("plan2 - baseline", "plan2", "baseline")]
ROOT_SEED = 20250101
IML = ("iml_sublease", "iml_mandate")
#: Indicator -> label, in the order of the report.
LABELS = {
    **COMMON_LABELS,
    "median_wait_housing_days": "median wait on a housing list (days)",
    "pension_de_famille_units_end": "pension de famille units at the horizon",
    "iml_sublease_units_end": "IML sublease units at the horizon",
    "iml_mandate_units_end": "IML management-mandate units at the horizon",
    "housed_in_plan_states_per_year": "households entering pension de famille or IML per year",
    "total_cost_meur": "total cost over the run (EUR m)",
}


def indicators(ds: xr.Dataset) -> xr.Dataset:
    """The indicators of :data:`LABELS`, by scenario, replicate and territory."""
    return xr.Dataset(
        {
            **common_indicators(ds),
            "median_wait_housing_days": ds.wait_days_by_kind.sel(state_group="housing", statistic="median", drop=True),
            "pension_de_famille_units_end": ds.capacity.sel(state="pension_de_famille", drop=True).isel(time=-1),
            "iml_sublease_units_end": ds.capacity.sel(state="iml_sublease", drop=True).isel(time=-1),
            "iml_mandate_units_end": ds.capacity.sel(state="iml_mandate", drop=True).isel(time=-1),
            "housed_in_plan_states_per_year": ds.served.sel(state=["pension_de_famille", *IML]).sum(["state", "time"]) / (ds.sizes["time"] / 12),
            "total_cost_meur": total_cost(ds).sum("time") / 1e6,
        }
    )


EXPERIMENT = Experiment(__doc__, HERE, SCENARIOS, CONTRASTS, LABELS, indicators, ROOT_SEED)


if __name__ == "__main__":
    main(EXPERIMENT)
