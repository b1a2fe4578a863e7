"""Pathway files that extend another (``pathway.extends``), optional states, and the national
pathway (france-national.yaml: france.yaml plus asylum housing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lda_sim import HousingModel, load_scenario
from lda_sim.config.errors import ConfigError
from lda_sim.config.pathway import Pathway
from lda_sim.config.provenance import Provenance
from lda_sim.config.scenario import load_pathway
from lda_sim.dataset.trajectories import trajectory_table

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
NATIONAL = ROOT / "configs" / "pathways" / "france-national.yaml"
AMP = ROOT / "configs" / "territories" / "aix-marseille-provence.yaml"


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def child(tmp_path: Path, name: str = "child.yaml", **spec: Any) -> Path:
    """A pathway file extending the small test pathway."""
    return write(tmp_path / name, {"pathway": {"name": "child", "extends": str(DATA / "pathway_small.yaml"), **spec}})


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_pathway(path)
    assert "\n" not in str(info.value)
    return info.value


# --------------------------------------------------------------------------------------------
# extends: inherit, add, override
# --------------------------------------------------------------------------------------------
def test_extends_inherits_and_adds(tmp_path: Path) -> None:
    parent = load_pathway(DATA / "pathway_small.yaml")
    path = child(
        tmp_path,
        states={"respite": {"kind": "shelter", "label": {"fr": "Répit", "en": "Respite"}}},
        transitions=[
            {"from": "street", "to": "respite", "mode": "queue", "eligible": {"needs": ["high"]}},
            {"from": "respite", "to": "street", "mode": "hazard"},
        ],
    )
    p = load_pathway(path)
    assert p.name == "child" and p.description == ""
    assert [s.name for s in p.states] == [s.name for s in parent.states] + ["respite"]
    assert [t.key for t in p.transitions] == [t.key for t in parent.transitions] + ["street->respite", "respite->street"]
    assert p.size_classes == parent.size_classes and p.kinds == parent.kinds
    assert p.transitions[-2].eligible == {"needs": frozenset({"high"})}
    assert p.graph.has_edge("respite", "street")


def test_extends_overrides_by_name(tmp_path: Path) -> None:
    records: list[Provenance] = []
    path = child(
        tmp_path,
        states={"shelter": {"label": {"fr": "Abri", "en": "Refuge"}}},
        kinds={"family": {"persons": {"value": {3: 1.0}, "assumption": "test"}}},
        transitions=[{"from": "shelter", "to": "social", "eligible": {"priority": [True]}}],
    )
    p = load_pathway(path, records)
    shelter = p.states[p.state_index["shelter"]]
    assert shelter.label == {"fr": "Abri", "en": "Refuge"} and shelter.kind == "shelter"  # kind inherited
    assert p.kinds["family"].persons == (3,) and p.kinds["family"].isolated is False
    edge = p.transitions[p.transition_index["shelter->social"]]
    assert edge.index == 3 and edge.mode == "queue" and edge.eligible == {"priority": frozenset({True})}
    assert len(p.transitions) == 9
    # each sourced value is recorded with the file that gives it
    family = [r for r in records if r.field == "pathway.kinds.family.persons"]
    assert [(Path(r.file).name, r.kind) for r in family] == [("child.yaml", "assumption")]


def test_extends_chain_and_relative_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    child(tmp_path / "sub", "middle.yaml", states={"respite": {"kind": "shelter"}},
          transitions=[{"from": "street", "to": "respite", "mode": "queue"}, {"from": "respite", "to": "exit", "mode": "hazard"}])
    top = write(tmp_path / "top.yaml", {"pathway": {"name": "top", "extends": "sub/middle.yaml",
                                                      "states": {"respite": {"optional": True}}}})
    p = load_pathway(top)
    assert p.name == "top" and len(p.states) == 6 and p.states[-1].optional


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", {"pathway": {"name": "a", "extends": "b.yaml"}})
    b = write(tmp_path / "b.yaml", {"pathway": {"name": "b", "extends": "a.yaml"}})
    err = load_error(b)
    assert Path(err.file).name == "a.yaml" and err.field == "pathway.extends"
    assert "cycle" in err.message and "b.yaml -> a.yaml -> b.yaml" in err.message
    loop = write(tmp_path / "loop.yaml", {"pathway": {"name": "loop", "extends": "loop.yaml"}})
    err = load_error(loop)
    assert Path(err.file).name == "loop.yaml" and err.field == "pathway.extends" and "cycle" in err.message


def test_extends_unknown_parent_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "orphan.yaml", {"pathway": {"name": "orphan", "extends": "nowhere.yaml"}})
    err = load_error(path)
    assert err.file == str(path) and err.field == "pathway.extends" and "nowhere.yaml" in err.message


def test_errors_name_the_file_and_entry_that_wrote_them(tmp_path: Path) -> None:
    # an added transition into a capacitated state by a stay: the child's own index
    path = child(tmp_path, transitions=[{"from": "street", "to": "social", "mode": "queue"},
                                        {"from": "housing", "to": "shelter", "mode": "stay"}])
    err = load_error(path)
    assert err.file == str(path) and err.field == "pathway.transitions[1].mode"
    # a new transition without a mode, a new state without a kind
    err = load_error(child(tmp_path, "c2.yaml", transitions=[{"from": "street", "to": "housing"}]))
    assert Path(err.file).name == "c2.yaml" and err.field == "pathway.transitions[0].mode" and "missing" in err.message
    err = load_error(child(tmp_path, "c3.yaml", states={"respite": {"label": {"fr": "R", "en": "R"}}}))
    assert Path(err.file).name == "c3.yaml" and err.field == "pathway.states.respite.kind"
    # a transition given twice in the same file stays an error
    twice = [{"from": "street", "to": "social", "mode": "queue"}] * 2
    err = load_error(child(tmp_path, "c4.yaml", transitions=twice))
    assert Path(err.file).name == "c4.yaml" and err.field == "pathway.transitions[1]" and "duplicate" in err.message
    # only a state with a capacity can be optional
    err = load_error(child(tmp_path, "c5.yaml", states={"street": {"optional": True}}))
    assert Path(err.file).name == "c5.yaml" and err.field == "pathway.states.street.optional"


def test_a_complete_pathway_is_still_required_without_extends(tmp_path: Path) -> None:
    path = write(tmp_path / "bare.yaml", {"pathway": {"name": "bare", "states": {"street": {"kind": "street"}}}})
    err = load_error(path)
    assert err.file == str(path) and "missing required key" in err.message


# --------------------------------------------------------------------------------------------
# The national pathway
# --------------------------------------------------------------------------------------------
def test_national_pathway_loads() -> None:
    records: list[Provenance] = []
    p = load_pathway(NATIONAL, records)
    default = load_pathway(ROOT / "configs" / "pathways" / "france.yaml")
    assert p.name == "france-national" and len(p.states) == len(default.states) + 1
    asylum = p.states[p.state_index["asylum_shelter"]]
    assert asylum.kind == "shelter" and asylum.capacitated and asylum.optional and asylum.index == len(default.states)
    assert asylum.label == {"fr": "Hébergement demandeurs d'asile (DNA)", "en": "Asylum housing (DNA)"}
    # france.yaml's graph comes first, unchanged but for the emergency shelter's label
    assert [t.key for t in p.transitions[: len(default.transitions)]] == [t.key for t in default.transitions]
    assert "asile" in p.states[p.state_index["emergency_shelter"]].label["fr"]
    into = [t for t in p.transitions if t.target.name == "asylum_shelter"]
    assert into and all(t.mode == "queue" and t.eligible["cause"] == {"asylum"} for t in into)
    assert {t.target.name for t in p.out_transitions("asylum_shelter", "stay")} == {"street", "private_housing", "other_exit", "left_territory"}
    assert {Path(r.file).name for r in records} == {"france.yaml"}  # the only numbers are france.yaml's


def scenario_file(tmp_path: Path, territories: list[Path], name: str = "national") -> Path:
    return write(tmp_path / f"{name}.yaml", {"scenario": {
        "name": name, "start": "2025-01", "years": 1, "seed": 3,
        "pathway": str(NATIONAL), "territories": [str(t) for t in territories]}})


def test_amp_territory_loads_under_the_national_pathway(tmp_path: Path) -> None:
    sc = load_scenario(scenario_file(tmp_path, [AMP]))
    amp, asylum = sc.territories[0], sc.pathway.state_index["asylum_shelter"]
    assert amp.places[asylum] == 0 and asylum not in amp.stays
    stay_exits = sc.pathway.out_transitions("asylum_shelter", "stay")
    assert all(amp.edges[t.index].weight == 0 for t in stay_exits)


def test_a_territory_must_still_give_its_non_optional_states(tmp_path: Path) -> None:
    data = yaml.safe_load(AMP.read_text(encoding="utf-8"))
    del data["states"]["hotel"]
    err = pytest.raises(ConfigError, load_scenario, scenario_file(tmp_path, [write(tmp_path / "amp.yaml", data)])).value
    assert Path(err.file).name == "amp.yaml" and err.field == "states.hotel.places"


def tiny_territory(pathway: Pathway) -> dict[str, Any]:
    """A small territory for the national pathway, asylum housing included (test numbers)."""
    states: dict[str, Any] = {}
    for s in pathway.states:
        spec: dict[str, Any] = {}
        if s.capacity_kind == "shelter":
            spec["places"] = 60
        elif s.capacity_kind == "units":
            spec["units"] = {"small": 10, "medium": 10, "large": 4}
        elif s.capacity_kind == "turnover":
            spec.update(stock_units=2000, turnover_rate=0.1, share_to_homeless=0.1, size_mix={"small": 0.5, "medium": 0.4, "large": 0.1})
        if pathway.out_transitions(s.name, "stay"):
            spec["stay"] = {"law": "exponential", "mean_days": 120}
        if spec:
            states[s.name] = spec
    transitions: dict[str, Any] = {}
    for t in pathway.transitions:
        if t.mode == "stay":
            transitions[t.key] = {"weight": 1 / len(pathway.out_transitions(t.origin.name, "stay"))}
        elif t.mode == "hazard":
            transitions[t.key] = {"rate_per_year": 0.2}
    return {
        "territory": {"name": "tiny", "label": "Tiny"},
        "population": {"kinds": {"single_man": 0.6, "family": 0.4}, "needs": {"low": 0.5, "medium": 0.3, "high": 0.2},
                       "regular_status_share": 0.6, "priority_share": 0.2},
        "inflows": {"eviction": {"households_per_year": 150}, "migration": {"households_per_year": 150, "regular_status_share": 0.1},
                    "asylum": {"households_per_year": 150, "regular_status_share": 0.4}},
        "initial": {"street": {"households": 20}},
        "states": states,
        "transitions": transitions,
    }


def test_asylum_households_and_only_they_enter_asylum_housing(tmp_path: Path) -> None:
    territory = write(tmp_path / "tiny.yaml", tiny_territory(load_pathway(NATIONAL)))
    sc = load_scenario(scenario_file(tmp_path, [territory]), years=2)
    model = HousingModel(sc, trajectories=True)
    ds = model.run()
    table = trajectory_table(model)
    into = table[table.to_state == "asylum_shelter"]
    assert len(into) > 50 and set(into.cause) == {"asylum"}
    assert {"eviction", "migration"} <= set(table[table.event == "entry"].cause)
    assert ds.occupancy_persons.sel(state="asylum_shelter").max() > 0
    # some leave asylum housing, at the end of the stay or for housing (refugees only)
    left = table[table.from_state == "asylum_shelter"]
    assert len(left) > 0
    housed = left[left.to_state.isin(["social_housing", "iml_sublease"])]
    assert housed.regular_status.all()
