"""How the kernel's functions are compiled: numba ``njit`` with an on-disk cache, one version per function.

numba compiles a jitted function once per distinct tuple of argument types it is called with, and
inside compiled code a constant argument (``-1``, ``True``, a module-level code such as
``P_STAY``) has its own *literal* type, and an ``int32`` read from a household array differs from an
``int64``. Each combination used to give the function a new compiled version, and each version
carries its whole call tree through LLVM: ``schedule`` was compiled 16 times, ``draw_tag`` 20,
``offer_until_accepted`` 4 (186 versions of 109 functions). :func:`kernel_function` compiles a
function for its arguments' widened types instead (literals as their plain type, signed integers as
``int64``), so that a function called from compiled code has one version whatever its callers
pass. The values are the same (every ``int32`` and literal argument is exactly an ``int64``), so are
the results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba.core import config, types
from numba.core.registry import CPUDispatcher


def _widened(typ: types.Type) -> types.Type:
    """The type a kernel function is compiled for when called with an argument of type ``typ``."""
    typ = types.unliteral(typ)
    if typ in types.signed_domain:  # int8 to int64
        return types.int64
    return typ


class KernelDispatcher(CPUDispatcher):
    """A CPU dispatcher whose calls from compiled code share one version per widened signature."""

    def get_call_template(self, args: Any, kws: Any) -> Any:
        return super().get_call_template(tuple(_widened(a) for a in args), {k: _widened(v) for k, v in kws.items()})


def kernel_function(func: Callable[..., Any]) -> Any:
    """``njit(cache=True)`` compiling ``func`` once per widened signature (see the module's docstring)."""
    if config.DISABLE_JIT:  # type: ignore[attr-defined]  # set by numba at import
        return func
    dispatcher = KernelDispatcher(py_func=func, locals={}, targetoptions={"nopython": True})
    dispatcher.enable_caching()
    return dispatcher
