"""Caption styles on real speech (jfk.flac): social (one short line), highlight (the spoken word lit up).

The highlight test compares every lit word's interval in the burned ASS file with the word's own
time from the transcript (moved onto the edit), and renders the film to look for the lit colour.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pysubs2
import pytest
from click.testing import CliRunner

from cli import main
from pipeline.cache import Cache
from pipeline.campaign import OutputKey
from pipeline.captions import check, words_in_cut
from pipeline.job import output_spec
from pipeline.load import load_campaign
from pipeline.subtitles import HIGHLIGHT_COLOR, SOCIAL_MAX_CHARS, CaptionMaker, caption_style, social_rules
from pipeline.transcribe import Transcriber

pytestmark = pytest.mark.slow

SPEC = """\
campaign: stil
title: Stil
language: en
clips:
  jfk: {{source: jfk.mp4, person: John Kennedy}}
sequence:
  - clip: jfk
    from: 0.3
    to: 11
channels: [tiktok, instagram-reels, youtube]
overrides:
  tiktok: {{width: 360, height: 640, poster: false, caption_style: {tiktok}}}
  instagram-reels: {{width: 360, height: 640, poster: false}}
  youtube: {{width: 320, height: 180, poster: false}}
lower_thirds: false
audio: off
"""


@pytest.fixture
def campaign(tmp_path, speech_clip, cache_dir, model_dir):
    (tmp_path / "jfk.mp4").symlink_to(speech_clip)
    spec = tmp_path / "c.yml"
    spec.write_text(SPEC.format(tiktok="highlight"), encoding="utf-8")
    return load_campaign(spec, cache_dir=cache_dir)


def _track(campaign, channel: str, cache_dir: Path, work: Path):
    maker = CaptionMaker(campaign, work, Transcriber(Cache(cache_dir)))
    maker.prepare()
    job = output_spec(campaign, OutputKey(None, channel))
    return maker, job.timeline, maker.for_output(job, work)


def test_social_is_one_short_line_and_sidecars_stay_standard(campaign, cache_dir, tmp_path):
    assert campaign.preset("instagram-reels").caption_style == "social"  # the channel's default
    assert campaign.preset("youtube").caption_style == "standard"
    maker, timeline, track = _track(campaign, "instagram-reels", cache_dir, tmp_path)
    burned = pysubs2.load(str(track.burn_in))
    lines = [e.plaintext for e in burned.events]
    assert lines and all("\n" not in t and len(t) <= SOCIAL_MAX_CHARS for t in lines), lines
    assert len(lines) > len(track.tracks["en"])  # shorter cues than the standard ones
    # the same words, in order, nothing lost
    assert " ".join(lines).split() == " ".join(c.text for c in track.tracks["en"]).split()
    # the social font is larger than the standard one
    assert burned.styles["Default"].fontsize > 1.3 * round(min(640 * 0.05, 360 * 0.04))
    # sidecars keep the standard rules: up to two lines of 42
    assert any(len(c.lines) == 2 or len(c.text) > SOCIAL_MAX_CHARS for c in track.tracks["en"])
    style = caption_style(campaign.preset("instagram-reels"), social=True)
    rules = social_rules(timeline.rate, style.max_chars)
    assert not check(maker._tracks(timeline, rules, ("John Kennedy",))["en"], rules).fast  # none reads too fast


def test_highlight_lights_each_word_when_it_is_said(campaign, cache_dir, tmp_path):
    maker, timeline, track = _track(campaign, "tiktok", cache_dir, tmp_path)
    frame = 1 / float(timeline.rate)
    seg = timeline.clip_segments()[0]
    words = words_in_cut(maker.transcripts["en"]["jfk"], seg)
    style = caption_style(campaign.preset("tiktok"), social=True)
    cues = maker._tracks(timeline, social_rules(timeline.rate, style.max_chars), ("John Kennedy",))["en"]
    # a word is lit while it is said and its cue is on screen (a cue may end two frames before the next)
    shown = {id(w): cue.end for cue in cues for w in cue.words}
    assert len(shown) == len(words)
    ends = [min(w.end, cue.end) for cue in cues for w in cue.words]
    r, g, b = HIGHLIGHT_COLOR
    lit_tag = f"\\1c&H{b:02X}{g:02X}{r:02X}&"
    lit = []
    for e in pysubs2.load(str(track.burn_in)).events:
        assert e.text.count(lit_tag) <= 1  # never two words lit at once in one event
        if lit_tag in e.text:
            word = e.text.split(lit_tag + "}", 1)[1].split("{", 1)[0]
            lit.append((e.start / 1000, e.end / 1000, word))
    assert len(lit) == len(words), (len(lit), len(words))
    for (start, end, text), word, until in zip(lit, words, ends, strict=True):
        assert text == word.text
        assert abs(start - float(word.start)) <= frame and abs(end - float(until)) <= frame, (text, start, end)
    # ... and no two lit intervals overlap
    assert all(a[1] <= b[0] + 1e-9 for a, b in zip(lit, lit[1:], strict=False))


def test_highlight_is_burned_in(campaign, cache_dir, tmp_path):
    result = CliRunner().invoke(main, ["render", str(tmp_path / "c.yml"), "-c", "tiktok", "-c", "youtube",
                                       "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "stil"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {o["channel"] for o in manifest["outputs"]} == {"tiktok", "youtube"}
    maker, timeline, track = _track(campaign, "tiktok", cache_dir, tmp_path / "w")
    seg = timeline.clip_segments()[0]
    words = [w for w in words_in_cut(maker.transcripts["en"]["jfk"], seg) if w.end - w.start >= Fraction(1, 5)]
    mid = float(words[len(words) // 2].start + words[len(words) // 2].end) / 2
    target = np.array(HIGHLIGHT_COLOR, dtype=float)
    with av.open(str(out / "tiktok.mp4")) as c:
        picture = next(f.to_ndarray(format="rgb24") for f in c.decode(video=0) if f.time >= mid)
    # the caption box: the dark block in the lower half (the test picture itself has no black)
    lower = picture[picture.shape[0] // 2:]
    ys, xs = np.nonzero(lower.astype(int).sum(axis=2) < 60)
    assert len(ys) > 200, "no caption box"
    box = lower[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(float)
    lit = (np.abs(box - target).sum(axis=2) < 90).sum()
    white = (box.min(axis=2) > 200).sum()
    assert lit > 20 and white > lit, (lit, white)  # one word lit, the rest of the line white
    from PIL import Image

    Image.fromarray(picture).save(tmp_path / "highlight.png")
