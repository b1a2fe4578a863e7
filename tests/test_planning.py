"""Inverse planning, targets and the mean-field cross-check.

The known answer: Poisson arrivals into one FCFS shelter of c places with exponential stays form
an M/M/c queue; by PASTA the probability that a month-end snapshot finds a free place is
1 - C(c, a) (Erlang C, offered load a). ``plan`` with the target 'free:shelter >= 1' at a month
and confidence q must therefore find the smallest c with 1 - C(c, a) >= q.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lda_sim import load_scenario
from lda_sim.analysis.meanfield import meanfield
from lda_sim.analysis.planning import Lever, PlanError, plan, price_lever, wilson
from lda_sim.analysis.run import run_scenario
from lda_sim.analysis.targets import Indicator, Target, TargetError
from lda_sim.analysis.validation import erlang_c, write_one_queue_config
from lda_sim.cli import main

LOAD = 8.0  # arrivals per day x mean stay (days)
STAY = 10.0


def _mmc(tmp_path: Path, places: int = 10) -> Path:
    return write_one_queue_config(tmp_path / "mmc", places=places, arrivals_per_year=LOAD / STAY * 365.25,
                                  mean_stay_days=STAY, seed=3, initial_sheltered=8)


def _erlang_answer(confidence: float) -> int:
    return next(c for c in range(1, 100) if 1 - erlang_c(c, LOAD) >= confidence)


def test_wilson_interval() -> None:
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)


def test_target_parsing_and_errors() -> None:
    t = Target.parse("street <= 50 in aix-marseille-provence by 2030-12")
    assert (t.indicator.name, t.op, t.threshold, t.indicator.territory) == ("street", "<=", 50.0, "aix-marseille-provence")
    assert t.indicator.first == t.indicator.last == np.datetime64("2030-12")
    o = Target.parse("median_wait < 300 over 2030-01:2030-12").indicator
    assert (o.first, o.last) == (np.datetime64("2030-01"), np.datetime64("2030-12"))
    assert t.holds(50) and not t.holds(50.5) and not t.holds(float("nan"))
    for bad in ("street = 50 by 2030-12", "street <= 50", "nonsense <= 1 by 2030-01", "street <= 5 by 2030-13",
                "street <= 5 over 2031-01:2030-01"):
        with pytest.raises(TargetError):
            Target.parse(bad)


def test_indicators_read_the_dataset(small_scenario_path: Path) -> None:
    ds = run_scenario(small_scenario_path, years=1)
    street = Indicator.parse("street by 2025-06").value(ds)
    assert float(street) == float(ds.occupancy_persons.sel(state="street").isel(territory=0, time=5))
    mean = Indicator.parse("street over 2025-01:2025-12").value(ds)
    assert float(mean) == pytest.approx(float(ds.occupancy_persons.sel(state="street").isel(territory=0).mean()))
    free = Indicator.parse("free:shelter by 2025-03").value(ds)
    assert float(free) == float(ds.capacity.sel(state="shelter").isel(territory=0, time=2) - ds.occupancy_persons.sel(state="shelter").isel(territory=0, time=2))
    sc = load_scenario(small_scenario_path)
    with pytest.raises(TargetError, match="after the horizon"):
        Indicator.parse("street by 2040-01").check(["town"], [s.name for s in sc.pathway.states], sc.start, sc.months)
    with pytest.raises(TargetError, match="unknown territory"):
        Indicator.parse("street in nowhere by 2025-06").check(["town"], [], sc.start, sc.months)


def test_lever_parsing_and_pricing(tmp_path: Path) -> None:
    lv = Lever.parse("territory.q.states.shelter.places=8:30")
    assert lv.integer and lv.value(10.2) == 11 and lv.value(99) == 30
    assert not Lever.parse("policies[0].units_per_year=0:100.5").integer
    for bad in ("x=3:1", "x=a:b", "x"):
        with pytest.raises(PlanError):
            Lever.parse(bad)
    sc = load_scenario("configs/scenarios/baseline.yaml")
    cost, note = price_lever(sc, "territory.aix-marseille-provence.states.emergency_shelter.places")
    assert cost == pytest.approx(11330, rel=1e-6)  # EUR per place-year in the territory file
    cost, _ = price_lever(sc, "territory.aix-marseille-provence.states.pension_de_famille.units.value.small")
    assert cost == pytest.approx(18 * 365.25 * 1.69, rel=0.02)  # per person-day x persons per household
    assert price_lever(sc, "policies[0].units_per_year")[0] is None


def test_plan_finds_the_erlang_c_answer_by_bisection(tmp_path: Path) -> None:
    """Pure stochastic bisection over the whole range (no mean-field seed)."""
    confidence = 0.7
    expected = _erlang_answer(confidence)  # 11: 1 - C(10, 8) = 0.59, 1 - C(11, 8) = 0.755
    result = plan(_mmc(tmp_path), "free:shelter >= 1 by 2025-04", ["territory.q.states.shelter.places=8:20"],
                  confidence=confidence, replicates=120, use_meanfield=False)
    assert result.answer is not None
    assert abs(result.answer.values[0] - expected) <= 1
    assert result.answer.probability >= confidence
    assert result.runs == 120 * len(result.evaluations)
    lo, hi = result.answer.interval
    assert lo <= 1 - erlang_c(int(result.answer.values[0]), LOAD) <= hi


def test_plan_seeded_by_the_meanfield_and_cli(tmp_path: Path) -> None:
    scenario = _mmc(tmp_path)
    out, chart = tmp_path / "plan.nc", tmp_path / "plan.png"
    res = CliRunner().invoke(main, ["plan", str(scenario), "--target", "free:shelter >= 1 by 2025-04", "--lever",
                                    "territory.q.states.shelter.places=8:30", "--confidence", "0.85", "--replicates", "100",
                                    "--cost", "territory.q.states.shelter.places=10000", "--out", str(out), "--chart", str(chart)])
    assert res.exit_code == 0, res.output
    expected = _erlang_answer(0.85)  # 12
    from lda_sim.dataset.output import open_results

    ds = open_results(out)
    found = float(ds.lever_value.isel(evaluation=int(ds.attrs["answer"]), lever=0))
    assert abs(found - expected) <= 1
    assert f"= {found:g}" in res.output and "EUR a year" in res.output and "Runs:" in res.output
    # the mean-field seed (Erlang C at the fluid offered load) is the first candidate
    assert float(ds.lever_value.isel(evaluation=0, lever=0)) == expected
    assert chart.stat().st_size > 1000
    # compare reads plan files
    res = CliRunner().invoke(main, ["compare", str(out)])
    assert res.exit_code == 0, res.output
    assert "P(target met)" in res.output


def test_plan_bad_input_exits_2(tmp_path: Path) -> None:
    scenario = _mmc(tmp_path)
    runner = CliRunner()
    for args, message in (
        (["--target", "free:shelter >= 1 by 2030-04", "--lever", "territory.q.states.shelter.places=8:30"], "horizon"),
        (["--target", "street <= 1 by 2025-04", "--lever", "territory.q.states.nowhere.places=8:30"], "nowhere"),
        (["--target", "street <= by 2025-04", "--lever", "territory.q.states.shelter.places=8:30"], "target"),
        (["--target", "street <= 1 by 2025-04", "--lever", "territory.q.states.shelter.places=30:8"], "LOW"),
    ):
        res = runner.invoke(main, ["plan", str(scenario), *args])
        assert res.exit_code == 2, res.output
        assert message in res.output and len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_plan_reports_an_infeasible_target(tmp_path: Path) -> None:
    result = plan(_mmc(tmp_path), "free:shelter >= 1 by 2025-04", ["territory.q.states.shelter.places=8:9"],
                  confidence=0.95, replicates=30)
    assert result.answer is None and "No answer" in result.summary()


def test_two_levers_cost_weighted(tmp_path: Path, make_config) -> None:
    """Shelter places are cheap and housing units dear; both lower the street: the plan picks the cheap one."""
    scenario = make_config()
    result = plan(scenario, "street <= 330 in town by 2025-12",
                  ["territory.town.states.shelter.places=150:400", "territory.town.states.housing.units.large=20:200"],
                  confidence=0.5, replicates=3, costs={"territory.town.states.shelter.places": 1000.0,
                                                       "territory.town.states.housing.units.large": 50000.0})
    assert result.answer is not None
    places, units = result.answer.values
    assert result.answer.probability >= 0.5
    assert units == 20 and places > 150  # all the budget to the cheap lever
    assert result.answer.cost == pytest.approx(places * 1000 + units * 50000)


def test_meanfield_matches_mmc_and_is_fast(tmp_path: Path) -> None:
    import time

    sc = load_scenario(_mmc(tmp_path), years=2)
    started = time.perf_counter()
    mf = meanfield(sc)
    assert time.perf_counter() - started < 1.0
    assert float(mf.occupancy.sel(state="shelter").isel(territory=0, time=-1)) == pytest.approx(LOAD, rel=1e-3)
    assert float(mf.wait_probability.sel(state="shelter").isel(territory=0, time=-1)) == pytest.approx(erlang_c(10, LOAD), rel=1e-3)
    # the simulation's mean occupancy over the second year agrees (E[busy places] = a in M/M/c)
    sims = [run_scenario(load_scenario(_mmc(tmp_path), years=10, seed=s)) for s in range(6)]
    occupancy = np.mean([float(ds.occupancy_mean.sel(state="shelter").isel(territory=0, time=slice(12, None)).mean()) for ds in sims])
    assert occupancy == pytest.approx(LOAD, rel=0.03)


def test_meanfield_matches_the_small_configuration(small_scenario_path: Path) -> None:
    sc = load_scenario(small_scenario_path)
    mf = meanfield(sc)
    sims = [run_scenario(load_scenario(small_scenario_path, seed=s)) for s in range(4)]
    for state, tolerance in (("street", 0.15), ("shelter", 0.3), ("housing", 0.05), ("social", 0.1)):
        sim = np.mean([float(ds.occupancy.sel(state=state).isel(territory=0, time=slice(-12, None)).mean()) for ds in sims])
        fluid = float(mf.occupancy.sel(state=state).isel(territory=0, time=slice(-12, None)).mean())
        assert fluid == pytest.approx(sim, rel=tolerance), state
    # flows over the last year: social lettings and entries into the shelter
    for transition in ("shelter->social", "street->shelter"):
        sim = np.mean([float(ds.flow.sel(transition=transition).isel(territory=0, time=slice(-12, None)).sum()) for ds in sims])
        fluid = float(mf.flow.sel(transition=transition).isel(territory=0, time=slice(-12, None)).sum())
        assert fluid == pytest.approx(sim, rel=0.25), transition


def test_compare_reads_sweeps_and_replicate_sets(tmp_path: Path, small_scenario_path: Path) -> None:
    """`compare` on a sweep with replicates (a traceback before): one row per point, the band shown."""
    from lda_sim.analysis.ensemble import combine, plan_runs, run_to_file
    from lda_sim.dataset.output import save_dataset

    specs = plan_runs([str(small_scenario_path)], seed=1, replicates=2, years=1,
                      grid={"territory.town.states.shelter.places": [150, 250]})
    files = {s.key: Path(run_to_file(s, str(tmp_path / f"{s.key}.nc"))) for s in specs}
    path = save_dataset(combine(specs, files).load(), tmp_path / "sweep.nc")
    res = CliRunner().invoke(main, ["compare", str(path), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "territory.town.states.shelter.places=150" in res.output and "=250" in res.output
    assert "means over 2 replicates" in res.output and "10th-90th percentile" in res.output
    table = __import__("pandas").read_csv(tmp_path / "sweep.compare.csv")
    assert len(table) == 2 and "street_persons_p10" in table
    assert (table.street_persons_p10 <= table.street_persons).all() and (table.street_persons <= table.street_persons_p90).all()
    # a single run: the values of that run and the mean-field beside them
    single = tmp_path / "single.nc"
    res = CliRunner().invoke(main, ["run", str(small_scenario_path), "--out", str(single), "--years", "1"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["compare", str(single), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "one run per scenario" in res.output and "Mean-field approximation" in res.output


def test_housed_within_12_months_rises_with_housing(make_config) -> None:
    """housed_12m reads the households' moves: more housing units, a larger share housed within a year."""
    from lda_sim.analysis.planning import evaluate_run

    text = "housed_12m in town over 2026-01:2026-06"
    few = evaluate_run(str(make_config()), 5, 1.5, {"territory.town.states.housing.units.large": 5}, text)
    many = evaluate_run(str(make_config()), 5, 1.5, {"territory.town.states.housing.units.large": 300}, text)
    assert 0 <= few < many <= 1


