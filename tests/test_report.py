"""The HTML report: every territory, scenario and input listed, images embedded, French or English.

A small two-territory configuration whose values carry sources, derivations and assumptions is
written once for the module and run for one year; a second replicate and a "plan" scenario are
stacked onto it the way the run command does.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from lda_sim.analysis.run import run_scenario
from lda_sim.cli import main
from lda_sim.config.scenario import load_scenario
from lda_sim.dataset.inputs import attach_inputs, combine_inputs, dataset_inputs, dataset_sources
from lda_sim.dataset.output import open_results, save_dataset
from lda_sim.presentation.plotting import LABELS, PER_RUN_CHARTS, chart_set
from lda_sim.presentation.report import (
    REPORT_TEXT,
    render_report,
    summary_by_scenario,
    write_report,
)

DATA = Path(__file__).parent / "data"
TERRITORY = """\
territory: {name: NAME, label: LABEL}
population:
  kinds: {single: 0.7, family: 0.3}
  needs: {low: 0.5, medium: 0.3, high: 0.2}
  regular_status_share: {value: 0.6, source: T1, note: "national share"}
  priority_share: {value: 0.2, assumption: "no figure found"}
inflows:
  eviction: {households_per_year: {value: 300, derived: "600 evictions x 0.5", source: [T1, T2]}}
  other: {households_per_year: 200}
initial:
  street: {households: 50}
  shelter: {persons: 150}
  housing: {households: 40}
states:
  shelter: {places: {value: PLACES, source: SOURCE}, stay: {law: exponential, mean_days: 120}}
  housing: {units: {small: 40, large: 20}}
  social: {stock_units: 5000, turnover_rate: 0.08, share_to_homeless: 0.25, size_mix: {small: 0.6, large: 0.4}}
transitions:
  street->exit: {rate_per_year: 0.5}
  shelter->street: {weight: 0.7}
  shelter->exit: {weight: 0.3}
  housing->exit: {rate_per_year: 0.3}
  housing->street: {rate_per_year: 0.1}
  social->exit: {rate_per_year: 0.2}
  shelter->housing: {refusal_probability: 0.2}
"""
SOURCES = """\
sources:
  T1: {citation: "Test source one (2024)."}
  T2: {citation: "Test source two <with markup> & more."}
  T3: {citation: "Test source three."}
  T4: {citation: "A source nobody cites."}
"""
SCENARIO = """\
scenario:
  name: NAME
  start: 2025-01
  years: 1
  seed: 7
  pathway: pathway_small.yaml
  territories: [town.yaml, VILLAGE]
  sources: sources.yaml
