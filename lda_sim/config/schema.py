"""JSON Schemas of the configuration files (scenario, pathway, territory).

The schemas describe the files as written, with provenance wrappers: any parameter may be a bare
value or ``{value: ..., source | derived | assumption: ..., note: ...}``. ``lda-sim schema``
prints them so that editors can complete and check the files.
"""

from __future__ import annotations

from typing import Any

from .timebase import DATE_PATTERN, DAY_OF_YEAR_PATTERN, WHEN_PATTERN

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

STATE_KINDS = ("street", "shelter", "housing", "exit")
HOUSING_SUPPLIES = ("units", "turnover", "open")
TRANSITION_MODES = ("queue", "stay", "hazard")
CAUSES = ("eviction", "institution_exit", "violence", "migration", "family_breakup", "other", "asylum")
NEEDS = ("low", "medium", "high")
ELIGIBILITY_ATTRIBUTES = ("kind", "isolated", "needs", "regular_status", "priority", "cause", "size_class")
NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"

# Bounds that protect the machine: a value past its bound is refused when the file is loaded,
# before anything runs (README, "Limits").
#: Largest horizon of a run, in years.
MAX_YEARS = 100
#: Largest seed: seeds are stored as 64-bit signed integers in the results.
MAX_SEED = 2**63 - 1
#: Largest inflow of one cause into one territory, households per year (the largest bundled one is about 44,000).
MAX_HOUSEHOLDS_PER_YEAR = 1_000_000
#: Largest capacity or count of one state of one territory: places, units per size class, stock units,
#: initial persons or households, support slots, and units or places a policy adds or removes per year.
MAX_CAPACITY = 10_000_000
#: Largest number of households a run may simulate: the initial populations plus the inflows over the horizon.
MAX_HOUSEHOLDS = 50_000_000


def _object(properties: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
        **extra,
    }


def sourced(inner: dict[str, Any], description: str = "") -> dict[str, Any]:
    """A value given bare or inside a provenance wrapper."""
    wrapper = _object(
        {
            "value": inner,
            "source": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ],
                "description": "Source id(s) of configs/sources.yaml",
            },
            "derived": {"type": "string", "minLength": 1, "description": "Rule that computes the value"},
            "assumption": {"type": "string", "minLength": 1, "description": "Why this value was assumed"},
            "note": {"type": "string"},
            "year": {"type": ["integer", "string"]},
        },
        ("value",),
        oneOf=[
            {"required": ["source"], "not": {"anyOf": [{"required": ["derived"]}, {"required": ["assumption"]}]}},
            {"required": ["derived"], "not": {"required": ["assumption"]}},
            {"required": ["assumption"], "not": {"anyOf": [{"required": ["derived"]}, {"required": ["source"]}]}},
        ],
    )
    schema: dict[str, Any] = {
        "if": {"type": "object", "required": ["value"]},
        "then": wrapper,
        "else": inner,
    }
    if description:
        schema["description"] = description
    return schema


def number(minimum: float = 0, maximum: float | None = None, integer: bool = False, description: str = "") -> dict[str, Any]:
    """A non-negative (or bounded) number, bare or sourced."""
    inner: dict[str, Any] = {"type": "integer" if integer else "number", "minimum": minimum}
    if maximum is not None:
        inner["maximum"] = maximum
    return sourced(inner, description)


def share() -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": 1}


def mix(keys: tuple[str, ...] | None = None, description: str = "") -> dict[str, Any]:
    """Shares over named categories; the loader checks that they sum to 1."""
    inner: dict[str, Any] = {"type": "object", "minProperties": 1}
    if keys:
        inner["propertyNames"] = {"enum": list(keys)}
    inner["additionalProperties"] = share()
    return sourced(inner, description or "Shares summing to 1")


