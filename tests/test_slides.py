"""Slides (``lda-sim report --format pptx``): read back with python-pptx, the deck has a title
slide, the key messages, the limits, one chart per slide with its caption, and the summary table;
and the command line's progress bars and -q/-v."""

from __future__ import annotations

import datetime
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner
from pptx import Presentation
from pptx.util import Inches

from lda_sim.analysis.run import run_scenario
from lda_sim.cli import main
from lda_sim.dataset.output import save_dataset
from lda_sim.presentation.plotting import chart_set
from lda_sim.presentation.report import REPORT_TEXT, key_messages, summary_by_scenario
from lda_sim.presentation.slides import write_slides

SMALL = Path(__file__).parent / "data" / "scenario_small.yaml"


@pytest.fixture(scope="module")
def two() -> xr.Dataset:
    """The small run and a 'plan' with half the street, stacked as scenarios."""
    ds = run_scenario(SMALL, years=1)
    plan = ds.copy(deep=True)
    plan["occupancy_persons"].loc[{"state": "street"}] = plan.occupancy_persons.sel(state="street") // 2
    return xr.concat([ds, plan], dim=pd.Index(["small", "plan"], name="scenario"), combine_attrs="override")


def texts(slide) -> list[str]:
    return [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]


def test_slides_have_title_messages_one_chart_per_slide_and_the_table(two: xr.Dataset, tmp_path: Path) -> None:
    path = write_slides(two, tmp_path / "deck.pptx", today=datetime.date(2026, 12, 1))
    deck = Presentation(str(path))
    slides = list(deck.slides)
    assert deck.slide_width == Inches(13.333) and deck.slide_height == Inches(7.5)
    title = texts(slides[0])
    assert title[0] == REPORT_TEXT["fr"]["title"].format(scenarios="small, plan")
    assert "Rapport produit le 1 décembre 2026." in title[1] and "janvier 2025" in title[1]
    messages = [m["text"] for m in key_messages(two, "fr")]
    bullets = [t for s in slides[1:] if texts(s) and texts(s)[0] == REPORT_TEXT["fr"]["messages"] for t in texts(s)[1].split("\n")]
    assert bullets == messages
    assert any(texts(s)[0] == REPORT_TEXT["fr"]["limits"] for s in slides if texts(s))
    charts = chart_set(two)
    pictures = [s for s in slides if any(shape.shape_type == 13 for shape in s.shapes)]  # 13: picture
    assert len(pictures) == len(charts)
    for slide, chart in zip(pictures, charts):
        (picture,) = [shape for shape in slide.shapes if shape.shape_type == 13]
        assert picture.image.content_type == "image/png" and picture.image.size == (1920, 1080)
        (caption,) = [shape for shape in slide.shapes if shape.name == f"caption:{chart.name}"]
        assert caption.text_frame.text.startswith(chart.draw().get_suptitle())
    tables = [shape.table for s in slides for shape in s.shapes if shape.has_table]
    assert len(tables) == 1
    table = summary_by_scenario(two)
    grid = tables[0]
    assert len(grid.rows) == len(table) + 1
    assert grid.cell(0, 0).text == "Scénario" and grid.cell(1, 1).text == "Town"
    assert grid.cell(len(table), 0).text == "plan"
    street = grid.cell(1, 2).text
    assert street == f"{round(table.street_start[0])} → {round(table.street_period[0])}"


def test_cli_report_writes_slides_in_english_and_stays_quiet_off_a_terminal(two: xr.Dataset, tmp_path: Path) -> None:
    results = save_dataset(two, tmp_path / "run.nc")
    out = tmp_path / "deck.pptx"
    result = CliRunner().invoke(main, ["report", str(results), "--out", str(out), "--lang", "en", "--territory", "town"])
    assert result.exit_code == 0, result.output
    deck = Presentation(str(out))
    assert texts(deck.slides[0])[0] == REPORT_TEXT["en"]["title"].format(scenarios="small, plan")
    assert "%|" not in result.stderr and "charts:" not in result.stderr  # no progress bar when stderr is not a terminal
    assert result.stderr.startswith("Wrote ")
    quiet = CliRunner().invoke(main, ["-q", "report", str(results), "--out", str(tmp_path / "r.html"), "--format", "html"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    bad = CliRunner().invoke(main, ["report", str(results), "--out", str(tmp_path / "x.pptx"), "--territory", "nowhere"])
    assert bad.exit_code == 2 and bad.stderr.splitlines() == ["lda-sim: error: territory 'nowhere' is not in the dataset (territories: town)"]
    assert not (tmp_path / "x.pptx").exists()


def test_progress_bar_shows_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from lda_sim import cli

    monkeypatch.setitem(cli.VERBOSITY, "level", 1)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    with cli._progress(total=3, desc="charts") as bar:
        assert not bar.disable
    monkeypatch.setitem(cli.VERBOSITY, "level", 0)  # -q
    with cli._progress(total=3, desc="charts") as bar:
        assert bar.disable
