"""Why the model keeps its own event queue: Mesa 3.5 event scheduling against a plain heapq,
and one big heap against the model's calendar queue when a million events are pending.

Schedules and runs N events with bound-method callbacks both ways and prints microseconds per
event; then holds ``--pending`` events (as a national run does: one departure per household) and
times pop-and-reschedule steps on one heap and on :meth:`lda_sim.model.HousingModel.schedule`'s
calendar queue. Usage: python benchmarks/bench_events.py [N] [--pending P]
"""

from __future__ import annotations

import heapq
import sys
import time

import mesa
import numpy as np


class Target:
    """An object whose bound method is the event callback (Mesa holds callbacks weakly)."""

    def __init__(self) -> None:
        self.calls = 0

    def fire(self) -> None:
        self.calls += 1


class EmptyModel(mesa.Model):
    def __init__(self) -> None:
        super().__init__(rng=1)
        self._default_schedule.stop()


def pending_queue(pending: int, steps: int = 1_000_000) -> None:
    """Pop the next event and schedule a later one (a stay of mean 300 days), ``steps`` times,
    with ``pending`` events waiting: one heap, then the model's calendar queue."""
    from lda_sim.config import load_scenario
    from lda_sim.model import HousingModel
    from pathlib import Path

    rng = np.random.default_rng(1)
    first = rng.exponential(300, pending).tolist()
    stays = rng.exponential(300, steps).tolist()
    heap = [(t, i, None, None, None) for i, t in enumerate(first)]
    heapq.heapify(heap)
    t0 = time.process_time()
    seq = pending
    for stay in stays:
        now = heapq.heappop(heap)[0]
        seq += 1
        heapq.heappush(heap, (now + stay, seq, None, None, None))
    heap_us = (time.process_time() - t0) / steps * 1e6

    scenario = load_scenario(Path(__file__).resolve().parent.parent / "tests" / "data" / "scenario_small.yaml", years=1)
    model = HousingModel(scenario)
    model._today, model._later, model._later_days, model._day = [], {}, [], -1  # an empty calendar
    for t in first:
        model.schedule(t, None, None, None)  # type: ignore[arg-type]
    t1 = time.process_time()
    for stay in stays:
        if not model._today:
            model._next_day()
        now = heapq.heappop(model._today)[0]
        model.schedule(now + stay, None, None, None)  # type: ignore[arg-type]
    calendar_us = (time.process_time() - t1) / steps * 1e6
    print(f"with {pending:,} pending events, pop + push ({steps:,} steps, CPU time):")
    print(f"  one heap:                      {heap_us:.2f} us/step")
    print(f"  calendar queue (by day):       {calendar_us:.2f} us/step")


def main(n: int = 300_000) -> None:
    times = np.random.default_rng(0).uniform(0, 1000, n).tolist()
    targets = [Target() for _ in range(1000)]

    model = EmptyModel()
    t0 = time.perf_counter()
    for i, t in enumerate(times):
        model.schedule_event(targets[i % 1000].fire, at=t)
    t1 = time.perf_counter()
    model.run_until(1001)
    t2 = time.perf_counter()
    mesa_us = (t2 - t0) / n * 1e6

    heap: list = []
    t3 = time.perf_counter()
    for i, t in enumerate(times):
        heapq.heappush(heap, (t, i, targets[i % 1000].fire))
    while heap:
        heapq.heappop(heap)[2]()
    t4 = time.perf_counter()
    heap_us = (t4 - t3) / n * 1e6
    assert sum(t.calls for t in targets) == 2 * n
    print(f"events: {n:,}")
    print(f"mesa schedule_event + run_until: {mesa_us:.2f} us/event (schedule {(t1 - t0) / n * 1e6:.2f}, run {(t2 - t1) / n * 1e6:.2f})")
    print(f"heapq push + pop + call:         {heap_us:.2f} us/event")
    print(f"ratio: {mesa_us / heap_us:.1f}x")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 300_000)
    pending_queue(int(sys.argv[sys.argv.index("--pending") + 1]) if "--pending" in sys.argv else 1_000_000)
