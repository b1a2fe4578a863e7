"""Slide-ready charts of a results dataset: occupancy by state and waiting times, per territory.

Everything is computed from the dataset of :func:`lda_sim.run.run_scenario` (see
:mod:`lda_sim.recorder`). Figures are plain :class:`matplotlib.figure.Figure` objects drawn with the
Agg canvas: pyplot is never used, so nothing is registered globally, no window is ever opened and
the interactive backend of the caller (a notebook, say) is left alone.

Charts are sized for 16:9 slides (13.33 x 7.5 inches, 1920 x 1080 pixels in PNG), labelled in French
by default or in English (``lang="en"``), and stamped in the lower right corner with the scenario,
the horizon and the version of lda_sim that produced the data. A state has the same colour in every
chart (:data:`STATE_COLOURS`, a colour-blind-safe palette, for the French default states).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, FuncFormatter

from .output import write_atomic

__all__ = [
    "FALLBACK_COLOURS",
    "FIGSIZE",
    "DPI",
    "LABELS",
    "STATE_COLOURS",
    "plot_occupancy",
    "plot_waits",
    "state_colour",
    "state_colours",
    "write_charts",
]

# --------------------------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------------------------
#: Fixed colours of the French default states, from Paul Tol's "muted" scheme completed with
#: Okabe-Ito orange and blue (both colour-blind-safe). Neighbours in the stacking order of the
#: occupancy chart (street, shelters, adapted housing, housing) are kept far apart; exits are greys.
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
                "stamp": "Scénario « {scenario} » · graine {seed} · horizon {horizon} · lda_sim {version}",
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
                "stamp": "Scenario “{scenario}” · seed {seed} · horizon {horizon} · lda_sim {version}",
            }
        ),
    }
)

MONTHS_SHORT = {
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
MONTHS_LONG = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"),
}

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
    """Thousands separated by a narrow no-break space in French, by a comma in English."""

    def fmt(x: float, _pos: int | None = None) -> str:
        text = f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.1f}"
        if lang == "fr":
            text = text.replace(",", "\u202f").replace(".", ",")
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
            label = MONTHS_SHORT[self.lang][d.month - 1]
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
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom), h_pad=0.06, w_pad=0.08)
    return fig


def _month_name(t: np.datetime64, lang: str) -> str:
    year, month = (int(p) for p in str(np.datetime64(t, "M")).split("-")[:2])
    return f"{MONTHS_LONG[lang][month - 1]} {year}"


def _stamp(fig: Figure, ds: xr.Dataset, lang: str) -> None:
    """Scenario, seed, horizon (last month) and lda_sim version, in the lower right corner."""
    horizon = _month_name(ds["time"].values[-1], lang) if ds.sizes.get("time") else "?"
    text = LABELS[lang]["stamp"].format(
        scenario=ds.attrs.get("scenario", "?"),
        seed=ds.attrs.get("seed", "?"),
        horizon=horizon,
        version=ds.attrs.get("lda_sim_version", "?"),
    )
    fig.text(0.995, 0.012, text, ha="right", va="bottom", fontsize=STAMP_SIZE, color="0.35", gid=STAMP_ID)


# --------------------------------------------------------------------------------------------
# Dataset access
# --------------------------------------------------------------------------------------------
def _territory(ds: xr.Dataset, territory: str) -> tuple[xr.Dataset, str]:
    """The dataset of one territory and its label; check that no other dimension is left over."""
    names = [str(t) for t in ds["territory"].values]
    if str(territory) not in names:
        raise KeyError(f"territory {territory!r} is not in the dataset (territories: {', '.join(names)})")
    sub = ds.sel(territory=str(territory))
    extra = set(sub["occupancy"].dims) - {"state", "time"}
    if extra:
        raise ValueError(
            f"charts show one run: select a single value of {', '.join(sorted(extra))} first (e.g. ds.isel(replicate=0))"
        )
    label = str(sub["territory_label"].item()) if "territory_label" in sub.coords else str(territory)
    return sub, label


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
def plot_occupancy(ds: xr.Dataset, territory: str, *, lang: str = "fr", persons: bool = True) -> Figure:
    """Stacked areas of the persons (or households) in each non-exit state of one territory.

    Stocks are drawn at the end of each month, after the initial stock at the start of the run
    when the dataset has it. One area per non-exit state, in the pathway's order from the bottom;
    the legend lists them from the top, as stacked.
    """
    text = _check_lang(lang)
    sub, territory_label = _territory(ds, territory)
    states = _non_exit_states(sub)
    colours = state_colours(str(s) for s in ds["state"].values)
    labels = _state_labels(sub, lang)

    var, initial = ("occupancy_persons", "initial_occupancy_persons") if persons else ("occupancy", "initial_occupancy")
    values = sub[var].sel(state=states).transpose("state", "time").values.astype(float)
    starts, ends = _month_bounds(sub)
    x = ends
    if initial in sub and len(starts):
        x = np.concatenate([starts[:1], ends])
        values = np.concatenate([sub[initial].sel(state=states).values.astype(float)[:, None], values], axis=1)

    fig = _new_figure()
    ax = fig.add_subplot()
    _style_axes(ax)
    if len(states):
        polys = ax.stackplot(
            x, values, labels=[labels[s] for s in states], colors=[colours[s] for s in states],
            edgecolor="white", linewidth=0.6,
        )
        for poly, state in zip(polys, states):
            poly.set_gid(f"occupancy:{state}")
        handles, legend_labels = ax.get_legend_handles_labels()
        ax.legend(
            handles[::-1], legend_labels[::-1], title=text["state"], loc="upper left", bbox_to_anchor=(1.01, 1.0),
            fontsize=LEGEND_SIZE, title_fontsize=LEGEND_SIZE + 1, frameon=False,
        )
    if len(x):
        ax.set_xlim(x[0], x[-1])
    ax.set_ylim(bottom=0)
    ax.margins(x=0)
    ax.yaxis.set_major_formatter(_number_formatter(lang))
    _format_time_axis(ax, sub.sizes["time"], lang, max_ticks=12)
    ax.set_xlabel(text["month_end"], fontsize=LABEL_SIZE)
    ax.set_ylabel(text["persons"] if persons else text["households"], fontsize=LABEL_SIZE)
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


def plot_waits(ds: xr.Dataset, territory: str, *, lang: str = "fr") -> Figure:
    """Monthly waiting times (days) before entering each state with a waiting list, one panel each.

    A state is shown when it has a waiting list (``queue_length`` not all NaN) and somebody got
    through it during the run. Each panel draws the median wait of the households who entered in
    the month (line, plotted mid-month; missing where nobody entered) with a band up to the 90th
    percentile, and a dotted line at the run-wide median, whose legend gives the run-wide median
    and 90th percentile (``wait_days_run``). A few extreme months (typically the first ones, when the
    households present at the start get through with their whole wait behind them) may go off
    scale: they are marked on the top edge with the largest value written. Waiting lists nobody got
    through are named in a note at the bottom.
    """
    text = _check_lang(lang)
    sub, territory_label = _territory(ds, territory)
    colours = state_colours(str(s) for s in ds["state"].values)
    labels = _state_labels(sub, lang)

    queued = [str(s) for s in sub["state"].values if not bool(sub["queue_length"].sel(state=s).isnull().all())]
    served = {s: float(sub["served"].sel(state=s).sum()) if "served" in sub else float(sub["wait_days"].sel(state=s).notnull().any()) for s in queued}
    shown = [s for s in queued if served[s] > 0]
    never = [s for s in queued if served[s] <= 0]

    starts, ends = _month_bounds(sub)
    mid = starts + (ends - starts) // 2

    fig = _new_figure(STAMP_BAND + KEY_BAND if shown else STAMP_BAND)
    nrows, ncols = _grid(len(shown))
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    flat = list(axes.flat)
    for ax in flat[max(len(shown), 1):]:
        ax.remove()
    for i, ax in enumerate(flat[: max(len(shown), 1)]):
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
# Writing
# --------------------------------------------------------------------------------------------
CHARTS = (("occupancy", plot_occupancy), ("waits", plot_waits))


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "territory"


def _save(fig: Figure, path: Path, fmt: str) -> Path:
    def writer(tmp: Path) -> None:
        metadata: dict[str, Any] = {"Date": None} if fmt in ("svg", "pdf") else {}
        # A fixed hash salt makes SVG element ids, hence files, identical from run to run.
        with mpl.rc_context({"svg.hashsalt": "lda_sim"}):
            fig.savefig(tmp, format=fmt, dpi=DPI, facecolor="white", metadata=metadata)

    return write_atomic(path, writer)


def write_charts(
    ds: xr.Dataset, out_dir: str | Path, *, lang: str = "fr", formats: Sequence[str] = ("png", "svg")
) -> list[Path]:
    """Write the occupancy and waits charts of every territory to ``out_dir``.

    Files are named ``occupancy_<territory>.<format>`` and ``waits_<territory>.<format>``; each is
    written atomically (never seen half-written). Returns the paths written.
    """
    _check_lang(lang)
    if isinstance(formats, str):
        formats = (formats,)
    fmts = [f.lower().lstrip(".") for f in formats]
    supported = FigureCanvasAgg.get_supported_filetypes()
    unknown = [f for f in fmts if f not in supported]
    if unknown:
        raise ValueError(f"unsupported chart format(s) {', '.join(unknown)} (supported: {', '.join(sorted(supported))})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for territory in (str(t) for t in ds["territory"].values):
        for kind, plot in CHARTS:
            fig = plot(ds, territory, lang=lang)
            try:
                for fmt in fmts:
                    paths.append(_save(fig, out_dir / f"{kind}_{_safe_name(territory)}.{fmt}", fmt))
            finally:
                fig.clear()
    return paths
