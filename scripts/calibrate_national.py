"""Fit each derived territory's street exit rate so that its street stock holds at its count.

Usage: python scripts/calibrate_national.py [--iterations 4] [--years 4] [--warmup-years 1]
           [--scale 1] [--seeds 20250101] [--dry-run]

The derived territories of the national configuration take Aix-Marseille-Provence's dynamics,
among them its street exit rate (``street->private_housing``, fitted by ``lda-sim calibrate`` to
Marseille's street count). Elsewhere the balance of inflows, shelter places and lettings differs,
and with AMP's rate alone the national street stock more than doubles in two years. This script
fits one factor per derived territory on that rate so that the territory's mean month-end street
stock over years ``warmup`` to ``years`` of the national baseline equals its street count at the
start (27,000 x its population share, Paris's own count: see configs/national/README.md), as AMP
was fitted to its own count. Aix-Marseille-Provence and Lyon keep their own files and are only
reported.

Each iteration runs the national baseline (all territories at once, with mobility) and moves every
factor by the ratio of simulated to target stock (the stock falls roughly as 1 / rate), within
[0.5, 2] per step and [0.1, 10] overall; the runs use the same seeds (common random numbers). The
fitted factors are written to ``configs/national/street_exit_fit.csv`` with the stocks before and
after, and ``scripts/build_national.py`` is run to write them into the territory files.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_national  # noqa: E402

from lda_sim.analysis.scaling import scale_scenario  # noqa: E402
from lda_sim.config.files import write_atomic  # noqa: E402
from lda_sim.config.scenario import load_scenario  # noqa: E402
from lda_sim.engine.model import HousingModel  # noqa: E402

STEP_BOUNDS = (0.5, 2.0)
FACTOR_BOUNDS = (0.1, 10.0)
STATE = "street"


def street_stocks(factors: dict[str, float], amp_rate: float, args: argparse.Namespace) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Territory names, their street count at the start and their mean street stock over the
    window, averaged over the seeds, with the street exit rates set by ``factors``."""
    overrides = {f"territory.{name}.transitions.{build_national.STREET_EXIT}.rate_per_year": round(amp_rate * f, 4) for name, f in factors.items()}
    simulated, targets, names = [], None, []
    for seed in args.seeds:
        scenario = scale_scenario(load_scenario(build_national.SCENARIO, years=args.years, seed=seed, overrides=overrides), args.scale)
        state = scenario.pathway.state_index[STATE]
        names = [t.name for t in scenario.territories]
        targets = np.array([t.initial[state][1] if state in t.initial else 0 for t in scenario.territories], dtype=float)
        ds = HousingModel(scenario).run()
        window = ds.occupancy_persons.sel(state=STATE).isel(time=slice(int(args.warmup_years * 12), None))
        simulated.append(window.mean("time").values)
    assert targets is not None
    return names, targets, np.mean(simulated, axis=0)


def write_fit(rows: list[dict[str, object]], args: argparse.Namespace, seconds: float) -> None:
    head = (
        "# Factors on Aix-Marseille-Provence's street exit rate, one per derived territory, fitted by\n"
        f"#   python scripts/calibrate_national.py --iterations {args.iterations} --years {args.years:g} --warmup-years {args.warmup_years:g} "
        f"--scale {args.scale:g} --seeds {','.join(map(str, args.seeds))}\n"
        f"# on {datetime.date.today().isoformat()} in {seconds:.0f} s, so that each territory's mean month-end street stock over years "
        f"{args.warmup_years:g} to {args.years:g} of the national baseline\n"
        "# equals its street count at the start (street_persons). simulated_before / _after: that mean with the factors of\n"
        "# the previous fit / with these (persons, scaled back to the whole population). Territories with their own\n"
        "# files (fitted: no) keep their own rates and are reported only. Written by the script: do not edit by hand.\n"
    )
    fields = ["territory", "factor", "fitted", "street_persons", "simulated_before", "simulated_after", "relative_error"]
    lines = [",".join(fields)] + [",".join(str(r[f]) for f in fields) for r in rows]
    text = head + "\n".join(lines) + "\n"
    write_atomic(build_national.STREET_EXIT_FIT, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--years", type=float, default=4.0)
    parser.add_argument("--warmup-years", type=float, default=1.0)
    parser.add_argument("--scale", type=float, default=1.0, help="run at this share of the population (faster, noisier)")
    parser.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[20250101])
    parser.add_argument("--dry-run", action="store_true", help="print the fit, write nothing")
    args = parser.parse_args()
    if not (0 < args.warmup_years < args.years):
        parser.error("need 0 < --warmup-years < --years")
    start = time.perf_counter()
    _, amp_rate = build_national.amp_fitted()
    previous = build_national.street_exit_factors()
    fitted_names = {p.stem for p in build_national.OUT_DIR.glob("*.yaml")}
    factors = {name: previous.get(name, 1.0) for name in sorted(fitted_names)}
    names, targets, before = street_stocks(factors, amp_rate, args)
    simulated = before
    for iteration in range(args.iterations):
        for i, name in enumerate(names):
            if name in factors and targets[i] > 0:
                step = min(max(simulated[i] / targets[i], STEP_BOUNDS[0]), STEP_BOUNDS[1])
                factors[name] = round(min(max(factors[name] * step, FACTOR_BOUNDS[0]), FACTOR_BOUNDS[1]), 3)
        _, _, simulated = street_stocks(factors, amp_rate, args)
        error = np.abs(simulated / np.where(targets > 0, targets, 1) - 1)
        print(f"iteration {iteration + 1}: street {simulated.sum() / args.scale:,.0f} persons against {targets.sum() / args.scale:,.0f}; "
              f"largest territory error {error.max():.1%} ({names[int(error.argmax())]})", flush=True)
    rows = [
        {
            "territory": name,
            "factor": factors.get(name, 1.0),
            "fitted": "yes" if name in factors else "no",
            "street_persons": round(targets[i] / args.scale),
            "simulated_before": round(before[i] / args.scale, 1),
            "simulated_after": round(simulated[i] / args.scale, 1),
            "relative_error": round(simulated[i] / targets[i] - 1, 4) if targets[i] > 0 else "",
        }
        for i, name in enumerate(names)
    ]
    for r in rows:
        print(f"  {r['territory']:28s} x{r['factor']:<6} {r['street_persons']:>7} {r['simulated_before']:>9} {r['simulated_after']:>9} {r['relative_error']}")
    if args.dry_run:
        return 0
    write_fit(rows, args, time.perf_counter() - start)
    return subprocess.call([sys.executable, str(Path(build_national.__file__))])


if __name__ == "__main__":
    raise SystemExit(main())
