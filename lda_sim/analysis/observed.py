"""Observed targets: the baseline against public figures, with bands over replicates.

A table of targets (``configs/validation/observed_targets.csv``) names, for each row, a scenario,
a territory, an indicator, the observed value with its unit, year and source, and a tolerance with
the reason for it. :func:`run_replicates` runs each scenario over ``R`` replicates seeded exactly as
``lda-sim run --replicates R`` (seeds derived from the scenario's seed by
:func:`lda_sim.analysis.ensemble.replicate_seeds`); :func:`evaluate` computes every indicator from the
datasets, replicate by replicate, and compares the mean over replicates with the observed value;
:func:`markdown_section` writes the "Observed targets" section of ``VALIDATION.md``
(``scripts/observed_targets.py``).

Each indicator is defined here from dataset variables (:data:`INDICATORS`, with its definition in
words). An indicator whose variable (or state) is not in the dataset gives a row "not computed:
variable X missing" instead of failing: the row stays in the table until the model records it.

Unless said otherwise, an indicator is read over the last 12 months of the run (the *window*):
stocks are the mean of the month-end values in the window, flows are summed over the window and
given per year. Territory ``*`` (written ``France`` in the table when the scenario is the national
one) sums the stocks and flows of all territories of the dataset before the indicator is formed.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

#: Months at the end of the run over which indicators are read.
WINDOW_MONTHS = 12

#: States of kind ``street`` that are not rough sleeping: Housing First participants between two
#: homes are followed by the programme's team (they are not in a street count's scope).
NOT_ROUGH_SLEEPING = ("housing_first_rehousing",)

#: The 115's shelters: the places the 115 fills from the street.
SHELTERS_115 = ("emergency_shelter", "hotel")


class NotComputed(Exception):
    """An indicator cannot be formed from this dataset (a variable or a state is missing)."""


# --------------------------------------------------------------------------------------------
# Reading a dataset
# --------------------------------------------------------------------------------------------
def _need(ds: xr.Dataset, *names: str) -> None:
    for name in names:
        if name not in ds.data_vars:
            raise NotComputed(f"variable {name} missing")


def _first_present(ds: xr.Dataset, *names: str) -> str:
    for name in names:
        if name in ds.data_vars:
            return name
    raise NotComputed(f"variable {' or '.join(names)} missing")


def _window(da: xr.DataArray, months: int) -> xr.DataArray:
    return da.isel(time=slice(-months, None)) if "time" in da.dims else da


def _territory(da: xr.DataArray, territory: str) -> xr.DataArray:
    """One territory, or the sum over all of them (``*``)."""
    if "territory" not in da.dims:
        return da
    if territory == "*":
        return da.sum("territory")
    if territory not in da.territory.values:
        raise NotComputed(f"territory {territory} not in the dataset")
    return da.sel(territory=territory)


def street_states(ds: xr.Dataset) -> list[str]:
    """States of kind ``street`` that count as rough sleeping (see :data:`NOT_ROUGH_SLEEPING`)."""
    return [str(s) for s, k in zip(ds.state.values, ds.state_kind.values) if k == "street" and s not in NOT_ROUGH_SLEEPING]


def shelter_states(ds: xr.Dataset) -> list[str]:
    """States of kind ``shelter`` (emergency shelter, hotel, insertion shelter, ...)."""
    return [str(s) for s, k in zip(ds.state.values, ds.state_kind.values) if k == "shelter"]


def _states(ds: xr.Dataset, names: Sequence[str]) -> list[str]:
    missing = [n for n in names if n not in ds.state.values]
    if missing:
        raise NotComputed(f"state {missing[0]} missing")
    return list(names)


def _stock(ds: xr.Dataset, var: str, states: Sequence[str], territory: str, months: int) -> float:
    """Mean over the window of the month-end ``var`` summed over ``states``."""
    _need(ds, var)
    da = _territory(_window(ds[var].sel(state=list(states)), months), territory).sum("state")
    return float(da.mean("time"))


def _transitions(ds: xr.Dataset, sources: Sequence[str], targets: Sequence[str]) -> list[str]:
    src = ds.transition_source.values
    tgt = ds.transition_target.values
    return [str(t) for t, s, g in zip(ds.transition.values, src, tgt) if s in sources and g in targets]


def _flow_per_year(ds: xr.Dataset, sources: Sequence[str], targets: Sequence[str], territory: str, months: int, var: str = "flow") -> float:
    """Moves from any of ``sources`` to any of ``targets`` in the window, per year."""
    _need(ds, var)
    keys = _transitions(ds, sources, targets)
    if not keys:
        return 0.0
    da = _territory(_window(ds[var].sel(transition=keys), months), territory).sum("transition")
    n = int(da.sizes.get("time", 1))
    return float(da.sum()) * 12.0 / n


def _per_year(ds: xr.Dataset, var: str, territory: str, months: int) -> float:
    """A flow variable of dims (territory, time) summed over the window, per year."""
    _need(ds, var)
    da = _territory(_window(ds[var], months), territory)
    extra = [d for d in da.dims if d != "time"]
    if extra:
        da = da.sum(extra)
    n = int(da.sizes.get("time", 1))
    return float(da.sum()) * 12.0 / n


# --------------------------------------------------------------------------------------------
# Indicators
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Indicator:
    """An indicator: its definition in words and the function that forms it from one replicate."""

    name: str
    unit: str
    definition: str
    compute: Callable[[xr.Dataset, str, int], float]


def _street_persons(ds: xr.Dataset, territory: str, months: int) -> float:
    return _stock(ds, "occupancy_persons", street_states(ds), territory, months)


def _sheltered_115(ds: xr.Dataset, territory: str, months: int) -> float:
    return _stock(ds, "occupancy_persons", _states(ds, SHELTERS_115), territory, months)


def _sheltered_all(ds: xr.Dataset, territory: str, months: int) -> float:
    return _stock(ds, "occupancy_persons", _states(ds, (*SHELTERS_115, "insertion_shelter")), territory, months)


def _unmet_115(ds: xr.Dataset, territory: str, months: int) -> float:
    """The calibration's ``unmet_request_share``: requests that lapsed unmet / requests."""
    _need(ds, "requests_115", "requests_115_unmet")
    requests = _per_year(ds, "requests_115", territory, months)
    if requests <= 0:
        raise NotComputed("no 115 request in the window")
    return _per_year(ds, "requests_115_unmet", territory, months) / requests


