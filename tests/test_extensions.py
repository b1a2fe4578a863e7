"""The extension examples (examples/): each changes the result in the expected direction against the
baseline on the same seed, is named in a scenario file by its import path, and is validated."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml
from click.testing import CliRunner

from lda_sim.analysis.indicators import persons_in
from lda_sim.analysis.run import run_scenario
from lda_sim.cli import main
from lda_sim.config.errors import ConfigError
from lda_sim.config.scenario import load_scenario
from lda_sim.dataset.trajectories import monthly_states, run_trajectories

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
if str(ROOT) not in sys.path:  # examples.extensions is imported from the root of the repository
    sys.path.insert(0, str(ROOT))

from examples.extensions import CompliantHousehold, ReluctantHousehold, WinterPlan, families_first  # noqa: E402

YEARS, SEED = 2, 1
AMP = "aix-marseille-provence"


class Runs(dict):
    """Each example scenario and the baseline, two years of Aix-Marseille-Provence, same seed, run
    on first use: (dataset, trajectory table or None)."""

    WITH_TRAJECTORIES = ("baseline-amp", "families-first", "medical-respite")

    def __missing__(self, name: str) -> tuple[xr.Dataset, object]:
        path = EXAMPLES / f"{name}.yaml"
        if name in self.WITH_TRAJECTORIES:
            self[name] = run_trajectories(path, years=YEARS, seed=SEED)
        else:
            self[name] = (run_scenario(path, years=YEARS, seed=SEED), None)
        return self[name]


@pytest.fixture(scope="module")
def runs() -> Runs:
    return Runs()


def test_example_scenarios_name_the_extensions_by_import_path() -> None:
    assert load_scenario(EXAMPLES / "reluctant-households.yaml").household_class is ReluctantHousehold
    assert load_scenario(EXAMPLES / "compliant-households.yaml").household_class is CompliantHousehold
    (policy,) = load_scenario(EXAMPLES / "winter-plan.yaml").policies
    assert isinstance(policy, WinterPlan) and policy.places == 300 and policy.months == [11, 3]
    assert load_scenario(EXAMPLES / "families-first.yaml").allocation["rule"] == "examples.extensions:families_first"
    respite = load_scenario(EXAMPLES / "medical-respite.yaml")
    assert "medical_respite" in respite.pathway.state_index


def test_reluctant_households_refuse_more_offers(runs: dict) -> None:
    base, reluctant = runs["baseline-amp"][0], runs["reluctant-households"][0]
    assert int(reluctant.refusals.sum()) > 3 * int(base.refusals.sum()) > 0
    assert int(reluctant.offers.sum()) > int(base.offers.sum())
    # more offers for each household served from the social housing list
    per_served = lambda ds: float(ds.offers.sel(state="social_housing").sum() / ds.served.sel(state="social_housing").sum())  # noqa: E731
    assert per_served(reluctant) > 2 * per_served(base)


def test_compliant_households_accept_every_offer(runs: dict) -> None:
    base, compliant = runs["baseline-amp"][0], runs["compliant-households"][0]
    assert int(base.refusals.sum()) > 0 and int(compliant.refusals.sum()) == 0
    np.testing.assert_array_equal(compliant.offers.values, compliant.served.values)
    assert int(compliant.offers.sum()) < int(base.offers.sum())


def test_winter_plan_opens_places_in_winter_and_shelters_the_street(runs: dict) -> None:
    base, winter = runs["baseline-amp"][0], runs["winter-plan"][0]
    months = winter.time.dt.month.values
    in_winter = (months >= 11) | (months <= 3)
    extra = (winter.capacity - base.capacity).sel(territory=AMP, state="emergency_shelter").values
    np.testing.assert_array_equal(extra[in_winter], 300)
    np.testing.assert_array_equal((winter.capacity - base.capacity).sel(territory=AMP).drop_sel(state="emergency_shelter").fillna(0).values, 0)
    street = lambda ds: persons_in(ds, "street").sel(territory=AMP).values  # noqa: E731
    assert street(winter)[in_winter].sum() < street(base)[in_winter].sum()


def test_families_first_houses_more_families(runs: dict) -> None:
    def housed(table: object, families: bool) -> int:
        moves = table[(table.event == "move") & (table.to_kind == "housing")]
        return int(((moves.kind == "family") == families).sum())

    base, first = runs["baseline-amp"][1], runs["families-first"][1]
    # the baseline already shelters families first (the 115); on the housing lists too, about a fifth more are housed
    assert housed(first, True) > 1.1 * housed(base, True)
    assert housed(first, False) < housed(base, False)
    assert families_first.__doc__


def test_medical_respite_takes_high_needs_people_off_the_street_and_out_of_shelters(runs: dict) -> None:
    def high_needs_outside(table: object) -> float:
        states = monthly_states(table)
        needs = table.drop_duplicates("household_id").set_index("household_id").needs
        high = needs.loc[states.household_id].values == "high"
        months = [c for c in states.columns if c[:1].isdigit()]
        return float(np.mean([(states[m].isin(["street", "emergency_shelter", "hotel"]).values & high).sum() for m in months]))

    (base_ds, base), (ds, respite) = runs["baseline-amp"], runs["medical-respite"]
    assert float(ds.occupancy.sel(territory=AMP, state="medical_respite").mean()) > 30
    assert int(ds.flow.sel(territory=AMP, transition="street->medical_respite").sum()) > 0
    assert high_needs_outside(respite) < high_needs_outside(base) - 50
    # the states of the bundled pathway keep their order: the new one comes last
    assert list(ds.state.values[:-1]) == list(base_ds.state.values)


def test_example_copies_of_the_bundled_files_differ_only_by_the_new_state() -> None:
    """examples/medical-respite/ copies the bundled pathway and territory: the copies must not drift."""
    pathway = yaml.safe_load((EXAMPLES / "medical-respite" / "pathway.yaml").read_text(encoding="utf-8"))["pathway"]
    france = yaml.safe_load((ROOT / "configs" / "pathways" / "france.yaml").read_text(encoding="utf-8"))["pathway"]
    new = [t for t in pathway["transitions"] if "medical_respite" in (t["from"], t["to"])]
    assert pathway["transitions"][: len(france["transitions"])] == france["transitions"]
    assert len(pathway["transitions"]) == len(france["transitions"]) + len(new)
    assert pathway.pop("states").pop("medical_respite") and pathway.pop("name") == "france-medical-respite"
    for key in ("states", "name", "transitions"):
        france.pop(key)
    pathway.pop("transitions")
    assert pathway == france

    territory = yaml.safe_load((EXAMPLES / "medical-respite" / "territory.yaml").read_text(encoding="utf-8"))
    amp = yaml.safe_load((ROOT / "configs" / "territories" / "aix-marseille-provence.calibrated.yaml").read_text(encoding="utf-8"))
    for section in ("initial", "states", "costs"):
        territory[section].pop("medical_respite")
    for key in ("medical_respite->street", "medical_respite->other_exit"):
        territory["transitions"].pop(key)
    assert territory == amp, "run scripts/copy_respite_example.py after a calibration"


def _scenario(tmp_path: Path, **settings: object) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"scenario": {"name": "bad", "extends": str(EXAMPLES / "baseline-amp.yaml"), **settings}}))
    return path


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"household": "examples.nowhere:ReluctantHousehold"}, "scenario.household", "cannot import"),
        ({"household": "examples.extensions:Reluctant"}, "scenario.household", "cannot import"),
        ({"household": "examples.extensions:WinterPlan"}, "scenario.household", "not a subclass of lda_sim.engine.households.Household"),
        ({"policies": [{"type": "examples.extensions:SummerPlan", "start": "2025-01"}]}, "scenario.policies[0].type", "cannot import"),
        ({"policies": [{"type": "examples.extensions:ReluctantHousehold", "start": "2025-01"}]}, "scenario.policies[0].type", "not a subclass"),
        ({"policies": [{"type": "examples.extensions:WinterPlan", "start": "2025-01", "places": -5}]}, "scenario.policies[0].places", "positive whole number"),
        ({"policies": [{"type": "examples.extensions:WinterPlan", "start": "2025-01", "places": 10, "state": "social_housing"}]},
         "scenario.policies[0].state", "capacity kind"),
        ({"policies": [{"type": "examples.extensions:WinterPlan", "start": "2025-01", "places": 10, "last_month": 13}]},
         "scenario.policies[0].last_month", "calendar month"),
        ({"allocation": {"rule": "examples.extensions:family_first"}}, "scenario.allocation.rule", "cannot import"),
        ({"allocation": {"rule": "fcfs", "rules": {"hotel": "examples.nowhere:rule"}}}, "scenario.allocation.rules.hotel", "cannot import"),
    ],
)
def test_a_bad_extension_is_a_config_error_naming_file_and_field(tmp_path: Path, settings: dict, field: str, message: str) -> None:
    path = _scenario(tmp_path, **settings)
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert str(path) in text and field in text and message in text
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and field in result.output


def test_the_installed_command_imports_extensions_from_the_current_folder() -> None:
    """`lda-sim` (a console script, without the current folder on its path) finds examples.*."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    command = Path(sys.executable).parent / "lda-sim"
    if not command.exists():
        command = Path(shutil.which("lda-sim") or "lda-sim")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([str(command), "validate", "examples/winter-plan.yaml"], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout
