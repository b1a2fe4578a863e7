"""Property test (hypothesis): the bundled configuration files, mutated at random, either load or
stop with the project's own error (ConfigError); what loads runs a month without crashing.

The number of examples is bounded so that the suite stays fast; ``LDA_FUZZ_EXAMPLES=1000`` runs
more (the examples are derandomized: the same ones on every run of the suite).
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lda_sim.analysis.scaling import scale_scenario
from lda_sim.config.errors import ConfigError
from lda_sim.config.scenario import load_scenario
from lda_sim.engine.model import HousingModel

CONFIGS = Path(__file__).parent.parent / "configs"
TARGETS = ("scenarios/baseline.yaml", "pathways/france.yaml", "territories/lyon.yaml", "territories/aix-marseille-provence.yaml")
EXAMPLES = int(os.environ.get("LDA_FUZZ_EXAMPLES", "40"))
OUTCOMES: dict[str, int] = {}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundled files the baseline scenario reads."""
    root = tmp_path_factory.mktemp("configs")
    for rel in (*TARGETS, "sources.yaml"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CONFIGS / rel, root / rel)
    return root


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of every mapping entry and list item."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*path, k)
            yield from leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*path, i)
            yield from leaves(v, (*path, i))


def parent_of(data: Any, path: tuple[Any, ...]) -> Any:
    for p in path[:-1]:
        data = data[p]
    return data


VALUES = st.one_of(
    st.integers(min_value=-10, max_value=10**7),
    st.integers(min_value=10**7, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 0.0, 1, -1, 0.5, 1e300, -1e-300, "", "street", "1e3", "2025-13", True, None, [], {}, [1, 2], {"value": 1}]),
    st.text(max_size=12),
)


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, str, str]:
    """(file, kind of mutation, new text of the file)."""
    rel = draw(st.sampled_from(TARGETS))
    text = (CONFIGS / rel).read_text(encoding="utf-8")
    kind = draw(st.sampled_from(["nudge", "value", "value", "delete", "add", "text"]))
    if kind == "text":  # damage the text itself: cut, duplicate or insert characters
        at = draw(st.integers(0, len(text)))
        span = draw(st.integers(1, 40))
        how = draw(st.sampled_from(["cut", "insert", "duplicate"]))
        if how == "cut":
            new = text[:at] + text[at + span:]
        elif how == "insert":
            new = text[:at] + draw(st.text(alphabet=" \n\t:-[]{}&*!|>#'\"0123456789.eE,%@`\x00", min_size=1, max_size=8)) + text[at:]
        else:
            new = text[:at] + text[at:at + span] + text[at:]
        return rel, f"text-{how}", new
    data = yaml.safe_load(text)
    every = sorted(leaves(data), key=repr)
    if kind == "nudge":  # a planner's edit: a number moved by a factor between 0.5 and 2
        numbers = [p for p in every if type(parent_of(data, p)[p[-1]]) in (int, float)]
        path = draw(st.sampled_from(numbers))
        parent = parent_of(data, path)
        value = parent[path[-1]] * draw(st.floats(0.5, 2.0))
        parent[path[-1]] = round(value) if type(parent[path[-1]]) is int else value
        return rel, kind, yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path = draw(st.sampled_from(every))
    parent = parent_of(data, path)
    if kind == "value":
        parent[path[-1]] = draw(VALUES)
    elif kind == "delete":
        del parent[path[-1]]
    else:
        target = parent if isinstance(parent, dict) else data
        target[draw(st.sampled_from(["unknown_key", "places", "units", "stay", "weight", "extends", "rate_per_year"]))] = draw(VALUES)
    return rel, kind, yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(change=mutation())
def test_mutated_bundled_files_load_or_fail_cleanly_and_what_loads_runs(tree: Path, change: tuple[str, str, str]) -> None:
    rel, kind, text = change
    target = tree / rel
    original = (CONFIGS / rel).read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    try:
        try:
            scenario = load_scenario(tree / "scenarios" / "baseline.yaml", years=1 / 12)
        except ConfigError as exc:
            message = str(exc)
            assert "\n" not in message and message.startswith(str(tree)), message  # one line, naming a file
            OUTCOMES["refused"] = OUTCOMES.get("refused", 0) + 1
            return
        small = scale_scenario(scenario, 0.02)
        ds = HousingModel(small).run()
        assert ds.sizes["time"] == 1
        assert all(math.isfinite(float(v)) for v in ds.occupancy.sum(["state", "territory"]).values)
        OUTCOMES["ran"] = OUTCOMES.get("ran", 0) + 1
    finally:
        target.write_text(original, encoding="utf-8")


def test_fuzz_outcomes_are_both_seen() -> None:
    """The mutations are not all rejected (or all harmless): both outcomes occur."""
    if not OUTCOMES:
        pytest.skip("the property test did not run in this session")
    print(f"fuzz outcomes: {OUTCOMES}")
    assert OUTCOMES.get("refused", 0) > 0 and OUTCOMES.get("ran", 0) > 0
