"""Sensitivity analysis: a configuration where only one parameter moves the output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from lda_sim.analysis.planning import PlanError
from lda_sim.analysis.sensitivity import sensitivity, tornado
from lda_sim.cli import main

#: The street's exit rate moves the street stock; the exit rate out of social housing does not
#: (nobody goes back to the street from social housing in the small pathway, and a household's
#: draws do not depend on other households': common random numbers keep the street identical).
MATTERS = "territory.town.transitions.street->exit.rate_per_year=0.2:2.0"
INERT = "territory.town.transitions.social->exit.rate_per_year=0.05:0.5"
OUTPUT = "street in town over 2025-07:2025-12"


def test_morris_singles_out_the_only_parameter_that_matters(small_scenario_path: Path) -> None:
    result = sensitivity(small_scenario_path, [MATTERS, INERT], [OUTPUT], method="morris", trajectories=4, workers=0)
    idx = result.indices.set_index("parameter")
    assert result.runs == 4 * 3
    assert idx.loc[MATTERS.split("=")[0], "mu_star"] > 10  # persons over the whole range
    assert idx.loc[INERT.split("=")[0], "mu_star"] == 0.0
    assert idx.loc[MATTERS.split("=")[0], "mu"] < 0  # a higher exit rate, fewer on the street
    assert tornado(result).axes


def test_sobol_on_dask_and_cli(small_scenario_path: Path, tmp_path: Path) -> None:
    csv, chart = tmp_path / "s.csv", tmp_path / "t.png"
    res = CliRunner().invoke(main, ["sensitivity", str(small_scenario_path), "--method", "sobol", "--param", MATTERS,
                                    "--param", INERT, "--output", OUTPUT, "--samples", "8", "--workers", "2",
                                    "--csv", str(csv), "--chart", str(chart)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(csv).set_index("parameter")
    assert table.loc[MATTERS.split("=")[0], "ST"] > 0.5
    assert table.loc[INERT.split("=")[0], "ST"] == pytest.approx(0.0, abs=1e-9)
    assert chart.stat().st_size > 1000 and "S1" in res.output


def test_sensitivity_bad_input(small_scenario_path: Path) -> None:
    with pytest.raises(PlanError, match="power of two"):
        sensitivity(small_scenario_path, [MATTERS, INERT], [OUTPUT], method="sobol", base_samples=6, workers=0)
    res = CliRunner().invoke(main, ["sensitivity", str(small_scenario_path), "--param", MATTERS, "--param",
                                    "territory.town.nothing=1:2", "--output", OUTPUT, "--workers", "0"])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    res = CliRunner().invoke(main, ["sensitivity", str(small_scenario_path), "--param", MATTERS, "--param", INERT,
                                    "--output", "street in town by 2099-01", "--workers", "0"])
    assert res.exit_code == 2 and "horizon" in res.output
