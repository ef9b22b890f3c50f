"""Corrected transcripts: reading a cue file (SRT, WebVTT or ASS) and checking it whole.

A corrected transcript (``transcripts/<clip>.srt``) is hand-edited text that the aligner
re-times inside each cue's window, so every cue must be a real stretch of the clip.
:func:`read_cue_file` reads the file once and reports every problem with its line:
bytes that are not text, an encoding other than UTF-8 (UTF-8 and UTF-16 files with a
byte-order mark are read as they are), lines pysubs2 would silently fold into the
previous cue's text, no cues, a cue that ends before it starts or lies beyond the clip,
and more cues or text than the clip can hold. Overlapping cues are warnings.

pysubs2 parses the cues (text, tags, formats) but keeps no line numbers, so a light
scan of the raw lines finds each cue's line with pysubs2's own timestamp pattern: its
SRT/WebVTT reader makes one event of each line holding two timestamps, in file order,
and its ASS reader one of each ``Dialogue:``/``Comment:`` line.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pysubs2
from pysubs2.formats import get_format_class

from .errors import SpecError, SpecProblem
from .timecode import Time, clock

#: Formats a corrected transcript may be in (pysubs2 format ids).
FORMATS = ("srt", "vtt", "ass", "ssa")

#: How many cues, and characters of text, a second of clip may hold. Speech runs at about
#: 15 characters a second (the captions' reading limit is 17) and Whisper's cues last 2-5 s,
#: so a real interview of a few hours is far inside these; a file past them is not this
#: clip's transcript (a 40,000-cue file kept the aligner busy for more than 5 minutes on a 10 s clip).
MAX_CUES_PER_SECOND = 2
MAX_CHARS_PER_SECOND = 30
#: allowances on top, so that a short clip's transcript is not held to a handful of cues
CUE_ALLOWANCE = 20
CHAR_ALLOWANCE = 500
#: no transcript of speech comes near this size (a day of speech is ~2 MB); bigger is not read at all
MAX_BYTES = 32 * 1024 * 1024
#: a cue may end this far past the clip's end (Whisper's times are on the sound, which may run a little longer)
END_SLACK = Fraction(1, 2)
#: problems listed for one file; the rest are counted
MAX_PROBLEMS = 20

HINT_TIMES = "a cue is a number, a line 'HH:MM:SS,mmm --> HH:MM:SS,mmm', its text and a blank line"
#: what to do with a file that cannot be used (``transcripts export`` keeps existing files: it must be deleted first)
_NEW = "delete it and run python cli.py transcripts export SPEC for Whisper's text"
HINT_SAVE = f"save it as UTF-8 SRT from Subtitle Edit or Aegisub, or {_NEW}"
HINT_OWN = f"is it this clip's transcript? If not, {_NEW}"

#: byte-order marks, longest first (a UTF-32 LE mark begins like the UTF-16 LE one)
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
#: control characters no text file holds (tab, newline, carriage return and form feed are text)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_NUMBER = re.compile(r"\s*\d+\s*$")


@dataclass(frozen=True)
class CorrectedCue:
    """One cue of a corrected transcript, on the clip's own timeline."""

    start: Time
    end: Time
    text: str  #: plain text, styling tags dropped, spaces folded
    line: int  #: 1-based line of the cue's times in the file


@dataclass(frozen=True)
class CueFile:
    """A corrected transcript, read and checked."""

    path: Path
    cues: tuple[CorrectedCue, ...]
    warnings: tuple[SpecProblem, ...] = ()  #: things that align but deserve a look (overlapping cues)

    def triples(self) -> list[tuple[Time, Time, str]]:
        """(start, end, text) of each cue: what the aligner takes."""
        return [(c.start, c.end, c.text) for c in self.cues]


def cue_limits(duration: Time) -> tuple[int, int]:
    """(cues, characters of text) a corrected transcript of a clip ``duration`` seconds long may hold."""
    return (int(duration * MAX_CUES_PER_SECOND) + CUE_ALLOWANCE,
            int(duration * MAX_CHARS_PER_SECOND) + CHAR_ALLOWANCE)


