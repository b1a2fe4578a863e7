"""The dashboard (``lda-sim app``): its levers as policies, and the page end to end in headless Chromium.

The end-to-end test starts ``lda-sim app`` on a free loopback port with a one-territory scenario
and short runs, loads the page in Debian's Chromium driven by Playwright, runs, moves a lever, runs
again, and checks that the chart and the table change, that the dataset downloads, and that the
browser console shows no error. Its screenshot is written to ``$LDA_SIM_APP_SCREENSHOT`` if set
(else into the test's temporary folder).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from lda_sim.config.scenario import load_scenario
from lda_sim.dataset.output import open_results
from lda_sim.presentation import dashboard as dash

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "configs" / "scenarios" / "baseline.yaml"
AMP = "aix-marseille-provence"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def _amp_only(folder: Path) -> Path:
    """A scenario over Aix-Marseille-Provence alone (the baseline's settings), for short runs."""
    path = folder / "amp.yaml"
    path.write_text(yaml.safe_dump({"scenario": {
        "name": "amp", "extends": str(BASELINE), "description": "Aix-Marseille-Provence alone",
        "territories": [str(ROOT / "configs" / "territories" / f"{AMP}.yaml")],
    }}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def amp_scenario(tmp_path_factory) -> Path:
    return _amp_only(tmp_path_factory.mktemp("scenarios"))


# --- levers -> policies ------------------------------------------------------------------------------
def test_levers_become_policies_of_the_territory_only(amp_scenario):
    scenario = load_scenario(amp_scenario)
    own = dash.territory_share_to_homeless(scenario, AMP)
    levers = dash.Levers(pension_de_famille_per_year=60, pension_de_famille_lag_years=2, iml_per_year=120,
                         hotel_converted_per_year=250, share_to_homeless=0.2)
    policies = {p["type"]: p for p in dash.lever_policies(scenario, AMP, levers)}
    assert set(policies) == {"production", "iml_capture", "transformation", "allocation"}
    assert all(p["territories"] == [AMP] and p["start"] == "2025-01" for p in policies.values())
    assert policies["production"]["state"] == "pension_de_famille"
    assert policies["production"]["units_per_year"]["value"] == 60
    assert policies["production"]["delivery_lag_years"]["value"] == 2
    assert policies["iml_capture"]["state"] == "iml_sublease" and policies["iml_capture"]["units_per_year"]["value"] == 120
    assert (policies["transformation"]["from"], policies["transformation"]["to"]) == ("hotel", "iml_sublease")
    assert policies["transformation"]["places_per_year"]["value"] == 250
    # persons per converted unit derived from the territory's households: the bundled hotel-to-iml value
    assert policies["transformation"]["persons_per_unit"]["value"] == pytest.approx(1.69, abs=0.01)
    assert policies["allocation"]["state"] == "social_housing" and policies["allocation"]["share_to_homeless"]["value"] == 0.2
    assert all(p[k]["assumption"] == dash.DASHBOARD_ASSUMPTION for p, k in [
        (policies["production"], "units_per_year"), (policies["iml_capture"], "units_per_year"),
        (policies["transformation"], "places_per_year"), (policies["allocation"], "share_to_homeless")])
    # untouched levers add nothing; the territory's own share is no change
    assert dash.lever_policies(scenario, AMP, dash.Levers(share_to_homeless=own)) == []
    assert "sans levier modifié" in dash.describe_levers(scenario, AMP, dash.Levers())
    with pytest.raises(ValueError, match="unknown territory 'paris'"):
        dash.lever_policies(scenario, "paris", levers)
    with pytest.raises(ValueError, match="iml_per_year must be a number >= 0"):
        dash.Levers(iml_per_year=-5)


def test_lever_scenario_file_extends_the_scenario_and_loads(amp_scenario, tmp_path):
    scenario = load_scenario(amp_scenario)
    levers = dash.Levers(iml_per_year=120, hotel_converted_per_year=250)
    path = dash.write_lever_scenario(amp_scenario, scenario, AMP, levers, tmp_path)
    assert path == dash.write_lever_scenario(amp_scenario, scenario, AMP, levers, tmp_path)  # named by content
    text = path.read_text(encoding="utf-8")
    assert "&id" not in text and "*id" not in text  # written in full, for a reader
    loaded = load_scenario(path)
    assert loaded.name == "amp-leviers"
    assert [p.type_name for p in loaded.policies] == ["iml_capture", "transformation"]
    assert "120 logements captés en IML par an" in loaded.description
    assert any(r.field.endswith("units_per_year") and r.kind == "assumption" and r.text == dash.DASHBOARD_ASSUMPTION
               for r in loaded.provenance), "the dashboard's values are recorded as assumptions"


def test_levers_without_their_state_in_the_pathway(small_scenario_path):
    scenario = load_scenario(small_scenario_path)  # street, shelter, housing, social, exit
    territory = scenario.territories[0].name
    assert dash.missing_levers(scenario) == {
        "pension_de_famille_per_year": "pension_de_famille", "pension_de_famille_lag_years": "pension_de_famille",
        "iml_per_year": "iml_sublease", "hotel_converted_per_year": "hotel", "share_to_homeless": "social_housing",
    }
    assert dash.lever_policies(scenario, territory, dash.Levers()) == []
    with pytest.raises(ValueError, match="lever iml_per_year needs the state 'iml_sublease', which the pathway 'small' does not have"):
        dash.lever_policies(scenario, territory, dash.Levers(iml_per_year=10))


def test_comparison_without_levers_shows_no_difference(small_scenario_path, tmp_path):
    ds = dash.run_comparison(small_scenario_path, "town", dash.Levers(), years=0.5, replicates=2, cache=tmp_path)
    assert [str(s) for s in ds.scenario.values] == ["small", "small-leviers"] and ds.sizes["replicate"] == 2
    assert list(ds.scenario_description.values)[1] == "small sans levier modifié (Town)"
    table = dash.horizon_table(ds, "town")
    assert list(table.columns) == ["Indicateur", "small", "small-leviers", "Écart"]
    # the small territory has no costs: no cost row; same seeds and no lever: no difference at all
    assert list(table["Indicateur"]) == [dash.HORIZON_LABELS[k] for k in ("street", "shelter", "wait")]
    assert (table["Écart"] == "0 [0 ; 0]").all()
    assert (table["small"] == table["small-leviers"]).all() and table["small"].str.contains(r"\[").all()
    fig = dash.comparison_figure(ds, "town")
    axes = fig.axes
    assert [ax.get_title(loc="left") for ax in axes] == [
        "Personnes à la rue (personnes)", "Personnes hébergées (personnes)", "Attente médiane d'un logement (jours)", "Coût du mois (M€)"]
    assert [line.get_label() for line in axes[0].get_lines()] == ["small", "small-leviers"]
    assert len(axes[0].collections) == 2  # a 10-90 % band per scenario
    assert "pas de coûts" in axes[3].texts[0].get_text()
    assert "médiane de 2 réplications, bande 10–90 %" in fig.get_suptitle()


def test_hotel_conversions_cannot_exceed_the_hotel_places(amp_scenario):
    scenario = load_scenario(amp_scenario)
    places = scenario.territory(AMP).places[scenario.pathway.state_index["hotel"]]
    dash.check_hotel_places(scenario, AMP, dash.Levers(hotel_converted_per_year=places // 2), years=2)
    with pytest.raises(ValueError, match="1\u202f000 places d'hôtel converties par an pendant 3,5 an\\(s\\) dépassent les 2\u202f843 places"):
        dash.check_hotel_places(scenario, AMP, dash.Levers(hotel_converted_per_year=1000), years=3.5)


def test_app_command_rejects_a_folder_without_scenarios(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lda_sim.cli", "app", "--scenarios", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no scenario file (*.yaml) in this folder" in result.stderr


# --- the page in a browser ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(amp_scenario, tmp_path_factory):
    pytest.importorskip("solara", reason="the dashboard needs the 'app' extra (pip install -e '.[app]')")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    lda_sim = Path(sys.executable).with_name("lda-sim")
    command = [str(lda_sim), "app", "--port", str(port), "--scenarios", str(amp_scenario.parent),
               "--years", "0.25", "--replicates", "2", "--workers", "1"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"lda-sim app exited with {server.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"lda-sim app did not answer on {url} within 60 s:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()  # the command execs the server: this pid is the server itself
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run installs it)")
def test_dashboard_end_to_end_in_chromium(app_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is in the 'test' extra")
    screenshot = Path(os.environ.get("LDA_SIM_APP_SCREENSHOT") or tmp_path / "dashboard.png")
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(app_url)
            run = page.get_by_role("button", name="Lancer la simulation")
            run.wait_for(timeout=30_000)
            assert page.get_by_text("Choisissez un scénario et un territoire").is_visible()
            for name in ("pension_de_famille_per_year", "pension_de_famille_lag_years", "iml_per_year",
                         "hotel_converted_per_year", "share_to_homeless", "years", "replicates"):
                assert page.locator(f".lda-lever-{name} .v-slider").count() == 1, name
            assert page.locator(".lda-lever-share_to_homeless .lda-value").inner_text() == "8,0 %"  # the territory's own

            # a first run with the levers untouched: the scenario against itself
            run.click()
            first = page.locator(".lda-chart-run-1 img")
            first.wait_for(timeout=60_000)
            sync_api.expect(run).to_be_enabled(timeout=30_000)  # the run is over: the levers move again
            assert page.get_by_text("amp sans levier modifié").is_visible()
            before_image = first.get_attribute("src")
            before_table = page.locator(".lda-table").inner_text()
            assert "Personnes à la rue (dernier mois)" in before_table

            # move the IML lever: a click at 80 % of its slider
            value = page.locator(".lda-lever-iml_per_year .lda-value")
            assert value.inner_text() == "0"
            slider = page.locator(".lda-lever-iml_per_year .v-slider")
            box = slider.bounding_box()
            page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + box["height"] / 2)
            page.wait_for_function("el => el.innerText !== '0'", arg=value.element_handle(), timeout=10_000)
            captured = int(value.inner_text().replace("\u202f", ""))
            assert 300 <= captured <= 500

            run.click()
            second = page.locator(".lda-chart-run-2 img")
            second.wait_for(timeout=60_000)
            sync_api.expect(run).to_be_enabled(timeout=30_000)
            assert page.get_by_text(f"{captured} logements captés en IML par an").is_visible()
            assert second.get_attribute("src") != before_image, "the chart did not change with the lever"
            after_table = page.locator(".lda-table").inner_text()
            assert after_table != before_table
            page.screenshot(path=str(screenshot), full_page=True)

            # the dataset downloads and holds both scenarios and the replicates
            with page.expect_download(timeout=30_000) as download:
                page.get_by_role("button", name="Télécharger les données (NetCDF)").click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            ds = open_results(saved)
            assert [str(s) for s in ds.scenario.values] == ["amp", "amp-leviers"]
            assert ds.sizes["replicate"] == 2 and ds.sizes["time"] == 3
            assert f"{captured} logements captés en IML" in ds.attrs["dashboard_levers"]
            assert page.get_by_role("button", name="Télécharger le rapport (HTML)").is_visible()
            assert page.get_by_role("button", name="Télécharger les diapositives (PPTX)").is_visible()
        finally:
            browser.close()
    assert screenshot.stat().st_size > 20_000
    assert not problems, "\n".join(problems)
