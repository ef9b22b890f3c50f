"""Extended description (issue 23, WCAG 1.2.7): where a line fits no pause, the described version holds
the picture for it, the original sound paused; everything after it (sound, captions) shifted by the hold."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pysubs2
import pytest
from click.testing import CliRunner

from cli import main
from pipeline import describe
from pipeline.ffmpeg import ffmpeg_exe
from pipeline.load import load_campaign
from pipeline.probe import probe
from pipeline.voice import read_any
from tests.test_describe import _voiced, describe_cache

#: A role no pause of the 11 s of JFK holds (about 5 s spoken), and an end card of 1 s: both held.
SPEC = """\
campaign: hold-test
title: Bli en av oss
language: en
clips:
  tale:
    source: clip.mp4
    person: Kari Nordmann
    role: Sykepleier ved Tunet sykehjem i Fjordvik kommune, avdeling for langtidsopphold og rehabilitering
sequence:
  - card: intro
  - clip: tale
  - card: end
cards:
  intro:
    lines: ["Hei"]
    duration: 2
  end:
    lines: ["Vi trenger deg!"]
    url: https://www.fjordvik.kommune.no/jobb
    duration: 1
channels: [web]
overrides:
  web: {width: 640, height: 360, x264_preset: ultrafast}
synstolking: {mode}
output: out
"""

RATE = 16000


def _frame(path: Path, at: float) -> np.ndarray:
    """The decoded frame at ``at`` s (an input seek starts at the first frame at or after its time), as RGB."""
    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-ss", f"{at - 0.01:.4f}", "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).astype(int)


@pytest.fixture(scope="module")
def held(tmp_path_factory, cache_dir, model_dir, speech_clip):
    """The campaign rendered: (spec, output folder, manifest record, placed lines, timeline, transcripts)."""
    tmp = tmp_path_factory.mktemp("hold")
    (tmp / "clip.mp4").write_bytes(speech_clip.read_bytes())
    spec = tmp / "spec.yml"
    spec.write_text(SPEC.replace("{mode}", "version"), encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    out = tmp / "out" / "hold-test"
    record = json.loads((out / "manifest.json").read_text())["outputs"][0]
    campaign = load_campaign(spec, cache_dir=cache_dir)
    from pipeline.transcribe import shared_transcriber

    transcripts = describe.all_transcripts(campaign, shared_transcriber(describe_cache(cache_dir), None))
    timeline = describe.timeline_for(campaign, "web")
    placed, voices = describe.described_lines(campaign, timeline, transcripts, "web")
    return spec, out, record, placed, voices, timeline, transcripts


@pytest.mark.slow
def test_the_picture_holds_for_a_line_that_fits_no_pause(held, tmp_path):
    spec, out, record, placed, voices, timeline, transcripts = held
    holds = describe.holds_of(placed)
    by_line = {h.line_id: h for h in holds}
    assert {"tale-navn", "kort-end"} <= set(by_line), [p.as_dict() for p in placed]
    assert all(p.fits for p in placed)
    # the manifest says where each hold is and how long
    lines = {x["id"]: x for x in record["descriptions"]}
    assert lines["tale-navn"]["hold"]["at"] == pytest.approx(2.0)  # the shot's first frame, after the intro
    total = sum(h.length for h in holds)
    # its length: the original's and the holds' (probed)
    original, described = probe(out / "web.mp4"), probe(out / "web.synstolket.mp4")
    assert float(described.video_end) == pytest.approx(float(original.video_end + total), abs=0.001)
    assert float(described.audio_end) == pytest.approx(float(original.video_end + total), abs=0.03)
    # the frames of a hold are one picture: the shot's first frame as the film shows it
    h = by_line["tale-navn"]
    at = float(describe.shift(h.at, holds) - h.length)  # where the hold begins in the described version
    step = 1 / float(timeline.rate)
    first, last = _frame(out / "web.synstolket.mp4", at), _frame(out / "web.synstolket.mp4",
                                                                 at + float(h.length) - step)
    assert np.abs(first - last).mean() < 1.0
    assert np.abs(first - _frame(out / "web.mp4", float(h.at))).mean() < 1.0  # the shot's first frame
    assert np.abs(first - _frame(out / "web.mp4", float(h.at) + step)).mean() > 2.0  # not its second
    after = _frame(out / "web.synstolket.mp4", at + float(h.length) + step)  # the film goes on from it
    assert np.abs(after - _frame(out / "web.mp4", float(h.at) + step)).mean() < 1.0
    # a card's line: its last frame held
    c = by_line["kort-end"]
    card_at = float(describe.shift(c.at, holds, start=False))
    card = _frame(out / "web.mp4", float(c.at) - step)
    for t in (card_at - step, card_at + float(c.length) / 2, card_at + float(c.length) - step):
        assert np.abs(_frame(out / "web.synstolket.mp4", t) - card).mean() < 1.0, t
    # the voice lies in the hold, never over speech (0.2 s clear), on the described version's timeline
    stem = describe.stem(placed, voices, timeline.duration + total, tmp_path / "stem.wav")
    words = [(describe.shift(a, holds), describe.shift(b, holds, start=False))
             for a, b in describe.speech(timeline, transcripts)]
    voiced = _voiced(stem)
    assert voiced
    for a, b in voiced:
        for s, e in words:
            assert b + 0.2 <= s or a >= e + 0.2, f"description {a:.2f}-{b:.2f} s is within 0.2 s of a word {s}-{e}"
    name = next(p for p in placed if p.line.id == "tale-navn")
    assert at + 0.2 <= float(name.start) and float(name.end) + 0.2 <= at + float(h.length)
    assert any(at <= a and b <= at + float(h.length) for a, b in voiced)
    # the original sound goes on after each hold: it matches the undescribed output at the shifted time
    a, b = read_any(out / "web.mp4", RATE).astype(float), read_any(out / "web.synstolket.mp4", RATE).astype(float)
    keep_a, keep_b = [], []
    bounds = [Fraction(0), *sorted({x.at for x in holds}), timeline.duration]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        for k in range(int(lo * 100), int(hi * 100) - 2):  # 10 ms blocks of the same length
            t = Fraction(k, 100)
            t2 = describe.shift(t, holds)
            if any(p.start - Fraction(3, 10) < t2 < p.end + Fraction(3, 10) for p in placed):
                continue  # ducked under a line
            keep_a.append(slice(int(t * RATE), int(t * RATE) + RATE // 100))
            keep_b.append(slice(int(t2 * RATE), int(t2 * RATE) + RATE // 100))
    x = np.concatenate([a[s] for s in keep_a])
    y = np.concatenate([b[s] for s in keep_b])
    n = min(x.size, y.size)
    r = np.corrcoef(x[:n], y[:n])[0, 1]
    assert r > 0.9, r
    print(f"original vs described outside the holds: r = {r:.3f}; holds: "
          + ", ".join(f"{h.line_id} {float(h.length):.2f} s at {float(h.at):.2f}" for h in holds))
    # and is paused during the hold: the described sound there is the description alone
    speechless = b[int((at + 0.02) * RATE): int((float(name.start) - 0.05) * RATE)]
    assert np.sqrt(np.mean(speechless ** 2)) < 30, "the original sound plays on during the hold"
    # captions and descriptions on the described version's timeline (the original's descriptions track:
    # tests/test_synstolking_more.py)
    cues = pysubs2.load(str(out / "web.en.vtt")).events
    moved = pysubs2.load(str(out / record["extras"]["described_captions.en.vtt"])).events
    assert len(cues) == len(moved) > 0
    for c, m in zip(cues, moved, strict=True):
        assert m.start == int(describe.shift(Fraction(c.start, 1000), holds) * 1000), (c, m)
    assert moved[0].start - cues[0].start == int(h.length * 1000)
    vtt = pysubs2.load(str(out / "web.synstolket.en.descriptions.vtt")).events
    assert [e.text for e in vtt][-1].startswith("Vi trenger deg!")
    for e in vtt:
        assert any(abs(e.start - x["start"] * 1000) <= 1 for x in lines.values()), e
    # frames before, during and after the hold, for the eye
    for name_, t in (("before", at - 0.5), ("during", at + float(h.length) / 2), ("after", at + float(h.length) + 0.5)):
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-ss", f"{t:.3f}", "-i", str(out / "web.synstolket.mp4"),
                        "-frames:v", "1", str(out / f"look-{name_}.png")], check=True)


@pytest.mark.slow
def test_the_accessibility_report_says_yes_where_the_picture_holds(held, cache_dir):
    spec, out, *_ = held
    report = json.loads((out / "accessibility.json").read_text())
    assert report["ok"], report["failures"]
    assert "1.2.5 synstolking" in (out / "accessibility.md").read_text()
    # without holds, the same lines fit no pause and the report says so
    spec.write_text(SPEC.replace("{mode}", "{mode: version, hold: false}"), encoding="utf-8")
    try:
        result = CliRunner().invoke(main, ["validate", str(spec), "--accessibility", "--cache-dir",
                                           str(cache_dir)])
    finally:
        spec.write_text(SPEC.replace("{mode}", "version"), encoding="utf-8")
    assert result.exit_code == 2, result.output
    assert "Kari Nordmann" in result.output and "never spoken" in result.output, result.output


@pytest.mark.slow
def test_an_unchanged_render_keeps_the_described_version(held, cache_dir):
    """A second render of the same spec makes nothing again, the described version included: eSpeak's
    speech of one text varies by a few samples from call to call, so each line is kept in the cache
    (before, every re-render made every described version again)."""
    spec, out, *_ = held
    described = out / "web.synstolket.mp4"
    before = described.stat()
    result = CliRunner().invoke(main, ["-v", "render", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    assert "unchanged" in result.output
    assert "described version" not in result.output.replace("described version's", ""), result.output
    after = described.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def _render_recorded(spec: Path, cache_dir: Path) -> list[str]:
    """Render ``spec``; the ``what`` of each ffmpeg it ran."""
    import pipeline.ffmpeg

    ran: list[str] = []
    real = pipeline.ffmpeg.run

    def run(argv, *, what, **kw):
        ran.append(what)
        return real(argv, what=what, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline.ffmpeg, "run", run)
        result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    return ran


@pytest.mark.slow
def test_the_described_picture_is_the_outputs_pieces_played_again(held, cache_dir, tmp_path):
    """Made with its output, the described version plays the pieces the output was joined from, the hold at
    the shot's start put between them: the output is not cut apart (a copy of the whole picture, 250 MB for the
    cinema master). Made again alone (a new duck: the output is the same), it cuts the output at the holds.
    The frames are the same either way, and the output's own with the held frames put in."""
    from tests.test_speed_described import framemd5

    clip = held[0].parent / "clip.mp4"
    (tmp_path / "clip.mp4").write_bytes(clip.read_bytes())
    spec = tmp_path / "spec.yml"
    spec.write_text(SPEC.replace("{mode}", "version"), encoding="utf-8")
    out = tmp_path / "out" / "hold-test"
    ran = _render_recorded(spec, cache_dir)
    cut = "described version's picture, cut at the holds (web)"
    assert "described version (web)" in ran and cut not in ran, ran
    from_pieces = framemd5(out / "web.synstolket.mp4", "v")
    spec.write_text(SPEC.replace("{mode}", "{mode: version, duck: -9}"), encoding="utf-8")
    ran = _render_recorded(spec, cache_dir)
    assert not [w for w in ran if w.startswith("join ")], ran  # the output unchanged
    assert cut in ran, ran  # this can fail
    assert framemd5(out / "web.synstolket.mp4", "v") == from_pieces
    # every frame of the output, the same (decoded), with the holds' frames (encoded again) put in
    record = json.loads((out / "manifest.json").read_text())["outputs"][0]
    digests = [line.split(",")[-1].strip() for line in framemd5(out / "web.mp4", "v")]
    described = [line.split(",")[-1].strip() for line in from_pieces]
    rate = Fraction(record["fps"])
    expected: list[str | None] = []
    at = 0
    hold_list = sorted((d["hold"] for d in record["descriptions"] if d.get("hold")), key=lambda h: h["at"])
    assert any(0 < h["at"] < record["duration"] for h in hold_list), hold_list  # one between two pieces
    for hold in hold_list:
        frame = round(hold["at"] * rate)
        expected += digests[at:frame] + [None] * round(hold["seconds"] * rate)
        at = frame
    expected += digests[at:]
    assert len(described) == len(expected)
    assert all(e is None or d == e for d, e in zip(described, expected, strict=True))


def test_a_line_is_spoken_the_same_each_time(tmp_path):
    """eSpeak NG's speech of one text varies from call to call; a line's voice (and so its length and
    place) must not: it is kept in the cache, and the cache's copy is what every later run reads."""
    from pipeline import voice
    from pipeline.cache import Cache

    text = "Jonas Berg, Fjordvik kommune."
    first = voice.espeak_line(text, "nb", 175, Cache(tmp_path / "cache"))
    voice._spoken.clear()  # as a new process would
    again = voice.espeak_line(text, "nb", 175, Cache(tmp_path / "cache"))
    assert first.size > voice.VOICE_RATE and np.array_equal(first, again)
