"""How every command runs: the one error path, specs loaded and checked before work, SIGTERM as Ctrl-C.

:mod:`cli` defines the commands; this is what they share. Errors meet the console here and only here:
:func:`errors` turns the library's errors (and interruptions) into the console's words and the exit codes
CI relies on (:func:`pipeline.errors.exit_code`).
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
from pathlib import Path

import click

import console
from pipeline.errors import RekruttError, SpecError, Terminated, exit_code

log = logging.getLogger("rekrutt")


def load(spec: Path, **options):
    """The one place the CLI picks what loading probes media and transcribes with."""
    from pipeline.load import load_campaign
    from pipeline.probe import probe_as
    from pipeline.transcribe import shared_transcriber

    return load_campaign(spec, **{"prober": probe_as, "transcriber": shared_transcriber, **options})


def load_all(specs: tuple[Path, ...], **options) -> list:
    """Every spec loaded and checked before any work starts; their problems together in one SpecError."""
    campaigns, problems = [], []
    for spec in specs:
        try:
            campaigns.append(load(spec, **options))
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    return campaigns


def stop_on_sigterm() -> None:
    """SIGTERM (CI cancelling a job) stops work the way Ctrl-C does (children stopped, no partial
    files), and the process exits 143 rather than Ctrl-C's 130."""

    def handler(signum, frame):
        raise Terminated

    signal.signal(signal.SIGTERM, handler)


def fail(exc: BaseException, debug: bool) -> None:
    """Report an error and exit with its code."""
    if debug:
        log.error("failed", exc_info=exc)
    console.error(exc)
    sys.exit(exit_code(exc))


def errors(f):
    """Run a command with the one error path: RekruttError and interruptions become messages and exit codes.

    Anything else is a bug: it propagates with its traceback (Python's exit 1).
    """

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        debug = bool((click.get_current_context().find_root().obj or {}).get("debug"))
        try:
            return f(*args, **kwargs)
        except (RekruttError, KeyboardInterrupt, Terminated) as exc:
            fail(exc, debug)

    return wrapper