def _lettings_from(kind: str) -> Callable[[xr.Dataset, str, int], float]:
    def compute(ds: xr.Dataset, territory: str, months: int) -> float:
        target = _social_states(ds)
        if kind == "street":
            sources = street_states(ds)
        elif kind == "shelter":
            sources = shelter_states(ds)
        else:  # every origin in the model: street, shelters and temporary housing (résidence sociale, IML)
            sources = [str(s) for s, k in zip(ds.state.values, ds.state_kind.values) if k != "exit" and str(s) not in target]
        return _flow_per_year(ds, sources, target, territory, months)

    return compute


def _social_states(ds: xr.Dataset) -> list[str]:
    """``social_housing``, else the states supplied by the turnover of a stock (those with
    lettings recorded in the dataset)."""
    if "social_housing" in ds.state.values:
        return ["social_housing"]
    if "lettings" in ds.data_vars:
        let = ds["lettings"].sum([d for d in ds["lettings"].dims if d != "state"])
        found = [str(s) for s, n in zip(let.state.values, let.values) if n > 0]
        if found:
            return found
    raise NotComputed("state social_housing missing")


def _street_share_of_lettings(ds: xr.Dataset, territory: str, months: int) -> float:
    street = _lettings_from("street")(ds, territory, months)
    shelter = _lettings_from("shelter")(ds, territory, months)
    if street + shelter <= 0:
        raise NotComputed("no social letting to a homeless household in the window")
    return street / (street + shelter)


def _regular_share_shelter(ds: xr.Dataset, territory: str, months: int) -> float:
    var = _first_present(ds, "occupancy_persons_regular", "occupancy_persons_regular_status", "occupancy_regular_status")
    total_var = "occupancy_persons" if var.startswith("occupancy_persons") else "occupancy"
    states = shelter_states(ds)
    regular = _stock(ds, var, states, territory, months)
    total = _stock(ds, total_var, states, territory, months)
    if total <= 0:
        raise NotComputed("nobody in shelters in the window")
    return regular / total


