"""Mobility between territories: conservation, independence without links, the graph, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
import yaml
from conftest import territory_balance

from lda_sim.analysis.run import run_scenario
from lda_sim.config.errors import ConfigError
from lda_sim.config.mobility import great_circle_km
from lda_sim.config.scenario import load_scenario

CONFIGS = Path(__file__).parent.parent / "configs"
BASELINE = CONFIGS / "scenarios" / "baseline.yaml"
YEARS = 2
SEED = 7


def write_scenario(tmp_path: Path, mobility: dict[str, Any] | None, *, territories: list[str] | None = None, name: str = "mobility") -> Path:
    """A scenario extending the bundled baseline, with a mobility section and chosen territories."""
    spec: dict[str, Any] = {"name": name, "extends": str(BASELINE)}
    if mobility is not None:
        spec["mobility"] = mobility
    if territories is not None:
        spec["territories"] = [str(CONFIGS / "territories" / f"{t}.yaml") for t in territories]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"scenario": spec}), encoding="utf-8")
    return path


LINKED = {
    "states": ["social_housing"],
    "offer_share": 0.3,
    "acceptance": {"at_zero_km": 0.9, "halving_km": 300},
    "links": {"edges": [{"between": ["aix-marseille-provence", "lyon"], "distance_km": 277}]},
}


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    return run_scenario(write_scenario(tmp_path_factory.mktemp("linked"), LINKED), years=YEARS, seed=SEED)


def test_households_move_between_linked_territories(linked: xr.Dataset) -> None:
    moves = linked.migration.sum("time")
    assert int(moves.sel(origin="lyon", destination="aix-marseille-provence")) > 0
    assert int(moves.sel(origin="aix-marseille-provence", destination="lyon")) > 0
    assert int(np.trace(moves.values)) == 0  # nobody moves within its own territory
    # every accepted offer is one migration; refused offers moved nobody
    accepted = linked.mobility_offers - linked.mobility_refusals
    np.testing.assert_array_equal(accepted.values, linked.migration.sum("origin").values)
    assert int(linked.mobility_refusals.sum()) > 0


def test_households_are_conserved_across_territories(linked: xr.Dataset) -> None:
    """A move out of one territory is a move into another: each territory's stock follows its
    entries, exits and net migration; the totals over territories ignore migration."""
    flows, net, inside = territory_balance(linked)
    np.testing.assert_array_equal((flows + net).values, inside.values)
    np.testing.assert_array_equal(flows.sum("territory").values, inside.sum("territory").values)
    moved_out = linked.migration.sum("destination").rename(origin="territory")
    np.testing.assert_array_equal(linked.migration_in.sum(("territory", "state")).values, linked.migration.sum(("origin", "destination")).values)
    np.testing.assert_array_equal(linked.migration_out.sum("state").values, moved_out.values)
    persons = linked.migration_persons.sum()
    assert int(persons) >= int(linked.migration.sum())


def test_stocks_follow_flows_and_migration_state_by_state(linked: xr.Dataset) -> None:
    flow = linked.flow
    for state in linked.state.values:
        if linked.state_kind.sel(state=state) == "exit":
            continue
        into = flow.sel(transition=flow.transition_target == state).sum("transition")
        out = flow.sel(transition=flow.transition_source == state).sum("transition")
        arrivals = linked.entries.sum("cause") if state == "street" else 0
        net = linked.migration_in.sel(state=state) - linked.migration_out.sel(state=state)
        change = (into - out + arrivals + net).cumsum("time") + linked.initial_occupancy.sel(state=state)
        np.testing.assert_array_equal(change.values, linked.occupancy.sel(state=state).values, err_msg=str(state))
    # households served by the social housing list = local moves in + households from elsewhere
    social = flow.sel(transition=flow.transition_target == "social_housing").sum("transition")
    served = linked.served.sel(state="social_housing")
    np.testing.assert_array_equal(served.values, (social + linked.migration_in.sel(state="social_housing")).values)


def test_without_links_each_territory_runs_as_alone(tmp_path: Path) -> None:
    unlinked = {**LINKED, "links": {}}
    together = run_scenario(write_scenario(tmp_path, unlinked), years=YEARS, seed=SEED)
    assert int(together.migration.sum()) == 0
    for name in ("aix-marseille-provence", "lyon"):
        alone = run_scenario(write_scenario(tmp_path, None, territories=[name], name=f"alone-{name}"), years=YEARS, seed=SEED)
        for var in alone.data_vars:
            a = alone[var]
            if "territory" not in a.dims:
                continue
            b = together[var].sel(territory=[name])
            np.testing.assert_array_equal(a.values, b.values, err_msg=f"{name}: {var}")


def test_acceptance_falls_with_distance(tmp_path: Path) -> None:
    scenario = load_scenario(write_scenario(tmp_path, LINKED))
    mobility = scenario.mobility
    probabilities = [mobility.acceptance(d) for d in (0, 100, 300, 600)]
    assert probabilities == sorted(probabilities, reverse=True)
    assert probabilities[0] == pytest.approx(0.9) and probabilities[2] == pytest.approx(0.45)
    # farther apart, more offers are refused
    near = run_scenario(write_scenario(tmp_path, {**LINKED, "acceptance": {"at_zero_km": 0.9, "halving_km": 3000}}, name="near"), years=1, seed=SEED)
    far = run_scenario(write_scenario(tmp_path, {**LINKED, "acceptance": {"at_zero_km": 0.9, "halving_km": 50}}, name="far"), years=1, seed=SEED)
    share = lambda ds: float(ds.mobility_refusals.sum() / ds.mobility_offers.sum())  # noqa: E731
    assert share(far) > share(near) + 0.3
    assert int(far.migration.sum()) < int(near.migration.sum())


def test_graph_links_by_distance_and_region(tmp_path: Path) -> None:
    marseille, lyon = (43.2965, 5.3698), (45.7640, 4.8357)
    assert great_circle_km(marseille, lyon) == pytest.approx(277, abs=3)
    territories = []
    for name, region, (lat, lon) in (("aix-marseille-provence", "Provence-Alpes-Côte d'Azur", marseille), ("lyon", "Auvergne-Rhône-Alpes", lyon)):
        doc = yaml.safe_load((CONFIGS / "territories" / f"{name}.yaml").read_text(encoding="utf-8"))
        doc["territory"].update(region=region, location={"value": {"lat": lat, "lon": lon}, "assumption": "test"})
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        territories.append(path)

    def graph(links: dict[str, Any]) -> Any:
        spec = {"name": "g", "extends": str(BASELINE), "territories": [str(p) for p in territories], "mobility": {**LINKED, "links": links}}
        path = tmp_path / "g.yaml"
        path.write_text(yaml.safe_dump({"scenario": spec}), encoding="utf-8")
        return load_scenario(path).mobility.graph

    assert graph({"max_km": 250}).number_of_edges() == 0
    g = graph({"max_km": 300})
    assert g.number_of_edges() == 1 and g.edges["lyon", "aix-marseille-provence"]["distance_km"] == pytest.approx(277, abs=3)
    assert graph({"same_region": True}).number_of_edges() == 0
    assert graph({"edges": [{"between": ["lyon", "aix-marseille-provence"], "distance_km": 10}]}).edges["lyon", "aix-marseille-provence"]["distance_km"] == 10


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"states": ["hotel"]}, "scenario.mobility.states[0]", "turnover"),
        ({"states": ["castle"]}, "scenario.mobility.states[0]", "unknown state"),
        ({"offer_shares": {"atlantis": 0.1}}, "scenario.mobility.offer_shares.atlantis", "unknown territory"),
        ({"links": {"edges": [{"between": ["lyon", "atlantis"]}]}}, "scenario.mobility.links.edges[0].between[1]", "unknown territory"),
        ({"links": {"max_km": 100}}, "scenario.mobility.links", "without a location"),
        ({"links": {"edges": [{"between": ["lyon", "lyon"], "distance_km": 1}]}}, "scenario.mobility.links.edges[0].between", "itself"),
        ({"links": {"edges": [{"between": ["lyon", "aix-marseille-provence"]}]}}, "scenario.mobility.links.edges[0].distance_km", "give the distance"),
        ({"offer_share": 1.5}, "scenario.mobility.offer_share", "maximum"),
    ],
)
def test_bad_mobility_settings_name_the_field(tmp_path: Path, change: dict[str, Any], field: str, words: str) -> None:
    path = write_scenario(tmp_path, {**LINKED, **change})
    if words in ("without a location", "give the distance"):  # the same territories, without their locations
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec["scenario"]["territories"] = []
        for name in ("aix-marseille-provence", "lyon"):
            doc = yaml.safe_load((CONFIGS / "territories" / f"{name}.yaml").read_text(encoding="utf-8"))
            del doc["territory"]["location"]
            (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
            spec["scenario"]["territories"].append(str(tmp_path / f"{name}.yaml"))
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert info.value.field == field and str(path) in str(info.value)
    assert words in info.value.message


def test_migration_chart_shows_the_moves(linked: xr.Dataset) -> None:
    from lda_sim.presentation.plotting import chart_set, plot_migration

    assert [c.name for c in chart_set(linked) if c.kind == "migration"] == ["migration"]
    moves = linked.migration.sum("time")
    for lang, words in (("fr", "relogés dans un autre territoire"), ("en", "housed in another territory")):
        fig = plot_migration(linked, lang=lang)
        ax = next(a for a in fig.axes if a.images and a.images[0].get_gid() == "migration_matrix")
        cells = sorted(int(t.get_text().replace("\u202f", "").replace(",", "").replace(" ", "")) for t in ax.texts)
        assert cells == sorted(int(v) for v in moves.values.ravel() if v > 0)
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert set(ticks) == {"Aix-Marseille-Provence", "Métropole de Lyon"}
        assert words in fig._suptitle.get_text()


def test_validation_conservation_counts_migration(linked: xr.Dataset) -> None:
    from lda_sim.analysis.validation import check_conservation

    results = check_conservation(linked)
    assert len(results) == 4 and all(r.passed for r in results)
    broken = linked.copy()
    broken["migration"] = broken.migration * 0  # forget the moves: the stocks no longer balance
    assert not all(r.passed for r in check_conservation(broken))
