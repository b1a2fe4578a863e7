"""Honest indicators: censoring-aware time to housing, outcomes by group, period means, costs by need."""

from __future__ import annotations

import numpy as np
import pytest

from lda_sim.config.scenario import load_scenario
from lda_sim.config.timebase import MONTH_DAYS
from lda_sim.engine.model import HousingModel
from lda_sim.engine.survival import kaplan_meier

# --- the estimator ------------------------------------------------------------------------------
#: Freireich et al. (1963), 6-MP arm, as in Kleinbaum & Klein, Survival Analysis, and Collett:
#: weeks of remission, "+" = censored. Textbook Kaplan-Meier values at the event times.
GEHAN_TIMES = np.array([6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35], float)
GEHAN_EVENT = np.array([1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0], bool)
GEHAN_KM = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}


def test_kaplan_meier_matches_the_textbook_example() -> None:
    km = kaplan_meier(GEHAN_TIMES, GEHAN_EVENT)
    for t, s in GEHAN_KM.items():
        assert km.survival_at(t)[0] == pytest.approx(s, abs=5e-4)
    assert km.survival_at(5.9)[0] == 1.0
    assert km.median()[0] == 23.0
    assert np.isnan(km.survival_at(36)[0])  # past the longest spell: not extrapolated


def test_kaplan_meier_matches_lifelines_group_by_group() -> None:
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(3)
    n = 400
    group = rng.integers(0, 5, n)
    durations = np.round(rng.exponential(30 + 20 * group), 0)  # ties on purpose
    observed = rng.random(n) < 0.65
    km = kaplan_meier(durations, observed, group, 6)
    assert np.isnan(km.survival_at(1.0)[5]) and np.isnan(km.median()[5])  # an empty group
    for g in range(5):
        fit = lifelines.KaplanMeierFitter().fit(durations[group == g], observed[group == g])
        for t in (0.0, 5.0, 17.0, 30.0, 60.0, 90.0):
            if t <= durations[group == g].max():
                assert km.survival_at(t)[g] == pytest.approx(float(fit.survival_function_at_times(t).iloc[0]), abs=1e-12)
        steps = km.survival[km.group == g]
        if not np.any(np.isclose(steps, 0.5)):  # lifelines takes S < 0.5 on an exact plateau, the textbook S <= 0.5
            expected = fit.median_survival_time_
            assert (np.isnan(km.median()[g]) and np.isinf(expected)) or km.median()[g] == pytest.approx(expected)


def test_censoring_aware_median_differs_from_the_housed_only_one() -> None:
    # 4 of 10 housed early; the other 6 still waiting after a year: the housed-only median says 25
    # days, but fewer than half were housed, so the median time to housing is not reached.
    durations = np.array([10, 20, 30, 40, 365, 365, 365, 365, 365, 365], float)
    observed = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    assert np.median(durations[observed]) == 25
    km = kaplan_meier(durations, observed)
    assert np.isnan(km.median()[0])
    assert 1 - km.survival_at(6 * MONTH_DAYS)[0] == pytest.approx(0.4)


# --- in the engine ------------------------------------------------------------------------------
def _run(path, years: float = 3.0):
    return HousingModel(load_scenario(path, years=years)).run()


