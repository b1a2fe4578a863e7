"""Values set by path on top of configuration files, for sweeps and calibration.

A path names a field of the scenario, of a policy, of the pathway or of one territory:

* ``scenario.years``
* ``policies[0].units_per_year`` (the scenario's policies, inherited ones first)
* ``pathway.transitions[3].rate_per_year``
* ``territory.aix-marseille-provence.states.hotel.places``

Overrides are applied to the files as read, before they are validated, so a swept value is
checked like any other; a value inside a provenance wrapper replaces the wrapper's ``value``.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ConfigError

_PART = re.compile(r"^([^.\[\]]+)((?:\[\d+\])*)$")


def split_path(path: str) -> list[str | int]:
    """``a.b[2].c`` -> ``['a', 'b', 2, 'c']`` (keys may contain ``-`` and ``->``)."""
    parts: list[str | int] = []
    for piece in path.split("."):
        match = _PART.match(piece)
        if not match:
            raise ValueError(f"malformed path {path!r} at {piece!r}")
        parts.append(match.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return parts


def set_path(data: Any, parts: list[str | int], value: Any, file: str, shown: str) -> None:
    """Set ``value`` at ``parts`` in ``data``: intermediate fields must exist, the last may not."""
    node = data
    for i, part in enumerate(parts[:-1]):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            where = ".".join(str(p) for p in parts[: i + 1])
            raise ConfigError(file, shown, f"override path does not exist: no {where!r} in this file") from None
    last = parts[-1]
    if isinstance(node, dict):
        target = node.get(last)
        if isinstance(target, dict) and "value" in target:
            target["value"] = value  # keep the wrapper's provenance
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value
    else:
        raise ConfigError(file, shown, "override path does not exist in this file")


class Overrides:
    """A set of path -> value overrides, remembering which ones matched a file."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values = dict(values or {})
        for path in self.values:
            split_path(path)  # fail early on a malformed path
        self.used: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.values)

    def apply(self, data: dict[str, Any], prefix: str, file: str, *, keep_prefix: bool = False) -> bool:
        """Apply the overrides whose path starts with ``prefix.`` to ``data``; whether any did."""
        applied = False
        for path, value in self.values.items():
            if not (path.startswith(prefix + ".") or (keep_prefix and path.startswith(prefix + "["))):
                continue
            rest = path if keep_prefix else path[len(prefix) + 1 :]
            set_path(data, split_path(rest), value, file, path)
            self.used.add(path)
            applied = True
        return applied

    def check_used(self, file: str) -> None:
        """Every override must have matched a file (a typo would otherwise be silently ignored)."""
        unused = sorted(set(self.values) - self.used)
        if unused:
            raise ConfigError(
                file, unused[0],
                "override matches no field: paths start with scenario., policies[i]., pathway. or territory.<name>.",
            )
