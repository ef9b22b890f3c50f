"""A render's record of the files it read and wrote, so that the same render with nothing changed answers at once.

Build tools keep such a record: ninja logs the files each step turned out to depend on and, asked again,
compares their times before it runs anything ("no work to do"). A render here is one step with many inputs
(the spec, its brand kit, transcripts, voice recordings, clips, fonts) and one tree of outputs per campaign;
finding that nothing changed the long way means importing the spec's models, loading and checking the
campaign and planning every output (about 1.6 s for the example), where comparing the record is a few
hundred ``stat`` calls (issue 25: an unchanged re-render under a second, freshness by size and time).

What counts as read, while a :func:`recording` is open:

- every file the process opens from Python (an audit hook on ``open``: YAML, subtitles, manifests, pictures),
- every file whose content went into a cache key or a probe without being opened (:func:`note`: the clips,
  voices and fonts the cache fingerprints by size and time),
- every folder the process listed, the folder of each file read and the folders in that one: a file added
  beside them or one folder down (a corrected transcript as ``transcripts/<clip>.srt``, a recorded line as
  ``descriptions/<line>.wav`` beside the spec: where a render looks for files by name) changes a folder's time.

What counts as written: what was opened to write, renamed or removed; of that, what is there at the end is
an output, and so is every file under the output folders given to :func:`save`. Files under the ignored
folders (the cache, which checks its own entries) are neither, nor is the interpreter's own tree: the
folders of its installed packages are recorded by their times (an install or an upgrade changes them), and
the project's modules by their size and time.

A stamp is saved only when no input changed while the run read it (each input is older than the run by
:data:`FINE_SETTLE_NS`, or :data:`SETTLE_NS` where times are whole seconds), so a file saved during a render
is never taken for the one the render read. :func:`answer` returns what a stamp keeps only while every
recorded file, folder and absence is as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import site
import stat
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .files import write_text_atomic

#: Bump when what a stamp holds changes.
STAMP_VERSION = 2

#: Folder (under the cache root) of the stamps, one per render command.
RUNS = "runs"

#: An input must be this much older than the run for the run to be stamped: 2 s where the file system keeps
#: times in whole seconds (FAT in 2 s steps), else 0.1 s (the kernel stamps files by a clock a tick behind).
SETTLE_NS = 2_000_000_000
FINE_SETTLE_NS = 100_000_000

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
#: Audit events that change files: how many paths come first, and where the folder descriptors are that
#: such a path may be relative to (rmtree removes by folder: those paths are not the process's to name).
_WRITES = {"os.rename": (2, (2, 3)), "os.replace": (2, (2, 3)), "os.remove": (1, (1,)), "os.rmdir": (1, (1,)),
           "os.mkdir": (1, (2,)), "os.truncate": (1, ()), "os.utime": (1, (3,)), "os.link": (2, (2, 3)),
           "os.symlink": (2, (2,)), "shutil.rmtree": (1, (1,)), "shutil.move": (2, ()), "shutil.copyfile": (2, ())}
_LISTS = ("os.listdir", "os.scandir")
#: Never inputs: the kernel's views of the machine (their times change by themselves).
_SYSTEM = ("/proc", "/sys", "/dev", "/run")


@dataclasses.dataclass
class Recording:
    """The paths one render read, wrote and listed (absolute, as strings), and when it began."""

    started_ns: int
    ignore: tuple[str, ...]
    read: set[str] = dataclasses.field(default_factory=set)
    written: set[str] = dataclasses.field(default_factory=set)
    listed: set[str] = dataclasses.field(default_factory=set)


_active: list[Recording] = []
_hooked = False


def _path(value: object) -> str | None:
    if isinstance(value, int) or value is None:
        return None
    try:
        return os.path.abspath(os.fsdecode(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _audit(event: str, args: tuple) -> None:
    """The audit hook: cheap when no recording is open (it sees every audited event of the process)."""
    if not _active:
        return
    if event == "open":
        path = _path(args[0])
        if path is None:
            return
        mode, flags = args[1], args[2] if len(args) > 2 else 0
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
        for rec in _active:
            (rec.written if writes else rec.read).add(path)
    elif event in _WRITES:
        count, folders = _WRITES[event]
        if any(i < len(args) and args[i] is not None for i in folders):
            return
        for value in args[:count]:
            if (path := _path(value)) is not None:
                for rec in _active:
                    rec.written.add(path)
    elif event in _LISTS:
        path = _path(args[0] if args and args[0] is not None else ".")
        if path is not None:
            for rec in _active:
                rec.listed.add(path)


def note(path: Path | str) -> None:
    """Record ``path`` as read by the open recordings: a file whose size and time stand for its content (a
    fingerprint remembered by ``stat``, a probe kept in the cache), which the audit hook cannot see."""
    if _active:
        p = os.path.abspath(path)
        for rec in _active:
            rec.read.add(p)


@contextlib.contextmanager
def recording(ignore: Iterable[Path] = ()) -> Iterator[Recording]:
    """Record what the process reads and writes until the block ends (every thread: renders run in lanes)."""
    global _hooked
    if not _hooked:
        sys.addaudithook(_audit)  # an audit hook stays for the life of the process: one, checking _active
        _hooked = True
    rec = Recording(time.time_ns(), tuple(os.path.abspath(p) for p in ignore))
    _active.append(rec)
    try:
        yield rec
    finally:
        _active.remove(rec)


def path_for(cache_root: Path, name: str) -> Path:
    """Where the stamp ``name`` (a hash of what the command was asked: options, folder, environment, day)
    lives in the cache (pruned with it: ``cache prune --kind runs``)."""
    return cache_root / RUNS / name[:2] / f"{name}.json"


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _interpreter_roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages()}
    with contextlib.suppress(AttributeError):
        roots.add(site.getusersitepackages())
    return sorted(os.path.abspath(r) for r in roots if r)


def _state(path: str) -> list | None:
    """[size, mtime_ns, ctime_ns] of a file (size -1: a folder), None where nothing is. The change time too,
    as git's index keeps it: a file copied over another with its size and time kept (``cp -p``, ``touch -d``)
    still has a new one, which no one can set."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [-1 if stat.S_ISDIR(st.st_mode) else st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _folders_in(folder: str) -> list[str]:
    """The folders in ``folder`` (not hidden ones: a repository's .git changes with every commit), where a
    render looks for files by name (transcripts/<clip>.srt, descriptions/<line>.wav beside the spec)."""
    try:
        with os.scandir(folder) as entries:
            return [e.path for e in entries if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _code(roots: list[str]) -> set[str]:
    """The files of the modules this process runs that are not the interpreter's (the project's own)."""
    found = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and not _under(os.path.abspath(file), roots):
            found.add(os.path.abspath(file))
    return found


def save(target: Path, rec: Recording, outputs: Iterable[Path], answer: object) -> str | None:
    """Write the stamp of a finished render to ``target`` (atomically): every input's state, every output's,
    and ``answer`` (what the command prints when it finds the stamp holds). Returns None when it was saved, or
    why it was not (an input that changed while the run read it)."""
    roots = _interpreter_roots()
    skip = (*rec.ignore, *roots, *_SYSTEM)

    def counts(p: str) -> bool:
        return not _under(p, skip) and "__pycache__" not in p

    written = {p for p in rec.written if counts(p)}
    read = {p for p in rec.read if counts(p)} - written
    inputs = read | {p for p in rec.listed if counts(p)}
    folders = {d for d in (os.path.dirname(p) for p in read) if counts(d)}  # a file added beside one it read,
    inputs |= folders | {d for f in folders for d in _folders_in(f) if counts(d)}  # or in a folder beside it
    out_roots = [os.path.abspath(p) for p in outputs]
    paths = {*inputs, *written, *_code(roots), *roots}
    for root in out_roots:  # every output as it is now, down the tree
        for folder, dirs, files in os.walk(root):
            paths.update(os.path.join(folder, name) for name in (folder, *dirs, *files))
    states = {p: _state(p) for p in sorted(paths)}
    beside_written = {os.path.dirname(p) for p in written}  # a folder the render wrote in: its own change
    for p in sorted(inputs):
        s = states[p]
        margin = SETTLE_NS if s is not None and s[1] % 1_000_000_000 == 0 else FINE_SETTLE_NS
        if s is not None and s[1] >= rec.started_ns - margin and p not in beside_written and not _under(p, out_roots):
            return f"{p} changed while the render read it"
    there = {p: s for p, s in states.items() if s is not None}
    absent = sorted(p for p, s in states.items() if s is None and p not in written)
    document = {"version": STAMP_VERSION, "made_ns": time.time_ns(), "files": there, "absent": absent,
                "answer": answer}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, json.dumps(document, ensure_ascii=False))
    except OSError as exc:
        return f"the stamp could not be written ({exc.strerror or exc})"
    return None


def answer(target: Path) -> tuple[object, int] | None:
    """What the stamp at ``target`` keeps and how many paths it checked, while each recorded file, folder and
    absence is as it was; None when there is no stamp, it cannot be read, or anything differs."""
    try:
        document = json.loads(target.read_text(encoding="utf-8"))
        if document.get("version") != STAMP_VERSION:
            return None
        files, absent = document["files"], document["absent"]
        for path, recorded in files.items():
            if _state(path) != recorded:
                return None
        if any(os.path.lexists(p) for p in absent):
            return None
        return document["answer"], len(files) + len(absent)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def forget(target: Path) -> None:
    """Remove a stamp (a render is starting: until it ends, its outputs are not what the stamp recorded)."""
    with contextlib.suppress(OSError):
        target.unlink()
