"""A campaign of real length for the benchmarks: 13 outputs cut from minutes-long interviews under a real face.

Three clips of ``minutes`` each (default 2) cut from the shared Norwegian interview (``erna.mp3``, 408.8 s),
each under scikit-image's astronaut (a real frontal face that OpenCV finds), panned slowly, 1280x720 at
25 fps; a main film of an intro card, cuts of 9, 14 and 18 s and the end card on the example's 9 channels, a 15 s
teaser on 2 channels and an episode on 2 more: 13 outputs (and their described versions).

The clips are made once into ``folder`` (kept between runs: they take a minute to encode); the spec is
written beside them. Used by ``bench/render_bench.py``; on its own::

    python bench/real_campaign.py /tmp/rekrutt-real [--minutes 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.ffmpeg import ffmpeg_exe  # noqa: E402

#: Where the shared recordings are (as the tests find them).
MEDIA = Path(os.environ.get("REKRUTT_SHARED_MEDIA", ROOT.parent / "shared" / "media"))

#: The 13 outputs: the main film on the example's 9 channels, a teaser on 2 and an episode on 2.
CHANNELS = ["youtube", "instagram-reels", "instagram-feed", "facebook", "linkedin", "x", "tiktok", "web", "cinema"]

SPEC = """\
campaign: real-{minutes}min
title: Bli en av oss i Fjordvik kommune
description: Tre ansatte forteller hvorfor jobben betyr noe.
hashtags: [jobb, fjordvik]
language: no
brand: {brand}
clips:
{clips}
sequence:
  - card: intro
    priority: 3
{cuts}
  - card: end
cards:
  intro:
    lines: ["Meningsfull jobb"]
    subline: Tre ansatte forteller
    duration: 2
    background: "#1D4E89"
  end:
    lines: ["Vi trenger deg!"]
    subline: Søk innen 1. mars
    url: https://www.fjordvik.kommune.no/jobb
    duration: 4
channels: [{channels}]
versions:
  teaser:
    title: Bli en av oss (15 s)
    max_duration: 15
    channels: [youtube-shorts, instagram-reels]
  episode:
    title: Én av oss
    sequence:
      - clip: p1
        from: 2
        to: 14
      - card: end
    channels: [tiktok, facebook]
output: out
"""


def make_clip(face: Path, start: float, seconds: float, target: Path) -> Path:
    """``seconds`` of the interview from ``start`` under the face, panned slowly (1280x720, 25 fps, H.264)."""
    if target.is_file():
        return target
    pan = ("scale=1600:1600,crop=1280:720:x='160+140*sin(2*PI*t/30)':y='300+200*sin(2*PI*t/45)',"
           "setsar=1,format=yuv420p")
    tmp = target.with_suffix(".part.mp4")
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-loop", "1", "-framerate", "25", "-i", str(face),
                    "-ss", str(start), "-t", str(seconds), "-i", str(MEDIA / "erna.mp3"), "-map", "0:v", "-map", "1:a",
                    "-vf", pan, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "50", "-c:a", "aac",
                    "-ac", "1", "-t", str(seconds), str(tmp)], check=True)
    tmp.replace(target)
    return target


def make_campaign(folder: Path, minutes: float = 2.0) -> Path:
    """The spec of the real-length campaign in ``folder`` (its clips made there once); returns its path."""
    import numpy as np
    from PIL import Image
    from skimage import data

    if not (MEDIA / "erna.mp3").is_file():
        raise SystemExit(f"the shared recordings are not at {MEDIA} (set REKRUTT_SHARED_MEDIA)")
    folder.mkdir(parents=True, exist_ok=True)
    face = folder / "face.png"
    if not face.is_file():
        Image.fromarray(np.asarray(data.astronaut())).save(face)
    seconds = minutes * 60
    length = 408.0
    clips, cuts = [], []
    for i in range(3):
        start = (i * seconds) % max(1.0, length - seconds)
        clip = make_clip(face, start, seconds, folder / f"p{i + 1}-{minutes:g}min.mp4")
        clips.append(f"  p{i + 1}:\n    source: {clip.name}\n    person: Person {i + 1}\n    role: Ansatt")
        cut_from, cut_length = min(20.0 + 10 * i, seconds - 25), (9, 14, 18)[i]  # the teaser keeps the first
        cuts.append(f"  - clip: p{i + 1}\n    from: {cut_from:g}\n    to: {cut_from + cut_length:g}\n"
                    f"    priority: {i + 1}")
    spec = folder / f"real-{minutes:g}min.yml"
    spec.write_text(SPEC.format(minutes=f"{minutes:g}".replace(".", "-"), brand=ROOT / "brand" / "fjordvik.yml",
                                clips="\n".join(clips), cuts="\n".join(cuts), channels=", ".join(CHANNELS)),
                    encoding="utf-8")
    return spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--minutes", type=float, default=2.0, help="length of each clip (default 2)")
    args = parser.parse_args()
    print(make_campaign(args.folder, args.minutes))


if __name__ == "__main__":
    main()
