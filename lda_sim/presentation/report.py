"""A self-contained HTML report of a results dataset, for a committee.

One HTML file, images embedded (``data:`` URIs, no external file, script or font), that a presenter
can send or print: the run (scenarios, territories, horizon, seeds), the summary indicators per
territory and scenario, the chart set of :mod:`lda_sim.presentation.plotting`, and the list of input values with
where each comes from (a source, a derivation or an assumption) and the sources cited.

The inputs travel with the results: :func:`lda_sim.dataset.inputs.attach_inputs` stores the provenance of every
configuration value of a scenario (:class:`lda_sim.config.provenance.Provenance`) and the source list as
JSON in the dataset attributes ``inputs`` and ``sources``, so that the report needs the results
file alone. French by default, ``lang="en"`` for English. To get a PDF, print the HTML from a
browser ("Save as PDF"): the page styles keep charts and table rows whole across pages.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from .. import __version__
from ..analysis.indicators import (
    collapse_replicates,
    period_indices,
    period_label,
    pooled_wait_quantile,
    scenario_names,
    select_scenario,
    summary_table,
)
from ..config.files import write_atomic
from ..dataset.inputs import dataset_inputs, dataset_sources, json_default
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
    "render_report",
    "summary_by_scenario",
    "write_report",
]

#: Kinds of provenance of an input value, in the order the report lists them.
INPUT_KINDS = ("source", "derived", "assumption", "unsourced")

#: Texts of the report, French (default) and English.
REPORT_TEXT: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "messages": "Messages clés",
        "limits": "Limites et incertitudes",
        "generated_on": "Rapport produit le {date}.",
        "policies_sentence": "Politiques mises en œuvre :",
        "no_policies": "Aucune politique ajoutée à la situation de départ.",
        "policies_unknown": "Les politiques de ce scénario ne sont pas enregistrées dans ces résultats : voir son fichier.",
        "replicates_note": "Entre crochets, le 10e et le 90e centile sur les répliques ; les valeurs sont des médianes.",
        "msg_street": "{territory} : dans le scénario « {scenario} », le nombre de personnes à la rue passe de {start} au départ ({first}) à {end} en moyenne sur la période {period}.",
        "msg_wait": "{territory} : l'attente médiane avant un logement est de {wait} jours sur la période ; {housed} ménages sont relogés chaque année.",
        "msg_scenario_less": "{territory} : « {scenario} » compte {n} personnes de moins à la rue que « {baseline} » en moyenne sur la période {period} ({value} contre {base}).",
        "msg_scenario_more": "{territory} : « {scenario} » compte {n} personnes de plus à la rue que « {baseline} » en moyenne sur la période {period} ({value} contre {base}).",
        "msg_scenario_same": "{territory} : « {scenario} » compte autant de personnes à la rue que « {baseline} » en moyenne sur la période {period} ({value}).",
        "msg_scenario_wait": "Attente médiane avant un logement : {wait} jours contre {base}.",
        "msg_scenario_cost": "Coût annuel : {delta} M€.",
        "msg_more": "Et {n} autres territoires : voir le tableau des indicateurs.",
        "limit_uncalibrated": (
            "Configuration non calibrée : les paramètres viennent de sources et d'hypothèses, sans ajustement aux chiffres observés "
            "(voir configs/calibration/ et lda-sim calibrate). Les résultats donnent des ordres de grandeur et des écarts entre scénarios, "
            "pas des prévisions."
        ),
        "limit_calibrated": (
            "Configuration calibrée : {n} paramètres ont été ajustés par lda-sim calibrate aux chiffres observés des premières années ; "
            "au-delà, les résultats prolongent ces hypothèses."
        ),
        "limit_assumptions": "{n} des {total} valeurs d'entrée sont des hypothèses et {unsourced} des constantes du modèle sans source.",
        "limit_drivers": "Celles qui pèsent le plus sur les résultats portent sur les arrivées, les taux de sortie, les durées de séjour et les parts : {fields}.",
        "limit_street_drop": (
            "Démarrage : la rue passe de {start} personnes au départ à {first} à la fin du premier mois, parce que les places vacantes "
            "se remplissent dès l'ouverture de la simulation ; c'est un effet de mise en route, pas d'une politique."
        ),
        "limit_warmup": (
            "Montée en charge des attentes : les ménages présents au départ comptent leur attente depuis le début de la simulation, "
            "si bien que les attentes des premiers mois sont sous-estimées."
        ),
        "limit_warmup_months": "Ici, l'attente médiane avant un logement n'atteint son niveau de fin de période qu'au bout de {n} mois.",
        "limit_replicates": "Incertitude : {n} répliques ; les bandes et les crochets donnent le 10e et le 90e centile.",
        "limit_no_replicates": (
            "Incertitude : une seule réplique ; les écarts entre scénarios (même graine) sont comparables, mais leur dispersion n'est pas "
            "mesurée (lda-sim run --replicates N)."
        ),
        "limit_untranslated": "{n} textes des fichiers de configuration n'ont pas encore de traduction française ; ils sont cités en anglais.",
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
        "replicates_value": "{n} (graines {seeds}) ; les valeurs sont des médianes des répliques, entre crochets le 10e et le 90e centile",
        "version": "Version",
        "pathway": "Parcours",
        "events": "Événements simulés",
        "policies": "Politiques",
        "none": "aucune",
        "scenario": "Scénario",
        "territory": "Territoire",
        "street": "Personnes à la rue (début → moyenne de la période)",
        "sheltered": "Personnes hébergées (moyenne de la période)",
        "housed": "Ménages relogés par an",
        "returns": "Retours à la rue par an",
        "wait_shelter": "Attente médiane avant hébergement (j)",
        "wait_housing": "Attente médiane avant logement (j)",
        "p90_wait_housing": "Attente avant logement, 90e centile (j)",
        "time_to_housing": "Délai médian d'accès au logement, Kaplan-Meier (j)",
        "housed_12_months": "Part des entrants logés en 12 mois, Kaplan-Meier (%)",
        "cost": "Coût annuel moyen (M€)",
        "delta": "écart à « {baseline} »",
        "summary_note": (
            "Sur la période {period} : stocks en moyenne des fins de mois ; flux et coûts par an ; attentes en jours, "
            "mesurées en temps continu, des ménages servis pendant la période (les ménages présents au départ comptent "
            "leur attente depuis le début de la simulation). Délai d'accès au logement et part logée en 12 mois : "
            "estimations de Kaplan-Meier sur les ménages entrés pendant toute la simulation, ceux pas encore logés "
            "comptés comme censurés et non écartés (la population initiale, dont la date d'entrée est inconnue, est écartée)."
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
        "messages": "Key messages",
        "limits": "Limits and uncertainty",
        "generated_on": "Report produced on {date}.",
        "policies_sentence": "Policies implemented:",
        "no_policies": "No policy added to the starting situation.",
        "policies_unknown": "The policies of this scenario are not recorded in these results: see its file.",
        "replicates_note": "In brackets, the 10th and 90th percentiles over replicates; values are medians.",
        "msg_street": "{territory}: in the scenario “{scenario}”, persons on the street go from {start} at the start ({first}) to {end} on average over {period}.",
        "msg_wait": "{territory}: the median wait before housing is {wait} days over the period; {housed} households are housed each year.",
        "msg_scenario_less": "{territory}: “{scenario}” has {n} fewer persons on the street than “{baseline}” on average over {period} ({value} against {base}).",
        "msg_scenario_more": "{territory}: “{scenario}” has {n} more persons on the street than “{baseline}” on average over {period} ({value} against {base}).",
        "msg_scenario_same": "{territory}: “{scenario}” has as many persons on the street as “{baseline}” on average over {period} ({value}).",
        "msg_scenario_wait": "Median wait before housing: {wait} days against {base}.",
        "msg_scenario_cost": "Yearly cost: {delta} €M.",
        "msg_more": "And {n} more territories: see the table of indicators.",
        "limit_uncalibrated": (
            "Uncalibrated configuration: parameters come from sources and assumptions, not fitted to observed figures "
            "(see configs/calibration/ and lda-sim calibrate). Results give orders of magnitude and differences between scenarios, "
            "not forecasts."
        ),
        "limit_calibrated": (
            "Calibrated configuration: {n} parameters were fitted by lda-sim calibrate to the observed figures of the first years; "
            "beyond, the results carry these assumptions forward."
        ),
        "limit_assumptions": "{n} of the {total} input values are assumptions and {unsourced} are model constants without a source.",
        "limit_drivers": "Those that drive the results most are on arrivals, exit rates, lengths of stay and shares: {fields}.",
        "limit_street_drop": (
            "Start-up: the street goes from {start} persons at the start to {first} at the end of the first month, because vacant "
            "places fill as soon as the simulation opens; this is a warm-up effect, not a policy's."
        ),
        "limit_warmup": (
            "Warm-up of waits: households present at the start count their wait from the start of the simulation, so the waits of "
            "the first months are underestimated."
        ),
        "limit_warmup_months": "Here the median wait before housing reaches its end-of-run level only after {n} months.",
        "limit_replicates": "Uncertainty: {n} replicates; bands and brackets give the 10th and 90th percentiles.",
        "limit_no_replicates": (
            "Uncertainty: a single replicate; differences between scenarios (same seed) are comparable, but their spread is not "
            "measured (lda-sim run --replicates N)."
        ),
        "limit_untranslated": "{n} texts of the configuration files have no translation yet.",
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
        "street": "Persons on the street (start → period mean)",
        "sheltered": "Persons in shelters (period mean)",
        "housed": "Households housed per year",
        "returns": "Returns to the street per year",
        "wait_shelter": "Median wait before a shelter (days)",
        "wait_housing": "Median wait before housing (days)",
        "p90_wait_housing": "Wait before housing, 90th percentile (days)",
        "time_to_housing": "Median time to housing, Kaplan-Meier (days)",
        "housed_12_months": "Share of entrants housed within 12 months, Kaplan-Meier (%)",
        "cost": "Mean annual cost (€M)",
        "delta": "difference from “{baseline}”",
        "summary_note": (
            "Over the period {period}: stocks as means of the month ends; flows and costs per year; waits in days, "
            "measured in continuous time, of the households served during the period (households present at the "
            "start count their wait from the start of the simulation). Time to housing and share housed within "
            "12 months: Kaplan-Meier estimates over the households that entered during the whole run, those not "
            "yet housed counted as censored, not left out (the initial population, whose entry dates are unknown, "
            "is left out)."
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



def _source_ids(row: Mapping[str, Any]) -> list[str]:
    raw = row.get("sources") or ""
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    return [s.strip() for s in items if str(s).strip()]


# --------------------------------------------------------------------------------------------
# Summary indicators
# --------------------------------------------------------------------------------------------
#: Columns of the summary: key, and how to compute it from a one-run dataset's summary table.
SUMMARY_KEYS = ("street", "sheltered", "housed", "returns", "wait_shelter", "wait_housing", "time_to_housing", "cost")


def _one_run_summary(ds: xr.Dataset, period: Period = None) -> pd.DataFrame:
    table = summary_table(ds, period)
    out = pd.DataFrame(index=table.index)
    out["territory_label"] = table["territory"]
    out["street_start"] = table["street_persons_start"]
    out["street_period"] = table["street_persons"]  # the period mean (the key keeps its name)
    out["sheltered"] = table["sheltered_persons"]
    out["housed"] = table["housed_per_year"]
    out["returns"] = table["returns_to_street_per_year"]
    out["wait_shelter"] = table["median_wait_shelter_days"]
    out["wait_housing"] = table["median_wait_housing_days"]
    out["p90_wait_housing"] = table["p90_wait_housing_days"]
    if "time_to_housing_km" in ds:
        out["time_to_housing"] = table["median_time_to_housing_days"]
        out["housed_12_months"] = 100 * table["share_housed_within_12_months"]
    elif "time_to_housing_run" in ds:
        out["time_to_housing"] = ds["time_to_housing_run"].sel(statistic="median").transpose("territory").values
    if has_cost(ds):
        out["cost"] = table["total_cost_meur_per_year"]
    out.attrs["period"] = table.attrs.get("period", "")
    return out


def summary_by_scenario(ds: xr.Dataset, period: Period = None) -> pd.DataFrame:
    """Summary indicators per scenario and territory (rows), with replicate spread.

    Columns ``<indicator>`` hold the median over replicates (the value itself without
    replicates), ``<indicator>_low`` and ``<indicator>_high`` their 10th and 90th percentiles, and
    ``replicates`` their number. Rows are in the order of the scenarios, then the territories.
    """
    frames = []
    for name in scenario_names(ds):
        one = select_scenario(ds, name)
        runs = [one.isel(replicate=i) for i in range(one.sizes["replicate"])] if "replicate" in one.dims else [one]
        tables = [_one_run_summary(run, period) for run in runs]
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
    out = pd.concat(frames, ignore_index=True)
    out.attrs["period"] = period_label(ds, period)
    return out


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


# The report is rendered from lda_sim/presentation/templates/report.html.j2 (Jinja2, escaping on): the Python
# below only computes what each section says.
_ENV = Environment(loader=PackageLoader("lda_sim.presentation", "templates"), autoescape=True, trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)


def _template():
    return _ENV.get_template("report.html.j2")


def _macro(name: str, *args: Any) -> Markup:
    return Markup(getattr(_template().module, name)(*args))


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _number(value: Any, lang: str, digits: int = 0) -> str:
    """A number in the conventions of ``lang`` (Babel): thousands separated by a narrow no-break
    space and a decimal comma in French; a dash when there is no value; a true minus sign."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(x):
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(round(x, digits), format=pattern, locale=LOCALES[lang]).replace("-", "\u2212")


