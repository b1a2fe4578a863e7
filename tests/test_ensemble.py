"""Ensembles: replicates, sweeps, Dask execution, resumption, failures, common random numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from click.testing import CliRunner

from lda_sim.analysis.ensemble import RunSpec, latin_hypercube, plan_runs, replicate_seeds, run_ensemble, run_one, summarise_replicates
from lda_sim.cli import main

DATA = Path(__file__).parent / "data"
SMALL = str(DATA / "scenario_small.yaml")
PLACES = "territory.town.states.shelter.places"


@pytest.fixture(scope="module")
def scheduler():
    """A local Dask cluster of 2 worker processes shared by the tests of this module."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    yield cluster.scheduler_address
    cluster.close()


def sweep_specs() -> list[RunSpec]:
    return plan_runs([SMALL], seed=1, replicates=2, years=1, grid={PLACES: [150, 250]})


def test_replicate_seeds_are_derived_and_reproducible() -> None:
    a, b = replicate_seeds(42, 4), replicate_seeds(42, 4)
    assert a == b and len(set(a)) == 4 and replicate_seeds(43, 4) != a
    assert replicate_seeds(42, 2) == a[:2]  # adding replicates keeps the first ones


def test_sweep_on_two_workers_has_one_dimension_per_swept_parameter(scheduler: str, tmp_path: Path) -> None:
    result = run_ensemble(sweep_specs(), tmp_path / "runs", scheduler=scheduler, progress=False)
    ds = result.dataset
    assert result.failures == [] and ds is not None
    assert ds.occupancy.dims[:3] == ("scenario", PLACES, "replicate")
    assert ds.sizes[PLACES] == 2 and ds.sizes["replicate"] == 2 and list(ds.scenario.values) == ["small"]
    places = ds.capacity.sel(territory="town", state="shelter").isel(time=0, scenario=0)
    np.testing.assert_array_equal(places.values, [[150, 150], [250, 250]])
    # the same replicate seed at every point (common random numbers), different across replicates
    assert len(set(ds.replicate_seed.values)) == 2
    entries = ds.entries.sum(["cause", "time", "territory"]).isel(scenario=0)
    np.testing.assert_array_equal(entries.isel({PLACES: 0}).values, entries.isel({PLACES: 1}).values)
    assert not (tmp_path / "runs").exists()  # run files removed once combined


def test_results_do_not_depend_on_the_number_of_workers(scheduler: str, tmp_path: Path) -> None:
    two = run_ensemble(sweep_specs(), tmp_path / "two", scheduler=scheduler, progress=False).dataset
    one = run_ensemble(sweep_specs(), tmp_path / "one", workers=1, progress=False).dataset
    xr.testing.assert_identical(one, two)
    # and each run equals the same run done in this process
    spec = sweep_specs()[3]
    alone = run_one(spec)
    coords = dict(spec.coords)
    np.testing.assert_array_equal(
        two.occupancy.sel(scenario="small", replicate=coords["replicate"], **{PLACES: coords[PLACES]}).values,
        alone.occupancy.values,
    )


def test_an_interrupted_sweep_resumes_without_redoing_finished_runs(scheduler: str, tmp_path: Path) -> None:
    specs = sweep_specs()
    first = run_ensemble(specs, tmp_path / "runs", scheduler=scheduler, progress=False, keep_runs=True)
    files = sorted((tmp_path / "runs").glob("*.nc"))
    assert len(files) == 4
    files[0].unlink()  # as if the sweep had been stopped before this run finished
    stamps = {f: f.stat().st_mtime_ns for f in files[1:]}
    again = run_ensemble(specs, tmp_path / "runs", scheduler=scheduler, progress=False)
    assert again.reused == 3
    assert all(f.stat().st_mtime_ns == t for f, t in stamps.items() if f.exists()) or not (tmp_path / "runs").exists()
    xr.testing.assert_identical(first.dataset, again.dataset)


def test_a_failing_run_is_reported_with_its_parameters_and_the_others_go_on(scheduler: str, tmp_path: Path) -> None:
    specs = plan_runs([SMALL], seed=1, replicates=2, years=1, grid={PLACES: [-5, 250]})
    result = run_ensemble(specs, tmp_path / "runs", scheduler=scheduler, progress=False)
    assert len(result.failures) == 2
    for spec, message in result.failures:
        assert f"{PLACES}=-5.0" in spec.describe() and "minimum" in message
    ds = result.dataset
    assert ds.attrs["runs_failed"] == 2
    good = ds.occupancy.sel({PLACES: 250.0})
    assert bool(good.notnull().all()) and bool(ds.occupancy.sel({PLACES: -5.0}).isnull().all())
    assert len(list((tmp_path / "runs").glob("*.nc"))) == 2  # kept: a rerun redoes only the failed ones


