"""How kernel functions are compiled: one version per widened signature, whatever compiled callers pass."""

from __future__ import annotations

import numpy as np
from numba import types

from lda_sim.engine import kernel
from lda_sim.engine.compiled import KernelDispatcher, kernel_function

FLAG = 3  # a module-level code: numba types it as the literal 3 inside compiled code


def _uncached(func):
    """A kernel dispatcher without the on-disk cache (a cached caller would load its callees'
    code from disk, compiling no callee version for the test to count)."""
    return KernelDispatcher(py_func=func, locals={}, targetoptions={"nopython": True})


@_uncached
def _scaled(x, sign, on):
    """A callee that the callers below reach with literals, int32 and int64 arguments."""
    return x * sign if on else -x


@_uncached
def _callers(a32, b64):
    """Calls ``_scaled`` with every kind of argument a kernel function receives from compiled code."""
    return (
        _scaled(a32, 1, True)
        + _scaled(b64, -1, False)
        + _scaled(FLAG, np.int32(2), True)
        + _scaled(b64, a32, on=b64 > 0)
    )


def test_callee_has_one_version_for_literals_and_narrow_integers() -> None:
    a32, b64 = np.int32(5), np.int64(7)
    assert _callers(a32, b64) == 5 - 7 + 6 + 35
    assert _scaled.signatures == [(types.int64, types.int64, types.boolean)]


def test_python_calls_keep_their_types() -> None:
    """Calls from Python are typed by their values, as with njit (no literal types arise there)."""
    assert _scaled(2.5, 2, True) == 5.0
    assert (types.float64, types.int64, types.boolean) in _scaled.signatures


def test_kernel_function_gives_a_cached_kernel_dispatcher() -> None:
    from numba.core.caching import NullCache

    compiled = kernel_function(lambda x: x + 1)
    assert isinstance(compiled, KernelDispatcher) and not isinstance(compiled._cache, NullCache)


def test_every_kernel_function_is_a_kernel_dispatcher() -> None:
    jitted = [name for name, obj in vars(kernel).items() if hasattr(obj, "py_func") and getattr(obj.py_func, "__module__", "") == kernel.__name__]
    assert len(jitted) > 100
    assert all(isinstance(getattr(kernel, name), KernelDispatcher) for name in jitted)


def test_kernel_state_refuses_an_array_of_the_wrong_type_naming_its_field() -> None:
    from pathlib import Path

    import pytest

    from lda_sim.config.scenario import load_scenario
    from lda_sim.engine.model import HousingModel
    from lda_sim.engine.state import FIELDS, new_state

    model = HousingModel(load_scenario(Path(__file__).parent / "data" / "scenario_small.yaml", years=0.1))
    arrays = {name: model._a[name] for name, _ in FIELDS}
    new_state(arrays)  # every field stored
    arrays["h_queue_since"] = arrays["h_queue_since"].astype(np.float32)
    with pytest.raises(TypeError, match="kernel state field 'h_queue_since' must be array\\(float64"):
        new_state(arrays)
