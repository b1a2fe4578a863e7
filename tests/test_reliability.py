"""Reliability: no input destroyed, bounded inputs refused before the run with one-line errors that
``validate`` repeats, no temporary file left behind, chart sets swapped in whole (issue 17)."""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lda_sim.cli import main
from lda_sim.config.errors import ConfigError
from lda_sim.config.files import clean_leftovers
from lda_sim.config.scenario import load_scenario, load_yaml_file
from lda_sim.config.schema import MAX_CAPACITY, MAX_HOUSEHOLDS, MAX_HOUSEHOLDS_PER_YEAR, MAX_SEED
from lda_sim.dataset.output import atomic_folder, save_dataset

ERROR = re.compile(r"^lda-sim: error: (?P<file>[^:]+)(?::(?P<line>\d+))?: (?P<rest>.+)$")


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result: Result) -> re.Match[str]:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip("\n").splitlines()
    assert len(lines) == 1, result.stderr
    match = ERROR.match(lines[0])
    assert match, lines[0]
    assert result.stdout == ""
    return match


# --------------------------------------------------------------------------------------------
# Never destroy an input
# --------------------------------------------------------------------------------------------
def test_run_refuses_to_write_over_its_scenario(make_config: Callable[..., Path]) -> None:
    path = make_config()
    before = path.read_bytes()
    result = invoke("run", path, "--out", path, "--years", "0.1")
    match = one_line_error(result)
    assert "is an input of this run" in match["rest"] and "Running" not in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("target", ["territory_small.yaml", "pathway_small.yaml", "results.nc", "sub/results.nc"])
def test_run_refuses_outputs_in_the_configuration_tree(make_config: Callable[..., Path], target: str) -> None:
    path = make_config()
    out = path.parent / target
    result = invoke("run", path, "--out", out, "--years", "0.1")
    assert "configuration folder" in one_line_error(result)["rest"] or "is an input" in result.stderr
    assert sorted(p.name for p in path.parent.iterdir()) == ["pathway_small.yaml", "scenario_small.yaml", "territory_small.yaml"]


def test_the_bundled_configs_folder_is_refused_even_beside_a_scenario(tmp_path: Path) -> None:
    root = Path(__file__).parent.parent / "configs"
    result = invoke("run", root / "scenarios" / "baseline.yaml", "--out", root / "scenarios" / "x.nc", "--years", "0.1")
    assert "configuration folder" in one_line_error(result)["rest"]
    assert not (root / "scenarios" / "x.nc").exists()


def test_run_refuses_charts_or_trajectories_over_an_input(make_config: Callable[..., Path], tmp_path: Path) -> None:
    path = make_config()
    for extra in (["--charts", path.parent], ["--trajectories", path.parent / "territory_small.yaml"]):
        result = invoke("run", path, "--out", tmp_path / "r.nc", "--years", "0.1", *extra)
        one_line_error(result)
    assert not (tmp_path / "r.nc").exists()