def _family_share_street(ds: xr.Dataset, territory: str, months: int) -> float:
    var = _first_present(ds, "occupancy_persons_by_kind", "occupancy_by_kind")
    da = ds[var]
    if "household_kind" not in da.dims:
        raise NotComputed(f"variable {var} has no household_kind dimension")
    if "family" not in da.household_kind.values:
        raise NotComputed("household kind family missing")
    street = _territory(_window(da.sel(state=street_states(ds)), months), territory).sum("state")
    total = street.sum("household_kind")
    mean_total = float(total.mean("time"))
    if mean_total <= 0:
        raise NotComputed("nobody on the street in the window")
    return float(street.sel(household_kind="family").mean("time")) / mean_total


INDICATORS: dict[str, Indicator] = {
    i.name: i
    for i in (
        Indicator(
            "street_persons", "persons",
            "mean over the window of the month-end persons in the states of kind street (occupancy_persons), "
            "Housing First participants between two homes excepted: a one-night street count",
            _street_persons,
        ),
        Indicator(
            "sheltered_persons_115", "persons",
            "mean over the window of the month-end persons in emergency_shelter + hotel (occupancy_persons): "
            "the persons sheltered on a night by the 115's places",
            _sheltered_115,
        ),
        Indicator(
            "sheltered_persons_all", "persons",
            "mean over the window of the month-end persons in emergency_shelter + hotel + insertion_shelter (occupancy_persons)",
            _sheltered_all,
        ),
        Indicator(
            "unmet_115_share", "share",
            "115 requests that lapsed unmet in the window (requests_115_unmet) / 115 requests in the window "
            "(requests_115), as the calibration's unmet_request_share",
            _unmet_115,
        ),
        Indicator(
            "social_lettings_from_street_per_year", "lettings per year",
            "moves from the street states into social_housing in the window (flow), per year",
            _lettings_from("street"),
        ),
        Indicator(
            "social_lettings_from_shelter_per_year", "lettings per year",
            "moves from the states of kind shelter (emergency shelter, hotel, CHRS) into social_housing in the window (flow), per year",
            _lettings_from("shelter"),
        ),
        Indicator(
            "social_lettings_to_homeless_per_year", "lettings per year",
            "moves from every state of the model (street, shelters, temporary housing: résidence sociale, IML) into "
            "social_housing in the window (flow), per year: the lettings of the model's share to homeless households, "
            "whose national figure (S7) counts households in shelters and temporary housing as without a home",
            _lettings_from("homeless"),
        ),
        Indicator(
            "social_lettings_street_share", "share",
            "lettings from the street / lettings from the street and the shelters, into social_housing, in the window (flow)",
            _street_share_of_lettings,
        ),
        Indicator(
            "regular_status_share_shelter", "share",
            "persons (else households) with a regular residence status in the states of kind shelter / all of them, "
            "means of the month-ends of the window (occupancy_persons_regular_status or occupancy_regular_status)",
            _regular_share_shelter,
        ),
        Indicator(
            "family_share_street", "share",
            "persons (else households) of kind family in the street states / all of them, means of the month-ends "
            "of the window (occupancy_persons_by_kind or occupancy_by_kind)",
            _family_share_street,
        ),
    )
}


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One row of the targets table."""

    scenario: str  # scenario file, relative to the table's folder
    territory: str  # territory name, or "*" for the sum over all territories
    indicator: str
    observed: float
    unit: str
    year: str
    source: str
    tolerance: float
    tolerance_kind: str  # "relative" (a share of the observed value) or "absolute" (in its unit)
    tolerance_reason: str
    label: str = ""  # how the territory is shown (default: its name)
    note: str = ""

    @property
    def tolerance_abs(self) -> float:
        return self.tolerance * abs(self.observed) if self.tolerance_kind == "relative" else self.tolerance

    @property
    def tolerance_text(self) -> str:
        if self.tolerance_kind == "relative":
            return f"±{self.tolerance:.0%}"
        return f"±{_fmt(self.tolerance)}"


COLUMNS = ("scenario", "territory", "label", "indicator", "observed", "unit", "year", "source", "tolerance", "tolerance_kind", "tolerance_reason", "note")


def read_targets(path: str | Path) -> list[Target]:
    """The targets of a CSV table (columns :data:`COLUMNS`); scenario paths are made absolute."""
    path = Path(path)
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            missing = [c for c in COLUMNS if c not in row]
            if missing:
                raise ValueError(f"{path}:{i}: missing column(s) {', '.join(missing)}")
            if row["indicator"] not in INDICATORS:
                raise ValueError(f"{path}:{i}: unknown indicator {row['indicator']!r} (known: {', '.join(INDICATORS)})")
            if row["tolerance_kind"] not in ("relative", "absolute"):
                raise ValueError(f"{path}:{i}: tolerance_kind must be 'relative' or 'absolute', not {row['tolerance_kind']!r}")
            if not row["source"].strip() or not row["tolerance_reason"].strip():
                raise ValueError(f"{path}:{i}: every target needs a source and a reason for its tolerance")
            scenario = (path.parent / row["scenario"]).resolve()
            rows.append(Target(
                scenario=str(scenario), territory=row["territory"], indicator=row["indicator"], observed=float(row["observed"]),
                unit=row["unit"], year=row["year"], source=row["source"], tolerance=float(row["tolerance"]),
                tolerance_kind=row["tolerance_kind"], tolerance_reason=row["tolerance_reason"], label=row["label"], note=row["note"],
            ))
    return rows


@dataclass
class TargetResult:
    """A target with the model's values over replicates."""

    target: Target
    values: list[float] = field(default_factory=list)  # one per replicate
    not_computed: str = ""  # the reason, when the indicator cannot be formed

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else math.nan

    @property
    def band(self) -> tuple[float, float]:
        if not self.values:
            return math.nan, math.nan
        low, high = np.quantile(self.values, [0.1, 0.9])
        return float(low), float(high)

    @property
    def passed(self) -> bool | None:
        """Whether the mean over replicates is within the tolerance of the observed value."""
        if self.not_computed or not self.values or not math.isfinite(self.mean):
            return None
        return abs(self.mean - self.target.observed) <= self.target.tolerance_abs + 1e-12

    @property
    def status(self) -> str:
        if self.not_computed:
            return f"not computed: {self.not_computed}"
        return {True: "pass", False: "**FAIL**", None: "n/a"}[self.passed]


