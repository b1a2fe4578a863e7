"""Worked examples of the four ways to extend lda_sim without forking it.

Each is named in a scenario file by its import path (``module:name``) and validated when the
scenario is loaded, like the built-in ones; the YAML files beside this module use them:

- a household subclass, ``household: examples.extensions:ReluctantHousehold`` (or
  ``CompliantHousehold``): ``reluctant-households.yaml``, ``compliant-households.yaml``;
- a policy, ``policies: [{type: examples.extensions:WinterPlan, ...}]``: ``winter-plan.yaml``;
- a priority rule, ``allocation: {rule: examples.extensions:families_first}``:
  ``families-first.yaml``;
- a new state of the pathway graph, with pathway and territory files that give it capacity:
  ``medical-respite.yaml`` and ``medical-respite/``.

The import path must be importable by the process that loads the scenario: run from the root of
the repository with it on the path, e.g. ``PYTHONPATH=. lda-sim run examples/winter-plan.yaml
--out results/winter.nc`` (``python -m`` and notebooks started at the root have it already). In
your own work, put your extensions in a module of your project.

From Python, a household class can also be passed directly:
``HousingModel(scenario, household_class=CompliantHousehold)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from lda_sim.config.timebase import MONTH_DAYS
from lda_sim.engine import streams
from lda_sim.engine.households import Household
from lda_sim.engine.policies import Policy

if TYPE_CHECKING:  # pragma: no cover
    from lda_sim.config.pathway import Transition
    from lda_sim.engine.model import HousingModel


# --------------------------------------------------------------------------------------------
# 1. Household subclasses: a different rule for accepting an offer
# --------------------------------------------------------------------------------------------
class ReluctantHousehold(Household):
    """A household that refuses offers far more often than the territory's refusal probability.

    An offer is accepted only if the household would have accepted ``REFUSAL_POWER`` offers in a
    row: with a per-offer refusal probability ``p`` it refuses with ``1 - (1 - p) ** 3``
    (0.465 -> 0.85). Where ``p`` is 0 (no refusals configured) it always accepts.

    It draws from the same uniform number as the base class (the household's own stream, one
    number per offer), so every offer a :class:`Household` refuses is refused here too: the
    comparison with the baseline is not blurred by chance (common random numbers).
    """

    REFUSAL_POWER = 3

    def accepts_offer(self, transition: Transition, refusal_probability: float) -> bool:
        if refusal_probability <= 0:
            return True
        stricter = 1.0 - (1.0 - refusal_probability) ** self.REFUSAL_POWER
        n = self.offers.get(transition.target.index, 0)
        return self.uniform(streams.tag(streams.OFFER, transition.target.index, n)) >= stricter


class CompliantHousehold(Household):
    """A household that accepts every offer (no refusals at all)."""

    def accepts_offer(self, transition: Transition, refusal_probability: float) -> bool:
        return True


# --------------------------------------------------------------------------------------------
# 2. A policy: extra emergency places every winter
# --------------------------------------------------------------------------------------------
class WinterPlan(Policy):
    """A winter plan ("plan grand froid"): extra shelter places open every winter.

    Fields (besides ``start``, ``end`` and ``territories``, as for every policy):

    - ``places``: extra places opened in each territory (required, a positive integer);
    - ``state``: the shelter state that gets them (default ``emergency_shelter``);
    - ``first_month``, ``last_month``: the winter, as calendar months (default 11 and 3: November
      to March, both included).

    The places open at the start of ``first_month`` and close at the start of the month after
    ``last_month``; closing places close as they empty, so nobody is put out in April (the
    model's ``remove_capacity``). A plan that starts in the middle of a winter opens at once.
    """

    type_name = "winter_plan"

    def validate(self) -> None:
        """Check the fields when the scenario is loaded (errors name the file and the field)."""
        self.spec.setdefault("state", "emergency_shelter")
        self.target = self.state("state", capacity=("shelter",))
        places = self.spec.get("places")
        if isinstance(places, bool) or not isinstance(places, (int, float)) or places <= 0 or not float(places).is_integer():
            self.error("places", f"expected a positive whole number of places, got {places!r}")
        self.places = int(places)
        self.months = []
        for field in ("first_month", "last_month"):
            month = self.spec.get(field, 11 if field == "first_month" else 3)
            if not isinstance(month, int) or not 1 <= month <= 12:
                self.error(field, f"expected a calendar month from 1 to 12, got {month!r}")
            self.months.append(month)

    def in_winter(self, month: int) -> bool:
        """Whether calendar ``month`` (1-12) is in the winter."""
        first, last = self.months
        return first <= month <= last if first <= last else (month >= first or month <= last)

    def install(self, model: HousingModel) -> None:
        """Look at the calendar at the start of every month of the policy's timeline."""
        self._model = model
        self._open = {t.index: False for t in self.territories(model)}
        self._first_month = int(str(model.scenario.start)[5:7])
        self.monthly(model, self.month_starts)
        if math.isfinite(self.end_day) and self.end_day <= model.horizon:
            model.schedule_event(self.close, at=self.end_day)

    def month_starts(self) -> None:
        model = self._model
        elapsed = round(model.time / MONTH_DAYS)  # months since the start of the run
        month = (self._first_month - 1 + elapsed) % 12 + 1
        if self.in_winter(month):
            self.open()
        else:
            self.close()

    def open(self) -> None:
        for territory in self.territories(self._model):
            if not self._open[territory.index]:
                self._model.add_capacity(territory, self.target.index, self.places)
                self._open[territory.index] = True

    def close(self) -> None:
        for territory in self.territories(self._model):
            if self._open[territory.index]:
                self._model.remove_capacity(territory, self.target.index, self.places)
                self._open[territory.index] = False

    def describe(self) -> str:
        first, last = self.months
        return f"winter plan: {self.places} extra {self.target.name} places from month {first} to month {last}"


# --------------------------------------------------------------------------------------------
# 3. A priority rule: families first
# --------------------------------------------------------------------------------------------
def families_first(household: Household, target: int) -> Any:
    """Families (with children) first, then first come, first served.

    A priority rule gives a household its sort key when it joins the waiting list of state
    ``target``: the lowest key is offered the next vacancy that fits it.
    """
    return (household.kind != "family", household.queue_since[target])


__all__ = ["ReluctantHousehold", "CompliantHousehold", "WinterPlan", "families_first"]
