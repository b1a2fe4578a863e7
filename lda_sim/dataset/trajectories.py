"""Trajectories: each household's sequence of states, with dates, as tables.

Build the model with ``trajectories=True`` and it logs every entry into the system (the initial
population placed at the start, the arrivals) and every move along a transition, exits included.
This module turns that log into tables that sequence-analysis tools read:

* :func:`trajectory_table` — one row per entry or move (an event log): household, territory,
  ``from_state``, ``to_state``, ``transition`` (empty for entries), time in days, date, month,
  and the household's attributes;
* :func:`sequences` — one row per household with its ordered states and dates (TraMineR's SPS-like
  strings: ``street-emergency_shelter-social_housing``);
* :func:`spells` — one row per stay in a state, with its start and end (TraMineR's ``SPELL``
  format);
* :func:`monthly_states` — one row per household, one column per month: the state at the end of
  the month (TraMineR's ``STS`` format); counting it by state gives the dataset's ``occupancy``.

:func:`save_trajectories` writes any of them to Parquet (with pyarrow) or CSV, atomically.

>>> from lda_sim import HousingModel, load_scenario
>>> from lda_sim.dataset.trajectories import trajectory_table, save_trajectories
>>> model = HousingModel(load_scenario("tests/data/scenario_small.yaml"), trajectories=True)
>>> ds = model.run()
>>> table = trajectory_table(model)
>>> save_trajectories(table, "results/trajectories.parquet")

The moves of the table add up to the dataset's ``flow`` in every month, transition and territory,
and its entries to ``entries`` plus ``initial_occupancy`` (``tests/test_trajectories.py``).
Times are continuous (days since the start of the run); ``month_index`` is the reporting month
of the dataset (months of 365.25 / 12 days), which can differ by a day from the calendar month of
``date`` near a month's end: group by ``month`` or ``month_index`` to match the dataset.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config.files import write_atomic
from ..config.timebase import MONTH_DAYS

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from ..config.scenario import Scenario
    from ..engine.households import Household
    from ..engine.model import HousingModel

#: Household attributes copied into the tables by default.
ATTRIBUTES: tuple[str, ...] = ("kind", "persons", "size_class", "needs", "regular_status", "priority", "isolated", "cause")

#: Values of the ``event`` column.
EVENTS = ("initial", "entry", "move", "exit")

#: Columns of :func:`trajectory_table` before the household attributes.
COLUMNS: tuple[str, ...] = (
    "household_id", "seq", "territory", "event", "from_state", "to_state", "to_kind", "transition",
    "time_days", "date", "month_index", "month",
)


def trajectory_table(model: HousingModel, *, attributes: Sequence[str] = ATTRIBUTES) -> pd.DataFrame:
    """One row per entry into the system or move of a household, in the order they happened.

    ``model`` must have been built with ``trajectories=True`` (and run). Columns:

    - ``household_id``: the household's Mesa ``unique_id``; ``seq``: 0, 1, 2... along its rows;
    - ``territory``: the territory's name;
    - ``event``: ``initial`` (placed at the start), ``entry`` (arrived during the run, possibly
      diverted straight into housing by prevention), ``move`` or ``exit`` (a move into an exit state);
    - ``from_state``, ``to_state``, ``transition`` (``origin->target``); ``from_state`` and
      ``transition`` are empty strings for ``initial`` and ``entry`` rows; ``to_kind`` is the kind
      of ``to_state`` (street, shelter, housing or exit);
    - ``time_days``: days since the start of the run (continuous); ``date``: the calendar day;
    - ``month_index``, ``month``: the reporting month of the dataset the row is counted in;
    - the household's ``attributes`` (by default :data:`ATTRIBUTES`; ``size_class`` by name);
      also ``entered_system`` (the attributes are those recorded at each household's entry).

    The table's ``attrs`` hold the scenario, seed, start, horizon and lda_sim version.
    """
    if not model.trajectories:
        raise ValueError("the model was built without trajectories: use HousingModel(scenario, trajectories=True)")
    from .. import __version__

    scenario = model.scenario
    pathway = model.pathway
    n_states = len(pathway.states)
    ints, floats = model.trajectory_log()
    ids = ints[:, 0].copy()
    territory = ints[:, 1].copy()
    transition = ints[:, 2].copy()
    state = ints[:, 3].copy()
    time = floats[:, 0].copy()

    # index -1 (an entry: no transition, no origin) picks the trailing "" of each lookup
    state_names = np.array([s.name for s in pathway.states] + [""], dtype=object)
    transition_keys = np.array([t.key for t in pathway.transitions] + [""], dtype=object)
    origin_of = np.array([t.origin.index for t in pathway.transitions] + [n_states], dtype=np.int64)
    is_exit = np.array([s.kind == "exit" for s in pathway.states], dtype=bool)

    entry = transition < 0
    event = np.where(entry, np.where(time == 0.0, "initial", "entry"), np.where(is_exit[state], "exit", "move"))
    months = scenario.months
    month_index = np.minimum((time / MONTH_DAYS).astype(np.int64), months - 1) if len(time) else np.zeros(0, np.int64)
    start = np.datetime64(scenario.start, "M")
    month_labels = (start + np.arange(months)).astype("datetime64[D]")
    day0 = start.astype("datetime64[D]")

    table = pd.DataFrame(
        {
            "household_id": ids,
            "seq": np.zeros(len(ids), dtype=np.int64),
            "territory": np.array([t.name for t in model.territories], dtype=object)[territory],
            "event": pd.Categorical(event, categories=EVENTS),
            "from_state": state_names[origin_of[transition]],
            "to_state": state_names[state],
            "to_kind": np.array([s.kind for s in pathway.states], dtype=object)[state],
            "transition": transition_keys[transition],
            "time_days": time,
            "date": pd.to_datetime(day0 + np.floor(time).astype("timedelta64[D]")),
            "month_index": month_index,
            "month": pd.to_datetime(month_labels[month_index]),
        }
    )
    table["seq"] = table.groupby("household_id", sort=False).cumcount().to_numpy()
    for name, values in _attributes(model, ids, attributes).items():
        table[name] = values
    table.attrs.update(
        scenario=scenario.name,
        seed=int(model.seed),
        start=str(scenario.start),
        months=int(months),
        horizon_days=float(model.horizon),
        month_days=MONTH_DAYS,
        lda_sim_version=__version__,
    )
    return table


def _attributes(model: HousingModel, ids: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """The households' attributes, aligned with ``ids`` (recorded at each household's entry)."""
    from ..config.schema import CAUSES, NEEDS

    ints, floats = model.trajectory_log()
    at_entry = ints[:, 2] < 0
    entries = ints[at_entry]
    position = pd.Index(entries[:, 0]).get_indexer(ids)
    kinds = list(model.pathway.kinds)
    columns: dict[str, Any] = {
        "kind": lambda: np.array([kinds[i] for i in entries[:, 4]]),
        "persons": lambda: entries[:, 5].copy(),
        "size_class": lambda: np.array([model.pathway.size_class_names[i] for i in entries[:, 6]], dtype=object),
        "needs": lambda: np.array([NEEDS[i] for i in entries[:, 7]]),
        "regular_status": lambda: entries[:, 8].astype(bool),
        "priority": lambda: entries[:, 9].astype(bool),
        "isolated": lambda: np.array([model.pathway.kinds[kinds[i]].isolated for i in entries[:, 4]], dtype=bool),
        "cause": lambda: np.array([CAUSES[i] for i in entries[:, 10]]),
        "entered_system": lambda: floats[at_entry, 0].copy(),
    }
    out: dict[str, Any] = {}
    for name in names:
        if name not in columns:
            raise AttributeError(f"households have no attribute {name!r} recorded (attributes: {', '.join(columns)})")
        values = columns[name]()
        out[name] = values[position] if len(values) else values
    return out


def run_trajectories(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    years: float | None = None,
    household_class: type[Household] | None = None,
    attributes: Sequence[str] = ATTRIBUTES,
) -> tuple[xr.Dataset, pd.DataFrame]:
    """Run a scenario (or its file) with trajectories; return its dataset and :func:`trajectory_table`.

    The dataset is the one :func:`lda_sim.analysis.run.run_scenario` gives for the same arguments:
    recording trajectories does not change the run.
    """
    from dataclasses import replace

    from ..config.scenario import Scenario, load_scenario
    from ..engine.model import HousingModel

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, years=years, seed=seed)
    elif years is not None:
        scenario = replace(scenario, years=float(years))
    model = HousingModel(scenario, seed=seed, household_class=household_class, trajectories=True)
    ds = model.run()
    return ds, trajectory_table(model, attributes=attributes)


def _by_household(table: pd.DataFrame) -> pd.DataFrame:
    """The rows sorted by household, in order within each; without ``attrs`` (pandas would copy
    them into every group)."""
    rows = table.sort_values(["household_id", "seq"], kind="stable", ignore_index=True)
    rows.attrs = {}
    return rows


def _household_columns(table: pd.DataFrame) -> list[str]:
    """The columns that are the same on every row of a household (territory and attributes)."""
    return ["territory"] + [c for c in table.columns if c not in COLUMNS]


def _join(values: list[str], bounds: np.ndarray, sep: str) -> list[str]:
    return [sep.join(values[a:b]) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]


def sequences(table: pd.DataFrame, *, sep: str = "-") -> pd.DataFrame:
    """One row per household: its states in order and when it entered each.

    Columns: ``household_id``, the territory and attributes, ``start`` (``initial`` or ``entry``),
    ``n_states``, ``states`` (state names joined by ``sep``, TraMineR's ``seqdecomp`` default),
    ``days`` and ``dates`` (the time each state was entered, joined by ``;``), ``first_state``,
    ``last_state``, ``entered_days``, ``left_days`` (the time of the exit, NaN if still in the
    system at the horizon) and ``housed`` (whether it ever entered a housing state).
    """
    rows = _by_household(table)
    ids = rows["household_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else np.zeros(0, np.int64)
    bounds = np.append(starts, len(ids))
    ends = bounds[1:] - 1
    first = rows.iloc[starts]
    last = rows.iloc[ends]
    out = first[["household_id", *_household_columns(rows)]].reset_index(drop=True)
    out.insert(2, "start", first["event"].astype(str).to_numpy())
    out["n_states"] = np.diff(bounds)
    out["states"] = _join(rows["to_state"].tolist(), bounds, sep)
    out["days"] = _join([f"{t:.3f}" for t in rows["time_days"].to_numpy()], bounds, ";")
    out["dates"] = _join(np.datetime_as_string(rows["date"].to_numpy(), unit="D").tolist(), bounds, ";")
    out["first_state"] = first["to_state"].to_numpy()
    out["last_state"] = last["to_state"].to_numpy()
    out["entered_days"] = first["time_days"].to_numpy()
    out["left_days"] = np.where(last["event"].to_numpy() == "exit", last["time_days"].to_numpy(), np.nan)
    housing = (rows["to_kind"].to_numpy() == "housing").astype(np.int64)
    out["housed"] = np.add.reduceat(housing, starts) > 0 if len(ids) else np.zeros(0, bool)
    out.attrs.update(table.attrs)
    return out


def spells(table: pd.DataFrame, *, horizon_days: float | None = None) -> pd.DataFrame:
    """One row per stay of a household in a state (exit states excluded): TraMineR's SPELL format.

    Columns: ``household_id``, the territory and attributes, ``spell`` (0, 1, ...), ``state``,
    ``start_days``, ``end_days``, ``duration_days``, ``start_date``, ``end_date`` and ``censored``
    (still in the state at the horizon: ``end_days`` is then the horizon, from ``horizon_days`` or
    the table's ``attrs``).
    """
    horizon = table.attrs.get("horizon_days") if horizon_days is None else horizon_days
    rows = _by_household(table)
    same_next = rows["household_id"].shift(-1) == rows["household_id"]
    end = rows["time_days"].shift(-1).where(same_next)
    keep = rows["event"] != "exit"
    out = rows.loc[keep, ["household_id", *_household_columns(rows)]].copy()
    out["spell"] = out.groupby("household_id", sort=False).cumcount().to_numpy()
    out["state"] = rows.loc[keep, "to_state"]
    out["start_days"] = rows.loc[keep, "time_days"]
    censored = end[keep].isna()
    out["end_days"] = end[keep].fillna(np.nan if horizon is None else float(horizon))
    out["duration_days"] = out["end_days"] - out["start_days"]
    start = np.datetime64(str(table.attrs.get("start", "1970-01")), "D") if "start" in table.attrs else None
    if start is not None:
        out["start_date"] = pd.to_datetime(start + np.floor(out["start_days"].to_numpy()).astype("timedelta64[D]"))
        end_days = out["end_days"].to_numpy()
        end_dates = np.full(len(out), np.datetime64("NaT", "D"))
        finite = np.isfinite(end_days)
        end_dates[finite] = start + np.floor(end_days[finite]).astype("timedelta64[D]")
        out["end_date"] = pd.to_datetime(end_dates)
    out["censored"] = censored.to_numpy()
    out.attrs.update(table.attrs)
    return out.reset_index(drop=True)


def monthly_states(table: pd.DataFrame, *, months: int | None = None) -> pd.DataFrame:
    """One row per household, one column per month: its state at the end of the month (STS format).

    Empty (NaN) before the household entered; the exit state once it has left. The snapshot is
    the dataset's: a move at the very instant a month ends (a policy acting at the start of the
    next month) counts in the next month. Counting the non-exit states of a column per territory
    gives the dataset's ``occupancy`` for that month. Columns are the month labels ``YYYY-MM``;
    the territory is the first column.
    """
    months = int(table.attrs.get("months", 0) if months is None else months)
    if months <= 0:
        raise ValueError("monthly_states needs the number of months (months=, or a table from trajectory_table)")
    rows = _by_household(table)
    ids = rows["household_id"].to_numpy()
    time = rows["time_days"].to_numpy()
    same_next = np.append(ids[1:] == ids[:-1], False)
    next_time = np.where(same_next, np.append(time[1:], np.inf), np.inf)
    ends = (np.arange(months) + 1) * MONTH_DAYS  # the month-end snapshots of the model
    first = np.searchsorted(ends, time, side="right")  # first month ending after the row's time
    stop = np.searchsorted(ends, next_time, side="right")  # months ending at or before the next row's time are covered
    counts = np.maximum(stop - first, 0)
    households, position = np.unique(ids, return_index=True)
    household_row = np.searchsorted(households, ids)
    state_names = list(dict.fromkeys(rows["to_state"]))
    codes_of = {name: i for i, name in enumerate(state_names)}
    state_code = rows["to_state"].map(codes_of).to_numpy()
    grid = np.full((len(households), months), -1, dtype=np.int32)
    row_of = np.repeat(np.arange(len(rows)), counts)
    month = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(counts.sum()) if counts.sum() else np.zeros(0, np.int64)
    grid[household_row[row_of], month] = state_code[row_of]
    start = np.datetime64(str(table.attrs.get("start", "1970-01")), "M")
    labels = [str(m) for m in start + np.arange(months)]
    out = pd.DataFrame({label: pd.Categorical.from_codes(grid[:, i], categories=state_names) for i, label in enumerate(labels)})
    out.insert(0, "territory", rows["territory"].to_numpy()[position])
    out.insert(0, "household_id", households)
    out.attrs.update(table.attrs)
    return out


def has_parquet() -> bool:
    """Whether Parquet files can be written (pyarrow is installed)."""
    return importlib.util.find_spec("pyarrow") is not None


def save_trajectories(table: pd.DataFrame, path: str | Path, *, format: str | None = None) -> Path:
    """Write a table of this module to ``path`` atomically; return the path written.

    The format follows ``format`` (``parquet`` or ``csv``) or the file's suffix: ``.csv`` and
    ``.csv.gz`` are CSV, anything else Parquet. Parquet needs pyarrow (``pip install pyarrow``);
    without it the table is written as CSV beside, with the suffix ``.csv``, and a warning.
    """
    path = Path(path)
    name = path.name.lower()
    fmt = format or ("csv" if name.endswith((".csv", ".csv.gz")) else "parquet")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown format {fmt!r}: parquet or csv")
    if fmt == "parquet" and not has_parquet():
        csv_path = path.with_suffix(".csv")
        warnings.warn(f"pyarrow is not installed: writing {csv_path} (CSV) instead of Parquet", stacklevel=2)
        path, fmt = csv_path, "csv"
    if fmt == "parquet":
        return write_atomic(path, lambda tmp: table.to_parquet(tmp, index=False))
    compression = "gzip" if path.name.lower().endswith(".gz") else None
    return write_atomic(path, lambda tmp: table.to_csv(tmp, index=False, compression=compression))


def read_trajectories(path: str | Path) -> pd.DataFrame:
    """Read a table written by :func:`save_trajectories` (Parquet or CSV), with its dates parsed."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        table = pd.read_csv(path, keep_default_na=False, na_values=[""])
        for column in ("date", "month", "start_date", "end_date"):
            if column in table:
                table[column] = pd.to_datetime(table[column])
        for column in ("from_state", "transition"):
            if column in table:
                table[column] = table[column].fillna("")
        if "event" in table:
            table["event"] = pd.Categorical(table["event"], categories=EVENTS)
        return table
    return pd.read_parquet(path)
