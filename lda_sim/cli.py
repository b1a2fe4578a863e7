"""The ``lda-sim`` command line."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

import click

from . import __version__
from .config import load_scenario
from .errors import ConfigError
from .schema import MAX_SEED

EXIT_BAD_INPUT = 2


#: ``--territory`` of ``plot`` and ``report``.
territory_option = click.option(
    "--territory", "territories", multiple=True, metavar="NAME",
    help="Draw the per-territory charts only for this territory (repeat for several); the charts comparing territories cover them all. Default: every territory.",
)


def _fail(message: str) -> NoReturn:
    click.echo(f"lda-sim: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _load(path: str, **overrides: object):
    try:
        return load_scenario(path, **overrides)  # type: ignore[arg-type]
    except ConfigError as exc:
        _fail(str(exc))


def _check_outputs(scenarios: list, files: tuple[str | None, ...] = (), folders: tuple[str | None, ...] = (), inputs: tuple[str, ...] = ()) -> None:
    """Refuse, before anything runs, outputs over an input, inside the configuration tree, or unwritable."""
    from .output import OutputError, check_output

    every_input = [*inputs, *(f for sc in scenarios for f in sc.input_files)]
    config_files = [f for sc in scenarios for f in sc.config_files]
    try:
        for path in filter(None, files):
            check_output(path, every_input, config_files)
        for path in filter(None, folders):
            check_output(path, every_input, config_files, folder=True)
    except OutputError as exc:
        _fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lda-sim")
def main() -> None:
    """lda_sim: simulate households through the street, shelters and housing of territories
    under Logement d'abord policies, and project stocks, flows and waiting times."""
    # Classes and functions named in scenario files ('module:Class') are imported like with
    # `python -m`: from the current folder too (an installed console script leaves it out).
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    from .output import exit_on_sigterm

    exit_on_sigterm()  # a terminated command removes its temporary files like an interrupted one


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="SCENARIO...")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="NetCDF file to write (atomically).")
@click.option("--seed", type=click.IntRange(min=0, max=MAX_SEED), default=None, help="Random seed (default: the first scenario's, used for all).")
@click.option("--years", type=click.FloatRange(min=0, min_open=True, max=100), default=None, help="Horizon in years (default: the scenario's).")
@click.option("--charts", type=click.Path(file_okay=False), default=None, help="Also write the charts to this folder.")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="Language of the charts.")
@click.option("--replicates", type=click.IntRange(min=1), default=None, help="Run N replicates with seeds derived from the root seed (adds a `replicate` dimension).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Dask workers of the local cluster (default: one per core); implies running on Dask.")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler (e.g. tcp://host:8786).")
@click.option("--runs-dir", type=click.Path(file_okay=False), default=None, help="Where each finished run is kept until combined (default: OUT.runs); rerunning resumes from it.")
@click.option("--trajectories", "trajectories", type=click.Path(dir_okay=False), default=None, help="Also write every household's entries and moves to this table (Parquet, or CSV if it ends in .csv); one scenario only.")
@click.option("--scale", type=click.FloatRange(min=0, min_open=True), default=None, help="Multiply every volume (inflows, initial populations, places, units, stocks) by this factor, e.g. 0.1 for a quick national run; not with Dask.")
def run(
    scenarios: tuple[str, ...], out: str, seed: int | None, years: float | None, charts: str | None, lang: str,
    replicates: int | None, workers: int | None, scheduler: str | None, runs_dir: str | None, trajectories: str | None = None,
    scale: float | None = None,
) -> None:
    """Run one or more SCENARIO files (YAML), write the results to --out and print a summary.

    Several scenarios go into one dataset along a `scenario` dimension, the first being the
    baseline; they all use the same seed (common random numbers), so that their differences come
    from the policies, not from chance. With --replicates, --workers or --scheduler the runs go to
    Dask (a local cluster by default) and the dataset gains a `replicate` dimension.
    """
    from .analysis import format_summary, summary_table
    from .model import HousingModel
    from .output import save_dataset
    from .report import attach_inputs
    from .run import combine_scenarios

    if trajectories and (len(scenarios) > 1 or replicates or workers or scheduler):
        _fail("--trajectories records one run: give a single scenario, without --replicates, --workers or --scheduler")
    if scale is not None and (replicates or workers or scheduler):
        _fail("--scale applies to runs in this process: drop --replicates, --workers and --scheduler, or scale with a sweep")
    loaded = [_load(path, seed=seed, years=years) for path in scenarios]
    if scale is not None:
        from .config import check_run_size
        from .scaling import scale_scenario

        loaded = [scale_scenario(sc, scale) for sc in loaded]
        try:
            for sc in loaded:
                check_run_size(sc)
        except ConfigError as exc:
            _fail(str(exc))
    ensemble = bool(replicates or workers or scheduler)
    _check_outputs(loaded, files=(out, trajectories), folders=(charts, (runs_dir or f"{out}.runs") if ensemble else None))
    if charts:
        from .output import OutputError, check_chart_folder

        try:
            check_chart_folder(charts)
        except OutputError as exc:
            _fail(str(exc))
    run_seed = loaded[0].seed if seed is None else seed
    if replicates or workers or scheduler:
        from .ensemble import plan_runs

        specs = plan_runs(scenarios, seed=run_seed, replicates=replicates, years=years)
        ds = _run_ensemble(specs, out, runs_dir, workers, scheduler)
        from .compare import comparison_table, format_comparison

        click.echo(format_comparison(comparison_table(ds), "en"))
        if charts:
            from .plotting import write_charts

            paths = write_charts(ds, charts, lang=lang)
            click.echo(f"Wrote {len(paths)} charts to {charts}", err=True)
        return
    datasets = []
    for sc in loaded:
        click.echo(f"Running {sc.name!r}: {len(sc.territories)} territories, {sc.years:g} years from {sc.start}, seed {run_seed}", err=True)
        started = time.perf_counter()
        try:
            model = HousingModel(sc, seed=run_seed, trajectories=bool(trajectories))
        except ValueError as exc:
            _fail(str(exc))
        datasets.append(attach_inputs(model.run(), sc))
        click.echo(f"  {model.events_processed:,} events in {time.perf_counter() - started:.1f} s", err=True)
    try:
        ds = datasets[0] if len(datasets) == 1 else combine_scenarios(datasets)
    except ValueError as exc:
        _fail(str(exc))
    try:
        save_dataset(ds, out)
    except KeyboardInterrupt:
        click.echo("lda-sim: interrupted; no output written", err=True)
        sys.exit(130)
    click.echo(f"Wrote {out}", err=True)
    if trajectories:
        from .trajectories import save_trajectories, trajectory_table

        written = save_trajectories(trajectory_table(model), trajectories)
        click.echo(f"Wrote {written} ({len(model.moves):,} entries and moves)", err=True)
    for data in datasets:
        if len(datasets) > 1:
            click.echo(f"\n[{data.attrs['scenario']}]")
        click.echo(format_summary(summary_table(data)))
    if charts:
        from .plotting import write_charts

        paths = write_charts(ds, charts, lang=lang)
        click.echo(f"Wrote {len(paths)} charts to {charts}", err=True)


def _run_ensemble(specs, out: str, runs_dir: str | None, workers: int | None, scheduler: str | None):
    """Run an ensemble on Dask, write the combined dataset; exit 1 after writing if runs failed."""
    from .ensemble import SharedFolderError, run_ensemble
    from .output import save_dataset

    runs_dir = runs_dir or f"{out}.runs"
    click.echo(f"{len(specs)} runs on {'the cluster at ' + scheduler if scheduler else 'a local Dask cluster'}; finished runs kept in {runs_dir}", err=True)
    try:
        result = run_ensemble(specs, runs_dir, workers=workers, scheduler=scheduler)
    except SharedFolderError as exc:
        _fail(str(exc))
    except OSError as exc:
        if not scheduler:
            raise
        _fail(f"--scheduler {scheduler}: cannot reach the Dask scheduler: {exc}")
    except KeyboardInterrupt:
        click.echo(f"lda-sim: interrupted; finished runs are kept in {runs_dir}: run the same command again to resume", err=True)
        sys.exit(130)
    if result.reused:
        click.echo(f"Reused {result.reused} finished runs from {runs_dir}", err=True)
    if result.dataset is None:
        _fail("every run failed: " + "; ".join(f"({spec.describe()}) {err}" for spec, err in result.failures[:3]))
    save_dataset(result.dataset, out)
    click.echo(f"Wrote {out}", err=True)
    if result.failures:
        for spec, err in result.failures:
            click.echo(f"lda-sim: run failed ({spec.describe()}): {err}", err=True)
        click.echo(f"lda-sim: {len(result.failures)} of {len(specs)} runs failed; their values are NaN in {out}; "
                   f"the finished runs stay in {runs_dir}, so rerunning redoes only the failed ones", err=True)
        sys.exit(1)
    return result.dataset


def _parse_vary(values: tuple[str, ...]) -> tuple[dict[str, list[float]], dict[str, tuple[float, float]]]:
    """``PATH=1,2,3`` (grid) or ``PATH=LOW:HIGH`` (range for a Latin hypercube)."""
    grid: dict[str, list[float]] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for item in values:
        path, sep, spec = item.rpartition("=")
        if not sep or not path or not spec:
            _fail(f"--vary {item!r}: expected PATH=V1,V2,... or PATH=LOW:HIGH")
        try:
            if ":" in spec:
                low, high = (float(v) for v in spec.split(":"))
                if not low < high:
                    _fail(f"--vary {item!r}: LOW must be below HIGH")
                ranges[path] = (low, high)
            else:
                grid[path] = [float(v) for v in spec.split(",")]
        except ValueError:
            _fail(f"--vary {item!r}: values must be numbers")
    return grid, ranges


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--vary", "vary", multiple=True, required=True, metavar="PATH=VALUES",
              help="A parameter to sweep: PATH=V1,V2,... for a grid, or PATH=LOW:HIGH with --lhs. "
                   "PATH is e.g. policies[0].units_per_year or territory.aix-marseille-provence.states.hotel.places.")
