"""The compiled event loop: households, territories and waiting lists as arrays, under numba.

Every function here takes the kernel state (:mod:`lda_sim.engine.state`) and is compiled once,
cached on disk (``cache=True``). The semantics are those of the model described in
:mod:`lda_sim.engine.model`: continuous time in days, events processed in the order of (time,
scheduling order), a vacancy filled when it opens, counter-based household draws.

The loop (:func:`run_events`) returns to Python when it reaches the time asked, when a Python
event is due (a policy's own event), when a random stream needs its next block, when the
household arrays grew, or when a Python callback must run (a lease sliding out of a scheme).
Python hooks (custom priority rules, household classes that decide offers themselves) are
called from object-mode blocks, only in the scenarios that use them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import objmode

from ..config.timebase import DAYS_PER_YEAR, MONTH_DAYS
from . import hooks
from .compiled import kernel_function
from .state import HEAP_COLUMNS

# --- indices of the scalar arrays -----------------------------------------------------------
K_NOW, K_MONTH_END, K_LAPSE = 0, 1, 2
C_MONTH, C_SEQ, C_EVENTS, C_UID, C_POPULATING, C_MOVING, C_TRAJECTORIES, C_MONTHS = 0, 1, 2, 3, 4, 5, 6, 7
C_MONTHS_DONE, C_PENDING, C_NFREE, C_NALLOC, C_NEV, C_NWAIT, C_NTTH, C_NMV = 8, 9, 10, 11, 12, 13, 14, 15
C_NSLIDE, C_PYEVENT, C_HOOK_OFFER, C_HOOK_MOVE, C_NEED_FILL, C_STREAM_LOW, C_GROWN, C_PLACED = range(16, 24)
C_REJECTIONS, C_MAX_HOUSEHOLDS, C_POOL, C_TODAY, C_DAY, C_FREE_EV, C_NREC = 24, 25, 26, 27, 28, 29, 30
C_CHECK, C_CHECKS, C_LAPSE_T, C_LAPSE_SEQ = 31, 32, 33, 34
N_COUNTERS = 40

# --- codes ------------------------------------------------------------------------------------
CAP_NONE, CAP_SHELTER, CAP_UNITS, CAP_TURNOVER = 0, 1, 2, 3
KIND_STREET, KIND_SHELTER, KIND_HOUSING, KIND_EXIT = 0, 1, 2, 3
MODE_QUEUE, MODE_STAY, MODE_HAZARD = 0, 1, 2
EV_ARRIVAL, EV_LETTING, EV_DEPART, EV_READY, EV_MONTH_END, EV_PYTHON = 0, 1, 2, 3, 4, 5
# EV_CALL_END is never scheduled: it is the kind run_events gives a lapse taken from the rings
# of 115 requests (lapse_push), so that it is dispatched and counted like the queue's events.
EV_CALL, EV_CALL_END, EV_OUTREACH, EV_REGULARISE, EV_SUPPORT_END = 6, 7, 8, 9, 10
#: Columns of an event record's integers (``ev_data``, int32: slots, tokens, ids, transitions
#: and months all stay far below 2**31; the time and the sequence number have arrays of their own)
EV_KIND, EV_A, EV_B, EV_C, EV_NEXT, EV_COLUMNS = 0, 1, 2, 3, 4, 5
LAW_EXPONENTIAL, LAW_LOGNORMAL, LAW_FIXED, LAW_EMPIRICAL = 0, 1, 2, 3
RULE_FCFS, RULE_PRIORITY_FIRST, RULE_LONGEST, RULE_VULNERABILITY, RULE_FAMILIES_FIRST, RULE_CUSTOM = 0, 1, 2, 3, 4, 5
#: Publics of the lettings to homeless households (config.LETTING_PUBLICS): a household's public
#: is PUB_PRIORITY if it has the priority flag and that public has a share, else its origin's kind.
PUB_PRIORITY, PUB_STREET, PUB_SHELTER, PUB_HOUSING, N_PUBLICS = 0, 1, 2, 3, 4
#: Columns of ``line_par``: how long a 115 request stays open (days), outreach and regularisation rates (a year).
LP_REQUEST_DAYS, LP_OUTREACH, LP_REGULARISE = 0, 1, 2
BASIS_PERSONS, BASIS_HOUSEHOLDS, BASIS_CAPACITY = 0, 1, 2
R_DONE, R_PYTHON, R_REFILL, R_GROWN, R_SLIDE, R_ERROR, R_TOO_MANY, R_INVARIANT = 0, 1, 2, 3, 4, 5, 6, 7

#: Waiting lists for shelter places sort households by persons, up to this many (larger share a bin).
MAX_PERSONS_BIN = 12
MAX_REJECTIONS = 10_000
BLOCK = 1024  # draws per block of a random stream; a stream buffers two blocks
STREAM_LOW = 4  # fewer draws left than this and the loop returns for a refill
TRAJECTORY_COLUMNS = 11  # uid, territory, transition, state, then kind, persons, size, needs, status, priority, cause

# purposes of household draws (as lda_sim.streams)
P_KIND, P_PERSONS, P_NEEDS, P_STATUS, P_PRIORITY, P_STAY, P_DESTINATION, P_HAZARD, P_READY, P_OFFER, P_ELAPSED, P_MOBILITY = range(1, 13)
P_CALLS, P_RECALL, P_OUTREACH, P_REGULARISE, P_SUPPORT, P_PUBLIC = range(13, 19)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)
_TWO_POW_MINUS_53 = 2.0**-53
_INF = math.inf


# ============================================================================================
# Household draws: counter-based, as lda_sim.streams.uniform
# ============================================================================================
@kernel_function
def draw_tag(purpose: int, index: int, count: int) -> np.uint64:
    """Tag of a household draw: purpose, an index (state or transition) and a counter."""
    return (np.uint64(purpose) << np.uint64(56)) | (np.uint64(index) << np.uint64(32)) | np.uint64(count)


@kernel_function
def uniform(seed: np.uint64, tag: np.uint64) -> float:
    """A uniform number in (0, 1) from a household seed and a tag (splitmix64 finaliser)."""
    z = seed + (tag + _ONE) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return (float(z >> np.uint64(11)) + 0.5) * _TWO_POW_MINUS_53


@kernel_function
def _bisect_right(a, x: float, lo: int, hi: int) -> int:
    while lo < hi:
        mid = (lo + hi) // 2
        if x < a[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


# ============================================================================================
# Stay laws (as lda_sim.laws)
# ============================================================================================
@kernel_function
def _normal_inv_cdf(p: float) -> float:
    """Inverse CDF of the standard normal (Wichura's AS241, as Python's statistics.NormalDist)."""
    q = p - 0.5
    if math.fabs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (((((((2.5090809287301226727e+3 * r +
                     3.3430575583588128105e+4) * r +
                     6.7265770927008700853e+4) * r +
                     4.5921953931549871457e+4) * r +
                     1.3731693765509461125e+4) * r +
                     1.9715909503065514427e+3) * r +
                     1.3314166789178437745e+2) * r +
                     3.3871328727963666080e+0) * q
        den = (((((((5.2264952788528545610e+3 * r +
                     2.8729085735721942674e+4) * r +
                     3.9307895800092710610e+4) * r +
                     2.1213794301586595867e+4) * r +
                     5.3941960214247511077e+3) * r +
                     6.8718700749205790830e+2) * r +
                     4.2313330701600911252e+1) * r +
                     1.0)
        x = num / den
        return 0.0 + (x * 1.0)
    r = p if q <= 0.0 else 1.0 - p
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r = r - 1.6
        num = (((((((7.74545014278341407640e-4 * r +
                     2.27238449892691845833e-2) * r +
                     2.41780725177450611770e-1) * r +
                     1.27045825245236838258e+0) * r +
                     3.64784832476320460504e+0) * r +
                     5.76949722146069140550e+0) * r +
                     4.63033784615654529590e+0) * r +
                     1.42343711074968357734e+0)
        den = (((((((1.05075007164441684324e-9 * r +
                     5.47593808499534494600e-4) * r +
                     1.51986665636164571966e-2) * r +
                     1.48103976427480074590e-1) * r +
                     6.89767334985100004550e-1) * r +
                     1.67638483018380384940e+0) * r +
                     2.05319162663775882187e+0) * r +
                     1.0)
    else:
        r = r - 5.0
        num = (((((((2.01033439929228813265e-7 * r +
                     2.71155556874348757815e-5) * r +
                     1.24266094738807843860e-3) * r +
                     2.65321895265761230930e-2) * r +
                     2.96560571828504891230e-1) * r +
                     1.78482653991729133580e+0) * r +
                     5.46378491116411436990e+0) * r +
                     6.65790464350110377720e+0)
        den = (((((((2.04426310338993978564e-15 * r +
                     1.42151175831644588870e-7) * r +
                     1.84631831751005468180e-5) * r +
                     7.86869131145613259100e-4) * r +
                     1.48753612908506148525e-2) * r +
                     1.36929880922735805310e-1) * r +
                     5.99832206555887937690e-1) * r +
                     1.0)
    x = num / den
    if q < 0.0:
        x = -x
    return 0.0 + (x * 1.0)


@kernel_function
def law_sample(st, law: int, u: float) -> float:
    """Duration in days of law ``law`` for a uniform ``u``."""
    code = st.law_code[law]
    if code == LAW_EXPONENTIAL:
        return -st.law_a[law] * math.log(u)
    if code == LAW_LOGNORMAL:
        return st.law_a[law] * math.exp(st.law_b[law] * _normal_inv_cdf(u))
    if code == LAW_FIXED:
        return st.law_a[law]
    off, n = st.law_off[law], st.law_n[law]  # empirical: n bins, n + 1 edges
    cumulative = st.emp_cum[off:off + n]
    i = min(_bisect_right(cumulative, u, 0, n), n - 1)
    low = cumulative[i - 1] if i else 0.0
    fraction = (u - low) / (cumulative[i] - low) if cumulative[i] > low else 0.5
    edges = st.emp_edges[off:off + n + 1]
    return edges[i] + fraction * (edges[i + 1] - edges[i])


@kernel_function
def law_sample_length_biased(st, law: int, u: float, v: float) -> float:
    """A duration drawn with density proportional to duration x density (the stay in progress)."""
    code = st.law_code[law]
    if code == LAW_EXPONENTIAL:
        return -st.law_a[law] * (math.log(u) + math.log(v))
    if code == LAW_LOGNORMAL:
        sigma = st.law_b[law]
        return st.law_a[law] * math.exp(sigma * sigma + sigma * _normal_inv_cdf(u))
    if code == LAW_FIXED:
        return st.law_a[law]
    off, n = st.law_off[law], st.law_n[law]
    cumulative = st.emp_lbcum[off:off + n]
    i = min(_bisect_right(cumulative, u * st.law_lbtotal[law], 0, n), n - 1)
    edges = st.emp_edges[off:off + n + 1]
    a, b = edges[i], edges[i + 1]
    return math.sqrt(a * a + v * (b * b - a * a))


# ============================================================================================
# Random streams of processes: two blocks of (exponential, uniform, seed), refilled by Python
# ============================================================================================
@kernel_function
def stream_next(st, stream: int):
    """The next (unit exponential, uniform, 64-bit seed) of a process stream."""
    i = st.st_used[stream] % (2 * BLOCK)
    st.st_used[stream] += 1
    if st.st_filled[stream] - st.st_used[stream] < STREAM_LOW:
        st.counters[C_STREAM_LOW] = 1
    return st.st_exp[stream, i], st.st_uni[stream, i], st.st_seed[stream, i]


# ============================================================================================
# The event queue: a calendar. Events are records (time, seq, kind, a, b, c), the integers of
# a record in one 20-byte row of ``ev_data`` (they took five int64 arrays); those of later
# days wait unsorted in a list per day (the last day holds everything past the horizon), and
# the current day's are in a small binary heap on (time, seq). Events therefore run in the
# order of (time, scheduling order), at a cost that does not grow with the events pending.
# ============================================================================================
@kernel_function
def _grow_records(st) -> None:
    n = len(st.ev_time)
    m = 2 * n
    st.ev_time = _resized_f8(st.ev_time, m)
    st.ev_seq = _resized_i8(st.ev_seq, m)
    st.ev_data = _resized_rows_i4(st.ev_data, m)


@kernel_function
def _today_push(st, time: float, seq: int, record: int) -> None:
    pos = st.counters[C_TODAY]
    if pos >= len(st.td_time):
        m = 2 * len(st.td_time)
        st.td_time = _resized_f8(st.td_time, m)
        st.td_seq = _resized_i8(st.td_seq, m)
        st.td_id = _resized_i8(st.td_id, m)
    st.counters[C_TODAY] = pos + 1
    times, seqs, ids = st.td_time, st.td_seq, st.td_id
    while pos > 0:
        parent = (pos - 1) >> 1
        if time < times[parent] or (time == times[parent] and seq < seqs[parent]):
            times[pos] = times[parent]
            seqs[pos] = seqs[parent]
            ids[pos] = ids[parent]
            pos = parent
        else:
            break
    times[pos] = time
    seqs[pos] = seq
    ids[pos] = record


@kernel_function
def _today_pop(st) -> int:
    """Remove the head of the current day's heap; return its record."""
    times, seqs, ids = st.td_time, st.td_seq, st.td_id
    top = ids[0]
    n = st.counters[C_TODAY] - 1
    st.counters[C_TODAY] = n
    if n > 0:
        time, seq, record = times[n], seqs[n], ids[n]
        pos = 0
        child = 1
        while child < n:
            right = child + 1
            if right < n and (times[right] < times[child] or (times[right] == times[child] and seqs[right] < seqs[child])):
                child = right
            if times[child] < time or (times[child] == time and seqs[child] < seq):
                times[pos] = times[child]
                seqs[pos] = seqs[child]
                ids[pos] = ids[child]
                pos = child
                child = 2 * pos + 1
            else:
                break
        times[pos] = time
        seqs[pos] = seq
        ids[pos] = record
    return top


