"""Why the model keeps its own event heap: Mesa 3.5 event scheduling against a plain heapq.

Schedules and runs N events with bound-method callbacks both ways and prints microseconds per
event. Usage: python benchmarks/bench_events.py [N]
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
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)
