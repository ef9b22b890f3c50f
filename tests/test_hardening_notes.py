"""`review --notes` with files the page did not write, or wrote with surprising content (issue 20).

A notes file of the wrong shape is refused (exit 2) naming the file, the line and the key path of
each bad item, before anything is recorded; note times are never negative, NaN or infinite, and a
time past its output's end is flagged; notes and approvals for outputs the manifest does not list
are warned about by name; a note's line breaks and control characters never break the printout.
"""

from __future__ import annotations

import json
import unicodedata
from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.timecode import clock, short_clock
from tests.conftest import make_clip
from tests.test_hostile import no_traceback, run, spec_text


@pytest.fixture(scope="module")
def site(tmp_path_factory, cache_dir) -> Path:
    """A campaign rendered once (channels x and web, 2.52 s each), without captions (no Whisper)."""
    root = tmp_path_factory.mktemp("notes-site")
    (root / "clips").mkdir()
    make_clip(root / "clips" / "anne.mp4", seconds=3.0)
    spec = root / "campaign.yml"
    spec.write_text(spec_text() + "subtitles:\n  enabled: false\n", encoding="utf-8")
    result = run("render", str(spec), cache=cache_dir)
    assert result.exit_code == 0, result.output
    return root


def manifest_of(site: Path) -> dict:
    return json.loads((site / "out" / "hostile" / "manifest.json").read_text(encoding="utf-8"))


def fingerprint(site: Path, channel: str) -> str:
    return next(o for o in manifest_of(site)["outputs"] if o["channel"] == channel)["fingerprint"]


def note(channel="web", at=1.0, text="Bytt sluttkortet", version="main") -> dict:
    return {"version": version, "channel": channel, "at": at, "text": text}


def notes_file(tmp_path: Path, doc: object | str) -> Path:
    """A notes file laid out as the page writes it (JSON.stringify with 2 spaces), or the text given."""
    path = tmp_path / "review-notes.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def review(site: Path, path: Path, cache_dir: Path):
    return run("review", str(site / "campaign.yml"), "--notes", str(path), cache=cache_dir)


def notes_lines(output: str) -> list[str]:
    """The printed list of notes (stdout and stderr are mixed: drop the warnings and the page line)."""
    return [line for line in output.splitlines() if not line.startswith(("warning: ", "review page: ", "approved: "))]


def test_the_pages_own_file_validates_and_is_recorded(site, tmp_path, cache_dir):
    # exactly what review.js downloads: campaign, generated, notes {version, channel, at, text} and approvals
    # {by, date, fingerprint, channel, version} keyed by the output's id
    doc = {"campaign": "hostile", "generated": "2026-03-01T10:00:00.000Z", "notes": [note(at=2.5)],
           "approvals": {"main--x": {"by": "Kari Nordmann", "date": "2026-03-01", "fingerprint": fingerprint(site, "x"),
                                     "channel": "x", "version": "main"}}}
    result = review(site, notes_file(tmp_path, doc), cache_dir)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "hostile/web at 00:02.500: Bytt sluttkortet" in result.output
    assert "approved: hostile/x" in result.output and "warning" not in result.output
    assert next(o for o in manifest_of(site)["outputs"] if o["channel"] == "x")["approved"]["by"] == "Kari Nordmann"


@pytest.mark.parametrize("doc, line, words", [
    ({"notes": 5}, 2, ["notes: should be a list of notes", "not a number"]),
    ({"notes": ["fix the end card"]}, 3, ["notes[0]: should be a note", '"channel": "web"', "not text"]),
    ({"notes": [note()], "approvals": 5}, 10, ["approvals: should be an object of approvals", "not a number"]),
    ({"notes": [note(), {"version": "main", "chanel": "web", "at": 1, "text": "x"}]}, 11,
     ["notes[1].chanel: unknown key 'chanel'", "did you mean 'channel'?"]),
    ({"notes": [note(), {"version": "main", "at": 1, "text": "x"}]}, 9,
     ["notes[1].channel: this key is missing", "the channel of the output"]),
    ({"notes": [note(text=5)]}, 7, ["notes[0].text: should be text in quotes, not a number"]),
    ({"notes": [], "approvals": {"main--web": {"by": "", "fingerprint": "f"}}}, 5,
     ["approvals.main--web.by: is empty", "write who approved it"]),
    ({"approvals": {}}, 1, ["this key is missing", "the notes, a list"]),
    ([note()], 1, ["should be an object", '"notes": [...]', "not a list"]),
    ('{"notes": [\n  {"channel": "web",\n}', 3, ["not JSON", "use the review-notes.json the page downloaded"]),
], ids=["notes-number", "notes-strings", "approvals-number", "misspelled-key", "missing-channel", "text-number",
        "empty-approver", "no-notes", "top-list", "not-json"])
def test_a_file_of_the_wrong_shape_is_refused_with_its_place(site, tmp_path, cache_dir, doc, line, words):
    before = manifest_of(site)
    path = notes_file(tmp_path, doc)
    result = review(site, path, cache_dir)
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert f"{path}:{line}:" in result.output  # the file and the line of the bad item
    for w in words:
        assert w in result.output
    assert manifest_of(site) == before  # nothing recorded from a file that is partly wrong