STAY_LAW: dict[str, Any] = {
    "type": "object",
    "required": ["law"],
    "properties": {"law": {"enum": ["exponential", "lognormal", "fixed", "empirical"]}},
    "allOf": [
        {
            "if": {"properties": {"law": {"const": "exponential"}}},
            "then": _object({"law": {}, "mean_days": {"type": "number", "exclusiveMinimum": 0}}, ("law", "mean_days")),
        },
        {
            "if": {"properties": {"law": {"const": "lognormal"}}},
            "then": _object(
                {"law": {}, "median_days": {"type": "number", "exclusiveMinimum": 0}, "sigma": {"type": "number", "exclusiveMinimum": 0}},
                ("law", "median_days", "sigma"),
            ),
        },
        {
            "if": {"properties": {"law": {"const": "fixed"}}},
            "then": _object({"law": {}, "days": {"type": "number", "exclusiveMinimum": 0}}, ("law", "days")),
        },
        {
            "if": {"properties": {"law": {"const": "empirical"}}},
            "then": _object(
                {
                    "law": {},
                    "edges_days": {"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 2},
                    "shares": {"type": "array", "items": share(), "minItems": 1},
                },
                ("law", "edges_days", "shares"),
            ),
        },
    ],
    "description": "Stay-duration law: exponential(mean_days), lognormal(median_days, sigma), fixed(days), empirical(edges_days, shares)",
}

LABEL = _object({"fr": {"type": "string"}, "en": {"type": "string"}}, ("fr", "en"))

ELIGIBILITY = _object(
    {attr: {"type": "array", "minItems": 1, "items": {"type": ["string", "boolean"]}} for attr in ELIGIBILITY_ATTRIBUTES},
    description="Household attributes allowed to take the transition (all listed attributes must match)",
)

_PATHWAY_KIND = _object(
    {
        "persons": sourced(
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": "^[1-9][0-9]?$"},
                "additionalProperties": share(),
            },
            "Distribution of persons per household of this kind",
        ),
        "isolated": {"type": "boolean"},
        "family": {"type": "boolean", "description": "Households with children (the 115's families-first rule)"},
    }
)

_PATHWAY_STATE = _object(
    {
        "kind": {"enum": list(STATE_KINDS)},
        "supply": {"enum": list(HOUSING_SUPPLIES)},
        "label": LABEL,
        "optional": {
            "type": "boolean",
            "description": "A territory file may leave this state out (a state with a capacity only): it then has no places or units, and needs no stay law or parameters for the transitions leaving it",
        },
    }
)

_PATHWAY_TRANSITION = _object(
    {
        "from": {"type": "string"},
        "to": {"type": "string"},
        "mode": {"enum": list(TRANSITION_MODES)},
        "eligible": ELIGIBILITY,
        "label": LABEL,
        "weight": number(0, 1),
        "rate_per_year": number(0),
        "refusal_probability": number(0, 1),
        "ready_after": sourced(STAY_LAW),
        "request": {
            "type": "boolean",
            "description": "A request to the emergency line (115): the household asks at its calls, each answered for a while, instead of waiting on a list",
        },
    },
    ("from", "to"),
)

#: What a complete pathway needs. A file that ``extends`` another gives only what it adds or
#: changes (a state or kind by name, a transition by from/to); the merged pathway must be complete.
_COMPLETE_PATHWAY: dict[str, Any] = {
    "required": ["size_classes", "kinds", "states", "transitions"],
    "properties": {
        "kinds": {"additionalProperties": {"required": ["persons", "isolated"]}},
        "states": {"minProperties": 2, "additionalProperties": {"required": ["kind"]}},
        "transitions": {"minItems": 1, "items": {"required": ["mode"]}},
    },
}

PATHWAY_SCHEMA: dict[str, Any] = _object(
    {
        "pathway": _object(
            {
                "name": {"type": "string", "pattern": NAME_PATTERN},
                "description": {"type": "string"},
                "extends": {
                    "type": "string",
                    "description": "A pathway file (relative to this file) whose size classes, kinds, states and transitions this one inherits; it may add states and transitions and change them by name (a transition by from/to)",
                },
                "size_classes": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": NAME_PATTERN},
                    "additionalProperties": _object({"max_persons": {"type": "integer", "minimum": 1}}, ("max_persons",)),
                    "description": "Housing size classes, in increasing max_persons",
                },
                "kinds": {"type": "object", "minProperties": 1, "propertyNames": {"pattern": NAME_PATTERN}, "additionalProperties": _PATHWAY_KIND},
                "states": {"type": "object", "propertyNames": {"pattern": NAME_PATTERN}, "additionalProperties": _PATHWAY_STATE},
                "transitions": {"type": "array", "items": _PATHWAY_TRANSITION},
            },
            ("name",),
            **{"if": {"required": ["extends"]}, "else": _COMPLETE_PATHWAY},
        )
    },
    ("pathway",),
    title="lda_sim pathway graph",
)

