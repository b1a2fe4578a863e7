"""Calibration of territories to observed figures (``lda-sim calibrate``).

A targets file (CSV) lists, one row per target, the territory, the target's name, the simulated
statistic to compare (see :data:`STATISTICS`), the observed value and its source, and the
territory parameter fitted for it with its bounds::

    territory,target,statistic,observed,unit,year,source,note,parameter,lower,upper,weight
    aix-marseille-provence,street_count_night,persons:street,442,persons,2024,S22,...,transitions.street->private_housing.rate_per_year,0.5,12,1

* ``parameter`` is a path into the territory file (``inflows.other.households_per_year``,
  ``transitions.street->exit.rate_per_year``, ``states.hotel.stay.median_days``,
  ``states.social_housing.share_to_homeless``...). A ``*`` in the path
  (``inflows.*.households_per_year``) fits one common factor on every matching value; its bounds
  are bounds on the factor. A target informed by several parameters takes several rows (same
  target, same observed value); a row without a parameter is a target checked and fitted to, but
  that moves no parameter of its own. ``weight`` 0 reports a target without fitting to it.
* The fit minimises the weighted sum of squared relative errors with
  :func:`scipy.optimize.least_squares` (trust-region reflective, bounds), in log-scaled
  coordinates, within a budget of evaluations. Replicate noise is handled with common random
  numbers: every candidate runs the same seeds (households keep their own random streams), and
  each statistic is the mean over those seeds; finite-difference steps are a few percent of the
  parameter, well above what remains of the noise.
* The result is written as a calibrated copy of each territory file, where each fitted value is
  wrapped as ``{value: X, derived: "fitted by lda-sim calibrate to <target> = <observed>
  (<source>)", source: [...], note: "was ..."}`` and the file is otherwise unchanged byte for byte
  (comments included), plus a calibrated scenario pointing at it, plus a fit report.
"""

from __future__ import annotations

import csv
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import yaml

from ..config.provenance import is_wrapped
from ..config.scenario import Scenario, load_scenario, load_territory
from ..config.schema import TERRITORY_SCHEMA
from ..config.timebase import MONTH_DAYS
from .validation import MoveLog, process_context, run_tracked

FITTED_PREFIX = "fitted by lda-sim calibrate to"


# --------------------------------------------------------------------------------------------
# Simulated statistics
# --------------------------------------------------------------------------------------------
@dataclass
class RunView:
    """What a statistic may look at: one territory of one run, and the months of the window."""

    ds: xr.Dataset  # the run's dataset restricted to the territory
    scenario: Scenario
    territory: int
    start: int  # first month of the window
    stop: int  # month after the window
    log: MoveLog | None = None

    @property
    def years(self) -> float:
        return (self.stop - self.start) / 12

    def states(self, names: Sequence[str]) -> list[str]:
        known = set(self.ds.state.values.tolist())
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown state(s) {unknown} (states: {', '.join(map(str, self.ds.state.values))})")
        return list(names)

    def window(self, da: xr.DataArray) -> xr.DataArray:
        return da.isel(time=slice(self.start, self.stop))


def _persons(view: RunView, states: list[str]) -> float:
    return float(view.window(view.ds.occupancy_persons.sel(state=states).sum("state")).mean())


def _households(view: RunView, states: list[str]) -> float:
    return float(view.window(view.ds.occupancy.sel(state=states).sum("state")).mean())


def _persons_entering(view: RunView, states: list[str]) -> xr.DataArray:
    """Persons entering the set of states from outside it, per month (arrivals included)."""
    ds = view.ds
    fp = ds.flow_persons
    into = fp.sel(transition=fp.transition_target.isin(states) & ~fp.transition_source.isin(states)).sum("transition")
    pathway = view.scenario.pathway
    causes = [f.cause for f in view.scenario.territories[view.territory].inflows if pathway.states[f.entry].name in states]
    if causes:
        into = into + ds.entries_persons.sel(cause=causes).sum("cause")
    return into


def _admissions_persons_per_year(view: RunView, states: list[str]) -> float:
    return float(view.window(_persons_entering(view, states)).sum()) / view.years


def _ever_in_year_persons(view: RunView, states: list[str]) -> float:
    """Persons in the set at least once in a year: those there at the start of the year plus those
    entering it during the year (a person entering twice in a year counts twice: an upper bound).
    Mean over the whole years of the window."""
    stock = view.ds.occupancy_persons.sel(state=states).sum("state").values
    entering = _persons_entering(view, states).values
    initial = float(view.ds.initial_occupancy_persons.sel(state=states).sum())
    values = []
    for y0 in range(view.start, view.stop - 11, 12):
        at_start = initial if y0 == 0 else float(stock[y0 - 1])
        values.append(at_start + float(entering[y0 : y0 + 12].sum()))
    return float(np.mean(values)) if values else math.nan


def _lettings_per_year(view: RunView, states: list[str]) -> float:
    return float(view.window(view.ds.lettings.sel(state=states).sum("state")).sum()) / view.years


def _lettings_used_per_year(view: RunView, states: list[str]) -> float:
    used = view.ds.lettings.sel(state=states).sum("state") - view.ds.lettings_unused.sel(state=states).sum("state")
    return float(view.window(used).sum()) / view.years


