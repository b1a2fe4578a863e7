"""Running scenarios: from a scenario (or its file) to a results dataset."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..config.scenario import Scenario, load_scenario, with_horizon
from ..dataset.inputs import attach_inputs, combine_inputs
from ..engine.households import Household
from ..engine.model import HousingModel


def run_scenario(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    years: float | None = None,
    household_class: type[Household] | None = None,
    until: str | None = None,
    snapshots: list[str] | tuple[str, ...] = (),
) -> xr.Dataset:
    """Run one scenario to its horizon and return its dataset, with the scenario's inputs and
    sources recorded in its attributes (as ``lda-sim run`` writes them).

    ``scenario`` is a loaded :class:`Scenario` or the path of a scenario file; ``seed`` and
    ``years`` (or ``until``, the last month ``YYYY-MM``) override the scenario's own;
    ``snapshots`` (dates ``YYYY-MM-DD``) add instants at which the stocks are recorded.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, years=years, seed=seed, until=until, snapshots=snapshots)
    else:
        if years is not None:
            scenario = replace(scenario, years=float(years))
        if until is not None or snapshots:
            scenario = with_horizon(scenario, until=until, snapshots=snapshots)
    return attach_inputs(HousingModel(scenario, seed=seed, household_class=household_class).run(), scenario)


def combine_scenarios(datasets: list[xr.Dataset]) -> xr.Dataset:
    """Stack the datasets of several scenarios along a ``scenario`` dimension (first = baseline).

    The scenarios must share territories, states and months; run attributes specific to each
    scenario become coordinates along ``scenario``.
    """
    first = datasets[0]
    for ds in datasets[1:]:
        for dim in ("territory", "state", "transition", "time"):
            if not np.array_equal(ds[dim].values, first[dim].values):
                raise ValueError(
                    f"scenario {ds.attrs['scenario']!r} differs from {first.attrs['scenario']!r} in its {dim}s: "
                    "scenarios compared in one dataset must share territories, pathway and horizon"
                )
    names = [ds.attrs["scenario"] for ds in datasets]
    if len(set(names)) != len(names):
        raise ValueError(f"two scenarios have the same name: {names}")
    per_scenario = ("scenario", "scenario_description", "scenario_file", "seed", "events", "policies")
    stacked = xr.concat(
        [ds.drop_attrs(deep=False) for ds in datasets], dim=pd.Index(names, name="scenario"), combine_attrs="drop_conflicts"
    )
    for key in per_scenario[1:]:
        stacked.coords[f"scenario_{key}" if not key.startswith("scenario") else key] = (
            "scenario", [str(ds.attrs.get(key, "")) for ds in datasets]
        )
    stacked.attrs = {k: v for k, v in first.attrs.items() if k not in per_scenario}
    stacked.attrs["title"] = "lda_sim results: " + ", ".join(names)
    stacked.attrs["scenario"] = ", ".join(names)
    stacked.attrs["seed"] = first.attrs["seed"]
    stacked.attrs["baseline"] = names[0]
    stacked.attrs.update(combine_inputs(datasets))  # every scenario's inputs, not only the baseline's
    return stacked


def run_scenarios(
    paths: list[str | Path], *, seed: int | None = None, years: float | None = None, until: str | None = None, snapshots: list[str] | tuple[str, ...] = ()
) -> xr.Dataset:
    """Run several scenario files with the same seed (common random numbers) into one dataset."""
    scenarios = [load_scenario(p, years=years, seed=seed, until=until, snapshots=snapshots) for p in paths]
    if seed is None:
        seed = scenarios[0].seed  # the baseline's seed for all, so that differences are not noise
    datasets = [run_scenario(sc, seed=seed) for sc in scenarios]
    return datasets[0] if len(datasets) == 1 else combine_scenarios(datasets)
