"""End to end: a campaign of mixed sources rendered for every channel with the real ffmpeg, then probed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import pytest
from click.testing import CliRunner

from cli import main
from pipeline.channels import PRESETS
from pipeline.ffmpeg import run_command
from pipeline.files import sha256_file
from pipeline.loudness import parse_ebur128, verify_command
from pipeline.probe import probe
from tests.conftest import ROOT, make_clip

HOSTILE_TEXT = "Kom: 100% «ærlig» 'jobb' \\ {x} [y]; a=b, ø 😀"

SPEC = """\
campaign: e2e
title: "Test: 100% ærlig"
language: no
clips:
  wide:
    source: media/wide.mp4
  upright:
    source: media/upright.mp4
  silent:
    source: media/silent.mp4
sequence:
  - card: intro
  - clip: wide
    from: 0.52
    to: 2.5
  - clip: upright
    from: "00:00.300"
    to: 1.9
  - clip: silent
    from: 0
    to: 1.2
  - card: end
cards:
  intro:
    lines: [{intro!r}]
    duration: 1
  end:
    lines: ["Vi trenger deg!"]
    subline: Søk innen 1. mars
    url: https://example.kommune.no/jobb
    duration: 1.5
    logo: logo.png
channels: [youtube, instagram-reels, instagram-feed, facebook, linkedin, x, tiktok, web, cinema]
output: out
"""


@pytest.fixture(scope="module")
def campaign_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    media = root / "media"
    media.mkdir()
    # mixed sources: 25 fps stereo 44.1 kHz; a phone clip stored sideways with rotation
    # metadata, 30 fps mono 48 kHz; an anamorphic clip with no audio at all
    make_clip(media / "wide.mp4", size="640x360", rate=25, seconds=3)
    make_clip(media / "upright.mp4", size="360x640", rate=30, seconds=2.5,
              audio="sine=frequency=660:sample_rate=48000", channels=1, rotate=90)
    make_clip(media / "silent.mp4", size="480x360", rate=25, seconds=2, audio=None, sar="4/3")
    (root / "logo.png").write_bytes((ROOT / "assets" / "logo.png").read_bytes())
    spec = SPEC.replace("[{intro!r}]", json.dumps([HOSTILE_TEXT], ensure_ascii=False))
    (root / "campaign.yml").write_text(spec, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def rendered(campaign_dir, cache_dir) -> tuple[Path, dict]:
    result = CliRunner().invoke(main, ["render", str(campaign_dir / "campaign.yml"), "--jobs", "2",
                                       "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    out = campaign_dir / "out" / "e2e"
    return out, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def expected_frames(rate: Fraction) -> int:
    """Frames of the edit: each cut and card rounded to whole frames, as the spec above sets them."""
    cuts = [Fraction(1), Fraction(5, 2) - Fraction(13, 25), Fraction(19, 10) - Fraction(3, 10),
            Fraction(6, 5), Fraction(3, 2)]
    return sum(int(c * rate + Fraction(1, 2)) for c in cuts)


@pytest.mark.parametrize("channel", list(PRESETS.keys() - {"youtube-shorts", "instagram-stories"}))
def test_every_channel_probes_right(rendered, channel):
    out, manifest = rendered
    preset = PRESETS[channel]
    entry = next(o for o in manifest["outputs"] if o["channel"] == channel)
    path = out / entry["path"]
    assert path.suffix == f".{preset.extension}"
    info = probe(path)
    assert (info.width, info.height) == (preset.width, preset.height)
    rate = preset.fps or Fraction(25)  # the rate that covers most of the edit
    assert info.fps == rate
    n = expected_frames(rate)
    assert abs(float(info.duration) - n / float(rate)) <= 1 / float(rate) + 0.03
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        counted = sum(1 for _ in container.demux(video) if _.size)
        audio = container.streams.audio[0]
        assert audio.codec_context.sample_rate == 48000
        assert audio.codec_context.channels == preset.audio_channels
        assert audio.codec_context.name == preset.audio_codec
        assert video.codec_context.name == ("prores" if preset.video_codec.startswith("prores") else "h264")
        if preset.video_codec.startswith("prores"):  # 422 HQ, 10 bit, as the sales house takes it
            assert video.codec_context.profile == "HQ" and video.format.name == "yuv422p10le"
    assert counted == n
    measured = parse_ebur128(run_command(verify_command(path), out, what="test loudness"))
    assert abs(measured.integrated - preset.loudness_lufs) <= 1.0
    assert measured.true_peak <= preset.true_peak_dbtp  # the ceiling is held, not approached
    # picture and sound end together, within a frame, and the manifest gives the streams' lengths
    assert abs(float(info.video_end) - n / float(rate)) < 1e-6
    assert abs(float(info.audio_end) - float(info.video_end)) <= 1 / float(rate)
    assert entry["duration"] == round(float(info.video_end), 3)
    assert entry["audio_duration"] == round(float(info.audio_end), 3)
    # the manifest says what the file is
    assert entry["sha256"] == sha256_file(path)
    assert entry["size"] == path.stat().st_size
    assert (entry["width"], entry["height"]) == (preset.width, preset.height)
    assert abs(entry["loudness_lufs"] - measured.integrated) < 0.2


def test_no_partial_files_and_poster(rendered):
    out, manifest = rendered
    names = sorted(p.name for p in out.iterdir())
    # nothing half-written: only the manifest's (empty) lock file is hidden
    assert [n for n in names if n.startswith(".")] == [".manifest.json.lock"], names
    poster = out / "web.poster.jpg"
    assert poster.is_file() and probe(poster).width == 1280
    assert not manifest["failed"]
    # the spec is named relative to the manifest (no machine path in a file that gets shared)
    assert manifest["spec"] == "../../campaign.yml"


def test_cards_fill_the_frame_and_sit_in_safe_area(rendered):
    """The end card's text (bright pixels on the dark background) lies inside the tiktok safe area."""
    import numpy as np

    out, _ = rendered
    preset = PRESETS["tiktok"]
    with av.open(str(out / "tiktok.mp4")) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    last = frames[-1]
    bright = np.argwhere(last > 200)
    assert len(bright) > 500  # there is text
    x0, y0, x1, y1 = preset.safe_area.box(preset.width, preset.height)
    assert bright[:, 0].min() >= y0 and bright[:, 0].max() <= y1
    assert bright[:, 1].min() >= x0 and bright[:, 1].max() <= x1