def test_compare_labels_latin_hypercube_points(tmp_path: Path, small_scenario_path: Path) -> None:
    from lda_sim.analysis.compare import comparison_table
    from lda_sim.analysis.ensemble import combine, latin_hypercube, plan_runs, run_to_file

    rate = "territory.town.transitions.street->exit.rate_per_year"
    specs = plan_runs([str(small_scenario_path)], seed=1, years=1, samples=latin_hypercube({rate: (0.2, 1.0)}, 2, 1))
    files = {s.key: Path(run_to_file(s, str(tmp_path / f"{s.key}.nc"))) for s in specs}
    table = comparison_table(combine(specs, files).load())
    assert len(table) == 2 and all(label.startswith("small [run ") and rate in label for label in table.scenario)
    faster = table.scenario.str.extract(r"=([0-9.]+)\]")[0].astype(float).idxmax()
    assert table.loc[faster, "street_persons"] < table.loc[1 - faster, "street_persons"]


def test_plan_chart_draws_candidates_met_in_every_replicate() -> None:
    """A candidate met in all replicates has a Wilson upper bound a rounding below 1 (a crash before)."""
    import xarray as xr

    from lda_sim.analysis.planning import plot_plan

    lo, hi = wilson(10, 10)
    ds = xr.Dataset(
        {"lever_value": (("evaluation", "lever"), [[3.0], [5.0]]), "probability": ("evaluation", [0.5, 1.0]),
         "probability_low": ("evaluation", [wilson(5, 10)[0], lo]), "probability_high": ("evaluation", [wilson(5, 10)[1], hi]),
         "cost": ("evaluation", [np.nan, np.nan])},
        coords={"lever": ["x"]}, attrs={"confidence": 0.8, "answer": 1, "target": "street <= 1 by 2025-01"},
    )
    assert hi < 1.0
    assert plot_plan(ds).axes
