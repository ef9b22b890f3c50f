"""Real-footage cases from issue 8: a square talking head, a camera cut, a portrait phone clip, a loud
recording, clips of different frame rates, posters clear of faces, and the cache warmed by `transcribe`.

The pictures are a real face (scikit-image's astronaut photograph) and the sound is real speech
(`jfk.flac`), rendered through the CLI and checked by probing and by finding the face again.
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
from pipeline.channels import PRESETS
from pipeline.posters import faces_in, title_band
from tests.conftest import ff, make_clip

SPEC = """\
campaign: footage
title: Footage
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


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory) -> Path:
    from skimage import data

    path = tmp_path_factory.mktemp("face") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


def still_clip(path: Path, picture: Path, seconds: float, jfk: Path, vf: str = "scale=512:512",
               rate: str = "25") -> Path:
    """A talking-head clip: a still picture (framed by ``vf``) with real speech under it."""
    ff("-loop", "1", "-framerate", rate, "-i", str(picture), "-i", str(jfk), "-t", str(seconds),
       "-vf", f"{vf},format=yuv420p", "-r", rate, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
       "-shortest", str(path))
    return path


def write(root: Path, clips: dict[str, Path], sequence: str, channels: str, overrides: str) -> Path:
    (root / "clips").mkdir(exist_ok=True)
    lines = []
    for cid, src in clips.items():
        target = root / "clips" / src.name
        if not target.exists():
            target.symlink_to(src)
        lines.append(f"  {cid}: {{source: clips/{src.name}, person: Eileen Collins}}")
    spec = root / "campaign.yml"
    spec.write_text(SPEC.format(clips="\n".join(lines), sequence=sequence, channels=channels,
                                overrides=overrides), encoding="utf-8")
    return spec


def render(spec: Path, cache_dir: Path, *extra: str) -> dict:
    result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir), *extra])
    assert result.exit_code == 0, result.output
    return json.loads((spec.parent / "out" / "footage" / "manifest.json").read_text(encoding="utf-8"))


def frame(path: Path, t: float) -> Image.Image:
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            if f.time is not None and f.time >= t:
                return f.to_image()
    raise AssertionError(f"no frame at {t} s in {path}")


def test_square_talking_head_in_a_wide_frame_keeps_the_face(tmp_path, astronaut, jfk, cache_dir):
    clip = still_clip(tmp_path / "square.mp4", astronaut, 3, jfk)
    spec = write(tmp_path, {"eileen": clip}, "  - clip: eileen\n    to: 3", "youtube",
                 "  youtube: {width: 640, height: 360}")
    render(spec, cache_dir, "--no-captions")
    picture = frame(tmp_path / "out" / "footage" / "youtube.mp4", 1.5)
    faces = faces_in(picture)
    assert faces, "the face is not in the frame"
    x0, y0, x1, y1 = faces[0]
    assert y0 >= 0 and y1 <= 360
    eyes = (y0 + y1) / 2 - (y1 - y0) * 0.2
    assert 0.15 * 360 < eyes < 0.45 * 360, f"eyes at {eyes / 360:.2f} of the height, not near the upper third"


