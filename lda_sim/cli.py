"""The ``lda-sim`` command line."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .config.errors import ConfigError
from .config.scenario import load_scenario
from .config.schema import MAX_SEED
from .config.timebase import MONTH_DAYS

EXIT_BAD_INPUT = 2


#: ``--territory`` of ``plot`` and ``report``.
territory_option = click.option(
    "--territory", "territories", multiple=True, metavar="NAME",
    help="Draw the per-territory charts only for this territory (repeat for several); the charts comparing territories cover them all. Default: every territory.",
)


#: ``--until`` and ``--snapshot`` of ``run`` and ``sweep``.
until_option = click.option(
    "--until", default=None, metavar="YYYY-MM",
    help="Last month of the run, instead of --years: the run ends at the end of that month (e.g. 2030-12).",
)
snapshot_option = click.option(
    "--snapshot", "snapshots", multiple=True, metavar="YYYY-MM-DD",
    help="Also record the stocks at the start of this day (repeat for several; added to the scenario's 'snapshots'): "
         "dataset variables snapshot_occupancy, snapshot_capacity... along a `snapshot` dimension.",
)


def _horizon(years: float | None, until: str | None) -> None:
    if years is not None and until is not None:
        _fail("give the horizon as --years or --until, not both")


#: How much the commands say on stderr: 0 quiet (-q: errors only), 1 normal, 2 verbose (-v).
VERBOSITY = {"level": 1}


def _progress(**kwargs: object):
    """A tqdm progress bar on stderr, shown only when stderr is a terminal and not with -q."""
    from tqdm import tqdm

    quiet = VERBOSITY["level"] < 1 or not sys.stderr.isatty()
    return tqdm(file=sys.stderr, disable=quiet, leave=False, dynamic_ncols=True, **kwargs)


def _say(message: str, level: int = 1) -> None:
    """A message on stderr, unless -q (or, for level 2, unless -v)."""
    if VERBOSITY["level"] >= level:
        click.echo(message, err=True)


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
    from .dataset.output import OutputError, check_output

    every_input = [*inputs, *(f for sc in scenarios for f in sc.input_files)]
    config_files = [f for sc in scenarios for f in sc.config_files]
    try:
        for path in filter(None, files):
            check_output(path, every_input, config_files)
        for path in filter(None, folders):
            check_output(path, every_input, config_files, folder=True)
    except OutputError as exc:
        _fail(str(exc))


class _OneLineErrors(click.Group):
    """The command group, whose usage errors (an unknown option, a value out of range...) are one
    line on stderr, ``lda-sim: error: COMMAND: message``, with exit code 2, like every other error."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "lda-sim"
            click.echo(f"lda-sim: error: {where}: {exc.format_message()} (see '{where} --help')", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lda-sim")
@click.option("-v", "--verbose", is_flag=True, help="Say more on stderr (timings, notes).")
@click.option("-q", "--quiet", is_flag=True, help="Say nothing on stderr but errors; no progress bars.")
def main(verbose: bool = False, quiet: bool = False) -> None:
    """lda_sim: simulate households through the street, shelters and housing of territories
    under Logement d'abord policies, and project stocks, flows and waiting times.

    Long commands show a progress bar on stderr when it is a terminal."""
    VERBOSITY["level"] = 0 if quiet else 2 if verbose else 1
    # Classes and functions named in scenario files ('module:Class') are imported like with
    # `python -m`: from the current folder too (an installed console script leaves it out).
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    from .dataset.output import exit_on_sigterm

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
@until_option
@snapshot_option
def run(
    scenarios: tuple[str, ...], out: str, seed: int | None, years: float | None, charts: str | None, lang: str,
    replicates: int | None, workers: int | None, scheduler: str | None, runs_dir: str | None, trajectories: str | None = None,
    scale: float | None = None, until: str | None = None, snapshots: tuple[str, ...] = (),
) -> None:
    """Run one or more SCENARIO files (YAML), write the results to --out and print a summary.

    Several scenarios go into one dataset along a `scenario` dimension, the first being the
    baseline; they all use the same seed (common random numbers), so that their differences come
    from the policies, not from chance. With --replicates, --workers or --scheduler the runs go to
    Dask (a local cluster by default) and the dataset gains a `replicate` dimension.
    """
    from .analysis.indicators import format_summary, summary_table
    from .analysis.run import combine_scenarios
    from .dataset.inputs import attach_inputs
    from .dataset.output import save_dataset
    from .engine.model import EngineLimitError, HousingModel

    if trajectories and (len(scenarios) > 1 or replicates or workers or scheduler):
        _fail("--trajectories records one run: give a single scenario, without --replicates, --workers or --scheduler")
    if scale is not None and (replicates or workers or scheduler):
        _fail("--scale applies to runs in this process: drop --replicates, --workers and --scheduler, or scale with a sweep")
    _horizon(years, until)
    loaded = [_load(path, seed=seed, years=years, until=until, snapshots=snapshots) for path in scenarios]
    if until is not None:
        years = loaded[0].years  # the runs on Dask are given the horizon in years
    if scale is not None:
        from .analysis.scaling import scale_scenario
        from .config.scenario import check_run_size

        loaded = [scale_scenario(sc, scale) for sc in loaded]
        try:
            for sc in loaded:
                check_run_size(sc)
        except ConfigError as exc:
            _fail(str(exc))
    ensemble = bool(replicates or workers or scheduler)
    _check_outputs(loaded, files=(out, trajectories), folders=(charts, (runs_dir or f"{out}.runs") if ensemble else None))
    if charts:
        from .dataset.output import OutputError, check_chart_folder

        try:
            check_chart_folder(charts)
        except OutputError as exc:
            _fail(str(exc))
    run_seed = loaded[0].seed if seed is None else seed
    if replicates or workers or scheduler:
        from .analysis.ensemble import plan_runs

        specs = plan_runs(scenarios, seed=run_seed, replicates=replicates, years=years, snapshots=snapshots)
        ds = _run_ensemble(specs, out, runs_dir, workers, scheduler)
        from .analysis.compare import comparison_table, format_comparison

        click.echo(format_comparison(comparison_table(ds), lang))
        if charts:
            from .presentation.plotting import write_charts

            paths = write_charts(ds, charts, lang=lang)
            click.echo(f"Wrote {len(paths)} charts to {charts}", err=True)
        return
    _warm_up()
    datasets = []
    for sc in loaded:
        _say(f"Running {sc.name!r}: {len(sc.territories)} territories, {sc.years:g} years from {sc.start}, seed {run_seed}")
        started = time.perf_counter()
        try:
            model = HousingModel(sc, seed=run_seed, trajectories=bool(trajectories))
            with _progress(total=round(model.horizon), desc=sc.name, unit="day", bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:,.0f}/{total:,.0f} days [{elapsed}<{remaining}]") as bar:
                while model.time < model.horizon:
                    before = model.time
                    model.run_for(min(MONTH_DAYS, model.horizon - model.time))
                    bar.update(model.time - before)
            datasets.append(attach_inputs(model.dataset(), sc))
        except (ValueError, EngineLimitError) as exc:
            _fail(str(exc))
        _say(f"  {model.events_processed:,} events in {time.perf_counter() - started:.1f} s")
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
        from .dataset.trajectories import save_trajectories, trajectory_table

        moves = model.moves
        assert moves is not None  # the model was built with trajectories=True
        written = save_trajectories(trajectory_table(model), trajectories)
        click.echo(f"Wrote {written} ({len(moves):,} entries and moves)", err=True)
    for data in datasets:
        if len(datasets) > 1:
            click.echo(f"\n[{data.attrs['scenario']}]")
        click.echo(format_summary(summary_table(data), lang))
    if charts:
        from .presentation.plotting import write_charts

        paths = write_charts(ds, charts, lang=lang)
        click.echo(f"Wrote {len(paths)} charts to {charts}", err=True)


def _warm_up() -> None:
    """Compile the engine first if its cache is cold, saying so (it takes about a minute, once)."""
    from .warmup import compile_engine, is_compiled

    if not is_compiled():
        click.echo("Compiling the simulation engine (first run on this machine: about a minute; cached for later runs)...", err=True)
        click.echo(f"  compiled in {compile_engine():.0f} s", err=True)


@main.command()
def warmup() -> None:
    """Compile the simulation engine now (numba caches it on disk), so that no run waits for it."""
    from .warmup import compile_engine, is_compiled

    cached = is_compiled()
    seconds = compile_engine()
    click.echo(f"Engine {'loaded from its cache' if cached else 'compiled and cached'} in {seconds:.1f} s")


def _run_ensemble(specs, out: str, runs_dir: str | None, workers: int | None, scheduler: str | None):
    """Run an ensemble on Dask, write the combined dataset; exit 1 after writing if runs failed."""
    from .analysis.ensemble import SharedFolderError, run_ensemble
    from .dataset.output import save_dataset

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
@until_option
@snapshot_option
def sweep(scenario: str, vary: tuple[str, ...], lhs: int | None, replicates: int | None, out: str, seed: int | None,
          years: float | None, workers: int | None, scheduler: str | None, runs_dir: str | None,
          until: str | None = None, snapshots: tuple[str, ...] = ()) -> None:
    """Sweep lever parameters of SCENARIO over a grid or a Latin hypercube, x replicates, on Dask.

    Grid parameters become dimensions of the dataset; Latin hypercube points are indexed by a
    `run` dimension with the parameters as coordinates. An interrupted sweep resumes.
    """
    from .analysis.ensemble import latin_hypercube, plan_runs

    grid, ranges = _parse_vary(vary)
    if lhs and grid:
        _fail("--lhs takes ranges PATH=LOW:HIGH only")
    if ranges and not lhs:
        _fail("a range PATH=LOW:HIGH needs --lhs N (or give values V1,V2,... for a grid)")
    _horizon(years, until)
    sc = _load(scenario, seed=seed, years=years, until=until, snapshots=snapshots,
               overrides={p: v[0] for p, v in grid.items()} | {p: r[0] for p, r in ranges.items()})
    if until is not None:
        years = sc.years
    _check_outputs([sc], files=(out,), folders=(runs_dir or f"{out}.runs",))
    run_seed = sc.seed if seed is None else seed
    samples = latin_hypercube(ranges, lhs, run_seed) if lhs else None
    specs = plan_runs([scenario], seed=run_seed, replicates=replicates, years=years, grid=grid or None, samples=samples, snapshots=snapshots)
    _run_ensemble(specs, out, runs_dir, workers, scheduler)


@main.command()
@click.argument("results", type=click.Path(dir_okay=False))
@click.option("--baseline", default=None, help="Scenario to compare with (default: the first).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Table to write (default: RESULTS with .compare.csv).")
@click.option("--chart", "chart_path", type=click.Path(dir_okay=False), default=None, help="Chart to write (default: RESULTS with .compare.png).")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="Language of the chart and the table's labels.")
@click.option("--period", default=None, help="Months the indicators are averaged over: FIRST:LAST as YYYY-MM:YYYY-MM, or a number of last months (default: the last 12).")
def compare(results: str, baseline: str | None, csv_path: str | None, chart_path: str | None, lang: str, period: str | None = None) -> None:
    """Compare the scenarios of RESULTS: key indicators per territory over a period (stocks as
    means of the month ends, flows and costs per year; default: the last 12 months) and their
    difference from the baseline, with the 10-90 % band over replicates; prints the table, saves
    it as CSV and draws a chart."""
    from .analysis.compare import comparison_table, format_comparison
    from .analysis.indicators import parse_period
    from .config.files import write_atomic
    from .dataset.output import open_results
    from .presentation.plotting import plot_comparison

    try:
        months = parse_period(period) if period is not None else None
    except ValueError as exc:
        _fail(str(exc))

    if not Path(results).is_file():
        _fail(f"{results}: file not found")
    try:
        ds = open_results(results)
    except (OSError, ValueError) as exc:
        _fail(f"{results}: not a results file: {exc}")
    stem = str(Path(results).with_suffix(""))
    if ds.attrs.get("lda_sim_kind") == "plan":
        _compare_plan(ds, stem, csv_path, chart_path)
        return
    try:
        table = comparison_table(ds, baseline, period=months)
    except KeyError as exc:
        _fail(f"{results}: {exc.args[0]}")
    except ValueError as exc:
        _fail(f"{results}: {exc}")
    csv_path = csv_path or f"{stem}.compare.csv"
    chart_path = chart_path or f"{stem}.compare.png"
    _check_outputs([], files=(csv_path, chart_path), inputs=(results,))
    write_atomic(csv_path, lambda tmp: table.to_csv(tmp, index=False, float_format="%.4g"))
    fig = plot_comparison(ds, table, lang=lang, period=months)
    fmt = Path(chart_path).suffix.lstrip(".") or "png"
    write_atomic(chart_path, lambda tmp: fig.savefig(tmp, format=fmt))
    click.echo(format_comparison(table, lang))
    from .analysis.compare import meanfield_table

    mf = meanfield_table(ds) if len(set(table.scenario)) == len(set(ds["scenario"].values.tolist() if "scenario" in ds.dims else [0])) else None
    if mf is not None:
        click.echo("\nMean-field approximation at the horizon (lda_sim.analysis.meanfield; no policies, no mobility):")
        for row in mf.itertuples():
            click.echo(f"  {row.scenario} / {row.territory}: street {row.street_persons:,.0f} persons, sheltered {row.sheltered_persons:,.0f}")
    click.echo(f"Wrote {csv_path} and {chart_path}", err=True)


