"""Synstolking (issue 23): the description script in the pauses of real speech, the described version,
recorded lines, the descriptions VTT, and the accessibility report."""

from __future__ import annotations

import json
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from pipeline import describe
from pipeline.load import load_campaign
from pipeline.voice import VOICE_RATE, Voice, speak, write_wav

SPEC = """\
campaign: syn-test
title: Bli en av oss
language: {lang}
clips:
  tale:
    source: clip.mp4
    person: Kari Nordmann
    role: Sykepleier
sequence:
  - clip: tale
    describe: "Hun står ved et vindu."
  - card: end
cards:
  end:
    lines: ["Vi trenger deg!"]
    subline: Søk innen mars
    url: https://www.fjordvik.kommune.no/jobb
    duration: {card}
channels: [web]
overrides:
  web: {{width: 640, height: 360, x264_preset: ultrafast}}
synstolking: {mode}
output: out
"""


def _spec(tmp_path: Path, clip: Path, mode: str = "version", card: float = 6, lang: str = "en") -> Path:
    (tmp_path / "clip.mp4").write_bytes(clip.read_bytes())
    path = tmp_path / "spec.yml"
    path.write_text(SPEC.format(mode=mode, card=card, lang=lang), encoding="utf-8")
    return path


def test_a_link_is_spoken_without_scheme_and_www():
    assert describe.speakable_link("https://www.fjordvik.kommune.no/jobb/?utm_source=x") == "fjordvik.kommune.no/jobb"


def test_pauses_keep_clear_of_every_word():
    busy = [(Fraction(1), Fraction(2)), (Fraction(5, 2), Fraction(3))]
    free = describe.pauses(Fraction(5), busy)
    assert free == [(0, Fraction(3, 4)), (Fraction(13, 4), Fraction(5))]  # 2..2.5 is too short for 2 x 0.25