_POPULATION_FIELDS: dict[str, Any] = {
    "kinds": mix(description="Shares of household kinds"),
    "needs": mix(NEEDS, "Shares of support needs"),
    "regular_status_share": number(0, 1, description="Share with a regular residence status (eligible to housing)"),
    "priority_share": number(0, 1, description="Share with a priority flag (DALO, violence, vulnerability)"),
    "calls_115_share": number(0, 1, description="Share of households on the street who ask the emergency line (115); the others are reached by outreach"),
}

_STATE_PARAMS = _object(
    {
        "places": number(0, MAX_CAPACITY, integer=True, description="Shelter capacity in places (persons)"),
        "units": sourced(
            {"type": "object", "minProperties": 1, "additionalProperties": {"type": "integer", "minimum": 0, "maximum": MAX_CAPACITY}},
            "Housing capacity in units (households) per size class",
        ),
        "stay": sourced(STAY_LAW),
        "stock_units": number(0, MAX_CAPACITY, integer=True, description="Whole stock of a turnover-supplied state"),
        "turnover_rate": number(0, 1, description="Lettings per unit of stock per year"),
        "share_to_homeless": number(0, 1, description="Share of lettings that go to households of the model"),
        "size_mix": mix(description="Size classes of lettings"),
        "lettings_by_origin": mix(
            ("priority", "street", "shelter", "housing"),
            "Shares of the lettings to homeless households reserved to each public: priority (DALO and the prefectoral quota, whatever "
            "the origin), then households from the street, from shelters and from temporary housing",
        ),
    }
)

COST = _object(
    {
        "eur_per_person_day": number(0),
        "eur_per_person_year": number(0),
        "eur_per_household_year": number(0),
        "eur_per_place_year": number(0, description="Per funded place (shelter) or unit (housing), occupied or not"),
        "eur_per_place_day": number(0),
        "eur_per_person_year_by_needs": _object(
            {"low": number(0), "medium": number(0), "high": number(0), "other_members": number(0)},
            ("low", "medium", "high", "other_members"),
            description=(
                "Per person-year by needs level: the household's reference person at the rate of its needs level, "
                "its other members (children, partners) at the other_members rate"
            ),
        ),
    },
    minProperties=1,
    maxProperties=1,
    description="Cost of a state: one rate, per person, household or funded place",
)

