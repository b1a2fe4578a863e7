"""Random streams derived from one seed per run.

Two kinds of stream:

* **Process streams** (arrivals of a cause, lettings of a state, the initial population of a
  state) are numpy generators keyed by names, not by positions, so that adding a territory or a
  cause does not shift the others. The compiled engine draws them in blocks of 1,024 unit
  exponentials, uniforms and 64-bit seeds (:class:`lda_sim.engine.build.Streams`).
* **Household draws** are counter-based: a household holds a 64-bit seed and every draw is a hash
  of that seed and a tag naming its purpose (the stay of the n-th visit to a state, the n-th
  offer from a queue...). A household's draws therefore do not depend on what other households
  did, nor on the scenario: the basis for common random numbers.
"""

from __future__ import annotations

import zlib

import numpy as np

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TWO_POW_MINUS_53 = 2.0**-53

# Purposes of household draws (high bits of the tag).
KIND, PERSONS, NEEDS, STATUS, PRIORITY, STAY, DESTINATION, HAZARD, READY, OFFER, ELAPSED, MOBILITY = range(1, 13)


def name_key(name: str) -> int:
    """A stable 32-bit integer for a name (crc32), used in seed sequences."""
    return zlib.crc32(name.encode("utf-8"))


def process_rng(seed: int, *names: str) -> np.random.Generator:
    """A numpy generator for one process, keyed by the run seed and names."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(name_key(n) for n in names)))


def tag(purpose: int, index: int = 0, count: int = 0) -> int:
    """Tag of a household draw: purpose, an index (state or transition) and a counter."""
    return (purpose << 56) | (index << 32) | count


def uniform(seed: int, draw_tag: int) -> float:
    """A uniform number in (0, 1) from a household seed and a tag (splitmix64 finaliser)."""
    z = (seed + (draw_tag + 1) * _GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    z ^= z >> 31
    return ((z >> 11) + 0.5) * _TWO_POW_MINUS_53