def test_latin_hypercube_sweep_has_a_run_dimension_with_parameter_coordinates(scheduler: str, tmp_path: Path) -> None:
    samples = latin_hypercube({PLACES: (120, 300), "territory.town.inflows.other.households_per_year": (100, 300)}, 4, seed=9)
    assert samples == latin_hypercube({PLACES: (120, 300), "territory.town.inflows.other.households_per_year": (100, 300)}, 4, seed=9)
    bins = sorted(int((s[PLACES] - 120) // 45) for s in samples)
    assert bins == [0, 1, 2, 3]  # one point per stratum
    specs = plan_runs([SMALL], seed=1, years=1, samples=[{k: round(v) for k, v in s.items()} for s in samples])
    ds = run_ensemble(specs, tmp_path / "runs", scheduler=scheduler, progress=False).dataset
    assert ds.sizes["run"] == 4 and PLACES in ds.coords and ds[PLACES].dims == ("run",)
    np.testing.assert_array_equal(ds.capacity.sel(territory="town", state="shelter").isel(time=0, scenario=0).values, ds[PLACES].values)


def test_summarise_replicates_gives_median_and_band(scheduler: str, tmp_path: Path) -> None:
    specs = plan_runs([SMALL], seed=1, replicates=5, years=1)
    ds = run_ensemble(specs, tmp_path / "runs", scheduler=scheduler, progress=False).dataset
    summary = summarise_replicates(ds)
    assert list(summary["quantile"].values) == [0.1, 0.5, 0.9]
    street = summary.occupancy.sel(state="street", territory="town").isel(scenario=0)
    assert bool((street.sel(quantile=0.1) <= street.sel(quantile=0.5)).all())
    assert bool((street.sel(quantile=0.5) <= street.sel(quantile=0.9)).all())
    assert summary.attrs["replicates"] == 5


def test_common_random_numbers_shrink_the_noise_of_scenario_differences(tmp_path: Path) -> None:
    """The spread across replicates of a scenario difference is smaller with common random numbers
    (same seed in both scenarios) than with independent streams (other seeds for the policy)."""
    more = tmp_path / "more.yaml"
    more.write_text(yaml.safe_dump({"scenario": {"name": "more", "extends": SMALL, "policies": [
        {"type": "capacity_change", "state": "shelter", "start": "2025-07", "end": "2025-12", "change_per_year": 40}]}}))
    seeds = replicate_seeds(7, 8)
    other = replicate_seeds(8, 8)

    def street(path: str | Path, seed: int) -> float:
        ds = run_one(RunSpec(str(path), seed, 2))
        return float(ds.occupancy_mean.sel(state="street").mean())

    base = [street(SMALL, s) for s in seeds]
    crn = np.array([street(more, s) for s in seeds]) - base
    independent = np.array([street(more, s) for s in other]) - base
    assert crn.std(ddof=1) < 0.5 * independent.std(ddof=1)


def test_cli_run_with_replicates_and_sweep(scheduler: str, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "reps.nc"
    result = runner.invoke(main, ["run", SMALL, "--years", "1", "--replicates", "3", "--scheduler", scheduler, "--out", str(out)])
    assert result.exit_code == 0, result.output
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert ds.sizes["replicate"] == 3
    out = tmp_path / "sweep.nc"
    result = runner.invoke(main, ["sweep", SMALL, "--vary", f"{PLACES}=150,250", "--years", "1", "--scheduler", scheduler, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert xr.open_dataset(out, engine="h5netcdf").sizes[PLACES] == 2
    result = runner.invoke(main, ["sweep", SMALL, "--vary", "territory.nowhere.states.shelter.places=1,2", "--out", str(out)])
    assert result.exit_code == 2 and "override matches no field" in result.stderr
    bad = tmp_path / "bad.nc"
    result = runner.invoke(main, ["sweep", SMALL, "--vary", f"{PLACES}=250,-5", "--years", "1", "--scheduler", scheduler, "--out", str(bad)])
    assert result.exit_code == 1 and "run failed" in result.stderr and f"{PLACES}=-5.0" in result.stderr
    assert bad.exists()  # the finished runs are written, the failed ones NaN


def test_a_worker_loads_a_scenario_once_for_its_replicates(monkeypatch: pytest.MonkeyPatch) -> None:
    import lda_sim.analysis.ensemble as ensemble
    from lda_sim.analysis.run import run_scenario
    from lda_sim.config.scenario import load_scenario

    calls = []
    real = ensemble.load_scenario
    monkeypatch.setattr(ensemble, "load_scenario", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setattr(ensemble, "_LOADED", {})
    first, second = RunSpec(SMALL, 5, 0.5), RunSpec(SMALL, 6, 0.5)
    a, b = run_one(first), run_one(second)
    assert len(calls) == 1  # the second replicate reused the loaded scenario
    for spec, ds in ((first, a), (second, b)):
        fresh = run_scenario(load_scenario(SMALL, years=0.5, seed=spec.seed))
        xr.testing.assert_identical(ds.drop_attrs(), fresh.drop_attrs())
        assert ds.attrs["seed"] == spec.seed