TERRITORY_SCHEMA: dict[str, Any] = _object(
    {
        "territory": _object(
            {
                "name": {"type": "string", "pattern": NAME_PATTERN},
                "label": {"type": "string"},
                "description": {"type": "string"},
                "region": {"type": "string", "description": "Region (used to link territories for mobility)"},
                "inhabitants": number(1, integer=True, description="Population of the territory (persons)"),
                "location": sourced(
                    _object(
                        {"lat": {"type": "number", "minimum": -90, "maximum": 90}, "lon": {"type": "number", "minimum": -180, "maximum": 180}},
                        ("lat", "lon"),
                    ),
                    "Coordinates of the main city, decimal degrees (distances between territories)",
                ),
            },
            ("name", "label"),
        ),
        "population": _object(_POPULATION_FIELDS, ("kinds", "needs", "regular_status_share", "priority_share")),
        "inflows": _object(
            {
                cause: _object(
                    {
                        "households_per_year": number(0, MAX_HOUSEHOLDS_PER_YEAR, description="Poisson arrival rate"),
                        "entry": {"type": "string"},
                        **_POPULATION_FIELDS,
                    },
                    ("households_per_year",),
                )
                for cause in CAUSES
            },
            minProperties=1,
        ),
        "initial": {
            "type": "object",
            "additionalProperties": _object(
                {"persons": number(0, MAX_CAPACITY, integer=True), "households": number(0, MAX_CAPACITY, integer=True)},
                oneOf=[{"required": ["persons"]}, {"required": ["households"]}],
            ),
            "description": "Population at the start per state, in persons or households",
        },
        "states": {"type": "object", "additionalProperties": _STATE_PARAMS},
        "emergency_line": _object(
            {
                "request_days": number(0.01, 365, description="How long a request to the 115 stays open (days): unmet by then, it is lost"),
                "recall_after": sourced(STAY_LAW, "Time before an unmet caller (or one back on the street) calls again"),
                "outreach_per_year": number(0, 365, description="Rate at which outreach (maraudes) reaches a household who does not call, and asks for it"),
            },
            ("request_days", "recall_after"),
        ),
        "status": _object(
            {"regularisation_per_year": number(0, 12, description="Rate at which a household without a regular status gets one")},
            ("regularisation_per_year",),
        ),
        "production_costs": {
            "type": "object",
            "additionalProperties": _object({"eur_per_unit": number(0)}, ("eur_per_unit",)),
            "description": "One-off public cost of a unit delivered by a production policy, per housing state, in euros",
        },
        "costs": {
            "type": "object",
            "properties": {"support": _object({"eur_per_slot_year": number(0)}, ("eur_per_slot_year",))},
            "additionalProperties": COST,
            "description": "Costs per state (and of a support slot), in euros",
        },
        "transitions": {
            "type": "object",
            "propertyNames": {"pattern": r"^[a-z][a-z0-9_-]*->[a-z][a-z0-9_-]*$"},
            "additionalProperties": _object(
                {
                    "weight": number(0, 1),
                    "rate_per_year": number(0),
                    "refusal_probability": number(0, 1),
                    "ready_after": sourced(STAY_LAW),
                }
            ),
        },
    },
    ("territory", "population", "inflows", "states"),
    title="lda_sim territory",
)