class _Problems:
    def __init__(self, path: Path):
        self.file = str(path)
        self.found: list[SpecProblem] = []
        self.more = 0

    def add(self, line: int | None, message: str, hint: str = "") -> None:
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(SpecProblem(self.file, line, None, "", message, hint))
        else:
            self.more += 1

    def raise_any(self) -> None:
        if self.found:
            extra = [SpecProblem(self.file, None, None, "", f"and {self.more} more problems in this file")] \
                if self.more else []
            raise SpecError(self.found + extra)


def _line_at(raw: bytes, offset: int, codec: str) -> int:
    return raw[:offset].decode(codec, errors="replace").count("\n") + 1


def _decode(raw: bytes, p: _Problems) -> str | None:
    """The file's text; None (with a problem) when it is not text in an encoding we can know."""
    bom, codec = next(((b, c) for b, c in _BOMS if raw.startswith(b)), (b"", "utf-8"))
    if not bom and b"\x00" in raw:
        p.add(_line_at(raw, raw.index(b"\x00"), "utf-8"),
              "not a text file: it holds binary data (or is UTF-16 without a byte-order mark)", HINT_SAVE)
        return None
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = _line_at(raw, exc.start, codec)
        if not bom and len(_CONTROL.findall(raw[:4096].decode("latin-1"))) > 4:
            p.add(line, "not a text file: it holds binary data", HINT_SAVE)
        else:
            name = codec.upper().replace("-SIG", "")
            guess = "; Windows-1252 or Latin-1?" if not bom else f", though it begins with {name}'s byte-order mark"
            p.add(line, f"not {name} text (byte 0x{raw[exc.start]:02x} cannot be read{guess})", HINT_SAVE)
        return None
    control = _CONTROL.search(text)
    if control:
        p.add(text[:control.start()].count("\n") + 1, "not a text file: it holds binary data", HINT_SAVE)
        return None
    return text


def _cue_lines(lines: list[str], fmt: str, p: _Problems) -> list[int]:
    """1-based line of each event pysubs2 reads, in its order; problems for lines it would misread."""
    if fmt in ("ass", "ssa"):
        return [i for i, line in enumerate(lines, 1) if line.startswith(("Dialogue:", "Comment:"))]
    stamp = get_format_class(fmt).TIMESTAMP
    timing = [len(stamp.findall(line)) == 2 for line in lines]
    out = []
    seen_cue = False
    for i, line in enumerate(lines):
        if timing[i]:
            seen_cue = True
            out.append(i + 1)
            for match in stamp.finditer(line):
                minutes, secs = match.groups()[1:3]
                if int(minutes) > 59 or int(secs) > 59:
                    p.add(i + 1, f"{match.group(0)} is not a time (minutes and seconds go up to 59)", HINT_TIMES)
            continue
        block_start = i == 0 or not lines[i - 1].strip()
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if "-->" in line or stamp.match(line.strip()):
            # pysubs2 would make this line part of the previous cue's text
            p.add(i + 1, f"not a cue's times, so it would be read as words of the cue before: {line.strip()[:60]!r}",
                  HINT_TIMES)
        elif block_start and _NUMBER.match(line) and nxt.strip() and not timing[i + 1] and "-->" not in nxt:
            p.add(i + 2, f"cue {line.strip()} has no times: found {nxt.strip()[:60]!r}", HINT_TIMES)
        elif fmt == "srt" and not seen_cue and line.strip() and not _NUMBER.match(line):
            p.add(i + 1, f"text before the first cue's times: {line.strip()[:60]!r}", HINT_TIMES)
    return out


