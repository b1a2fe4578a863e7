"""The engine's compilation: a cold cache is compiled in a child process at numba's level 1."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from lda_sim import warmup


def _record_child(monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]) -> None:
    monkeypatch.setattr(warmup, "is_compiled", lambda: False)
    monkeypatch.setattr(warmup, "_call_every_entry_point", lambda: None)
    monkeypatch.setattr(warmup.subprocess, "run", lambda args, env, check: calls.append({"args": args, "env": env}))


def test_a_cold_cache_is_compiled_by_a_child_at_optimisation_level_1(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.delenv("NUMBA_OPT", raising=False)
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/some/cache")
    _record_child(monkeypatch, calls)
    warmup.compile_engine()
    assert [c["args"] for c in calls] == [[sys.executable, "-m", "lda_sim.warmup"]]
    assert calls[0]["env"]["NUMBA_OPT"] == "1"
    assert calls[0]["env"]["NUMBA_CACHE_DIR"] == "/some/cache"  # the child fills the caller's cache


def test_a_numba_opt_set_by_the_user_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setenv("NUMBA_OPT", "3")
    _record_child(monkeypatch, calls)
    warmup.compile_engine()
    assert calls[0]["env"]["NUMBA_OPT"] == "3"


def test_a_warm_cache_starts_no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    _record_child(monkeypatch, calls)
    monkeypatch.setattr(warmup, "is_compiled", lambda: True)
    warmup.compile_engine()
    assert calls == []


def test_the_child_runs_every_entry_point_and_leaves_the_cache_warm() -> None:
    """``python -m lda_sim.warmup`` (here with the suite's warm cache: it loads rather than compiles)."""
    done = subprocess.run([sys.executable, "-m", "lda_sim.warmup"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert warmup.is_compiled()


def test_the_warmup_loads_every_kernel_function_that_python_calls() -> None:
    """A kernel function called from Python that the warm-up does not call would be compiled
    (at numba's default level, in the middle of the first real run) after ``lda-sim warmup``."""
    import re
    from pathlib import Path

    from lda_sim.engine import kernel
    from lda_sim.engine.compiled import KernelDispatcher

    package = Path(kernel.__file__).parents[1]
    called = set()
    for path in package.rglob("*.py"):
        if path.name not in ("kernel.py", "warmup.py"):
            called |= set(re.findall(r"\b(?:k|kernel)\.([a-z_][a-z_0-9]*)\(", path.read_text()))
    jitted = sorted(name for name in called if isinstance(getattr(kernel, name, None), KernelDispatcher))
    assert {"run_events", "populate_state", "rebase", "let"} <= set(jitted)
    code = (
        "from lda_sim.engine import kernel\nfrom lda_sim.warmup import _call_every_entry_point\n_call_every_entry_point()\n"
        f"print(' '.join(n for n in {jitted!r} if not getattr(kernel, n).signatures))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []
