"""Slide-ready charts of a results dataset, for planners and committees.

The chart set (:func:`chart_set`, written by :func:`write_charts`):

- :func:`plot_scenarios`: an indicator (persons on the street by default) over time, one line per
  scenario, with the 10th-90th percentile band over replicates, one panel per territory;
- :func:`plot_indicators`: key indicators by territory as small multiples;
- :func:`plot_cost`: cost by state and scenario (when the dataset has ``cost``);
- per scenario and territory: :func:`plot_occupancy` (stacked persons by state),
  :func:`plot_flows` (a flow diagram of the moves between states over a period),
  :func:`plot_waits` (monthly waiting times), :func:`plot_wait_distribution` (distribution of
  waits per waiting list, year by year) and :func:`plot_capacity` (the capacity pipeline).

Everything is computed from the dataset of :func:`lda_sim.analysis.run.run_scenario` (see
:mod:`lda_sim.engine.recorder`), with or without ``scenario`` and ``replicate`` dimensions: charts of one
run show one scenario (the first by default) with replicates averaged (waiting-time statistics:
their median); charts across scenarios draw the median over replicates and the band. Figures are
plain :class:`matplotlib.figure.Figure` objects drawn with the Agg canvas: pyplot is never used, so
nothing is registered globally, no window is ever opened and the interactive backend of the caller
(a notebook, say) is left alone.

Charts are sized for 16:9 slides (13.33 x 7.5 inches, 1920 x 1080 pixels in PNG), labelled in French
by default or in English (``lang="en"``), and stamped in the lower right corner with the scenario(s),
the seed or number of replicates, the horizon and the version of lda_sim that produced the data. A
state has the same colour in every chart (:data:`STATE_COLOURS`, a colour-blind-safe palette, for
the French default states; :func:`state_colours` for others); scenarios have their own colours and
dashes (:func:`scenario_style`).
"""

from __future__ import annotations

import datetime
import json
import math
import re
import textwrap
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import matplotlib as mpl
import numpy as np
import pandas as pd
import xarray as xr
from babel.dates import format_date
from babel.numbers import format_decimal
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import Formatter, FuncFormatter

from ..analysis.compare import INDICATORS as COMPARISON_INDICATORS
from ..analysis.compare import comparison_table, replicate_spread
from ..analysis.indicators import (
    DEFAULT_PERIOD_MONTHS,
    OUTCOME_DIMS,
    Period,
    collapse_replicates,
    housed_flow,
    parse_period,
    period_indices,
    period_label,
    persons_in,
    pooled_wait_quantile,
    replicate_band,
    scenario_names,
    select_scenario,
    total_cost,
)
from ..config.files import write_atomic
from ..dataset.output import atomic_folder

__all__ = [
    "DEFAULT_FLOW_MONTHS",
    "DPI",
    "FALLBACK_COLOURS",
    "FIGSIZE",
    "INDICATORS",
    "KEY_INDICATORS",
    "LABELS",
    "SCENARIO_COLOURS",
    "STATE_COLOURS",
    "WAIT_CLASSES",
    "Chart",
    "chart_notes",
    "chart_set",
    "has_cost",
    "indicator",
    "parameter_label",
    "parse_period",
    "plot_capacity",
    "plot_cost",
    "plot_flows",
    "plot_indicators",
    "plot_occupancy",
    "plot_scenarios",
    "plot_wait_distribution",
    "plot_waits",
    "scenario_style",
    "state_colour",
    "state_colours",
    "wait_classes",
    "write_charts",
]

# --------------------------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------------------------
#: Fixed colours of the French default states, from Paul Tol's "muted" scheme completed with
#: Okabe-Ito orange, blue and vermillion (all colour-blind-safe). Neighbours in the stacking order
#: of the occupancy chart (street, shelters, adapted housing, housing, then Housing First
#: participants between two homes) are kept far apart; exits are greys.
STATE_COLOURS: Mapping[str, str] = MappingProxyType(
    {
        "street": "#882255",  # Tol muted wine
        "emergency_shelter": "#CC6677",  # Tol muted rose
        "hotel": "#DDCC77",  # Tol muted sand
        "insertion_shelter": "#E69F00",  # Okabe-Ito orange
        "residence_sociale": "#999933",  # Tol muted olive
        "pension_de_famille": "#44AA99",  # Tol muted teal
        "iml_sublease": "#88CCEE",  # Tol muted cyan
        "iml_mandate": "#AA4499",  # Tol muted purple
        "housing_first": "#117733",  # Tol muted green
        "social_housing": "#332288",  # Tol muted indigo
        "private_housing": "#0072B2",  # Okabe-Ito blue
        "left_territory": "#BBBBBB",  # grey
        "other_exit": "#777777",  # dark grey
        "housing_first_rehousing": "#D55E00",  # Okabe-Ito vermillion: a Housing First home lost, not housed
    }
)

#: Colours of states that :data:`STATE_COLOURS` does not know (from Paul Tol's "bright" and
#: "vibrant" schemes; no grey, kept for exits, and nothing close to the wine of the street). A state's preferred slot is a stable hash of its name, so it does not depend on the
#: run, the process or the order of the states.
FALLBACK_COLOURS: tuple[str, ...] = (
    "#4477AA",  # bright blue
    "#EE7733",  # vibrant orange
    "#228833",  # bright green
    "#CCBB44",  # bright yellow
    "#66CCEE",  # bright cyan
    "#CC3311",  # vibrant red
    "#009988",  # vibrant teal
    "#EE3377",  # vibrant magenta
)


def _fallback_slot(name: str) -> int:
    return zlib.crc32(name.encode("utf-8")) % len(FALLBACK_COLOURS)


def state_colours(states: Iterable[str]) -> dict[str, str]:
    """Colours of a set of states (a pathway's), all fallback colours distinct where possible.

    Known states get their :data:`STATE_COLOURS` entry. Unknown states, taken in name order, get the
    fallback colour of their hashed slot or, if another unknown state of the set already has it,
    the next free one. The result depends only on the set of names, so every chart of a dataset
    (which all pass the dataset's full list of states) shows a state in the same colour.
    """
    names = list(dict.fromkeys(str(s) for s in states))
    out = {name: STATE_COLOURS[name] for name in names if name in STATE_COLOURS}
    taken: set[int] = set()
    for name in sorted(n for n in names if n not in STATE_COLOURS):
        slot = _fallback_slot(name)
        if len(taken) < len(FALLBACK_COLOURS):
            while slot in taken:
                slot = (slot + 1) % len(FALLBACK_COLOURS)
        taken.add(slot)
        out[name] = FALLBACK_COLOURS[slot]
    return {name: out[name] for name in names}


def state_colour(name: str, states: Iterable[str] | None = None) -> str:
    """The colour of state ``name`` (a hex string).

    Without ``states``, an unknown state gets the fallback colour of its hashed slot, which two
    unknown names may share; with ``states`` (the pathway's states, e.g. ``ds.state.values``) the
    colour is the one the charts use, distinct from the other states' (see :func:`state_colours`).
    """
    name = str(name)
    if name in STATE_COLOURS:
        return STATE_COLOURS[name]
    if states is not None:
        return state_colours([*states, name])[name]
    return FALLBACK_COLOURS[_fallback_slot(name)]


# --------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------
#: Texts of the charts, French (default) and English. State labels come from the dataset
#: (coordinates ``state_label_fr`` / ``state_label_en``).
LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "fr": MappingProxyType(
            {
                "occupancy_title_persons": "Personnes par situation en fin de mois — {territory}",
                "occupancy_title_households": "Ménages par situation en fin de mois — {territory}",
                "persons": "Personnes",
                "households": "Ménages",
                "state": "Situation",
                "month_end": "Fin de mois",
                "waits_title": "Délais d'attente avant entrée — {territory}",
                "wait_days": "Attente (jours)",
                "monthly_median": "Médiane des entrées du mois",
                "median_p90_band": "De la médiane au 90e centile",
                "run_summary": "Période : médiane {median} j · P90 {p90} j",
                "no_entry": "Liste d'attente sans aucune entrée sur la période : {states}",
                "no_waits": "Aucune entrée par une liste d'attente sur la période",
                "stamp": "{scenario} · {seed} · horizon {horizon} · lda_sim {version}",
                "stamp_scenario": "Scénario « {name} »",
                "stamp_scenarios": "Scénarios {names}",
                "stamp_seed": "graine {seed}",
                "stamp_replicates": "{n} répliques",
                "quote": "« {} »",
                # flows
                "flows_title": "Mouvements entre situations — {territory}",
                "flows_subtitle": "{total} ménages ont changé de situation de {start} à {end} ({months} mois)",
                "flows_from": "Situation de départ",
                "flows_to": "Situation d'arrivée",
                "flows_entries": "Arrivées dans le dispositif sur la période, non représentées : {n} ménages",
                "flows_none": "Aucun mouvement sur la période",
                # waiting-time distribution
                "wait_dist_title": "Répartition des délais d'attente avant entrée, par année — {territory}",
                "wait_dist_share": "Part des entrées de l'année",
                "wait_dist_panel": "{state} · {n} entrées",
                "wait_dist_year": "{year}",
                "wait_dist_partial": "{year} ({months} mois)",
                "wait_bins": "< 7\njours|7–30\njours|1–3\nmois|3–6\nmois|6–12\nmois|1–2\nans|≥ 2\nans",
                "wait_dist_none": "Personne n'est entré par une liste d'attente sur la période",
                # scenarios and indicators
                "compare_title": "{indicator} — comparaison des scénarios",
                "band": "Courbe : médiane ; bande : 10e–90e centile ({n} répliques)",
                "vs_baseline": "{delta} par rapport à « {baseline} »",
                "indicators_title": "Indicateurs clés par territoire",
                "migration_title": "Mobilité : ménages relogés dans un autre territoire, {start} – {end}",
                "migration_axes": "Lignes : territoire où le ménage attendait (total) ; colonnes : territoire du logement",
                "migration_note": "{shown} des {total} ménages relogés dans un autre territoire ; {n} principaux territoires",
                "indicators_title_part": "Indicateurs clés par territoire ({part}/{parts})",
                "ind_street": "Personnes à la rue",
                "response_title": "{indicator} selon {parameter}",
                "response_mean": " (moyenne sur la période)",
                "ind_sheltered": "Personnes hébergées",
                "ind_housed": "Ménages relogés depuis le début (cumul)",
                "ind_wait_housing": "Attente médiane avant logement, entrées du mois (j)",
                "ind_wait_run": "Pointillé : attente médiane sur toute la période",
                "ind_places": "Pointillé gris : places d'hébergement",
                "shelter_full": "complet : {places} places",
                "band_median": "Médiane de {n} répliques",
                "occupancy_unhoused": "À la rue et en hébergement",
                "occupancy_housed": "En logement",
                "street_end": "Rue : {n}",
                "ind_cost": "Coût mensuel (M€)",
                # capacity
                "capacity_title": "Capacités et leurs variations — {territory}",
                "capacity_change": "Variation depuis fin {start}",
                "capacity_levels": "Capacité fin {start} et fin {end}",
                "capacity_unit": "Places (hébergement) ou logements",
                "capacity_nochange": "Aucune variation de capacité sur la période",
                "capacity_unchanged": "Sans variation : {states}",
                "capacity_none": "Aucune situation à capacité limitée dans ce territoire",
                "capacity_col_change": "Variation",
                "unit_places": "places",
                "unit_units": "logements",
                # cost
                "cost_title": "Coûts par situation et par scénario — {territory}",
                "cost_total": "Coût total sur la période (M€)",
                "cost_monthly": "Coût mensuel (M€)",
                "cost_support": "Accompagnement",
                "cost_missing": "Pas de coûts dans ces résultats (variable absente ou nulle) : le graphique des coûts n'est pas produit.",
                "scenario": "Scénario",
            }
        ),
        "en": MappingProxyType(
            {
                "occupancy_title_persons": "Persons by situation at month end — {territory}",
                "occupancy_title_households": "Households by situation at month end — {territory}",
                "persons": "Persons",
                "households": "Households",
                "state": "Situation",
                "month_end": "End of month",
                "waits_title": "Waiting time before entry — {territory}",
                "wait_days": "Wait (days)",
                "monthly_median": "Median of the month's entries",
                "median_p90_band": "Median to 90th percentile",
                "run_summary": "Whole run: median {median} d · p90 {p90} d",
                "no_entry": "Waiting list with no entry during the run: {states}",
                "no_waits": "Nobody entered through a waiting list during the run",
                "stamp": "{scenario} · {seed} · horizon {horizon} · lda_sim {version}",
                "stamp_scenario": "Scenario “{name}”",
                "stamp_scenarios": "Scenarios {names}",
                "stamp_seed": "seed {seed}",
                "stamp_replicates": "{n} replicates",
                "quote": "“{}”",
                # flows
                "flows_title": "Moves between situations — {territory}",
                "flows_subtitle": "{total} households changed situation from {start} to {end} ({months} months)",
                "flows_from": "From",
                "flows_to": "To",
                "flows_entries": "Arrivals into the system during the period, not shown: {n} households",
                "flows_none": "No move during the period",
                # waiting-time distribution
                "wait_dist_title": "Distribution of waiting times before entry, by year — {territory}",
                "wait_dist_share": "Share of the year's entries",
                "wait_dist_panel": "{state} · {n} entries",
                "wait_dist_year": "{year}",
                "wait_dist_partial": "{year} ({months} months)",
                "wait_bins": "< 7\ndays|7–30\ndays|1–3\nmo.|3–6\nmo.|6–12\nmo.|1–2\nyears|≥ 2\nyears",
                "wait_dist_none": "Nobody entered through a waiting list during the run",
                # scenarios and indicators
                "compare_title": "{indicator} — scenarios compared",
                "band": "Line: median; band: 10th–90th percentile ({n} replicates)",
                "vs_baseline": "{delta} vs “{baseline}”",
                "indicators_title": "Key indicators by territory",
                "migration_title": "Mobility: households housed in another territory, {start} – {end}",
                "migration_axes": "Rows: territory where the household waited (total); columns: territory of the home",
                "migration_note": "{shown} of the {total} households housed in another territory; top {n} territories",
                "indicators_title_part": "Key indicators by territory ({part}/{parts})",
                "ind_street": "Persons on the street",
                "response_title": "{indicator} against {parameter}",
                "response_mean": " (mean over the run)",
                "ind_sheltered": "Persons in shelters",
                "ind_housed": "Households housed since the start (cumulative)",
                "ind_wait_housing": "Median wait before housing, month's entries (days)",
                "ind_wait_run": "Dotted: median wait over the whole run",
                "ind_places": "Grey dotted: shelter places",
                "shelter_full": "full: {places} places",
                "band_median": "Median of {n} replicates",
                "occupancy_unhoused": "On the street and in shelters",
                "occupancy_housed": "In housing",
                "street_end": "Street: {n}",
                "ind_cost": "Monthly cost (€M)",
                # capacity
                "capacity_title": "Capacities and their changes — {territory}",
                "capacity_change": "Change since end of {start}",
                "capacity_levels": "Capacity at end of {start} and of {end}",
                "capacity_unit": "Places (shelters) or units (housing)",
                "capacity_nochange": "No change of capacity during the run",
                "capacity_unchanged": "Unchanged: {states}",
                "capacity_none": "No state with a limited capacity in this territory",
                "capacity_col_change": "Change",
                "unit_places": "places",
                "unit_units": "units",
                # cost
                "cost_title": "Costs by situation and scenario — {territory}",
                "cost_total": "Total cost over the run (€M)",
                "cost_monthly": "Monthly cost (€M)",
                "cost_support": "Support",
                "cost_missing": "No costs in these results (no cost variable, or all zero): the cost chart is not drawn.",
                "scenario": "Scenario",
            }
        ),
    }
)

#: Babel locale of each chart language: month names and number formats come from its CLDR data.
LOCALES = MappingProxyType({"fr": "fr_FR", "en": "en"})


def _month_label(year: int, month: int, lang: str, pattern: str) -> str:
    """A month in ``lang`` by a CLDR date pattern (``MMM``: "janv."; ``MMMM y``: "janvier 2025")."""
    text = format_date(datetime.date(year, month, 1), pattern, locale=LOCALES[lang])
    return text.rstrip(".") if lang == "en" else text


# --------------------------------------------------------------------------------------------
# Figure geometry and typography
# --------------------------------------------------------------------------------------------
#: Slide size in inches (PowerPoint / Google Slides 16:9) and the PNG resolution: 1920 x 1080 pixels.
FIGSIZE = (40 / 3, 7.5)
DPI = 144
TITLE_SIZE = 20
LABEL_SIZE = 15
TICK_SIZE = 13
LEGEND_SIZE = 13
PANEL_TITLE_SIZE = 15
STAMP_SIZE = 10
STAMP_ID = "lda_sim_stamp"
#: Shares of the figure's height kept free at the bottom for the stamp, and above it for a key.
STAMP_BAND = 0.045
KEY_BAND = 0.05


def _check_lang(lang: str) -> Mapping[str, str]:
    if lang not in LABELS:
        raise ValueError(f"lang must be one of {sorted(LABELS)}, not {lang!r}")
    return LABELS[lang]


def _number_formatter(lang: str) -> FuncFormatter:
    """Thousands separated by a narrow no-break space in French, by a comma in English (Babel, CLDR)."""

    def fmt(x: float, _pos: int | None = None) -> str:
        whole = abs(x - round(x)) < 1e-9
        text = format_decimal(round(x) if whole else round(x, 1), format="#,##0" if whole else "#,##0.0", locale=LOCALES[lang])
        return text.replace("-", "\u2212")

    return FuncFormatter(fmt)


def _format_days(x: float, lang: str) -> str:
    """Whole days, thousands separated as in ``lang``; a dash when there is no value."""
    return "–" if not math.isfinite(x) else _number_formatter(lang)(round(x))


class _MonthFormatter(Formatter):
    """Month abbreviations in the chart's language; the year under January and the first tick."""

    def __init__(self, lang: str, years_only: bool) -> None:
        self.lang = lang
        self.years_only = years_only

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.format_ticks([x])[0]

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        lo = self.axis.get_view_interval()[0] if self.axis is not None else -math.inf
        out, first = [], True
        for v in values:
            d = mdates.num2date(v)
            if self.years_only:
                out.append(str(d.year))
                continue
            label = _month_label(d.year, d.month, self.lang, "MMM")
            visible = v >= lo - 1e-9
            if d.month == 1 or (first and visible):
                label += f"\n{d.year}"
            if visible:
                first = False
            out.append(label)
        return out


def _format_time_axis(ax: Axes, months: int, lang: str, max_ticks: int) -> None:
    step = next((s for s in (1, 2, 3, 6, 12, 24, 60, 120) if months / s <= max_ticks), 240)
    if step < 12:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=range(1, 13, step)))
    else:
        ax.xaxis.set_major_locator(mdates.YearLocator(base=step // 12))
    ax.xaxis.set_major_formatter(_MonthFormatter(lang, years_only=step >= 12))


def _style_axes(ax: Axes) -> None:
    ax.tick_params(labelsize=TICK_SIZE)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="0.88", linewidth=0.8)
    ax.set_axisbelow(True)


def _new_figure(bottom: float = STAMP_BAND) -> Figure:
    """A slide-sized figure whose axes leave the lowest ``bottom`` of its height free."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)
    engine.set(rect=(0, bottom, 1, 1 - bottom), h_pad=0.06, w_pad=0.08)
    return fig


def _month_name(t: np.datetime64, lang: str) -> str:
    year, month = (int(p) for p in str(np.datetime64(t, "M")).split("-")[:2])
    return _month_label(year, month, lang, "MMMM y")


def _stamp_text(ds: xr.Dataset, lang: str) -> str:
    """Scenario(s), seed or number of replicates, horizon (last month) and lda_sim version."""
    text = LABELS[lang]
    horizon = _month_name(ds["time"].values[-1], lang) if ds.sizes.get("time") else "?"
    names = scenario_names(ds)
    if "scenario" in ds.dims and len(names) > 1:
        scenario = text["stamp_scenarios"].format(names=", ".join(text["quote"].format(n) for n in names))
    else:
        scenario = text["stamp_scenario"].format(name=names[0])
    replicates = ds.sizes.get("replicate") or ds.attrs.get("replicates")
    if replicates:
        seed = text["stamp_replicates"].format(n=int(replicates))
    else:
        seed = text["stamp_seed"].format(seed=ds.attrs.get("seed", "?"))
    return text["stamp"].format(scenario=scenario, seed=seed, horizon=horizon, version=ds.attrs.get("lda_sim_version", "?"))


def _stamp(fig: Figure, ds: xr.Dataset, lang: str) -> None:
    """Scenario, seed, horizon (last month) and lda_sim version, in the lower right corner."""
    fig.text(0.995, 0.012, _stamp_text(ds, lang), ha="right", va="bottom", fontsize=STAMP_SIZE, color="0.35", gid=STAMP_ID)


# --------------------------------------------------------------------------------------------
# Dataset access
# --------------------------------------------------------------------------------------------
def _run(ds: xr.Dataset, scenario: str | None) -> xr.Dataset:
    """The figures of one run: one scenario (default: the first), replicates averaged.

    Counts are averaged over replicates and waiting-time statistics take their median (see
    :func:`lda_sim.analysis.indicators.collapse_replicates`); the stamp then gives the number of replicates.
    """
    return collapse_replicates(select_scenario(ds, scenario))


def _territory(ds: xr.Dataset, territory: str) -> tuple[xr.Dataset, str]:
    """The dataset of one territory and its label; check that no other dimension is left over."""
    names = [str(t) for t in ds["territory"].values]
    if str(territory) not in names:
        raise KeyError(f"territory {territory!r} is not in the dataset (territories: {', '.join(names)})")
    sub = ds.sel(territory=str(territory))
    extra = set(sub["occupancy"].dims) - {"state", "time"}
    if extra:
        raise ValueError(
            f"charts show one run: select a single value of {', '.join(sorted(map(str, extra)))} first (e.g. ds.isel(replicate=0))"
        )
    label = str(sub["territory_label"].item()) if "territory_label" in sub.coords else str(territory)
    return sub, label


class _RunView(NamedTuple):
    """What a per-run chart of one territory starts from (see :func:`_run_view`)."""

    ds: xr.Dataset  # the run (one scenario, replicates collapsed)
    sub: xr.Dataset  # its territory
    territory_label: str
    colours: dict[str, str]  # by state, the same in every chart
    labels: dict[str, str]  # state labels in the chart's language


def _run_view(ds: xr.Dataset, territory: str, scenario: str | None, lang: str) -> _RunView:
    """One run of ``ds`` (:func:`_run`), the territory's part, its label, and state colours and labels."""
    run = _run(ds, scenario)
    sub, label = _territory(run, territory)
    return _RunView(run, sub, label, state_colours(str(s) for s in run["state"].values), _state_labels(sub, lang))


def _state_labels(ds: xr.Dataset, lang: str) -> dict[str, str]:
    coord = f"state_label_{lang}"
    names = [str(s) for s in ds["state"].values]
    if coord not in ds.coords:
        return dict(zip(names, names))
    return {n: str(label) or n for n, label in zip(names, ds[coord].values)}


def _non_exit_states(ds: xr.Dataset) -> list[str]:
    names = [str(s) for s in ds["state"].values]
    if "state_kind" not in ds.coords:
        return names
    return [n for n, kind in zip(names, ds["state_kind"].values) if str(kind) != "exit"]


def _month_bounds(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Start and end instants of each month of the dataset."""
    months = ds["time"].values.astype("datetime64[M]")
    return months.astype("datetime64[ns]"), (months + np.timedelta64(1, "M")).astype("datetime64[ns]")


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------
def plot_occupancy(
    ds: xr.Dataset, territory: str, *, lang: str = "fr", persons: bool = True, scenario: str | None = None
) -> Figure:
    """Stacked areas of the persons (or households) in each non-exit state of one territory.

    Stocks are drawn at the end of each month, after the initial stock at the start of the run
    when the dataset has it. One area per non-exit state, in the pathway's order from the bottom;
    the legend lists them from the top, as stacked. Two panels, each on its own scale: the street
    and shelters above (the street's last value written at its end), housing below, so that a few
    hundred persons on the street are not lost under tens of thousands housed. A dataset with several scenarios shows
    ``scenario`` (default: the first); replicates are averaged (see :func:`_run`).
    """
    text = _check_lang(lang)
    ds, sub, territory_label, colours, labels = _run_view(ds, territory, scenario, lang)
    states = _non_exit_states(sub)

    var, initial = ("occupancy_persons", "initial_occupancy_persons") if persons else ("occupancy", "initial_occupancy")
    values = sub[var].sel(state=states).transpose("state", "time").values.astype(float)
    starts, ends = _month_bounds(sub)
    x = ends
    if initial in sub and len(starts):
        x = np.concatenate([starts[:1], ends])
        values = np.concatenate([sub[initial].sel(state=states).values.astype(float)[:, None], values], axis=1)

    kinds = dict(zip((str(v) for v in sub["state"].values), (str(k) for k in sub["state_kind"].values)))
    # Two panels with their own scales, so that the street (hundreds) is not lost under the
    # housed (tens of thousands): the street and shelters above, housing below.
    groups = [
        ("unhoused", [i for i, s in enumerate(states) if kinds.get(s) != "housing"]),
        ("housed", [i for i, s in enumerate(states) if kinds.get(s) == "housing"]),
    ]
    groups = [(key, rows) for key, rows in groups if rows]
    fig = _new_figure()
    axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0] if groups else [fig.add_subplot()]
    number = _number_formatter(lang)
    for ax, (key, rows) in zip(axes, groups):
        _style_axes(ax)
        group_states = [states[i] for i in rows]
        polys = ax.stackplot(
            x, values[rows], labels=[labels[s] for s in group_states], colors=[colours[s] for s in group_states],
            edgecolor="white", linewidth=0.6,
        )
        for poly, state in zip(polys, group_states):
            poly.set_gid(f"occupancy:{state}")
        handles, legend_labels = ax.get_legend_handles_labels()
        ax.legend(
            handles[::-1], legend_labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0),
            fontsize=LEGEND_SIZE - (1 if len(groups) > 1 else 0), frameon=False,
        )
        ax.set_title(text[f"occupancy_{key}"] if len(groups) > 1 else "", loc="left", fontsize=PANEL_TITLE_SIZE)
        ax.set_gid(f"occupancy_panel:{key}")
        ax.set_ylim(bottom=0)
        ax.margins(x=0)
        ax.yaxis.set_major_formatter(number)
        ax.set_ylabel(text["persons"] if persons else text["households"], fontsize=LABEL_SIZE)
        last = float(values[states.index("street"), -1]) if "street" in group_states and len(x) else math.nan
        if math.isfinite(last):
            ax.annotate(
                text["street_end"].format(n=number(round(last))), xy=(x[-1], last), xytext=(-8, 6), textcoords="offset points",
                ha="right", va="bottom", fontsize=TICK_SIZE, fontweight="bold", color=colours["street"], gid="street_end",
            )
    ax = axes[-1]
    if len(x):
        ax.set_xlim(x[0], x[-1])
    _format_time_axis(ax, sub.sizes["time"], lang, max_ticks=12)
    ax.set_xlabel(text["month_end"], fontsize=LABEL_SIZE)
    title = text["occupancy_title_persons" if persons else "occupancy_title_households"].format(territory=territory_label)
    fig.suptitle(title, fontsize=TITLE_SIZE, x=0.01, ha="left")
    _stamp(fig, ds, lang)
    return fig


def _grid(n: int) -> tuple[int, int]:
    if n <= 3:
        return 1, max(n, 1)
    if n == 4:
        return 2, 2
    ncols = 3 if n <= 9 else 4
    return math.ceil(n / ncols), ncols


def _panels(n: int) -> tuple[Figure, list[Axes], int]:
    """A figure with one panel per waiting list (at least one), room for a key when ``n`` > 0,
    unused grid cells removed; returns the figure, its panels and the number of columns."""
    fig = _new_figure(STAMP_BAND + KEY_BAND if n else STAMP_BAND)
    nrows, ncols = _grid(n)
    flat = list(fig.subplots(nrows, ncols, sharex=True, squeeze=False).flat)
    for ax in flat[max(n, 1):]:
        ax.remove()
    return fig, flat[: max(n, 1)], ncols


def _wait_limits(ax: Axes, x: np.ndarray, median: np.ndarray, p90: np.ndarray, run_p90: float, colour: str, lang: str) -> None:
    """Y range of a waits panel; a few extreme months (often the start-up months) go off scale.

    The bulk of the data is the upper quartile of the monthly p90 or the run-wide p90, whichever is
    larger. When the largest monthly value is over three times the bulk and at most a tenth of the
    months with entries lie above 1.3 times it, the axis stops there: the off-scale months are
    marked with a triangle on the top edge and the largest value is written beside them.
    """
    highest = np.fmax(np.nan_to_num(median, nan=-np.inf), np.nan_to_num(p90, nan=-np.inf))
    with_data = np.isfinite(highest)
    if not with_data.any():
        ax.set_ylim(0, 1)
        return
    peak = float(highest[with_data].max())
    finite_p90 = p90[np.isfinite(p90)]
    bulk = max(float(np.percentile(finite_p90, 75)) if finite_p90.size else 0.0, run_p90 if math.isfinite(run_p90) else 0.0)
    top = 1.3 * bulk
    off = highest > top
    if bulk <= 0 or peak <= 3 * bulk or off.sum() > max(1, 0.1 * with_data.sum()):
        ax.set_ylim(0, peak * 1.12 if peak > 0 else 1)
        return
    ax.set_ylim(0, top)
    ax.plot(x[off], np.full(off.sum(), top), linestyle="none", marker="^", markersize=8, color=colour, clip_on=False, zorder=5)
    # Write the largest value beside its run of off-scale months, on the side with more room.
    left, right = ax.get_xlim()
    i = int(np.argmax(highest))
    at_right = mdates.date2num(x[i]) > (left + right) / 2
    step = -1 if at_right else 1
    while 0 <= i + step < len(off) and off[i + step]:
        i += step
    unit = "j" if lang == "fr" else "d"
    ax.annotate(
        f"\u2191 {_format_days(peak, lang)} {unit}", xy=(x[i], top), xytext=(-12 if at_right else 12, -8),
        textcoords="offset points", ha="right" if at_right else "left", va="top", fontsize=TICK_SIZE - 1, color="0.2",
        gid="wait_off_scale",
    )


def plot_waits(ds: xr.Dataset, territory: str, *, lang: str = "fr", scenario: str | None = None) -> Figure:
    """Monthly waiting times (days) before entering each state with a waiting list, one panel each.

    A state is shown when it has a waiting list (``queue_length`` not all NaN) and somebody got
    through it during the run. Each panel draws the median wait of the households who entered in
    the month (line, plotted mid-month; missing where nobody entered) with a band up to the 90th
    percentile, and a dotted line at the run-wide median, whose legend gives the run-wide median
    and 90th percentile (``wait_days_run``). A few extreme months (typically the first ones, when the
    households present at the start get through with their whole wait behind them) may go off
    scale: they are marked on the top edge with the largest value written. Waiting lists nobody got
    through are named in a note at the bottom. With several scenarios, shows ``scenario`` (default:
    the first); with replicates, the median over replicates of each monthly statistic.
    """
    text = _check_lang(lang)
    ds, sub, territory_label, colours, labels = _run_view(ds, territory, scenario, lang)

    queued = [str(s) for s in sub["state"].values if not bool(sub["queue_length"].sel(state=s).isnull().all())]
    served = {s: float(sub["served"].sel(state=s).sum()) if "served" in sub else float(sub["wait_days"].sel(state=s).notnull().any()) for s in queued}
    shown = [s for s in queued if served[s] > 0]
    never = [s for s in queued if served[s] <= 0]

    starts, ends = _month_bounds(sub)
    mid = starts + (ends - starts) // 2

    fig, flat, ncols = _panels(len(shown))
    for i, ax in enumerate(flat):
        _style_axes(ax)
        if len(starts):
            ax.set_xlim(starts[0], ends[-1])
        _format_time_axis(ax, sub.sizes["time"], lang, max_ticks=max(4, 12 // ncols))
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        below = i + ncols
        if below >= len(shown) and len(shown):  # nothing underneath: show this panel's dates
            ax.xaxis.set_tick_params(labelbottom=True)

    if not shown:
        ax = flat[0]
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.text(0.5, 0.5, text["no_waits"], transform=ax.transAxes, ha="center", va="center", fontsize=LABEL_SIZE, color="0.3")

    for ax, state in zip(flat, shown):
        colour = colours[state]
        waits = sub["wait_days"].sel(state=state)
        median = waits.sel(statistic="median").values.astype(float)
        p90 = waits.sel(statistic="p90").values.astype(float)
        ax.fill_between(mid, median, p90, color=colour, alpha=0.25, linewidth=0, gid=f"wait_band:{state}")
        # Thin p90 edge with small marks so that isolated months (no entry before or after) still show.
        ax.plot(mid, p90, color=colour, linewidth=0.8, alpha=0.6, marker="_", markersize=6, gid=f"wait_p90:{state}")
        ax.plot(mid, median, color=colour, linewidth=2.2, marker="o", markersize=3.5, gid=f"wait_median:{state}")
        run = sub["wait_days_run"].sel(state=state)
        run_median, run_p90 = float(run.sel(statistic="median")), float(run.sel(statistic="p90"))
        summary = text["run_summary"].format(median=_format_days(run_median, lang), p90=_format_days(run_p90, lang))
        if math.isfinite(run_median):
            ax.axhline(run_median, color=colour, linestyle=":", linewidth=1.6, label=summary, gid=f"wait_run_median:{state}")
        else:
            ax.plot([], [], color=colour, linestyle=":", label=summary)
        _wait_limits(ax, mid, median, p90, run_p90, colour, lang)
        # The state's name and the run-wide note, as a legend above the panel (never over the data).
        legend = ax.legend(
            title=labels[state], loc="lower left", bbox_to_anchor=(0.0, 1.04), borderaxespad=0.0, borderpad=0.1,
            fontsize=LEGEND_SIZE - (1 if ncols > 2 else 0), title_fontsize=PANEL_TITLE_SIZE, alignment="left", frameon=False,
        )
        legend.set_gid(f"wait_legend:{state}")

    if shown:
        key = [
            Line2D([], [], color="0.25", linewidth=2.2, marker="o", markersize=3.5),
            Patch(facecolor="0.25", alpha=0.25, linewidth=0),
        ]
        fig.legend(key, [text["monthly_median"], text["median_p90_band"]], loc="lower center", bbox_to_anchor=(0.5, STAMP_BAND), ncols=2, fontsize=LEGEND_SIZE, frameon=False, borderaxespad=0.2)
        fig.supylabel(text["wait_days"], fontsize=LABEL_SIZE)
    fig.suptitle(text["waits_title"].format(territory=territory_label), fontsize=TITLE_SIZE, x=0.01, ha="left")
    if never:
        fig.text(0.005, 0.012, text["no_entry"].format(states=", ".join(labels[s] for s in never)), ha="left", va="bottom", fontsize=STAMP_SIZE + 1, color="0.2")
    _stamp(fig, ds, lang)
    return fig


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------
#: Months shown by default in the flow diagram: the last twelve of the run.
DEFAULT_FLOW_MONTHS = DEFAULT_PERIOD_MONTHS
_period_indices = period_indices



def _short_month(t: np.datetime64, lang: str) -> str:
    year, month = (int(p) for p in str(np.datetime64(t, "M")).split("-")[:2])
    return f"{_month_label(year, month, lang, 'MMM')} {year}"


# --------------------------------------------------------------------------------------------
# Flow diagram
# --------------------------------------------------------------------------------------------
def _spread(ys: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Label positions for wanted positions ``ys`` (top to bottom), at least ``gap`` apart.

    Crowded labels are gathered into blocks centred on the mean of their wanted positions (so they
    move as little as possible, up or down), then the blocks are kept within [low, high] where
    they fit.
    """
    blocks: list[list[float]] = []  # [wanted sum, count, top position]
    for y in ys:
        blocks.append([float(y), 1, float(y)])
        while len(blocks) > 1:
            upper, lower = blocks[-2], blocks[-1]
            if upper[2] - (upper[1] - 1) * gap - gap >= lower[2] - 1e-12:
                break
            total, count = upper[0] + lower[0], upper[1] + lower[1]
            blocks[-2:] = [[total, count, total / count + (count - 1) * gap / 2]]
    out = [top - k * gap for _, count, top in blocks for k in range(int(count))]
    if out and out[0] > high:  # push down from the top what overlaps, then up from the bottom
        out[0] = high
        for i in range(1, len(out)):
            out[i] = min(out[i], out[i - 1] - gap)
    if out and out[-1] < low:
        out[-1] = low
        for i in range(len(out) - 2, -1, -1):
            out[i] = max(out[i], out[i + 1] + gap)
    return out


def _text_height(fig: Figure, ax_height_share: float, fontsize: float) -> float:
    """Height of a line of text of ``fontsize`` points, in axes units of an axes of the given share of the figure."""
    return fontsize * 1.25 / 72 / (fig.get_figheight() * ax_height_share)


#: Free margin on each side of a flow diagram, as a share of the figure's width.
FLOW_MARGIN = 0.035


def _flow_columns(
    fig: Figure, ax: Axes, left_labels: Sequence[str], right_labels: Sequence[str], width: float, fontsize: float
) -> tuple[float, float, float]:
    """Positions (axes fraction) of the two bar columns of a flow diagram and the label font size,
    so that the longest label of each side ends :data:`FLOW_MARGIN` inside the figure; the font
    shrinks (down to 9 points) when the labels would leave the bands too little room."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # attached by _new_figure
    renderer = canvas.get_renderer()
    fig.draw_without_rendering()  # lay the axes out first
    box = ax.get_position()

    def widest(labels: Sequence[str], size: float) -> float:
        most = 0.0
        for label in labels:
            t = fig.text(0, 0, label, fontsize=size)
            most = max(most, t.get_window_extent(renderer).width / fig.bbox.width)
            t.remove()
        return most / max(box.width, 1e-6)  # in axes fraction

    pad = 0.012 + FLOW_MARGIN / max(box.width, 1e-6)
    left_edge = -box.x0 / max(box.width, 1e-6)  # the figure's edges in axes fraction
    right_edge = (1 - box.x0) / max(box.width, 1e-6)
    while True:
        x_left = left_edge + widest(left_labels, fontsize) + pad + width
        x_right = right_edge - widest(right_labels, fontsize) - pad - width
        if x_right - x_left >= 0.3 or fontsize <= 9:
            return max(x_left, 0.12), min(x_right, 0.88), fontsize
        fontsize -= 1


def plot_flows(
    ds: xr.Dataset, territory: str, *, lang: str = "fr", scenario: str | None = None, period: Period = None
) -> Figure:
    """Where households come from and go to: households moved between states over a period.

    A two-column flow diagram (Sankey / alluvial style): each state households left is a bar on the
    left, each state they arrived in (exits included) a bar on the right, and a band joins them,
    as wide as the number of households that made that move during the period, in the colour of
    the state of departure. ``period`` is ``(first, last)`` months (``"2027-01"``), a number of last
    months, or ``"YYYY-MM:YYYY-MM"``; by default the last twelve months of the run. Arrivals into the
    system (whose first state the dataset does not record) are given in a note.
    """
    text = _check_lang(lang)
    ds, sub, territory_label, colours, labels = _run_view(ds, territory, scenario, lang)
    states = [str(s) for s in sub["state"].values]
    order = {s: i for i, s in enumerate(states)}
    first, last = _period_indices(sub, period)
    moved = sub["flow"].isel(time=slice(first, last + 1)).sum("time")
    pairs: dict[tuple[str, str], float] = {}
    for key, origin, target in zip(sub["transition"].values, sub["transition_source"].values, sub["transition_target"].values):
        value = float(moved.sel(transition=key))
        if value > 0:
            pair = (str(origin), str(target))
            pairs[pair] = pairs.get(pair, 0.0) + value
    left = [s for s in states if any(o == s for o, _ in pairs)]
    right = [s for s in states if any(t == s for _, t in pairs)]
    out_total = {s: sum(v for (o, _), v in pairs.items() if o == s) for s in left}
    in_total = {s: sum(v for (_, t), v in pairs.items() if t == s) for s in right}
    total = sum(pairs.values())
    number = _number_formatter(lang)

    fig = _new_figure()
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    months = last - first + 1
    start_name, end_name = _short_month(sub["time"].values[first], lang), _short_month(sub["time"].values[last], lang)
    fig.suptitle(text["flows_title"].format(territory=territory_label), fontsize=TITLE_SIZE, x=0.01, ha="left")
    ax.set_title(
        text["flows_subtitle"].format(total=number(round(total)), start=start_name, end=end_name, months=months),
        fontsize=LABEL_SIZE, loc="left", color="0.25",
    )
    width = 0.018
    top, bottom, gap = 0.93, 0.0, 0.012
    fontsize: float = LEGEND_SIZE
    left_labels = [f"{labels[s]}  {number(round(out_total[s]))}" for s in left]
    right_labels = [f"{labels[s]}  {number(round(in_total[s]))}" for s in right]
    x_left, x_right, fontsize = _flow_columns(fig, ax, left_labels, right_labels, width, fontsize)
    if not pairs:
        ax.text(0.5, 0.5, text["flows_none"], ha="center", va="center", fontsize=LABEL_SIZE, color="0.3")
    else:
        scale = (top - bottom - gap * (max(len(left), len(right)) - 1)) / total

        def place(nodes: list[str], totals: dict[str, float]) -> dict[str, tuple[float, float]]:
            used = sum(totals[s] * scale for s in nodes) + gap * (len(nodes) - 1)
            y = top - (top - bottom - used) / 2
            out = {}
            for s in nodes:
                h = totals[s] * scale
                out[s] = (y, h)
                y -= h + gap
            return out

        lpos, rpos = place(left, out_total), place(right, in_total)
        for side, pos, x0 in (("origin", lpos, x_left - width), ("target", rpos, x_right)):
            for s, (y, h) in pos.items():
                ax.add_patch(Rectangle((x0, y - h), width, max(h, 0.0015), facecolor=colours[s], edgecolor="none", gid=f"flow_{side}:{s}"))
        # Bands: leave each origin in the order of the targets, reach each target in the order of the origins.
        out_cursor = {s: lpos[s][0] for s in left}
        in_top: dict[tuple[str, str], float] = {}
        for target in right:
            y = rpos[target][0]
            for origin in sorted((o for o, t in pairs if t == target), key=order.__getitem__):
                in_top[(origin, target)] = y
                y -= pairs[(origin, target)] * scale
        mid = (x_left + x_right) / 2
        for (origin, target), value in sorted(pairs.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]])):
            h = value * scale
            y0 = out_cursor[origin]
            out_cursor[origin] -= h
            y1 = in_top[(origin, target)]
            vertices = [
                (x_left, y0), (mid, y0), (mid, y1), (x_right, y1),
                (x_right, y1 - h), (mid, y1 - h), (mid, y0 - h), (x_left, y0 - h), (x_left, y0),
            ]
            codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4,
                     MplPath.LINETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
            ax.add_patch(PathPatch(MplPath(vertices, codes), facecolor=colours[origin], alpha=0.42, edgecolor="none", gid=f"flow:{origin}->{target}"))
        # Labels beside the bars, spread apart where small bars crowd them; a thin line joins a moved label to its bar.
        line = _text_height(fig, 0.80, fontsize)
        for pos, totals, x_bar, x_text, ha, gid in (
            (lpos, out_total, x_left - width, x_left - width - 0.012, "right", "flow_label_origin"),
            (rpos, in_total, x_right + width, x_right + width + 0.012, "left", "flow_label_target"),
        ):
            nodes = list(pos)
            centres = [pos[s][0] - pos[s][1] / 2 for s in nodes]
            ys = _spread(centres, line, bottom + line / 2, top)
            for s, yc, yl in zip(nodes, centres, ys):
                ax.text(x_text, yl, f"{labels[s]}  {number(round(totals[s]))}", ha=ha, va="center", fontsize=fontsize, gid=f"{gid}:{s}", in_layout=False)
                if abs(yl - yc) > line / 4:
                    ax.plot([x_bar, (x_bar + x_text) / 2, x_text], [yc, yl, yl], color="0.55", linewidth=0.7)
        ax.text(x_left - width / 2, top + 0.035, text["flows_from"], ha="center", va="bottom", fontsize=LABEL_SIZE, fontweight="bold", color="0.2")
        ax.text(x_right + width / 2, top + 0.035, text["flows_to"], ha="center", va="bottom", fontsize=LABEL_SIZE, fontweight="bold", color="0.2")
    if "entries" in sub:
        arrivals = float(sub["entries"].isel(time=slice(first, last + 1)).sum())
        fig.text(0.005, 0.012, text["flows_entries"].format(n=number(round(arrivals))), ha="left", va="bottom", fontsize=STAMP_SIZE + 1, color="0.2")
    _stamp(fig, ds, lang)
    return fig


# --------------------------------------------------------------------------------------------
# Waiting-time distribution
# --------------------------------------------------------------------------------------------
#: Lower edges (days) of the waiting-time classes of the distribution chart: under a week, a week
#: to a month, 1-3, 3-6, 6-12 months, 1-2 years, 2 years or more. They fall on edges of
#: :data:`lda_sim.engine.recorder.WAIT_BIN_EDGES`, so each histogram bin belongs to one class.
WAIT_CLASSES = (0.0, 7.0, 30.0, 90.0, 180.0, 365.0, 730.0)
#: Most years shown side by side in the distribution chart (evenly spaced, first and last included).
MAX_YEARS = 4


def wait_classes(hist: xr.DataArray) -> xr.DataArray:
    """A waiting-time histogram regrouped into the classes of :data:`WAIT_CLASSES` (dimension ``wait_class``)."""
    lower = hist["wait_bin"].values.astype(float)
    cls = np.searchsorted(np.asarray(WAIT_CLASSES), lower, side="right") - 1
    grouped = hist.assign_coords(wait_class=("wait_bin", np.asarray(WAIT_CLASSES)[cls])).groupby("wait_class").sum("wait_bin")
    return grouped.reindex(wait_class=list(WAIT_CLASSES), fill_value=0)


def _years(ds: xr.Dataset, most: int = MAX_YEARS) -> list[tuple[int, np.ndarray]]:
    """Calendar years of the run (at most ``most``, evenly spaced with the first and last), with their month masks."""
    years = ds["time"].values.astype("datetime64[Y]").astype(int) + 1970
    unique = sorted(set(int(y) for y in years))
    if len(unique) > most:
        unique = [unique[i] for i in sorted(set(np.round(np.linspace(0, len(unique) - 1, most)).astype(int)))]
    return [(y, years == y) for y in unique]


def _blend(colour: str, white: float) -> tuple[float, float, float]:
    r, g, b = to_rgb(colour)
    return (r + (1 - r) * white, g + (1 - g) * white, b + (1 - b) * white)


def _percent_formatter(lang: str) -> FuncFormatter:
    return FuncFormatter(lambda x, _pos=None: f"{x:.0f}\u202f%" if lang == "fr" else f"{x:.0f}%")


def plot_wait_distribution(ds: xr.Dataset, territory: str, *, lang: str = "fr", scenario: str | None = None) -> Figure:
    """How long households waited before entering each state with a waiting list, year by year.

    One panel per state somebody got through (from ``wait_histogram``), with bars for the share of
    the households served in the year that waited less than a week, a week to a month, ... two
    years or more; the years of the run side by side (at most four: the first, the last and evenly
    spaced ones between), lighter for earlier years. A partial year says how many months it holds.
    """
    text = _check_lang(lang)
    ds, sub, territory_label, colours, labels = _run_view(ds, territory, scenario, lang)
    number = _number_formatter(lang)
    hist = wait_classes(sub["wait_histogram"]).transpose("state", "time", "wait_class")
    served = hist.sum(("time", "wait_class"))
    shown = [str(s) for s in sub["state"].values if float(served.sel(state=s)) > 0]
    years = _years(sub)
    bins = text["wait_bins"].split("|")

    fig, flat, ncols = _panels(len(shown))
    if not shown:
        ax = flat[0]
        ax.set_axis_off()
        ax.text(0.5, 0.5, text["wait_dist_none"], transform=ax.transAxes, ha="center", va="center", fontsize=LABEL_SIZE, color="0.3")
    n_years = len(years)
    width = 0.8 / max(n_years, 1)
    x = np.arange(len(WAIT_CLASSES))
    shades = [0.72 * (1 - j / (n_years - 1)) if n_years > 1 else 0.0 for j in range(n_years)]
    for i, (ax, state) in enumerate(zip(flat, shown)):
        _style_axes(ax)
        colour = colours[state]
        counts = hist.sel(state=state)
        for j, (year, mask) in enumerate(years):
            year_counts = counts.isel(time=np.flatnonzero(mask)).sum("time").values.astype(float)
            share = 100 * year_counts / year_counts.sum() if year_counts.sum() > 0 else np.zeros_like(year_counts)
            ax.bar(
                x - 0.4 + width * (j + 0.5), share, width=width * 0.92, color=_blend(colour, shades[j]),
                edgecolor=colour, linewidth=0.6, gid=f"wait_dist:{state}:{year}",
            )
        ax.set_title(
            text["wait_dist_panel"].format(state=labels[state], n=number(round(float(served.sel(state=state))))),
            loc="left", fontsize=PANEL_TITLE_SIZE - (2 if ncols > 2 else 0),
        )
        ax.yaxis.set_major_formatter(_percent_formatter(lang))
        ax.set_ylim(0, None)
        ax.set_xticks(x, bins, fontsize=TICK_SIZE - (2 if ncols > 2 else 0))
        ax.tick_params(axis="x", length=0)
        if i + ncols >= len(shown):
            ax.xaxis.set_tick_params(labelbottom=True)
    if shown:
        months_in = [int(mask.sum()) for _, mask in years]
        key = [Patch(facecolor=_blend("#444444", shades[j]), edgecolor="#444444", linewidth=0.6) for j in range(n_years)]
        names = [
            text["wait_dist_year" if m == 12 else "wait_dist_partial"].format(year=y, months=m) for (y, _), m in zip(years, months_in)
        ]
        fig.legend(key, names, loc="lower center", bbox_to_anchor=(0.5, STAMP_BAND), ncols=len(key), fontsize=LEGEND_SIZE, frameon=False, borderaxespad=0.2)
        fig.supylabel(text["wait_dist_share"], fontsize=LABEL_SIZE)
    fig.suptitle(text["wait_dist_title"].format(territory=territory_label), fontsize=TITLE_SIZE, x=0.01, ha="left")
    _stamp(fig, ds, lang)
    return fig


# --------------------------------------------------------------------------------------------
# Indicators, scenarios and replicates
# --------------------------------------------------------------------------------------------
#: Colours and line styles of scenarios, in the order of the dataset's ``scenario`` dimension: the
#: baseline in near-black, then the Okabe-Ito colours (colour-blind-safe), each with its own dash.
SCENARIO_COLOURS: tuple[str, ...] = ("#222222", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#F0E442")
SCENARIO_STYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 1)), (0, (3, 1, 3, 3)))


def scenario_style(index: int) -> tuple[str, Any]:
    """Colour and line style of the ``index``-th scenario of a dataset."""
    return SCENARIO_COLOURS[index % len(SCENARIO_COLOURS)], SCENARIO_STYLES[index % len(SCENARIO_STYLES)]


def _ind_street(ds: xr.Dataset) -> xr.DataArray:
    return persons_in(ds, "street")


def _ind_sheltered(ds: xr.Dataset) -> xr.DataArray:
    return persons_in(ds, "shelter")


def _ind_housed(ds: xr.Dataset) -> xr.DataArray:
    return housed_flow(ds).cumsum("time")


def _ind_wait_housing(ds: xr.Dataset) -> xr.DataArray:
    return pooled_wait_quantile(ds, "housing", q=0.5)


def _ind_cost(ds: xr.Dataset) -> xr.DataArray:
    total = total_cost(ds)
    if total is None:
        raise ValueError("the dataset has no 'cost' variable")
    return total / 1e6


#: Indicators the comparison and small-multiple charts can show: label key and function of the
#: dataset returning a DataArray by territory and time (and scenario, replicate if present).
INDICATORS: Mapping[str, tuple[str, Any]] = MappingProxyType(
    {
        "street": ("ind_street", _ind_street),
        "sheltered": ("ind_sheltered", _ind_sheltered),
        "housed": ("ind_housed", _ind_housed),
        "wait_housing": ("ind_wait_housing", _ind_wait_housing),
        "cost": ("ind_cost", _ind_cost),
    }
)
#: Indicators of the small multiples, in row order.
KEY_INDICATORS = ("street", "sheltered", "housed", "wait_housing")


def indicator(ds: xr.Dataset, name: str) -> xr.DataArray:
    """The values of indicator ``name`` (see :data:`INDICATORS`) by territory and month."""
    if name not in INDICATORS:
        raise ValueError(f"unknown indicator {name!r} (known: {', '.join(INDICATORS)})")
    return INDICATORS[name][1](ds)


def _draw_scenarios(ax: Axes, da: xr.DataArray, x: np.ndarray, names: Sequence[str], gid: str) -> list[tuple[str, float]]:
    """One line per scenario (median over replicates) with its 10th-90th percentile band; returns the last values."""
    ends = []
    for i, name in enumerate(names):
        one = da.sel(scenario=name) if "scenario" in da.dims else da
        median, low, high = (a.transpose("time").values.astype(float) for a in replicate_band(one))
        colour, style = scenario_style(i)
        if "replicate" in one.dims:
            ax.fill_between(x, low, high, color=colour, alpha=0.16, linewidth=0, gid=f"{gid}_band:{name}")
        ax.plot(x, median, color=colour, linestyle=style, linewidth=2.6 if i == 0 else 2.1, gid=f"{gid}:{name}")
        finite = np.flatnonzero(np.isfinite(median))
        ends.append((name, float(median[finite[-1]]) if finite.size else math.nan))
    return ends


def _scenario_key(
    fig: Figure, da: xr.DataArray, names: Sequence[str], text: Mapping[str, str], y: float = STAMP_BAND,
    extra: Sequence[tuple[Any, str]] = (),
) -> None:
    handles: list[Any] = []
    for i, _ in enumerate(names):
        colour, style = scenario_style(i)
        handles.append(Line2D([], [], color=colour, linestyle=style, linewidth=2.6 if i == 0 else 2.1))
    key = list(names)
    if "replicate" in da.dims:
        handles.append(Patch(facecolor="0.3", alpha=0.2, linewidth=0))
        key.append(text["band"].format(n=da.sizes["replicate"]))
    for handle, label in extra:
        handles.append(handle)
        key.append(label)
    ncols = min(len(handles), 5)
    rows = -(-len(handles) // ncols)
    fig.legend(handles, key, loc="lower center", bbox_to_anchor=(0.5, y), ncols=ncols, fontsize=LEGEND_SIZE, frameon=False, borderaxespad=0.2)
    if rows > 1:  # keep the axes (and their tick labels) above every row of the key
        bottom = y + KEY_BAND * rows
        engine = fig.get_layout_engine()
        assert isinstance(engine, ConstrainedLayoutEngine)  # figures of _new_figure
        engine.set(rect=(0, bottom, 1, 1 - bottom))


def _label_ends(ax: Axes, ends: list[tuple[str, float]], lang: str, baseline_delta: bool) -> None:
    """Write each scenario's last value at the right end of its line, spread apart, with the
    difference to the baseline (the first scenario) when there are several."""
    number = _number_formatter(lang)
    lo, hi = ax.get_ylim()
    finite = [(i, name, v) for i, (name, v) in enumerate(ends) if math.isfinite(v)]
    if not finite or hi <= lo:
        return
    finite.sort(key=lambda item: -item[2])
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    line = _text_height(fig, max(ax.get_position().height * 0.8, 0.05), TICK_SIZE - 1)
    ys = _spread([(v - lo) / (hi - lo) for _, _, v in finite], line, 0.0, 1.0)
    base = ends[0][1]
    for (i, name, value), y in zip(finite, ys):
        label = number(round(value)) if abs(value) >= 100 else number(round(value, 1))
        if baseline_delta and i > 0 and math.isfinite(base):
            delta = value - base
            label += f" ({'+' if delta > 0 else ''}{number(round(delta)) if abs(delta) >= 100 else number(round(delta, 1))})"
        ax.annotate(
            label, xy=(1.0, y), xycoords="axes fraction", xytext=(6, 0), textcoords="offset points",
            ha="left", va="center", fontsize=TICK_SIZE - 1, color=scenario_style(i)[0], gid=f"end_value:{name}",
            annotation_clip=False,
        )


def _month_ends(ds: xr.Dataset) -> np.ndarray:
    return _month_bounds(ds)[1]


def _territory_labels(ds: xr.Dataset) -> dict[str, str]:
    names = [str(t) for t in ds["territory"].values]
    if "territory_label" not in ds.coords:
        return dict(zip(names, names))
    return {n: str(label) or n for n, label in zip(names, np.ravel(ds["territory_label"].values))}


def _check_territories(ds: xr.Dataset, territories: Sequence[str] | None) -> list[str]:
    names = [str(t) for t in ds["territory"].values]
    if territories is None:
        return names
    unknown = [t for t in territories if str(t) not in names]
    if unknown:
        raise KeyError(f"territory {unknown[0]!r} is not in the dataset (territories: {', '.join(names)})")
    return [str(t) for t in territories]


def _selected_territories(ds: xr.Dataset, territories: Sequence[str] | None) -> list[str]:
    """The territories of ``ds`` named in ``territories``, in that order, each once (all when None);
    a ValueError names an unknown one and lists those of ``ds``."""
    try:
        return list(dict.fromkeys(_check_territories(ds, territories)))
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None


def plot_scenarios(
    ds: xr.Dataset, indicator_name: str = "street", *, lang: str = "fr", territories: Sequence[str] | None = None
) -> Figure:
    """One indicator over time for every scenario of the dataset, one panel per territory.

    One line per scenario (the median over replicates when there are several, with the band from
    the 10th to the 90th percentile); the value at the horizon is written at the end of each line,
    with its difference to the baseline (the first scenario).
    """
    text = _check_lang(lang)
    terrs = _check_territories(ds, territories)
    label_key, _ = INDICATORS[indicator_name] if indicator_name in INDICATORS else (None, None)
    da = indicator(ds, indicator_name)
    assert label_key is not None  # indicator() accepts only the names of INDICATORS
    names = scenario_names(ds)
    tlabels = _territory_labels(ds)
    x = _month_ends(ds)

    fig = _new_figure(STAMP_BAND + KEY_BAND)
    nrows, ncols = _grid(len(terrs))
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    flat = list(axes.flat)
    for ax in flat[len(terrs):]:
        ax.remove()
    for i, (ax, territory) in enumerate(zip(flat, terrs)):
        _style_axes(ax)
        ends = _draw_scenarios(ax, da.sel(territory=territory), x, names, gid="scenario")
        ax.set_title(tlabels[territory], loc="left", fontsize=PANEL_TITLE_SIZE)
        ax.set_xlim(x[0] if len(x) else None, x[-1] if len(x) else None)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        _format_time_axis(ax, ds.sizes["time"], lang, max_ticks=max(4, 12 // ncols))
        if i + ncols >= len(terrs):
            ax.xaxis.set_tick_params(labelbottom=True)
        _label_ends(ax, ends, lang, baseline_delta=len(names) > 1)
    _scenario_key(fig, da, names, text)
    fig.suptitle(text["compare_title"].format(indicator=text[label_key]), fontsize=TITLE_SIZE, x=0.01, ha="left")
    _stamp(fig, ds, lang)
    return fig


def _per_scenario(da: xr.DataArray, name: str) -> xr.DataArray:
    one = da.sel(scenario=name) if "scenario" in da.dims else da
    return one.median("replicate") if "replicate" in one.dims else one


def _draw_shelter_places(ax: Axes, ds: xr.Dataset, territory: str, x: np.ndarray, names: Sequence[str], text: Mapping[str, str], lang: str) -> None:
    """Shelter places of each scenario (grey dotted), and "full" when the persons sheltered fill them."""
    shelters = [str(s) for s, k in zip(ds["state"].values, ds["state_kind"].values) if k == "shelter"]
    if not shelters or "capacity" not in ds:
        return
    places = ds["capacity"].sel(state=shelters, territory=territory).sum("state")
    sheltered = persons_in(ds, "shelter").sel(territory=territory)
    for i, name in enumerate(names):
        series = _per_scenario(places, name).transpose("time").values.astype(float)
        ax.plot(x, series, color="0.45", linestyle=":", linewidth=1.6, gid=f"shelter_places:{name}")
        if i == 0 and len(series) and series[-1] > 0:
            last = float(_per_scenario(sheltered, name).isel(time=-1))
            if last >= 0.99 * series[-1]:
                ax.annotate(
                    text["shelter_full"].format(places=_number_formatter(lang)(round(series[-1]))), xy=(0.02, 0.08), xycoords="axes fraction",
                    ha="left", va="bottom", fontsize=TICK_SIZE - 2, color="0.3", gid="shelter_full",
                )


def _draw_run_median(ax: Axes, ds: xr.Dataset, territory: str, names: Sequence[str], text: Mapping[str, str]) -> None:
    """The median wait before housing over the whole run (``wait_days_by_kind``), dotted."""
    if "wait_days_by_kind" not in ds:
        return
    run = ds["wait_days_by_kind"].sel(state_group="housing", statistic="median", territory=territory)
    for i, name in enumerate(names):
        value = float(_per_scenario(run, name))
        if math.isfinite(value):
            ax.axhline(value, color=scenario_style(i)[0], linestyle=":", linewidth=1.4, gid=f"wait_run:{name}")


def plot_indicators(
    ds: xr.Dataset, *, lang: str = "fr", territories: Sequence[str] | None = None,
    indicators: Sequence[str] = KEY_INDICATORS, part: tuple[int, int] | None = None,
) -> Figure:
    """Key indicators by territory as small multiples: a column per territory, a row per indicator.

    Persons on the street and in shelters (end of month), households housed since the start, and
    the median wait before housing of the month's entries; one line per scenario, with replicate
    bands. A single territory gets a 2 x 2 grid. ``part`` ``(k, n)`` numbers the figure when the
    territories are split over several.
    """
    text = _check_lang(lang)
    terrs = _check_territories(ds, territories)
    names = scenario_names(ds)
    tlabels = _territory_labels(ds)
    values = {name: indicator(ds, name) for name in indicators}
    x = _month_ends(ds)

    fig = _new_figure(STAMP_BAND + KEY_BAND)
    subfigs = fig.subfigures(1, len(terrs), squeeze=False, wspace=0.02)[0]
    for sf, territory in zip(subfigs, terrs):
        if len(terrs) == 1 and len(indicators) == 4:
            axes = list(sf.subplots(2, 2, sharex=True).flat)
            bottom_row = axes[2:]
        else:
            axes = list(sf.subplots(len(indicators), 1, sharex=True, squeeze=False).flat)
            bottom_row = axes[-1:]
        sf.suptitle(tlabels[territory], fontsize=PANEL_TITLE_SIZE + 1, fontweight="bold", x=0.02, ha="left")
        for ax, name in zip(axes, indicators):
            _style_axes(ax)
            ends = _draw_scenarios(ax, values[name].sel(territory=territory), x, names, gid=f"indicator_{name}")
            ax.set_title(text[INDICATORS[name][0]], loc="left", fontsize=TICK_SIZE)
            if len(x):
                ax.set_xlim(x[0], x[-1])
            ax.set_ylim(bottom=0)
            ax.yaxis.set_major_formatter(_number_formatter(lang))
            ax.tick_params(labelsize=TICK_SIZE - 2)
            _format_time_axis(ax, ds.sizes["time"], lang, max_ticks=4 if len(terrs) > 1 else 6)
            if ax in bottom_row:
                ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_gid(f"indicator:{territory}:{name}")
            if name == "sheltered":
                _draw_shelter_places(ax, ds, territory, x, names, text, lang)
            elif name == "wait_housing":
                _draw_run_median(ax, ds, territory, names, text)
            _label_ends(ax, ends, lang, baseline_delta=False)
    first = next(iter(values.values()))
    extra = []
    if "sheltered" in indicators and "capacity" in ds:
        extra.append((Line2D([], [], color="0.45", linestyle=":", linewidth=1.6), text["ind_places"]))
    if "wait_housing" in indicators and "wait_days_by_kind" in ds:
        extra.append((Line2D([], [], color="0.2", linestyle=":", linewidth=1.4), text["ind_wait_run"]))
    _scenario_key(fig, first, names, text, extra=extra)
    title = text["indicators_title"] if not part or part[1] == 1 else text["indicators_title_part"].format(part=part[0], parts=part[1])
    fig.suptitle(title, fontsize=TITLE_SIZE, x=0.01, ha="left")
    _stamp(fig, ds, lang)
    return fig


# --------------------------------------------------------------------------------------------
# Capacity pipeline
# --------------------------------------------------------------------------------------------
def _capacity_table(
    ax: Axes, sub: xr.Dataset, states: list[str], start: dict[str, float], end: dict[str, float], first_month: str,
    last_month: str, colours: dict[str, str], labels: dict[str, str], lang: str, compact: bool,
) -> None:
    """Capacities at the start and at the end, and their change, as a table drawn in ``ax``
    (capacities of different states differ by orders of magnitude: numbers read better than bars)."""
    text = LABELS[lang]
    number = _number_formatter(lang)
    kinds = dict(zip((str(s) for s in sub["state"].values), (str(k) for k in sub["state_kind"].values))) if "state_kind" in sub.coords else {}
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    cols = (0.59, 0.75, 1.0) if compact else (0.55, 0.70, 0.86)
    row = min(0.085, 0.95 / (len(states) + 1))
    size = TICK_SIZE - (1 if compact else 0)
    y = 0.97
    for x, header in zip(cols, (first_month.replace(" ", "\n"), last_month.replace(" ", "\n"), text["capacity_col_change"])):
        ax.text(x, y, header, ha="right", va="center", fontsize=size, fontweight="bold", color="0.25", linespacing=1.1)
    ax.text(0.045, y, text["state"], ha="left", va="center", fontsize=size, fontweight="bold", color="0.25")
    ax.plot([0, cols[-1]], [y - row * 0.6] * 2, color="0.6", linewidth=0.8)
    y -= row * 0.1
    for s in states:
        y -= row
        ax.add_patch(Rectangle((0.0, y - row * 0.25), 0.028, row * 0.5, facecolor=colours[s], edgecolor="none", gid=f"capacity_row:{s}"))
        unit = text["unit_places"] if kinds.get(s) == "shelter" else text["unit_units"]
        ax.text(0.045, y, labels[s], ha="left", va="center", fontsize=size)
        delta = end[s] - start[s]
        change = "=" if delta == 0 else f"{'+' if delta > 0 else ''}{number(round(delta))}"
        if delta and start[s]:
            share = 100 * delta / start[s]
            pct = f"{'+' if delta > 0 else ''}{number(round(share) if abs(share) >= 10 else round(share, 1))}"
            change += f" ({pct}\u202f%)" if lang == "fr" else f" ({pct}%)"
        for x, value in zip(cols, (number(round(start[s])), number(round(end[s])), change)):
            ax.text(x, y, value, ha="right", va="center", fontsize=size, fontweight="bold" if x == cols[-1] and delta else "normal")
        ax.text(cols[1] + 0.005, y, unit, ha="left", va="center", fontsize=size - 3, color="0.4") if not compact else None
    ax.plot([0, cols[-1]], [y - row * 0.5] * 2, color="0.6", linewidth=0.8)


def plot_capacity(ds: xr.Dataset, territory: str, *, lang: str = "fr", scenario: str | None = None) -> Figure:
    """Capacity of each state with a limited capacity: its changes over time and its levels.

    Left, the change of capacity since the end of the first month, per state (a step per month:
    deliveries of new housing, IML units captured or lost, shelter places transformed show as
    steps up or down); states whose capacity never changes are listed under it. Right, each
    state's capacity at the end of the first and of the last month. Places for shelters, units for
    housing (``capacity``).
    """
    text = _check_lang(lang)
    ds, sub, territory_label, colours, labels = _run_view(ds, territory, scenario, lang)
    number = _number_formatter(lang)
    cap = sub["capacity"].transpose("state", "time")
    states = [str(s) for s in sub["state"].values if bool(cap.sel(state=s).notnull().any())]
    x = _month_ends(sub)
    if not states or not len(x):
        fig = _new_figure()
        fig.suptitle(text["capacity_title"].format(territory=territory_label), fontsize=TITLE_SIZE, x=0.01, ha="left")
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, text["capacity_none"], ha="center", va="center", fontsize=LABEL_SIZE, color="0.3")
        _stamp(fig, ds, lang)
        return fig
    values = {s: cap.sel(state=s).values.astype(float) for s in states}
    start = {s: float(v[np.isfinite(v)][0]) for s, v in values.items()}
    end = {s: float(v[np.isfinite(v)][-1]) for s, v in values.items()}
    changed = [s for s in states if np.nanmax(np.abs(values[s] - start[s])) > 0]
    first_month, last_month = _short_month(sub["time"].values[0], lang), _short_month(sub["time"].values[-1], lang)

    fig = _new_figure()
    fig.suptitle(text["capacity_title"].format(territory=territory_label), fontsize=TITLE_SIZE, x=0.01, ha="left")
    if changed:
        change_ax, level_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        _style_axes(change_ax)
        change_ax.axhline(0, color="0.4", linewidth=1)
        for s in changed:
            delta = end[s] - start[s]
            change_ax.plot(
                x, values[s] - start[s], drawstyle="steps-post", color=colours[s], linewidth=2.4, gid=f"capacity_change:{s}",
                label=f"{labels[s]} ({'+' if delta > 0 else ''}{number(round(delta))})",
            )
        change_ax.set_xlim(x[0], x[-1])
        _format_time_axis(change_ax, sub.sizes["time"], lang, max_ticks=8)
        change_ax.yaxis.set_major_formatter(_number_formatter(lang))
        change_ax.set_title(text["capacity_change"].format(start=first_month), loc="left", fontsize=PANEL_TITLE_SIZE)
        change_ax.set_ylabel(text["capacity_unit"], fontsize=LABEL_SIZE)
        change_ax.legend(loc="best", fontsize=LEGEND_SIZE - 1, frameon=False)
    else:
        level_ax = fig.add_subplot()
    level_title = text["capacity_levels"].format(start=first_month, end=last_month)
    if not changed:
        level_title += " · " + text["capacity_nochange"]
    _capacity_table(level_ax, sub, states, start, end, first_month, last_month, colours, labels, lang, compact=bool(changed))
    level_ax.set_title(level_title, loc="left", fontsize=PANEL_TITLE_SIZE)
    _stamp(fig, ds, lang)
    return fig


# --------------------------------------------------------------------------------------------
# Cost
# --------------------------------------------------------------------------------------------
SUPPORT_COLOUR = "#DDDDDD"


def has_cost(ds: xr.Dataset) -> bool:
    """Whether the dataset has costs to show: a ``cost`` variable that is not all zero or missing."""
    if "cost" not in ds:
        return False
    total = total_cost(ds)
    return bool(total is not None and (np.abs(total.fillna(0)) > 0).any())


def _money(value: float, lang: str) -> str:
    """Millions of euros: whole from 100, else one decimal; thousands separated as in ``lang``."""
    number = _number_formatter(lang)
    return number(round(value)) if abs(value) >= 100 else number(round(value, 1))


def _wrap_name(name: str, width: int = 12) -> str:
    """A scenario name broken over lines at its spaces, hyphens or underscores, so that the names
    of neighbouring bars do not run into one string."""
    parts = re.split(r"(?<=[-_ ])", str(name))
    lines, line = [], ""
    for part in parts:
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    lines.append(line)
    return "\n".join(x.strip() for x in lines)


def plot_cost(ds: xr.Dataset, territory: str, *, lang: str = "fr") -> Figure:
    """Cost by state and scenario in one territory (needs the ``cost`` variable).

    Left, the total cost over the run for each scenario, stacked by state (state colours), with
    the support cost (``support_cost``) on top when the dataset has it, averaged over replicates.
    Right, the monthly cost of each scenario over time, with replicate bands. Raises ``ValueError``
    when the dataset has no ``cost``.
    """
    text = _check_lang(lang)
    if not has_cost(ds):
        raise ValueError(LABELS["en"]["cost_missing"])
    terrs = _check_territories(ds, [territory])
    sub = ds.sel(territory=terrs[0])
    territory_label = _territory_labels(ds)[terrs[0]]
    colours = state_colours(str(s) for s in ds["state"].values)
    labels = _state_labels(sub, lang)
    names = scenario_names(ds)
    x = _month_ends(sub)

    fig = _new_figure(STAMP_BAND + KEY_BAND)
    total_ax, month_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 3] if len(names) <= 3 else [1, 1]})
    _style_axes(total_ax)
    by_state = {}
    support = {}
    for name in names:
        run = collapse_replicates(select_scenario(sub, name))
        by_state[name] = (run["cost"].sum("time") / 1e6).to_series()
        support[name] = float(run["support_cost"].sum("time")) / 1e6 if "support_cost" in run else 0.0
    states = [str(s) for s in sub["state"].values if any(abs(by_state[n].get(str(s), 0.0)) > 0 for n in names)]
    totals: list[float] = []
    bar_size = TICK_SIZE if len(names) <= 3 else TICK_SIZE - 2 if len(names) <= 5 else TICK_SIZE - 4  # labels of neighbouring bars stay apart
    for i, name in enumerate(names):
        bottom = 0.0
        for s in states:
            v = float(by_state[name].get(s, 0.0))
            total_ax.bar(i, v, bottom=bottom, color=colours[s], width=0.6, edgecolor="white", linewidth=0.5, gid=f"cost:{name}:{s}")
            bottom += v
        if support[name]:
            total_ax.bar(i, support[name], bottom=bottom, color=SUPPORT_COLOUR, hatch="//", edgecolor="0.45", linewidth=0.5, width=0.6, gid=f"cost:{name}:support")
            bottom += support[name]
        totals.append(bottom)
        label = _money(bottom, lang)
        if i > 0:
            delta = bottom - totals[0]
            label += f"\n({'+' if delta > 0 else ''}{_money(delta, lang)})"
        total_ax.annotate(label, xy=(i, bottom), xytext=(0, 4), textcoords="offset points", ha="center", va="bottom", fontsize=bar_size, fontweight="bold", gid=f"cost_total:{name}")
    total_ax.set_xticks(range(len(names)), [_wrap_name(n, 12 if len(names) <= 4 else 9) for n in names], fontsize=bar_size)
    total_ax.set_xlim(-0.6, len(names) - 0.4)
    total_ax.set_ylim(0, max(max(totals, default=0.0), 1e-9) * (1.22 if len(names) > 1 else 1.12))
    total_ax.yaxis.set_major_formatter(_number_formatter(lang))
    total_ax.set_title(text["cost_total"], loc="left", fontsize=PANEL_TITLE_SIZE)
    handles = [Patch(facecolor=colours[s]) for s in reversed(states)]
    key = [labels[s] for s in reversed(states)]
    if any(support.values()):
        handles.insert(0, Patch(facecolor=SUPPORT_COLOUR, hatch="//", edgecolor="0.45"))
        key.insert(0, text["cost_support"])
    total_ax.legend(handles, key, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=LEGEND_SIZE - 2, frameon=False)

    _style_axes(month_ax)
    cost = total_cost(sub)
    assert cost is not None  # the chart is drawn only for datasets with a cost
    monthly = cost / 1e6
    _draw_scenarios(month_ax, monthly, x, names, gid="cost_monthly")
    if len(x):
        month_ax.set_xlim(x[0], x[-1])
    month_ax.set_ylim(bottom=0)
    month_ax.yaxis.set_major_formatter(_number_formatter(lang))
    _format_time_axis(month_ax, sub.sizes["time"], lang, max_ticks=8)
    month_ax.set_title(text["cost_monthly"], loc="left", fontsize=PANEL_TITLE_SIZE)
    _scenario_key(fig, monthly, names, text)
    fig.suptitle(text["cost_title"].format(territory=territory_label), fontsize=TITLE_SIZE, x=0.01, ha="left")
    _stamp(fig, ds, lang)
    return fig


# --------------------------------------------------------------------------------------------
# The chart set
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chart:
    """One chart of the set: its file stem, its kind, what it shows, and how to draw it."""

    name: str
    kind: str
    draw: Callable[[], Figure]
    territory: str | None = None
    scenario: str | None = None


#: Kinds of charts drawn for each territory (and scenario), in order.
#: Dimensions of a results dataset that are not swept parameters.
RESULT_DIMS = frozenset(
    {
        "scenario", "replicate", "territory", "state", "time", "transition", "cause", "exit_state", "statistic", "state_group",
        "wait_bin", "quantile", "origin", "destination", "snapshot", "household_kind",
    }
) | OUTCOME_DIMS


def swept_parameters(ds: xr.Dataset) -> list[str]:
    """Parameters swept in ``ds``: grid dimensions, or the coordinates of a ``run`` dimension."""
    grid = [str(d) for d in ds.dims if d not in RESULT_DIMS and d != "run"]
    sampled = [str(c) for c in ds.coords if "run" in ds.dims and ds[c].dims == ("run",) and c != "run"]
    return grid + sampled


#: Names of the fields a sweep varies, as a reader says them: key, French, English.
PARAMETER_FIELDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "units_per_year": ("logements par an", "units per year"),
        "places_per_year": ("places par an", "places per year"),
        "change_per_year": ("variation de capacité par an", "capacity change per year"),
        "share_to_homeless": ("part des attributions aux ménages sans domicile", "share of lettings to homeless households"),
        "places": ("places", "places"),
        "units": ("logements", "units"),
        "stock_units": ("parc (logements)", "stock (units)"),
        "turnover_rate": ("taux de rotation", "turnover rate"),
        "households_per_year": ("arrivées par an (ménages)", "arrivals per year (households)"),
        "rate_per_year": ("taux annuel", "yearly rate"),
        "mean_days": ("durée moyenne de séjour (j)", "mean stay (days)"),
        "median_days": ("durée médiane de séjour (j)", "median stay (days)"),
        "refusal_probability": ("probabilité de refus d'une offre", "probability of refusing an offer"),
        "delivery_lag_years": ("délai de livraison (ans)", "delivery lag (years)"),
        "owner_exit_rate_per_year": ("taux de sortie des propriétaires par an", "owners' exit rate per year"),
        "slots": ("places d'accompagnement", "support slots"),
        "failure_reduction": ("baisse du risque d'échec", "reduction of tenancy failure"),
        "years": ("horizon (ans)", "horizon (years)"),
        "persons_per_unit": ("personnes par logement", "persons per unit"),
    }
)
_POLICY_NAMES = {
    "production": ("production", "production"), "iml_capture": ("captation IML", "IML capture"),
    "transformation": ("transformation de places", "transformation of places"), "capacity_change": ("changement de capacité", "capacity change"),
    "prevention": ("prévention", "prevention"), "support": ("accompagnement", "support"), "allocation": ("attributions", "allocation"),
}


def parameter_label(ds: xr.Dataset, path: str, lang: str = "fr") -> str:
    """A swept parameter's path (``territory.lyon.states.hotel.places``, ``policies[0].units_per_year``)
    said in words: the field, then the state, policy or territory it belongs to (``places — Hôtel
    (nuitées), Métropole de Lyon``). An unknown field keeps its name, without the path."""
    from ..config.overrides import split_path

    _check_lang(lang)
    col = 0 if lang == "fr" else 1
    try:
        parts = split_path(path)
    except ValueError:
        return path
    field = str(parts[-1])
    words = PARAMETER_FIELDS[field][col] if field in PARAMETER_FIELDS else field.replace("_", " ")
    where: list[str] = []
    states = {str(s): str(v) for s, v in zip(ds["state"].values, ds[f"state_label_{lang}"].values)} if f"state_label_{lang}" in ds.coords else {}
    territories = _territory_labels(ds) if "territory" in ds.dims else {}
    if parts[0] == "policies" and len(parts) > 1 and isinstance(parts[1], int):
        kind = ""
        if "scenario_policies" in ds.coords:
            try:
                raw = ds["scenario_policies"].values
                specs = json.loads(str(np.ravel(raw)[0]))
                spec = specs[parts[1]]
                kind = _POLICY_NAMES.get(spec.get("type", ""), (spec.get("type", ""),) * 2)[col]
                if spec.get("state") in states:
                    kind += f" {states[spec['state']]}" if lang == "en" else f" — {states[spec['state']]}"
            except (ValueError, IndexError, KeyError, TypeError, AttributeError):
                kind = ""
        where.append(kind or (f"politique n° {parts[1] + 1}" if lang == "fr" else f"policy {parts[1] + 1}"))
    else:
        where.extend(states[str(p)] for p in parts[:-1] if str(p) in states)
        where.extend(territories[str(p)] for p in parts[:-1] if str(p) in territories)
    return f"{words} — {', '.join(where)}" if where else words


def plot_response(
    ds: xr.Dataset, parameter: str, name: str = "street", *, lang: str = "fr", territories: Sequence[str] | None = None
) -> Figure:
    """An indicator (mean over the run, see :data:`INDICATORS`) against a swept parameter, one
    panel per territory and one line per scenario: median over replicates with its 10th-90th
    percentile band for a grid, one point per run for a Latin hypercube."""
    text = _check_lang(lang)
    label_key, _ = INDICATORS[name]
    parameter_words = parameter_label(ds, parameter, lang)
    values = indicator(ds, name).mean("time", skipna=True)
    ran = ds.occupancy_persons.notnull().all(["state", "time"])  # False where a run failed (NaN)
    values = values.where(ran)
    territories = _check_territories(ds, territories)
    labels = _territory_labels(ds)
    names = scenario_names(ds)
    fig = _new_figure()
    axes = np.atleast_1d(fig.subplots(*_grid(len(territories)), squeeze=False)).ravel()
    sampled = "run" in values.dims and parameter in ds.coords and ds[parameter].dims == ("run",)
    for ax, territory in zip(axes, territories):
        one = values.sel(territory=territory)
        for i, scenario in enumerate(names):
            colour, style = scenario_style(i)
            series = one.sel(scenario=scenario) if "scenario" in one.dims else one
            if sampled:
                x = ds[parameter].values.astype(float)
                y = series.median("replicate") if "replicate" in series.dims else series
                ax.plot(x, y.values, "o", color=colour, label=scenario, gid=f"response_{scenario}")
                continue
            other = [d for d in series.dims if d not in (parameter, "replicate")]
            if other:
                series = series.isel({d: 0 for d in other})
            median, low, high = replicate_band(series)
            x = series[parameter].values.astype(float)
            ax.plot(x, median.transpose(parameter).values, style, marker="o", color=colour, label=scenario, gid=f"response_{scenario}")
            if "replicate" in series.dims:
                ax.fill_between(x, low.transpose(parameter).values, high.transpose(parameter).values, color=colour, alpha=0.2, linewidth=0)
        ax.set_title(labels.get(territory, territory), fontsize=PANEL_TITLE_SIZE)
        ax.set_xlabel(parameter_words, fontsize=TICK_SIZE)
        ax.xaxis.set_major_formatter(_number_formatter(lang))
        ax.yaxis.set_major_formatter(_number_formatter(lang))
        _style_axes(ax)
    for ax in axes[len(territories):]:
        ax.set_visible(False)
    axes[0].set_ylabel(text[label_key] + text.get("response_mean", ""), fontsize=LABEL_SIZE)
    if len(names) > 1:
        axes[0].legend(fontsize=LEGEND_SIZE, frameon=False)
    fig.suptitle(text["response_title"].format(indicator=text[label_key], parameter=parameter_words), fontsize=TITLE_SIZE, x=0.01, ha="left")
    _stamp(fig, ds, lang)
    return fig


PER_RUN_CHARTS = ("occupancy", "flows", "waits", "wait_distribution", "capacity")
#: Indicators of the scenario comparison charts.
COMPARED_INDICATORS = ("street",)
#: Territories per figure of the small multiples and of the scenario comparison.
TERRITORIES_PER_INDICATORS_FIGURE = 3
TERRITORIES_PER_COMPARISON_FIGURE = 6


# --------------------------------------------------------------------------------------------
# Mobility between territories
# --------------------------------------------------------------------------------------------
#: Territories shown in the migration matrix (those with the most moves in and out).
MIGRATION_TOP = 15


def _shorten(text: str, most: int) -> str:
    """``text`` cut to ``most`` characters with an ellipsis."""
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def has_migration(ds: xr.Dataset) -> bool:
    """Whether ``ds`` records any household moving between territories."""
    return "migration" in ds and bool(ds["migration"].sum() > 0)


def plot_migration(ds: xr.Dataset, *, lang: str = "fr", scenario: str | None = None, top: int = MIGRATION_TOP) -> Figure:
    """Households housed in another territory than the one where they waited, over the run, as an
    origin x destination matrix of the ``top`` territories with the most moves (a colour scale on
    counts, each cell labelled), with each row's and column's totals."""
    text = _check_lang(lang)
    run = _run(ds, scenario)
    total_moves = run["migration"].sum("time")
    total = float(total_moves.sum())
    if total <= 0:
        raise ValueError("no household moved between territories in this dataset")
    volume = total_moves.sum("destination").values + total_moves.sum("origin").values
    names = [str(t) for t in run["origin"].values]
    order = [names[i] for i in np.argsort(-volume, kind="stable") if volume[i] > 0][:top]
    matrix = total_moves.sel(origin=order, destination=order).values
    labels = _territory_labels(ds)
    fig = _new_figure()
    fig.set_layout_engine("none")  # axes placed by hand: long territory names need a wide margin
    ax = fig.add_axes((0.25, STAMP_BAND + 0.21, 0.62, 0.58))
    shown = np.ma.masked_where(matrix <= 0, matrix)
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=max(float(matrix.max()), 1.0), aspect="auto")
    image.set_gid("migration_matrix")
    for i in range(len(order)):
        for j in range(len(order)):
            if matrix[i, j] > 0:
                dark = matrix[i, j] > 0.6 * matrix.max()
                ax.text(j, i, _number_formatter(lang)(matrix[i, j], 0), ha="center", va="center",
                        fontsize=TICK_SIZE - 3 if len(order) > 8 else TICK_SIZE - 1, color="white" if dark else "#222222")
    short = [_shorten(labels.get(t, t), 28) for t in order]
    ax.set_xticks(range(len(order)), short, rotation=35, ha="right", fontsize=TICK_SIZE - 3)
    ax.set_yticks(range(len(order)), [f"{name}  ({_number_formatter(lang)(r, 0)})" for name, r in zip(short, matrix.sum(axis=1))], fontsize=TICK_SIZE - 3)
    cbar = fig.colorbar(image, cax=fig.add_axes((0.885, STAMP_BAND + 0.21, 0.015, 0.58)))
    cbar.ax.tick_params(labelsize=TICK_SIZE - 3)
    start, end = _short_month(run["time"].values[0], lang), _short_month(run["time"].values[-1], lang)
    fig.suptitle(text["migration_title"].format(start=start, end=end), fontsize=TITLE_SIZE, x=0.01, y=0.97, ha="left")
    fmt = _number_formatter(lang)
    note = text["migration_note"].format(shown=fmt(matrix.sum(), 0), total=fmt(total, 0), n=len(order))
    fig.text(0.01, 0.905, f"{note}.\n{text['migration_axes']}.", fontsize=TICK_SIZE - 1, color="#444444", va="top", linespacing=1.5)
    _stamp(fig, ds, lang)
    return fig


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def chart_set(
    ds: xr.Dataset, *, lang: str = "fr", period: Period = None, territories: Sequence[str] | None = None
) -> list[Chart]:
    """Every chart of a results dataset, in the order of a report.

    The comparison of scenarios (persons on the street, per territory), the key indicators as
    small multiples and, when the dataset has ``cost``, the cost of each territory; then, for each
    scenario and territory, occupancy, flows over ``period``, waiting times, their distribution
    and the capacity pipeline. Files are named ``<kind>_<territory>`` (with the scenario,
    ``<kind>_<scenario>_<territory>``, when the dataset has a ``scenario`` dimension).

    ``territories`` limits the per-territory charts (cost and the per-run charts) to those
    territories, in that order; the charts across territories (scenario comparison, indicators,
    migration, sweep responses) still cover all. None (the default): every territory. An unknown
    name raises a ValueError.
    """
    _check_lang(lang)
    if period is not None:
        _period_indices(ds, period)  # fail early on a bad period
    selected = _selected_territories(ds, territories)
    territories = [str(t) for t in ds["territory"].values]
    charts: list[Chart] = []
    swept = swept_parameters(ds)
    if swept:
        # a sweep: a response curve per parameter, then the other charts at its first point
        for parameter in swept:
            for name in ("street", "wait_housing"):
                stem = f"response_{name}_{_safe_name(parameter)}"
                charts.append(Chart(stem, "response", partial(plot_response, ds, parameter, name, lang=lang)))
        ds = ds.isel({d: 0 for d in ds.dims if d not in RESULT_DIMS})
    for name in COMPARED_INDICATORS:
        groups = _chunks(territories, TERRITORIES_PER_COMPARISON_FIGURE)
        for k, group in enumerate(groups, 1):
            stem = f"compare_{name}" + (f"_{k}" if len(groups) > 1 else "")
            charts.append(Chart(stem, "compare", partial(plot_scenarios, ds, name, lang=lang, territories=group)))
    groups = _chunks(territories, TERRITORIES_PER_INDICATORS_FIGURE)
    for k, group in enumerate(groups, 1):
        stem = "indicators" + (f"_{k}" if len(groups) > 1 else "")
        charts.append(Chart(stem, "indicators", partial(plot_indicators, ds, lang=lang, territories=group, part=(k, len(groups)))))
    if has_cost(ds):
        for territory in selected:
            charts.append(Chart(f"cost_{_safe_name(territory)}", "cost", partial(plot_cost, ds, territory, lang=lang), territory))
    if has_migration(ds):
        for scenario in scenario_names(ds):
            stem = "migration" + (f"_{_safe_name(scenario)}" if "scenario" in ds.dims else "")
            charts.append(Chart(stem, "migration", partial(plot_migration, ds, lang=lang, scenario=scenario), None, scenario))
    plots: dict[str, Callable[..., Figure]] = {
        "occupancy": plot_occupancy, "flows": partial(plot_flows, period=period), "waits": plot_waits,
        "wait_distribution": plot_wait_distribution, "capacity": plot_capacity,
    }
    with_scenario = "scenario" in ds.dims
    for scenario in scenario_names(ds):
        for territory in selected:
            for kind in PER_RUN_CHARTS:
                stem = f"{kind}_{_safe_name(scenario) + '_' if with_scenario else ''}{_safe_name(territory)}"
                draw = partial(plots[kind], ds, territory, lang=lang, scenario=scenario)
                charts.append(Chart(stem, kind, draw, territory, scenario))
    return charts


def chart_notes(ds: xr.Dataset, *, lang: str = "fr") -> list[str]:
    """Why some charts of the set are not drawn for this dataset (e.g. no cost)."""
    text = _check_lang(lang)
    return [] if has_cost(ds) else [text["cost_missing"]]


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "territory"


def _save(fig: Figure, path: Path, fmt: str) -> Path:
    def writer(tmp: Path) -> None:
        metadata: dict[str, Any] = {"Date": None} if fmt in ("svg", "pdf") else {}
        # A fixed hash salt makes SVG element ids, hence files, identical from run to run.
        with mpl.rc_context({"svg.hashsalt": "lda_sim"}):
            fig.savefig(tmp, format=fmt, dpi=DPI, facecolor="white", metadata=metadata)

    return write_atomic(path, writer)


def _check_formats(formats: Sequence[str] | str) -> list[str]:
    if isinstance(formats, str):
        formats = (formats,)
    fmts = [f.lower().lstrip(".") for f in formats]
    supported = FigureCanvasAgg.get_supported_filetypes()
    unknown = [f for f in fmts if f not in supported]
    if unknown:
        raise ValueError(f"unsupported chart format(s) {', '.join(unknown)} (supported: {', '.join(sorted(supported))})")
    return fmts


def write_charts(
    ds: xr.Dataset, out_dir: str | Path, *, lang: str = "fr", formats: Sequence[str] = ("png", "svg"), period: Period = None,
    territories: Sequence[str] | None = None, progress: Callable[..., Any] | None = None,
) -> list[Path]:
    """Write the chart set of :func:`chart_set` to ``out_dir``, in each of ``formats``.

    ``progress``, a ``tqdm``-like factory (``total``, ``desc``, ``unit``), shows the charts drawn.

    ``territories`` selects the territories with per-territory charts (see :func:`chart_set`);
    every argument is checked before anything is written. The set is written into a fresh folder
    and swapped in as ``out_dir`` whole (never mixed with an earlier set); a folder holding
    anything but images is refused (:func:`lda_sim.dataset.output.check_chart_folder`). Charts the dataset cannot support (the cost chart without ``cost``) are
    left out; :func:`chart_notes` says which. Returns the paths written.
    """
    _check_lang(lang)
    fmts = _check_formats(formats)
    charts = chart_set(ds, lang=lang, period=period, territories=territories)
    out_dir = Path(out_dir)
    paths: list[Path] = []
    bar = progress(total=len(charts), desc="charts", unit="chart") if progress else None
    try:
        with atomic_folder(out_dir) as work:  # the set is drawn into a fresh folder, then swapped in whole
            for chart in charts:
                fig = chart.draw()
                try:
                    for fmt in fmts:
                        _save(fig, work / f"{chart.name}.{fmt}", fmt)
                        paths.append(out_dir / f"{chart.name}.{fmt}")
                finally:
                    fig.clear()
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return paths


def plot_comparison(ds: xr.Dataset, table: pd.DataFrame | None = None, *, lang: str = "fr", period: Period = None) -> Figure:
    """Small multiples: one panel per indicator, bars per territory, one colour per scenario.

    With replicates, a bar is the mean over replicates (waiting times: their median, as in
    :func:`comparison_table`) and a whisker runs from the 10th to the 90th percentile; the key says so.
    Values are written with thousands separators in the language of the chart.
    """
    table = comparison_table(ds, period=period) if table is None else table
    spread = replicate_spread(ds, period)
    scenarios = list(dict.fromkeys(table.scenario))
    territories = list(dict.fromkeys(table.territory))
    fig = Figure(figsize=(13.33, 7.5), dpi=144, layout="constrained")
    FigureCanvasAgg(fig)
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)
    engine.set(rect=(0, 0.035, 1, 0.965))  # room for the stamp below
    axes = fig.subplots(3, 3).ravel()
    labels = dict(zip(ds.territory.values, ds.territory_label.values)) if "territory_label" in ds.coords else {}
    colours = ["#4d4d4d", "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
    width = 0.8 / len(scenarios)
    x = np.arange(len(territories))
    number = _number_formatter(lang)
    for ax, (column, fr, en, _) in zip(axes, COMPARISON_INDICATORS):
        for i, name in enumerate(scenarios):
            values = [table[(table.scenario == name) & (table.territory == t)][column].iloc[0] for t in territories]
            positions = x + (i - (len(scenarios) - 1) / 2) * width
            ax.bar(positions, np.nan_to_num(values), width, label=name, color=colours[i % len(colours)], gid=f"compare:{column}:{name}")
            if spread is not None:
                low = np.array([spread.loc[(name, t), f"{column}_low"] for t in territories], dtype=float)
                high = np.array([spread.loc[(name, t), f"{column}_high"] for t in territories], dtype=float)
                centre = np.nan_to_num(np.asarray(values, dtype=float))
                yerr = np.vstack([np.clip(centre - low, 0, None), np.clip(high - centre, 0, None)])
                ax.errorbar(positions, centre, yerr=np.nan_to_num(yerr), fmt="none", ecolor="0.15", elinewidth=1.2, capsize=3, label=f"_compare_band:{column}:{name}")
        ax.set_title(fr if lang == "fr" else en, fontsize=11)
        ax.set_xticks(x, [textwrap.fill(str(labels.get(t, t)), 16) for t in territories], fontsize=9)
        ax.yaxis.set_major_formatter(number)
        ax.grid(axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    handles, names = axes[0].get_legend_handles_labels()
    title = "Scénario" if lang == "fr" else "Scenario"
    if spread is not None:
        n = ds.sizes["replicate"]
        title += (
            f"\nbarre : moyenne de {n} répliques\n(attentes : médiane)\ntrait : 10e–90e centile" if lang == "fr"
            else f"\nbar: mean of {n} replicates\n(waits: median)\nwhisker: 10th–90th percentile"
        )
    fig.legend(handles, names, loc="outside right upper", fontsize=10, frameon=False, title=title, title_fontsize=10)
    months = table.attrs.get("period") or period_label(ds, period)
    fig.suptitle(f"Comparaison des scénarios, période {months}" if lang == "fr" else f"Scenario comparison, period {months}", fontsize=15)
    _stamp(fig, ds, lang)
    return fig