def replicates_of(ds: xr.Dataset) -> list[xr.Dataset]:
    """The replicates of a dataset (one if it has no ``replicate`` dimension)."""
    if "replicate" not in ds.dims:
        return [ds]
    return [ds.isel(replicate=i) for i in range(ds.sizes["replicate"])]


def evaluate(targets: Iterable[Target], datasets: Mapping[str, xr.Dataset], months: int = WINDOW_MONTHS) -> list[TargetResult]:
    """Each target's indicator in every replicate of the dataset of its scenario."""
    results = []
    for target in targets:
        result = TargetResult(target)
        ds = datasets.get(target.scenario)
        if ds is None:
            result.not_computed = f"scenario {Path(target.scenario).name} not run"
            results.append(result)
            continue
        indicator = INDICATORS[target.indicator]
        try:
            result.values = [indicator.compute(r, target.territory, months) for r in replicates_of(ds)]
        except NotComputed as exc:
            result.values, result.not_computed = [], str(exc)
        results.append(result)
    return results


# --------------------------------------------------------------------------------------------
# Running the scenarios
# --------------------------------------------------------------------------------------------
#: The dataset variables the indicators read (a run keeps only these, so that many replicates of
#: the national scenario fit in memory).
VARIABLES = (
    "occupancy", "occupancy_persons", "flow", "lettings", "lettings_unused", "requests_115",
    "requests_115_unmet", "occupancy_persons_regular", "occupancy_regular_status", "occupancy_persons_regular_status", "occupancy_by_kind",
    "occupancy_persons_by_kind",
)


def _run_lean(spec: Any) -> xr.Dataset:
    """One run, keeping only :data:`VARIABLES` (module level: picklable for the process pool)."""
    from .ensemble import run_one

    ds = run_one(spec)
    return ds[[v for v in VARIABLES if v in ds.data_vars]].load()


def run_replicates(scenario: str | Path, replicates: int, *, years: float | None = None, workers: int = 1, seed: int | None = None) -> xr.Dataset:
    """``replicates`` runs of a scenario with the seeds of ``lda-sim run --replicates`` (derived from
    the scenario's seed, or ``seed``), stacked along a ``replicate`` dimension. Runs in this process
    (``workers`` <= 1) or in a process pool; the results do not depend on ``workers``."""
    from ..config.scenario import load_scenario
    from .ensemble import plan_runs
    from .validation import _map

    root = load_scenario(scenario).seed if seed is None else seed
    specs = plan_runs([str(scenario)], seed=root, replicates=replicates, years=years)
    runs = _map(_run_lean, specs, workers)
    ds = xr.concat(runs, dim="replicate", combine_attrs="drop_conflicts")
    return ds.assign_coords(replicate=np.arange(len(runs)), seed=("replicate", [s.seed for s in specs]))


