"""A scenario at a fraction (or a multiple) of its population.

:func:`scale_scenario` multiplies every territory's volumes by a factor: the inflow rates, the
initial populations, the shelter places, the housing units and the stocks whose turnover supplies
lettings. The rates that drive each household (stay laws, hazards, refusals, turnover rates,
shares) are unchanged, so each household meets the same odds in a scenario of ``factor`` times as
many households and capacities. Two uses:

* benchmarks of how the cost of a run grows with the population (``benchmarks/bench_national.py``
  runs the national configuration at a quarter, a half and all of its population);
* fast tests of large configurations at a small scale (``tests/test_national.py`` runs the
  national configuration at 2 %).

A scaled scenario is not a model of a smaller country: waiting lists are shorter in absolute
terms, a few households fill or free a small territory's places, and counts are rounded, so its
results are not the full scenario's divided by ``factor``. Use it for cost and for checks, not
for figures.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ..config.scenario import Scenario, TerritoryConfig

__all__ = ["scale_scenario"]


def _scaled(count: int, factor: float) -> int:
    """``count x factor`` rounded to the nearest integer (monotone: a <= b gives scaled a <= scaled b)."""
    return round(count * factor)


def _scaled_classes(units: list[int], factor: float) -> list[int]:
    """Units per size class scaled so that their total is the scaled total (largest remainders).

    Rounding each class on its own could lose units (three classes of 1 unit at 0.4 would round
    to none, though the total, 1.2, rounds to 1): the total must stay >= the scaled households.
    """
    raw = [u * factor for u in units]
    out = [math.floor(x) for x in raw]
    missing = _scaled(sum(units), factor) - sum(out)
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[: max(missing, 0)]:
        out[i] += 1
    return out


def _scale_territory(t: TerritoryConfig, factor: float) -> TerritoryConfig:
    initial = {s: (unit, _scaled(count, factor)) for s, (unit, count) in t.initial.items()}
    places = {s: _scaled(n, factor) for s, n in t.places.items()}
    units = {s: _scaled_classes(list(u), factor) for s, u in t.units.items()}
    # Rounding is monotone, so scaled initial <= scaled capacity whenever the file's counts are
    # within its capacities (load_territory checks it); keep the invariant even if they are not.
    for s, (unit, count) in initial.items():
        if unit == "persons" and s in places and places[s] < count:
            places[s] = count
        if unit == "households" and s in units and sum(units[s]) < count:
            units[s][0] += count - sum(units[s])
    return replace(
        t,
        inflows=[replace(f, households_per_year=f.households_per_year * factor) for f in t.inflows],
        initial=initial,
        places=places,
        units=units,
        supplies={s: replace(sup, stock_units=_scaled(sup.stock_units, factor)) for s, sup in t.supplies.items()},
    )


def scale_scenario(scenario: Scenario, factor: float) -> Scenario:
    """A copy of ``scenario`` with every territory's volumes multiplied by ``factor`` (> 0).

    Scaled, per territory:

    * inflow rates (``households_per_year`` of every cause), not rounded: they are Poisson rates;
    * initial populations (persons or households, as the file gives them), rounded to the nearest
      integer;
    * shelter places and housing units per size class, rounded (the units of a state so that
      their total is its scaled total rounded), and never below the scaled initial population;
    * the stocks of turnover-supplied states (``Supply.stock_units``), rounded: lettings per year
      scale with them, turnover rates and shares to homeless households do not.

    Not scaled: stay laws, transition weights and rates, refusal probabilities, population mixes,
    costs per day, the mobility settings, a territory's ``inhabitants`` (a label of the real
    territory, used by no computation), and **policies**: a policy that adds N units adds N units
    at any scale, so scale a policy's amounts yourself (e.g. with overrides) if the comparison
    needs it.

    The input is left untouched: territories are copied (``dataclasses.replace``) with new
    dictionaries and lists, and the pathway, policies and other shared objects are reused as
    they are. ``factor == 1`` gives an equal copy.

    >>> small = scale_scenario(load_scenario("configs/scenarios/national.yaml"), 0.02)
    """
    try:
        factor = float(factor)
    except (TypeError, ValueError):
        raise ValueError(f"scale factor must be a number, got {factor!r}") from None
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"scale factor must be a finite number > 0, got {factor!r}")
    suffix = f" (volumes scaled x {factor:g})"
    return replace(
        scenario,
        description=scenario.description + suffix if factor != 1 else scenario.description,
        territories=[_scale_territory(t, factor) for t in scenario.territories],
        provenance=list(scenario.provenance),
        sources=dict(scenario.sources),
        policies=list(scenario.policies),
        allocation=dict(scenario.allocation),
    )