def _signed(value: float, lang: str, digits: int = 0) -> str:
    if not math.isfinite(value):
        return "—"
    text = _number(value, lang, digits)
    return text if value < 0 or text.strip("0,.\u202f\u00a0") == "" else "+" + text


def _month(value: Any, lang: str) -> str:
    """``décembre 2026`` / ``December 2026`` (Babel)."""
    t = pd.Timestamp(np.datetime64(value, "D"))
    return format_date(t.date(), "MMMM y", locale=LOCALES[lang])


def _cell(row: pd.Series, key: str, lang: str, digits: int, base: pd.Series | None, text: Mapping[str, str]) -> dict[str, Any]:
    value = row.get(key, np.nan)
    cell: dict[str, Any] = {"value": _number(value, lang, digits), "spread": None, "delta": None}
    if row.get("replicates", 1) > 1 and f"{key}_low" in row:
        cell["spread"] = (_number(row[f"{key}_low"], lang, digits), _number(row[f"{key}_high"], lang, digits))
    if base is not None and key in base:
        cell["delta"] = _signed(float(value) - float(base[key]), lang, digits)
        cell["delta_title"] = text["delta"].format(baseline=scenario_title(str(base["scenario"]), lang))
    return cell


SUMMARY_COLUMNS = ("street", "sheltered", "housed", "returns", "wait_shelter", "wait_housing", "p90_wait_housing")


