"""Editing by what people say, a series from one spec, and the edit handed to an editor (issue 9).

Real speech (J. F. Kennedy's inaugural sentence, jfk.flac) muxed with a picture; real Whisper;
real renders, probed and transcribed again; OpenTimelineIO's real adapters.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from pipeline.cache import Cache
from pipeline.edit import find, normalise
from pipeline.probe import probe
from pipeline.transcribe import Transcriber

SPEC = """\
campaign: tale
title: Tale
language: en
clips:
  jfk:
    source: media/jfk.mp4
    person: John Kennedy
sequence:
{sequence}
cards:
  end:
    lines: ["Ask"]
    duration: 1
channels: [web]
overrides:
  web: {{width: 320, height: 180, poster: false}}
{versions}output: out
"""

QUOTE = "ask not what your country can do for you"


def write(tmp_path: Path, speech_clip: Path, sequence: str, versions: str = "") -> Path:
    (tmp_path / "media").mkdir(exist_ok=True)
    target = tmp_path / "media" / "jfk.mp4"
    if not target.exists():
        target.symlink_to(speech_clip)
    spec = tmp_path / "campaign.yml"
    spec.write_text(SPEC.format(sequence=sequence, versions=versions), encoding="utf-8")
    return spec


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_normalising_keeps_norwegian_letters():
    assert normalise("Hver dag – gjør jeg «en» FORSKJELL!") == ["hver", "dag", "gjør", "jeg", "en", "forskjell"]
    assert normalise("Blåbær og ØL") == ["blåbær", "og", "øl"]  # never folded to a/o
    assert normalise("e\u0301") == normalise("\u00e9")  # Unicode forms agree


def test_a_quote_is_found_where_it_is_said(speech_clip, jfk, cache_dir):
    transcriber = Transcriber(Cache(cache_dir))
    clip_words = transcriber.transcribe(speech_clip, "en")
    reference = transcriber.transcribe(jfk, "en")  # the recording itself, transcribed on its own
    found = find(clip_words, "Ask not what your country … for you")
    assert len(found) == 1
    passage = found[0]
    ref = find(reference, QUOTE)[0]
    assert abs(passage.start - ref.start) <= Fraction(15, 100) and abs(passage.end - ref.end) <= Fraction(15, 100)
    assert normalise(passage.text) == normalise(QUOTE)


def test_render_cut_by_quote_begins_and_ends_on_the_quote(tmp_path, speech_clip, cache_dir):
    spec = write(tmp_path, speech_clip, f'  - clip: jfk\n    says: "{QUOTE}"')
    result = run("render", str(spec), "--cache-dir", str(cache_dir), "--no-captions")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "tale"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    item = manifest["outputs"][0]["items"][0]
    assert item["says"] == QUOTE and 0 < item["from"] < item["to"] < 11
    heard = Transcriber(Cache(cache_dir)).transcribe(out / "web.mp4", "en")
    words = [w for word in heard.words for w in normalise(word.text)]
    assert words[0] == "ask" and words[-1] == "you", words
    assert len(words) <= len(QUOTE.split()) + 1, words  # nothing extra said


@pytest.mark.parametrize("sequence, words", [
    ('  - clip: jfk\n    says: "ask not what your town can do"', ["is not said in clip 'jfk'",
                                                               "the closest is 00:0", "ask not what your country"]),
    ('  - clip: jfk\n    says: "can do for"', ["is said 2 times", "1: 00:0", "2: 00:0", "occurrence: N"]),
    ('  - clip: jfk\n    says: "  ...  "', ["'says' is empty"]),
    ('  - clip: jfk\n    says: "ask not"\n    from: 1', ["either 'says'", "not both"]),
    ('  - clip: jfk\n    says: "can do for"\n    occurrence: 3', ["is said 2 time(s)", "not 3"]),
])
def test_quotes_that_cannot_be_cut_are_bad_input(tmp_path, speech_clip, cache_dir, sequence, words):
    spec = write(tmp_path, speech_clip, sequence)
    result = run("render", str(spec), "--cache-dir", str(cache_dir))
    assert result.exit_code == 2, result.output
    assert "campaign.yml:10:" in result.output  # the line of the says value (or its item)
    for w in words:
        assert w in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_occurrence_picks_the_place(tmp_path, speech_clip, cache_dir):
    spec = write(tmp_path, speech_clip, '  - clip: jfk\n    says: "can do for"\n    occurrence: 2')
    result = run("validate", str(spec), "--cache-dir", str(cache_dir))
    assert result.exit_code == 0, result.output


def test_paper_edit(tmp_path, speech_clip, cache_dir):
    spec = write(tmp_path, speech_clip, f'  - clip: jfk\n    says: "{QUOTE}"')
    result = run("transcripts", "show", str(spec), "--cache-dir", str(cache_dir), "-f", "md")
    assert result.exit_code == 0, result.output
    assert "## jfk — John Kennedy" in result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("- [")]
    assert lines and any(ln.startswith("- [x]") and "[used (in part): main]" in ln for ln in lines)
    assert all("`00:" in ln for ln in lines)


VERSIONS = """\
versions:
  v1: {{max_duration: {target}}}
  v2: {{max_duration: 3}}
  ask:
    sequence:
      - clip: jfk
        says: "ask not what your country"
      - card: end
  country:
    sequence:
      - clip: jfk
        says: "ask what you can do for your country"
      - card: end
