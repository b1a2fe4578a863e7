"""The kernel profiler's parsing (benchmarks/profile_kernel.py): numba's symbol names and perf's
report. The profiling itself needs Linux perf and is a benchmark, not a test."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "profile_kernel.py"


@pytest.fixture(scope="module")
def profiler():
    spec = importlib.util.spec_from_file_location("profile_kernel", PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demangle_numba_names(profiler):
    entry = "_ZN7lda_sim6engine6kernel10run_eventsB4v193B38c8tJTIeFIjxB2IKSgI4CrvQClQZ6FczSBAA_3dEN5numba21920KernelStateTypeE"
    assert profiler.demangle(entry) == "kernel.run_events"
    assert profiler.demangle("_ZN7cpython7lda_sim6engine6kernel10run_eventsB4v193E") == "kernel.run_events.<wrapper>"
    assert profiler.demangle("_ZN5numba2np8arrayobj6sortedB2v1E") == "numba.np.arrayobj.sorted"
    assert profiler.demangle("NRT_incref") == "NRT_incref"


def test_report_shares_summed_per_function_and_grouped(profiler):
    report = "\n".join([
        "# Samples: 1K of event 'cpu-clock'",
        "     8.09%  [.] kernel.wl_best@fill_pending",
        "     1.00%  [.] kernel.wl_best@populate_state",
        "     7.42%  [.] kernel._pop_event@run_events",
        "     5.00%  [.] NRT_decref",
        "     0.50%  [.] 0x00007f4c7249d069",
        "     0.22%  [k] irqentry_exit_to_user_mode",
        "     0.10%  [.] gc_collect_main",
    ])
    shares = profiler._samples(report)
    assert shares["kernel.wl_best"] == pytest.approx(9.09)  # linked into two libraries: one function
    assert shares["kernel._pop_event"] == pytest.approx(7.42)
    assert shares["[kernel]"] == pytest.approx(0.22)
    assert shares["(unresolved: outside the mapped functions)"] == pytest.approx(0.5)
    assert profiler._group("kernel.wl_best") == "waiting lists (heaps)"
    assert profiler._group("kernel._pop_event") == "event queue and 115 lapse rings"
    assert profiler._group("NRT_decref") == "numba runtime: reference counts"
    assert profiler._group("gc_collect_main") == "Python and other libraries"
