"""The error raised for bad input: it names the file, the field and the offending value."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration problem, reported on one line as ``file: field: message``."""

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file = str(file)
        self.field = field
        self.message = message
        super().__init__(f"{self.file}: {field}: {message}" if field else f"{self.file}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        # rebuilt from its three parts, so that the error crosses process boundaries (workers)
        return (type(self), (self.file, self.field, self.message))
