"""A self-contained HTML report of a results dataset, for a committee.

One HTML file, images embedded (``data:`` URIs, no external file, script or font), that a presenter
can send or print: the run (scenarios, territories, horizon, seeds), the summary indicators per
territory and scenario, the chart set of :mod:`lda_sim.plotting`, and the list of input values with
where each comes from (a source, a derivation or an assumption) and the sources cited.

The inputs travel with the results: :func:`attach_inputs` stores the provenance of every
configuration value of a scenario (:class:`lda_sim.provenance.Provenance`) and the source list as
JSON in the dataset attributes ``inputs`` and ``sources``, so that the report needs the results
file alone. French by default, ``lang="en"`` for English. To get a PDF, print the HTML from a
browser ("Save as PDF"): the page styles keep charts and table rows whole across pages.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from . import __version__
from .analysis import scenario_names, select_scenario, summary_table, total_cost
from .output import write_atomic
from .plotting import (
    DPI,
    Period,
    _selected_territories,
    _stamp_text,
    chart_notes,
    chart_set,
    has_cost,
)

__all__ = [
    "INPUT_KINDS",
    "REPORT_TEXT",
    "attach_inputs",
    "combine_inputs",
    "dataset_inputs",
    "dataset_sources",
    "render_report",
    "summary_by_scenario",
    "write_report",
]

#: Kinds of provenance of an input value, in the order the report lists them.
INPUT_KINDS = ("source", "derived", "assumption", "unsourced")

#: Texts of the report, French (default) and English.
REPORT_TEXT: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "title": "Rapport de simulation lda_sim — {scenarios}",
        "contents": "Sommaire",
        "run": "Simulation",
        "summary": "Indicateurs par territoire et par scénario",
        "charts": "Graphiques",
        "inputs": "Hypothèses et sources des données d'entrée",
        "sources": "Sources citées",
        "scenarios": "Scénarios",
        "baseline": "référence",
        "territories": "Territoires",
        "detailed_charts": "Graphiques par territoire",
        "detailed_charts_value": (
            "Pour {n} des {total} territoires seulement ; les graphiques qui comparent les territoires les couvrent tous."
        ),
        "horizon": "Période simulée",
        "horizon_value": "{start} à {end} ({months} mois)",
        "seed": "Graine",
        "replicates": "Répliques",
        "replicates_value": "{n} (graines {seeds}) ; les valeurs sont des médianes, entre crochets le 10e et le 90e centile",
        "version": "Version",
        "pathway": "Parcours",
        "events": "Événements simulés",
        "policies": "Politiques",
        "none": "aucune",
        "scenario": "Scénario",
        "territory": "Territoire",
        "street": "Personnes à la rue (début → fin)",
        "sheltered": "Personnes hébergées (fin)",
        "housed": "Ménages relogés par an",
        "returns": "Retours à la rue par an",
        "wait_shelter": "Attente médiane avant hébergement (j)",
        "wait_housing": "Attente médiane avant logement (j)",
        "p90_wait_housing": "Attente avant logement, 90e centile (j)",
        "time_to_housing": "Délai médian d'accès au logement (j)",
        "cost": "Coût annuel moyen (M€)",
        "delta": "écart à « {baseline} »",
        "summary_note": (
            "Stocks en fin de mois ; flux et coûts en moyenne annuelle sur la période ; attentes en jours, "
            "mesurées en temps continu pour les ménages entrés dans la période (les premiers mois sous-estiment "
            "les attentes : les ménages présents au départ comptent leur attente depuis le début de la simulation)."
        ),
        "all_territories": "Ensemble des territoires",
        "territory_charts": "{territory}",
        "territory_scenario_charts": "{territory} — scénario « {scenario} »",
        "inputs_count": "{n} valeurs d'entrée : {kinds}.",
        "kind_source": "sourcée",
        "kind_derived": "dérivée",
        "kind_assumption": "hypothèse",
        "kind_unsourced": "sans source",
        "kinds_source": "{n} sourcées",
        "kinds_derived": "{n} dérivées de sources",
        "kinds_assumption": "{n} hypothèses",
        "kinds_unsourced": "{n} sans source (constantes du modèle)",
        "file": "Fichier",
        "field": "Paramètre",
        "value": "Valeur",
        "kind": "Nature",
        "source_ids": "Sources",
        "justification": "Justification",
        "note": "Note",
        "applies_to": "Scénarios",
        "all_scenarios": "tous",
        "no_inputs": (
            "Ces résultats ne portent pas la liste des données d'entrée (attribut « inputs »). "
            "Relancez la simulation avec lda-sim run, ou passez le scénario : lda-sim report RESULTATS.nc --scenario SCENARIO.yaml."
        ),
        "unknown_source": "source inconnue de la liste",
        "no_sources": "Aucune source citée.",
        "generated": "Produit par lda_sim {version} à partir de {file}.",
        "print_hint": "Pour un PDF : imprimer cette page depuis le navigateur (« Enregistrer au format PDF »).",
        "notes": "Remarques",
        "caption_compare": (
            "Une courbe par scénario ; avec plusieurs répliques, la courbe est la médiane et la bande va du 10e au "
            "90e centile. En bout de courbe, la valeur à l'horizon et son écart au scénario de référence."
        ),
        "caption_indicators": (
            "Une colonne par territoire. Stocks en fin de mois ; relogements : ménages passés de la rue ou de "
            "l'hébergement à un logement, cumulés depuis le début ; attente : médiane des ménages entrés dans un logement dans le mois."
        ),
        "caption_cost": "À gauche, coût total de la période par situation (moyenne des répliques) ; à droite, coût de chaque mois.",
        "caption_occupancy": "Personnes présentes dans chaque situation en fin de mois, empilées ; le premier point est le stock de départ.",
        "caption_flows": (
            "Largeur des bandes : ménages ayant fait ce mouvement sur la période, dans la couleur de la situation de départ ; "
            "les sorties du dispositif sont en gris."
        ),
        "caption_waits": (
            "Attente des ménages entrés dans le mois : médiane (ligne) et jusqu'au 90e centile (bande) ; "
            "pointillé : médiane sur toute la période."
        ),
        "caption_wait_distribution": (
            "Part des ménages entrés dans l'année selon la durée de leur attente ; une barre par année, "
            "de la plus claire (la première) à la plus foncée (la dernière)."
        ),
        "caption_capacity": (
            "Places (hébergement) ou logements en fin de mois ; les variations viennent de la production, "
            "de la captation en IML et des transformations de places."
        ),
    },
    "en": {
        "title": "lda_sim simulation report — {scenarios}",
        "contents": "Contents",
        "run": "Simulation",
        "summary": "Indicators by territory and scenario",
        "charts": "Charts",
        "inputs": "Input assumptions and their sources",
        "sources": "Sources cited",
        "scenarios": "Scenarios",
        "baseline": "baseline",
        "territories": "Territories",
        "detailed_charts": "Charts by territory",
        "detailed_charts_value": "For {n} of the {total} territories only; the charts comparing territories cover them all.",
        "horizon": "Period simulated",
        "horizon_value": "{start} to {end} ({months} months)",
        "seed": "Seed",
        "replicates": "Replicates",
        "replicates_value": "{n} (seeds {seeds}); values are medians, in brackets the 10th and 90th percentiles",
        "version": "Version",
        "pathway": "Pathway",
        "events": "Events simulated",
        "policies": "Policies",
        "none": "none",
        "scenario": "Scenario",
        "territory": "Territory",
        "street": "Persons on the street (start → end)",
        "sheltered": "Persons in shelters (end)",
        "housed": "Households housed per year",
        "returns": "Returns to the street per year",
        "wait_shelter": "Median wait before a shelter (days)",
        "wait_housing": "Median wait before housing (days)",
        "p90_wait_housing": "Wait before housing, 90th percentile (days)",
        "time_to_housing": "Median time to housing (days)",
        "cost": "Mean annual cost (€M)",
        "delta": "difference from “{baseline}”",
        "summary_note": (
            "Stocks at month end; flows and costs as yearly means over the run; waits in days, measured in "
            "continuous time for the households who entered during the run (the first months underestimate "
            "waits: households present at the start count their wait from the start of the simulation)."
        ),
        "all_territories": "All territories",
        "territory_charts": "{territory}",
        "territory_scenario_charts": "{territory} — scenario “{scenario}”",
        "inputs_count": "{n} input values: {kinds}.",
        "kind_source": "sourced",
        "kind_derived": "derived",
        "kind_assumption": "assumption",
        "kind_unsourced": "unsourced",
        "kinds_source": "{n} sourced",
        "kinds_derived": "{n} derived from sources",
        "kinds_assumption": "{n} assumptions",
        "kinds_unsourced": "{n} without a source (model constants)",
        "file": "File",
        "field": "Parameter",
        "value": "Value",
        "kind": "Kind",
        "source_ids": "Sources",
        "justification": "Justification",
        "note": "Note",
        "applies_to": "Scenarios",
        "all_scenarios": "all",
        "no_inputs": (
            "These results do not carry the list of input values (attribute “inputs”). "
            "Run the simulation again with lda-sim run, or give the scenario: lda-sim report RESULTS.nc --scenario SCENARIO.yaml."
        ),
        "unknown_source": "not in the source list",
        "no_sources": "No source cited.",
        "generated": "Produced by lda_sim {version} from {file}.",
        "print_hint": "For a PDF: print this page from the browser (“Save as PDF”).",
        "notes": "Notes",
        "caption_compare": (
            "One line per scenario; with several replicates, the line is the median and the band runs from the 10th "
            "to the 90th percentile. At the end of each line, the value at the horizon and its difference from the baseline."
        ),
        "caption_indicators": (
            "One column per territory. Stocks at month end; housed: households moved from the street or a shelter "
            "into housing, cumulated since the start; wait: median of the households who entered housing in the month."
        ),
        "caption_cost": "Left, total cost over the run by situation (mean over replicates); right, the cost of each month.",
        "caption_occupancy": "Persons in each situation at month end, stacked; the first point is the initial stock.",
        "caption_flows": (
            "Band width: households who made that move during the period, in the colour of the situation they left; "
            "exits from the system are grey."
        ),
        "caption_waits": (
            "Wait of the households who entered in the month: median (line) and up to the 90th percentile (band); "
            "dotted: median over the whole run."
        ),
        "caption_wait_distribution": (
            "Share of the year's entries by length of wait; one bar per year, from the lightest (the first) to the darkest (the last)."
        ),
        "caption_capacity": (
            "Places (shelters) or units (housing) at month end; changes come from production, IML capture and "
            "transformation of places."
        ),
    },
}

MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"),
}


# --------------------------------------------------------------------------------------------
# Inputs carried by the dataset
# --------------------------------------------------------------------------------------------
def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _display_path(path: str) -> str:
    """A configuration file's path as shown to readers: normalised, relative to the working folder when under it."""
    path = os.path.normpath(path)
    if os.path.isabs(path):
        try:
            relative = os.path.relpath(path)
        except ValueError:  # another drive (Windows)
            return path
        if not relative.startswith(".."):
            return relative
    return path


