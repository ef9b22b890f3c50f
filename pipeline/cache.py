"""A content-addressed cache for expensive results (transcripts, alignments, models, rendered pieces).

Entries are JSON documents keyed by a hash of their inputs (file contents, the
parameters and the pipeline's cache version); a file entry (a rendered piece) is a
file beside its JSON document, which holds the file's size and checksum. Writes are
atomic (temporary file, then rename) under a per-entry file lock, so several
processes can share one cache; every entry carries a checksum of its payload, and a
damaged or truncated entry (or file) is treated as missing and rebuilt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

try:  # leases need flock (Linux, macOS); elsewhere a render holds none and prune keeps nothing back
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from .errors import CacheError, InputError, NoSpace
from .files import atomic_path, sha256_file, write_text_atomic
from .stamp import note

log = logging.getLogger("rekrutt")

#: Bump when a cached format or the way results are computed changes.
CACHE_VERSION = "1"

#: Environment variable naming the cache folder.
CACHE_ENV = "REKRUTT_CACHE_DIR"

#: Environment variable: the most the cache may hold ("20G", "500M", bytes); a render that ends with the
#: cache over it trims rendered pieces (ProRes first) down to it. Unset: no limit; not a size: exit 2.
CACHE_MAX_ENV = "REKRUTT_CACHE_MAX_SIZE"

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """Bytes from "20G", "500M", "1.5T" or "123" (binary units; raises ValueError on anything else)."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1:] if t[-1:] in _UNITS else ""
    number = float(t[: len(t) - len(unit)])
    if not number >= 0 or number == float("inf"):
        raise ValueError(text)
    return int(number * _UNITS[unit])


def size_limit() -> int | None:
    """The cache's size limit from :data:`CACHE_MAX_ENV` (None: none). Raises :class:`InputError` (exit 2)
    for a value that is not a size; a render checks it when it starts (:meth:`Cache.lease`)."""
    text = os.environ.get(CACHE_MAX_ENV, "").strip()
    if not text:
        return None
    try:
        return parse_size(text)
    except ValueError:
        raise InputError(f"{CACHE_MAX_ENV}={text!r} is not a size: give bytes or a number with K, M, G or T "
                         f"(e.g. {CACHE_MAX_ENV}=20G), or unset it for no limit") from None


T = TypeVar("T")


