"""The engine's compilation: a cold cache is compiled by two child processes at numba's level 1."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from lda_sim import warmup


class _Background:
    """Stands for the second child (``subprocess.Popen``): records its command, finishes at once."""

    def __init__(self, calls: list[dict[str, Any]], args: list[str], env: dict[str, str]) -> None:
        calls.append({"args": args, "env": env})

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def poll(self) -> int:
        return 0


def _record_child(monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]) -> None:
    monkeypatch.setattr(warmup, "is_compiled", lambda: False)
    monkeypatch.setattr(warmup, "_call_every_entry_point", lambda: None)
    monkeypatch.setattr(warmup.subprocess, "run", lambda args, env, check: calls.append({"args": args, "env": env}))
    monkeypatch.setattr(warmup.subprocess, "Popen", lambda args, env: _Background(calls, args, env))


def test_a_cold_cache_is_compiled_by_two_children_at_optimisation_level_1(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.delenv("NUMBA_OPT", raising=False)
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/some/cache")
    _record_child(monkeypatch, calls)
    warmup.compile_engine()
    assert sorted(c["args"] for c in calls) == [[sys.executable, "-m", "lda_sim.warmup"],
                                                [sys.executable, "-m", "lda_sim.warmup", "--late-first"]]
    for call in calls:
        assert call["env"]["NUMBA_OPT"] == "1"
        assert call["env"]["NUMBA_CACHE_DIR"] == "/some/cache"  # the children fill the caller's cache


def test_the_second_child_compiles_kernel_functions_of_the_state_and_scalars() -> None:
    """Every name of LATE_FIRST is a kernel function whose signature the second child can build."""
    import inspect

    from lda_sim.engine import kernel
    from lda_sim.engine.compiled import KernelDispatcher

    for name in warmup.LATE_FIRST:
        function = getattr(kernel, name)
        assert isinstance(function, KernelDispatcher), name
        parameters = list(inspect.signature(function.py_func).parameters.values())
        assert parameters[0].name == "st", name
        assert {str(p.annotation) for p in parameters[1:]} <= {"int", "float", "bool"}, name


def test_the_second_child_runs_and_leaves_its_functions_compiled() -> None:
    """``python -m lda_sim.warmup --late-first`` (with the suite's warm cache it loads them)."""
    code = (
        "import sys\nsys.argv[1:] = ['--late-first']\nfrom lda_sim import warmup\nfrom lda_sim.engine import kernel\n"
        "warmup._compile_late_first()\n"
        "print(' '.join(n for n in warmup.LATE_FIRST if not getattr(kernel, n).signatures))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_a_numba_opt_set_by_the_user_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setenv("NUMBA_OPT", "3")
    _record_child(monkeypatch, calls)
    warmup.compile_engine()
    assert [c["env"]["NUMBA_OPT"] for c in calls] == ["3", "3"]


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