def test_spells_cover_every_arrival_and_group_sums_equal_totals(small_scenario_path) -> None:
    ds = _run(small_scenario_path)
    entries = int(ds.entries.sum())
    assert int(ds.spells.sum()) == entries  # every arrival has exactly one spell
    for dim in ("household_kind", "needs_level", "priority_class", "entry_state"):
        np.testing.assert_array_equal(ds[f"spells_by_{dim}"].sum(dim).values, ds.spells.values)
    kinds = dict(zip(ds.state.values, ds.state_kind.values))
    for group in ("shelter", "housing"):
        states = [s for s, k in kinds.items() if k == group]
        served = ds.served.sel(state=states).sum(("state", "time"))
        total_mean = ds.wait_days_by_kind.sel(state_group=group, statistic="mean")
        for dim in ("household_kind", "needs_level", "priority_class", "from_state"):
            counts = ds[f"served_by_{dim}"].sel(state_group=group)
            np.testing.assert_array_equal(counts.sum(dim).values, served.values)
            means = ds[f"wait_days_by_{dim}"].sel(state_group=group, statistic="mean")
            pooled = (counts * means.fillna(0)).sum(dim) / counts.sum(dim)
            np.testing.assert_allclose(pooled.values, total_mean.values, rtol=1e-9)
    # the from_state of a shelter wait is the street, here
    assert int(ds.served_by_from_state.sel(state_group="shelter", from_state="street").sum()) == int(ds.served_by_from_state.sel(state_group="shelter").sum())


def test_scarce_housing_makes_the_censoring_aware_median_longer(make_config) -> None:
    # few homes: most entrants are still unhoused at the end; those housed were the quick ones
    path = make_config(territory=lambda d: (d["states"]["housing"].update(units={"small": 10, "large": 5}),
                                            d["initial"]["housing"].update(households=15),
                                            d["states"]["social"].update(share_to_homeless=0.02)))
    ds = _run(path, years=2)
    housed_only = float(ds.time_to_housing_run.sel(statistic="median").item())
    km = ds.time_to_housing_km.sel(km_statistic="median").item()
    censored = int(ds.spells.sel(spell_event="censored").sum())
    assert censored > int(ds.spells.sel(spell_event="housed").sum())
    assert np.isnan(km) or km > 2 * housed_only
    assert float(ds.share_housed_within.sel(horizon=12).item()) < 0.5


def test_diverted_households_count_as_housed_at_once(make_config) -> None:
    def scenario(d):
        d["scenario"]["policies"] = [{"type": "prevention", "start": "2025-01", "divert": {"eviction": {"share": 0.5, "to": "private"}}}]

    def pathway(d):
        d["pathway"]["states"]["private"] = {"kind": "housing", "supply": "open"}
        d["pathway"]["transitions"].append({"from": "private", "to": "exit", "mode": "hazard"})
        d["pathway"]["transitions"].append({"from": "street", "to": "private", "mode": "hazard"})  # never taken: rate 0

    def territory(d):
        d["states"]["private"] = {}
        d["transitions"]["private->exit"] = {"rate_per_year": 0.1}
        d["transitions"]["street->private"] = {"rate_per_year": 0.0}

    path = make_config(scenario=scenario, pathway=pathway, territory=territory)
    ds = _run(path, years=1)
    from lda_sim.analysis.indicators import housed_flow

    diverted = int(ds.diverted.sum())
    assert diverted > 50
    by_entry = ds.spells_by_entry_state.sel(entry_state="private").isel(territory=0)
    assert int(by_entry.sel(spell_event="housed")) == diverted
    assert int(by_entry.sel(spell_event=["left_unhoused", "censored"]).sum()) == 0
    assert float(ds.time_to_housing_km_by_entry_state.sel(entry_state="private", km_statistic="median").item()) == 0.0
    moves = ds.flow.sel(transition=[t for t in ds.transition.values if str(t).endswith("->housing") or str(t).endswith("->social")]).sum()
    assert int(housed_flow(ds).sum()) == int(moves) + diverted


def test_returns_to_the_street_have_an_explicit_denominator(small_scenario_path) -> None:
    ds = _run(small_scenario_path, years=3)
    exposed = int(ds.housed_12_months_before_end.item())
    returned = int(ds.returned_to_street_within_12_months.item())
    assert exposed > 0 and 0 < returned <= exposed
    assert float(ds.share_returned_to_street_within_12_months.item()) == pytest.approx(returned / exposed)


