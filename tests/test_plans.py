"""Plans that change with time: inflow projections by year, seasonal capacity (the winter plan),
deliveries and closures on exact dates, a horizon by date and results at chosen dates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from click.testing import CliRunner

from lda_sim.cli import main
from lda_sim.config import load_scenario
from lda_sim.errors import ConfigError
from lda_sim.model import HousingModel
from lda_sim.run import run_scenario
from lda_sim.timebase import MONTH_DAYS, day_of, end_of
from tests.test_cli import assert_one_line_error

DATA = Path(__file__).parent / "data"
SHELTER_PLACES = 200  # tests/data/territory_small.yaml


def scenario_with(tmp_path: Path, name: str, *policies: dict, **settings: object) -> Path:
    """A scenario extending the small test scenario (from 2025-01) with ``policies``."""
    path = tmp_path / f"{name}.yaml"
    spec = {"name": name, "extends": str(DATA / "scenario_small.yaml"), "policies": list(policies), **settings}
    path.write_text(yaml.safe_dump({"scenario": spec}))
    return path


def yearly(da: xr.DataArray) -> dict[int, float]:
    return {int(y): float(v) for y, v in da.groupby("time.year").sum().to_series().items()}


# --------------------------------------------------------------------------------------------
# the calendar of the model's clock
# --------------------------------------------------------------------------------------------
def test_dates_fall_at_their_fraction_of_the_model_month() -> None:
    start = np.datetime64("2025-01", "M")
    assert day_of("2025-01", start) == 0
    assert day_of("2025-03", start) == 2 * MONTH_DAYS
    assert day_of("2025-03-15", start) == pytest.approx((2 + 14 / 31) * MONTH_DAYS)
    assert day_of("2025-02-15", start) == pytest.approx((1 + 14 / 28) * MONTH_DAYS)
    assert end_of("2025-03-31", start) == pytest.approx(3 * MONTH_DAYS)  # the end of March is the start of April
    assert end_of("2025-12", start) == pytest.approx(365.25)
    with pytest.raises(ValueError, match="has 28 days"):
        day_of("2025-02-30", start)


# --------------------------------------------------------------------------------------------
# inflow projections
# --------------------------------------------------------------------------------------------
def test_a_yearly_projection_sets_the_rate_on_each_first_of_january_and_shows_in_the_entries(tmp_path: Path) -> None:
    rates = {2026: 900, 2027: 1500}  # eviction inflow of the small territory: 300 a year
    path = scenario_with(tmp_path, "projection", {"type": "inflow_projection", "start": "2025-01", "cause": "eviction", "households_per_year": rates})
    sc = load_scenario(path, years=4, seed=2)
    model = HousingModel(sc)
    town = model.territories[0]
    eviction = [f.cause for f in town.config.inflows].index("eviction")
    trace = {}
    for year in (2025, 2026, 2027, 2028):
        model.run_until(day_of(f"{year}-01", sc.start) + 1)
        trace[year] = float(town.inflow_rates[eviction])
    assert trace == {2025: 300, 2026: 900, 2027: 1500, 2028: 1500}  # 2028 not given: the last rate holds
    model.run()
    entries = yearly(model.dataset().entries.sel(territory="town", cause="eviction"))
    for year, rate in {2025: 300, **rates, 2028: 1500}.items():
        assert abs(entries[year] - rate) < 4 * np.sqrt(rate), (year, entries[year], rate)  # Poisson: within 4 sigma
    other = yearly(model.dataset().entries.sel(territory="town", cause="other"))
    assert all(abs(v - 200) < 4 * np.sqrt(200) for v in other.values())  # the other inflow is untouched


def test_a_growth_factor_compounds_every_january_from_the_start_and_ends_with_the_policy(tmp_path: Path) -> None:
    path = scenario_with(tmp_path, "growth", {"type": "inflow_projection", "start": "2025-06", "end": "2027-12", "growth_per_year": 0.5})
    sc = load_scenario(path, years=4, seed=2)
    model = HousingModel(sc)
    town = model.territories[0]
    seen = {}
    for when in ("2025-03", "2025-07", "2026-02", "2027-02", "2028-02"):
        model.run_until(day_of(when, sc.start))
        seen[when] = [float(r) for r in town.inflow_rates]
    assert seen["2025-03"] == seen["2025-07"] == [300, 200]  # growth starts on the first 1 January after start
    assert seen["2026-02"] == [450, 300]
    assert seen["2027-02"] == [675, 450]
    assert seen["2028-02"] == [300, 200]  # after its end, the territory's own rates


# --------------------------------------------------------------------------------------------
# seasonal capacity: the winter plan
# --------------------------------------------------------------------------------------------
def test_a_winter_plan_opens_places_from_november_to_march_and_closes_them_after(tmp_path: Path) -> None:
    path = scenario_with(tmp_path, "winter", {"type": "seasonal_capacity", "start": "2025-01", "state": "shelter", "places": 60})
    ds = run_scenario(path, years=3, seed=4)
    capacity = ds.capacity.sel(territory="town", state="shelter").to_series()
    for when, value in capacity.items():
        month = when.month
        if month in (11, 12, 1, 2, 3):
            assert value == SHELTER_PLACES + 60, when  # the plan starts in January: open at once, and every winter
        elif month in (6, 7, 8, 9, 10):
            assert value == SHELTER_PLACES, when  # closed as they emptied after 31 March
        else:
            assert SHELTER_PLACES <= value <= SHELTER_PLACES + 60, when
    assert not bool((ds.occupancy_persons > ds.capacity).sel(state="shelter").any())  # nobody over capacity
    assert float(ds.occupancy_persons.sel(territory="town", state="shelter", time="2026-01").squeeze()) > SHELTER_PLACES


def test_a_winter_plan_with_its_own_dates_and_a_timeline_ending_mid_season(tmp_path: Path) -> None:
    path = scenario_with(
        tmp_path, "winter-dates",
        {"type": "seasonal_capacity", "start": "2025-01", "end": "2026-01-15", "state": "shelter", "places": 30, "opens": "12-15", "closes": "02-28"},
    )
    sc = load_scenario(path, years=2, seed=4)
    model = HousingModel(sc)
    places = {}
    for when in ("2025-01-10", "2025-02-27", "2025-03-02", "2025-12-14", "2025-12-16", "2026-01-20", "2026-02-10"):
        model.run_until(day_of(when, sc.start))
        places[when] = int(model.territories[0].places[1]) - int(model._a["closing_places"][0, 1])  # open, less those closing
    assert places == {
        "2025-01-10": 230, "2025-02-27": 230, "2025-03-02": 200, "2025-12-14": 200, "2025-12-16": 230,
        "2026-01-20": 200, "2026-02-10": 200,  # the timeline ended on 15 January
    }


# --------------------------------------------------------------------------------------------
# exact dates
# --------------------------------------------------------------------------------------------
def test_a_one_off_delivery_on_an_exact_date_takes_effect_that_day(tmp_path: Path) -> None:
    path = scenario_with(tmp_path, "delivery", {"type": "capacity_change", "start": "2025-03-15", "state": "shelter", "change": 40})
    sc = load_scenario(path, years=1, seed=4)
    model = HousingModel(sc)
    model.run_until(day_of("2025-03-15", sc.start) - 1e-6)
    assert int(model.territories[0].places[1]) == SHELTER_PLACES
    model.run_until(day_of("2025-03-15", sc.start))
    assert int(model.territories[0].places[1]) == SHELTER_PLACES + 40
    ds = model.run()
    capacity = ds.capacity.sel(territory="town", state="shelter").values
    assert list(capacity[:3]) == [200, 200, 240] and set(capacity[3:]) == {240}


def test_monthly_levers_start_on_an_exact_date(tmp_path: Path) -> None:
    path = scenario_with(
        tmp_path, "from-date",
        {"type": "capacity_change", "start": "2025-02-20", "end": "2025-05-10", "state": "shelter", "change_per_year": -120},
    )
    ds = run_scenario(path, years=1, seed=4)
    capacity = ds.capacity.sel(territory="town", state="shelter").values
    assert capacity[0] == 200 and capacity[-1] < 200  # closures from 20 February, one a month to 10 May


@pytest.mark.parametrize(
    ("policy", "field", "words"),
    [
        ({"type": "capacity_change", "start": "2025-02-30", "state": "shelter", "change": 5}, "start", "has 28 days"),
        ({"type": "capacity_change", "start": "2025-3-15", "state": "shelter", "change": 5}, "start", "does not match"),
        ({"type": "capacity_change", "start": "2024-12-31", "state": "shelter", "change": 5}, "start", "before the scenario starts"),
        ({"type": "capacity_change", "start": "2025-05-10", "end": "2025-05-01", "state": "shelter", "change": 5}, "end", "before start"),
        ({"type": "capacity_change", "start": "2025-05", "state": "shelter", "change": 5, "change_per_year": 5}, "change", "not both"),
        ({"type": "seasonal_capacity", "start": "2025-01", "state": "shelter", "places": 10, "opens": "11-31"}, "opens", "not a day of the year"),
        ({"type": "seasonal_capacity", "start": "2025-01", "state": "housing", "places": 10}, "state", "capacity kind"),
        ({"type": "inflow_projection", "start": "2025-01", "households_per_year": {2026: 5}}, "cause", "missing"),
        ({"type": "inflow_projection", "start": "2025-01", "cause": "violence", "households_per_year": {2026: 5}}, "cause", "no inflow"),
        ({"type": "inflow_projection", "start": "2025-01", "cause": "eviction", "households_per_year": {2026: 0}}, "households_per_year.2026", "stops the inflow"),
        ({"type": "inflow_projection", "start": "2025-01", "cause": "eviction", "households_per_year": {"26": 5}}, "households_per_year", "does not match"),
    ],
)
def test_bad_dates_and_plans_are_one_line_errors_naming_file_and_field(tmp_path: Path, policy: dict, field: str, words: str) -> None:
    path = scenario_with(tmp_path, "bad", policy)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.field.startswith("scenario.policies[0]") and info.value.field.endswith(field)
    assert words in info.value.message
    out = tmp_path / "out.nc"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2 and result.stdout == "" and not out.exists()
    assert_one_line_error(result.stderr, path, info.value.field)
