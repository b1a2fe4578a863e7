"""The inputs carried by a results dataset: the provenance of every configuration value of its
scenarios and the sources they cite, as JSON in the attributes ``inputs`` and ``sources``.

:func:`attach_inputs` stores them when a scenario is run, :func:`combine_inputs` merges those of
several scenarios' datasets, :func:`dataset_inputs` and :func:`dataset_sources` read them back
(for the report, :mod:`lda_sim.presentation.report`), so that a results file alone says what it was run from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr


def json_default(value: Any) -> Any:
    """JSON for numpy scalars and arrays (other objects as text)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _display_path(path: str) -> str:
    """A configuration file's path as shown to readers: normalised, relative to the working folder when under it."""
    path = os.path.normpath(path)
    if os.path.isabs(path):
        try:
            relative = os.path.relpath(path)
        except ValueError:  # another drive (Windows)
            return path
        if not relative.startswith(".."):
            return relative
    return path


def attach_inputs(ds: xr.Dataset, scenario: Any) -> xr.Dataset:
    """Store the inputs of ``scenario`` (a :class:`lda_sim.config.scenario.Scenario`) on ``ds`` and return it.

    Sets the attribute ``inputs``, a JSON list with one row per configuration value
    (``Provenance.as_row()``: file, field, value, kind, sources, text, note, and the scenario's
    name), and ``sources``, a JSON mapping of source id to citation. Both survive NetCDF.
    """
    rows = []
    for record in getattr(scenario, "provenance", ()):
        row = record.as_row()
        row["file"] = _display_path(str(row["file"]))
        row["scenario"] = scenario.name
        rows.append(row)
    ds.attrs["inputs"] = json.dumps(rows, ensure_ascii=False, default=json_default)
    ds.attrs["sources"] = json.dumps(dict(getattr(scenario, "sources", {}) or {}), ensure_ascii=False, default=json_default)
    return ds


def combine_inputs(datasets: Sequence[xr.Dataset]) -> dict[str, str]:
    """The ``inputs`` and ``sources`` attributes of several scenarios' datasets, merged.

    For a dataset stacking scenarios: a value found identical in every scenario is listed once
    (``scenario`` empty: all scenarios); one found in some only keeps their names, comma-separated.
    """
    merged: dict[str, dict[str, Any]] = {}
    names_of: dict[str, list[str]] = {}
    sources: dict[str, str] = {}
    all_names = []
    for ds in datasets:
        name = str(ds.attrs.get("scenario", "?"))
        all_names.append(name)
        for row in dataset_inputs(ds):
            key = json.dumps({k: v for k, v in row.items() if k != "scenario"}, sort_keys=True, ensure_ascii=False, default=json_default)
            merged.setdefault(key, {k: v for k, v in row.items() if k != "scenario"})
            names_of.setdefault(key, []).append(name)
        sources.update(dataset_sources(ds))
    rows = []
    for key, row in merged.items():
        names = list(dict.fromkeys(names_of[key]))
        rows.append({**row, "scenario": "" if len(names) == len(set(all_names)) else ", ".join(names)})
    return {
        "inputs": json.dumps(rows, ensure_ascii=False, default=json_default),
        "sources": json.dumps(sources, ensure_ascii=False, default=json_default),
    }


def _load_json_attr(ds: xr.Dataset, name: str) -> Any:
    raw = ds.attrs.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        raw = str(raw)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"dataset attribute {name!r} is not valid JSON: {exc}") from None


def dataset_inputs(ds: xr.Dataset) -> list[dict[str, Any]]:
    """The input rows stored on the dataset by :func:`attach_inputs` (empty if none).

    Accepts a list of rows, or a mapping of scenario name to its list of rows.
    """
    data = _load_json_attr(ds, "inputs")
    if data is None:
        return []
    if isinstance(data, dict):
        rows = [{**row, "scenario": row.get("scenario") or name} for name, part in data.items() for row in part]
    else:
        rows = list(data)
    out = []
    for row in rows:
        if not isinstance(row, dict):
            raise ValueError("dataset attribute 'inputs' must hold a list of rows (objects)")
        out.append({key: row.get(key, "") for key in ("file", "field", "value", "kind", "sources", "text", "note", "scenario")})
    return out


def dataset_sources(ds: xr.Dataset) -> dict[str, str]:
    """The source list stored on the dataset (id -> citation; empty if none)."""
    data = _load_json_attr(ds, "sources")
    if not data:
        return {}
    if not isinstance(data, dict):
        raise ValueError("dataset attribute 'sources' must hold a mapping of source id to citation")
    return {str(k): str(v) for k, v in data.items()}


def inputs_for(paths: Iterable[str | Path]) -> dict[str, str]:
    """The ``inputs`` and ``sources`` attributes of scenario files (for results that lack them)."""
    from ..config.scenario import load_scenario

    datasets = []
    for path in paths:
        scenario = load_scenario(path)
        datasets.append(attach_inputs(xr.Dataset(attrs={"scenario": scenario.name}), scenario))
    if len(datasets) == 1:
        return {k: datasets[0].attrs[k] for k in ("inputs", "sources")}
    return combine_inputs(datasets)
