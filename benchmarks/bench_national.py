"""Cost of the national configuration and how it grows with the population.

Usage: python benchmarks/bench_national.py [--scenario configs/scenarios/national.yaml]
           [--years 10] [--scales 0.25,0.5,1] [--seed N]

For each scale, the scenario's volumes (inflows, initial populations, places, units, stocks) are
multiplied by the scale (:func:`lda_sim.analysis.scaling.scale_scenario`) and ONE run is made in a fresh
Python process, so that its peak memory (maximum resident set size, read by the process itself)
is that run's alone. Times are wall-clock: loading the files and scaling, setting up the model
(placing the initial population), the run itself and building the dataset.

The table gives, per scale: the homeless persons at the start (street and shelters, asylum
housing included, from the dataset's initial_occupancy_persons), the households simulated
(initial + entries), the events processed, the wall times, events per second and the peak RSS.
Then, between successive scales, the ratio of run times against the ratio of populations: a
time ratio close to the population ratio means the cost grows linearly.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "configs" / "scenarios" / "national.yaml"
_MARK = "BENCH_RESULT "


def child(scenario_path: str, scale: float, years: float, seed: int | None) -> None:
    """One run at one scale; prints its measures as a JSON line."""
    import resource

    from lda_sim.analysis.scaling import scale_scenario
    from lda_sim.config.scenario import load_scenario
    from lda_sim.engine.model import HousingModel

    t0 = time.perf_counter()
    scenario = scale_scenario(load_scenario(scenario_path, years=years, seed=seed), scale)
    t1 = time.perf_counter()
    model = HousingModel(scenario)
    t2 = time.perf_counter()
    model.run_until(model.horizon)
    t3 = time.perf_counter()
    ds = model.dataset()
    t4 = time.perf_counter()
    homeless_kinds = ds.state_kind.isin(["street", "shelter"])
    result = {
        "scale": scale,
        "scenario": scenario.name,
        "territories": len(scenario.territories),
        "seed": model.seed,
        "homeless_persons": int(ds.initial_occupancy_persons.where(homeless_kinds, 0).sum()),
        "homeless_persons_end": int(ds.occupancy_persons.isel(time=-1).where(homeless_kinds, 0).sum()),
        "street_persons": [int(ds.occupancy_persons.sel(state="street").sum("territory").isel(time=i)) for i in (0, 11, 47, -1)],
        "households": int(ds.initial_occupancy.sum() + ds.entries.sum()),
        "events": int(model.events_processed),
        "migrations": int(ds.migration.sum()),
        "load_s": t1 - t0,
        "setup_s": t2 - t1,
        "run_s": t3 - t2,
        "dataset_s": t4 - t3,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    }
    print(_MARK + json.dumps(result), flush=True)


def run_scale(scenario: str, scale: float, years: float, seed: int | None) -> dict[str, float]:
    """Run :func:`child` in a fresh interpreter and return its measures."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--scenario", scenario, "--years", repr(years), "--child", repr(scale)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    lines = [line for line in proc.stdout.splitlines() if line.startswith(_MARK)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"the run at scale {scale:g} failed (exit code {proc.returncode})")
    result = json.loads(lines[-1][len(_MARK):])
    result["process_s"] = wall  # including the interpreter start and imports
    return result


def _total(r: dict[str, float]) -> float:
    """Wall time of a run in its process: load and scale, set-up, run, dataset."""
    return r["load_s"] + r["setup_s"] + r["run_s"] + r["dataset_s"]


def parse_scales(text: str) -> list[float]:
    try:
        scales = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not scales or any(not (s > 0) for s in scales):
        raise argparse.ArgumentTypeError(f"scales must be numbers > 0, got {text!r}")
    return scales


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default=str(DEFAULT))
    parser.add_argument("--years", type=float, default=10)
    parser.add_argument("--scales", type=parse_scales, default=[0.25, 0.5, 1.0], help="comma-separated, e.g. 0.25,0.5,1")
    parser.add_argument("--seed", type=int, default=None, help="default: the scenario's seed")
    parser.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.scenario, args.child, args.years, args.seed)
        return 0

    print(f"scenario: {args.scenario}, {args.years:g} years, seed {'from the file' if args.seed is None else args.seed}")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; one run per scale, each in a fresh process")
    results = []
    for scale in args.scales:
        r = run_scale(args.scenario, scale, args.years, args.seed)
        results.append(r)
        print(
            f"  scale {scale:g} done: {r['territories']} territories, seed {r['seed']}, {r['process_s']:.1f} s in its process "
            f"(load {r['load_s']:.1f}, set-up {r['setup_s']:.1f}, run {r['run_s']:.1f}, dataset {r['dataset_s']:.1f} s), "
            f"{r['migrations']:,} moves between territories; homeless persons {r['homeless_persons']:,} at the start, "
            f"{r['homeless_persons_end']:,} at the end; on the street at months 1, 12, 48 and the last: "
            f"{', '.join(f'{n:,}' for n in r['street_persons'])}",
            flush=True,
        )

    header = ("scale", "homeless persons at start", "households simulated", "events", "wall total s", "wall run s", "events/s (run)", "events/s (total)", "peak RSS MiB")
    rows = []
    for r in results:
        total = _total(r)
        rows.append((
            f"{r['scale']:g}", f"{r['homeless_persons']:,}", f"{r['households']:,}", f"{r['events']:,}",
            f"{total:.1f}", f"{r['run_s']:.1f}", f"{r['events'] / r['run_s']:,.0f}", f"{r['events'] / total:,.0f}", f"{r['peak_mib']:,.0f}",
        ))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    print()
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    print("wall total = load + scale + set-up + run + dataset (interpreter start and imports excluded)")

    if len(results) > 1:
        print()
        print("growth between successive scales (linear cost: time ratio ~ population ratio)")
        header = ("from -> to", "population ratio", "events ratio", "run time ratio", "total time ratio", "peak RSS ratio")
        rows = []
        for a, b in itertools.pairwise(results):
            rows.append((
                f"{a['scale']:g} -> {b['scale']:g}",
                f"{b['homeless_persons'] / max(a['homeless_persons'], 1):.2f}",
                f"{b['events'] / max(a['events'], 1):.2f}",
                f"{b['run_s'] / a['run_s']:.2f}",
                f"{_total(b) / _total(a):.2f}",
                f"{b['peak_mib'] / a['peak_mib']:.2f}",
            ))
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
        for row in rows:
            print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