def _compare_plan(ds, stem: str, csv_path: str | None, chart_path: str | None) -> None:
    """`compare` on a plan file: the candidates, their probability, interval, cost and indicator band."""
    from .analysis.compare import format_plan
    from .analysis.planning import plot_plan
    from .config.files import write_atomic

    csv_path = csv_path or f"{stem}.compare.csv"
    chart_path = chart_path or f"{stem}.compare.png"
    table = ds[["probability", "probability_low", "probability_high", "cost", "meanfield_indicator"]].to_dataframe()
    levers = ds.lever_value.to_pandas()
    levers.columns = [str(c) for c in levers.columns]
    table = levers.join(table).assign(indicator_median=ds.indicator.median("replicate").values)
    write_atomic(csv_path, lambda tmp: table.to_csv(tmp, float_format="%.6g"))
    fig = plot_plan(ds)
    write_atomic(chart_path, lambda tmp: fig.savefig(tmp, format=Path(chart_path).suffix.lstrip(".") or "png"))
    click.echo(format_plan(ds))
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
    from .config.schema import all_schemas

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
    from .presentation.plotting import chart_notes, write_charts

    _check_outputs([], folders=(out,), inputs=(results,))
    ds = _open_results(results)
    try:
        # write_charts checks every argument, the territories too, before it writes anything
        paths = write_charts(ds, out, lang=lang, formats=formats, period=period, territories=territories or None, progress=_progress)
    except ValueError as exc:
        _fail(str(exc))
    for p in paths:
        click.echo(str(p))
    for note in chart_notes(ds, lang=lang):
        _say(note)