@click.option("--lhs", type=click.IntRange(min=1), default=None, help="Sample N points of a Latin hypercube over the LOW:HIGH ranges.")
@click.option("--replicates", type=click.IntRange(min=1), default=None, help="Replicates per point (same seeds at every point).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="NetCDF file to write (atomically).")
@click.option("--seed", type=click.IntRange(min=0, max=MAX_SEED), default=None, help="Root seed (default: the scenario's).")
@click.option("--years", type=click.FloatRange(min=0, min_open=True, max=100), default=None, help="Horizon in years.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Dask workers of the local cluster (default: one per core).")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler.")
@click.option("--runs-dir", type=click.Path(file_okay=False), default=None, help="Where finished runs are kept until combined (default: OUT.runs).")
def sweep(scenario: str, vary: tuple[str, ...], lhs: int | None, replicates: int | None, out: str, seed: int | None,
          years: float | None, workers: int | None, scheduler: str | None, runs_dir: str | None) -> None:
    """Sweep lever parameters of SCENARIO over a grid or a Latin hypercube, x replicates, on Dask.

    Grid parameters become dimensions of the dataset; Latin hypercube points are indexed by a
    `run` dimension with the parameters as coordinates. An interrupted sweep resumes.
    """
    from .ensemble import latin_hypercube, plan_runs

    grid, ranges = _parse_vary(vary)
    if lhs and grid:
        _fail("--lhs takes ranges PATH=LOW:HIGH only")
    if ranges and not lhs:
        _fail("a range PATH=LOW:HIGH needs --lhs N (or give values V1,V2,... for a grid)")
    sc = _load(scenario, seed=seed, years=years, overrides={p: v[0] for p, v in grid.items()} | {p: r[0] for p, r in ranges.items()})
    _check_outputs([sc], files=(out,), folders=(runs_dir or f"{out}.runs",))
    run_seed = sc.seed if seed is None else seed
    samples = latin_hypercube(ranges, lhs, run_seed) if lhs else None
    specs = plan_runs([scenario], seed=run_seed, replicates=replicates, years=years, grid=grid or None, samples=samples)
    _run_ensemble(specs, out, runs_dir, workers, scheduler)


@main.command()
@click.argument("results", type=click.Path(dir_okay=False))
@click.option("--baseline", default=None, help="Scenario to compare with (default: the first).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Table to write (default: RESULTS with .compare.csv).")
@click.option("--chart", "chart_path", type=click.Path(dir_okay=False), default=None, help="Chart to write (default: RESULTS with .compare.png).")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="Language of the chart and the table's labels.")
def compare(results: str, baseline: str | None, csv_path: str | None, chart_path: str | None, lang: str) -> None:
    """Compare the scenarios of RESULTS: key indicators per territory at the horizon and their
    difference from the baseline; prints the table, saves it as CSV and draws a chart."""
    from .compare import comparison_table, format_comparison, plot_comparison
    from .output import open_results, write_atomic

    if not Path(results).is_file():
        _fail(f"{results}: file not found")
    try:
        ds = open_results(results)
    except (OSError, ValueError) as exc:
        _fail(f"{results}: not a results file: {exc}")
    try:
        table = comparison_table(ds, baseline)
    except KeyError as exc:
        _fail(f"{results}: {exc.args[0]}")
    stem = str(Path(results).with_suffix(""))
    csv_path = csv_path or f"{stem}.compare.csv"
    chart_path = chart_path or f"{stem}.compare.png"
    _check_outputs([], files=(csv_path, chart_path), inputs=(results,))
    write_atomic(csv_path, lambda tmp: table.to_csv(tmp, index=False, float_format="%.4g"))
    fig = plot_comparison(ds, table, lang=lang)
    fmt = Path(chart_path).suffix.lstrip(".") or "png"
    write_atomic(chart_path, lambda tmp: fig.savefig(tmp, format=fmt))
    click.echo(format_comparison(table, lang))
    click.echo(f"Wrote {csv_path} and {chart_path}", err=True)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True, help="Also require every number of the territory files to carry a source, a derivation or an assumption.")