def _summary_html(ds: xr.Dataset, lang: str, table: pd.DataFrame | None = None) -> str:
    text = REPORT_TEXT[lang]
    table = summary_by_scenario(ds) if table is None else table
    names = scenario_names(ds)
    columns = list(SUMMARY_COLUMNS) + [k for k in ("time_to_housing", "housed_12_months", "cost") if k in table]
    head = [text["scenario"], text["territory"], *(text[k] for k in columns)]
    baseline = {r.territory: r for _, r in table[table.scenario == names[0]].iterrows()}
    rows = []
    for i, (_, row) in enumerate(table.iterrows()):
        base = baseline.get(row["territory"]) if row["scenario"] != names[0] else None
        cells = []
        for key in columns:
            if key == "street":
                cell = _cell(row, "street_period", lang, 0, base, text)
                cell["value"] = f"{_number(row['street_start'], lang)} → {cell['value']}"
            else:
                cell = _cell(row, key, lang, 1 if key == "cost" else 0, base, text)
            cells.append(cell)
        rows.append({
            "first": i == 0 or table.iloc[i - 1]["scenario"] != row["scenario"], "scenario": row["scenario"],
            "territory": row["territory"], "scenario_label": scenario_title(str(row["scenario"]), lang),
            "territory_label": row["territory_label"], "cells": cells,
        })
    note = text["summary_note"].format(period=table.attrs.get("period", "")) + (" " + text["replicates_note"] if int(table["replicates"].max()) > 1 else "")
    return str(_macro("summary", head, rows, note))


def _scenario_descriptions(ds: xr.Dataset) -> dict[str, str]:
    names = scenario_names(ds)
    if "scenario_description" in ds.coords and ds["scenario_description"].ndim == 1 and "scenario" in ds.dims:
        return dict(zip(names, (str(d) for d in ds["scenario_description"].values)))
    return {names[0]: str(ds.attrs.get("scenario_description", ""))} if len(names) == 1 else {}


def _policies_recorded(ds: xr.Dataset) -> bool:
    """Whether the dataset says which policies its scenarios have (ensembles may not)."""
    return ("scenario_policies" in ds.coords and "scenario" in ds.dims) or ("scenario" not in ds.dims and "policies" in ds.attrs)


def _policy_specs(ds: xr.Dataset, name: str) -> list[Any]:
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
    return specs if isinstance(specs, list) else [specs]


def _policies(ds: xr.Dataset, name: str, lang: str = "fr") -> list[str]:
    """The policies of scenario ``name``, each said in a sentence (:func:`policy_sentence`)."""
    states = _state_names(ds, lang)
    territories = _territory_names(ds)
    return [policy_sentence(spec, lang, states, territories) for spec in _policy_specs(ds, name)]


def _state_names(ds: xr.Dataset, lang: str) -> dict[str, str]:
    coord = f"state_label_{lang}"
    if "state" not in ds.coords:
        return {}
    values = ds[coord].values if coord in ds.coords else ds["state"].values
    return {str(s): str(v) for s, v in zip(ds["state"].values, values)}


def _territory_names(ds: xr.Dataset) -> dict[str, str]:
    ids = [str(t) for t in ds["territory"].values]
    labels = (str(v) for v in ds["territory_label"].values) if "territory_label" in ds.coords else ids
    return dict(zip(ids, labels))


def _day_words(value: Any, lang: str, pattern: str = "d MMMM y") -> str:
    """``15 mars 2027`` / ``15 March 2027`` of a date ``YYYY-MM-DD`` (or of a day ``MM-DD`` with
    the pattern ``d MMMM``)."""
    text = str(value)
    day = datetime.date.fromisoformat(text if len(text) == 10 else f"2001-{text}")
    said = format_date(day, pattern, locale=LOCALES[lang])
    return "1er" + said[1:] if lang == "fr" and day.day == 1 else said  # le 1er novembre


def _period_words(spec: Mapping[str, Any], lang: str) -> str:
    start, end = spec.get("start"), spec.get("end")
    month = lambda v: _day_words(v, lang) if len(str(v)) == 10 else _month(np.datetime64(str(v) + "-01"), lang)  # noqa: E731
    if start and end:
        return POLICY_TEXT[lang]["from_to"].format(start=month(start), end=month(end))
    if start:
        return POLICY_TEXT[lang]["from"].format(start=month(start))
    return ""


def _share(value: Any, lang: str) -> str:
    try:
        return format_percent(float(value), locale=LOCALES[lang])
    except (TypeError, ValueError):
        return str(value)


