"""What is said in a campaign's clips: the corrected transcripts staff made, and each clip's transcript.

:func:`clip_transcript` is the one place that decides which transcript a clip has: its corrected
transcript (``transcripts/<clip>.srt``, as :func:`corrected_cues` reads it) re-timed by forced
alignment, else Whisper's; both through the transcriber's cache.

A correction is also a mapping of words: :func:`word_map` pairs Whisper's words with the corrected
ones (a quote written against Whisper's text resolves to the same span of corrected words), and
:func:`alignment_notes` says where the aligner had to move a word onto the voiced sound.
"""

from __future__ import annotations

import difflib
import logging
import unicodedata
from dataclasses import dataclass

from .campaign import Campaign
from .cuefile import CueFile, read_cue_file
from .errors import SpecProblem
from .timecode import Time, short_clock
from .transcribe import Transcriber, Transcript, Word

log = logging.getLogger("rekrutt")


@dataclass(frozen=True)
class Passage:
    """Words ``first``..``last`` (inclusive) of a transcript, with their times on the clip's timeline."""

    first: int
    last: int
    start: Time  #: the first word's start
    end: Time  #: the last word's end
    text: str  #: the words as the transcript has them
    #: (first, last) word of each part of a quote with ``…`` (one part: the whole passage)
    parts: tuple[tuple[int, int], ...] = ()

    def label(self) -> str:
        return f"{short_clock(self.start)}–{short_clock(self.end)} «{self.text}»"


def words_passage(words: list[Word], a: int, b: int, parts: tuple[tuple[int, int], ...] = ()) -> Passage:
    """Words ``a``..``b`` of a transcript's words as a passage."""
    return Passage(a, b, words[a].start, words[b].end, " ".join(w.text for w in words[a:b + 1]), parts or ((a, b),))


def normalise(text: str) -> list[str]:
    """Words for matching: NFC, case-folded, punctuation and symbols as spaces (letters kept as they are)."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)
    return text.split()


def corrected_cues(campaign: Campaign, clip_id: str) -> CueFile | None:
    """A clip's corrected transcript as checked when the campaign was loaded (read and checked
    against the clip's length here where the campaign was built without it); None if it has none."""
    path = campaign.transcript_path(clip_id)
    if path is None:
        return None
    done = campaign.corrected.get(clip_id)
    if done is not None and done.path == path:
        return done
    info = campaign.media.get(clip_id)
    return read_cue_file(path, info.duration if info is not None else None)


def whisper_transcript(campaign: Campaign, clip_id: str, transcriber: Transcriber) -> Transcript:
    """What Whisper hears in a clip (cached; the text ``transcripts export`` writes)."""
    return transcriber.transcribe(campaign.clip_source(clip_id), campaign.clip_language(clip_id),
                                  glossary=tuple(campaign.spec.subtitles.glossary), label=clip_id)


def clip_transcript(campaign: Campaign, clip_id: str, transcriber: Transcriber) -> Transcript:
    """What is said in a clip: the corrected transcript re-timed by forced alignment where staff made
    one (``transcripts/<clip>.srt``), else Whisper's (both cached)."""
    source = campaign.clip_source(clip_id)
    language = campaign.clip_language(clip_id)
    corrected = corrected_cues(campaign, clip_id)
    if corrected is not None:
        log.info("%s: using corrected transcript %s", clip_id, corrected.path)
        return transcriber.align(source, language, corrected.triples(), label=clip_id)
    return whisper_transcript(campaign, clip_id, transcriber)


@dataclass(frozen=True)
class WordMap:
    """Whisper's words -> the corrected words: for each Whisper word, the (first, last) corrected
    words (indices, inclusive) that took its place, or None where the correction deleted it."""

    spans: tuple[tuple[int, int] | None, ...]

    def span(self, first: int, last: int) -> tuple[int, int] | None:
        """The corrected words for Whisper's words ``first``..``last``; None when all were deleted."""
        heads = [s for s in self.spans[first:last + 1] if s is not None]
        if not heads:
            return None
        return heads[0][0], heads[-1][1]


def _key(word: Word) -> str:
    return " ".join(normalise(word.text))


def word_map(whisper: list[Word], corrected: list[Word]) -> WordMap:
    """Pair Whisper's words with the corrected transcript's: words left as they were pair one to one,
    and a run of replaced words shares the corrected run in order (difflib over the normalised words)."""
    matcher = difflib.SequenceMatcher(None, [_key(w) for w in whisper], [_key(w) for w in corrected],
                                      autojunk=False)
    spans: list[tuple[int, int] | None] = [None] * len(whisper)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        n, m = i2 - i1, j2 - j1
        if op == "equal":
            for k in range(n):
                spans[i1 + k] = (j1 + k, j1 + k)
        elif op == "replace":
            for k in range(n):
                a = j1 + k * m // n
                b = max(a, j1 + (k + 1) * m // n - 1)
                spans[i1 + k] = (a, b)
    return WordMap(tuple(spans))


def alignment_notes(campaign: Campaign, clip_id: str, transcript: Transcript) -> list[SpecProblem]:
    """Warnings, at the cue's line of the corrected transcript, for each word the aligner placed in a
    pause or far from any voiced sound and that was moved onto the voiced sound."""
    cues = corrected_cues(campaign, clip_id)
    if cues is None or not transcript.moved:
        return []
    out = []
    for cue, text, was, now in transcript.moved:
        line = cues.cues[cue].line if cue < len(cues.cues) else None
        out.append(SpecProblem(
            str(cues.path), line, None, "",
            f"the aligner placed «{text}» at {short_clock(was)}, where nothing is said; moved it to the voiced "
            f"sound at {short_clock(now)}",
            "check the cue's times and words against the recording (python cli.py review SPEC)"))
    return out
