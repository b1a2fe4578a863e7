"""The mechanisms of issue 14 on small configurations: the 115 answers calls, families first,
lettings shared by origin, regularisation, support for a limited time, initial waits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lda_sim import HousingModel, load_scenario
from lda_sim.dataset.trajectories import trajectory_table

PATHWAY = """
pathway:
  name: line
  size_classes: {small: {max_persons: 2}, large: {max_persons: 99}}
  kinds:
    single: {persons: {1: 1.0}, isolated: true}
    family: {persons: {3: 1.0}, isolated: false, family: true}
  states:
    street: {kind: street}
    shelter: {kind: shelter}
    social: {kind: housing, supply: turnover}
    gone: {kind: exit}
  transitions:
    - {from: street, to: shelter, mode: queue, request: true}
    - {from: street, to: social, mode: queue, eligible: {regular_status: [true]}}
    - {from: street, to: gone, mode: hazard}
    - {from: shelter, to: social, mode: queue, eligible: {regular_status: [true]}}
    - {from: shelter, to: street, mode: stay}
    - {from: shelter, to: gone, mode: stay}
    - {from: social, to: gone, mode: hazard}
"""


def write(folder: Path, *, places: int = 20, arrivals: float = 600.0, calls: float = 1.0, outreach: float = 0.0,
          family_share: float = 0.0, by_origin: str = "", regular: float = 1.0, regularisation: float = 0.0,
          lettings_share: float = 0.0, rule: str = "fcfs", years: float = 3, seed: int = 11, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pathway.yaml").write_text(PATHWAY, encoding="utf-8")
    kinds = f"{{single: {1 - family_share!r}, family: {family_share!r}}}" if family_share else "{single: 1.0}"
    (folder / "territory.yaml").write_text(
        "territory: {name: town, label: Town}\n"
        f"population: {{kinds: {kinds}, needs: {{low: 1.0}}, regular_status_share: {regular!r}, priority_share: 0, calls_115_share: {calls!r}}}\n"
        f"inflows: {{other: {{households_per_year: {arrivals!r}}}}}\n"
        "emergency_line:\n"
        "  request_days: 1\n"
        "  recall_after: {law: exponential, mean_days: 5}\n"
        f"  outreach_per_year: {outreach!r}\n"
        f"status: {{regularisation_per_year: {regularisation!r}}}\n"
        "states:\n"
        f"  shelter: {{places: {places}, stay: {{law: exponential, mean_days: 60}}}}\n"
        f"  social: {{stock_units: 10000, turnover_rate: 0.1, share_to_homeless: {lettings_share!r}, size_mix: {{small: 0.8, large: 0.2}}{by_origin}}}\n"
        "transitions:\n"
        "  street->gone: {rate_per_year: 2.0}\n"
        "  shelter->street: {weight: 0.6}\n"
        "  shelter->gone: {weight: 0.4}\n"
        "  social->gone: {rate_per_year: 0.05}\n",
        encoding="utf-8",
    )
    scenario = folder / "scenario.yaml"
    scenario.write_text(
        f"scenario:\n  name: line\n  start: 2025-01\n  years: {years}\n  seed: {seed}\n  pathway: pathway.yaml\n"
        f"  territories: [territory.yaml]\n  allocation: {{rule: fcfs, rules: {{shelter: {rule}}}}}\n" + extra,
        encoding="utf-8",
    )
    return scenario


def run(path: Path, *, trajectories: bool = False) -> tuple[HousingModel, object]:
    model = HousingModel(load_scenario(path), trajectories=trajectories)
    model.check_capacities()
    return model, model.run()


def test_requests_are_met_or_lapse(tmp_path: Path) -> None:
    """Every request to the 115 ends in an admission or lapses, but those open at the end."""
    model, ds = run(write(tmp_path, places=20, arrivals=800))
    d = ds.isel(territory=0)
    requests, unmet = int(d.requests_115.sum()), int(d.requests_115_unmet.sum())
    admitted = int(d.flow.sel(transition="street->shelter").sum())
    on_street = int(d.occupancy.sel(state="street")[-1])
    assert unmet > 0 and admitted > 0
    assert 0 <= requests - unmet - admitted <= on_street
    assert model.capacity_checks > 0


def test_unmet_share_rises_with_the_load(tmp_path: Path) -> None:
    shares = []
    for places in (600, 15):
        ds = run(write(tmp_path / str(places), places=places, arrivals=800))[1].isel(territory=0)
        shares.append(float(ds.requests_115_unmet.sum() / ds.requests_115.sum()))
    assert shares[0] < 0.2 < 0.5 < shares[1]


def test_households_who_do_not_call_are_reached_only_by_outreach(tmp_path: Path) -> None:
    silent = run(write(tmp_path / "silent", places=250, calls=0.0, outreach=0.0))[1].isel(territory=0)
    assert int(silent.requests_115.sum()) == 0
    assert int(silent.flow.sel(transition="street->shelter").sum()) == 0
    reached = run(write(tmp_path / "outreach", places=250, calls=0.0, outreach=4.0))[1].isel(territory=0)
    assert int(reached.flow.sel(transition="street->shelter").sum()) > 100
    # with places to spare, they spend longer on the street than callers
    callers = run(write(tmp_path / "callers", places=250, calls=1.0))[1].isel(territory=0)
    assert float(reached.occupancy.sel(state="street").mean()) > 1.5 * float(callers.occupancy.sel(state="street").mean())


def test_families_first_shelters_families_ahead_of_single_people(tmp_path: Path) -> None:
    street_share = {}
    for rule in ("fcfs", "families_first"):
        model, ds = run(write(tmp_path / rule, places=30, arrivals=900, family_share=0.25, rule=rule), trajectories=True)
        table = trajectory_table(model)
        admitted = table[(table.from_state == "street") & (table.to_state == "shelter")]
        on_street = model.households(state="street")
        street_share[rule] = (float(admitted.kind.eq("family").mean()), float(np.mean([h.family for h in on_street])))
    # first come first served: a family needs 3 free places at once, so single people overtake it
    assert street_share["fcfs"][1] > 0.25
    assert street_share["families_first"][0] > 0.25 > street_share["families_first"][1]


def test_no_household_retakes_its_own_place_at_once(tmp_path: Path) -> None:
    model, _ = run(write(tmp_path, places=20, arrivals=800), trajectories=True)
    table = trajectory_table(model)
    moves = table[table.event.isin(["move", "exit"])].sort_values(["household_id", "seq"])
    following = moves.groupby("household_id")[["to_state", "time_days"]].shift(-1)
    left = (moves.from_state == "shelter") & (moves.to_state == "street")
    back = following[left]
    assert left.sum() > 200
    assert not ((back.to_state == "shelter") & (back.time_days == moves.time_days[left])).any()
    assert float(((back.to_state == "shelter") & (back.time_days - moves.time_days[left] < 1)).mean()) < 0.2


def test_lettings_go_to_each_public_by_its_share(tmp_path: Path) -> None:
    def lettings(by_origin: str) -> tuple[int, int]:
        ds = run(write(tmp_path / str(abs(hash(by_origin))), places=40, arrivals=500, lettings_share=0.1, by_origin=by_origin))[1]
        d = ds.isel(territory=0)
        return int(d.flow.sel(transition="street->social").sum()), int(d.flow.sel(transition="shelter->social").sum())

    street, shelter = lettings(", lettings_by_origin: {street: 1.0}")
    assert street > 100 and shelter < 0.05 * street  # shelter residents only when no street household fits
    street, shelter = lettings(", lettings_by_origin: {shelter: 1.0}")
    assert shelter > 100 and street < 0.05 * shelter
    street, shelter = lettings(", lettings_by_origin: {street: 0.5, shelter: 0.5}")
    assert 0.4 < street / (street + shelter) < 0.6


def test_regularisation_opens_the_queues_to_housing(tmp_path: Path) -> None:
    ds = run(write(tmp_path / "none", regular=0.0, lettings_share=0.05))[1].isel(territory=0)
    assert int(ds.regularised.sum()) == 0 and int(ds.flow.sel(transition=["street->social", "shelter->social"]).sum()) == 0
    ds = run(write(tmp_path / "some", regular=0.0, regularisation=0.5, lettings_share=0.05))[1].isel(territory=0)
    regularised = int(ds.regularised.sum())
    assert regularised > 50
    assert 0 < int(ds.flow.sel(transition=["street->social", "shelter->social"]).sum()) <= regularised


def test_support_for_a_limited_time_rotates(tmp_path: Path) -> None:
    def started(days: str) -> int:
        policy = ("  policies:\n    - {type: support, start: 2025-01, slots: 10, states: [social], failure_reduction: 0.5"
                  + days + "}\n")
        ds = run(write(tmp_path / str(len(days)), lettings_share=0.05, extra=policy))[1].isel(territory=0)
        assert int(ds.support_used.max()) <= 10
        return int(ds.support_started.sum())

    whole_tenancy = started("")
    limited = started(", support_days: {law: fixed, days: 90}")
    assert whole_tenancy <= 12  # ten slots, taken again only when a supported tenant leaves
    assert limited > 3 * whole_tenancy


def test_initial_waits_run_from_the_state_entry() -> None:
    """The initial population has waited since it entered its state: the first year's median
    wait for social housing does not start near zero and climb (no ramp)."""
    ds = HousingModel(load_scenario("configs/scenarios/baseline.yaml", years=3)).run()
    waits = ds.wait_days.sel(territory="aix-marseille-provence", state="social_housing", statistic="median").values
    first, third = np.nanmedian(waits[:12]), np.nanmedian(waits[24:])
    assert first > 0.5 * third


@pytest.mark.parametrize("factor", [2.0])
def test_more_social_lettings_to_homeless_households_lower_street_and_shelter(factor: float) -> None:
    def street_and_shelter(share: float) -> float:
        overrides = {"territory.aix-marseille-provence.states.social_housing.share_to_homeless": share}
        ds = HousingModel(load_scenario("configs/scenarios/baseline.yaml", years=4, overrides=overrides)).run()
        d = ds.sel(territory="aix-marseille-provence").isel(time=slice(-12, None))
        return float(d.occupancy_persons.sel(state=["street", "emergency_shelter", "hotel", "insertion_shelter"]).sum("state").mean())

    base, more = street_and_shelter(0.0796), street_and_shelter(0.0796 * factor)
    assert more < base - 300


def test_stocks_by_kind_status_and_calling_agree_with_the_totals(tmp_path: Path) -> None:
    ds = run(write(tmp_path / "a", places=30, arrivals=800, family_share=0.3, regular=0.4, regularisation=0.3, calls=0.5, outreach=1.0))[1]
    np.testing.assert_array_equal(ds.occupancy_by_kind.sum("household_kind").values, ds.occupancy.values)
    assert (ds.occupancy_persons_regular <= ds.occupancy_persons).all()
    assert int(ds.regularised.sum()) > 0 and float(ds.occupancy_persons_regular.sum()) > 0
    street = ds.occupancy.sel(state="street")
    assert (ds.street_not_calling <= street).all() and int(ds.street_not_calling.sum()) > 0
    silent = run(write(tmp_path / "b", calls=0.0, outreach=0.0))[1]
    np.testing.assert_array_equal(silent.street_not_calling.values, silent.occupancy.sel(state="street").values)


def test_a_spin_up_is_the_same_run_started_earlier(tmp_path: Path) -> None:
    """Spinning up S years then reporting Y years gives the last Y years of an S + Y year run (no
    policy): the spin-up only moves the start of the reports, not the dynamics."""
    long_path = write(tmp_path / "long", places=30, arrivals=700, years=4, lettings_share=0.02, family_share=0.2, regular=0.6, regularisation=0.2)
    spun_path = write(tmp_path / "spun", places=30, arrivals=700, years=2, lettings_share=0.02, family_share=0.2, regular=0.6, regularisation=0.2)
    text = spun_path.read_text(encoding="utf-8").replace("  years: 2\n", "  years: 2\n  spin_up_years: 2\n")
    spun_path.write_text(text, encoding="utf-8")
    long_model, long_ds = run(long_path)
    spun_model, spun_ds = run(spun_path, trajectories=True)
    for name in ("occupancy", "occupancy_persons", "queue_length", "flow", "requests_115", "requests_115_unmet", "regularised"):
        np.testing.assert_array_equal(spun_ds[name].values, long_ds[name].isel(time=slice(24, None)).values, err_msg=name)
    np.testing.assert_array_equal(spun_ds.initial_occupancy.values, long_ds.occupancy.isel(time=23).values)
    assert spun_model.capacity_checks > 0
    # the trajectories start from the population in place: every household has an entry at time 0
    table = trajectory_table(spun_model)
    first = table.sort_values(["household_id", "seq"]).groupby("household_id").first()
    assert first.event.isin(["initial", "entry"]).all()
    assert int((first.event == "initial").sum()) == int(spun_ds.initial_occupancy.where(spun_ds.state_kind != "exit", 0).sum())