def attach_inputs(ds: xr.Dataset, scenario: Any) -> xr.Dataset:
    """Store the inputs of ``scenario`` (a :class:`lda_sim.config.Scenario`) on ``ds`` and return it.

    Sets the attribute ``inputs``, a JSON list with one row per configuration value
    (``Provenance.as_row()``: file, field, value, kind, sources, text, note, and the scenario's
    name), and ``sources``, a JSON mapping of source id to citation. Both survive NetCDF.
    """
    rows = []
    for record in getattr(scenario, "provenance", ()):
        row = record.as_row()
        row["file"] = _display_path(str(row["file"]))
        row["scenario"] = scenario.name
        rows.append(row)
    ds.attrs["inputs"] = json.dumps(rows, ensure_ascii=False, default=_json_default)
    ds.attrs["sources"] = json.dumps(dict(getattr(scenario, "sources", {}) or {}), ensure_ascii=False, default=_json_default)
    return ds


def combine_inputs(datasets: Sequence[xr.Dataset]) -> dict[str, str]:
    """The ``inputs`` and ``sources`` attributes of several scenarios' datasets, merged.

    For a dataset stacking scenarios: a value found identical in every scenario is listed once
    (``scenario`` empty: all scenarios); one found in some only keeps their names, comma-separated.
    """
    merged: dict[str, dict[str, Any]] = {}
    names_of: dict[str, list[str]] = {}
    sources: dict[str, str] = {}
    all_names = []
    for ds in datasets:
        name = str(ds.attrs.get("scenario", "?"))
        all_names.append(name)
        for row in dataset_inputs(ds):
            key = json.dumps({k: v for k, v in row.items() if k != "scenario"}, sort_keys=True, ensure_ascii=False, default=_json_default)
            merged.setdefault(key, {k: v for k, v in row.items() if k != "scenario"})
            names_of.setdefault(key, []).append(name)
        sources.update(dataset_sources(ds))
    rows = []
    for key, row in merged.items():
        names = list(dict.fromkeys(names_of[key]))
        rows.append({**row, "scenario": "" if len(names) == len(set(all_names)) else ", ".join(names)})
    return {
        "inputs": json.dumps(rows, ensure_ascii=False, default=_json_default),
        "sources": json.dumps(sources, ensure_ascii=False, default=_json_default),
    }


