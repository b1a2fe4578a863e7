"""The housing model: households moving through the pathway graphs of territories.

Time is continuous, in days, on ``model.time``. The model is event-driven: arrivals, ends of
stays, hazards, readiness, lettings and month-end snapshots are events; a vacancy is filled at the
moment it opens. The cost of a run therefore grows with the number of events, not with
households x days.

Household events use a plain ``heapq`` queue inside the model rather than Mesa's event list: a
benchmark (``benchmarks/bench_events.py``) measured Mesa 3.5's ``schedule_event`` at about 23 µs
per event against about 3.5 µs for the heap, and national runs have millions of events. Events
scheduled on the model with Mesa's ``schedule_event`` (e.g. by a policy) still run, merged in time
order with the model's own: ``run_for`` / ``run_until`` drive both.
"""

from __future__ import annotations

import gc
import heapq
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Callable

import mesa
import xarray as xr

from . import streams
from .allocation import resolve_rule
from .config import Scenario
from .households import Household
from .pathway import Transition
from .recorder import MONTH_DAYS, Recorder
from .territory import DAYS_PER_YEAR, MAX_PERSONS_BIN, Routes, Territory

_MAX_REJECTIONS = 10_000
_uniform = streams.uniform
_STAY_TAG = streams.tag(streams.STAY)
_DESTINATION_TAG = streams.tag(streams.DESTINATION)
_HAZARD_TAG = streams.tag(streams.HAZARD)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while households are created and moved.

    Households are freed by reference counting; the collector's repeated scans of hundreds of
    thousands of live objects cost a quarter of the run time and half of a national set-up
    (measured). It resumes, and collects, after.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


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
        #: With ``trajectories=True``, every entry and move as (household id, territory index,
        #: transition index or -1 for an entry, state entered, time in days); see lda_sim.trajectories.
        self.moves: list[tuple[int, int, int, int, float]] | None = [] if trajectories else None
        self.households_seen: dict[int, Household] | None = {} if trajectories else None
        self.horizon = scenario.months * MONTH_DAYS
        self.recorder = Recorder(scenario, seed)
        self.events_processed = 0
        self._now = 0.0  # model.time is a Mesa observable, costly to read in the hot path; this mirrors it
        self._month = 0  # month index of the event being processed
        self._moving = -1  # transition being taken, for trajectories
        # the model's events: a calendar queue, a heap for the current day and a list per later day
        self._today: list[tuple[float, int, Callable[[Any, Any], None], Any, Any]] = []
        self._day = -1  # the day whose events are in self._today
        self._later: dict[int, list[tuple[float, int, Callable[[Any, Any], None], Any, Any]]] = {}
        self._later_days: list[int] = []  # heap of the keys of self._later
        self._seq = 0
        self._pending: list[tuple[Territory, int]] = []  # states with a possible vacancy to fill
        rules = self._priority_rules()
        self.territories = [Territory(i, t, self.pathway, seed, rules) for i, t in enumerate(scenario.territories)]
        self._exit_states = {s.index for s in self.pathway.states if s.kind == "exit"}
        self._housing_states = {s.index for s in self.pathway.states if s.kind == "housing"}
        self._edges = {(t.origin.index, t.target.index): t for t in self.pathway.transitions}
        self.policies = list(scenario.policies)
        self.mobility = scenario.mobility
        self._links: list[list[tuple[int, float, float]]] = [[] for _ in self.territories]
        self._exchange: list[tuple[float, streams.BlockStream | None]] = [(0.0, None) for _ in self.territories]
        if self.mobility is not None:
            self._links = self.mobility.neighbours([t.name for t in self.territories])
            for t in self.territories:
                share = self.mobility.offer_share[t.name]
                if share > 0 and self._links[t.index]:
                    self._exchange[t.index] = (share, streams.BlockStream(streams.process_rng(seed, t.name, "mobility")))
        self._populating = True
        for policy in self.policies:
            policy.install(self)
        with _gc_paused():
            for territory in self.territories:
                self._populate(territory)
            self._populating = False
            self._fill_pending()
        for territory in self.territories:
            for i, inflow in enumerate(territory.config.inflows):
                self._schedule_arrival(territory, i)
            for state in territory.supplies:
                self._schedule_letting(territory, state)
        self.schedule(MONTH_DAYS, self._month_end, 0, None)

    # --- set-up -------------------------------------------------------------------------------
    def _priority_rules(self) -> dict[int, Any]:
        alloc = self.scenario.allocation
        default = resolve_rule(alloc.get("rule", "fcfs"))
        per_state = {name: resolve_rule(rule) for name, rule in alloc.get("rules", {}).items()}
        return {s.index: per_state.get(s.name, default) for s in self.pathway.states}

    def _new_household(self, territory: Territory, seed: int, cause: str, population: Any) -> Household:
        return self.household_class(self, territory, seed, cause, population, self.pathway, self._now)

    def _populate(self, territory: Territory) -> None:
        """Create the initial population of each state, with elapsed stays drawn at equilibrium.

        Households are drawn from the territory's population mix, keeping those eligible to enter
        the state and that fit its capacity. A shelter given in persons may end a few persons short
        when no drawn household fits the last places exactly.
        """
        config = territory.config
        names = self.pathway.size_class_names
        for state_index, (unit, count) in config.initial.items():
            state = self.pathway.states[state_index]
            rng = streams.BlockStream(streams.process_rng(self.seed, config.name, "initial", state.name))
            entering = [t for t in self.pathway.transitions if t.target.index == state_index]
            cause, population = self._initial_cause(config, entering)
            eligibility: dict[int, bool] = {}  # by household profile
            placed = rejections = 0
            while placed < count:
                _, _, hseed = rng.next()
                h = self._new_household(territory, hseed, cause, population)
                eligible = eligibility.get(h.profile_id)
                if eligible is None:
                    eligible = eligibility[h.profile_id] = not state.capacitated or any(h.is_eligible(t, names) for t in entering)
                fits = eligible and territory.has_room(state_index, h) and (unit == "households" or placed + h.persons <= count)
                if not fits:
                    h.remove()
                    rejections += 1
                    if rejections > _MAX_REJECTIONS:
                        if placed:
                            break
                        raise ValueError(
                            f"{config.file}: initial.{state.name}: cannot place {count} {unit}: households drawn "
                            "from the population mix are not eligible for this state or do not fit its capacity"
                        )
                    continue
                rejections = 0
                placed += h.persons if unit == "persons" else 1
                self.recorder.initial[territory.index, state_index] += 1
                self.recorder.initial_persons[territory.index, state_index] += h.persons
                remaining, elapsed = self._initial_stay(territory, state_index, h)
                self._enter(h, state_index, stay_days=remaining, elapsed=elapsed)

    @staticmethod
    def _initial_cause(config: Any, entering: list[Transition]) -> tuple[str, Any]:
        """Cause and population mix of a state's initial occupants: "other" and the territory's
        mix, unless every way into the state is reserved to some causes (e.g. asylum housing):
        then the first of those causes, with its inflow's mix when the territory has one."""
        allowed = [t.eligible.get("cause") for t in entering]
        if not entering or any(a is None for a in allowed):
            return "other", config.population
        causes = sorted(set().union(*allowed))
        inflow = next((f for f in config.inflows if f.cause in causes), None)
        return (inflow.cause, inflow.population) if inflow else (causes[0], config.population)

    def _initial_stay(self, territory: Territory, state: int, h: Household) -> tuple[float | None, float]:
        """Remaining stay and elapsed time of a household already in ``state`` at the start.

        At equilibrium the stay in progress is length-biased and the elapsed part uniform on it.
        """
        law = territory.stays[state]
        if law is None:
            return None, 0.0
        chosen = law.sample_length_biased(h.uniform(streams.tag(streams.ELAPSED, state, 0)), h.uniform(streams.tag(streams.ELAPSED, state, 1)))
        elapsed = chosen * h.uniform(streams.tag(streams.ELAPSED, state, 2))
        return chosen - elapsed, elapsed

    # --- the event queue ------------------------------------------------------------------------
    def schedule(self, time: float, function: Callable[[Any, Any], None], a: Any, b: Any) -> None:
        """Schedule ``function(a, b)`` at ``time`` on the model's own event queue.

        The queue is a calendar: events of the current day are in a heap, later ones in a list per
        day, heapified when their day comes. With a million pending events (a national run) this
        halves the cost of a push and a pop against one big heap (``benchmarks/bench_events.py``).
        Events are processed in the order of (time, scheduling order), exactly as with one heap.
        """
        self._seq += 1
        day = int(time)
        if day <= self._day:
            heapq.heappush(self._today, (time, self._seq, function, a, b))
        else:
            bucket = self._later.get(day)
            if bucket is None:
                self._later[day] = [(time, self._seq, function, a, b)]
                heapq.heappush(self._later_days, day)
            else:
                bucket.append((time, self._seq, function, a, b))

    def _next_day(self) -> bool:
        """Load the next day with events into the current-day heap; False when none is left."""
        if not self._later_days:
            return False
        self._day = heapq.heappop(self._later_days)
        self._today = self._later.pop(self._day)
        heapq.heapify(self._today)
        return True

    def _next_mesa_time(self) -> float:
        events = self._event_list._events
        while events and events[0].CANCELED:
            heapq.heappop(events)
        return events[0].time if events else math.inf

    def _advance_time(self, until: float) -> None:
        """Process the model's and Mesa's events in time order up to ``until`` (the cyclic
        garbage collector paused, see :func:`_gc_paused`)."""
        with _gc_paused():
            self._process_events(until)

    def _process_events(self, until: float) -> None:
        queue = self._today
        mesa_events = self._event_list._events
        pop = heapq.heappop
        month_of = self.recorder.month_of
        month_end = (self._month + 1) * MONTH_DAYS  # the month index changes only past this time
        processed = 0
        while True:
            if not queue and self._next_day():
                queue = self._today
            t_own = queue[0][0] if queue else math.inf
            t_mesa = self._next_mesa_time() if mesa_events else math.inf
            if t_mesa < t_own:
                if t_mesa > until:
                    break
                event = self._event_list.pop_event()
                self.time = self._now = event.time
                self._month = month_of(event.time)
                month_end = (self._month + 1) * MONTH_DAYS
                event.execute()
            else:
                if t_own > until:
                    break
                time, _, function, a, b = pop(queue)
                self.time = self._now = time
                if time >= month_end:
                    self._month = month_of(time)
                    month_end = (self._month + 1) * MONTH_DAYS
                function(a, b)
            processed += 1
            if self._pending:
                self._fill_pending()
        self.events_processed += processed
        self.time = self._now = until

    def run(self) -> xr.Dataset:
        """Run to the scenario's horizon and return the dataset."""
        self.run_until(self.horizon)
        return self.dataset()

    def dataset(self) -> xr.Dataset:
        """The results of the months completed so far as an ``xarray.Dataset``."""
        self.recorder.events = self.events_processed
        return self.recorder.dataset()

    def _log(self, h: Household, state: int, now: float) -> None:
        """Record an entry (no transition) or a move for trajectories."""
        self.moves.append((h.unique_id, h.territory.index, self._moving, state, now))
        self._moving = -1
        self.households_seen.setdefault(h.unique_id, h)

    # --- levers, called by policies --------------------------------------------------------------
    def add_capacity(
        self, territory: Territory, state: int, amount: int, size_class: int | None = None, *, first_letting_share: float | None = None
    ) -> None:
        """Open ``amount`` places (shelter) or units of ``size_class`` (housing) now.

        For a turnover-supplied state the stock grows (more lettings from then on) and each new
        unit is let once at delivery, a share ``first_letting_share`` (default: the state's share)
        going to homeless households.
        """
        territory.change_capacity(state, amount, size_class, self._now)
        if territory.capacity_kind[state] == "turnover":
            self._schedule_letting(territory, state)
            share = territory.share_to_homeless[state] if first_letting_share is None else first_letting_share
            territory.first_lettings_carry[state] += amount * share
            while territory.first_lettings_carry[state] >= 1 - 1e-9:
                territory.first_lettings_carry[state] -= 1
                self._let(territory, state, size_class if size_class is not None else 0)
        elif territory.waiting[state].count:
            self._pending.append((territory, state))
        if not self._populating:
            self._fill_pending()

    def remove_capacity(self, territory: Territory, state: int, amount: int, size_class: int | None = None) -> None:
        """Close ``amount`` places or units: free ones now, occupied ones as their occupants leave."""
        territory.change_capacity(state, -amount, size_class, self._now)
        if territory.capacity_kind[state] == "turnover":
            self._schedule_letting(territory, state)

    def set_prevention(
        self, territory: Territory, cause: str, *, prevented: float | None = None, diverted: float | None = None, divert_to: int | None = None
    ) -> None:
        """Share of a cause's arrivals prevented, and share diverted straight into ``divert_to``."""
        if cause not in territory.prevented:
            return  # the territory has no inflow of this cause
        if prevented is not None:
            territory.prevented[cause] = prevented
        if diverted is not None:
            target = divert_to if divert_to is not None else territory.diverted[cause][1]
            territory.diverted[cause] = (diverted, target)

    def set_support(self, territory: Territory, slots: int, states: list[int], reduction: float) -> None:
        """Support slots for tenants of ``states``; supported tenants' hazards to the street are
        multiplied by ``1 - reduction`` (from their next move in)."""
        territory.support_slots = slots
        territory.support_states = frozenset(states)
        territory.support_reduction = reduction

    def set_share_to_homeless(self, territory: Territory, state: int, share: float) -> None:
        """Change the share of a stock's lettings that go to homeless households."""
        territory.share_to_homeless[state] = share
        self._schedule_letting(territory, state)

    def set_priority_rule(self, territory: Territory, state: int, rule: Any) -> None:
        """Change the priority rule of a waiting list; the households on it are re-sorted."""
        territory.rules[state] = rule
        waiting = territory.waiting[state]
        for h in waiting.households():
            waiting.discard(h)
            waiting.add(h, rule(h, state), territory.fit_bin(state, h))

    def set_transitions(self, territory: Territory, *, closed: list[int], ready_after: dict[int, Any]) -> None:
        """Close queue transitions and set readiness delays; households already waiting along a
        closed transition leave that waiting list."""
        territory.closed = set(closed)
        for index, law in ready_after.items():
            territory.edges[index] = replace(territory.edges[index], ready_after=law)
        territory.reset_routes()
        for index in closed:
            t = self.pathway.transitions[index]
            waiting = territory.waiting[t.target.index]
            for h in waiting.households():
                if h.state == t.origin.index:
                    waiting.discard(h)
                    h.queue_since.pop(t.target.index, None)

    def on_slide(self, territory: Territory, state: int, handler: Callable[[Territory, int], None]) -> None:
        """Call ``handler(territory, size_class)`` whenever a lease slides out of ``state`` (a stay
        transition into housing), e.g. to take the unit out of a scheme."""
        territory.slide_handlers.setdefault(state, []).append(handler)

    def policy_rng(self, policy: Any, territory: Territory) -> Any:
        """A numpy generator for a policy's own draws in a territory (keyed by names)."""
        index = self.policies.index(policy)
        return streams.process_rng(self.seed, territory.name, "policy", str(index), policy.type_name)

    # --- events -----------------------------------------------------------------------------------
    def _schedule_arrival(self, territory: Territory, inflow: int) -> None:
        rate = territory.config.inflows[inflow].households_per_year / DAYS_PER_YEAR
        if rate <= 0:
            return
        gap, _, _ = territory.arrivals[inflow].next()
        self.schedule(self._now + gap / rate, self._arrival, territory, inflow)

    def _arrival(self, territory: Territory, inflow: int) -> None:
        """A household becomes homeless, unless prevention keeps it housed or diverts it to housing.

        Prevention thins the arrival stream with the stream's own uniform, so the households that
        still arrive are the same ones in every scenario (common random numbers).
        """
        spec = territory.config.inflows[inflow]
        _, u, hseed = territory.arrivals[inflow].next()
        self._schedule_arrival(territory, inflow)
        prevented = territory.prevented[spec.cause]
        if u < prevented:
            self.recorder.record_prevented(territory.index, spec.cause, self._month)
            return
        share, divert_to = territory.diverted[spec.cause]
        h = self._new_household(territory, hseed, spec.cause, spec.population)
        self.recorder.record_entry(territory.index, spec.cause, h.persons, self._month)
        if u < prevented + share:
            self.recorder.record_diverted(territory.index, spec.cause, self._month)
            self._enter(h, divert_to)
        else:
            self._enter(h, spec.entry)

    def _schedule_letting(self, territory: Territory, state: int) -> None:
        """Schedule the next letting of a turnover-supplied state (Poisson, memoryless, so a rate
        change simply draws the next one anew)."""
        territory.letting_token[state] += 1
        rate = territory.letting_rate(state)
        if rate <= 0:
            return
        gap, _, _ = territory.lettings[state].next()
        self.schedule(self._now + gap / rate, self._letting, territory, (state, territory.letting_token[state]))

    def _letting(self, territory: Territory, payload: tuple[int, int]) -> None:
        """A unit of a turnover-supplied stock is let to a waiting household, if one fits."""
        state, token = payload
        if token != territory.letting_token[state]:
            return  # superseded by a rate change
        _, u, _ = territory.lettings[state].next()
        self._let(territory, state, territory.supplies[state].size_mix.pick(u))
        self._schedule_letting(territory, state)

    def _let(self, territory: Territory, state: int, size_class: int) -> None:
        share, stream = self._exchange[territory.index]
        if stream is not None and state in self.mobility.states and self._offer_elsewhere(territory, state, size_class, share, stream):
            used = True
        else:
            used = self._offer_until_accepted(territory, state, (size_class,))
        self.recorder.record_letting(territory.index, state, used, self._month)

    def _offer_elsewhere(self, territory: Territory, state: int, size_class: int, share: float, stream: streams.BlockStream) -> bool:
        """Maybe offer a letting of ``territory`` to a household waiting in a linked territory.

        With probability ``share`` the letting goes on the exchange: a linked territory is drawn
        with weight (households waiting there for ``state``) x (acceptance at that distance), and
        its first household in line for this size of home gets the offer. Returns whether a
        household accepted (and moved); otherwise the letting stays with ``territory``.
        """
        _, u, _ = stream.next()
        if u >= share:
            return False
        candidates, total = [], 0.0
        for j, distance, probability in self._links[territory.index]:
            waiting = self.territories[j].waiting[state].count
            if waiting and probability > 0:
                total += waiting * probability
                candidates.append((total, j, probability))
        if not candidates:
            return False
        pick = (u / share) * total  # u is uniform on [0, share) here: reuse it
        j, probability = next(((j, p) for c, j, p in candidates if pick < c), candidates[-1][1:])
        h = self.territories[j].waiting[state].best((size_class,))
        if h is None:
            return False
        accepted = h.accepts_move(territory, probability)
        h.mobility_offers += 1
        self.recorder.record_mobility_offer(territory.index, accepted, self._month)
        if not accepted:
            return False
        self.recorder.record_wait(territory.index, state, self._now - h.queue_since[state], self._month)
        self._move(h, self._edges[h.state, state], destination=territory)
        return True

    def _depart(self, h: Household, payload: tuple[int, Transition]) -> None:
        token, transition = payload
        if h.token == token:
            self._move(h, transition)

    def _ready(self, h: Household, payload: tuple[int, Transition]) -> None:
        token, transition = payload
        if h.token == token:
            self._join(h, transition, self._now)

    def _month_end(self, month: int, _: Any) -> None:
        rec = self.recorder
        rec.months_done = month + 1
        for territory in self.territories:
            ti = territory.index
            rec.occupancy[ti, :, month] = territory.households
            rec.persons[ti, :, month] = territory.persons
            household_days, person_days, capacity_days = territory.integrals(self._now)
            rec.occupancy_mean[ti, :, month] = [d / MONTH_DAYS for d in household_days]
            for s, (basis, per_day) in territory.config.costs.items():
                days = {"persons": person_days, "households": household_days, "capacity": capacity_days}[basis][s]
                rec.cost[ti, s, month] = days * per_day
            rec.support_slots[ti, month] = territory.support_slots
            rec.support_used[ti, month] = territory.support_used
            rec.support_cost[ti, month] = territory.support_slots * MONTH_DAYS * territory.config.support_cost_per_slot_day
            for s in range(len(territory.households)):
                rec.capacity[ti, s, month] = territory.capacity(s)
            for s, waiting in territory.waiting.items():
                rec.queue_length[ti, s, month] = len(waiting)
        if month + 1 < rec.months:
            self.schedule((month + 2) * MONTH_DAYS, self._month_end, month + 1, None)

    # --- moves --------------------------------------------------------------------------------------
    def _enter(
        self, h: Household, state: int, *, stay_days: float | None = None, elapsed: float = 0.0, routes: Routes | None = None
    ) -> None:
        """Put ``h`` in ``state``: count it, schedule its departure, put it on waiting lists."""
        territory = h.territory
        now = self._now
        h.state = state
        h.entered_state = now - elapsed
        h.token += 1
        visit = h.visits.get(state, 0) + 1
        h.visits[state] = visit
        territory.occupy(state, h, +1, now)
        if self.moves is not None:
            self._log(h, state, now)
        if routes is None:
            routes = territory.routes(state, h)
        if state in self._housing_states:
            if h.housed_at is None and not self._populating:
                h.housed_at = now
                self.recorder.record_time_to_housing(territory.index, now - h.entered_system, self._month)
            if state in territory.support_states and territory.support_used < territory.support_slots:
                h.supported = True
                territory.support_used += 1
        # departure: the earliest of the end of the stay and the hazards
        best_time, best_transition = math.inf, None
        law = territory.stays[state]
        if law is not None:
            if stay_days is None:
                stay_days = law.sample(_uniform(h.seed, _STAY_TAG | (state << 32) | visit))
            edges, cumulative = territory.stay_edges[state]
            u = _uniform(h.seed, _DESTINATION_TAG | (state << 32) | visit) * cumulative[-1]
            best_transition = edges[-1]
            for t, c in zip(edges, cumulative):
                if u < c:
                    best_transition = t
                    break
            best_time = stay_days
        for t, rate in routes.hazards:
            if h.supported and t.target.kind == "street":
                rate *= 1.0 - territory.support_reduction
                if rate <= 0:
                    continue
            d = -math.log(_uniform(h.seed, _HAZARD_TAG | (t.index << 32) | visit)) / rate
            if d < best_time:
                best_time, best_transition = d, t
        if best_transition is not None:
            self.schedule(now + best_time, self._depart, h, (h.token, best_transition))
        # waiting lists
        edges = territory.edges
        for t, _ in routes.queues:
            target = t.target.index
            params = edges[t.index]
            if params.ready_after is not None and target not in h.queue_since:
                delay = params.ready_after.sample(h.uniform(streams.tag(streams.READY, t.index, visit)))
                self.schedule(now + delay, self._ready, h, (h.token, t))
            else:
                # the initial population's past waits are not observed: they count from the start
                self._join(h, t, h.entered_state if h.entered_state > 0.0 else 0.0)

    def _join(self, h: Household, transition: Transition, since: float) -> None:
        """Put ``h`` on the waiting list of ``transition``'s target; a wait already begun goes on."""
        territory = h.territory
        target = transition.target.index
        queue_since = h.queue_since
        if target not in queue_since:
            queue_since[target] = since
        kind = territory.capacity_kind[target]
        if kind == "shelter":
            fit = (h.persons if h.persons < MAX_PERSONS_BIN else MAX_PERSONS_BIN) - 1
            room = territory.persons[target] + h.persons <= territory.places[target]
        else:
            fit = h.size_class
            room = kind == "units" and territory.used_units[target][fit] < territory.units[target][fit]
        territory.waiting[target].add(h, territory.rules[target](h, target), fit)
        if room:
            self._pending.append((territory, target))

    def _move(self, h: Household, transition: Transition, destination: Territory | None = None) -> None:
        """Move ``h`` along ``transition`` now; with ``destination``, into that other territory."""
        territory = h.territory
        origin = h.state
        target = transition.target.index
        now = self._now
        territory.occupy(origin, h, -1, now)
        if h.supported:
            h.supported = False
            territory.support_used -= 1
        if territory.closing_places[origin] or (territory.closing_units[origin] and territory.closing_units[origin][h.size_class]):
            territory.apply_closures(origin, h.size_class, now)
        if origin in territory.slide_handlers and transition.mode == "stay" and transition.target.kind == "housing":
            for handler in territory.slide_handlers[origin]:
                handler(territory, h.size_class)
        if h.tickets:
            waiting = territory.waiting
            for state in list(h.tickets):
                waiting[state].discard(h)
        if destination is None:
            self.recorder.record_move(territory.index, transition.index, h.persons, self._month)
        else:
            self.recorder.record_migration(territory.index, destination.index, origin, target, h.persons, self._month)
            h.territory = destination
            h.profile_id = destination.profile_id(h)
            h.queue_since.clear()  # its waits in the territory it leaves are over
        if self.moves is not None:
            self._moving = transition.index
        if target in self._exit_states:
            if self.moves is not None:
                self._log(h, target, now)
            h.state = target
            h.token += 1
            h.queue_since.clear()
            h.remove()
        else:
            # demand carries over to the new state where it can still wait for the same target
            routes = h.territory.routes(target, h)
            kept = routes.queue_targets
            for state in [s for s in h.queue_since if s not in kept or s == target]:
                del h.queue_since[state]
            self._enter(h, target, routes=routes)
        if territory.capacity_kind[origin] in ("shelter", "units") and territory.waiting[origin].count:
            self._pending.append((territory, origin))

    # --- allocation -----------------------------------------------------------------------------------
    def _fill_pending(self) -> None:
        pending = self._pending
        while pending:
            territory, state = pending.pop()
            kind = territory.capacity_kind[state]
            if kind == "shelter":
                if territory.free_places(state) > 0:
                    self._offer_until_accepted(territory, state, (), repeat=True)
            elif kind == "units":
                units, used = territory.units[state], territory.used_units[state]
                for c in range(len(units)):
                    if used[c] < units[c]:
                        self._offer_until_accepted(territory, state, (c,), repeat=True)

    def _offer_until_accepted(self, territory: Territory, state: int, bins: Any, repeat: bool = False) -> bool:
        """Offer a vacancy of ``state`` to waiting households in priority order, within ``bins``.

        Refusers keep their place on the list. With ``repeat``, go on while room remains (shelter
        places, units of a size class). Returns whether any household was placed.
        """
        waiting = territory.waiting[state]
        refused: list[tuple[Household, Any, int]] = []
        placed = False
        shelter = territory.capacity_kind[state] == "shelter"
        edges = self._edges
        edge_params = territory.config.edges
        recorder = self.recorder
        ti, month = territory.index, self._month
        while True:
            if shelter:
                free = territory.persons[state] - territory.places[state]
                free = -free
                if free <= 0:
                    break
                bins = range(free if free < MAX_PERSONS_BIN else MAX_PERSONS_BIN)
            h = waiting.best(bins)
            if h is None:
                break
            transition = edges[h.state, state]
            accepted = h.accepts_offer(transition, edge_params[transition.index].refusal_probability)
            h.offers[state] = h.offers.get(state, 0) + 1
            recorder.record_offer(ti, state, accepted, month)
            if accepted:
                recorder.record_wait(ti, state, self._now - h.queue_since[state], month)
                self._move(h, transition)
                placed = True
                if not repeat:
                    break
                if not shelter:
                    c = bins[0]
                    if territory.used_units[state][c] >= territory.units[state][c]:
                        break
            else:
                key = territory.rules[state](h, state)
                bin_ = territory.fit_bin(state, h)
                waiting.discard(h)
                refused.append((h, key, bin_))
        for h, key, bin_ in refused:
            waiting.add(h, key, bin_)
        return placed
