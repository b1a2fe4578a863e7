"""Validation against theory: M/M/c queue, Little's law, conservation, cohort following.

The same functions write VALIDATION.md (scripts/validation_report.py) with longer runs; here the
runs are kept short. Seeds are fixed, so every check is deterministic.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from lda_sim.analysis.run import run_scenario
from lda_sim.analysis.validation import (
    CheckResult,
    check_conservation,
    check_housing_first_retention,
    check_littles_law,
    check_mmc,
    erlang_c,
    mmc_metrics,
)

ROOT = Path(__file__).parent.parent
BASELINE = ROOT / "configs" / "scenarios" / "baseline.yaml"
SMALL = Path(__file__).parent / "data" / "scenario_small.yaml"


def _failures(results: list[CheckResult]) -> list[str]:
    return [str(r) + " | " + r.note for r in results if r.passed is False]


def test_erlang_c_known_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # a^2/2 / (1 - a/2) over the normaliser
    m = mmc_metrics(1, 0.5, 1.0)  # M/M/1, rho = 0.5: Wq = rho / (mu - lambda) = 1
    assert m["mean_wait_days"] == pytest.approx(1.0)
    assert m["mean_queue"] == pytest.approx(0.5)
    assert erlang_c(3, 3.5) == 1.0


def test_single_queue_matches_erlang_c_at_three_loads() -> None:
    results = check_mmc((0.5, 0.8, 0.95), places=5, mean_stay_days=10, years=40, warmup_years=5, replicates=6, workers=2)
    assert len(results) == 9
    assert not _failures(results), "\n".join(_failures(results))
    # the intervals are informative: the occupancy is pinned within a few percent
    occupancy = [r for r in results if r.name.endswith("mean occupancy")]
    assert all((r.ci_high - r.ci_low) / r.expected < 0.1 for r in occupancy)


def test_littles_law_on_the_stationary_part_of_the_baseline() -> None:
    results = check_littles_law(
        BASELINE, seeds=(1,), territories=["aix-marseille-provence"], warmup_years=8, window_years=4, tail_years=3
    )
    assert not _failures(results), "\n".join(_failures(results))
    checked = {r.name.split(": ")[1] for r in results if r.passed}
    # short stays and stationary stocks: the street, the insertion shelter and the 18-month sublease
    assert {"street", "insertion_shelter", "iml_sublease"} <= checked, checked
    for r in results:
        assert r.passed is not None or r.note  # a state left out says why


def test_littles_law_on_the_small_configuration() -> None:
    results = check_littles_law(SMALL, seeds=(1, 2), warmup_years=3, window_years=6, tail_years=4, workers=2)
    assert not _failures(results), "\n".join(_failures(results))
    assert any(r.name.endswith(": shelter") and r.passed for r in results)


@pytest.fixture(scope="module")
def small_runs() -> list[xr.Dataset]:
    return [run_scenario(SMALL, years=2, seed=s) for s in (1, 2)]


def test_conservation_in_every_territory(small_runs: list[xr.Dataset]) -> None:
    results = check_conservation(small_runs[0])
    assert {r.name for r in results} == {"town: households", "town: persons"}
    assert all(r.passed for r in results), [str(r) for r in results]


def test_conservation_loops_over_scenarios_and_replicates(small_runs: list[xr.Dataset]) -> None:
    stacked = xr.concat(small_runs, dim=xr.DataArray([0, 1], dims="replicate", name="replicate"))
    stacked = xr.concat([stacked, stacked], dim=xr.DataArray(["a", "b"], dims="scenario", name="scenario"))
    results = check_conservation(stacked)
    assert len(results) == 2 * 2 * 2  # scenarios x replicates x (households, persons)
    assert all(r.passed for r in results)
    # a household lost in one replicate is caught there, and only there
    broken = stacked.copy(deep=True)
    broken["occupancy"].loc[dict(scenario="b", replicate=1, territory="town", state="street")] += 1
    failed = [r.name for r in check_conservation(broken) if not r.passed]
    assert failed == ["town (scenario=b, replicate=1): households"]


def _write_cohort(folder: Path, pathway: str, territory: str) -> Path:
    """Write a one-territory cohort configuration in ``folder``; return its scenario file."""
    folder.mkdir()
    (folder / "pathway.yaml").write_text(pathway, encoding="utf-8")
    (folder / "territory.yaml").write_text(territory, encoding="utf-8")
    (folder / "scenario.yaml").write_text(
        "scenario: {name: cohort, start: 2025-01, years: 1, seed: 3, pathway: pathway.yaml, territories: [territory.yaml]}\n",
        encoding="utf-8",
    )
    return folder / "scenario.yaml"


def _cohort_config(folder: Path, rate: float) -> Path:
    """Arrivals housed at once in a programme with a constant failure hazard, no re-housing."""
    pathway = """
