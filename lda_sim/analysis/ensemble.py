"""Ensembles: replicates, sweeps of lever values, and their execution on Dask distributed.

A set of runs is planned as :class:`RunSpec` objects (a scenario file, overrides, a seed, and the
coordinates the run takes in the combined dataset). Runs execute on a Dask cluster — a local one
sized to the machine by default, or an existing one by its scheduler address — each writing its
dataset to its own file as soon as it finishes, so that an interrupted ensemble resumes where it
stopped. The files are then combined into one dataset with ``scenario``, swept-parameter (or
``run``) and ``replicate`` dimensions. A run is deterministic given its spec, so results do not
depend on the number of workers.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import secrets
import shutil
import tempfile
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..config.scenario import load_scenario
from ..dataset.inputs import combine_inputs
from ..dataset.output import open_results, save_dataset
from .run import run_scenario

#: Attributes that differ from run to run; they become coordinates or are dropped when combining.
PER_RUN_ATTRS = ("seed", "events", "scenario", "scenario_description", "scenario_file", "policies", "inputs", "sources", "title")


@dataclass(frozen=True)
class RunSpec:
    """One run of an ensemble."""

    scenario: str  # path of the scenario file
    seed: int
    years: float | None = None
    overrides: tuple[tuple[str, float], ...] = ()
    coords: tuple[tuple[str, Any], ...] = ()  # (dimension, value) of this run in the combined dataset
    extra: tuple[tuple[str, Any], ...] = field(default=(), compare=False)  # non-dimension coordinates
    snapshots: tuple[str, ...] = ()  # dates added to the scenario's snapshots

    @property
    def key(self) -> str:
        """A file-safe identifier, stable for the same spec (used to resume)."""
        parts: list[Any] = [self.scenario, self.seed, self.years, self.overrides, self.coords]
        text = json.dumps(parts + ([list(self.snapshots)] if self.snapshots else []), default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.coords] + [f"{k}={v}" for k, v in self.overrides if k not in dict(self.coords)]
        return ", ".join(parts + [f"seed={self.seed}"])


@dataclass
class EnsembleResult:
    """The combined dataset and the runs that failed, with their error."""

    dataset: xr.Dataset | None
    failures: list[tuple[RunSpec, str]]
    reused: int = 0


def replicate_seeds(root: int, n: int) -> list[int]:
    """``n`` independent seeds derived from ``root`` with ``numpy.random.SeedSequence``."""
    return [int(np.random.SeedSequence(root, spawn_key=(i,)).generate_state(1, dtype=np.uint64)[0] >> 1) for i in range(n)]


def latin_hypercube(ranges: dict[str, tuple[float, float]], n: int, seed: int) -> list[dict[str, float]]:
    """``n`` points of a Latin hypercube over ``ranges`` (scipy.stats.qmc), reproducible from ``seed``."""
    from scipy.stats import qmc

    names = list(ranges)
    sample = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(seed)).random(n)
    low = np.array([ranges[k][0] for k in names])
    high = np.array([ranges[k][1] for k in names])
    points = qmc.scale(sample, low, high) if len(names) else sample
    return [dict(zip(names, map(float, row))) for row in points]


def plan_runs(
    scenarios: Sequence[str | Path],
    *,
    seed: int,
    replicates: int | None = None,
    years: float | None = None,
    grid: Mapping[str, Sequence[float]] | None = None,
    samples: list[dict[str, float]] | None = None,
    snapshots: Sequence[str] = (),
) -> list[RunSpec]:
    """The runs of scenarios x (grid points or samples) x replicates.

    With ``replicates``, each replicate ``i`` uses the same derived seed in every scenario and
    point (common random numbers); without, every run uses ``seed``. Grid parameters become
    dimensions; samples are indexed by a ``run`` dimension with the parameters as coordinates.
    """
    names = [load_scenario(s).name for s in scenarios]
    seeds = replicate_seeds(seed, replicates) if replicates else [seed]
    if grid:
        keys = list(grid)
        points = [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]
    elif samples:
        points = samples
    else:
        points = [{}]
    specs = []
    for path, name in zip(scenarios, names):
        for p_index, point in enumerate(points):
            for r, run_seed in enumerate(seeds):
                coords: list[tuple[str, Any]] = [("scenario", name)]
                extra: list[tuple[str, Any]] = []
                if grid:
                    coords += [(k, float(v)) for k, v in point.items()]
                elif samples:
                    coords.append(("run", p_index))
                    extra = [(k, float(v)) for k, v in point.items()]
                if replicates:
                    coords.append(("replicate", r))
                specs.append(
                    RunSpec(str(path), run_seed, years, tuple((k, float(v)) for k, v in point.items()), tuple(coords), tuple(extra), tuple(snapshots))
                )
    return specs


#: Scenarios this process loaded, by (file, years, overrides), with the modification times of the
#: files they were read from: a worker running many replicates of one scenario reads it once.
_LOADED: dict[tuple[Any, ...], tuple[tuple[tuple[str, int], ...], Any]] = {}
_LOADED_MAX = 16


def _stamps(files: Sequence[str]) -> tuple[tuple[str, int], ...]:
    return tuple((f, os.stat(f).st_mtime_ns if os.path.exists(f) else -1) for f in files)


def loaded_scenario(spec: RunSpec) -> Any:
    """The scenario of ``spec`` with its seed, loaded once per process while its files are
    unchanged (each model builds its own policies, so runs never share state through it)."""
    key = (spec.scenario, spec.years, spec.overrides, spec.snapshots)
    cached = _LOADED.get(key)
    if cached is not None and _stamps([f for f, _ in cached[0]]) == cached[0]:
        scenario = cached[1]
    else:
        scenario = load_scenario(spec.scenario, years=spec.years, overrides=dict(spec.overrides), snapshots=spec.snapshots)
        files = [spec.scenario, scenario.pathway.file, *(t.file for t in scenario.territories)]
        if len(_LOADED) >= _LOADED_MAX:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = (_stamps(files), scenario)
    return replace(scenario, seed=int(spec.seed))


def run_one(spec: RunSpec) -> xr.Dataset:
    """Run one spec in this process and return its dataset."""
    return run_scenario(loaded_scenario(spec))


def run_to_file(spec: RunSpec, path: str) -> str:
    """Run one spec and write its dataset (atomically) to ``path``; used by the workers. A run
    whose file exists is not run again (a task retried after its worker died, or rescheduled by
    the scheduler after it lost the result, finds the file the first attempt wrote)."""
    if not Path(path).exists():
        save_dataset(run_one(spec), path)
    return path


#: Times a run is retried after an unexpected error or a lost worker (a configuration error is not retried).
RETRIES = 2


def _run_task(spec: RunSpec, path: str) -> tuple[bool, str]:
    """The task a worker runs: (True, path) once the file is written, or (False, message) for a
    configuration error, which is reported, not retried (it would fail again)."""
    from ..config.errors import ConfigError

    try:
        return True, run_to_file(spec, path)
    except ConfigError as exc:
        return False, f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client for one command: connected to ``scheduler``, or to a local cluster of
    ``workers`` processes (default: one per core), shut down quietly at the end.

    Open it once per command and pass it to :func:`run_ensemble` (``client=``) for every set of
    runs, instead of starting a cluster for each.
    """
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
    try:
        yield client
    finally:
        # Workers still busy with a cancelled run are killed at shutdown; that is expected, not news.
        quiet = [logging.getLogger(name) for name in ("distributed.nanny", "distributed.worker", "distributed.core", "distributed.scheduler")]
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.ERROR)
        try:
            client.close()
            if cluster is not None:
                cluster.close()
        finally:
            for logger, level in zip(quiet, levels):
                logger.setLevel(level)