def _voiced(path: Path) -> list[tuple[float, float]]:
    """Where a stem has sound (20 ms frames over -50 dBFS), as intervals in seconds."""
    with wave.open(str(path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float) / 32768
    n = VOICE_RATE // 50
    rms = np.sqrt(np.mean(x[: len(x) // n * n].reshape(-1, n) ** 2, axis=1))
    on = rms > 10 ** (-50 / 20)
    out, start = [], None
    for i, v in enumerate([*on, False]):
        if v and start is None:
            start = i
        if not v and start is not None:
            out.append((start / 50, i / 50))
            start = None
    return out


@pytest.fixture(scope="module")
def erna_clip(tmp_path_factory, erna) -> Path:
    """25 s of Erna Solberg's real Norwegian speech under a still picture."""
    from tests.conftest import ff

    d = tmp_path_factory.mktemp("erna")
    ff("-ss", "30", "-t", "25", "-i", str(erna), "-ac", "1", str(d / "erna.wav"))
    ff("-f", "lavfi", "-i", "color=c=gray:s=320x180:d=25", "-i", str(d / "erna.wav"),
       "-t", "25", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(d / "erna.mp4"))
    return d / "erna.mp4"


@pytest.mark.slow
@pytest.mark.parametrize("which", ["jfk", "erna"])
def test_the_description_never_speaks_over_real_speech(tmp_path, cache_dir, model_dir, speech_clip, which, request):
    clip = speech_clip if which == "jfk" else request.getfixturevalue("erna_clip")
    spec = _spec(tmp_path, clip, lang="en" if which == "jfk" else "no")
    campaign = load_campaign(spec, cache_dir=cache_dir)
    from pipeline.transcribe import shared_transcriber

    transcripts = describe.all_transcripts(campaign, shared_transcriber(describe_cache(cache_dir), None))
    timeline = describe.timeline_for(campaign, "web")
    placed, voices = describe.described_lines(campaign, timeline, transcripts, "web")
    holds = describe.holds_of(placed)  # where a line fits no pause: on the described version's timeline
    stem = describe.stem(placed, voices, timeline.duration + sum(h.length for h in holds), tmp_path / "stem.wav")
    talk = [(float(describe.shift(a, holds)), float(describe.shift(b, holds, start=False)))
            for a, b in describe.speech(timeline, transcripts)]
    voiced = _voiced(stem)
    assert voiced, "the description says nothing"
    for a, b in voiced:
        for s, e in talk:
            assert b + 0.2 <= s or a >= e + 0.2, f"description {a:.2f}-{b:.2f} s is within 0.2 s of a word {s}-{e}"
    assert any(p.line.kind == "card" and p.fits for p in placed)


def describe_cache(cache_dir):
    from pipeline.cache import Cache

    return Cache(cache_dir)


@pytest.mark.slow
def test_a_described_version_keeps_the_picture_and_the_speech(tmp_path, cache_dir, model_dir, speech_clip):
    # nothing held (the name fits no pause here): the same timeline (holds: tests/test_describe_holds.py)
    spec = _spec(tmp_path, speech_clip, mode="{mode: version, hold: false}", card=8)  # the card's line: ~6.5 s
    result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "syn-test"
    record = json.loads((out / "manifest.json").read_text())["outputs"][0]
    assert record["extras"]["described"] == "web.synstolket.mp4"
    lines = record["descriptions"]
    assert lines and all(set(x) >= {"start", "end", "text"} for x in lines)
    vtt = (out / "web.nb.descriptions.vtt").read_text() if (out / "web.nb.descriptions.vtt").exists() else \
        (out / "web.en.descriptions.vtt").read_text()
    assert vtt.count("-->") == len(lines)
    # within EBU R 128's 0.5 LU (made again at a corrected gain where the limiter took more; a tenth for rounding)
    assert abs(record["described_loudness_lufs"] - record["loudness_target_lufs"]) <= 0.6, record
    # the original sound is still there outside the description: correlation with the undescribed output
    from pipeline.voice import read_any

    a = read_any(out / "web.mp4", 16000).astype(float)
    b = read_any(out / "web.synstolket.mp4", 16000).astype(float)
    n = min(a.size, b.size)
    keep = np.ones(n, bool)
    for x in lines:
        keep[int((x["start"] - 0.3) * 16000): int((x["end"] + 0.3) * 16000)] = False
    r = np.corrcoef(a[:n][keep], b[:n][keep])[0, 1]
    assert r > 0.95, r
    # the same picture: a frame of each
    from tests.conftest import ff

    for name in ("web.mp4", "web.synstolket.mp4"):
        ff("-ss", "2", "-i", str(out / name), "-frames:v", "1", str(tmp_path / f"{name}.png"))
    assert (tmp_path / "web.mp4.png").read_bytes() == (tmp_path / "web.synstolket.mp4.png").read_bytes()
    report = json.loads((out / "accessibility.json").read_text())
    assert report["outputs"][0]["1.2.2"]["ok"]
    assert (out / "accessibility.md").is_file()
    assert "Synstolket" in (out / "web.publish.md").read_text()


def test_a_recorded_line_replaces_the_synthetic_one(tmp_path):
    rec = tmp_path / "descriptions"
    rec.mkdir()
    write_wav(rec / "kort-end.wav", (np.sin(np.arange(VOICE_RATE) * 0.1) * 8000).astype(np.int16))
    samples = speak("Vi trenger deg!", Voice(), rec / "kort-end.wav")
    assert abs(samples.size - VOICE_RATE) < VOICE_RATE * 0.05  # the recording's second, not eSpeak's speech
    synthetic = speak("Vi trenger deg!", Voice())
    assert synthetic.size != samples.size


@pytest.mark.slow
def test_a_line_that_fits_no_pause_warns_at_its_line(tmp_path, cache_dir, model_dir, speech_clip):
    spec = _spec(tmp_path, speech_clip, mode="{mode: version, hold: false}", card=1)  # no picture held for it
    result = CliRunner().invoke(main, ["validate", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "kort-end" in x)
    assert "spec.yml:15:" in line and "needs" in line and "longest pause" in line, line


@pytest.mark.slow
def test_the_report_flags_an_end_card_never_spoken(tmp_path, cache_dir, model_dir, speech_clip):
    spec = _spec(tmp_path, speech_clip, mode="'off'")
    result = CliRunner().invoke(main, ["validate", str(spec), "--accessibility", "--cache-dir", str(cache_dir)])
    assert result.exit_code == 2, result.output
    assert "main/web" in result.output and "Vi trenger deg!" in result.output and "never spoken" in result.output
    ok = CliRunner().invoke(main, ["validate", str(_spec(tmp_path, speech_clip)), "--accessibility",
                                   "--cache-dir", str(cache_dir)])
    assert "Vi trenger deg!" not in ok.output, ok.output
