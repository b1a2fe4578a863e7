"""Build the national configuration: a territory file per accelerated territory and one for the
rest of France, and the scenario ``configs/scenarios/national.yaml``.

Usage: python scripts/build_national.py [--check]

Inputs: ``configs/national/territories.csv`` (every accelerated territory of the Logement d'abord
policy with its population, region and coordinates, each with its source) and national figures of
``../shared/data/figures.csv`` (quoted below with their source ids). Two territories have files of
their own, with local figures (``configs/territories/aix-marseille-provence.yaml`` and
``lyon.yaml``); Paris has its own street count and social housing figures. Every other figure of a
territory is **derived** by a written rule from a national figure and the territory's share of
the population, and says so in the file; nothing derived is presented as observed. The rest of
France gets what the national figures leave once the territories are served, so that the national
totals add up (see ``NATIONAL`` and :func:`rest_of_france`).

``--check`` rebuilds in memory and fails if the committed files differ (a test runs it).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
TABLE = CONFIGS / "national" / "territories.csv"
OUT_DIR = CONFIGS / "territories" / "national"
SCENARIO = CONFIGS / "scenarios" / "national.yaml"
TEMPLATE = CONFIGS / "territories" / "aix-marseille-provence.yaml"
#: AMP's calibrated copy (``lda-sim calibrate``, configs/calibration/): the national configuration
#: uses it for AMP itself and takes from it the two fitted values the derived territories share.
CALIBRATED = CONFIGS / "territories" / "aix-marseille-provence.calibrated.yaml"
OWN_FILES = {"aix-marseille-provence": CALIBRATED, "lyon": CONFIGS / "territories" / "lyon.yaml"}
#: Per-territory factors on the street exit rate, fitted by scripts/calibrate_national.py.
STREET_EXIT_FIT = CONFIGS / "national" / "street_exit_fit.csv"
STREET_EXIT = "street->private_housing"

PERSONS_PER_HOUSEHOLD = 1.69  # population mix of the bundled territories (see their files)
#: National figures (value, source ids, what it is). Years as in ../shared/data/figures.csv.
NATIONAL: dict[str, tuple[float, list[str], str]] = {
    "population": (68_017_091, ["S51"], "France, population municipale 2022 (Mayotte 2017)"),
    "population_idf": (12_380_964, ["S51"], "Île-de-France, population municipale 2022 (sum of its communes)"),
    "street_persons": (27_000, ["S1"], "rough sleepers, Fondation Abbé Pierre estimate 2023"),
    "sheltered_persons": (200_000, ["S1"], "persons in emergency shelter (115 shelters, CHRS, hotels), Fondation Abbé Pierre 2023"),
    "asylum_persons": (110_000, ["S1"], "persons in asylum housing, Fondation Abbé Pierre 2023 (102,500 places in 2021, S10)"),
    "general_shelter_places": (202_700, ["S8"], "general shelter places open on average, 2023 (emergency, CHRS, hotels)"),
    "chrs_places": (51_900, ["S10"], "CHRS places, 31 Jan 2021"),
    "hotel_places": (67_000, ["S9"], "hotel places, 31 Dec 2022, over 3/4 in Île-de-France"),
    "hotel_places_idf": (44_727, ["S25"], "hotel places in Île-de-France, 2023"),
    "pension_de_famille_places": (25_120, ["S7"], "pension de famille places, 2024"),
    "iml_places": (86_800, ["S7"], "IML places, 2024"),
    "social_stock": (5_400_000, ["S14"], "social housing units, 1 Jan 2024"),
    "social_lettings": (384_000, ["S15"], "social lettings, 2024"),
    "share_to_homeless": (0.0796, ["S7"], "share of social lettings to homeless households, mid-2025"),
    "lettings_to_homeless_since_2018": (195_000, ["S7"], "social lettings to homeless households from 2018 to mid-2025"),
    "evictions_with_police": (24_556, ["S20"], "evictions with police assistance, 2024"),
    "trial_units": (88, ["S21"], "Un Chez Soi d'Abord trial: 353 persons housed in 4 cities / 4"),
}
IDF = "Île-de-France"
#: Un Chez Soi d'Abord trial sites (S21): Marseille, Lille, Paris, Toulouse.
TRIAL_SITES = {"aix-marseille-provence", "lille", "paris", "toulouse"}
#: AMP's yearly inflow per person in its one-night stock: 6,224 households a year / (442 on the
#: street + 5,501 sheltered), Marseille figures (S22, see aix-marseille-provence.yaml).
AMP_INFLOW, AMP_ONE_NIGHT = 6224, 442 + 5501
#: Split of the general inflow by cause, as in aix-marseille-provence.yaml (eviction apart).
CAUSE_SHARES = {"institution_exit": 0.19, "violence": 0.08, "migration": 0.35, "family_breakup": 0.15}
OCCUPANCY_HOUSING = 1 - 0.029  # national social housing vacancy (S44), used for adapted housing
SIZE_SPLIT_IML = (0.75, 0.20, 0.05)
SIZE_SPLIT_RESIDENCE = (0.90, 0.08, 0.02)
ADAPTED_PER_EMERGENCY = 14_000 / 7_400  # Rhône: adapted-housing places per emergency place (S26)
ASYLUM_MEAN_STAY_DAYS = 400.0


def _value(node: Any) -> Any:
    return node["value"] if isinstance(node, dict) and "value" in node else node


def amp_fitted() -> tuple[float, float]:
    """AMP's fitted inflow factor and street exit rate (calibrated copy against the original)."""
    original = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    fitted = yaml.safe_load(CALIBRATED.read_text(encoding="utf-8"))
    factor = _value(fitted["inflows"]["other"]["households_per_year"]) / _value(original["inflows"]["other"]["households_per_year"])
    return round(factor, 4), float(_value(fitted["transitions"][STREET_EXIT]["rate_per_year"]))


