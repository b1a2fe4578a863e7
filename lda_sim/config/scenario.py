"""Loading and validating scenario, pathway and territory files.

Files are YAML, checked against the JSON Schemas of :mod:`lda_sim.config.schema` (unknown keys are
errors), then against the pathway graph (unknown states, capacities in the wrong unit, shares that
do not sum to 1...). Every problem raises :class:`~lda_sim.config.errors.ConfigError` naming the file,
the field and the offending value.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import ruamel.yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarfloat import ScalarFloat

from .errors import ConfigError, record_lines
from .files import write_atomic
from .imports import import_object
from .laws import StayLaw, law_at
from .overrides import Overrides
from .pathway import Pathway
from .policies import build_settings
from .provenance import Provenance, unwrap
from .rules import custom_rule
from .schema import MAX_HOUSEHOLDS, NEEDS, PATHWAY_SCHEMA, SCENARIO_SCHEMA, TERRITORY_SCHEMA

SHARE_TOLERANCE = 1e-6


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------
#: Deepest nesting of mappings and lists accepted in a configuration file.
MAX_DEPTH = 50
#: Most values (mapping entries and list items, aliases expanded) in one configuration file; the
#: largest bundled file holds about 600. Protects against alias bombs ("billion laughs").
MAX_VALUES = 200_000


def _field_path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


#: The YAML tags of plain data; any other (``!!python/...``, a local ``!tag``) is refused.
_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")}


def _key(key: Any) -> str:
    return str(key).lower() if isinstance(key, bool) else str(key)


class _Reader:
    """Turns the round-trip nodes of ruamel.yaml into plain JSON-like data (string keys, dates as
    ISO strings), recording the line of every field, and refusing data too deep or too large."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[str, int] = {}
        self.count = 0

    def plain(self, node: Any, path: tuple[Any, ...] = (), line: int | None = None) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise ConfigError(self.file, _field_path(path), f"more than {MAX_VALUES:,} values in one file (aliases expanded): refusing to read further", line)
        if len(path) > MAX_DEPTH:
            raise ConfigError(self.file, _field_path(path), f"nested more than {MAX_DEPTH} levels deep", line)
        tag = getattr(getattr(node, "tag", None), "value", None)
        if tag and tag not in _PLAIN_TAGS:
            raise ConfigError(self.file, _field_path(path), f"unsupported YAML tag {tag!r}: configuration files hold plain data", line)
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for k, v in node.items():
                key = _key(k)
                at = (*path, key)
                where = node.lc.key(k)[0] + 1 if isinstance(node, CommentedMap) else line
                if where is not None:
                    self.lines.setdefault(_field_path(at), where)
                out[key] = self.plain(v, at, where)
            return out
        if isinstance(node, list):
            items = []
            for i, v in enumerate(node):
                at = (*path, i)
                where = node.lc.item(i)[0] + 1 if isinstance(node, CommentedSeq) else line
                if where is not None:
                    self.lines.setdefault(_field_path(at), where)
                items.append(self.plain(v, at, where))
            return items
        if node is None or isinstance(node, bool):
            return node
        if isinstance(node, ScalarBoolean):
            return bool(node)
        if isinstance(node, (_dt.date, _dt.datetime)):
            return node.isoformat()
        if isinstance(node, str):
            return str(node)
        if isinstance(node, int):
            return int(node)
        if isinstance(node, (float, ScalarFloat)):
            return float(node)
        tag = getattr(getattr(node, "tag", None), "value", None) or type(node).__name__
        raise ConfigError(self.file, _field_path(path), f"unsupported YAML value (tag {tag})", line)


