"""Trajectories agree with the dataset: moves add up to flows, entries to entries, states to occupancy."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from lda_sim.cli import main
from lda_sim.config.scenario import load_scenario
from lda_sim.dataset.trajectories import (
    ATTRIBUTES,
    monthly_states,
    read_trajectories,
    run_trajectories,
    save_trajectories,
    sequences,
    spells,
    trajectory_table,
)
from lda_sim.engine.model import HousingModel

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "scenario_small.yaml"
#: Two territories, prevention that diverts entries straight into housing, one year.
PREVENTION = ROOT / "configs" / "scenarios" / "prevention.yaml"
RUNS = {"small": (SMALL, 3.0), "prevention": (PREVENTION, 1.0)}


@pytest.fixture(scope="module", params=list(RUNS))
def run(request: pytest.FixtureRequest) -> tuple[xr.Dataset, pd.DataFrame]:
    path, years = RUNS[request.param]
    return run_trajectories(path, years=years, seed=5)


def _counts(table: pd.DataFrame, keys: list[str], ds: xr.Dataset, dims: tuple[str, ...], weights: str | None = None) -> np.ndarray:
    """Rows of ``table`` counted (or ``weights`` summed) into an array shaped like ``ds[dims]``."""
    coords = {"territory": list(ds.territory.values), "state": list(ds.state.values), "transition": list(ds.transition.values),
              "cause": list(ds.cause.values), "time": list(range(ds.sizes["time"]))}
    out = np.zeros([len(coords[d]) for d in dims], dtype=np.int64)
    if table.empty:
        return out
    grouped = table.groupby(keys, observed=True)
    counts = grouped[weights].sum() if weights else grouped.size()
    for key, n in counts.items():
        out[tuple(coords[d].index(k) for d, k in zip(dims, key))] += n
    return out


def test_moves_add_up_to_the_monthly_flows(run: tuple[xr.Dataset, pd.DataFrame]) -> None:
    ds, table = run
    moves = table[table.transition != ""]
    assert set(moves.event) <= {"move", "exit"} and len(moves) > 0
    dims = ("territory", "transition", "time")
    keys = ["territory", "transition", "month_index"]
    np.testing.assert_array_equal(_counts(moves, keys, ds, dims), ds.flow.transpose(*dims).values)
    np.testing.assert_array_equal(_counts(moves, keys, ds, dims, weights="persons"), ds.flow_persons.transpose(*dims).values)


def test_entries_add_up_to_entries_and_the_initial_population(run: tuple[xr.Dataset, pd.DataFrame]) -> None:
    ds, table = run
    entries = table[table.event == "entry"]
    dims = ("territory", "cause", "time")
    np.testing.assert_array_equal(_counts(entries, ["territory", "cause", "month_index"], ds, dims), ds.entries.transpose(*dims).values)
    initial = table[table.event == "initial"]
    assert (initial.time_days == 0).all()
    dims = ("territory", "state")
    np.testing.assert_array_equal(_counts(initial, ["territory", "to_state"], ds, dims), ds.initial_occupancy.transpose(*dims).values)
    np.testing.assert_array_equal(
        _counts(initial, ["territory", "to_state"], ds, dims, weights="persons"), ds.initial_occupancy_persons.transpose(*dims).values
    )
    assert (table.from_state[table.event.isin(["initial", "entry"])] == "").all()
    if "prevention" in ds.attrs["scenario"]:  # diverted households enter housing directly
        assert (entries.to_kind == "housing").sum() == int(ds.diverted.sum()) > 0


def test_month_end_states_count_to_occupancy(run: tuple[xr.Dataset, pd.DataFrame]) -> None:
    ds, table = run
    states = monthly_states(table)
    months = [c for c in states.columns if c not in ("household_id", "territory")]
    assert len(months) == ds.sizes["time"] and months[0] == str(ds.time.values[0])[:7]
    inside = [s for s, k in zip(ds.state.values, ds.state_kind.values) if k != "exit"]
    long = states.melt(id_vars=["household_id", "territory"], var_name="month", value_name="state").dropna(subset=["state"])
    long["month_index"] = long["month"].map({m: i for i, m in enumerate(months)})
    long = long[long.state.isin(inside)]
    dims = ("territory", "state", "time")
    expected = ds.occupancy.sel(state=inside).transpose(*dims).values
    got = _counts(long.assign(state=long.state.astype(str)), ["territory", "state", "month_index"], ds, dims)[:, [list(ds.state.values).index(s) for s in inside]]
    np.testing.assert_array_equal(got, expected)


def test_each_household_sequence_is_consistent(run: tuple[xr.Dataset, pd.DataFrame]) -> None:
    _, table = run
    rows = table.sort_values(["household_id", "seq"], kind="stable")
    same = rows.household_id.shift(-1) == rows.household_id
    following = rows.shift(-1)[same]
    here = rows[same]
    # a move leaves the state the previous row entered, no earlier than it
    assert (following.from_state.values == here.to_state.values).all()
    assert (following.time_days.values >= here.time_days.values).all()
    assert (following.event.isin(["move", "exit"])).all()
    first = rows.groupby("household_id").head(1)
    assert first.event.isin(["initial", "entry"]).all() and (first.seq == 0).all()
    assert not here.event.eq("exit").any(), "nothing follows an exit"
    assert (rows.seq.values == rows.groupby("household_id").cumcount().values).all()
    # household attributes are constant along a household's rows
    assert (rows.groupby("household_id")[list(ATTRIBUTES)].nunique() == 1).all().all()
    # transition keys and states agree
    moved = rows[rows.transition != ""]
    assert (moved.transition == moved.from_state + "->" + moved.to_state).all()


def test_sequences_and_spells_follow_the_table(run: tuple[xr.Dataset, pd.DataFrame]) -> None:
    ds, table = run
    seq = sequences(table)
    assert len(seq) == table.household_id.nunique() and seq.household_id.is_unique
    rows = table.sort_values(["household_id", "seq"], kind="stable")
    by_household = rows.groupby("household_id").to_state.agg(list)
    sample = seq.sample(min(200, len(seq)), random_state=0)
    for h in sample.itertuples():
        assert h.states.split("-") == by_household[h.household_id]
        assert len(h.dates.split(";")) == len(h.days.split(";")) == h.n_states
    exited = seq.left_days.notna()
    assert (seq.last_state[exited].isin(list(ds.exit_state.values))).all()
    assert seq.housed.sum() == rows[rows.to_kind == "housing"].household_id.nunique()

    sp = spells(table)
    horizon = table.attrs["horizon_days"]
    assert (sp.duration_days >= 0).all() and (sp.end_days <= horizon).all()
    # the spells of a household still in the system tile the time from its entry to the horizon
    staying = seq.loc[~exited, ["household_id", "entered_days"]].set_index("household_id").entered_days
    total = sp.groupby("household_id").duration_days.sum()
    np.testing.assert_allclose(total[staying.index].values, horizon - staying.values, atol=1e-6)
    assert sp.censored.sum() == len(staying)


def test_recording_trajectories_does_not_change_the_run() -> None:
    scenario = load_scenario(SMALL, years=2, seed=9)
    model = HousingModel(scenario, trajectories=True)
    plain = HousingModel(scenario).run()
    xr.testing.assert_identical(model.run(), plain)
    with pytest.raises(ValueError, match="trajectories=True"):
        trajectory_table(HousingModel(scenario))


def test_extra_recorded_attributes() -> None:
    ds, table = run_trajectories(SMALL, years=0.5, seed=2, attributes=("kind", "entered_system"))
    assert list(table.columns[-2:]) == ["kind", "entered_system"]
    entries = table[table.event == "entry"]
    np.testing.assert_allclose(entries.entered_system.values, entries.time_days.values)
    with pytest.raises(AttributeError, match="no attribute 'shoe_size'"):
        run_trajectories(SMALL, years=0.1, attributes=("shoe_size",))


@pytest.mark.parametrize("name", ["t.parquet", "t.csv", "t.csv.gz"])
def test_save_and_read_back(tmp_path: Path, name: str) -> None:
    if name.endswith("parquet"):
        pytest.importorskip("pyarrow")
    _, table = run_trajectories(SMALL, years=0.5, seed=3)
    path = save_trajectories(table, tmp_path / name)
    assert path == tmp_path / name and not list(tmp_path.glob(".*.tmp"))
    back = read_trajectories(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False, check_categorical=False)
    for derived in (sequences(table), spells(table)):
        assert len(read_trajectories(save_trajectories(derived, tmp_path / f"d.{name}"))) == len(derived)


def test_without_pyarrow_parquet_falls_back_to_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lda_sim.dataset.trajectories as trajectories

    monkeypatch.setattr(trajectories, "has_parquet", lambda: False)
    _, table = run_trajectories(SMALL, years=0.25, seed=3)
    with pytest.warns(UserWarning, match="pyarrow is not installed"):
        path = save_trajectories(table, tmp_path / "t.parquet")
    assert path == tmp_path / "t.csv" and path.is_file() and not (tmp_path / "t.parquet").exists()
    assert len(read_trajectories(path)) == len(table)


def test_cli_writes_trajectories(tmp_path: Path) -> None:
    out, traj = tmp_path / "run.nc", tmp_path / "moves.csv"
    result = CliRunner().invoke(main, ["run", str(SMALL), "--out", str(out), "--years", "1", "--seed", "4", "--trajectories", str(traj)])
    assert result.exit_code == 0, result.output
    _, expected = run_trajectories(SMALL, years=1, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = read_trajectories(traj)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False, check_categorical=False)


def test_cli_refuses_trajectories_of_several_runs(tmp_path: Path) -> None:
    out = tmp_path / "run.nc"
    for extra in ([str(SMALL)], ["--replicates", "2"]):
        result = CliRunner().invoke(main, ["run", str(SMALL), *extra, "--out", str(out), "--trajectories", str(tmp_path / "t.csv")])
        assert result.exit_code == 2
        assert "--trajectories records one run" in result.output
    assert not out.exists()
