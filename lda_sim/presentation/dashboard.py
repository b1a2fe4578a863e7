"""The dashboard's work, apart from its page (``lda_sim/presentation/app.py``): levers, runs and what is shown.

* **Levers** (:class:`Levers`): pension de famille units produced a year, private units captured for
  IML a year, hotel places converted a year and the share of social lettings to homeless
  households, in one territory. :func:`write_lever_scenario` turns them into a scenario file that
  ``extends`` the chosen scenario and adds the matching policies (``production``, ``iml_capture``,
  ``transformation``, ``allocation``), each value marked as set in the dashboard, so it is
  validated, run and reported like any other scenario.
* **Runs** (:func:`run_comparison`): the chosen scenario (the baseline) and the lever scenario,
  times a few replicates with the same seeds in both (common random numbers), planned with
  :func:`lda_sim.analysis.ensemble.plan_runs` and combined with :func:`lda_sim.analysis.ensemble.combine` into one
  dataset with ``scenario`` and ``replicate`` dimensions, as ``lda-sim run --replicates`` writes.
  Finished runs are kept in a cache folder, so a second run with other levers only runs the
  lever scenario again.
* **What is shown** is computed from that dataset only: monthly series of the street, shelters,
  the median wait for a home and the cost (:func:`indicator_series`), their values at the horizon
  against the baseline (:func:`horizon_table`) and the chart (:func:`comparison_figure`), with the
  median and the 10–90 % band over replicates.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml
from matplotlib.dates import DateFormatter, MonthLocator, YearLocator
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..analysis.ensemble import RunSpec, combine, plan_runs, run_to_file
from ..analysis.indicators import histogram_quantile, persons_in, states_of_kind, total_cost
from ..config.scenario import Scenario, load_scenario
from ..dataset.output import open_results, save_dataset

#: Where the dashboard's own values come from, in the scenario file it writes (and so in the report).
DASHBOARD_ASSUMPTION = "set by the planner in the lda-sim dashboard"

#: IML units captured by the dashboard go to sublease (Solibail), like the bundled scenarios' captures.
IML_STATE = "iml_sublease"
#: Hotel places are converted into IML sublease units, as in configs/scenarios/hotel-to-iml.yaml.
HOTEL_STATE = "hotel"
HOTEL_TARGET = "iml_sublease"
PENSION_STATE = "pension_de_famille"
SOCIAL_STATE = "social_housing"
#: Owners leave the IML scheme after ten years on average (the assumption of plan2.yaml).
IML_OWNER_EXIT_RATE = 0.1

#: Quantiles of the band over replicates.
BAND = (0.1, 0.9)


@dataclass(frozen=True)
class Levers:
    """The planner's levers in one territory, yearly from the scenario's start to its horizon.

    ``share_to_homeless`` None keeps the territory's own share of social lettings.
    """

    pension_de_famille_per_year: int = 0
    pension_de_famille_lag_years: float = 1.0
    iml_per_year: int = 0
    hotel_converted_per_year: int = 0
    share_to_homeless: float | None = None

    def __post_init__(self) -> None:
        for name in ("pension_de_famille_per_year", "iml_per_year", "hotel_converted_per_year", "pension_de_famille_lag_years"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if self.share_to_homeless is not None and not 0 <= self.share_to_homeless <= 1:
            raise ValueError(f"share_to_homeless must be between 0 and 1, got {self.share_to_homeless!r}")


def list_scenarios(folder: str | Path) -> list[Path]:
    """The scenario files of ``folder`` (``*.yaml`` with a top-level ``scenario:``; pathway and
    territory files beside them are left out), sorted by name, the baseline first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of scenarios")
    top = re.compile(r"^scenario\s*:", re.MULTILINE)
    files = sorted((p for p in folder.glob("*.yaml") if top.search(p.read_text(encoding="utf-8", errors="replace"))),
                   key=lambda p: (p.stem != "baseline", p.stem))
    if not files:
        raise FileNotFoundError(f"{folder}: no scenario file (*.yaml) in this folder")
    return files


