"""Scenario comparison: key indicators per territory over a period (default: the last 12 months), and their difference from the baseline."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import xarray as xr

from .indicators import (
    OUTCOME_DIMS,
    Period,
    period_indicators,
    period_label,
    scenario_names,
    select_scenario,
)

#: Indicators of the comparison: column, French label, English label, whether lower is better.
#: Stocks are means over the period, flows and costs per year over the period (see
#: :func:`lda_sim.analysis.indicators.period_indicators`).
INDICATORS: tuple[tuple[str, str, str, bool], ...] = (
    ("street_persons", "Personnes à la rue (moyenne de la période)", "Persons on the street (period mean)", True),
    ("sheltered_persons", "Personnes hébergées (moyenne de la période)", "Persons sheltered (period mean)", True),
    ("housed_per_year", "Ménages logés par an", "Households housed per year", False),
    ("median_wait_housing_days", "Attente logement, médiane (j)", "Wait for housing, median (days)", True),
    ("p90_wait_housing_days", "Attente logement, P90 (j)", "Wait for housing, p90 (days)", True),
    ("median_time_to_housing_days", "Délai d'accès au logement, médiane KM (j)", "Time to housing, KM median (days)", True),
    ("share_housed_within_12_months", "Part logée en 12 mois (KM)", "Share housed within 12 months (KM)", False),
    ("returns_to_street_per_year", "Retours à la rue par an", "Returns to the street per year", True),
    ("cost_meur_per_year", "Coût annuel (M€)", "Cost per year (EUR m)", True),
)


def _indicators(ds: xr.Dataset, period: Period = None) -> pd.DataFrame:
    table = period_indicators(ds, period).rename(columns={"total_cost_meur_per_year": "cost_meur_per_year"})
    return table.reset_index(drop=False).assign(territory=lambda t: t["territory_id"])[["territory", *(c for c, *_ in INDICATORS)]]


#: Dimensions of a single run's dataset; any other (besides scenario and replicate) is a swept parameter.
RUN_DIMS = {"territory", "time", "state", "transition", "cause", "exit_state", "statistic", "state_group", "wait_bin",
            "origin", "destination", "snapshot"} | OUTCOME_DIMS
#: Indicators summarised by their median over replicates (statistics of distributions); the others by their mean.
MEDIAN_COLUMNS = ("median_wait_housing_days", "p90_wait_housing_days", "median_time_to_housing_days", "share_housed_within_12_months")


def _points(ds: xr.Dataset) -> list[tuple[str, xr.Dataset]]:
    """(label, dataset of one scenario or sweep point) pairs: sweeps are unstacked into points."""
    out = []
    for name in scenario_names(ds):
        part = select_scenario(ds, name)
        extra = [d for d in part.dims if d not in RUN_DIMS and d not in ("replicate", "scenario")]
        if not extra:
            out.append((name, part))
            continue
        for combo in itertools.product(*(range(part.sizes[d]) for d in extra)):
            point = part.isel(dict(zip(extra, combo)))
            labels = []
            for d in extra:
                if d == "run":
                    params = [c for c in point.coords if c not in point.dims and point[c].ndim == 0 and c not in ("scenario", "run", "scenario_description")]
                    labels.append(f"run {int(point['run'])}: " + ", ".join(f"{c}={float(point[c]):g}" for c in params
                                                                            if np.issubdtype(point[c].dtype, np.number)))
                else:
                    labels.append(f"{d}={float(point[d]):g}")
            out.append((f"{name} [{'; '.join(labels)}]", point))
    return out


def _summarised(ds: xr.Dataset, period: Period = None) -> pd.DataFrame:
    """Indicators per territory: with replicates, the mean (median for waiting-time statistics) and
    the 10th-90th percentile band over replicates (columns ``*_p10``, ``*_p90``)."""
    if "replicate" not in ds.dims:
        return _indicators(ds, period).set_index("territory")
    tables = [_indicators(ds.isel(replicate=r), period).set_index("territory") for r in range(ds.sizes["replicate"])]
    stacked = pd.concat(tables, keys=range(len(tables)), names=["replicate"])
    grouped = stacked.groupby(level="territory", sort=False)
    centre = grouped.mean()
    for column in MEDIAN_COLUMNS:
        centre[column] = grouped[column].median()
    low, high = grouped.quantile(0.1).add_suffix("_p10"), grouped.quantile(0.9).add_suffix("_p90")
    return pd.concat([centre, low, high], axis=1)


def comparison_table(ds: xr.Dataset, baseline: str | None = None, period: Period = None) -> pd.DataFrame:
    """One row per scenario (or sweep point) and territory: the indicators over ``period`` (default:
    the last 12 months; see :func:`lda_sim.analysis.indicators.period_indicators`) and their difference from the baseline.

    The baseline is the first scenario (or point) unless named. With replicates, counts are
    averaged and waiting-time statistics take their median over replicates; the 10-90 % band over
    replicates is in the ``*_p10`` and ``*_p90`` columns, and ``summary`` says which (``attrs``).
    """
    points = _points(ds)
    labels = [label for label, _ in points]
    if baseline is None:
        baseline = labels[0]
    elif baseline not in labels:
        matches = [label for label in labels if label.split(" [")[0] == baseline]
        if not matches:
            raise KeyError(f"scenario {baseline!r} is not in the dataset (scenarios: {', '.join(labels)})")
        baseline = matches[0]
    tables = {label: _summarised(part, period) for label, part in points}
    base = tables[baseline]
    columns = [c for c, *_ in INDICATORS]
    rows = []
    for label in labels:
        table = tables[label]
        diff = (table[columns] - base[columns]).add_prefix("diff_")
        rows.append(pd.concat([table, diff], axis=1).assign(scenario=label).reset_index())
    out = pd.concat(rows, ignore_index=True)
    out = out[["scenario", "territory", *[c for c in out.columns if c not in ("scenario", "territory")]]]
    replicates = ds.sizes.get("replicate", 0)
    months = period_label(ds, period)
    out.attrs["period"] = months
    out.attrs["summary"] = (
        f"period {months}; means over {replicates} replicates (medians for waiting times and Kaplan-Meier figures), "
        "band: 10th-90th percentile over replicates"
        if replicates else f"period {months}; one run per scenario: values of that run (no band)"
    )
    return out


def meanfield_table(ds: xr.Dataset) -> pd.DataFrame | None:
    """The mean-field counterparts of the street and shelter indicators at the horizon, per scenario
    file of the results (None when the scenario files cannot be read, e.g. results moved elsewhere)."""
    from ..config.errors import ConfigError
    from ..config.scenario import load_scenario
    from .meanfield import meanfield

    files = ds["scenario_file"].values.tolist() if "scenario_file" in ds.coords else [ds.attrs.get("scenario_file")]
    names = scenario_names(ds)
    if len(files) != len(names) or not all(files):
        return None
    rows = []
    for name, file in zip(names, files):
        try:
            sc = load_scenario(str(file), years=ds.sizes["time"] / 12)
        except (ConfigError, OSError):
            return None
        mf = meanfield(sc)
        for territory in mf.territory.values:
            part = mf.sel(territory=territory)
            kinds = dict(zip(part.state.values, part.state_kind.values))
            street = [s for s, k in kinds.items() if k == "street"]
            shelter = [s for s, k in kinds.items() if k == "shelter"]
            rows.append({
                "scenario": name, "territory": str(territory),
                "street_persons": float(part.occupancy_persons.sel(state=street).sum("state").isel(time=-1)),
                "sheltered_persons": float(part.occupancy_persons.sel(state=shelter).sum("state").isel(time=-1)),
            })
    return pd.DataFrame(rows)


def format_plan(ds: xr.Dataset) -> str:
    """A plan file as text: every candidate with its probability of meeting the target, its 95 %
    interval, its cost, the indicator's median and 10-90 % band across replicates, and the mean-field value."""
    levers = [str(v) for v in ds.lever.values]
    lines = [f"Plan: {ds.attrs['target']}, probability asked >= {float(ds.attrs['confidence']):g}, "
             f"{int(ds.attrs['replicates'])} replicates per candidate, {int(ds.attrs['runs'])} runs",
             f"Method: {ds.attrs['method']}",
             "Indicator: median across replicates [10th, 90th percentile]; P(target met) with its 95% Wilson interval"]
    header = [*levers, "P(target met)", "95% interval", "cost (EUR/yr)", "indicator", "mean-field", ""]
    body = []
    chosen = int(ds.attrs["answer"])
    for i in range(ds.sizes["evaluation"]):
        e = ds.isel(evaluation=i)
        q10, q50, q90 = np.nanquantile(e.indicator.values, [0.1, 0.5, 0.9]) if np.isfinite(e.indicator.values).any() else (np.nan,) * 3
        mf = float(e.meanfield_indicator)
        body.append([*(f"{float(v):g}" for v in e.lever_value.values), f"{float(e.probability):.3f}",
                     f"{float(e.probability_low):.3f}-{float(e.probability_high):.3f}",
                     "—" if not np.isfinite(float(e.cost)) else f"{float(e.cost):,.0f}",
                     f"{q50:,.1f} [{q10:,.1f}, {q90:,.1f}]", "—" if not np.isfinite(mf) else f"{mf:,.1f}",
                     "<- answer" if i == chosen else ""])
    order = sorted(range(len(body)), key=lambda i: [float(v) for v in ds.lever_value.isel(evaluation=i).values])
    rows = [header] + [body[i] for i in order]
    widths = [max(len(r[j]) for r in rows) for j in range(len(header))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if chosen < 0:
        lines.append("No candidate met the target with the probability asked.")
    return "\n".join(lines)


def format_comparison(table: pd.DataFrame, lang: str = "en") -> str:
    """The comparison as text: per territory, one line per indicator, one column per scenario
    (value, and difference from the baseline in brackets)."""
    scenarios = list(dict.fromkeys(table.scenario))
    lines = [f"({table.attrs['summary']})"] if table.attrs.get("summary") else []
    for territory, rows in table.groupby("territory", sort=False):
        rows = rows.set_index("scenario")
        lines.append(f"== {territory}")
        header = ["indicator"] + scenarios
        body = []
        for column, fr, en, _ in INDICATORS:
            cells = [fr if lang == "fr" else en]
            for i, name in enumerate(scenarios):
                value, diff = rows.loc[name, column], rows.loc[name, f"diff_{column}"]
                share = column.startswith("share_")
                text = "—" if not np.isfinite(value) else f"{value:.2f}" if share else f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
                if f"{column}_p10" in rows.columns and np.isfinite(value):
                    low, high = rows.loc[name, f"{column}_p10"], rows.loc[name, f"{column}_p90"]
                    text += f" [{low:.2f}-{high:.2f}]" if share else f" [{low:,.0f}-{high:,.0f}]" if abs(high) >= 100 else f" [{low:,.1f}-{high:,.1f}]"
                if i and np.isfinite(diff):
                    text += f" ({diff:+.2f})" if share else f" ({diff:+,.1f})" if abs(diff) < 100 else f" ({diff:+,.0f})"
                cells.append(text)
            body.append(cells)
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        for r in [header, *body]:
            lines.append("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        lines.append("")
    return "\n".join(lines).rstrip()


def replicate_spread(ds: xr.Dataset, period: Period = None) -> pd.DataFrame | None:
    """10th and 90th percentiles over replicates of each indicator (columns ``<name>_low``,
    ``<name>_high``) by scenario and territory; None without replicates."""
    if "replicate" not in ds.dims or ds.sizes["replicate"] < 2:
        return None
    tables = [comparison_table(ds.isel(replicate=i), period=period) for i in range(ds.sizes["replicate"])]
    stacked = pd.concat(tables, ignore_index=True)
    columns = [c for c, *_ in INDICATORS]
    grouped = stacked.groupby(["scenario", "territory"], sort=False)[columns]
    return pd.concat([grouped.quantile(0.1).add_suffix("_low"), grouped.quantile(0.9).add_suffix("_high")], axis=1)
