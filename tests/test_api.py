"""The public API: its names, and the same datasets as the command line for the same scenario and seed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from click.testing import CliRunner

import lda_sim
from lda_sim.cli import main
from lda_sim.dataset.cf import cf_metadata
from lda_sim.dataset.output import open_results

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
SMALL = DATA / "scenario_small.yaml"
#: Attributes that only the command line adds (the inputs and their sources, for reports).
CLI_ONLY_ATTRS = {"inputs", "sources"}


def assert_same_results(cli: xr.Dataset, api: xr.Dataset) -> None:
    """Same variables, coordinates, values, variable attributes and run attributes (the file's
    metadata are the CF ones, lda_sim.dataset.cf.cf_metadata, read back without the month bounds)."""
    api = cf_metadata(api).drop_vars("time_bnds")
    assert set(cli.data_vars) == set(api.data_vars)
    assert set(cli.coords) == set(api.coords)
    assert dict(cli.sizes) == dict(api.sizes)
    xr.testing.assert_equal(cli.drop_attrs(), api.drop_attrs())
    for name in [*api.data_vars, *api.coords]:
        assert cli[name].attrs == api[name].attrs, name
        assert cli[name].dims == api[name].dims, name
    shared = {k: v for k, v in cli.attrs.items() if k not in CLI_ONLY_ATTRS}
    assert shared == {k: v for k, v in api.attrs.items() if k not in CLI_ONLY_ATTRS}


def test_public_names_resolve() -> None:
    assert lda_sim.__version__
    for name in lda_sim.__all__:
        assert getattr(lda_sim, name) is not None, name
    assert lda_sim.HousingModel is __import__("lda_sim.engine.model", fromlist=["HousingModel"]).HousingModel
    assert lda_sim.run_ensemble is __import__("lda_sim.analysis.ensemble", fromlist=["run_ensemble"]).run_ensemble
    assert set(lda_sim.__all__) == {"__version__", *lda_sim._EXPORTS} and set(lda_sim.__all__) <= set(dir(lda_sim))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lda_sim.nope  # noqa: B018


def test_import_is_light() -> None:
    """``import lda_sim`` loads no model code: the public names are imported on first use."""
    code = "import sys, lda_sim; print(sorted(m for m in ('mesa', 'xarray', 'lda_sim.engine.model') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_docstring_usage_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The usage shown in the package docstring works as written (on the small scenario)."""
    monkeypatch.chdir(tmp_path)
    scenario = lda_sim.load_scenario(SMALL, years=1, seed=1)
    ds = lda_sim.run_scenario(scenario)
    path = lda_sim.save_dataset(ds, "results/small.nc")
    back = lda_sim.open_results(path)
    xr.testing.assert_identical(back.occupancy, cf_metadata(ds).occupancy)
    assert "lda_sim.run_scenario(scenario)" in lda_sim.__doc__


def test_model_run_equals_run_scenario() -> None:
    scenario = lda_sim.load_scenario(SMALL, years=1)
    api = lda_sim.run_scenario(scenario, seed=4)
    assert "inputs" in api.attrs and "sources" in api.attrs  # run_scenario records the inputs, like the CLI
    for key in ("inputs", "sources"):
        api.attrs.pop(key)
    xr.testing.assert_identical(lda_sim.HousingModel(scenario, seed=4).run(), api)


def test_cli_and_api_give_the_same_dataset(tmp_path: Path) -> None:
    out = tmp_path / "cli.nc"
    result = CliRunner().invoke(main, ["run", str(SMALL), "--out", str(out), "--seed", "11", "--years", "2"])
    assert result.exit_code == 0, result.output
    cli = open_results(out)
    api = lda_sim.run_scenario(SMALL, seed=11, years=2)
    assert_same_results(cli, api)
    # and after the API's dataset goes through the same file format
    assert_same_results(cli, lda_sim.open_results(lda_sim.save_dataset(api, tmp_path / "api.nc")))
    assert cli.attrs["seed"] == 11 and "inputs" in cli.attrs


def test_cli_and_api_give_the_same_dataset_for_several_scenarios(tmp_path: Path) -> None:
    variant = tmp_path / "more-shelter.yaml"
    variant.write_text(yaml.safe_dump({"scenario": {
        "name": "more-shelter", "extends": str(SMALL),
        "policies": [{"type": "capacity_change", "state": "shelter", "change_per_year": 120, "start": "2025-03"}],
    }}))
    out = tmp_path / "cli.nc"
    result = CliRunner().invoke(main, ["run", str(SMALL), str(variant), "--out", str(out), "--years", "1.5"])
    assert result.exit_code == 0, result.output
    cli = open_results(out)
    api = lda_sim.run_scenarios([SMALL, variant], years=1.5)
    assert list(api.scenario.values) == ["small", "more-shelter"]
    assert_same_results(cli, api)
    # common random numbers: the policy changes the variant, the baseline is the single run
    assert (api.capacity.sel(scenario="more-shelter", state="shelter") > api.capacity.sel(scenario="small", state="shelter")).any()
    single = lda_sim.run_scenario(SMALL, years=1.5)
    np.testing.assert_array_equal(api.occupancy.sel(scenario="small").values, single.occupancy.values)


def test_api_reference_builds(tmp_path: Path) -> None:
    """docs/build.py renders the API reference with pdoc and fails on any warning."""
    pytest.importorskip("pdoc")
    out = tmp_path / "api"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build.py"), "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    index = (out / "lda_sim.html").read_text(encoding="utf-8")
    for name in ("load_scenario", "HousingModel", "run_scenario", "Policy", "Household", "run_ensemble"):
        assert name in index
    for module in ("engine/model", "dataset/trajectories", "engine/policies", "config/policies", "engine/allocation", "analysis/ensemble", "config/scenario"):
        assert (out / "lda_sim" / f"{module}.html").is_file(), module


EXPERIMENTS = {
    "staircase-vs-logement-d-abord": ["baseline", "staircase", "logement-d-abord", "logement-d-abord - staircase"],
    "hotel-to-iml": ["baseline", "hotel-to-iml", "hotel-to-iml - baseline"],
    "plan2-targets": ["baseline", "plan2", "plan2 - baseline"],
}


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiment_runs_from_scratch(tmp_path: Path, name: str) -> None:
    """Each experiment's script runs (tiny: one replicate of one month, in one process) and writes its summary."""
    import pandas as pd

    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / name / "run.py"), "--replicates", "1", "--years", "0.085", "--workers", "0", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert set(EXPERIMENTS[name]) <= set(summary.what)
    assert {"median", "p10", "p90"} <= set(summary.columns)
    assert (summary["p10"] <= summary["median"] + 1e-9).all() and (summary["median"] <= summary["p90"] + 1e-9).all()
    ensemble = open_results(out / "ensemble.nc")
    assert ensemble.sizes["replicate"] == 1 and ensemble.sizes["time"] == 1
    assert "aix-marseille-provence" in proc.stdout and "median [10th, 90th percentile]" in proc.stdout