def _open_results(results: str):
    """Load a results file, or stop with a one-line error."""
    from .dataset.output import open_results

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
@click.option("--format", "fmt", type=click.Choice(["html", "pptx"]), default=None,
              help="html (a self-contained page) or pptx (slides); default: from the suffix of --out, else html.")
def report(results: str, out: str, lang: str, period: str | None, scenario_files: tuple[str, ...], territories: tuple[str, ...], fmt: str | None = None) -> None:
    """Write a self-contained HTML report of RESULTS (key messages, the run, limits, summary
    indicators per territory and scenario, every chart embedded, the input assumptions with their
    sources), or with --format pptx the slides: title, key messages, limits, one chart per slide
    with its caption, the summary table."""
    from .dataset.inputs import inputs_for
    from .presentation.report import write_report

    _check_outputs([], files=(out,), inputs=(results, *scenario_files))
    ds = _open_results(results)
    if scenario_files:
        try:
            ds.attrs.update(inputs_for(scenario_files))
        except ConfigError as exc:
            _fail(str(exc))
    started = time.perf_counter()
    fmt = fmt or ("pptx" if out.lower().endswith(".pptx") else "html")
    try:
        if fmt == "pptx":
            from .presentation.slides import write_slides

            path = write_slides(ds, out, lang=lang, period=period, territories=territories or None, progress=_progress)
        else:
            path = write_report(ds, out, lang=lang, period=period, source=Path(results).name, territories=territories or None, progress=_progress)
    except ValueError as exc:
        _fail(str(exc))
    _say(f"Wrote {path} ({Path(path).stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s)")


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
    from .analysis.calibration import CalibrationError, Calibrator

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()] if seeds else None
    except ValueError:
        _fail(f"--seeds: expected comma-separated integers, got {seeds!r}")
    bar = _progress(total=budget, desc="calibrate", unit="candidate")

    def log(message: str) -> None:
        if bar.disable:
            click.echo(message, err=True)
        else:
            bar.write(message, file=sys.stderr)
        if message.startswith("evaluation "):
            bar.update(1)

    try:
        cal = Calibrator(scenario, targets, years=years, warmup_years=warmup_years, seeds=seed_list, workers=workers, log=log)
    except (CalibrationError, ConfigError) as exc:
        bar.close()
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
    finally:
        bar.close()
    click.echo(cal.report_text(best))
    for role, path in written.items():
        click.echo(f"Wrote {role}: {path}", err=True)