def policy_sentence(spec: Any, lang: str, states: Mapping[str, str] | None = None, territories: Mapping[str, str] | None = None) -> str:
    """A policy of a scenario file (its mapping: ``type`` and fields) said as a sentence in ``lang``:
    what the lever does, how much, where and when (``Production de 57 logements par an en pension de
    famille, livrés 3 ans après leur lancement, de janvier 2025 à décembre 2027, à Aix-Marseille-Provence.``)."""
    words = POLICY_TEXT[lang]
    states = states or {}
    territories = territories or {}
    if not isinstance(spec, Mapping):
        return str(spec)
    def state(key: str) -> str:
        name = states.get(str(spec.get(key, "")), str(spec.get(key, "")))
        # "en pension de famille", but "en IML sous-location": lower a capital only before a lower-case letter
        return name[:1].lower() + name[1:] if lang == "fr" and len(name) > 1 and name[1].islower() else name

    number = lambda key, digits=0: _number(spec.get(key, 0), lang, digits)  # noqa: E731
    kind = str(spec.get("type", ""))
    if kind == "production":
        body = words["production"].format(n=number("units_per_year"), state=state("state"))
        if spec.get("delivery_lag_years"):
            body += words["delivery_lag"].format(n=_number(spec["delivery_lag_years"], lang, 1 if float(spec["delivery_lag_years"]) % 1 else 0))
        if spec.get("share_to_homeless") is not None:
            body += words["first_letting"].format(share=_share(spec["share_to_homeless"], lang))
    elif kind == "iml_capture":
        body = words["iml_capture"].format(n=number("units_per_year"), state=state("state"))
        if spec.get("owner_exit_rate_per_year"):
            body += words["owner_exit"].format(share=_share(spec["owner_exit_rate_per_year"], lang))
        if spec.get("sliding_lease_leaves_scheme"):
            body += words["sliding"]
    elif kind == "transformation":
        body = words["transformation"].format(n=number("places_per_year"), source=state("from"), target=state("to"))
    elif kind == "capacity_change" and "change" in spec:
        change = float(spec.get("change", 0) or 0)
        body = words["capacity_open_once" if change >= 0 else "capacity_close_once"].format(n=_number(abs(change), lang), state=state("state"))
        once = str(spec.get("start", ""))
        spec = {k: v for k, v in spec.items() if k not in ("start", "end")}  # said here, not as a period
        body += words["on"].format(date=_day_words(once, lang) if len(once) == 10 else _month(np.datetime64(once + "-01"), lang))
    elif kind == "capacity_change":
        change = float(spec.get("change_per_year", 0) or 0)
        body = words["capacity_open" if change >= 0 else "capacity_close"].format(n=_number(abs(change), lang), state=state("state"))
    elif kind == "seasonal_capacity":
        body = words["seasonal"].format(n=number("places"), state=state("state"), opens=_day_words(spec.get("opens", "11-01"), lang, "d MMMM"),
                                        closes=_day_words(spec.get("closes", "03-31"), lang, "d MMMM"))
    elif kind == "inflow_projection":
        cause = CAUSES[lang].get(str(spec.get("cause")), str(spec.get("cause"))) if spec.get("cause") else None
        if isinstance(spec.get("households_per_year"), Mapping):
            rates = words["and"].join(words["rate_in"].format(n=_number(v, lang), year=y) for y, v in spec["households_per_year"].items())
            body = words["projection"].format(cause=cause or "?", rates=rates)
        else:
            body = words["growth"].format(share=_share(spec.get("growth_per_year", 0), lang), cause=words["by_cause"].format(cause=cause) if cause else "")
    elif kind == "prevention":
        parts = [words["prevent"].format(share=_share(v, lang), cause=CAUSES[lang].get(c, c)) for c, v in (spec.get("reduce") or {}).items()]
        for cause, rule in (spec.get("divert") or {}).items():
            if isinstance(rule, Mapping):
                parts.append(words["divert"].format(share=_share(rule.get("share", 0), lang), cause=CAUSES[lang].get(cause, cause),
                                                    state=states.get(str(rule.get("to", "")), str(rule.get("to", "")))))
        body = words["prevention"] + words["and"].join(parts)
    elif kind == "support":
        served = words["and"].join(states.get(str(s), str(s)) for s in (spec.get("states") or []))
        body = words["support"].format(n=number("slots"), states=served or "—")
        if spec.get("failure_reduction") is not None:
            body += words["failure"].format(share=_share(spec["failure_reduction"], lang))
    elif kind == "allocation":
        parts = []
        if spec.get("share_to_homeless") is not None:
            parts.append(words["allocation_share"].format(state=state("state") if spec.get("state") else words["social_default"], share=_share(spec["share_to_homeless"], lang)))
        if spec.get("rule"):
            parts.append(words["allocation_rule"].format(rule=RULES[lang].get(str(spec["rule"]), str(spec["rule"]))))
        body = words["and"].join(parts) or words["allocation"]
        body = body[:1].upper() + body[1:]
    elif kind == "pathway":
        parts = []
        if spec.get("close"):
            closed = [str(t).replace("->", " → ") for t in spec["close"]]
            closed = [" → ".join(states.get(p.strip(), p.strip()) for p in t.split("→")) for t in closed]
            parts.append(words["close"].format(edges=", ".join(closed)))
        if spec.get("ready_after"):
            delays = ", ".join(f"{states.get(str(s), str(s))} {_number(d, lang)} j" if lang == "fr" else f"{states.get(str(s), str(s))} {_number(d, lang)} days"
                               for s, d in (spec["ready_after"].items() if isinstance(spec["ready_after"], Mapping) else []))
            parts.append(words["ready"].format(delays=delays or str(spec["ready_after"])))
        body = words["pathway"] + words["and"].join(parts)
    else:
        rest = "; ".join(f"{k} = {_value_text(v)}" for k, v in spec.items() if k not in ("type", "start", "end", "territories"))
        body = words["custom"].format(kind=kind or "?", rest=rest)
    where = spec.get("territories")
    tail = [p for p in (_period_words(spec, lang), words["in"].format(where=", ".join(territories.get(str(t), str(t)) for t in where)) if where else "") if p]
    return body + (", " + ", ".join(tail) if tail else "") + "."


