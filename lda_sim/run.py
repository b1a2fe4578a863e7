"""Running scenarios: from a scenario (or its file) to a results dataset."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import xarray as xr

from .config import Scenario, load_scenario
from .households import Household
from .model import HousingModel


def run_scenario(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    years: float | None = None,
    household_class: type[Household] | None = None,
) -> xr.Dataset:
    """Run one scenario to its horizon and return its dataset.

    ``scenario`` is a loaded :class:`Scenario` or the path of a scenario file; ``seed`` and
    ``years`` override the scenario's own.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, years=years, seed=seed)
    elif years is not None:
        scenario = replace(scenario, years=float(years))
    return HousingModel(scenario, seed=seed, household_class=household_class).run()