def _flow_depth_line(text: str) -> int | None:
    """The line where brackets (flow collections) nest deeper than :data:`MAX_DEPTH`, if any; a
    cheap scan that spares the parser a recursion thousands of levels deep."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth, quote = 0, ""
    for number, line in enumerate(text.splitlines(), 1):
        for i, c in enumerate(line):
            if quote:
                quote = "" if c == quote else quote
            elif c in "'\"":
                quote = c
            elif c == "#" and (i == 0 or line[i - 1] in " \t"):
                break
            elif c in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return number
            elif c in "]}":
                depth = max(depth - 1, 0)
        quote = ""
    return None


def _yaml_loader() -> Any:
    loader = YAML(typ="rt", pure=True)  # YAML 1.2 (1e3 is a number), keeps lines, constructs no Python objects
    loader.allow_duplicate_keys = False
    return loader


def load_yaml_file(path: str | Path) -> Any:
    """Parse a YAML 1.2 file into plain data; raise :class:`ConfigError` for a missing, unreadable
    or malformed file (with its line), for data nested too deep or too large. Records the line of
    every field, so that later errors about the file name it too."""
    return _load_yaml(path)[0]


def _load_yaml(path: str | Path) -> tuple[Any, str]:
    """:func:`load_yaml_file`, with the digest under which the parse is cached."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(file, "", "is a folder, not a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(file, "", "not a UTF-8 text file (is it a YAML configuration?)") from None
    except OSError as exc:
        raise ConfigError(file, "", f"cannot read file: {exc.strerror}") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise ConfigError(file, "", "a NUL byte: not a YAML text file", text.count("\n", 0, nul) + 1)
    digest = _parse_digest(text)
    cached = _cached_parse(digest)
    if cached is not None:
        data, lines = cached
        record_lines(file, lines)
        return data, digest
    deep = _flow_depth_line(text)
    if deep is not None:
        raise ConfigError(file, "", f"malformed YAML: brackets nested more than {MAX_DEPTH} levels deep", deep)
    try:
        node = _yaml_loader().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or str(exc).splitlines()[0]).strip()
        column = f" (column {mark.column + 1})" if mark else ""
        raise ConfigError(file, "", f"malformed YAML: {problem}{column}", mark.line + 1 if mark else None) from None
    except YAMLError as exc:
        raise ConfigError(file, "", f"malformed YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError(file, "", f"malformed YAML: nested too deeply to read (more than {MAX_DEPTH} levels are refused)") from None
    reader = _Reader(file)
    data = reader.plain(node)
    record_lines(file, reader.lines)
    _store_parse(digest, data, reader.lines)
    return data, digest


# A round-trip parse by the pure-Python ruamel.yaml reads about 150 KB/s: the national
# configuration (41 territory files, 1.2 MB) took about 8 s. Each successful parse (plain data
# and field lines) is kept by the digest of the file's text, of this module's source and of
# ruamel's version, in memory and in a cache folder, so that a file is parsed once until it
# changes. A file that fails to parse is never cached: its error is raised again each time.
_SOURCE_DIGEST = hashlib.sha256(Path(__file__).read_bytes() + ruamel.yaml.__version__.encode()).digest()
_PARSED: dict[str, bytes] = {}


def parse_cache_dir() -> Path:
    """Where parsed configuration files are kept: ``$LDA_SIM_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/lda_sim/yaml`` (``~/.cache/lda_sim/yaml``)."""
    root = os.environ.get("LDA_SIM_CACHE_DIR")
    if root:
        return Path(root) / "yaml"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lda_sim" / "yaml"


def _parse_digest(text: str) -> str:
    return hashlib.sha256(_SOURCE_DIGEST + text.encode("utf-8")).hexdigest()


def _cached_parse(digest: str) -> tuple[Any, dict[str, int]] | None:
    """A fresh copy of the data and lines of an earlier parse of the same text, if kept."""
    blob = _PARSED.get(digest)
    if blob is None:
        try:
            blob = (parse_cache_dir() / f"{digest}.pickle").read_bytes()
        except OSError:
            return None
    try:
        data, lines = pickle.loads(blob)
    except Exception:  # a damaged cache entry: parse again (and overwrite it)
        return None
    _PARSED[digest] = blob
    return data, lines


def _store_parse(digest: str, data: Any, lines: dict[str, int]) -> None:
    """Keep a parse in memory and, atomically, in the cache folder (skipped if it is not writable)."""
    blob = pickle.dumps((data, lines), protocol=pickle.HIGHEST_PROTOCOL)
    _PARSED[digest] = blob
    folder = parse_cache_dir()
    _write_cache_entry(folder, f"{digest}.pickle", blob)


def _write_cache_entry(folder: Path, name: str, blob: bytes) -> None:
    """Write ``folder/name`` atomically (:func:`lda_sim.config.files.write_atomic`: no temporary file is
    left behind, whatever happens); a cache that cannot be written is skipped, not an error."""
    with contextlib.suppress(OSError):
        write_atomic(folder / name, lambda tmp: tmp.write_bytes(blob))


# Validating the national territories against their schema takes about 1.5 s. Valid data is
# remembered by the digest of its text and of the schema (data patched by overrides is always
# validated): the same file checked against the same schema is valid again.
_VALID: set[str] = set()
_SCHEMA_DIGESTS: dict[int, tuple[dict[str, Any], str]] = {}  # by id, holding the schema alive


def _validation_key(digest: str, schema: dict[str, Any]) -> str:
    known = _SCHEMA_DIGESTS.get(id(schema))
    if known is None:
        known = schema, hashlib.sha256(json.dumps(schema, sort_keys=True, default=str).encode()).hexdigest()
        _SCHEMA_DIGESTS[id(schema)] = known
    schema_digest = known[1]
    return hashlib.sha256(f"{digest}:{schema_digest}".encode()).hexdigest()


def _known_valid(key: str) -> bool:
    if key in _VALID:
        return True
    if (parse_cache_dir() / f"{key}.valid").is_file():
        _VALID.add(key)
        return True
    return False


def _remember_valid(key: str) -> None:
    _VALID.add(key)
    _write_cache_entry(parse_cache_dir(), f"{key}.valid", b"")


def _check_finite(node: Any, file: str, path: tuple[Any, ...] = ()) -> None:
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(file, _field_path(path), f"{node!r} is not a finite number")
    if isinstance(node, dict):
        for k, v in node.items():
            _check_finite(v, file, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _check_finite(v, file, (*path, i))


def _schema_message(error: jsonschema.ValidationError) -> tuple[list[Any], str]:
    """A field path and a plain message for a schema violation."""
    path = list(error.absolute_path)
    value = error.instance
    if error.validator == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = [k for k in value if k not in error.schema.get("properties", {})]
        return [*path, unknown[0]], f"unknown key {unknown[0]!r} (allowed: {', '.join(allowed)})"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [*path, missing], f"missing required key {missing!r}"
    if error.validator == "oneOf" and isinstance(value, dict):
        if "value" in value:
            return path, (
                "a sourced value needs exactly one of: 'source', 'derived' (with an optional 'source') "
                f"or 'assumption'; got keys {sorted(value)}"
            )
        if {"persons", "households"} & set(value):
            return path, "give the initial population in persons or in households, not both"
    shown = repr(value) if not isinstance(value, (dict, list)) or len(repr(value)) < 80 else type(value).__name__
    message = error.message if shown in error.message else f"{error.message} (value: {shown})"
    return path, message


def read_yaml(path: str | Path, schema: dict[str, Any], patch: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """Read a YAML file, apply ``patch`` to it (overrides; it returns whether it changed the
    data), and validate it against ``schema``; raise :class:`ConfigError`."""
    file = str(path)
    data, digest = _load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(file, "", f"expected a mapping at the top level, got {type(data).__name__}")
    if patch is not None and patch(data):
        key = None
    else:
        key = _validation_key(digest, schema)
        if _known_valid(key):
            return data
    _check_finite(data, file)
    _validate(data, schema, file)
    if key is not None:
        _remember_valid(key)
    return data


def _validate(data: dict[str, Any], schema: dict[str, Any], file: str) -> None:
    """Check ``data`` against ``schema``; raise :class:`ConfigError` for the most relevant violation."""
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        field, message = _schema_message(error)
        raise ConfigError(file, _field_path(field), message)


# --------------------------------------------------------------------------------------------
# Resolved configuration objects
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mix:
    """Shares over named categories, drawn by inversion from a uniform."""

    names: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def from_shares(cls, shares: dict[str, float], file: str, where: str) -> Mix:
        total = sum(shares.values())
        if abs(total - 1) > SHARE_TOLERANCE:
            raise ConfigError(file, where, f"shares sum to {total:.6g}, not 1: {shares}")
        names, cumulative, acc = [], [], 0.0
        for name, s in shares.items():
            acc += s
            names.append(name)
            cumulative.append(acc / total)
        return cls(tuple(names), tuple(cumulative))

    def pick(self, u: float) -> int:
        for i, c in enumerate(self.cumulative):
            if u < c:
                return i
        return len(self.cumulative) - 1

    def share(self, name: str) -> float:
        i = self.names.index(name)
        return self.cumulative[i] - (self.cumulative[i - 1] if i else 0.0)


@dataclass(frozen=True)
class Population:
    """Attributes of the households that arrive (or start) in a territory."""

    kinds: Mix
    needs: Mix
    regular_status_share: float
    priority_share: float
    calls_115_share: float = 1.0


#: Publics of the lettings to homeless households (``lettings_by_origin``), in the kernel's order.
LETTING_PUBLICS = ("priority", "street", "shelter", "housing")


@dataclass(frozen=True)
class EmergencyLine:
    """How the 115 answers: requests open for ``request_days``, calls again after ``recall_after``,
    and outreach that reaches households who do not call."""

    request_days: float
    recall_after: StayLaw
    outreach_per_year: float = 0.0


@dataclass(frozen=True)
class Inflow:
    """A Poisson inflow of households of one cause."""

    cause: str
    households_per_year: float
    entry: int  # state index
    population: Population


@dataclass(frozen=True)
class Supply:
    """Lettings from the turnover of a whole stock, a share of which goes to the model."""

    stock_units: int
    turnover_rate: float
    share_to_homeless: float
    size_mix: Mix
    by_origin: Mix | None = None  # shares of LETTING_PUBLICS; None: one list for all

    @property
    def lettings_per_year(self) -> float:
        return self.stock_units * self.turnover_rate * self.share_to_homeless


@dataclass(frozen=True)
class EdgeParams:
    """Territory-specific parameters of one transition."""

    weight: float = 0.0
    rate_per_year: float = 0.0
    refusal_probability: float = 0.0
    ready_after: StayLaw | None = None


@dataclass
class TerritoryConfig:
    """A territory's capacities, population, inflows and parameters, resolved against a pathway."""

    name: str
    label: str
    description: str
    file: str
    population: Population
    inflows: list[Inflow]
    initial: dict[int, tuple[str, int]]
    places: dict[int, int]
    units: dict[int, list[int]]
    supplies: dict[int, Supply]
    stays: dict[int, StayLaw]
    edges: dict[int, EdgeParams]
    costs: dict[int, tuple[str, float]] = field(default_factory=dict)  # state -> (basis, EUR per day)
    #: state -> ((low, medium, high) EUR per day of the reference person, EUR per day of each other member)
    needs_costs: dict[int, tuple[tuple[float, float, float], float]] = field(default_factory=dict)
    #: state -> EUR per unit delivered by a production policy (one-off)
    production_costs: dict[int, float] = field(default_factory=dict)
    support_cost_per_slot_day: float = 0.0
    region: str = ""
    inhabitants: int | None = None
    location: tuple[float, float] | None = None  # (latitude, longitude) of the main city
    emergency_line: EmergencyLine | None = None
    regularisation_per_year: float = 0.0


@dataclass
class Scenario:
    """Everything a run needs: the pathway, the territories and the run settings."""

    name: str
    description: str
    start: np.datetime64
    years: float
    seed: int
    pathway: Pathway
    territories: list[TerritoryConfig]
    allocation: dict[str, Any]
    file: str = "<scenario>"
    provenance: list[Provenance] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    policies: list[Any] = field(default_factory=list)  # lda_sim.config.policies.PolicySettings objects
    household_class: type | None = None  # a Household subclass named in the scenario file
    spin_up_years: float = 0.0  # run before the first reported month, from the initial population, without policies
    mobility: Any = None  # lda_sim.config.mobility.Mobility, or None without mobility between territories
    scenario_files: tuple[str, ...] = ()  # this file and those it extends
    config_files: tuple[str, ...] = ()  # the pathway files (with those they extend), territory files and sources
    snapshots: tuple[str, ...] = ()  # dates YYYY-MM-DD at which the stocks are also recorded (lda_sim.engine.snapshots)

    @property
    def input_files(self) -> tuple[str, ...]:
        """Every file the scenario was read from."""
        return self.scenario_files + self.config_files

    @property
    def months(self) -> int:
        return int(round(self.years * 12))

    def territory(self, name: str) -> TerritoryConfig:
        for t in self.territories:
            if t.name == name:
                return t
        raise KeyError(name)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------
#: Pathway sections whose entries a pathway file that extends another merges by name.
_NAMED_SECTIONS = ("size_classes", "kinds", "states")


def load_pathway(
    path: str | Path, records: list[Provenance] | None = None, overrides: Overrides | None = None, files: list[str] | None = None
) -> Pathway:
    """Load and validate a pathway file, merged over the pathway it extends, if any.

    ``pathway.extends`` (a path relative to the file) inherits the parent's size classes, kinds,
    states and transitions, themselves possibly inherited. The file may add entries and change
    inherited ones: a size class, kind or state by name, a transition by its from/to pair; the
    fields it gives replace the inherited ones, the others are kept (e.g. a new ``label`` keeps
    the ``kind``). Inherited entries keep their order and index; new ones come after them. The
    name and description are the file's own. Nothing can be removed. Errors name the file and
    field where the faulty entry was written; ``overrides`` address the merged pathway. The files
    read (the root first) are appended to ``files``.
    """
    path = Path(path)
    file = str(path)
    records = [] if records is None else records
    chain = _pathway_chain(path)
    if files is not None:
        files.extend(f for f, _ in chain)
    data, origin = _merge_pathway(chain)
    if overrides:
        overrides.apply(data, "pathway", file, keep_prefix=True)
        _check_finite(data, file)
        origin.update({p: (file, p) for p in overrides.values if p.startswith(("pathway.", "pathway["))})
    try:
        _validate(data, PATHWAY_SCHEMA, file)
        return Pathway(_unwrap_pathway(data, origin, file, records), file)
    except ConfigError as exc:
        if exc.file != file:
            raise
        where, field_path = _locate(exc.field, origin, file)
        raise ConfigError(where, field_path, exc.message) from None


def _pathway_chain(path: Path, seen: tuple[Path, ...] = ()) -> list[tuple[str, dict[str, Any]]]:
    """The pathway file and those it extends, the root first: (file, data checked against the schema)."""
    file = str(path)
    data = read_yaml(path, PATHWAY_SCHEMA)
    parent = data["pathway"].pop("extends", None)
    if parent is None:
        return [(file, data)]
    parent_path = path.parent / parent
    chain = (*seen, path.resolve())
    if parent_path.resolve() in chain:
        loop = chain[chain.index(parent_path.resolve()):]
        names = " -> ".join(p.name for p in (*loop, parent_path.resolve()))
        raise ConfigError(file, "pathway.extends", f"{parent!r} extends this file again (a cycle: {names})")
    if not parent_path.is_file():
        raise ConfigError(file, "pathway.extends", f"no pathway file {parent_path} (the path is relative to this file)")
    return [*_pathway_chain(parent_path, chain), (file, data)]


def _merge_pathway(chain: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The pathway files of ``chain`` (the root first) merged as :func:`load_pathway` says, and
    where each entry and field of the result was given: {field path: (file, field path there)}."""
    spec: dict[str, Any] = {}
    origin: dict[str, tuple[str, str]] = {}

    def merge(old: dict[str, Any], new: dict[str, Any], at: str, given_at: str, file: str) -> dict[str, Any]:
        origin[at] = (file, given_at)
        origin.update({f"{at}.{key}": (file, f"{given_at}.{key}") for key in new})
        return {**old, **new}

    for file, data in chain:
        own = data["pathway"]
        spec.pop("description", None)  # a description describes its own file, like a scenario's
        for key in ("name", "description"):
            if key in own:
                spec[key] = own[key]
                origin[f"pathway.{key}"] = (file, f"pathway.{key}")
        for section in _NAMED_SECTIONS:
            entries = spec.setdefault(section, {})
            for name, entry in own.get(section, {}).items():
                where = f"pathway.{section}.{name}"
                entries[name] = merge(entries.get(name, {}), entry, where, where, file)
        transitions = spec.setdefault("transitions", [])
        inherited = {(t["from"], t["to"]): i for i, t in enumerate(transitions)}
        given: set[tuple[str, str]] = set()
        for j, t in enumerate(own.get("transitions", [])):
            pair: tuple[str, str] = (t["from"], t["to"])
            where = f"pathway.transitions[{j}]"
            if pair in given:
                raise ConfigError(file, where, f"duplicate transition {pair[0]}->{pair[1]}")
            given.add(pair)
            i = inherited.get(pair, len(transitions))
            if i == len(transitions):
                transitions.append({})
            transitions[i] = merge(transitions[i], t, f"pathway.transitions[{i}]", where, file)
    return {"pathway": spec}, origin


def _locate(field_path: str, origin: dict[str, tuple[str, str]], file: str) -> tuple[str, str]:
    """The file and field path where a field of a merged pathway was written (``file`` and the
    path itself for a field of no single entry, e.g. ``pathway.states``)."""
    probe = field_path
    while probe:
        if probe in origin:
            where, given_at = origin[probe]
            return where, given_at + field_path[len(probe):]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return file, field_path


def _unwrap_pathway(data: dict[str, Any], origin: dict[str, tuple[str, str]], file: str, records: list[Provenance]) -> dict[str, Any]:
    """A merged pathway with its sourced values unwrapped, each recorded with its own file and field."""

    def fields(entry: dict[str, Any], at: str) -> dict[str, Any]:
        return {key: unwrap(value, *_locate(f"{at}.{key}", origin, file), records) for key, value in entry.items()}

    out: dict[str, Any] = {}
    for key, value in data["pathway"].items():
        if key in _NAMED_SECTIONS:
            out[key] = {name: fields(entry, f"pathway.{key}.{name}") for name, entry in value.items()}
        elif key == "transitions":
            out[key] = [fields(t, f"pathway.transitions[{i}]") for i, t in enumerate(value)]
        else:
            out[key] = unwrap(value, *_locate(f"pathway.{key}", origin, file), records)
    return {"pathway": out}


def _population(spec: dict[str, Any], base: Population | None, pathway: Pathway, file: str, where: str) -> Population:
    def mix(key: str, allowed: set[str]) -> Mix | None:
        if key not in spec:
            return None
        unknown = set(spec[key]) - allowed
        if unknown:
            raise ConfigError(file, f"{where}.{key}", f"unknown categories {sorted(unknown)} (allowed: {sorted(allowed)})")
        return Mix.from_shares(spec[key], file, f"{where}.{key}")

    kinds = mix("kinds", set(pathway.kinds))
    needs = mix("needs", set(NEEDS))
    if base is None:
        assert kinds is not None and needs is not None
        return Population(kinds, needs, float(spec["regular_status_share"]), float(spec["priority_share"]), float(spec.get("calls_115_share", 1.0)))
    return Population(
        kinds or base.kinds,
        needs or base.needs,
        float(spec.get("regular_status_share", base.regular_status_share)),
        float(spec.get("priority_share", base.priority_share)),
        float(spec.get("calls_115_share", base.calls_115_share)),
    )


def _left_out(data: dict[str, Any], pathway: Pathway) -> set[str]:
    """Optional states of the pathway that the territory file leaves out of ``states``: they have
    no places or units there, hence no stay law and no parameters for the transitions leaving them."""
    given = data.get("states", {})
    return {s.name for s in pathway.states if s.optional and s.name not in given}


def _state_params(
    data: dict[str, Any], pathway: Pathway, file: str
) -> tuple[dict[int, int], dict[int, list[int]], dict[int, Supply], dict[int, StayLaw]]:
    places: dict[int, int] = {}
    units: dict[int, list[int]] = {}
    supplies: dict[int, Supply] = {}
    stays: dict[int, StayLaw] = {}
    given = data.get("states", {})
    for name in given:
        if name not in pathway.state_index:
            raise ConfigError(file, f"states.{name}", f"unknown state {name!r} (states: {', '.join(pathway.state_index)})")
    size_names = pathway.size_class_names
    left_out = _left_out(data, pathway)
    for state in pathway.states:
        spec = given.get(state.name, {})
        where = f"states.{state.name}"
        kind = state.capacity_kind
        if state.name in left_out:
            if kind == "shelter":
                places[state.index] = 0
            elif kind == "units":
                units[state.index] = [0] * len(size_names)
            else:  # turnover: an empty stock
                first_class = {c: float(i == 0) for i, c in enumerate(size_names)}
                supplies[state.index] = Supply(0, 0.0, 0.0, Mix.from_shares(first_class, file, f"{where}.size_mix"))
            continue
        wrong_unit = {
            "shelter": ("units", "stock_units", "turnover_rate", "share_to_homeless", "size_mix"),
            "units": ("places", "stock_units", "turnover_rate", "share_to_homeless", "size_mix"),
            "turnover": ("places", "units"),
            "none": ("places", "units", "stock_units", "turnover_rate", "share_to_homeless", "size_mix"),
        }[kind]
        if "lettings_by_origin" in spec and kind != "turnover":
            raise ConfigError(file, f"{where}.lettings_by_origin", "only lettings from the turnover of a stock (social housing) are shared by origin")
        for key in wrong_unit:
            if key in spec:
                unit_text = {
                    "shelter": "a shelter's capacity is counted in places (persons): use 'places'",
                    "units": "a housing state's capacity is counted in units (households by size class): use 'units'",
                    "turnover": "this state is supplied by the turnover of a stock: use stock_units, turnover_rate, share_to_homeless, size_mix",
                    "none": f"{state.name!r} has no capacity",
                }[kind]
                raise ConfigError(file, f"{where}.{key}", f"capacity in the wrong unit: {unit_text}")
        if kind == "shelter":
            if "places" not in spec:
                raise ConfigError(file, f"{where}.places", "missing: a shelter needs its number of places")
            places[state.index] = int(spec["places"])
        elif kind == "units":
            if "units" not in spec:
                raise ConfigError(file, f"{where}.units", f"missing: units per size class ({', '.join(size_names)})")
            unknown = set(spec["units"]) - set(size_names)
            if unknown:
                raise ConfigError(file, f"{where}.units", f"unknown size class(es) {sorted(unknown)} (size classes: {', '.join(size_names)})")
            units[state.index] = [int(spec["units"].get(c, 0)) for c in size_names]
        elif kind == "turnover":
            missing = [k for k in ("stock_units", "turnover_rate", "share_to_homeless", "size_mix") if k not in spec]
            if missing:
                raise ConfigError(file, f"{where}.{missing[0]}", "missing: a turnover-supplied state needs stock_units, turnover_rate, share_to_homeless and size_mix")
            unknown = set(spec["size_mix"]) - set(size_names)
            if unknown:
                raise ConfigError(file, f"{where}.size_mix", f"unknown size class(es) {sorted(unknown)}")
            shares = {c: float(spec["size_mix"].get(c, 0.0)) for c in size_names}
            by_origin = None
            if "lettings_by_origin" in spec:
                given_shares = {p: float(spec["lettings_by_origin"].get(p, 0.0)) for p in LETTING_PUBLICS}
                by_origin = Mix.from_shares(given_shares, file, f"{where}.lettings_by_origin")
            supplies[state.index] = Supply(
                int(spec["stock_units"]), float(spec["turnover_rate"]), float(spec["share_to_homeless"]),
                Mix.from_shares(shares, file, f"{where}.size_mix"), by_origin,
            )
        has_stay_edges = bool(pathway.out_transitions(state.name, "stay"))
        if "stay" in spec:
            if not has_stay_edges:
                raise ConfigError(file, f"{where}.stay", f"{state.name!r} has no stay transition in the pathway, so a stay law is never used")
            stays[state.index] = law_at(spec["stay"], file, f"{where}.stay")
        elif has_stay_edges:
            raise ConfigError(file, f"{where}.stay", "missing: the pathway has stay transitions out of this state, so it needs a stay law")
    return places, units, supplies, stays


def _edge_params(data: dict[str, Any], pathway: Pathway, file: str) -> dict[int, EdgeParams]:
    given = data.get("transitions", {})
    for key in given:
        if key not in pathway.transition_index:
            raise ConfigError(file, f"transitions.{key}", f"unknown transition {key!r}: not an edge of pathway {pathway.name!r}")
    params: dict[int, EdgeParams] = {}
    left_out = _left_out(data, pathway)
    for t in pathway.transitions:
        spec = {**t.defaults, **given.get(t.key, {})}
        where = f"transitions.{t.key}"
        if t.origin.name in left_out and t.mode != "queue":  # nobody is ever there: no parameter needed
            spec.setdefault("weight" if t.mode == "stay" else "rate_per_year", 0.0)
        allowed = {"queue": {"refusal_probability", "ready_after"}, "stay": {"weight"}, "hazard": {"rate_per_year"}}[t.mode]
        extra = set(given.get(t.key, {})) - allowed
        if extra:
            raise ConfigError(file, f"{where}.{sorted(extra)[0]}", f"not a parameter of a {t.mode} transition (allowed: {', '.join(sorted(allowed))})")
        if t.mode == "hazard" and "rate_per_year" not in spec:
            raise ConfigError(file, f"{where}.rate_per_year", "missing: a hazard transition needs a rate per year")
        if t.mode == "stay" and "weight" not in spec:
            raise ConfigError(file, f"{where}.weight", "missing: a stay transition needs a weight")
        ready = spec.get("ready_after")
        if isinstance(ready, dict):
            ready = law_at(ready, file, f"{where}.ready_after")
        params[t.index] = EdgeParams(
            float(spec.get("weight", 0.0)),
            float(spec.get("rate_per_year", 0.0)),
            float(spec.get("refusal_probability", 0.0)),
            ready,
        )
    for state in pathway.states:
        stay_edges = pathway.out_transitions(state.name, "stay")
        if stay_edges and state.name not in left_out:
            total = sum(params[t.index].weight for t in stay_edges)
            if abs(total - 1) > SHARE_TOLERANCE:
                keys = ", ".join(f"{t.key}={params[t.index].weight:g}" for t in stay_edges)
                raise ConfigError(file, f"transitions.{stay_edges[0].key}.weight", f"stay weights out of {state.name!r} sum to {total:.6g}, not 1 ({keys})")
    return params


def load_territory(
    path: str | Path, pathway: Pathway, records: list[Provenance] | None = None, overrides: Overrides | None = None
) -> TerritoryConfig:
    """Load a territory file and resolve it against ``pathway``."""
    file = str(path)
    records = [] if records is None else records

    def patch(doc: dict[str, Any]) -> bool:
        name = doc.get("territory", {}).get("name") if isinstance(doc.get("territory"), dict) else None
        return bool(overrides and name and overrides.apply(doc, f"territory.{name}", file))

    data = unwrap(read_yaml(path, TERRITORY_SCHEMA, patch), file, "", records)
    population = _population(data["population"], None, pathway, file, "population")
    inflows = []
    for cause, spec in data["inflows"].items():
        entry = spec.get("entry", next(s.name for s in pathway.states if s.kind == "street"))
        if entry not in pathway.state_index:
            raise ConfigError(file, f"inflows.{cause}.entry", f"unknown state {entry!r}")
        entry_state = pathway.states[pathway.state_index[entry]]
        if entry_state.capacitated or entry_state.kind == "exit":
            raise ConfigError(file, f"inflows.{cause}.entry", f"households cannot arrive into {entry!r}: arrivals enter the street or an open state, then queue")
        inflows.append(
            Inflow(cause, float(spec["households_per_year"]), entry_state.index,
                   _population(spec, population, pathway, file, f"inflows.{cause}"))
        )
    places, units, supplies, stays = _state_params(data, pathway, file)
    initial: dict[int, tuple[str, int]] = {}
    for name, spec in data.get("initial", {}).items():
        where = f"initial.{name}"
        if name not in pathway.state_index:
            raise ConfigError(file, where, f"unknown state {name!r}")
        state = pathway.states[pathway.state_index[name]]
        if state.kind == "exit":
            raise ConfigError(file, where, "an exit state holds nobody at the start")
        unit, count = ("persons", int(spec["persons"])) if "persons" in spec else ("households", int(spec["households"]))
        if state.kind == "shelter" and unit != "persons":
            raise ConfigError(file, f"{where}.households", "a shelter's initial population is counted in persons, like its places: use 'persons'")
        if state.kind == "housing" and unit != "households":
            raise ConfigError(file, f"{where}.persons", "a housing state's initial population is counted in households, like its units: use 'households'")
        if state.index in places and unit == "persons" and count > places[state.index]:
            raise ConfigError(file, f"{where}.persons", f"{count} persons exceed the {places[state.index]} places of {name!r}")
        if state.index in units and unit == "households" and count > sum(units[state.index]):
            raise ConfigError(file, f"{where}.households", f"{count} households exceed the {sum(units[state.index])} units of {name!r}")
        initial[state.index] = (unit, count)
    line = None
    if "emergency_line" in data:
        spec = data["emergency_line"]
        recall = law_at(spec["recall_after"], file, "emergency_line.recall_after")
        line = EmergencyLine(float(spec["request_days"]), recall, float(spec.get("outreach_per_year", 0.0)))
    costs, support_cost, needs_costs = _costs(data.get("costs", {}), pathway, file)
    return TerritoryConfig(
        name=data["territory"]["name"],
        label=data["territory"]["label"],
        description=data["territory"].get("description", ""),
        file=file,
        population=population,
        inflows=inflows,
        initial=initial,
        places=places,
        units=units,
        supplies=supplies,
        stays=stays,
        edges=_edge_params(data, pathway, file),
        costs=costs,
        needs_costs=needs_costs,
        support_cost_per_slot_day=support_cost,
        production_costs=_production_costs(data.get("production_costs", {}), pathway, file),
        region=data["territory"].get("region", ""),
        inhabitants=data["territory"].get("inhabitants"),
        location=(float(loc["lat"]), float(loc["lon"])) if (loc := data["territory"].get("location")) else None,
        emergency_line=line,
        regularisation_per_year=float(data.get("status", {}).get("regularisation_per_year", 0.0)),
    )


_COST_BASES = {
    "eur_per_person_day": ("persons", 1.0),
    "eur_per_person_year": ("persons", 1 / 365.25),
    "eur_per_household_year": ("households", 1 / 365.25),
    "eur_per_place_year": ("capacity", 1 / 365.25),
    "eur_per_place_day": ("capacity", 1.0),
}


def _production_costs(spec: dict[str, Any], pathway: Pathway, file: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for name, entry in spec.items():
        if name not in pathway.state_index:
            raise ConfigError(file, f"production_costs.{name}", f"unknown state {name!r} (states: {', '.join(pathway.state_index)})")
        state = pathway.states[pathway.state_index[name]]
        if state.capacity_kind not in ("units", "turnover"):
            raise ConfigError(file, f"production_costs.{name}", f"{name!r} has no units to produce")
        out[state.index] = float(entry["eur_per_unit"])
    return out


def _costs(
    spec: dict[str, Any], pathway: Pathway, file: str
) -> tuple[dict[int, tuple[str, float]], float, dict[int, tuple[tuple[float, float, float], float]]]:
    costs: dict[int, tuple[str, float]] = {}
    by_needs: dict[int, tuple[tuple[float, float, float], float]] = {}
    support = 0.0
    for name, entry in spec.items():
        if name == "support":
            support = float(entry["eur_per_slot_year"]) / 365.25
            continue
        if name not in pathway.state_index:
            raise ConfigError(file, f"costs.{name}", f"unknown state {name!r} (states: {', '.join(pathway.state_index)})")
        state = pathway.states[pathway.state_index[name]]
        (key, value), = entry.items()
        if key == "eur_per_person_year_by_needs":
            rates = tuple(float(value[level]) / 365.25 for level in ("low", "medium", "high"))
            by_needs[state.index] = ((rates[0], rates[1], rates[2]), float(value["other_members"]) / 365.25)
            continue
        basis, per_day = _COST_BASES[key]
        if basis == "capacity" and state.capacity_kind not in ("shelter", "units"):
            raise ConfigError(file, f"costs.{name}.{key}", f"{name!r} has no funded places or units: cost it per person or household")
        costs[state.index] = (basis, float(value) * per_day)
    return costs, support, by_needs


def load_sources(path: str | Path) -> dict[str, str]:
    """Read a sources file: ``sources: {ID: {citation: text}}``."""
    file = str(path)
    data = load_yaml_file(path)
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise ConfigError(file, "sources", "expected a mapping 'sources: {ID: {citation: ...}}'")
    out = {}
    for key, entry in data["sources"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("citation"), str):
            raise ConfigError(file, f"sources.{key}", "expected {citation: text}")
        out[str(key)] = entry["citation"]
    return out


def _scenario_spec(
    path: Path, seen: tuple[Path, ...] = ()
) -> tuple[dict[str, Any], list[tuple[dict[str, Any], str, str]], dict[str, str]]:
    """A scenario's settings merged over those it extends, with paths made relative to the cwd,
    its policies after those it inherits (each with its file and field), and the file that gave
    each setting."""
    file = str(path)
    spec = read_yaml(path, SCENARIO_SCHEMA)["scenario"]
    if "years" in spec and "until" in spec:
        raise ConfigError(file, "scenario.until", "give the horizon as 'years' or 'until', not both")
    base = path.parent
    for key in ("pathway", "sources"):
        if key in spec:
            spec[key] = str(base / spec[key])
    if "territories" in spec:
        spec["territories"] = [str(base / t) for t in spec["territories"]]
    given_by = {key: file for key in spec}
    policies = [(p, file, f"scenario.policies[{i}]") for i, p in enumerate(spec.pop("policies", []))]
    if "extends" in spec:
        parent_path = base / spec.pop("extends")
        if parent_path.resolve() in seen or parent_path.resolve() == path.resolve():
            raise ConfigError(file, "scenario.extends", f"{parent_path} extends itself (a cycle)")
        if not parent_path.is_file():
            raise ConfigError(file, "scenario.extends", f"no scenario file {parent_path} (the path is relative to this file)")
        parent, inherited, parent_given_by = _scenario_spec(parent_path, (*seen, path.resolve()))
        parent.pop("description", None)
        if "years" in spec or "until" in spec:  # this file's horizon replaces the one it extends, in years or by date
            parent.pop("years", None)
            parent.pop("until", None)
        spec = {**parent, **spec}
        given_by = {**parent_given_by, **given_by}
        policies = inherited + policies
    return spec, policies, given_by


def _check_referenced_files(spec: dict[str, Any], given_by: dict[str, str]) -> None:
    """Each pathway, territory and sources file a scenario names exists; the error names the
    scenario file and the field that name it."""
    named: list[tuple[str, str, str]] = [(key, f"scenario.{key}", spec[key]) for key in ("pathway", "sources") if key in spec]
    named += [("territories", f"scenario.territories[{i}]", t) for i, t in enumerate(spec.get("territories", []))]
    for key, field_name, target in named:
        if not Path(target).is_file():
            what = {"pathway": "pathway", "sources": "sources", "territories": "territory"}[key]
            problem = "is a folder, not a file" if Path(target).is_dir() else "not found"
            raise ConfigError(given_by[key], field_name, f"{what} file {target} {problem} (the path is relative to this file)")


def load_scenario(
    path: str | Path, *, years: float | None = None, seed: int | None = None, overrides: dict[str, Any] | Overrides | None = None,
    until: str | None = None, snapshots: list[str] | tuple[str, ...] = (),
) -> Scenario:
    """Load a scenario file with its pathway, territories and policies.

    A scenario may extend another (``extends``): it inherits its settings and policies, and adds
    its own. ``years`` and ``seed`` override the file's values, ``until`` (the last month,
    ``YYYY-MM``) the horizon by date instead of ``years``; ``snapshots`` (dates ``YYYY-MM-DD``) are
    added to the file's; ``overrides`` sets any field by path (see :mod:`lda_sim.config.overrides`),
    e.g. for a sweep.
    """
    if years is not None and until is not None:
        raise ValueError("give the horizon as years or until, not both")
    path = Path(path)
    file = str(path)
    records: list[Provenance] = []
    overrides = overrides if isinstance(overrides, Overrides) else Overrides(overrides)
    spec, policy_specs, given_by = _scenario_spec(path)
    if overrides:
        overrides.apply({"scenario": spec}, "scenario", file, keep_prefix=True)
        policy_list = [p for p, _, _ in policy_specs]
        overrides.apply({"policies": policy_list}, "policies", file, keep_prefix=True)
        for key in ("years", "seed"):
            if f"scenario.{key}" in overrides.values:
                _check_finite(spec[key], file)
    if years is not None or (overrides and "scenario.years" in overrides.values):
        spec.pop("until", None)
        spec.setdefault("years", years)
    if until is not None:
        spec.pop("years", None)
        spec["until"] = str(until)
        given_by["until"] = file
    if "until" in spec and "years" in spec:
        spec.pop("until")  # an override of the years replaces an inherited date
    if "until" in spec:
        spec["years"] = 1.0  # replaced by the months to the date below
    for key in ("start", "years", "pathway", "territories"):
        if key not in spec:
            raise ConfigError(file, f"scenario.{key}", f"missing required key {key!r} (in this file or the one it extends)")
    _check_referenced_files(spec, given_by)
    pathway_files: list[str] = []
    pathway = load_pathway(spec["pathway"], records, overrides, pathway_files)
    territories = [load_territory(t, pathway, records, overrides) for t in spec["territories"]]
    overrides.check_used(file)
    names = [t.name for t in territories]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(file, "scenario.territories", f"territory listed twice: {', '.join(duplicates)}")
    allocation = spec.get("allocation", {})
    for field_name, rule in [("scenario.allocation.rule", allocation.get("rule", "fcfs"))] + [
        (f"scenario.allocation.rules.{state}", r) for state, r in allocation.get("rules", {}).items()
    ]:
        try:
            custom_rule(rule)
        except ValueError as exc:
            raise ConfigError(file, field_name, str(exc)) from None
    for state in allocation.get("rules", {}):
        if state not in pathway.state_index or not pathway.states[pathway.state_index[state]].capacitated:
            raise ConfigError(file, f"scenario.allocation.rules.{state}", f"{state!r} is not a state entered through a queue")
    start = spec["start"][:7]
    if not 1 <= int(start[5:7]) <= 12:
        raise ConfigError(file, "scenario.start", f"{spec['start']!r} is not a month (YYYY-MM with MM from 01 to 12)")
    start_month = np.datetime64(start, "M")
    run_years = float(spec["years"] if years is None else years)
    if "until" in spec:
        run_years = _until_years(spec["until"], start_month, given_by.get("until", file), "--until" if until is not None else "")
    if not (math.isfinite(run_years) and round(run_years * 12) >= 1):
        raise ConfigError(file, "scenario.years", f"the horizon must cover at least one month, got {run_years:g} years")
    snapshot_dates = _snapshots(spec.get("snapshots", []), list(snapshots), start_month, run_years, given_by.get("snapshots", file), file,
                                shortened=years is not None or until is not None or bool(overrides and "scenario.years" in overrides.values))
    policies = []
    for policy_spec, policy_file, where in policy_specs:
        wrapped: list[Provenance] = []
        plain = unwrap(policy_spec, policy_file, where, wrapped)
        records.extend(wrapped)
        policies.append(build_settings(plain, file=policy_file, where=where, pathway=pathway, territories=names, start=start_month))
        policies[-1].check_territories(territories)
    household_class = _household_class(spec["household"], file) if "household" in spec else None
    mobility = None
    if "mobility" in spec:
        from .mobility import build_mobility

        mobility = build_mobility(unwrap(spec["mobility"], file, "scenario.mobility", records), pathway, territories, file)
    sources: dict[str, str] = {}
    if "sources" in spec:
        sources = load_sources(spec["sources"])
        for rec in records:
            for src in rec.sources:
                if src not in sources:
                    raise ConfigError(rec.file, rec.field, f"unknown source id {src!r} (not in {spec['sources']})")
    scenario = Scenario(
        name=spec["name"],
        description=spec.get("description", ""),
        start=start_month,
        years=run_years,
        seed=int(spec.get("seed", 0) if seed is None else seed),
        pathway=pathway,
        territories=territories,
        allocation=allocation,
        file=file,
        provenance=records,
        sources=sources,
        policies=policies,
        household_class=household_class,
        spin_up_years=float(spec.get("spin_up_years", 0.0)),
        mobility=mobility,
        scenario_files=tuple(dict.fromkeys([file, *given_by.values()])),
        config_files=tuple(dict.fromkeys([*pathway_files, *spec["territories"], *([spec["sources"]] if "sources" in spec else [])])),
        snapshots=snapshot_dates,
    )
    check_run_size(scenario)
    return scenario


def _until_years(until: str, start: np.datetime64, file: str, option: str) -> float:
    """The horizon in years of a run from month ``start`` to the end of month ``until``."""
    from .schema import MAX_YEARS
    from .timebase import months_through

    said = f"{option} {until}" if option else str(until)
    if not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", str(until)):
        raise ConfigError(file, "scenario.until", f"{said}: expected a month YYYY-MM (the run ends at its end)")
    months = months_through(str(until), start)
    if months < 1:
        raise ConfigError(file, "scenario.until", f"{said} is before the scenario starts ({start})")
    if months > MAX_YEARS * 12:
        raise ConfigError(file, "scenario.until", f"{said} is more than {MAX_YEARS} years after the start ({start})")
    return months / 12


def _snapshots(
    own: list[str], added: list[str], start: np.datetime64, years: float, file: str, scenario_file: str, *, shortened: bool = False
) -> tuple[str, ...]:
    """The snapshot dates of a run (the file's, then those added), each a real date within the run.
    With ``shortened`` (a horizon given by the caller, e.g. ``--years``), the file's own dates after
    the end are left out rather than refused."""
    from .timebase import DATE_PATTERN, MONTH_DAYS, day_of, parse_when

    horizon = round(years * 12) * MONTH_DAYS
    end = str(start + np.timedelta64(round(years * 12), "M")) + "-01"
    out = []
    for i, date in enumerate([*own, *added]):
        where, at = (f"scenario.snapshots[{i}]", file) if i < len(own) else ("--snapshot", scenario_file)
        date = str(date)
        if not re.match(DATE_PATTERN, date):
            raise ConfigError(at, where, f"{date!r} is not a date YYYY-MM-DD")
        try:
            parse_when(date)
        except ValueError as exc:
            raise ConfigError(at, where, str(exc)) from None
        t = day_of(date, start)
        if t < 0:
            raise ConfigError(at, where, f"{date} is before the scenario starts ({start}-01)")
        if t > horizon + 1e-9:
            if shortened and i < len(own):
                continue
            raise ConfigError(at, where, f"{date} is after the end of the run ({end}, the end of its last month)")
        out.append(date)
    return tuple(sorted(set(out)))


def with_horizon(scenario: Scenario, *, until: str | None = None, snapshots: list[str] | tuple[str, ...] = ()) -> Scenario:
    """A loaded scenario with its horizon set by date (``until``, the last month) and ``snapshots``
    added, checked as when loading (:class:`ConfigError` naming the scenario file)."""
    from dataclasses import replace

    years = scenario.years if until is None else _until_years(until, scenario.start, scenario.file, "until")
    dates = _snapshots(list(scenario.snapshots), list(snapshots), scenario.start, years, scenario.file, scenario.file, shortened=True)
    return replace(scenario, years=years, snapshots=dates)


def expected_households(scenario: Scenario) -> float:
    """Households a run of ``scenario`` simulates, about: the initial populations (persons counted
    as households, an upper bound) plus the inflows over the horizon."""
    initial = sum(count for t in scenario.territories for _, count in t.initial.values())
    inflow = sum(i.households_per_year for t in scenario.territories for i in t.inflows)
    projected = sum(p.extra_households(scenario.territories, scenario.years) for p in scenario.policies if hasattr(p, "extra_households"))
    return float(initial) + inflow * scenario.years + projected


def check_run_size(scenario: Scenario) -> None:
    """Refuse a scenario that would simulate more than :data:`~lda_sim.config.schema.MAX_HOUSEHOLDS`
    households (before anything runs), naming the limit."""
    n = expected_households(scenario)
    if n > MAX_HOUSEHOLDS:
        raise ConfigError(
            scenario.file, "scenario.years",
            f"a run of {scenario.years:g} years would simulate about {n:,.0f} households (initial populations plus "
            f"inflows over the horizon), more than the limit of {MAX_HOUSEHOLDS:,}: shorten the horizon or lower the inflows",
        )


def _household_class(path: str, file: str) -> type:
    """The class named ``module:Class``, checked to be a Household subclass (by its ancestry's
    names: the configuration layer does not import the engine)."""
    try:
        cls = import_object(path, "household class")
    except ValueError as exc:
        raise ConfigError(file, "scenario.household", str(exc)) from None
    names = {f"{c.__module__}.{c.__qualname__}" for c in getattr(cls, "__mro__", ())}
    if not (isinstance(cls, type) and "lda_sim.engine.households.Household" in names):
        raise ConfigError(file, "scenario.household", f"{path!r} is not a subclass of lda_sim.engine.households.Household")
    return cls
