"""The ``lda-sim`` command line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from . import __version__
from .config import load_scenario
from .errors import ConfigError

EXIT_BAD_INPUT = 2


def _fail(message: str) -> None:
    click.echo(f"lda-sim: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _load(path: str, **overrides: object):
    try:
        return load_scenario(path, **overrides)  # type: ignore[arg-type]
    except ConfigError as exc:
        _fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lda-sim")
def main() -> None:
    """lda_sim: simulate households through the street, shelters and housing of territories
    under Logement d'abord policies, and project stocks, flows and waiting times."""


@main.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="SCENARIO...")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="NetCDF file to write (atomically).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed (default: the first scenario's, used for all).")
@click.option("--years", type=click.FloatRange(min=0, min_open=True, max=100), default=None, help="Horizon in years (default: the scenario's).")
@click.option("--charts", type=click.Path(file_okay=False), default=None, help="Also write the charts to this folder.")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="Language of the charts.")
def run(scenarios: tuple[str, ...], out: str, seed: int | None, years: float | None, charts: str | None, lang: str) -> None:
    """Run one or more SCENARIO files (YAML), write the results to --out and print a summary.

    Several scenarios go into one dataset along a `scenario` dimension, the first being the
    baseline; they all use the same seed (common random numbers), so that their differences come
    from the policies, not from chance.
    """
    from .analysis import format_summary, summary_table
    from .model import HousingModel
    from .output import save_dataset
    from .run import combine_scenarios

    loaded = [_load(path, seed=seed, years=years) for path in scenarios]
    run_seed = loaded[0].seed if seed is None else seed
    datasets = []
    for sc in loaded:
        click.echo(f"Running {sc.name!r}: {len(sc.territories)} territories, {sc.years:g} years from {sc.start}, seed {run_seed}", err=True)
        started = time.perf_counter()
        try:
            model = HousingModel(sc, seed=run_seed)
        except ValueError as exc:
            _fail(str(exc))
        datasets.append(_attach_inputs(model.run(), sc))
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
    for data in datasets:
        if len(datasets) > 1:
            click.echo(f"\n[{data.attrs['scenario']}]")
        click.echo(format_summary(summary_table(data)))
    if charts:
        from .plotting import write_charts

        paths = write_charts(ds, charts, lang=lang)
        click.echo(f"Wrote {len(paths)} charts to {charts}", err=True)


def _attach_inputs(ds, scenario):
    """Record the scenario's inputs and sources on the dataset, for reports (when available)."""
    try:
        from .report import attach_inputs
    except ImportError:
        return ds
    return attach_inputs(ds, scenario)


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
def plot(results: str, out: str, lang: str) -> None:
    """Draw the charts of a RESULTS file (occupancy by state, waiting times) per territory."""
    from .output import open_results
    from .plotting import write_charts

    if not Path(results).is_file():
        _fail(f"{results}: file not found")
    try:
        ds = open_results(results)
    except (OSError, ValueError) as exc:
        _fail(f"{results}: not a results file: {exc}")
    paths = write_charts(ds, out, lang=lang)
    for p in paths:
        click.echo(str(p))


if __name__ == "__main__":  # pragma: no cover
    main()
