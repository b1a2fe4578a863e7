"""CF metadata of results datasets: units, cell methods, month bounds, the Conventions claim."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import lda_sim
from lda_sim.dataset.cf import CONVENTIONS, COUNT_UNITS, MEANS, STOCKS, SUMS, cf_metadata
from lda_sim.dataset.output import open_results, save_dataset

SMALL = Path(__file__).parent / "data" / "scenario_small.yaml"


@pytest.fixture(scope="module")
def raw() -> xr.Dataset:
    return lda_sim.run_scenario(SMALL, years=0.5, seed=3)


@pytest.fixture(scope="module")
def cf(raw: xr.Dataset) -> xr.Dataset:
    return cf_metadata(raw)


def test_units_are_udunits_and_keep_what_they_count(raw: xr.Dataset, cf: xr.Dataset) -> None:
    for name, var in cf.data_vars.items():
        units = var.attrs["units"]
        assert units in ("1", "day"), (name, units)  # dimensionless counts and amounts, or days
        original = raw[name].attrs["units"]
        if original in COUNT_UNITS:
            assert units == "1" and var.attrs["counted_in"] == original, name
    assert cf.occupancy.attrs["counted_in"] == "households" and cf.cost.attrs["counted_in"] == "EUR"
    assert cf.wait_days.attrs["units"] == "day" and cf.wait_bin.attrs["units"] == "day"
    assert raw.occupancy.attrs["units"] == "households"  # the input dataset is not modified


def test_cell_methods_tell_stocks_from_monthly_sums(cf: xr.Dataset) -> None:
    timed = {name for name, var in cf.data_vars.items() if "time" in var.dims}
    assert STOCKS | MEANS | SUMS >= timed - {"wait_days", "time_to_housing"}  # every monthly variable is classified
    for name in timed:
        method = cf[name].attrs.get("cell_methods")
        if name in STOCKS:
            assert method.startswith("time: point"), name
        elif name in SUMS:
            assert method == "time: sum", name
        elif name in MEANS:
            assert method == "time: mean", name
        else:  # statistics over the households served in the month, not over time
            assert method is None, name
    assert "cell_methods" not in cf.wait_days_run.attrs  # no time dimension


def test_stocks_are_month_ends_and_sums_cover_the_month(raw: xr.Dataset) -> None:
    """The semantics the cell methods claim: a month's closing stock is the previous stock plus
    the month's entries minus its exits."""
    inside = raw.occupancy.where(raw.state_kind != "exit", 0).sum("state")
    before = raw.initial_occupancy.where(raw.state_kind != "exit", 0).sum("state")
    change = raw.entries.sum("cause") - raw.exits.sum("exit_state")
    np.testing.assert_array_equal(inside.values, (before + change.cumsum("time")).transpose(*inside.dims).values)


def test_time_has_month_bounds(cf: xr.Dataset, raw: xr.Dataset) -> None:
    bounds = cf.time_bnds.values
    assert cf.time.attrs["bounds"] == "time_bnds" and cf.time.attrs["standard_name"] == "time"
    assert bounds.shape == (raw.sizes["time"], 2)
    np.testing.assert_array_equal(bounds[:, 0], raw.time.values)  # the label is the first day
    np.testing.assert_array_equal(bounds[:-1, 1], bounds[1:, 0])  # contiguous months
    assert str(bounds[-1, 1])[:10] == str((raw.time.values[-1].astype("datetime64[M]") + 1).astype("datetime64[D]"))
    assert cf.attrs["Conventions"] == CONVENTIONS == "CF-1.10"


def test_values_unchanged_and_idempotent(raw: xr.Dataset, cf: xr.Dataset) -> None:
    for name in raw.data_vars:
        xr.testing.assert_equal(cf[name].drop_attrs(), raw[name].drop_attrs())
    assert cf_metadata(cf).identical(cf)


def test_written_file_carries_the_metadata_and_reads_back(raw: xr.Dataset, tmp_path: Path) -> None:
    path = save_dataset(raw, tmp_path / "r.nc")
    with h5py.File(path) as f:
        assert f.attrs["Conventions"] == "CF-1.10"
        assert f["time"].attrs["units"] == f["time_bnds"].attrs.get("units", f["time"].attrs["units"])
        assert f["flow"].attrs["cell_methods"] == "time: sum"
        assert f["occupancy"].attrs["units"] == "1"
    back = open_results(path)
    np.testing.assert_array_equal(back.time.values, raw.time.values)
    assert "time_bnds" not in back.variables  # in memory a month is its label; saving writes the bounds again
    xr.testing.assert_equal(back.occupancy.drop_attrs(), raw.occupancy.drop_attrs())
