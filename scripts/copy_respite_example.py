"""Rewrite examples/medical-respite/territory.yaml from the calibrated AMP file, keeping the example's
medical-respite parts (its initial beds, places, stay, cost and exits).

    python scripts/copy_respite_example.py

Run it after ``lda-sim calibrate`` rewrites configs/territories/aix-marseille-provence.calibrated.yaml:
tests/test_extensions.py checks that the example is still a copy of that file plus the new state.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "medical-respite" / "territory.yaml"
CALIBRATED = ROOT / "configs" / "territories" / "aix-marseille-provence.calibrated.yaml"


def append_to_section(text: str, section: str, piece: str) -> str:
    """``text`` with ``piece`` added at the end of its top-level ``section``."""
    start = text.index("\n" + section + ":\n") + 1
    following = re.search(r"\n(?=[a-z_]+:)", text[start + len(section) + 2:])
    end = start + len(section) + 2 + following.start() + 1 if following else len(text)
    body = text[start:end].rstrip("\n") + "\n"
    return text[:start] + body + piece + ("\n" if following else "") + text[end:]


def main() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    at = [k for k, line in enumerate(lines) if line == "  medical_respite:\n"]  # initial, states, costs
    parts = {
        "initial": "".join(lines[at[0]:at[0] + 2]),
        "states": "".join(lines[at[1]:at[1] + 5]),
        "costs": "".join(lines[at[2]:at[2] + 2]),
        "transitions": "".join(line for line in lines if line.startswith('  "medical_respite->')),
    }
    out = "".join(lines[:5]) + CALIBRATED.read_text(encoding="utf-8")
    for section, piece in parts.items():
        out = append_to_section(out, section, piece)
    EXAMPLE.write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main()