def test_failed_render_exits_1_with_ffmpegs_message_and_leaves_nothing(campaign_dir, cache_dir, caplog):
    caplog.expected_errors = True
    spec = campaign_dir / "broken.yml"
    text = (campaign_dir / "campaign.yml").read_text(encoding="utf-8")
    text = text.replace("campaign: e2e", "campaign: broken").replace(
        "channels: [youtube, instagram-reels, instagram-feed, facebook, linkedin, x, tiktok, web, cinema]",
        "channels: [x]\noverrides:\n  x: {x264_preset: not-a-preset}")
    spec.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(cache_dir)])
    assert result.exit_code == 1
    # the output and the piece that failed, and ffmpeg's own words
    assert "render x (card intro) failed" in result.output and "ffmpeg said" in result.output, result.output
    out = campaign_dir / "out" / "broken"
    assert not (out / "x.mp4").exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".manifest.json.lock"]
    half_written = [p for p in (cache_dir / "pieces").rglob("*") if p.is_file()
                    and p.suffix not in (".json", ".lock", ".mp4", ".mov")]
    assert not half_written


def test_sigterm_stops_ffmpeg_and_leaves_no_partial_output(campaign_dir, cache_dir):
    spec = campaign_dir / "campaign.yml"
    out = campaign_dir / "out-killed"
    env = dict(os.environ, REKRUTT_CACHE_DIR=str(cache_dir))
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "render", str(spec), "--out", str(out),
                             "--no-captions", "-c", "cinema"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any(out.glob("e2e/.cinema.mov.*")):
        time.sleep(0.05)
    assert any(out.glob("e2e/.cinema.mov.*")), "the render never started writing"
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 143, output  # 128 + SIGTERM: CI sees a cancelled job, not a Ctrl-C
    assert "Interrupted" in output
    assert not list((out / "e2e").glob("*.mov")) and not list((out / "e2e").glob(".*"))
    time.sleep(0.2)
    survivors = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(out) in text:
            survivors.append(text)
    assert not survivors, survivors