def default_scenarios_folder() -> Path:
    """``configs/scenarios`` of the current folder, else of the source tree this package is in."""
    here = Path.cwd() / "configs" / "scenarios"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "configs" / "scenarios"


def territory_share_to_homeless(scenario: Scenario, territory: str) -> float | None:
    """The territory file's share of social lettings to homeless households (None without social housing)."""
    index = scenario.pathway.state_index.get(SOCIAL_STATE)
    supply = scenario.territory(territory).supplies.get(index) if index is not None else None
    return None if supply is None else float(supply.share_to_homeless)


def _arrival_sizes(scenario: Scenario, territory: str) -> tuple[float, dict[str, float]]:
    """Mean persons per arriving household and the shares of the size classes, from the
    territory's household mix and the pathway's persons per kind."""
    pathway = scenario.pathway
    kinds = scenario.territory(territory).population.kinds
    persons: dict[int, float] = {}
    for name in kinds.names:
        kind = pathway.kinds[name]
        previous = 0.0
        for n, cumulative in zip(kind.persons, kind.cumulative):
            persons[n] = persons.get(n, 0.0) + kinds.share(name) * (cumulative - previous)
            previous = cumulative
    total = sum(persons.values())
    mean = sum(n * p for n, p in persons.items()) / total
    shares = dict.fromkeys(pathway.size_class_names, 0.0)
    for n, p in persons.items():
        shares[pathway.size_class_names[pathway.size_class_of(n)]] += p / total
    return mean, {k: round(v, 4) for k, v in shares.items() if v > 0}


def _normalised(shares: dict[str, float]) -> dict[str, float]:
    """Rounded shares that sum to exactly 1 (the last one takes the rounding)."""
    names = list(shares)
    out = {k: round(shares[k], 4) for k in names[:-1]}
    out[names[-1]] = round(1 - sum(out.values()), 4)
    return out


#: The pathway states each lever needs.
LEVER_STATES = {
    "pension_de_famille_per_year": (PENSION_STATE,),
    "pension_de_famille_lag_years": (PENSION_STATE,),
    "iml_per_year": (IML_STATE,),
    "hotel_converted_per_year": (HOTEL_STATE, HOTEL_TARGET),
    "share_to_homeless": (SOCIAL_STATE,),
}


def missing_levers(scenario: Scenario) -> dict[str, str]:
    """Levers whose states the scenario's pathway lacks, with the first missing state."""
    states = scenario.pathway.state_index
    return {lever: next(s for s in needed if s not in states)
            for lever, needed in LEVER_STATES.items() if any(s not in states for s in needed)}


