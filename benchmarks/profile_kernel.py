"""Where a run's time goes, function by function of the compiled kernel (Linux ``perf`` sampling).

Usage: python benchmarks/profile_kernel.py [SCENARIO] [--years N] [--scale S] [--seed N]
           [--frequency HZ] [--top N]

Default: the calibrated Aix-Marseille-Provence baseline (with Lyon) over 10 years. ``--scale``
multiplies the scenario's volumes (as ``bench_national.py``), e.g.
``profile_kernel.py configs/scenarios/national.yaml --scale 0.25 --years 5``.

Needs Linux ``perf`` and ``nm`` (binutils). It samples the ``cpu-clock`` software event, so it
works in virtual machines without hardware counters (``perf_event_paranoid`` at most 2: a
process may profile itself).

numba's compiled functions have no symbols perf can read: they are loaded from numba's cache into
anonymous memory. The script writes perf's map file ``/tmp/perf-PID.map``: for every function of
``lda_sim.engine`` compiled for a call from Python (``run_events``, ``fill_pending``,
``populate_state`` ...), it reads the object code from numba's cache file, lists its symbols with
``nm`` (every kernel function linked into it, with its size) and places them at the address where
the loaded library has its entry point. numba's runtime functions ``NRT_incref``/``NRT_decref``
(the reference counts of arrays) are placed from the runtime library. Then ``perf record`` samples
the run only, from the end of its first month to the horizon (set-up and the dataset are left
out), and ``perf report`` gives the samples per symbol. They are summed per kernel function (a
function linked into several libraries counts once) and per group of functions.

Functions that LLVM inlined into their caller count for the caller. A share is of the samples
of the whole process during the run, Python included (the model shell between kernel calls).
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import pickle
import pkgutil
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

DEFAULT = Path(__file__).resolve().parent.parent / "configs" / "scenarios" / "baseline.calibrated.yaml"

#: Groups of kernel functions, by name (the first group whose pattern matches).
GROUPS = (
    ("waiting lists (heaps)", r"^kernel\.(wl_|_heap|_sift|_row_less|_is_live|household_key|fit_bin|heap_id|_join|_wl_purge|_compact_heaps|_relocate_heap|_rekey|public_of)"),
    ("event queue and 115 lapse rings", r"^kernel\.(schedule|_pop_event|next_event_time|_today_|lapse_push|_lapse_|_next_lapse|_grow_records|_grow_lapses|_set_clock)"),
    ("event loop (dispatch)", r"^kernel\.run_events$"),
    ("115 calls and lapses", r"^kernel\.(_call|_call_end)$"),
    ("allocation and moves", r"^kernel\.(fill_pending|offer_until_accepted|_offer_elsewhere|let|_letting|_move|_occupy|has_room|_accepts_|_push_pending|_apply_closures|capacity)"),
    ("households, spells and logs", r"^kernel\.(_enter|new_household|remove_household|_spell|_log|_record|_arrival|profile_of|is_eligible|_pick|_regularise|_support_ends)"),
    ("random draws and laws", r"^(kernel\.(law_sample|uniform|draw_tag|stream_next|_bisect_right|_normal_inv_cdf)|streams\.)"),
    ("month ends and recorder", r"^kernel\.(_month_end|_integrate)"),
    ("other kernel functions", r"^(kernel|streams|survival|hooks|state)\."),
    ("numba runtime: reference counts", r"^NRT_|^nrt_"),
    ("numba library code (numpy functions ...)", r"^numba\."),
    ("operating system", r"^\[kernel\]$"),
)


def demangle(symbol: str) -> str:
    """``_ZN7lda_sim6engine6kernel10run_eventsB4v193...`` -> ``kernel.run_events`` (numba's
    Itanium-like names: length-prefixed parts, then ABI tags ``B<n>...``)."""
    if not symbol.startswith("_ZN"):
        return symbol
    parts, i = [], 3
    while i < len(symbol) and symbol[i].isdigit():
        digits = re.match(r"\d+", symbol[i:])
        assert digits is not None
        n = int(digits.group())
        i += len(digits.group())
        parts.append(symbol[i:i + n])
        i += n
    if parts[:1] == ["cpython"] or parts[:1] == ["cfunc"]:
        parts = parts[1:] + ["<wrapper>"]
    if parts[:2] == ["lda_sim", "engine"]:
        parts = parts[2:]
    return ".".join(parts)


def _elf_in(obj: Any) -> bytes | None:
    """The object code in an unpickled numba cache entry."""
    if isinstance(obj, bytes) and obj[:4] == b"\x7fELF":
        return obj
    items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (tuple, list)) else ()
    for item in items:
        found = _elf_in(item)
        if found is not None:
            return found
    return None


def _text_symbols(elf: bytes) -> dict[str, tuple[int, int]]:
    """Defined code symbols of an object file: name -> (offset, size)."""
    with tempfile.NamedTemporaryFile(suffix=".o") as f:
        f.write(elf)
        f.flush()
        out = subprocess.run(["nm", "-S", "--defined-only", f.name], capture_output=True, text=True, check=True).stdout
    symbols = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "TtWw" and int(fields[1], 16):
            symbols[fields[3]] = (int(fields[0], 16), int(fields[1], 16))
    return symbols


def write_perf_map(pid: int) -> int:
    """Write ``/tmp/perf-PID.map`` for the engine's loaded numba functions; returns its rows."""
    from numba.core.registry import CPUDispatcher
    from numba.core.runtime import nrt

    import lda_sim.engine as engine

    rows: list[tuple[int, int, str]] = []
    for info in pkgutil.iter_modules(engine.__path__):
        module = importlib.import_module(f"lda_sim.engine.{info.name}")
        cache = Path(module.__file__ or "").parent / "__pycache__"
        for name, obj in vars(module).items():
            if not isinstance(obj, CPUDispatcher):
                continue
            for compiled in obj.overloads.values():
                entry = compiled.fndesc.llvm_func_name
                address = compiled.library.get_pointer_to_function(entry)
                if not address:
                    continue
                for path in sorted(glob.glob(str(cache / f"{info.name}.{name}-*.nbc")), key=os.path.getmtime, reverse=True):
                    elf = _elf_in(pickle.loads(Path(path).read_bytes()))
                    symbols = _text_symbols(elf) if elf is not None else {}
                    if entry in symbols:
                        base = address - symbols[entry][0]
                        rows += [(base + offset, size, f"{demangle(s)}@{name}") for s, (offset, size) in symbols.items()]
                        break
    runtime = nrt.rtsys.library
    for name in ("nrt_atomic_add", "nrt_atomic_sub", "NRT_incref", "NRT_decref"):
        address = runtime.get_pointer_to_function(name)
        if address:
            rows.append((address, 16, name))
    rows.sort()
    with open(f"/tmp/perf-{pid}.map", "w") as f:
        for address, size, name in rows:
            f.write(f"{address:x} {size:x} {name}\n")
    return len(rows)


