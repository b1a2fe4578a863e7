"""Writing and reading result datasets: NetCDF, written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import xarray as xr

NETCDF_ENGINE = "h5netcdf"


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    On any error or interruption (Ctrl-C included) the temporary file is removed and ``path``
    is left as it was: no partial output is ever visible under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp_path, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def write_atomic(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def save_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Save a results dataset to NetCDF atomically (compressed variables)."""
    encoding = {name: {"compression": "gzip", "compression_opts": 4} for name in ds.data_vars}
    return write_atomic(path, lambda tmp: ds.to_netcdf(tmp, engine=NETCDF_ENGINE, encoding=encoding))


def open_results(path: str | Path) -> xr.Dataset:
    """Load a results dataset written by lda_sim into memory."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    with xr.open_dataset(path, engine=NETCDF_ENGINE) as ds:
        return ds.load()
