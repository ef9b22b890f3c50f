"""Captions and lower thirds keep off the face: a real face (scikit-image's astronaut) in a 9:16 close-up.

The film is rendered twice, with and without burned captions; the difference between the two is
the captions, and their box must not touch the face OpenCV finds in the uncaptioned frame.
"""

from __future__ import annotations

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

SPEC = """\
campaign: naer
title: Nær
language: en
clips:
  eileen: {source: closeup.mp4, person: Eileen Collins, role: Astronaut}
sequence:
  - clip: eileen
    from: 0.2
    to: 7
channels: [instagram-reels]
overrides:
  instagram-reels: {width: 360, height: 640, poster: false}
audio: off
lower_thirds: {lower_thirds}
"""


@pytest.fixture(scope="module")
def closeup(tmp_path_factory, jfk) -> Path:
    """A portrait close-up: the face fills the middle of the frame (about 25 % to 73 % of its height)."""
    from skimage import data

    folder = tmp_path_factory.mktemp("closeup")
    picture = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(picture)
    out = folder / "closeup.mp4"
    ff("-loop", "1", "-framerate", "25", "-i", str(picture), "-i", str(jfk), "-t", "7.5",
       "-vf", "scale=1400:1400,crop=540:810:342:0,pad=540:960:0:150:color=0x707070,format=yuv420p",
       "-r", "25", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(out))
    return out


def _render(folder: Path, closeup: Path, cache_dir: Path, *extra: str, lower_thirds: bool = False) -> Path:
    folder.mkdir()
    (folder / "closeup.mp4").symlink_to(closeup)
    (folder / "c.yml").write_text(SPEC.replace("{lower_thirds}", str(lower_thirds).lower()), encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(folder / "c.yml"), "--cache-dir", str(cache_dir), *extra])
    assert result.exit_code == 0, result.output
    return folder / "out" / "naer"


def _frames(path: Path) -> dict[float, np.ndarray]:
    with av.open(str(path)) as c:
        return {round(f.time, 2): f.to_ndarray(format="rgb24") for f in c.decode(video=0) if f.time is not None}


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _text_boxes(plain: dict, other: dict, every: int = 12):
    """(time, face box, box of what differs) about every half second where something differs."""
    for t in sorted(plain)[every::every]:
        face = faces_in(Image.fromarray(plain[t]))
        assert face, f"no face found at {t} s"
        diff = np.abs(other[t].astype(int) - plain[t].astype(int)).sum(axis=2) > 60
        ys, xs = np.nonzero(diff)
        if len(ys) >= 50:
            yield t, face[0], (xs.min(), ys.min(), xs.max(), ys.max())


def test_captions_keep_off_a_close_up_face(tmp_path, closeup, cache_dir, model_dir):
    plain = _frames(_render(tmp_path / "plain", closeup, cache_dir, "--no-captions") / "instagram-reels.mp4")
    captioned = _frames(_render(tmp_path / "captioned", closeup, cache_dir) / "instagram-reels.mp4")
    checked = 0
    for t, (fx0, fy0, fx1, fy1), caption in _text_boxes(plain, captioned):
        size = fx1 - fx0  # the chin and the hair belong to the face too
        head = (fx0, fy0 - 0.2 * size, fx1, fy1 + 0.3 * size)
        assert not _overlap(caption, head), (t, caption, head)
        # the captions' usual place (the bottom of the safe area, at 65 % of the height) is on this face
        assert head[3] > 640 * 0.65 - 45
        checked += 1
        if checked == 3:
            Image.fromarray(captioned[t]).save(tmp_path / "closeup-captioned.png")
    assert checked >= 4


def test_a_lower_third_never_covers_eyes_or_mouth(tmp_path, closeup, cache_dir, caplog):
    plain = _frames(_render(tmp_path / "plain", closeup, cache_dir, "--no-captions") / "instagram-reels.mp4")
    named = _frames(_render(tmp_path / "named", closeup, cache_dir, "--no-captions", lower_thirds=True)
                    / "instagram-reels.mp4")
    shown = list(_text_boxes(plain, named, every=6))
    if not shown:  # left out: then it was said
        assert "no room for the name strap" in caplog.text
        return
    for t, face, strap in shown:
        assert not _overlap(strap, face), (t, strap, face)
