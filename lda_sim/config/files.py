"""Files written atomically: a temporary name beside the target, moved into place when complete.

Every output goes first to a temporary name beside its target, ``.NAME.HOST-PID.RANDOM.tmp``,
and is moved into place only once complete; the temporary file is removed on every exit path
that can run code (an error, Ctrl-C, ``SIGTERM`` through :func:`lda_sim.dataset.output.exit_on_sigterm`).
A process killed outright (``SIGKILL``, power loss) cannot clean up: the next write to the same
target removes the left-overs of writers that are no longer running (:func:`clean_leftovers`).

Used by the result files (:mod:`lda_sim.dataset.output`) and the configuration parse cache; standard
library only, so that the configuration layer can use it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

#: Temporary files without a writer's host and pid (written by lda_sim before 0.x) older than this
#: many seconds are left-overs of a killed write.
STALE_AFTER_S = 3600.0


# --------------------------------------------------------------------------------------------
# Temporary names and their left-overs
# --------------------------------------------------------------------------------------------
def _owner_tag() -> str:
    host = socket.gethostname().replace(".", "_").replace("-", "_") or "host"
    return f"{host}-{os.getpid()}"


def temp_name(path: Path, kind: str = "tmp") -> Path:
    return path.parent / f".{path.name}.{_owner_tag()}.{secrets.token_hex(4)}.{kind}"


def _writer_gone(tag: str, mtime: float) -> bool:
    """Whether the writer of a temporary name tagged ``tag`` (HOST-PID) is no longer running."""
    host, _, pid = tag.rpartition("-")
    if host and pid.isdigit():
        if host != _owner_tag().rpartition("-")[0]:
            return time.time() - mtime > 24 * STALE_AFTER_S  # another machine's writer: only when very old
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return time.time() - mtime > STALE_AFTER_S  # an older lda_sim's name, without a writer tag


def clean_leftovers(path: str | Path) -> list[Path]:
    """Remove the temporary files and folders that killed writes of ``path`` left beside it; a
    chart folder moved aside by a swap that was killed half-way is put back if ``path`` is
    missing. Returns what was removed."""
    path = Path(path)
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    prefix = f".{path.name}."
    for entry in sorted(path.parent.iterdir()):
        name = entry.name
        if not name.startswith(prefix) or not name.endswith((".tmp", ".old")):
            continue
        parts = name[len(prefix):].split(".")
        tag = parts[0] if len(parts) == 3 else ""
        try:
            mtime = entry.lstat().st_mtime
        except FileNotFoundError:
            continue
        if not _writer_gone(tag, mtime):
            continue
        if name.endswith(".old") and not path.exists():
            with contextlib.suppress(OSError):
                os.rename(entry, path)  # the swap was killed between its two renames: restore the old set
                continue
        with contextlib.suppress(FileNotFoundError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
    return removed


def usual_permissions(path: Path, folder: bool = False) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if folder else 0o666) & ~umask)  # mkstemp creates 0600; give the usual permissions


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    On any error or interruption (Ctrl-C included) the temporary file is removed and ``path``
    is left as it was: no partial output is ever visible under the final name. Left-overs of
    earlier killed writes of ``path`` are removed first. A missing parent folder is created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path)
    tmp_path = temp_name(path)
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        yield tmp_path
        usual_permissions(tmp_path)
        os.replace(tmp_path, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def write_atomic(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)
