"""The lda-sim planning dashboard, a Solara page: ``lda-sim app`` (or ``solara run lda_sim.presentation.app``).

Following Mesa's ``app.py`` convention, the levers are declared as data (:data:`model_params`) and
the module exposes its page (:func:`Page`, also as ``page``). The planner picks a scenario file and a
territory, moves the levers, runs, and sees the street, shelters, the median wait for a home and the
cost against the baseline, median and 10–90 % band over replicates; then downloads the dataset
(NetCDF) and the HTML report. The work is done by :mod:`lda_sim.presentation.dashboard`; everything shown is
computed from the results dataset.

Settings come from the environment (``lda-sim app`` sets them from its options):
``LDA_SIM_APP_SCENARIOS`` (folder of scenario files), ``LDA_SIM_APP_YEARS`` and
``LDA_SIM_APP_REPLICATES`` (initial horizon and replicates), ``LDA_SIM_APP_WORKERS`` (processes).
"""

from __future__ import annotations

import atexit
import functools
import html
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import solara
import xarray as xr

from lda_sim.config.errors import ConfigError
from lda_sim.config.scenario import Scenario, load_scenario
from lda_sim.dataset.output import save_dataset
from lda_sim.presentation import dashboard as dash

#: The levers, as Mesa's examples declare their model parameters. ``share_to_homeless`` starts at
#: the territory's own share (its ``value`` None); values within half a step of it keep that share.
model_params: dict[str, dict] = {
    "pension_de_famille_per_year": {
        "type": "SliderInt", "value": 0, "min": 0, "max": 300, "step": 10,
        "label": "Pensions de famille : logements produits par an",
    },
    "pension_de_famille_lag_years": {
        "type": "SliderFloat", "value": 1.0, "min": 0.0, "max": 3.0, "step": 0.5,
        "label": "Pensions de famille : délai de livraison (années)",
    },
    "iml_per_year": {
        "type": "SliderInt", "value": 0, "min": 0, "max": 500, "step": 10,
        "label": "IML : logements privés captés par an",
    },
    "hotel_converted_per_year": {
        "type": "SliderInt", "value": 0, "min": 0, "max": 1000, "step": 25,
        "label": "Places d'hôtel converties en IML par an",
    },
    "share_to_homeless": {
        "type": "SliderFloat", "value": None, "min": 0.0, "max": 0.5, "step": 0.005,
        "label": "Part des attributions de logements sociaux aux ménages sans domicile",
    },
}

#: Length and replicates of the runs (initial values from the environment).
run_params: dict[str, dict] = {
    "years": {"type": "SliderFloat", "value": 2.0, "min": 0.25, "max": 10.0, "step": 0.25, "label": "Horizon (années)"},
    "replicates": {"type": "SliderInt", "value": 3, "min": 1, "max": 10, "step": 1, "label": "Réplications"},
}


def _env_number(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"lda-sim app: {name}={raw!r} is not a number") from None
    return min(max(value, low), high)


def scenarios_folder() -> Path:
    return Path(os.environ.get("LDA_SIM_APP_SCENARIOS") or dash.default_scenarios_folder())


