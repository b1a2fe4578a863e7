"""CF metadata for results datasets (CF conventions 1.10).

:func:`cf_metadata` returns a copy of a results dataset whose metadata a CF reader understands:

- **units** that UDUNITS parses: counts of households, persons, offers, lettings, places, slots
  and euros are dimensionless (``"1"``), what they count kept in ``counted_in`` (``households``,
  ``persons``, ``EUR``...); durations are in ``day``;
- **cell_methods** that tell stocks from monthly sums: ``time: point`` for a stock taken at the end
  of the month (occupancy, capacity, queues, support slots), ``time: sum`` for what happens during
  the month (flows, entries, exits, offers, costs...), ``time: mean`` for a time average
  (``occupancy_mean``); statistics over the households of a month (waiting times) have none;
- **time bounds**: ``time`` keeps its value, the first day of the month (every lda_sim reader
  selects months by it), with ``bounds: time_bnds``, the month from its first day to the first
  day of the next. A stock's instant is the end of its cell (the upper bound), which its
  ``cell_methods`` comment says;
- the ``Conventions`` claim ``CF-1.10``.

It is idempotent and leaves the data untouched.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

CONVENTIONS = "CF-1.10"

#: Stocks at the end of each month.
STOCKS = frozenset({
    "occupancy", "occupancy_persons", "capacity", "queue_length", "support_slots", "support_used", "occupancy_by_kind",
    "occupancy_persons_by_kind", "occupancy_persons_regular", "street_not_calling",
})
#: Time averages over the month.
MEANS = frozenset({"occupancy_mean"})
#: Counts and amounts summed over the month.
SUMS = frozenset({
    "flow", "flow_persons", "entries", "entries_persons", "exits", "served", "wait_histogram", "offers", "refusals",
    "lettings", "lettings_unused", "cost", "support_cost", "prevented", "diverted", "migration", "migration_persons",
    "migration_out", "migration_in", "mobility_offers", "mobility_refusals", "requests_115", "requests_115_unmet",
    "regularised", "support_started", "cost_by_needs", "units_delivered", "production_cost",
})

#: The domain units lda_sim writes that are counts (or money): CF units ``1``.
COUNT_UNITS = frozenset({"households", "persons", "offers", "lettings", "requests", "slots", "places or units", "places", "units", "EUR", "runs"})
#: Units written in words that UDUNITS spells otherwise.
UNIT_NAMES = {"days": "day", "day": "day", "years": "year", "months": "month"}

_CELL_METHODS = {
    **{name: "time: point (at the end of the month, the upper bound of time_bnds)" for name in STOCKS},
    **{name: "time: mean" for name in MEANS},
    **{name: "time: sum" for name in SUMS},
}


def month_bounds(time: xr.DataArray) -> np.ndarray:
    """(n, 2) bounds of the months of ``time``: their first day and the first day of the next."""
    months = time.values.astype("datetime64[M]")
    return np.stack([months, months + np.timedelta64(1, "M")], axis=1).astype("datetime64[ns]")


def _cf_units(attrs: dict[str, object]) -> dict[str, object]:
    attrs = dict(attrs)
    units = attrs.get("units")
    if isinstance(units, str):
        if units in COUNT_UNITS:
            attrs["units"] = "1"
            attrs.setdefault("counted_in", units)
        elif units in UNIT_NAMES:
            attrs["units"] = UNIT_NAMES[units]
    return attrs


def cf_metadata(ds: xr.Dataset) -> xr.Dataset:
    """A copy of ``ds`` with CF-correct units, cell methods, time bounds and Conventions claim
    (see the module's documentation); the values are unchanged."""
    out = ds.copy(deep=False)
    for name in list(out.variables):
        if name in out.dims and name == "time":
            continue
        attrs = _cf_units(out[name].attrs)
        method = _CELL_METHODS.get(str(name))
        if method and "time" in out[name].dims:
            attrs["cell_methods"] = method
        out[name].attrs = attrs
    if "time" in out.dims and np.issubdtype(out["time"].dtype, np.datetime64):
        if "time_bnds" in out.variables:
            out = out.drop_vars("time_bnds")
        out = out.assign_coords(time_bnds=(("time", "bnds"), month_bounds(out["time"])))
        out["time"].attrs = {
            **out["time"].attrs, "standard_name": "time", "axis": "T", "bounds": "time_bnds",
            "long_name": "Month, labelled by its first day; it spans time_bnds (stocks at its end, flows during it)",
        }
        first = str(out["time"].values[0].astype("datetime64[D]")) if out.sizes["time"] else "1970-01-01"
        for name in ("time", "time_bnds"):  # the same units for both, as CF asks
            out[name].encoding.update(units=f"days since {first}", calendar="proleptic_gregorian")
    out.attrs["Conventions"] = CONVENTIONS
    return out