@pytest.mark.parametrize("place", ["/proc/x.nc", "{tmp}/a-file/x.nc"], ids=["proc", "under-a-file"])
def test_unwritable_output_is_refused_before_the_run(small_scenario_path: Path, tmp_path: Path, place: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    result = invoke("run", small_scenario_path, "--out", place.format(tmp=tmp_path), "--years", "0.1")
    match = one_line_error(result)
    assert match["file"] == place.format(tmp=tmp_path) and "Running" not in result.stderr


def test_out_into_a_missing_folder_creates_it_only_once_the_run_succeeded(small_scenario_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "r.nc"
    result = invoke("run", small_scenario_path, "--out", out, "--years", "0.1")
    assert result.exit_code == 0, result.output
    assert out.is_file() and sorted(os.listdir(out.parent)) == ["r.nc"]


def test_report_and_plot_refuse_to_overwrite_their_results(tmp_path: Path, small_scenario_path: Path) -> None:
    results = tmp_path / "r.nc"
    assert invoke("run", small_scenario_path, "--out", results, "--years", "0.1").exit_code == 0
    before = results.read_bytes()
    assert "is an input" in one_line_error(invoke("report", results, "--out", results))["rest"]
    assert "holds an input" in one_line_error(invoke("plot", results, "--out", tmp_path))["rest"]
    assert results.read_bytes() == before


# --------------------------------------------------------------------------------------------
# Bounds and one-line errors, the same from validate and run
# --------------------------------------------------------------------------------------------
def _inflow(value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["inflows"]["eviction"].update(households_per_year=value)


BOUNDED = {
    "huge-seed": ({"scenario": lambda d: d["scenario"].update(seed=10**23)}, "scenario_small.yaml", "scenario.seed", f"{MAX_SEED}"),
    "households-1e300": ({"territory": _inflow(1e300)}, "territory_small.yaml", "inflows.eviction.households_per_year", f"{MAX_HOUSEHOLDS_PER_YEAR}"),
    "billion-a-year": ({"territory": _inflow(1.2e9)}, "territory_small.yaml", "inflows.eviction.households_per_year", f"{MAX_HOUSEHOLDS_PER_YEAR}"),
    "capacity-1e21": (
        {"territory": lambda d: d["states"]["shelter"].update(places=10**21)}, "territory_small.yaml", "states.shelter.places", f"{MAX_CAPACITY}"
    ),
    "units-1e21": (
        {"territory": lambda d: d["states"]["housing"]["units"].update(small=10**21)}, "territory_small.yaml", "states.housing.units.small", f"{MAX_CAPACITY}"
    ),
    "horizon": ({"scenario": lambda d: d["scenario"].update(years=1000)}, "scenario_small.yaml", "scenario.years", "100"),
    "household-count": (
        {"territory": _inflow(900_000), "scenario": lambda d: d["scenario"].update(years=80)}, "scenario_small.yaml", "scenario.years", f"{MAX_HOUSEHOLDS:,}"
    ),
}


@pytest.mark.parametrize(("patches", "file", "field", "limit"), BOUNDED.values(), ids=BOUNDED.keys())
def test_bounds_are_refused_before_the_run_naming_the_limit(
    make_config: Callable[..., Path], tmp_path: Path, patches: dict[str, Any], file: str, field: str, limit: str
) -> None:
    path = make_config(**patches)
    started = time.perf_counter()
    run = invoke("run", path, "--out", tmp_path / "r.nc")
    assert time.perf_counter() - started < 20  # refused, not run
    match = one_line_error(run)
    assert match["file"] == str(path.parent / file) and match["line"] is not None
    assert match["rest"].startswith(f"{field}: ") and limit in match["rest"], match["rest"]
    assert not (tmp_path / "r.nc").exists()
    validate = invoke("validate", path)
    assert validate.stderr == run.stderr  # validate says the same as run


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(f"{c}: &{c} [{','.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi")), "more than", None),
        ("territory: " + "[" * 5000 + "]" * 5000 + "\n", "nested", None),
        ("territory: {name: town, label: Town}\npopulation:\x00 {}\n", "NUL byte", 2),
        ("territory: {name: town, label: Town}\nterritory: {name: x, label: X}\n", "duplicate key", 2),
        ("territory: !!python/object/apply:os.system ['echo owned']\n", "", 1),
    ],
    ids=["alias-bomb", "deep-nesting", "nul-byte", "duplicate-key", "python-tag"],
)
def test_hostile_yaml_gives_one_line(make_config: Callable[..., Path], tmp_path: Path, text: str, message: str, line: int | None) -> None:
    path = make_config(territory=text)
    started = time.perf_counter()
    run = invoke("run", path, "--out", tmp_path / "r.nc")
    assert time.perf_counter() - started < 20
    match = one_line_error(run)
    assert match["file"] == str(path.parent / "territory_small.yaml") and message in match["rest"], match["rest"]
    if line is not None:
        assert match["line"] == str(line)
    assert invoke("validate", path).stderr == run.stderr
    assert not (tmp_path / "r.nc").exists() and not (tmp_path / "owned").exists()


def test_exponent_numbers_are_numbers(make_config: Callable[..., Path]) -> None:
    path = make_config(territory=(Path(__file__).parent / "data" / "territory_small.yaml").read_text().replace("households_per_year: 300", "households_per_year: 3e2"))
    assert load_scenario(path).territories[0].inflows[0].households_per_year == 300.0
    assert load_yaml_file(path.parent / "territory_small.yaml")["inflows"]["eviction"]["households_per_year"] == 300.0


def test_errors_name_the_line_of_the_field(make_config: Callable[..., Path]) -> None:
    path = make_config(territory=lambda d: d["transitions"]["street->exit"].update(rate_per_year=-1))
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    err = info.value
    assert err.field == "transitions.street->exit.rate_per_year" and err.line is not None
    lines = (path.parent / "territory_small.yaml").read_text().splitlines()
    assert lines[err.line - 1].strip() == "rate_per_year: -1" and "street->exit" in lines[err.line - 2]
    assert str(err).startswith(f"{err.file}:{err.line}: {err.field}: ")


