"""Captions through whole renders: cut-aware timing, burn-in, sidecars, corrections, translation."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pysubs2
import pytest
from click.testing import CliRunner
from rapidfuzz.distance import Levenshtein

from cli import main
from pipeline.cache import Cache
from pipeline.edit import normalise
from pipeline.transcribe import Transcriber
from tests.conftest import ff, pinned_transcript

SPEC = """\
campaign: tale
title: Tale
language: en
clips:
  jfk:
    source: media/jfk.mp4
    person: John Kennedy
sequence:
  - card: intro
  - clip: jfk
    from: 2.5
    to: 9.0
cards:
  intro:
    lines: ["Ask"]
    duration: 1
channels: [youtube, tiktok, web]
overrides:
  youtube: {width: 320, height: 180}
  web: {width: 320, height: 180, captions: both}
  tiktok: {width: 360, height: 640}
output: out
"""

CUT_IN, CUT_OUT, CARD = 2.5, 9.0, 1.0
CUT_FRAMES = 163  # 6.5 s at 25 fps, rounded to whole frames


def entries(cache_dir: Path, kind: str) -> int:
    return len(list((cache_dir / kind).rglob("*.json"))) if (cache_dir / kind).exists() else 0


def render(spec: Path, cache_dir: Path) -> dict:
    result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    return json.loads((spec.parent / "out" / "tale" / "manifest.json").read_text())


def frame_at(path: Path, t: float) -> np.ndarray:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        for frame in c.decode(stream):
            if frame.time >= t:
                return frame.to_ndarray(format="gray").astype(int)
    raise AssertionError(f"no frame at {t}")


@pytest.fixture(scope="module")
def campaign(tmp_path_factory, speech_clip) -> Path:
    root = tmp_path_factory.mktemp("tale")
    (root / "media").mkdir()
    (root / "media" / "jfk.mp4").symlink_to(speech_clip)
    spec = root / "tale.yml"
    spec.write_text(SPEC, encoding="utf-8")
    return spec


@pytest.fixture(scope="module")
def first_render(campaign, cache_dir):
    manifest = render(campaign, cache_dir)
    out = campaign.parent / "out" / "tale"
    # keep the first burned frame for comparison with the corrected render
    return manifest, frame_at(out / "tiktok.mp4", CARD + 3.0)


def test_sidecars_follow_the_edited_timeline(campaign, cache_dir, first_render, speech_clip):
    manifest, _ = first_render
    out = campaign.parent / "out" / "tale"
    youtube = next(o for o in manifest["outputs"] if o["channel"] == "youtube")
    assert youtube["extras"]["captions.en.srt"] == "youtube.en.srt"
    subs = pysubs2.load(str(out / "youtube.en.srt"))
    text = " ".join(e.plaintext.replace("\n", " ") for e in subs.events)
    # the sidecar says exactly the words the clip's transcript has inside the cut (most of the word inside),
    # whatever Whisper heard on this CPU; none spoken before the cut ("Americans" ends at 2.1 s)
    words = Transcriber(Cache(cache_dir)).transcribe(speech_clip, "en").words
    kept = [w for w in words if min(w.end, CUT_OUT) - max(w.start, CUT_IN) > (w.end - w.start) / 2]
    assert normalise(text) == [t for w in kept for t in normalise(w.text)], (text, kept)
    assert all(w.end > CUT_IN for w in kept)
    # ... and they are the reference's words in the cut, within a word or two of what this CPU heard
    reference = [t for w in pinned_transcript().words if CUT_IN <= w.start and w.end <= CUT_OUT
                 for t in normalise(w.text)]
    assert Levenshtein.distance(normalise(text), reference) <= 2, text
    # the first kept word, moved onto the output timeline
    first = next(w for w in words if w.start >= CUT_IN - 0.1)
    assert abs(subs.events[0].start / 1000 - (first.start - CUT_IN + CARD)) <= 0.1
    last = [w for w in words if w.end <= CUT_OUT + 0.1][-1]
    assert last.end - CUT_IN + CARD - 0.1 <= subs.events[-1].end / 1000
    for e in subs.events:
        assert e.start / 1000 >= CARD - 0.001  # nothing on the card
        assert e.end / 1000 <= CARD + CUT_FRAMES / 25 + 0.001  # nor past the cut (163 frames at 25 fps)
    vtt = (out / "youtube.en.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT")
    assert normalise(" ".join(e.plaintext for e in pysubs2.SSAFile.from_string(vtt).events)) == normalise(text)
    assert '<track kind="captions" src="web.en.vtt" srclang="en"' in (out / "web.html").read_text()


def test_burn_in_only_where_the_platform_takes_no_upload(campaign, first_render):
    manifest, _ = first_render
    by = {o["channel"]: o["extras"] for o in manifest["outputs"]}
    burned = {o["channel"]: o["captions_burned"] for o in manifest["outputs"]}
    assert burned["tiktok"] == "en"
    assert not any(k.startswith("captions.") for k in by["tiktok"])
    assert burned["youtube"] == ""
    # a spec can ask for both per channel
    assert burned["web"] == "en" and by["web"]["captions.en.vtt"] == "web.en.vtt"


def test_burned_captions_sit_in_the_safe_area(campaign, cache_dir, first_render):
    """The pixels that burning changes (against the same render without captions) lie in the safe area."""
    from pipeline.channels import PRESETS

    out = campaign.parent / "out" / "tale"
    plain_dir = campaign.parent / "plain"
    result = CliRunner().invoke(main, ["render", str(campaign), "--no-captions", "-c", "tiktok",
                                       "--out", str(plain_dir), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    with_text = frame_at(out / "tiktok.mp4", CARD + 3.0)
    plain = frame_at(plain_dir / "tale" / "tiktok.mp4", CARD + 3.0)
    changed = np.argwhere(np.abs(with_text - plain) > 40)
    assert len(changed) > 200  # there are captions
    h, w = with_text.shape
    x0, y0, x1, y1 = PRESETS["tiktok"].safe_area.box(w, h)
    assert y0 <= changed[:, 0].min() and changed[:, 0].max() <= y1
    assert x0 <= changed[:, 1].min() and changed[:, 1].max() <= x1
    # and nothing is burned over the intro card
    assert np.abs(frame_at(out / "tiktok.mp4", 0.5) - frame_at(plain_dir / "tale" / "tiktok.mp4", 0.5)).max() < 40


def test_corrected_transcript_changes_text_without_transcribing(campaign, cache_dir, first_render):
    _, before = first_render
    transcripts = campaign.parent / "transcripts"
    transcripts.mkdir(exist_ok=True)
    (transcripts / "jfk.srt").write_text(
        "1\n00:00:00,000 --> 00:00:03,000\nAnd so my fellow-Americans,\n\n"
        "2\n00:00:03,000 --> 00:00:11,000\nask not what your municipality can-do for you,\n"
        "ask what you can do for your home-town.\n", encoding="utf-8")
    made = entries(cache_dir, "transcripts"), entries(cache_dir, "alignments")
    render(campaign, cache_dir)
    assert entries(cache_dir, "transcripts") == made[0]  # nothing transcribed again
    assert entries(cache_dir, "alignments") == made[1] + 1  # the edit was re-timed once
    out = campaign.parent / "out" / "tale"
    text = " ".join(e.plaintext for e in pysubs2.load(str(out / "youtube.en.srt")).events)
    assert "municipality" in text and "country" not in text
    # the corrected text exactly as written: no space comes back into a hyphenated word
    assert "can-do for you," in text and "can -do" not in text
    after = frame_at(out / "tiktok.mp4", CARD + 3.0)
    assert (np.abs(after - before) > 40).sum() > 100  # the burned words changed
    # a third render runs no model at all
    made = entries(cache_dir, "transcripts"), entries(cache_dir, "alignments")
    render(campaign, cache_dir)
    assert (entries(cache_dir, "transcripts"), entries(cache_dir, "alignments")) == made


def test_translation_track(tmp_path, cache_dir, erna):
    (tmp_path / "media").mkdir()
    ff("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-ss", "30", "-t", "12", "-i", str(erna),
       "-map", "0:v", "-map", "1:a", "-t", "12", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
       str(tmp_path / "media" / "erna.mp4"))
    spec = tmp_path / "oversatt.yml"
    spec.write_text(SPEC.replace("language: en", "language: nb")
                    .replace("media/jfk.mp4", "media/erna.mp4").replace("from: 2.5", "from: 0")
                    .replace("to: 9.0", "to: 12").replace("[youtube, tiktok, web]", "[youtube]")
                    .replace("  tiktok: {width: 360, height: 640}\n", "")
                    .replace("  web: {width: 320, height: 180, captions: both}\n", "")
                    + "subtitles:\n  translate: [en]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "tale"
    nb = " ".join(e.plaintext for e in pysubs2.load(str(out / "youtube.nb.srt")).events)
    en = " ".join(e.plaintext for e in pysubs2.load(str(out / "youtube.en.srt")).events)
    assert nb and en and nb != en
    english = {"the", "and", "to", "of", "is", "that", "we", "it", "in", "a"}
    assert len(english & set(en.lower().replace(",", " ").replace(".", " ").split())) >= 2
