"""Writing and reading result datasets: NetCDF, written atomically, never over an input.

Every output goes first to a temporary name beside its target, ``.NAME.HOST-PID.RANDOM.tmp``,
and is moved into place only once complete; the temporary file is removed on every exit path
that can run code (an error, Ctrl-C, ``SIGTERM`` through :func:`exit_on_sigterm`). A process
killed outright (``SIGKILL``, power loss) cannot clean up: the next write to the same target
removes the left-overs of writers that are no longer running. A folder of charts is written as
a whole into a fresh temporary folder and swapped in (:func:`atomic_folder`).

:func:`check_output` refuses, before anything runs, an output that would overwrite an input or
land inside the configuration tree, or that cannot be written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import xarray as xr

from ..config.files import clean_leftovers, temp_name, usual_permissions, write_atomic

NETCDF_ENGINE = "h5netcdf"

#: Suffixes of the files a chart folder may hold: a folder holding anything else is not replaced.
CHART_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".webp", ".eps", ".ps", ".tif", ".tiff")


class OutputError(ValueError):
    """An output path that must not or cannot be written; the message names the path."""


# --------------------------------------------------------------------------------------------
# Checks before a run
# --------------------------------------------------------------------------------------------
def configuration_tree(config_files: Iterable[str | Path]) -> list[Path]:
    """The folders outputs must stay out of: those holding the pathway, territory and sources
    files, and the ``configs`` folder above any of them (the bundled layout)."""
    folders: dict[Path, None] = {}
    for f in config_files:
        folder = Path(f).resolve().parent
        folders[folder] = None
        for parent in (folder, *folder.parents):
            if parent.name == "configs":
                folders[parent] = None
                break
    return list(folders)


def check_output(
    path: str | Path, inputs: Iterable[str | Path] = (), config_files: Iterable[str | Path] = (), *, folder: bool = False
) -> None:
    """Refuse an output ``path`` before anything runs; raise :class:`OutputError`.

    Refused: ``path`` is one of ``inputs`` (or a folder holding one); ``path`` lies inside the
    configuration tree of ``config_files`` (see :func:`configuration_tree`); a file output that
    is an existing folder, or a folder output that is an existing file; a place where no file can
    be created (a missing parent folder is checked on its nearest existing ancestor: it is
    created, like ``mkdir -p``, only when the output is written).
    """
    target = Path(path)
    resolved = target.resolve()
    for f in inputs:
        source = Path(f).resolve()
        if resolved == source:
            raise OutputError(f"{path}: is an input of this run ({f}): refusing to overwrite it; write the results elsewhere")
        if folder and resolved in source.parents:
            raise OutputError(f"{path}: holds an input of this run ({f}): refusing to replace it; give a new folder")
    for tree in configuration_tree(config_files):
        if resolved == tree or tree in resolved.parents:
            raise OutputError(f"{path}: is inside the configuration folder {tree}: write results outside the configuration tree")
    if target.exists() or target.is_symlink():
        if folder and not target.is_dir():
            raise OutputError(f"{path}: exists and is not a folder")
        if not folder and target.is_dir():
            raise OutputError(f"{path}: is a folder: give a file name")
    probe_writable(target.parent if not (folder and target.is_dir()) else target, path)


def probe_writable(place: Path, shown: str | Path) -> None:
    """Check that a file can be created in ``place`` (or in its nearest existing ancestor, if it
    does not exist yet) by creating and removing one; raise :class:`OutputError`."""
    place = Path(os.path.abspath(place))
    existing = place
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{shown}: {existing} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".lda_sim-probe.", suffix=".tmp", dir=existing)
    except OSError as exc:
        raise OutputError(f"{shown}: cannot write in {existing}: {exc.strerror or exc}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_chart_folder(path: str | Path) -> None:
    """Refuse to replace a folder that holds anything but images (e.g. results, configuration);
    raise :class:`OutputError`."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder")
    if path.is_dir():
        for entry in path.iterdir():
            if entry.is_dir() or entry.suffix.lower() not in CHART_SUFFIXES:
                raise OutputError(
                    f"{path}: holds {entry.name}, which is not a chart: a chart folder is replaced as a whole, so give a new or empty folder"
                )


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``path``; swap it in as ``path`` if the block succeeds.

    The previous folder (which may hold only images: :func:`check_chart_folder`) is moved aside
    and removed, so that ``path`` never mixes files of two chart sets. On an error the temporary
    folder is removed and ``path`` is left as it was.
    """
    path = Path(os.path.abspath(path))
    check_chart_folder(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    work = temp_name(path)
    work.mkdir()
    try:
        yield work
        usual_permissions(work, folder=True)
        if path.exists():
            old = temp_name(path, "old")
            os.rename(path, old)
            os.rename(work, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(work, path)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def exit_on_sigterm() -> None:
    """Turn ``SIGTERM`` into ``SystemExit(143)`` in this process, so that temporary files are
    removed by the ``finally`` blocks that a plain termination would skip."""

    def handler(signum: int, frame: Any) -> None:
        sys.exit(128 + signum)

    with contextlib.suppress(ValueError):  # not the main thread: leave the default
        signal.signal(signal.SIGTERM, handler)


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------
def save_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Save a results dataset to NetCDF atomically (compressed variables), with CF metadata
    (:func:`lda_sim.dataset.cf.cf_metadata`)."""
    from .cf import cf_metadata

    ds = cf_metadata(ds)
    encoding: dict[Any, dict[str, Any]] = {name: {"compression": "gzip", "compression_opts": 4} for name in ds.data_vars}
    return write_atomic(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding))


def open_results(path: str | Path) -> xr.Dataset:
    """Load a results dataset written by lda_sim into memory.

    The month bounds written for CF readers (``time_bnds``) are left out: in memory a month is
    its ``time`` label, and :func:`save_dataset` writes the bounds again.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    with xr.open_dataset(path, engine=NETCDF_ENGINE) as ds:
        ds = ds.load()
    if "time_bnds" in ds.variables:
        ds = ds.drop_vars("time_bnds")
    return ds