def _load_json_attr(ds: xr.Dataset, name: str) -> Any:
    raw = ds.attrs.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        raw = str(raw)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"dataset attribute {name!r} is not valid JSON: {exc}") from None


def dataset_inputs(ds: xr.Dataset) -> list[dict[str, Any]]:
    """The input rows stored on the dataset by :func:`attach_inputs` (empty if none).

    Accepts a list of rows, or a mapping of scenario name to its list of rows.
    """
    data = _load_json_attr(ds, "inputs")
    if data is None:
        return []
    if isinstance(data, dict):
        rows = [{**row, "scenario": row.get("scenario") or name} for name, part in data.items() for row in part]
    else:
        rows = list(data)
    out = []
    for row in rows:
        if not isinstance(row, dict):
            raise ValueError("dataset attribute 'inputs' must hold a list of rows (objects)")
        out.append({key: row.get(key, "") for key in ("file", "field", "value", "kind", "sources", "text", "note", "scenario")})
    return out


def dataset_sources(ds: xr.Dataset) -> dict[str, str]:
    """The source list stored on the dataset (id -> citation; empty if none)."""
    data = _load_json_attr(ds, "sources")
    if not data:
        return {}
    if not isinstance(data, dict):
        raise ValueError("dataset attribute 'sources' must hold a mapping of source id to citation")
    return {str(k): str(v) for k, v in data.items()}


