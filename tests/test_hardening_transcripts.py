"""Corrected transcripts a user got wrong (issue 20): through the CLI, on the example's real clip.

A broken ``transcripts/<clip>.srt`` used to pass ``validate`` with time cuts and fail ``render``
later without a line (or with faster-whisper's IndexError); with a ``says:`` cut ``validate``
crashed. Now every such file is exit 2 with its file:line, in ``validate`` and before ``render``
writes anything; files with a byte-order mark are read; overlapping cues are warnings.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pysubs2
import pytest
from click.testing import CliRunner

from cli import main
from pipeline.cuefile import read_cue_file
from tests.conftest import ROOT

CLIP = ROOT / "assets" / "clips" / "anne.mp4"  # 10.92 s
GOOD = (ROOT / "campaigns" / "transcripts" / "anne.srt").read_text(encoding="utf-8")
# line 2: 00:00:00,210 --> 00:00:04,650   line 7: 00:00:05,030 --> 00:00:07,630   line 11: 00:00:08,030 --> ...
TIMES_2 = "00:00:05,030 --> 00:00:07,630"

SPEC = """\
campaign: t
title: T
language: no
clips:
  anne:
    source: clips/anne.mp4
    person: Anne Hansen
sequence:
  - clip: anne
{cut}
channels: [x]
overrides:
  x: {{width: 320, height: 180}}