def _sees_probe(probe: str, token: str) -> str:
    """On a worker: whether the run folder is shared with the client (``""``) or why not."""
    try:
        if Path(probe).read_text(encoding="utf-8") != token:
            return f"{probe} holds something else"
        with tempfile.NamedTemporaryFile(dir=Path(probe).parent, prefix=".lda_sim-probe.", suffix=".tmp"):
            pass
    except OSError as exc:
        return f"{probe}: {exc.strerror or exc}"
    return ""


def check_shared_folder(client: Any, run_dir: str | Path) -> None:
    """Check that every worker of ``client`` reads and writes ``run_dir`` at the same path (the
    workers write the run files there); raise :class:`SharedFolderError` naming the folder."""
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    probe = run_dir / f".lda_sim-shared.{token}.tmp"
    probe.write_text(token, encoding="utf-8")
    try:
        answers = client.run(_sees_probe, str(probe), token)
    finally:
        probe.unlink(missing_ok=True)
    if not answers:
        raise SharedFolderError(f"{run_dir}: the Dask cluster has no worker")
    blind = {worker: why for worker, why in answers.items() if why}
    if blind:
        worker, why = next(iter(sorted(blind.items())))
        raise SharedFolderError(
            f"{run_dir}: {len(blind)} of {len(answers)} Dask workers cannot read and write this run folder at the same path "
            f"(e.g. {worker}: {why}); with --scheduler, give --runs-dir a folder shared by this machine and every worker"
        )


