"""Indicators computed from a results dataset (everything shown to a person comes from here)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

SHELTER_KINDS = ("shelter",)
HOUSING_KINDS = ("housing",)
#: Dimensions of the outcomes by group and of the spell indicators of a run (not swept parameters).
OUTCOME_DIMS = frozenset(
    {"household_kind", "needs_level", "priority_class", "entry_state", "from_state", "spell_event", "km_statistic", "horizon"}
)

# --------------------------------------------------------------------------------------------
# Periods: the months an indicator is averaged over (default: the last twelve of the run)
# --------------------------------------------------------------------------------------------
#: Months of the default period: the last twelve of the run.
DEFAULT_PERIOD_MONTHS = 12

Period = int | str | tuple[Any, Any] | None


def parse_period(text: str) -> int | tuple[str, str]:
    """A period as written on the command line: ``2027-01:2027-12`` (months, inclusive) or ``12``
    (the last twelve months of the run)."""
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):
        months = int(text)
        if months < 1:
            raise ValueError(f"period {text!r}: give at least one month")
        return months
    match = re.fullmatch(r"(\d{4}-\d{2})\s*:\s*(\d{4}-\d{2})", text)
    if not match:
        raise ValueError(f"period {text!r}: expected FIRST:LAST months as YYYY-MM:YYYY-MM, or a number of last months")
    return match.group(1), match.group(2)


def period_indices(ds: xr.Dataset, period: Period) -> tuple[int, int]:
    """Index of the first and of the last month (inclusive) of ``period`` in the dataset."""
    months = ds["time"].values.astype("datetime64[M]")
    n = len(months)
    if n == 0:
        raise ValueError("the dataset has no month")
    if period is None:
        period = DEFAULT_PERIOD_MONTHS
    if isinstance(period, str):
        period = parse_period(period)
    if isinstance(period, (int, np.integer)):
        if period < 1:
            raise ValueError(f"period: give at least one month, not {period}")
        return max(0, n - int(period)), n - 1
    try:
        start, end = (np.datetime64(str(p)[:7], "M") for p in period)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"period {period!r}: expected two months such as ('2027-01', '2027-12')") from exc
    if start > end:
        raise ValueError(f"period {start}:{end}: the first month is after the last")
    if start < months[0] or end > months[-1]:
        raise ValueError(f"period {start}:{end} is outside the run ({months[0]} to {months[-1]})")
    return int(np.searchsorted(months, start)), int(np.searchsorted(months, end))


def period_label(ds: xr.Dataset, period: Period) -> str:
    """``2029-01:2029-12``: the months of ``period`` in the dataset."""
    first, last = period_indices(ds, period)
    months = ds["time"].values.astype("datetime64[M]")
    return f"{months[first]}:{months[last]}"


def states_of_kind(ds: xr.Dataset, *kinds: str) -> list[str]:
    """Names of the states of the given kinds (street, shelter, housing, exit)."""
    return [str(s) for s, k in zip(ds.state.values, ds.state_kind.values) if k in kinds]


def persons_in(ds: xr.Dataset, *kinds: str) -> xr.DataArray:
    """Persons in states of the given kinds, by territory and month."""
    return ds.occupancy_persons.sel(state=states_of_kind(ds, *kinds)).sum("state")


def housed_flow(ds: xr.Dataset) -> xr.DataArray:
    """Households moving into housing from the street or a shelter, plus the arrivals diverted
    straight into housing by prevention (``diverted``), by territory and month."""
    kind = dict(zip(ds.state.values, ds.state_kind.values))
    into_housing = [
        str(t) for t, src, dst in zip(ds.transition.values, ds.transition_source.values, ds.transition_target.values)
        if kind[dst] == "housing" and kind[src] in ("street", "shelter")
    ]
    housed = ds.flow.sel(transition=into_housing).sum("transition")
    if "diverted" in ds:
        housed = housed + ds.diverted.sum("cause")
    return housed


def returns_to_street(ds: xr.Dataset) -> xr.DataArray:
    """Households moving from housing back to the street, by territory and month."""
    kind = dict(zip(ds.state.values, ds.state_kind.values))
    back = [
        str(t) for t, src, dst in zip(ds.transition.values, ds.transition_source.values, ds.transition_target.values)
        if kind[src] == "housing" and kind[dst] == "street"
    ]
    return ds.flow.sel(transition=back).sum("transition")


def _period_wait(ds: xr.Dataset, kinds: tuple[str, ...], q: float) -> np.ndarray:
    """Quantile ``q`` of the waits of the households served during the months of ``ds`` by the
    waiting lists of states of the given kinds, pooled (interpolated inside the histogram's bins)."""
    hist = ds.wait_histogram.sel(state=states_of_kind(ds, *kinds)).sum(("state", "time"))
    return histogram_quantile(hist, q).transpose("territory").values


def period_indicators(ds: xr.Dataset, period: Period = None) -> pd.DataFrame:
    """Key figures of one run per territory over a period (default: the last 12 months).

    Stocks are means of the month-end values over the period; flows and costs are per year over
    the period; waits pool the households served during the period (quantiles interpolated inside
    the bins of ``wait_histogram``). The time to housing and the share housed within 12 months are
    Kaplan-Meier estimates over the households that entered during the run (NaN for a median not
    reached), not restricted to the period. ``attrs["period"]`` says which months were used.
    """
    first, last = period_indices(ds, period)
    part = ds.isel(time=slice(first, last + 1))
    years = part.sizes["time"] / 12
    n = ds.sizes["territory"]
    nan = np.full(n, np.nan)
    cost = total_cost(part)
    table = pd.DataFrame(
        {
            "territory": [str(v) for v in (ds.territory_label.values if "territory_label" in ds.coords else ds.territory.values)],
            "street_persons_start": persons_in_start(ds, "street").values,
            "street_persons": persons_in(part, "street").mean("time").values,
            "sheltered_persons": persons_in(part, *SHELTER_KINDS).mean("time").values,
            "housed_per_year": (housed_flow(part).sum("time") / years).values,
            "returns_to_street_per_year": (returns_to_street(part).sum("time") / years).values,
            "median_wait_shelter_days": _period_wait(part, SHELTER_KINDS, 0.5),
            "median_wait_housing_days": _period_wait(part, HOUSING_KINDS, 0.5),
            "p90_wait_housing_days": _period_wait(part, HOUSING_KINDS, 0.9),
            "median_time_to_housing_days": (
                ds.time_to_housing_km.sel(km_statistic="median").values if "time_to_housing_km" in ds else nan
            ),
            "share_housed_within_12_months": (
                ds.share_housed_within.sel(horizon=12).values if "share_housed_within" in ds else nan
            ),
            "total_cost_meur_per_year": (cost.sum("time").values / years / 1e6) if cost is not None else nan,
        },
        index=pd.Index([str(v) for v in ds.territory.values], name="territory_id"),
    )
    table.attrs["period"] = period_label(ds, period)
    return table


def summary_table(ds: xr.Dataset, period: Period = None) -> pd.DataFrame:
    """Per-territory key figures of a run over a period (default: the last 12 months); see
    :func:`period_indicators`."""
    return period_indicators(ds, period)


def persons_in_start(ds: xr.Dataset, *kinds: str) -> xr.DataArray:
    """Persons in states of the given kinds at the start of the run."""
    return ds.initial_occupancy_persons.sel(state=states_of_kind(ds, *kinds)).sum("state")


def format_summary(table: pd.DataFrame, lang: str = "en") -> str:
    """The summary table as aligned text for the terminal, in French (``lang="fr"``: labels, and
    numbers with a narrow no-break space between thousands) or English."""
    french = lang == "fr"

    def fmt(v: float) -> str:
        if not np.isfinite(v):
            return "—"
        return f"{v:,.0f}".replace(",", "\u202f") if french else f"{v:,.0f}"

    def share(v: float) -> str:
        return "—" if not np.isfinite(v) else f"{100 * v:.0f} %"

    day = "j" if french else "d"
    header = (
        ("territoire", "rue (début→période)", "hébergés", "relogés/an", "retours/an", "attente hébergement", "attente logement (p50/p90)",
         "délai logement (KM)", "logés en 12 mois")
        if french else
        ("territory", "street (start→period)", "sheltered", "housed/yr", "returns/yr", "wait shelter", "wait housing (p50/p90)",
         "time to housing (KM)", "housed in 12 months")
    )
    rows = [
        (
            row.territory,
            f"{fmt(row.street_persons_start)} → {fmt(row.street_persons)}",
            fmt(row.sheltered_persons),
            fmt(row.housed_per_year),
            fmt(row.returns_to_street_per_year),
            f"{fmt(row.median_wait_shelter_days)} {day}",
            f"{fmt(row.median_wait_housing_days)} / {fmt(row.p90_wait_housing_days)} {day}",
            f"{fmt(row.median_time_to_housing_days)} {day}",
            share(row.share_housed_within_12_months),
        )
        for row in table.itertuples()
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if table.attrs.get("period"):
        lines.append((
            f"Période {table.attrs['period']} : stocks en moyenne des fins de mois, flux par an, attentes des ménages servis ; "
            "délai d'accès au logement et part logée en 12 mois : Kaplan-Meier sur les entrées de toute la simulation"
            if french else
            f"Period {table.attrs['period']}: stocks are means of month ends, flows per year, waits of those served; "
            "time to housing and share housed within 12 months: Kaplan-Meier over the entries of the whole run"
        ))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Scenarios, replicates, waiting-time distributions and costs (used by the charts and the report)
# --------------------------------------------------------------------------------------------
#: Variables holding statistics of a distribution (mean, median, p90): they are not additive, so
#: over replicates they are summarised by their median rather than their mean.
STATISTIC_DIM = "statistic"


def scenario_names(ds: xr.Dataset) -> list[str]:
    """Names of the scenarios of a dataset: its ``scenario`` dimension (baseline first) or its one run."""
    if "scenario" in ds.dims:
        return [str(s) for s in ds["scenario"].values]
    if "scenario" in ds.coords:
        return [str(ds["scenario"].item())]
    return [str(ds.attrs.get("scenario", "?"))]


def select_scenario(ds: xr.Dataset, scenario: str | None = None) -> xr.Dataset:
    """The part of ``ds`` for one scenario (default: the first, the baseline).

    A dataset without a ``scenario`` dimension is its own single scenario; asking it for another
    name is an error. The scenario's name stays on the result as a scalar ``scenario`` coordinate.
    """
    names = scenario_names(ds)
    if scenario is None:
        scenario = names[0]
    if str(scenario) not in names:
        raise KeyError(f"scenario {scenario!r} is not in the dataset (scenarios: {', '.join(names)})")
    if "scenario" in ds.dims:
        return ds.sel(scenario=str(scenario))
    return ds


def collapse_replicates(ds: xr.Dataset) -> xr.Dataset:
    """One run's worth of figures from a dataset with a ``replicate`` dimension.

    Counts (stocks, flows, histograms, costs) are averaged over replicates, so that sums over states
    or transitions stay consistent; waiting-time statistics (variables with a ``statistic``
    dimension) take the median over replicates. The number of replicates is kept in the attribute
    ``replicates``. A dataset without replicates is returned unchanged.
    """
    if "replicate" not in ds.dims:
        return ds
    n = ds.sizes["replicate"]
    out = xr.Dataset(coords={k: v for k, v in ds.coords.items() if "replicate" not in v.dims}, attrs=dict(ds.attrs))
    for name, var in ds.data_vars.items():
        if "replicate" not in var.dims:
            out[name] = var
        elif STATISTIC_DIM in var.dims or "km_statistic" in var.dims or not np.issubdtype(var.dtype, np.number):
            out[name] = var.median("replicate", skipna=True, keep_attrs=True) if np.issubdtype(var.dtype, np.number) else var.isel(replicate=0, drop=True)
        else:
            out[name] = var.mean("replicate", skipna=True, keep_attrs=True)
    out.attrs["replicates"] = int(n)
    return out


def replicate_band(da: xr.DataArray, low: float = 0.1, high: float = 0.9) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Median and ``low``–``high`` quantiles over the ``replicate`` dimension (all three equal without it)."""
    if "replicate" not in da.dims:
        return da, da, da
    q = da.quantile([low, 0.5, high], dim="replicate", skipna=True)
    return q.isel(quantile=1, drop=True), q.isel(quantile=0, drop=True), q.isel(quantile=2, drop=True)


def histogram_quantile(hist: xr.DataArray, q: float, dim: str = "wait_bin") -> xr.DataArray:
    """Quantile ``q`` of a histogram of waiting times, by linear interpolation inside its bins.

    ``hist`` holds counts along ``dim``, whose coordinate is the lower edge of each bin and whose
    ``wait_bin_upper`` coordinate (if any) the upper edge; the open last bin gives its lower edge.
    NaN where the histogram is empty.
    """
    lower = hist[dim].values.astype(float)
    upper = hist["wait_bin_upper"].values.astype(float) if "wait_bin_upper" in hist.coords else np.append(lower[1:], np.inf)
    upper = np.where(np.isfinite(upper), upper, lower)

    def one(counts: np.ndarray) -> np.ndarray:
        counts = np.nan_to_num(counts.astype(float))
        total = counts.sum(axis=-1)
        cum = np.cumsum(counts, axis=-1)
        target = q * total
        idx = np.minimum((cum < target[..., None]).sum(axis=-1), counts.shape[-1] - 1)
        before = np.take_along_axis(cum, idx[..., None], axis=-1)[..., 0] - np.take_along_axis(counts, idx[..., None], axis=-1)[..., 0]
        inside = np.take_along_axis(counts, idx[..., None], axis=-1)[..., 0]
        frac = np.divide(target - before, inside, out=np.zeros_like(target), where=inside > 0)
        value = lower[idx] + np.clip(frac, 0, 1) * (upper[idx] - lower[idx])
        return np.where(total > 0, value, np.nan)

    return xr.apply_ufunc(one, hist, input_core_dims=[[dim]], keep_attrs=False)


def pooled_wait_quantile(ds: xr.Dataset, *kinds: str, q: float = 0.5) -> xr.DataArray:
    """Quantile ``q`` of the waits (days) of the households served in the month by the waiting
    lists of states of the given kinds, pooled, from ``wait_histogram``; NaN in months without any."""
    hist = ds.wait_histogram.sel(state=states_of_kind(ds, *kinds)).sum("state")
    return histogram_quantile(hist, q)


def total_cost(ds: xr.Dataset) -> xr.DataArray | None:
    """Cost of the month (EUR) summed over states, plus ``support_cost`` and the one-off
    ``production_cost`` of the units delivered in the month when present; None without ``cost``."""
    if "cost" not in ds:
        return None
    total = ds.cost.sum("state")
    if "support_cost" in ds:
        total = total + ds.support_cost.fillna(0)
    if "production_cost" in ds:
        total = total + ds.production_cost.sum("state").fillna(0)
    return total
