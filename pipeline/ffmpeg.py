"""Running ffmpeg: finding the binary, the command type, the one subprocess runner, filter values.

Commands are built elsewhere as data (:class:`FfmpegCommand`, made from an
ffmpeg-python graph by :func:`compile_command`; see :mod:`pipeline.render` and
:mod:`pipeline.loudness`); this module only turns them into processes.
:func:`run_command` writes a command's filter script and file list and runs it.
Every subprocess of the pipeline goes through :func:`run`, which logs the full
command, reads ``-progress`` for a callback, keeps the end of stderr and raises
:class:`RenderError` with it.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path, PurePath
from typing import TypeVar

import ffmpeg as ffmpeg_python

from .errors import Interrupted, NoSpace, RenderError, Terminated
from .timecode import to_ffmpeg

T = TypeVar("T")

log = logging.getLogger("rekrutt")

#: Environment variable naming an ffmpeg binary to use instead of imageio-ffmpeg's.
FFMPEG_ENV = "REKRUTT_FFMPEG"

#: What ffmpeg (strerror(ENOSPC)) says when a disk is full.
NO_SPACE = "No space left on device"

#: stderr lines kept for error messages.
STDERR_TAIL_LINES = 25


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: ``$REKRUTT_FFMPEG`` if set, else imageio-ffmpeg's static build.

    Looked up lazily, on first use, so importing the pipeline never fails for want of ffmpeg.
    """
    named = os.environ.get(FFMPEG_ENV)
    if named:
        found = shutil.which(named) or (named if Path(named).is_file() else None)
        if not found:
            raise RenderError(f"{FFMPEG_ENV}={named!r} is not an executable ffmpeg; unset it or fix the path")
        return found
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise RenderError("imageio-ffmpeg is not installed: pip install imageio-ffmpeg") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.cache
def ffmpeg_stamp() -> str:
    """Which ffmpeg binary this is (path, size, modification time): part of the key of what it encodes,
    so that pieces from another build (another x264) are never joined with this one's."""
    exe = ffmpeg_exe()
    st = os.stat(exe)
    return f"{Path(exe).resolve()}:{st.st_size}:{st.st_mtime_ns}"


def filter_value(value: object) -> str:
    """The text of one filter option value, before ffmpeg-python escapes it.

    This is the single place where values enter a filter graph. Pass them as
    keyword arguments (``filter("pan", args=...)``): ffmpeg-python escapes
    positional arguments twice, which breaks values holding ``=``. ffmpeg-python then
    applies both escaping levels ffmpeg needs (option level: backslash, quote,
    ``=`` and ``:``; graph level: backslash, quote, brackets, ``,`` and ``;``), which
    ``tests/test_ffmpeg.py`` checks with hostile strings through a real ffmpeg.
    Paths become absolute (a relative path that starts with ``-`` or holds odd
    characters is still read as a path); numbers become plain decimals.
    """
    if isinstance(value, PurePath):
        return str(Path(value).absolute())
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Fraction):
        return to_ffmpeg(value)
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") or "0"
    text = str(value)
    if "\x00" in text:
        raise ValueError("a filter value cannot hold a NUL character")
    return text


def concat_listing(paths: Sequence[str | PurePath]) -> str:
    """The text of a concat demuxer's list of ``paths`` (absolute), one ``file '...'`` line each.

    Inside single quotes everything is literal except the quote itself, which closes the
    quote, is escaped outside it and reopens it (``'\\''``). A line break cannot be written
    in such a list: a path holding one is refused.
    """
    lines = []
    for path in paths:
        text = str(Path(path).absolute())
        if "\n" in text or "\r" in text or "\x00" in text:
            raise ValueError(f"a path with a line break cannot be joined by ffmpeg's concat demuxer: {text!r}")
        lines.append("file '" + text.replace("'", "'\\''") + "'\n")
    return "".join(lines)


