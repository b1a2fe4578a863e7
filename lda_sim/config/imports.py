"""Objects named in configuration files by import path: ``package.module:Name``.

Households, policies and priority rules of a scenario may be the user's own (``household:
mymodule:MyHousehold``, ``type: mymodule:MyPolicy``, ``rule: mymodule:my_rule``); this one
helper imports them, with :func:`pkgutil.resolve_name`, and says plainly why it could not.
"""

from __future__ import annotations

import pkgutil
from typing import Any


def import_object(name: str, what: str = "object") -> Any:
    """The object named ``module:attribute`` (a dotted attribute path is allowed after the colon).

    Raises :class:`ValueError` with a one-line message naming ``what`` and ``name`` if the module
    or the attribute cannot be imported.
    """
    if ":" not in name or not name.partition(":")[0] or not name.partition(":")[2]:
        raise ValueError(f"cannot import {what} {name!r}: expected 'module:Name'")
    try:
        return pkgutil.resolve_name(name)
    except (ImportError, AttributeError, ValueError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"cannot import {what} {name!r}: {message}") from None
    except Exception as exc:  # the user's module raised while being imported
        raise ValueError(f"cannot import {what} {name!r}: importing it raised {type(exc).__name__}: {exc}") from None


def import_subclass(name: str, base: type, what: str) -> type:
    """The class named ``module:Class``, checked to be a subclass of ``base``; :class:`ValueError` otherwise."""
    cls = import_object(name, what)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ValueError(f"{name!r} is not a subclass of {base.__module__}.{base.__qualname__}")
    return cls
