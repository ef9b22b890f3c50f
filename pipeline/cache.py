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

from .errors import CacheError
from .files import atomic_path, sha256_file, write_text_atomic

log = logging.getLogger("rekrutt")

#: Bump when a cached format or the way results are computed changes.
CACHE_VERSION = "1"

#: Environment variable naming the cache folder.
CACHE_ENV = "REKRUTT_CACHE_DIR"

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


def file_digest(path: Path) -> str:
    """sha256 of a file's content, remembered per (path, size, mtime) for this process."""
    st = path.stat()
    stamp = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    with _digest_lock:
        if stamp in _digest_memo:
            return _digest_memo[stamp]
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    with _digest_lock:
        _digest_memo[stamp] = digest
    return digest


class Cache:
    """JSON entries under ``root/<kind>/<key[:2]>/<key>.json`` (and a file entry's file beside it).

    A cache that cannot be written (read-only, full, a file in the way) raises
    :class:`~pipeline.errors.CacheError` naming the folder; it never leaves a
    half-written entry (writes are atomic) and reading a damaged entry rebuilds it.
    """

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()

    def unusable(self, exc: OSError, doing: str) -> CacheError:
        """The error for a cache folder that cannot be written, naming it and what to do."""
        reason = exc.strerror or str(exc)
        return CacheError(f"the cache folder {self.root} cannot be used ({doing}: {reason}); "
                          f"make it writable, or choose another with --cache-dir or {CACHE_ENV}")

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / f"{key}.json"

    def get(self, kind: str, key: str) -> object | None:
        """The payload stored under (kind, key), or None if missing or damaged (a damaged entry is removed)."""
        path = self._path(kind, key)
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
            if not isinstance(entry, dict) or (made_since is not None and entry.get("made", 0) < made_since):
                return None
            try:
                if media.stat().st_size != entry.get("size") or sha256_file(media) != entry.get("sha256"):
                    log.warning("cache file %s is damaged; making it again", media)
                    return None
                os.utime(media)  # last use, for prune --older-than
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
            with atomic_path(media) as tmp:  # the folder is writable: its lock was just made there
                facts = make(tmp)
                size, digest = tmp.stat().st_size, sha256_file(tmp)
            self.put(kind, key, {"size": size, "sha256": digest, "made": time.time(), "facts": facts})
            return media, facts, True

    def info(self) -> dict[str, dict[str, int]]:
        """Entries and bytes per kind (models, transcripts, alignments, loudness, ...)."""
        out: dict[str, dict[str, int]] = {}
        if not self.root.is_dir():
            return out
        for kind in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name != "locks"):
            files = [f for f in kind.rglob("*") if f.is_file() and not f.name.endswith(".lock")]
            entries = len({f.parent for f in files}) if kind.name == "models" else \
                len([f for f in files if f.suffix == ".json"])
            out[kind.name] = {"entries": entries, "bytes": sum(f.stat().st_size for f in files)}
        return out

    def prune(self, older_than_days: float | None = None, kinds: tuple[str, ...] = ()) -> tuple[int, int]:
        """Remove entries not used for ``older_than_days`` (all entries if None); returns (files, bytes).

        The assembled default model is kept unless ``models`` is named in ``kinds``.
        """
        import shutil

        if not self.root.is_dir():
            return 0, 0
        cutoff = time.time() - older_than_days * 86400 if older_than_days is not None else None
        removed = freed = 0
        failed: list[OSError] = []
        for kind in self.root.iterdir():
            if not kind.is_dir() or kind.name == "locks" or (kinds and kind.name not in kinds):
                continue
            if kind.name == "models":
                if "models" not in kinds:
                    continue
                for model in kind.iterdir():
                    size = sum(f.stat().st_size for f in model.rglob("*") if f.is_file())
                    if cutoff is None or model.stat().st_mtime < cutoff:
                        try:
                            shutil.rmtree(model)
                            removed, freed = removed + 1, freed + size
                        except OSError as exc:
                            failed.append(exc)
                continue
            for f in kind.rglob("*.json"):
                st = f.stat()
                if cutoff is None or st.st_mtime < cutoff:
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
        return removed, freed

    def lock(self, name: str) -> FileLock:
        """A named lock in the cache (e.g. for assembling a model once)."""
        path = self.root / "locks" / f"{name}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self.unusable(exc, "making its lock folder") from exc
        return FileLock(str(path))