def safe_path_arg(path: str | PurePath) -> str:
    """A path as a command-line argument: one starting with ``-`` gets ``./`` so it is not an option."""
    text = str(path)
    return "./" + text if text.startswith("-") else text


ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class FfmpegCommand:
    """One ffmpeg run as data: arguments, and the filter graph that goes into a script file."""

    args: list[str]  #: arguments after the program name; SCRIPT stands for the filter script's path
    filter_script: str = ""  #: the -filter_complex graph ('' when there is none)
    outputs: list[Path] = field(default_factory=list)  #: files it writes
    listing: str = ""  #: a concat demuxer's list of files ('' when there is none); LISTING stands for its path

    SCRIPT = "{filter_script}"
    LISTING = "{listing}"

    def argv(self, exe: str, script_path: Path | None, listing_path: Path | None = None) -> list[str]:
        """The full argv, with the filter script's (and the file list's) real path filled in."""
        paths = {self.SCRIPT: script_path, self.LISTING: listing_path}
        return [exe] + [str(paths[a]) if a in paths and paths[a] is not None else a for a in self.args]


def compile_command(stream_spec, outputs: list[Path]) -> FfmpegCommand:
    """ffmpeg-python's argv, with the (long) filter graph moved into a script file argument."""
    args = ffmpeg_python.get_args(stream_spec)
    if "-filter_complex" in args:
        i = args.index("-filter_complex")
        script = args[i + 1]
        # Linux caps one command line at 128 KiB; a script has no such limit.
        args = args[:i] + ["-/filter_complex", FfmpegCommand.SCRIPT] + args[i + 2:]
        return FfmpegCommand(args, script, outputs)
    return FfmpegCommand(args, "", outputs)


_live: set[subprocess.Popen] = set()
_live_lock = threading.Lock()


#: Set while the run is being stopped, so that workers report their killed children as an interruption.
stopping = threading.Event()
_stop_signal = [signal.SIGINT]


def stop_all(signum: int = signal.SIGINT) -> None:
    """Stop every child process the runner has running (on Ctrl-C or SIGTERM, from the main thread)."""
    _stop_signal[0] = signum
    stopping.set()
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        stop(proc)


