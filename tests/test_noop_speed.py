"""An unchanged re-render does only what it must (issue 25), and an edit after it is still made.

Behaviour, never timings: the modules the unchanged run imported (no numpy), the files it wrote (none), what
the pipeline decided after an edit (outputs rendered again, their fingerprints and frames changed), and the
plain-Python shortcuts against what they replace (numpy's percentile, the full scan of a transcript's words,
the samples of a spoken line).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from pipeline import voice
from pipeline.cache import Cache
from pipeline.captions import TimedWord, words_in_cut
from pipeline.ffmpeg import ffmpeg_exe
from pipeline.pauses import speech_level
from pipeline.timeline import ClipSegment
from pipeline.transcribe import Segment, Transcript, Word
from tests.conftest import ROOT, fresh_cache_with_model
from tests.test_speed_cache import HEAVY, PROBE

# --------------------------------------------------------------------------- the shortcuts, against what they replace


def test_the_speech_level_is_numpys_percentile_to_the_bit():
    rng = random.Random(25)
    for n in [*range(1, 40), 101, 1000, 12_001]:
        for _ in range(30 if n < 100 else 3):
            levels = [rng.choice([rng.uniform(-120.0, 0.0), round(rng.uniform(-60.0, -10.0), 1), -200.0])
                      for _ in range(n)]
            assert speech_level(levels) == float(np.percentile(np.asarray(levels, dtype="float64"), 90)), levels
    assert speech_level([]) == 0.0


def _scan(transcript: Transcript, seg: ClipSegment) -> list[TimedWord]:
    """words_in_cut as it was: every word of the transcript read for every cut."""
    lo, hi, out = seg.source_in, seg.source_out, []
    for w in transcript.words:
        ws, we = w.start, w.end
        if we <= ws:
            we = ws + Fraction(1, 100)
        overlap = min(we, hi) - max(ws, lo)
        if overlap <= 0 or overlap * 2 < (we - ws):
            continue
        shift = seg.start - lo
        out.append(TimedWord(w.text, min(max(ws + shift, seg.start), seg.end), min(max(we + shift, seg.start),
                                                                                    seg.end)))
    return out


@pytest.mark.parametrize("ordered", [True, False])
def test_a_cuts_words_by_bisection_are_those_of_the_full_scan(ordered):
    rng = random.Random(7)
    words, t = [], Fraction(0)
    for i in range(400):
        t += Fraction(rng.randint(0, 60), 100)
        length = Fraction(rng.choice([0, 1, 5, 30, 90, 250]), 100)  # zero-length words and a long one too
        words.append(Word(f"w{i}", t, t + length))
    if not ordered:  # an aligner's word placed before its neighbour: no bisection, the same answer
        words[10], words[11] = words[11], words[10]
    transcript = Transcript("no", 1.0, t + 3, tuple(Segment(w.start, w.end, w.text, (w,)) for w in words))
    assert (transcript.word_index[1] is not None) == ordered
    for _ in range(300):
        a = Fraction(rng.randint(0, int(t * 100)), 100)
        seg = ClipSegment("anne", a, rng.randint(1, 400), Fraction(rng.randint(0, 500), 100), Fraction(25))
        assert words_in_cut(transcript, seg) == _scan(transcript, seg)
        got = words_in_cut(transcript, seg)  # asked again: the kept answer, a list of the caller's own
        assert got == _scan(transcript, seg)
        got.append(TimedWord("x", Fraction(0), Fraction(1)))
        assert words_in_cut(transcript, seg) == _scan(transcript, seg)


def test_a_lines_length_comes_from_its_cached_wav_and_its_samples_only_when_read(tmp_path):
    cache = Cache(tmp_path / "cache")
    v = voice.Voice(name="nb", rate=175)
    text = "En kopp kaffe på bordet i pauserommet."
    first = voice.spoken_length(text, v, None, None, cache)  # synthesized into the cache
    assert first == voice.length(voice.speak(text, v, None, None, cache)) > Fraction(1)
    assert voice.spoken_length(text, v, None, None, cache) == first  # from the cached WAV's header
    asked: list[str] = []
    lines = voice.Spoken(["a", "b", "a"], lambda i: asked.append(i) or np.zeros(3, np.int16))
    assert list(lines) == ["a", "b"] and len(lines) == 2 and asked == []
    assert lines["b"].size == 3 and lines["b"].size == 3 and asked == ["b"]
    with pytest.raises(KeyError):
        lines["c"]


# --------------------------------------------------------------------------- the example, two channels


def _example(folder: Path) -> Path:
    """The example campaign in ``folder`` (its transcripts beside it), on X and the web page at 640x360."""
    text = (ROOT / "campaigns" / "fjordvik-2026.yml").read_text(encoding="utf-8")
    text = text.replace("../assets/", f"{ROOT}/assets/").replace("../brand/", f"{ROOT}/brand/")
    text = re.sub(r"(?m)^overrides:\n", "overrides:\n  x: {width: 640, height: 360}\n"
                  "  web: {width: 640, height: 360, poster: false}\n", text, count=1)
    (folder / "campaigns").mkdir(parents=True)
    shutil.copytree(ROOT / "campaigns" / "transcripts", folder / "campaigns" / "transcripts")
    spec = folder / "campaigns" / "fjordvik-2026.yml"
    spec.write_text(text, encoding="utf-8")
    return spec


def _render(spec: Path, cache: Path) -> dict[str, dict]:
    result = CliRunner().invoke(main, ["render", str(spec), "-V", "main", "-c", "x", "-c", "web", "--out",
                                       str(spec.parent / "out"), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    data = json.loads((spec.parent / "out" / "fjordvik-2026" / "manifest.json").read_text("utf-8"))
    return {o["channel"]: o for o in data["outputs"]}


def _frame(video: Path, at: float, png: Path) -> bytes:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1",
                    str(png)], check=True)
    return png.read_bytes()


def test_an_unchanged_example_writes_and_imports_nothing_it_need_not_and_an_edit_after_it_is_made(
        tmp_path, cache_dir, model_dir):
    spec = _example(tmp_path)
    cache = fresh_cache_with_model(tmp_path / "cache", cache_dir)
    before = _render(spec, cache)
    assert set(before) == {"x", "web"} and all(o.get("extras", {}).get("described") for o in before.values())
    out = spec.parent / "out" / "fjordvik-2026"
    written = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    time.sleep(0.05)

    # unchanged: the whole command, as a producer runs it, in a process of its own
    env = dict(os.environ, PYTHONPATH=str(ROOT), REKRUTT_CACHE_DIR=str(cache))
    proc = subprocess.run([sys.executable, "-c", PROBE, "render", str(spec), "-V", "main", "-c", "x", "-c", "web",
                           "--out", str(spec.parent / "out")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = proc.stdout + proc.stderr
    assert said.count("unchanged (") == 2, said
    modules = set(json.loads(proc.stdout.split("MODULES ", 1)[1]))
    assert "pipeline" in modules and "PIL" in modules  # the probe does see what the run imports
    assert not modules & {"numpy", *HEAVY}, sorted(modules & {"numpy", *HEAVY})
    rewritten = sorted(str(p.relative_to(out)) for p, t in written.items() if p.stat().st_mtime_ns != t)
    assert rewritten == [], rewritten
    assert sorted(p for p in out.rglob("*") if p.is_file()) == sorted(written)

    # an edit of the end card's subline after the unchanged run: both outputs made again, the card changed
    end = float(before["x"]["duration"]) - 1.0
    old_frame = _frame(out / "x.mp4", end, tmp_path / "x-before.png")
    spec.write_text(spec.read_text("utf-8").replace("subline: Søk innen 1. mars", "subline: Søk innen 15. april"),
                    encoding="utf-8")
    after = _render(spec, cache)
    for channel in ("x", "web"):
        assert after[channel]["fingerprint"] != before[channel]["fingerprint"], channel
        assert after[channel]["sha256"] != before[channel]["sha256"], channel
    assert _frame(out / "x.mp4", end, tmp_path / "x-after.png") != old_frame

    # then the description script: the card's line said in other words (its length read from the new WAV)
    lines = {line["id"]: line for line in after["x"]["descriptions"]}
    assert "kort-end" in lines, sorted(lines)
    (spec.parent / "descriptions").mkdir()
    (spec.parent / "descriptions" / "script.yml").write_text(
        'kort-end: "Vi trenger deg. Søk innen 15. april på fjordvik punkt kommune punkt no, skråstrek jobb."\n',
        encoding="utf-8")
    described = _render(spec, cache)
    for channel in ("x", "web"):
        assert described[channel]["sha256"] == after[channel]["sha256"], channel  # the film itself is the same
        assert described[channel]["described_key"] != after[channel]["described_key"], channel
        line = next(x for x in described[channel]["descriptions"] if x["id"] == "kort-end")
        assert line["text"].startswith("Vi trenger deg. Søk innen 15. april"), line


@pytest.mark.parametrize("size", [40, 97, 160, 301, 640])
def test_a_qr_codes_side_is_known_without_making_it(size):
    from pipeline.cta import qr_image, qr_side

    for n in (1, 20, 60, 120, 300):  # short and long links: QR versions 1 to 10 and more
        data = "https://www.fjordvik.kommune.no/jobb?" + "x" * n
        assert qr_side(data, size) == qr_image(data, size).width == qr_image(data, size).height, (n, size)