@pytest.mark.parametrize("at, words", [
    ("-5", ["a time cannot be negative (-5 s)"]),
    ('"nan"', ["'nan' is not a time"]),
    ("NaN", ["nan is not a time"]),  # JSON's NaN literal, which Python's json reads
    ("Infinity", ["inf is not a time"]),
    ("1e400", ["inf is not a time"]),
    ("null", ["no time (null)"]),
    ("true", ["got a boolean"]),
    ('"soon"', ["'soon' is not a time"]),
])
def test_a_time_that_is_no_second_of_the_output_is_refused(site, tmp_path, cache_dir, at, words):
    # the second note's time as JSON text (NaN and Infinity are what Python's json.dumps writes for floats)
    text = json.dumps({"notes": [note(at=0), note(at=1)]}, indent=2).replace('"at": 1', f'"at": {at}')
    path = notes_file(tmp_path, text)
    result = review(site, path, cache_dir)
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert f"{path}:12:" in result.output and "notes[1].at:" in result.output
    for w in words:
        assert w in result.output


def test_a_time_past_the_end_is_flagged_and_hours_are_shown(site, tmp_path, cache_dir):
    doc = {"notes": [note(at=2.5, text="near the end"), note(at=3725, text="an hour in"),
                     note(at="00:02.52", text="at the end")]}
    result = review(site, notes_file(tmp_path, doc), cache_dir)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert "hostile/web at 00:02.500: near the end" in result.output
    assert "hostile/web at 00:02.520: at the end" in result.output  # the output's last instant is no warning
    assert "hostile/web at 01:02:05.000 [after the end, 00:02.520]: an hour in" in result.output
    assert "warning: a note on hostile/web is at 01:02:05.000, after the output's end (00:02.520)" in result.output
    assert result.output.count("warning:") == 1


def test_notes_and_approvals_for_outputs_not_in_the_manifest_are_named(site, tmp_path, cache_dir):
    before = manifest_of(site)
    doc = {"campaign": "another", "notes": [note("tiktok"), note("tiktok", 2), note(version="short"), note("x")],
           "approvals": {"main--tiktok": {"by": "Ola", "fingerprint": "f"},
                         "main--web": {"by": "Kari", "fingerprint": "an earlier render"}}}
    result = review(site, notes_file(tmp_path, doc), cache_dir)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert ("warning: notes for outputs that are not in the manifest: hostile/tiktok (2 notes), "
            "hostile/short/web (1 note); the outputs there: hostile/x, hostile/web") in result.output
    assert "warning: an approval for hostile/tiktok, which is not in the manifest, was not recorded" in result.output
    assert "the approval of hostile/web by Kari was not recorded: the output changed" in result.output
    assert "campaign 'another', not 'hostile'" in result.output
    # the notes are listed all the same, the unknown ones marked
    assert "hostile/tiktok at 00:02.000 [not in the manifest]: Bytt sluttkortet" in result.output
    assert "hostile/x at 00:01.000: Bytt sluttkortet" in result.output
    assert "approved:" not in result.output and manifest_of(site) == before


def test_line_breaks_and_control_characters_cannot_break_the_printout(site, tmp_path, cache_dir):
    hostile = "første linje\nandre\u001b[2J\u001b[31mrød\r\nCR\rtredje\u2028sep\ttab \u202eexe.gnp slutt"
    doc = {"notes": [note("x", 1, hostile) | {"author": "Kari\nNordmann\u0007"}, note("x", 2, "neste")]}
    result = review(site, notes_file(tmp_path, doc), cache_dir)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert notes_lines(result.output) == [
        "hostile/x at 00:01.000 (Kari\\nNordmann\\x07): første linje",
        "    andre\\x1b[2J\\x1b[31mrød",
        "    CR",
        "    tredje",
        "    sep\\ttab \\u202eexe.gnp slutt",
        "hostile/x at 00:02.000: neste",
    ]
    assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in result.output)


# --------------------------------------------------------------------------- the time formatting

@pytest.mark.parametrize("t, long, short", [
    (Fraction(-5), "-00:00:05.000", "-00:05.000"),  # was -1:59:55.001 and 59:55.001 (wrapped around)
    (Fraction(-1, 2000), "-00:00:00.001", "-00:00.001"),  # half a millisecond before zero rounds away from it
    (Fraction(-1, 10000), "00:00:00.000", "00:00.000"),  # no "-0"
    (Fraction(3725), "01:02:05.000", "01:02:05.000"),  # an hour or more keeps its hours
    (Fraction(35999995, 10000), "01:00:00.000", "01:00:00.000"),  # rounds up into the hour
    (Fraction(5999995, 100000), "00:01:00.000", "01:00.000"),
    (Fraction(360000), "100:00:00.000", "100:00:00.000"),
    (Fraction(1, 3), "00:00:00.333", "00:00.333"),
])
def test_clock_signs_negative_times_and_keeps_hours(t, long, short):
    assert clock(t) == long
    assert short_clock(t) == short
