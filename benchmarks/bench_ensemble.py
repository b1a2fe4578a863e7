"""Throughput of ensembles on Dask: runs per minute with 1 and 2 workers, and scaling efficiency.

Usage: python benchmarks/bench_ensemble.py [SCENARIO] [--runs N] [--years N] [--workers 1 2 ...]
Default: the Aix-Marseille-Provence baseline (the bundled baseline restricted to that territory
through a scenario written to a temporary folder), 8 replicates of 10 years.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from lda_sim.analysis.ensemble import plan_runs, run_ensemble

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def amp_only(folder: Path) -> Path:
    path = folder / "amp.yaml"
    path.write_text(yaml.safe_dump({"scenario": {
        "name": "baseline-amp", "extends": str(CONFIGS / "scenarios" / "baseline.yaml"),
        "territories": [str(CONFIGS / "territories" / "aix-marseille-provence.yaml")],
    }}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?", default=None)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--years", type=float, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scenario = args.scenario or str(amp_only(Path(tmp)))
        specs = plan_runs([scenario], seed=1, replicates=args.runs, years=args.years)
        rates = {}
        for workers in args.workers:
            start = time.perf_counter()
            result = run_ensemble(specs, Path(tmp) / f"runs{workers}", workers=workers, progress=False)
            wall = time.perf_counter() - start
            assert not result.failures, result.failures
            rates[workers] = len(specs) / wall * 60
            print(f"{workers} worker(s): {len(specs)} runs of {args.years:g} years in {wall:.1f} s = {rates[workers]:.1f} runs/min "
                  "(cluster start-up included)")
        one = rates.get(1)
        for workers, rate in rates.items():
            if one and workers > 1:
                print(f"scaling efficiency with {workers} workers: {rate / (one * workers):.0%}")


if __name__ == "__main__":
    main()
