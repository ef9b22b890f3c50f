"""Framing and the edit's rate on real footage (issue 22): ``fit: auto`` and a variable-rate phone clip.

A square talking head (a real face: scikit-image's astronaut, with real speech under it) in a 16:9 frame
was cropped by default to a forehead-to-chin close-up; ``fit: auto`` (the default) now shows all of it over
a blurred fill, says so in ``validate -v`` and in the manifest, and the name strap the crop had no room
for comes back. A phone's variable-rate clip (30 fps nominal, 22.5 average) was snapped to 23.976 and could
pull the edit to it; it now counts at 30, and a clip holding less of the edit never converts the rest.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from cli import main
from pipeline.campaign import OutputKey
from pipeline.job import output_spec
from pipeline.load import load_campaign
from pipeline.posters import faces_in
from pipeline.probe import MediaInfo, nominal_rate, probe
from pipeline.reframe import clip_fit
from pipeline.timeline import edit_rate
from tests.conftest import ff, make_clip

SPEC = """\
campaign: framing
title: Framing
language: en
clips:
{clips}
sequence:
{sequence}
  - card: end
cards:
  end:
    lines: ["Vi trenger deg!"]
    duration: 1
channels: [{channels}]
overrides:
{overrides}
output: out
"""


def write(root: Path, clips: dict[str, Path], sequence: str, channels: str, overrides: str) -> Path:
    (root / "clips").mkdir(exist_ok=True)
    lines = []
    for cid, src in clips.items():
        target = root / "clips" / src.name
        if not target.exists():
            target.symlink_to(src)
        lines.append(f"  {cid}: {{source: clips/{src.name}, person: Eileen Collins, role: Astronaut}}")
    spec = root / "campaign.yml"
    spec.write_text(SPEC.format(clips="\n".join(lines), sequence=sequence, channels=channels,
                                overrides=overrides), encoding="utf-8")
    return spec


def render(spec: Path, cache_dir: Path, *extra: str) -> dict:
    result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((spec.parent / "out" / "framing" / "manifest.json").read_text(encoding="utf-8"))


def frame(path: Path, t: float) -> Image.Image:
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            if f.time is not None and f.time >= t:
                return f.to_image()
    raise AssertionError(f"no frame at {t} s in {path}")


@pytest.fixture(scope="module")
def square_face(tmp_path_factory, jfk) -> Path:
    """4 s of a square close-up (the astronaut's head and shoulders, 360x360 at 25 fps) with real speech."""
    from skimage import data

    root = tmp_path_factory.mktemp("square")
    picture = root / "astronaut.png"
    Image.fromarray(data.astronaut()).save(picture)
    clip = root / "square.mp4"
    ff("-loop", "1", "-framerate", "25", "-i", str(picture), "-i", str(jfk), "-t", "4",
       "-vf", "crop=230:230:140:5,scale=360:360,format=yuv420p", "-r", "25", "-c:v", "libx264", "-preset", "ultrafast",
       "-c:a", "aac", "-shortest", str(clip))
    return clip


def info(width: int, height: int, fps: Fraction = Fraction(25)) -> MediaInfo:
    return MediaInfo(Path("x.mp4"), Fraction(10), width, height, fps, 0, Fraction(1), True, 48000, 2, "h264", "aac")


# --- fit: auto, the rule (pure logic) ---

@pytest.mark.parametrize(("source", "frame_size", "fit"), [
    ((1080, 1080), (1920, 1080), "pad-blur"),  # square in 16:9: a crop keeps 56% of the height
    ((1080, 1920), (1920, 1080), "pad-blur"),  # portrait phone clip in 16:9: 32%
    ((640, 480), (1920, 1080), "pad-blur"),  # SD 4:3: keeps 75% of the height, but enlarged 3x
    ((1440, 1080), (1920, 1080), "crop"),  # HD 4:3: 75% of the height at 1.3x: close enough to fill
    ((960, 540), (1080, 1920), "crop"),  # 16:9 into 9:16: the whole height kept, the crop follows the face
    ((1920, 1080), (1920, 1080), "crop"),  # the frame's shape: nothing to decide
])
def test_auto_pads_where_a_crop_would_cut_the_face_to_a_close_up(source, frame_size, fit):
    choice = clip_fit(info(*source), "auto", *frame_size)
    assert choice.fit == fit, choice
    assert choice.asked == "auto"


def test_an_explicit_fit_wins_over_auto():
    square = info(1080, 1080)
    assert clip_fit(square, "crop", 1920, 1080).fit == "crop"
    assert clip_fit(square, "pad", 1920, 1080).fit == "pad"
    assert clip_fit(info(960, 540), "pad-blur", 1080, 1920).fit == "pad-blur"
    # a pad-blur of a clip that has the frame's shape is a crop: nothing to pad, nothing to blur
    assert clip_fit(info(1920, 1080), "pad-blur", 1280, 720).fit == "crop"
    choice = clip_fit(square, "auto", 1920, 1080)
    assert choice.describe("anne", "youtube") == "anne on youtube: pad-blur (a crop would enlarge 1.8x and keep " \
        "56% of the height)"


def test_a_draft_is_framed_as_the_final_film(tmp_path):
    # an SD 4:3 clip in 16:9: enlarged 3x by a crop at full size (auto pads), 1x at a draft's third
    sd = make_clip(tmp_path / "sd.mp4", size="640x480", seconds=2.0)
    spec = write(tmp_path, {"sd": sd}, "  - clip: sd", "youtube", "  youtube: {poster: false}")
    campaign = load_campaign(spec)
    final = output_spec(campaign, OutputKey(None, "youtube"))
    draft = output_spec(campaign, OutputKey(None, "youtube"), draft=True)
    assert final.fit("sd") == draft.fit("sd") == "pad-blur"


# --- fit: auto on real footage ---

def test_a_square_face_in_16_9_is_shown_whole_over_a_blur_with_its_name(tmp_path, square_face, cache_dir):
    spec = write(tmp_path, {"eileen": square_face}, "  - clip: eileen\n    to: 4", "youtube",
                 "  youtube: {width: 640, height: 360, poster: false}")
    result = CliRunner().invoke(main, ["validate", "-v", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    assert "eileen on youtube: pad-blur (a crop would enlarge 1.8x and keep 56% of the height)" in result.output
    assert "enlarged up to" not in result.output  # auto took the advice: nothing to warn about

    manifest = render(spec, cache_dir, "--no-captions")
    out = manifest["outputs"][0]
    assert (out["width"], out["height"]) == (640, 360)
    assert [i["fit"] for i in manifest["outputs"][0]["items"] if "clip" in i] == ["pad-blur"]
    assert out["names_left_out"] == []  # the name strap is back
    video = tmp_path / "out" / "framing" / "youtube.mp4"
    with av.open(str(video)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (640, 360)
    picture = frame(video, 2.0)
    picture.save(tmp_path / "auto.png")
    gray = np.asarray(picture.convert("L")).astype(int)
    # the whole square picture (360x360) in the middle: the face found, hair to chin inside the frame
    faces = faces_in(picture)
    assert faces, "the face is not in the frame"
    x0, y0, x1, y1 = faces[0]
    size = x1 - x0
    assert 140 <= x0 and x1 <= 500 and y0 - 0.35 * size >= 0 and y1 + 0.3 * size <= 360, faces[0]
    # the sides: a blurred fill of the picture (not black, much smoother than the picture itself)
    sides = np.concatenate([gray[:, :130], gray[:, -130:]], axis=1)
    assert sides.mean() > 30, "the sides are black, not a fill of the picture"
    assert np.abs(np.diff(sides, axis=1)).mean() < 0.5 * np.abs(np.diff(gray[:, 160:480], axis=1)).mean()

    # fit: crop, asked for, still wins: the face fills the frame, the manifest says crop
    spec.write_text(spec.read_text().replace("poster: false}", "poster: false, fit: crop}"), encoding="utf-8")
    manifest = render(spec, cache_dir, "--no-captions")
    assert [i["fit"] for i in manifest["outputs"][0]["items"] if "clip" in i] == ["crop"]
    cropped = frame(video, 2.0)
    cropped.save(tmp_path / "crop.png")
    faces = faces_in(cropped)
    assert faces and faces[0][2] - faces[0][0] > 1.5 * size, "the crop did not enlarge the face"
    big = faces[0][2] - faces[0][0]
    assert faces[0][1] - 0.35 * big < 0, "the crop kept the hair: this clip is no test of the close-up"


# --- the edit's rate ---

def vfr_clip(path: Path, seconds: float) -> Path:
    """A phone-like variable-rate clip: 30 fps timestamps, one frame in four missing (22.5 fps average)."""
    ff("-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=30:duration={seconds}",
       "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
       "-vf", "select='not(eq(mod(n\\,4)\\,1))',format=yuv420p", "-fps_mode", "vfr",
       "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(path))
    return path


def test_a_variable_rate_clip_counts_at_its_nominal_rate(tmp_path):
    phone = probe(vfr_clip(tmp_path / "phone.mp4", 2.0))
    assert phone.variable_rate and phone.fps == 30
    assert abs(float(phone.average_fps) - 22.5) < 0.5
    steady = probe(make_clip(tmp_path / "steady.mp4", seconds=1.0, rate=25))
    assert not steady.variable_rate and steady.fps == 25


def test_nominal_rate_rule():
    assert nominal_rate(Fraction(2213, 100), Fraction(30)) == 30  # a phone's VFR clip
    assert nominal_rate(Fraction(25), Fraction(25)) == 25
    assert nominal_rate(Fraction(2213, 100), Fraction(2213, 100)) == Fraction(2213, 100)  # CFR at an odd rate
    assert nominal_rate(Fraction(2213, 100), Fraction(90000)) == Fraction(2213, 100)  # a timebase, no rate
    assert nominal_rate(Fraction(24999, 1000), Fraction(25)) == Fraction(24999, 1000)  # a rounding, not VFR
    assert nominal_rate(None, Fraction(25)) == 25


def test_edit_rate_rule():
    s = Fraction
    assert edit_rate([]) is None
    # the phone's 30 (one cut of 2 s) never pulls three seconds of 25 fps interview to it, cut order aside
    assert edit_rate([(s(30), s(2)), (s(25), s(3))]) == 25
    assert edit_rate([(s(30), s(1)), (s(25), s(3)), (s(30), s(1))]) == 25  # however many cuts it has
    assert edit_rate([(s(30), s(4)), (s(25), s(3))]) == 30
    # an odd average is snapped: 22.13 is 23.976
    assert edit_rate([(s(2213, 100), s(5)), (s(25), s(3))]) == s(24000, 1001)
    # 29.97 and 30 are one family: together they hold the majority, and 25 does not convert them both
    assert edit_rate([(s(25), s(4)), (s(30), s(3)), (s(30000, 1001), s(3.5))]) == s(30000, 1001)
    assert edit_rate([(s(25), s(3)), (s(24), s(3))]) == 25  # a tie: the higher rate, no clip loses frames


def test_the_main_film_keeps_the_majority_rate_beside_a_phone_clip(tmp_path, cache_dir):
    interview = make_clip(tmp_path / "interview.mp4", seconds=3.0, rate=25)
    phone = vfr_clip(tmp_path / "phone.mp4", 2.0)
    spec = write(tmp_path, {"phone": phone, "interview": interview}, "  - clip: phone\n  - clip: interview",
                 "web", "  web: {width: 320, height: 180, poster: false}")
    manifest = render(spec, cache_dir, "--no-captions")
    assert manifest["outputs"][0]["fps"] == "25"
    with av.open(str(tmp_path / "out" / "framing" / "web.mp4")) as c:
        assert c.streams.video[0].average_rate == 25


def test_a_phone_clip_that_holds_most_of_the_edit_sets_its_nominal_rate(tmp_path):
    # snapped from its average (22.5 -> 23.976), the phone clip converted itself and the 30 fps clip
    phone = vfr_clip(tmp_path / "phone.mp4", 3.0)
    other = make_clip(tmp_path / "other.mp4", seconds=1.0, rate=30)
    spec = write(tmp_path, {"phone": phone, "other": other}, "  - clip: phone\n  - clip: other", "web",
                 "  web: {poster: false}")
    assert output_spec(load_campaign(spec), OutputKey(None, "web")).rate == 30
