"""Policy levers: each moves its target indicator in the expected direction, shows its timeline in
the capacity series, and keeps households conserved and capacities respected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from lda_sim.analysis.run import run_scenario, run_scenarios
from lda_sim.config.errors import ConfigError
from lda_sim.config.scenario import load_scenario
from lda_sim.engine.model import HousingModel
from tests.test_model import CheckedModel

DATA = Path(__file__).parent / "data"
SCENARIOS = Path(__file__).parent.parent / "configs" / "scenarios"
YEARS = 4


def scenario_with(tmp_path: Path, name: str, *policies: dict, **settings: object) -> Path:
    """A scenario extending the small test scenario with ``policies``."""
    path = tmp_path / f"{name}.yaml"
    spec = {"name": name, "extends": str(DATA / "scenario_small.yaml"), "policies": list(policies), **settings}
    path.write_text(yaml.safe_dump({"scenario": spec}))
    return path


def run(path: Path, seed: int = 3) -> xr.Dataset:
    return run_scenario(path, years=YEARS, seed=seed)


@pytest.fixture(scope="module")
def baseline() -> xr.Dataset:
    return run_scenario(DATA / "scenario_small.yaml", years=YEARS, seed=3)


def assert_conserved(ds: xr.Dataset) -> None:
    initial = ds.initial_occupancy.sum("state")
    inside = ds.occupancy.where(ds.state_kind != "exit", 0).sum("state")
    expected = initial + ds.entries.sum("cause").cumsum("time") - ds.exits.sum("exit_state").cumsum("time")
    np.testing.assert_array_equal(inside.values, expected.values)
    shelters = ds.state_kind == "shelter"
    assert not bool((ds.occupancy_persons > ds.capacity).where(shelters, False).any())


def month(ds: xr.Dataset, when: str) -> int:
    return int(np.argmax(ds.time.values >= np.datetime64(when)))


def test_production_shows_its_delivery_lag_and_houses_more(tmp_path: Path, baseline: xr.Dataset) -> None:
    path = scenario_with(
        tmp_path, "build",
        {"type": "production", "state": "housing", "start": "2025-01", "end": "2025-12", "units_per_year": 120,
         "delivery_lag_years": 1, "size_mix": {"small": 0.5, "large": 0.5}},
    )
    ds = run(path)
    capacity = ds.capacity.sel(territory="town", state="housing")
    base_capacity = baseline.capacity.sel(territory="town", state="housing")
    lag_start = month(ds, "2026-01")
    np.testing.assert_array_equal(capacity.values[:lag_start], base_capacity.values[:lag_start])  # nothing before the lag
    assert float(capacity.isel(time=lag_start + 11) - base_capacity.isel(time=lag_start + 11)) == 120  # all delivered in 2026
    into = ds.flow.sel(territory="town", transition="shelter->housing").sum()
    assert int(into) > int(baseline.flow.sel(territory="town", transition="shelter->housing").sum())
    assert_conserved(ds)


def test_production_of_turnover_housing_grows_the_stock_and_its_lettings(tmp_path: Path, baseline: xr.Dataset) -> None:
    path = scenario_with(
        tmp_path, "build-social",
        {"type": "production", "state": "social", "start": "2025-01", "end": "2026-12", "units_per_year": 2500,
         "delivery_lag_years": 0.5, "share_to_homeless": 0.5},
    )
    ds = run(path)
    stock = ds.capacity.sel(territory="town", state="social")
    assert float(stock.isel(time=0)) == 5000 and float(stock.isel(time=-1)) == 10000
    assert int(ds.lettings.sel(state="social").sum()) > int(baseline.lettings.sel(state="social").sum()) + 500
    assert_conserved(ds)


def test_iml_capture_adds_units_and_owners_take_them_back(tmp_path: Path, baseline: xr.Dataset) -> None:
    path = scenario_with(
        tmp_path, "iml",
        {"type": "iml_capture", "state": "housing", "start": "2025-01", "end": "2025-12", "units_per_year": 240,
         "owner_exit_rate_per_year": 1.0, "size_mix": {"small": 1.0}},
    )
    ds = run(path)
    extra = (ds.capacity - baseline.capacity).sel(territory="town", state="housing")
    peak = int(extra.max())
    assert 100 < peak <= 240
    assert int(extra.isel(time=-1)) < peak / 4  # most owners have left three years later
    assert_conserved(ds)


def test_transformation_converts_places_without_losing_anyone(tmp_path: Path, baseline: xr.Dataset) -> None:
    path = scenario_with(
        tmp_path, "convert",
        {"type": "transformation", "from": "shelter", "to": "housing", "start": "2025-07", "end": "2026-06",
         "places_per_year": 60, "persons_per_unit": 1.5, "size_mix": {"small": 1.0}},
    )
    ds = run(path)
    places = ds.capacity.sel(territory="town", state="shelter")
    assert float(places.isel(time=0)) == 200 and float(places.isel(time=-1)) == 140
    units = (ds.capacity - baseline.capacity).sel(territory="town", state="housing")
    assert int(units.isel(time=month(ds, "2025-06"))) == 0 and int(units.isel(time=-1)) == 40
    assert_conserved(ds)
    model = CheckedModel(load_scenario(path, years=2, seed=3))  # capacity checked after every move
    model.run_until(model.horizon)


def test_capacity_cut_closes_places_only_as_they_empty(tmp_path: Path) -> None:
    path = scenario_with(tmp_path, "cut", {"type": "capacity_change", "state": "shelter", "start": "2025-01", "end": "2025-12", "change_per_year": -120})
    ds = run(path)
    places = ds.capacity.sel(territory="town", state="shelter")
    assert float(places.isel(time=-1)) == 80
    assert bool((np.diff(places.values) <= 0).all())
    assert_conserved(ds)


def test_prevention_reduces_entries_and_the_street(tmp_path: Path, baseline: xr.Dataset) -> None:
    path = scenario_with(
        tmp_path, "prevent",
        {"type": "prevention", "start": "2025-01", "reduce": {"eviction": 0.8},
         "divert": {"other": {"share": 0.5, "to": "social"}}},
    )
    with pytest.raises(ConfigError, match="without capacity"):
        run(path)  # social housing has a capacity: diversion must go to an open state
    path = scenario_with(tmp_path, "prevent", {"type": "prevention", "start": "2025-01", "reduce": {"eviction": 0.8}})
    ds = run(path)
    eviction = ds.entries.sel(cause="eviction").sum()
    prevented = ds.prevented.sel(cause="eviction").sum()
    base_eviction = baseline.entries.sel(cause="eviction").sum()
    assert int(eviction + prevented) == int(base_eviction)  # the same arrivals, thinned (common random numbers)
    assert 0.75 < float(prevented / base_eviction) < 0.85
    street = ds.occupancy_mean.sel(territory="town", state="street").mean()
    assert float(street) < 0.8 * float(baseline.occupancy_mean.sel(territory="town", state="street").mean())
    assert_conserved(ds)


def test_support_lowers_tenancy_failure(tmp_path: Path, baseline: xr.Dataset) -> None:
    path = scenario_with(tmp_path, "support", {"type": "support", "start": "2025-01", "slots": 1000, "states": ["housing"], "failure_reduction": 0.9})
    ds = run(path)
    failures = int(ds.flow.sel(transition="housing->street").sum())
    assert failures < 0.4 * int(baseline.flow.sel(transition="housing->street").sum())
    assert int(ds.support_used.max()) > 0 and int(ds.support_used.max()) <= 1000
    assert_conserved(ds)


def test_support_slots_run_out(tmp_path: Path) -> None:
    path = scenario_with(tmp_path, "few-slots", {"type": "support", "start": "2025-01", "slots": 5, "states": ["housing"], "failure_reduction": 1.0})
    ds = run(path)
    assert int(ds.support_used.max()) == 5
    assert int(ds.flow.sel(transition="housing->street").sum()) > 0  # unsupported tenants still fail


def test_allocation_share_to_homeless_raises_lettings_from_its_start(tmp_path: Path, baseline: xr.Dataset) -> None:
    path = scenario_with(tmp_path, "share", {"type": "allocation", "start": "2026-01", "state": "social", "share_to_homeless": 0.75})
    ds = run(path)
    before, after = month(ds, "2026-01"), month(ds, "2026-01")
    np.testing.assert_array_equal(ds.lettings.isel(time=slice(0, before)).values, baseline.lettings.isel(time=slice(0, before)).values)
    assert int(ds.lettings.sel(state="social").isel(time=slice(after, None)).sum()) > 2.5 * int(
        baseline.lettings.sel(state="social").isel(time=slice(after, None)).sum()
    )
    assert_conserved(ds)


def test_priority_rule_change_serves_priority_households_first(tmp_path: Path) -> None:
    path = scenario_with(tmp_path, "priority", {"type": "allocation", "start": "2025-01", "rule": "priority_first"})
    model = CheckedModel(load_scenario(path, years=1, seed=3))
    model.run_until(model.horizon)
    territory = model.territories[0]
    social = model.pathway.state_index["social"]
    waiting = territory.waiting[social]
    head = waiting.best()
    if head is not None and any(h.priority for h in waiting.households()):
        assert head.priority


def test_pathway_doctrine_closes_transitions(tmp_path: Path, baseline: xr.Dataset) -> None:
    path = scenario_with(
        tmp_path, "close",
        {"type": "pathway", "start": "2025-01", "close": ["shelter->social"],
         "ready_after": {"shelter->housing": {"law": "fixed", "days": 60}}},
    )
    ds = run(path)
    assert int(ds.flow.sel(transition="shelter->social").sum()) == 0
    assert float(ds.wait_days_run.sel(territory="town", state="housing", statistic="median")) >= 0
    assert_conserved(ds)
    with pytest.raises(ConfigError, match="unknown transition"):
        load_scenario(scenario_with(tmp_path, "bad", {"type": "pathway", "start": "2025-01", "close": ["shelter->nowhere"]}))


@pytest.mark.parametrize(
    ("policy", "field", "message"),
    [
        ({"type": "production", "start": "2025-01", "state": "shelter", "units_per_year": 5}, "state", "capacity kind"),
        ({"type": "production", "start": "2024-01", "state": "housing", "units_per_year": 5}, "start", "before the scenario starts"),
        ({"type": "production", "start": "2025-06", "end": "2025-01", "state": "housing", "units_per_year": 5}, "end", "before start"),
        ({"type": "production", "start": "2025-01", "state": "housing", "units_per_year": -5}, "units_per_year", "minimum"),
        ({"type": "iml_capture", "start": "2025-01", "state": "housing", "units_per_year": 5, "size_mix": {"small": 0.5}}, "size_mix", "sum to"),
        ({"type": "transformation", "start": "2025-01", "from": "housing", "to": "shelter", "places_per_year": 5}, "from", "capacity kind"),
        ({"type": "support", "start": "2025-01", "slots": 5, "states": ["shelter"], "failure_reduction": 0.5}, "states[0]", "not a housing state"),
        ({"type": "allocation", "start": "2025-01", "rule": "nonsense"}, "rule", "unknown priority rule"),
        ({"type": "teleport", "start": "2025-01"}, "type", "unknown policy type"),
        ({"type": "production", "start": "2025-01", "state": "housing", "units_per_year": 5, "territories": ["atlantis"]}, "territories", "unknown territory"),
    ],
)
def test_bad_policies_are_reported_with_file_and_field(tmp_path: Path, policy: dict, field: str, message: str) -> None:
    path = scenario_with(tmp_path, "bad", policy)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.field.startswith("scenario.policies[0]") and info.value.field.endswith(field)
    assert message in info.value.message


def test_extends_inherits_settings_and_policies(tmp_path: Path) -> None:
    first = scenario_with(tmp_path, "first", {"type": "capacity_change", "state": "shelter", "start": "2025-01", "change_per_year": 12})
    second = tmp_path / "second.yaml"
    second.write_text(yaml.safe_dump({"scenario": {"name": "second", "extends": first.name, "years": 2,
                                                    "policies": [{"type": "support", "start": "2025-01", "slots": 3, "states": ["housing"], "failure_reduction": 0.5}]}}))
    sc = load_scenario(second)
    assert sc.name == "second" and sc.years == 2 and sc.seed == 7
    assert [p.type_name for p in sc.policies] == ["capacity_change", "support"]
    loop = tmp_path / "loop.yaml"
    loop.write_text(yaml.safe_dump({"scenario": {"name": "loop", "extends": "loop.yaml"}}))
    with pytest.raises(ConfigError, match="cycle"):
        load_scenario(loop)


def test_several_scenarios_in_one_dataset_share_the_baseline_draws(tmp_path: Path) -> None:
    path = scenario_with(tmp_path, "late", {"type": "capacity_change", "state": "shelter", "start": "2027-01", "change_per_year": 60})
    ds = run_scenarios([DATA / "scenario_small.yaml", path], years=3)
    assert list(ds.scenario.values) == ["small", "late"]
    before = month(ds, "2027-01")
    # identical until the policy starts: same seed, same households, same draws
    np.testing.assert_array_equal(
        ds.occupancy.sel(scenario="small").isel(time=slice(0, before)).values,
        ds.occupancy.sel(scenario="late").isel(time=slice(0, before)).values,
    )
    assert not ds.occupancy.sel(scenario="small").equals(ds.occupancy.sel(scenario="late"))


def test_costs_follow_occupancy_and_capacity() -> None:
    sc = load_scenario(SCENARIOS / "baseline.yaml", years=1, seed=2)
    ds = run_scenario(sc)
    amp = ds.sel(territory="aix-marseille-provence")
    hotel_cost = float(amp.cost.sel(state="hotel").sum())
    # per person-day rate x person-days: bounded by places x days x rate
    places = float(amp.capacity.sel(state="hotel").isel(time=0))
    assert 0 < hotel_cost <= places * 365.25 * 17.08 * 1.001
    # funded places are paid whether occupied or not: CHRS cost = places x days x rate exactly
    chrs = float(amp.cost.sel(state="insertion_shelter").sum())
    assert chrs == pytest.approx(float(amp.capacity.sel(state="insertion_shelter").isel(time=0)) * 12 * 365.25 / 12 * 20550 / 365.25)
    assert float(amp.cost.sel(state="social_housing").sum()) == 0


def test_staircase_gives_longer_times_to_housing_than_logement_d_abord() -> None:
    ds = run_scenarios([SCENARIOS / "staircase.yaml", SCENARIOS / "logement-d-abord.yaml"], years=2, seed=5)
    for territory in ds.territory.values:
        staircase = float(ds.time_to_housing_run.sel(scenario="staircase", territory=territory, statistic="mean"))
        lda = float(ds.time_to_housing_run.sel(scenario="logement-d-abord", territory=territory, statistic="mean"))
        assert staircase > 1.2 * lda, territory
        into_social_from_street = ds.flow.sel(scenario="staircase", transition="street->social_housing").sum()
        assert int(into_social_from_street) == 0


def test_sliding_leases_only_take_captured_units_out_of_the_scheme(tmp_path: Path, baseline: xr.Dataset) -> None:
    pathway = yaml.safe_load((DATA / "pathway_small.yaml").read_text())
    pathway["pathway"]["transitions"].append({"from": "housing", "to": "own", "mode": "stay"})
    pathway["pathway"]["transitions"] = [t for t in pathway["pathway"]["transitions"] if not (t["from"] == "housing" and t["mode"] == "hazard")]
    pathway["pathway"]["transitions"].append({"from": "own", "to": "exit", "mode": "hazard"})
    pathway["pathway"]["states"]["own"] = {"kind": "housing", "supply": "open"}
    (tmp_path / "pathway.yaml").write_text(yaml.safe_dump(pathway, sort_keys=False))
    territory = yaml.safe_load((DATA / "territory_small.yaml").read_text())
    territory["states"]["housing"]["stay"] = {"law": "exponential", "mean_days": 200}
    for key in ("housing->exit", "housing->street"):
        territory["transitions"].pop(key)
    territory["transitions"]["housing->own"] = {"weight": 1}
    territory["transitions"]["own->exit"] = {"rate_per_year": 0.2}
    (tmp_path / "territory.yaml").write_text(yaml.safe_dump(territory, sort_keys=False))
    path = tmp_path / "slide.yaml"
    path.write_text(yaml.safe_dump({"scenario": {
        "name": "slide", "start": "2025-01", "years": YEARS, "seed": 3, "pathway": "pathway.yaml", "territories": ["territory.yaml"],
        "policies": [{"type": "iml_capture", "state": "housing", "start": "2025-01", "end": "2025-12", "units_per_year": 60,
                      "sliding_lease_leaves_scheme": True, "size_mix": {"small": 1.0}}]}}))
    ds = run(path)
    units = ds.capacity.sel(territory="town", state="housing")
    assert float(units.isel(time=-1)) == 60  # the 60 captured units slid away; the 60 existing remain
    assert float(units.max()) > 60
    assert_conserved(ds)


def test_run_several_scenarios_and_compare_from_the_command_line(tmp_path: Path) -> None:
    import pandas as pd
    from click.testing import CliRunner

    from lda_sim.cli import main

    more = scenario_with(tmp_path, "more-shelter", {"type": "capacity_change", "state": "shelter", "start": "2025-01", "end": "2025-12", "change_per_year": 100})
    out = tmp_path / "both.nc"
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(DATA / "scenario_small.yaml"), str(more), "--years", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "[small]" in result.stdout and "[more-shelter]" in result.stdout
    result = runner.invoke(main, ["compare", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Persons sheltered (period mean)" in result.stdout and "more-shelter" in result.stdout
    table = pd.read_csv(tmp_path / "both.compare.csv")
    assert list(table.scenario) == ["small", "more-shelter"] and set(table.territory) == {"town"}
    assert table.loc[0, "diff_sheltered_persons"] == 0
    assert table.loc[1, "sheltered_persons"] > table.loc[0, "sheltered_persons"]  # 100 more places, full
    assert (tmp_path / "both.compare.png").stat().st_size > 10_000
    result = runner.invoke(main, ["compare", str(out), "--baseline", "nope"])
    assert result.exit_code == 2 and "nope" in result.stderr


def test_each_model_builds_its_own_policies(tmp_path: Path) -> None:
    """Two models of one loaded scenario do not share policy objects (nor deliveries)."""
    path = scenario_with(tmp_path, "prod", {"type": "production", "start": "2025-01", "state": "housing", "units_per_year": 24})
    scenario = load_scenario(path, years=1, seed=3)
    first, second = HousingModel(scenario), HousingModel(scenario)
    assert first.policies[0] is not second.policies[0] and first.policies[0] is not scenario.policies[0]
    first.run_until(first.horizon)
    second.run_until(second.horizon)
    a, b = first.dataset(), second.dataset()
    np.testing.assert_array_equal(a.capacity.values, b.capacity.values)
    housing = scenario.pathway.state_index["housing"]
    assert float(a.capacity.isel(territory=0, state=housing, time=-1)) - float(a.capacity.isel(territory=0, state=housing, time=0)) >= 20
    assert not hasattr(scenario.policies[0], "_model")