@kernel_function
def schedule(st, time: float, kind: int, a: int, b: int, c: int) -> None:
    """Schedule an event at ``time``; events run in the order of (time, scheduling order)."""
    counters = st.counters
    counters[C_SEQ] += 1
    seq = counters[C_SEQ]
    record = counters[C_FREE_EV]
    if record >= 0:
        counters[C_FREE_EV] = st.ev_data[record, EV_NEXT]
    else:
        record = counters[C_NREC]
        if record >= len(st.ev_time):
            _grow_records(st)
        counters[C_NREC] = record + 1
    st.ev_time[record] = time
    st.ev_seq[record] = seq
    data = st.ev_data
    data[record, EV_KIND] = kind
    data[record, EV_A] = a
    data[record, EV_B] = b
    data[record, EV_C] = c
    counters[C_NEV] += 1
    last = len(st.day_head) - 1
    day = int(time) if time < last else last
    if day <= counters[C_DAY]:
        _today_push(st, time, seq, record)
    else:
        data[record, EV_NEXT] = st.day_head[day]
        st.day_head[day] = record


@kernel_function
def next_event_time(st) -> float:
    """Time of the next event (infinity when none): loads the next day with events if needed."""
    counters = st.counters
    if counters[C_TODAY] == 0:
        if counters[C_NEV] == 0:
            return _INF
        heads = st.day_head
        day = counters[C_DAY] + 1
        while heads[day] < 0:
            day += 1
        counters[C_DAY] = day
        record = heads[day]
        heads[day] = -1
        while record >= 0:
            following = st.ev_data[record, EV_NEXT]
            _today_push(st, st.ev_time[record], st.ev_seq[record], record)
            record = following
    return st.td_time[0]


@kernel_function
def _pop_event(st):
    """The next event's (kind, a, b, c) (call :func:`next_event_time` first, which gives its
    time); its record is freed."""
    record = _today_pop(st)
    counters = st.counters
    counters[C_NEV] -= 1
    data = st.ev_data
    data[record, EV_NEXT] = counters[C_FREE_EV]
    counters[C_FREE_EV] = record
    return int(data[record, EV_KIND]), int(data[record, EV_A]), int(data[record, EV_B]), int(data[record, EV_C])


# ============================================================================================
# Lapses of 115 requests. A request lapses ``request_days`` after its call, a delay fixed per
# territory, so a territory's lapses come in the order of its calls: they are kept in one ring
# per territory, (time, seq, slot, token), rather than in the event queue, and merged with the
# queue's events by (time, seq). They run in the same order as events would, at O(1) each (they
# were about a third of all events). The head of all rings is cached (clock[K_LAPSE],
# counters[C_LAPSE_T], counters[C_LAPSE_SEQ]).
# ============================================================================================
@kernel_function
def _grow_lapses(st) -> None:
    n_t, cap = st.lp_time.shape
    time = np.zeros((n_t, 2 * cap))
    seq = np.zeros((n_t, 2 * cap), np.int64)
    slot = np.zeros((n_t, 2 * cap), np.int64)
    token = np.zeros((n_t, 2 * cap), np.int64)
    for t in range(n_t):
        head = st.lp_head[t]
        for j in range(st.lp_n[t]):
            i = (head + j) % cap
            time[t, j] = st.lp_time[t, i]
            seq[t, j] = st.lp_seq[t, i]
            slot[t, j] = st.lp_slot[t, i]
            token[t, j] = st.lp_token[t, i]
        st.lp_head[t] = 0
    st.lp_time, st.lp_seq, st.lp_slot, st.lp_token = time, seq, slot, token


@kernel_function
def _next_lapse(st) -> None:
    """Cache the earliest head of the territories' rings (by time, then seq)."""
    best, best_time, best_seq = -1, _INF, 0
    for t in range(len(st.lp_n)):
        if st.lp_n[t]:
            i = st.lp_head[t]
            time = st.lp_time[t, i]
            if time < best_time or (time == best_time and st.lp_seq[t, i] < best_seq):
                best, best_time, best_seq = t, time, st.lp_seq[t, i]
    st.counters[C_LAPSE_T] = best
    st.counters[C_LAPSE_SEQ] = best_seq
    st.clock[K_LAPSE] = best_time


@kernel_function
def lapse_push(st, t: int, time: float, slot: int, token: int) -> None:
    """File the lapse of a request of territory ``t`` at ``time`` (numbered like an event)."""
    counters = st.counters
    counters[C_SEQ] += 1
    seq = counters[C_SEQ]
    n = st.lp_n[t]
    if n >= st.lp_time.shape[1]:
        _grow_lapses(st)
    cap = st.lp_time.shape[1]
    head = st.lp_head[t]
    j = n  # calls come in time order, so the new lapse is last; kept sorted if a time goes back
    while j > 0 and st.lp_time[t, (head + j - 1) % cap] > time:
        i, prev = (head + j) % cap, (head + j - 1) % cap
        st.lp_time[t, i] = st.lp_time[t, prev]
        st.lp_seq[t, i] = st.lp_seq[t, prev]
        st.lp_slot[t, i] = st.lp_slot[t, prev]
        st.lp_token[t, i] = st.lp_token[t, prev]
        j -= 1
    i = (head + j) % cap
    st.lp_time[t, i] = time
    st.lp_seq[t, i] = seq
    st.lp_slot[t, i] = slot
    st.lp_token[t, i] = token
    st.lp_n[t] = n + 1
    if j == 0:
        _next_lapse(st)


@kernel_function
def _lapse_pop(st):
    """Take the earliest lapse off its ring; returns (slot, token)."""
    t = st.counters[C_LAPSE_T]
    i = st.lp_head[t]
    slot, token = st.lp_slot[t, i], st.lp_token[t, i]
    st.lp_head[t] = (i + 1) % st.lp_time.shape[1]
    st.lp_n[t] -= 1
    _next_lapse(st)
    return slot, token


@kernel_function
def _lapse_first(st) -> bool:
    """Whether the earliest lapse comes before the next event (call :func:`next_event_time` first)."""
    lapse = st.clock[K_LAPSE]
    if st.counters[C_TODAY] == 0:
        return lapse < _INF
    head = st.td_time[0]
    return lapse < head or (lapse == head and st.counters[C_LAPSE_SEQ] < st.td_seq[0])


# ============================================================================================
# Waiting lists: heaps of (key0..key3, seq, slot) per (territory, state, fit bin), exactly as
# Python's heapq (the order of the heap's array is observable when a list is re-sorted)
# ============================================================================================
@kernel_function
def heap_id(st, territory: int, state: int, fit: int) -> int:
    return (territory * len(st.cap_kind) + state) * MAX_PERSONS_BIN + fit


@kernel_function
def _row_less(h, i: int, j: int) -> bool:
    for k in range(HEAP_COLUMNS - 1):  # keys then seq; the slot never decides
        if h[i, k] != h[j, k]:
            return h[i, k] < h[j, k]
    return False


@kernel_function
def _sift_down(h, base: int, start: int, pos: int) -> None:
    """heapq._siftdown on the heap at rows ``base``...: move the item at ``pos`` up to ``start``."""
    r = base + pos
    k0, k1, k2, k3, seq, slot = h[r, 0], h[r, 1], h[r, 2], h[r, 3], h[r, 4], h[r, 5]
    while pos > start:
        parent = (pos - 1) >> 1
        p = h[base + parent]
        if k0 != p[0]:
            less = k0 < p[0]
        elif k1 != p[1]:
            less = k1 < p[1]
        elif k2 != p[2]:
            less = k2 < p[2]
        elif k3 != p[3]:
            less = k3 < p[3]
        else:
            less = seq < p[4]
        if less:
            r = base + pos
            h[r, 0], h[r, 1], h[r, 2], h[r, 3], h[r, 4], h[r, 5] = p[0], p[1], p[2], p[3], p[4], p[5]
            pos = parent
            continue
        break
    r = base + pos
    h[r, 0], h[r, 1], h[r, 2], h[r, 3], h[r, 4], h[r, 5] = k0, k1, k2, k3, seq, slot


@kernel_function
def _sift_up(h, base: int, n: int, pos: int) -> None:
    """heapq._siftup: move the item at ``pos`` down to a leaf, then up to its place."""
    start = pos
    r = base + pos
    k0, k1, k2, k3, seq, slot = h[r, 0], h[r, 1], h[r, 2], h[r, 3], h[r, 4], h[r, 5]
    child = 2 * pos + 1
    while child < n:
        right = child + 1
        if right < n and not _row_less(h, base + child, base + right):
            child = right
        c = h[base + child]
        r = base + pos
        h[r, 0], h[r, 1], h[r, 2], h[r, 3], h[r, 4], h[r, 5] = c[0], c[1], c[2], c[3], c[4], c[5]
        pos = child
        child = 2 * pos + 1
    r = base + pos
    h[r, 0], h[r, 1], h[r, 2], h[r, 3], h[r, 4], h[r, 5] = k0, k1, k2, k3, seq, slot
    _sift_down(h, base, start, pos)


@kernel_function
def _relocate_heap(st, hid: int, capacity: int) -> None:
    """Move a heap to fresh rows at the end of the pool, with room for ``capacity`` rows.

    When the pool is full, every heap is first copied, rows in the same order, into a new pool
    where each has room for twice its rows: the rows that heaps left behind when they grew are
    given back (without this the pool reached 8 to 10 times the rows the heaps held)."""
    used = st.counters[C_POOL]
    pool = st.heap_pool
    if used + capacity > pool.shape[0]:
        _compact_heaps(st, hid, capacity)
        return
    off, n = st.heap_off[hid], st.heap_size[hid]
    pool[used:used + n] = pool[off:off + n]
    st.heap_off[hid] = used
    st.heap_cap[hid] = capacity
    st.counters[C_POOL] = used + capacity