def _run_html(ds: xr.Dataset, lang: str, territories: Sequence[str] | None = None) -> str:
    """The run section; ``territories``, when given, are those with per-territory charts."""
    text = REPORT_TEXT[lang]
    names = scenario_names(ds)
    descriptions = _scenario_descriptions(ds)
    items = []
    for i, name in enumerate(names):
        description, description_lang = translate(descriptions.get(name, ""), lang)
        items.append({
            "name": name, "title": scenario_title(name, lang), "baseline": i == 0 and len(names) > 1, "lang": None,
            "description": description, "description_lang": description_lang, "policies": _policies(ds, name, lang),
            "baseline_only": i == 0, "recorded": _policies_recorded(ds),
        })
    tlabels = _territory_names(ds)
    all_territories = list(tlabels)

    def listing(ids: Iterable[str], cls: str) -> Markup:
        return Markup("<ul>") + _macro("territory_list", [{"id": t, "label": tlabels[t]} for t in ids], cls) + Markup("</ul>")

    months = ds.sizes.get("time", 0)
    rows: list[tuple[str, Any]] = [
        (text["scenarios"], _macro("scenarios", items, text)),
        (text["territories"], listing(all_territories, "territory")),
    ]
    if territories is not None:
        selected = _selected_territories(ds, territories)
        note = text["detailed_charts_value"].format(n=len(selected), total=len(all_territories))
        rows.append((text["detailed_charts"], listing(selected, "detailed-territory") + Markup('<span class="note">{}</span>').format(note)))
    if months:
        rows.append((text["horizon"], text["horizon_value"].format(start=_month(ds["time"].values[0], lang), end=_month(ds["time"].values[-1], lang), months=months)))
    if "replicate" in ds.dims:
        values = ds["replicate_seed"].values if "replicate_seed" in ds.coords else ds["replicate"].values
        seeds = ", ".join(str(s) for s in values[:12]) + (" …" if ds.sizes["replicate"] > 12 else "")
        rows.append((text["replicates"], text["replicates_value"].format(n=ds.sizes["replicate"], seeds=seeds)))
    elif "seed" in ds.attrs:
        rows.append((text["seed"], ds.attrs["seed"]))
    if "pathway" in ds.attrs:
        rows.append((text["pathway"], ds.attrs["pathway"]))
    rows.append((text["version"], f"lda_sim {ds.attrs.get('lda_sim_version', '?')}"))
    return str(_macro("run", rows))


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


def rendered_charts(ds: xr.Dataset, lang: str, period: Period, territories: Sequence[str] | None = None, progress: Any = None) -> list[dict[str, Any]]:
    """The chart set drawn to PNG: groups (heading, charts: name, kind, caption, text, data as base64)."""
    text = REPORT_TEXT[lang]
    charts = chart_set(ds, lang=lang, period=period, territories=territories)
    tlabels = _territory_names(ds)
    several = "scenario" in ds.dims
    groups: list[dict[str, Any]] = []
    current = None
    bar = progress(total=len(charts), desc="charts", unit="chart") if progress else None
    for chart in charts:
        group = (chart.territory, chart.scenario) if chart.scenario is not None else (None, None)
        if group != current or not groups:
            current = group
            if chart.scenario is None:
                heading = text["all_territories"]
            elif several:
                heading = text["territory_scenario_charts"].format(territory=tlabels.get(str(chart.territory), str(chart.territory)), scenario=scenario_title(chart.scenario, lang))
            else:
                heading = text["territory_charts"].format(territory=tlabels.get(str(chart.territory), str(chart.territory)))
            groups.append({"heading": heading, "charts": []})
        caption, data = _render_chart(chart.draw)
        groups[-1]["charts"].append({"name": chart.name, "kind": chart.kind, "caption": caption, "text": text.get(f"caption_{chart.kind}", ""), "data": data})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return groups


def _charts_html(ds: xr.Dataset, lang: str, period: Period, territories: Sequence[str] | None = None) -> str:
    groups = rendered_charts(ds, lang, period, territories, progress=_PROGRESS.get("factory"))
    return str(_macro("charts", groups, chart_notes(ds, lang=lang), REPORT_TEXT[lang]))


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=json_default)
    return str(value)


def _inputs_html(ds: xr.Dataset, lang: str) -> tuple[str, str]:
    """The inputs table and the sources list."""
    text = REPORT_TEXT[lang]
    rows = dataset_inputs(ds)
    sources = dataset_sources(ds)
    if not rows:
        return str(Markup('<p class="note missing-inputs">{}</p>').format(text["no_inputs"])), str(Markup('<p class="note">{}</p>').format(text["no_sources"]))
    counts = {k: sum(1 for r in rows if r["kind"] == k) for k in INPUT_KINDS}
    other = len(rows) - sum(counts.values())
    kinds = ", ".join(text[f"kinds_{k}"].format(n=n) for k, n in counts.items() if n) + (f", {other} ?" if other else "")
    with_scenarios = any(r.get("scenario") for r in rows) and len(scenario_names(ds)) > 1
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_file.setdefault(str(row["file"]), []).append(row)
    cited: list[str] = []
    files = []
    for file, file_rows in by_file.items():
        shown = []
        for row in file_rows:
            ids = _source_ids(row)
            cited.extend(ids)
            kind = str(row["kind"])
            justification, justification_lang = translate(str(row.get("text", "") or ""), lang)
            note, note_lang = translate(str(row.get("note", "") or ""), lang)
            shown.append({
                "kind": kind, "field": row["field"], "field_html": Markup(".<wbr>").join(str(row["field"]).split(".")),
                "value": _value_text(row["value"]), "kind_label": text.get(f"kind_{kind}", kind),
                "sources": [{"id": i, "known": i in sources, "unknown": text["unknown_source"]} for i in ids],
                "text": justification, "text_lang": justification_lang, "note": note, "note_lang": note_lang,
                "scenario": (row.get("scenario") or text["all_scenarios"]) if with_scenarios else None,
            })
        files.append({"name": file, "rows": shown})
    head = [text["field"], text["value"], text["kind"], text["source_ids"], text["justification"], text["note"]] + ([text["applies_to"]] if with_scenarios else [])
    table = _macro("inputs", text["inputs_count"].format(n=len(rows), kinds=kinds), files, head)
    cited_ids = sorted(dict.fromkeys(cited), key=_source_order)
    listed = []
    for i in cited_ids:
        citation, citation_lang = translate(sources[i], lang) if i in sources else (text["unknown_source"], None)
        listed.append({"id": i, "citation": citation, "lang": citation_lang})
    source_html = _macro("sources", listed, text["no_sources"])
    return str(table), str(source_html)


def _source_order(source_id: str) -> tuple[str, int, str]:
    head = source_id.rstrip("0123456789abcdefghijklmnopqrstuvwxyz")
    digits = "".join(ch for ch in source_id[len(head):] if ch.isdigit())
    return (head, int(digits) if digits else -1, source_id)