MONTH = {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$", "description": "YYYY-MM"}
WHEN = {"type": "string", "pattern": WHEN_PATTERN, "description": "YYYY-MM (a month) or YYYY-MM-DD (a day)"}
_TIMELINE = {"start": WHEN, "end": WHEN, "territories": {"type": "array", "items": {"type": "string"}, "minItems": 1}, "note": {"type": "string"}}
_SIZE_MIX = mix(description="Size classes of the new units")

POLICY_SCHEMAS: dict[str, dict[str, Any]] = {
    "production": _object(
        {
            "type": {"const": "production"},
            **_TIMELINE,
            "state": {"type": "string"},
            "units_per_year": number(0, MAX_CAPACITY),
            "delivery_lag_years": number(0, 15),
            "size_mix": _SIZE_MIX,
            "share_to_homeless": number(0, 1, description="Share of the first lettings of new turnover-supplied units that go to homeless households"),
        },
        ("type", "start", "state", "units_per_year"),
    ),
    "iml_capture": _object(
        {
            "type": {"const": "iml_capture"},
            **_TIMELINE,
            "state": {"type": "string"},
            "units_per_year": number(0, MAX_CAPACITY),
            "size_mix": _SIZE_MIX,
            "owner_exit_rate_per_year": number(0, description="Owners leaving the scheme: a captured unit closes when vacated after an exponential time"),
            "sliding_lease_leaves_scheme": {"type": "boolean", "description": "A unit whose lease slides to its household leaves the scheme"},
        },
        ("type", "start", "state", "units_per_year"),
    ),
    "transformation": _object(
        {
            "type": {"const": "transformation"},
            **_TIMELINE,
            "from": {"type": "string"},
            "to": {"type": "string"},
            "places_per_year": number(0, MAX_CAPACITY),
            "persons_per_unit": number(1, description="Places converted per housing unit created"),
            "size_mix": _SIZE_MIX,
        },
        ("type", "start", "from", "to", "places_per_year"),
    ),
    "capacity_change": _object(
        {
            "type": {"const": "capacity_change"},
            **_TIMELINE,
            "state": {"type": "string"},
            "change_per_year": sourced({"type": "number", "minimum": -MAX_CAPACITY, "maximum": MAX_CAPACITY}, "Places or units added (positive) or closed (negative) per year"),
            "change": sourced(
                {"type": "integer", "minimum": -MAX_CAPACITY, "maximum": MAX_CAPACITY},
                "Places or units added (positive) or closed (negative) all at once on the start date (instead of change_per_year)",
            ),
            "size_mix": _SIZE_MIX,
        },
        ("type", "start", "state"),
    ),
    "seasonal_capacity": _object(
        {
            "type": {"const": "seasonal_capacity"},
            **_TIMELINE,
            "state": {"type": "string", "description": "A shelter state"},
            "places": number(1, MAX_CAPACITY, integer=True, description="Places opened each season in each territory"),
            "opens": {"type": "string", "pattern": DAY_OF_YEAR_PATTERN, "description": "First day of the season, MM-DD (default 11-01)"},
            "closes": {"type": "string", "pattern": DAY_OF_YEAR_PATTERN, "description": "Last day of the season, MM-DD (default 03-31); places close as they empty"},
        },
        ("type", "start", "state", "places"),
    ),
    "inflow_projection": _object(
        {
            "type": {"const": "inflow_projection"},
            **_TIMELINE,
            "cause": {"type": "string", "description": "Cause of the inflow projected (default with growth_per_year: every inflow)"},
            "households_per_year": sourced(
                {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": r"^\d{4}$"},
                    "additionalProperties": number(0, MAX_HOUSEHOLDS_PER_YEAR, description="Rate from 1 January of the year"),
                },
                "Rate of the inflow by calendar year, from 1 January; a year not given holds the last rate given",
            ),
            "growth_per_year": sourced({"type": "number", "exclusiveMinimum": -1, "maximum": 1}, "Yearly growth of the rates, every 1 January after start (0.03: +3 % a year)"),
        },
        ("type", "start"),
    ),
    "prevention": _object(
        {
            "type": {"const": "prevention"},
            **_TIMELINE,
            "reduce": {
                "type": "object",
                "propertyNames": {"enum": list(CAUSES)},
                "additionalProperties": number(0, 1),
                "description": "Share of the inflow of a cause prevented",
            },
            "divert": {
                "type": "object",
                "propertyNames": {"enum": list(CAUSES)},
                "additionalProperties": _object({"share": number(0, 1), "to": {"type": "string"}}, ("share", "to")),
                "description": "Share of the inflow of a cause that enters housing directly (a state without capacity)",
            },
        },
        ("type", "start"),
    ),
    "support": _object(
        {
            "type": {"const": "support"},
            **_TIMELINE,
            "slots": number(0, MAX_CAPACITY, integer=True),
            "states": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "failure_reduction": number(0, 1, description="Relative reduction of the hazards back to the street of supported tenants"),
            "support_days": sourced(STAY_LAW, "How long support lasts from the move-in; then the slot goes to the next tenant who moves in (absent: the whole tenancy)"),
        },
        ("type", "start", "slots", "states", "failure_reduction"),
    ),
    "allocation": _object(
        {
            "type": {"const": "allocation"},
            **_TIMELINE,
            "state": {"type": "string"},
            "share_to_homeless": number(0, 1),
            "rule": {"type": "string"},
        },
        ("type", "start"),
    ),
    "pathway": _object(
        {
            "type": {"const": "pathway"},
            **_TIMELINE,
            "doctrine": {"type": "string", "description": "Name shown in results (e.g. staircase, logement_d_abord)"},
            "close": {"type": "array", "items": {"type": "string"}, "description": "Transitions closed ('from->to')"},
            "ready_after": {"type": "object", "additionalProperties": sourced(STAY_LAW), "description": "Readiness delay before joining a queue, by transition"},
        },
        ("type", "start"),
    ),
}

POLICY = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"type": "string"}},
    "allOf": [{"if": {"properties": {"type": {"const": k}}}, "then": v} for k, v in POLICY_SCHEMAS.items()],
    "description": "A policy lever with a timeline; 'type' is a built-in lever or 'module:Class'",
}

