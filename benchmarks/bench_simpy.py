"""lda_sim against a SimPy twin on one M/M/500 queue, in the same run.

Usage: python benchmarks/bench_simpy.py [--customers 300000] [--load 0.9] [--repeat 3]
(SimPy is in the ``bench`` extra: ``pip install -e '.[bench]'``.)

The queue: single persons arrive (Poisson) and wait first come, first served for one of 500
shelter places; stays are exponential (mean 30 days); the arrival rate puts the load at
``--load``. lda_sim runs it from the configuration :func:`lda_sim.analysis.validation.write_one_queue_config`
writes, long enough for ``--customers`` arrivals; SimPy runs the same queue as the textbook
process (a ``Resource`` of capacity 500, one process per customer). Both are timed in CPU seconds
of this process for the simulation alone (set-up excluded), alternating, median of ``--repeat``;
the figure compared is customers simulated per second (each is an arrival and a departure).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

PLACES, MEAN_STAY = 500, 30.0


def simpy_run(customers: int, rate_per_day: float, seed: int) -> float:
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    places = simpy.Resource(env, capacity=PLACES)

    def customer(stay: float):  # type: ignore[no-untyped-def]
        with places.request() as request:
            yield request
            yield env.timeout(stay)

    def source():  # type: ignore[no-untyped-def]
        for _ in range(customers):
            yield env.timeout(rng.expovariate(rate_per_day))
            env.process(customer(rng.expovariate(1 / MEAN_STAY)))

    env.process(source())
    started = time.process_time()
    env.run()
    return time.process_time() - started


def lda_run(customers: int, rate_per_day: float, seed: int) -> tuple[float, int]:
    from lda_sim.analysis.validation import write_one_queue_config
    from lda_sim.config.scenario import load_scenario
    from lda_sim.engine.model import HousingModel

    years = customers / rate_per_day / 365.25
    with tempfile.TemporaryDirectory() as folder:
        path = write_one_queue_config(Path(folder), places=PLACES, arrivals_per_year=rate_per_day * 365.25, mean_stay_days=MEAN_STAY, seed=seed)
        model = HousingModel(load_scenario(path, years=years))
        started = time.process_time()
        model.run_until(model.horizon)
        elapsed = time.process_time() - started
        arrivals = int(model.dataset().entries.sum())
    return elapsed, arrivals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300_000)
    parser.add_argument("--load", type=float, default=0.9)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rate = args.load * PLACES / MEAN_STAY
    lda_run(1000, rate, 0)  # the compiled engine's cache, loaded before timing
    lda, sim, arrivals = [], [], 0
    for i in range(args.repeat):
        seconds, arrivals = lda_run(args.customers, rate, i + 1)
        lda.append(seconds)
        sim.append(simpy_run(args.customers, rate, i + 1))
    lda_rate = arrivals / statistics.median(lda)
    simpy_rate = args.customers / statistics.median(sim)
    print(f"M/M/{PLACES}, load {args.load:g}, ~{args.customers:,} customers, median of {args.repeat} (CPU seconds)")
    print(f"  lda_sim {statistics.median(lda):.3f} s for {arrivals:,} customers: {lda_rate:,.0f} customers/s")
    print(f"  SimPy   {statistics.median(sim):.3f} s for {args.customers:,} customers: {simpy_rate:,.0f} customers/s")
    print(f"  lda_sim / SimPy: {lda_rate / simpy_rate:.1f}x")


if __name__ == "__main__":
    main()
