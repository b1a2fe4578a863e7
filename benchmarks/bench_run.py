"""Speed of one run: wall time, events per second and peak memory.

Usage: python benchmarks/bench_run.py [SCENARIO] [--years N] [--seed N] [--repeat N]
Default: the bundled baseline (Aix-Marseille-Provence and Lyon) over 10 years; ``--only
aix-marseille-provence`` runs one territory. Each repeat runs in this process;
peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from dataclasses import replace
from pathlib import Path

from lda_sim.config.scenario import load_scenario
from lda_sim.engine.model import HousingModel

DEFAULT = Path(__file__).resolve().parent.parent / "configs" / "scenarios" / "baseline.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?", default=str(DEFAULT))
    parser.add_argument("--years", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", metavar="TERRITORY", action="append", help="run only these territories (repeatable)")
    args = parser.parse_args()

    scenario = load_scenario(args.scenario, years=args.years, seed=args.seed)
    if args.only:
        unknown = set(args.only) - {t.name for t in scenario.territories}
        if unknown:
            parser.error(f"unknown territory: {', '.join(sorted(unknown))}")
        scenario = replace(scenario, territories=[t for t in scenario.territories if t.name in args.only])
    walls, events, households = [], 0, 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        model = HousingModel(scenario)
        model.run_until(model.horizon)
        ds = model.dataset()
        walls.append(time.perf_counter() - t0)
        events = model.events_processed
        households = int(ds.initial_occupancy.sum() + ds.entries.sum())
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best = min(walls)
    print(f"scenario: {scenario.name} ({', '.join(t.name for t in scenario.territories)}), {args.years:g} years, seed {args.seed}")
    print(f"households simulated: {households:,}; events: {events:,}")
    print(f"wall time: best {best:.2f} s, median {statistics.median(walls):.2f} s over {args.repeat} runs (set-up, run and dataset)")
    print(f"events per second: {events / best:,.0f}")
    print(f"peak memory (max RSS): {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
