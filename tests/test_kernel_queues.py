"""The kernel's own queues: the pool of rows that holds the waiting lists' heaps, and the rings
that hold the lapses of 115 requests (merged with the event queue by time, then sequence)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr

from lda_sim.config.scenario import load_scenario
from lda_sim.engine import kernel as k
from lda_sim.engine.model import HousingModel

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "scenarios" / "baseline.calibrated.yaml"


def _lists(model: HousingModel) -> dict[tuple[int, int], list[int]]:
    """Every waiting list's households, in the order of its heaps' arrays."""
    states = model.scenario.pathway.states
    return {
        (t, s.index): k.wl_households(model._st, t, s.index).tolist()
        for t in range(len(model.scenario.territories))
        for s in states
        if s.capacitated
    }


def test_compacting_the_pool_keeps_every_list_and_the_run() -> None:
    scenario = load_scenario(BASELINE, years=2, seed=3)
    compacted, plain = HousingModel(scenario), HousingModel(scenario)
    compacted.run_until(365.0)
    plain.run_until(365.0)
    before = _lists(compacted)
    assert sum(map(len, before.values())) > 1000  # the 115's lists are long in the calibrated baseline
    allocated, handed_out, entries = k.pool_rows(compacted._st)
    k.compact_heaps(compacted._st)
    assert _lists(compacted) == before
    allocated_after, handed_out_after, entries_after = k.pool_rows(compacted._st)
    assert entries_after == entries
    assert handed_out_after <= handed_out and allocated_after <= max(allocated, 2 * handed_out_after)
    compacted.run_until(compacted.horizon)
    plain.run_until(plain.horizon)
    xr.testing.assert_identical(compacted.dataset(), plain.dataset())


def test_the_pool_grows_with_the_entries_not_with_their_history() -> None:
    """Heaps that outgrow their rows move to new ones; the rows left behind are given back when
    the pool is full, so it stays within a small multiple of the rows the heaps hold."""
    model = HousingModel(load_scenario(BASELINE, years=5, seed=4))
    model.run_until(model.horizon)
    allocated, handed_out, entries = k.pool_rows(model._st)
    n_heaps = len(model.scenario.territories) * len(model.scenario.pathway.states) * k.MAX_PERSONS_BIN
    # after a compaction each heap has room for twice its rows (at least 8), the pool twice that;
    # the last factor 2 allows for lists that were longer at the last compaction than at the end
    assert handed_out <= allocated <= max(4096, 2 * (2 * entries + 8 * n_heaps)) * 2


def test_lapses_come_out_by_time_then_order_of_filing() -> None:
    model = HousingModel(load_scenario(BASELINE, years=1, seed=5))
    st, clock = model._st, model._clock
    while clock[k.K_LAPSE] < math.inf:  # the spin-up's open requests
        k._lapse_pop(st)
    rng = np.random.default_rng(11)
    filed = []
    now = [0.0, 0.0]
    for i in range(500):  # more than a ring's first rows; each territory's times mostly go up
        t = int(rng.integers(2))
        now[t] += float(rng.choice([0.0, rng.exponential(1.0), -0.5]))  # ties, gaps, a time that goes back
        k.lapse_push(st, t, now[t], 10_000 + i, i)
        filed.append((now[t], i))
    out = []
    while clock[k.K_LAPSE] < math.inf:
        time = float(clock[k.K_LAPSE])
        slot, token = k._lapse_pop(st)
        out.append((time, int(token)))
        assert slot == 10_000 + token
    assert out == sorted(filed)  # by time, ties in the order they were filed