def in_parallel(tasks: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Each task's result, in their order, ``workers`` of them run at once (threads, each driving its own
    ffmpeg; one: one after another). The first error is raised once the tasks under way have ended, those
    not begun are not run; Ctrl-C here stops the children the others run."""
    if workers <= 1 or len(tasks) <= 1:
        return [task() for task in tasks]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rekrutt-piece") as pool:
        futures = [pool.submit(task) for task in tasks]
        try:
            return [future.result() for future in futures]
        except BaseException as exc:
            for future in futures:
                future.cancel()
            if threading.current_thread() is threading.main_thread() and (
                    isinstance(exc, (Interrupted, Terminated)) or not isinstance(exc, Exception)):
                stop_for(exc)
            raise


def stop_for(exc: BaseException) -> None:
    """Stop every child (:func:`stop_all`) with the signal that stopped this process: SIGTERM for
    :class:`~pipeline.errors.Terminated` (or an exception that carries it), else SIGINT (Ctrl-C)."""
    stop_all(signal.SIGTERM if isinstance(exc, Terminated) or getattr(exc, "signum", None) == signal.SIGTERM
             else signal.SIGINT)


def run(
    argv: Sequence[str],
    *,
    what: str,
    duration: float | None = None,
    progress: ProgressCallback | None = None,
    writes: Sequence[str | PurePath] | None = None,
) -> str:
    """Run one command (argv[0] is the program) and return its stderr.

    ``what`` names the job in errors. With ``duration`` and ``progress``, ffmpeg's
    ``-progress`` output is turned into a fraction 0..1 passed to ``progress``.
    ``writes``: the files the command writes (default: its last argument).
    Raises :class:`RenderError` with the end of stderr on failure (:class:`NoSpace`, naming
    ``writes``, when a disk was full), and :class:`Interrupted` (after stopping the child)
    on KeyboardInterrupt.
    """
    argv = list(argv)
    is_ffmpeg = Path(argv[0]).name.startswith("ffmpeg")
    if is_ffmpeg:
        # -y: we only ever write to fresh temporary names (see files.atomic_path)
        argv = [argv[0], "-nostdin", "-hide_banner", "-nostats", "-y", "-progress", "pipe:1", *argv[1:]]
    log.debug("running %s: %s", what, shlex.join(argv))
    tail: collections.deque[str] = collections.deque(maxlen=400)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # a Ctrl-C on the terminal reaches us, and we stop the child ourselves
        )
    except OSError as exc:
        raise RenderError(f"{what}: cannot start {argv[0]}: {exc}", argv) from exc
    with _live_lock:
        _live.add(proc)

    def drain_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            tail.append(line.rstrip("\n"))

    reader = threading.Thread(target=drain_stderr, daemon=True)
    reader.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if progress and duration and line.startswith("out_time_us="):
                try:
                    done = int(line.split("=", 1)[1]) / 1e6
                except ValueError:
                    continue
                progress(max(0.0, min(1.0, done / duration)))
        proc.wait()
    except (KeyboardInterrupt, Terminated) as exc:
        # Only Ctrl-C and SIGTERM are interruptions.
        stop(proc)
        reader.join(timeout=5)
        signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        raise Interrupted(f"{what}: interrupted; ffmpeg was stopped", signum) from None
    except BaseException:
        # Anything else (a bug in a progress callback, say) is not an interruption: stop the
        # child so nothing keeps writing, and let the real error surface with its traceback.
        stop(proc)
        reader.join(timeout=5)
        raise
    finally:
        with _live_lock:
            _live.discard(proc)
    reader.join(timeout=5)
    if proc.returncode in (-signal.SIGTERM, -signal.SIGKILL) and stopping.is_set():
        raise Interrupted(f"{what}: interrupted; ffmpeg was stopped", _stop_signal[0])
    stderr = "\n".join(tail)
    if proc.returncode != 0:
        last = "\n".join(list(tail)[-STDERR_TAIL_LINES:])
        log.info("%s failed; the command was: %s", what, shlex.join(argv))
        if any(NO_SPACE in line for line in tail):
            paths = [str(p) for p in writes] if writes is not None else argv[-1:]
            raise NoSpace(f"{what} failed (exit {proc.returncode}): {NO_SPACE} (writing {', '.join(paths)})",
                          what, paths, argv, last)
        raise RenderError(f"{what} failed (exit {proc.returncode}): {failure_reason(list(tail))}", argv, last)
    if progress:
        progress(1.0)
    return stderr


def run_command(cmd: FfmpegCommand, work: Path, *, what: str, duration: float | None = None,
                progress: ProgressCallback | None = None) -> str:
    """Write the command's filter script (if any) into ``work`` and run it through the one runner."""
    def written(text: str, prefix: str) -> Path | None:
        if not text:
            return None
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".txt", dir=work)
        with open(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return Path(name)

    argv = cmd.argv(ffmpeg_exe(), written(cmd.filter_script, "graph-"), written(cmd.listing, "pieces-"))
    return run(argv, what=what, duration=duration, progress=progress, writes=cmd.outputs)


_NOISE = re.compile(r"^(\s*(Input|Output|Stream|Duration|Metadata|Press|frame=|size=|video:)|\s{2,}|.*muxing overhead)")


def failure_reason(lines: list[str]) -> str:
    """ffmpeg's reason for failing, in one line: the last error-looking line of its stderr.

    ffmpeg ends with generic lines ("Conversion failed!", "Error opening output files");
    the specific one (``No space left on device``, ``Invalid data found``) comes before them.
    """
    generic = ("conversion failed", "error opening output file", "error while filtering", "exiting normally",
               "error closing", "terminating thread")
    candidates = [ln.strip() for ln in lines if ln.strip() and not _NOISE.match(ln)]
    specific = [ln for ln in candidates if not ln.lower().startswith(generic)
                and not any(g in ln.lower() for g in generic[:2])]
    for pool in (specific, candidates):
        for line in reversed(pool):
            if any(w in line.lower() for w in ("error", "no space", "invalid", "not ", "cannot", "failed",
                                               "denied", "unable", "no such")):
                return line[:300]
    return (candidates[-1] if candidates else "no message")[:300]


def stop(proc: subprocess.Popen) -> None:
    """Stop a child process (and its process group) politely, then firmly."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()
