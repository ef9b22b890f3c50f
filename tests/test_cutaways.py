"""Cutaways (B-roll over the interview's sound) and split edits (issue 26).

Real speech (J. F. Kennedy's inaugural sentence, jfk.flac, with the pinned reference transcript's word
times) under a testsrc2 picture, and a cutaway of real footage (a slow pan over scikit-image's coffee
photograph, tools/make_workplace_clip.py) with a 3 kHz tone of its own for its sound. Rendered with the real
ffmpeg; checked by comparing every output frame with the two sources, by correlating the film's sound with
the recording, and by measuring the tone.
"""

from __future__ import annotations

import json
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from pipeline.cutaway import place
from pipeline.ffmpeg import ffmpeg_exe
from pipeline.spec import ClipItem
from tests.conftest import best_alignment, jfk_reference, mono16k
from tools.make_workplace_clip import make

RATE = 25
SPEC = """\
campaign: tale
title: Tale
language: en
clips:
  jfk:
    source: media/jfk.mp4
    person: John Kennedy
  work:
    source: media/work.mp4
    audio: {{denoise: off}}
sequence:
  - clip: jfk
    from: 0
    to: 2.3
  - clip: jfk
    says: "ask not what your country can do for you"
{item}
cards:
  end:
    lines: ["Ask"]
    duration: 1
lower_thirds: false
channels: [web]
overrides:
  web: {{width: 320, height: 180, poster: false}}
output: out
"""

CUTAWAY = """\
    lead: 0.4
    cutaways:
      - clip: work
        from: 1.0
        during: "what your country"
        sound: {sound}
"""


@pytest.fixture(scope="module")
def work_clip(tmp_path_factory) -> Path:
    """6 s of real footage (a pan over a photograph) with a steady 3 kHz tone as its own sound."""
    return make(tmp_path_factory.mktemp("broll") / "work.mp4", "coffee", 6.0, "320x180",
                sound="sine=frequency=3000:sample_rate=48000")