"""


def territory(name: str, label: str, places: int, source: str) -> str:
    return TERRITORY.replace("NAME", name).replace("LABEL", label).replace("PLACES", str(places)).replace("SOURCE", source)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with a baseline (``base.yaml``) and a plan (``plan.yaml``, more places in the village)."""
    folder = tmp_path_factory.mktemp("config")
    (folder / "pathway_small.yaml").write_text((DATA / "pathway_small.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "town.yaml").write_text(territory("town", "Town", 200, "T2"), encoding="utf-8")
    (folder / "village.yaml").write_text(territory("village", "Village", 150, "T3"), encoding="utf-8")
    (folder / "village_plan.yaml").write_text(territory("village", "Village", 180, "T3"), encoding="utf-8")
    (folder / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (folder / "base.yaml").write_text(SCENARIO.replace("NAME", "base").replace("VILLAGE", "village.yaml"), encoding="utf-8")
    (folder / "plan.yaml").write_text(SCENARIO.replace("NAME", "plan").replace("VILLAGE", "village_plan.yaml"), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def single(config: Path) -> xr.Dataset:
    scenario = load_scenario(config / "base.yaml")
    return attach_inputs(run_scenario(scenario), scenario)


@pytest.fixture(scope="module")
def multi(single: xr.Dataset, config: Path) -> xr.Dataset:
    """Scenarios base and plan x replicates 7 and 8; the plan halves the street; costs added."""
    second = run_scenario(config / "base.yaml", seed=8)
    reps = xr.concat([single, second], dim=pd.Index([7, 8], name="replicate"), combine_attrs="override")
    plan = reps.copy(deep=True)
    plan["occupancy_persons"].loc[{"state": "street"}] = plan.occupancy_persons.sel(state="street") // 2
    both = xr.concat([reps, plan], dim=pd.Index(["base", "plan"], name="scenario"), combine_attrs="override")
    both["cost"] = (both.occupancy_persons * 900.0).astype(float).assign_attrs(units="EUR", long_name="Cost of the month by state")
    plan_inputs = attach_inputs(xr.Dataset(attrs={"scenario": "plan"}), load_scenario(config / "plan.yaml"))
    both.attrs.update(combine_inputs([single, plan_inputs]))
    return both


class Page(HTMLParser):
    """What a report shows: rows and items by class (with their data- attributes), images, links, text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def with_class(self, tag: str, cls: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and cls in a.get("class", "").split()]

    def all_text(self) -> str:
        return "".join(self.text)


@pytest.fixture(scope="module")
def page_fr(multi: xr.Dataset) -> tuple[str, Page]:
    text = render_report(multi, source="multi.nc")
    return text, Page(text)


@pytest.fixture(scope="module")
def page_en(single: xr.Dataset) -> tuple[str, Page]:
    """The English report of the baseline's first territory (fewer charts to draw)."""
    text = render_report(single.isel(territory=[0]), lang="en")
    return text, Page(text)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


# --- contents -------------------------------------------------------------------------------------------
def test_report_lists_every_territory_and_scenario(multi: xr.Dataset, page_fr: tuple[str, Page]) -> None:
    _, page = page_fr
    rows = {(r["data-scenario"], r["data-territory"]) for r in page.with_class("tr", "summary-row")}
    assert rows == {(s, t) for s in ("base", "plan") for t in ("town", "village")}
    assert len(page.with_class("tr", "summary-row")) == 4
    assert [li["data-scenario"] for li in page.with_class("li", "scenario")] == ["base", "plan"]  # titles default to the names
    assert [li["data-territory"] for li in page.with_class("li", "territory")] == ["town", "village"]
    assert {"Town", "Village"} <= set(page.text)


def test_report_lists_every_input_with_its_provenance(single: xr.Dataset, config: Path, page_en: tuple[str, Page]) -> None:
    _, page = page_en
    provenance = load_scenario(config / "base.yaml").provenance
    rows = page.with_class("tr", "input")
    assert len(rows) == len(provenance) == len(dataset_inputs(single))
    sourced = [p for p in provenance if p.kind != "unsourced"]
    assert len(sourced) == 8  # per territory: 2 sourced, 1 derived, 1 assumption
    shown = [(r["data-kind"], r["data-field"]) for r in rows]
    for record in sourced:
        assert (record.kind, record.field) in shown
    for kind in ("source", "derived", "assumption", "unsourced"):
        assert sum(r["data-kind"] == kind for r in rows) == sum(p.kind == kind for p in provenance)
    text = page.all_text()
    assert "600 evictions x 0.5" in text and "no figure found" in text and "national share" in text
    assert "8 sourced" not in text and "4 sourced, 2 derived from sources, 2 assumptions" in text


def test_report_lists_the_sources_cited_with_links(page_en: tuple[str, Page]) -> None:
    text, page = page_en
    assert [r["id"] for r in page.with_class("tr", "source")] == ["source-T1", "source-T2", "source-T3"]  # T4 is not cited
    links = {a["href"] for t, a in page.tags if t == "a" and a.get("href", "").startswith("#source-")}
    assert links == {"#source-T1", "#source-T2", "#source-T3"}
    assert "Test source two &lt;with markup&gt; &amp; more." in text  # escaped


def test_inputs_of_several_scenarios_are_merged(multi: xr.Dataset, page_fr: tuple[str, Page]) -> None:
    rows = dataset_inputs(multi)
    places = [r for r in rows if r["field"] == "states.shelter.places"]
    assert sorted((r["file"].rsplit("/", 1)[-1], r["value"], r["scenario"]) for r in places) == [
        ("town.yaml", 200, ""), ("village.yaml", 150, "base"), ("village_plan.yaml", 180, "plan")
    ]
    assert len(rows) == len({json.dumps({k: v for k, v in r.items() if k != "scenario"}, sort_keys=True) for r in rows})
    _, page = page_fr
    assert len(page.with_class("tr", "input")) == len(rows)
    assert REPORT_TEXT["fr"]["applies_to"] in page.text  # the column of the scenarios a value applies to


def test_images_are_embedded_full_hd_pngs(multi: xr.Dataset, page_fr: tuple[str, Page]) -> None:
    text, page = page_fr
    images = [a for t, a in page.tags if t == "img"]
    assert len(images) == len(chart_set(multi)) == len(page.with_class("figure", "chart"))
    for image in images:
        assert image["src"].startswith("data:image/png;base64,")
        assert png_size(base64.b64decode(image["src"].split(",", 1)[1])) == (1920, 1080)
        assert image["alt"]
    assert not [t for t, a in page.tags if t in ("script", "link", "iframe")]
    assert "http://" not in text and "https://" not in text and 'src="' not in text.replace('src="data:', "")
    assert {f["id"] for f in page.with_class("figure", "chart")} >= {"chart-cost_town", "chart-flows_plan_village"}


def test_report_is_french_by_default_and_english_on_request(page_fr: tuple[str, Page], page_en: tuple[str, Page]) -> None:
    fr_text, fr = page_fr
    en_text, en = page_en
    assert '<html lang="fr">' in fr_text and '<html lang="en">' in en_text
    assert "Indicateurs par territoire et par scénario" in fr.text and "Hypothèses et sources des données d'entrée" in fr.text
    assert "Indicators by territory and scenario" in en.text and "Input assumptions and their sources" in en.text
    captions = [t for t in en.text if t.startswith("Persons by situation at month end")]
    assert captions and not [t for t in fr.text if t.startswith("Persons by situation")]
    assert [a["alt"] for t, a in fr.tags if t == "img"][0] == "Personnes à la rue — comparaison des scénarios"
    assert "Scénarios « base », « plan » · 2 répliques · horizon décembre 2025" in fr.all_text()


def test_summary_gives_replicate_spread_and_difference_from_baseline(multi: xr.Dataset, page_fr: tuple[str, Page]) -> None:
    table = summary_by_scenario(multi)
    assert list(zip(table.scenario, table.territory)) == [("base", "town"), ("base", "village"), ("plan", "town"), ("plan", "village")]
    street = multi.occupancy_persons.sel(state="street").isel(time=slice(-12, None)).mean("time")  # the last 12 months
    for _, row in table.iterrows():
        values = street.sel(scenario=row.scenario, territory=row.territory)
        assert row.street_period == pytest.approx(float(values.median("replicate")))
        assert row.street_period_low == pytest.approx(float(values.quantile(0.1, "replicate")))
        assert row.street_period_high == pytest.approx(float(values.quantile(0.9, "replicate")))
        assert row.replicates == 2
    assert "cost" in table and (table.cost > 0).all()
    text, page = page_fr
    spans = [a for t, a in page.tags if t == "span" and a.get("class") == "delta"]
    assert len(spans) >= 2 * 8  # every indicator of the plan's two rows
    assert text.count('class="spread"') >= 4 * 8


def test_report_with_chosen_territories_draws_their_charts_only_and_says_so(single: xr.Dataset) -> None:
    page = Page(render_report(single, territories=["village"]))
    ids = [f["id"] for f in page.with_class("figure", "chart")]
    assert ids == ["chart-compare_street", "chart-indicators", *(f"chart-{kind}_village" for kind in PER_RUN_CHARTS)]
    assert [li["data-territory"] for li in page.with_class("li", "territory")] == ["town", "village"]
    assert [li["data-territory"] for li in page.with_class("li", "detailed-territory")] == ["village"]
    assert REPORT_TEXT["fr"]["detailed_charts_value"].format(n=1, total=2) in page.text
    assert {r["data-territory"] for r in page.with_class("tr", "summary-row")} == {"town", "village"}  # the summary keeps both
    from lda_sim.presentation import report

    en = Page(report._run_html(single, "en", ["village", "town"]))
    assert [li["data-territory"] for li in en.with_class("li", "detailed-territory")] == ["village", "town"]
    assert "Charts by territory" in en.text and "For 2 of the 2 territories only; the charts comparing territories cover them all." in en.text
    assert not Page(report._run_html(single, "en")).with_class("li", "detailed-territory")  # no selection, no mention
    with pytest.raises(ValueError, match="'nowhere' is not in the dataset .territories: town, village"):
        render_report(single, territories=["nowhere"])


def test_report_notes_a_missing_cost(page_en: tuple[str, Page]) -> None:
    _, page = page_en
    assert LABELS["en"]["cost_missing"] in page.text
    assert not [f for f in page.with_class("figure", "chart") if f["data-kind"] == "cost"]


def test_report_without_inputs_says_so(single: xr.Dataset) -> None:
    bare = single.copy()
    bare.attrs = {k: v for k, v in single.attrs.items() if k not in ("inputs", "sources")}
    assert dataset_inputs(bare) == [] and dataset_sources(bare) == {}
    from lda_sim.presentation import report

    page = Page(report._inputs_html(bare, "fr")[0])
    assert REPORT_TEXT["fr"]["no_inputs"] in page.text and not page.with_class("tr", "input")


def test_inputs_survive_netcdf(single: xr.Dataset, tmp_path: Path) -> None:
    path = save_dataset(single, tmp_path / "run.nc")
    back = open_results(path)
    assert dataset_inputs(back) == dataset_inputs(single)
    assert dataset_sources(back) == {"T1": "Test source one (2024).", "T2": "Test source two <with markup> & more.",
                                     "T3": "Test source three.", "T4": "A source nobody cites."}


# --- writing and the command line ----------------------------------------------------------------------
def test_write_report_is_atomic(single: xr.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lda_sim.presentation import report

    monkeypatch.setattr(report, "_charts_html", lambda ds, lang, period, territories=None: "<p>charts</p>")
    path = write_report(single, tmp_path / "out" / "report.html")
    assert os.listdir(tmp_path / "out") == ["report.html"]
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    def broken(ds: xr.Dataset, lang: str, period: object, territories: object = None) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "_charts_html", broken)
    with pytest.raises(RuntimeError):
        write_report(single, tmp_path / "out" / "other.html")
    assert os.listdir(tmp_path / "out") == ["report.html"]


def test_cli_report_takes_inputs_from_the_scenario_when_the_results_lack_them(
    single: xr.Dataset, config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lda_sim.presentation import report

    monkeypatch.setattr(report, "_charts_html", lambda ds, lang, period, territories=None: "<p>charts</p>")  # drawn in other tests
    bare = single.copy()
    bare.attrs = {k: v for k, v in single.attrs.items() if k not in ("inputs", "sources")}
    results = save_dataset(bare, tmp_path / "run.nc")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(results), "--out", str(out), "--lang", "en", "--scenario", str(config / "base.yaml")])
    assert result.exit_code == 0, result.output
    page = Page(out.read_text(encoding="utf-8"))
    assert len(page.with_class("tr", "input")) == len(load_scenario(config / "base.yaml").provenance)
    assert sorted(os.listdir(tmp_path)) == ["report.html", "run.nc"]


def test_cli_report_errors(tmp_path: Path, single: xr.Dataset) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["report", str(tmp_path / "nope.nc"), "--out", str(tmp_path / "r.html")])
    assert missing.exit_code == 2 and "file not found" in missing.output
    results = save_dataset(single, tmp_path / "run.nc")
    bad = runner.invoke(main, ["report", str(results), "--out", str(tmp_path / "r.html"), "--period", "2031-01:2031-02"])
    assert bad.exit_code == 2 and "outside the run" in bad.output
    assert not (tmp_path / "r.html").exists()
    unknown = runner.invoke(main, ["report", str(results), "--out", str(tmp_path / "r.html"), "--territory", "town", "--territory", "nowhere"])
    assert unknown.exit_code == 2
    assert unknown.stderr.splitlines() == ["lda-sim: error: territory 'nowhere' is not in the dataset (territories: town, village)"]
    assert not (tmp_path / "r.html").exists()


def test_cli_report_of_chosen_territories(single: xr.Dataset, tmp_path: Path) -> None:
    results = save_dataset(single, tmp_path / "run.nc")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(results), "--out", str(out), "--territory", "village"])
    assert result.exit_code == 0, result.output
    page = Page(out.read_text(encoding="utf-8"))
    assert [f["id"] for f in page.with_class("figure", "chart") if "village" in f["id"] or "town" in f["id"]] == [
        f"chart-{kind}_village" for kind in PER_RUN_CHARTS
    ]
    assert [li["data-territory"] for li in page.with_class("li", "detailed-territory")] == ["village"]