# --- period means -------------------------------------------------------------------------------
def test_compare_reads_a_period_end_to_end(tmp_path, small_scenario_path) -> None:
    import pandas as pd
    from click.testing import CliRunner

    from lda_sim.cli import main
    from lda_sim.dataset.output import open_results

    out = tmp_path / "run.nc"
    ran = CliRunner().invoke(main, ["run", str(small_scenario_path), "--years", "2", "--out", str(out), "--lang", "en"])
    assert ran.exit_code == 0, ran.output
    assert "Period 2026-01:2026-12" in ran.stdout  # the run summary: the last 12 months by default
    csv = tmp_path / "cmp.csv"
    done = CliRunner().invoke(main, ["compare", str(out), "--period", "2025-04:2025-09", "--lang", "en", "--csv", str(csv),
                                     "--chart", str(tmp_path / "cmp.png")])
    assert done.exit_code == 0, done.output
    assert "period 2025-04:2025-09" in done.stdout and "Share housed within 12 months (KM)" in done.stdout
    table = pd.read_csv(csv)
    ds = open_results(out)
    months = ds.time.values.astype("datetime64[M]").astype(str)
    window = (months >= "2025-04") & (months <= "2025-09")
    street = float(ds.occupancy_persons.sel(state="street").isel(time=window).mean("time").item())
    assert table.street_persons.iloc[0] == pytest.approx(street, rel=1e-3)
    km = float(ds.time_to_housing_km.sel(km_statistic="median").item())
    assert table.median_time_to_housing_days.iloc[0] == pytest.approx(km, rel=1e-3)
    bad = CliRunner().invoke(main, ["compare", str(out), "--period", "2031-01:2031-12", "--csv", str(csv), "--chart", str(tmp_path / "c.png")])
    assert bad.exit_code == 2 and "outside the run" in bad.output


# --- costs by need and production costs -----------------------------------------------------------
def test_street_cost_by_needs_charges_the_reference_person_only(make_config) -> None:
    from lda_sim.analysis.indicators import total_cost

    def territory(d):
        d["population"]["needs"] = {"low": 0.0, "medium": 0.0, "high": 1.0}
        d["costs"] = {"street": {"eur_per_person_year_by_needs": {"low": 0, "medium": 0, "high": 365.25, "other_members": 0}}}

    ds = _run(make_config(territory=territory), years=1)
    street = ds.cost.sel(state="street").isel(territory=0)
    # one euro a day per household (its reference person), whatever its size: families' other members cost nothing here
    np.testing.assert_allclose(street.values, ds.occupancy_mean.sel(state="street").isel(territory=0).values * MONTH_DAYS, rtol=1e-9)
    assert float(ds.occupancy_persons.sel(state="street").sum()) > float(ds.occupancy.sel(state="street").sum())  # families are there
    by_needs = ds.cost_by_needs.sel(state="street").isel(territory=0)
    np.testing.assert_allclose(by_needs.sum("needs_level").values, street.values)
    assert float(by_needs.sel(needs_level=["low", "medium"]).sum()) == 0
    assert float(total_cost(ds).sum()) == pytest.approx(float(street.sum()))


def test_units_delivered_by_production_carry_their_cost(make_config) -> None:
    from lda_sim.analysis.indicators import total_cost

    def scenario(d):
        d["scenario"]["policies"] = [{"type": "production", "state": "housing", "start": "2025-01", "units_per_year": 24,
                                      "size_mix": {"small": 1.0}}]

    def territory(d):
        d["production_costs"] = {"housing": {"eur_per_unit": 10000}}

    ds = _run(make_config(scenario=scenario, territory=territory), years=1)
    delivered = int(ds.units_delivered.sum())
    assert delivered == 24
    assert int(ds.capacity.sel(state="housing").isel(time=-1).item()) == 60 + 24
    assert float(ds.production_cost.sum()) == pytest.approx(24 * 10000)
    assert "cost" in ds and float(total_cost(ds).sum()) == pytest.approx(24 * 10000)  # no running cost configured here
