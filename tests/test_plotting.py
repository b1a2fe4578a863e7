"""Charts: what they show (series, values, labels, colours, stamp) and how they are written.

One small run (built once for the module) and a synthetic dataset made from it with two scenarios
and two replicates, the way the run command stacks them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from lda_sim.analysis.run import run_scenario
from lda_sim.presentation import plotting
from lda_sim.presentation.plotting import (
    FALLBACK_COLOURS,
    LABELS,
    STATE_COLOURS,
    chart_notes,
    chart_set,
    plot_capacity,
    plot_cost,
    plot_flows,
    plot_indicators,
    plot_occupancy,
    plot_scenarios,
    plot_wait_distribution,
    plot_waits,
    state_colour,
    state_colours,
    write_charts,
)

SMALL = Path(__file__).parent / "data" / "scenario_small.yaml"
FRENCH_DEFAULT_STATES = (
    "street", "emergency_shelter", "hotel", "insertion_shelter", "residence_sociale", "pension_de_famille",
    "iml_sublease", "iml_mandate", "housing_first", "social_housing", "private_housing", "left_territory", "other_exit",
    "housing_first_rehousing",
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
    """The stacked areas of both panels (street and shelters above, housing below), by state."""
    return {c.get_gid().split(":", 1)[1]: c for ax in fig.axes for c in ax.collections if (c.get_gid() or "").startswith("occupancy:")}


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
    code = "from lda_sim.presentation.plotting import state_colour; print(state_colour('some_new_state'))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == state_colour("some_new_state")


# --- occupancy ---------------------------------------------------------------------------------------
def kind_groups(ds: xr.Dataset) -> tuple[list[str], list[str]]:
    """Non-exit states drawn in the upper panel (street, shelters) and in the lower one (housing)."""
    kinds = dict(zip(ds.state.values, ds.state_kind.values))
    states = non_exit(ds)
    return [s for s in states if kinds[s] != "housing"], [s for s in states if kinds[s] == "housing"]


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_occupancy_has_one_area_per_non_exit_state(ds: xr.Dataset) -> None:
    fig = plot_occupancy(ds, "town")
    areas = occupancy_areas(fig)
    assert list(areas) == non_exit(ds)
    unhoused, housed = kind_groups(ds)
    assert [ax.get_gid() for ax in fig.axes] == ["occupancy_panel:unhoused", "occupancy_panel:housed"]
    assert len(fig.axes[0].collections) == len(unhoused) and len(fig.axes[1].collections) == len(housed)
    for ax, group in zip(fig.axes, (unhoused, housed)):
        assert legend_texts(ax) == [str(ds.state_label_fr.sel(state=s).item()) for s in reversed(group)]
    assert "exit" not in legend_texts(fig.axes[0]) + legend_texts(fig.axes[1])


def test_street_is_visible_in_the_occupancy_chart(ds: xr.Dataset) -> None:
    """The street has a panel on its own scale with the shelters, and its last value written."""
    fig = plot_occupancy(ds, "town")
    upper = fig.axes[0]
    street = float(ds.occupancy_persons.sel(territory="town", state="street").isel(time=-1))
    unhoused, _ = kind_groups(ds)
    top = float(ds.occupancy_persons.sel(territory="town", state=unhoused).isel(time=-1).sum())
    assert upper.get_ylim()[1] < 1.3 * top  # the scale is that of the street and shelters, not of the housed
    assert street / upper.get_ylim()[1] > 0.02
    (label,) = [t for t in upper.texts if t.get_gid() == "street_end"]
    assert label.get_text() == f"Rue : {round(street):,}".replace(",", "\u202f")
    assert upper.get_title(loc="left") == "À la rue et en hébergement" and fig.axes[1].get_title(loc="left") == "En logement"


def test_occupancy_stack_adds_up_to_the_persons_or_households(ds: xr.Dataset) -> None:
    last = ds.sel(territory="town").isel(time=-1)
    for persons, var in ((True, "occupancy_persons"), (False, "occupancy")):
        fig = plot_occupancy(ds, "town", persons=persons)
        areas = occupancy_areas(fig)
        for group in kind_groups(ds):
            _, top = stack_top(areas[group[-1]])
            assert top == pytest.approx(float(last[var].sel(state=group).sum()))
            _, bottom_top = stack_top(areas[group[0]])
            assert bottom_top == pytest.approx(float(last[var].sel(state=group[0])))
    # the first point is the initial stock, at the start of the run
    states = non_exit(ds)
    fig = plot_occupancy(ds, "town")
    vertices = occupancy_areas(fig)[states[0]].get_paths()[0].vertices
    left = vertices[:, 0].min()
    assert vertices[np.isclose(vertices[:, 0], left), 1].max() == pytest.approx(
        float(ds.initial_occupancy_persons.sel(territory="town", state=states[0]))
    )


def test_occupancy_labels_french_by_default_and_english_on_request(labelled: xr.Dataset) -> None:
    unhoused, housed = kind_groups(labelled)
    fr_labels = dict(zip(non_exit(labelled), LABELS_FR))
    en_labels = dict(zip(non_exit(labelled), LABELS_EN))
    fr = plot_occupancy(labelled, "town")
    assert fr.get_suptitle() == "Personnes par situation en fin de mois — Town"
    assert fr.axes[0].get_ylabel() == "Personnes"
    assert fr.axes[-1].get_xlabel() == "Fin de mois"
    assert legend_texts(fr.axes[0]) + legend_texts(fr.axes[1]) == [fr_labels[s] for g in (unhoused, housed) for s in reversed(g)]

    en = plot_occupancy(labelled, "town", lang="en", persons=False)
    assert en.get_suptitle() == "Households by situation at month end — Town"
    assert en.axes[0].get_ylabel() == "Households"
    assert legend_texts(en.axes[0]) + legend_texts(en.axes[1]) == [en_labels[s] for g in (unhoused, housed) for s in reversed(g)]
    assert en.axes[0].get_title(loc="left") == "On the street and in shelters"


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
    with pytest.raises(KeyError, match="nowhere"):
        plot_occupancy(ds, "town", scenario="nowhere")
    with pytest.raises(ValueError, match="indicator"):
        plot_scenarios(ds, "happiness")
    with pytest.raises(ValueError, match="period"):
        plot_flows(ds, "town", period=("2030-01", "2030-12"))
    with pytest.raises(ValueError, match="period"):
        plot_flows(ds, "town", period="last year")


# --- writing -------------------------------------------------------------------------------------------
#: Charts of a one-scenario dataset without costs (the small run), in the order of the set.
SMALL_SET = ["compare_street", "indicators"] + [f"{kind}_town" for kind in plotting.PER_RUN_CHARTS]


@pytest.fixture(scope="module")
def written(ds: xr.Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], list[int]]:
    """The whole chart set of the small run, written once in PNG and SVG."""
    import matplotlib.pyplot as plt

    out = tmp_path_factory.mktemp("charts")
    before = plt.get_fignums()
    paths = write_charts(ds, out)
    return out, paths, [len(before), len(plt.get_fignums())]


def test_write_charts_writes_the_whole_set_atomically(written: tuple[Path, list[Path], list[int]]) -> None:
    out, paths, figures = written
    assert [p.name for p in paths] == [f"{name}.{fmt}" for name in SMALL_SET for fmt in ("png", "svg")]
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)  # nothing else, no hidden .tmp
    assert figures[0] == figures[1]  # no pyplot figure left open


def test_every_chart_is_a_full_hd_slide_in_png_and_svg(written: tuple[Path, list[Path], list[int]]) -> None:
    _, paths, _ = written
    for p in paths:
        assert p.stat().st_size > 10_000
        if p.suffix == ".png":
            image = mpimg.imread(p)
            assert image.shape[:2] == (1080, 1920), p.name  # 16:9 slide, full HD
            assert image[..., :3].std() > 0.05, p.name  # not blank
        else:
            root = ET.parse(p).getroot()
            assert root.tag.endswith("svg")
            assert root.get("width") == "960pt" and root.get("height") == "540pt", p.name


def test_write_charts_leaves_nothing_behind_when_saving_fails(ds: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Figure, fname: object, **kwargs: object) -> None:
        Path(fname).write_bytes(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_charts(ds, tmp_path, formats=("png",))
    assert os.listdir(tmp_path) == []


def test_chart_set_names_and_notes(ds: xr.Dataset, multi: xr.Dataset) -> None:
    assert [c.name for c in chart_set(ds)] == SMALL_SET
    assert chart_notes(ds) == [LABELS["fr"]["cost_missing"]]  # the small run has no cost
    names = [c.name for c in chart_set(multi)]
    per_run = [f"{kind}_{s}_town" for s in ("baseline", "plan") for kind in plotting.PER_RUN_CHARTS]
    assert names == ["compare_street", "indicators", "cost_town", *per_run]
    assert chart_notes(multi) == []
    for chart in chart_set(multi, lang="en"):
        fig = chart.draw()
        assert tuple(fig.get_size_inches() * fig.dpi) == pytest.approx((1920, 1080)), chart.name
        assert "Scenario" in stamp_text(fig) and "2 replicates" in stamp_text(fig), chart.name


def per_run_charts(territories: list[str]) -> list[str]:
    """Names of the per-run charts of ``territories`` in ``two``, in the order of the set."""
    return [f"{kind}_{s}_{t}" for s in ("baseline", "plan") for t in territories for kind in plotting.PER_RUN_CHARTS]


def test_chart_set_draws_per_territory_charts_for_the_chosen_territories_only(two: xr.Dataset) -> None:
    across = ["compare_street", "indicators"]
    assert [c.name for c in chart_set(two)] == [*across, "cost_town", "cost_village", *per_run_charts(["town", "village"])]
    village = chart_set(two, territories=["village"])
    assert [c.name for c in village] == [*across, "cost_village", *per_run_charts(["village"])]
    for chart in village[:2]:  # the charts across territories still show both
        assert chart.kind in ("compare", "indicators") and chart.draw.keywords["territories"] == ["town", "village"]
    # in the order given, each once
    both = chart_set(two, territories=["village", "town", "village"])
    assert [c.name for c in both] == [*across, "cost_village", "cost_town", *per_run_charts(["village", "town"])]
    assert [c.name for c in chart_set(two, territories=[])] == across


def test_unknown_territory_of_the_chart_set_is_an_error_and_nothing_is_written(two: xr.Dataset, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"territory 'nowhere' is not in the dataset \(territories: town, village\)"):
        chart_set(two, territories=["town", "nowhere"])
    with pytest.raises(ValueError, match="nowhere"):
        write_charts(two, tmp_path / "charts", territories=["nowhere"])
    assert not (tmp_path / "charts").exists()


# --- scenarios and replicates (synthetic: the small run twice as replicates, and a "plan") -------------
SEEDS = (7, 8)
DAILY_COST = {"street": 5.0, "shelter": 30.0, "housing": 15.0, "social": 3.0, "exit": 0.0}


@pytest.fixture(scope="module")
def multi(ds: xr.Dataset) -> xr.Dataset:
    """Two scenarios x two replicates: the plan halves the street, adds 10 housing units from
    month 7 and 5 more from month 13, and removes 20 shelter places from month 13; costs added."""
    runs = [ds, run_scenario(SMALL, years=2, seed=SEEDS[1])]
    reps = xr.concat(runs, dim=pd.Index(list(SEEDS), name="replicate"), combine_attrs="override")
    plan = reps.copy(deep=True)
    month = xr.DataArray(np.arange(reps.sizes["time"]), dims="time", coords={"time": reps.time})
    plan["capacity"].loc[{"state": "housing"}] = plan.capacity.sel(state="housing") + 10 * (month >= 6) + 5 * (month >= 12)
    plan["capacity"].loc[{"state": "shelter"}] = plan.capacity.sel(state="shelter") - 20 * (month >= 12)
    plan["occupancy_persons"].loc[{"state": "street"}] = plan.occupancy_persons.sel(state="street") // 2
    both = xr.concat([reps, plan], dim=pd.Index(["baseline", "plan"], name="scenario"), combine_attrs="override")
    daily = xr.DataArray([DAILY_COST[str(s)] for s in both.state.values], dims="state", coords={"state": both.state})
    both["cost"] = (both.occupancy_persons * daily * 30.0).astype(float).assign_attrs(units="EUR", long_name="Cost of the month by state")
    both["support_cost"] = (both.occupancy.sel(state="housing") * 100.0).astype(float).assign_attrs(units="EUR")
    return both


@pytest.fixture(scope="module")
def two(multi: xr.Dataset) -> xr.Dataset:
    """The two scenarios of ``multi`` in two territories: town and a copy named village."""
    return xr.concat([multi, multi.assign_coords(territory=["village"], territory_label=("territory", ["Village"]))], dim="territory", data_vars="all")


def lines_by_gid(fig: Figure, prefix: str) -> dict[str, object]:
    return {
        line.get_gid().split(":", 1)[1]: line
        for ax in fig.axes for line in ax.lines if (line.get_gid() or "").startswith(prefix + ":")
    }


def bands_by_gid(fig: Figure, prefix: str) -> dict[str, object]:
    return {
        c.get_gid().split(":", 1)[1]: c
        for ax in fig.axes for c in ax.collections if (c.get_gid() or "").startswith(prefix + ":")
    }


def test_scenario_comparison_has_one_line_per_scenario_and_bands_over_replicates(multi: xr.Dataset) -> None:
    fig = plot_scenarios(multi, "street")
    lines = lines_by_gid(fig, "scenario")
    assert list(lines) == ["baseline", "plan"]
    assert list(bands_by_gid(fig, "scenario_band")) == ["baseline", "plan"]
    street = multi.occupancy_persons.sel(territory="town", state="street")
    for name, line in lines.items():
        np.testing.assert_allclose(line.get_ydata(), street.sel(scenario=name).median("replicate").values)
    # the band runs from the 10th to the 90th percentile over replicates
    band = bands_by_gid(fig, "scenario_band")["baseline"].get_paths()[0].vertices[:, 1]
    low = street.sel(scenario="baseline").quantile(0.1, "replicate").values
    high = street.sel(scenario="baseline").quantile(0.9, "replicate").values
    assert band.min() == pytest.approx(low.min()) and band.max() == pytest.approx(high.max())
    assert fig.get_suptitle() == "Personnes à la rue — comparaison des scénarios"
    key = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert key == ["baseline", "plan", "Courbe : médiane ; bande : 10e–90e centile (2 répliques)"]  # the line is said to be the median
    ends = {t.get_gid().split(":", 1)[1]: t.get_text() for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith("end_value:")}
    last = street.isel(time=-1).median("replicate")
    delta = float(last.sel(scenario="plan") - last.sel(scenario="baseline"))
    assert ends["plan"].endswith(f"({round(delta)})".replace("-", "\u2212"))
    assert stamp_text(fig).startswith("Scénarios « baseline », « plan » · 2 répliques · horizon décembre 2026")


def test_scenario_comparison_of_one_run_in_english(ds: xr.Dataset) -> None:
    fig = plot_scenarios(ds, "sheltered", lang="en")
    assert list(lines_by_gid(fig, "scenario")) == ["small"]
    assert not bands_by_gid(fig, "scenario_band")  # no replicates, no band
    assert fig.get_suptitle() == "Persons in shelters — scenarios compared"
    assert [t.get_text() for legend in fig.legends for t in legend.get_texts()] == ["small"]
    assert "seed 7" in stamp_text(fig)


def test_indicators_are_small_multiples_per_territory(multi: xr.Dataset, two: xr.Dataset) -> None:
    fig = plot_indicators(two)
    panels = [ax for ax in fig.axes if (ax.get_gid() or "").startswith("indicator:")]
    assert [ax.get_gid() for ax in panels] == [f"indicator:{t}:{i}" for t in ("town", "village") for i in plotting.KEY_INDICATORS]
    for ax in panels:
        scenario_lines = [line for line in ax.lines if line.get_gid().startswith("indicator_")]
        assert [line.get_gid().rsplit(":", 1)[1] for line in scenario_lines] == ["baseline", "plan"]
    assert [sf.get_suptitle() for sf in fig.subfigs] == ["Town", "Village"]
    assert [ax.get_title(loc="left") for ax in panels[:4]] == [LABELS["fr"][f"ind_{i}"] for i in plotting.KEY_INDICATORS]
    en = plot_indicators(multi, lang="en")
    assert en.get_suptitle() == "Key indicators by territory"
    assert len([ax for ax in en.axes if (ax.get_gid() or "").startswith("indicator:")]) == 4  # one territory: 2 x 2


def test_housed_indicator_is_cumulative_and_wait_indicator_is_a_median(ds: xr.Dataset) -> None:
    housed = plotting.indicator(ds, "housed").sel(territory="town")
    assert float(housed.isel(time=-1)) == pytest.approx(float(plotting.housed_flow(ds).sel(territory="town").sum()))
    wait = plotting.indicator(ds, "wait_housing").sel(territory="town").values
    assert np.nanmax(wait) > 0 and np.all(np.isnan(wait) | (wait >= 0))


def test_flow_diagram_bands_are_the_moves_of_the_period(ds: xr.Dataset) -> None:
    fig = plot_flows(ds, "town")
    (ax,) = fig.axes
    bands = {p.get_gid().split(":", 1)[1]: p for p in ax.patches if (p.get_gid() or "").startswith("flow:")}
    town = ds.sel(territory="town")
    moved = town.flow.isel(time=slice(-12, None)).sum("time")
    expected = {f"{o}->{t}": float(v) for o, t, v in zip(town.transition_source.values, town.transition_target.values, moved.values) if v > 0}
    assert sorted(bands) == sorted(expected)
    # band widths are proportional to the households moved
    widths = {k: (lambda v: v[0, 1] - v[7, 1])(p.get_path().vertices) for k, p in bands.items()}
    scale = widths["street->shelter"] / expected["street->shelter"]
    for key, households in expected.items():
        assert widths[key] == pytest.approx(households * scale)
    # a band has the colour of the state households left, as in the other charts
    for key, patch in bands.items():
        assert to_hex(patch.get_facecolor(), keep_alpha=False) == state_colour(key.split("->")[0], ds.state.values).lower()
    total = round(sum(expected.values()))
    assert ax.get_title(loc="left") == f"{total} ménages ont changé de situation de janv. 2026 à déc. 2026 (12 mois)".replace(
        str(total), f"{total:,}".replace(",", "\u202f"))
    assert fig.get_suptitle() == "Mouvements entre situations — Town"
    assert {t.get_text() for t in ax.texts} >= {"Situation de départ", "Situation d'arrivée"}
    origins = {t.get_gid().split(":", 1)[1] for t in ax.texts if (t.get_gid() or "").startswith("flow_label_origin:")}
    assert origins == {k.split("->")[0] for k in expected}


def test_flow_diagram_over_a_chosen_period_in_english(labelled: xr.Dataset) -> None:
    fig = plot_flows(labelled, "town", lang="en", period="2025-03:2025-05")
    (ax,) = fig.axes
    moved = float(labelled.flow.sel(territory="town").isel(time=slice(2, 5)).sum())
    assert ax.get_title(loc="left").startswith(f"{round(moved):,} households changed situation from Mar 2025 to May 2025 (3 months)")
    assert {t.get_text() for t in ax.texts} >= {"From", "To"}
    labels = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("flow_label_target:")]
    assert any(label.startswith("Shelter  ") for label in labels)
    assert plot_flows(labelled, "town", period=3).axes[0].get_title(loc="left").endswith("(3 mois)")


def test_wait_distribution_has_a_panel_per_waiting_list_and_a_bar_per_year_and_class(ds: xr.Dataset, labelled: xr.Dataset) -> None:
    fig = plot_wait_distribution(ds, "town")
    bars = [p for ax in fig.axes for p in ax.patches if (p.get_gid() or "").startswith("wait_dist:")]
    town = ds.sel(territory="town")
    served = [str(s) for s in town.state.values if town.wait_histogram.sel(state=s).sum() > 0]
    assert served == ["shelter", "housing", "social"]
    assert len([ax for ax in fig.axes if ax.patches]) == len(served)
    years = (2025, 2026)
    assert len(bars) == len(served) * len(years) * len(plotting.WAIT_CLASSES)
    for state in served:
        for year in years:
            heights = [p.get_height() for p in bars if p.get_gid() == f"wait_dist:{state}:{year}"]
            assert sum(heights) == pytest.approx(100.0)  # shares of the year's entries
    # the last year is drawn in the state's own colour, the same as in the occupancy chart
    areas = occupancy_areas(plot_occupancy(ds, "town"))
    for state in served:
        (last,) = {to_hex(p.get_facecolor(), keep_alpha=False) for p in bars if p.get_gid() == f"wait_dist:{state}:2026"}
        assert last == to_hex(areas[state].get_facecolor()[0], keep_alpha=False)
    key = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert key == ["2025", "2026"]
    assert fig.get_suptitle() == "Répartition des délais d'attente avant entrée, par année — Town"
    en = plot_wait_distribution(labelled, "town", lang="en")
    assert en.get_suptitle() == "Distribution of waiting times before entry, by year — Town"
    assert [ax.get_title(loc="left").split(" · ")[0] for ax in en.axes if ax.patches] == LABELS_EN[1:4]
    assert en.axes[0].get_xticklabels()[0].get_text() == "< 7\ndays"


def test_wait_classes_keep_every_household(ds: xr.Dataset) -> None:
    hist = ds.wait_histogram
    classes = plotting.wait_classes(hist)
    assert list(classes.wait_class.values) == list(plotting.WAIT_CLASSES)
    np.testing.assert_array_equal(classes.sum("wait_class").values, hist.sum("wait_bin").values)


def test_histogram_quantile_interpolates_inside_bins() -> None:
    from lda_sim.analysis.indicators import histogram_quantile

    hist = xr.DataArray([0, 10, 10, 0], dims="wait_bin", coords={"wait_bin": [0.0, 10.0, 20.0, 40.0], "wait_bin_upper": ("wait_bin", [10.0, 20.0, 40.0, np.inf])})
    assert float(histogram_quantile(hist, 0.5)) == pytest.approx(20.0)
    assert float(histogram_quantile(hist, 0.25)) == pytest.approx(15.0)
    assert float(histogram_quantile(hist, 0.75)) == pytest.approx(30.0)
    assert np.isnan(float(histogram_quantile(hist * 0, 0.5)))


def test_capacity_pipeline_shows_changes_and_levels(multi: xr.Dataset) -> None:
    fig = plot_capacity(multi, "town", scenario="plan", lang="en")
    lines = lines_by_gid(fig, "capacity_change")
    assert list(lines) == ["shelter", "housing"]  # the states whose capacity changes
    assert lines["housing"].get_ydata()[-1] == 15 and lines["housing"].get_ydata()[5] == 0 and lines["housing"].get_ydata()[6] == 10
    assert lines["shelter"].get_ydata()[-1] == -20
    rows = {p.get_gid().split(":", 1)[1] for ax in fig.axes for p in ax.patches if (p.get_gid() or "").startswith("capacity_row:")}
    assert rows == {"shelter", "housing", "social"}  # every state with a capacity, in the table
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "+15 (+25%)" in texts and "−20 (−10%)" in texts
    legend = [t.get_text() for t in lines["housing"].axes.get_legend().get_texts()]
    assert legend == ["shelter (−20)", "housing (+15)"]
    assert fig.get_suptitle() == "Capacities and their changes — Town"
    assert "Scenario “plan”" in stamp_text(fig)
    base = plot_capacity(multi, "town")  # the baseline: no change
    assert not lines_by_gid(base, "capacity_change") and len(base.axes) == 1
    assert base.axes[0].get_title(loc="left").endswith("Aucune variation de capacité sur la période")


def test_cost_by_state_and_scenario(multi: xr.Dataset, ds: xr.Dataset) -> None:
    fig = plot_cost(multi, "town")
    total_ax = fig.axes[0]
    bars = {p.get_gid().split(":", 1)[1]: p for p in total_ax.patches if (p.get_gid() or "").startswith("cost:")}
    paying = [s for s in ("street", "shelter", "housing", "social") if DAILY_COST[s] > 0]
    assert sorted(bars) == sorted([f"{n}:{s}" for n in ("baseline", "plan") for s in [*paying, "support"]])
    expected = multi.cost.sel(territory="town").sum("time").mean("replicate") / 1e6
    for key, bar in bars.items():
        name, state = key.split(":")
        if state != "support":
            assert bar.get_height() == pytest.approx(float(expected.sel(scenario=name, state=state)))
            assert to_hex(bar.get_facecolor(), keep_alpha=False) == state_colour(state, multi.state.values).lower()
    assert list(lines_by_gid(fig, "cost_monthly")) == ["baseline", "plan"]
    assert fig.get_suptitle() == "Coûts par situation et par scénario — Town"
    with pytest.raises(ValueError, match="cost"):
        plot_cost(ds, "town")  # the small run's costs are all zero


def test_charts_of_one_run_show_the_chosen_scenario_with_replicates_averaged(multi: xr.Dataset) -> None:
    for scenario in ("baseline", "plan"):
        fig = plot_occupancy(multi, "town", scenario=scenario)
        _, street_top = stack_top(occupancy_areas(fig)["street"])
        mean = multi.occupancy_persons.sel(scenario=scenario, territory="town", state="street").isel(time=-1).mean("replicate")
        assert street_top == pytest.approx(float(mean))
        assert stamp_text(fig).startswith(f"Scénario « {scenario} » · 2 répliques")
    waits = median_lines(plot_waits(multi, "town"))
    expected = multi.wait_days.sel(scenario="baseline", territory="town", state="shelter", statistic="median").median("replicate")
    np.testing.assert_allclose(waits["shelter"].get_ydata(), expected.values, equal_nan=True)


def test_a_state_has_the_same_colour_in_every_chart(ds: xr.Dataset) -> None:
    colours = state_colours(ds.state.values)
    occupancy = {s: to_hex(a.get_facecolor()[0], keep_alpha=False) for s, a in occupancy_areas(plot_occupancy(ds, "town")).items()}
    waits = {s: to_hex(line.get_color()) for s, line in median_lines(plot_waits(ds, "town")).items()}
    flows = {
        p.get_gid().split(":", 1)[1]: to_hex(p.get_facecolor(), keep_alpha=False)
        for p in plot_flows(ds, "town").axes[0].patches if (p.get_gid() or "").startswith("flow_origin:")
    }
    capacity = {
        p.get_gid().split(":", 1)[1]: to_hex(p.get_facecolor(), keep_alpha=False)
        for ax in plot_capacity(ds, "town").axes for p in ax.patches if (p.get_gid() or "").startswith("capacity_row:")
    }
    for chart in (occupancy, waits, flows, capacity):
        assert chart
        assert all(colour == colours[state].lower() for state, colour in chart.items())
    assert set(occupancy) & set(waits) & set(flows) & set(capacity)  # some states appear in all four


def test_period_parsing() -> None:
    assert plotting.parse_period("2027-01:2027-12") == ("2027-01", "2027-12")
    assert plotting.parse_period(" 6 ") == 6
    for bad in ("0", "2027-01", "2027-01:", "jan:feb"):
        with pytest.raises(ValueError, match="period"):
            plotting.parse_period(bad)


def test_cli_plot_writes_the_whole_set(ds: xr.Dataset, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lda_sim.cli import main
    from lda_sim.dataset.output import save_dataset

    results = save_dataset(ds, tmp_path / "run.nc")
    out = tmp_path / "charts"
    result = CliRunner().invoke(main, ["plot", str(results), "--out", str(out), "--format", "png", "--period", "2026-01:2026-06", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(out)) == sorted(f"{name}.png" for name in SMALL_SET)
    assert LABELS["en"]["cost_missing"] in result.output  # the note on the chart left out
    bad = CliRunner().invoke(main, ["plot", str(results), "--out", str(tmp_path / "x"), "--period", "2020-01:2020-02"])
    assert bad.exit_code == 2 and "outside the run" in bad.output


def test_response_curve_of_a_sweep_has_one_point_per_value_and_skips_failed_runs(tmp_path: Path) -> None:
    from lda_sim.analysis.ensemble import plan_runs, run_ensemble
    from lda_sim.presentation.plotting import plot_response, swept_parameters

    param = "territory.town.states.shelter.places"
    specs = plan_runs([str(SMALL)], seed=1, replicates=2, years=1, grid={param: [100, 160, 220]})
    ds = run_ensemble(specs, tmp_path / "runs", workers=1, progress=False).dataset  # 100 < initial 150 persons: fails
    assert swept_parameters(ds) == [param]
    fig = plot_response(ds, param, "street", lang="en")
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "response_small"]
    x, y = line.get_data()
    np.testing.assert_array_equal(x, [100, 160, 220])
    assert np.isnan(y[0]) and np.isfinite(y[1:]).all()
    assert "against" in fig.texts[0].get_text() or any("against" in t.get_text() for t in fig.texts)
    names = [p.name for p in write_charts(ds, tmp_path / "charts", formats=("png",))]
    assert any(n.startswith("response_street_") for n in names) and "occupancy_small_town.png" in names


# --- defects a committee would notice (issue 16) --------------------------------------------------------
def drawn(fig: Figure) -> object:
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5


def tick_boxes(fig: Figure, renderer: object) -> list[object]:
    return [
        t.get_window_extent(renderer) for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()
        if t.get_visible() and t.get_text()
    ]


def test_flow_labels_stay_inside_the_image_with_a_margin(labelled: xr.Dataset) -> None:
    long = labelled.assign_coords(state_label_fr=("state", ["Rue", "Hébergement d'urgence et hôtel : entre deux", "Logement accompagné de longue durée", "Logement social", "Sortie"]))
    fig = plot_flows(long, "town")
    renderer = drawn(fig)
    width = fig.bbox.width
    labels = [t for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith("flow_label_")]
    assert len(labels) >= 6
    for t in labels:
        box = t.get_window_extent(renderer)
        assert box.x0 >= 0.02 * width and box.x1 <= 0.98 * width, t.get_text()


def many_scenarios(multi: xr.Dataset, names: list[str]) -> xr.Dataset:
    base = multi.sel(scenario="baseline", drop=True)
    return xr.concat([base] * len(names), dim=pd.Index(names, name="scenario"), combine_attrs="override")


def test_cost_chart_names_and_bar_labels_do_not_run_into_each_other(multi: xr.Dataset) -> None:
    names = ["baseline", "logement-d-abord", "hotel-to-iml", "prevention-renforcee", "staircase_model", "plan2"]
    fig = plot_cost(many_scenarios(multi, names), "town")
    renderer = drawn(fig)
    total_ax = fig.axes[0]
    ticks = [t for t in total_ax.get_xticklabels() if t.get_text()]
    assert [t.get_text().replace("\n", "") for t in ticks] == names  # every name, broken over lines only
    assert max(len(line) for t in ticks for line in t.get_text().split("\n")) <= 12  # broken at hyphens and underscores
    boxes = [t.get_window_extent(renderer) for t in ticks]
    values = [t.get_window_extent(renderer) for t in total_ax.texts if (t.get_gid() or "").startswith("cost_total:")]
    assert len(values) == len(names)
    for group in (boxes, values):
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                assert not overlaps(group[i], group[j])


def test_scenario_keys_do_not_cover_tick_labels(multi: xr.Dataset, two: xr.Dataset) -> None:
    six = many_scenarios(multi, [f"scenario-{i}" for i in range(6)])  # a key of two rows
    for fig in (plot_scenarios(multi), plot_indicators(two), plot_cost(multi, "town"), plot_waits(multi, "town"), plot_cost(six, "town"), plot_scenarios(six)):
        renderer = drawn(fig)
        ticks = tick_boxes(fig, renderer)
        assert fig.legends and ticks
        for legend in fig.legends:
            key = legend.get_window_extent(renderer)
            assert not [b for b in ticks if overlaps(key, b)], fig.get_suptitle()


def test_indicators_say_which_median_they_show_and_why_shelters_are_flat(multi: xr.Dataset) -> None:
    fig = plot_indicators(multi)
    panels = {ax.get_gid().rsplit(":", 1)[1]: ax for ax in fig.axes if (ax.get_gid() or "").startswith("indicator:")}
    wait = panels["wait_housing"]
    assert "entrées du mois" in wait.get_title(loc="left")
    run_lines = {line.get_gid().split(":", 1)[1]: line for line in wait.lines if (line.get_gid() or "").startswith("wait_run:")}
    assert list(run_lines) == ["baseline", "plan"]
    run = multi.wait_days_by_kind.sel(state_group="housing", statistic="median", territory="town").median("replicate")
    for name, line in run_lines.items():  # the dotted line is the median wait over the whole run
        assert line.get_ydata()[0] == pytest.approx(float(run.sel(scenario=name)))
    places = {line.get_gid().split(":", 1)[1]: line for line in panels["sheltered"].lines if (line.get_gid() or "").startswith("shelter_places:")}
    expected = multi.capacity.sel(territory="town", state=["shelter"]).sum("state").sel(scenario="plan").median("replicate").values
    np.testing.assert_allclose(places["plan"].get_ydata(), expected)
    key = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert LABELS["fr"]["ind_places"] in key and LABELS["fr"]["ind_wait_run"] in key


def test_comparison_chart_has_separators_whiskers_and_says_it_shows_means(multi: xr.Dataset) -> None:
    from lda_sim.analysis.compare import INDICATORS as COMPARED
    from lda_sim.analysis.compare import comparison_table
    from lda_sim.presentation.plotting import plot_comparison

    fig = plot_comparison(multi)
    drawn(fig)
    assert fig.axes[0].yaxis.get_major_formatter()(12345) == "12\u202f345"
    whiskers = [c for ax in fig.axes for c in ax.containers if str(c.get_label()).startswith("_compare_band:")]
    assert len(whiskers) == 2 * len(COMPARED)
    (title,) = [lg.get_title().get_text() for lg in fig.legends]
    assert "moyenne de 2 répliques" in title and "10e–90e centile" in title
    table = comparison_table(multi)
    bar = [p for p in fig.axes[0].patches if p.get_gid() == "compare:street_persons:plan"] or fig.axes[0].patches[1:2]
    assert bar[0].get_height() == pytest.approx(float(table[(table.scenario == "plan")].street_persons.iloc[0]))
    en = plot_comparison(multi, lang="en")
    assert en.axes[0].yaxis.get_major_formatter()(12345) == "12,345"


def test_sweep_axes_are_labelled_in_words(ds: xr.Dataset) -> None:
    from lda_sim.presentation.plotting import parameter_label

    shelter = str(ds.state_label_fr.sel(state="shelter").item())
    assert parameter_label(ds, "territory.town.states.shelter.places") == f"places — {shelter}, Town"
    assert parameter_label(ds, "territory.town.inflows.eviction.households_per_year", "en") == "arrivals per year (households) — Town"
    assert parameter_label(ds, "policies[0].units_per_year") == "logements par an — politique n° 1"
    assert "." not in parameter_label(ds, "scenario.years", "en")


def test_month_and_number_formats_come_from_babel() -> None:
    from babel.dates import format_date

    assert not hasattr(plotting, "MONTHS_SHORT") and not hasattr(plotting, "MONTHS_LONG")  # no hand-written month tables
    import datetime

    for month in range(1, 13):
        day = datetime.date(2025, month, 1)
        assert plotting._month_label(2025, month, "fr", "MMM") == format_date(day, "MMM", locale="fr_FR")
    assert plotting._month_name(np.datetime64("2026-12"), "fr") == "décembre 2026"
    assert plotting._month_name(np.datetime64("2026-12"), "en") == "December 2026"
    assert plotting._number_formatter("fr")(-1234.5) == "\u22121\u202f234,5"
    assert plotting._number_formatter("en")(1234567) == "1,234,567"


def test_write_charts_reports_progress(ds: xr.Dataset, tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    class Bar:
        def __init__(self, total: int, desc: str, unit: str) -> None:
            seen.append((desc, total))

        def update(self, n: int) -> None:
            seen.append(("update", n))

        def close(self) -> None:
            seen.append(("close", 0))

    paths = write_charts(ds, tmp_path / "c", formats=("png",), territories=[], progress=Bar)
    assert seen == [("charts", len(paths)), *[("update", 1)] * len(paths), ("close", 0)]
