"""Which of the AMP baseline's assumptions drive the street and the waits?

Morris screening (SALib, on a local Dask cluster) of every scalar numeric value that
``configs/territories/aix-marseille-provence.yaml`` marks as an assumption, each varied over
[0.5, 1.5] x its value (``config.yaml``), on three outputs over the second year: persons on the
street, median wait for housing, median wait for a shelter. Writes ``results/indices.csv``,
``results/parameters.csv`` and a tornado chart per output, and prints the indices.

    python experiments/sensitivity-assumptions/run.py [--trajectories 3] [--workers 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import pandas as pd
import yaml

from lda_sim.analysis.planning import Lever
from lda_sim.analysis.sensitivity import sensitivity, tornado
from lda_sim.config.files import write_atomic
from lda_sim.config.scenario import load_scenario

HERE = Path(__file__).resolve().parent
SHARE = re.compile(r"(share|probability|weight)$")


#: Stay weights out of a state must sum to one: the weight of the edge back to the street is the
#: parameter, and the state's other stay weights are rescaled to keep the sum (filled in by
#: assumption_parameters: parameter path -> {other weight path: its base value}, and base values).
OTHERS: dict[str, dict[str, float]] = {}
BASE: dict[str, float] = {}


def expand(point: dict) -> dict:
    """The overrides of a sample point: each street weight with its state's other weights rescaled."""
    out = dict(point)
    for path, others in OTHERS.items():
        if path in point:
            factor = (1 - point[path]) / (1 - BASE[path])
            out.update({other: value * factor for other, value in others.items()})
    return out


def assumption_parameters(config: dict) -> list[Lever]:
    """A parameter for each scalar numeric assumption of the territory file, over its factor range;
    of stay weights, only the weight of the edge to the street (the others follow)."""
    scenario = load_scenario(HERE / config["scenario"])
    territory = scenario.territory(config["territory"])
    weights: dict[str, dict[str, float]] = {}
    for p in scenario.provenance:
        if p.file == territory.file and p.field.startswith("transitions.") and p.field.endswith(".weight"):
            edge = p.field[len("transitions."):-len(".weight")]
            weights.setdefault(edge.split("->")[0], {})[f"territory.{territory.name}.{p.field}"] = float(p.value)
    levers = []
    for p in scenario.provenance:
        if p.kind != "assumption" or p.file != territory.file or p.field in config["skip"]:
            continue
        if p.field.endswith(".weight"):
            origin, target = p.field[len("transitions."):-len(".weight")].split("->")
            if target != "street":
                continue
            path = f"territory.{territory.name}.{p.field}"
            OTHERS[path] = {k: v for k, v in weights[origin].items() if k != path}
            BASE[path] = float(p.value)
        if isinstance(p.value, bool) or not isinstance(p.value, (int, float)) or p.value == 0:
            continue  # mixes and laws are not scalars; a zero has no relative range
        low, high = p.value * config["low_factor"], p.value * config["high_factor"]
        if SHARE.search(p.field) and not p.field.endswith("weight"):
            high = min(high, 1.0)
        if low >= high:
            continue
        path = f"territory.{territory.name}.{p.field}"
        integer = isinstance(p.value, int)
        levers.append(Lever(path, float(int(low) if integer else low), float(int(high) if integer else high), integer))
    return levers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trajectories", type=int, default=None, help="Morris trajectories (default: config.yaml)")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (0: in this process)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="output folder (git-ignored)")
    args = parser.parse_args()
    config = yaml.safe_load((HERE / "config.yaml").read_text(encoding="utf-8"))
    params = assumption_parameters(config)
    started = time.perf_counter()
    # the scenario's horizon is the baseline's; the outputs' last month sets the runs' length
    result = sensitivity(HERE / config["scenario"], params, config["outputs"], method=config["method"],
                         trajectories=args.trajectories or config["trajectories"], workers=args.workers, log=print,
                         expand=expand)
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "indices.csv", lambda tmp: result.indices.to_csv(tmp, index=False, float_format="%.6g"))
    table = pd.DataFrame([{"parameter": p.path, "low": p.low, "high": p.high} for p in params])
    write_atomic(args.out / "parameters.csv", lambda tmp: table.to_csv(tmp, index=False))
    for i, output in enumerate(result.outputs):
        tornado(result, output).savefig(args.out / f"tornado-{i + 1}.png")
    print(result.format())
    print(f"\n{len(params)} parameters, {result.runs} runs in {time.perf_counter() - started:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
