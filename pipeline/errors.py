"""The project's one exception hierarchy.

Every failure a user can act on is a :class:`RekruttError`. The CLI maps the
classes to exit codes in one place (:data:`EXIT_CODES` via :func:`exit_code`):
2 for bad input (nothing was rendered), 1 for a failed render or an environment
problem, 130/143 for an interruption by SIGINT/SIGTERM. The library never exits or prints.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass


class RekruttError(Exception):
    """Base of every error raised on purpose by the pipeline (exit 1 unless a subclass says otherwise)."""


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


class InputError(RekruttError):
    """Bad input from the user (a spec, a file, an option): exit 2, and nothing was rendered."""


class SpecError(InputError):
    """The campaign spec is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[SpecProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class MediaError(InputError):
    """A media file is missing, unreadable or not what it must be."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"{path}: {message}")


class ClipNotFound(InputError):
    """No clip (or no library) by that name."""

    def __init__(self, message: str, library: str, clip_id: str | None = None):
        self.library = library
        self.clip_id = clip_id
        super().__init__(message)


class ModelError(InputError):
    """A speech model cannot be found, assembled or loaded."""


class RenderError(RekruttError):
    """ffmpeg (or another tool) failed; carries its command and the end of its stderr.

    The message leads with the reason (ffmpeg's last meaningful line); the full command
    is kept in :attr:`argv` and logged at ``-v`` rather than pasted in front of the reason.
    """

    def __init__(self, message: str, argv: list[str] | None = None, stderr_tail: str = ""):
        self.argv = list(argv or [])
        self.stderr_tail = stderr_tail
        text = message
        if stderr_tail:
            text += "\nffmpeg said:\n" + stderr_tail
        super().__init__(text)


class NoSpace(RenderError):
    """ffmpeg stopped with "No space left on device"; :attr:`paths` are the files it was writing.

    Where the disk is full decides the message: the cache (:meth:`pipeline.cache.Cache.full`) or
    the output folder (:class:`FolderFull`); either way the run stops, since every output would
    fail the same way.
    """

    def __init__(self, message: str, what: str, paths: list[str], argv: list[str] | None = None,
                 stderr_tail: str = ""):
        self.what = what
        self.paths = list(paths)
        super().__init__(message, argv, stderr_tail)


class FolderFull(RekruttError):
    """A folder the run writes (the output folder, the temporary folder) is on a full disk: the run stops, exit 1."""


class Incomplete(RekruttError):
    """``render --strict``: outputs were made, but something they must show is not in them (a name strap with no
    room off the face): exit 1, naming each output and what it lacks."""


class CacheError(RekruttError):
    """The cache folder cannot be used (read-only, full, not a folder): exit 1, naming the folder."""


class Interrupted(RekruttError):
    """The run was interrupted (SIGINT/SIGTERM); children were stopped and nothing partial kept."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        self.signum = signum
        super().__init__(message)


class Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler (a CI cancelling the job).

    A BaseException, like KeyboardInterrupt, so no ``except Exception`` swallows it.
    """


def exit_code(exc: BaseException) -> int:
    """The process exit code for an error: the CLI's contract (see the README's table)."""
    if isinstance(exc, Interrupted):
        return 128 + int(exc.signum)
    if isinstance(exc, Terminated):
        return 128 + int(signal.SIGTERM)
    if isinstance(exc, KeyboardInterrupt):
        return 128 + int(signal.SIGINT)
    if isinstance(exc, InputError):
        return 2
    return 1
