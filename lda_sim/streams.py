"""Random streams derived from one seed per run.

Two kinds of stream:

* **Process streams** (arrivals of a cause, lettings of a state, the initial population of a
  state) are numpy generators keyed by names, not by positions, so that adding a territory or a
  cause does not shift the others.
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


class BlockStream:
    """Pre-drawn blocks of unit exponentials, uniforms and 64-bit seeds from a numpy generator.

    Drawing scalars one at a time from numpy costs microseconds each; blocks make the cost per
    event negligible while keeping the sequence fixed for a seed.
    """

    __slots__ = ("rng", "block", "_exp", "_uni", "_seeds", "_i")

    def __init__(self, rng: np.random.Generator, block: int = 1024) -> None:
        self.rng = rng
        self.block = block
        self._i = block
        self._exp: list[float] = []
        self._uni: list[float] = []
        self._seeds: list[int] = []

    def _refill(self) -> None:
        self._exp = self.rng.standard_exponential(self.block).tolist()
        self._uni = self.rng.random(self.block).tolist()
        self._seeds = self.rng.integers(0, MASK64, self.block, dtype=np.uint64, endpoint=True).tolist()
        self._i = 0

    def next(self) -> tuple[float, float, int]:
        """One unit exponential, one uniform and one 64-bit seed."""
        if self._i >= self.block:
            self._refill()
        i = self._i
        self._i = i + 1
        return self._exp[i], self._uni[i], self._seeds[i]