def write(tmp_path: Path, speech_clip: Path, work_clip: Path, item: str) -> Path:
    (tmp_path / "media").mkdir(exist_ok=True)
    for name, src in (("jfk.mp4", speech_clip), ("work.mp4", work_clip)):
        if not (tmp_path / "media" / name).exists():
            (tmp_path / "media" / name).symlink_to(src)
    spec = tmp_path / "campaign.yml"
    spec.write_text(SPEC.format(item=item), encoding="utf-8")
    return spec


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def frames(path: Path, start: float = 0.0, count: int | None = None) -> np.ndarray:
    """Frames of a video from ``start`` (decoded exactly), 80x45 grey."""
    args = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-ss", f"{start:.3f}"]
    if count is not None:
        args += ["-frames:v", str(count)]
    raw = subprocess.run([*args, "-vf", f"fps={RATE},scale=80:45,format=gray", "-f", "rawvideo", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, 45, 80).astype(np.float32)


def tone_db(samples: np.ndarray, start: float, length: float, rate: int = 16000, hz: float = 3000) -> float:
    """Level (dB of RMS) of the ``hz`` tone in a stretch of sound (lock-in: sine and cosine products)."""
    x = samples[int(start * rate):int((start + length) * rate)].astype(np.float64)
    t = np.arange(len(x)) / rate
    amp = 2 * np.hypot((x * np.sin(2 * np.pi * hz * t)).mean(), (x * np.cos(2 * np.pi * hz * t)).mean())
    return 20 * np.log10(amp / np.sqrt(2) + 1e-12)


def rms_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


@pytest.fixture(scope="module")
def renders(tmp_path_factory, speech_clip, work_clip, cache_dir, model_dir):
    """The edit rendered with the cutaway's sound at -18 and at -6 dB (the pinned transcript's word times)."""
    from pipeline.transcribe import Transcriber
    from tests.conftest import fresh_cache_with_model, pinned_run, pinned_transcript

    mp = pytest.MonkeyPatch()
    mp.setattr(Transcriber, "_run", pinned_run(speech_clip, pinned_transcript))
    cache = fresh_cache_with_model(tmp_path_factory.mktemp("pinned") / "cache", cache_dir)
    out = {}
    for sound in (-18, -6):
        root = tmp_path_factory.mktemp(f"render{-sound}")
        spec = write(root, speech_clip, work_clip, CUTAWAY.format(sound=sound))
        result = run("render", str(spec), "--cache-dir", str(cache), "--no-captions")
        assert result.exit_code == 0, result.output
        manifest = json.loads((root / "out" / "tale" / "manifest.json").read_text(encoding="utf-8"))
        out[sound] = (root / "out" / "tale" / "web.mp4", manifest["outputs"][0]["items"])
    mp.undo()
    return out


def words(*texts: str) -> tuple[float, float]:
    """(first word's start, last word's end) of consecutive words in the pinned transcript."""
    ws = [w for s in jfk_reference()["segments"] for w in s["words"]]
    for i in range(len(ws)):
        if [w["text"].strip(",.") for w in ws[i:i + len(texts)]] == list(texts):
            return ws[i]["start"], ws[i + len(texts) - 1]["end"]
    raise AssertionError(texts)


def test_a_cutaway_shows_its_frames_over_its_words_and_the_speaker_elsewhere(renders, speech_clip, work_clip,
                                                                             jfk, tmp_path):
    film, items = renders[-18]
    first, second = items[0], items[1]
    cut = second["cutaways"][0]
    shown = frames(film)
    n1 = round((second["at"]) * RATE)  # where the second item's sound starts (its frames)
    lead = round(second["picture_shift"] * RATE)
    assert lead == 10  # lead: 0.4 at 25 fps
    # the two pictures the film may show at each frame: the speaker's (either cut's, the split edit moves the
    # picture's cut), and the cutaway's
    a = frames(speech_clip, first["from"], n1 + lead)
    b = frames(speech_clip, second["from"], len(shown) - n1)
    w = frames(work_clip, cut["from"], round(cut["duration"] * RATE) + 2)
    start, end = words("what", "your", "country")
    expect_first = int((start - second["from"]) * RATE) + n1
    expect_end = int(np.ceil((end - second["from"]) * RATE)) + n1
    kinds = []
    for i, frame in enumerate(shown[:n1 + round((second["to"] - second["from"]) * RATE)]):
        d = {"a": np.abs(frame - a[i]).mean() if i < len(a) else 1e9,
             "b": np.abs(frame - b[i - n1]).mean() if 0 <= i - n1 < len(b) else 1e9,
             "w": np.abs(frame - w[i - expect_first]).mean() if 0 <= i - expect_first < len(w) else 1e9}
        best = min(d, key=d.get)
        assert d[best] < 12, (i, d)  # each frame is one of the sources, not something else
        kinds.append(best)
    shown_w = [i for i, k in enumerate(kinds) if k == "w"]
    assert abs(shown_w[0] - expect_first) <= 1 and abs(shown_w[-1] + 1 - expect_end) <= 1, (shown_w, expect_first,
                                                                                           expect_end)
    assert shown_w == list(range(shown_w[0], shown_w[-1] + 1))  # one stretch
    # the J-cut: the first cut's picture stays on 0.4 s (10 frames) into the second cut's sound
    picture_cut = kinds.index("b")
    assert kinds[:picture_cut] == ["a"] * picture_cut and picture_cut - n1 == lead, (picture_cut, n1)
    assert set(kinds[picture_cut:shown_w[0]]) == {"b"} and set(kinds[shown_w[-1] + 1:]) == {"b"}

    # the speaker's sound goes on unchanged under the cutaway, and the second cut's sound starts at its cut,
    # the J-cut's lead before its picture
    film_sound, source = mono16k(film, tmp_path), mono16k(jfk, tmp_path)
    at = cut["at"]
    lag, ncc = best_alignment(film_sound, source, at + 0.1, second["from"] + at - second["at"] + 0.1, 1.5)
    assert abs(lag) <= 0.005 and ncc >= 0.7, (lag, ncc)
    before_ask = jfk_reference()["silences"][0][1]  # the onset of "ask", the second cut's first word
    lag, ncc = best_alignment(film_sound, source, second["at"] + before_ask - second["from"], before_ask, 0.4)
    assert abs(lag) <= 0.005 and ncc >= 0.6, (lag, ncc)


def test_a_cutaways_own_sound_sits_at_the_level_asked(renders, tmp_path):
    levels = {}
    for sound, (film, items) in renders.items():
        cut = items[1]["cutaways"][0]
        x = mono16k(film, tmp_path)
        inside = tone_db(x, cut["at"] + 0.1, cut["duration"] - 0.2)
        outside = tone_db(x, items[1]["at"] + 0.1, cut["at"] - items[1]["at"] - 0.2)
        speech = rms_db(x[int(items[1]["at"] * 16000):int((items[1]["at"] + items[1]["to"] - items[1]["from"])
                                                            * 16000)])
        assert outside < inside - 20, (outside, inside)  # its sound only while it is shown
        levels[sound] = inside - speech
    # the level asked: 12 dB apart, and about that far under the voice
    assert abs((levels[-6] - levels[-18]) - 12) <= 1.0, levels
    assert abs(levels[-18] - -18) <= 4, levels


def test_a_cut_down_keeps_a_cutaway_with_its_words_or_drops_it():
    """Pure logic: a cut placed at 1.6–3.62 s of its item keeps it whole while the item holds those words."""
    item = ClipItem.model_validate({"clip": "jfk", "from": 2.64, "to": 7.84, "cutaways": [
        {"clip": "work", "during": "what your country"}]})
    item = item.model_copy(update={"cutaways": [item.cutaways[0].model_copy(
        update={"at": Fraction(160, 100), "length": Fraction(202, 100)})]})
    whole = place(item, Fraction(25), 130)
    assert [(c.offset, c.frame_count) for c in whole] == [(40, 51)]
    kept = place(item.model_copy(update={"end": Fraction(675, 100)}), Fraction(25), 103)  # ends after "country"
    assert [(c.offset, c.frame_count) for c in kept] == [(40, 51)]
    assert place(item.model_copy(update={"end": Fraction(55, 10)}), Fraction(25), 72) == ()  # ends in "country"


@pytest.mark.parametrize("item, key, words", [
    ('    cutaways:\n      - clip: wrok\n        at: 0.5\n        for: 1', "cutaways[0].clip",
     ["unknown clip 'wrok'", "work"]),
    ('    cutaways:\n      - clip: work\n        from: 5\n        during: "what your country"', "cutaways[0].during",
     ["longer than its clip 'work'", "from: 3.98 or less"]),
    ('    cutaways:\n      - clip: work\n        from: 3\n        at: 0.5\n        for: 3.5', "cutaways[0].for",
     ["longer than its clip 'work'", "from: 2.50 or less"]),
    ('    cutaways:\n      - clip: work\n        at: 2\n        for: 4', "cutaways[0].for", ["item 5.20 s long"]),
    ('    cutaways:\n      - clip: work\n        during: "my fellow Americans"', "cutaways[0].during",
     ["outside this item", "words of its own item"]),
    ('    cutaways:\n      - clip: work\n        during: "what your town"', "cutaways[0].during",
     ["is not said in clip 'jfk'", "closest"]),
    ('    cutaways:\n      - clip: work\n        during: "what"\n        at: 1', "cutaways[0]",
     ["either 'during'", "not both"]),
    ("    lead: 6", "sequence[1].lead", ["lead 6 s", "or less"]),
    ("    tail: 2.5", "sequence[1].tail", ["tail 2.5 s", "or less"]),
])
def test_bad_cutaways_and_split_edits_stop_before_rendering(tmp_path, speech_clip, work_clip, pinned_cache, item,
                                                            key, words):
    spec = write(tmp_path, speech_clip, work_clip, item)
    result = run("render", str(spec), "--cache-dir", str(pinned_cache))
    assert result.exit_code == 2, result.output
    assert re.search(r"campaign\.yml:\d+:\d+: ", result.output) and key in result.output, result.output
    for w in words:
        assert w in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_after_a_caption_correction_the_cutaway_covers_the_same_words(tmp_path, speech_clip, work_clip,
                                                                      pinned_cache):
    """The words are re-timed by forced alignment (the real model) and their text changes ("country" is
    corrected to "nation"); the cutaway written with Whisper's wording still covers "what your …"."""
    from pipeline.load import load_campaign

    spec = write(tmp_path, speech_clip, work_clip, CUTAWAY.format(sound=-18))

    def covered(campaign) -> tuple[float, float]:
        item = campaign.spec.sequence[1]
        cut = item.cutaways[0]
        return float(item.start + cut.at), float(item.start + cut.at + cut.length)

    before = covered(load_campaign(spec, cache_dir=pinned_cache))
    assert before == pytest.approx(words("what", "your", "country"), abs=0.001)
    (tmp_path / "transcripts").mkdir()
    (tmp_path / "transcripts" / "jfk.srt").write_text(
        "1\n00:00:00,000 --> 00:00:11,000\nAnd so my fellow Americans, ask not what your nation can do for you, "
        "ask what you can do for your country.\n", encoding="utf-8")
    corrected = load_campaign(spec, cache_dir=pinned_cache)
    assert corrected.transcripts["jfk"].source == "corrected"
    after = covered(corrected)
    ws = corrected.transcripts["jfk"].words
    what = next(i for i, w in enumerate(ws) if w.text == "what")
    assert [w.text for w in ws[what:what + 3]] == ["what", "your", "nation"]
    assert after == pytest.approx((float(ws[what].start), float(ws[what + 2].end)), abs=0.001)
    # the same words, as the aligner times them: it starts inside Whisper's "what" (which ran over the pause
    # after "not"), and ends with the corrected "nation" where Whisper's "country" ended
    assert words("what")[0] <= after[0] < words("what")[1] and after[1] == pytest.approx(before[1], abs=0.15)
