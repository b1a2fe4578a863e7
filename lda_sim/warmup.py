"""Compiling the kernel ahead of a run: numba compiles it on first use and caches it on disk.

The first run on a machine (or after an upgrade) compiles every kernel function, 1 to 2
minutes on two cores; later runs load the cache in a fraction of a second. :func:`compile_engine` does
it on purpose (``lda-sim warmup``), running a tiny scenario and calling every entry point that
policies use, so that no later run pays for compilation.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from .engine import kernel


def is_compiled() -> bool:
    """Whether the kernel's main loop is in numba's on-disk cache for this source and machine."""
    try:
        return bool(kernel.run_events._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - a cache numba cannot read is a cold cache
        return False


def compile_engine() -> float:
    """Compile (or load) every kernel function; return the seconds it took."""
    from .analysis.validation import write_one_queue_config
    from .config.scenario import load_scenario
    from .engine.allocation import fcfs
    from .engine.build import LAW_FIELDS
    from .engine.model import HousingModel

    started = time.perf_counter()
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
        kernel.let(model._st, 0, shelter, 0)
        kernel.set_share_to_homeless(model._st, 0, shelter, 0.0)
        kernel.close_transition(model._st, 0, 0)
        kernel.take_slides(model._st)
        kernel.set_laws(model._st, *(model._a[name] for name in LAW_FIELDS))
    return time.perf_counter() - started
