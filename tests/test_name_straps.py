"""A name strap in every output where a person first appears, never over eyes, mouth or hair (issue 21).

Square close-up interviews (a real face: scikit-image's astronaut, and the same photograph mirrored as the
second person, each moving slowly, with real speech under them) in a two-person campaign with an episode per
person, rendered for 9:16, 4:5, 1:1 and 16:9 with captions burned in where the channel burns them. Each
output's frame at each person's first appearance must hold the strap (found by its colour, the brand's strap
background) clear of the face OpenCV finds in that frame, widened for the hair beside it and raised for the
hair above it. A closer close-up, where the head and the captions leave no band of the safe area free, leaves
the name out: the manifest, the review page and ``render --strict`` (exit 1) say which output and who.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from cli import main
from pipeline.posters import faces_in
from tests.conftest import ff

pytestmark = pytest.mark.slow

STRAP = (0, 192, 0)  #: the brand's strap background in these tests (no such green in the photographs)

SPEC = """\
campaign: straps
title: Straps
language: en
review_language: en
brand: brand.yml
clips:
  eileen: {source: eileen.mp4, person: Eileen Collins, role: Astronaut}
  mira: {source: mira.mp4, person: Mira Collins, role: Pilot}
sequence:
  - {clip: eileen, from: 0, to: 3.5}
  - {clip: mira, from: 0, to: 3.5}
lower_thirds: true
versions:
  eileen:
    sequence: [{clip: eileen, from: 0, to: 3.5}]
    channels: [instagram-reels, tiktok]
  mira:
    sequence: [{clip: mira, from: 0, to: 3.5}]
    channels: [instagram-reels, tiktok]
"""
#: 9:16, 4:5, 1:1 (Facebook's feed made square) and 16:9, small
SIZES = {"instagram-reels": (270, 480), "tiktok": (270, 480), "youtube-shorts": (270, 480),
         "instagram-feed": (320, 400), "facebook": (360, 360), "youtube": (480, 270), "linkedin": (480, 270),
         "web": (480, 270)}
BRAND = 'name: Test\nlower_third: {background: "#00C000", accent: "#FF00FF"}\n'


def _footage(folder: Path, jfk: Path, side: int) -> Path:
    """Two square close-ups, 4 s each: a ``side``-pixel square of the photograph around the face (smaller: closer)
    drifting 4 px a second, scaled to 360x360, with JFK's speech."""
    from skimage import data

    folder.mkdir()
    photo = data.astronaut()
    Image.fromarray(photo).save(folder / "eileen.png")
    Image.fromarray(photo[:, ::-1]).save(folder / "mira.png")
    for name, x in (("eileen", 224 - side // 2), ("mira", 288 - side // 2)):  # the face's middle: x 224 (288 mirrored)
        ff("-loop", "1", "-framerate", "25", "-i", str(folder / f"{name}.png"), "-i", str(jfk), "-t", "4",
           "-vf", f"crop={side}:{side}:'{x}+4*t':0,scale=360:360,format=yuv420p", "-r", "25",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(folder / f"{name}.mp4"))
    (folder / "brand.yml").write_text(BRAND, encoding="utf-8")
    return folder


def _render(folder: Path, cache_dir: Path, channels, *extra: str, episodes: bool = True):
    spec, episodes_from = SPEC, SPEC.index("versions:")
    spec = spec if episodes else spec[:episodes_from]
    spec += f"channels: [{', '.join(channels)}]\noverrides:\n" + "".join(
        f"  {c}: {{width: {SIZES[c][0]}, height: {SIZES[c][1]}, poster: false}}\n" for c in channels)
    (folder / "c.yml").write_text(spec, encoding="utf-8")
    return CliRunner().invoke(main, ["render", str(folder / "c.yml"), "--cache-dir", str(cache_dir), "-j", "2",
                                     *extra])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, jfk, cache_dir, model_dir) -> Path:
    folder = _footage(tmp_path_factory.mktemp("straps") / "media", jfk, 340)
    result = _render(folder, cache_dir, list(SIZES), "--strict")
    assert result.exit_code == 0, result.output
    return folder / "out" / "straps"


def _frame(path: Path, at: float) -> np.ndarray:
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            if f.time is not None and f.time >= at:
                return f.to_ndarray(format="rgb24")
    raise AssertionError(f"{path} has no frame at {at} s")


def _strap(frame: np.ndarray):
    """The box of the strap's colour in the frame (None: not there)."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    ys, xs = np.nonzero((abs(g - STRAP[1]) < 40) & (r < 60) & (b < 60))
    return (xs.min(), ys.min(), xs.max(), ys.max()) if len(xs) > 100 else None


def _eyes_mouth_hair(frame: np.ndarray):
    """The face OpenCV finds in the frame, eyes to mouth (the detector's square), widened by a tenth of its width
    for the hair beside it and raised by 0.35 of it for the hair above."""
    faces = faces_in(Image.fromarray(frame))
    assert faces, "no face found"
    x0, y0, x1, y1 = faces[0]
    size, cy = x1 - x0, (y0 + y1) / 2
    return (x0 - 0.1 * size, cy - size / 2 - 0.35 * size, x1 + 0.1 * size, cy + size / 2)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_every_output_names_each_person_off_the_face(rendered, tmp_path):
    checked = 0
    for manifest in sorted(rendered.rglob("manifest.json")):
        episode = manifest.parent != rendered
        for output in json.loads(manifest.read_text(encoding="utf-8"))["outputs"]:
            assert output["names_left_out"] == [], output["channel"]
            for i, first_seen in enumerate([0.0] if episode else [0.0, 3.5]):
                frame = _frame(manifest.parent / output["path"], first_seen + 1.0)
                where = f"{manifest.parent.name}/{output['channel']} at {first_seen + 1.0} s"
                Image.fromarray(frame).save(tmp_path / f"{manifest.parent.name}-{output['channel']}-{i}.png")
                strap = _strap(frame)
                assert strap is not None, f"{where}: no name strap"
                face = _eyes_mouth_hair(frame)
                assert not _overlap(strap, face), (where, strap, face)
                checked += 1
    assert checked == 2 * 8 + 4  # the main film's 8 outputs, two people each; the 2 episodes' 2 outputs


def test_a_name_with_no_room_is_recorded_shown_and_fails_strict(tmp_path, jfk, cache_dir, model_dir):
    folder = _footage(tmp_path / "media", jfk, 240)  # so close that head and captions fill the Reels safe area
    result = _render(folder, cache_dir, ["instagram-reels"], "--strict", episodes=False)
    assert result.exit_code == 1, result.output
    assert "render --strict" in result.output
    assert "straps/instagram-reels: no name strap for Eileen Collins, Mira Collins" in result.output
    out = folder / "out" / "straps"
    (record,) = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    assert record["names_left_out"] == ["Eileen Collins", "Mira Collins"]
    assert any("no name strap for Eileen Collins" in w for w in record["warnings"])
    assert _strap(_frame(out / "instagram-reels.mp4", 1.0)) is None  # left out, not drawn over the face
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '"names_left_out": ["Eileen Collins", "Mira Collins"]' in page
    assert "NOT SHOWN for {person}: no room off the face and the captions" in page
    assert "W.name_missing" in page  # the tile writes it as a failure, in words
    # without --strict the same render is a success that says so
    again = _render(folder, cache_dir, ["instagram-reels"], episodes=False)
    assert again.exit_code == 0, again.output