PRIORITY_RULE = {
    "type": "string",
    "minLength": 1,
    "description": "A built-in rule (fcfs, priority_first, longest_in_system, vulnerability) or 'module:function'",
}

MOBILITY: dict[str, Any] = _object(
    {
        "states": {
            "type": "array", "items": {"type": "string"}, "minItems": 1,
            "description": "Housing states supplied by turnover whose lettings may go to households waiting in another territory",
        },
        "offer_share": number(0, 1, description="Share of a territory's lettings to homeless households offered to households waiting elsewhere"),
        "offer_shares": {
            "type": "object", "additionalProperties": number(0, 1),
            "description": "Per territory name, overrides offer_share",
        },
        "acceptance": _object(
            {
                "at_zero_km": number(0, 1, description="Probability of accepting an offer in a neighbouring territory at distance 0"),
                "halving_km": sourced({"type": "number", "exclusiveMinimum": 0}, "Distance over which the acceptance probability halves"),
            },
            ("at_zero_km", "halving_km"),
        ),
        "links": _object(
            {
                "max_km": number(0, description="Link every pair of territories closer than this (great-circle distance of their locations)"),
                "same_region": {"type": "boolean", "description": "Also link every pair of territories of the same region"},
                "edges": {
                    "type": "array",
                    "items": _object(
                        {
                            "between": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
                            "distance_km": number(0),
                        },
                        ("between",),
                    ),
                    "description": "Explicit links; the distance defaults to the great-circle distance of the two locations",
                },
            }
        ),
    },
    ("states", "offer_share", "acceptance"),
    description="Residential mobility between territories: lettings offered to households waiting elsewhere",
)

SCENARIO_SCHEMA: dict[str, Any] = _object(
    {
        "scenario": _object(
            {
                "name": {"type": "string", "pattern": NAME_PATTERN},
                "description": {"type": "string"},
                "start": {"type": "string", "pattern": r"^\d{4}-\d{2}(-01)?$", "description": "First month, YYYY-MM"},
                "years": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_YEARS},
                "until": {**MONTH, "description": "Last month of the run, YYYY-MM (instead of years): the run ends at its end"},
                "snapshots": {
                    "type": "array",
                    "items": {"type": "string", "pattern": DATE_PATTERN},
                    "description": "Dates YYYY-MM-DD at which the stocks are also recorded (at the start of the day), within the run",
                },
                "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED},
                "spin_up_years": number(
                    0, MAX_YEARS,
                    description="Years run from the initial population before the first reported month, without policies and not reported, so that the run starts at the system's own equilibrium",
                ),
                "pathway": {"type": "string", "description": "Path of the pathway file, relative to this file"},
                "territories": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string"},
                    "description": "Paths of territory files, relative to this file",
                },
                "allocation": _object(
                    {
                        "rule": PRIORITY_RULE,
                        "rules": {"type": "object", "additionalProperties": PRIORITY_RULE, "description": "Per target state"},
                    }
                ),
                "sources": {"type": "string", "description": "Path of the sources file, relative to this file"},
                "extends": {"type": "string", "description": "A scenario file whose settings and policies this one inherits"},
                "household": {"type": "string", "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", "description": "Household class by import path 'module:Class' (a subclass of lda_sim.engine.households.Household)"},
                "policies": {"type": "array", "items": POLICY},
                "mobility": MOBILITY,
            },
            ("name",),
        )
    },
    ("scenario",),
    title="lda_sim scenario",
)


def all_schemas() -> dict[str, dict[str, Any]]:
    """The three file schemas, each a standalone JSON Schema document."""
    return {
        name: {"$schema": SCHEMA_DIALECT, "$id": f"https://lda-sim.org/schema/{name}.json", **schema}
        for name, schema in (("scenario", SCENARIO_SCHEMA), ("pathway", PATHWAY_SCHEMA), ("territory", TERRITORY_SCHEMA))
    }