def validate(scenario: str, strict: bool) -> None:
    """Check SCENARIO, its pathway graph and its territories; exit 2 on the first problem."""
    sc = _load(scenario)
    if strict:
        territory_files = {t.file for t in sc.territories}
        bare = [p for p in sc.provenance if p.kind == "unsourced" and p.file in territory_files]
        if bare:
            first = bare[0]
            _fail(f"{first.file}: {first.field}: value {first.value!r} has no source, derivation or assumption ({len(bare)} such values)")
    kinds: dict[str, int] = {}
    for p in sc.provenance:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    click.echo(
        f"{scenario}: valid. Pathway {sc.pathway.name!r} ({len(sc.pathway.states)} states, "
        f"{len(sc.pathway.transitions)} transitions); territories: {', '.join(t.name for t in sc.territories)}; "
        f"values: {counts or 'none'}."
    )


@main.command()
@click.argument("kind", type=click.Choice(["scenario", "pathway", "territory"]), default="scenario")
def schema(kind: str) -> None:
    """Print the JSON Schema of a configuration file (scenario, pathway or territory)."""
    from .schema import all_schemas

    click.echo(json.dumps(all_schemas()[kind], indent=2, ensure_ascii=False))


@main.command()
@click.argument("results", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for the charts.")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="Language of the labels.")
@click.option("--period", default=None, help="Months of the flow diagrams: FIRST:LAST as YYYY-MM:YYYY-MM, or a number of last months (default: the last 12).")
@click.option("--format", "formats", multiple=True, default=("png", "svg"), show_default=True, help="Image format (repeat for several).")
@territory_option
def plot(results: str, out: str, lang: str, period: str | None, formats: tuple[str, ...], territories: tuple[str, ...]) -> None:
    """Draw the chart set of a RESULTS file: scenario comparison, key indicators, costs, and per
    territory occupancy, flows between states, waiting times and their distribution, capacities."""
    from .plotting import chart_notes, write_charts

    _check_outputs([], folders=(out,), inputs=(results,))
    ds = _open_results(results)
    try:
        # write_charts checks every argument, the territories too, before it writes anything
        paths = write_charts(ds, out, lang=lang, formats=formats, period=period, territories=territories or None)
    except ValueError as exc:
        _fail(str(exc))
    for p in paths:
        click.echo(str(p))
    for note in chart_notes(ds, lang=lang):
        click.echo(note, err=True)


def _open_results(results: str):
    """Load a results file, or stop with a one-line error."""
    from .output import open_results

    if not Path(results).is_file():
        _fail(f"{results}: file not found")
    try:
        return open_results(results)
    except (OSError, ValueError) as exc:
        _fail(f"{results}: not a results file: {exc}")


@main.command()
@click.argument("results", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="HTML file to write (atomically).")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="Language of the report.")
@click.option("--period", default=None, help="Months of the flow diagrams: FIRST:LAST as YYYY-MM:YYYY-MM, or a number of last months (default: the last 12).")
@click.option(
    "--scenario", "scenario_files", multiple=True, type=click.Path(dir_okay=False),
    help="Scenario file(s) to take the input assumptions from, for results that do not carry them (repeat, baseline first).",
)
@territory_option
def report(results: str, out: str, lang: str, period: str | None, scenario_files: tuple[str, ...], territories: tuple[str, ...]) -> None:
    """Write a self-contained HTML report of RESULTS: the run, summary indicators per territory and
    scenario, every chart (embedded), and the input assumptions with their sources."""
    from .report import inputs_for, write_report

    _check_outputs([], files=(out,), inputs=(results, *scenario_files))
    ds = _open_results(results)
    if scenario_files:
        try:
            ds.attrs.update(inputs_for(scenario_files))
        except ConfigError as exc:
            _fail(str(exc))
    started = time.perf_counter()
    try:
        path = write_report(ds, out, lang=lang, period=period, source=Path(results).name, territories=territories or None)
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"Wrote {path} ({Path(path).stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s)", err=True)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--targets", "targets", required=True, type=click.Path(dir_okay=False), help="CSV of observed targets and the parameters to fit, with bounds.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Calibrated scenario to write (it points at the calibrated territory files).")
@click.option("--territories-dir", type=click.Path(file_okay=False), default=None, help="Folder of the calibrated territory files (default: beside the originals), named NAME.calibrated.yaml.")
@click.option("--report", "report", type=click.Path(dir_okay=False), default=None, help="Fit report (Markdown; a CSV is written beside it). Default: OUT with .fit.md.")
@click.option("--years", type=click.FloatRange(min=0, min_open=True, max=100), default=4.0, show_default=True, help="Length of each calibration run.")
@click.option("--warmup-years", type=click.FloatRange(min=0), default=1.0, show_default=True, help="Years discarded before the statistics are measured.")
@click.option("--seeds", type=str, default=None, help="Comma-separated seeds run for every candidate (default: the scenario's seed and the next two).")
@click.option("--budget", type=click.IntRange(min=1), default=30, show_default=True, help="Largest number of candidate evaluations.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes running the seeds of a candidate in parallel.")
@click.option("--diff-step", type=click.FloatRange(min=0, min_open=True, max=0.5), default=0.1, show_default=True, help="Finite-difference step, as a share of each parameter's log-range.")
def calibrate(
    scenario: str, targets: str, out: str, territories_dir: str | None, report: str | None, years: float, warmup_years: float,
    seeds: str | None, budget: int, workers: int, diff_step: float,
) -> None:
    """Fit the parameters listed in --targets so that SCENARIO reproduces observed figures.

    Writes the calibrated territory files (each fitted value marked 'fitted by lda-sim calibrate
    to <target> = <observed> (<source>)'), a calibrated scenario (--out) pointing at them, and a
    fit report (target, simulated, relative error), which is also printed.
    """
    from .calibration import CalibrationError, Calibrator

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()] if seeds else None
    except ValueError:
        _fail(f"--seeds: expected comma-separated integers, got {seeds!r}")
    try:
        cal = Calibrator(scenario, targets, years=years, warmup_years=warmup_years, seeds=seed_list, workers=workers,
                         log=lambda message: click.echo(message, err=True))
    except (CalibrationError, ConfigError) as exc:
        _fail(str(exc))
    click.echo(
        f"Calibrating {len(cal.parameters)} parameter(s) on {len(cal.targets)} target(s): {len(cal.seeds)} seeds x {years:g} years "
        f"per candidate, at most {budget} candidates",
        err=True,
    )
    try:
        best = cal.fit(budget, diff_step=diff_step)
        written = cal.write(best, out, territories_dir=territories_dir, report=report)
    except (CalibrationError, ConfigError) as exc:
        _fail(str(exc))
    click.echo(cal.report_text(best))
    for role, path in written.items():
        click.echo(f"Wrote {role}: {path}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
