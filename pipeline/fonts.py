"""Font files for cards, lower thirds, posters and burned captions, found once, used by path.

Pillow opens the file; libass gets its folder (``fontsdir``) and its family name, so a
font that is not installed system-wide (a brand font named by ``REKRUTT_FONT_BOLD``)
still reaches the burned captions. The files enter each output's fingerprint by content.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from PIL import ImageFont

#: Environment variables naming font files (a brand font) for cards and captions.
FONT_ENV = "REKRUTT_FONT"
FONT_BOLD_ENV = "REKRUTT_FONT_BOLD"


@functools.cache
def find_font(bold: bool = False) -> str | None:
    """Path of a TrueType font with Norwegian letters: the env override, else fontconfig's sans-serif."""
    env = os.environ.get(FONT_BOLD_ENV if bold else FONT_ENV)
    if env and Path(env).is_file():
        return env
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


def font_files() -> tuple[Path, ...]:
    """The font files the drawn pictures use (bold, regular), for fingerprints."""
    return tuple(Path(p) for p in dict.fromkeys((find_font(True), find_font(False))) if p)


def load(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The font at ``size`` pixels (Pillow's own default when no font file is found)."""
    path = find_font(bold)
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def family(bold: bool = True) -> str:
    """The family name of the font file (what an ASS style names for libass)."""
    path = find_font(bold)
    if not path:
        return "Sans"
    return ImageFont.truetype(path, 12).getname()[0]


def caption_fonts(bold: bool = True) -> tuple[Path | None, tuple[Path, ...]]:
    """(folder for libass' ``fontsdir``, font files used) for burned captions."""
    path = find_font(bold)
    if not path:
        return None, ()
    return Path(path).parent, (Path(path),)
