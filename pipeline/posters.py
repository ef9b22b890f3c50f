"""Posters: a frame of the edit with the campaign title, for every channel.

The frame is taken from the edit's picture without burned captions or lower thirds
(the poster is not a frame of the finished video, where a caption box would sit under
the title), at the moment with the best face, and the title band goes where it covers
no face: low in the safe area, or high when the face is low.

A poster carries the key of what it is made from (its frame, the title, the safe area, the font) in its
JPEG comment, so an output made again whose poster would be the same keeps the file it has (issue 25:
after an edit of the end card no poster is drawn again unless it shows the card).
"""

from __future__ import annotations

import hashlib
import json
import logging
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageDraw

from . import fonts
from .cache import Cache
from .campaign import Campaign
from .cards import line_height, wrap_text
from .channels import Preset
from .files import sha256_file
from .reframe import analyse, cascades, detect_faces
from .timecode import seconds
from .timeline import Timeline

log = logging.getLogger("rekrutt")

#: Changes when a poster would look different for the same frame, title, safe area and font.
POSTER_VERSION = "1"


def poster_time(campaign: Campaign, cache: Cache, timeline: Timeline) -> Fraction:
    """The best face in the edit: large, frontal, both eyes found (not mid-blink); else the first cut's middle."""
    best: tuple[float, Fraction] | None = None
    for seg in timeline.clip_segments():
        analysis = analyse(campaign.clip_source(seg.clip_id), campaign.media[seg.clip_id], cache)
        for sample in analysis.samples:
            face = sample.main
            t = seconds(sample.t) - seg.source_in
            if face is None or not (Fraction(1, 5) <= t <= seg.duration - Fraction(1, 5)):
                continue
            score = face.size * (1.0 if face.eyes >= 2 else 0.4) * (1.0 if 0.2 < face.cx < 0.8 else 0.8)
            if best is None or score > best[0]:
                best = (score, seg.start + t)
    if best is not None:
        return best[1]
    for seg in timeline.clip_segments():
        return seg.start + seg.duration / 2
    return timeline.duration / 2


def faces_in(image: Image.Image) -> list[tuple[int, int, int, int]]:
    """Face boxes (x0, y0, x1, y1) in a picture, by the same detector the reframing uses."""
    import numpy as np
    face_cascade, eye_cascade = cascades()
    w, h = image.size
    scale = 640 / max(w, h)
    small = image.convert("L").resize((max(2, int(w * scale)), max(2, int(h * scale))))
    found = detect_faces(np.asarray(small), face_cascade, eye_cascade)
    boxes = []
    for f in found:
        fw = f.size * w
        fh = fw * 1.3  # the detector's box is square on the face; take the chin and hair in
        boxes.append((int(f.cx * w - fw / 2), int(f.cy * h - fh / 2), int(f.cx * w + fw / 2), int(f.cy * h + fh / 2)))
    return boxes


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


def title_band(size: tuple[int, int], preset: Preset, band_h: int,
               faces: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """Where the title band goes: low in the safe area unless that covers a face, then high;
    of the two, the one that covers less face."""
    w, h = size
    x0, y0, x1, y1 = preset.safe_area.box(w, h)
    low = (x0, y1 - band_h - int(h * 0.02), x1, y1 - int(h * 0.02))
    high = (x0, y0 + int(h * 0.02), x1, y0 + int(h * 0.02) + band_h)
    cover = {box: sum(_overlap(box, f) for f in faces) for box in (low, high)}
    return low if cover[low] <= cover[high] else high


def poster_key(frame: str, title: str, preset: Preset, face=None) -> str:
    """What a poster is made from: ``frame`` (a key or checksum of its frame), the title, the channel's
    safe area and the font file the title is set in (by content)."""
    font = fonts.font_for(title, True, face)
    area = preset.safe_area
    text = json.dumps([POSTER_VERSION, frame, title, [area.top, area.bottom, area.left, area.right],
                       sha256_file(Path(font)) if font else None])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def poster_is_current(poster: Path, key: str) -> bool:
    """Whether the poster at ``poster`` was made from what ``key`` stands for (read from its header)."""
    try:
        with Image.open(poster) as im:
            return im.info.get("comment") == key.encode("ascii")
    except (OSError, ValueError, SyntaxError):
        return False


def poster_with_title(frame: Path, title: str, preset: Preset, out: Path, face=None,
                      key: str = "") -> tuple[int, int, int, int]:
    """A poster: the frame with the campaign title on a dark band in the safe area, clear of faces (JPEG;
    ``key``, from :func:`poster_key`, goes into its comment).

    Returns the band's box (x0, y0, x1, y1).
    """
    with Image.open(frame) as im:
        image = im.convert("RGB")
    w, h = image.size
    x0, _, x1, _ = preset.safe_area.box(w, h)
    draw = ImageDraw.Draw(image, "RGBA")
    font = fonts.load(max(12, int(min(h * 0.06, w * 0.07))), True, title, face)
    lines = wrap_text(draw, title, font, int((x1 - x0) * 0.9))
    while len(lines) > 2 and font.size > 12:
        font = fonts.load(int(font.size * 0.9), True, title, face)
        lines = wrap_text(draw, title, font, int((x1 - x0) * 0.9))
    line_h = line_height(font)
    pad = line_h // 3
    band = title_band((w, h), preset, line_h * len(lines) + 2 * pad, faces_in(image))
    draw.rectangle(band, fill=(0, 0, 0, 150))
    for i, line in enumerate(lines):
        width = draw.textlength(line, font=font)
        draw.text(((band[0] + band[2] - width) / 2, band[1] + pad + i * line_h), line, font=font, fill=(255, 255, 255))
    image.save(out, format="JPEG", quality=88, **({"comment": key} if key else {}))
    return band
