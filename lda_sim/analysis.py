"""Indicators computed from a results dataset (everything shown to a person comes from here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

SHELTER_KINDS = ("shelter",)
HOUSING_KINDS = ("housing",)


def states_of_kind(ds: xr.Dataset, *kinds: str) -> list[str]:
    """Names of the states of the given kinds (street, shelter, housing, exit)."""
    return [str(s) for s, k in zip(ds.state.values, ds.state_kind.values) if k in kinds]


def persons_in(ds: xr.Dataset, *kinds: str) -> xr.DataArray:
    """Persons in states of the given kinds, by territory and month."""
    return ds.occupancy_persons.sel(state=states_of_kind(ds, *kinds)).sum("state")


def housed_flow(ds: xr.Dataset) -> xr.DataArray:
    """Households moving into housing from the street or a shelter, by territory and month."""
    kind = dict(zip(ds.state.values, ds.state_kind.values))
    into_housing = [
        str(t) for t, src, dst in zip(ds.transition.values, ds.transition_source.values, ds.transition_target.values)
        if kind[dst] == "housing" and kind[src] in ("street", "shelter")
    ]
    return ds.flow.sel(transition=into_housing).sum("transition")


def returns_to_street(ds: xr.Dataset) -> xr.DataArray:
    """Households moving from housing back to the street, by territory and month."""
    kind = dict(zip(ds.state.values, ds.state_kind.values))
    back = [
        str(t) for t, src, dst in zip(ds.transition.values, ds.transition_source.values, ds.transition_target.values)
        if kind[src] == "housing" and kind[dst] == "street"
    ]
    return ds.flow.sel(transition=back).sum("transition")


def summary_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per-territory key figures of a run: at the horizon, and per year over the run."""
    years = ds.sizes["time"] / 12
    last = dict(time=-1)
    table = pd.DataFrame(
        {
            "territory": [str(v) for v in ds.territory_label.values],
            "street_persons_start": persons_in_start(ds, "street").values,
            "street_persons_end": persons_in(ds, "street").isel(last).values,
            "sheltered_persons_end": persons_in(ds, *SHELTER_KINDS).isel(last).values,
            "housed_households_per_year": (housed_flow(ds).sum("time") / years).values,
            "returns_to_street_per_year": (returns_to_street(ds).sum("time") / years).values,
            "median_wait_shelter_days": ds.wait_days_by_kind.sel(state_group="shelter", statistic="median").values,
            "median_wait_housing_days": ds.wait_days_by_kind.sel(state_group="housing", statistic="median").values,
            "p90_wait_housing_days": ds.wait_days_by_kind.sel(state_group="housing", statistic="p90").values,
        },
        index=pd.Index([str(v) for v in ds.territory.values], name="territory_id"),
    )
    return table


def persons_in_start(ds: xr.Dataset, *kinds: str) -> xr.DataArray:
    """Persons in states of the given kinds at the start of the run."""
    return ds.initial_occupancy_persons.sel(state=states_of_kind(ds, *kinds)).sum("state")


def format_summary(table: pd.DataFrame) -> str:
    """The summary table as aligned text for the terminal."""
    def fmt(v: float) -> str:
        return "—" if not np.isfinite(v) else f"{v:,.0f}"

    header = ("territory", "street (start→end)", "sheltered (end)", "housed/yr", "returns/yr", "wait shelter", "wait housing (p50/p90)")
    rows = [
        (
            row.territory,
            f"{fmt(row.street_persons_start)} → {fmt(row.street_persons_end)}",
            fmt(row.sheltered_persons_end),
            fmt(row.housed_households_per_year),
            fmt(row.returns_to_street_per_year),
            f"{fmt(row.median_wait_shelter_days)} d",
            f"{fmt(row.median_wait_housing_days)} / {fmt(row.p90_wait_housing_days)} d",
        )
        for row in table.itertuples()
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
