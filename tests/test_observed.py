"""Observed targets (lda_sim.analysis.observed, scripts/observed_targets.py): rows pass inside their
tolerance and fail outside it, a missing variable gives 'not computed', replicates are seeded as
``lda-sim run --replicates``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import xarray as xr
import yaml

from lda_sim.analysis.ensemble import replicate_seeds
from lda_sim.analysis.observed import (
    END_MARK,
    INDICATORS,
    START_MARK,
    Target,
    evaluate,
    insert_section,
    markdown_section,
    read_targets,
    run_replicates,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL = Path(__file__).parent / "data" / "scenario_small.yaml"
BUNDLED = ROOT / "configs" / "validation" / "observed_targets.csv"


@pytest.fixture(scope="module")
def small() -> xr.Dataset:
    return run_replicates(SMALL, 2, years=1)


def target(**kw: object) -> Target:
    base = dict(scenario=str(SMALL), territory="town", indicator="street_persons", observed=100.0, unit="persons", year="2024",
                source="S1", tolerance=0.2, tolerance_kind="relative", tolerance_reason="a test")
    base.update(kw)
    return Target(**base)  # type: ignore[arg-type]


def test_replicates_are_seeded_as_the_command_line(small: xr.Dataset) -> None:
    assert small.sizes["replicate"] == 2
    assert list(small.seed.values) == replicate_seeds(7, 2)  # the small scenario's seed is 7
    a, b = (small.occupancy.isel(replicate=i) for i in range(2))
    assert not a.equals(b)  # different seeds, different runs


def test_a_row_passes_inside_its_tolerance_and_fails_outside(small: xr.Dataset) -> None:
    datasets = {str(SMALL): small}
    street = small.occupancy_persons.sel(state="street").isel(time=slice(-12, None)).mean("time").squeeze("territory")
    mean = float(street.mean("replicate"))
    near, far, absolute = evaluate([
        target(observed=mean * 1.1),
        target(observed=mean * 2.0),
        target(observed=mean + 3, tolerance=2.0, tolerance_kind="absolute"),
    ], datasets)
    assert near.mean == pytest.approx(mean) and near.passed is True and near.status == "pass"
    assert far.passed is False and far.status == "**FAIL**"
    assert absolute.passed is False
    low, high = near.band
    assert low <= mean <= high
    # the sum over all territories of a one-territory dataset is that territory
    (total,) = evaluate([target(territory="*", observed=mean)], datasets)
    assert total.mean == pytest.approx(mean) and total.passed is True


def test_a_missing_variable_or_state_gives_not_computed(small: xr.Dataset) -> None:
    datasets = {str(SMALL): small.drop_vars(["occupancy_persons", "requests_115"], errors="ignore")}
    street, unmet, sheltered, families = evaluate([
        target(),
        target(indicator="unmet_115_share", observed=0.667, unit="share", tolerance=0.15, tolerance_kind="absolute"),
        target(indicator="sheltered_persons_115", observed=5501),
        target(indicator="family_share_street", observed=0.03, unit="share", tolerance=0.07, tolerance_kind="absolute"),
    ], datasets)
    assert street.status == "not computed: variable occupancy_persons missing" and street.passed is None
    assert unmet.status == "not computed: variable requests_115 missing"
    assert sheltered.status.startswith("not computed: ")  # the small pathway has no emergency_shelter
    assert families.status.startswith("not computed: ") or families.values
    (other,) = evaluate([target(scenario="elsewhere.yaml")], datasets)
    assert other.status == "not computed: scenario elsewhere.yaml not run"


def test_lettings_by_origin_are_read_from_flows(small: xr.Dataset) -> None:
    datasets = {str(SMALL): small}
    street, shelter, share = evaluate([
        target(indicator="social_lettings_from_street_per_year", observed=0, unit="lettings per year", tolerance=1, tolerance_kind="absolute"),
        target(indicator="social_lettings_from_shelter_per_year", observed=1, unit="lettings per year"),
        target(indicator="social_lettings_street_share", observed=0, unit="share", tolerance=0.1, tolerance_kind="absolute"),
    ], datasets)
    flows = small.flow.sel(transition="shelter->social").isel(time=slice(-12, None)).sum("time").squeeze("territory")
    assert shelter.values == pytest.approx([float(v) for v in flows.values])  # 12 months: per year as they are
    assert street.values == [0.0, 0.0]  # the small pathway has no street -> social transition
    assert share.values == [0.0, 0.0] and share.passed is True


def test_section_and_insertion(small: xr.Dataset) -> None:
    results = evaluate([target(), target(indicator="unmet_115_share", observed=0.667, unit="share", tolerance=0.15, tolerance_kind="absolute")], {str(SMALL): small})
    text = markdown_section(results, replicates=2)
    assert text.startswith("## Observed targets") and "| territory | indicator | observed |" in text
    assert "not computed: variable requests_115 missing" in text or "requests_115" in text
    assert INDICATORS["street_persons"].definition in text
    doc = insert_section("# Validation\n\nintro\n", text)
    assert START_MARK in doc and END_MARK in doc and doc.startswith("# Validation")
    again = insert_section(doc.replace("## Observed targets", "## Old"), text)
    assert again.count(START_MARK) == 1 and "## Old" not in again and "intro" in again


def test_targets_table_is_checked_when_read(tmp_path: Path) -> None:
    header = "scenario,territory,label,indicator,observed,unit,year,source,tolerance,tolerance_kind,tolerance_reason,note\n"
    good = tmp_path / "t.csv"
    good.write_text(header + f"{SMALL},town,Town,street_persons,100,persons,2024,S1,0.2,relative,a reason,\n", encoding="utf-8")
    (row,) = read_targets(good)
    assert row.tolerance_abs == pytest.approx(20) and row.tolerance_text == "±20%"
    assert replace(row, tolerance_kind="absolute", tolerance=5).tolerance_text == "±5"
    for bad, message in [
        ("street_persons,100,persons,2024,S1,0.2,sideways,a reason,", "tolerance_kind"),
        ("nonsense,100,persons,2024,S1,0.2,relative,a reason,", "unknown indicator"),
        ("street_persons,100,persons,2024,,0.2,relative,a reason,", "source"),
        ("street_persons,100,persons,2024,S1,0.2,relative,,", "reason"),
    ]:
        path = tmp_path / "bad.csv"
        path.write_text(header + f"{SMALL},town,Town,{bad}\n", encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            read_targets(path)


def test_bundled_targets_name_known_scenarios_territories_and_sources() -> None:
    from lda_sim import load_scenario

    sources = yaml.safe_load((ROOT / "configs" / "sources.yaml").read_text(encoding="utf-8"))["sources"]
    rows = read_targets(BUNDLED)
    assert {r.indicator for r in rows} >= {"street_persons", "sheltered_persons_115", "unmet_115_share", "social_lettings_street_share",
                                          "regular_status_share_shelter", "family_share_street"}
    names = {}
    for r in rows:
        assert Path(r.scenario).is_file(), r.scenario
        if r.scenario not in names:
            names[r.scenario] = {t.name for t in load_scenario(r.scenario).territories}
        assert r.territory == "*" or r.territory in names[r.scenario], r
        for s in r.source.split():
            assert s in sources, (r.indicator, s)
    assert any(r.territory == "*" and r.observed == 27000 for r in rows)  # the national street count (S1)


def test_a_section_is_carried_over_and_placed_before_reproducing() -> None:
    from lda_sim.analysis.observed import kept_section

    doc = "# V\n\n## 5. Calibration\n\ntext\n\n## Reproducing\n\ncode\n"
    placed = insert_section(doc, "## Observed targets\n\nrows")
    assert placed.index(START_MARK) < placed.index("## Reproducing") and placed.index("## 5. Calibration") < placed.index(START_MARK)
    assert kept_section(placed) == "## Observed targets\n\nrows"
    assert kept_section(doc) is None
    assert insert_section(doc, kept_section(placed) or "") == placed  # written anew, then carried over: the same page
