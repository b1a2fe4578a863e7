"""Killed with SIGKILL (no clean-up code runs) at several points, ``run``, ``report``, ``plot`` and a
replicate set leave their target absent, old or complete; the next command removes the
left-overs; a replicate set resumes, redoing only unfinished runs, to the identical dataset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import xarray as xr

from lda_sim.dataset.output import open_results

SMALL = Path(__file__).parent / "data" / "scenario_small.yaml"
OLD = b"old results, to be replaced only whole"


def start(*args: str | Path, cwd: Path) -> subprocess.Popen[bytes]:
    """The real command, in its own process group (so that its Dask workers die with it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "lda_sim.cli", *map(str, args)], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float = 120) -> bool:
    """SIGKILL the command's process group as soon as ``ready()``; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    raise AssertionError("the command neither finished nor reached the point")


def after(seconds: float) -> Callable[[], bool]:
    until = time.monotonic() + seconds
    return lambda: time.monotonic() >= until


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith((".tmp", ".old")))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of the small scenario over 1 year."""
    folder = tmp_path_factory.mktemp("reference")
    subprocess.run([sys.executable, "-m", "lda_sim.cli", "run", SMALL, "--out", "r.nc", "--years", "1"], cwd=folder, check=True, capture_output=True)
    return folder / "r.nc"


def same_results(path: Path, reference: Path) -> bool:
    a, b = open_results(path), open_results(reference)
    return a.drop_attrs().equals(b.drop_attrs())


@pytest.mark.parametrize(("point", "existing"), [("start", True), ("simulating", True), ("writing", True), ("writing", False)],
                         ids=["start-over-old", "simulating-over-old", "writing-over-old", "writing-fresh"])
def test_killed_run_leaves_target_absent_old_or_complete(tmp_path: Path, reference: Path, point: str, existing: bool) -> None:
    out = tmp_path / "r.nc"
    if existing:
        out.write_bytes(OLD)
    ready = {"start": after(0.3), "simulating": after(3.0), "writing": lambda: bool(temp_files(tmp_path))}[point]
    killed = kill_when(start("run", SMALL, "--out", out, "--years", "1", cwd=tmp_path), ready)
    if out.exists() and out.read_bytes() != OLD:
        assert same_results(out, reference)  # complete
    else:
        assert out.exists() == existing  # old, or absent
    if point == "writing":
        assert killed or not temp_files(tmp_path)
    done = subprocess.run([sys.executable, "-m", "lda_sim.cli", "run", SMALL, "--out", out, "--years", "1"], cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert temp_files(tmp_path) == []  # the left-overs of the killed write are gone
    assert same_results(out, reference)


@pytest.mark.parametrize("point", ["writing"])
def test_killed_report_leaves_target_absent_old_or_complete(tmp_path: Path, reference: Path, point: str) -> None:
    out = tmp_path / "report.html"
    out.write_bytes(OLD)
    ready = {"rendering": after(2.0), "writing": lambda: bool(temp_files(tmp_path))}[point]
    kill_when(start("report", reference, "--out", out, "--lang", "en", cwd=tmp_path), ready)
    text = out.read_bytes()
    assert text == OLD or (text.startswith(b"<!DOCTYPE html>") and text.rstrip().endswith(b"</html>"))
    done = subprocess.run([sys.executable, "-m", "lda_sim.cli", "report", reference, "--out", out, "--lang", "en"], cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert temp_files(tmp_path) == [] and out.read_bytes().rstrip().endswith(b"</html>")


@pytest.mark.parametrize("point", ["drawing", "swapping"])
def test_killed_chart_set_is_never_mixed(tmp_path: Path, reference: Path, point: str) -> None:
    charts = tmp_path / "charts"
    charts.mkdir()
    old = {"from_another_run.png", "indicators.png"}
    for name in old:
        (charts / name).write_bytes(OLD)

    def swapping() -> bool:  # the new set is complete in its temporary folder
        return any(p.is_dir() and len(list(p.iterdir())) >= 8 for p in temp_files(tmp_path))

    ready = {"drawing": after(4.0), "swapping": swapping}[point]
    kill_when(start("plot", reference, "--out", charts, "--format", "png", cwd=tmp_path), ready)
    done = subprocess.run([sys.executable, "-m", "lda_sim.cli", "plot", reference, "--out", tmp_path / "fresh", "--format", "png"], cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stderr
    complete = set(os.listdir(tmp_path / "fresh"))
    if charts.exists():
        names = set(os.listdir(charts))
        assert names == old or names == complete, names  # the old set or the new one, never a mix
        if names == old:
            assert all((charts / n).read_bytes() == OLD for n in old)
    again = subprocess.run([sys.executable, "-m", "lda_sim.cli", "plot", reference, "--out", charts, "--format", "png"], cwd=tmp_path, capture_output=True)
    assert again.returncode == 0, again.stderr
    assert set(os.listdir(charts)) == complete and temp_files(tmp_path) == []


def test_killed_replicate_set_resumes_redoing_only_unfinished_runs(tmp_path: Path) -> None:
    args = ("run", SMALL, "--out", "e.nc", "--years", "1", "--replicates", "4", "--workers", "1")
    reference = subprocess.run([sys.executable, "-m", "lda_sim.cli", *map(str, args[:2]), "--out", "ref.nc", *map(str, args[4:])],
                               cwd=tmp_path, capture_output=True, text=True)
    assert reference.returncode == 0, reference.stderr
    runs = tmp_path / "e.nc.runs"
    kill_when(start(*args, cwd=tmp_path), lambda: runs.is_dir() and len(list(runs.glob("*.nc"))) >= 2, timeout=300)
    finished = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.nc")}
    assert 2 <= len(finished) and not (tmp_path / "e.nc").exists()
    resumed = subprocess.run([sys.executable, "-m", "lda_sim.cli", *map(str, args)], cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Reused {len(finished)} finished runs" in resumed.stderr or len(finished) == 4
    assert "still alive" not in resumed.stderr  # quiet shutdown
    a, b = open_results(tmp_path / "e.nc"), open_results(tmp_path / "ref.nc")
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    assert not runs.exists() and temp_files(tmp_path) == []