@main.command()
@click.option("--port", type=click.IntRange(min=1, max=65535), default=8765, show_default=True, help="Port on 127.0.0.1.")
@click.option("--scenarios", "scenarios_dir", type=click.Path(file_okay=False), default=None,
              help="Folder of the scenario files to choose from (default: configs/scenarios here, else of the source tree).")
@click.option("--years", type=click.FloatRange(min=0.25, max=10), default=2.0, show_default=True, help="Initial horizon of the runs (years, by quarters).")
@click.option("--replicates", type=click.IntRange(min=1, max=10), default=3, show_default=True, help="Initial replicates per scenario.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes running the simulations of a run (default: 1, in the server; more pays off for long runs, each process starting takes seconds).")
def app(port: int, scenarios_dir: str | None, years: float, replicates: int, workers: int | None) -> None:
    """Open the planning dashboard (Solara) on http://127.0.0.1:PORT: choose a scenario and a
    territory, move the levers, run, compare with the baseline, download the results and report."""
    import importlib.util

    if importlib.util.find_spec("solara") is None:
        _fail("the dashboard needs Solara: pip install -e '.[app]'")
    from .presentation.dashboard import default_scenarios_folder, list_scenarios

    folder = Path(scenarios_dir) if scenarios_dir else default_scenarios_folder()
    try:
        list_scenarios(folder)
    except FileNotFoundError as exc:
        _fail(str(exc))
    env = dict(os.environ, LDA_SIM_APP_SCENARIOS=str(folder.resolve()), LDA_SIM_APP_YEARS=str(years),
               LDA_SIM_APP_REPLICATES=str(replicates))
    if workers:
        env["LDA_SIM_APP_WORKERS"] = str(workers)
    command = [sys.executable, "-m", "solara", "run", "lda_sim.presentation.app", "--host", "127.0.0.1", "--port", str(port), "--no-open", "--production"]
    click.echo(f"lda-sim app: serving on http://127.0.0.1:{port} (Ctrl-C to stop)", err=True)
    sys.stderr.flush()
    os.execve(sys.executable, command, env)  # the server replaces this process: signals reach it directly