# --------------------------------------------------------------------------------------------
# Translations, key messages and limits
# --------------------------------------------------------------------------------------------
#: Babel locale of each report language.
LOCALES = {"fr": "fr_FR", "en": "en_GB"}

#: How a policy is said, by language (see :func:`policy_sentence`).
POLICY_TEXT: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "production": "Production de {n} logements par an en {state}",
        "delivery_lag": ", livrés {n} ans après leur lancement",
        "first_letting": ", dont {share} attribués à leur première mise en location à des ménages sans domicile",
        "iml_capture": "Captation de {n} logements privés par an en {state}",
        "owner_exit": ", {share} des propriétaires reprenant leur logement chaque année",
        "sliding": ", les baux glissants sortant le logement du dispositif",
        "transformation": "Transformation de {n} places par an de {source} en {target}, fermées à mesure qu'elles se libèrent",
        "capacity_open": "Ouverture de {n} places ou logements par an en {state}",
        "capacity_close": "Fermeture de {n} places ou logements par an en {state}",
        "capacity_open_once": "Ouverture de {n} places ou logements en {state}",
        "capacity_close_once": "Fermeture de {n} places ou logements en {state}, à mesure qu'ils se libèrent",
        "on": ", le {date}",
        "seasonal": "Ouverture saisonnière de {n} places en {state} chaque année, du {opens} au {closes}, fermées à mesure qu'elles se libèrent",
        "projection": "Projection des arrivées par {cause} : {rates}",
        "rate_in": "{n} ménages par an à partir de {year}",
        "growth": "Arrivées{cause} en hausse de {share} par an",
        "by_cause": " par {cause}",
        "prevention": "Prévention : ",
        "prevent": "{share} des arrivées par {cause} évitées",
        "divert": "{share} des arrivées par {cause} orientées directement vers {state}",
        "support": "{n} places d'accompagnement pour les locataires de {states}",
        "failure": ", qui réduisent de {share} leur risque de retour à la rue",
        "allocation_share": "part des attributions de {state} aux ménages sans domicile portée à {share}",
        "allocation_rule": "ordre de priorité : {rule}",
        "allocation": "Règles d'attribution modifiées",
        "social_default": "logements",
        "pathway": "Doctrine du parcours : ",
        "close": "passages fermés : {edges}",
        "ready": "délais de préparation avant le logement : {delays}",
        "custom": "Politique « {kind} » : {rest}",
        "and": " ; ",
        "from_to": "de {start} à {end}",
        "from": "à partir de {start}",
        "in": "à {where}",
    },
    "en": {
        "production": "Production of {n} units a year of {state}",
        "delivery_lag": ", delivered {n} years after they are launched",
        "first_letting": ", {share} of them let first to homeless households",
        "iml_capture": "Capture of {n} private rentals a year for {state}",
        "owner_exit": ", {share} of the owners taking their unit back each year",
        "sliding": ", sliding leases taking the unit out of the scheme",
        "transformation": "Transformation of {n} places a year of {source} into {target}, closed as they empty",
        "capacity_open": "Opening of {n} places or units a year of {state}",
        "capacity_close": "Closure of {n} places or units a year of {state}",
        "capacity_open_once": "Opening of {n} places or units of {state}",
        "capacity_close_once": "Closure of {n} places or units of {state}, as they empty",
        "on": ", on {date}",
        "seasonal": "Seasonal opening of {n} places of {state} every year, from {opens} to {closes}, closed as they empty",
        "projection": "Projection of the arrivals by {cause}: {rates}",
        "rate_in": "{n} households a year from {year}",
        "growth": "Arrivals{cause} growing by {share} a year",
        "by_cause": " by {cause}",
        "prevention": "Prevention: ",
        "prevent": "{share} of the arrivals by {cause} avoided",
        "divert": "{share} of the arrivals by {cause} sent straight to {state}",
        "support": "{n} support slots for the tenants of {states}",
        "failure": ", which lower their risk of returning to the street by {share}",
        "allocation_share": "share of the lettings of {state} to homeless households set to {share}",
        "allocation_rule": "priority order: {rule}",
        "allocation": "Allocation rules changed",
        "social_default": "housing",
        "pathway": "Pathway doctrine: ",
        "close": "moves closed: {edges}",
        "ready": "readiness delays before housing: {delays}",
        "custom": "Policy “{kind}”: {rest}",
        "and": "; ",
        "from_to": "from {start} to {end}",
        "from": "from {start}",
        "in": "in {where}",
    },
}
CAUSES: Mapping[str, Mapping[str, str]] = {
    "fr": {"eviction": "expulsion", "institution_exit": "sortie d'institution", "violence": "violences", "migration": "migration",
           "family_breakup": "rupture familiale", "other": "autre cause", "asylum": "demande d'asile"},
    "en": {"eviction": "eviction", "institution_exit": "institution exit", "violence": "violence", "migration": "migration",
           "family_breakup": "family break-up", "other": "other cause", "asylum": "asylum"},
}
RULES: Mapping[str, Mapping[str, str]] = {
    "fr": {"fcfs": "ordre d'arrivée", "priority_first": "ménages prioritaires d'abord", "longest_in_system": "ancienneté dans le dispositif",
           "vulnerability": "les plus vulnérables d'abord"},
    "en": {"fcfs": "first come, first served", "priority_first": "priority households first", "longest_in_system": "longest in the system first",
           "vulnerability": "most vulnerable first"},
}


def _normal(text: str) -> str:
    return " ".join(str(text).split())


