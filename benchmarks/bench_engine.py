"""Speed of the compiled engine against the Python engine it replaced, in the same run.

Usage: python benchmarks/bench_engine.py --oracle PATH [--scenario examples/baseline-amp.yaml]
           [--years 10] [--repeat 3]

``PATH`` is a checkout of lda_sim at the last commit of the Python engine (``git worktree add
--detach /tmp/oracle 3fa6102``). Each engine runs the same scenario and seed ``--repeat`` times,
alternating, each run in a fresh process (imports, loading and set-up included in "total", the
event loop alone in "run"); the script prints the medians, the events per second and the ratio
of the Python engine's run time to the compiled one's. Times are CPU seconds of the child
process (``time.process_time``), less sensitive than wall time to other jobs on the machine.
Without ``--oracle`` it measures the compiled engine alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_MARK = "BENCH_RESULT "


def child(scenario: str, years: float) -> None:
    import time

    started = time.process_time()
    from lda_sim.config.scenario import load_scenario
    from lda_sim.engine.model import HousingModel

    sc = load_scenario(scenario, years=years)
    model = HousingModel(sc)
    t0 = time.process_time()
    model.run_until(model.horizon)
    t1 = time.process_time()
    model.dataset()
    print(_MARK + json.dumps({"run": t1 - t0, "total": time.process_time() - started, "events": model.events_processed}))


def measure(pythonpath: str, scenario: str, years: float) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=pythonpath)
    out = subprocess.run(
        [sys.executable, __file__, "--child", scenario, "--years", str(years)],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    ).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith(_MARK))[len(_MARK):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oracle", default=None, help="checkout of the Python engine")
    parser.add_argument("--scenario", default=str(ROOT / "examples" / "baseline-amp.yaml"))
    parser.add_argument("--years", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.years)
        return
    engines = {"compiled": str(ROOT)} | ({"python": args.oracle} if args.oracle else {})
    measure(str(ROOT), args.scenario, 0.1)  # the compiled engine's cache, warm before timing
    results: dict[str, list[dict[str, float]]] = {name: [] for name in engines}
    for _ in range(args.repeat):
        for name, path in engines.items():
            results[name].append(measure(path, args.scenario, args.years))
    print(f"{Path(args.scenario).name}, {args.years:g} years, median of {args.repeat} (CPU seconds of each process)")
    medians = {}
    for name, rows in results.items():
        run = statistics.median(r["run"] for r in rows)
        total = statistics.median(r["total"] for r in rows)
        events = rows[0]["events"]
        medians[name] = run
        print(f"  {name:9s} run {run:7.3f} s  total {total:7.3f} s  events {events:,.0f}  {events / run:,.0f} events/s")
    if "python" in medians:
        print(f"  run time, Python engine / compiled engine: {medians['python'] / medians['compiled']:.1f}x")


if __name__ == "__main__":
    main()