def test_attach_inputs_rows_are_provenance_rows(config: Path) -> None:
    scenario = load_scenario(config / "base.yaml")
    ds = attach_inputs(xr.Dataset(), scenario)
    rows = json.loads(ds.attrs["inputs"])
    assert [{k: v for k, v in r.items() if k not in ("file", "scenario")} for r in rows] == [
        {k: v for k, v in p.as_row().items() if k != "file"} for p in scenario.provenance
    ]
    assert {r["scenario"] for r in rows} == {"base"}
    assert all(not os.path.isabs(r["file"]) or not r["file"].startswith(os.getcwd()) for r in rows)
    assert json.loads(ds.attrs["sources"]) == scenario.sources
    assert np.all([isinstance(r["value"], (int, float, str, list, dict)) for r in rows])


# --- key messages, limits, languages (issue 16) ----------------------------------------------------------
def test_report_opens_with_key_messages_computed_from_the_data(multi: xr.Dataset, page_fr: tuple[str, Page]) -> None:
    from lda_sim.presentation.report import key_messages

    text, page = page_fr
    ids = [a["id"] for t, a in page.tags if t == "section"]
    assert ids[:3] == ["messages", "run", "limits"] and ids.index("summary") < ids.index("charts") < ids.index("inputs")
    messages = key_messages(multi, "fr")
    street = multi.occupancy_persons.sel(state="street").isel(time=slice(-12, None)).mean("time")  # over the default period
    diff = (street.sel(scenario="plan") - street.sel(scenario="base")).sel(territory="town")
    fewer = [m["text"] for m in messages if m["kind"] == "scenario" and m["territory"] == "town"]
    low, high = np.quantile(-diff.values, [0.1, 0.9])  # the band of the paired difference over replicates
    said = f"compte {round(abs(float(diff.median())))} [{round(low)} – {round(high)}] personnes de moins à la rue"
    assert len(fewer) == 1 and said in fewer[0]
    assert len(page.with_class("li", "key-message")) == len(messages)
    assert all(m["text"] in page.text for m in messages)