def _stays(view: RunView, states: list[str]) -> np.ndarray:
    """Stays in the states begun in the window (days); those still going on at the horizon are
    +inf (they are long: fine for a median, not for a mean)."""
    if view.log is None:
        raise RuntimeError("stay statistics need a tracked run")
    index = [view.scenario.pathway.state_index[s] for s in states]
    t0, t1 = view.start * MONTH_DAYS, view.stop * MONTH_DAYS
    rows = [(a, b) for t, s, a, b, _ in view.log.stays if t == view.territory and s in index and t0 <= a < t1]
    rows += [(a, b) for t, s, a, b, _ in view.log.open_rows if t == view.territory and s in index and t0 <= a < t1]
    if not rows:
        return np.zeros(0)
    arr = np.array(rows, dtype=float)
    return np.where(np.isnan(arr[:, 1]), np.inf, arr[:, 1] - arr[:, 0])


def _median_stay_days(view: RunView, states: list[str]) -> float:
    d = _stays(view, states)
    return float(np.median(d)) if d.size else math.nan


def _mean_stay_days(view: RunView, states: list[str]) -> float:
    """Mean stay by Little's law over the window: mean persons / persons entering per day."""
    entering = float(view.window(_persons_entering(view, states)).sum()) / (view.years * 365.25)
    return _persons(view, states) / entering if entering else math.nan


def _mean_wait_days(view: RunView, states: list[str]) -> float:
    served = view.window(view.ds.served.sel(state=states)).values.astype(float)
    means = view.window(view.ds.wait_days.sel(state=states, statistic="mean")).values
    ok = served > 0
    return float((means[ok] * served[ok]).sum() / served[ok].sum()) if ok.any() else math.nan


def _unmet_request_share(view: RunView, states: list[str]) -> float:
    """Share of the requests to the 115 that lapsed unmet (the states are not used: write
    ``unmet_request_share:street``)."""
    requests = float(view.window(view.ds.requests_115).sum())
    return float(view.window(view.ds.requests_115_unmet).sum()) / requests if requests else math.nan


def _regular_share(view: RunView, states: list[str]) -> float:
    """Share of the persons in the states (month ends) who have a regular residence status."""
    persons = float(view.window(view.ds.occupancy_persons.sel(state=states)).sum())
    return float(view.window(view.ds.occupancy_persons_regular.sel(state=states)).sum()) / persons if persons else math.nan


def _not_calling_share(view: RunView, states: list[str]) -> float:
    """Share of the street households (month ends) who do not ask the 115 (the states are not
    used: write ``not_calling_share:street``)."""
    street = float(view.window(view.ds.occupancy.sel(state="street")).sum())
    return float(view.window(view.ds.street_not_calling).sum()) / street if street else math.nan


def _requests_per_year(view: RunView, states: list[str]) -> float:
    """Requests (calls) to the 115 per year (the states are not used)."""
    return float(view.window(view.ds.requests_115).sum()) / view.years


@dataclass(frozen=True)
class Statistic:
    function: Callable[[RunView, list[str]], float]
    description: str
    needs_stays: bool = False


#: Simulated statistics a target may name, as ``name:state+state``.
STATISTICS: dict[str, Statistic] = {
    "persons": Statistic(_persons, "mean of the month-end persons in the states (a one-night count)"),
    "households": Statistic(_households, "mean of the month-end households in the states"),
    "ever_in_year_persons": Statistic(
        _ever_in_year_persons,
        "persons in the states at least once in a year: those there at the start plus those entering during the year",
    ),
    "admissions_persons_per_year": Statistic(_admissions_persons_per_year, "persons entering the states from outside them, per year"),
    "lettings_per_year": Statistic(_lettings_per_year, "lettings of a turnover-supplied stock offered to homeless households, per year"),
    "lettings_used_per_year": Statistic(_lettings_used_per_year, "lettings that housed a homeless household, per year"),
    "median_stay_days": Statistic(_median_stay_days, "median stay of the households entering the states in the window", True),
    "mean_stay_days": Statistic(_mean_stay_days, "mean stay in the set of states (Little's law: persons / entries per day)"),
    "mean_wait_days": Statistic(_mean_wait_days, "mean wait of the households served by the states' waiting lists"),
    "unmet_request_share": Statistic(_unmet_request_share, "share of the requests to the 115 that lapsed unmet"),
    "requests_per_year": Statistic(_requests_per_year, "requests (calls) to the 115 per year"),
    "regular_share": Statistic(_regular_share, "share of the persons in the states with a regular residence status"),
    "not_calling_share": Statistic(_not_calling_share, "share of the street households who do not ask the 115"),
}


def parse_statistic(text: str) -> tuple[str, list[str]]:
    """``"persons:emergency_shelter+hotel"`` -> ``("persons", ["emergency_shelter", "hotel"])``."""
    name, _, states = text.partition(":")
    name = name.strip()
    if name not in STATISTICS:
        raise ValueError(f"unknown statistic {name!r} (known: {', '.join(STATISTICS)})")
    names = [s.strip() for s in states.split("+") if s.strip()]
    if not names:
        raise ValueError(f"statistic {text!r} names no state: write {name}:state or {name}:state+state")
    return name, names


# --------------------------------------------------------------------------------------------
# Targets and parameters
# --------------------------------------------------------------------------------------------
@dataclass
class Target:
    territory: str
    name: str
    statistic: str
    observed: float
    unit: str = ""
    year: str = ""
    sources: tuple[str, ...] = ()
    note: str = ""
    weight: float = 1.0
    parameters: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        src = ", ".join(self.sources)
        return f"{self.name} = {self.observed:g}" + (f" ({src})" if src else "")


