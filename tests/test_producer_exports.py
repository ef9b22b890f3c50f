"""Exports that open and links that tell versions apart (issue 22, "Exports and tracking").

Real clips made with ffmpeg at the broadcast rates, the real CLI, OpenTimelineIO's real adapters
reading the files back, the FCPXML checked against the facts of Apple's DTD (frame durations,
hasAudio, times on the frame grid), the EDL's reels, and the QR code on a rendered end card decoded
with OpenCV.
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from cli import main
from pipeline.ffmpeg import ffmpeg_exe
from tests.conftest import make_clip

SPEC = """\
campaign: fjord
title: Fjord
language: no
clips:
  anne:
    source: media/intervju-anne.mp4
    person: Anne Hansen
  jonas:
    source: media/intervju-jonas.mp4
    person: Jonas Berg
  stum:
    source: media/intervju-stum.mp4
sequence:
  - clip: anne
    from: 0.2
    to: 1.4
  - clip: jonas
    from: 0.5
    to: 1.5
  - clip: stum
    from: 0
    to: 0.8
  - card: end
cards:
  end:
    lines: ["Vi trenger deg!"]
    url: https://fjordvik.kommune.no/jobb
    qr: true
    duration: 1
subtitles: {{enabled: false}}
synstolking: {{mode: off}}
channels: [web]
overrides:
  web: {{width: 320, height: 180, poster: false, fps: {fps}}}
{versions}output: out
"""

RATES = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001), "25": Fraction(25), "30": Fraction(30)}
#: Apple's frame durations (FCPXML reference: 1001/24000s, 100/2500s, 100/3000s …; the value counts)
FRAME_DURATION = {"23.976": "1001/24000s", "29.97": "1001/30000s", "25": "100/2500s", "30": "100/3000s"}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def campaign(tmp_path: Path, fps: str, versions: str = "") -> Path:
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    rate = round(float(RATES[fps]))
    for name in ("anne", "jonas"):
        make_clip(media / f"intervju-{name}.mp4", seconds=2.0, rate=rate)
    make_clip(media / "intervju-stum.mp4", seconds=2.0, rate=rate, audio=None)
    spec = tmp_path / "campaign.yml"
    spec.write_text(SPEC.format(fps=fps, versions=versions), encoding="utf-8")
    return spec


def seconds(value: str | None) -> Fraction:
    return Fraction(0) if value in (None, "0s") else Fraction(value.rstrip("s"))


def total_of(spine) -> Fraction:
    return sum((seconds(c.get("duration")) for c in spine), Fraction(0))


@pytest.mark.parametrize("fps", list(RATES))
def test_fcpxml_opens_at_every_broadcast_rate(tmp_path, fps):
    import opentimelineio as otio

    from pipeline.interchange import read

    spec = campaign(tmp_path, fps)
    path = tmp_path / "main.fcpxml"
    result = run("export", str(spec), "-f", "fcpxml", "-o", str(path), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    rate = RATES[fps]
    frame = 1 / rate
    root = ET.parse(path).getroot()
    formats = list(root.iter("format"))
    assert formats and all(seconds(f.get("frameDuration") or "0s") == seconds(FRAME_DURATION[fps])
                           for f in formats), [f.attrib for f in formats]
    assert all(f.get("width") == "320" and f.get("height") == "180" for f in formats)
    assets = {Path(a.get("src")).name: a for a in root.iter("asset")}
    assert assets["intervju-anne.mp4"].get("hasAudio") == "1"
    assert assets["intervju-jonas.mp4"].get("hasAudio") == "1"
    assert assets["intervju-anne.mp4"].get("audioChannels") == "2"
    assert assets["intervju-stum.mp4"].get("hasAudio") == "0"  # no sound: says so
    # every time in the spine on the edit's frame grid (a whole number of frames)
    spine = next(root.iter("spine"))
    times = [seconds(e.get(k)) for e in spine.iter() for k in ("offset", "duration", "start") if e.get(k)]
    assert times and all((t / frame).denominator == 1 for t in times), [t / frame for t in times]
    # a cut of a source with sound is an asset-clip (picture and sound), the silent one a video-only clip
    kinds = {c.get("name"): c.tag for c in spine}
    assert kinds == {"anne": "asset-clip", "jonas": "asset-clip", "stum": "clip", "card end": "clip"}
    assert all(spine[i].get("ref") == assets[f"intervju-{n}.mp4"].get("id") for i, n in ((0, "anne"), (1, "jonas")))
    # OpenTimelineIO's reader opens it (it raised ValueError at 23.976 and 29.97) with every cut to the frame
    back = read(path, "fcpxml")
    manifest_cuts = [(0.2, 1.4), (0.5, 1.5), (0.0, 0.8)]
    read_clips = [c for c in back.find_clips() if not c.name.startswith("card")]
    assert [c.name for c in read_clips] == ["anne", "jonas", "stum"]
    # (its reader takes int(rate) as the rate, 29 for 29.97, and truncates each time to a frame of that:
    # at 23.976 and 29.97 within two frames; the file itself is exact, as checked above)
    tolerance = float(frame) * (1 if rate.denominator == 1 else 2)
    for clip, (start, end) in zip(read_clips, manifest_cuts, strict=True):
        assert abs(clip.source_range.start_time.to_seconds() - start) <= tolerance, (clip.name, fps)
        assert abs(clip.source_range.end_time_exclusive().to_seconds() - end) <= tolerance, (clip.name, fps)
    assert abs(back.duration().to_seconds() - float(total_of(spine))) <= len(spine) * float(frame)  # a frame an item
    assert seconds(next(root.iter("sequence")).get("duration")) == total_of(spine)
    assert isinstance(back, otio.schema.Timeline)


@pytest.mark.parametrize("fps", ["25", "23.976"])
def test_edl_reels_are_unique_and_name_their_files(tmp_path, fps):
    from pipeline.interchange import read, reel_names

    spec = campaign(tmp_path, fps)
    path = tmp_path / "main.edl"
    result = run("export", str(spec), "-f", "edl", "-o", str(path), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    text = path.read_text(encoding="utf-8")
    events = [line.split() for line in text.splitlines() if re.match(r"^\d{3}\s", line)]
    reels = [e[1] for e in events]
    assert len(reels) == 4 and len(set(reels)) == 4, text  # three sources and the card: four reels
    assert all(len(r) <= 8 and re.fullmatch(r"[A-Z0-9_]+", r) for r in reels), reels
    # each event names its clip and its file
    blocks = re.split(r"^(?=\d{3}\s)", text, flags=re.M)[1:]
    for block, name in zip(blocks, ("anne", "jonas", "stum"), strict=False):
        assert f"* FROM CLIP NAME:  {name}\n" in block and f"* SOURCE FILE: intervju-{name}.mp4\n" in block
    # the adapter reads it back with the reels as written
    back = read(path, "edl", RATES[fps])
    assert [c.metadata["cmx_3600"]["reel"] for c in back.find_clips()] == reels
    # the naming rule: unique, at most 8 characters, the same file the same reel
    names = reel_names(["a/intervju-anne.mp4", "b/intervju-annette.mp4", "a/intervju-anne.mp4", "c/x.mov"])
    assert names == {"a/intervju-anne.mp4": "INTERVJU", "b/intervju-annette.mp4": "INTERV02", "c/x.mov": "X"}


def frame_png(video: Path, at: float, png: Path) -> Path:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-ss", str(at), "-i", str(video), "-frames:v", "1",
                    str(png)], check=True)
    return png


def decode_qr(png: Path) -> str:
    import cv2

    image = cv2.imread(str(png))
    # the end card's QR code is small in a 320x180 frame: enlarge it for the detector
    image = cv2.resize(image, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
    data, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return data


def test_each_version_tags_its_link(tmp_path):
    spec = campaign(tmp_path, "25", versions="versions:\n  teaser:\n    max_duration: 3\n")
    out = tmp_path / "out" / "fjord"
    result = run("render", str(spec), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    for version, folder in (("main", out), ("teaser", out / "teaser")):
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        entry = manifest["outputs"][0]
        video = folder / "web.mp4"
        data = decode_qr(frame_png(video, entry["duration"] - 0.2, tmp_path / f"{version}-end.png"))
        assert data, f"no QR code decoded on {version}'s end card"
        query = parse_qs(urlsplit(data).query)
        assert query["utm_content"] == [version] and query["utm_campaign"] == ["fjord"]
        assert query["utm_source"] == ["web"]
        sheet = json.loads((folder / "web.publish.json").read_text(encoding="utf-8"))
        assert sheet["link"] == data
        assert f"utm_content={version}" in (folder / "web.publish.md").read_text(encoding="utf-8")
