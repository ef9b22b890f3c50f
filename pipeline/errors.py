"""The project's one exception hierarchy.

Every failure a user can act on is a :class:`RekruttError`. The CLI maps the
subclasses to exit codes (2 for bad input, 1 for a failed render); the library
never exits or prints.
"""

from __future__ import annotations

from dataclasses import dataclass


class RekruttError(Exception):
    """Base of every error raised on purpose by the pipeline."""


@dataclass(frozen=True)
class SpecProblem:
    """One problem found in a campaign spec, located in its file."""

    file: str  #: the spec file (or library metadata file) the problem is in
    line: int | None  #: 1-based line, when known
    column: int | None  #: 1-based column, when known
    path: str  #: the key path, e.g. ``sequence[2].from``
    message: str  #: what is wrong
    hint: str = ""  #: what to do about it

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class SpecError(RekruttError):
    """The campaign spec is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[SpecProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class MediaError(RekruttError):
    """A media file is missing, unreadable or not what it must be."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"{path}: {message}")


class RenderError(RekruttError):
    """ffmpeg (or another tool) failed; carries its command and the end of its stderr."""

    def __init__(self, message: str, argv: list[str] | None = None, stderr_tail: str = ""):
        self.argv = list(argv or [])
        self.stderr_tail = stderr_tail
        text = message
        if stderr_tail:
            text += "\nffmpeg said:\n" + stderr_tail
        super().__init__(text)


class ModelError(RekruttError):
    """A speech model cannot be found, assembled or loaded."""


class Interrupted(RekruttError):
    """The run was interrupted (SIGINT/SIGTERM); children were stopped and nothing partial kept."""
