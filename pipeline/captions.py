"""Captions on the edited timeline: from timed words to readable cues.

Pure logic, no I/O. Words are mapped from each clip's own timeline onto the
output timeline (words outside the kept cuts are dropped, the rest shifted by
their cut's offset), then each cut's words are split into cues by dynamic
programming over break points: a cue ends preferably at a sentence end, then at
a clause, never between words that belong together (article and noun,
preposition and object, a first and last name, a glossary phrase). Lines are
broken the same way, bottom-heavy. Timing follows the rules in
``shared/docs/CAPTIONS.md`` (5/6 s to 7 s on screen, 2 frames between cues,
17 characters a second), and no cue crosses a cut.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from .timecode import Time
from .timeline import ClipSegment, Timeline
from .transcribe import Transcript


@dataclass(frozen=True)
class CaptionRules:
    """Limits a cue must keep."""

    max_chars: int = 42  #: characters per line
    max_lines: int = 2  #: lines per cue
    min_duration: Time = Fraction(5, 6)  #: shortest time on screen
    max_duration: Time = Fraction(7)  #: longest time on screen
    min_gap: Time = Fraction(2, 25)  #: at least two frames between cues
    max_cps: Fraction = Fraction(17)  #: reading speed (characters per second) above which a cue is reported
    pause_break: Time = Fraction(6, 5)  #: a silence this long always ends a cue
    speed_weight: float = 0.5  #: how hard the line breaker avoids cues over ``max_cps`` (per character/s over)

    @classmethod
    def for_rate(cls, rate: Fraction, max_chars: int = 42) -> CaptionRules:
        return cls(max_chars=max_chars, min_gap=Fraction(2) / rate)


@dataclass(frozen=True)
class TimedWord:
    """A word on the output timeline."""

    text: str
    start: Time
    end: Time


@dataclass(frozen=True)
class Cue:
    """One caption: up to two lines, on screen from ``start`` to ``end`` (output timeline)."""

    start: Time
    end: Time
    lines: tuple[str, ...]
    words: tuple[TimedWord, ...] = field(default=(), compare=False)

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    @property
    def duration(self) -> Time:
        return self.end - self.start

    @property
    def cps(self) -> float:
        """Reading speed: characters (spaces included) per second."""
        return len(self.text) / float(self.duration) if self.duration > 0 else float("inf")


# --------------------------------------------------------------------------- mapping onto cuts


def words_in_cut(transcript: Transcript, seg: ClipSegment) -> list[TimedWord]:
    """The transcript's words that fall inside a cut, moved onto the output timeline.

    A word belongs to the cut when most of it lies inside; its times are shifted by
    the cut's offset and clamped to the cut.
    """
    key = (seg.source_in, seg.frame_count, seg.rate, seg.start)
    found = transcript.cut_words.get(key)
    if found is not None:
        return list(found)
    lo, hi = seg.source_in, seg.source_out
    out: list[TimedWord] = []
    words, starts, longest = transcript.word_index
    if starts is not None:  # in order: only the words that start from a word's length before the cut to its end
        words = words[bisect.bisect_left(starts, lo - longest):bisect.bisect_left(starts, hi)]
    first, last = seg.start, seg.end  # (the end is computed: once, not for every word)
    shift = first - lo
    for w in words:
        ws, we = w.start, w.end
        if we <= ws:
            we = ws + Fraction(1, 100)
        if we <= lo or ws >= hi:  # outside the cut: two comparisons, not the overlap's arithmetic (issue 25: a
            continue              # minutes-long interview's words, for every cut of every output, on every run)
        overlap = min(we, hi) - max(ws, lo)
        if overlap <= 0 or overlap * 2 < (we - ws):
            continue
        start = min(max(ws + shift, first), last)
        end = min(max(we + shift, first), last)
        out.append(TimedWord(w.text, start, end))
    transcript.cut_words[key] = tuple(out)
    return out


def cues_for_timeline(timeline: Timeline, transcripts: dict[str, Transcript], rules: CaptionRules,
                      glossary: Sequence[str] = ()) -> list[Cue]:
    """Cues for a whole edit: each cut captioned on its own, cards left without speech captions."""
    cues: list[Cue] = []
    for seg in timeline.clip_segments():
        transcript = transcripts.get(seg.clip_id)
        if transcript is None:
            continue
        words = words_in_cut(transcript, seg)
        cues.extend(segment_words(words, rules, (seg.start, seg.end), glossary))
    return enforce_gaps(cues, rules)


# --------------------------------------------------------------------------- where to break

_SENTENCE_END = re.compile(r"[.!?…]+[\"'”»)]*$")
_CLAUSE_END = re.compile(r"[,;:–—]+[\"'”»)]*$")

#: Words that must not end a line or cue: the next word belongs to them
#: (articles, determiners, prepositions, subject pronouns, auxiliaries; Norwegian and English).
_BINDS_NEXT = frozenset("""
en ei et den det de denne dette disse min mitt mine din ditt dine sin sitt sine vår vårt våre hans hennes
i på til med for av om fra hos ved under over etter før mot uten mellom gjennom langs rundt blant
jeg du han hun vi dere man
er var har hadde skal skulle vil ville kan kunne må måtte bli blir ble
a an the my your his her our their its this that these those
in on at to of with from by about into over after before under between through
i you he she we they
am is are was were have has had will would shall should can could must do does did be been
ikke not
""".split())

#: Words a new line or cue may well start with (conjunctions and subjunctions).
_CONJUNCTIONS = frozenset(
    "og men eller som at fordi når hvis da så enn mens selv and but or because when if that which while".split()
)


def _bare(word: str) -> str:
    return word.strip("\"'“”«»()[]{}.,;:!?…–—").lower()


def _is_name_word(word: str) -> bool:
    stripped = word.strip("\"'“”«»([{")
    return bool(stripped) and stripped[0].isupper()


def bonds(texts: Sequence[str], glossary: Sequence[str] = ()) -> list[bool]:
    """``bonds[i]``: words i and i+1 must stay together (same line, same cue) if at all possible."""
    n = len(texts)
    out = [False] * max(0, n - 1)
    for i in range(n - 1):
        a, b = texts[i], texts[i + 1]
        if _SENTENCE_END.search(a) or _CLAUSE_END.search(a):
            continue
        if _bare(a) in _BINDS_NEXT:
            out[i] = True
        elif _is_name_word(a) and _is_name_word(b) and i > 0 and not _SENTENCE_END.search(texts[i - 1]):
            out[i] = True  # "Anne Hansen": a name mid-sentence
    lowered = [_bare(t) for t in texts]
    for phrase in glossary:
        parts = [_bare(p) for p in phrase.split()]
        if len(parts) < 2:
            continue
        for i in range(n - len(parts) + 1):
            if lowered[i:i + len(parts)] == parts:
                for k in range(i, i + len(parts) - 1):
                    out[k] = True
    return out


def _break_cost(texts: Sequence[str], i: int, bond: Sequence[bool]) -> float:
    """Cost of breaking after word i (a new line or a new cue starts with word i+1)."""
    if i >= len(texts) - 1:
        return 0.0
    a = texts[i]
    if _SENTENCE_END.search(a):
        return 0.0
    if bond[i]:
        return 40.0
    if _CLAUSE_END.search(a):
        return 1.0
    if _bare(texts[i + 1]) in _CONJUNCTIONS:
        return 2.0
    return 6.0


def break_lines(texts: Sequence[str], max_chars: int, bond: Sequence[bool] | None = None,
                max_lines: int = 2) -> tuple[str, ...] | None:
    """Lay words out on one line if they fit, else the best two lines; None when they do not fit.

    ``bond`` is :func:`bonds` for these words. A single word longer than a line is
    put alone on a line (words are never split).
    """
    bond = list(bond) if bond is not None else bonds(texts)
    one = " ".join(texts)
    if len(one) <= max_chars or len(texts) == 1:
        return (one,)
    if max_lines < 2:
        return None
    best: tuple[float, tuple[str, ...]] | None = None
    for k in range(1, len(texts)):
        top, bottom = " ".join(texts[:k]), " ".join(texts[k:])
        if len(top) > max_chars or len(bottom) > max_chars:
            continue
        cost = _break_cost(texts, k - 1, bond)
        diff = len(top) - len(bottom)
        cost += 0.12 * diff if diff > 0 else 0.04 * -diff  # bottom-heavy or balanced
        if k == 1 or k == len(texts) - 1:
            cost += 4.0  # one word alone on a line
        if best is None or cost < best[0]:
            best = (cost, (top, bottom))
    return best[1] if best else None


# --------------------------------------------------------------------------- cues


def segment_words(words: Sequence[TimedWord], rules: CaptionRules, window: tuple[Time, Time],
                  glossary: Sequence[str] = ()) -> list[Cue]:
    """Split one cut's words into cues (all words kept, in order) and time them inside ``window``."""
    n = len(words)
    if n == 0:
        return []
    texts = [w.text for w in words]
    bond = bonds(texts, glossary)
    capacity = rules.max_chars * rules.max_lines
    inf = float("inf")
    best = [inf] * (n + 1)
    back = [0] * (n + 1)
    layout: dict[tuple[int, int], tuple[str, ...]] = {}
    best[0] = 0.0
    for i in range(1, n + 1):
        chars = -1
        for j in range(i - 1, -1, -1):
            chars += len(texts[j]) + 1
            single = i - j == 1
            if chars > capacity and not single:
                break
            if j < i - 1 and words[j + 1].start - words[j].end >= rules.pause_break:
                break  # a long pause inside the cue: no cue may span it
            span = words[i - 1].end - words[j].start
            if span > rules.max_duration and not single:
                break
            if best[j] == inf:
                continue
            lines = break_lines(texts[j:i], rules.max_chars, bond[j:i - 1], rules.max_lines)
            if lines is None:
                continue
            cost = 1.0 + _break_cost(texts, i - 1, bond)
            if i < n and words[i].start - words[i - 1].end >= Fraction(2, 5):
                cost -= 1.5  # a pause is a natural place to change captions
            shown = max(span, rules.min_duration)
            # it cannot stay past the next cue's start (less the gap): judge its speed by what it gets
            room = (words[i].start - rules.min_gap if i < n else window[1]) - words[j].start
            shown = min(shown, max(room, span))
            cps = chars / float(shown) if shown > 0 else 0.0
            if cps > rules.max_cps:
                cost += (cps - rules.max_cps) * rules.speed_weight
            if span < rules.min_duration:
                cost += 6.0 * float(rules.min_duration - span)
            if chars < 12 and not _SENTENCE_END.search(texts[i - 1]):
                cost += 2.0
            if len(lines) == 2:
                cost += 0.5  # prefer one line when it fits
            total = best[j] + cost
            if total < best[i]:
                best[i], back[i] = total, j
                layout[(j, i)] = lines
    bounds = []
    i = n
    while i > 0:
        bounds.append((back[i], i))
        i = back[i]
    bounds.reverse()
    cues = [Cue(words[j].start, words[i - 1].end, layout[(j, i)], tuple(words[j:i])) for j, i in bounds]
    return _time_cues(cues, rules, window)