@kernel_function
def _compact_heaps(st, grown: int, capacity: int) -> None:
    """Copy every heap into a new pool, in order, each with room for twice its rows (``grown``
    with room for ``capacity``); the new pool has as many free rows again."""
    n_heaps = len(st.heap_size)
    caps = np.empty(n_heaps, np.int64)
    total = 0
    for i in range(n_heaps):
        caps[i] = capacity if i == grown else max(8, 2 * st.heap_size[i])
        total += caps[i]
    old = st.heap_pool
    pool = np.empty((max(4096, 2 * total), HEAP_COLUMNS), np.float64)
    used = 0
    for i in range(n_heaps):
        off, n = st.heap_off[i], st.heap_size[i]
        pool[used:used + n] = old[off:off + n]
        st.heap_off[i] = used
        st.heap_cap[i] = caps[i]
        used += caps[i]
    st.heap_pool = pool
    st.counters[C_POOL] = used


@kernel_function
def _heap_push(st, hid: int, k0: float, k1: float, k2: float, k3: float, seq: int, slot: int) -> None:
    n = st.heap_size[hid]
    if n >= st.heap_cap[hid]:
        _relocate_heap(st, hid, max(8, 2 * st.heap_cap[hid]))
    h = st.heap_pool
    base = st.heap_off[hid]
    r = base + n
    h[r, 0] = k0
    h[r, 1] = k1
    h[r, 2] = k2
    h[r, 3] = k3
    h[r, 4] = seq
    h[r, 5] = slot
    st.heap_size[hid] = n + 1
    _sift_down(h, base, 0, n)


@kernel_function
def _heap_pop(st, hid: int) -> None:
    """heapq.heappop, the item discarded."""
    h = st.heap_pool
    base = st.heap_off[hid]
    n = st.heap_size[hid] - 1
    st.heap_size[hid] = n
    if n > 0:
        h[base] = h[base + n]
        _sift_up(h, base, n, 0)