class SharedFolderError(RuntimeError):
    """The run folder is not shared between this process and the Dask workers."""


def execute(
    specs: Sequence[RunSpec],
    run_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    client: Any = None,
) -> tuple[dict[str, Path], list[tuple[RunSpec, str]], int]:
    """Run the specs on Dask, each into ``run_dir/<key>.nc``; runs whose file exists are reused.

    ``client`` is a Dask client to use (see :func:`dask_client`); without one, a client is opened
    for this call from ``workers`` or ``scheduler``. Each run is retried :data:`RETRIES` times;
    a finished run's result is released at once, so that a worker lost later cannot make the
    scheduler run it again. Returns the files by run key, the failed runs with their error,
    and how many were reused.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    files = {spec.key: run_dir / f"{spec.key}.nc" for spec in specs}
    todo = [spec for spec in specs if not files[spec.key].exists()]
    reused = len(specs) - len(todo)
    failures: list[tuple[RunSpec, str]] = []
    if todo:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(dask_client(workers, scheduler))
            if scheduler or client.cluster is None:
                check_shared_folder(client, run_dir)
            failures = _submit(client, todo, files, len(specs), reused, progress)
    return {k: v for k, v in files.items() if v.exists()}, failures, reused


def _submit(client: Any, todo: list[RunSpec], files: dict[str, Path], total: int, reused: int, progress: bool) -> list[tuple[RunSpec, str]]:
    from distributed import as_completed
    from tqdm.auto import tqdm

    failures: list[tuple[RunSpec, str]] = []
    futures = {
        client.submit(_run_task, spec, str(files[spec.key]), key=f"lda-run-{spec.key}", pure=False, retries=RETRIES): spec
        for spec in todo
    }
    bar = tqdm(total=total, initial=reused, unit="run", desc="runs", disable=not progress or None)
    for future in as_completed(futures):
        spec = futures.pop(future)
        if future.status == "error":
            exc = future.exception()
            message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        else:
            done, message = future.result()
            message = "" if done else message
        if message:
            failures.append((spec, message))
            bar.write(f"run failed ({spec.describe()}): {message}")
        future.release()  # its file is on disk: nothing for the scheduler to keep or recompute
        bar.update(1)
    bar.close()
    return failures


def combine(specs: Sequence[RunSpec], files: dict[str, Path]) -> xr.Dataset | None:
    """One dataset from the run files: a dimension per coordinate of the specs (NaN where a run failed)."""
    done = [s for s in specs if s.key in files]
    if not done:
        return None
    pieces: list[tuple[xr.Dataset, dict[str, Any]]] = []
    for spec in done:
        ds = open_results(files[spec.key])
        attrs = dict(ds.attrs)
        ds = ds.drop_attrs(deep=False)
        ds = ds.expand_dims({"run_index": [len(pieces)]})
        for name, value in spec.coords:
            ds = ds.assign_coords({f"_{name}": ("run_index", [value])})
        ds = ds.assign_coords(_seed=("run_index", [spec.seed]), _description=("run_index", [attrs.get("scenario_description", "")]))
        for name, value in spec.extra:
            ds = ds.assign_coords({f"_x_{name}": ("run_index", [value])})
        pieces.append((ds, attrs))
    first_attrs = pieces[0][1]
    stacked = xr.concat([p for p, _ in pieces], dim="run_index", combine_attrs="drop")
    dims = [name for name, _ in done[0].coords]
    order = {name: list(dict.fromkeys(v for s in specs for n, v in s.coords if n == name)) for name in dims}
    extra_names = [name for name, _ in done[0].extra]
    seeds = stacked["_seed"].values
    descriptions = stacked["_description"].values
    extra_values = {name: stacked[f"_x_{name}"].values for name in extra_names}
    stacked = stacked.drop_vars(["_seed", "_description", *[f"_x_{n}" for n in extra_names]])
    stacked = stacked.rename({f"_{name}": name for name in dims}).set_index(run_index=dims).unstack("run_index")
    stacked = stacked.reindex({name: order[name] for name in dims}).transpose(*dims, ...)
    # per-scenario and per-replicate coordinates
    scen_of = {s: d for s, d in zip(stacked_values(done, "scenario"), descriptions)}
    stacked = stacked.assign_coords(scenario_description=("scenario", [scen_of.get(s, "") for s in stacked.scenario.values]))
    if "replicate" in stacked.dims:
        seed_of = {r: s for r, s in zip(stacked_values(done, "replicate"), seeds)}
        stacked = stacked.assign_coords(replicate_seed=("replicate", [int(seed_of[r]) for r in stacked.replicate.values]))
    if "run" in stacked.dims:
        run_ids = stacked_values(done, "run")
        for name in extra_names:
            value_of = dict(zip(run_ids, extra_values[name]))
            stacked = stacked.assign_coords({name: ("run", [value_of.get(r, np.nan) for r in stacked.run.values])})
    stacked.attrs = {k: v for k, v in first_attrs.items() if k not in PER_RUN_ATTRS}
    names = [str(s) for s in stacked.scenario.values]
    stacked.attrs.update(
        title="lda_sim results: " + ", ".join(names),
        scenario=", ".join(names),
        baseline=names[0],
        seed=int(done[0].seed) if "replicate" not in stacked.dims else "see replicate_seed",
        runs=len(specs),
        runs_failed=len(specs) - len(done),
    )
    first_of_scenario: dict[Any, dict[str, Any]] = {}
    for (_, attrs), spec in zip(pieces, done):
        first_of_scenario.setdefault(dict(spec.coords)["scenario"], attrs)
    stacked.attrs.update(combine_inputs([xr.Dataset(attrs=a) for a in first_of_scenario.values()]))
    for name in dims:
        if name not in ("scenario", "replicate", "run"):
            stacked[name].attrs["long_name"] = f"swept parameter {name}"
    return stacked


def stacked_values(specs: Sequence[RunSpec], name: str) -> list[Any]:
    return [v for s in specs for n, v in s.coords if n == name]


def run_ensemble(
    specs: Sequence[RunSpec],
    run_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    keep_runs: bool = False,
    client: Any = None,
) -> EnsembleResult:
    """Execute ``specs`` (resuming from ``run_dir``) and combine them into one dataset, on
    ``client`` if given (see :func:`dask_client`), else on a client opened for this call.

    The run files are deleted once combined, unless ``keep_runs`` or some runs failed (so that a
    second call redoes only the failed ones).
    """
    files, failures, reused = execute(specs, run_dir, workers=workers, scheduler=scheduler, progress=progress, client=client)
    ds = combine(specs, files)
    if ds is not None:
        ds.load()
    if not failures and not keep_runs:
        shutil.rmtree(run_dir, ignore_errors=True)
    return EnsembleResult(ds, failures, reused)


def summarise_replicates(ds: xr.Dataset, quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> xr.Dataset:
    """Quantiles over the ``replicate`` dimension (default: 10th, median, 90th percentile)."""
    numeric = ds[[v for v in ds.data_vars if "replicate" in ds[v].dims and np.issubdtype(ds[v].dtype, np.number)]]
    out = numeric.quantile(list(quantiles), dim="replicate", skipna=True, keep_attrs=True)
    out.attrs = dict(ds.attrs)
    out.attrs["replicates"] = int(ds.sizes["replicate"])
    return out