"""

SERIES = """\
  - clip: jfk
    to: 2.5
    priority: 3
  - clip: jfk
    says: "ask not what your country can do for you"
    priority: 1
  - clip: jfk
    says: "ask what you can do for your country"
    priority: 2
  - card: end"""


def test_a_series_from_one_spec(tmp_path, speech_clip, cache_dir):
    from pipeline.transcribe import model_calls_total

    spec = write(tmp_path, speech_clip, SERIES, VERSIONS.format(target=7))
    fresh = tmp_path / "cache"
    fresh.mkdir()
    (fresh / "models").symlink_to(cache_dir / "models")
    before = model_calls_total()
    result = run("render", str(spec), "--cache-dir", str(fresh))
    assert result.exit_code == 0, result.output
    calls = model_calls_total() - before
    faces = len(list((fresh / "faces").rglob("*.json"))) if (fresh / "faces").exists() else 0
    print(f"4 versions + main, one clip: {calls} model run(s), {faces} face analysis(es)")
    assert calls == 1  # the one clip is transcribed once for quotes, captions and all five edits
    assert faces <= 1
    out = tmp_path / "out" / "tale"
    main_manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(main_manifest["versions"]) == {"v1", "v2", "ask", "country"}
    for name, target in (("v1", 7), ("v2", 3)):
        entry = json.loads((out / name / "manifest.json").read_text(encoding="utf-8"))["outputs"][0]
        assert entry["duration"] <= target  # never over the target
        assert entry["items"][-1]["card"] == "end"  # the end card is kept
        assert probe(out / name / "web.mp4").duration <= target
    v1 = json.loads((out / "v1" / "manifest.json").read_text(encoding="utf-8"))["outputs"][0]["items"]
    assert [i.get("says") for i in v1 if "clip" in i] == [QUOTE]  # priority 1 first
    assert (out / "main.otio").is_file() and (out / "ask" / "ask.otio").is_file()
    # the report names campaign/version/channel
    report = tmp_path / "report.json"
    run("render", str(spec), "--cache-dir", str(fresh), "--report", str(report), "-V", "ask")
    outputs = json.loads(report.read_text(encoding="utf-8"))["outputs"]
    assert [o["output"] for o in outputs] == ["tale/ask/web"] and outputs[0]["status"] == "unchanged"


def test_kept_cards_longer_than_the_target_are_bad_input(tmp_path, speech_clip, cache_dir):
    spec = write(tmp_path, speech_clip, SERIES, "versions:\n  tiny:\n    max_duration: 0.5\n")
    result = run("validate", str(spec), "--cache-dir", str(cache_dir))
    assert result.exit_code == 2
    assert "versions.tiny.max_duration" in result.output and "kept cards alone" in result.output
    assert "campaign.yml:" in result.output


@pytest.mark.parametrize("fmt", ["otio", "fcpxml", "xml", "edl"])
def test_export_round_trips(tmp_path, speech_clip, cache_dir, fmt):
    from pipeline.interchange import FORMATS, read

    spec = write(tmp_path, speech_clip, SERIES)
    result = run("render", str(spec), "--cache-dir", str(cache_dir), "--no-captions")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "tale" / "manifest.json").read_text(encoding="utf-8"))
    rendered = manifest["outputs"][0]
    path = tmp_path / f"edit.{FORMATS[fmt][1]}"
    result = run("export", str(spec), "-f", fmt, "-o", str(path), "--cache-dir", str(cache_dir))
    assert result.exit_code == 0, result.output
    rate = Fraction(rendered["fps"])
    back = read(path, fmt, rate)
    frame = 1 / float(rate)
    assert abs(back.duration().to_seconds() - rendered["duration"]) < frame / 2
    import opentimelineio as otio

    clips = [c for c in back.tracks[0] if isinstance(c, otio.schema.Clip) and not c.name.startswith("card")]
    cuts = [i for i in rendered["items"] if "clip" in i]
    assert len(clips) == len(cuts)
    for clip, cut in zip(clips, cuts, strict=True):
        start = clip.source_range.start_time.to_seconds()
        end = clip.source_range.end_time_exclusive().to_seconds()
        # in/out to the frame (the FCPXML reader reads a clip after a still one frame short: see below)
        assert abs(start - cut["from"]) < frame / 2, (fmt, clip.name, start, cut)
        assert abs(end - cut["to"]) < frame / 2 + (frame if fmt == "fcpxml" else 0), (fmt, clip.name, end, cut)
    if fmt == "fcpxml":
        # the file itself is exact: each clip's start and duration as written
        spine = next(ET.parse(path).getroot().iter("spine"))
        written = [e for e in spine if e.tag == "clip" and not e.get("name", "").startswith("card")]
        for element, cut in zip(written, cuts, strict=True):
            start = Fraction(element.get("start", "0s").rstrip("s"))
            length = Fraction(element.get("duration").rstrip("s"))
            assert abs(float(start) - cut["from"]) < frame / 2 and abs(float(start + length) - cut["to"]) < frame / 2
    if fmt == "otio":
        markers = back.tracks[0].markers
        assert markers and "country" in " ".join(m.name for m in markers).lower()
        meta = clips[0].metadata["rekrutt"]
        assert meta["person"] == "John Kennedy"