def read_cue_file(path: Path, duration: Time | None = None) -> CueFile:
    """Read and check a corrected transcript; ``duration`` is the clip's (None: not checked against one).

    Returns the cues with text, in file order, and warnings. Raises :class:`SpecError` listing every
    problem with the file's line: not text, not UTF-8 (a UTF-8 or UTF-16 byte-order mark is read),
    misread lines, no cues, a cue ending before it starts or lying beyond the clip, too many cues or
    too much text for the clip (:func:`cue_limits`).
    """
    p = _Problems(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            p.add(None, f"{size / 1e6:.0f} MB is far larger than a transcript of speech "
                        f"(at most {MAX_BYTES // (1024 * 1024)} MB are read)",
                  HINT_OWN)
            p.raise_any()
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([SpecProblem(str(path), None, None, "", f"cannot read the file ({exc.strerror or exc})",
                                     "check that it is a readable file")]) from exc
    text = _decode(raw, p)
    p.raise_any()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        p.add(1, "the file is empty: no cues", _NEW)
        p.raise_any()
    try:
        subs = pysubs2.SSAFile.from_string(text)
    except pysubs2.FormatAutodetectionError:
        p.add(1, "no cues found: no line holds a cue's times", HINT_TIMES)
        p.raise_any()
    except pysubs2.Pysubs2Error as exc:  # e.g. MicroDVD, which counts frames
        p.add(1, f"not a format a corrected transcript can be in ({exc})", HINT_SAVE)
        p.raise_any()
    except Exception as exc:  # pysubs2's readers raise plain ValueErrors on broken fields
        p.add(1, f"cannot read the cues ({exc})", HINT_SAVE)
        p.raise_any()
    if subs.format not in FORMATS:
        p.add(1, f"a {subs.format} file: a corrected transcript is SRT (or WebVTT, ASS)", HINT_SAVE)
        p.raise_any()
    lines = text.split("\n")
    where = _cue_lines(lines, subs.format, p)
    if len(where) != len(subs.events):  # cannot happen with pysubs2's readers as they are; never misplace a line
        where = [None] * len(subs.events)
    cues: list[CorrectedCue] = []
    for event, line in zip(subs.events, where, strict=True):
        words = " ".join(event.plaintext.split())
        if event.is_comment or not words:
            continue
        cue = CorrectedCue(Fraction(event.start, 1000), Fraction(event.end, 1000), words, line)
        if cue.end < cue.start:
            p.add(line, f"the cue ends ({clock(cue.end, ',')}) before it starts ({clock(cue.start, ',')})",
                  "swap or fix the times")
        elif duration is not None and cue.start >= duration:
            p.add(line, f"the cue starts at {clock(cue.start, ',')}, after the clip's end "
                        f"({clock(duration, ',')})", "fix or remove the cue; " + HINT_OWN)
        elif duration is not None and cue.end > duration + END_SLACK:
            p.add(line, f"the cue ends at {clock(cue.end, ',')}, after the clip's end ({clock(duration, ',')})",
                  f"end it by {clock(duration, ',')}")
        cues.append(cue)
    if not cues:
        p.add(where[0] if where else 1, "no cue has any text", "write the cue's words under its times")
    if duration is not None:
        _check_size(cues, duration, p)
    p.raise_any()
    return CueFile(path, tuple(cues), tuple(_overlaps(cues, path)))


def _check_size(cues: list[CorrectedCue], duration: Time, p: _Problems) -> None:
    max_cues, max_chars = cue_limits(duration)
    length = f"{float(duration):.1f} s"
    if len(cues) > max_cues:
        p.add(cues[max_cues].line,
              f"{len(cues):,} cues are more than a clip of {length} holds: the limit is {max_cues:,} "
              f"({MAX_CUES_PER_SECOND} a second of clip and {CUE_ALLOWANCE}); this is cue {max_cues + 1:,}",
              HINT_OWN)
        return
    total = 0
    for cue in cues:
        total += len(cue.text)
        if total > max_chars:
            p.add(cue.line,
                  f"more text than a clip of {length} holds: the limit is {max_chars:,} characters "
                  f"({MAX_CHARS_PER_SECOND} a second of clip and {CHAR_ALLOWANCE}), passed at this cue "
                  f"(the file has {sum(len(c.text) for c in cues):,})",
                  HINT_OWN)
            return


def _overlaps(cues: list[CorrectedCue], path: Path) -> list[SpecProblem]:
    """A warning for each cue that starts before an earlier one (in time) has ended."""
    out = []
    latest: CorrectedCue | None = None
    for cue in sorted((c for c in cues if c.end >= c.start), key=lambda c: (c.start, c.end)):
        if latest is not None and cue.start < latest.end:
            out.append(SpecProblem(
                str(path), cue.line, None, "",
                f"the cue {clock(cue.start, ',')} --> {clock(cue.end, ',')} overlaps the cue at line "
                f"{latest.line} ({clock(latest.start, ',')} --> {clock(latest.end, ',')}): their words are "
                "interleaved in the captions", "make each cue end before the next starts"))
        if latest is None or cue.end > latest.end:
            latest = cue
    return out
