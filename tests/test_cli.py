"""The ``lda-sim`` command line: outputs, exit codes, one-line errors, atomic writes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xarray as xr
from click.testing import CliRunner, Result

from lda_sim import __version__
from lda_sim.cli import main
from lda_sim.config.schema import all_schemas
from lda_sim.presentation.plotting import PER_RUN_CHARTS

ERROR_PREFIX = "lda-sim: error: "


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def lda_sim(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command in a new interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "lda_sim.cli", *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def assert_one_line_error(stderr: str, file: Path | str, field: str | None = None) -> str:
    """Check ``lda-sim: error: FILE[:LINE]: FIELD: message`` on a single line; return the message."""
    lines = stderr.strip("\n").splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    line = lines[0]
    match = re.match(rf"{re.escape(f'{ERROR_PREFIX}{file}')}(:\d+)?: ", line)
    assert match, line
    rest = line[match.end() :]
    if field:
        assert rest.startswith(f"{field}: "), line
        rest = rest[len(field) + 2 :]
    assert rest.strip(), line
    return rest


def territory_named(data_dir: Path, name: str, label: str) -> str:
    text = (data_dir / "territory_small.yaml").read_text(encoding="utf-8")
    return text.replace("territory: {name: town, label: Town}", f"territory: {{name: {name}, label: {label}}}")


# --------------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def one_year(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """One run of the small scenario over one year with seed 11."""
    small = Path(__file__).parent / "data" / "scenario_small.yaml"
    out = tmp_path_factory.mktemp("run") / "results.nc"
    result = invoke("run", small, "--out", out, "--years", "1", "--seed", "11")
    return result, out


def test_run_writes_a_netcdf_with_units_and_run_attributes(one_year: tuple[Result, Path]) -> None:
    result, out = one_year
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["results.nc"]  # no temporary file left
    with xr.open_dataset(out) as ds:
        for name in ("occupancy", "flow", "wait_days"):
            assert name in ds.data_vars
            assert ds[name].attrs.get("units"), name
            assert ds[name].attrs.get("long_name"), name
        assert ds.sizes["time"] == 12
        assert ds.attrs["scenario"] == "small"
        assert int(ds.attrs["seed"]) == 11
        assert ds.attrs["lda_sim_version"] == __version__
        assert list(ds.territory.values) == ["town"]


def test_run_prints_a_summary_line_per_territory(one_year: tuple[Result, Path]) -> None:
    result, out = one_year
    lines = result.stdout.strip("\n").splitlines()
    assert lines[0].startswith("territoire") and "attente logement" in lines[0]  # French by default (--lang)
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert len(lines) == 4 and lines[2].startswith("Town ") and lines[3].startswith("Période 2025-01:2025-12 :")  # the period said
    assert f"Wrote {out}" in result.stderr and "seed 11" in result.stderr


@pytest.fixture
def two_territories(make_config: Callable[..., Path], data_dir: Path, tmp_path: Path) -> tuple[Result, Path]:
    """The small scenario with a second territory, village, run for half a year."""
    path = make_config(
        scenario=lambda d: d["scenario"]["territories"].append("village.yaml"),
        files={"village.yaml": territory_named(data_dir, "village", "Village")},
    )
    out = tmp_path / "two.nc"
    return invoke("run", path, "--out", out, "--years", "0.5"), out


def test_run_two_territories(two_territories: tuple[Result, Path]) -> None:
    result, out = two_territories
    assert result.exit_code == 0, result.output
    rows = result.stdout.strip("\n").splitlines()[2:-1]  # the last line says the period
    assert [r.split()[0] for r in rows] == ["Town", "Village"]
    with xr.open_dataset(out) as ds:
        assert list(ds.territory.values) == ["town", "village"]


def test_run_honours_years_and_defaults_to_the_scenario_seed(small_scenario_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "half.nc"
    result = invoke("run", small_scenario_path, "--out", out, "--years", "0.5")
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out) as ds:
        assert ds.sizes["time"] == 6
        assert int(ds.attrs["seed"]) == 7  # the scenario's


def test_run_end_to_end_in_a_subprocess(small_scenario_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "results.nc"
    proc = lda_sim("run", small_scenario_path, "--out", out, "--years", "1", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert "Town" in proc.stdout
    with xr.open_dataset(out) as ds:
        assert ds.sizes["time"] == 12 and int(ds.attrs["seed"]) == 3
    assert [p.name for p in out.parent.iterdir()] == ["results.nc"]


# --------------------------------------------------------------------------------------------
# bad input: exit 2, one line, no output
# --------------------------------------------------------------------------------------------
BAD_INPUTS: dict[str, tuple[dict[str, Any], str, str | None]] = {
    # id: (make_config patches, file name the error names, field the error names)
    "malformed-yaml": ({"territory": "territory: {name: town\npopulation: [\n"}, "territory_small.yaml:2", "malformed YAML"),
    "negative-places": ({"territory": lambda d: d["states"]["shelter"].update(places=-5)}, "territory_small.yaml", "states.shelter.places"),
    "unknown-key": ({"scenario": lambda d: d["scenario"].update(horizon=3)}, "scenario_small.yaml", "scenario.horizon"),
    "shares": ({"territory": lambda d: d["population"].update(needs={"low": 0.5})}, "territory_small.yaml", "population.needs"),
    "unreachable": (
        {"pathway": lambda d: (d["pathway"]["states"].update(limbo={"kind": "exit"}))},
        "pathway_small.yaml",
        "pathway.transitions",
    ),
    "missing-territory": ({"scenario": lambda d: d["scenario"].update(territories=["gone.yaml"])}, "scenario_small.yaml", "scenario.territories[0]"),
}


@pytest.mark.parametrize(("patches", "file", "field"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_run_bad_input(make_config: Callable[..., Path], tmp_path: Path, patches: dict[str, Any], file: str, field: str) -> None:
    path = make_config(**patches)
    out_dir = tmp_path / "out"
    result = invoke("run", path, "--out", out_dir / "results.nc", "--years", "1")
    assert result.exit_code == 2, result.output
    assert_one_line_error(result.stderr, path.parent / file, field)
    assert result.stdout == ""
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_run_bad_input_leaves_an_existing_output_untouched(make_config: Callable[..., Path], tmp_path: Path) -> None:
    path = make_config(territory=lambda d: d["transitions"]["street->exit"].update(rate_per_year=-1))
    out = tmp_path / "results.nc"
    out.write_bytes(b"previous results")
    result = invoke("run", path, "--out", out, "--years", "1")
    assert result.exit_code == 2
    message = assert_one_line_error(result.stderr, path.parent / "territory_small.yaml", "transitions.street->exit.rate_per_year")
    assert "-1" in message
    assert out.read_bytes() == b"previous results"
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_missing_scenario_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    for command in (["run", missing, "--out", tmp_path / "r.nc"], ["validate", missing]):
        result = invoke(*command)
        assert result.exit_code == 2
        assert "file not found" in assert_one_line_error(result.stderr, missing, "")
    assert list(tmp_path.iterdir()) == []


def test_bad_input_end_to_end_in_a_subprocess(make_config: Callable[..., Path], tmp_path: Path) -> None:
    path = make_config(territory=lambda d: d["states"]["housing"].update(places=40))
    out = tmp_path / "out" / "results.nc"
    proc = lda_sim("run", path, "--out", out, "--years", "1")
    assert proc.returncode == 2
    message = assert_one_line_error(proc.stderr, path.parent / "territory_small.yaml", "states.housing.places")
    assert "wrong unit" in message
    assert proc.stdout == "" and not out.parent.exists()


# --------------------------------------------------------------------------------------------
# interruption while writing
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("existing", [b"previous results", None], ids=["existing-output", "no-output"])
def test_interrupted_write_leaves_no_partial_file(
    small_scenario_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bytes | None
) -> None:
    out = tmp_path / "results.nc"
    if existing is not None:
        out.write_bytes(existing)
    written: list[Path] = []

    def interrupted(self: xr.Dataset, path: Any = None, *args: Any, **kwargs: Any) -> None:
        Path(path).write_bytes(b"\x89HDF partial")
        written.append(Path(path))
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", interrupted)
    result = invoke("run", small_scenario_path, "--out", out, "--years", "0.5")
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert len(written) == 1 and written[0].parent == tmp_path and written[0] != out  # wrote to a temporary path
    assert not written[0].exists()
    if existing is None:
        assert list(tmp_path.iterdir()) == []
    else:
        assert [p.name for p in tmp_path.iterdir()] == ["results.nc"]
        assert out.read_bytes() == existing


# --------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------
def test_validate_small_scenario(small_scenario_path: Path) -> None:
    result = invoke("validate", small_scenario_path)
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout and "'small'" in result.stdout and "town" in result.stdout


def test_validate_in_a_subprocess(small_scenario_path: Path, make_config: Callable[..., Path]) -> None:
    ok = lda_sim("validate", small_scenario_path)
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = make_config(pathway=lambda d: d["pathway"]["transitions"].append({"from": "exit", "to": "street", "mode": "hazard"}))
    proc = lda_sim("validate", bad)
    assert proc.returncode == 2
    assert "exit" in assert_one_line_error(proc.stderr, bad.parent / "pathway_small.yaml", "pathway.transitions[9].from")


def test_validate_bad_scenario(make_config: Callable[..., Path]) -> None:
    path = make_config(territory=lambda d: d["states"]["shelter"].update(units={"small": 3}))
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, path.parent / "territory_small.yaml", "states.shelter.units")
    assert result.stdout == ""


def test_validate_strict_refuses_bare_numbers(small_scenario_path: Path, data_dir: Path) -> None:
    assert invoke("validate", small_scenario_path).exit_code == 0
    result = invoke("validate", "--strict", small_scenario_path)
    assert result.exit_code == 2
    message = assert_one_line_error(result.stderr, data_dir / "territory_small.yaml")
    field, _, rest = message.partition(": ")
    assert field.split(".")[0] in {"population", "inflows", "initial", "states", "transitions"}, message
    assert "no source" in rest


def _wrap(node: Any, key: str = "") -> Any:
    """Wrap every number of a territory file in a provenance wrapper."""
    if key in ("kinds", "needs", "units", "size_mix", "stay", "ready_after"):
        return {"value": node, "assumption": "test"}
    if isinstance(node, dict):
        return {k: _wrap(v, k) for k, v in node.items()}
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return {"value": node, "assumption": "test"}
    return node


def test_validate_strict_accepts_sourced_territories(make_config: Callable[..., Path]) -> None:
    def wrap_all(d: dict[str, Any]) -> None:
        wrapped = _wrap(d)
        d.clear()
        d.update(wrapped)

    result = invoke("validate", "--strict", make_config(territory=wrap_all))
    assert result.exit_code == 0, result.output
    assert "assumption" in result.stdout


# --------------------------------------------------------------------------------------------
# schema, help, plot
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["scenario", "pathway", "territory"])
def test_schema_prints_valid_json_schema(kind: str) -> None:
    result = invoke("schema", kind)
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == json.loads(json.dumps(all_schemas()[kind]))


def test_schema_defaults_to_scenario_and_rejects_unknown_kinds() -> None:
    assert json.loads(invoke("schema").stdout)["title"] == "lda_sim scenario"
    assert invoke("schema", "household").exit_code == 2


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ([], ["simulate", "run", "validate", "schema", "plot"]),
        (["run"], ["Run one or more SCENARIO", "--out", "--seed", "--years"]),
        (["validate"], ["Check SCENARIO", "--strict"]),
        (["schema"], ["JSON Schema"]),
        (["plot"], ["charts", "RESULTS", "--out", "--territory"]),
        (["report"], ["HTML", "RESULTS", "--out", "--territory"]),
    ],
    ids=["main", "run", "validate", "schema", "plot", "report"],
)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(command: list[str], words: list[str], flag: str) -> None:
    result = invoke(*command, flag)
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    for word in words:
        assert word in result.stdout


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_plot_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.nc"
    result = invoke("plot", missing, "--out", tmp_path / "charts")
    assert result.exit_code == 2
    assert "file not found" in assert_one_line_error(result.stderr, missing)
    assert not (tmp_path / "charts").exists()


def test_plot_chosen_territories(two_territories: tuple[Result, Path], tmp_path: Path) -> None:
    _, results = two_territories
    out = tmp_path / "charts"
    bad = invoke("plot", results, "--out", out, "--territory", "village", "--territory", "nowhere")
    assert bad.exit_code == 2
    assert bad.stderr == f"{ERROR_PREFIX}territory 'nowhere' is not in the dataset (territories: town, village)\n"
    assert not out.exists()  # checked before anything is drawn or written
    result = invoke("plot", results, "--out", out, "--format", "png", "--territory", "village")
    assert result.exit_code == 0, result.output
    expected = ["compare_street", "indicators", *(f"{kind}_village" for kind in PER_RUN_CHARTS)]
    assert sorted(os.listdir(out)) == sorted(f"{name}.png" for name in expected)


def test_plot_on_a_file_that_is_not_results(small_scenario_path: Path, tmp_path: Path) -> None:
    result = invoke("plot", small_scenario_path, "--out", tmp_path / "charts")
    assert result.exit_code == 2
    assert "not a results file" in assert_one_line_error(result.stderr, small_scenario_path)


# --------------------------------------------------------------------------------------------
# Regressions: bugs found by review, fixed
# --------------------------------------------------------------------------------------------
def test_validate_on_a_netcdf_file(one_year: tuple[Result, Path]) -> None:
    _, out = one_year
    result = invoke("validate", out)
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, out)


def test_validate_unknown_allocation_rule(make_config: Callable[..., Path]) -> None:
    path = make_config(scenario=lambda d: d["scenario"].update(allocation={"rule": "nonsense"}))
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, path, "scenario.allocation.rule")


def test_run_unknown_allocation_rule_names_file_and_field(make_config: Callable[..., Path], tmp_path: Path) -> None:
    path = make_config(scenario=lambda d: d["scenario"].update(allocation={"rule": "nonsense"}))
    result = invoke("run", path, "--out", tmp_path / "r.nc", "--years", "0.5")
    assert result.exit_code == 2
    assert_one_line_error(result.stderr.splitlines()[-1], path, "scenario.allocation.rule")


def test_run_years_below_half_a_month(small_scenario_path: Path, tmp_path: Path) -> None:
    result = invoke("run", small_scenario_path, "--out", tmp_path / "r.nc", "--years", "0.01")
    assert result.exit_code == 2


def test_warmup_compiles_the_engine_and_says_so() -> None:
    from lda_sim.cli import main
    from lda_sim.warmup import is_compiled

    result = CliRunner().invoke(main, ["warmup"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Engine ") and " in " in result.output
    assert is_compiled()


def test_run_summary_speaks_the_language_asked(tmp_path: Path) -> None:
    from lda_sim.cli import main

    data = Path(__file__).parent / "data" / "scenario_small.yaml"
    fr = CliRunner().invoke(main, ["run", str(data), "--years", "0.5", "--out", str(tmp_path / "fr.nc")])
    en = CliRunner().invoke(main, ["run", str(data), "--years", "0.5", "--out", str(tmp_path / "en.nc"), "--lang", "en"])
    assert fr.exit_code == 0 and en.exit_code == 0, fr.output + en.output
    assert "rue (début→période)" in fr.stdout and "attente logement" in fr.stdout and "street" not in fr.stdout
    assert "street (start→period)" in en.stdout and "rue" not in en.stdout


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    data = Path(__file__).parent / "data" / "scenario_small.yaml"
    result = invoke("run", data, "--out", tmp_path / "x.nc", "--seed", str(10**23))
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lda-sim: error: ") and " run: " in lines[0] and "--seed" in lines[0]
    assert not (tmp_path / "x.nc").exists()
    unknown = invoke("run", data, "--out", tmp_path / "x.nc", "--no-such-option")
    assert unknown.exit_code == 2 and len(unknown.output.strip().splitlines()) == 1