@lru_cache(maxsize=None)
def _locale_table(lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """(titles, texts) of ``lda_sim/presentation/locale/<lang>.yaml``; empty for a language without a file."""
    try:
        raw = resources.files("lda_sim.presentation").joinpath("locale", f"{lang}.yaml").read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, {}
    data = yaml.safe_load(raw) or {}
    return ({str(k): str(v) for k, v in (data.get("titles") or {}).items()},
            {_normal(k): _normal(v) for k, v in (data.get("texts") or {}).items()})


#: Texts written by ``lda-sim calibrate`` into calibrated files: pattern, French form (the inner text translated).
_CALIBRATION_FORMS = (
    (re.compile(r"^fitted by lda-sim calibrate to (?P<target>\S+) = (?P<value>\S+) \((?P<source>[^)]*)\)(?P<rest>.*)$"),
     "ajusté par lda-sim calibrate sur {target} = {value} ({source}){rest}"),
    (re.compile(r"^was (?P<value>.+?) \((?P<kind>derived|assumption|source): (?P<inner>.*)\)$"), "valait {value} ({kind} : {inner})"),
)
_KINDS_FR = {"derived": "dérivée", "assumption": "hypothèse", "source": "source"}


def translate(text: str, lang: str) -> tuple[str, str | None]:
    """A configuration text (written in English) in ``lang``: ``(text, None)`` when it is in that
    language, ``(original, "en")`` when the translation table (``lda_sim/presentation/locale/fr.yaml``) lacks it.
    The notes that ``lda-sim calibrate`` writes are translated by their form, their inner text by the table."""
    if not text or lang == "en":
        return text, None
    found = _locale_table(lang)[1].get(_normal(text))
    if found:
        return found, None
    for pattern, form in _CALIBRATION_FORMS:
        match = pattern.match(_normal(text))
        if match:
            parts = match.groupdict()
            if "inner" in parts:
                inner, marked = translate(parts["inner"], lang)
                if marked:
                    return text, "en"
                parts.update(inner=inner, kind=_KINDS_FR[parts["kind"]])
            if parts.get("rest"):
                rest = parts["rest"].replace(", a common factor fitted on ", ", un facteur commun ajusté sur ")
                if re.search(r"[A-Za-z]{3,}", re.sub(r"(un facteur commun ajusté sur|\S+\.\S+|\bx\b)", "", rest)):
                    return text, "en"
                parts["rest"] = rest
            return form.format(**parts), None
    return text, "en"


def scenario_title(name: str, lang: str) -> str:
    """The title of a scenario in ``lang`` (``lda_sim/presentation/locale/<lang>.yaml``, ``titles``), else its name."""
    return _locale_table(lang)[0].get(name, name)


def _band(low: float, high: float, lang: str, digits: int = 0) -> str:
    return f" [{_number(low, lang, digits)} – {_number(high, lang, digits)}]"


def _street_over_period(ds: xr.Dataset, name: str, territory: str, period: Period) -> np.ndarray:
    """Persons on the street, mean of the month ends of ``period``, per replicate."""
    one = select_scenario(ds, name).sel(territory=territory)
    first, last = period_indices(one, period)
    street = one["occupancy_persons"].sel(state="street").isel(time=slice(first, last + 1)).mean("time")
    return np.atleast_1d(street.values.astype(float))


#: Territories the key messages speak of at most (the summary table has them all).
MESSAGE_TERRITORIES = 6


def key_messages(ds: xr.Dataset, lang: str = "fr", table: pd.DataFrame | None = None) -> list[dict[str, str]]:
    """The executive summary: sentences computed from the dataset, per territory.

    One run: the street from the start to its mean over the period of ``table`` (default: the last
    12 months), the median wait before housing, households housed a year. Several scenarios: each
    scenario against the baseline over that period, persons on the street
    (with, over replicates, the 10th-90th percentile of the paired difference: common random
    numbers), the median wait before housing and the yearly cost. Returns rows
    ``{"territory", "kind", "text"}``.
    """
    text = REPORT_TEXT[lang]
    table = summary_by_scenario(ds) if table is None else table
    names = scenario_names(ds)
    months = (_month(ds["time"].values[0], lang), _month(ds["time"].values[-1], lang)) if ds.sizes.get("time") else ("?", "?")
    period = table.attrs.get("period") or period_label(ds, None)
    out: list[dict[str, str]] = []
    territories = list(dict.fromkeys(table.territory))
    reps = int(table["replicates"].max())
    for territory in territories[:MESSAGE_TERRITORIES]:
        rows = table[table.territory == territory].set_index("scenario")
        base = rows.loc[names[0]]
        label = base["territory_label"]
        band = (lambda r, k, d=0: _band(r[f"{k}_low"], r[f"{k}_high"], lang, d) if reps > 1 else "")  # noqa: E731
        out.append({"territory": territory, "kind": "street", "text": text["msg_street"].format(
            territory=label, start=_number(base["street_start"], lang), end=_number(base["street_period"], lang) + band(base, "street_period"),
            first=months[0], last=months[1], period=period, scenario=scenario_title(names[0], lang))})
        out.append({"territory": territory, "kind": "wait", "text": text["msg_wait"].format(
            territory=label, wait=_number(base["wait_housing"], lang) + band(base, "wait_housing"), housed=_number(base["housed"], lang) + band(base, "housed"))})
        for name in names[1:]:
            row = rows.loc[name]
            diffs = _street_over_period(ds, name, territory, period) - _street_over_period(ds, names[0], territory, period)
            delta = float(np.median(diffs))
            sized = -diffs if delta < 0 else diffs  # the band of the number said ("182 fewer [131 – 232]")
            q10, q90 = np.quantile(sized, [0.1, 0.9])
            spread = _band(float(q10), float(q90), lang) if diffs.size > 1 else ""
            key = "msg_scenario_less" if delta < 0 else "msg_scenario_more" if delta > 0 else "msg_scenario_same"
            sentence = text[key].format(
                territory=label, scenario=scenario_title(name, lang), baseline=scenario_title(names[0], lang), period=period,
                n=_number(abs(delta), lang) + spread, value=_number(row["street_period"], lang), base=_number(base["street_period"], lang),
            )
            sentence += " " + text["msg_scenario_wait"].format(wait=_number(row["wait_housing"], lang), base=_number(base["wait_housing"], lang))
            if "cost" in rows and math.isfinite(float(row["cost"])):
                sentence += " " + text["msg_scenario_cost"].format(delta=_signed(float(row["cost"]) - float(base["cost"]), lang, 1))
            out.append({"territory": territory, "kind": "scenario", "text": sentence})
    if len(territories) > MESSAGE_TERRITORIES:
        out.append({"territory": "", "kind": "more", "text": text["msg_more"].format(n=len(territories) - MESSAGE_TERRITORIES)})
    return out


def _warmup_months(ds: xr.Dataset) -> int | None:
    """Months until the monthly median wait before housing first reaches 80 % of its level over the
    last year (households present at the start count their wait from the start); None if unknown."""
    if "wait_histogram" not in ds or ds.sizes.get("time", 0) < 13:
        return None
    run = collapse_replicates(select_scenario(ds, scenario_names(ds)[0]))
    wait = pooled_wait_quantile(run, "housing", q=0.5)
    series = wait.median("territory", skipna=True).values.astype(float) if "territory" in wait.dims else wait.values.astype(float)
    level = np.nanmedian(series[-12:]) if np.isfinite(series[-12:]).any() else math.nan
    if not math.isfinite(level) or level <= 0:
        return None
    reached = np.flatnonzero(np.nan_to_num(series, nan=0.0) >= 0.8 * level)
    return int(reached[0]) + 1 if reached.size else None


def _value_words(value: Any, lang: str) -> str:
    """An input value for a sentence: numbers in the conventions of ``lang``, mappings as ``key value``."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        digits = 0 if float(value).is_integer() else min(3, max(1, len(f"{float(value):g}".split(".")[-1])))
        return _number(value, lang, digits)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_value_words(v, lang)}" for k, v in value.items()).join("()")
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_words(v, lang) for v in value).join("[]")
    return str(value)


def limits(ds: xr.Dataset, lang: str = "fr") -> list[dict[str, str]]:
    """The limits section: calibration status, the assumptions that drive the results, the warm-up
    of stocks and waits, the spread over replicates, and (in French) the texts left in English."""
    text = REPORT_TEXT[lang]
    rows = dataset_inputs(ds)
    out = []
    fitted = [r for r in rows if "fitted by lda-sim calibrate" in str(r.get("text", "")) + str(r.get("note", ""))]
    out.append({"kind": "calibration", "text": text["limit_calibrated"].format(n=len(fitted)) if fitted else text["limit_uncalibrated"]})
    assumptions = [r for r in rows if r.get("kind") == "assumption"]
    if rows:
        drivers = [r for r in assumptions if any(k in str(r["field"]) for k in ("inflows", "rate", "stay", "share", "refusal"))]
        shown = ", ".join(f"{r['field']} = {_value_words(r['value'], lang)}" for r in drivers[:6])
        out.append({"kind": "assumptions", "text": text["limit_assumptions"].format(
            n=len(assumptions), total=len(rows), unsourced=sum(r.get("kind") == "unsourced" for r in rows)) + (" " + text["limit_drivers"].format(fields=shown) if shown else "")})
    street = ds["occupancy_persons"].sel(state="street") if "occupancy_persons" in ds and "street" in ds["state"].values else None
    if street is not None and "initial_occupancy_persons" in ds and ds.sizes.get("time", 0) > 1:
        first = select_scenario(ds, scenario_names(ds)[0])
        start = float(first["initial_occupancy_persons"].sel(state="street").sum("territory").mean() if "replicate" in first.dims else first["initial_occupancy_persons"].sel(state="street").sum())
        street_month1 = first["occupancy_persons"].sel(state="street").isel(time=0).sum("territory")
        month1 = float(street_month1.mean()) if "replicate" in street_month1.dims else float(street_month1)
        if start > 0 and month1 < 0.5 * start:
            out.append({"kind": "street_start", "text": text["limit_street_drop"].format(start=_number(start, lang), first=_number(month1, lang))})
    warm = _warmup_months(ds)
    out.append({"kind": "warmup", "text": text["limit_warmup"] + (" " + text["limit_warmup_months"].format(n=warm) if warm else "")})
    out.append({"kind": "replicates", "text": text["limit_replicates"].format(n=ds.sizes["replicate"]) if "replicate" in ds.dims else text["limit_no_replicates"]})
    if lang != "en":
        left = {str(v) for r in rows for v in (r.get("text"), r.get("note")) if v and translate(str(v), lang)[1]}
        left |= {d for d in _scenario_descriptions(ds).values() if d and translate(d, lang)[1]}
        if left:
            out.append({"kind": "language", "text": text["limit_untranslated"].format(n=len(left))})
    return out


def render_report(
    ds: xr.Dataset, *, lang: str = "fr", period: Period = None, source: str | None = None, territories: Sequence[str] | None = None,
    today: datetime.date | None = None,
) -> str:
    """The HTML text of the report of ``ds`` (see the module's documentation).

    Rendered from ``lda_sim/presentation/templates/report.html.j2``: key messages, the run (scenarios and
    policies in sentences), limits, the summary table, the charts, the inputs and the sources.
    ``period`` is the period of the flow diagrams (see :func:`lda_sim.presentation.plotting.plot_flows`);
    ``source`` names the results file in the footer; ``territories`` limits the per-territory
    charts to those territories (see :func:`lda_sim.presentation.plotting.chart_set`; None: all), which the
    run section then names; ``today`` is the generation date (default: today). The summary table
    covers every territory.
    """
    if lang not in REPORT_TEXT:
        raise ValueError(f"lang must be one of {sorted(REPORT_TEXT)}, not {lang!r}")
    text = REPORT_TEXT[lang]
    names = scenario_names(ds)
    title = text["title"].format(scenarios=", ".join(scenario_title(n, lang) for n in names))
    table = summary_by_scenario(ds, period)
    inputs, sources = _inputs_html(ds, lang)
    sections = [
        ("messages", text["messages"], _macro("messages", key_messages(ds, lang, table))),
        ("run", text["run"], Markup(_run_html(ds, lang, territories))),
        ("limits", text["limits"], _macro("limits", limits(ds, lang))),
        ("summary", text["summary"], Markup(_summary_html(ds, lang, table))),
        ("charts", text["charts"], Markup(_charts_html(ds, lang, period, territories))),
        ("inputs", text["inputs"], Markup(inputs)),
        ("sources", text["sources"], Markup(sources)),
    ]
    day = today or datetime.date.today()
    page = {
        "lang": lang, "version": __version__, "title": title, "css": Markup(CSS), "stamp": _stamp_text(ds, lang), "t": text,
        "generated_on": text["generated_on"].format(date=format_date(day, "long", locale=LOCALES[lang])),
        "sections": [{"key": k, "heading": h, "content": c} for k, h, c in sections],
        "footer": text["generated"].format(version=ds.attrs.get("lda_sim_version", __version__), file=source or "?"),
    }
    return _template().render(page=page)


#: Callable making a progress bar (``tqdm``-like: ``total``, ``desc``, ``unit``; ``update``, ``close``)
#: for the charts of a report, set by the command line; None: no progress shown.
_PROGRESS: dict[str, Any] = {"factory": None}


def write_report(
    ds: xr.Dataset, path: str | Path, *, lang: str = "fr", period: Period = None, source: str | None = None,
    territories: Sequence[str] | None = None, progress: Any = None,
) -> Path:
    """Write the HTML report of ``ds`` (:func:`render_report`) to ``path`` atomically; returns the path.
    ``progress`` (a ``tqdm``-like factory) shows the charts being drawn."""
    _PROGRESS["factory"] = progress
    try:
        page = render_report(ds, lang=lang, period=period, source=source, territories=territories)
    finally:
        _PROGRESS["factory"] = None
    return write_atomic(path, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