def _time_cues(cues: list[Cue], rules: CaptionRules, window: tuple[Time, Time]) -> list[Cue]:
    """Stretch cues towards the minimum duration and reading speed, within the cut and gaps."""
    lo, hi = window
    out = list(cues)
    for k, cue in enumerate(out):
        next_start = out[k + 1].start - rules.min_gap if k + 1 < len(out) else hi
        want = max(rules.min_duration, Fraction(len(cue.text)) / rules.max_cps)
        want = min(want, rules.max_duration)
        end = max(cue.end, min(cue.start + want, next_start, hi))
        out[k] = Cue(cue.start, end, cue.lines, cue.words)
    for k, cue in enumerate(out):
        if cue.duration >= rules.min_duration:
            continue
        prev_end = out[k - 1].end + rules.min_gap if k > 0 else lo
        start = max(min(cue.start, cue.end - rules.min_duration), prev_end, lo)
        out[k] = Cue(min(start, cue.start), cue.end, cue.lines, cue.words)
    return out


def enforce_gaps(cues: list[Cue], rules: CaptionRules) -> list[Cue]:
    """Keep at least ``min_gap`` between consecutive cues (also across cuts) by ending the earlier one sooner."""
    out = list(cues)
    for k in range(len(out) - 1):
        cur, nxt = out[k], out[k + 1]
        if nxt.start - cur.end < rules.min_gap:
            end = max(nxt.start - rules.min_gap, cur.start + Fraction(1, 100))
            out[k] = Cue(cur.start, end, cur.lines, cur.words)
    return out


