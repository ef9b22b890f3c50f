"""Synstolking of a cutaway (issues 23 and 26): a cutaway's ``describe:`` line goes into the nearest pause
at or before the cutaway's start within its item; where none holds it, the picture is held for it, or
(holds off) validate warns at its line.

Real speech: J. F. Kennedy's sentence (jfk.flac) with two 3 s silences put into it, under a testsrc2
picture, and real workplace footage (a pan over scikit-image's coffee photograph) as the cutaway. Where
the line lies is checked against the recording's own silence (its level), not against the pipeline's
word times.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from pipeline import describe
from tests.conftest import ff, make_clip
from tools.make_workplace_clip import make

#: Where the two silences go into jfk.flac (after "Americans," and after "for you,"), and how long they are.
GAPS = (2.3, 7.6)
GAP = 3.0

SPEC = """\
campaign: syn-cut
title: Tale
language: en
clips:
  tale:
    source: media/tale.mp4
  work:
    source: media/work.mp4
sequence:
  - clip: tale
    cutaways:
      - clip: work
        during: "{during}"
        sound: off
        describe: "A cup of coffee on a table."
  - card: end
cards:
  end:
    lines: ["Ask"]
    duration: 2
lower_thirds: false
channels: [web]
overrides:
  web: {{width: 320, height: 180, x264_preset: ultrafast, poster: false}}
synstolking: {mode}
output: out
"""


@pytest.fixture(scope="module")
def paused(tmp_path_factory, jfk) -> Path:
    """jfk.flac with :data:`GAP` s of silence at each of :data:`GAPS`, as mono 16 kHz WAV."""
    d = tmp_path_factory.mktemp("paused")
    a, b = GAPS
    graph = (f"[0:a]aresample=16000,aformat=channel_layouts=mono,asplit=3[x][y][z];[x]atrim=0:{a}[p0];"
             f"[y]atrim={a}:{b},asetpts=PTS-STARTPTS[p1];[z]atrim={b},asetpts=PTS-STARTPTS[p2];"
             f"[1:a]asplit[s0][s1];[p0][s0][p1][s1][p2]concat=n=5:v=0:a=1[out]")
    ff("-i", str(jfk), "-f", "lavfi", "-t", str(GAP), "-i", "anullsrc=r=16000:cl=mono",
       "-filter_complex", graph, "-map", "[out]", str(d / "tale.wav"))
    return d / "tale.wav"


def _write(tmp_path: Path, paused: Path, during: str, mode: str) -> Path:
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    if not (media / "tale.mp4").exists():
        make_clip(media / "tale.mp4", seconds=11.0 + 2 * GAP, audio_file=paused, channels=1)
        make(media / "work.mp4", "coffee", 6.0, "320x180", sound=None)
    spec = tmp_path / "campaign.yml"
    spec.write_text(SPEC.format(during=during, mode=mode), encoding="utf-8")
    return spec


def _quiet(wav: Path) -> list[tuple[float, float]]:
    """Where no word is said in the recording (20 ms frames under -30 dBFS: its room noise is about -38,
    its words -20 to -10), as intervals in seconds."""
    import wave

    with wave.open(str(wav)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float) / 32768
    n = 16000 // 50
    rms = np.sqrt(np.mean(x[: len(x) // n * n].reshape(-1, n) ** 2, axis=1))
    out, start = [], None
    for i, q in enumerate([*(rms < 10 ** (-30 / 20)), False]):
        if q and start is None:
            start = i
        if not q and start is not None:
            out.append((start / 50, i / 50))
            start = None
    return out


def test_a_cutaways_line_takes_the_last_pause_before_it_and_ends_with_it():
    # pure placement: two pauses fit inside the item's time before the cutaway; the nearer one is taken
    line = describe.Line("01-work", "A cup.", "cutaway", ("sequence", 0), (Fraction(0), Fraction(10)), latest=True)
    talk = [(Fraction(0), Fraction(1)), (Fraction(4), Fraction(5)), (Fraction(8), Fraction(12))]
    [p] = describe._place([line], {"01-work": Fraction(1)}, talk, Fraction(12), Fraction(25))
    assert p.fits and p.end == Fraction(8) - describe.CLEAR and p.start == p.end - 1
    # the same line, first pause (the item's own describe:) order: the earliest pause
    early = describe.Line("01-tale", "A cup.", "describe", ("sequence", 0), (Fraction(0), Fraction(10)))
    [q] = describe._place([early], {"01-tale": Fraction(1)}, talk, Fraction(12), Fraction(25))
    assert q.start == 1 + describe.CLEAR
    # no pause before the cutaway (it starts with the item's first words): held at the shot's first frame
    none = describe.Line("01-work", "A cup.", "cutaway", ("sequence", 0), (Fraction(0), Fraction(0)), latest=True)
    [h] = describe._place([none], {"01-work": Fraction(1)}, talk, Fraction(12), Fraction(25), hold=True)
    assert h.hold is not None and h.hold.at == 0 and h.hold.length >= 1
    [w] = describe._place([none], {"01-work": Fraction(1)}, talk, Fraction(12), Fraction(25))
    assert not w.fits


@pytest.mark.slow
def test_a_described_cutaway_is_spoken_in_the_pause_before_it(tmp_path, cache_dir, model_dir, paused):
    spec = _write(tmp_path, paused, "ask what you can do for your country", "{mode: version, hold: false}")
    result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "syn-cut"
    record = json.loads((out / "manifest.json").read_text())["outputs"][0]
    [cut] = record["items"][0]["cutaways"]
    line = next(x for x in record["descriptions"] if x["text"] == "A cup of coffee on a table.")
    assert line["kind"] == "cutaway" and "hold" not in line, line
    # in a silence of the recording itself, 0.2 s clear of the words at both ends
    quiet = [(a, b) for a, b in _quiet(paused) if b - a > 1]
    assert any(a + 0.2 <= line["start"] and line["end"] <= b - 0.2 for a, b in quiet), (line, quiet)
    # the nearest silence before the cutaway (the second one put in, after "for you,"), not the first
    assert record["items"][0]["at"] == record["items"][0]["from"] == 0  # output time is the recording's
    assert GAPS[1] + GAP <= line["start"] < line["end"] <= cut["at"], (line, cut)
    report = json.loads((out / "accessibility.json").read_text())
    pictures = report["outputs"][0]["1.2.5"]["pictures"]
    assert [(p["text"], p["ok"]) for p in pictures] == [("A cup of coffee on a table.", True)], pictures
    assert "1 of 1 described" in (out / "accessibility.md").read_text()


@pytest.mark.slow
def test_a_cutaway_on_the_first_words_warns_at_its_describe_line_without_holds(tmp_path, cache_dir, model_dir,
                                                                                paused):
    spec = _write(tmp_path, paused, "And so my fellow", "{mode: version, hold: false}")
    result = CliRunner().invoke(main, ["validate", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    warning = next(x for x in result.output.splitlines() if "01-work" in x)
    assert "campaign.yml:15:" in warning and "before the cutaway" in warning, warning
    # with holds (the default) the picture is held for it: no warning
    held = _write(tmp_path, paused, "And so my fellow", "version")
    again = CliRunner().invoke(main, ["validate", str(held), "--cache-dir", str(cache_dir)])
    assert again.exit_code == 0 and "01-work" not in again.output, again.output
