"""Compiling the kernel ahead of a run: numba compiles it on first use and caches it on disk.

The first run on a machine (or after an upgrade) compiles every kernel function, about a minute
on two cores; later runs load the cache in a fraction of a second. :func:`compile_engine` does it
on purpose (``lda-sim warmup``, and the command line's first run), running a tiny scenario and
calling every entry point that policies use, so that no later run pays for compilation.

A cold cache is filled by two child processes in which numba optimises at level 1
(:data:`COMPILE_OPT_LEVEL`) instead of its default 3: a level that compiles in 25-30% less time
with the same run times and identical results (measured in the README's Benchmarks). One child runs
every entry point, as a first run would; the other compiles, from the other end, the functions the
first reaches last (:data:`LATE_FIRST`). numba looks in its on-disk cache before it compiles a
function (its files are written atomically), so each child loads much of what the other has
compiled: on two cores 44-53 s instead of 65-77 s for one child, the cache identical in what it
computes. The level is a process-wide numba setting, so it is set in the children only, never in
the caller's process; the cache they write is then loaded here. A kernel compiled on first use
without this module (from the Python API) is compiled in-process at numba's default level.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from numba.core import config

from .engine import kernel


def is_compiled() -> bool:
    """Whether the kernel's main loop is in numba's on-disk cache for this source and machine."""
    try:
        return bool(kernel.run_events._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - a cache numba cannot read is a cold cache
        return False


#: numba's optimisation level (``NUMBA_OPT``) for compiling a cold cache; a ``NUMBA_OPT`` already
#: set in the environment is kept.
COMPILE_OPT_LEVEL = "1"


#: Kernel functions the second child compiles, in this order: those the first child reaches last
#: (it runs a model, so it compiles in the order of first use: placing the initial population, the
#: allocation, the event loop and its handlers, then rebasing a spin-up), the largest call trees
#: first. Each is a function of the state and scalars.
LATE_FIRST = (
    "rebase", "grow_households", "set_priority_rule", "_letting", "_month_end", "spell_log", "_arrival",
    "_call_end", "_call", "_regularise", "_support_ends", "change_capacity", "add_capacity", "remove_capacity",
    "capacities_hold", "set_share_to_homeless", "close_transition", "schedule_letting", "set_month_from",
)
#: Seconds the caller waits for the second child once the first is done (it is then finishing a
#: function the first child has also compiled) before stopping it.
SECOND_CHILD_GRACE = 30.0


def compile_engine() -> float:
    """Compile (or load) every kernel function; return the seconds it took.

    A cold cache is compiled by two child processes at once (see the module's docstring): one runs
    every entry point, as a first run does; the other compiles the functions that the first reaches
    last (:data:`LATE_FIRST`), so that each finds in the cache much of what the other compiled. If
    the children fail, the compilation happens here."""
    started = time.perf_counter()
    if not config.DISABLE_JIT and not is_compiled():  # type: ignore[attr-defined]  # set by numba at import
        env = {**os.environ, "NUMBA_OPT": os.environ.get("NUMBA_OPT", COMPILE_OPT_LEVEL)}
        second = subprocess.Popen([sys.executable, "-m", "lda_sim.warmup", "--late-first"], env=env)
        try:
            subprocess.run([sys.executable, "-m", "lda_sim.warmup"], env=env, check=False)
            second.wait(SECOND_CHILD_GRACE)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if second.poll() is None:
                second.kill()
                second.wait()
    _call_every_entry_point()
    return time.perf_counter() - started


def _compile_late_first() -> None:
    """Compile :data:`LATE_FIRST` for the signatures the event loop calls them with (state, then
    ``int64``/``float64``/``bool`` scalars)."""
    import inspect

    from numba import types

    from .engine.state import KERNEL_STATE

    scalar = {"int": types.int64, "float": types.float64, "bool": types.boolean}
    for name in LATE_FIRST:
        dispatcher = getattr(kernel, name)
        parameters = list(inspect.signature(dispatcher.py_func).parameters.values())[1:]
        signature = (KERNEL_STATE, *(scalar[str(p.annotation)] for p in parameters))
        dispatcher.compile(signature)  # loads it if the first child has already cached it


def _call_every_entry_point() -> None:
    """Run a tiny scenario through every kernel entry point, compiling each (or loading it)."""
    from .analysis.validation import write_one_queue_config
    from .config.scenario import load_scenario
    from .engine.allocation import fcfs
    from .engine.build import LAW_FIELDS
    from .engine.model import HousingModel

    with tempfile.TemporaryDirectory() as folder:
        path = write_one_queue_config(Path(folder), places=5, arrivals_per_year=100.0, mean_stay_days=20.0, seed=1,
                                      initial_sheltered=3, initial_waiting=2)
        model = HousingModel(load_scenario(path, years=0.25))
        model.check_capacities()
        territory = model.territories[0]
        shelter = model.pathway.state_index["shelter"]
        model.run_for(30)
        model.add_capacity(territory, shelter, 1)
        model.remove_capacity(territory, shelter, 1)
        model.set_priority_rule(territory, shelter, fcfs)
        model.set_transitions(territory, closed=[], ready_after={})
        model.schedule(model.time + 1.0, lambda a, b: None, None, None)
        territory.waiting[shelter].best()
        territory.waiting[shelter].households()
        territory.capacity(shelter)
        model.run_until(model.horizon)
        model.dataset()
        HousingModel(replace(model.scenario, spin_up_years=0.1))  # a spin-up, then its times rebased
        kernel.let(model._st, 0, shelter, 0)
        kernel.set_share_to_homeless(model._st, 0, shelter, 0.0)
        kernel.close_transition(model._st, 0, 0)
        kernel.take_slides(model._st)
        kernel.set_laws(model._st, *(model._a[name] for name in LAW_FIELDS))
        kernel.schedule_letting(model._st, 0, shelter)  # no turnover supply here: nothing scheduled
        kernel.set_month_from(model._st, model.time)
        kernel.capacities_hold(model._st)


if __name__ == "__main__":  # a child process of compile_engine
    if sys.argv[1:] == ["--late-first"]:
        _compile_late_first()
    else:
        _call_every_entry_point()