def _samples(report: str) -> dict[str, float]:
    """``perf report --stdio`` lines ``  8.09%  [.] name`` -> percent per kernel function."""
    shares: dict[str, float] = defaultdict(float)
    for line in report.splitlines():
        m = re.match(r"^\s*([\d.]+)%\s+\[(.)\]\s+(.+?)\s*$", line)
        if not m:
            continue
        percent, space, symbol = float(m.group(1)), m.group(2), m.group(3)
        if space == "k":
            name = "[kernel]"
        elif symbol.startswith("0x"):
            name = "(unresolved: outside the mapped functions)"
        else:
            name = re.sub(r"@\w+$", "", symbol)
        shares[name] += percent
    return shares


def _group(name: str) -> str:
    for group, pattern in GROUPS:
        if re.search(pattern, name):
            return group
    return "Python and other libraries" if not name.startswith("(") else name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?", default=str(DEFAULT))
    parser.add_argument("--years", type=float, default=10)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the scenario's volumes (default 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--frequency", type=int, default=499, help="samples per second (default 499)")
    parser.add_argument("--top", type=int, default=25, help="functions listed (default 25)")
    args = parser.parse_args()
    for tool in ("perf", "nm"):
        if shutil.which(tool) is None:
            sys.exit(f"profile_kernel.py: `{tool}` is not installed (Debian: apt install linux-perf binutils)")

    from lda_sim.analysis.scaling import scale_scenario
    from lda_sim.config.scenario import load_scenario
    from lda_sim.engine.model import HousingModel

    scenario = load_scenario(args.scenario, years=args.years, seed=args.seed)
    if args.scale != 1:
        scenario = scale_scenario(scenario, args.scale)
    model = HousingModel(scenario)
    model.run_months(1)  # every kernel entry point is loaded now
    pid = os.getpid()
    mapped = write_perf_map(pid)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        perf = subprocess.Popen(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(args.frequency), "-p", str(pid), "-o", data],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        time.sleep(1.0)  # perf attaches
        if perf.poll() is not None:
            sys.exit(f"profile_kernel.py: perf record failed: {perf.stderr.read().strip() if perf.stderr else ''}")
        events0, t0 = model.events_processed, time.perf_counter()
        model.run_until(model.horizon)
        wall, events = time.perf_counter() - t0, model.events_processed - events0
        perf.send_signal(signal.SIGINT)
        perf.wait()
        report = subprocess.run(
            ["perf", "report", "-i", data, "--no-children", "--sort", "sym", "--stdio", "--percent-limit", "0"],
            capture_output=True, text=True, check=True,
        ).stdout
    os.remove(f"/tmp/perf-{pid}.map")
    shares = _samples(report)
    unresolved = sum(v for k, v in shares.items() if k.startswith("("))
    print(f"{scenario.name}: {len(scenario.territories)} territories, scale {args.scale:g}, {args.years:g} years, seed {args.seed}")
    print(f"profiled from month 1 to the horizon: {wall:.1f} s, {events:,} events ({events / wall:,.0f} events/s), "
          f"{mapped} compiled functions mapped, {unresolved:.1f}% of the samples outside them\n")
    print(f"{'share':>7}  function")
    for name, percent in sorted(shares.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"{percent:6.1f}%  {name}")
    groups: dict[str, float] = defaultdict(float)
    for name, percent in shares.items():
        groups[_group(name)] += percent
    print(f"\n{'share':>7}  group")
    for group, percent in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"{percent:6.1f}%  {group}")


if __name__ == "__main__":
    main()