@dataclass
class Parameter:
    territory: str
    path: str
    lower: float
    upper: float
    initial: float = math.nan  # value (or factor 1 for a common factor) in the original file
    targets: list[Target] = field(default_factory=list)

    @property
    def is_factor(self) -> bool:
        return "*" in self.path

    @property
    def key(self) -> tuple[str, str]:
        return (self.territory, self.path)


class CalibrationError(ValueError):
    """A problem with a targets file or a parameter path (message names the file and row)."""


_REQUIRED = ("territory", "target", "statistic", "observed")


def read_targets(path: str | Path) -> tuple[list[Target], list[Parameter]]:
    """Read a targets CSV; return the targets and the parameters to fit (with their targets)."""
    file = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(line for line in fh if not line.lstrip().startswith("#")))
    except FileNotFoundError:
        raise CalibrationError(f"{file}: file not found") from None
    if not rows:
        raise CalibrationError(f"{file}: no target rows")
    missing = [c for c in _REQUIRED if c not in rows[0]]
    if missing:
        raise CalibrationError(f"{file}: missing column(s) {', '.join(missing)} (columns: {', '.join(rows[0])})")
    targets: dict[tuple[str, str], Target] = {}
    params: dict[tuple[str, str], Parameter] = {}
    for i, row in enumerate(rows, start=2):
        where = f"{file}: row {i}"
        row = {k: (v or "").strip() for k, v in row.items() if k}
        try:
            parse_statistic(row["statistic"])
            observed = float(row["observed"])
            weight = float(row.get("weight") or 1)
        except ValueError as exc:
            raise CalibrationError(f"{where}: {exc}") from None
        if not (math.isfinite(observed) and observed > 0):
            raise CalibrationError(f"{where}: observed value must be a positive number, got {row['observed']!r}")
        key = (row["territory"], row["target"])
        target = targets.get(key)
        if target is None:
            target = targets[key] = Target(
                territory=row["territory"], name=row["target"], statistic=row["statistic"], observed=observed,
                unit=row.get("unit", ""), year=row.get("year", ""),
                sources=tuple(s for s in re.split(r"[;,\s]+", row.get("source", "")) if s),
                note=row.get("note", ""), weight=weight,
            )
        elif target.observed != observed or target.statistic != row["statistic"]:
            raise CalibrationError(f"{where}: target {row['target']!r} repeated with another observed value or statistic")
        if row.get("parameter"):
            try:
                lower, upper = float(row["lower"]), float(row["upper"])
            except (KeyError, ValueError):
                raise CalibrationError(f"{where}: parameter {row['parameter']!r} needs numeric lower and upper bounds") from None
            if not (0 < lower < upper):
                raise CalibrationError(f"{where}: bounds must satisfy 0 < lower < upper, got {lower:g}, {upper:g}")
            pkey = (row["territory"], row["parameter"])
            p = params.get(pkey)
            if p is None:
                p = params[pkey] = Parameter(row["territory"], row["parameter"], lower, upper)
            elif (p.lower, p.upper) != (lower, upper):
                raise CalibrationError(f"{where}: parameter {row['parameter']!r} given with other bounds before")
            if row["parameter"] not in target.parameters:
                target.parameters.append(row["parameter"])
            if target not in p.targets:
                p.targets.append(target)
    if not any(t.weight > 0 for t in targets.values()):
        raise CalibrationError(f"{file}: every target has weight 0: nothing to fit")
    return list(targets.values()), list(params.values())


# --- paths into territory files -------------------------------------------------------------
def _split(path: str) -> list[str]:
    return [p for p in path.split(".") if p]