@functools.cache
def cache_folder() -> Path:
    """Finished runs and lever scenario files of this server, removed when it stops."""
    folder = Path(tempfile.mkdtemp(prefix="lda-sim-app-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.lru_cache(maxsize=8)
def _scenario(path: str, mtime_ns: int) -> Scenario:
    return load_scenario(path)


def scenario_of(path: str) -> Scenario:
    """The scenario of ``path``, loaded once per version of the file."""
    return _scenario(path, Path(path).stat().st_mtime_ns)


# --- state of a session (Solara keeps reactive variables per browser session) ---------------------
scenario_file = solara.reactive("")
territory = solara.reactive("")
levers = {name: solara.reactive(spec["value"]) for name, spec in model_params.items()}
years = solara.reactive(_env_number("LDA_SIM_APP_YEARS", run_params["years"]["value"], run_params["years"]["min"], run_params["years"]["max"]))
replicates = solara.reactive(int(_env_number("LDA_SIM_APP_REPLICATES", run_params["replicates"]["value"], 1, run_params["replicates"]["max"])))
report_lang = solara.reactive("fr")


@dataclass(frozen=True)
class Outcome:
    """A finished comparison: its dataset, the territory shown and the NetCDF file written."""

    dataset: xr.Dataset
    territory: str
    netcdf: Path
    run_number: int


#: the last finished comparison, kept on the page when a later run fails
last_outcome: solara.Reactive[Outcome | None] = solara.reactive(None)


def current_levers(scenario: Scenario, name: str) -> dash.Levers:
    """The levers of the page; a share within half a step of the territory's own keeps it."""
    share = levers["share_to_homeless"].value
    own = dash.territory_share_to_homeless(scenario, name)
    missing = dash.missing_levers(scenario)
    if share is None or own is None or abs(share - own) < model_params["share_to_homeless"]["step"] / 2:
        share = None
    values = {name: (0 if name in missing else levers[name].value) for name in model_params if name != "share_to_homeless"}
    return dash.Levers(
        pension_de_famille_per_year=int(values["pension_de_famille_per_year"]),
        pension_de_famille_lag_years=float(levers["pension_de_famille_lag_years"].value),
        iml_per_year=int(values["iml_per_year"]),
        hotel_converted_per_year=int(values["hotel_converted_per_year"]),
        share_to_homeless=share,
    )


_runs = {"count": 0}


@solara.lab.task(prefer_threaded=True)
def run_comparison() -> Outcome:
    """Run the baseline and the levers (reusing finished runs) and save the dataset."""
    path = scenario_file.value
    scenario = scenario_of(path)
    name = territory.value
    workers = int(_env_number("LDA_SIM_APP_WORKERS", 1, 1, 64))

    def progress(done: int, total: int) -> None:
        run_comparison.progress = 100.0 * done / total if total else 100.0

    ds = dash.run_comparison(
        path, name, current_levers(scenario, name), years=float(years.value), replicates=int(replicates.value),
        cache=cache_folder(), workers=workers, progress=progress,
    )
    _runs["count"] += 1
    netcdf = cache_folder() / "results" / f"{ds.scenario.values[-1]}-{_runs['count']}.nc"
    netcdf.parent.mkdir(parents=True, exist_ok=True)
    save_dataset(ds, netcdf)
    outcome = Outcome(ds, name, netcdf, _runs["count"])
    last_outcome.set(outcome)
    return outcome


def _heading(text: str) -> None:
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(text), style={"font-weight": "bold", "margin": "12px 0 4px 0"})


def _shown(name: str, value: float) -> str:
    """A lever's value as the planner reads it (the share in per cent, French decimals)."""
    if name == "share_to_homeless":
        return f"{dash._fr(100 * value, 1)} %"
    if float(value).is_integer():
        return dash._fr(value, 0)
    return dash._fr(value, 2).rstrip("0")


def _slider(name: str, spec: dict, reactive: solara.Reactive, disabled: bool, absent: str = "") -> None:
    """A lever: its label and value on their own line (labels are long), the slider below;
    ``absent`` names the state a lever needs that the pathway lacks (the lever is then disabled)."""
    kind = solara.SliderInt if spec["type"] == "SliderInt" else solara.SliderFloat
    with solara.Div(classes=["lda-lever", f"lda-lever-{name}"], style={"margin-top": "10px"}):
        with solara.Row(justify="space-between", style={"font-size": "0.9em"}):
            solara.Text(spec["label"] + (f" (pas d'état {absent} dans ce parcours)" if absent else ""),
                        style={"color": "#888"} if absent else None)
            solara.Text(_shown(name, reactive.value) if reactive.value is not None and not absent else "—",
                        classes=["lda-value"], style={"font-weight": "bold", "white-space": "nowrap"})
        kind("", value=reactive, min=spec["min"], max=spec["max"], step=spec["step"], thumb_label=False, disabled=disabled or bool(absent))


def _table_html(table) -> str:
    """The horizon table as an HTML table (first column the indicator, numbers right-aligned)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in table.itertuples(index=False)
    )
    style = ("<style>.lda-table table{border-collapse:collapse;margin:8px 0}.lda-table th,.lda-table td{padding:4px 10px;"
             "border-bottom:1px solid #ddd;text-align:right}.lda-table th:first-child,.lda-table td:first-child{text-align:left}</style>")
    return f"{style}<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


@solara.component
def Controls(scenario: Scenario | None, files: list[Path], busy: bool) -> None:
    stems = {p.stem: str(p) for p in files}
    solara.Select(
        "Scénario", values=list(stems), value=Path(scenario_file.value).stem,
        on_value=lambda stem: scenario_file.set(stems[stem]), disabled=busy,
    )
    if scenario is None:
        return
    labels = {t.label: t.name for t in scenario.territories}
    names = {v: k for k, v in labels.items()}
    solara.Select(
        "Territoire", values=list(labels), value=names.get(territory.value, ""),
        on_value=lambda label: territory.set(labels[label]), disabled=busy,
    )
    _heading("Leviers (dans ce territoire, chaque année dès le début du scénario)")
    missing = dash.missing_levers(scenario)
    for name, spec in model_params.items():
        _slider(name, spec, levers[name], busy, missing.get(name, ""))
    own = dash.territory_share_to_homeless(scenario, territory.value) if territory.value else None
    if own is not None:
        solara.Text(f"Part du fichier du territoire : {dash._fr(100 * own, 1)} %", style={"font-size": "0.85em", "color": "#555"})
    _heading("Simulation")
    _slider("years", run_params["years"], years, busy)
    _slider("replicates", run_params["replicates"], replicates, busy)
    solara.Button("Lancer la simulation", color="primary", on_click=run_comparison, disabled=busy or not territory.value,
                  icon_name="mdi-play", classes=["lda-run"])


@solara.component
def Results(outcome: Outcome) -> None:
    ds = outcome.dataset
    figure = solara.use_memo(lambda: dash.comparison_figure(ds, outcome.territory), dependencies=[outcome.run_number])
    table = solara.use_memo(lambda: dash.horizon_table(ds, outcome.territory), dependencies=[outcome.run_number])
    _heading(ds.attrs.get("dashboard_levers", ""))
    with solara.Div(classes=["lda-chart", f"lda-chart-run-{outcome.run_number}"]):
        solara.FigureMatplotlib(figure, dependencies=[outcome.run_number], format="png")
    solara.Text(
        "Médiane des réplications et, entre crochets, leur bande 10–90 %. Les deux scénarios partagent "
        "leurs graines (nombres aléatoires communs) : l'écart est calculé réplication par réplication."
    )
    solara.HTML(tag="div", unsafe_innerHTML=_table_html(table), classes=["lda-table"])
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.FileDownload(
            lambda: outcome.netcdf.read_bytes(), filename=outcome.netcdf.name, label="Télécharger les données (NetCDF)",
            mime_type="application/x-netcdf",
        )
        solara.ToggleButtonsSingle(value=report_lang, values=["fr", "en"])
        lang = report_lang.value
        solara.FileDownload(
            lambda: _report(ds, outcome.territory, lang), filename=f"{outcome.netcdf.stem}.{lang}.html",
            label="Télécharger le rapport (HTML)", mime_type="text/html",
        )
        writer = dash.slides_writer()
        if writer is not None:  # python-pptx installed (the app and test extras have it)
            solara.FileDownload(
                lambda: _slides(writer, ds, outcome, lang), filename=f"{outcome.netcdf.stem}.{lang}.pptx",
                label="Télécharger les diapositives (PPTX)",
                mime_type="application/vnd.openxmlformats-officedocument.presentationml.presentation",
            )


def _report(ds: xr.Dataset, name: str, lang: str) -> bytes:
    from lda_sim.presentation.report import render_report

    return render_report(ds, lang=lang, territories=[name], source="lda-sim app").encode("utf-8")


def _slides(writer, ds: xr.Dataset, outcome: Outcome, lang: str) -> bytes:
    path = outcome.netcdf.with_suffix(f".{lang}.pptx")
    writer(ds, path, lang=lang)
    return path.read_bytes()


@solara.component
def Page() -> None:
    solara.Title("lda-sim : tableau de bord")
    try:
        files = dash.list_scenarios(scenarios_folder())
    except FileNotFoundError as exc:
        solara.Error(f"{exc}. Lancez lda-sim app depuis la racine du dépôt ou donnez --scenarios DOSSIER.")
        return
    if scenario_file.value not in [str(p) for p in files]:
        scenario_file.set(str(files[0]))
    scenario, problem = None, ""
    try:
        scenario = scenario_of(scenario_file.value)
    except ConfigError as exc:
        problem = str(exc)
    if scenario is not None:
        names = [t.name for t in scenario.territories]
        if territory.value not in names:
            territory.set(names[0])
    share_default = dash.territory_share_to_homeless(scenario, territory.value) if scenario and territory.value in names else None

    def reset_share() -> None:
        if share_default is not None:
            levers["share_to_homeless"].set(round(share_default, 4))

    solara.use_effect(reset_share, [scenario_file.value, territory.value])
    busy = run_comparison.pending
    with solara.AppBar():
        solara.AppBarTitle("lda-sim — Logement d'abord : leviers et besoins")
    with solara.Sidebar():
        Controls(scenario, files, busy)
    if problem:
        solara.Error(problem)
        return
    if scenario is not None and len(scenario.territories) > 4:
        solara.Warning(f"Ce scénario compte {len(scenario.territories)} territoires : chaque simulation peut prendre plusieurs minutes.")
    if busy:
        solara.Text(f"Simulation en cours… ({replicates.value} réplications par scénario)", classes=["lda-running"])
        solara.ProgressLinear(run_comparison.progress if run_comparison.progress is not None else True)
    if run_comparison.error:
        failure = run_comparison.exception
        what = "Réglage impossible" if isinstance(failure, (ValueError, ConfigError)) else "La simulation a échoué"
        solara.Error(f"{what} : {failure}", classes=["lda-error"])
    outcome = last_outcome.value
    if outcome is None:
        solara.Info(
            "Choisissez un scénario et un territoire, réglez les leviers, puis lancez la simulation : le scénario "
            "choisi (référence) et le même avec vos leviers sont simulés sur plusieurs réplications."
        )
    else:
        Results(outcome)


page = Page