def street_exit_factors() -> dict[str, float]:
    """The fitted factor of each territory on AMP's street exit rate (1 where none is fitted)."""
    if not STREET_EXIT_FIT.exists():
        return {}
    factors: dict[str, float] = {}
    with STREET_EXIT_FIT.open(encoding="utf-8") as f:
        for r in csv.DictReader(line for line in f if not line.startswith("#")):
            try:
                factor = float(r["factor"])
            except (KeyError, TypeError, ValueError):
                factor = math.nan
            if not (factor > 0 and math.isfinite(factor)) or not r.get("territory"):
                raise SystemExit(f"{STREET_EXIT_FIT}: territory {r.get('territory')!r}: factor {r.get('factor')!r} is not a positive number")
            factors[r["territory"]] = factor
    return factors


def nat(key: str) -> float:
    return NATIONAL[key][0]


def src(*keys: str, extra: tuple[str, ...] = ()) -> list[str]:
    out: list[str] = []
    for k in keys:
        for s in NATIONAL[k][1]:
            if s not in out:
                out.append(s)
    return out + [s for s in extra if s not in out]


def derived(value: Any, rule: str, sources: list[str]) -> dict[str, Any]:
    return {"value": value, "derived": rule, "source": sources if len(sources) > 1 else sources[0]}


def read_table() -> list[dict[str, str]]:
    with TABLE.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def net_population(rows: list[dict[str, str]]) -> dict[str, int]:
    """Population of each territory net of the territories it contains (Pas-de-Calais - Arras)."""
    pop = {r["name"]: int(r["population"]) for r in rows}
    net = dict(pop)
    for r in rows:
        if r["overlaps"]:
            net[r["name"]] -= pop[r["overlaps"]]
    return net


