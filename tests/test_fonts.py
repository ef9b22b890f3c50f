"""Fonts come with the install; text in Norwegian, Sámi, Arabic (right to left) is drawn, not boxes.

The first test renders a real campaign twice, once with fontconfig pointed at an empty
configuration (a machine with no fonts of its own), and compares the decoded frames.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, features

from pipeline import fonts
from tests.conftest import ROOT, make_clip

pytestmark = pytest.mark.slow

SAMI = "Sáhtát bargat Čáhcegáddis: đ ŋ š ŧ ž"
ARABIC = "نحن بحاجة إليك"
ETHIOPIC = "ሰላም ንዓኹም"  # Tigrinya


def test_the_default_typeface_ships_with_the_install():
    path = fonts.find_font(True)
    assert path is not None and "font_source_sans_pro" in path, path
    assert fonts.covers(path, "Vi trenger deg – æøå ÆØÅ " + SAMI) == ""


SPEC = """\
campaign: fonts
title: Vi trenger deg
clips:
  a: {source: a.mp4, person: Áile Čoavdda, role: Sykepleier}
cards:
  end: {lines: ["Vi trenger deg", "Sáhtát bargat"], subline: "Søk innen 1. mars", duration: 2, fade: 0}
sequence:
  - clip: a
  - card: end
channels: [instagram-reels]
overrides:
  instagram-reels: {width: 360, height: 640, poster: false}
"""


def _render(folder: Path, cache_dir: Path, env: dict) -> Path:
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "render", str(folder / "c.yml"), "--cache-dir",
                             str(cache_dir), "--no-captions", "--out", str(folder / "out")],
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return folder / "out" / "fonts" / "instagram-reels.mp4"


def _frames(path: Path, times: list[float]) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as c:
        frames = [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
    for t in times:
        out.append(next(img for ft, img in frames if ft is not None and ft >= t))
    return out


def test_a_machine_without_fonts_renders_the_same(tmp_path, cache_dir):
    make_clip(tmp_path / "a.mp4", seconds=2.0)
    (tmp_path / "c.yml").write_text(SPEC, encoding="utf-8")
    empty = tmp_path / "empty-fonts.conf"
    empty.write_text(f'<?xml version="1.0"?>\n<fontconfig><cachedir>{tmp_path / "fc-cache"}</cachedir></fontconfig>\n',
                     encoding="utf-8")
    normal = dict(os.environ)
    bare = dict(os.environ, FONTCONFIG_FILE=str(empty), FONTCONFIG_PATH=str(tmp_path))
    # fontconfig really sees no fonts with that configuration
    listed = subprocess.run(["fc-list"], env=bare, capture_output=True, text=True)
    assert listed.stdout.strip() == "", listed.stdout[:200]
    (tmp_path / "n").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("n", "b"):
        (tmp_path / d / "a.mp4").symlink_to(tmp_path / "a.mp4")
        (tmp_path / d / "c.yml").write_text(SPEC, encoding="utf-8")
    a = _render(tmp_path / "n", cache_dir, normal)
    b = _render(tmp_path / "b", cache_dir, bare)
    for one, other in zip(_frames(a, [0.7, 2.8]), _frames(b, [0.7, 2.8]), strict=True):
        assert np.array_equal(one, other)  # the lower third (0.7 s) and the end card (2.8 s)
    card = _frames(a, [2.8])[0]
    assert card.std() > 10  # text on the card, not a plain colour
    Image.fromarray(card).save(tmp_path / "card.png")


def _ink(text: str, path: str, size: int = 64, **kw) -> np.ndarray:
    font = ImageFont.truetype(path, size, **kw)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right + 8, bottom + 8), 0)
    ImageDraw.Draw(image).text((4, 4), text, font=font, fill=255)
    return np.asarray(image)


def test_sami_letters_are_drawn_as_letters_not_boxes():
    path = fonts.font_for(SAMI, True)
    assert fonts.covers(path, SAMI) == ""
    # a letter without a glyph is drawn as the same .notdef box: no two of these may look alike
    letters = [_ink(ch, path) for ch in "čđŋšŧž"]
    assert len({arr.tobytes() for arr in letters}) == len(letters)
    notdef = _ink("\U000e0001", path)  # a code point no font has
    assert all(arr.shape != notdef.shape or not np.array_equal(arr, notdef) for arr in letters)


@pytest.mark.skipif(not features.check("raqm"), reason="Pillow without raqm cannot lay out right-to-left text")
def test_arabic_is_shaped_and_runs_right_to_left():
    path = fonts.font_for(ARABIC, True)
    if fonts.covers(path, ARABIC):
        pytest.skip("no font on this machine has Arabic (validation warns about it)")
    shaped = _ink(ARABIC, path, layout_engine=ImageFont.Layout.RAQM)
    plain = _ink(ARABIC, path, layout_engine=ImageFont.Layout.BASIC)
    assert not np.array_equal(shaped, plain)  # letters joined, not isolated forms left to right
    # the first word (نحن) is at the right end of the line
    first = _ink(ARABIC.split()[0], path, layout_engine=ImageFont.Layout.RAQM)
    w = first.shape[1] - 8
    h = min(first.shape[0], shaped.shape[0])
    right = shaped[:h, -(w + 4):-4].astype(float)
    left = shaped[:h, 4:w + 4].astype(float)
    target = first[:h, 4:w + 4].astype(float)
    assert np.abs(right - target).mean() < np.abs(left - target).mean()


def test_text_no_font_can_show_is_a_warning(tmp_path, cache_dir):
    from pipeline.load import load_campaign

    make_clip(tmp_path / "a.mp4", seconds=1.0)
    spec = tmp_path / "c.yml"
    spec.write_text(SPEC.replace('"Sáhtát bargat"', f'"{ETHIOPIC}", "Kom 🙂"'), encoding="utf-8")
    campaign = load_campaign(spec, cache_dir=cache_dir)
    messages = [str(w) for w in campaign.warnings]
    ethiopic = [m for m in messages if "ሰ" in m]
    assert ethiopic and "c.yml:6:" in ethiopic[0] and "font" in ethiopic[0], messages
    if fonts.cannot_show("🙂", True):  # a machine with no emoji glyph at all
        assert any("emoji" in m for m in messages), messages
