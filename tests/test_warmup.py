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
