"""Calibration: targets files, fitting on a tiny configuration, calibrated files that load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from lda_sim.analysis.calibration import (
    FITTED_PREFIX,
    CalibrationError,
    Calibrator,
    Edit,
    calibrated_text,
    read_targets,
    replace_nodes,
)
from lda_sim.cli import main
from lda_sim.config.scenario import load_scenario

HEADER = "territory,target,statistic,observed,unit,year,source,note,parameter,lower,upper,weight\n"


def _targets(folder: Path, *rows: str) -> Path:
    path = folder / "targets.csv"
    path.write_text("# a comment line\n" + HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _street_persons(scenario: Path, folder: Path, years: float = 2.0) -> float:
    """The simulated street count of a configuration, as the calibrator measures it."""
    check = _targets(folder, "town,street,persons:street,100,persons,,S1,,,,,1")
    cal = Calibrator(scenario, check, years=years, warmup_years=1, seeds=[1])
    return cal.fit(budget=1).simulated[("town", "street")]


def test_read_targets_groups_rows_and_parameters(tmp_path: Path) -> None:
    path = _targets(
        tmp_path,
        "town,street,persons:street,100,persons,2024,S22,one night,transitions.street->exit.rate_per_year,0.1,5,1",
        "town,street,persons:street,100,persons,2024,S22,one night,inflows.*.households_per_year,0.5,2,1",
        "town,sheltered,persons:shelter,150,persons,2024,S22 S7,,,,,0",
    )
    targets, params = read_targets(path)
    assert [t.name for t in targets] == ["street", "sheltered"]
    assert targets[0].parameters == ["transitions.street->exit.rate_per_year", "inflows.*.households_per_year"]
    assert targets[1].sources == ("S22", "S7") and targets[1].weight == 0
    assert [p.path for p in params] == ["transitions.street->exit.rate_per_year", "inflows.*.households_per_year"]
    assert params[1].is_factor and params[0].targets == [targets[0]]


@pytest.mark.parametrize(
    "row, message",
    [
        ("town,street,people:street,100,,,,,,,,1", "unknown statistic"),
        ("town,street,persons:,100,,,,,,,,1", "names no state"),
        ("town,street,persons:street,-3,,,,,,,,1", "positive"),
        ("town,street,persons:street,100,,,,,transitions.street->exit.rate_per_year,5,1,1", "lower < upper"),
        ("town,street,persons:street,100,,,,,transitions.street->exit.rate_per_year,,,1", "bounds"),
        ("town,street,persons:street,100,,,,,,,,0", "weight 0"),
    ],
)
def test_bad_targets_files_name_the_row(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        read_targets(_targets(tmp_path, row))


def test_unknown_parameter_or_territory_is_refused(small_scenario_path: Path, tmp_path: Path) -> None:
    bad = _targets(tmp_path, "town,street,persons:street,100,,,,,transitions.street->nowhere.rate_per_year,0.1,5,1")
    with pytest.raises(CalibrationError, match="is not in"):
        Calibrator(small_scenario_path, bad)
    other = tmp_path / "o"
    other.mkdir()
    with pytest.raises(CalibrationError, match="not in the scenario"):
        Calibrator(small_scenario_path, _targets(other, "city,street,persons:street,100,,,,,,,,1"))


def test_replace_nodes_keeps_comments_and_layout() -> None:
    text = (
        "# header\n"
        "a:\n"
        "  b: {value: 1.5, assumption: guess}  # trailing\n"
        "  c:\n"
        "    value: 2\n"
        "    source: S1\n"
        "  # a comment between\n"
        "  d: [x, y]\n"
    )
    new = replace_nodes(text, {("a", "b"): {"value": 3.0, "derived": "fitted"}, ("a", "c"): {"value": 4, "source": ["S2"]}, ("a", "d", 1): "z"})
    assert "# header" in new and "# trailing" in new and "# a comment between" in new
    assert not any(line != line.rstrip() for line in new.splitlines())
    assert yaml.safe_load(new) == {"a": {"b": {"value": 3.0, "derived": "fitted"}, "c": {"value": 4, "source": ["S2"]}, "d": ["x", "z"]}}


def test_calibrated_text_wraps_at_the_sourced_level() -> None:
    text = (
        "states:\n"
        "  shelter: {places: 200, stay: {law: exponential, mean_days: 120}}  # keep me\n"
        "inflows:\n"
        "  other:\n"
        "    households_per_year: {value: 200, source: S9, note: counted}\n"
    )
    new = calibrated_text(
        text,
        [
            Edit(["states", "shelter", "stay", "mean_days"], 90.0, f"{FITTED_PREFIX} x = 1 (S1)", ("S1",)),
            Edit(["inflows", "other", "households_per_year"], 150, f"{FITTED_PREFIX} y = 2 (S1)", ("S1",)),
        ],
    )
    data = yaml.safe_load(new)
    stay = data["states"]["shelter"]["stay"]
    assert stay["value"] == {"law": "exponential", "mean_days": 90.0}
    assert stay["derived"].startswith(FITTED_PREFIX) and stay["note"].startswith("was {law: exponential, mean_days: 120}")
    inflow = data["inflows"]["other"]["households_per_year"]
    assert inflow["value"] == 150 and inflow["source"] == ["S1", "S9"] and "note: counted" in inflow["note"]
    assert "# keep me" in new


def test_calibrate_moves_a_parameter_toward_its_target(make_config: Callable[..., Path], tmp_path: Path) -> None:
    scenario = make_config()
    before = _street_persons(scenario, tmp_path)
    target = round(1.5 * before, 1)  # more people on the street: they must leave it more slowly
    fit_dir = tmp_path / "fit"
    fit_dir.mkdir()
    targets = _targets(fit_dir, f"town,street,persons:street,{target},persons,2024,S1,test,transitions.street->exit.rate_per_year,0.05,5,1")
    cal = Calibrator(scenario, targets, years=2, warmup_years=1, seeds=[1])
    best = cal.fit(budget=6)
    fitted = cal.from_x(best.x)[0]
    assert fitted < 0.5  # the file's rate
    start_error = abs(cal.evaluations[0].simulated[("town", "street")] - target)
    assert abs(best.simulated[("town", "street")] - target) < 0.5 * start_error
    written = cal.write(best, tmp_path / "out" / "calibrated.yaml")
    assert {"scenario", "report", "report_csv", "territory:town"} <= set(written)
    assert written["territory:town"].name == "territory_small.calibrated.yaml"
    assert "street" in written["report"].read_text(encoding="utf-8")


def test_cli_calibrate_writes_a_loadable_marked_configuration(make_config: Callable[..., Path], tmp_path: Path) -> None:
    scenario = make_config()
    targets = _targets(
        tmp_path,
        "town,street,persons:street,60,persons,2024,S1,one night,transitions.street->exit.rate_per_year,0.05,5,1",
        "town,street,persons:street,60,persons,2024,S1,one night,inflows.*.households_per_year,0.5,2,1",
        "town,stay,mean_stay_days:shelter,100,days,2024,S2,,states.shelter.stay.mean_days,30,300,1",
    )
    out = tmp_path / "calibrated" / "scenario.yaml"
    result = CliRunner().invoke(
        main,
        ["calibrate", str(scenario), "--targets", str(targets), "--out", str(out), "--years", "2", "--warmup-years", "1",
         "--seeds", "1", "--budget", "3", "--territories-dir", str(tmp_path / "calibrated")],
    )
    assert result.exit_code == 0, result.output
    assert "street" in result.output and "rel. error" in result.output
    sc = load_scenario(out)
    assert sc.name == "small-calibrated"
    fitted = {p.field: p for p in sc.provenance if p.text.startswith(FITTED_PREFIX)}
    assert {"transitions.street->exit.rate_per_year", "inflows.eviction.households_per_year",
            "inflows.other.households_per_year", "states.shelter.stay"} <= set(fitted)
    assert "street = 60 (S1)" in fitted["transitions.street->exit.rate_per_year"].text
    assert fitted["states.shelter.stay"].sources == ("S2",)
    assert (tmp_path / "calibrated" / "scenario.fit.md").is_file()
    assert (tmp_path / "calibrated" / "scenario.fit.csv").is_file()


def test_cli_calibrate_bad_targets_exit_2(small_scenario_path: Path, tmp_path: Path) -> None:
    bad = _targets(tmp_path, "town,street,people:street,100,,,,,,,,1")
    result = CliRunner().invoke(main, ["calibrate", str(small_scenario_path), "--targets", str(bad), "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2
    assert "unknown statistic" in result.output
    assert not (tmp_path / "x.yaml").exists()


def test_evaluate_targets_checks_a_scenario_without_fitting(small_scenario_path: Path, tmp_path: Path) -> None:
    from lda_sim.analysis.calibration import evaluate_targets

    targets = _targets(
        tmp_path,
        "town,street,persons:street,60,persons,2024,S1,,transitions.street->exit.rate_per_year,0.05,5,1",
        "town,lettings,lettings_used_per_year:social,100,lettings,2024,S1,,,,,0",
    )
    rows = evaluate_targets(small_scenario_path, targets, seeds=[1, 2], years=2, warmup_years=1)
    assert [r["target"] for r in rows] == ["street", "lettings"]
    for r in rows:
        assert r["seed_min"] <= r["simulated"] <= r["seed_max"]
        assert r["relative_error"] == pytest.approx((r["simulated"] - r["observed"]) / r["observed"])