def run_targets(targets: Sequence[Target], replicates: int, *, years: float | None = None, workers: int = 1) -> dict[str, xr.Dataset]:
    """The datasets of every scenario the targets name."""
    return {path: run_replicates(path, replicates, years=years, workers=workers) for path in dict.fromkeys(t.scenario for t in targets)}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.0f}"
    return f"{x:.3g}"


def markdown_section(results: Sequence[TargetResult], *, replicates: int, years: str = "", months: int = WINDOW_MONTHS, heading: str = "## Observed targets") -> str:
    """The "Observed targets" section of VALIDATION.md."""
    lines = [
        heading,
        "",
        f"The model's indicators against public figures (`configs/validation/observed_targets.csv`), over {replicates} "
        f"replicates seeded as `lda-sim run --replicates {replicates}` (seeds derived from each scenario's seed){years}; "
        f"each indicator is read over the last {months} months of the run (definitions below). "
        "A target passes when the mean over replicates is within its tolerance of the observed value; the 10–90% band "
        "shows the spread over replicates. \"not computed\" means the dataset does not record what the indicator needs yet.",
        "",
        "| territory | indicator | observed | unit | year | source | model mean | 10–90% | tolerance | result |",
        "|---|---|---:|---|---|---|---:|---|---:|---|",
    ]
    for r in results:
        t = r.target
        low, high = r.band
        band = f"{_fmt(low)} – {_fmt(high)}" if r.values else "—"
        lines.append(
            f"| {t.label or t.territory} | `{t.indicator}` | {_fmt(t.observed)} | {t.unit} | {t.year or '—'} | {t.source} | "
            f"{_fmt(r.mean)} | {band} | {t.tolerance_text} | {r.status} |"
        )
    lines += ["", "Tolerances:", ""]
    for r in results:
        t = r.target
        note = f" {t.note.rstrip('.')}." if t.note else ""
        lines.append(f"- {t.label or t.territory}, `{t.indicator}` ({t.tolerance_text}): {t.tolerance_reason}.{note}")
    used = list(dict.fromkeys(r.target.indicator for r in results))
    lines += ["", "Indicators:", ""]
    lines += [f"- `{name}` ({INDICATORS[name].unit}): {INDICATORS[name].definition}." for name in used]
    counts = {k: sum(1 for r in results if r.status.startswith(k)) for k in ("pass", "**FAIL**", "not computed")}
    lines += ["", f"{counts['pass']} pass, {counts['**FAIL**']} fail, {counts['not computed']} not computed.", ""]
    return "\n".join(lines)


START_MARK = "<!-- observed-targets:start -->"
END_MARK = "<!-- observed-targets:end -->"


def insert_section(document: str, section: str, before: str = "## Reproducing") -> str:
    """``document`` with ``section`` between the observed-targets markers; without the markers, the
    marked section goes before the heading ``before`` (or at the end)."""
    block = f"{START_MARK}\n{section.rstrip()}\n{END_MARK}"
    if START_MARK in document and END_MARK in document:
        head, rest = document.split(START_MARK, 1)
        _, tail = rest.split(END_MARK, 1)
        return head + block + tail
    marker = f"\n{before}\n"
    if before and marker in document:
        head, tail = document.split(marker, 1)
        return f"{head.rstrip()}\n\n{block}\n{marker}{tail}"
    return document.rstrip() + "\n\n" + block + "\n"


def kept_section(document: str) -> str | None:
    """The marked observed-targets section of ``document``, if any (to carry it over when the
    rest of the document is written anew)."""
    if START_MARK in document and END_MARK in document:
        return document.split(START_MARK, 1)[1].split(END_MARK, 1)[0].strip("\n")
    return None


def as_rows(results: Sequence[TargetResult]) -> list[dict[str, Any]]:
    """One plain record per target (for CSV or JSON output)."""
    out = []
    for r in results:
        low, high = r.band
        out.append({
            "territory": r.target.territory, "indicator": r.target.indicator, "observed": r.target.observed, "unit": r.target.unit,
            "source": r.target.source, "mean": r.mean, "p10": low, "p90": high, "tolerance": r.target.tolerance_abs,
            "passed": r.passed, "status": r.status,
        })
    return out