@dataclass(frozen=True)
class Compliance:
    """How a set of cues keeps the rules."""

    cues: int
    max_line_chars: int
    too_long_lines: int  #: lines over the channel's limit (only a single over-long word can cause one)
    too_many_lines: int
    too_short: int  #: cues under the minimum duration (only where the cut leaves no room)
    too_long: int  #: cues over the maximum duration
    small_gaps: int  #: gaps under two frames
    fast: list[tuple[str, float]]  #: (cue text, characters per second) above the reading speed

    @property
    def ok(self) -> bool:
        return not (self.too_long_lines or self.too_many_lines or self.too_long or self.small_gaps)


def check(cues: Sequence[Cue], rules: CaptionRules) -> Compliance:
    """Measure cues against the rules (the benchmark and tests report this)."""
    lines = [len(line) for c in cues for line in c.lines]
    gaps = [b.start - a.end for a, b in zip(cues, cues[1:], strict=False)]
    return Compliance(
        cues=len(cues),
        max_line_chars=max(lines, default=0),
        too_long_lines=sum(1 for c in cues for line in c.lines if len(line) > rules.max_chars and " " in line),
        too_many_lines=sum(1 for c in cues if len(c.lines) > rules.max_lines),
        too_short=sum(1 for c in cues if c.duration < rules.min_duration),
        too_long=sum(1 for c in cues if c.duration > rules.max_duration),
        small_gaps=sum(1 for g in gaps if g < rules.min_gap),
        fast=[(c.text, round(c.cps, 1)) for c in cues if c.cps > rules.max_cps],
    )