@main.command("plan")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--target", "target", required=True, help="e.g. 'street <= 50 in aix-marseille-provence by 2030-12' (or 'over 2030-01:2030-12').")
@click.option("--lever", "levers", multiple=True, required=True, metavar="PATH=LOW:HIGH", help="A parameter to set (repeat for several); integers if LOW and HIGH are.")
@click.option("--confidence", type=float, default=0.8, show_default=True, help="Probability with which the target must hold across replicates.")
@click.option("--replicates", type=click.IntRange(min=1), default=20, show_default=True, help="Replicates per candidate (the same seeds for all).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Root seed of the replicates (default: the scenario's).")
@click.option("--cost", "cost_items", multiple=True, metavar="PATH=EUR", help="Cost per unit and year of a lever not priced by the territory files.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="Write the plan (every candidate) to this NetCDF file, for `compare`.")
@click.option("--chart", "chart", type=click.Path(dir_okay=False), default=None, help="Draw the probability of meeting the target against the lever.")
@click.option("--no-meanfield", is_flag=True, help="Do not seed the search with the mean-field approximation.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Run the replicates on a local Dask cluster of N workers.")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler.")
def plan_command(scenario: str, target: str, levers: tuple[str, ...], confidence: float, replicates: int, seed: int | None,
                 cost_items: tuple[str, ...], out: str | None, chart: str | None, no_meanfield: bool, workers: int | None, scheduler: str | None) -> None:
    """Find the least-cost lever values for which --target holds with probability --confidence
    (stochastic bisection for one lever, a cost-weighted search for several; see lda_sim.analysis.planning)."""
    from .analysis.planning import PlanError, plan, plot_plan
    from .analysis.targets import TargetError

    costs = {}
    for item in cost_items:
        path, sep, value = item.rpartition("=")
        try:
            costs[path] = float(value)
        except ValueError:
            sep = ""
        if not sep or not path:
            _fail(f"--cost {item!r}: expected PATH=EUR")
    _load(scenario)
    try:
        result = plan(scenario, target, levers, confidence=confidence, replicates=replicates, seed=seed, costs=costs,
                      workers=workers, scheduler=scheduler, use_meanfield=not no_meanfield, log=lambda m: click.echo(m, err=True))
    except (PlanError, TargetError, ConfigError) as exc:
        _fail(str(exc))
    click.echo(result.summary())
    ds = result.to_dataset()
    if out:
        from .dataset.output import save_dataset

        save_dataset(ds, out)
        click.echo(f"Wrote {out}", err=True)
    if chart:
        plot_plan(ds).savefig(chart)
        click.echo(f"Wrote {chart}", err=True)


@main.command("sensitivity")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(["morris", "sobol"]), default="morris", show_default=True, help="Morris screening or Sobol indices (SALib).")
@click.option("--param", "params", multiple=True, required=True, metavar="PATH=LOW:HIGH", help="A parameter and its range (repeat; at least two).")
@click.option("--output", "outputs", multiple=True, required=True, metavar="INDICATOR", help="e.g. 'street in aix-marseille-provence over 2027-01:2027-12' (repeat for several).")
@click.option("--trajectories", type=click.IntRange(min=2), default=4, show_default=True, help="Morris trajectories: r (k + 1) runs.")
@click.option("--samples", type=click.IntRange(min=2), default=64, show_default=True, help="Sobol base sample N (a power of two): N (k + 2) runs.")
@click.option("--replicates", type=click.IntRange(min=1), default=1, show_default=True, help="Seeds per sample point (the indicator is their mean).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Root seed (default: the scenario's).")
@click.option("--workers", type=click.IntRange(min=0), default=2, show_default=True, help="Workers of the local Dask cluster (0: in this process).")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Write the indices to this CSV file.")
@click.option("--chart", "chart", type=click.Path(dir_okay=False), default=None, help="Tornado chart of the first output (one file per output: NAME-2.png ...).")
def sensitivity_command(scenario: str, method: str, params: tuple[str, ...], outputs: tuple[str, ...], trajectories: int, samples: int,
                        replicates: int, seed: int | None, workers: int, scheduler: str | None, csv_path: str | None, chart: str | None) -> None:
    """Global sensitivity of --output indicators to --param ranges (SALib Morris or Sobol, runs on Dask)."""
    from .analysis.planning import PlanError
    from .analysis.sensitivity import sensitivity, tornado
    from .analysis.targets import TargetError
    from .config.files import write_atomic

    _load(scenario)
    try:
        result = sensitivity(scenario, params, outputs, method=method, trajectories=trajectories, base_samples=samples,
                             replicates=replicates, seed=seed, workers=workers, scheduler=scheduler, log=lambda m: click.echo(m, err=True))
    except (PlanError, TargetError, ConfigError) as exc:
        _fail(str(exc))
    click.echo(result.format())
    if csv_path:
        write_atomic(csv_path, lambda tmp: result.indices.to_csv(tmp, index=False, float_format="%.6g"))
        click.echo(f"Wrote {csv_path}", err=True)
    if chart:
        stem, suffix = os.path.splitext(chart)
        for i, output in enumerate(result.outputs):
            path = chart if i == 0 else f"{stem}-{i + 1}{suffix}"
            tornado(result, output).savefig(path)
            click.echo(f"Wrote {path}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