def lever_policies(scenario: Scenario, territory: str, levers: Levers) -> list[dict[str, Any]]:
    """The policies of ``levers`` in ``territory`` (only the levers that change something), as
    scenario-file entries with their provenance."""
    names = [t.name for t in scenario.territories]
    if territory not in names:
        raise ValueError(f"unknown territory {territory!r} (territories: {', '.join(names)})")
    missing = missing_levers(scenario)
    for lever, state in missing.items():
        value = getattr(levers, lever)
        if lever != "pension_de_famille_lag_years" and value:
            raise ValueError(f"lever {lever} needs the state {state!r}, which the pathway {scenario.pathway.name!r} does not have")
    start = str(scenario.start)[:7]
    common = {"territories": [territory], "start": start}
    mine = {"assumption": DASHBOARD_ASSUMPTION}
    mean_persons, size_mix = _arrival_sizes(scenario, territory)
    size_mix = _normalised(size_mix)
    derived_mix = {"value": size_mix, "derived": "size classes of the territory's arriving households (household mix and persons per kind)"}
    policies: list[dict[str, Any]] = []
    if levers.pension_de_famille_per_year > 0:
        policies.append({
            "type": "production", **common, "state": PENSION_STATE,
            "units_per_year": {"value": int(levers.pension_de_famille_per_year), **mine},
            "delivery_lag_years": {"value": float(levers.pension_de_famille_lag_years), **mine},
            "size_mix": {pathway_smallest(scenario): 1.0},
        })
    if levers.iml_per_year > 0:
        policies.append({
            "type": "iml_capture", **common, "state": IML_STATE,
            "units_per_year": {"value": int(levers.iml_per_year), **mine},
            "size_mix": derived_mix,
            "owner_exit_rate_per_year": {"value": IML_OWNER_EXIT_RATE, "assumption": "owners leave the scheme after ten years on average (as in plan2.yaml); no figure found"},
            "sliding_lease_leaves_scheme": True,
        })
    if levers.hotel_converted_per_year > 0:
        policies.append({
            "type": "transformation", **common, "from": HOTEL_STATE, "to": HOTEL_TARGET,
            "places_per_year": {"value": int(levers.hotel_converted_per_year), **mine},
            "persons_per_unit": {"value": round(mean_persons, 3), "derived": "mean persons per arriving household of the territory (household mix and persons per kind)"},
            "size_mix": derived_mix,
        })
    own = territory_share_to_homeless(scenario, territory)
    if levers.share_to_homeless is not None and own is not None and abs(levers.share_to_homeless - own) > 1e-9:
        policies.append({
            "type": "allocation", **common, "state": SOCIAL_STATE,
            "share_to_homeless": {"value": float(levers.share_to_homeless), **mine},
        })
    return policies


def pathway_smallest(scenario: Scenario) -> str:
    """The smallest size class (pension de famille units house one isolated person)."""
    return scenario.pathway.size_class_names[0]


def describe_levers(scenario: Scenario, territory: str, levers: Levers) -> str:
    """One French sentence naming the levers that change something."""
    parts = []
    lag = float(levers.pension_de_famille_lag_years)
    if levers.pension_de_famille_per_year > 0:
        parts.append(f"{levers.pension_de_famille_per_year} logements de pension de famille par an (livrés après {_fr(lag, 0 if lag.is_integer() else 1)} an)")
    if levers.iml_per_year > 0:
        parts.append(f"{levers.iml_per_year} logements captés en IML par an")
    if levers.hotel_converted_per_year > 0:
        parts.append(f"{levers.hotel_converted_per_year} places d'hôtel converties en IML par an")
    own = territory_share_to_homeless(scenario, territory)
    if levers.share_to_homeless is not None and own is not None and abs(levers.share_to_homeless - own) > 1e-9:
        parts.append(
            f"{_fr(100 * levers.share_to_homeless, 1)} % des attributions de logements sociaux aux ménages sans domicile "
            f"(au lieu de {_fr(100 * own, 1)} %)"
        )
    label = scenario.territory(territory).label
    if not parts:
        return f"{scenario.name} sans levier modifié ({label})"
    return f"{scenario.name} avec, à {label} : " + " ; ".join(parts)


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated values in full rather than as YAML anchors, for a file a planner reads."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_lever_scenario(base: str | Path, scenario: Scenario, territory: str, levers: Levers, folder: str | Path) -> Path:
    """Write the scenario file of ``levers``: it extends ``base`` and adds :func:`lever_policies`.

    The file is named after its content, so that runs of the same levers are found again in the cache.
    """
    spec = {
        "scenario": {
            "name": f"{scenario.name}-leviers",
            "extends": str(Path(base).resolve()),
            "description": describe_levers(scenario, territory, levers),
            "policies": lever_policies(scenario, territory, levers),
        }
    }
    text = "# Written by the lda-sim dashboard: the planner's levers over the scenario it extends.\n" + yaml.dump(
        spec, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False, width=100
    )
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{scenario.name}-leviers-{digest}.yaml"
    if not path.exists():
        path.write_text(text, encoding="utf-8")
    return path


