"""Scenario comparison: key indicators per territory at the horizon, and their difference from the baseline."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from .analysis import (
    collapse_replicates,
    housed_flow,
    persons_in,
    returns_to_street,
    scenario_names,
    select_scenario,
    total_cost,
)

#: Indicators of the comparison: column, French label, English label, whether lower is better.
INDICATORS: tuple[tuple[str, str, str, bool], ...] = (
    ("street_persons", "Personnes à la rue (horizon)", "Persons on the street (horizon)", True),
    ("sheltered_persons", "Personnes hébergées (horizon)", "Persons sheltered (horizon)", True),
    ("housed_per_year", "Ménages logés par an", "Households housed per year", False),
    ("median_wait_housing_days", "Attente logement, médiane (j)", "Wait for housing, median (days)", True),
    ("p90_wait_housing_days", "Attente logement, P90 (j)", "Wait for housing, p90 (days)", True),
    ("median_time_to_housing_days", "Délai d'accès au logement, médiane (j)", "Time to housing, median (days)", True),
    ("returns_to_street_per_year", "Retours à la rue par an", "Returns to the street per year", True),
    ("total_cost_meur", "Coût total (M€)", "Total cost (EUR m)", True),
)


def _indicators(ds: xr.Dataset) -> pd.DataFrame:
    years = ds.sizes["time"] / 12
    cost = total_cost(ds)
    return pd.DataFrame(
        {
            "territory": [str(t) for t in ds.territory.values],
            "street_persons": persons_in(ds, "street").isel(time=-1).values,
            "sheltered_persons": persons_in(ds, "shelter").isel(time=-1).values,
            "housed_per_year": (housed_flow(ds).sum("time") / years).values,
            "median_wait_housing_days": ds.wait_days_by_kind.sel(state_group="housing", statistic="median").values,
            "p90_wait_housing_days": ds.wait_days_by_kind.sel(state_group="housing", statistic="p90").values,
            "median_time_to_housing_days": (
                ds.time_to_housing_run.sel(statistic="median").values if "time_to_housing_run" in ds else np.full(ds.sizes["territory"], np.nan)
            ),
            "returns_to_street_per_year": (returns_to_street(ds).sum("time") / years).values,
            "total_cost_meur": (cost.sum("time").values / 1e6) if cost is not None else np.full(ds.sizes["territory"], np.nan),
        }
    )


def comparison_table(ds: xr.Dataset, baseline: str | None = None) -> pd.DataFrame:
    """One row per scenario and territory: the indicators and their difference from the baseline.

    The baseline is the first scenario unless named. With replicates, counts are averaged and
    waiting-time statistics take their median over replicates.
    """
    ds = collapse_replicates(ds)
    names = scenario_names(ds)
    baseline = names[0] if baseline is None else baseline
    base = _indicators(select_scenario(ds, baseline)).set_index("territory")
    rows = []
    for name in names:
        table = _indicators(select_scenario(ds, name)).set_index("territory")
        diff = (table - base).add_prefix("diff_")
        rows.append(pd.concat([table, diff], axis=1).assign(scenario=name).reset_index())
    out = pd.concat(rows, ignore_index=True)
    return out[["scenario", "territory", *[c for c in out.columns if c not in ("scenario", "territory")]]]


def format_comparison(table: pd.DataFrame, lang: str = "en") -> str:
    """The comparison as text: per territory, one line per indicator, one column per scenario
    (value, and difference from the baseline in brackets)."""
    scenarios = list(dict.fromkeys(table.scenario))
    lines = []
    for territory, rows in table.groupby("territory", sort=False):
        rows = rows.set_index("scenario")
        lines.append(f"== {territory}")
        header = ["indicator"] + scenarios
        body = []
        for column, fr, en, _ in INDICATORS:
            cells = [fr if lang == "fr" else en]
            for i, name in enumerate(scenarios):
                value, diff = rows.loc[name, column], rows.loc[name, f"diff_{column}"]
                text = "—" if not np.isfinite(value) else f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
                if i and np.isfinite(diff):
                    text += f" ({diff:+,.1f})" if abs(diff) < 100 else f" ({diff:+,.0f})"
                cells.append(text)
            body.append(cells)
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        for r in [header, *body]:
            lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        lines.append("")
    return "\n".join(lines).rstrip()


def plot_comparison(ds: xr.Dataset, table: pd.DataFrame | None = None, *, lang: str = "fr") -> Figure:
    """Small multiples: one panel per indicator, bars per territory, one colour per scenario."""
    from .plotting import _stamp

    table = comparison_table(ds) if table is None else table
    scenarios = list(dict.fromkeys(table.scenario))
    territories = list(dict.fromkeys(table.territory))
    fig = Figure(figsize=(13.33, 7.5), dpi=144, layout="constrained")
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)
    engine.set(rect=(0, 0.035, 1, 0.965))  # room for the stamp below
    axes = fig.subplots(2, 4).ravel()
    labels = dict(zip(ds.territory.values, ds.territory_label.values)) if "territory_label" in ds.coords else {}
    colours = ["#4d4d4d", "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
    width = 0.8 / len(scenarios)
    x = np.arange(len(territories))
    for ax, (column, fr, en, _) in zip(axes, INDICATORS):
        for i, name in enumerate(scenarios):
            values = [table[(table.scenario == name) & (table.territory == t)][column].iloc[0] for t in territories]
            ax.bar(x + (i - (len(scenarios) - 1) / 2) * width, np.nan_to_num(values), width, label=name, color=colours[i % len(colours)])
        ax.set_title(fr if lang == "fr" else en, fontsize=11)
        ax.set_xticks(x, [textwrap.fill(str(labels.get(t, t)), 16) for t in territories], fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside right upper", fontsize=10, frameon=False, title="Scénario" if lang == "fr" else "Scenario")
    fig.suptitle("Comparaison des scénarios à l'horizon" if lang == "fr" else "Scenario comparison at the horizon", fontsize=15)
    _stamp(fig, ds, lang)
    return fig
