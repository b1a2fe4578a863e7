"""The tutorials and experiments run: every notebook top to bottom, and the amp-baseline script."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

import lda_sim
from lda_sim.analysis.indicators import summary_table
from lda_sim.dataset.output import open_results

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
AMP_BASELINE = ROOT / "experiments" / "amp-baseline" / "run.py"
KERNEL = "python3"
CELL_TIMEOUT = 120  # seconds per cell
PLOT_CALL = re.compile(r"\bplot_\w+\(")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def execute(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """Run a notebook in memory with a ``python3`` kernel started in ``cwd``; raise on any cell error."""
    NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebook in notebooks/"


def test_kernel_runs_the_test_interpreter(tmp_path: Path) -> None:
    """The ``python3`` kernel must be this environment's Python, with this lda_sim installed."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import sys, os, lda_sim\nprint(sys.prefix, os.getcwd(), lda_sim.__file__, sep='\\n')")
    ])
    prefix, cwd, package = execute(nb, tmp_path).cells[0].outputs[0]["text"].splitlines()
    assert Path(prefix).resolve() == Path(sys.prefix).resolve()
    assert Path(cwd).resolve() == tmp_path.resolve()
    assert Path(package).resolve() == Path(lda_sim.__file__).resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: cell {i} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    stored = path.read_bytes()
    nb = execute(nbformat.read(path, as_version=4), path.parent)
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    assert path.read_bytes() == stored, "executing the notebook must not rewrite it"

    plotting = [c for c in code if PLOT_CALL.search(c.source)]
    if plotting:  # the last chart of the notebook is displayed as a PNG
        images = [o["data"]["image/png"] for o in plotting[-1].outputs if "image/png" in o.get("data", {})]
        assert images, f"{path.name}: no image/png output in the last plotting cell:\n{plotting[-1].source}"
        assert base64.b64decode(images[-1]).startswith(PNG_SIGNATURE)


def test_amp_baseline_experiment(tmp_path: Path) -> None:
    out = tmp_path / "results"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, str(AMP_BASELINE), "--seeds", "2", "--years", "1", "--out", str(out)],
        capture_output=True, text=True, encoding="utf-8", timeout=300, cwd=tmp_path, env=env,
    )
    assert proc.returncode == 0, proc.stderr

    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4
    assert sorted(zip(summary.seed, summary.territory_id)) == [
        (1, "aix-marseille-provence"), (1, "lyon"), (2, "aix-marseille-provence"), (2, "lyon"),
    ]
    # The rows are the summary tables of the saved datasets.
    for seed in (1, 2):
        ds = open_results(out / f"baseline_seed{seed}.nc")
        assert ds.attrs["seed"] == seed and ds.sizes["time"] == 12
        expected = summary_table(ds).reset_index()
        got = summary[summary.seed == seed].reset_index(drop=True)[expected.columns]
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)

    # The across-seed table: a header, then a median/min/max row per territory and figure.
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if re.search(r"\bmedian\s+min\s+max\s*$", line))
    body = "\n".join(lines[header:])
    for label in summary.territory.unique():
        assert label in body
    assert "street persons at the horizon" in body
    assert "households housed per year" in body
    assert len(re.findall(r"\s-?\d+\s+-?\d+\s+-?\d+\s*$", body, flags=re.M)) >= 2 * 4