output: out
"""
CUTS = {
    "time cut": "    from: 0.2\n    to: 4.6",
    "says cut": '    says: "Hver dag gjør jeg en forskjell for noen."',
}


def campaign(tmp_path: Path, cut: str, transcript: bytes) -> Path:
    (tmp_path / "clips").mkdir()
    shutil.copyfile(CLIP, tmp_path / "clips" / "anne.mp4")
    (tmp_path / "transcripts").mkdir()
    (tmp_path / "transcripts" / "anne.srt").write_bytes(transcript)
    spec = tmp_path / "campaign.yml"
    spec.write_text(SPEC.format(cut=CUTS[cut]), encoding="utf-8")
    return spec


def run(*args: str, cache: Path):
    return CliRunner().invoke(main, list(args), env={"REKRUTT_CACHE_DIR": str(cache)})


def no_traceback(result) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def srt(*cues: tuple[str, str, str]) -> str:
    return "\n".join(f"{i}\n{a} --> {b}\n{text}\n" for i, (a, b, text) in enumerate(cues, 1))


def ms(t: int) -> str:
    return pysubs2.formats.SubripFormat.ms_to_timestamp(t)


MANY = srt(*((ms(i * 250 % 10_000), ms(i * 250 % 10_000 + 200), "Hei og hå, dette er en setning fra intervjuet.")
             for i in range(40_000)))  # 40,000 cues, 3.5 MB

BAD = {  # example: (file's bytes, line the message must name, words it must hold)
    "broken times line": (GOOD.replace(TIMES_2, "00:00:5x,030 --> 00:00:07,630").encode(), 7,
                          ["not a cue's times", "HH:MM:SS,mmm --> HH:MM:SS,mmm"]),
    "cue number without times": (GOOD.replace(TIMES_2 + "\n", "").encode(), 7, ["cue 2 has no times"]),
    "minutes past 59": (GOOD.replace(TIMES_2, "00:00:05,030 --> 00:00:75,630").encode(), 7, ["is not a time"]),
    "empty": (b"", 1, ["empty"]),
    "text without times": ("Jeg heter Anne.\nHver dag gjør jeg en forskjell.\n".encode(), 1,
                           ["no cues found: no line holds a cue's times"]),
    "blank lines only": (b"\n \n\n", 1, ["empty"]),
    "times without text": (b"1\n00:00:01,000 --> 00:00:02,000\n\n", 2, ["no cue has any text"]),
    "binary bytes": (bytes(range(256)) * 8, 1, ["not a text file", "binary"]),
    "a video saved as .srt": (CLIP.read_bytes()[:4096], 1, ["not a text file"]),
    "UTF-16 without a byte-order mark": (GOOD.encode("utf-16-le"), 1, ["UTF-16 without a byte-order mark"]),
    "Latin-1": (GOOD.encode("latin-1"), 4, ["not UTF-8", "save it as UTF-8"]),
    "ends before it starts": (GOOD.replace(TIMES_2, "00:00:07,630 --> 00:00:05,030").encode(), 7,
                              ["ends (00:00:05,030) before it starts (00:00:07,630)"]),
    "WebVTT, ends before it starts": (("WEBVTT\n\n" + GOOD.replace(",", ".").replace(
        TIMES_2.replace(",", "."), "00:00:07.630 --> 00:00:05.030")).encode(), 9, ["before it starts"]),
    "starts beyond the clip": ((GOOD + "\n4\n00:00:20,000 --> 00:00:22,000\nEt ord til.\n").encode(), 15,
                               ["starts at 00:00:20,000, after the clip's end (00:00:10,920)"]),
    "ends beyond the clip": (GOOD.replace("00:00:09,750", "00:00:30,000").encode(), 11,
                             ["ends at 00:00:30,000, after the clip's end"]),
    "too many cues": (MANY.encode(), 166, ["40,000 cues", "the limit is 41", "2 a second of clip"]),
    "too much text": (srt(("00:00:00,200", "00:00:03,000", "ord " * 75), ("00:00:03,500", "00:00:06,000", "ord " * 75),
                          ("00:00:06,500", "00:00:09,000", "ord " * 75)).encode(), 10,
                      ["more text than a clip of 10.9 s holds", "the limit is 827 characters"]),
}


@pytest.mark.parametrize("command", ["validate", "render"])
@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("example", list(BAD))
def test_a_broken_transcript_is_bad_input_with_its_line(tmp_path, cache_dir, example, cut, command):
    content, line, words = BAD[example]
    spec = campaign(tmp_path, cut, content)
    started = time.monotonic()
    result = run(command, str(spec), cache=cache_dir)
    no_traceback(result)
    assert result.exit_code == 2, result.output[-3000:]
    assert f"transcripts/anne.srt:{line}: " in result.output, result.output[-3000:]
    for w in words:
        assert w in result.output, result.output[-3000:]
    assert "nothing was rendered" in result.output
    assert not (tmp_path / "out").exists()
    assert time.monotonic() - started < 60  # a guard against aligning 40,000 cues (minutes), not a benchmark


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])  # Python writes each with its byte-order mark
def test_a_transcript_with_a_byte_order_mark_is_read_and_aligned(tmp_path, cache_dir, model_dir, encoding):
    corrected = GOOD.replace("for noen", "for naboen")  # a word Whisper never heard: only the file has it
    spec = campaign(tmp_path, "says cut", corrected.encode(encoding))
    spec.write_text(spec.read_text(encoding="utf-8").replace("for noen.", "for naboen."), encoding="utf-8")
    assert run("validate", str(spec), cache=cache_dir).exit_code == 0
    result = run("render", str(spec), cache=cache_dir)
    no_traceback(result)
    assert result.exit_code == 0, result.output[-3000:]
    out = tmp_path / "out" / "t"
    item = json.loads((out / "manifest.json").read_text())["outputs"][0]["items"][0]
    assert item["says"].endswith("for naboen.")
    # the quote's words were timed by the aligner inside cue 2 (00:00:05,030 --> 00:00:07,630)
    assert 4.5 <= item["from"] <= 5.3 and 7.2 <= item["to"] <= 8.2, item
    captions = " ".join(e.plaintext for e in pysubs2.load(str(out / "x.nb.srt")).events)
    assert "naboen" in captions


@pytest.mark.parametrize("cut", list(CUTS))
def test_overlapping_cues_warn_naming_both_lines(tmp_path, cache_dir, model_dir, cut):
    overlapping = GOOD.replace(TIMES_2, "00:00:04,000 --> 00:00:07,630")
    spec = campaign(tmp_path, cut, overlapping.encode())
    result = run("validate", str(spec), cache=cache_dir)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output
    assert "transcripts/anne.srt:7: the cue 00:00:04,000 --> 00:00:07,630 overlaps the cue at line 2 " \
           "(00:00:00,210 --> 00:00:04,650)" in result.output, result.output


def test_a_real_interview_of_hours_fits_the_limits(tmp_path):
    # three hours of speech as Whisper's export gives it: a 3 s cue of ~45 characters every 3 s
    hours = srt(*((ms(i * 3000), ms(i * 3000 + 2800), "Og da sa jeg til sjefen at dette får vi til.")
                  for i in range(3 * 1200)))
    path = tmp_path / "interview.srt"
    path.write_text(hours, encoding="utf-8")
    cues = read_cue_file(path, duration=3 * 3600).cues
    assert len(cues) == 3600 and cues[-1].line == 4 * 3599 + 2


def test_a_broken_transcript_is_replaced_as_the_message_says(tmp_path, cache_dir, model_dir):
    spec = campaign(tmp_path, "says cut", BAD["a video saved as .srt"][0])
    result = run("validate", str(spec), cache=cache_dir)
    assert result.exit_code == 2 and "delete it and run python cli.py transcripts export SPEC" in result.output
    # export still runs beside a broken file, and keeps it (it may hold corrections) ...
    result = run("transcripts", "export", str(spec), cache=cache_dir)
    no_traceback(result)
    assert result.exit_code == 0 and "kept" in result.output, result.output
    # ... and writes Whisper's text once it is deleted: a file the check accepts
    (tmp_path / "transcripts" / "anne.srt").unlink()
    result = run("transcripts", "export", str(spec), cache=cache_dir)
    assert result.exit_code == 0 and "wrote" in result.output, result.output
    assert read_cue_file(tmp_path / "transcripts" / "anne.srt", duration=10).cues
