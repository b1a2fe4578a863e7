"""Shared fixtures: the small test configuration and a factory of patched copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    import xarray as xr

DATA_DIR = Path(__file__).parent / "data"
ROLES = ("scenario", "pathway", "territory")

#: A patch of one file: a function that edits its loaded YAML dict in place (its return value is
#: ignored, so ``d["states"].pop("x")`` works) or the raw text of the file.
Patch = Callable[[dict[str, Any]], Any] | str | None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the engine before the first test if its cache is cold, as ``lda-sim warmup`` does
    (in a child process at numba's level 1), so that every test loads it from the cache."""
    from lda_sim.warmup import compile_engine, is_compiled

    if not is_compiled():
        compile_engine()


@pytest.fixture
def data_dir() -> Path:
    """The folder of the small test configuration."""
    return DATA_DIR


@pytest.fixture
def small_scenario_path(data_dir: Path) -> Path:
    """The small scenario file (one territory, five states); do not modify it."""
    return data_dir / "scenario_small.yaml"


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Path]:
    """Copy the small configuration into a fresh folder of ``tmp_path``, patched.

    ``make_config(territory=lambda d: d["states"]["shelter"].update(places=-5))`` edits the
    loaded YAML of one file; ``make_config(pathway="pathway: [")`` replaces its text.
    ``files={"sources.yaml": "..."}`` adds files beside them. Returns the scenario path.
    """
    calls = 0

    def make(
        *, scenario: Patch = None, pathway: Patch = None, territory: Patch = None, files: dict[str, str] | None = None
    ) -> Path:
        nonlocal calls
        calls += 1
        folder = tmp_path / f"config{calls}"
        folder.mkdir()
        for role, patch in zip(ROLES, (scenario, pathway, territory)):
            source = DATA_DIR / f"{role}_small.yaml"
            target = folder / source.name
            if patch is None:
                shutil.copy(source, target)
            elif isinstance(patch, str):
                target.write_text(patch, encoding="utf-8")
            else:
                data = yaml.safe_load(source.read_text(encoding="utf-8"))
                patch(data)
                target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        for name, text in (files or {}).items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder / "scenario_small.yaml"

    return make


def territory_balance(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Per territory and month: initial + entries - exits (cumulated), net migration in (cumulated),
    and the households present; conservation says the first two add up to the third."""
    moved_in = ds.migration.sum("origin").rename(destination="territory")
    moved_out = ds.migration.sum("destination").rename(origin="territory")
    inside = ds.occupancy.where(ds.state_kind != "exit", 0).sum("state")
    initial = ds.initial_occupancy.where(ds.state_kind != "exit", 0).sum("state")
    flows = initial + ds.entries.sum("cause").cumsum("time") - ds.exits.sum("exit_state").cumsum("time")
    return flows.transpose(*inside.dims), (moved_in - moved_out).cumsum("time").transpose(*inside.dims), inside
