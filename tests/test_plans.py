"""Plans that change with time: inflow projections by year, seasonal capacity (the winter plan),
deliveries and closures on exact dates, a horizon by date and results at chosen dates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from click.testing import CliRunner

from lda_sim.analysis.run import run_scenario
from lda_sim.cli import main
from lda_sim.config.errors import ConfigError
from lda_sim.config.scenario import load_scenario
from lda_sim.config.timebase import MONTH_DAYS, day_of, end_of
from lda_sim.engine.model import HousingModel
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
        ({"type": "capacity_change", "start": "2025-05-10", "end": "2025-05-01", "state": "shelter", "change_per_year": 5}, "end", "before start"),
        ({"type": "capacity_change", "start": "2025-05", "state": "shelter", "change": 5, "change_per_year": 5}, "change", "not both"),
        ({"type": "capacity_change", "start": "2025-05", "state": "shelter"}, "change_per_year", "missing"),
        ({"type": "capacity_change", "start": "2025-05", "end": "2025-06", "state": "shelter", "change": 5}, "end", "takes no end"),
        ({"type": "capacity_change", "start": "2025-05", "state": "shelter", "change": 2.5}, "change", "integer"),
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


# --------------------------------------------------------------------------------------------
# a horizon by date
# --------------------------------------------------------------------------------------------
def test_until_gives_the_months_to_the_end_of_that_month(tmp_path: Path) -> None:
    assert load_scenario(DATA / "scenario_small.yaml", until="2030-12").months == 72  # from 2025-01
    assert load_scenario(DATA / "scenario_small.yaml", until="2025-01").months == 1
    path = scenario_with(tmp_path, "by-date", until="2026-06")
    sc = load_scenario(path)
    assert sc.months == 18 and sc.years == 1.5  # the file's until replaces the years it extends
    assert load_scenario(path, years=1).months == 12  # --years replaces the file's until
    ds = run_scenario(path, seed=1)
    assert ds.sizes["time"] == 18 and str(ds.time.values[-1])[:7] == "2026-06"
    out = tmp_path / "until.nc"
    result = CliRunner().invoke(main, ["run", str(DATA / "scenario_small.yaml"), "--until", "2025-09", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert xr.open_dataset(out).sizes["time"] == 9


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        (["--until", "2024-12"], "scenario.until", "before the scenario starts"),
        (["--until", "2025-13"], "scenario.until", "expected a month"),
        (["--until", "2025-06-30"], "scenario.until", "expected a month"),
        (["--snapshot", "2026-07-02", "--until", "2026-06"], "--snapshot", "after the end of the run"),
        (["--snapshot", "2024-12-31"], "--snapshot", "before the scenario starts"),
        (["--snapshot", "2025-02-29"], "--snapshot", "has 28 days"),
        (["--snapshot", "15/03/2025"], "--snapshot", "not a date"),
    ],
)
def test_bad_horizons_and_snapshots_on_the_command_line(tmp_path: Path, args: list[str], field: str, words: str) -> None:
    out = tmp_path / "out.nc"
    scenario = DATA / "scenario_small.yaml"
    result = CliRunner().invoke(main, ["run", str(scenario), "--out", str(out), *args])
    assert result.exit_code == 2 and result.stdout == "" and not out.exists()
    assert words in assert_one_line_error(result.stderr, scenario, field)


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"until": "2024-06"}, "scenario.until", "before the scenario starts"),
        ({"until": "2026-06", "years": 2}, "scenario.until", "not both"),
        ({"until": "2026-6"}, "scenario.until", "does not match"),
        ({"snapshots": ["2025-06-15", "2028-01-02"]}, "scenario.snapshots[1]", "after the end of the run (2028-01-01"),
        ({"snapshots": ["2025-06"]}, "scenario.snapshots[0]", "does not match"),
        ({"snapshots": ["2025-04-31"]}, "scenario.snapshots[0]", "has 30 days"),
    ],
)
def test_bad_horizons_and_snapshots_in_a_scenario_file(tmp_path: Path, settings: dict, field: str, words: str) -> None:
    path = scenario_with(tmp_path, "bad", **settings)
    out = tmp_path / "out.nc"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2 and result.stdout == "" and not out.exists()
    assert words in assert_one_line_error(result.stderr, path, field)


# --------------------------------------------------------------------------------------------
# results at chosen dates
# --------------------------------------------------------------------------------------------
STOCKS = {"occupancy": "snapshot_occupancy", "occupancy_persons": "snapshot_occupancy_persons",
          "capacity": "snapshot_capacity", "queue_length": "snapshot_queue_length"}


def test_snapshots_on_the_first_of_a_month_equal_the_stocks_at_the_end_of_the_month_before(tmp_path: Path) -> None:
    # levers act at every month start (production, IML capture) and on the snapshot days themselves
    path = scenario_with(
        tmp_path, "snap",
        {"type": "production", "state": "housing", "start": "2025-01", "units_per_year": 60, "size_mix": {"small": 0.5, "large": 0.5}},
        {"type": "capacity_change", "start": "2025-07-01", "state": "shelter", "change": -30},
        {"type": "seasonal_capacity", "start": "2025-01", "state": "shelter", "places": 25},
        snapshots=["2025-02-01", "2025-07-01", "2025-11-01", "2026-01-01"],
    )
    ds = run_scenario(path, years=1, seed=5)
    assert [str(s)[:10] for s in ds.snapshot.values] == ["2025-02-01", "2025-07-01", "2025-11-01", "2026-01-01"]
    for snapshot, month in zip(ds.snapshot.values, ("2025-01", "2025-06", "2025-10", "2025-12")):
        for monthly, variable in STOCKS.items():
            np.testing.assert_array_equal(
                ds[variable].sel(snapshot=snapshot).values, ds[monthly].sel(time=month).squeeze("time").values, err_msg=f"{variable} {month}"
            )
    assert ds.snapshot_occupancy.attrs["units"] == "households"


def test_a_snapshot_sees_a_delivery_of_the_day_before_not_of_its_own_day(tmp_path: Path) -> None:
    path = scenario_with(
        tmp_path, "snap-delivery", {"type": "capacity_change", "start": "2025-03-15", "state": "shelter", "change": 40},
        snapshots=["2025-03-14", "2025-03-15", "2025-03-16"],
    )
    ds = run_scenario(path, years=1, seed=5, snapshots=["2025-04-01"])
    capacity = ds.snapshot_capacity.sel(territory="town", state="shelter").values
    assert list(capacity) == [200, 200, 240, 240]  # at the start of 15 March the delivery of that day is not in yet
    np.testing.assert_array_equal(ds.snapshot_day.values[:2], [day_of("2025-03-14", np.datetime64("2025-01")), day_of("2025-03-15", np.datetime64("2025-01"))])


def test_snapshots_do_not_change_the_run(tmp_path: Path) -> None:
    path = scenario_with(tmp_path, "plain", {"type": "seasonal_capacity", "start": "2025-01", "state": "shelter", "places": 25})
    plain = run_scenario(path, years=1, seed=5)
    snapped = run_scenario(path, years=1, seed=5, snapshots=["2025-02-11", "2025-06-30", "2025-11-01"])
    xr.testing.assert_identical(plain, snapped.drop_vars([*STOCKS.values(), "snapshot", "snapshot_day"]))


def test_a_horizon_shortened_by_the_caller_leaves_later_snapshots_of_the_file_out(tmp_path: Path) -> None:
    path = scenario_with(tmp_path, "later", snapshots=["2025-03-01", "2027-03-01"])
    assert load_scenario(path, years=1).snapshots == ("2025-03-01",)
    assert load_scenario(path, until="2027-12").snapshots == ("2025-03-01", "2027-03-01")


def test_snapshots_and_until_on_the_command_line_and_on_dask(tmp_path: Path) -> None:
    scenario = DATA / "scenario_small.yaml"
    out = tmp_path / "snap.nc"
    result = CliRunner().invoke(main, ["run", str(scenario), "--until", "2025-06", "--snapshot", "2025-04-01", "--snapshot", "2025-02-10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    ds = xr.open_dataset(out)
    assert ds.sizes["time"] == 6 and [str(s)[:10] for s in ds.snapshot.values] == ["2025-02-10", "2025-04-01"]
    np.testing.assert_array_equal(ds.snapshot_occupancy.sel(snapshot="2025-04-01").values, ds.occupancy.sel(time="2025-03").squeeze("time").values)
    out = tmp_path / "replicates.nc"
    result = CliRunner().invoke(main, ["run", str(scenario), "--until", "2025-04", "--snapshot", "2025-03-01", "--replicates", "2", "--workers", "1",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    ds = xr.open_dataset(out)
    assert ds.sizes["time"] == 4 and ds.sizes["replicate"] == 2
    np.testing.assert_array_equal(ds.snapshot_occupancy.isel(snapshot=0).transpose(*ds.occupancy.isel(time=0).dims).values,
                                  ds.occupancy.sel(time="2025-02").squeeze("time").values)


def test_reports_say_the_new_levers_in_sentences() -> None:
    from lda_sim.presentation.report import policy_sentence

    states = {"emergency_shelter": "Hébergement d'urgence", "hotel": "Hôtel"}
    assert policy_sentence({"type": "seasonal_capacity", "start": "2025-01", "state": "emergency_shelter", "places": 300}, "fr", states) == (
        "Ouverture saisonnière de 300 places en hébergement d'urgence chaque année, du 1er novembre au 31 mars, "
        "fermées à mesure qu'elles se libèrent, à partir de janvier 2025."
    )
    assert policy_sentence({"type": "capacity_change", "start": "2027-03-15", "state": "hotel", "change": -40}, "en", states) == (
        "Closure of 40 places or units of Hôtel, as they empty, on 15 March 2027."
    )
    assert policy_sentence({"type": "inflow_projection", "start": "2025-01", "cause": "eviction", "households_per_year": {"2026": 605}}, "en") == (
        "Projection of the arrivals by eviction: 605 households a year from 2026, from January 2025."
    )


def test_compare_and_charts_take_the_snapshot_dimension_as_part_of_a_run(tmp_path: Path) -> None:
    from lda_sim.analysis.compare import comparison_table
    from lda_sim.analysis.run import run_scenarios
    from lda_sim.presentation.plotting import swept_parameters

    winter = scenario_with(tmp_path, "winter", {"type": "seasonal_capacity", "start": "2025-01", "state": "shelter", "places": 60})
    ds = run_scenarios([DATA / "scenario_small.yaml", winter], years=1, seed=3, snapshots=["2025-02-15", "2025-06-15"])
    assert ds.sizes["snapshot"] == 2 and swept_parameters(ds) == []
    table = comparison_table(ds)
    assert sorted(set(table.scenario)) == ["small", "winter"]
    winter_capacity = ds.snapshot_capacity.sel(scenario="winter", territory="town", state="shelter").values
    assert list(winter_capacity) == [SHELTER_PLACES + 60, SHELTER_PLACES]


def test_a_sweep_by_date_with_snapshots(tmp_path: Path) -> None:
    path = scenario_with(tmp_path, "sweep", {"type": "seasonal_capacity", "start": "2025-01", "state": "shelter", "places": 10})
    out = tmp_path / "sweep.nc"
    result = CliRunner().invoke(main, ["sweep", str(path), "--vary", "policies[0].places=10,50", "--until", "2025-03", "--snapshot", "2025-03-01",
                                       "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    ds = xr.open_dataset(out)
    assert ds.sizes["time"] == 3
    capacity = ds.snapshot_capacity.sel(territory="town", state="shelter").squeeze()
    assert sorted(capacity.values.ravel().tolist()) == [SHELTER_PLACES + 10, SHELTER_PLACES + 50]
    result = CliRunner().invoke(main, ["sweep", str(path), "--vary", "policies[0].places=10,50", "--until", "2025-03", "--years", "1", "--out", str(out)])
    assert result.exit_code == 2 and "not both" in result.stderr
