"""Invariants of a run: conservation, capacities, consistency of stocks, flows and waits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from lda_sim.analysis.run import run_scenario
from lda_sim.analysis.validation import write_one_queue_config
from lda_sim.config.scenario import load_scenario
from lda_sim.config.timebase import MONTH_DAYS
from lda_sim.engine.model import HousingModel

DATA = Path(__file__).parent / "data"
CONFIGS = Path(__file__).parent.parent / "configs"


class CheckedModel(HousingModel):
    """A model that checks capacities and stocks after every event (the kernel's own check)."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.check_capacities()


@pytest.fixture(scope="module")
def small() -> xr.Dataset:
    return run_scenario(DATA / "scenario_small.yaml", years=3)


@pytest.fixture(scope="module")
def baseline() -> xr.Dataset:
    return run_scenario(CONFIGS / "scenarios" / "baseline.yaml", years=2, seed=3)


def _datasets(request: pytest.FixtureRequest) -> list[xr.Dataset]:
    return [request.getfixturevalue(name) for name in ("small", "baseline")]


@pytest.mark.parametrize("name", ["small", "baseline"])
def test_households_are_conserved(name: str, request: pytest.FixtureRequest) -> None:
    ds = request.getfixturevalue(name)
    initial = ds.initial_occupancy.sum("state")
    entered = ds.entries.sum("cause").cumsum("time")
    left = ds.exits.sum("exit_state").cumsum("time")
    inside = ds.occupancy.where(ds.state_kind != "exit", 0).sum("state")
    np.testing.assert_array_equal((initial + entered - left).values, inside.values)
    assert int(ds.entries.sum()) > 0 and int(ds.exits.sum()) > 0


@pytest.mark.parametrize("name", ["small", "baseline"])
def test_stocks_follow_flows(name: str, request: pytest.FixtureRequest) -> None:
    """occupancy[m] - occupancy[m-1] = moves in + arrivals - moves out, for every state and month."""
    ds = request.getfixturevalue(name)
    scenario = load_scenario(DATA / "scenario_small.yaml") if name == "small" else load_scenario(CONFIGS / "scenarios" / "baseline.yaml")
    flow = ds.flow
    for state in ds.state.values:
        if ds.state_kind.sel(state=state) == "exit":
            continue
        into = flow.sel(transition=flow.transition_target == state).sum("transition")
        out = flow.sel(transition=flow.transition_source == state).sum("transition")
        arrivals = sum(
            ds.entries.sel(cause=f.cause) for f in scenario.territories[0].inflows if scenario.pathway.states[f.entry].name == state
        )
        change = (into - out + arrivals).cumsum("time") + ds.initial_occupancy.sel(state=state)
        np.testing.assert_array_equal(change.values, ds.occupancy.sel(state=state).values, err_msg=str(state))


@pytest.mark.parametrize("name", ["small", "baseline"])
def test_no_negative_stock_and_capacity_respected_at_month_ends(name: str, request: pytest.FixtureRequest) -> None:
    ds = request.getfixturevalue(name)
    assert int(ds.occupancy.min()) >= 0
    shelters = ds.state_kind == "shelter"
    over = (ds.occupancy_persons > ds.capacity).where(shelters, False)
    assert not bool(over.any())
    housing = ds.capacity.notnull() & (ds.state_kind == "housing")
    assert not bool((ds.occupancy > ds.capacity).where(housing, False).any())


def test_capacities_never_exceeded_at_any_event() -> None:
    model = CheckedModel(load_scenario(DATA / "scenario_small.yaml", years=2))
    model.run_until(model.horizon)
    assert model.capacity_checks >= model.events_processed > 1000


def test_capacity_check_catches_an_overfull_shelter() -> None:
    model = CheckedModel(load_scenario(DATA / "scenario_small.yaml", years=1))
    shelter = model.pathway.state_index["shelter"]
    model._a["places"][0, shelter] = 0  # places vanish under the residents: the next event must fail
    with pytest.raises(AssertionError, match="exceeds its capacity"):
        model.run_for(30)


@pytest.mark.parametrize("name", ["small", "baseline"])
def test_waits_agree_with_flows(name: str, request: pytest.FixtureRequest) -> None:
    """Households served by a waiting list are exactly the moves into that state, month by month."""
    ds = request.getfixturevalue(name)
    for state in ds.state.values:
        into = ds.flow.sel(transition=ds.flow.transition_target == state).sum("transition")
        queued = ds.queue_length.sel(state=state).notnull().all()
        if bool(queued):
            np.testing.assert_array_equal(ds.served.sel(state=state).values, into.values, err_msg=str(state))
            accepted = ds.offers.sel(state=state) - ds.refusals.sel(state=state)
            np.testing.assert_array_equal(accepted.values, into.values)
            has_wait = ds.wait_days.sel(state=state, statistic="median").notnull()
            np.testing.assert_array_equal(has_wait.values, (into > 0).values)
    waits = ds.wait_days
    assert float(waits.min()) >= 0
    assert bool((waits.sel(statistic="p90") >= waits.sel(statistic="median")).where(waits.sel(statistic="median").notnull(), True).all())
    np.testing.assert_array_equal(ds.wait_histogram.sum("wait_bin").values, ds.served.values)


def test_lettings_used_are_moves_into_turnover_housing(small: xr.Dataset) -> None:
    used = small.lettings.sel(state="social") - small.lettings_unused.sel(state="social")
    into = small.flow.sel(transition="shelter->social")
    np.testing.assert_array_equal(used.values, into.values)
    assert int(small.lettings.sel(state="social").sum()) > 0


def test_same_seed_same_dataset_other_seed_different() -> None:
    a = run_scenario(DATA / "scenario_small.yaml", years=1, seed=11)
    b = run_scenario(DATA / "scenario_small.yaml", years=1, seed=11)
    c = run_scenario(DATA / "scenario_small.yaml", years=1, seed=12)
    assert a.identical(b)
    assert not a.occupancy.equals(c.occupancy)
    assert a.attrs["seed"] == 11 and c.attrs["seed"] == 12


def test_dataset_has_units_long_names_and_run_attributes(small: xr.Dataset) -> None:
    for name, var in small.data_vars.items():
        assert var.attrs.get("units"), name
        assert var.attrs.get("long_name"), name
    for key in ("scenario", "seed", "lda_sim_version"):
        assert key in small.attrs
    assert {"territory", "time"} <= set(small.occupancy.dims)
    assert "street->shelter" in small.transition.values


def test_littles_law_on_a_stationary_queue(tmp_path: Path) -> None:
    """Mean occupancy = throughput x mean stay, on a shelter with exponential stays and no other exit."""
    scenario = write_one_queue_config(tmp_path, places=10000, arrivals_per_year=3650, mean_stay_days=60, seed=5)
    ds = run_scenario(scenario, years=6)
    stationary = dict(time=slice(12, None))  # discard the first year (start from empty)
    occupancy = float(ds.occupancy.sel(state="shelter").isel(stationary).mean().item())
    throughput_per_day = float(ds.flow.sel(transition="shelter->gone").isel(stationary).sum().item()) / (ds.sizes["time"] - 12) / MONTH_DAYS
    # L = lambda W with W = 60 days: expected 600; a 5% tolerance is about 3 standard errors here
    assert occupancy == pytest.approx(throughput_per_day * 60, rel=0.05)
    assert occupancy == pytest.approx(10 * 60, rel=0.05)
    # nobody waits when places are ample: waits are measured in continuous time, so exactly 0
    assert float(ds.wait_days_run.sel(state="shelter", statistic="p90").item()) == 0.0


@pytest.mark.parametrize(
    "law_spec",
    [
        {"law": "exponential", "mean_days": 100},
        {"law": "lognormal", "median_days": 100, "sigma": 0.8},
        {"law": "empirical", "edges_days": [0, 10, 100, 400], "shares": [0.5, 0.3, 0.2]},
        {"law": "fixed", "days": 30},
    ],
)
def test_initial_stays_are_length_biased(law_spec: dict) -> None:
    """The stay in progress of someone present on a given day has mean E[X^2] / E[X]."""
    from lda_sim.config.laws import make_law

    law = make_law(law_spec)
    rng = np.random.default_rng(5)
    plain = np.array([law.sample(u) for u in rng.random(100_000)])
    biased = np.array([law.sample_length_biased(u, v) for u, v in rng.random((100_000, 2))])
    assert biased.mean() == pytest.approx((plain**2).mean() / plain.mean(), rel=0.03)


def test_an_absurd_inflow_stops_with_a_clear_error(tmp_path: Path) -> None:
    from lda_sim.engine.model import EngineLimitError

    scenario = write_one_queue_config(tmp_path, places=10, arrivals_per_year=9e5, mean_stay_days=30.0, seed=1)  # under the load-time bound
    model = HousingModel(load_scenario(scenario, years=1), max_households=20_000)
    with pytest.raises(EngineLimitError, match="more than 20,000 households alive at once"):
        model.run_until(model.horizon)


def test_run_years_and_months_end_on_month_ends() -> None:
    model = HousingModel(load_scenario(DATA / "scenario_small.yaml", years=2))
    model.run_years(1)
    assert model.dataset().sizes["time"] == 12 and model.time == 12 * MONTH_DAYS
    model.run_months(3)
    assert model.dataset().sizes["time"] == 15
    model.run_years(5)  # not past the horizon
    assert model.dataset().sizes["time"] == 24 and model.time == model.horizon