def _sourced_depths(parts: Sequence[str]) -> list[int]:
    """Prefix lengths of ``parts`` at which the territory schema accepts a provenance wrapper."""
    depths: list[int] = []
    node: Any = TERRITORY_SCHEMA
    for depth, key in enumerate(parts, start=1):
        if not isinstance(node, dict):
            break
        props = node.get("properties", {})
        if key in props:
            node = props[key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            break
        if isinstance(node, dict) and "then" in node and "else" in node:  # sourced(...)
            depths.append(depth)
            node = node["else"]
    return depths


def expand_path(data: dict[str, Any], path: str) -> list[list[str]]:
    """Concrete key paths matching ``path`` (``*`` matches any key) in a territory's YAML data."""
    out: list[list[str]] = [[]]
    for key in _split(path):
        nxt: list[list[str]] = []
        for prefix in out:
            node = _get(data, prefix)
            if is_wrapped(node):
                node = node["value"]
            if not isinstance(node, dict):
                continue
            keys = list(node) if key == "*" else ([key] if key in node else [])
            nxt.extend(prefix + [k] for k in keys)
        out = nxt
    return out


def _get(data: Any, parts: Sequence[str]) -> Any:
    node = data
    for key in parts:
        if is_wrapped(node):
            node = node["value"]
        if not isinstance(node, dict) or key not in node:
            raise KeyError(".".join(parts))
        node = node[key]
    return node


def get_value(data: dict[str, Any], parts: Sequence[str]) -> float:
    """The number at a key path, through provenance wrappers."""
    node = _get(data, parts)
    if is_wrapped(node):
        node = node["value"]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise KeyError(".".join(parts))
    return float(node)


def set_value(data: dict[str, Any], parts: Sequence[str], value: float) -> None:
    """Set the number at a key path in place, keeping any wrapper around it."""
    parent = _get(data, parts[:-1]) if len(parts) > 1 else data
    if is_wrapped(parent):
        parent = parent["value"]
    leaf = parent[parts[-1]]
    if is_wrapped(leaf):
        leaf["value"] = value
    else:
        parent[parts[-1]] = value


# --------------------------------------------------------------------------------------------
# Writing calibrated files, keeping everything else as it was
# --------------------------------------------------------------------------------------------
def _compose_find(root: yaml.Node, parts: Sequence[str | int]) -> tuple[yaml.Node | None, yaml.Node, bool]:
    """The key node (None for a sequence item), the value node at a path of keys and indices, and
    whether the node sits inside a flow collection (``{...}`` or ``[...]``)."""
    key_node, node, in_flow = None, root, False
    for key in parts:
        in_flow = in_flow or bool(getattr(node, "flow_style", False))
        if isinstance(key, int):
            if not isinstance(node, yaml.SequenceNode) or key >= len(node.value):
                raise KeyError(str(key))
            key_node, node = None, node.value[key]
            continue
        if not isinstance(node, yaml.MappingNode):
            raise KeyError(".".join(map(str, parts)))
        for k, v in node.value:
            if k.value == key:
                key_node, node = k, v
                break
        else:
            raise KeyError(".".join(map(str, parts)))
    return key_node, node, in_flow


def _content_end(node: yaml.Node, text: str) -> int:
    """Index just after the last character of a node's own content (no trailing comments)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1], text)
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1], text)
    start, end = node.start_mark.index, node.end_mark.index
    return start + len(text[start:end].rstrip())


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, sort_keys=False, width=1 << 30).strip().removesuffix("...").strip()


def _render(value: Any, key_node: yaml.Node | None, node: yaml.Node, in_flow: bool = False) -> str:
    """YAML text for ``value`` in place of ``node``: a mapping in block context as a block (its
    innermost collections in flow style), anything else in flow style."""
    if not isinstance(value, dict) or key_node is None or in_flow:
        return _flow(value)
    block = yaml.safe_dump(value, default_flow_style=None, allow_unicode=True, sort_keys=False, width=100).rstrip("\n")
    if node.start_mark.line == key_node.start_mark.line:  # the old value was on the key's line
        indent = " " * (key_node.start_mark.column + 2)
        return "\n" + "\n".join(indent + line for line in block.splitlines())
    indent = " " * node.start_mark.column  # the old value was a block below the key
    lines = block.splitlines()
    return "\n".join([lines[0], *(indent + line for line in lines[1:])])


def replace_nodes(text: str, replacements: dict[tuple[str | int, ...], Any]) -> str:
    """Replace the YAML nodes at the given paths (keys and sequence indices) by new values,
    leaving the rest of the text, comments included, as it was."""
    root = yaml.compose(text)
    spans = []
    for parts, value in replacements.items():
        key_node, node, in_flow = _compose_find(root, parts)
        spans.append((node.start_mark.index, _content_end(node, text), _render(value, key_node, node, in_flow)))
    spans.sort(reverse=True)
    for (_start, end, _), nxt in zip(spans, [None, *spans[:-1]]):
        if nxt is not None and end > nxt[0]:
            raise ValueError("overlapping replacements")
    for start, end, new in spans:
        head = text[:start].rstrip(" ") if new.startswith("\n") else text[:start]
        text = head + new + text[end:]
    return text


def _wrap(original: Any, new_value: Any, derived: str, sources: Iterable[str]) -> dict[str, Any]:
    """The provenance wrapper of a fitted value, keeping the original's provenance in a note."""
    srcs: list[str] = []
    was = original
    note = ""
    if is_wrapped(original):
        was = original["value"]
        own = original.get("source", [])
        for s in [*sources, *([own] if isinstance(own, str) else own)]:
            if s not in srcs:
                srcs.append(s)
        for key in ("derived", "assumption"):
            if key in original:
                note = f"{key}: {' '.join(str(original[key]).split())}"
        if original.get("note"):
            note += ("; " if note else "") + "note: " + " ".join(str(original["note"]).split())
    else:
        srcs = list(dict.fromkeys(sources))
    wrapper: dict[str, Any] = {"value": new_value, "derived": derived}
    if srcs:
        wrapper["source"] = srcs
    wrapper["note"] = f"was {_flow(was)}" + (f" ({note})" if note else "")
    return wrapper


def _round(x: float) -> float:
    return float(f"{x:.4g}")


@dataclass
class Edit:
    """One fitted number: where it is, its new value, and why."""

    parts: list[str]
    value: float
    derived: str
    sources: tuple[str, ...]


def calibrated_text(text: str, edits: Sequence[Edit]) -> str:
    """The territory file's text with each edited number replaced by a fitted-value wrapper.

    Each edit is wrapped at the deepest position where the schema accepts a wrapper (a stay law's
    median is wrapped with its whole law). The result is checked: it must load to the original
    data with exactly those values changed.
    """
    data = yaml.safe_load(text)
    expected = yaml.safe_load(text)
    groups: dict[tuple[str, ...], list[Edit]] = {}
    for e in edits:
        depths = _sourced_depths(e.parts)
        if not depths:
            raise CalibrationError(f"{'.'.join(e.parts)}: not a parameter of a territory file that can carry a source")
        groups.setdefault(tuple(e.parts[: depths[-1]]), []).append(e)
    replacements: dict[tuple[str | int, ...], Any] = {}
    for wrap_at, group in groups.items():
        original = _get(data, wrap_at)
        inner = yaml.safe_load(yaml.safe_dump(original["value"] if is_wrapped(original) else original))
        for e in group:
            rel = e.parts[len(wrap_at):]
            if rel:
                set_value(inner, rel, e.value)
            else:
                inner = e.value
            set_value(expected, e.parts, e.value)
        derived = "; ".join(dict.fromkeys(e.derived for e in group))
        sources = tuple(dict.fromkeys(s for e in group for s in e.sources))
        wrapper = _wrap(original, inner, derived, sources)
        replacements[wrap_at] = wrapper
        _replace_in(expected, wrap_at, wrapper)
    new_text = replace_nodes(text, replacements)
    if yaml.safe_load(new_text) != expected:  # pragma: no cover - defensive
        raise RuntimeError("calibrated file does not load to the expected data")
    return new_text


def _replace_in(data: dict[str, Any], parts: Sequence[str], value: Any) -> None:
    parent = _get(data, parts[:-1]) if len(parts) > 1 else data
    if is_wrapped(parent):
        parent = parent["value"]
    parent[parts[-1]] = value


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def calibrated_scenario_text(scenario_path: Path, out: Path, territory_files: dict[str, Path], note: str) -> str:
    """The scenario file's text, renamed, with its paths made relative to ``out`` and the
    calibrated territory files in place of the originals."""
    text = scenario_path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)["scenario"]
    base = scenario_path.parent
    replacements: dict[tuple[str | int, ...], Any] = {("scenario", "name"): f"{data['name']}-calibrated"}
    for key in ("pathway", "sources", "extends"):
        if key in data:
            replacements[("scenario", key)] = _relative(base / data[key], out.parent)
    if "territories" not in data:
        raise CalibrationError(f"{scenario_path}: lists no territories: cannot point a calibrated copy at calibrated territories")
    for i, t in enumerate(data["territories"]):
        original = (base / t).resolve()
        replacements[("scenario", "territories", i)] = _relative(territory_files.get(str(original), original), out.parent)
    header = "".join(f"# {line}\n" if line else "#\n" for line in note.splitlines())
    return header + replace_nodes(text, replacements)


