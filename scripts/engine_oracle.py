"""Run every bundled scenario with the lda_sim found on the path and save each dataset, for
comparing two engines value by value (``--compare DIR_A DIR_B``).

Used during the port of the engine to the compiled core: the datasets of the Python engine (run
from a checkout of it, ``PYTHONPATH=OLD_CHECKOUT``) and of the compiled one must be identical.

    PYTHONPATH=/path/to/old python scripts/engine_oracle.py --out /tmp/old
    python scripts/engine_oracle.py --out /tmp/new
    python scripts/engine_oracle.py --compare /tmp/old /tmp/new
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (name, scenario file, years, scale or None, seed or None, trajectories)
CASES = [
    ("baseline", "configs/scenarios/baseline.yaml", 10, None, None, False),
    ("baseline-calibrated", "configs/scenarios/baseline.calibrated.yaml", 10, None, None, False),
    ("hotel-to-iml", "configs/scenarios/hotel-to-iml.yaml", 10, None, None, False),
    ("logement-d-abord", "configs/scenarios/logement-d-abord.yaml", 10, None, None, False),
    ("plan2", "configs/scenarios/plan2.yaml", 10, None, None, False),
    ("prevention", "configs/scenarios/prevention.yaml", 10, None, None, False),
    ("staircase", "configs/scenarios/staircase.yaml", 10, None, None, False),
    ("national-2pc", "configs/scenarios/national.yaml", 10, 0.02, None, False),
    ("ex-baseline-amp", "examples/baseline-amp.yaml", 5, None, None, True),
    ("ex-compliant", "examples/compliant-households.yaml", 5, None, None, False),
    ("ex-reluctant", "examples/reluctant-households.yaml", 5, None, None, False),
    ("ex-families-first", "examples/families-first.yaml", 5, None, None, False),
    ("ex-medical-respite", "examples/medical-respite.yaml", 5, None, None, False),
    ("ex-winter-plan", "examples/winter-plan.yaml", 5, None, None, False),
    ("small-seed7", "tests/data/scenario_small.yaml", 3, None, 7, True),
]


def run_all(out: Path, only: list[str]) -> None:
    import lda_sim
    from lda_sim.config.scenario import load_scenario
    from lda_sim.dataset.output import save_dataset
    from lda_sim.engine.model import HousingModel

    sys.path.insert(0, str(ROOT))
    out.mkdir(parents=True, exist_ok=True)
    print("lda_sim from", lda_sim.__file__)
    for name, path, years, scale, seed, trajectories in CASES:
        if only and name not in only:
            continue
        scenario = load_scenario(ROOT / path, years=years, seed=seed)
        if scale is not None:
            from lda_sim.analysis.scaling import scale_scenario

            scenario = scale_scenario(scenario, scale)
        started = time.perf_counter()
        model = HousingModel(scenario, trajectories=trajectories)
        model.run_until(model.horizon)
        ds = model.dataset()
        elapsed = time.perf_counter() - started
        ds.attrs.pop("lda_sim_version", None)
        save_dataset(ds, out / f"{name}.nc")
        if trajectories:
            from lda_sim.dataset.trajectories import trajectory_table

            trajectory_table(model).to_pickle(out / f"{name}.trajectories.pkl")
        print(f"{name}: {model.events_processed:,} events, {elapsed:.2f} s", flush=True)


def compare(a: Path, b: Path) -> int:
    import numpy as np
    import pandas as pd
    import xarray as xr

    bad = 0
    for fa in sorted(a.glob("*.nc")):
        fb = b / fa.name
        if not fb.exists():
            print(f"{fa.name}: missing in {b}")
            bad += 1
            continue
        # time_bnds is CF metadata written with the file (lda_sim.dataset.cf), not a result of the engine
        da, db = (xr.open_dataset(f).load().drop_vars("time_bnds", errors="ignore") for f in (fa, fb))
        diffs = []
        for v in sorted(set(da.variables) | set(db.variables)):
            if v not in da.variables or v not in db.variables:
                diffs.append(f"{v}: only in one")
                continue
            x, y = da[v].values, db[v].values
            same = x.shape == y.shape and (np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else np.array_equal(x, y))
            if not same:
                diffs.append(v)
        attrs = {k for k in set(da.attrs) | set(db.attrs) if str(da.attrs.get(k)) != str(db.attrs.get(k))}
        if attrs:
            diffs.append("attrs: " + ", ".join(sorted(attrs)))
        ta, tb = a / fa.name.replace(".nc", ".trajectories.pkl"), b / fa.name.replace(".nc", ".trajectories.pkl")
        if ta.exists():
            pa, pb = pd.read_pickle(ta), pd.read_pickle(tb) if tb.exists() else None
            if pb is None or not pa.equals(pb):
                diffs.append("trajectories")
        print(f"{fa.stem}: {'identical' if not diffs else 'DIFFERENT: ' + ', '.join(diffs)}")
        bad += bool(diffs)
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--compare", nargs=2, type=Path)
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    run_all(args.out, args.only)