def _source_ids(row: Mapping[str, Any]) -> list[str]:
    raw = row.get("sources") or ""
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    return [s.strip() for s in items if str(s).strip()]


# --------------------------------------------------------------------------------------------
# Summary indicators
# --------------------------------------------------------------------------------------------
#: Columns of the summary: key, and how to compute it from a one-run dataset's summary table.
SUMMARY_KEYS = ("street", "sheltered", "housed", "returns", "wait_shelter", "wait_housing", "time_to_housing", "cost")


def _one_run_summary(ds: xr.Dataset) -> pd.DataFrame:
    table = summary_table(ds)
    years = ds.sizes["time"] / 12
    out = pd.DataFrame(index=table.index)
    out["territory_label"] = table["territory"]
    out["street_start"] = table["street_persons_start"]
    out["street_end"] = table["street_persons_end"]
    out["sheltered"] = table["sheltered_persons_end"]
    out["housed"] = table["housed_households_per_year"]
    out["returns"] = table["returns_to_street_per_year"]
    out["wait_shelter"] = table["median_wait_shelter_days"]
    out["wait_housing"] = table["median_wait_housing_days"]
    out["p90_wait_housing"] = table["p90_wait_housing_days"]
    if "time_to_housing_run" in ds:
        out["time_to_housing"] = ds["time_to_housing_run"].sel(statistic="median").transpose("territory").values
    if has_cost(ds):
        cost = total_cost(ds)
        assert cost is not None  # has_cost
        out["cost"] = (cost.sum("time") / years / 1e6).transpose("territory").values
    return out


def summary_by_scenario(ds: xr.Dataset) -> pd.DataFrame:
    """Summary indicators per scenario and territory (rows), with replicate spread.

    Columns ``<indicator>`` hold the median over replicates (the value itself without
    replicates), ``<indicator>_low`` and ``<indicator>_high`` their 10th and 90th percentiles, and
    ``replicates`` their number. Rows are in the order of the scenarios, then the territories.
    """
    frames = []
    for name in scenario_names(ds):
        one = select_scenario(ds, name)
        runs = [one.isel(replicate=i) for i in range(one.sizes["replicate"])] if "replicate" in one.dims else [one]
        tables = [_one_run_summary(run) for run in runs]
        labels = tables[0]["territory_label"]
        stacked = pd.concat([t.drop(columns="territory_label") for t in tables], keys=range(len(tables)), names=["replicate"])
        grouped = stacked.groupby(level="territory_id", sort=False)
        median = grouped.median()
        low = grouped.quantile(0.1).add_suffix("_low")
        high = grouped.quantile(0.9).add_suffix("_high")
        frame = pd.concat([median, low, high], axis=1).reindex(labels.index)
        frame.insert(0, "territory_label", labels)
        frame.insert(0, "scenario", name)
        frame["replicates"] = len(tables)
        frames.append(frame.reset_index().rename(columns={"territory_id": "territory"}))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------