def _cache_folder(cache: Path, base: Path) -> Path:
    """Runs of ``base`` are kept under a folder named after its path and modification time, so
    that editing a scenario file does not reuse runs of its old content."""
    stat = base.resolve().stat()
    tag = hashlib.sha1(f"{base.resolve()}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return cache / tag


def run_comparison(
    base: str | Path,
    territory: str,
    levers: Levers,
    *,
    years: float,
    replicates: int,
    cache: str | Path,
    seed: int | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> xr.Dataset:
    """Run the scenario ``base`` and its lever scenario, ``replicates`` times each with the same
    seeds in both, over ``years``; returns the combined dataset (``scenario``: baseline first, then
    the levers; ``replicate``), attributes ``dashboard_territory`` and ``dashboard_levers`` added.

    Runs already in ``cache`` are reused; when no lever changes anything, the lever scenario's runs
    are the baseline's, copied under its name. ``workers`` > 1 runs them in that many processes.
    ``progress(done, total)`` is called as runs finish. Raises :class:`lda_sim.ConfigError` for a
    bad scenario or lever value.
    """
    base = Path(base)
    scenario = load_scenario(base)
    check_hotel_places(scenario, territory, levers, years)
    folder = _cache_folder(Path(cache), base)
    lever_file = write_lever_scenario(base, scenario, territory, levers, folder / "scenarios")
    root_seed = scenario.seed if seed is None else int(seed)
    specs = plan_runs([base, lever_file], seed=root_seed, replicates=replicates, years=years)
    files = {spec.key: folder / "runs" / f"{spec.key}.nc" for spec in specs}
    files[specs[0].key].parent.mkdir(parents=True, exist_ok=True)
    if not lever_policies(scenario, territory, levers):
        # no lever changes anything: the lever scenario's runs are the baseline's (same model, same
        # seeds), so they are copied under the lever scenario's name rather than run again
        _run_missing(specs[:replicates], files, workers, progress, len(specs))
        for base_spec, spec in zip(specs[:replicates], specs[replicates:]):
            if not files[spec.key].exists():
                _copy_run(files[base_spec.key], files[spec.key], lever_file)
    else:
        _run_missing(specs, files, workers, progress, len(specs))
    ds = combine(specs, files)
    assert ds is not None  # every run wrote its file, or raised
    ds.attrs["dashboard_territory"] = territory
    ds.attrs["dashboard_levers"] = describe_levers(scenario, territory, levers)
    return ds


def check_hotel_places(scenario: Scenario, territory: str, levers: Levers, years: float) -> None:
    """The hotel places converted over the run cannot exceed the territory's hotel places."""
    index = scenario.pathway.state_index.get(HOTEL_STATE)
    places = scenario.territory(territory).places.get(index, 0) if index is not None else 0
    converted = levers.hotel_converted_per_year * years
    if converted > places:
        label = scenario.territory(territory).label
        raise ValueError(
            f"{_fr(levers.hotel_converted_per_year)} places d'hôtel converties par an pendant {_fr(years, 2).rstrip('0').rstrip(',')} an(s) "
            f"dépassent les {_fr(places)} places d'hôtel du territoire ({label}) : réduisez le levier ou l'horizon"
        )


def _copy_run(source: Path, target: Path, scenario_file: Path) -> None:
    """A run of the baseline saved as the same run of a scenario that changes nothing in it."""
    ds = open_results(source)
    spec = load_scenario(scenario_file)
    ds.attrs.update(scenario=spec.name, scenario_description=spec.description, scenario_file=str(scenario_file))
    save_dataset(ds, target)


def _run_missing(specs: Sequence[RunSpec], files: dict[str, Path], workers: int,
                 progress: Callable[[int, int], None] | None, total: int) -> None:
    """Run the specs whose file is missing (in ``workers`` processes if more than one)."""
    todo = [spec for spec in specs if not files[spec.key].exists()]
    done = total - len(todo)
    if progress:
        progress(done, total)
    if workers > 1 and len(todo) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        context = multiprocessing.get_context("spawn")  # the server has threads: do not fork it
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context) as pool:
            futures = [pool.submit(run_to_file, spec, str(files[spec.key])) for spec in todo]
            for future in as_completed(futures):
                future.result()
                done += 1
                if progress:
                    progress(done, total)
    else:
        for spec in todo:
            run_to_file(spec, str(files[spec.key]))
            done += 1
            if progress:
                progress(done, total)


# --------------------------------------------------------------------------------------------
# What is shown, from the dataset only
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    units: str


INDICATORS = (
    Indicator("street", "Personnes à la rue", "personnes"),
    Indicator("shelter", "Personnes hébergées", "personnes"),
    Indicator("wait", "Attente médiane d'un logement", "jours"),
    Indicator("cost", "Coût du mois", "M€"),
)


def indicator_series(ds: xr.Dataset, territory: str) -> dict[str, xr.DataArray]:
    """Monthly series of each indicator in ``territory`` (dimensions ``scenario``, ``replicate``,
    ``time``): persons on the street and in shelters at the end of the month, the median wait (days)
    of the households housed from a waiting list in the month, the cost of the month (M€)."""
    if territory not in ds.territory.values:
        raise KeyError(f"territory {territory!r} is not in the dataset")
    one = ds.sel(territory=territory)
    hist = one.wait_histogram.sel(state=states_of_kind(one, "housing")).sum("state")
    series = {
        "street": persons_in(one, "street"),
        "shelter": persons_in(one, "shelter"),
        "wait": histogram_quantile(hist, 0.5),
    }
    cost = total_cost(one)
    if cost is not None and bool((cost != 0).any()):  # a territory without costs records zeros
        series["cost"] = cost / 1e6
    return series


def _band(da: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """Median, low and high quantiles over replicates."""
    if "replicate" not in da.dims:
        return da, da, da
    q = da.quantile([BAND[0], 0.5, BAND[1]], dim="replicate", skipna=True)
    return q.isel(quantile=1, drop=True), q.isel(quantile=0, drop=True), q.isel(quantile=2, drop=True)


def horizon_values(ds: xr.Dataset, territory: str) -> dict[str, xr.DataArray]:
    """Each indicator over the run, per scenario and replicate: persons on the street and in
    shelters in the last month, the median wait for a home over the last twelve months (or the
    whole run if shorter), the cost summed over the run (M€)."""
    series = indicator_series(ds, territory)
    one = ds.sel(territory=territory)
    last_year = one.wait_histogram.sel(state=states_of_kind(one, "housing")).sum("state").isel(time=slice(-12, None)).sum("time")
    values = {
        "street": series["street"].isel(time=-1, drop=True),
        "shelter": series["shelter"].isel(time=-1, drop=True),
        "wait": histogram_quantile(last_year, 0.5),
    }
    if "cost" in series:
        values["cost"] = series["cost"].sum("time")
    return values


HORIZON_LABELS = {
    "street": "Personnes à la rue (dernier mois)",
    "shelter": "Personnes hébergées (dernier mois)",
    "wait": "Attente médiane d'un logement, 12 derniers mois (jours)",
    "cost": "Coût sur la période (M€)",
}


def _fr(value: float, digits: int = 0) -> str:
    """A number in French: narrow no-break space between thousands, comma for decimals."""
    if value is None or not np.isfinite(value):
        return "—"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def _fr_signed(value: float, digits: int = 0) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    return ("+" if value > 0 else "") + _fr(value, digits)


def horizon_table(ds: xr.Dataset, territory: str) -> pd.DataFrame:
    """The indicators at the horizon, baseline against the lever scenario and their difference:
    medians over replicates with the 10–90 % band in brackets (the difference is taken replicate
    by replicate, both scenarios sharing their seeds), as text for the page."""
    names = [str(s) for s in ds.scenario.values]
    base, variant = names[0], names[-1]
    rows = []
    for key, values in horizon_values(ds, territory).items():
        digits = 1 if key == "cost" else 0
        cells = {"Indicateur": HORIZON_LABELS[key]}
        for title, da in ((base, values.sel(scenario=base)), (variant, values.sel(scenario=variant)),
                          ("Écart", values.sel(scenario=variant) - values.sel(scenario=base))):
            mid, low, high = (float(x) for x in _band(da))
            show = _fr_signed if title == "Écart" else _fr
            band = f" [{show(low, digits)} ; {show(high, digits)}]" if "replicate" in da.dims and da.sizes["replicate"] > 1 else ""
            cells[title] = show(mid, digits) + band
        rows.append(cells)
    return pd.DataFrame(rows)


def _thousands(value: float, _position: int) -> str:
    if value == int(value) or abs(value) >= 10:
        return _fr(value, 0)
    return _fr(value, 1 if abs(value) >= 1 else 2)


def comparison_figure(ds: xr.Dataset, territory: str) -> Figure:
    """Four panels (street, shelters, median wait for a home, monthly cost): the baseline and the
    lever scenario, median over replicates and 10–90 % band, by month."""
    series = indicator_series(ds, territory)
    names = [str(s) for s in ds.scenario.values]
    times = pd.to_datetime(ds.time.values)
    label = str(ds.territory_label.sel(territory=territory).item()) if "territory_label" in ds else territory
    replicates = ds.sizes.get("replicate", 1)
    fig = Figure(figsize=(11, 6.6), dpi=90, layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    colours = {names[0]: "#6b6b6b", names[-1]: "#c0392b"}
    for ax, indicator in zip(axes.flat, INDICATORS):
        ax.set_title(f"{indicator.label} ({indicator.units})", fontsize=11, loc="left")
        if indicator.key not in series:
            ax.text(0.5, 0.5, "pas de coûts dans ce scénario", ha="center", va="center", transform=ax.transAxes, color="#555")
            continue
        for name in names:
            mid, low, high = _band(series[indicator.key].sel(scenario=name))
            ax.plot(times, mid.values, color=colours[name], lw=2, label=name)
            if replicates > 1:
                ax.fill_between(times, low.values, high.values, color=colours[name], alpha=0.2, lw=0)
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    months = len(times)
    for ax in axes[-1]:
        if months <= 24:
            ax.xaxis.set_major_locator(MonthLocator(interval=max(1, months // 8)))
            ax.xaxis.set_major_formatter(DateFormatter("%m/%Y"))
        else:
            ax.xaxis.set_major_locator(YearLocator())
            ax.xaxis.set_major_formatter(DateFormatter("%Y"))
        ax.tick_params(axis="x", labelrotation=30)
    axes.flat[0].legend(loc="lower left", fontsize=9, frameon=False)
    band = f"médiane de {replicates} réplications, bande 10–90 %" if replicates > 1 else "une réplication"
    fig.suptitle(f"{label} : {names[-1]} face à {names[0]} ({band})", fontsize=12)
    return fig


def slides_writer() -> Callable[..., Any] | None:
    """The slides writer for the download button (:func:`lda_sim.presentation.slides.write_slides`, called as
    ``write_slides(ds, path, lang=...)``), or None where python-pptx is not installed: the page
    then shows no slides button."""
    import importlib.util

    if importlib.util.find_spec("pptx") is None:
        return None
    from .slides import write_slides

    return write_slides


__all__: Sequence[str] = (
    "Levers", "INDICATORS", "list_scenarios", "default_scenarios_folder", "territory_share_to_homeless",
    "lever_policies", "describe_levers", "write_lever_scenario", "run_comparison", "indicator_series",
    "horizon_values", "horizon_table", "comparison_figure", "slides_writer", "check_hotel_places",
)
