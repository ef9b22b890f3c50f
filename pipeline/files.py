"""Atomic file output: a file appears at its path only when it is complete."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError


@contextlib.contextmanager
def atomic_path(final: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it into place on success, delete it on failure.

    The temporary name starts with a dot and ends in ``.partial``, so a reader never
    mistakes it for a finished file. It is created with mode 0666 and the kernel applies
    the process umask, as for any new file: the umask itself is never read or changed
    (changing it, even briefly, races with other threads creating files).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []  # filled before the file exists, so a signal right after its creation still removes it
    try:
        tmp = _create_unique(final.parent, f".{final.name}.", suffix or ".partial", made)
        yield tmp
        os.replace(tmp, final)
    except OSError as exc:
        if exc.filename is None:  # a failed write says no file: name it (a full disk is told by its folder)
            exc.filename = str(made[0] if made else final)
        raise
    finally:
        for path in made:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _create_unique(folder: Path, prefix: str, suffix: str, made: list[Path] | None = None) -> Path:
    """Create an empty file with a fresh name (O_EXCL, mode 0666 less the umask) and return its path.

    With ``made``, the name is put there before the file is created (and taken out again when the
    name was taken), so that a caller's cleanup knows of it even when Ctrl-C or SIGTERM (raised
    between any two bytecodes) lands just after the file appeared.
    """
    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(5)}{suffix}"
        if made is not None:
            made.append(path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            if made is not None:
                made.remove(path)
            continue
        os.close(fd)
        return path
    raise FileExistsError(f"no free temporary name in {folder}")


def write_text_atomic(final: Path, text: str) -> None:
    """Write a text file (UTF-8) atomically."""
    with atomic_path(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_text_if_changed(final: Path, text: str) -> bool:
    """Write a text file (UTF-8) atomically unless it holds ``text`` already (then it is left as it is, its
    time too: an unchanged render rewrites nothing); returns whether it was written. The size is compared
    before the content is read."""
    data = text.encode("utf-8")
    try:
        if final.stat().st_size == len(data) and final.read_bytes() == data:
            return False
    except OSError:
        pass
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return True


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def refuse_links(folder: Path) -> None:
    """Refuse a folder Rekrutt writes into that is, or holds, a symbolic link (InputError, exit 2).

    Rekrutt makes no links in its output folders, so a link there was planted: following it would write
    card pictures, locks or outputs wherever it points. Checked before any work, and never followed.
    """
    found = [folder] if folder.is_symlink() else []
    if not found and folder.is_dir():
        for top, dirs, files in os.walk(folder):  # os.walk does not descend into linked folders
            found += [Path(top) / name for name in [*dirs, *files] if (Path(top) / name).is_symlink()]
    if not found:
        return
    shown = "; ".join(f"{p} -> {os.readlink(p)}" for p in found[:5]) + ("; …" if len(found) > 5 else "")
    raise InputError(f"symbolic link{'s' if len(found) > 1 else ''} in the output folder {folder}: {shown}. "
                     "Rekrutt makes no links there and follows none it did not make: remove "
                     f"{'them' if len(found) > 1 else 'it'}, or render into another folder (--out DIR); "
                     "nothing was written")
