"""Charts: what they show (series, values, labels, colours, stamp) and how they are written."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
import xarray as xr
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from lda_sim import plotting
from lda_sim.plotting import (
    FALLBACK_COLOURS,
    LABELS,
    STATE_COLOURS,
    plot_occupancy,
    plot_waits,
    state_colour,
    state_colours,
    write_charts,
)
from lda_sim.run import run_scenario

SMALL = Path(__file__).parent / "data" / "scenario_small.yaml"
FRENCH_DEFAULT_STATES = (
    "street", "emergency_shelter", "hotel", "insertion_shelter", "residence_sociale", "pension_de_famille",
    "iml_sublease", "iml_mandate", "housing_first", "social_housing", "private_housing", "left_territory", "other_exit",
)
LABELS_FR = ["Rue", "Hébergement", "Logement accompagné", "Logement social", "Sortie"]
LABELS_EN = ["Street", "Shelter", "Supported housing", "Social housing", "Exit"]


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return run_scenario(SMALL, years=2)


@pytest.fixture(scope="module")
def labelled(ds: xr.Dataset) -> xr.Dataset:
    """The small run with distinct French and English state labels."""
    return ds.assign_coords(state_label_fr=("state", LABELS_FR), state_label_en=("state", LABELS_EN))


def non_exit(ds: xr.Dataset) -> list[str]:
    return [str(s) for s, k in zip(ds.state.values, ds.state_kind.values) if k != "exit"]


def occupancy_areas(fig: Figure) -> dict[str, object]:
    (ax,) = fig.axes
    return {c.get_gid().split(":", 1)[1]: c for c in ax.collections if (c.get_gid() or "").startswith("occupancy:")}


def median_lines(fig: Figure) -> dict[str, object]:
    return {
        line.get_gid().split(":", 1)[1]: line
        for ax in fig.axes for line in ax.lines if (line.get_gid() or "").startswith("wait_median:")
    }


def stamp_text(fig: Figure) -> str:
    (text,) = [t for t in fig.texts if t.get_gid() == plotting.STAMP_ID]
    return text.get_text()


def stack_top(area: object) -> tuple[float, float]:
    """The right-most vertex on the top edge of a stacked area: (x, y)."""
    vertices = area.get_paths()[0].vertices
    right = vertices[:, 0].max()
    return right, vertices[np.isclose(vertices[:, 0], right), 1].max()


# --- colours -----------------------------------------------------------------------------------------
def test_french_default_states_have_fixed_distinct_colours() -> None:
    assert set(FRENCH_DEFAULT_STATES) <= set(STATE_COLOURS)
    colours = [STATE_COLOURS[s] for s in FRENCH_DEFAULT_STATES]
    assert len(set(colours)) == len(colours)
    assert all(state_colour(s) == STATE_COLOURS[s] for s in FRENCH_DEFAULT_STATES)


def test_unknown_states_get_distinct_deterministic_fallback_colours(ds: xr.Dataset) -> None:
    states = [str(s) for s in ds.state.values]  # street is known; shelter, housing, social, exit are not
    colours = state_colours(states)
    assert colours["street"] == STATE_COLOURS["street"]
    unknown = [s for s in states if s not in STATE_COLOURS]
    assert all(colours[s] in FALLBACK_COLOURS for s in unknown)
    assert len({colours[s] for s in states}) == len(states)
    assert state_colours(reversed(states)) == colours  # independent of the order of the states
    assert all(state_colour(s, states) == colours[s] for s in states)
    assert state_colour("shelter") == state_colour("shelter") in FALLBACK_COLOURS


def test_fallback_colour_does_not_depend_on_the_process() -> None:
    code = "from lda_sim.plotting import state_colour; print(state_colour('some_new_state'))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == state_colour("some_new_state")


# --- occupancy ---------------------------------------------------------------------------------------
def test_occupancy_has_one_area_per_non_exit_state(ds: xr.Dataset) -> None:
    fig = plot_occupancy(ds, "town")
    areas = occupancy_areas(fig)
    assert list(areas) == non_exit(ds)
    assert len(fig.axes[0].collections) == len(non_exit(ds))
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [str(ds.state_label_fr.sel(state=s).item()) for s in reversed(non_exit(ds))]
    assert "exit" not in legend


def test_occupancy_stack_adds_up_to_the_persons_or_households(ds: xr.Dataset) -> None:
    states = non_exit(ds)
    last = ds.sel(territory="town").isel(time=-1)
    for persons, var in ((True, "occupancy_persons"), (False, "occupancy")):
        fig = plot_occupancy(ds, "town", persons=persons)
        areas = occupancy_areas(fig)
        _, top = stack_top(areas[states[-1]])
        assert top == pytest.approx(float(last[var].sel(state=states).sum()))
        _, street_top = stack_top(areas[states[0]])
        assert street_top == pytest.approx(float(last[var].sel(state=states[0])))
    # the first point is the initial stock, at the start of the run
    fig = plot_occupancy(ds, "town")
    vertices = occupancy_areas(fig)[states[0]].get_paths()[0].vertices
    left = vertices[:, 0].min()
    assert vertices[np.isclose(vertices[:, 0], left), 1].max() == pytest.approx(
        float(ds.initial_occupancy_persons.sel(territory="town", state=states[0]))
    )


def test_occupancy_labels_french_by_default_and_english_on_request(labelled: xr.Dataset) -> None:
    fr = plot_occupancy(labelled, "town")
    assert fr.get_suptitle() == "Personnes par situation en fin de mois — Town"
    assert fr.axes[0].get_ylabel() == "Personnes"
    assert fr.axes[0].get_xlabel() == "Fin de mois"
    assert [t.get_text() for t in fr.axes[0].get_legend().get_texts()] == LABELS_FR[:4][::-1]

    en = plot_occupancy(labelled, "town", lang="en", persons=False)
    assert en.get_suptitle() == "Households by situation at month end — Town"
    assert en.axes[0].get_ylabel() == "Households"
    assert [t.get_text() for t in en.axes[0].get_legend().get_texts()] == LABELS_EN[:4][::-1]


# --- waits -------------------------------------------------------------------------------------------
def test_waits_show_states_with_a_waiting_list_and_entries(ds: xr.Dataset) -> None:
    fig = plot_waits(ds, "town")
    lines = median_lines(fig)
    town = ds.sel(territory="town")
    expected = [
        str(s) for s in town.state.values
        if town.queue_length.sel(state=s).notnull().any() and town.served.sel(state=s).sum() > 0
    ]
    assert expected == ["shelter", "housing", "social"]
    assert list(lines) == expected
    for state, line in lines.items():
        np.testing.assert_allclose(line.get_ydata(), town.wait_days.sel(state=state, statistic="median").values, equal_nan=True)
        run = town.wait_days_run.sel(state=state)
        legend = line.axes.get_legend()
        assert legend.get_title().get_text() == state
        (note,) = [t.get_text() for t in legend.get_texts()]
        assert f"médiane {round(float(run.sel(statistic='median')))} j" in note
        assert f"P90 {round(float(run.sel(statistic='p90')))} j" in note


def test_waits_labels_french_by_default_and_english_on_request(labelled: xr.Dataset) -> None:
    fr = plot_waits(labelled, "town")
    assert fr.get_suptitle() == "Délais d'attente avant entrée — Town"
    assert fr.get_supylabel() == "Attente (jours)"
    assert {ax.get_legend().get_title().get_text() for ax in fr.axes} == set(LABELS_FR[1:4])
    key = [t.get_text() for legend in fr.legends for t in legend.get_texts()]
    assert key == [LABELS["fr"]["monthly_median"], LABELS["fr"]["median_p90_band"]]

    en = plot_waits(labelled, "town", lang="en")
    assert en.get_suptitle() == "Waiting time before entry — Town"
    assert en.get_supylabel() == "Wait (days)"
    assert {ax.get_legend().get_title().get_text() for ax in en.axes} == set(LABELS_EN[1:4])
    notes = [t.get_text() for ax in en.axes for t in ax.get_legend().get_texts()]
    assert all(n.startswith("Whole run: median ") and " d · p90 " in n for n in notes)


def test_a_state_has_the_same_colour_in_both_charts(ds: xr.Dataset) -> None:
    areas = occupancy_areas(plot_occupancy(ds, "town"))
    lines = median_lines(plot_waits(ds, "town"))
    assert lines
    for state, line in lines.items():
        area_colour = to_hex(areas[state].get_facecolor()[0], keep_alpha=False)
        assert to_hex(line.get_color()) == area_colour == state_colour(state, ds.state.values).lower()


def test_waiting_list_nobody_got_through_is_named_not_drawn(ds: xr.Dataset) -> None:
    cut = ds.copy(deep=True)
    cut["served"].loc[{"state": "housing"}] = 0
    cut["wait_days"].loc[{"state": "housing"}] = np.nan
    cut["wait_days_run"].loc[{"state": "housing"}] = np.nan
    fig = plot_waits(cut, "town")
    assert list(median_lines(fig)) == ["shelter", "social"]
    assert any("sans aucune entrée" in t.get_text() and "housing" in t.get_text() for t in fig.texts)


def test_waits_without_any_entry_say_so(ds: xr.Dataset) -> None:
    empty = ds.copy(deep=True)
    empty["served"][:] = 0
    empty["wait_days"][:] = np.nan
    empty["wait_days_run"][:] = np.nan
    fig = plot_waits(empty, "town", lang="en")
    assert not median_lines(fig)
    assert [t.get_text() for t in fig.axes[0].texts] == [LABELS["en"]["no_waits"]]


def test_extreme_months_go_off_scale_with_their_value_written(ds: xr.Dataset) -> None:
    spiked = ds.copy(deep=True)
    spiked["wait_days"].loc[{"state": "social", "statistic": "p90"}] = spiked["wait_days"].sel(state="social", statistic="p90").where(
        spiked.time != spiked.time[0], 20000.0
    )
    fig = plot_waits(spiked, "town")
    ax = median_lines(fig)["social"].axes
    assert ax.get_ylim()[1] < 20000
    (note,) = [t for t in ax.texts if t.get_gid() == "wait_off_scale"]
    assert "20\u202f000 j" in note.get_text()


# --- stamp, size, errors -------------------------------------------------------------------------------
def test_stamp_names_scenario_horizon_and_version(ds: xr.Dataset) -> None:
    for plot in (plot_occupancy, plot_waits):
        fr = stamp_text(plot(ds, "town"))
        assert "small" in fr and f"lda_sim {ds.attrs['lda_sim_version']}" in fr and "décembre 2026" in fr
        en = stamp_text(plot(ds, "town", lang="en"))
        assert "small" in en and ds.attrs["lda_sim_version"] in en and "December 2026" in en


def test_unknown_language_or_territory_is_an_error(ds: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="lang"):
        plot_occupancy(ds, "town", lang="de")
    with pytest.raises(KeyError, match="town"):
        plot_waits(ds, "nowhere")
    with pytest.raises(ValueError, match="format"):
        write_charts(ds, "unused", formats=("docx",))
    with pytest.raises(ValueError, match="replicate"):
        plot_occupancy(ds.expand_dims(replicate=2), "town")


# --- writing -------------------------------------------------------------------------------------------
def test_write_charts_writes_every_chart_atomically(ds: xr.Dataset, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    paths = write_charts(ds, tmp_path / "charts")
    names = {p.name for p in paths}
    assert names == {f"{kind}_town.{fmt}" for kind in ("occupancy", "waits") for fmt in ("png", "svg")}
    assert sorted(os.listdir(tmp_path / "charts")) == sorted(names)  # nothing else, no hidden .tmp
    for p in paths:
        assert p.exists() and p.stat().st_size > 10_000
        if p.suffix == ".png":
            image = mpimg.imread(p)
            assert image.shape[:2] == (1080, 1920)  # 16:9 slide, full HD
            assert image[..., :3].std() > 0.05  # not blank
        else:
            root = ET.parse(p).getroot()
            assert root.tag.endswith("svg")
            assert root.get("width") == "960pt" and root.get("height") == "540pt"
    assert plt.get_fignums() == open_before  # no pyplot figure left open


def test_write_charts_leaves_nothing_behind_when_saving_fails(ds: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Figure, fname: object, **kwargs: object) -> None:
        Path(fname).write_bytes(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_charts(ds, tmp_path, formats=("png",))
    assert os.listdir(tmp_path) == []


def test_write_charts_in_english_png_only(ds: xr.Dataset, tmp_path: Path) -> None:
    paths = write_charts(ds, tmp_path, lang="en", formats=(".PNG",))
    assert [p.name for p in paths] == ["occupancy_town.png", "waits_town.png"]
    assert sorted(os.listdir(tmp_path)) == ["occupancy_town.png", "waits_town.png"]
