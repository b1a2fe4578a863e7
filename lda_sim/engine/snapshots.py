"""Results at chosen instants: the stocks of a run at the dates of ``scenario.snapshots``.

A snapshot is taken at the start of its day (00:00), on the model's clock (see
:mod:`lda_sim.config.timebase`): after the kernel's events up to that instant and before the levers
dated that day act, as the month-end stocks are. A snapshot on the first of a month therefore
equals the stocks at the end of the month before. The model runs to each instant (it stops there
on the way, whatever drives it: ``run``, ``run_for``, ``run_until``) and the stocks are read from
the kernel's arrays; the kernel's loop is not involved.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from ..config.timebase import day_of
from . import kernel as k

if TYPE_CHECKING:  # pragma: no cover
    from .model import HousingModel

__all__ = ["Snapshots"]

#: Dataset variables of the snapshots: (name, units, long name).
VARIABLES = (
    ("snapshot_occupancy", "households", "Households in each state at the snapshot instant (the start of its day)"),
    ("snapshot_occupancy_persons", "persons", "Persons in each state at the snapshot instant"),
    ("snapshot_capacity", "places or units", "Capacity at the snapshot instant: places (persons) for shelters, units (households) for housing, the whole stock for turnover-supplied housing"),
    ("snapshot_queue_length", "households", "Households waiting for a vacancy in the state at the snapshot instant"),
)


class Snapshots:
    """The snapshot instants of a run and the stocks recorded at those passed so far."""

    def __init__(self, model: HousingModel) -> None:
        scenario = model.scenario
        dates = sorted(set(getattr(scenario, "snapshots", ()) or ()))
        times = [day_of(d, scenario.start) for d in dates]
        keep = [i for i, t in enumerate(times) if 0 <= t <= model.horizon]  # a shortened horizon leaves later ones out
        self.dates = [dates[i] for i in keep]
        self.times = [times[i] for i in keep]
        self.taken: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    @property
    def next_time(self) -> float:
        """The instant of the next snapshot not taken yet (infinity when none is left)."""
        return self.times[len(self.taken)] if len(self.taken) < len(self.times) else math.inf

    def take(self, model: HousingModel) -> None:
        """Record the stocks now (the model is at :attr:`next_time`)."""
        a = model._a
        n_t, n_s = a["occ_h"].shape
        capacity = np.array([[k.capacity(model._st, t, s) for s in range(n_s)] for t in range(n_t)], dtype=float)
        queue = np.where(a["qidx"][None, :] >= 0, a["wl_count"].astype(float), np.nan)
        self.taken.append((a["occ_h"].copy(), a["occ_p"].copy(), capacity, queue))

    def add_to(self, ds: xr.Dataset) -> xr.Dataset:
        """``ds`` with the snapshots taken so far as variables along a ``snapshot`` dimension."""
        if not self.taken:
            return ds
        dims = ("territory", "state", "snapshot")
        for i, (name, units, long_name) in enumerate(VARIABLES):
            data = np.stack([values[i] for values in self.taken], axis=-1)
            ds[name] = (dims, data, {"units": units, "long_name": long_name})
        ds.coords["snapshot"] = (
            "snapshot", np.array(self.dates[: len(self.taken)], dtype="datetime64[D]").astype("datetime64[ns]"),
            {"long_name": "Instant of the snapshot (the start of its day)"},
        )
        ds.coords["snapshot_day"] = ("snapshot", np.array(self.times[: len(self.taken)]), {"units": "days", "long_name": "Model time of the snapshot, days from the start"})
        return ds
