"""Common random numbers: how much they shrink the noise of a scenario difference.

Runs a baseline and a policy scenario over R replicates twice: with common random numbers (the
same seed for both scenarios in each replicate) and with independent streams (other seeds for the
policy scenario), and compares the spread across replicates of the difference in an indicator
(persons on the street, time-averaged over the run, per territory).

Usage: python benchmarks/crn_variance.py [BASELINE] [POLICY] [--replicates R] [--years N] [--only TERRITORY]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lda_sim.analysis.ensemble import RunSpec, replicate_seeds, run_one

SCENARIOS = Path(__file__).resolve().parent.parent / "configs" / "scenarios"


def street(path: str, seed: int, years: float) -> np.ndarray:
    ds = run_one(RunSpec(path, seed, years))
    persons = ds.occupancy_persons.sel(state="street").mean("time")  # month-end stocks, averaged
    return persons.values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", nargs="?", default=str(SCENARIOS / "baseline.yaml"))
    parser.add_argument("policy", nargs="?", default=str(SCENARIOS / "prevention.yaml"))
    parser.add_argument("--replicates", type=int, default=8)
    parser.add_argument("--years", type=float, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    seeds = replicate_seeds(args.seed, args.replicates)
    independent = replicate_seeds(args.seed + 1_000_003, args.replicates)
    base = np.array([street(args.baseline, s, args.years) for s in seeds])
    crn = np.array([street(args.policy, s, args.years) for s in seeds]) - base
    ind = np.array([street(args.policy, s, args.years) for s in independent]) - base
    from lda_sim.config.scenario import load_scenario

    names = [t.name for t in load_scenario(args.baseline).territories]
    print(f"{Path(args.policy).stem} - {Path(args.baseline).stem}: persons on the street (mean of month ends), "
          f"{args.replicates} replicates, {args.years:g} years")
    print(f"{'territory':<26}{'mean diff':>10}{'sd CRN':>10}{'sd indep.':>11}{'ratio':>8}")
    for i, name in enumerate(names):
        sd_crn, sd_ind = crn[:, i].std(ddof=1), ind[:, i].std(ddof=1)
        print(f"{name:<26}{crn[:, i].mean():>10.1f}{sd_crn:>10.1f}{sd_ind:>11.1f}{sd_crn / sd_ind:>8.2f}")


if __name__ == "__main__":
    main()