def test_report_has_a_generation_date_and_a_limits_section(single: xr.Dataset) -> None:
    import datetime

    page = Page(render_report(single, today=datetime.date(2026, 12, 1)))
    assert "Rapport produit le 1 décembre 2026." in page.text
    kinds = [li["data-kind"] for li in page.with_class("li", "limit")]
    assert kinds[:2] == ["calibration", "assumptions"] and "warmup" in kinds and "replicates" in kinds
    text = page.all_text()
    assert REPORT_TEXT["fr"]["limit_uncalibrated"] in text  # nothing was fitted by lda-sim calibrate
    rows = dataset_inputs(single)
    assumed = sum(r["kind"] == "assumption" for r in rows)
    assert f"{assumed} des {len(rows)} valeurs d'entrée sont des hypothèses" in text
    en = Page(render_report(single, lang="en", today=datetime.date(2026, 12, 1)))
    assert "Report produced on 1 December 2026." in en.text


def test_policies_are_said_in_sentences() -> None:
    from lda_sim.presentation.report import policy_sentence

    states = {"pension_de_famille": "Pension de famille", "hotel": "Hôtel (nuitées)", "iml_sublease": "IML sous-location"}
    spec = {"type": "production", "state": "pension_de_famille", "units_per_year": 57, "delivery_lag_years": 3, "start": "2025-01", "end": "2027-12",
            "territories": ["amp"]}
    assert policy_sentence(spec, "fr", states, {"amp": "Aix-Marseille-Provence"}) == (
        "Production de 57 logements par an en pension de famille, livrés 3 ans après leur lancement, de janvier 2025 à décembre 2027, à Aix-Marseille-Provence."
    )
    assert policy_sentence({"type": "transformation", "from": "hotel", "to": "iml_sublease", "places_per_year": 250}, "en", states) == (
        "Transformation of 250 places a year of Hôtel (nuitées) into IML sous-location, closed as they empty."
    )
    assert policy_sentence({"type": "prevention", "reduce": {"eviction": 0.3}}, "fr") == "Prévention : 30\u00a0% des arrivées par expulsion évitées."
    assert policy_sentence({"type": "allocation", "share_to_homeless": 0.5, "rule": "vulnerability"}, "en") == (
        "Share of the lettings of housing to homeless households set to 50%; priority order: most vulnerable first."
    )


