"""The housing model: households moving through the pathway graphs of territories.

``HousingModel`` is a Mesa 3.5 model shell around the compiled kernel
(:mod:`lda_sim.engine.kernel`): households live in arrays and the event loop runs under numba.
Time is continuous, in days, on ``model.time``; ``run_for`` / ``run_until`` drive the kernel and
the Mesa events that policies schedule (``schedule_event``, ``schedule_recurring``), merged in
time order: the kernel runs to the next Mesa event, the event changes the run's levers through
the methods below, the kernel resumes. Researchers see households through
:class:`~lda_sim.engine.households.Household` views (:meth:`HousingModel.household`,
:meth:`HousingModel.households`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from typing import Any

import mesa
import numpy as np
import xarray as xr

from ..config.scenario import Scenario
from ..config.schema import CAUSES
from ..config.timebase import DAYS_PER_YEAR, MONTH_DAYS
from . import hooks
from . import kernel as k
from .allocation import families_first, fcfs, longest_in_system, priority_first, resolve_rule, vulnerability
from .build import LAW_FIELDS, LawTable, build
from .households import Household
from .policies import policy_for
from .recorder import Recorder
from .snapshots import Snapshots
from .territory import TerritoryView

__all__ = ["HousingModel", "EngineLimitError"]

#: The compiled kernel's code of each built-in priority rule (it runs these without Python).
RULE_CODES: dict[Any, int] = {
    fcfs: k.RULE_FCFS,
    priority_first: k.RULE_PRIORITY_FIRST,
    longest_in_system: k.RULE_LONGEST,
    vulnerability: k.RULE_VULNERABILITY,
    families_first: k.RULE_FAMILIES_FIRST,
}


class EngineLimitError(RuntimeError):
    """A run would outgrow the machine (more households alive at once than the engine's bound)."""


class HousingModel(mesa.Model):
    """A run of one scenario.

    >>> model = HousingModel(load_scenario("configs/scenarios/baseline.yaml"), seed=1)
    >>> model.run()            # to the scenario's horizon
    >>> ds = model.dataset()   # occupancy, flows, waits... as an xarray.Dataset
    """

    household_class: type[Household] = Household

    @property
    def scenario(self) -> Scenario:
        """The lda_sim scenario of this run.

        Overrides Mesa's ``Model.scenario``, whose setter writes a back-reference into the
        scenario: a loaded scenario is shared by many runs and must not keep a model alive.
        """
        return self._lda_scenario

    @scenario.setter
    def scenario(self, value: Any) -> None:
        self._lda_scenario = value

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        household_class: type[Household] | None = None,
        trajectories: bool = False,
        max_households: int | None = None,
    ) -> None:
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        # Mesa's default schedule calls step() every time unit; this model has no per-day work.
        self._default_schedule.stop()
        self.scenario = scenario
        self.seed = seed
        self.pathway = scenario.pathway
        if household_class is not None:
            self.household_class = household_class
        elif scenario.household_class is not None:
            self.household_class = scenario.household_class
        self.horizon = scenario.months * MONTH_DAYS
        self.trajectories = trajectories
        self._custom_rules: list[Callable[[Household, int], Any]] = []
        rules = self._priority_rules()
        options = {} if max_households is None else {"max_households": max_households}
        built = build(scenario, seed, rules, trajectories=trajectories, **options)
        self._st = built.state
        self._a = built.arrays
        self._streams = built.streams
        self._laws: LawTable = built.laws
        self._counters = self._a["counters"]
        self._clock = self._a["clock"]
        self._refresh_households()
        cls = self.household_class
        self._counters[k.C_HOOK_OFFER] = int(cls.accepts_offer is not Household.accepts_offer)
        self._counters[k.C_HOOK_MOVE] = int(cls.accepts_move is not Household.accepts_move)
        self._python_events: list[tuple[Callable[[Any, Any], None], Any, Any] | None] = []
        self._slide_handlers: dict[tuple[int, int], list[Callable[[TerritoryView, int], None]]] = {}
        self.territories = [TerritoryView(self, i, t) for i, t in enumerate(scenario.territories)]
        #: units delivered by production policies, by territory, state and month (see record_delivery)
        self.delivered = np.zeros((len(scenario.territories), len(self.pathway.states), scenario.months), np.int64)
        self.recorder = Recorder(scenario, seed, self._a, delivered=self.delivered)
        self._snapshots = Snapshots(self)
        #: this model's own policy objects (the scenario holds their settings, shared by runs)
        self.policies = [policy_for(p) for p in scenario.policies]
        self.mobility = scenario.mobility
        spin_up = scenario.spin_up_years * DAYS_PER_YEAR
        with hooks.active(self):
            self._counters[k.C_POPULATING] = 1
            if not spin_up:
                for policy in self.policies:
                    policy.install(self)
            for territory in self.territories:
                self._populate(territory, built)
            self._counters[k.C_POPULATING] = 0
            k.fill_pending(self._st)
            self._refill()
            for territory in self.territories:
                for i in range(len(territory.config.inflows)):
                    k.schedule_arrival(self._st, territory.index, i)
                for state in territory.config.supplies:
                    k.schedule_letting(self._st, territory.index, state)
            k.schedule(self._st, MONTH_DAYS, k.EV_MONTH_END, 0, 0, 0)
            if spin_up:
                self._spin_up(spin_up)
                for policy in self.policies:
                    policy.install(self)

    def _spin_up(self, days: float) -> None:
        """Run ``days`` from the initial population (the kernel's events only: no policy is
        installed yet), then start the run from there: times shift back by ``days`` and the
        records restart, the population then in place being the run's initial population."""
        while True:
            code = k.run_events(self._st, days, math.inf)
            if code == k.R_DONE:
                break
            self._handle(code)
        k.rebase(self._st, days)
        for name, array in self._a.items():
            if name.startswith("r_"):
                array[...] = np.nan if name == "r_capacity" else 0
        self._a["r_initial"][...] = self._a["occ_h"]
        self._a["r_initial_persons"][...] = self._a["occ_p"]
        self._refresh_households()

    # --- set-up -------------------------------------------------------------------------------
    def _rule_code(self, rule: Callable[..., Any]) -> int:
        code = RULE_CODES.get(rule)
        if code is not None:
            return code
        if rule not in self._custom_rules:
            self._custom_rules.append(rule)
        return k.RULE_CUSTOM + self._custom_rules.index(rule)

    def _priority_rules(self) -> dict[int, int]:
        alloc = self.scenario.allocation
        default = self._rule_code(resolve_rule(alloc.get("rule", "fcfs")))
        per_state = {name: self._rule_code(resolve_rule(rule)) for name, rule in alloc.get("rules", {}).items()}
        return {s.index: per_state.get(s.name, default) for s in self.pathway.states}

    def _populate(self, territory: TerritoryView, built: Any) -> None:
        """Create the initial population of each state, with elapsed stays drawn at equilibrium.

        Households are drawn from the territory's population mix, keeping those eligible to enter
        the state and that fit its capacity. A shelter given in persons may end a few persons short
        when no drawn household fits the last places exactly.
        """
        config = territory.config
        for state_index, (unit, count) in config.initial.items():
            state = self.pathway.states[state_index]
            entering = [t for t in self.pathway.transitions if t.target.index == state_index]
            cause, population = self._initial_cause(config, entering)
            stream = built.initial_streams[territory.index, state_index]
            cache = np.full(built.n_profiles, -1, np.int64)
            entering_idx = np.array([t.index for t in entering], np.int64)
            self._counters[k.C_PLACED] = 0
            self._counters[k.C_REJECTIONS] = 0
            while True:
                code = k.populate_state(
                    self._st, territory.index, state_index, unit == "persons", int(count), CAUSES.index(cause),
                    built.populations[id(population)], stream, entering_idx, cache,
                )
                if code == k.R_DONE:
                    break
                if code == k.R_ERROR:
                    raise ValueError(
                        f"{config.file}: initial.{state.name}: cannot place {count} {unit}: households drawn "
                        "from the population mix are not eligible for this state or do not fit its capacity"
                    )
                self._handle(code)

    @staticmethod
    def _initial_cause(config: Any, entering: list[Any]) -> tuple[str, Any]:
        """Cause and population mix of a state's initial occupants: "other" and the territory's
        mix, unless every way into the state is reserved to some causes (e.g. asylum housing):
        then the first of those causes, with its inflow's mix when the territory has one."""
        allowed = [t.eligible.get("cause") for t in entering]
        if not entering or any(a is None for a in allowed):
            return "other", config.population
        causes = sorted(set().union(*allowed))
        inflow = next((f for f in config.inflows if f.cause in causes), None)
        return (inflow.cause, inflow.population) if inflow else (causes[0], config.population)

    # --- kernel plumbing ----------------------------------------------------------------------
    def _refresh_households(self) -> None:
        names = ("seed", "territory", "kind", "persons", "size_class", "needs", "regular_status", "priority", "cause",
                 "state", "entered_state", "entered_system", "supported", "housed_at", "token", "uid",
                 "mobility_offers", "visits", "offers", "queue_since", "tickets", "calls")
        self._h = dict(zip(names, k.household_arrays(self._st)))

    def _refill(self) -> None:
        a = self._a
        self._streams.refill(a["st_exp"], a["st_uni"], a["st_seed"], a["st_used"], a["st_filled"])
        self._counters[k.C_STREAM_LOW] = 0

    def _handle(self, code: int) -> None:
        """Do what the kernel returned for (other than reaching its time)."""
        if code == k.R_REFILL:
            self._refill()
        elif code == k.R_GROWN:
            self._refresh_households()
        elif code == k.R_SLIDE:
            for t, state, size_class in k.take_slides(self._st):
                for handler in self._slide_handlers.get((int(t), int(state)), ()):
                    handler(self.territories[int(t)], int(size_class))
        elif code == k.R_PYTHON:
            event = int(self._counters[k.C_PYEVENT])
            entry = self._python_events[event]
            self._python_events[event] = None
            self.time = float(self._clock[k.K_NOW])
            assert entry is not None
            function, a, b = entry
            function(a, b)
        elif code == k.R_INVARIANT:
            raise AssertionError(f"a stock exceeds its capacity or is negative at day {float(self._clock[k.K_NOW]):.3f}")
        elif code == k.R_TOO_MANY:
            raise EngineLimitError(
                f"{self.scenario.file}: more than {int(self._counters[k.C_MAX_HOUSEHOLDS]):,} households alive at once "
                "(an inflow far above the capacities?): the run stops before it takes the machine's memory"
            )

    def _next_mesa_time(self) -> float:
        events = self._event_list._events
        while events and events[0].CANCELED:
            heapq.heappop(events)
        return events[0].time if events else math.inf

    def _advance_time(self, until: float) -> None:
        """Process the kernel's and Mesa's events in time order up to ``until``, stopping on the
        way at each snapshot instant to record the stocks (:mod:`lda_sim.engine.snapshots`)."""
        while self._snapshots.next_time <= until:
            self._advance_to(self._snapshots.next_time, before_events_at_end=True)
            self._snapshots.take(self)
        self._advance_to(until)

    def _advance_to(self, until: float, *, before_events_at_end: bool = False) -> None:
        """Process the events up to ``until`` (with ``before_events_at_end``, not the Mesa events
        at ``until`` itself: the levers of that instant act after a snapshot, as after a month end)."""
        with hooks.active(self):
            while True:
                t_mesa = self._next_mesa_time()
                code = k.run_events(self._st, until, t_mesa)
                if code != k.R_DONE:
                    self._handle(code)
                    continue
                if t_mesa > until or (before_events_at_end and t_mesa >= until):
                    break
                event = self._event_list.pop_event()
                self.time = event.time
                k.set_month_from(self._st, event.time)
                event.execute()
                self._counters[k.C_EVENTS] += 1
                self._fill()
                if self._counters[k.C_CHECK] and not k.capacities_hold(self._st):
                    self._handle(k.R_INVARIANT)
        self.time = until
        self._clock[k.K_NOW] = until

    def _fill(self) -> None:
        if self._counters[k.C_PENDING] or self._counters[k.C_NEED_FILL]:
            self._counters[k.C_NEED_FILL] = 0
            if self._counters[k.C_STREAM_LOW]:
                self._refill()
            k.fill_pending(self._st)

    def check_capacities(self, on: bool = True) -> None:
        """Check after every event that no stock exceeds its capacity or is negative (slow: for
        tests); a breach raises ``AssertionError``. ``capacity_checks`` counts the checks."""
        self._counters[k.C_CHECK] = int(on)

    @property
    def capacity_checks(self) -> int:
        return int(self._counters[k.C_CHECKS])

    @property
    def events_processed(self) -> int:
        """Events processed so far (the kernel's and Mesa's)."""
        return int(self._counters[k.C_EVENTS])

    def run_months(self, months: int) -> None:
        """Run ``months`` reporting months further (to the end of a month, not past the horizon):
        ``run_for(365)`` stops a quarter of a day before the end of the twelfth month."""
        done = int(round(self.time / MONTH_DAYS))
        self.run_until(min(self.horizon, (done + int(months)) * MONTH_DAYS))

    def run_years(self, years: float) -> None:
        """Run ``years`` years further (whole reporting months: ``round(12 * years)``)."""
        self.run_months(int(round(12 * years)))

    def run(self) -> xr.Dataset:
        """Run to the scenario's horizon and return the dataset."""
        self.run_until(self.horizon)
        return self.dataset()

    def dataset(self) -> xr.Dataset:
        """The results of the months completed so far as an ``xarray.Dataset``."""
        self.recorder.events = self.events_processed
        self.recorder.months_done = int(self._counters[k.C_MONTHS_DONE])
        return self._snapshots.add_to(self.recorder.dataset(k.logs(self._st), k.spell_log(self._st)))

    # --- households ----------------------------------------------------------------------------
    def household(self, slot: int) -> Household:
        """A view of the household in row ``slot`` of the arrays."""
        return self.household_class(self, int(slot))

    def households(self, state: str | int | None = None, territory: str | int | None = None) -> list[Household]:
        """Views of the households in the system now (optionally of one state and territory), in
        the order they entered it."""
        h = self._h
        n = int(self._counters[k.C_NALLOC])
        live = h["state"][:n] >= 0
        if state is not None:
            s = self.pathway.state_index[state] if isinstance(state, str) else int(state)
            live &= h["state"][:n] == s
        if territory is not None:
            ti = [t.name for t in self.territories].index(territory) if isinstance(territory, str) else int(territory)
            live &= h["territory"][:n] == ti
        slots = np.flatnonzero(live)
        slots = slots[np.argsort(h["uid"][slots], kind="stable")]
        return [self.household(int(s)) for s in slots]

    def custom_key(self, rule: int, slot: int, target: int) -> tuple[float, float, float, float]:
        """Sort key of a household by a Python priority rule, as up to four numbers."""
        key = self._custom_rules[rule - k.RULE_CUSTOM](self.household(slot), target)
        parts = key if isinstance(key, tuple) else (key,)
        if len(parts) > 4:
            raise ValueError(f"priority rule {self._custom_rules[rule - k.RULE_CUSTOM].__name__!r} returned {len(parts)} values: at most 4")
        try:
            values = [float(p) for p in parts] + [0.0] * (4 - len(parts))
        except (TypeError, ValueError):
            raise TypeError(f"priority rule {self._custom_rules[rule - k.RULE_CUSTOM].__name__!r} must return a number or a tuple of numbers, got {key!r}") from None
        return values[0], values[1], values[2], values[3]

    def hook_accepts_offer(self, slot: int, transition: int, refusal_probability: float) -> bool:
        return self.household(slot).accepts_offer(self.pathway.transitions[transition], refusal_probability)

    def hook_accepts_move(self, slot: int, destination: int, probability: float) -> bool:
        return self.household(slot).accepts_move(self.territories[destination], probability)

    # --- trajectories ------------------------------------------------------------------------------
    def trajectory_log(self) -> tuple[np.ndarray, np.ndarray]:
        """Entries and moves so far: integer rows (household id, territory, transition or -1 for
        an entry, state entered, then at entries kind, persons, size class, needs, status,
        priority, cause) and float rows (time in days, entry time of the state entered)."""
        if not self.trajectories:
            raise ValueError("the model was built without trajectories: use HousingModel(scenario, trajectories=True)")
        logs = k.logs(self._st)
        return logs[6], logs[7]

    @property
    def moves(self) -> np.ndarray | None:
        """With ``trajectories=True``, each entry and move as a row (household id, territory,
        transition or -1 for an entry, state entered, time in days); see lda_sim.dataset.trajectories."""
        if not self.trajectories:
            return None
        ints, floats = self.trajectory_log()
        return np.column_stack([ints[:, :4].astype(np.float64), floats[:, 0]])

    # --- levers, called by policies --------------------------------------------------------------
    def schedule(self, time: float, function: Callable[[Any, Any], None], a: Any, b: Any) -> None:
        """Schedule ``function(a, b)`` at ``time`` on the kernel's event queue (in the order of
        (time, scheduling order) with the model's own events)."""
        self._python_events.append((function, a, b))
        k.schedule_python(self._st, float(time), len(self._python_events) - 1)

    @property
    def _populating(self) -> bool:
        return bool(self._counters[k.C_POPULATING])

    def record_delivery(self, territory: TerritoryView, state: int, amount: int) -> None:
        """Count ``amount`` new units of ``state`` delivered now by a production policy (their
        one-off cost is the territory's ``production_costs``)."""
        self.delivered[territory.index, state, int(self._counters[k.C_MONTH])] += int(amount)

    def add_capacity(
        self, territory: TerritoryView, state: int, amount: int, size_class: int | None = None, *, first_letting_share: float | None = None
    ) -> None:
        """Open ``amount`` places (shelter) or units of ``size_class`` (housing) now.

        For a turnover-supplied state the stock grows (more lettings from then on) and each new
        unit is let once at delivery, a share ``first_letting_share`` (default: the state's share)
        going to homeless households.
        """
        t = territory.index
        c = 0 if size_class is None else int(size_class)
        with hooks.active(self):
            if self._counters[k.C_STREAM_LOW]:
                self._refill()
            k.add_capacity(self._st, t, state, int(amount), c)
            if self.pathway.states[state].capacity_kind == "turnover":
                carry = self._a["sup_carry"]
                share = float(self._a["sup_share"][t, state]) if first_letting_share is None else first_letting_share
                carry[t, state] += amount * share
                while carry[t, state] >= 1 - 1e-9:
                    carry[t, state] -= 1
                    if self._counters[k.C_STREAM_LOW]:
                        self._refill()
                    k.let(self._st, t, state, c)
            if not self._populating:
                k.fill_pending(self._st)

    def remove_capacity(self, territory: TerritoryView, state: int, amount: int, size_class: int | None = None) -> None:
        """Close ``amount`` places or units: free ones now, occupied ones as their occupants leave."""
        if self._counters[k.C_STREAM_LOW]:
            self._refill()
        k.remove_capacity(self._st, territory.index, state, int(amount), 0 if size_class is None else int(size_class))

    def set_prevention(
        self, territory: TerritoryView, cause: str, *, prevented: float | None = None, diverted: float | None = None, divert_to: int | None = None
    ) -> None:
        """Share of a cause's arrivals prevented, and share diverted straight into ``divert_to``."""
        t, c = territory.index, CAUSES.index(cause)
        if not self._a["has_cause"][t, c]:
            return  # the territory has no inflow of this cause
        if prevented is not None:
            self._a["prevented"][t, c] = prevented
        if diverted is not None:
            self._a["div_share"][t, c] = diverted
            if divert_to is not None:
                self._a["div_to"][t, c] = divert_to

    def set_support(self, territory: TerritoryView, slots: int, states: list[int], reduction: float, duration: Any = None) -> None:
        """Support slots for tenants of ``states``, given at move-in while slots are free; supported
        tenants' hazards to the street are multiplied by ``1 - reduction`` for ``duration`` (a stay
        law; None: the whole tenancy), after which the slot goes to the next tenant who moves in."""
        t = territory.index
        self._a["support_law"][t] = -1 if duration is None else self._law(duration)
        self._a["support_slots"][t] = slots
        self._a["support_states"][t, :] = False
        self._a["support_states"][t, states] = True
        self._a["support_reduction"][t] = reduction

    def set_share_to_homeless(self, territory: TerritoryView, state: int, share: float) -> None:
        """Change the share of a stock's lettings that go to homeless households."""
        if self._counters[k.C_STREAM_LOW]:
            self._refill()
        k.set_share_to_homeless(self._st, territory.index, state, float(share))

    def set_inflow_rate(self, territory: TerritoryView, inflow: int, households_per_year: float) -> None:
        """Change the rate of one of a territory's inflows (its next arrival is drawn anew only at
        the next arrival: the change applies from then on)."""
        self._a["inf_rate"][territory.index, inflow] = households_per_year

    def set_priority_rule(self, territory: TerritoryView, state: int, rule: Any) -> None:
        """Change the priority rule of a waiting list; the households on it are re-sorted."""
        with hooks.active(self):
            k.set_priority_rule(self._st, territory.index, state, self._rule_code(rule))

    def set_transitions(self, territory: TerritoryView, *, closed: list[int], ready_after: dict[int, Any]) -> None:
        """Close queue transitions and set readiness delays; households already waiting along a
        closed transition leave that waiting list."""
        t = territory.index
        self._a["e_closed"][t, :] = False
        self._a["e_closed"][t, closed] = True
        if ready_after:
            for index, law in ready_after.items():
                self._a["e_ready"][t, index] = self._law(law)
        for index in closed:
            k.close_transition(self._st, t, index)

    def _law(self, law: Any) -> int:
        """Index of a stay law in the kernel's law table (added, and the table set anew, if new)."""
        n = len(self._laws.laws)
        index = self._laws.index(law)
        if index >= n:
            arrays = self._laws.arrays()
            self._a.update(arrays)
            k.set_laws(self._st, *(arrays[name] for name in LAW_FIELDS))
        return index

    def on_slide(self, territory: TerritoryView, state: int, handler: Callable[[TerritoryView, int], None]) -> None:
        """Call ``handler(territory, size_class)`` whenever a lease slides out of ``state`` (a stay
        transition into housing), e.g. to take the unit out of a scheme."""
        self._slide_handlers.setdefault((territory.index, state), []).append(handler)
        self._a["slide_flag"][territory.index, state] = True

    def policy_rng(self, policy: Any, territory: TerritoryView) -> Any:
        """A numpy generator for a policy's own draws in a territory (keyed by names)."""
        from . import streams

        index = self.policies.index(policy)
        return streams.process_rng(self.seed, territory.name, "policy", str(index), policy.type_name)

    def __iter__(self) -> Iterator[Household]:  # pragma: no cover - convenience
        return iter(self.households())