# --------------------------------------------------------------------------------------------
# Evaluating candidates
# --------------------------------------------------------------------------------------------
def _evaluate_job(args: tuple[str, dict[str, str], int, float, float, list[tuple[str, str]]]) -> dict[tuple[str, str], float]:
    """Run the scenario with some territories replaced by candidate files; compute the statistics."""
    scenario_path, replaced, seed, years, warmup_years, wanted = args
    sc = load_scenario(scenario_path, years=years, seed=seed)
    names = sorted({t for t, _ in wanted})
    territories = []
    for t in sc.territories:
        if t.name in names:
            territories.append(load_territory(replaced[t.name], sc.pathway) if t.name in replaced else t)
    sc = replace(sc, territories=territories)
    need_stays = any(STATISTICS[parse_statistic(s)[0]].needs_stays for _, s in wanted)
    stay_states: set[int] = set()
    for _, s in wanted:
        name, states = parse_statistic(s)
        if STATISTICS[name].needs_stays:
            stay_states |= {sc.pathway.state_index[x] for x in states}
    ds, log, model = run_tracked(sc, seed, stay_states=stay_states if need_stays else ())
    log.open_rows = log.open_stays(model) if need_stays else []
    start, stop = int(round(warmup_years * 12)), sc.months
    out = {}
    for territory, statistic in wanted:
        ti = [t.name for t in sc.territories].index(territory)
        view = RunView(ds.isel(territory=ti), sc, ti, start, stop, log)
        name, states = parse_statistic(statistic)
        out[(territory, statistic)] = STATISTICS[name].function(view, view.states(states))
    return out


@dataclass
class Evaluation:
    x: np.ndarray
    values: dict[str, float]  # parameter key "territory:path" -> value (or factor)
    simulated: dict[tuple[str, str], float]  # (territory, target name) -> mean over seeds
    per_seed: dict[tuple[str, str], list[float]]
    cost: float
    seconds: float


class _Budget(Exception):
    pass


