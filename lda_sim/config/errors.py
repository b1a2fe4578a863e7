"""The error raised for bad input: it names the file, the field and the offending value."""

from __future__ import annotations

#: Line of each field of the configuration files read so far: {file: {field path: line}}, filled by
#: :func:`lda_sim.config.scenario.load_yaml_file`, so that an error raised anywhere names the line too.
_LINES: dict[str, dict[str, int]] = {}


def record_lines(file: str, lines: dict[str, int]) -> None:
    """Remember where each field of ``file`` was written (1-based lines)."""
    _LINES[str(file)] = lines


def line_of(file: str, field: str) -> int | None:
    """The line where ``field`` (or the nearest enclosing field) of ``file`` was written, if known."""
    lines = _LINES.get(str(file))
    if not lines:
        return None
    probe = field
    while probe:
        if probe in lines:
            return lines[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return None


class ConfigError(ValueError):
    """A configuration problem, reported on one line as ``file:line: field: message`` (the line when
    it is known, the field when there is one)."""

    def __init__(self, file: str, field: str, message: str, line: int | None = None) -> None:
        self.file = str(file)
        self.field = field
        self.message = message
        self.line = line if line is not None else (line_of(self.file, field) if field else None)
        where = f"{self.file}:{self.line}" if self.line else self.file
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str, int | None]]:
        # rebuilt from its parts, so that the error crosses process boundaries (workers)
        return (type(self), (self.file, self.field, self.message, self.line))