CSS = """
:root { --ink: #1d1d1d; --muted: #5a5a5a; --rule: #d8d8d8; --band: #f4f4f4; --accent: #332288; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: var(--ink); margin: 0 auto; max-width: 1280px; padding: 24px 32px 48px; line-height: 1.45; }
h1 { font-size: 1.9em; margin: 0 0 0.2em; }
h2 { font-size: 1.45em; border-bottom: 2px solid var(--accent); padding-bottom: 0.15em; margin-top: 2em; }
h3 { font-size: 1.15em; margin-top: 1.6em; }
.meta, .note, footer, figcaption { color: var(--muted); }
nav ol { columns: 2; }
ul.policies { margin: 0.2em 0 0.4em; font-size: 0.9em; color: var(--muted); }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 0.25em 1.2em; }
dl.run dt { font-weight: bold; }
dl.run dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 0.8em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid var(--rule); padding: 0.35em 0.5em; vertical-align: top; text-align: left; }
th { background: var(--band); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
.table-wrap { overflow-x: auto; }
td .spread, td .delta { display: block; color: var(--muted); font-size: 0.85em; }
tr.scenario-first td { border-top: 2px solid #999; }
figure { margin: 1.2em 0 2em; page-break-inside: avoid; break-inside: avoid; }
figure img { width: 100%; height: auto; border: 1px solid var(--rule); }
.kind { display: inline-block; padding: 0 0.45em; border-radius: 0.6em; font-size: 0.85em; white-space: nowrap; }
.kind-source { background: #d9ecd9; } .kind-derived { background: #dde6f4; } .kind-assumption { background: #f6e7c8; } .kind-unsourced { background: #eeeeee; }
td.value { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 0.9em; white-space: pre-wrap; word-break: break-word; }
td.field { min-width: 13em; overflow-wrap: anywhere; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav, .print-hint { display: none; }
  h2 { page-break-before: always; break-before: page; }
  tr { page-break-inside: avoid; break-inside: avoid; }
}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _number(value: Any, lang: str, digits: int = 0) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(x):
        return "—"
    text = f"{x:,.{digits}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text.replace("-", "\u2212")


def _signed(value: float, lang: str, digits: int = 0) -> str:
    if not math.isfinite(value):
        return "—"
    text = _number(value, lang, digits)
    return text if value < 0 or text.strip("0,.\u202f") == "" else "+" + text


def _month(value: Any, lang: str) -> str:
    t = np.datetime64(value, "M")
    year, month = (int(p) for p in str(t).split("-")[:2])
    return f"{MONTHS[lang][month - 1]} {year}"


def _cell(row: pd.Series, key: str, lang: str, digits: int, base: pd.Series | None, text: Mapping[str, str]) -> str:
    value = row.get(key, np.nan)
    out = _number(value, lang, digits)
    if row.get("replicates", 1) > 1 and f"{key}_low" in row:
        out += f'<span class="spread">[{_number(row[f"{key}_low"], lang, digits)} – {_number(row[f"{key}_high"], lang, digits)}]</span>'
    if base is not None and key in base:
        out += f'<span class="delta" title="{_e(text["delta"].format(baseline=base["scenario"]))}">Δ {_signed(float(value) - float(base[key]), lang, digits)}</span>'
    return out


def _summary_html(ds: xr.Dataset, lang: str) -> str:
    text = REPORT_TEXT[lang]
    table = summary_by_scenario(ds)
    names = scenario_names(ds)
    columns = [
        ("street", "street"), ("sheltered", "sheltered"), ("housed", "housed"), ("returns", "returns"),
        ("wait_shelter", "wait_shelter"), ("wait_housing", "wait_housing"), ("p90_wait_housing", "p90_wait_housing"),
    ]
    if "time_to_housing" in table:
        columns.append(("time_to_housing", "time_to_housing"))
    if "cost" in table:
        columns.append(("cost", "cost"))
    head = "".join(f'<th class="num">{_e(text[label])}</th>' for _, label in columns)
    rows = []
    baseline = {r.territory: r for r in (row for _, row in table[table.scenario == names[0]].iterrows())}
    for i, (_, row) in enumerate(table.iterrows()):
        base = baseline.get(row["territory"]) if row["scenario"] != names[0] else None
        first = i == 0 or table.iloc[i - 1]["scenario"] != row["scenario"]
        cells = []
        for key, _ in columns:
            if key == "street":
                start = _number(row["street_start"], lang)
                cells.append(f"{start} → {_cell(row, 'street_end', lang, 0, base, text)}")
            else:
                cells.append(_cell(row, key, lang, 1 if key == "cost" else 0, base, text))
        tds = "".join(f'<td class="num">{c}</td>' for c in cells)
        rows.append(
            f'<tr class="summary-row{" scenario-first" if first else ""}" data-scenario="{_e(row["scenario"])}" data-territory="{_e(row["territory"])}">'
            f'<td>{_e(row["scenario"])}</td><td>{_e(row["territory_label"])}</td>{tds}</tr>'
        )
    return (
        f'<div class="table-wrap"><table class="summary"><thead><tr><th>{_e(text["scenario"])}</th><th>{_e(text["territory"])}</th>{head}</tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table></div><p class="note">{_e(text["summary_note"])}</p>'
    )


def _scenario_descriptions(ds: xr.Dataset) -> dict[str, str]:
    names = scenario_names(ds)
    if "scenario_description" in ds.coords and ds["scenario_description"].ndim == 1 and "scenario" in ds.dims:
        return dict(zip(names, (str(d) for d in ds["scenario_description"].values)))
    return {names[0]: str(ds.attrs.get("scenario_description", ""))} if len(names) == 1 else {}


def _policies(ds: xr.Dataset, name: str) -> list[str]:
    raw = None
    if "scenario_policies" in ds.coords and "scenario" in ds.dims:
        raw = str(ds["scenario_policies"].sel(scenario=name).item())
    elif "scenario" not in ds.dims:
        raw = ds.attrs.get("policies")
    if not raw:
        return []
    try:
        specs = json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        return [str(raw)]
    out = []
    for spec in specs if isinstance(specs, list) else [specs]:
        if isinstance(spec, dict):
            kind = spec.get("type") or spec.get("kind") or spec.get("policy") or ""
            rest = "; ".join(f"{k}: {_value_text(v)}" for k, v in spec.items() if k not in ("type", "kind", "policy"))
            out.append(f"{kind} — {rest}" if kind else rest)
        else:
            out.append(str(spec))
    return out


def _run_html(ds: xr.Dataset, lang: str, territories: Sequence[str] | None = None) -> str:
    """The run section; ``territories``, when given, are those with per-territory charts."""
    text = REPORT_TEXT[lang]
    names = scenario_names(ds)
    descriptions = _scenario_descriptions(ds)
    items = []
    for i, name in enumerate(names):
        label = f"<strong>{_e(name)}</strong>" + (f" ({_e(text['baseline'])})" if i == 0 and len(names) > 1 else "")
        description = descriptions.get(name, "")
        policies = _policies(ds, name)
        colon = "\u00a0:" if lang == "fr" else ":"
        extra = (
            f'<br><span class="note">{_e(text["policies"])}{colon}</span><ul class="policies">{"".join(f"<li>{_e(p)}</li>" for p in policies)}</ul>'
            if policies else ""
        )
        items.append(f'<li class="scenario" data-scenario="{_e(name)}">{label}{" — " + _e(description) if description else ""}{extra}</li>')
    all_territories = [str(t) for t in ds["territory"].values]
    tlabels = dict(zip(all_territories, (str(v) for v in ds["territory_label"].values) if "territory_label" in ds.coords else all_territories))

    def territory_list(ids: Iterable[str], cls: str) -> str:
        return "".join(f'<li class="{cls}" data-territory="{_e(t)}">{_e(tlabels[t])} <span class="note">({_e(t)})</span></li>' for t in ids)

    months = ds.sizes.get("time", 0)
    rows = [
        (text["scenarios"], f"<ul>{''.join(items)}</ul>"),
        (text["territories"], f"<ul>{territory_list(all_territories, 'territory')}</ul>"),
    ]
    if territories is not None:
        selected = _selected_territories(ds, territories)
        note = text["detailed_charts_value"].format(n=len(selected), total=len(all_territories))
        rows.append((text["detailed_charts"], f'<ul>{territory_list(selected, "detailed-territory")}</ul><span class="note">{_e(note)}</span>'))
    if months:
        rows.append((text["horizon"], _e(text["horizon_value"].format(start=_month(ds["time"].values[0], lang), end=_month(ds["time"].values[-1], lang), months=months))))
    if "replicate" in ds.dims:
        values = ds["replicate_seed"].values if "replicate_seed" in ds.coords else ds["replicate"].values
        seeds = ", ".join(str(s) for s in values[:12]) + (" …" if ds.sizes["replicate"] > 12 else "")
        rows.append((text["replicates"], _e(text["replicates_value"].format(n=ds.sizes["replicate"], seeds=seeds))))
    elif "seed" in ds.attrs:
        rows.append((text["seed"], _e(ds.attrs["seed"])))
    if "pathway" in ds.attrs:
        rows.append((text["pathway"], _e(ds.attrs["pathway"])))
    rows.append((text["version"], _e(f"lda_sim {ds.attrs.get('lda_sim_version', '?')}")))
    body = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="run">{body}</dl>'


def _render_chart(draw: Any) -> tuple[str, str]:
    """Draw a chart, return (caption, base64 PNG)."""
    fig = draw()
    try:
        caption = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    finally:
        fig.clear()
    return caption, base64.b64encode(buffer.getvalue()).decode("ascii")


def _charts_html(ds: xr.Dataset, lang: str, period: Period, territories: Sequence[str] | None = None) -> str:
    text = REPORT_TEXT[lang]
    charts = chart_set(ds, lang=lang, period=period, territories=territories)
    tlabels = dict(zip((str(t) for t in ds["territory"].values), (str(v) for v in ds["territory_label"].values))) if "territory_label" in ds.coords else {}
    several = "scenario" in ds.dims
    parts: list[str] = []
    current = None
    for chart in charts:
        group = (chart.territory, chart.scenario) if chart.scenario is not None else (None, None)
        if group != current:
            current = group
            if chart.scenario is None:
                heading = text["all_territories"]
            elif several:
                heading = text["territory_scenario_charts"].format(territory=tlabels.get(str(chart.territory), str(chart.territory)), scenario=chart.scenario)
            else:
                heading = text["territory_charts"].format(territory=tlabels.get(str(chart.territory), str(chart.territory)))
            parts.append(f"<h3>{_e(heading)}</h3>")
        caption, data = _render_chart(chart.draw)
        parts.append(
            f'<figure class="chart" id="chart-{_e(chart.name)}" data-kind="{_e(chart.kind)}">'
            f'<img src="data:image/png;base64,{data}" alt="{_e(caption)}" width="1920" height="1080">'
            f'<figcaption><strong>{_e(caption)}</strong>. {_e(text.get(f"caption_{chart.kind}", ""))}</figcaption></figure>'
        )
    notes = chart_notes(ds, lang=lang)
    if notes:
        parts.append(f'<div class="notes"><h3>{_e(text["notes"])}</h3><ul>{"".join(f"<li>{_e(n)}</li>" for n in notes)}</ul></div>')
    return "\n".join(parts)


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    return str(value)


def _inputs_html(ds: xr.Dataset, lang: str) -> tuple[str, str]:
    """The inputs table and the sources list."""
    text = REPORT_TEXT[lang]
    rows = dataset_inputs(ds)
    sources = dataset_sources(ds)
    if not rows:
        return f'<p class="note missing-inputs">{_e(text["no_inputs"])}</p>', f'<p class="note">{_e(text["no_sources"])}</p>'
    counts = {k: sum(1 for r in rows if r["kind"] == k) for k in INPUT_KINDS}
    other = len(rows) - sum(counts.values())
    kinds = ", ".join(text[f"kinds_{k}"].format(n=n) for k, n in counts.items() if n) + (f", {other} ?" if other else "")
    parts = [f'<p class="inputs-count">{_e(text["inputs_count"].format(n=len(rows), kinds=kinds))}</p>']
    with_scenarios = any(r.get("scenario") for r in rows) and len(scenario_names(ds)) > 1
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_file.setdefault(str(row["file"]), []).append(row)
    cited: list[str] = []
    for file, file_rows in by_file.items():
        parts.append(f'<h3 class="input-file">{_e(file)}</h3>')
        head = [text["field"], text["value"], text["kind"], text["source_ids"], text["justification"], text["note"]]
        if with_scenarios:
            head.append(text["applies_to"])
        body = []
        for row in file_rows:
            ids = _source_ids(row)
            cited.extend(ids)
            links = ", ".join(
                f'<a href="#source-{_e(i)}">{_e(i)}</a>' if i in sources else f'{_e(i)} <span class="note">({_e(text["unknown_source"])})</span>' for i in ids
            )
            kind = str(row["kind"])
            kind_label = text.get(f"kind_{kind}", kind)
            cells = [
                f'<td class="field">{_e(row["field"]).replace(".", ".<wbr>")}</td>',
                f'<td class="value">{_e(_value_text(row["value"]))}</td>',
                f'<td><span class="kind kind-{_e(kind)}">{_e(kind_label)}</span></td>',
                f"<td>{links}</td>",
                f"<td>{_e(row.get('text', ''))}</td>",
                f"<td>{_e(row.get('note', ''))}</td>",
            ]
            if with_scenarios:
                cells.append(f"<td>{_e(row.get('scenario') or text['all_scenarios'])}</td>")
            body.append(f'<tr class="input" data-kind="{_e(kind)}" data-field="{_e(row["field"])}">{"".join(cells)}</tr>')
        parts.append(
            f'<table class="inputs"><thead><tr>{"".join(f"<th>{_e(h)}</th>" for h in head)}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        )
    cited_ids = list(dict.fromkeys(cited))
    if cited_ids:
        items = "".join(
            f'<tr class="source" id="source-{_e(i)}"><td>{_e(i)}</td><td>{_e(sources.get(i, text["unknown_source"]))}</td></tr>' for i in sorted(cited_ids, key=_source_order)
        )
        source_html = f'<table class="sources"><tbody>{items}</tbody></table>'
    else:
        source_html = f'<p class="note">{_e(text["no_sources"])}</p>'
    return "\n".join(parts), source_html


def _source_order(source_id: str) -> tuple[str, int, str]:
    head = source_id.rstrip("0123456789abcdefghijklmnopqrstuvwxyz")
    digits = "".join(ch for ch in source_id[len(head):] if ch.isdigit())
    return (head, int(digits) if digits else -1, source_id)


def render_report(
    ds: xr.Dataset, *, lang: str = "fr", period: Period = None, source: str | None = None, territories: Sequence[str] | None = None
) -> str:
    """The HTML text of the report of ``ds`` (see the module's documentation).

    ``period`` is the period of the flow diagrams (see :func:`lda_sim.plotting.plot_flows`);
    ``source`` names the results file in the footer; ``territories`` limits the per-territory
    charts to those territories (see :func:`lda_sim.plotting.chart_set`; None: all), which the
    run section then names. The summary table covers every territory.
    """
    if lang not in REPORT_TEXT:
        raise ValueError(f"lang must be one of {sorted(REPORT_TEXT)}, not {lang!r}")
    text = REPORT_TEXT[lang]
    names = scenario_names(ds)
    title = text["title"].format(scenarios=", ".join(names))
    inputs, sources = _inputs_html(ds, lang)
    sections = [
        ("run", text["run"], _run_html(ds, lang, territories)),
        ("summary", text["summary"], _summary_html(ds, lang)),
        ("charts", text["charts"], _charts_html(ds, lang, period, territories)),
        ("inputs", text["inputs"], inputs),
        ("sources", text["sources"], sources),
    ]
    nav = "".join(f'<li><a href="#{key}">{_e(heading)}</a></li>' for key, heading, _ in sections)
    body = "\n".join(f'<section id="{key}"><h2>{_e(heading)}</h2>\n{content}\n</section>' for key, heading, content in sections)
    footer = text["generated"].format(version=ds.attrs.get("lda_sim_version", __version__), file=source or "?")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="lda_sim {_e(__version__)}">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{_e(title)}</h1><p class=\"meta\">{_e(_stamp_text(ds, lang))}</p>"
        f'<p class="note print-hint">{_e(text["print_hint"])}</p></header>\n'
        f'<nav><h2>{_e(text["contents"])}</h2><ol>{nav}</ol></nav>\n{body}\n'
        f"<footer><p>{_e(footer)}</p></footer>\n</body>\n</html>\n"
    )


def write_report(
    ds: xr.Dataset, path: str | Path, *, lang: str = "fr", period: Period = None, source: str | None = None,
    territories: Sequence[str] | None = None,
) -> Path:
    """Write the HTML report of ``ds`` (:func:`render_report`) to ``path`` atomically; returns the path."""
    page = render_report(ds, lang=lang, period=period, source=source, territories=territories)
    return write_atomic(path, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))


def inputs_for(paths: Iterable[str | Path]) -> dict[str, str]:
    """The ``inputs`` and ``sources`` attributes of scenario files (for results that lack them)."""
    from .config import load_scenario

    datasets = []
    for path in paths:
        scenario = load_scenario(path)
        datasets.append(attach_inputs(xr.Dataset(attrs={"scenario": scenario.name}), scenario))
    if len(datasets) == 1:
        return {k: datasets[0].attrs[k] for k in ("inputs", "sources")}
    return combine_inputs(datasets)
