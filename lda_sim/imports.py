"""Objects named in configuration files by import path, ``package.module:name``."""

from __future__ import annotations

import pkgutil
from typing import Any


def resolve_import(path: str, what: str) -> Any:
    """The object at ``package.module:name``; a ``ValueError`` naming ``what`` if it cannot be had."""
    try:
        return pkgutil.resolve_name(path)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot import {what} {path!r}: {exc}") from None