pathway:
  name: cohort
  size_classes: {any: {max_persons: 1}}
  kinds: {single: {persons: {1: 1.0}, isolated: true}}
  states:
    street: {kind: street}
    housing_first: {kind: housing, supply: units}
    gone: {kind: exit}
  transitions:
    - {from: street, to: housing_first, mode: queue}
    - {from: street, to: gone, mode: hazard}
    - {from: housing_first, to: gone, mode: hazard}
"""
    territory = f"""
territory: {{name: trial, label: Trial}}
population: {{kinds: {{single: 1.0}}, needs: {{high: 1.0}}, regular_status_share: 1, priority_share: 0}}
inflows: {{other: {{households_per_year: 400}}}}
states:
  housing_first: {{units: {{any: 100000}}}}
transitions:
  street->gone: {{rate_per_year: 1.0}}
  housing_first->gone: {{rate_per_year: {rate}}}
"""
    return _write_cohort(folder, pathway, territory)


def test_cohort_following_matches_a_constant_hazard(tmp_path: Path) -> None:
    """With no re-housing, the share housed k months after entry is exp(-rate k / 12)."""
    rate = 0.206
    results = check_housing_first_retention(
        _cohort_config(tmp_path / "c", rate), territory="trial", seeds=(1, 2), warmup_years=0.5, cohort_years=3
    )
    for r, months in zip(results, (13, 24)):
        expected = math.exp(-rate * months / 12)
        cohort = r.details["cohort"]
        se = math.sqrt(expected * (1 - expected) / cohort)
        assert abs(r.simulated - expected) < 4 * se, (r.simulated, expected, cohort)
        assert r.details["breakdown"].keys() <= {"housing_first", "exit:gone"}


def _rehousing_config(folder: Path, *, rehousing: bool) -> Path:
    """Arrivals housed at once in a programme whose tenancies break down mostly in their first year;
    the team re-houses those who lost their home after a readiness delay (or, without re-housing,
    they leave)."""
    pathway = f"""
pathway:
  name: cohort
  size_classes: {{any: {{max_persons: 1}}}}
  kinds: {{single: {{persons: {{1: 1.0}}, isolated: true}}}}
  states:
    street: {{kind: street}}
    housing_first: {{kind: housing, supply: units}}
    gone: {{kind: exit}}
    between_homes: {{kind: street}}
  transitions:
    - {{from: street, to: housing_first, mode: queue}}
    - {{from: street, to: gone, mode: hazard}}
    - {{from: housing_first, to: between_homes, mode: stay}}
    - {{from: housing_first, to: gone, mode: hazard}}
    - {{from: between_homes, to: gone, mode: hazard}}
{"    - {from: between_homes, to: housing_first, mode: queue}" if rehousing else ""}
"""
    territory = f"""
territory: {{name: trial, label: Trial}}
population: {{kinds: {{single: 1.0}}, needs: {{high: 1.0}}, regular_status_share: 1, priority_share: 0}}
inflows: {{other: {{households_per_year: 400}}}}
states:
  housing_first:
    units: {{any: 100000}}
    stay: {{law: empirical, edges_days: [0, 365, 730, 36525], shares: [0.3, 0.05, 0.65]}}
transitions:
  street->gone: {{rate_per_year: 1.0}}
  housing_first->between_homes: {{weight: 1}}
  housing_first->gone: {{rate_per_year: 0.02}}
  between_homes->gone: {{rate_per_year: 0.2}}
{"  between_homes->housing_first: {ready_after: {law: lognormal, median_days: 180, sigma: 0.5}}" if rehousing else ""}
"""
    return _write_cohort(folder, pathway, territory)


def test_rehousing_lifts_the_housed_share_between_13_and_24_months(tmp_path: Path) -> None:
    """Breakdowns concentrated in a tenancy's first year and re-housing by the team: the share of a
    cohort housed dips, then recovers (13 -> 24 months); without re-housing it can only fall."""
    shares = {}
    for rehousing in (True, False):
        path = _rehousing_config(tmp_path / str(rehousing), rehousing=rehousing)
        results = check_housing_first_retention(path, territory="trial", seeds=(1, 2), warmup_years=0.5, cohort_years=2)
        assert results[0].details["cohort"] > 1000
        shares[rehousing] = [r.simulated for r in results]
    (with13, with24), (without13, without24) = shares[True], shares[False]
    assert with24 > with13 + 0.03, shares
    assert without24 < without13, shares
    assert with13 > without13 and with24 > without24 + 0.1, shares


def test_housing_first_retention_records_on_the_baseline() -> None:
    results = check_housing_first_retention(BASELINE, seeds=(1,), warmup_years=1, cohort_years=2)
    assert [r.expected for r in results] == [0.80, 0.86]
    for r in results:
        assert 0.5 < r.simulated <= 1.0
        assert r.tolerance == 0.03
        assert sum(r.details["breakdown"].values()) == pytest.approx(1.0)
    assert np.isfinite(results[0].simulated)
