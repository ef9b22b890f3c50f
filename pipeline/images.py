"""Pictures a spec or a brand file names (logos, card backgrounds), checked from their header.

Pillow reads only the header on ``Image.open``; the pixels are decoded later, on first use.
A PNG of 13000 x 13000 one-bit pixels is 20 KB on disk and 2 GB once decoded and turned to
RGBA, so the size is judged from the header before anything decodes it, against limits that
any real picture of its kind keeps (see :data:`MAX_PIXELS`). Pillow's own decompression-bomb
warning (and its error over ~179 Mpixel) never reaches the user: the size is said in words.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from PIL import Image

#: Most pixels a picture may have, by what it is for. A logo is drawn at most half the safe
#: area wide and 12% of the frame high (about 1000 x 260 pixels on the largest frame): 4096 x 4096
#: is four times that on either side, larger than any logo export. A card background fills the frame
#: (at most 1998 x 1080 or 1080 x 1920): 50 Mpixel takes the photos of 48 Mpixel phones (8064 x 6048)
#: and 45-50 Mpixel cameras as they come; decoded as RGB that is 150 MB, below Pillow's own
#: decompression-bomb warning (89 Mpixel).
MAX_PIXELS = {"logo": 4096 * 4096, "background": 50_000_000}

#: What each kind of picture is called, and how big it may be, in the words of the messages.
_EXPORT_SIZE = {"logo": 1000, "background": 1920}  #: a width to export or scale to
_LIMIT_WORDS = {"logo": "4096 x 4096 pixels (16.8 Mpixel)", "background": "50 Mpixel (e.g. 8192 x 6100)"}

#: Raster formats a card can draw (Pillow's names). Others Pillow can open (EPS through Ghostscript,
#: PSD, ICO) are not pictures a producer means for a card.
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")

_SVG = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!DOCTYPE svg|<svg)", re.S | re.I)


def image_problem(path: Path, kind: str) -> tuple[str, str] | None:
    """What is wrong with the picture at ``path`` used as a ``kind`` ("logo" or "background"), or None.

    Returns (message, what to do). Only the file's header is read; the pixels are never decoded
    here, so a picture too large to decode costs nothing to refuse.
    """
    name = path.name
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        return f"{name} cannot be read ({exc.strerror or exc})", "check the file's permissions"
    if path.suffix.lower() in (".svg", ".svgz") or _SVG.match(head):
        return (f"{name} is an SVG (a vector drawing); a card draws pixels",
                f"export it as PNG, e.g. {_EXPORT_SIZE[kind]} pixels wide: Inkscape's 'Export PNG Image', "
                f"or rsvg-convert -w {_EXPORT_SIZE[kind]} {name} -o {path.stem}.png")
    limit = MAX_PIXELS[kind]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=FORMATS) as im:
                width, height = im.size
    except Image.DecompressionBombError as exc:
        # over twice Pillow's limit (~179 Mpixel): it refuses even the header, and says the pixel count
        found = re.search(r"\((\d+) pixels\)", str(exc))
        count = f"{int(found.group(1)) / 1e6:,.0f} Mpixel" if found else "over 179 Mpixel"
        return _too_big(name, kind, count)
    except Exception:  # Pillow raises many types for a file that is not a picture
        return (f"{name} is not a picture a card can draw (not a {', '.join(FORMATS[:-1])} or {FORMATS[-1]} file)",
                f"save the {kind} as PNG{', with transparency' if kind == 'logo' else ' or JPEG'}")
    if width * height > limit:
        return _too_big(name, kind, f"{width} x {height} pixels ({width * height / 1e6:,.1f} Mpixel)")
    if not width or not height:
        return f"{name} has no pixels ({width} x {height})", f"save the {kind} again as PNG"
    return None


def _too_big(name: str, kind: str, size: str) -> tuple[str, str]:
    return (f"{name} is {size}; a {kind} may have at most {_LIMIT_WORDS[kind]}",
            f"scale it down, e.g. to {_EXPORT_SIZE[kind]} pixels wide; a card draws it at most "
            f"{'about 1000' if kind == 'logo' else '1998'} pixels wide")


def verify(path: Path) -> str | None:
    """Pillow's integrity check of a picture whose header passed :func:`image_problem` (None: fine)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=FORMATS) as im:
                im.verify()
    except Exception as exc:  # Pillow raises many types for a damaged file
        return f"{path.name} is damaged ({exc})"
    return None