class Calibrator:
    """Fits the parameters of a targets file on a scenario.

    >>> cal = Calibrator("configs/scenarios/baseline.yaml", "configs/calibration/aix-marseille-provence.targets.csv")
    >>> result = cal.fit(budget=30)
    >>> cal.write(result, "configs/scenarios/baseline.calibrated.yaml")
    """

    def __init__(
        self,
        scenario: str | Path,
        targets: str | Path,
        *,
        years: float = 4.0,
        warmup_years: float = 1.0,
        seeds: Sequence[int] | None = None,
        workers: int = 1,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.scenario_path = Path(scenario)
        self.targets_path = Path(targets)
        self.targets, self.parameters = read_targets(targets)
        self.years = float(years)
        self.warmup_years = float(warmup_years)
        if not 0 <= warmup_years < years - 1 / 12:
            raise CalibrationError(f"the warm-up ({warmup_years:g} years) must be shorter than the run ({years:g} years)")
        sc = load_scenario(self.scenario_path)
        self.scenario = sc
        self.seeds = list(seeds) if seeds is not None else [sc.seed, sc.seed + 1, sc.seed + 2]
        self.workers = max(1, int(workers))
        self.log = log or (lambda message: None)
        names = [t.name for t in sc.territories]
        self.territory_files: dict[str, Path] = {t.name: Path(t.file) for t in sc.territories}
        self.texts: dict[str, str] = {}
        self.data: dict[str, dict[str, Any]] = {}
        for t in self.targets:
            if t.territory not in names:
                raise CalibrationError(f"{targets}: target {t.name!r}: territory {t.territory!r} is not in the scenario ({', '.join(names)})")
        for p in self.parameters:
            if p.territory not in self.data:
                text = self.territory_files[p.territory].read_text(encoding="utf-8")
                self.texts[p.territory] = text
                self.data[p.territory] = yaml.safe_load(text)
            paths = expand_path(self.data[p.territory], p.path)
            if not paths:
                raise CalibrationError(f"{targets}: parameter {p.path!r} is not in {self.territory_files[p.territory]}")
            try:
                values = [get_value(self.data[p.territory], q) for q in paths]
            except KeyError as exc:
                raise CalibrationError(f"{targets}: parameter {p.path!r}: {exc} is not a number") from None
            for q in paths:
                if not _sourced_depths(q):
                    raise CalibrationError(f"{targets}: parameter {p.path!r} is not a territory parameter")
            p.initial = 1.0 if p.is_factor else values[0]
            if not p.lower <= p.initial <= p.upper:
                raise CalibrationError(f"{targets}: parameter {p.path!r}: value {p.initial:g} outside its bounds [{p.lower:g}, {p.upper:g}]")
        self.wanted = sorted({(t.territory, t.statistic) for t in self.targets})
        self.evaluations: list[Evaluation] = []
        self.budget, self.diff_step, self.seconds = 0, 0.0, 0.0
        self._tmp = tempfile.TemporaryDirectory(prefix="lda_calibrate_")
        self._pool: ProcessPoolExecutor | None = None

    # --- coordinates: each parameter on [0, 1] between its bounds, on a log scale -------------
    def to_x(self, values: Sequence[float]) -> np.ndarray:
        return np.array([math.log(v / p.lower) / math.log(p.upper / p.lower) for v, p in zip(values, self.parameters)])

    def from_x(self, x: Sequence[float] | np.ndarray) -> list[float]:
        return [p.lower * (p.upper / p.lower) ** float(min(1.0, max(0.0, xi))) for xi, p in zip(x, self.parameters)]

    # --- candidate files -------------------------------------------------------------------
    def _candidate_data(self, values: Sequence[float]) -> dict[str, dict[str, Any]]:
        out = {name: yaml.safe_load(yaml.safe_dump(d)) for name, d in self.data.items()}
        for p, v in zip(self.parameters, values):
            for q in expand_path(self.data[p.territory], p.path):
                base = get_value(self.data[p.territory], q)
                set_value(out[p.territory], q, base * v if p.is_factor else v)
        return out

    def evaluate(self, values: Sequence[float]) -> Evaluation:
        started = time.perf_counter()
        folder = Path(self._tmp.name) / f"candidate{len(self.evaluations)}"
        folder.mkdir()
        replaced = {}
        for name, data in self._candidate_data(values).items():
            path = folder / self.territory_files[name].name
            path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
            replaced[name] = str(path)
        jobs = [(str(self.scenario_path), replaced, s, self.years, self.warmup_years, self.wanted) for s in self.seeds]
        if self.workers > 1 and len(jobs) > 1:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=min(self.workers, len(jobs)), mp_context=process_context())
            outputs = list(self._pool.map(_evaluate_job, jobs))
        else:
            outputs = [_evaluate_job(j) for j in jobs]
        simulated, per_seed = {}, {}
        for t in self.targets:
            vals = [o[(t.territory, t.statistic)] for o in outputs]
            per_seed[(t.territory, t.name)] = vals
            simulated[(t.territory, t.name)] = float(np.mean(vals))
        ev = Evaluation(
            x=self.to_x(values), values={f"{p.territory}:{p.path}": v for p, v in zip(self.parameters, values)},
            simulated=simulated, per_seed=per_seed, cost=float(np.sum(self.residuals(simulated) ** 2)),
            seconds=time.perf_counter() - started,
        )
        self.evaluations.append(ev)
        shown = ", ".join(f"{p.path}={v:.4g}" for p, v in zip(self.parameters, values))
        errors = ", ".join(
            f"{t.name} {(simulated[(t.territory, t.name)] - t.observed) / t.observed:+.1%}" for t in self.targets if t.weight > 0
        )
        self.log(f"evaluation {len(self.evaluations)}: {shown}: cost {ev.cost:.4g} [{errors}] ({ev.seconds:.1f} s)")
        return ev

    def residuals(self, simulated: dict[tuple[str, str], float]) -> np.ndarray:
        """Weighted relative errors of the targets with a positive weight."""
        out = []
        for t in self.targets:
            if t.weight > 0:
                sim = simulated[(t.territory, t.name)]
                out.append(math.sqrt(t.weight) * ((sim - t.observed) / t.observed if np.isfinite(sim) else 10.0))
        return np.array(out)

    # --- fitting -----------------------------------------------------------------------------
    def fit(self, budget: int = 30, *, diff_step: float = 0.1) -> Evaluation:
        """Fit within ``budget`` evaluations (each runs every seed); return the best evaluation.

        With no parameter, the targets are only evaluated once (a check of the configuration).
        """
        from scipy.optimize import least_squares

        self.budget, self.diff_step = budget, diff_step
        started = time.perf_counter()
        try:
            start = self.evaluate([p.initial for p in self.parameters])
            if not self.parameters or budget <= 1:
                return start
            cache: dict[tuple[float, ...], np.ndarray] = {}

            def fun(x: np.ndarray) -> np.ndarray:
                key = tuple(np.round(x, 10))
                if key not in cache:
                    if len(self.evaluations) >= budget:
                        raise _Budget
                    cache[key] = self.residuals(self.evaluate(self.from_x(x)).simulated)
                return cache[key]

            cache[tuple(np.round(start.x, 10))] = self.residuals(start.simulated)
            try:
                least_squares(
                    fun, np.clip(start.x, 0, 1), bounds=(0.0, 1.0), method="trf", diff_step=diff_step,
                    x_scale=1.0, xtol=1e-3, ftol=1e-4, gtol=1e-6,
                )
            except _Budget:
                self.log(f"budget of {budget} evaluations reached")
            return min(self.evaluations, key=lambda e: e.cost)
        finally:
            self.seconds = time.perf_counter() - started
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    # --- reports and files -------------------------------------------------------------------
    def report_rows(self, best: Evaluation) -> list[dict[str, Any]]:
        first = self.evaluations[0]
        rows = []
        for t in self.targets:
            key = (t.territory, t.name)
            sim, sims = best.simulated[key], best.per_seed[key]
            rel = (sim - t.observed) / t.observed
            rows.append(
                {
                    "territory": t.territory, "target": t.name, "statistic": t.statistic, "observed": t.observed,
                    "source": " ".join(t.sources), "initial_simulated": first.simulated[key], "simulated": sim,
                    "seed_min": min(sims), "seed_max": max(sims), "relative_error": rel, "weight": t.weight,
                    "fitted_parameters": "; ".join(t.parameters), "within_10pct": abs(rel) <= 0.10, "note": t.note,
                }
            )
        return rows

    def parameter_rows(self, best: Evaluation) -> list[dict[str, Any]]:
        rows = []
        for p, v in zip(self.parameters, self.from_x(best.x)):
            at_bound = "lower" if math.isclose(v, p.lower, rel_tol=1e-3) else "upper" if math.isclose(v, p.upper, rel_tol=1e-3) else ""
            rows.append(
                {
                    "territory": p.territory, "parameter": p.path, "initial": p.initial, "fitted": _round(v),
                    "lower": p.lower, "upper": p.upper, "at_bound": at_bound,
                    "targets": "; ".join(t.name for t in p.targets),
                }
            )
        return rows

    def edits(self, best: Evaluation) -> dict[str, list[Edit]]:
        out: dict[str, list[Edit]] = {}
        for p, v in zip(self.parameters, self.from_x(best.x)):
            fitted_to = [t for t in p.targets if t.weight > 0] or p.targets
            derived = f"{FITTED_PREFIX} {', '.join(t.label for t in fitted_to)}"
            sources = tuple(dict.fromkeys(s for t in fitted_to for s in t.sources))
            for q in expand_path(self.data[p.territory], p.path):
                base = get_value(self.data[p.territory], q)
                if p.is_factor:
                    value = _round(base * v)
                    text = f"{derived}: {base:g} x {_round(v):g}, a common factor fitted on {p.path}"
                else:
                    value, text = _round(v), derived
                node = _get(self.data[p.territory], q)
                if isinstance(node["value"] if is_wrapped(node) else node, int):
                    value = int(round(value))  # the file gave a whole number: keep it whole
                out.setdefault(p.territory, []).append(Edit(q, value, text, sources))
        return out

    def write(
        self, best: Evaluation, out: str | Path, *, territories_dir: str | Path | None = None, report: str | Path | None = None
    ) -> dict[str, Path]:
        """Write the calibrated territory files, the calibrated scenario ``out`` and the fit report
        (Markdown and CSV). Returns the paths written, by role."""
        out = Path(out)
        report_md = Path(report) if report else out.with_name(out.name.removesuffix(".yaml").removesuffix(".yml") + ".fit.md")
        report_csv = report_md.with_suffix(".csv")
        written: dict[str, Path] = {}
        territory_files: dict[str, Path] = {}
        stamp = f"by lda-sim calibrate from {self.targets_path.as_posix()}; fit report: {report_md.as_posix()}"
        for name, edits in self.edits(best).items():
            original = self.territory_files[name]
            folder = Path(territories_dir) if territories_dir else original.parent
            target = folder / (original.name.removesuffix(".yaml").removesuffix(".yml") + ".calibrated.yaml")
            text = calibrated_text(self.texts[name], edits)
            header = (
                f"# Calibrated copy of {original.name}, written {stamp}.\n"
                f"# Only the values marked '{FITTED_PREFIX} ...' differ from the original.\n"
            )
            _write_atomic(target, header + text)
            territory_files[str(original.resolve())] = target
            written[f"territory:{name}"] = target
        note = (
            f"Calibrated copy of {self.scenario_path.name}, written {stamp}.\n"
            f"Territories calibrated: {', '.join(self.edits(best)) or 'none'}."
        )
        _write_atomic(out, calibrated_scenario_text(self.scenario_path, out, territory_files, note))
        written["scenario"] = out
        _write_atomic(report_md, self.report_markdown(best))
        _write_atomic(report_csv, _csv_text(self.report_rows(best)))
        written["report"], written["report_csv"] = report_md, report_csv
        return written

    def report_markdown(self, best: Evaluation) -> str:
        rows = self.report_rows(best)
        prows = self.parameter_rows(best)
        lines = [
            f"# Calibration of {', '.join(sorted({t.territory for t in self.targets}))}",
            "",
            f"Written by `lda-sim calibrate {self.scenario_path.as_posix()} --targets {self.targets_path.as_posix()} "
            f"--years {self.years:g} --warmup-years {self.warmup_years:g} --seeds {','.join(map(str, self.seeds))} --budget {self.budget} "
            f"--diff-step {self.diff_step:g}` (plus output options), in {self.seconds:.0f} s on {self.workers} worker(s): "
            f"{len(self.evaluations)} evaluations, each {len(self.seeds)} seeds ({', '.join(map(str, self.seeds))}, the same for every "
            f"candidate: common random numbers) x {self.years:g} years, statistics over years {self.warmup_years:g} to {self.years:g} "
            f"(the first {self.warmup_years:g} discarded as warm-up). Optimiser: scipy.optimize.least_squares (trf, bounds, "
            "log-scaled parameters) on the weighted relative errors.",
            "",
            "## Targets",
            "",
            "| territory | target | statistic | observed | source | before | fitted | seeds min..max | rel. error | within 10% | weight |",
            "|---|---|---|---:|---|---:|---:|---:|---:|---|---:|",
        ]
        for r in rows:
            within = "yes" if r["within_10pct"] else ("**no**" if r["weight"] > 0 else "no (reported only)")
            lines.append(
                f"| {r['territory']} | {r['target']} | `{r['statistic']}` | {r['observed']:,.6g} | {r['source']} | "
                f"{r['initial_simulated']:,.6g} | {r['simulated']:,.6g} | {r['seed_min']:,.5g}..{r['seed_max']:,.5g} | "
                f"{r['relative_error']:+.1%} | {within} | {r['weight']:g} |"
            )
        lines += ["", "## Parameters", "", "| territory | parameter | before | fitted | bounds | targets |", "|---|---|---:|---:|---|---|"]
        for r in prows:
            bound = f" (at {r['at_bound']} bound)" if r["at_bound"] else ""
            lines.append(
                f"| {r['territory']} | `{r['parameter']}` | {r['initial']:g} | {r['fitted']:g}{bound} | "
                f"[{r['lower']:g}, {r['upper']:g}] | {r['targets']} |"
            )
        notes = [r for r in rows if r["note"]]
        if notes:
            lines += ["", "## Notes on the targets", ""]
            lines += [f"- **{r['target']}**: {r['note']}" for r in notes]
        lines += ["", "## Statistics", ""]
        used = sorted({parse_statistic(t.statistic)[0] for t in self.targets})
        lines += [f"- `{name}`: {STATISTICS[name].description}." for name in used]
        return "\n".join(lines) + "\n"

    def report_text(self, best: Evaluation) -> str:
        """The fit table as aligned text, for the terminal."""
        rows = self.report_rows(best)
        header = ("target", "observed", "before", "fitted", "rel. error", "")
        body = [
            (r["target"], f"{r['observed']:,.6g}", f"{r['initial_simulated']:,.6g}", f"{r['simulated']:,.6g}", f"{r['relative_error']:+.1%}",
             "" if r["within_10pct"] else ("> 10%" if r["weight"] > 0 else "> 10%, reported only"))
            for r in rows
        ]
        widths = [max(len(str(x[i])) for x in [header, *body]) for i in range(len(header))]
        lines = ["  ".join(str(c).ljust(w) for c, w in zip(x, widths)).rstrip() for x in [header, *body]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        for r in self.parameter_rows(best):
            lines.append(f"{r['parameter']}: {r['initial']:g} -> {r['fitted']:g}{' (at ' + r['at_bound'] + ' bound)' if r['at_bound'] else ''}")
        return "\n".join(lines)


def _csv_text(rows: list[dict[str, Any]]) -> str:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    from ..config.files import write_atomic

    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def evaluate_targets(
    scenario: str | Path,
    targets: str | Path,
    *,
    seeds: Sequence[int],
    years: float,
    warmup_years: float,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """The targets of a targets file on a scenario as it is (no fitting): observed, simulated mean
    and range over ``seeds``, relative error, for the window from ``warmup_years`` to ``years``.
    Useful to check a calibrated scenario on other seeds and other years than those of the fit."""
    target_list, _ = read_targets(targets)
    wanted = sorted({(t.territory, t.statistic) for t in target_list})
    jobs: list[tuple[str, dict[str, Any], int, float, float, list[tuple[str, str]]]] = [(str(scenario), {}, s, years, warmup_years, wanted) for s in seeds]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=process_context()) as pool:
            outputs = list(pool.map(_evaluate_job, jobs))
    else:
        outputs = [_evaluate_job(j) for j in jobs]
    rows = []
    for t in target_list:
        values = [o[(t.territory, t.statistic)] for o in outputs]
        sim = float(np.mean(values))
        rows.append(
            {
                "territory": t.territory, "target": t.name, "observed": t.observed, "simulated": sim,
                "seed_min": min(values), "seed_max": max(values), "relative_error": (sim - t.observed) / t.observed,
                "weight": t.weight,
            }
        )
    return rows


def calibrate(
    scenario: str | Path,
    targets: str | Path,
    out: str | Path,
    *,
    years: float = 4.0,
    warmup_years: float = 1.0,
    seeds: Sequence[int] | None = None,
    budget: int = 30,
    workers: int = 1,
    territories_dir: str | Path | None = None,
    report: str | Path | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[Calibrator, Evaluation, dict[str, Path]]:
    """Fit, write the calibrated files and the report; return the calibrator, best fit and paths."""
    cal = Calibrator(scenario, targets, years=years, warmup_years=warmup_years, seeds=seeds, workers=workers, log=log)
    best = cal.fit(budget)
    written = cal.write(best, out, territories_dir=territories_dir, report=report)
    return cal, best, written


__all__ = [
    "CalibrationError", "Calibrator", "Evaluation", "Parameter", "STATISTICS", "Target", "calibrate", "evaluate_targets",
    "calibrated_text", "read_targets", "replace_nodes",
]