@kernel_function
def _heapify(h, base: int, n: int) -> None:
    for i in range(n // 2 - 1, -1, -1):
        _sift_up(h, base, n, i)


@kernel_function
def _is_live(st, h, row: int, territory: int, q: int) -> bool:
    """Whether a heap row is its household's live entry (seqs are unique within one list only, and
    a slot may now hold another household, of another territory)."""
    slot = int(h[row, 5])
    return st.h_ticket[slot, q] == int(h[row, 4]) and st.h_terr[slot] == territory


@kernel_function
def household_key(st, slot: int, territory: int, state: int):
    """The sort key of a household on the waiting list of ``state`` (its territory's rule)."""
    rule = st.rule[territory, state]
    since = st.h_queue_since[slot, st.qidx[state]]
    if rule == RULE_FCFS:
        return since, 0.0, 0.0, 0.0
    if rule == RULE_PRIORITY_FIRST:
        return (0.0 if st.h_priority[slot] else 1.0), since, 0.0, 0.0
    if rule == RULE_LONGEST:
        return st.h_entered_system[slot], since, 0.0, 0.0
    if rule == RULE_VULNERABILITY:
        return -float(st.h_needs[slot]), (0.0 if st.h_priority[slot] else 1.0), since, 0.0
    if rule == RULE_FAMILIES_FIRST:
        return (0.0 if st.kind_family[st.h_kind[slot]] else 1.0), since, 0.0, 0.0
    with objmode(k0="float64", k1="float64", k2="float64", k3="float64"):
        k0, k1, k2, k3 = hooks.priority_key(rule, slot, state)
    return k0, k1, k2, k3


@kernel_function
def fit_bin(st, state: int, slot: int) -> int:
    """Waiting-list bin of a household for a state: persons (shelter) or size class, the latter
    within its public's lists where lettings are shared by origin."""
    if st.cap_kind[state] == CAP_SHELTER:
        return min(st.h_persons[slot], MAX_PERSONS_BIN) - 1
    t = st.h_terr[slot]
    if st.grp_on[t, state]:
        return public_of(st, slot, t, state) * st.units.shape[2] + st.h_size[slot]
    return st.h_size[slot]


@kernel_function
def public_of(st, slot: int, t: int, state: int) -> int:
    """The public a household belongs to for the lettings of ``state`` (see PUB_PRIORITY)."""
    if st.h_priority[slot] and st.grp_cum[t, state, PUB_PRIORITY] > 0:
        return PUB_PRIORITY
    kind = st.state_kind[st.h_state[slot]]
    if kind == KIND_STREET:
        return PUB_STREET
    if kind == KIND_SHELTER:
        return PUB_SHELTER
    return PUB_HOUSING


@kernel_function
def wl_add(st, territory: int, state: int, slot: int, k0: float, k1: float, k2: float, k3: float, fit: int) -> None:
    """Put a household on the waiting list of ``state`` with its sort key, in bin ``fit``."""
    st.wl_seq[territory, state] += 1
    seq = st.wl_seq[territory, state]
    q = st.qidx[state]
    if st.h_ticket[slot, q] == 0:
        st.h_ntickets[slot] += 1
    st.h_ticket[slot, q] = seq
    _heap_push(st, heap_id(st, territory, state, fit), k0, k1, k2, k3, seq, slot)
    st.wl_count[territory, state] += 1


@kernel_function
def _wl_purge(st, territory: int, state: int) -> None:
    q = st.qidx[state]
    for b in range(st.n_bins[state]):
        hid = heap_id(st, territory, state, b)
        h = st.heap_pool
        base, n = st.heap_off[hid], st.heap_size[hid]
        kept = 0
        for row in range(base, base + n):
            if _is_live(st, h, row, territory, q):
                if base + kept != row:
                    h[base + kept] = h[row]
                kept += 1
        st.heap_size[hid] = kept
        _heapify(h, base, kept)
    st.wl_stale[territory, state] = 0


@kernel_function
def wl_discard(st, territory: int, state: int, slot: int) -> bool:
    """Take a household off the waiting list of ``state``; return whether it was on it."""
    q = st.qidx[state]
    if st.h_ticket[slot, q] == 0:
        return False
    st.h_ticket[slot, q] = 0
    st.h_ntickets[slot] -= 1
    st.wl_count[territory, state] -= 1
    st.wl_stale[territory, state] += 1
    stale = st.wl_stale[territory, state]
    if stale > 1024 and stale > 2 * st.wl_count[territory, state]:
        _wl_purge(st, territory, state)
    return True


@kernel_function
def wl_best(st, territory: int, state: int, first_bin: int, last_bin: int) -> int:
    """The household (slot) with the lowest key among the heads of bins first..last-1, or -1."""
    q = st.qidx[state]
    best_hid, best = -1, -1
    for b in range(first_bin, last_bin):
        hid = heap_id(st, territory, state, b)
        while st.heap_size[hid] > 0:
            h = st.heap_pool
            head = st.heap_off[hid]
            if _is_live(st, h, head, territory, q):
                if best_hid < 0:
                    best_hid = hid
                elif _row_less(h, head, st.heap_off[best_hid]):
                    best_hid = hid
                break
            _heap_pop(st, hid)
            st.wl_stale[territory, state] -= 1
    if best_hid >= 0:
        best = int(st.heap_pool[st.heap_off[best_hid], 5])
    return best


@kernel_function
def wl_households(st, territory: int, state: int):
    """The households on the list (slots), in the order of the heaps' arrays, bin by bin."""
    q = st.qidx[state]
    out = np.empty(st.wl_count[territory, state], np.int64)
    k = 0
    for b in range(st.n_bins[state]):
        hid = heap_id(st, territory, state, b)
        h = st.heap_pool
        base = st.heap_off[hid]
        for row in range(base, base + st.heap_size[hid]):
            if _is_live(st, h, row, territory, q):
                out[k] = int(h[row, 5])
                k += 1
    return out[:k]


# ============================================================================================
# Stocks and capacities of territories
# ============================================================================================
@kernel_function
def _integrate(st, t: int, s: int, now: float) -> None:
    dt = now - st.last_change[t, s]
    if dt > 0:
        st.hdays[t, s] += st.occ_h[t, s] * dt
        st.pdays[t, s] += st.occ_p[t, s] * dt
        st.last_change[t, s] = now


@kernel_function
def capacity(st, t: int, s: int) -> float:
    """Places (shelter) or units (housing) of a state; NaN where capacity is not counted."""
    kind = st.cap_kind[s]
    if kind == CAP_SHELTER:
        return float(st.places[t, s])
    if kind == CAP_UNITS:
        total = 0
        for c in range(st.units.shape[2]):
            total += st.units[t, s, c]
        return float(total)
    if kind == CAP_TURNOVER:
        return st.sup_stock[t, s]
    return math.nan


@kernel_function
def _integrate_capacity(st, t: int, s: int, now: float) -> None:
    dt = now - st.cap_last[t, s]
    if dt > 0:
        cap = capacity(st, t, s)
        if cap == cap:
            st.cdays[t, s] += cap * dt
        st.cap_last[t, s] = now


@kernel_function
def _occupy(st, t: int, s: int, slot: int, sign: int, now: float) -> None:
    _integrate(st, t, s, now)
    st.occ_h[t, s] += sign
    st.occ_p[t, s] += sign * st.h_persons[slot]
    st.occ_kind[t, s, st.h_kind[slot]] += sign
    st.occ_kind_p[t, s, st.h_kind[slot]] += sign * st.h_persons[slot]
    if st.h_status[slot]:
        st.occ_reg_p[t, s] += sign * st.h_persons[slot]
    if st.cap_kind[s] == CAP_UNITS:
        st.used_units[t, s, st.h_size[slot]] += sign
    _occupy_needs(st, t, s, slot, sign, now)


@kernel_function
def has_room(st, t: int, s: int, slot: int) -> bool:
    kind = st.cap_kind[s]
    if kind == CAP_SHELTER:
        return st.occ_p[t, s] + st.h_persons[slot] <= st.places[t, s]
    if kind == CAP_UNITS:
        c = st.h_size[slot]
        return st.used_units[t, s, c] < st.units[t, s, c]
    return True


@kernel_function
def change_capacity(st, t: int, s: int, amount: int, size_class: int, now: float) -> None:
    """Add (``amount`` > 0) places or units, or close them (< 0): free ones at once, occupied
    ones when their occupants leave (nobody is put out)."""
    _integrate_capacity(st, t, s, now)
    kind = st.cap_kind[s]
    if kind == CAP_TURNOVER:
        st.sup_stock[t, s] = max(0.0, st.sup_stock[t, s] + amount)
        return
    if kind == CAP_SHELTER:
        closing, room = st.closing_places[t, s], st.places[t, s] - st.occ_p[t, s]
    else:
        closing = st.closing_units[t, s, size_class]
        room = st.units[t, s, size_class] - st.used_units[t, s, size_class]
    if amount >= 0:
        cancelled = min(closing, amount)
        closing -= cancelled
        delta = amount - cancelled
    else:
        now_closed = min(-amount, max(room, 0))
        closing += -amount - now_closed
        delta = -now_closed
    if kind == CAP_SHELTER:
        st.places[t, s] += delta
        st.closing_places[t, s] = closing
    else:
        st.units[t, s, size_class] += delta
        st.closing_units[t, s, size_class] = closing


@kernel_function
def _apply_closures(st, t: int, s: int, size_class: int, now: float) -> None:
    kind = st.cap_kind[s]
    if kind == CAP_SHELTER and st.closing_places[t, s]:
        k = min(st.closing_places[t, s], st.places[t, s] - st.occ_p[t, s])
        if k > 0:
            _integrate_capacity(st, t, s, now)
            st.places[t, s] -= k
            st.closing_places[t, s] -= k
    elif kind == CAP_UNITS and st.closing_units[t, s, size_class]:
        k = min(st.closing_units[t, s, size_class], st.units[t, s, size_class] - st.used_units[t, s, size_class])
        if k > 0:
            _integrate_capacity(st, t, s, now)
            st.units[t, s, size_class] -= k
            st.closing_units[t, s, size_class] -= k


@kernel_function
def letting_rate(st, t: int, s: int) -> float:
    """Lettings per day of a turnover-supplied state that go to households of the model."""
    return st.sup_stock[t, s] * st.sup_turn[t, s] * st.sup_share[t, s] / DAYS_PER_YEAR


# ============================================================================================
# Recording
# ============================================================================================
@kernel_function
def _record_wait(st, t: int, s: int, days: float) -> None:
    n = st.counters[C_NWAIT]
    if n >= len(st.w_val):
        st.w_val = _doubled_f8(st.w_val)
        st.w_where = _doubled_i4(st.w_where)
        st.w_month = _doubled_i4(st.w_month)
    st.w_val[n] = days
    st.w_where[n] = t * len(st.cap_kind) + s
    st.w_month[n] = st.counters[C_MONTH]
    st.counters[C_NWAIT] = n + 1


@kernel_function
def _record_time_to_housing(st, t: int, days: float) -> None:
    n = st.counters[C_NTTH]
    if n >= len(st.th_val):
        st.th_val = _doubled_f8(st.th_val)
        st.th_terr = _doubled_i4(st.th_terr)
        st.th_month = _doubled_i4(st.th_month)
    st.th_val[n] = days
    st.th_terr[n] = t
    st.th_month[n] = st.counters[C_MONTH]
    st.counters[C_NTTH] = n + 1


@kernel_function
def _log(st, slot: int, state: int, now: float) -> None:
    """Record an entry (no transition) or a move, for trajectories."""
    n = st.counters[C_NMV]
    if n >= st.mv_i.shape[0]:
        bigger_i = np.zeros((max(64, 2 * st.mv_i.shape[0]), st.mv_i.shape[1]), np.int64)
        bigger_i[:n] = st.mv_i[:n]
        st.mv_i = bigger_i
        bigger_f = np.zeros((max(64, 2 * st.mv_f.shape[0]), 2), np.float64)
        bigger_f[:n] = st.mv_f[:n]
        st.mv_f = bigger_f
    moving = st.counters[C_MOVING]
    row = st.mv_i[n]
    row[0] = st.h_uid[slot]
    row[1] = st.h_terr[slot]
    row[2] = moving
    row[3] = state
    if moving < 0:
        row[4] = st.h_kind[slot]
        row[5] = st.h_persons[slot]
        row[6] = st.h_size[slot]
        row[7] = st.h_needs[slot]
        row[8] = st.h_status[slot]
        row[9] = st.h_priority[slot]
        row[10] = st.h_cause[slot]
    st.mv_f[n, 0] = now
    st.mv_f[n, 1] = st.h_entered_state[slot]
    st.counters[C_MOVING] = -1
    st.counters[C_NMV] = n + 1


@kernel_function
def _push_pending(st, t: int, s: int) -> None:
    n = st.counters[C_PENDING]
    if n >= len(st.pending):
        st.pending = _doubled_i8(st.pending)
    st.pending[n] = t * len(st.cap_kind) + s
    st.counters[C_PENDING] = n + 1


# ============================================================================================
# Households: creation and removal
# ============================================================================================
@kernel_function
def households_low(st) -> bool:
    """Whether fewer than two free household rows remain."""
    return st.counters[C_NFREE] + (len(st.h_seed) - st.counters[C_NALLOC]) < 2


@kernel_function
def grow_households(st) -> None:
    """Grow the household arrays by half (Python must fetch them anew)."""
    n = len(st.h_seed)
    m = n + n // 2  # by half: a smaller overshoot, and a smaller peak while old and new coexist
    if m > st.counters[C_MAX_HOUSEHOLDS]:
        m = max(st.counters[C_MAX_HOUSEHOLDS], n + 2)
    u = np.zeros(m, np.uint64)
    u[:n] = st.h_seed
    st.h_seed = u
    st.h_terr = _resized_i4(st.h_terr, m)
    st.h_kind = _resized_i4(st.h_kind, m)
    st.h_persons = _resized_i4(st.h_persons, m)
    st.h_size = _resized_i4(st.h_size, m)
    st.h_needs = _resized_i4(st.h_needs, m)
    st.h_status = _resized_i4(st.h_status, m)
    st.h_priority = _resized_i4(st.h_priority, m)
    st.h_cause = _resized_i4(st.h_cause, m)
    st.h_profile = _resized_i4(st.h_profile, m)
    st.h_state = _resized_i4(st.h_state, m)
    st.h_entered_state = _resized_f8(st.h_entered_state, m)
    st.h_entered_system = _resized_f8(st.h_entered_system, m)
    st.h_supported = _resized_i4(st.h_supported, m)
    st.h_housed_at = _resized_f8(st.h_housed_at, m)
    st.h_token = _resized_i8(st.h_token, m)
    st.h_uid = _resized_i8(st.h_uid, m)
    st.h_mobility_offers = _resized_i4(st.h_mobility_offers, m)
    st.h_ntickets = _resized_i4(st.h_ntickets, m)
    st.h_calls = _resized_i4(st.h_calls, m)
    st.h_ncalls = _resized_i4(st.h_ncalls, m)
    st.h_spell = _resized_i4(st.h_spell, m)
    v = np.zeros((m, st.h_visits.shape[1]), np.int16)
    v[:n] = st.h_visits
    st.h_visits = v
    st.h_offers = _resized_rows_i4(st.h_offers, m)
    qs = np.full((m, st.h_queue_since.shape[1]), np.nan)
    qs[:n] = st.h_queue_since
    st.h_queue_since = qs
    st.h_ticket = _resized_rows_i4(st.h_ticket, m)
    fs = np.zeros(m, np.int64)
    fs[: len(st.free_slots)] = st.free_slots
    st.free_slots = fs
    st.counters[C_GROWN] += 1


@kernel_function
def _resized_i8(a, m: int):
    b = np.zeros(m, np.int64)
    b[: len(a)] = a
    return b


@kernel_function
def _doubled_f8(a):
    """A copy of a log array with twice the room (at least 16)."""
    return _resized_f8(a, max(16, 2 * len(a)))


@kernel_function
def _doubled_i4(a):
    return _resized_i4(a, max(16, 2 * len(a)))


@kernel_function
def _doubled_i8(a):
    return _resized_i8(a, max(16, 2 * len(a)))


@kernel_function
def _resized_i4(a, m: int):
    b = np.zeros(m, np.int32)
    b[: len(a)] = a
    return b


@kernel_function
def _resized_rows_i4(a, m: int):
    """A copy of a 2-D int32 array with ``m`` rows (the new ones zero)."""
    b = np.zeros((m, a.shape[1]), np.int32)
    b[: len(a)] = a
    return b


@kernel_function
def _resized_f8(a, m: int):
    b = np.zeros(m, np.float64)
    b[: len(a)] = a
    return b


@kernel_function
def _pick(cumulative, n: int, u: float) -> int:
    return _bisect_right(cumulative, u, 0, n - 1)


@kernel_function
def new_household(st, t: int, seed: np.uint64, cause: int, population: int, now: float) -> int:
    """Create a household (its attributes from its own draws); return its slot."""
    nfree = st.counters[C_NFREE]
    if nfree > 0:
        slot = st.free_slots[nfree - 1]
        st.counters[C_NFREE] = nfree - 1
    else:
        slot = st.counters[C_NALLOC]
        st.counters[C_NALLOC] = slot + 1
    st.h_uid[slot] = st.counters[C_UID]
    st.counters[C_UID] += 1
    st.h_seed[slot] = seed
    st.h_terr[slot] = t
    st.h_cause[slot] = cause
    kind = st.pop_kind_idx[population, _pick(st.pop_kind_cum[population], st.pop_kind_n[population], uniform(seed, draw_tag(P_KIND, 0, 0)))]
    persons = st.kind_p_vals[kind, _pick(st.kind_p_cum[kind], st.kind_p_n[kind], uniform(seed, draw_tag(P_PERSONS, 0, 0)))]
    st.h_kind[slot] = kind
    st.h_persons[slot] = persons
    size = st.size_of_persons[min(persons, len(st.size_of_persons) - 1)]
    st.h_size[slot] = size
    needs = st.pop_needs_idx[population, _pick(st.pop_needs_cum[population], st.pop_needs_n[population], uniform(seed, draw_tag(P_NEEDS, 0, 0)))]
    st.h_needs[slot] = needs
    status = 1 if uniform(seed, draw_tag(P_STATUS, 0, 0)) < st.pop_status[population] else 0
    priority = 1 if uniform(seed, draw_tag(P_PRIORITY, 0, 0)) < st.pop_priority[population] else 0
    st.h_status[slot] = status
    st.h_priority[slot] = priority
    st.h_profile[slot] = profile_of(st, slot)
    st.h_state[slot] = -1
    st.h_entered_state[slot] = now
    st.h_entered_system[slot] = now
    st.h_supported[slot] = 0
    st.h_housed_at[slot] = math.nan
    st.h_mobility_offers[slot] = 0
    st.h_ntickets[slot] = 0
    st.h_visits[slot, :] = 0
    st.h_offers[slot, :] = 0
    st.h_queue_since[slot, :] = math.nan
    st.h_ticket[slot, :] = 0
    # families with children call the 115 (parents are not among the long-term rough sleepers
    # who stopped calling); the others with their population's share
    st.h_calls[slot] = 1 if st.kind_family[kind] or uniform(seed, draw_tag(P_CALLS, 0, 0)) < st.pop_calls[population] else 0
    st.h_ncalls[slot] = 0
    rate = st.line_par[t, LP_REGULARISE]
    if not status and rate > 0:
        delay = -math.log(uniform(seed, draw_tag(P_REGULARISE, 0, 0))) / (rate / DAYS_PER_YEAR)
        schedule(st, now + delay, EV_REGULARISE, slot, st.h_uid[slot], 0)
    return slot


@kernel_function
def profile_of(st, slot: int) -> int:
    """A household's eligibility profile (the row of ``elig``) from its attributes."""
    dims = st.profile_dims  # kinds, needs, causes, size classes
    profile = ((st.h_kind[slot] * dims[1] + st.h_needs[slot]) * 2 + st.h_status[slot]) * 2 + st.h_priority[slot]
    return (profile * dims[2] + st.h_cause[slot]) * dims[3] + st.h_size[slot]


@kernel_function
def remove_household(st, slot: int) -> None:
    """Free a household's row (its pending events are stale: its token moved on)."""
    _spell_end(st, slot)
    st.h_state[slot] = -2
    n = st.counters[C_NFREE]
    st.free_slots[n] = slot
    st.counters[C_NFREE] = n + 1


@kernel_function
def is_eligible(st, slot: int, transition: int) -> bool:
    return st.elig[st.h_profile[slot], transition]


# ============================================================================================
# Moves
# ============================================================================================
@kernel_function
def _enter(st, slot: int, state: int, stay_days: float, elapsed: float) -> None:
    """Put a household in ``state``: count it, schedule its departure, put it on waiting lists.

    ``stay_days`` NaN draws the stay from the state's law."""
    t = st.h_terr[slot]
    now = st.clock[K_NOW]
    st.h_state[slot] = state
    st.h_entered_state[slot] = now - elapsed
    st.h_token[slot] += 1
    visit = st.h_visits[slot, state] + 1
    st.h_visits[slot, state] = visit
    _occupy(st, t, state, slot, 1, now)
    if st.counters[C_TRAJECTORIES]:
        _log(st, slot, state, now)
    _spell_enter(st, slot, state, now)
    seed = st.h_seed[slot]
    support_days = _INF
    if st.state_kind[state] == KIND_HOUSING:
        if st.h_housed_at[slot] != st.h_housed_at[slot] and not st.counters[C_POPULATING]:
            st.h_housed_at[slot] = now
            _record_time_to_housing(st, t, now - st.h_entered_system[slot])
        if st.support_states[t, state] and st.support_used[t] < st.support_slots[t]:
            st.h_supported[slot] = 1
            st.support_used[t] += 1
            st.r_support_started[t, st.counters[C_MONTH]] += 1
            if st.support_law[t] >= 0:
                support_days = law_sample(st, st.support_law[t], uniform(seed, draw_tag(P_SUPPORT, state, visit)))
                schedule(st, now + support_days, EV_SUPPORT_END, slot, st.h_token[slot], 0)
    best_time, best = _INF, -1
    law = st.stay_law[t, state]
    if law >= 0:
        if stay_days != stay_days:
            stay_days = law_sample(st, law, uniform(seed, draw_tag(P_STAY, state, visit)))
        n = st.stay_n[t, state]
        u = uniform(seed, draw_tag(P_DESTINATION, state, visit)) * st.stay_cum[t, state, n - 1]
        best = st.stay_tr[t, state, n - 1]
        for k in range(n):
            if u < st.stay_cum[t, state, k]:
                best = st.stay_tr[t, state, k]
                break
        best_time = stay_days
    profile = st.h_profile[slot]
    for k in range(st.n_out_h[state]):
        tr = st.out_h[state, k]
        rate_year = st.e_rate[t, tr]
        if not st.elig[profile, tr] or not rate_year > 0:
            continue
        rate = rate_year / DAYS_PER_YEAR
        e = -math.log(uniform(seed, draw_tag(P_HAZARD, tr, visit)))
        if st.h_supported[slot] and st.state_kind[st.edge_target[tr]] == KIND_STREET:
            # the hazard is lower while support lasts (support_days), then back to its rate:
            # invert the piecewise cumulative hazard
            low = rate * (1.0 - st.support_reduction[t])
            span = support_days
            if e < low * span:
                d = e / low
            elif span < _INF:
                d = span + (e - low * span) / rate
            else:
                continue
        else:
            d = e / rate
        if d < best_time:
            best_time, best = d, tr
    if best >= 0:
        schedule(st, now + best_time, EV_DEPART, slot, st.h_token[slot], best)
    requests = False
    for k in range(st.n_out_q[state]):
        tr = st.out_q[state, k]
        if st.e_closed[t, tr] or not st.elig[profile, tr]:
            continue
        if st.e_request[tr] and st.line_recall[t] >= 0:
            requests = True  # asked at calls (below), not waited for on a list
            continue
        target = st.edge_target[tr]
        ready = st.e_ready[t, tr]
        if ready >= 0 and st.h_queue_since[slot, st.qidx[target]] != st.h_queue_since[slot, st.qidx[target]]:
            delay = law_sample(st, ready, uniform(seed, draw_tag(P_READY, tr, visit)))
            schedule(st, now + delay, EV_READY, slot, st.h_token[slot], tr)
        else:
            # a household of the initial population has waited since it entered its state
            _join(st, slot, tr, st.h_entered_state[slot])
    if requests:
        if st.h_calls[slot]:
            if now == st.h_entered_system[slot] and not st.counters[C_POPULATING]:
                delay = 0.0  # a new arrival calls at once
            else:  # back on the street (or there at the start): calls again after a while
                delay = law_sample(st, st.line_recall[t], uniform(seed, draw_tag(P_RECALL, state, visit)))
            schedule(st, now + delay, EV_CALL, slot, st.h_token[slot], 0)
        else:
            st.h_calls[slot] = -1  # does not call, counted among the street's silent households
            st.silent_occ[t] += 1
            if st.line_par[t, LP_OUTREACH] > 0:
                delay = -math.log(uniform(seed, draw_tag(P_OUTREACH, state, visit))) / (st.line_par[t, LP_OUTREACH] / DAYS_PER_YEAR)
                schedule(st, now + delay, EV_OUTREACH, slot, st.h_token[slot], 0)


@kernel_function
def _join(st, slot: int, transition: int, since: float) -> None:
    """Put a household on the waiting list of ``transition``'s target; a wait begun goes on."""
    t = st.h_terr[slot]
    target = st.edge_target[transition]
    q = st.qidx[target]
    if st.h_queue_since[slot, q] != st.h_queue_since[slot, q]:
        st.h_queue_since[slot, q] = since
    kind = st.cap_kind[target]
    fit = fit_bin(st, target, slot)
    if kind == CAP_SHELTER:
        room = st.occ_p[t, target] + st.h_persons[slot] <= st.places[t, target]
    else:
        size = st.h_size[slot]
        room = kind == CAP_UNITS and st.used_units[t, target, size] < st.units[t, target, size]
    k0, k1, k2, k3 = household_key(st, slot, t, target)
    wl_add(st, t, target, slot, k0, k1, k2, k3, fit)
    if room:
        _push_pending(st, t, target)


@kernel_function
def _move(st, slot: int, transition: int, destination: int) -> None:
    """Move a household along ``transition`` now; with ``destination`` >= 0, into that territory."""
    t = st.h_terr[slot]
    origin = st.h_state[slot]
    target = st.edge_target[transition]
    now = st.clock[K_NOW]
    size = st.h_size[slot]
    month = st.counters[C_MONTH]
    _occupy(st, t, origin, slot, -1, now)
    if st.h_calls[slot] < 0:
        st.h_calls[slot] = 0
        st.silent_occ[t] -= 1
    if st.h_supported[slot]:
        st.h_supported[slot] = 0
        st.support_used[t] -= 1
    if st.closing_places[t, origin] or (st.cap_kind[origin] == CAP_UNITS and st.closing_units[t, origin, size]):
        _apply_closures(st, t, origin, size, now)
    if st.slide_flag[t, origin] and st.edge_mode[transition] == MODE_STAY and st.state_kind[target] == KIND_HOUSING:
        n = st.counters[C_NSLIDE]
        if n >= st.slide_buf.shape[0]:
            bigger = np.zeros((2 * st.slide_buf.shape[0], 3), np.int64)
            bigger[:n] = st.slide_buf[:n]
            st.slide_buf = bigger
        st.slide_buf[n, 0] = t
        st.slide_buf[n, 1] = origin
        st.slide_buf[n, 2] = size
        st.counters[C_NSLIDE] = n + 1
    if st.h_ntickets[slot]:
        for s in range(len(st.cap_kind)):
            q = st.qidx[s]
            if q >= 0 and st.h_ticket[slot, q]:
                wl_discard(st, t, s, slot)
    persons = st.h_persons[slot]
    if destination < 0:
        st.r_flow[t, transition, month] += 1
        st.r_flow_persons[t, transition, month] += persons
    else:
        st.r_migration[t, destination, month] += 1
        st.r_migration_persons[t, destination, month] += persons
        st.r_migration_out[t, origin, month] += 1
        st.r_migration_in[destination, target, month] += 1
        st.h_terr[slot] = destination
        st.h_queue_since[slot, :] = math.nan
    if st.counters[C_TRAJECTORIES]:
        st.counters[C_MOVING] = transition
    if st.state_kind[target] == KIND_EXIT:
        if st.counters[C_TRAJECTORIES]:
            _log(st, slot, target, now)
        st.h_state[slot] = target
        st.h_token[slot] += 1
        st.h_queue_since[slot, :] = math.nan
        remove_household(st, slot)
    else:
        # demand carries over to the new state where it can still wait for the same target
        t_new = st.h_terr[slot]
        profile = st.h_profile[slot]
        for s in range(len(st.cap_kind)):
            q = st.qidx[s]
            if q < 0 or st.h_queue_since[slot, q] != st.h_queue_since[slot, q]:
                continue
            kept = False
            if s != target:
                for k in range(st.n_out_q[target]):
                    tr = st.out_q[target, k]
                    if st.edge_target[tr] == s and not st.e_closed[t_new, tr] and st.elig[profile, tr]:
                        kept = True
                        break
            if not kept:
                st.h_queue_since[slot, q] = math.nan
        _enter(st, slot, target, math.nan, 0.0)
    kind = st.cap_kind[origin]
    if (kind == CAP_SHELTER or kind == CAP_UNITS) and st.wl_count[t, origin]:
        _push_pending(st, t, origin)


# ============================================================================================
# Allocation
# ============================================================================================
@kernel_function
def _accepts_offer(st, slot: int, transition: int, refusal: float) -> bool:
    if st.counters[C_HOOK_OFFER]:
        with objmode(accepted="boolean"):
            accepted = hooks.accepts_offer(slot, transition, refusal)
        return accepted
    if refusal <= 0:
        return True
    target = st.edge_target[transition]
    n = st.h_offers[slot, st.qidx[target]]
    return uniform(st.h_seed[slot], draw_tag(P_OFFER, target, n)) >= refusal


@kernel_function
def _accepts_move(st, slot: int, destination: int, probability: float) -> bool:
    if st.counters[C_HOOK_MOVE]:
        with objmode(accepted="boolean"):
            accepted = hooks.accepts_move(slot, destination, probability)
        return accepted
    return uniform(st.h_seed[slot], draw_tag(P_MOBILITY, destination, st.h_mobility_offers[slot])) < probability


@kernel_function
def offer_until_accepted(st, t: int, state: int, size_class: int, repeat: bool, public: int) -> bool:
    """Offer a vacancy of ``state`` to waiting households in priority order (shelter places:
    households that fit the free places; housing: those of ``size_class``, of ``public`` where
    lettings are shared by origin). Refusers keep their place on the list. With ``repeat``, go on
    while room remains. Returns whether one was placed.

    Under the families-first rule, shelter places are held for the household at the head of the
    list while it does not fit (until more places free up or its request lapses)."""
    shelter = st.cap_kind[state] == CAP_SHELTER
    hold = shelter and st.rule[t, state] == RULE_FAMILIES_FIRST
    q = st.qidx[state]
    placed = False
    n_refused = 0
    refused = st.refused
    month = st.counters[C_MONTH]
    first = size_class + (public * st.units.shape[2] if st.grp_on[t, state] else 0)
    last = first + 1
    while True:
        if shelter:
            free = -(st.occ_p[t, state] - st.places[t, state])
            if free <= 0:
                break
            first, last = 0, (free if free < MAX_PERSONS_BIN else MAX_PERSONS_BIN)
            if hold:
                last = MAX_PERSONS_BIN
        slot = wl_best(st, t, state, first, last)
        if slot < 0 or (hold and st.h_persons[slot] > free):
            break
        transition = st.edge_index[st.h_state[slot], state]
        accepted = _accepts_offer(st, slot, transition, st.e_refusal[t, transition])
        st.h_offers[slot, q] += 1
        st.r_offers[t, state, month] += 1
        if accepted:
            _record_wait(st, t, state, st.clock[K_NOW] - st.h_queue_since[slot, q])
            _record_wait_group(st, slot)
            _move(st, slot, transition, -1)
            placed = True
            if not repeat:
                break
            if not shelter and st.used_units[t, state, size_class] >= st.units[t, state, size_class]:
                break
        else:
            st.r_refusals[t, state, month] += 1
            k0, k1, k2, k3 = household_key(st, slot, t, state)
            fit = fit_bin(st, state, slot)
            wl_discard(st, t, state, slot)
            if n_refused >= refused.shape[0]:
                bigger = np.empty((2 * refused.shape[0], HEAP_COLUMNS), np.float64)
                bigger[:n_refused] = refused[:n_refused]
                st.refused = bigger
                refused = bigger
            refused[n_refused, 0] = k0
            refused[n_refused, 1] = k1
            refused[n_refused, 2] = k2
            refused[n_refused, 3] = k3
            refused[n_refused, 4] = slot
            refused[n_refused, 5] = fit
            n_refused += 1
    for i in range(n_refused):
        wl_add(st, t, state, int(refused[i, 4]), refused[i, 0], refused[i, 1], refused[i, 2], refused[i, 3], int(refused[i, 5]))
    return placed


@kernel_function
def fill_pending(st) -> None:
    """Offer every vacancy that may have opened (states pushed on the pending stack)."""
    n_states = len(st.cap_kind)
    while st.counters[C_PENDING] > 0:
        n = st.counters[C_PENDING] - 1
        st.counters[C_PENDING] = n
        code = st.pending[n]
        t, state = code // n_states, code % n_states
        kind = st.cap_kind[state]
        if kind == CAP_SHELTER:
            if st.places[t, state] - st.occ_p[t, state] > 0:
                offer_until_accepted(st, t, state, 0, True, 0)
        elif kind == CAP_UNITS:
            for c in range(st.units.shape[2]):
                if st.used_units[t, state, c] < st.units[t, state, c]:
                    offer_until_accepted(st, t, state, c, True, 0)


@kernel_function
def _offer_elsewhere(st, t: int, state: int, size_class: int) -> bool:
    """Maybe offer a letting of territory ``t`` to a household waiting in a linked territory."""
    share = st.mob_share[t]
    _, u, _ = stream_next(st, st.mob_stream[t])
    if u >= share:
        return False
    total = 0.0
    n = st.link_n[t]
    m = 0
    for k in range(n):  # the weights: households waiting there x acceptance at that distance
        waiting = st.wl_count[st.link_j[t, k], state]
        if waiting and st.link_p[t, k] > 0:
            total += waiting * st.link_p[t, k]
            m += 1
    if m == 0:
        return False
    pick = (u / share) * total
    j, probability = -1, 0.0
    running = 0.0
    for k in range(n):  # the first link whose cumulative weight passes the pick, else the last
        jj, p = st.link_j[t, k], st.link_p[t, k]
        waiting = st.wl_count[jj, state]
        if waiting and p > 0:
            running += waiting * p
            j, probability = jj, p
            if pick < running:
                break
    slot = -1
    n_size = st.units.shape[2]
    for g in range(N_PUBLICS if st.grp_on[j, state] else 1):  # the best of any public there
        b = g * n_size + size_class
        candidate = wl_best(st, j, state, b, b + 1)
        if candidate >= 0 and (slot < 0 or household_key(st, candidate, j, state) < household_key(st, slot, j, state)):
            slot = candidate
    if slot < 0:
        return False
    accepted = _accepts_move(st, slot, t, probability)
    st.h_mobility_offers[slot] += 1
    month = st.counters[C_MONTH]
    st.r_mobility_offers[t, month] += 1
    if not accepted:
        st.r_mobility_refusals[t, month] += 1
        return False
    _record_wait(st, t, state, st.clock[K_NOW] - st.h_queue_since[slot, st.qidx[state]])
    _record_wait_group(st, slot)
    _move(st, slot, st.edge_index[st.h_state[slot], state], t)
    return True


@kernel_function
def let(st, t: int, state: int, size_class: int) -> None:
    """A unit of a turnover-supplied stock is let: to a household of a linked territory (mobility)
    or of this one; if none fits it goes to ordinary demand."""
    if st.mob_stream[t] >= 0 and st.mob_states[state] and _offer_elsewhere(st, t, state, size_class):
        used = True
    elif st.grp_on[t, state]:
        # the letting is reserved to a public by its share; if none of that public fits, it goes
        # to the next public with a share (the landlord lets to another homeless household)
        _, u, _ = stream_next(st, st.sup_stream[t, state])
        first = N_PUBLICS - 1
        for g in range(N_PUBLICS):
            if u < st.grp_cum[t, state, g]:
                first = g
                break
        used = False
        for i in range(N_PUBLICS):
            g = (first + i) % N_PUBLICS
            share = st.grp_cum[t, state, g] - (st.grp_cum[t, state, g - 1] if g > 0 else 0.0)
            if share > 0 and offer_until_accepted(st, t, state, size_class, False, g):
                used = True
                break
    else:
        used = offer_until_accepted(st, t, state, size_class, False, 0)
    month = st.counters[C_MONTH]
    st.r_lettings[t, state, month] += 1
    if not used:
        st.r_lettings_unused[t, state, month] += 1


# ============================================================================================
# Events
# ============================================================================================
@kernel_function
def schedule_arrival(st, t: int, inflow: int) -> None:
    rate = st.inf_rate[t, inflow] / DAYS_PER_YEAR
    if rate <= 0:
        return
    gap, _, _ = stream_next(st, st.inf_stream[t, inflow])
    schedule(st, st.clock[K_NOW] + gap / rate, EV_ARRIVAL, t, inflow, 0)


@kernel_function
def schedule_letting(st, t: int, state: int) -> None:
    """Schedule the next letting of a turnover-supplied state (Poisson: a rate change simply
    draws the next one anew)."""
    st.sup_token[t, state] += 1
    rate = letting_rate(st, t, state)
    if rate <= 0:
        return
    gap, _, _ = stream_next(st, st.sup_stream[t, state])
    schedule(st, st.clock[K_NOW] + gap / rate, EV_LETTING, t, state, st.sup_token[t, state])


@kernel_function
def _arrival(st, t: int, inflow: int) -> None:
    """A household becomes homeless, unless prevention keeps it housed or diverts it to housing."""
    _, u, seed = stream_next(st, st.inf_stream[t, inflow])
    schedule_arrival(st, t, inflow)
    cause = st.inf_cause[t, inflow]
    month = st.counters[C_MONTH]
    prevented = st.prevented[t, cause]
    if u < prevented:
        st.r_prevented[t, cause, month] += 1
        return
    share, divert_to = st.div_share[t, cause], st.div_to[t, cause]
    slot = new_household(st, t, seed, cause, st.inf_pop[t, inflow], st.clock[K_NOW])
    spell_open(st, slot)
    st.r_entries[t, cause, month] += 1
    st.r_entries_persons[t, cause, month] += st.h_persons[slot]
    if u < prevented + share:
        st.r_diverted[t, cause, month] += 1
        _enter(st, slot, divert_to, math.nan, 0.0)
    else:
        _enter(st, slot, st.inf_entry[t, inflow], math.nan, 0.0)


@kernel_function
def _letting(st, t: int, state: int, token: int) -> None:
    if token != st.sup_token[t, state]:
        return  # superseded by a rate change
    _, u, _ = stream_next(st, st.sup_stream[t, state])
    n = st.sup_mix_n[t, state]
    size_class = n - 1
    for i in range(n):
        if u < st.sup_mix_cum[t, state, i]:
            size_class = i
            break
    let(st, t, state, size_class)
    schedule_letting(st, t, state)


@kernel_function
def _call(st, slot: int) -> None:
    """A household on the street asks the 115: it joins the lists of the 115's shelters for
    ``request_days``; a place that frees up meanwhile may be its (by the lists' rule)."""
    t = st.h_terr[slot]
    state = st.h_state[slot]
    st.h_ncalls[slot] += 1
    profile = st.h_profile[slot]
    asked = False
    for k in range(st.n_out_q[state]):
        tr = st.out_q[state, k]
        if st.e_request[tr] and not st.e_closed[t, tr] and st.elig[profile, tr]:
            _join(st, slot, tr, st.h_entered_state[slot])  # the wait runs from the street entry
            asked = True
    if asked:
        st.r_requests[t, st.counters[C_MONTH]] += 1
        lapse_push(st, t, st.clock[K_NOW] + st.line_par[t, LP_REQUEST_DAYS], slot, st.h_token[slot])


@kernel_function
def _call_end(st, slot: int) -> None:
    """The household's request lapsed unmet (it is still on the street): it leaves the 115's
    lists, places held for it go to others, and it calls again later."""
    t = st.h_terr[slot]
    state = st.h_state[slot]
    lapsed = False
    for k in range(st.n_out_q[state]):
        tr = st.out_q[state, k]
        if st.e_request[tr]:
            target = st.edge_target[tr]
            if wl_discard(st, t, target, slot):
                lapsed = True
                if st.wl_count[t, target]:
                    _push_pending(st, t, target)
    if lapsed:
        st.r_unmet[t, st.counters[C_MONTH]] += 1
    u = uniform(st.h_seed[slot], draw_tag(P_RECALL, 1024 + state, st.h_ncalls[slot]))
    schedule(st, st.clock[K_NOW] + law_sample(st, st.line_recall[t], u), EV_CALL, slot, st.h_token[slot], 0)


@kernel_function
def _regularise(st, slot: int) -> None:
    """A household gets a regular residence status: the queues it was not eligible to open."""
    t = st.h_terr[slot]
    st.h_status[slot] = 1
    st.occ_reg_p[t, st.h_state[slot]] += st.h_persons[slot]
    st.h_profile[slot] = profile_of(st, slot)
    st.r_regularised[t, st.counters[C_MONTH]] += 1
    state = st.h_state[slot]
    profile = st.h_profile[slot]
    for k in range(st.n_out_q[state]):
        tr = st.out_q[state, k]
        if st.e_request[tr] or st.e_closed[t, tr] or not st.elig[profile, tr]:
            continue
        if st.h_ticket[slot, st.qidx[st.edge_target[tr]]] == 0:
            _join(st, slot, tr, st.clock[K_NOW])


@kernel_function
def _support_ends(st, slot: int) -> None:
    if st.h_supported[slot]:
        st.h_supported[slot] = 0
        st.support_used[st.h_terr[slot]] -= 1


@kernel_function
def _month_end(st, month: int) -> None:
    now = st.clock[K_NOW]
    st.counters[C_MONTHS_DONE] = month + 1
    n_t, n_s = st.occ_h.shape
    for t in range(n_t):
        for s in range(n_s):
            st.r_occupancy[t, s, month] = st.occ_h[t, s]
            st.r_persons[t, s, month] = st.occ_p[t, s]
        for s in range(n_s):
            _integrate(st, t, s, now)
            _integrate_capacity(st, t, s, now)
        for s in range(n_s):
            st.r_occupancy_mean[t, s, month] = st.hdays[t, s] / MONTH_DAYS
            basis = st.cost_basis[t, s]
            if basis >= 0:
                if basis == BASIS_PERSONS:
                    days = st.pdays[t, s]
                elif basis == BASIS_HOUSEHOLDS:
                    days = st.hdays[t, s]
                else:
                    days = st.cdays[t, s]
                st.r_cost[t, s, month] = days * st.cost_per_day[t, s]
            st.hdays[t, s] = 0.0
            st.pdays[t, s] = 0.0
            st.cdays[t, s] = 0.0
        st.r_support_slots[t, month] = st.support_slots[t]
        st.r_occupancy_kind[t, :, :, month] = st.occ_kind[t]
        st.r_persons_kind[t, :, :, month] = st.occ_kind_p[t]
        st.r_persons_regular[t, :, month] = st.occ_reg_p[t]
        st.r_silent[t, month] = st.silent_occ[t]
        st.r_support_used[t, month] = st.support_used[t]
        st.r_support_cost[t, month] = st.support_slots[t] * MONTH_DAYS * st.support_cost_day[t]
        for s in range(n_s):
            st.r_capacity[t, s, month] = capacity(st, t, s)
            if st.qidx[s] >= 0:
                st.r_queue_length[t, s, month] = st.wl_count[t, s]
        _month_end_needs(st, t, month, now)
    if month + 1 < st.counters[C_MONTHS]:
        schedule(st, (month + 2) * MONTH_DAYS, EV_MONTH_END, month + 1, 0, 0)


@kernel_function
def _set_clock(st, time: float) -> None:
    st.clock[K_NOW] = time
    if time >= st.clock[K_MONTH_END]:
        month = min(int(time / MONTH_DAYS), st.counters[C_MONTHS] - 1)
        st.counters[C_MONTH] = month
        st.clock[K_MONTH_END] = (month + 1) * MONTH_DAYS


@kernel_function
def set_month_from(st, time: float) -> None:
    """Set the clock to ``time`` and the month from it (a Mesa event runs at ``time``)."""
    st.clock[K_NOW] = time
    month = min(int(time / MONTH_DAYS), st.counters[C_MONTHS] - 1)
    st.counters[C_MONTH] = month
    st.clock[K_MONTH_END] = (month + 1) * MONTH_DAYS


@kernel_function
def run_events(st, until: float, mesa_time: float) -> int:
    """Process the kernel's events up to ``until`` and no later than ``mesa_time`` (a Python
    event at that time runs after the kernel's own events of the same time). Returns why it
    stopped: R_DONE, R_PYTHON (a Python event, id in counters), R_REFILL, R_GROWN, R_SLIDE."""
    counters = st.counters
    if counters[C_NEED_FILL]:
        counters[C_NEED_FILL] = 0
        fill_pending(st)
    while True:
        if counters[C_STREAM_LOW]:
            return R_REFILL
        if households_low(st):
            if len(st.h_seed) >= counters[C_MAX_HOUSEHOLDS]:
                return R_TOO_MANY
            grow_households(st)
            return R_GROWN
        time = next_event_time(st)
        lapse = _lapse_first(st)
        if lapse:
            time = st.clock[K_LAPSE]
        if time > until or time > mesa_time:
            return R_DONE
        if lapse:
            a, b = _lapse_pop(st)
            kind, c = EV_CALL_END, 0
        else:
            kind, a, b, c = _pop_event(st)
        _set_clock(st, time)
        counters[C_EVENTS] += 1
        if kind == EV_ARRIVAL:
            _arrival(st, a, b)
        elif kind == EV_DEPART:
            if st.h_token[a] == b:
                _move(st, a, c, -1)
        elif kind == EV_READY:
            if st.h_token[a] == b:
                _join(st, a, c, time)
        elif kind == EV_LETTING:
            _letting(st, a, b, c)
        elif kind == EV_MONTH_END:
            _month_end(st, a)
        elif kind == EV_CALL:
            if st.h_token[a] == b:
                _call(st, a)
        elif kind == EV_CALL_END:
            if st.h_token[a] == b:
                _call_end(st, a)
        elif kind == EV_OUTREACH:
            if st.h_token[a] == b:
                if st.h_calls[a] < 0:
                    st.silent_occ[st.h_terr[a]] -= 1
                st.h_calls[a] = 1  # the outreach team asks for it, and it asks from then on
                _call(st, a)
        elif kind == EV_REGULARISE:
            if st.h_uid[a] == b and st.h_state[a] >= 0 and not st.h_status[a]:
                _regularise(st, a)
        elif kind == EV_SUPPORT_END:
            if st.h_token[a] == b:
                _support_ends(st, a)
        else:
            counters[C_PYEVENT] = a
            counters[C_NEED_FILL] = 1
            return R_PYTHON
        if counters[C_NSLIDE]:
            counters[C_NEED_FILL] = 1
            return R_SLIDE
        if counters[C_PENDING]:
            fill_pending(st)
        if counters[C_CHECK] and not capacities_hold(st):
            return R_INVARIANT


@kernel_function
def capacities_hold(st) -> bool:
    """Whether every stock is within its capacity and none is negative (a check for tests, run
    after every event when ``counters[C_CHECK]`` is set)."""
    st.counters[C_CHECKS] += 1
    n_t, n_s = st.occ_h.shape
    for t in range(n_t):
        for s in range(n_s):
            if st.occ_h[t, s] < 0 or st.occ_p[t, s] < 0:
                return False
            kind = st.cap_kind[s]
            if kind == CAP_SHELTER and st.occ_p[t, s] > st.places[t, s]:
                return False
            if kind == CAP_UNITS:
                for c in range(st.units.shape[2]):
                    if st.used_units[t, s, c] > st.units[t, s, c] or st.used_units[t, s, c] < 0:
                        return False
    return True


# ============================================================================================
# The initial population
# ============================================================================================
@kernel_function
def populate_state(st, t: int, state: int, in_persons: bool, count: int, cause: int, population: int, stream: int, entering, eligible_cache) -> int:
    """Place the initial occupants of one state, with elapsed stays drawn at equilibrium.

    Resumable: progress is kept in the counters (placed, rejections); returns R_DONE, R_REFILL
    (the stream needs a block), R_GROWN (household arrays grew) or R_ERROR (no household drawn
    from the mix can be placed)."""
    counters = st.counters
    capacitated = st.qidx[state] >= 0
    while counters[C_PLACED] < count:
        if st.st_filled[stream] - st.st_used[stream] < 1:
            return R_REFILL
        if households_low(st):
            if len(st.h_seed) >= counters[C_MAX_HOUSEHOLDS]:
                return R_TOO_MANY
            grow_households(st)
            return R_GROWN
        _, _, seed = stream_next(st, stream)
        counters[C_STREAM_LOW] = 0  # this stream is refilled by the caller as needed
        slot = new_household(st, t, seed, cause, population, st.clock[K_NOW])
        profile = st.h_profile[slot]
        eligible = eligible_cache[profile]
        if eligible < 0:
            ok = not capacitated
            for k in range(len(entering)):
                if st.elig[profile, entering[k]]:
                    ok = True
                    break
            eligible = 1 if ok else 0
            eligible_cache[profile] = eligible
        persons = st.h_persons[slot]
        fits = eligible == 1 and has_room(st, t, state, slot) and (not in_persons or counters[C_PLACED] + persons <= count)
        if not fits:
            remove_household(st, slot)
            counters[C_REJECTIONS] += 1
            if counters[C_REJECTIONS] > MAX_REJECTIONS:
                return R_DONE if counters[C_PLACED] else R_ERROR
            continue
        counters[C_REJECTIONS] = 0
        counters[C_PLACED] += persons if in_persons else 1
        st.r_initial[t, state] += 1
        st.r_initial_persons[t, state] += persons
        law = st.stay_law[t, state]
        if law < 0:
            _enter(st, slot, state, math.nan, 0.0)
        else:
            seed_u = st.h_seed[slot]
            chosen = law_sample_length_biased(
                st, law, uniform(seed_u, draw_tag(P_ELAPSED, state, 0)), uniform(seed_u, draw_tag(P_ELAPSED, state, 1))
            )
            elapsed = chosen * uniform(seed_u, draw_tag(P_ELAPSED, state, 2))
            _enter(st, slot, state, chosen - elapsed, elapsed)
    return R_DONE


# ============================================================================================
# Levers, called from Python by policies
# ============================================================================================
@kernel_function
def add_capacity(st, t: int, state: int, amount: int, size_class: int) -> None:
    """Open places or units now (first lettings of turnover stocks are the caller's)."""
    change_capacity(st, t, state, amount, size_class, st.clock[K_NOW])
    if st.cap_kind[state] == CAP_TURNOVER:
        schedule_letting(st, t, state)
    elif st.wl_count[t, state]:
        _push_pending(st, t, state)


@kernel_function
def remove_capacity(st, t: int, state: int, amount: int, size_class: int) -> None:
    """Close places or units: free ones now, occupied ones as their occupants leave."""
    change_capacity(st, t, state, -amount, size_class, st.clock[K_NOW])
    if st.cap_kind[state] == CAP_TURNOVER:
        schedule_letting(st, t, state)


@kernel_function
def set_share_to_homeless(st, t: int, state: int, share: float) -> None:
    st.sup_share[t, state] = share
    schedule_letting(st, t, state)


@kernel_function
def set_priority_rule(st, t: int, state: int, rule: int) -> None:
    """Change the priority rule of a waiting list; the households on it are re-sorted."""
    st.rule[t, state] = rule
    for slot in wl_households(st, t, state):
        wl_discard(st, t, state, slot)
        k0, k1, k2, k3 = household_key(st, slot, t, state)
        wl_add(st, t, state, slot, k0, k1, k2, k3, fit_bin(st, state, slot))


@kernel_function
def close_transition(st, t: int, transition: int) -> None:
    """Households waiting along a closed transition leave that waiting list."""
    target, origin = st.edge_target[transition], st.edge_origin[transition]
    for slot in wl_households(st, t, target):
        if st.h_state[slot] == origin:
            wl_discard(st, t, target, slot)
            st.h_queue_since[slot, st.qidx[target]] = math.nan


@kernel_function
def schedule_python(st, time: float, event: int) -> None:
    """Schedule Python event number ``event`` on the kernel's queue."""
    schedule(st, time, EV_PYTHON, event, 0, 0)


@kernel_function
def set_laws(st, code, a, b, off, n, lbtotal, edges, cumulative, lbcumulative) -> None:
    """Replace the law table (a policy brought a new readiness law)."""
    st.law_code = code
    st.law_a = a
    st.law_b = b
    st.law_off = off
    st.law_n = n
    st.law_lbtotal = lbtotal
    st.emp_edges = edges
    st.emp_cum = cumulative
    st.emp_lbcum = lbcumulative


@kernel_function
def take_slides(st):
    """The lease slides recorded since the last call: rows (territory, state, size class)."""
    n = st.counters[C_NSLIDE]
    out = st.slide_buf[:n].copy()
    st.counters[C_NSLIDE] = 0
    return out


# ============================================================================================
# Reading the state from Python
# ============================================================================================
@kernel_function
def household_arrays(st):
    """The household arrays (fetch again after the kernel reports R_GROWN)."""
    return (
        st.h_seed, st.h_terr, st.h_kind, st.h_persons, st.h_size, st.h_needs, st.h_status, st.h_priority,
        st.h_cause, st.h_state, st.h_entered_state, st.h_entered_system, st.h_supported, st.h_housed_at,
        st.h_token, st.h_uid, st.h_mobility_offers, st.h_visits, st.h_offers, st.h_queue_since, st.h_ticket,
        st.h_calls,
    )


@kernel_function
def logs(st):
    """The waits, times to housing and trajectory rows recorded so far (copies)."""
    nw, nt, nm = st.counters[C_NWAIT], st.counters[C_NTTH], st.counters[C_NMV]
    return (
        st.w_val[:nw].copy(), st.w_where[:nw].copy(), st.w_month[:nw].copy(),
        st.th_val[:nt].copy(), st.th_terr[:nt].copy(), st.th_month[:nt].copy(),
        st.mv_i[:nm].copy(), st.mv_f[:nm].copy(),
    )


@kernel_function
def pool_rows(st):
    """Rows of the waiting lists' pool: allocated, handed out to heaps, holding entries."""
    return st.heap_pool.shape[0], st.counters[C_POOL], st.heap_size.sum()


@kernel_function
def compact_heaps(st) -> None:
    """Give back the pool rows that no heap uses (done by the kernel when the pool is full)."""
    _compact_heaps(st, -1, 0)


@kernel_function
def heap_head(st, hid: int):
    """Key and sequence number of the head of a heap (the head may be stale)."""
    return st.heap_pool[st.heap_off[hid], : HEAP_COLUMNS - 1].copy()


# ============================================================================================
# Spells to housing (censoring-aware indicators) and costs by needs level. Kept apart, reached
# by one-line calls from _arrival, _enter, remove_household, the allocation and _month_end.
# ============================================================================================
C_NSPELL = 39  # rows of the spell log
#: Events of a spell row: housed (first home), left the system unhoused, still unhoused at the
#: end of the run (censored), back on the street after being housed (a return; its start is the
#: housing date, its duration the time housed).
SPELL_HOUSED, SPELL_LEFT, SPELL_CENSORED, SPELL_RETURN = 0, 1, 2, 3
SPELL_COLUMNS = 9  # territory, entry state, event, kind, needs, priority, status, cause, persons
WAIT_GROUP_COLUMNS = 4  # kind, needs, priority, state waited from
N_NEEDS = 3
# h_spell of a household: 0 none (initial population, or done), -1 arrived (entry state to come),
# code + 1 >= 1 an open spell, -(code + 2) <= -2 housed and watched for a return to the street,
# where code = territory of entry x states + entry state.


@kernel_function
def _spell_row(st, slot: int, code: int, event: int, start: float, duration: float) -> None:
    n = st.counters[C_NSPELL]
    if n >= st.sp_i.shape[0]:
        m = max(64, 2 * st.sp_i.shape[0])
        bigger_i = np.zeros((m, SPELL_COLUMNS), np.int32)
        bigger_i[:n] = st.sp_i[:n]
        st.sp_i = bigger_i
        bigger_f = np.zeros((m, 2), np.float64)
        bigger_f[:n] = st.sp_f[:n]
        st.sp_f = bigger_f
    n_states = len(st.cap_kind)
    row = st.sp_i[n]
    row[0] = code // n_states
    row[1] = code % n_states
    row[2] = event
    row[3] = st.h_kind[slot]
    row[4] = st.h_needs[slot]
    row[5] = st.h_priority[slot]
    row[6] = st.h_status[slot]
    row[7] = st.h_cause[slot]
    row[8] = st.h_persons[slot]
    st.sp_f[n, 0] = start
    st.sp_f[n, 1] = duration
    st.counters[C_NSPELL] = n + 1


@kernel_function
def spell_open(st, slot: int) -> None:
    """An arriving household starts a spell towards housing (its entry state is set by _enter)."""
    st.h_spell[slot] = -1


@kernel_function
def _spell_enter(st, slot: int, state: int, now: float) -> None:
    """A household enters ``state``: its spell's entry state, its housing, its return to the street."""
    h = st.h_spell[slot]
    if h == 0:
        return
    kind = st.state_kind[state]
    if h == -1:
        h = st.h_terr[slot] * len(st.cap_kind) + state + 1
        st.h_spell[slot] = h
    if h >= 1:
        if kind == KIND_HOUSING:
            start = st.h_entered_system[slot]
            _spell_row(st, slot, h - 1, SPELL_HOUSED, start, now - start)
            st.h_spell[slot] = -(h + 1)
    elif kind == KIND_STREET:
        housed = st.h_housed_at[slot]
        _spell_row(st, slot, -h - 2, SPELL_RETURN, housed, now - housed)
        st.h_spell[slot] = 0


@kernel_function
def _spell_end(st, slot: int) -> None:
    """A household leaves the system: an open spell ends unhoused."""
    h = st.h_spell[slot]
    if h >= 1:
        start = st.h_entered_system[slot]
        _spell_row(st, slot, h - 1, SPELL_LEFT, start, st.clock[K_NOW] - start)
    st.h_spell[slot] = 0


@kernel_function
def spell_log(st):
    """The spell rows so far (copies), with a censored row for every household still unhoused
    now, and the group columns of the wait log: (spell ints, spell floats, wait groups)."""
    n = st.counters[C_NSPELL]
    n_states = len(st.cap_kind)
    now = st.clock[K_NOW]
    open_slots = 0
    for slot in range(st.counters[C_NALLOC]):
        if st.h_spell[slot] >= 1 and st.h_state[slot] >= 0:
            open_slots += 1
    out_i = np.zeros((n + open_slots, SPELL_COLUMNS), np.int32)
    out_f = np.zeros((n + open_slots, 2), np.float64)
    out_i[:n] = st.sp_i[:n]
    out_f[:n] = st.sp_f[:n]
    k = n
    for slot in range(st.counters[C_NALLOC]):
        h = st.h_spell[slot]
        if h >= 1 and st.h_state[slot] >= 0:
            code = h - 1
            out_i[k, 0] = code // n_states
            out_i[k, 1] = code % n_states
            out_i[k, 2] = SPELL_CENSORED
            out_i[k, 3] = st.h_kind[slot]
            out_i[k, 4] = st.h_needs[slot]
            out_i[k, 5] = st.h_priority[slot]
            out_i[k, 6] = st.h_status[slot]
            out_i[k, 7] = st.h_cause[slot]
            out_i[k, 8] = st.h_persons[slot]
            start = st.h_entered_system[slot]
            out_f[k, 0] = start
            out_f[k, 1] = now - start
            k += 1
    nw = st.counters[C_NWAIT]
    groups = np.full((nw, WAIT_GROUP_COLUMNS), -1, np.int32)
    m = min(nw, st.w_grp.shape[0])
    groups[:m] = st.w_grp[:m]
    return out_i, out_f, groups


@kernel_function
def _record_wait_group(st, slot: int) -> None:
    """The group of the household whose wait was just recorded (call after _record_wait)."""
    n = st.counters[C_NWAIT] - 1
    if n >= st.w_grp.shape[0]:
        bigger = np.full((max(64, len(st.w_val)), WAIT_GROUP_COLUMNS), -1, np.int32)
        bigger[: st.w_grp.shape[0]] = st.w_grp
        st.w_grp = bigger
    row = st.w_grp[n]
    row[0] = st.h_kind[slot]
    row[1] = st.h_needs[slot]
    row[2] = st.h_priority[slot]
    row[3] = st.h_state[slot]


@kernel_function
def _integrate_needs(st, t: int, s: int, now: float) -> None:
    dt = now - st.nd_last[t, s]
    if dt > 0:
        for n in range(N_NEEDS):
            st.nd_hdays[t, s, n] += st.nd_occ_h[t, s, n] * dt
            st.nd_pdays[t, s, n] += st.nd_occ_p[t, s, n] * dt
        st.nd_last[t, s] = now


@kernel_function
def _occupy_needs(st, t: int, s: int, slot: int, sign: int, now: float) -> None:
    """Households and persons of a state costed by needs level (call beside _occupy)."""
    if not st.nd_costed[t, s]:
        return
    _integrate_needs(st, t, s, now)
    n = st.h_needs[slot]
    st.nd_occ_h[t, s, n] += sign
    st.nd_occ_p[t, s, n] += sign * st.h_persons[slot]


@kernel_function
def _month_end_needs(st, t: int, month: int, now: float) -> None:
    """Cost of the month of the states costed by needs level: the household's reference person at
    the rate of its needs level, the other members (children, partners) at the members' rate."""
    for s in range(st.nd_costed.shape[1]):
        if not st.nd_costed[t, s]:
            continue
        _integrate_needs(st, t, s, now)
        total = 0.0
        for n in range(N_NEEDS):
            hdays = st.nd_hdays[t, s, n]
            c = hdays * st.nd_rate[t, s, n] + (st.nd_pdays[t, s, n] - hdays) * st.nd_other[t, s]
            st.r_cost_needs[t, s, n, month] = c
            total += c
            st.nd_hdays[t, s, n] = 0.0
            st.nd_pdays[t, s, n] = 0.0
        st.r_cost[t, s, month] += total


# ============================================================================================
# Spin-up: after the model has run ``days`` from its initial population (kernel events only, no
# policy), the run starts again from there: times shift back by ``days``, the records restart
# (the model's Python side zeroes the r_* arrays), and the population is the initial one.
# ============================================================================================
@kernel_function
def _shift(x: float, days: float) -> float:
    return x - days  # NaN stays NaN


@kernel_function
def _rekey(st, t: int, s: int) -> None:
    """Rebuild a waiting list with its households' keys computed anew, in their order of joining."""
    q = st.qidx[s]
    n = st.wl_count[t, s]
    if n == 0:
        for b in range(st.n_bins[s]):
            st.heap_size[heap_id(st, t, s, b)] = 0
        st.wl_stale[t, s] = 0
        return
    seqs = np.empty(n, np.int64)
    slots = np.empty(n, np.int64)
    k = 0
    for b in range(st.n_bins[s]):
        hid = heap_id(st, t, s, b)
        h = st.heap_pool
        base = st.heap_off[hid]
        for row in range(base, base + st.heap_size[hid]):
            if _is_live(st, h, row, t, q) and k < n:
                seqs[k] = int(h[row, 4])
                slots[k] = int(h[row, 5])
                k += 1
        st.heap_size[hid] = 0
    order = np.argsort(seqs[:k], kind="mergesort")
    st.wl_count[t, s] = 0
    st.wl_stale[t, s] = 0
    for i in range(k):
        slot = slots[order[i]]
        st.h_ticket[slot, q] = 0
        st.h_ntickets[slot] -= 1
    for i in range(k):
        slot = slots[order[i]]
        k0, k1, k2, k3 = household_key(st, slot, t, s)
        wl_add(st, t, s, slot, k0, k1, k2, k3, fit_bin(st, s, slot))


@kernel_function
def rebase(st, days: float) -> None:
    """Shift every time of the run back by ``days`` (the end of a spin-up becomes time 0)."""
    counters = st.counters
    # --- the pending events, re-filed by day at their shifted times (their order is kept) ---
    n_pending = counters[C_NEV]
    records = np.empty(n_pending, np.int64)
    k = 0
    for i in range(counters[C_TODAY]):
        records[k] = st.td_id[i]
        k += 1
    for day in range(max(counters[C_DAY] + 1, 0), len(st.day_head)):
        record = st.day_head[day]
        while record >= 0:
            records[k] = record
            k += 1
            record = st.ev_data[record, EV_NEXT]
        st.day_head[day] = -1
    counters[C_TODAY] = 0
    counters[C_DAY] = -1
    counters[C_NEV] = 0
    last = len(st.day_head) - 1
    for i in range(k):
        record = records[i]
        if st.ev_data[record, EV_KIND] == EV_MONTH_END:  # the month ends start again below
            st.ev_data[record, EV_NEXT] = counters[C_FREE_EV]
            counters[C_FREE_EV] = record
            continue
        time = st.ev_time[record] - days
        st.ev_time[record] = time
        day = int(time) if time < last else last
        st.ev_data[record, EV_NEXT] = st.day_head[day]
        st.day_head[day] = record
        counters[C_NEV] += 1
    cap = st.lp_time.shape[1]  # the lapses of open 115 requests
    for t in range(len(st.lp_n)):
        for j in range(st.lp_n[t]):
            st.lp_time[t, (st.lp_head[t] + j) % cap] -= days
    _next_lapse(st)
    # --- households ---
    for slot in range(counters[C_NALLOC]):
        if st.h_state[slot] < 0:
            continue
        st.h_entered_state[slot] = _shift(st.h_entered_state[slot], days)
        st.h_entered_system[slot] = _shift(st.h_entered_system[slot], days)
        st.h_housed_at[slot] = _shift(st.h_housed_at[slot], days)
        for q in range(st.h_queue_since.shape[1]):
            st.h_queue_since[slot, q] = _shift(st.h_queue_since[slot, q], days)
        st.h_spell[slot] = 0  # like the initial population: its entry is not observed
    n_t, n_s = st.occ_h.shape
    for t in range(n_t):
        for s in range(n_s):
            st.last_change[t, s] = 0.0
            st.cap_last[t, s] = 0.0
            st.hdays[t, s] = 0.0
            st.pdays[t, s] = 0.0
            st.cdays[t, s] = 0.0
            st.nd_last[t, s] = 0.0
            if st.qidx[s] >= 0:
                _rekey(st, t, s)
    st.nd_hdays[:] = 0.0
    st.nd_pdays[:] = 0.0
    # --- the clock and the logs restart ---
    st.clock[K_NOW] = 0.0
    st.clock[K_MONTH_END] = MONTH_DAYS
    counters[C_MONTH] = 0
    counters[C_MONTHS_DONE] = 0
    counters[C_NWAIT] = 0
    counters[C_NTTH] = 0
    counters[C_NMV] = 0
    counters[C_NSPELL] = 0
    schedule(st, MONTH_DAYS, EV_MONTH_END, 0, 0, 0)
    if counters[C_TRAJECTORIES]:  # the population at the new start, as entries at time 0
        for slot in range(counters[C_NALLOC]):
            if st.h_state[slot] >= 0:
                counters[C_MOVING] = -1
                _log(st, slot, st.h_state[slot], 0.0)