def split(total: float, shares: tuple[float, ...]) -> dict[str, int]:
    """Round ``total`` split by ``shares`` into small / medium / large, keeping the total."""
    raw = [total * s for s in shares]
    out = [int(math.floor(x)) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[: int(round(total)) - sum(out)]:
        out[i] += 1
    return dict(zip(("small", "medium", "large"), out))


def figures(name: str, population: int, region: str) -> dict[str, float]:
    """The derived quantities of one territory (before rounding), from its share of the population."""
    share = population / nat("population")
    idf = region == IDF
    hotel = (
        nat("hotel_places_idf") * population / nat("population_idf")
        if idf
        else (nat("hotel_places") - nat("hotel_places_idf")) * population / (nat("population") - nat("population_idf"))
    )
    q = {
        "share": share,
        "street": nat("street_persons") * share,
        "emergency": (nat("general_shelter_places") - nat("chrs_places") - nat("hotel_places")) * share,
        "hotel": hotel,
        "chrs": nat("chrs_places") * share,
        "asylum": nat("asylum_persons") * share,
        "pension": nat("pension_de_famille_places") * share,
        "iml": nat("iml_places") * share / PERSONS_PER_HOUSEHOLD,
        "hf": nat("trial_units") if name in TRIAL_SITES else 0.0,
        "social_stock": nat("social_stock") * share,
        "evictions": nat("evictions_with_police") * share,
    }
    if name == "paris":  # own figures (S25)
        q["street"] = 3492
        q["social_stock"] = 264_854
    return q


def _retained_share(rate: float, years: float = 7.5) -> float:
    """Mean of exp(-rate t) over ``years``: the share of households rehoused uniformly over the
    period still in place at its end."""
    return (1 - math.exp(-rate * years)) / (rate * years)


#: Regions whose PLAI adapté top-up subsidy is the higher one (S38); overseas production is
#: financed by the LBU, for which no figure is in data/.
HIGH_SUBSIDY_REGIONS = {IDF, "Provence-Alpes-Côte d'Azur"}
OVERSEAS = {"Guyane", "Mayotte", "Martinique", "Guadeloupe", "La Réunion"}


def production_costs(region: str, rest: bool = False) -> dict[str, Any]:
    """One-off public cost of a unit delivered by a production policy: the State's PLAI adapté
    top-up subsidy of the region (S38), for social housing, pension de famille and résidence sociale."""
    if region in OVERSEAS:
        return {}
    high = region in HIGH_SUBSIDY_REGIONS
    value = 18360 if high else 13980
    where = "in Île-de-France and PACA" if high else "outside Île-de-France and PACA"
    social: dict[str, Any] = {"value": value, "source": "S38", "note": f"PLAI adapté top-up subsidy per unit {where}"}
    if rest:
        social = {"value": value, "derived": f"the PLAI adapté top-up subsidy per unit {where} (S38), taken for the rest of France, "
                  "mostly outside them (an assumption)", "source": "S38"}
    out = {"social_housing": {"eur_per_unit": social}}
    for state, label in (("pension_de_famille", "pension de famille"), ("residence_sociale", "résidence sociale")):
        out[state] = {"eur_per_unit": {"value": value, "derived": f"the PLAI adapté top-up subsidy per unit {where} (S38), taken for a {label} "
                                       "unit (an assumption: no figure of its own was found)", "source": "S38"}}
    return out


def territory_document(
    row: dict[str, str], population: int, q: dict[str, float], template: dict[str, Any], fit: tuple[float, float, float], *, rest: bool = False
) -> dict[str, Any]:
    """A territory file from the AMP template, with the derived quantities ``q`` and ``fit``: AMP's
    fitted inflow factor and street exit rate, and this territory's fitted factor on that rate."""
    inflow_factor, amp_street_exit, street_factor = fit
    name = row["name"]
    pop_src = [row["population_source"]]
    rule_share = (
        f"x {population:,} / {nat('population'):,.0f} inhabitants (the territory's share of the population of France)"
        if not rest else "minus the accelerated territories' values (what the national figure leaves to the rest of France)"
    )
    doc: dict[str, Any] = {
        "territory": {
            "name": name,
            "label": row["territory"] if not rest else "Reste de la France",
            "description": (
                f"{row['territory']}: accelerated territory of the Logement d'abord policy since {row['joined']} ({row['kind']}). "
                "Every figure is derived from a national figure and the territory's share of the population of France "
                "(see scripts/build_national.py); none is a local observation"
                + (" except Paris's street count and social housing figures (S25)." if name == "paris" else ".")
                if not rest
                else "France outside the accelerated territories of the Logement d'abord policy: national figures minus the territories' values."
            ),
            "region": row["region"],
            "inhabitants": {"value": population, "source": pop_src[0], "note": row["population_geography"]}
            if not rest
            else {"value": population, "derived": "population of France minus the accelerated territories (net of overlaps)", "source": "S51"},
        },
    }
    if row.get("lat"):
        doc["territory"]["location"] = {"value": {"lat": float(row["lat"]), "lon": float(row["lon"])}, "source": row["coordinates_source"]}
    doc["population"] = template["population"]
    stock_persons = q["street"] + (q["emergency"] + q["hotel"] + q["chrs"]) * nat("sheltered_persons") / nat("general_shelter_places")
    inflow = AMP_INFLOW * inflow_factor / AMP_ONE_NIGHT * stock_persons
    evictions = 0.5 * q["evictions"]
    inflows: dict[str, Any] = {}
    for cause, spec in template["inflows"].items():
        spec = {k: v for k, v in spec.items() if k != "households_per_year"}
        if cause == "eviction":
            value = evictions
            rule = f"{nat('evictions_with_police'):,.0f} evictions with police assistance in France (2024) {rule_share}, x 0.5 reaching the street or the 115 (assumption, as Aix-Marseille-Provence)"
            sources = src("evictions_with_police", extra=tuple(pop_src))
        elif cause == "other":
            value = inflow - evictions - sum(inflow * s for s in CAUSE_SHARES.values())
            rule = "the territory's yearly inflow (see the other causes) minus evictions, institution exits, violence, migration and family break-ups"
            sources = ["S22", "S49"]
        else:
            value = inflow * CAUSE_SHARES[cause]
            rule = (
                f"yearly inflow = {AMP_INFLOW:,} x {inflow_factor} / {AMP_ONE_NIGHT:,} households a year per person on the street or sheltered "
                f"on one night (Aix-Marseille-Provence, S22, with its inflow factor fitted by lda-sim calibrate, configs/calibration/) "
                f"x {stock_persons:,.0f} such persons here (derived below) = {inflow:,.0f} households; "
                f"x {CAUSE_SHARES[cause]} for this cause (as Aix-Marseille-Provence)"
            )
            sources = ["S22", "S49"] if cause == "institution_exit" else ["S22"]
        spec["households_per_year"] = derived(round(max(value, 0.0), 1), rule, sources)
        inflows[cause] = spec
    asylum_households = q["asylum"] / PERSONS_PER_HOUSEHOLD / (ASYLUM_MEAN_STAY_DAYS / 365.25)
    inflows["asylum"] = {
        "households_per_year": derived(
            round(asylum_households, 1),
            f"asylum places (below) / {PERSONS_PER_HOUSEHOLD} persons per household / {ASYLUM_MEAN_STAY_DAYS:g}-day mean stay: the arrivals that keep asylum housing full",
            src("asylum_persons", extra=tuple(pop_src)),
        ),
        "regular_status_share": {"value": 0.4, "assumption": "share of asylum seekers who get a protection (refugee status or subsidiary protection); no figure in data/"},
        "priority_share": {"value": 0.2, "assumption": "as the population mix; no figure found"},
    }
    doc["inflows"] = inflows
    occupancy = nat("sheltered_persons") / nat("general_shelter_places")
    occ_rule = f"x {nat('sheltered_persons'):,.0f} persons sheltered / {nat('general_shelter_places'):,.0f} places open (France, 2023)"
    adapted_places = (q["emergency"] + q["hotel"]) * ADAPTED_PER_EMERGENCY - q["pension"] - q["iml"] * PERSONS_PER_HOUSEHOLD - q["hf"] * PERSONS_PER_HOUSEHOLD
    residence_units = max(adapted_places, 0.0) / PERSONS_PER_HOUSEHOLD
    places = {
        "emergency_shelter": round(q["emergency"]),
        "hotel": round(q["hotel"]),
        "insertion_shelter": round(q["chrs"]),
        "asylum_shelter": round(q["asylum"]),
    }
    units = {
        "residence_sociale": split(residence_units, SIZE_SPLIT_RESIDENCE),
        "pension_de_famille": split(q["pension"], (1.0, 0.0, 0.0)),
        "iml_sublease": split(q["iml"] * 0.65, SIZE_SPLIT_IML),
        "iml_mandate": split(q["iml"] * 0.35, SIZE_SPLIT_IML),
        "housing_first": split(q["hf"], (0.9, 0.1, 0.0)),
    }
    stock = round(q["social_stock"])
    turnover = 10_046 / 264_854 if name == "paris" else nat("social_lettings") / nat("social_stock")
    retained = _retained_share(turnover + 0.02)
    followed_social = nat("lettings_to_homeless_since_2018") * stock / nat("social_stock") * retained
    followed_private = 8000 * inflow / (AMP_INFLOW * inflow_factor)
    doc["initial"] = {
        "street": {"persons": derived(round(q["street"]), f"{nat('street_persons'):,.0f} rough sleepers in France (2023) {rule_share}", src("street_persons", extra=tuple(pop_src)))
                   if name != "paris" else {"value": 3492, "source": "S25", "year": 2024, "note": "Nuit de la Solidarité 2024, Paris"}},
        **{
            state: {"persons": derived(math.floor(places[state] * occupancy), f"{places[state]:,} places (below) {occ_rule}", src("sheltered_persons", "general_shelter_places"))}
            for state in ("emergency_shelter", "hotel", "insertion_shelter")
        },
        "asylum_shelter": {"persons": derived(places["asylum_shelter"], "asylum places (below), full: the national figure counts persons housed", src("asylum_persons"))},
        **{
            state: {"households": derived(math.floor(sum(units[state].values()) * OCCUPANCY_HOUSING), f"{sum(units[state].values()):,} units (below) x (1 - 0.029), national social housing vacancy (2019)", ["S44"])}
            for state in units
        },
        "social_housing": {"households": derived(
            round(followed_social),
            f"{nat('lettings_to_homeless_since_2018'):,.0f} social lettings to homeless households in France (2018 to mid-2025) x {stock:,} / {nat('social_stock'):,.0f} "
            f"(the territory's share of the social stock) x {retained:.3f} still in place (mean of exp(-r t) over 7.5 years, r = turnover {turnover:.4f} + failure 0.02)",
            src("lettings_to_homeless_since_2018", "social_stock"),
        )},
        "private_housing": {"households": derived(
            round(followed_private),
            f"Aix-Marseille-Provence's 8,000 (an assumption: steady state of its baseline) x this territory's yearly inflow / AMP's "
            f"({inflow:,.0f} / {AMP_INFLOW * inflow_factor:,.0f})",
            ["S22"],
        )},
    }
    states = {k: dict(v) for k, v in template["states"].items()}
    states["emergency_shelter"]["places"] = derived(
        places["emergency_shelter"],
        f"({nat('general_shelter_places'):,.0f} general shelter places - {nat('chrs_places'):,.0f} CHRS - {nat('hotel_places'):,.0f} hotel places) {rule_share}",
        src("general_shelter_places", "chrs_places", "hotel_places", extra=tuple(pop_src)),
    )
    hotel_rule = (
        f"{nat('hotel_places_idf'):,.0f} hotel places in Île-de-France (2023) x {population:,} / {nat('population_idf'):,.0f} inhabitants of Île-de-France"
        if row["region"] == IDF and not rest
        else f"({nat('hotel_places'):,.0f} hotel places in France - {nat('hotel_places_idf'):,.0f} in Île-de-France) x the territory's share of the population outside Île-de-France"
    )
    states["hotel"]["places"] = derived(places["hotel"], hotel_rule if not rest else "national hotel places minus the accelerated territories' values", src("hotel_places", "hotel_places_idf", "population_idf", extra=tuple(pop_src)))
    states["hotel"]["stay"] = {"value": template["states"]["emergency_shelter"]["stay"]["value"], "derived": "the national law of stays in emergency places (DREES, 2016-2017): no local hotel-stay figure outside PACA", "source": "S40"}
    states["insertion_shelter"]["places"] = derived(places["insertion_shelter"], f"{nat('chrs_places'):,.0f} CHRS places in France (2021) {rule_share}", src("chrs_places", extra=tuple(pop_src)))
    states["asylum_shelter"] = {
        "places": derived(places["asylum_shelter"], f"{nat('asylum_persons'):,.0f} persons in asylum housing in France (2023) {rule_share}", src("asylum_persons", extra=tuple(pop_src))),
        "stay": {
            "value": {"law": "lognormal", "median_days": 330, "sigma": 0.6},
            "assumption": f"time to the asylum decision and the stay allowed after it: mean about {ASYLUM_MEAN_STAY_DAYS:g} days (median 330, sigma 0.6); no figure in data/",
        },
    }
    states["residence_sociale"]["units"] = derived(
        units["residence_sociale"],
        f"(emergency + hotel places) x 14,000 / 7,400 (Rhône's adapted-housing places per emergency place, 2022) - pension de famille, IML and Housing First places, / {PERSONS_PER_HOUSEHOLD} persons per "
        f"household; split 90 / 8 / 2 % by size (assumption, as Aix-Marseille-Provence)",
        ["S26", "S7"],
    )
    states["pension_de_famille"]["units"] = derived(
        units["pension_de_famille"],
        f"{nat('pension_de_famille_places'):,.0f} pension de famille places in France (2024) {rule_share}; one isolated person per unit",
        src("pension_de_famille_places", extra=tuple(pop_src)),
    )
    for state, part in (("iml_sublease", 0.65), ("iml_mandate", 0.35)):
        states[state]["units"] = derived(
            units[state],
            f"{nat('iml_places'):,.0f} IML places in France (2024) {rule_share} / {PERSONS_PER_HOUSEHOLD} persons per household x {part} ({'sublease' if part == 0.65 else 'mandate'}: assumption, as "
            f"Aix-Marseille-Provence); split 75 / 20 / 5 % by size (assumption)",
            src("iml_places", extra=tuple(pop_src)),
        )
    states["housing_first"]["units"] = (
        derived(units["housing_first"], "353 persons housed by the Un Chez Soi d'Abord trial in 4 cities / 4 = 88 units (a trial site); split 90 / 10 / 0 % by size (assumption)", ["S21"])
        if q["hf"] else {"value": units["housing_first"], "assumption": "no Un Chez Soi d'Abord trial site here (S21 names Marseille, Lille, Paris, Toulouse); later sites are not in data/"}
    )
    social = dict(states["social_housing"])
    social["stock_units"] = (
        {"value": stock, "source": "S25", "year": 2022, "note": "Paris social housing stock"}
        if name == "paris" else derived(stock, f"{nat('social_stock'):,.0f} social housing units in France (2024) {rule_share}", src("social_stock", extra=tuple(pop_src)))
    )
    social["turnover_rate"] = (
        derived(round(turnover, 4), "10,046 social lettings in Paris (2023) / 264,854 units (2022)", ["S25"])
        if name == "paris" else derived(round(turnover, 4), f"{nat('social_lettings'):,.0f} social lettings / {nat('social_stock'):,.0f} units (France, 2024)", src("social_lettings", "social_stock"))
    )
    social["share_to_homeless"] = {"value": nat("share_to_homeless"), "source": "S7", "year": 2025, "note": "national share of social lettings to homeless households, mid-2025"}
    states["social_housing"] = social
    doc["states"] = states
    # the 115 answers as in Marseille (its recall delay fitted by lda-sim calibrate to the PACA share
    # of unmet requests), and residence status changes at AMP's rate
    calibrated = yaml.safe_load(CALIBRATED.read_text(encoding="utf-8"))
    doc["emergency_line"] = calibrated["emergency_line"]
    doc["status"] = template["status"]
    doc["costs"] = template["costs"]
    production = production_costs(str(row.get("region", "")), rest)
    if production:
        doc["production_costs"] = production
    transitions = dict(template["transitions"])
    for target, weight in (("street", 0.3), ("private_housing", 0.2), ("other_exit", 0.4), ("left_territory", 0.1)):
        transitions[f"asylum_shelter->{target}"] = {"weight": {
            "value": weight,
            "assumption": "end of the asylum stay: rejected seekers without a solution, refugees housed by their own means, other schemes or departures; no figure in data/",
        }}
    transitions["asylum_shelter->social_housing"] = {"refusal_probability": template["transitions"]["street->social_housing"]["refusal_probability"]}
    transitions[STREET_EXIT] = {"rate_per_year": derived(
        round(amp_street_exit * street_factor, 4),
        f"Aix-Marseille-Provence's rate {amp_street_exit:g} a year (fitted by lda-sim calibrate to its street count, configs/calibration/) "
        + (f"x {street_factor:g}, fitted by scripts/calibrate_national.py so that the mean street stock over years 1 to 4 of the "
           "national baseline equals the street count above (configs/national/street_exit_fit.csv)" if street_factor != 1 else
           "(no factor of its own fitted: configs/national/street_exit_fit.csv)"),
        ["S22"],
    )}
    transitions["social_housing->other_exit"] = {"rate_per_year": derived(round(turnover, 4), "households leave their unit at the stock's turnover rate (above)", ["S25"] if name == "paris" else src("social_lettings", "social_stock"))}
    doc["transitions"] = transitions
    return doc


HEADER = """# {label}: territory of the national configuration, written by scripts/build_national.py
# (do not edit by hand: edit the script or configs/national/territories.csv and run it again).
#
# Figures are derived from national figures and the territory's share of the population of France
# (configs/national/territories.csv, INSEE 2022); the rules are written next to each value. Stay
# laws, destinations, hazard rates, costs and the population mix are those of the bundled
# Aix-Marseille-Provence file (national sources or assumptions), except hotel stays (national
# emergency-place law, S40); the 115 (emergency_line) is AMP's calibrated one. See configs/national/README.md.

"""


def own_figures(path: Path) -> dict[str, float]:
    """The quantities of a bundled territory file that count against the national figures."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    states = doc["states"]
    return {
        "street": _value(doc["initial"]["street"]["persons"]),
        "emergency": _value(states["emergency_shelter"]["places"]),
        "hotel": _value(states["hotel"]["places"]),
        "chrs": _value(states["insertion_shelter"]["places"]),
        "asylum": _value(states["asylum_shelter"]["places"]) if "asylum_shelter" in states else 0,
        "pension": sum(_value(states["pension_de_famille"]["units"]).values()),
        "iml": sum(_value(states["iml_sublease"]["units"]).values()) + sum(_value(states["iml_mandate"]["units"]).values()),
        "social_stock": _value(states["social_housing"]["stock_units"]),
    }


def build() -> dict[Path, str]:
    """Every file of the national configuration, by path, as text."""
    rows = read_table()
    by_name = {r["name"]: r for r in rows}
    france = by_name.pop("france")
    rows = [r for r in rows if r["name"] != "france"]
    net = net_population(rows)
    template = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    inflow_factor, amp_street_exit = amp_fitted()
    factors = street_exit_factors()
    files: dict[Path, str] = {}
    totals: dict[str, float] = {}
    # the two bundled territories' own values count against the national figures
    own_values = {name: own_figures(path) for name, path in OWN_FILES.items()}
    paths = []
    for row in rows:
        name = row["name"]
        if name in OWN_FILES:
            q = own_values[name]
            paths.append(OWN_FILES[name])
        else:
            q = figures(name, net[name], row["region"])
            doc = territory_document(row, net[name], q, template, (inflow_factor, amp_street_exit, factors.get(name, 1.0)))
            path = OUT_DIR / f"{name}.yaml"
            files[path] = HEADER.format(label=row["territory"]) + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
            paths.append(path)
        for key in ("street", "emergency", "hotel", "chrs", "asylum", "pension", "iml", "social_stock"):
            totals[key] = totals.get(key, 0.0) + q[key]
    # the rest of France: national figures minus the territories
    rest_pop = int(france["population"]) - sum(net.values())
    idf_in_territories = sum(net[r["name"]] for r in rows if r["region"] == IDF)
    q = figures("rest-of-france", rest_pop, "")
    national = {
        "street": nat("street_persons"),
        "emergency": nat("general_shelter_places") - nat("chrs_places") - nat("hotel_places"),
        "hotel": nat("hotel_places"),
        "chrs": nat("chrs_places"),
        "asylum": nat("asylum_persons"),
        "pension": nat("pension_de_famille_places"),
        "iml": nat("iml_places") / PERSONS_PER_HOUSEHOLD,
        "social_stock": nat("social_stock"),
    }
    for key, total in national.items():
        q[key] = max(total - totals[key], 0.0)
    q["evictions"] = nat("evictions_with_police") * rest_pop / nat("population")
    rest_row = {**france, "name": "rest-of-france", "territory": "Rest of France", "region": "", "joined": "", "kind": "rest", "lat": "", "lon": ""}
    doc = territory_document(rest_row, rest_pop, q, template, (inflow_factor, amp_street_exit, factors.get("rest-of-france", 1.0)), rest=True)
    doc["territory"]["description"] += f" Île-de-France outside Paris and Seine-Saint-Denis: {nat('population_idf') - idf_in_territories:,.0f} inhabitants."
    path = OUT_DIR / "rest-of-france.yaml"
    files[path] = HEADER.format(label="Rest of France") + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
    paths.append(path)
    files[SCENARIO] = scenario_text(paths)
    return files


def scenario_text(paths: list[Path]) -> str:
    rel = [str(Path("..") / p.relative_to(CONFIGS)) for p in paths]
    spec = {
        "scenario": {
            "name": "national",
            "description": (
                "Every accelerated territory of the Logement d'abord policy and the rest of France, current capacities carried "
                "forward ten years, with residential mobility between neighbouring territories through social lettings."
            ),
            "start": "2025-01",
            "years": 10,
            "seed": 20250101,
            "spin_up_years": 4,
            "pathway": "../pathways/france-national.yaml",
            "sources": "../sources.yaml",
            "territories": rel,
            "allocation": {"rule": "fcfs", "rules": {"emergency_shelter": "families_first", "hotel": "families_first"}},
            "mobility": {
                "states": ["social_housing"],
                "offer_share": {"value": 0.05, "assumption": "share of lettings to homeless households offered to households waiting in a neighbouring territory; no figure found"},
                "acceptance": {
                    "at_zero_km": {"value": 0.8, "assumption": "a home next door is accepted about as often as a local offer (1 - 0.2); no figure found"},
                    "halving_km": {"value": 100, "assumption": "acceptance halves every 100 km (family, work and support networks are local); no figure found"},
                },
                "links": {
                    "max_km": {"value": 150, "assumption": "a move within about two hours by road keeps family, work and support within reach; no figure found"},
                    "same_region": True,
                },
            },
        }
    }
    head = (
        "# The whole country: the accelerated territories of the Logement d'abord policy and the rest of\n"
        "# France, written by scripts/build_national.py (do not edit by hand). See configs/national/README.md.\n\n"
    )
    return head + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed files differ from a fresh build")
    args = parser.parse_args()
    files = build()
    if args.check:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        extra = sorted(set(OUT_DIR.glob("*.yaml")) - set(files))
        for p in stale + extra:
            print(f"out of date: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale or extra else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files ({len(files) - 1} territories and {SCENARIO.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
