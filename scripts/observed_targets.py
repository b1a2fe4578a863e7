"""The "Observed targets" section of VALIDATION.md: the baseline against public figures.

    python scripts/observed_targets.py                          # 10 replicates, print the section
    python scripts/observed_targets.py --replicates 20 --workers 2 --validation VALIDATION.md
    python scripts/observed_targets.py --quick                   # 2 replicates of 2 years, no national run

Runs every scenario named in the targets table (``configs/validation/observed_targets.csv``) over
R replicates, seeded as ``lda-sim run --replicates R`` (seeds derived from the scenario's seed),
computes each indicator (``lda_sim.analysis.observed.INDICATORS``) replicate by replicate, and writes the
section: observed value, model mean, 10-90% band over replicates, tolerance, pass or fail, or "not
computed" when the dataset does not yet record what an indicator needs. With ``--validation`` the
section replaces the one between the ``observed-targets`` markers of that file (or is appended).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lda_sim.analysis.observed import as_rows, evaluate, insert_section, markdown_section, read_targets, run_targets  # noqa: E402

TARGETS = ROOT / "configs" / "validation" / "observed_targets.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default=str(TARGETS), help="targets table (CSV)")
    parser.add_argument("--replicates", type=int, default=10, help="replicates per scenario (default 10)")
    parser.add_argument("--years", type=float, default=None, help="years per run (default: each scenario's own)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1: in this process)")
    parser.add_argument("--quick", action="store_true", help="2 replicates of 2 years, without the national scenario")
    parser.add_argument("--out", default=None, help="write the section to this file (default: print it)")
    parser.add_argument("--csv", default=None, help="also write one row per target to this CSV file")
    parser.add_argument("--validation", default=None, help="insert the section into this markdown file (e.g. VALIDATION.md)")
    args = parser.parse_args(argv)

    targets = read_targets(args.targets)
    replicates, years = args.replicates, args.years
    if args.quick:
        replicates, years = 2, 2.0 if years is None else years
        targets_to_run = [t for t in targets if Path(t.scenario).name != "national.yaml"]
    else:
        targets_to_run = targets
    started = time.perf_counter()
    datasets = run_targets(targets_to_run, replicates, years=years, workers=args.workers)
    results = evaluate(targets, datasets)
    elapsed = time.perf_counter() - started
    span = f", {years:g} years a run" if years else ", each scenario over its own years"
    section = markdown_section(results, replicates=replicates, years=f"{span}, {len(datasets)} scenario(s) in {elapsed:.0f} s")
    if args.out:
        Path(args.out).write_text(section, encoding="utf-8")
    if args.csv:
        rows = as_rows(results)
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if args.validation:
        path = Path(args.validation)
        path.write_text(insert_section(path.read_text(encoding="utf-8") if path.exists() else "", section), encoding="utf-8")
    if not (args.out or args.validation):
        print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
