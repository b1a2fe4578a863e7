"""Sourced values: a configuration number either bare or wrapped with its source.

A wrapped value is a mapping ``{value: X, source: S22}``, ``{value: X, derived: "rule",
source: [...]}`` or ``{value: X, assumption: "reason"}``. Loading unwraps it and records where
the number comes from, so that reports can list every input with its provenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WRAPPER_KEYS = frozenset({"value", "source", "derived", "assumption", "note", "year"})


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where one configuration value comes from."""

    file: str
    field: str
    value: Any
    kind: str  # "source", "derived", "assumption" or "unsourced"
    sources: tuple[str, ...] = ()
    text: str = ""
    note: str = ""

    def as_row(self) -> dict[str, Any]:
        """A flat dictionary, for tables and reports."""
        return {
            "file": self.file,
            "field": self.field,
            "value": self.value,
            "kind": self.kind,
            "sources": ", ".join(self.sources),
            "text": self.text,
            "note": self.note,
        }


def is_wrapped(node: Any) -> bool:
    """Whether a configuration node is a provenance wrapper."""
    return isinstance(node, dict) and "value" in node and set(node) <= WRAPPER_KEYS


def _sources(node: dict[str, Any]) -> tuple[str, ...]:
    src = node.get("source", ())
    if isinstance(src, str):
        return (src,)
    return tuple(str(s) for s in src)


def _has_number(node: Any) -> bool:
    if isinstance(node, bool):
        return False
    if isinstance(node, (int, float)):
        return True
    if isinstance(node, dict):
        return any(_has_number(v) or _has_number(k) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_number(v) for v in node)
    return False


def unwrap(node: Any, file: str, path: str, records: list[Provenance]) -> Any:
    """Return ``node`` with every wrapper replaced by its value, recording provenance.

    Numbers met outside any wrapper are recorded as ``unsourced`` so that a strict check can
    refuse them in bundled configurations.
    """
    if is_wrapped(node):
        if "derived" in node:
            kind, text = "derived", str(node["derived"])
        elif "assumption" in node:
            kind, text = "assumption", str(node["assumption"])
        else:
            kind, text = "source", ""
        records.append(
            Provenance(file, path, node["value"], kind, _sources(node), text, str(node.get("note", "")))
        )
        return node["value"]
    if isinstance(node, dict):
        return {k: unwrap(v, file, f"{path}.{k}" if path else str(k), records) for k, v in node.items()}
    if isinstance(node, list):
        return [unwrap(v, file, f"{path}[{i}]", records) for i, v in enumerate(node)]
    if _has_number(node):
        records.append(Provenance(file, path, node, "unsourced"))
    return node