def test_bundled_scenarios_have_french_titles_and_descriptions() -> None:
    import yaml

    from lda_sim.presentation.report import scenario_title, translate

    folder = Path(__file__).parent.parent / "configs" / "scenarios"
    for path in sorted(folder.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))["scenario"]
        name = spec["name"]
        assert scenario_title(name, "fr") != name and scenario_title(name, "en") != name, name
        if spec.get("description"):
            french, marked = translate(spec["description"], "fr")
            assert marked is None and french != spec["description"], path.name
            assert translate(spec["description"], "en") == (spec["description"], None)
    assert translate("a text nobody translated", "fr") == ("a text nobody translated", "en")


def test_untranslated_texts_are_marked_english_in_the_french_report(page_fr: tuple[str, Page]) -> None:
    text, page = page_fr
    english = [a for t, a in page.tags if a.get("lang") == "en" and t == "td"]
    assert english  # the test configuration's justifications are in English, marked as such
    assert [li for li in page.with_class("li", "limit") if li["data-kind"] == "language"]


def test_results_without_recorded_policies_say_so_rather_than_none(single: xr.Dataset) -> None:
    from lda_sim.presentation import report

    bare = single.copy()
    bare.attrs = {k: v for k, v in single.attrs.items() if k != "policies"}
    page = Page(report._run_html(bare, "fr"))
    assert REPORT_TEXT["fr"]["policies_unknown"] in page.text and REPORT_TEXT["fr"]["no_policies"] not in page.text


def test_every_input_text_of_the_bundled_scenarios_has_a_french_text() -> None:
    """The French report of a bundled scenario (the national one aside) leaves no English justification."""
    from lda_sim.presentation.report import translate

    folder = Path(__file__).parent.parent / "configs" / "scenarios"
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "national.yaml":  # 41 derived territories: their texts are not translated yet
            continue
        rows = [p.as_row() for p in load_scenario(path).provenance]
        left = {str(v) for r in rows for v in (r.get("text"), r.get("note")) if v and translate(str(v), "fr")[1]}
        assert not left, (path.name, sorted(left)[:3])
    assert translate("fitted by lda-sim calibrate to street_count_night = 442 (S22)", "fr") == (
        "ajusté par lda-sim calibrate sur street_count_night = 442 (S22)", None
    )
    assert translate("was 3.0 (assumption: as above)", "fr") == ("valait 3.0 (hypothèse : comme ci-dessus)", None)
    import yaml

    sources = yaml.safe_load((folder.parent / "sources.yaml").read_text(encoding="utf-8"))
    sources = sources.get("sources", sources)
    for key, value in sources.items():  # the French report cites every bundled source in French
        citation = value.get("citation") if isinstance(value, dict) else value
        assert translate(citation, "fr")[1] is None, key
