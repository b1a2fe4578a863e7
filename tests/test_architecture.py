"""The package's layers: configuration -> engine -> dataset -> studies and presentation.

The contracts are in ``setup.cfg`` (``[importlinter]``); this test runs them, and checks that no
two modules of the package import each other, directly or through others.
"""

from __future__ import annotations

import os
from pathlib import Path

import grimp
import networkx as nx
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert lint_imports(config_filename=str(ROOT / "setup.cfg"), no_cache=True) == 0
    finally:
        os.chdir(cwd)


def test_no_import_cycle() -> None:
    graph = grimp.build_graph("lda_sim", exclude_type_checking_imports=True)
    edges = nx.DiGraph(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("lda_sim.")
    )
    cycles = [c for c in nx.strongly_connected_components(edges) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_the_rule_names_of_the_configuration_are_the_rules_of_the_engine() -> None:
    """The configuration checks rule names against its own list (it does not import the engine)."""
    from lda_sim.config.rules import BUILT_IN_RULES
    from lda_sim.engine.allocation import PRIORITY_RULES

    assert set(PRIORITY_RULES) == set(BUILT_IN_RULES)