def test_a_camera_cut_jumps_instead_of_panning(tmp_path, astronaut, jfk, cache_dir):
    # two shots in one 16:9 clip: the speaker on the left, then (a camera cut) on the right
    left = still_clip(tmp_path / "left.mp4", astronaut, 2, jfk, "scale=720:720,pad=1280:720:0:0:gray")
    right = still_clip(tmp_path / "right.mp4", astronaut, 2, jfk, "scale=720:720,pad=1280:720:560:0:gray")
    both = tmp_path / "shots.mp4"
    ff("-i", str(left), "-i", str(right), "-filter_complex", "[0:v][0:a][1:v][1:a]concat=n=2:v=1:a=1[v][a]",
       "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(both))
    from pipeline.cache import Cache
    from pipeline.probe import probe
    from pipeline.reframe import analyse

    analysis = analyse(both, probe(both), Cache(cache_dir))
    assert len(analysis.shots) == 1 and abs(float(analysis.shots[0]) - 2.0) < 0.1
    spec = write(tmp_path, {"eileen": both}, "  - clip: eileen\n    to: 4", "tiktok",
                 "  tiktok: {width: 360, height: 640}")
    render(spec, cache_dir, "--no-captions")
    out = tmp_path / "out" / "footage" / "tiktok.mp4"
    for t in (1.0, 2.2, 3.5):  # before the cut, a fifth of a second after it, and later
        faces = faces_in(frame(out, t))
        assert faces, f"no face in frame at {t} s"
        x0, _, x1, _ = faces[0]
        assert x0 >= 0 and x1 <= 360, f"the face is cut off at {t} s: {faces[0]}"


def test_portrait_phone_clip_on_x_warns_and_pads_over_a_blur(tmp_path, astronaut, jfk, cache_dir):
    phone = still_clip(tmp_path / "phone.mp4", astronaut, 3, jfk, "scale=288:512:force_original_aspect_ratio="
                       "increase,crop=288:512")
    # a crop asked for is warned about (issue 22: fit: auto, the default, pads it over a blur instead)
    spec = write(tmp_path, {"eileen": phone}, "  - clip: eileen\n    to: 3", "x",
                 "  x: {width: 1280, height: 720, fit: crop}")
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 0
    assert "enlarged up to 4.4x" in result.output and "fit: pad-blur" in result.output
    spec.write_text(spec.read_text().replace("{width: 1280, height: 720, fit: crop}", "{width: 640, height: 360}"),
                    encoding="utf-8")
    render(spec, cache_dir, "--no-captions")
    picture = np.asarray(frame(tmp_path / "out" / "footage" / "x.mp4", 1.5).convert("L")).astype(int)
    # the whole phone picture in the middle (its full height: the face is there), a blurred fill at the sides
    assert faces_in(Image.fromarray(picture.astype(np.uint8)))
    sides = np.concatenate([picture[:, :100], picture[:, -100:]], axis=1)
    assert sides.mean() > 30, "the sides are black, not a fill of the picture"
    assert np.abs(np.diff(sides, axis=1)).mean() < np.abs(np.diff(picture[:, 280:360], axis=1)).mean()


def test_a_loud_recording_keeps_the_true_peak_ceiling(tmp_path, jfk, cache_dir):
    loud = tmp_path / "loud.flac"
    ff("-i", str(jfk), "-af", "volume=18dB,alimiter=limit=1:level=0", "-c:a", "flac", str(loud))  # peaks at 0 dBFS
    clip = make_clip(tmp_path / "loud.mp4", seconds=8.0, audio_file=loud, channels=1)
    spec = write(tmp_path, {"loud": clip}, "  - clip: loud\n    to: 8", "web, x",
                 "  web: {width: 320, height: 180, poster: false}\n  x: {width: 320, height: 180, poster: false}")
    manifest = render(spec, cache_dir, "--no-captions")
    for out in manifest["outputs"]:
        assert out["true_peak_dbtp"] <= PRESETS[out["channel"]].true_peak_dbtp, out
        assert abs(out["loudness_lufs"] - out["loudness_target_lufs"]) <= 1.0, out
        # picture and sound end together (within a frame)
        assert abs(out["duration"] - out["audio_duration"]) <= 0.04, out


def test_the_frame_rate_comes_from_all_the_clips(tmp_path, cache_dir):
    odd = make_clip(tmp_path / "odd.mp4", seconds=1.0)
    ff("-i", str(make_clip(tmp_path / "odd-src.mp4", seconds=1.0)), "-r", "22.13", "-c:v", "libx264",
       "-preset", "ultrafast", "-c:a", "copy", str(odd.with_name("odd2213.mp4")))
    a = make_clip(tmp_path / "a25.mp4", seconds=2.5, rate=25)
    b = make_clip(tmp_path / "b30.mp4", seconds=1.0, rate=30)
    spec = write(tmp_path, {"odd": odd.with_name("odd2213.mp4"), "a": a, "b": b},
                 "  - clip: odd\n  - clip: a\n  - clip: b", "web", "  web: {width: 320, height: 180, poster: false}")
    manifest = render(spec, cache_dir, "--no-captions")
    assert manifest["outputs"][0]["fps"] == "25"
    with av.open(str(tmp_path / "out" / "footage" / "web.mp4")) as c:
        assert c.streams.video[0].average_rate == 25


def test_poster_title_stays_off_the_face(astronaut, tmp_path):
    from pipeline.posters import poster_with_title

    preset = PRESETS["instagram-reels"].with_overrides(width=540, height=960)
    for face_low in (False, True):
        canvas = Image.new("RGB", (540, 960), (90, 90, 90))
        face = Image.open(astronaut).resize((540, 540))
        canvas.paste(face, (0, 420 if face_low else 130))
        frame_path = tmp_path / f"frame-{face_low}.png"
        canvas.save(frame_path)
        found = faces_in(canvas)
        assert found
        band = poster_with_title(frame_path, "Bli en av oss i Fjordvik kommune", preset, tmp_path / "p.jpg")
        fx0, fy0, fx1, fy1 = found[0]
        assert band[3] <= fy0 or band[1] >= fy1, (face_low, band, found)
    assert title_band((540, 960), preset, 100, []) [1] > 480  # no face: low in the safe area


def test_posters_come_from_the_picture_without_captions(tmp_path):
    import dataclasses

    from pipeline.cache import Cache
    from pipeline.job import OutputSpec
    from pipeline.load import load_campaign
    from pipeline.outplan import plan_output
    from pipeline.plan import Burn
    from pipeline.render import poster_frame_command
    from pipeline.timeline import build_timeline

    clip = make_clip(tmp_path / "c.mp4", seconds=3.0)
    spec = write(tmp_path, {"c": clip}, "  - clip: c\n    to: 3", "tiktok", "  tiktok: {width: 180, height: 320}")
    campaign = load_campaign(spec)
    timeline = build_timeline(campaign, Fraction(25))
    plan, _ = plan_output(OutputSpec(campaign, campaign.preset("tiktok"), tuple(campaign.spec.sequence), timeline),
                          tmp_path, cache=Cache(tmp_path / "cache"))
    (tmp_path / "c.ass").write_text("[Script Info]\n")
    plan = dataclasses.replace(plan, burn=Burn(tmp_path / "c.ass"))
    cmd = poster_frame_command(plan, Fraction(1), tmp_path / "p.png")
    assert cmd is not None and "ass=" not in cmd.filter_script and "overlay" not in cmd.filter_script
    assert poster_frame_command(plan, Fraction(7, 2), tmp_path / "p.png") is None  # on the card


def test_transcribe_with_the_spec_warms_the_cache_for_the_render(tmp_path, speech_clip, model_dir):
    spec = write(tmp_path, {"jfk": speech_clip}, "  - clip: jfk\n    to: 4", "web",
                 "  web: {width: 320, height: 180, poster: false}")
    spec.write_text(spec.read_text().replace("language: en\n", "language: en\nsubtitles:\n  glossary: "
                                             "[Kennedy, Fjordvik]\n"), encoding="utf-8")
    fresh = tmp_path / "fresh-cache"
    fresh.mkdir()
    (fresh / "models").symlink_to(model_dir)  # the model is there; no transcript is
    result = CliRunner().invoke(main, ["transcribe", str(speech_clip), "--spec", str(spec), "--cache-dir", str(fresh),
                                       "-o", str(tmp_path / "t.json")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(fresh)])
    assert result.exit_code == 0, result.output
    assert "model runs: 0" in result.output
