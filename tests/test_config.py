"""Loading configuration files: clear one-line errors for bad input, provenance, schemas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lda_sim.config import scenario as config_module
from lda_sim.config.errors import ConfigError
from lda_sim.config.overrides import Overrides
from lda_sim.config.scenario import load_scenario, load_yaml_file
from lda_sim.config.schema import all_schemas

SCENARIO, PATHWAY, TERRITORY = "scenario_small.yaml", "pathway_small.yaml", "territory_small.yaml"


def load_error(path: Path) -> ConfigError:
    """The ConfigError raised by loading ``path``, checked to be a one-line message."""
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    err = info.value
    text = str(err)
    assert "\n" not in text, f"message spans several lines: {text!r}"
    where = f"{err.file}:{err.line}" if err.line else err.file  # file:line: field: message
    assert text.startswith(f"{where}: "), text
    assert err.message in text
    return err


def edge(index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    """A pathway patch that updates transition ``index``."""
    return lambda d: d["pathway"]["transitions"][index].update(changes)


def add_edge(**spec: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["pathway"]["transitions"].append(spec)


def add_state(name: str, **spec: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["pathway"]["states"].update({name: spec})


def both(*patches: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def patch(d: dict[str, Any]) -> None:
        for p in patches:
            p(d)

    return patch


def test_small_scenario_loads(small_scenario_path: Path) -> None:
    sc = load_scenario(small_scenario_path)
    assert sc.name == "small" and sc.seed == 7 and sc.months == 36
    assert [t.name for t in sc.territories] == ["town"]
    assert load_scenario(small_scenario_path, years=1, seed=3).months == 12


# --------------------------------------------------------------------------------------------
# Malformed YAML and missing files
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "text", "line"),
    [
        ("territory", "territory: {name: town\npopulation: [\n", 2),
        ("scenario", "scenario:\n  name: small\n  years: : 3\n", 3),
        ("pathway", "pathway:\n  name: small\n\tstates: {}\n", 3),
    ],
)
def test_malformed_yaml_names_file_and_line(make_config: Callable[..., Path], role: str, text: str, line: int) -> None:
    err = load_error(make_config(**{role: text}))
    assert Path(err.file).name == f"{role}_small.yaml"
    assert err.line == line and str(err).startswith(f"{err.file}:{line}: malformed YAML: ")
    assert "(column " in err.message


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_top_level_must_be_a_mapping(make_config: Callable[..., Path], text: str) -> None:
    err = load_error(make_config(territory=text))
    assert Path(err.file).name == TERRITORY and err.field == ""
    assert "mapping" in err.message and err.field == "" and str(err) == f"{err.file}: {err.message}"


def test_missing_scenario_file(tmp_path: Path) -> None:
    err = load_error(tmp_path / "nope.yaml")
    assert err.file == str(tmp_path / "nope.yaml") and err.field == ""
    assert "file not found" in err.message


@pytest.mark.parametrize(
    ("patch", "field", "what"),
    [
        (lambda d: d["scenario"].update(pathway="missing_pathway.yaml"), "scenario.pathway", "pathway"),
        (lambda d: d["scenario"].update(territories=["territory_small.yaml", "missing_territory.yaml"]), "scenario.territories[1]", "territory"),
        (lambda d: d["scenario"].update(sources="missing_sources.yaml"), "scenario.sources", "sources"),
        (lambda d: d["scenario"].update(extends="missing_parent.yaml"), "scenario.extends", "scenario"),
    ],
    ids=["pathway", "territory", "sources", "extends"],
)
def test_missing_referenced_file_names_the_referring_file_field_and_line(
    make_config: Callable[..., Path], patch: Callable[[dict[str, Any]], None], field: str, what: str
) -> None:
    path = make_config(scenario=patch)
    err = load_error(path)
    assert Path(err.file) == path and err.field == field  # the scenario file and the field that name it
    assert err.line is not None and "missing_" in path.read_text().splitlines()[err.line - 1]  # the line naming it
    assert f"{what} file " in err.message and "missing_" in err.message and "relative to this file" in err.message


def test_missing_file_named_by_an_extended_scenario_names_that_scenario(make_config: Callable[..., Path]) -> None:
    path = make_config(
        scenario=lambda d: d["scenario"].update(pathway="gone.yaml"),
        files={"child.yaml": "scenario:\n  name: child\n  extends: scenario_small.yaml\n"},
    )
    err = load_error(path.parent / "child.yaml")
    assert Path(err.file) == path and err.field == "scenario.pathway"


# --------------------------------------------------------------------------------------------
# Schema errors: unknown keys, negative numbers, wrong types
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "file", "field", "key"),
    [
        ({"scenario": lambda d: d.update(extra=1)}, SCENARIO, "", "extra"),
        ({"scenario": lambda d: d["scenario"].update(horizon=3)}, SCENARIO, "scenario", "horizon"),
        ({"scenario": lambda d: d["scenario"].update(allocation={"rule": "fcfs", "order": 1})}, SCENARIO, "scenario.allocation", "order"),
        ({"territory": lambda d: d["states"]["shelter"].update(beds=3)}, TERRITORY, "states.shelter", "beds"),
        ({"territory": lambda d: d["transitions"]["street->exit"].update(rate=3)}, TERRITORY, "transitions.street->exit", "rate"),
        ({"territory": lambda d: d["inflows"].update(war={"households_per_year": 3})}, TERRITORY, "inflows", "war"),
        ({"territory": lambda d: d["territory"].update(department="13")}, TERRITORY, "territory", "department"),
        ({"pathway": lambda d: d["pathway"]["states"]["shelter"].update(places=3)}, PATHWAY, "pathway.states.shelter", "places"),
        ({"pathway": edge(0, speed=3)}, PATHWAY, "pathway.transitions[0]", "speed"),
        ({"pathway": edge(3, eligible={"age": ["old"]})}, PATHWAY, "pathway.transitions[3].eligible", "age"),
    ],
    ids=["scenario-top", "scenario", "allocation", "state-param", "transition-param", "inflow-cause", "territory", "pathway-state", "pathway-edge", "eligibility-attr"],
)
def test_unknown_key(make_config: Callable[..., Path], kw: dict[str, Any], file: str, field: str, key: str) -> None:
    err = load_error(make_config(**kw))
    assert Path(err.file).name == file
    assert err.field == (f"{field}.{key}" if field else key)  # the unknown key itself
    assert repr(key) in err.message and "unknown key" in err.message and "allowed:" in err.message


def test_parameter_of_another_transition_mode(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["transitions"]["street->exit"].update(weight=0.3)))
    assert Path(err.file).name == TERRITORY
    assert err.field == "transitions.street->exit.weight"
    assert "hazard" in err.message and "rate_per_year" in err.message


@pytest.mark.parametrize(
    ("patch", "field", "value"),
    [
        (lambda d: d["states"]["shelter"].update(places=-5), "states.shelter.places", "-5"),
        (lambda d: d["states"]["housing"]["units"].update(small=-1), "states.housing.units.small", "-1"),
        (lambda d: d["states"]["social"].update(stock_units=-100), "states.social.stock_units", "-100"),
        (lambda d: d["transitions"]["street->exit"].update(rate_per_year=-0.5), "transitions.street->exit.rate_per_year", "-0.5"),
        (lambda d: d["transitions"]["street->exit"].update(rate_per_year={"value": -0.25, "assumption": "x"}), "transitions.street->exit.rate_per_year.value", "-0.25"),
        (lambda d: d["inflows"]["eviction"].update(households_per_year=-3), "inflows.eviction.households_per_year", "-3"),
        (lambda d: d["initial"]["street"].update(households=-2), "initial.street.households", "-2"),
        (lambda d: d["states"]["social"].update(turnover_rate=-0.08), "states.social.turnover_rate", "-0.08"),
    ],
    ids=["places", "units", "stock", "rate", "wrapped-rate", "inflow", "initial", "turnover"],
)
def test_negative_capacity_or_rate(make_config: Callable[..., Path], patch: Callable[[dict[str, Any]], None], field: str, value: str) -> None:
    err = load_error(make_config(territory=patch))
    assert Path(err.file).name == TERRITORY
    assert err.field == field
    assert value in err.message and "minimum" in err.message


@pytest.mark.parametrize(
    ("patch", "field", "value"),
    [
        (lambda d: d["states"]["shelter"].update(places=20.5), "states.shelter.places", "20.5"),
        (lambda d: d["states"]["shelter"].update(places="200"), "states.shelter.places", "'200'"),
        (lambda d: d["population"].update(priority_share=1.5), "population.priority_share", "1.5"),
        (lambda d: d["states"]["shelter"].update(stay={"law": "gamma", "mean_days": 3}), "states.shelter.stay.law", "'gamma'"),
    ],
    ids=["fractional-places", "string-places", "share-above-1", "unknown-law"],
)
def test_wrong_type_or_range(make_config: Callable[..., Path], patch: Callable[[dict[str, Any]], None], field: str, value: str) -> None:
    err = load_error(make_config(territory=patch))
    assert Path(err.file).name == TERRITORY and err.field == field
    assert value in err.message


def test_negative_years_in_scenario(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(scenario=lambda d: d["scenario"].update(years=-1)))
    assert Path(err.file).name == SCENARIO and err.field == "scenario.years"
    assert "-1" in err.message


def test_missing_required_field(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["population"].pop("needs")))
    assert Path(err.file).name == TERRITORY and err.field == "population.needs"
    assert "missing required key" in err.message


# --------------------------------------------------------------------------------------------
# Unknown states and transitions
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("patch", "field"),
    [(edge(0, to="hotel"), "pathway.transitions[0].to"), (edge(1, **{"from": "hotel"}), "pathway.transitions[1].from")],
    ids=["to", "from"],
)
def test_unknown_state_in_pathway_transition(make_config: Callable[..., Path], patch: Callable[[dict[str, Any]], None], field: str) -> None:
    err = load_error(make_config(pathway=patch))
    assert Path(err.file).name == PATHWAY and err.field == field
    assert "unknown state 'hotel'" in err.message and "shelter" in err.message  # lists the known states


@pytest.mark.parametrize(
    ("patch", "field", "message"),
    [
        (lambda d: d["states"].update(hotel={"places": 3}), "states.hotel", "unknown state 'hotel'"),
        (lambda d: d["initial"].update(hotel={"persons": 3}), "initial.hotel", "unknown state 'hotel'"),
        (lambda d: d["transitions"].update({"street->hotel": {"rate_per_year": 1}}), "transitions.street->hotel", "'street->hotel'"),
        (lambda d: d["inflows"]["eviction"].update(entry="hotel"), "inflows.eviction.entry", "unknown state 'hotel'"),
    ],
    ids=["states", "initial", "transitions", "inflow-entry"],
)
def test_unknown_state_in_territory(make_config: Callable[..., Path], patch: Callable[[dict[str, Any]], None], field: str, message: str) -> None:
    err = load_error(make_config(territory=patch))
    assert Path(err.file).name == TERRITORY and err.field == field
    assert message in err.message


def test_unknown_transition_key(make_config: Callable[..., Path]) -> None:
    # both states exist, but the pathway has no street->housing edge
    err = load_error(make_config(territory=lambda d: d["transitions"].update({"street->housing": {"refusal_probability": 0.1}})))
    assert Path(err.file).name == TERRITORY and err.field == "transitions.street->housing"
    assert "unknown transition 'street->housing'" in err.message and "'small'" in err.message


def test_malformed_transition_key(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["transitions"].update({"street_exit": {"rate_per_year": 1}})))
    assert Path(err.file).name == TERRITORY and err.field == "transitions"
    assert "'street_exit'" in err.message


# --------------------------------------------------------------------------------------------
# Shares, units, stay laws
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("patch", "field", "total"),
    [
        (lambda d: d["population"].update(kinds={"single": 0.7, "family": 0.2}), "population.kinds", "0.9"),
        (lambda d: d["population"].update(needs={"low": 0.5, "medium": 0.3, "high": 0.3}), "population.needs", "1.1"),
        (lambda d: d["population"].update(kinds={"value": {"single": 0.5, "family": 0.3}, "assumption": "x"}), "population.kinds", "0.8"),
        (lambda d: d["inflows"]["eviction"].update(kinds={"single": 0.5}), "inflows.eviction.kinds", "0.5"),
        (lambda d: d["states"]["social"].update(size_mix={"small": 0.5, "large": 0.4}), "states.social.size_mix", "0.9"),
        (lambda d: d["transitions"]["shelter->exit"].update(weight=0.2), "transitions.shelter->street.weight", "0.9"),
        (
            lambda d: d["states"]["shelter"].update(stay={"law": "empirical", "edges_days": [0, 10, 20], "shares": [0.5, 0.4]}),
            "states.shelter.stay",
            "0.9",
        ),
    ],
    ids=["kinds", "needs", "wrapped-kinds", "inflow-kinds", "size-mix", "stay-weights", "empirical-law"],
)
def test_shares_must_sum_to_one(make_config: Callable[..., Path], patch: Callable[[dict[str, Any]], None], field: str, total: str) -> None:
    err = load_error(make_config(territory=patch))
    assert Path(err.file).name == TERRITORY and err.field == field
    assert f"sum to {total}" in err.message and "not 1" in err.message


def test_stay_weights_message_lists_the_weights(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["transitions"]["shelter->exit"].update(weight=0.2)))
    assert "'shelter'" in err.message and "shelter->street=0.7" in err.message and "shelter->exit=0.2" in err.message


def test_persons_per_household_must_sum_to_one(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(pathway=lambda d: d["pathway"]["kinds"]["family"].update(persons={3: 0.5, 4: 0.4})))
    assert Path(err.file).name == PATHWAY and err.field == "pathway.kinds.family.persons"
    assert "sum to 0.9" in err.message


@pytest.mark.parametrize(
    ("patch", "field", "hint"),
    [
        (lambda d: d["states"]["housing"].update(places=40), "states.housing.places", "'units'"),
        (lambda d: d["states"]["shelter"].update(units={"small": 4}), "states.shelter.units", "'places'"),
        (lambda d: d["states"]["social"].update(places=4), "states.social.places", "stock_units"),
        (lambda d: d["states"]["housing"].update(stock_units=40), "states.housing.stock_units", "'units'"),
    ],
    ids=["places-on-housing", "units-on-shelter", "places-on-turnover", "stock-on-units-housing"],
)
def test_capacity_in_the_wrong_unit(make_config: Callable[..., Path], patch: Callable[[dict[str, Any]], None], field: str, hint: str) -> None:
    err = load_error(make_config(territory=patch))
    assert Path(err.file).name == TERRITORY and err.field == field
    assert "wrong unit" in err.message and hint in err.message


@pytest.mark.parametrize(
    ("patch", "field", "message"),
    [
        (lambda d: d["states"]["shelter"].pop("places"), "states.shelter.places", "missing"),
        (lambda d: d["states"].pop("housing"), "states.housing.units", "missing"),
        (lambda d: d["transitions"].pop("street->exit"), "transitions.street->exit.rate_per_year", "missing"),
        (lambda d: d["states"]["housing"]["units"].update(huge=3), "states.housing.units", "'huge'"),
        (lambda d: d["states"]["social"]["size_mix"].update(huge=0.0), "states.social.size_mix", "'huge'"),
    ],
    ids=["places", "units", "hazard-rate", "unknown-size-class", "unknown-size-class-in-mix"],
)
def test_missing_or_unknown_capacity(make_config: Callable[..., Path], patch: Callable[[dict[str, Any]], None], field: str, message: str) -> None:
    err = load_error(make_config(territory=patch))
    assert Path(err.file).name == TERRITORY and err.field == field
    assert message in err.message


def test_missing_stay_law(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["states"]["shelter"].pop("stay")))
    assert Path(err.file).name == TERRITORY and err.field == "states.shelter.stay"
    assert "missing" in err.message and "stay law" in err.message


def test_stay_law_without_stay_transition(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["states"]["housing"].update(stay={"law": "fixed", "days": 30})))
    assert Path(err.file).name == TERRITORY and err.field == "states.housing.stay"
    assert "'housing'" in err.message


def test_stay_law_with_wrong_parameters(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["states"]["shelter"].update(stay={"law": "exponential", "median_days": 3})))
    assert Path(err.file).name == TERRITORY and err.field.startswith("states.shelter.stay")
    assert "mean_days" in err.message


# --------------------------------------------------------------------------------------------
# Pathway graph
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("patch", "field", "target"),
    [
        (edge(1, mode="queue"), "pathway.transitions[1].mode", "'exit'"),
        (edge(7, mode="queue"), "pathway.transitions[7].mode", "'street'"),
        (
            both(add_state("flat", kind="housing", supply="open"), add_edge(**{"from": "shelter", "to": "flat", "mode": "queue"}),
                 add_edge(**{"from": "flat", "to": "exit", "mode": "hazard"})),
            "pathway.transitions[9].mode",
            "'flat'",
        ),
    ],
    ids=["exit", "street", "open-housing"],
)
def test_queue_into_a_state_without_capacity(make_config: Callable[..., Path], patch: Callable[[dict[str, Any]], None], field: str, target: str) -> None:
    err = load_error(make_config(pathway=patch))
    assert Path(err.file).name == PATHWAY and err.field == field
    assert f"queue into {target}" in err.message and "no capacity" in err.message


def test_stay_into_a_capacitated_state(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(pathway=edge(0, mode="stay")))
    assert Path(err.file).name == PATHWAY and err.field == "pathway.transitions[0].mode"
    assert "'shelter'" in err.message and "queue" in err.message


def test_edge_out_of_an_exit_state(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(pathway=add_edge(**{"from": "exit", "to": "street", "mode": "hazard"})))
    assert Path(err.file).name == PATHWAY and err.field == "pathway.transitions[9].from"
    assert "'exit'" in err.message and "exit state" in err.message


def test_unreachable_state(make_config: Callable[..., Path]) -> None:
    patch = both(add_state("limbo", kind="housing", supply="open"), add_edge(**{"from": "limbo", "to": "exit", "mode": "hazard"}))
    err = load_error(make_config(pathway=patch))
    assert Path(err.file).name == PATHWAY and err.field == "pathway.transitions"
    assert "unreachable" in err.message and "limbo" in err.message


def test_dead_end_state(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(pathway=lambda d: d["pathway"]["transitions"].pop(8)))  # social->exit
    assert Path(err.file).name == PATHWAY and err.field == "pathway.states.social"


def test_duplicate_transition(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(pathway=add_edge(**{"from": "street", "to": "exit", "mode": "hazard"})))
    assert Path(err.file).name == PATHWAY and err.field == "pathway.transitions[9]"
    assert "street->exit" in err.message


@pytest.mark.parametrize(
    ("eligible", "field", "value"),
    [
        ({"needs": ["extreme"]}, "pathway.transitions[3].eligible.needs", "'extreme'"),
        ({"kind": ["couple"]}, "pathway.transitions[3].eligible.kind", "'couple'"),
        ({"regular_status": ["yes"]}, "pathway.transitions[3].eligible.regular_status", "'yes'"),
        ({"size_class": ["huge"]}, "pathway.transitions[3].eligible.size_class", "'huge'"),
    ],
    ids=["needs", "kind", "boolean", "size-class"],
)
def test_eligibility_with_unknown_value(make_config: Callable[..., Path], eligible: dict[str, list[Any]], field: str, value: str) -> None:
    err = load_error(make_config(pathway=edge(3, eligible=eligible)))
    assert Path(err.file).name == PATHWAY and err.field == field
    assert value in err.message and "allowed" in err.message


def test_stay_transition_with_eligibility(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(pathway=edge(4, eligible={"priority": [True]})))  # shelter->street, a stay edge
    assert Path(err.file).name == PATHWAY and err.field == "pathway.transitions[4].eligible"
    assert "stay" in err.message


def test_size_classes_must_increase(make_config: Callable[..., Path]) -> None:
    patch = lambda d: d["pathway"].update(size_classes={"small": {"max_persons": 5}, "large": {"max_persons": 2}})  # noqa: E731
    err = load_error(make_config(pathway=patch))
    assert Path(err.file).name == PATHWAY and err.field == "pathway.size_classes" and "[5, 2]" in err.message


# --------------------------------------------------------------------------------------------
# Initial population, inflows, scenario-level checks
# --------------------------------------------------------------------------------------------
def test_initial_persons_above_places(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["initial"]["shelter"].update(persons=250)))
    assert Path(err.file).name == TERRITORY and err.field == "initial.shelter.persons"
    assert "250" in err.message and "200" in err.message


def test_initial_households_above_units(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["initial"]["housing"].update(households=61)))
    assert Path(err.file).name == TERRITORY and err.field == "initial.housing.households"
    assert "61" in err.message and "60" in err.message


def test_initial_population_in_an_exit_state(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["initial"].update(exit={"households": 3})))
    assert Path(err.file).name == TERRITORY and err.field == "initial.exit"


def test_initial_in_both_persons_and_households(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["initial"]["shelter"].update(households=3)))
    assert Path(err.file).name == TERRITORY and err.field == "initial.shelter"


def test_arrivals_into_a_capacitated_state(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["inflows"]["eviction"].update(entry="shelter")))
    assert Path(err.file).name == TERRITORY and err.field == "inflows.eviction.entry"
    assert "'shelter'" in err.message


def test_duplicate_territory(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(scenario=lambda d: d["scenario"].update(territories=[TERRITORY, TERRITORY])))
    assert Path(err.file).name == SCENARIO and err.field == "scenario.territories"
    assert "town" in err.message


def test_allocation_rule_for_a_state_without_queue(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(scenario=lambda d: d["scenario"].update(allocation={"rules": {"street": "fcfs"}})))
    assert Path(err.file).name == SCENARIO and err.field == "scenario.allocation.rules.street"
    assert "'street'" in err.message


SOURCES = "sources:\n  S1: {citation: A report}\n  S2: {citation: Another report}\n"


def with_sources(territory: Callable[[dict[str, Any]], None], sources: str = SOURCES) -> dict[str, Any]:
    return {
        "scenario": lambda d: d["scenario"].update(sources="sources.yaml"),
        "territory": territory,
        "files": {"sources.yaml": sources},
    }


def test_unknown_source_id(make_config: Callable[..., Path]) -> None:
    path = make_config(**with_sources(lambda d: d["states"]["shelter"].update(places={"value": 200, "source": ["S1", "S99"]})))
    err = load_error(path)
    assert Path(err.file).name == TERRITORY and err.field == "states.shelter.places"
    assert "'S99'" in err.message and "sources.yaml" in err.message


def test_unknown_source_id_is_not_checked_without_a_sources_file(make_config: Callable[..., Path]) -> None:
    sc = load_scenario(make_config(territory=lambda d: d["states"]["shelter"].update(places={"value": 200, "source": "S99"})))
    assert sc.territories[0].places[sc.pathway.state_index["shelter"]] == 200


# --------------------------------------------------------------------------------------------
# Provenance wrappers
# --------------------------------------------------------------------------------------------
def test_provenance_wrappers_are_unwrapped_and_recorded(make_config: Callable[..., Path]) -> None:
    def patch(d: dict[str, Any]) -> None:
        d["states"]["shelter"]["places"] = {"value": 180, "source": "S1", "year": 2024}
        d["transitions"]["street->exit"]["rate_per_year"] = {"value": 0.4, "assumption": "expert guess", "note": "to revisit"}
        d["inflows"]["eviction"]["households_per_year"] = {"value": 250, "derived": "evictions x 0.5", "source": ["S1", "S2"]}
        d["states"]["housing"]["units"] = {"value": {"small": 30, "large": 20}, "assumption": "programme target"}

    sc = load_scenario(make_config(**with_sources(patch)))
    town, idx = sc.territories[0], sc.pathway.state_index
    assert town.places[idx["shelter"]] == 180
    assert town.edges[sc.pathway.transition_index["street->exit"]].rate_per_year == 0.4
    assert town.inflows[0].cause == "eviction" and town.inflows[0].households_per_year == 250
    assert town.units[idx["housing"]] == [30, 20]
    assert sc.sources == {"S1": "A report", "S2": "Another report"}

    records = {p.field: p for p in sc.provenance if Path(p.file).name == TERRITORY}
    places = records["states.shelter.places"]
    assert (places.value, places.kind, places.sources) == (180, "source", ("S1",))
    rate = records["transitions.street->exit.rate_per_year"]
    assert (rate.value, rate.kind, rate.text, rate.note, rate.sources) == (0.4, "assumption", "expert guess", "to revisit", ())
    inflow = records["inflows.eviction.households_per_year"]
    assert (inflow.value, inflow.kind, inflow.text, inflow.sources) == (250, "derived", "evictions x 0.5", ("S1", "S2"))
    units = records["states.housing.units"]
    assert (units.value, units.kind) == ({"small": 30, "large": 20}, "assumption")
    # bare numbers are recorded as unsourced
    assert records["population.priority_share"].kind == "unsourced"
    assert records["population.priority_share"].value == 0.2


def test_provenance_wrapper_in_the_pathway(make_config: Callable[..., Path]) -> None:
    sc = load_scenario(make_config(pathway=edge(1, rate_per_year={"value": 0.3, "assumption": "default"})))
    rec = [p for p in sc.provenance if Path(p.file).name == PATHWAY and p.kind == "assumption"]
    assert [(p.field, p.value) for p in rec] == [("pathway.transitions[1].rate_per_year", 0.3)]


@pytest.mark.parametrize(
    "wrapper",
    [
        {"value": 200, "source": "S1", "assumption": "guess"},
        {"value": 200, "derived": "rule", "assumption": "guess"},
        {"value": 200},
        {"value": 200, "note": "only a note"},
    ],
    ids=["source+assumption", "derived+assumption", "bare-wrapper", "note-only"],
)
def test_provenance_wrapper_needs_exactly_one_kind(make_config: Callable[..., Path], wrapper: dict[str, Any]) -> None:
    err = load_error(make_config(territory=lambda d: d["states"]["shelter"].update(places=wrapper)))
    assert Path(err.file).name == TERRITORY and err.field == "states.shelter.places"


def test_provenance_wrapper_with_unknown_key(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["states"]["shelter"].update(places={"value": 200, "source": "S1", "url": "x"})))
    assert Path(err.file).name == TERRITORY and err.field == "states.shelter.places.url" and "'url'" in err.message


# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------
def test_schemas_are_valid_json_schemas() -> None:
    schemas = all_schemas()
    assert set(schemas) == {"scenario", "pathway", "territory"}
    for name, schema in schemas.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"].endswith("2020-12/schema") and name in schema["$id"]


# --------------------------------------------------------------------------------------------
# Regressions: bugs found by review, fixed
# --------------------------------------------------------------------------------------------
def test_start_with_an_invalid_month(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(scenario=lambda d: d["scenario"].update(start="2025-13")))
    assert err.field == "scenario.start"


def test_file_that_is_not_utf8(make_config: Callable[..., Path]) -> None:
    path = make_config()
    (path.parent / TERRITORY).write_bytes(b"territory: {name: t\xe9st, label: x}\n")
    err = load_error(path)
    assert Path(err.file).name == TERRITORY


def test_malformed_sources_file_gives_one_line(make_config: Callable[..., Path]) -> None:
    path = make_config(**with_sources(lambda d: None, sources="sources:\n  S1: {citation: A\n  S2: [\n"))
    err = load_error(path)
    assert Path(err.file).name == "sources.yaml" and err.line is not None and "malformed YAML" in err.message


@pytest.mark.parametrize(
    "patch",
    [
        lambda d: d["population"].update(kinds={"single": float("nan"), "family": 0.3}),
        lambda d: d["transitions"]["street->exit"].update(rate_per_year=float("nan")),
        lambda d: d["transitions"]["shelter->exit"].update(weight=float("nan")),
        lambda d: d["inflows"]["eviction"].update(households_per_year=float("nan")),
    ],
    ids=["share", "rate", "stay-weight", "inflow"],
)
def test_nan_is_rejected(make_config: Callable[..., Path], patch: Callable[[dict[str, Any]], None]) -> None:
    load_error(make_config(territory=patch))


def test_infinite_inflow_is_rejected(make_config: Callable[..., Path]) -> None:
    load_error(make_config(territory=lambda d: d["inflows"]["eviction"].update(households_per_year=float("inf"))))


def test_unknown_allocation_rule(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(scenario=lambda d: d["scenario"].update(allocation={"rule": "nonsense"})))
    assert Path(err.file).name == SCENARIO and err.field == "scenario.allocation.rule" and "'nonsense'" in err.message


def test_horizon_shorter_than_half_a_month(make_config: Callable[..., Path]) -> None:
    load_error(make_config(scenario=lambda d: d["scenario"].update(years=0.01)))


def test_initial_households_above_places(make_config: Callable[..., Path]) -> None:
    err = load_error(make_config(territory=lambda d: d["initial"].update(shelter={"households": 500})))
    assert err.field == "initial.shelter.households"


def test_duplicate_yaml_key(make_config: Callable[..., Path], data_dir: Path) -> None:
    text = (data_dir / TERRITORY).read_text(encoding="utf-8").replace("places: 200,", "places: 200, places: 300,")
    load_error(make_config(territory=text))


def test_config_errors_survive_pickling() -> None:
    """An error raised in a worker process reaches the caller with its file, field and message."""
    import pickle

    err = pickle.loads(pickle.dumps(ConfigError("a.yaml", "states.hotel.places", "must be >= 0")))
    assert (err.file, err.field, err.message) == ("a.yaml", "states.hotel.places", "must be >= 0")
    assert str(err) == "a.yaml: states.hotel.places: must be >= 0"


# --------------------------------------------------------------------------------------------
# The parse and validation cache
# --------------------------------------------------------------------------------------------
@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder, and nothing kept in memory from earlier loads."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("LDA_SIM_CACHE_DIR", str(folder))
    monkeypatch.setattr(config_module, "_PARSED", {})
    monkeypatch.setattr(config_module, "_VALID", set())
    return folder


def test_a_cached_load_equals_a_fresh_parse_and_follows_edits(make_config: Callable[..., Path], fresh_cache: Path) -> None:
    path = make_config()
    territory = path.parent / "territory_small.yaml"
    first = load_yaml_file(territory)
    assert any(fresh_cache.glob("yaml/*.pickle"))
    config_module._PARSED.clear()  # read back from the folder
    assert load_yaml_file(territory) == first
    text = territory.read_text()
    assert "households_per_year: 300}" in text
    territory.write_text(text.replace("households_per_year: 300}", "households_per_year: 301}", 1))
    assert load_yaml_file(territory)["inflows"]["eviction"]["households_per_year"] == 301


def test_errors_are_never_cached(make_config: Callable[..., Path], fresh_cache: Path) -> None:
    path = make_config(territory=lambda d: d["states"]["shelter"].update(places=-5))
    for _ in range(2):
        error = load_error(path)
        assert "territory_small.yaml" in str(error) and "places" in str(error)
    assert len(list(fresh_cache.glob("yaml/*.valid"))) == 2  # the scenario and the pathway, not the territory


def test_a_validated_file_is_validated_again_when_an_override_changes_it(make_config: Callable[..., Path], fresh_cache: Path) -> None:
    path = make_config()
    load_scenario(path)  # the territory is now known valid
    with pytest.raises(ConfigError, match="places"):
        load_scenario(path, overrides=Overrides({"territory.town.states.shelter.places": -5}))


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()], ids=["disk-full", "interrupted"])
def test_a_failed_cache_write_leaves_no_temporary_file(
    make_config: Callable[..., Path], fresh_cache: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException,
) -> None:
    """A cache entry that cannot be moved into place (a full disk; Ctrl-C) leaves neither the entry
    nor its temporary file behind: a failed write is skipped, an interruption goes through."""
    territory = make_config().parent / "territory_small.yaml"

    def fail(*args: Any, **kwargs: Any) -> None:
        raise failure

    with monkeypatch.context() as patched:
        patched.setattr("os.replace", fail)
        if isinstance(failure, OSError):
            load_yaml_file(territory)
        else:
            with pytest.raises(KeyboardInterrupt):
                load_yaml_file(territory)
    assert not list(fresh_cache.glob("yaml/*.pickle"))
    assert not [p for p in fresh_cache.rglob("*") if p.name.endswith(".tmp")]


def test_a_damaged_cache_entry_is_parsed_again(make_config: Callable[..., Path], fresh_cache: Path) -> None:
    path = make_config()
    territory = path.parent / "territory_small.yaml"
    first = load_yaml_file(territory)
    for entry in fresh_cache.glob("yaml/*.pickle"):
        entry.write_bytes(b"not a pickle")
    config_module._PARSED.clear()
    assert load_yaml_file(territory) == first