# --------------------------------------------------------------------------------------------
# Temporary files
# --------------------------------------------------------------------------------------------
def _dead_pid() -> int:
    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_leftovers_of_a_killed_write_are_removed_at_the_next_write(tmp_path: Path, small_scenario_path: Path) -> None:
    host = socket.gethostname().replace(".", "_").replace("-", "_")
    dead = tmp_path / f".r.nc.{host}-{_dead_pid()}.0a1b2c3d.tmp"
    alive = tmp_path / f".r.nc.{host}-{os.getpid()}.0a1b2c3d.tmp"  # a write in progress: kept
    legacy_old, legacy_new = tmp_path / ".r.nc.k2j3h4g5.tmp", tmp_path / ".r.nc.z9y8x7w6.tmp"
    for f in (dead, alive, legacy_old, legacy_new):
        f.write_bytes(b"partial")
    os.utime(legacy_old, (time.time() - 7200, time.time() - 7200))
    result = invoke("run", small_scenario_path, "--out", tmp_path / "r.nc", "--years", "0.1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r.nc", alive.name, legacy_new.name])


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    import xarray as xr

    with pytest.raises((TypeError, ValueError)):
        save_dataset(xr.Dataset({"x": ("t", [object()])}), tmp_path / "r.nc")
    assert list(tmp_path.iterdir()) == []


def test_chart_folder_is_swapped_in_whole(tmp_path: Path) -> None:
    charts = tmp_path / "charts"
    charts.mkdir()
    (charts / "from_another_run.png").write_bytes(b"old")
    with atomic_folder(charts) as work:
        (work / "new.png").write_bytes(b"new")
        assert sorted(os.listdir(charts)) == ["from_another_run.png"]  # the old set until the swap
    assert sorted(os.listdir(charts)) == ["new.png"]
    assert sorted(os.listdir(tmp_path)) == ["charts"]
    with pytest.raises(RuntimeError), atomic_folder(charts) as work:
        (work / "half.png").write_bytes(b"x")
        raise RuntimeError("killed")
    assert sorted(os.listdir(charts)) == ["new.png"] and sorted(os.listdir(tmp_path)) == ["charts"]


def test_a_folder_holding_other_files_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "results.nc").write_bytes(b"precious")
    with pytest.raises(ValueError, match="results.nc, which is not a chart"), atomic_folder(tmp_path):
        pass
    assert (tmp_path / "results.nc").read_bytes() == b"precious"


def test_a_swap_killed_between_its_renames_is_undone(tmp_path: Path) -> None:
    host = socket.gethostname().replace(".", "_").replace("-", "_")
    moved_aside = tmp_path / f".charts.{host}-{_dead_pid()}.0a1b2c3d.old"
    moved_aside.mkdir()
    (moved_aside / "a.png").write_bytes(b"old set")
    clean_leftovers(tmp_path / "charts")
    assert (tmp_path / "charts" / "a.png").read_bytes() == b"old set" and not moved_aside.exists()


# --------------------------------------------------------------------------------------------
# Dask: shared run folder, finished runs never recomputed, configuration errors not retried
# --------------------------------------------------------------------------------------------
class FakeClient:
    """Answers ``client.run`` as workers that see (or not) the run folder."""

    def __init__(self, blind: bool) -> None:
        self.blind = blind

    def run(self, func: Callable[..., str], probe: str, token: str) -> dict[str, str]:
        from lda_sim.analysis import ensemble

        here = func(probe, token)
        elsewhere = ensemble._sees_probe(probe + ".elsewhere", token) if self.blind else here
        return {"tcp://10.0.0.1:1": here, "tcp://10.0.0.2:1": elsewhere}


def test_a_run_folder_not_shared_with_the_workers_is_refused_at_start(tmp_path: Path) -> None:
    from lda_sim.analysis.ensemble import SharedFolderError, check_shared_folder

    check_shared_folder(FakeClient(blind=False), tmp_path / "runs")
    with pytest.raises(SharedFolderError, match=r"1 of 2 Dask workers cannot read and write this run folder.*shared"):
        check_shared_folder(FakeClient(blind=True), tmp_path / "runs")
    assert list((tmp_path / "runs").iterdir()) == []  # the probe is removed


def test_a_finished_run_is_never_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lda_sim.analysis import ensemble

    done = tmp_path / "run.nc"
    done.write_bytes(b"finished earlier")
    monkeypatch.setattr(ensemble, "run_one", lambda spec: pytest.fail("ran again"))
    spec = ensemble.RunSpec(str(Path(__file__).parent / "data" / "scenario_small.yaml"), 1, 0.1)
    assert ensemble.run_to_file(spec, str(done)) == str(done) and done.read_bytes() == b"finished earlier"


def test_a_configuration_error_is_reported_not_retried(make_config: Callable[..., Path], tmp_path: Path) -> None:
    from lda_sim.analysis import ensemble

    path = make_config(territory=lambda d: d["states"]["shelter"].update(places=-1))
    ok, message = ensemble._run_task(ensemble.RunSpec(str(path), 1, 0.1), str(tmp_path / "r.nc"))
    assert not ok and message.startswith("ConfigError: ") and "states.shelter.places" in message
