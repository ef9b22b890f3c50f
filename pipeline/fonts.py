"""Font files for cards, lower thirds, posters and burned captions, found once, used by path.

The default typeface ships with the install: Source Sans Pro (SIL Open Font Licence), from
the ``font-source-sans-pro`` wheel, so a machine with no fonts of its own (or other ones)
renders the same pictures. It covers Norwegian and the Sámi letters (á č đ ŋ š ŧ ž); Lato,
the other packaged candidate, lacks č đ ŋ ŧ. A brand font is named by ``REKRUTT_FONT`` /
``REKRUTT_FONT_BOLD`` (or the brand kit). fontconfig is asked only when neither is there.

Pillow opens the file; libass gets its folder (``fontsdir``) and its family name, so a
font that is not installed system-wide still reaches the burned captions. The files
enter each output's fingerprint by content.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

#: Environment variables naming font files (a brand font) for cards and captions.
FONT_ENV = "REKRUTT_FONT"
FONT_BOLD_ENV = "REKRUTT_FONT_BOLD"


def packaged_font(bold: bool = False) -> str | None:
    """The typeface that ships with the install (Source Sans Pro), or None if its package is missing."""
    try:
        import font_source_sans_pro
    except ImportError:
        return None
    name = "SourceSansPro-Bold.ttf" if bold else "SourceSansPro-Regular.ttf"
    path = Path(font_source_sans_pro.__file__).parent / "files" / name
    return str(path) if path.is_file() else None


@dataclass(frozen=True)
class Typeface:
    """A brand's font files (None: the default for that weight)."""

    bold: str | None = None
    regular: str | None = None


@functools.cache
def find_font(bold: bool = False, face: Typeface | None = None) -> str | None:
    """Path of a TrueType font with Norwegian and Sámi letters: the brand's (``face``), the env override,
    else the packaged typeface, else fontconfig's sans-serif."""
    own = (face.bold if bold else face.regular) if face is not None else None
    if own and Path(own).is_file():
        return own
    env = os.environ.get(FONT_BOLD_ENV if bold else FONT_ENV)
    if env and Path(env).is_file():
        return env
    packaged = packaged_font(bold)
    if packaged:
        return packaged
    if shutil.which("fc-match"):
        pattern = "sans-serif:bold" if bold else "sans-serif"
        try:
            found = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True,
                                   timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        if found and Path(found).is_file():
            return found
    candidate = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf" if bold
                 else "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    return candidate if Path(candidate).is_file() else None


def font_files(face: Typeface | None = None) -> tuple[Path, ...]:
    """The font files the drawn pictures use (bold, regular), for fingerprints."""
    return tuple(Path(p) for p in dict.fromkeys((find_font(True, face), find_font(False, face))) if p)


def load(size: int, bold: bool, text: str = "", face: Typeface | None = None
         ) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The font at ``size`` pixels that shows ``text`` (Pillow's own default when no font file is found).

    The brand or packaged font when it has every character of ``text``; else a font of the machine
    that has them all (Arabic, Ethiopic, ...), found through fontconfig; else the first font anyway
    (validation has warned about the characters it cannot show).
    """
    path = font_for(text, bold, face)
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def font_for(text: str, bold: bool = False, face: Typeface | None = None) -> str | None:
    """The font file that shows every character of ``text``: the main font if it does, else a fallback."""
    main = find_font(bold, face)
    if not text or not covers(main, text):
        return main
    fallback = _fallback(covers(main, text), bold)
    return fallback or main


@functools.cache
def _fallback(missing: str, bold: bool) -> str | None:
    """A font of the machine that has all of ``missing`` (fontconfig's best match by character set)."""
    if not shutil.which("fc-match"):
        return None
    charset = " ".join(f"{ord(ch):x}" for ch in missing)
    pattern = f":charset={charset}" + (":bold" if bold else "")
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return found if found and Path(found).is_file() and not covers(found, missing) else None


def cannot_show(text: str, bold: bool = False, face: Typeface | None = None) -> str:
    """The characters of ``text`` that no font here can show ('' when all can be drawn)."""
    return covers(font_for(text, bold, face), text)


def family(bold: bool = True, face: Typeface | None = None) -> str:
    """The family name of the font file (what an ASS style names for libass)."""
    path = find_font(bold, face)
    if not path:
        return "Sans"
    return ImageFont.truetype(path, 12).getname()[0]


def caption_fonts(bold: bool = True, face: Typeface | None = None) -> tuple[Path | None, tuple[Path, ...]]:
    """(folder for libass' ``fontsdir``, font files used) for burned captions."""
    path = find_font(bold, face)
    if not path:
        return None, ()
    return Path(path).parent, (Path(path),)


def covers(path: str | None, text: str) -> str:
    """The characters of ``text`` the font file has no glyph for ('' when it shows them all)."""
    if not path:
        return ""
    cmap = character_map(path)
    return "".join(dict.fromkeys(ch for ch in text if not ch.isspace() and ord(ch) not in cmap
                                 and unicodedata.category(ch) not in ("Cf", "Mn", "Cc")))


#: Character maps known in this process (read, or handed in by :func:`remember_cmaps`), by font file.
_cmaps: dict[str, frozenset[int]] = {}


def character_map(path: str) -> frozenset[int]:
    """The code points the font file has glyphs for (read once a process, or handed in)."""
    found = _cmaps.get(path)
    if found is None:
        from fontTools.ttLib import TTFont

        with TTFont(path, lazy=True) as font:
            found = _cmaps[path] = frozenset(font.getBestCmap())
    return found


def remember_cmaps(known: dict[str, frozenset[int]]) -> None:
    """Character maps kept from an earlier run (the caller keys them by the files' content)."""
    _cmaps.update(known)
