"""Stay-duration laws, sampled by inversion from uniform numbers.

Sampling takes the uniforms as arguments, so that a household's durations come from its own
random stream (common random numbers across scenarios).
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from .errors import ConfigError

_STANDARD_NORMAL = NormalDist()


def _weighted_index(weights: list[float], u: float) -> int:
    """Index drawn with probability proportional to ``weights``, from a uniform ``u``."""
    cumulative = list(itertools.accumulate(weights))
    return min(bisect.bisect_right(cumulative, u * sum(weights)), len(weights) - 1)


class StayLaw:
    """A distribution of durations in days."""

    name: str = ""

    def sample(self, u: float) -> float:
        """Duration in days for a uniform ``u`` in (0, 1)."""
        raise NotImplementedError

    @property
    def mean_days(self) -> float:
        raise NotImplementedError

    def sample_length_biased(self, u: float, v: float) -> float:
        """A duration drawn with density proportional to ``duration x density``: the law of the
        stay in progress of someone found in the state on a given day (at equilibrium), from two
        uniforms. Exact for the built-in laws; this generic fallback picks among 16 draws."""
        candidates = [self.sample((k + u) / 16) for k in range(16)]
        return candidates[_weighted_index(candidates, v)]


@dataclass(frozen=True)
class Exponential(StayLaw):
    mean: float
    name = "exponential"

    def sample(self, u: float) -> float:
        return -self.mean * math.log(u)

    def sample_length_biased(self, u: float, v: float) -> float:
        return -self.mean * (math.log(u) + math.log(v))  # Gamma(2, mean)

    @property
    def mean_days(self) -> float:
        return self.mean


@dataclass(frozen=True)
class LogNormal(StayLaw):
    median: float
    sigma: float
    name = "lognormal"

    def sample(self, u: float) -> float:
        return self.median * math.exp(self.sigma * _STANDARD_NORMAL.inv_cdf(u))

    def sample_length_biased(self, u: float, v: float) -> float:
        return self.median * math.exp(self.sigma**2 + self.sigma * _STANDARD_NORMAL.inv_cdf(u))  # log-mean shifted by sigma^2

    @property
    def mean_days(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


@dataclass(frozen=True)
class Fixed(StayLaw):
    days: float
    name = "fixed"

    def sample(self, u: float) -> float:
        return self.days

    def sample_length_biased(self, u: float, v: float) -> float:
        return self.days

    @property
    def mean_days(self) -> float:
        return self.days


@dataclass(frozen=True)
class Empirical(StayLaw):
    """Piecewise-uniform law: ``shares[i]`` of durations fall uniformly in ``[edges[i], edges[i+1])``."""

    edges: tuple[float, ...]
    shares: tuple[float, ...]
    name = "empirical"

    def __post_init__(self) -> None:
        cumulative, total = [], 0.0
        for s in self.shares:
            total += s
            cumulative.append(total)
        object.__setattr__(self, "_cumulative", tuple(c / total for c in cumulative))

    def sample(self, u: float) -> float:
        cumulative: tuple[float, ...] = self._cumulative  # type: ignore[attr-defined]
        i = min(bisect.bisect_right(cumulative, u), len(cumulative) - 1)
        low = cumulative[i - 1] if i else 0.0
        fraction = (u - low) / (cumulative[i] - low) if cumulative[i] > low else 0.5
        return self.edges[i] + fraction * (self.edges[i + 1] - self.edges[i])

    def sample_length_biased(self, u: float, v: float) -> float:
        """Bin i with weight share_i x its mean; within it, density proportional to x."""
        i = _weighted_index([s * (a + b) / 2 for s, a, b in zip(self.shares, self.edges, self.edges[1:])], u)
        a, b = self.edges[i], self.edges[i + 1]
        return math.sqrt(a * a + v * (b * b - a * a))  # inverse of the CDF (x^2 - a^2) / (b^2 - a^2)

    @property
    def mean_days(self) -> float:
        total = sum(self.shares)
        return sum(s * (a + b) / 2 for s, a, b in zip(self.shares, self.edges, self.edges[1:])) / total


def make_law(spec: dict[str, Any]) -> StayLaw:
    """Build a law from its configuration mapping (already validated by the schema)."""
    law = spec["law"]
    if law == "exponential":
        return Exponential(float(spec["mean_days"]))
    if law == "lognormal":
        return LogNormal(float(spec["median_days"]), float(spec["sigma"]))
    if law == "fixed":
        return Fixed(float(spec["days"]))
    if law == "empirical":
        edges, shares = tuple(map(float, spec["edges_days"])), tuple(map(float, spec["shares"]))
        if len(edges) != len(shares) + 1:
            raise ValueError(f"edges_days has {len(edges)} values, shares {len(shares)}: need one more edge than shares")
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"edges_days must increase: {list(edges)}")
        if abs(sum(shares) - 1) > 1e-6:
            raise ValueError(f"shares sum to {sum(shares):.6g}, not 1")
        return Empirical(edges, shares)
    raise ValueError(f"unknown law {law!r}")


def law_at(spec: dict[str, Any], file: str, field: str) -> StayLaw:
    """:func:`make_law`, a bad law reported as a :class:`ConfigError` at ``file``, ``field``."""
    try:
        return make_law(spec)
    except ValueError as exc:
        raise ConfigError(file, field, str(exc)) from None
