"""The contact sheet: a row of frames per output, labelled, one picture for e-mail or chat.

What it costs is proportional to what changed (issue 25). Each frame (a thumbnail) is kept in the cache
(kind ``sheet``) under what it shows: the picture piece of the output it falls in (the piece's cache key,
which holds its command and the content of every file it reads, see :mod:`pipeline.output`) and where in
that piece it lies. An edit of the end card makes new pieces for the card only, so only the frames on
the card are decoded again, all of them in one run of ffmpeg per core (a run's start costs as much as
a frame); an output made whole, or listed by an older manifest, keys its frames by its checksum. The
sheet itself is written only when a frame or a label on it changed, and at zlib's fastest level: the
same pixels as ``optimize=True`` in an eighth of the time, the file a fifth larger (the example's 9
rows: 0.19 s against 1.6 s profiled, 872 KB against 738 KB).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

from . import fonts
from .cache import Cache
from .ffmpeg import FfmpegCommand, run_command, safe_path_arg
from .files import atomic_path
from .manifest import OutputRecord

log = logging.getLogger("rekrutt")

#: Changes when a thumbnail or the sheet would look different for the same outputs (their keys hold it).
SHEET_VERSION = "1"
KIND = "sheet"
#: The PNG text key that holds the key of everything a sheet shows.
TEXT_KEY = "rekrutt-outputs"
LABEL_WIDTH = 260
GAP = 8


@dataclasses.dataclass(frozen=True)
class Row:
    """One output on the sheet: its label, its file and its manifest record."""

    label: str
    video: Path
    record: OutputRecord


def frame_times(duration: float, frames: int) -> list[str]:
    """The moments (ffmpeg's seconds, as text) a row shows: the middles of ``frames`` equal parts."""
    return [f"{duration * (k + 0.5) / frames:.3f}" for k in range(frames)]


def thumbnail_key(record: OutputRecord, at: str, height: int) -> str:
    """What the frame of ``record``'s output at ``at`` shows: its picture piece and the offset in it
    (the output's checksum and the time where the manifest lists no pieces)."""
    t = float(at)
    shows: list = ["file", record.sha256, at]
    frame = 1 / float(Fraction(record.fps)) if record.fps else 0.0
    for piece in record.picture_pieces:
        if piece["start"] <= t < piece["end"]:
            # a moment within a frame of a cut may show the frame beside it: that piece counts too
            near = [p["key"] for p in record.picture_pieces if p is not piece
                    and p["start"] - frame <= t < p["end"] + frame]
            shows = ["piece", piece["key"], f"{t - piece['start']:.3f}", record.fps, near]
            break
    text = json.dumps([SHEET_VERSION, height, record.width, record.height, *shows])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The most frames one run of ffmpeg decodes (each an input of its own, open at once).
PER_RUN = 8


def decode_runs(frames: list) -> list[list]:
    """``frames`` cut into runs of ffmpeg of at most :data:`PER_RUN` each: all of them in a run or two (51
    inputs open at once, the example's 17 outputs on 2 cores) held 1.3 GB in one ffmpeg."""
    return [frames[n:n + PER_RUN] for n in range(0, len(frames), PER_RUN)]


def thumbnails_command(frames: Sequence[tuple[Path, str, Path]], height: int) -> FfmpegCommand:
    """For each (video, time, picture) of ``frames``: the video's frame at that time, ``height`` pixels high,
    as a PNG (each input seeks on its own, so a long master is not decoded whole; one run of ffmpeg for
    them all, whose start costs as much as a frame's decoding)."""
    args: list[str] = []
    for video, at, _ in frames:  # one decoder thread each: a frame apiece, and the memory of one
        args += ["-threads", "1", "-ss", at, "-i", safe_path_arg(video)]
    for k, (_, _, out) in enumerate(frames):
        args += ["-map", f"{k}:v:0", "-vf", f"scale=-2:{height},setsar=1,format=rgb24", "-frames:v", "1",
                 "-f", "image2", "-c:v", "png", safe_path_arg(out)]
    return FfmpegCommand(args, outputs=[out for _, _, out in frames])


def _decode_missing(rows: Sequence[Row], cache: Cache, work: Path, frames: int, height: int
                    ) -> dict[tuple[int, int], Path]:
    """Decode the frames the cache has no entry for, in as many runs of ffmpeg at once as there are cores
    (the outputs are made: nothing else runs now); their pictures by (row, frame)."""
    missing = [(row.video, at, work / f"row{i}-{k}.png", (i, k)) for i, row in enumerate(rows)
               for k, at in enumerate(frame_times(row.record.duration, frames))
               if cache.get(KIND, thumbnail_key(row.record, at, height)) is None]
    runs = max(1, min(len(missing), os.cpu_count() or 1))
    parts = decode_runs([m[:3] for m in missing])
    with ThreadPoolExecutor(max_workers=runs) as pool:
        list(pool.map(lambda part: run_command(thumbnails_command(part, height), work, what="contact sheet"),
                      [p for p in parts if p]))
    return {where: out for _, _, out, where in missing}


def _row_thumbnails(row: Row, cache: Cache, work: Path, index: int, frames: int, height: int,
                    decoded: dict[tuple[int, int], Path]) -> list[Path]:
    """The row's thumbnails in the cache (``decoded``: those just decoded); a damaged or missing file of an
    entry the cache has is noticed there and made on its own."""
    paths = []
    for k, at in enumerate(frame_times(row.record.duration, frames)):
        def make(tmp: Path, k: int = k, at: str = at) -> dict:
            made = decoded.get((index, k))
            if made is None or not made.is_file():
                made = work / f"row{index}-{k}-again.png"
                run_command(thumbnails_command([(row.video, at, made)], height), work,
                            what=f"contact sheet ({row.label})")
            shutil.copyfile(made, tmp)
            return {}

        path, _, _ = cache.file(KIND, thumbnail_key(row.record, at, height), ".png", make)
        paths.append(path)
    return paths


def sheet_key(rows: Sequence[Row], frames: int, height: int) -> str:
    """The key of everything a sheet of ``rows`` shows (labels and frames), kept in the PNG's text."""
    shown = [[r.label, [thumbnail_key(r.record, at, height) for at in frame_times(r.record.duration, frames)]]
             for r in rows]
    return hashlib.sha256(json.dumps([SHEET_VERSION, frames, height, shown]).encode("utf-8")).hexdigest()


def is_current(target: Path, key: str) -> bool:
    """Whether the sheet at ``target`` shows exactly what ``key`` stands for (read from its header only)."""
    from PIL import Image

    try:
        with Image.open(target) as old:
            return old.text.get(TEXT_KEY) == key
    except (OSError, ValueError, SyntaxError):
        return False


def write_sheet(rows: Sequence[Row], target: Path, cache: Cache, work: Path, frames: int = 6,
                height: int = 120) -> bool:
    """Write the contact sheet of ``rows`` at ``target`` unless it already shows them; True when written."""
    from PIL import Image, ImageDraw
    from PIL.PngImagePlugin import PngInfo

    key = sheet_key(rows, frames, height)
    if is_current(target, key):
        return False
    decoded = _decode_missing(rows, cache, work, frames, height)
    pictures = []
    for i, row in enumerate(rows):
        tiles = []
        for path in _row_thumbnails(row, cache, work, i, frames, height, decoded):
            with Image.open(path) as im:
                tiles.append(im.convert("RGB"))
        strip = Image.new("RGB", (sum(t.width for t in tiles), height))
        x = 0
        for tile in tiles:
            strip.paste(tile, (x, 0))
            x += tile.width
        pictures.append((row.label, strip))
    width = LABEL_WIDTH + max(im.width for _, im in pictures)
    sheet = Image.new("RGB", (width, sum(im.height + GAP for _, im in pictures) + GAP), "white")
    draw = ImageDraw.Draw(sheet)
    font = fonts.load(18, True)
    y = GAP
    for label, im in pictures:
        draw.text((10, y + im.height // 2 - 10), label, font=font, fill=(20, 20, 20))
        sheet.paste(im, (LABEL_WIDTH, y))
        y += im.height + GAP
    info = PngInfo()
    info.add_text(TEXT_KEY, key)
    with atomic_path(target, suffix=".partial.png") as tmp:
        sheet.save(tmp, format="PNG", compress_level=1, pnginfo=info)
    log.debug("contact sheet: %d rows written to %s", len(rows), target)
    return True