def default_cache_dir() -> Path:
    """``$REKRUTT_CACHE_DIR``, else the platform's user cache folder (e.g. ~/.cache/rekrutt)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("rekrutt"))


def key_of(*parts: object) -> str:
    """A stable hash of JSON-able parts (plus the cache version)."""
    text = json.dumps([CACHE_VERSION, *parts], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_digest_memo: dict[tuple, str] = {}
_digest_lock = threading.Lock()

#: Folder (under the cache root) of the digests remembered across runs, by a file's path, size and time.
DIGESTS = "digests"

#: Files smaller than this are hashed every run (cheaper than looking their digest up).
DIGEST_MEMO_MIN = 1 << 18

#: A digest is remembered only for a file unchanged this long (seconds): one written again within the file
#: system's time resolution of its digest could keep its size and time (git's "racy" entries).
DIGEST_SETTLED = 2.0

_digest_root: list[Path] = []


def remember_digests(root: Path) -> None:
    """Keep file digests under ``root/digests`` from now on: the next run finds a large file's sha256 by its
    path, size, time and inode instead of reading it again (the cache made last decides: a process uses one)."""
    with _digest_lock:
        _digest_root[:] = [Path(root)]


def _stored_digest(stamp: tuple) -> tuple[Path | None, str | None]:
    if not _digest_root:
        return None, None
    name = hashlib.sha256(json.dumps(stamp[0]).encode("utf-8")).hexdigest()
    path = _digest_root[0] / DIGESTS / name[:2] / f"{name}.json"
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return path, None
    if isinstance(entry, dict) and entry.get("stamp") == list(stamp) and isinstance(entry.get("sha256"), str):
        return path, entry["sha256"]
    return path, None


def file_digest(path: Path) -> str:
    """sha256 of a file's content, remembered per (device, inode, size, mtime) in this process (every output asks
    for the same media: no path resolved again), and per (path, size, mtime, inode) across runs for a file of
    at least :data:`DIGEST_MEMO_MIN` bytes (see :func:`remember_digests`).

    A changed file has another size or modification time (or inode, when it was replaced), so freshness is
    checked by ``stat`` before any hash; only a file that changed is read again (and a render's stamp is told).
    """
    note(path)
    st = path.stat()
    seen = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)  # the file, as it is now: no path resolved
    with _digest_lock:
        if seen in _digest_memo:
            return _digest_memo[seen]
    stamp = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    stored, digest = _stored_digest(stamp) if st.st_size >= DIGEST_MEMO_MIN else (None, None)
    if digest is None:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digest = h.hexdigest()
        if stored is not None and time.time() - st.st_mtime_ns / 1e9 > DIGEST_SETTLED:
            with contextlib.suppress(OSError):  # a read-only cache only loses the shortcut
                write_text_atomic(stored, json.dumps({"stamp": list(stamp), "sha256": digest}))
    with _digest_lock:
        _digest_memo[seen] = digest
    return digest


def recall(kind: str, key: str) -> object | None:
    """A small fact a stage remembered across runs (:func:`remember`) in the process's cache (the one made last),
    or None: none kept, no cache yet, or one that cannot be read."""
    with _digest_lock:
        root = _digest_root[0] if _digest_root else None
    if root is None:
        return None
    try:
        return Cache(root).get(kind, key)
    except CacheError:
        return None


def remember(kind: str, key: str, value: object) -> None:
    """Keep a small JSON-able fact (a QR code's mask) in the process's cache for the next run; a cache that cannot
    be written only loses the shortcut."""
    with _digest_lock:
        root = _digest_root[0] if _digest_root else None
    if root is not None:
        with contextlib.suppress(CacheError):
            Cache(root).put(kind, key, value)


#: Folder (under the cache root) of the running renders' leases.
LEASES = "leases"


class _Lease:
    """This process's lease on one cache folder: ``leases/<pid>-<random>.lease``, locked (``flock``) for as long
    as the lease is held, listing ``kind/key`` of each entry used, one a line, after a first line saying whose it is."""

    def __init__(self, root: Path, what: str):
        folder = root / LEASES
        folder.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.users = 0
        self.listed: set[str] = set()
        self._lock = threading.Lock()
        with _gate(root, exclusive=False):  # a prune in progress never sees it unlocked
            self.path = folder / f"{os.getpid()}-{os.urandom(4).hex()}.lease"
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o666)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            os.write(self.fd, f"pid {os.getpid()}: {what}\n".encode("utf-8", "replace"))

    def list(self, name: str) -> None:
        with self._lock:
            if name in self.listed:
                return
            with _gate(self.root, exclusive=False):
                os.write(self.fd, f"{name}\n".encode())
            self.listed.add(name)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)  # the lock goes with the last descriptor


_leases: dict[str, _Lease] = {}
_leases_lock = threading.Lock()


@contextlib.contextmanager
def _gate(root: Path, *, exclusive: bool):
    """Shared while a render lists an entry in its lease (or takes one), exclusive while a prune runs."""
    fd = os.open(root / LEASES / ".gate", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def _live_leases(root: Path) -> tuple[set[str], list[str]]:
    """The entries the live leases list, and whose they are; a dead process's lease is removed. Call under the
    exclusive gate."""
    used: set[str] = set()
    holders: list[str] = []
    for path in sorted((root / LEASES).glob("*.lease")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # released meanwhile
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # held: a render is running
                with os.fdopen(os.dup(fd), encoding="utf-8", errors="replace") as f:
                    head, *names = f.read().splitlines()
                holders.append(head)
                used.update(names)
            else:  # nobody holds it: its process ended without releasing it (killed, crashed)
                with contextlib.suppress(OSError):
                    path.unlink()
        finally:
            os.close(fd)
    return used, holders


@dataclasses.dataclass(frozen=True)
class Pruned:
    """What :meth:`Cache.prune` did."""

    removed: int  #: entries removed
    freed: int  #: bytes freed
    kept: dict[str, int] = dataclasses.field(default_factory=dict)  #: entries kept because a render uses them, per kind
    holders: tuple[str, ...] = ()  #: the running renders that hold leases ("pid 123: render of fjordvik-2026")


class Cache:
    """JSON entries under ``root/<kind>/<key[:2]>/<key>.json`` (and a file entry's file beside it).

    A cache that cannot be written (read-only, full, a file in the way) raises
    :class:`~pipeline.errors.CacheError` naming the folder; it never leaves a
    half-written entry (writes are atomic) and reading a damaged entry rebuilds it.
    """

    TRIMMED = ("pieces", "described-chunk")  #: the kinds :meth:`trim` removes: rendered, made again at need

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()
        remember_digests(self.root)

    def unusable(self, exc: OSError, doing: str) -> CacheError:
        """The error for a cache folder that cannot be written, naming it and what to do."""
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            return self.full(f"{doing}: {reason}")
        return CacheError(f"the cache folder {self.root} cannot be used ({doing}: {reason}); "
                          f"make it writable, or choose another with --cache-dir or {CACHE_ENV}")

    def full(self, detail: str) -> CacheError:
        """The error for a cache folder whose disk is full (``detail``: what was being written, and the reason)."""
        return CacheError(f"the cache folder {self.root} is on a full disk ({detail}); free space there, "
                          f"or choose another folder with --cache-dir or {CACHE_ENV}")

    def holds(self, paths) -> bool:
        """Whether any of ``paths`` lies in the cache folder."""
        root = self.root.absolute()
        return any(Path(p).absolute().is_relative_to(root) for p in paths)

    @contextlib.contextmanager
    def lease(self, what: str):
        """Held while a render runs (``what`` names it for prune): the entries it uses are not pruned meanwhile.

        One lease per cache folder and process, however many threads or nested calls hold it. A cache
        folder where no lease can be made (read-only) is used without one.
        """
        key = str(self.root.absolute())
        limit = size_limit()  # a limit that is not a size stops the run before any work
        with _leases_lock:
            held = _leases.get(key)
            if held is None and fcntl is not None:
                try:
                    held = _leases[key] = _Lease(self.root, what)
                except OSError as exc:
                    log.info("no lease on the cache folder %s (%s): a prune meanwhile may remove what this "
                             "render uses", self.root, exc.strerror or exc)
            if held is not None:
                held.users += 1
        try:
            yield
        finally:
            if held is not None:
                with _leases_lock:
                    held.users -= 1
                    last = held.users == 0
                if last and limit is not None:
                    self.trim(limit)  # still under this render's lease: what it used stays
                with _leases_lock:
                    if held.users == 0 and _leases.get(key) is held:
                        _leases.pop(key, None)
                        held.release()

    def in_use(self, kind: str, key: str) -> None:
        """Note that the running render (if this process holds a lease) uses the entry: prune keeps it.

        Call it before looking the entry up, so that a prune either keeps it or has removed it already.
        """
        held = _leases.get(str(self.root.absolute()))
        if held is not None:
            try:
                held.list(f"{kind}/{key}")
            except OSError as exc:
                raise self.unusable(exc, "writing its lease") from exc

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, key: str) -> object | None:
        """The payload stored under (kind, key), or None if missing or damaged (a damaged entry is removed)."""
        path = self._path(kind, key)
        self.in_use(kind, key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cache entry %s unreadable (%s); rebuilding it", path, exc)
            return None
        try:
            envelope = json.loads(text)
            payload_text = json.dumps(envelope["payload"], sort_keys=True, ensure_ascii=False)
            if hashlib.sha256(payload_text.encode("utf-8")).hexdigest() != envelope["sha256"]:
                raise ValueError("checksum mismatch")
            with contextlib.suppress(OSError):
                os.utime(path)  # last use, for prune --older-than
            return envelope["payload"]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("cache entry %s is damaged (%s); rebuilding it", path, exc)
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def put(self, kind: str, key: str, payload: object) -> None:
        """Store a JSON-able payload atomically."""
        path = self._path(kind, key)
        self.in_use(kind, key)
        payload_text = json.dumps(payload, sort_keys=True, ensure_ascii=False)
        envelope = {"sha256": hashlib.sha256(payload_text.encode("utf-8")).hexdigest(), "payload": payload}
        try:
            write_text_atomic(path, json.dumps(envelope, ensure_ascii=False))
        except OSError as exc:
            raise self.unusable(exc, f"writing a {kind} entry") from exc

    def get_or_make(self, kind: str, key: str, make: Callable[[], T], *, encode: Callable[[T], object],
                    decode: Callable[[object], T]) -> T:
        """The cached value, or ``make()``'s result stored for next time; one maker at a time per key."""
        found = self.get(kind, key)
        if found is not None:
            return decode(found)
        with self._making(kind, key):
            found = self.get(kind, key)  # another process may have made it meanwhile
            if found is not None:
                return decode(found)
            value = make()
            self.put(kind, key, encode(value))
            return value

    @contextlib.contextmanager
    def _making(self, kind: str, key: str):
        """Held while an entry is made: one maker at a time per key, across threads and processes."""
        lock_path = self._path(kind, key).with_suffix(".lock")
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(lock_path))
            lock.acquire()
        except OSError as exc:
            raise self.unusable(exc, f"locking a {kind} entry") from exc
        try:
            yield
        finally:
            lock.release()

    def file(self, kind: str, key: str, suffix: str, make: Callable[[Path], dict], *,
             made_since: float | None = None) -> tuple[Path, dict, bool]:
        """A file made once per key (a rendered piece): ``(path, facts, made_now)``.

        ``make(tmp)`` writes the file at ``tmp`` and returns facts about it (JSON-able), kept
        beside it. The file is renamed into place only when complete, then its entry (size,
        sha256, facts) is written; a file that is missing, of another size or checksum, or made
        before ``made_since`` (a time.time(), for ``--force``) is made again. One maker at a
        time per key, across threads and processes; others wait and take its file.
        """
        media = self.root / kind / key[:2] / f"{key}{suffix}"

        def found() -> dict | None:
            entry = self.get(kind, key)
            if not isinstance(entry, dict) or not {"size", "sha256", "facts"} <= entry.keys():
                return None  # none, or of another layout (a cleaned sound's entry before it was a file entry)
            if made_since is not None and entry.get("made", 0) < made_since:
                return None
            try:
                # checked by content, read again only where its size or time changed (file_digest): the
                # entry's own time is its last use (get), so the file keeps the time it was made with
                if media.stat().st_size != entry.get("size") or file_digest(media) != entry.get("sha256"):
                    log.warning("cache file %s is damaged; making it again", media)
                    return None
            except OSError:
                return None
            return entry

        entry = found()
        if entry is not None:
            return media, entry["facts"], False
        with self._making(kind, key):
            entry = found()  # another thread or process may have made it meanwhile
            if entry is not None:
                return media, entry["facts"], False
            try:
                with atomic_path(media) as tmp:  # the folder is writable: its lock was just made there
                    facts = make(tmp)
                    size, digest = tmp.stat().st_size, sha256_file(tmp)
            except NoSpace as exc:  # ffmpeg filled the cache's disk: the run stops, naming the folder
                if not self.holds(exc.paths):
                    raise
                raise self.full(f"{exc.what}: No space left on device") from exc
            except OSError as exc:  # a maker's own write (a description voice) on a full disk
                if exc.errno != errno.ENOSPC:
                    raise
                raise self.full(f"writing {kind} {media.name}: {exc.strerror}") from exc
            self.put(kind, key, {"size": size, "sha256": digest, "made": time.time(), "facts": facts})
            return media, facts, True

    def info(self) -> dict[str, dict[str, int]]:
        """Entries and bytes per kind (models, transcripts, alignments, loudness, ...)."""
        out: dict[str, dict[str, int]] = {}
        if not self.root.is_dir():
            return out
        for kind in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name not in ("locks", LEASES)):
            files = [f for f in kind.rglob("*") if f.is_file() and not f.name.endswith(".lock")]
            entries = len({f.parent for f in files}) if kind.name == "models" else \
                len([f for f in files if f.suffix == ".json"])
            out[kind.name] = {"entries": entries, "bytes": sum(f.stat().st_size for f in files)}
        return out

    def prune(self, older_than_days: float | None = None, kinds: tuple[str, ...] = ()) -> Pruned:
        """Remove entries not used for ``older_than_days`` (all entries if None), except those a running
        render uses (its lease lists them: see the module's note).

        The assembled default model is kept unless ``models`` is named in ``kinds``. A lease left by a
        process that is gone (killed, crashed) is removed, and keeps nothing.
        """
        if not self.root.is_dir():
            return Pruned(0, 0)
        with contextlib.ExitStack() as stack:
            used: set[str] = set()
            holders: list[str] = []
            if fcntl is not None:
                try:
                    (self.root / LEASES).mkdir(exist_ok=True)
                    stack.enter_context(_gate(self.root, exclusive=True))
                except OSError:  # a folder nobody can write holds no leases either
                    pass
                else:
                    used, holders = _live_leases(self.root)
            return self._prune(older_than_days, kinds, used, tuple(holders))

    def trim(self, max_bytes: int) -> Pruned:
        """Remove rendered pieces and described sound chunks (:attr:`TRIMMED`) until the cache holds at most
        ``max_bytes``: ``.mov`` ones (ProRes, the cinema's PCM: the largest) first, then by least recent use.

        Transcripts, models, measurements and the other kinds are never trimmed (they are small, or dear to
        make again), nor any piece a running render uses (its lease), this process's own render included.
        """
        if not any((self.root / kind).is_dir() for kind in self.TRIMMED):
            return Pruned(0, 0)
        with contextlib.ExitStack() as stack:
            used: set[str] = set()
            holders: list[str] = []
            if fcntl is not None:
                try:
                    stack.enter_context(_gate(self.root, exclusive=True))
                except OSError:
                    pass
                else:
                    used, holders = _live_leases(self.root)
            total = sum(f.stat().st_size for f in self.root.rglob("*") if f.is_file())
            if total <= max_bytes:
                return Pruned(0, 0, {}, tuple(holders))
            pieces = []
            for kind, entry in ((k, e) for k in self.TRIMMED for e in (self.root / k).rglob("*.json")):
                media = [m for m in entry.parent.glob(f"{entry.stem}.*") if m.suffix not in (".json", ".lock")]
                with contextlib.suppress(OSError):
                    size = entry.stat().st_size + sum(m.stat().st_size for m in media)
                    used_at = max([entry.stat().st_mtime, *(m.stat().st_mtime for m in media)])
                    pieces.append((not any(m.suffix == ".mov" for m in media), used_at, kind, entry, media, size))
            removed = freed = kept = 0
            for _, _, kind, entry, media, size in sorted(pieces, key=lambda p: (p[0], p[1])):
                if total - freed <= max_bytes:
                    break
                if f"{kind}/{entry.stem}" in used:
                    kept += 1
                    continue
                for path in (*media, entry):
                    with contextlib.suppress(OSError):
                        path.unlink()
                removed, freed = removed + 1, freed + size
            if total - freed > max_bytes:
                log.info("the cache %s holds %.0f MB, over its limit of %.0f MB (%s): what is left is in use "
                         "or not a rendered piece", self.root, (total - freed) / 1e6, max_bytes / 1e6, CACHE_MAX_ENV)
            return Pruned(removed, freed, {"pieces": kept} if kept else {}, tuple(holders))

    def _prune(self, older_than_days: float | None, kinds: tuple[str, ...], used: set[str],
               holders: tuple[str, ...]) -> Pruned:
        import shutil

        cutoff = time.time() - older_than_days * 86400 if older_than_days is not None else None
        removed = freed = 0
        kept: dict[str, int] = {}
        failed: list[OSError] = []
        for kind in self.root.iterdir():
            if not kind.is_dir() or kind.name in ("locks", LEASES) or (kinds and kind.name not in kinds):
                continue
            if kind.name == "models":
                if "models" not in kinds:
                    continue
                for model in kind.iterdir():
                    size = sum(f.stat().st_size for f in model.rglob("*") if f.is_file())
                    if cutoff is None or model.stat().st_mtime < cutoff:
                        if f"models/{model.name}" in used:
                            kept["models"] = kept.get("models", 0) + 1
                            continue
                        try:
                            shutil.rmtree(model)
                            removed, freed = removed + 1, freed + size
                        except OSError as exc:
                            failed.append(exc)
                continue
            for f in kind.rglob("*.json"):
                st = f.stat()
                if cutoff is None or st.st_mtime < cutoff:
                    if f"{kind.name}/{f.stem}" in used:
                        kept[kind.name] = kept.get(kind.name, 0) + 1
                        continue
                    # with the entry goes its file, if it has one (rendered pieces)
                    for media in [m for m in f.parent.glob(f"{f.stem}.*") if m.suffix not in (".json", ".lock")]:
                        with contextlib.suppress(OSError):
                            size = media.stat().st_size
                            media.unlink()
                            freed += size
                    try:
                        f.unlink()
                        removed, freed = removed + 1, freed + st.st_size
                    except OSError as exc:
                        failed.append(exc)
        if failed:
            raise CacheError(f"could not remove {len(failed)} cache entries from {self.root} "
                             f"({failed[0].strerror or failed[0]}; {removed} removed): make the folder writable "
                             "and run prune again")
        return Pruned(removed, freed, kept, holders)

    def lock(self, name: str) -> FileLock:
        """A named lock in the cache (e.g. for assembling a model once)."""
        path = self.root / "locks" / f"{name}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self.unusable(exc, "making its lock folder") from exc
        return FileLock(str(path))
