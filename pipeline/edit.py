"""The edit layer: cuts by what is said, cut-downs to a length, and the paper edit.

A clip item may name its passage (``says: "Hver dag … det beste med jobben."``) instead of
times. :func:`resolve_quotes` finds it in the clip's transcript (the corrected one, re-timed by
forced alignment, where staff made one; else Whisper's, both from the cache), and cuts just
before the first word and just after the last, at the quietest point of the gap that does not
reach into the neighbouring words. :func:`cut_down` makes a version fit a length from item
priorities; :func:`sentences` is the paper edit's unit.

Matching ignores case, punctuation, spacing and Unicode normalisation form; æ, ø and å are
letters of their own and are never folded to a and o.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from fractions import Fraction

from .cache import Cache
from .cutaway import in_clip_time, paper_lines
from .errors import SpecProblem
from .pauses import (
    LEAD,
    TAIL,
    cut_points,
    envelope,
    pauses,
    quiet_point,
    snap_quiet,
    speech_level,
)
from .spec import CardItem, ClipItem
from .timecode import Time, short_clock
from .transcribe import Transcript, Word
from .transcripts import (
    Passage,
    WordMap,
    alignment_notes,
    clip_transcript,
    normalise,
    whisper_transcript,
    word_map,
    words_passage,
)

log = logging.getLogger("rekrutt")


_ELLIPSIS = re.compile(r"\s*(?:…|\.\.\.)\s*")


class _Index:
    """A transcript's words as normalised tokens, each knowing the word it came from."""

    def __init__(self, transcript: Transcript):
        self.words: list[Word] = transcript.words
        self.tokens: list[str] = []
        self.owner: list[int] = []
        for i, w in enumerate(self.words):
            for token in normalise(w.text):
                self.tokens.append(token)
                self.owner.append(i)

    def passage(self, first_token: int, last_token: int, parts: tuple[tuple[int, int], ...] = ()) -> Passage:
        a, b = self.owner[first_token], self.owner[last_token]
        return words_passage(self.words, a, b, tuple((self.owner[x], self.owner[y]) for x, y in parts))

    def find_all(self, part: list[str], start: int = 0) -> list[int]:
        n = len(part)
        return [i for i in range(start, len(self.tokens) - n + 1) if self.tokens[i:i + n] == part]


def find(transcript: Transcript, says: str) -> list[Passage]:
    """Every place the quote is said, in order. ``…``/``...`` stands for everything between its parts."""
    index = _Index(transcript)
    parts = [normalise(p) for p in _ELLIPSIS.split(says.strip())]
    parts = [p for p in parts if p]
    if not parts:
        return []
    found: list[Passage] = []
    for begin in index.find_all(parts[0]):
        end = begin + len(parts[0]) - 1
        spans = [(begin, end)]
        for part in parts[1:]:
            later = index.find_all(part, end + 1)
            if not later:
                break
            end = later[0] + len(part) - 1
            spans.append((later[0], end))
        else:
            found.append(index.passage(begin, end, tuple(spans)))
    return found


def find_through(whisper: Transcript, corrected: Transcript, mapping: WordMap, says: str) -> list[Passage]:
    """Where a quote written against Whisper's words is said in the corrected transcript: the same
    span of words, through the correction's word mapping (each ``…`` part mapped on its own)."""
    out: list[Passage] = []
    words = corrected.words
    for p in find(whisper, says):
        parts = [mapping.span(a, b) for a, b in p.parts]
        parts = [x for x in parts if x is not None]
        if not parts:
            continue
        passage = words_passage(words, parts[0][0], parts[-1][1], tuple(parts))
        if passage not in out:
            out.append(passage)
    return out


def wording(transcript: Transcript, passage: Passage) -> str:
    """The quote's words as the transcript has them (its ``…`` parts joined by `` … ``)."""
    words = transcript.words
    return " … ".join(" ".join(w.text for w in words[a:b + 1]) for a, b in passage.parts)


def closest(transcript: Transcript, says: str) -> Passage | None:
    """The passage most like the quote (rapidfuzz over windows of the quote's length), for the error message."""
    from rapidfuzz import fuzz

    index = _Index(transcript)
    parts = [normalise(p) for p in _ELLIPSIS.split(says.strip())]
    wanted = " ".join(parts[0]) if len(parts) > 1 else " ".join(t for p in parts for t in p)
    n = max(1, len(wanted.split()))
    best: tuple[float, int] | None = None
    for i in range(0, max(1, len(index.tokens) - n + 1)):
        window = " ".join(index.tokens[i:i + n])
        if not window:
            continue
        score = fuzz.ratio(wanted, window)
        if best is None or score > best[0]:
            best = (score, i)
    if best is None:
        return None
    last = min(len(index.tokens) - 1, best[1] + n - 1)
    if len(parts) > 1:  # show through the end of the sentence the quote seems to aim at
        last = min(len(index.tokens) - 1, last + 12)
    return index.passage(best[1], last)


# --------------------------------------------------------------------------- resolving a campaign's quotes

@dataclass(frozen=True)
class Resolved:
    """Where a quote item landed: for messages, the manifest and the paper edit."""

    clip: str
    says: str
    passage: Passage
    start: Time
    end: Time
    #: the corrected transcript's wording, where the quote was written against Whisper's and matched through
    #: the correction (``validate --update-quotes`` writes it into the spec)
    corrected_says: str | None = None
    notes: tuple[str, ...] = ()  #: where a cut could not be put in a pause


class ClipText:
    """A clip's transcript as quotes use it: the one :func:`clip_transcript` decides, and, for a corrected
    clip, Whisper's words and the word mapping between them (got only when a quote needs them)."""

    def __init__(self, campaign, clip_id: str, transcriber):
        self.campaign, self.clip, self.transcriber = campaign, clip_id, transcriber
        self.used = clip_transcript(campaign, clip_id, transcriber)
        self._whisper: tuple[Transcript, WordMap] | None = None

    @property
    def corrected(self) -> bool:
        return self.used.source == "corrected"

    def through_correction(self) -> tuple[Transcript, WordMap]:
        if self._whisper is None:
            whisper = whisper_transcript(self.campaign, self.clip, self.transcriber)
            self._whisper = whisper, word_map(whisper.words, self.used.words)
        return self._whisper


def resolve_item(campaign, item, text: ClipText | Transcript, loc: tuple, problems: list[SpecProblem],
                 cache: Cache):
    """A quote item with its times filled in (or None, with a problem added).

    A quote is found in the clip's transcript; where that is a correction and the quote is not in it, in
    Whisper's words, whose span of words the correction's word mapping carries over.
    """
    def problem(message: str, hint: str) -> None:
        problems.append(campaign.problem(loc, message, hint))

    transcript = text.used if isinstance(text, ClipText) else text
    found = find(transcript, item.says)
    through = False
    if not found and isinstance(text, ClipText) and text.corrected:
        whisper, mapping = text.through_correction()
        found = find_through(whisper, transcript, mapping, item.says)
        through = bool(found)
    if not found:
        near = closest(transcript, item.says)
        where = f"the closest is {near.label()}" if near else "the clip's transcript has no words"
        problem(f"'{item.says}' is not said in clip '{item.clip}'; {where}",
                "copy the words from: python cli.py transcripts show SPEC --clip " + item.clip
                + " (or correct the transcript, see transcripts export)")
        return None
    if item.occurrence is not None:
        if item.occurrence > len(found):
            problem(f"'{item.says}' is said {len(found)} time(s) in clip '{item.clip}', not {item.occurrence}",
                    "; ".join(f"{i + 1}: {p.label()}" for i, p in enumerate(found)))
            return None
        passage = found[item.occurrence - 1]
    elif len(found) > 1:
        problem(f"'{item.says}' is said {len(found)} times in clip '{item.clip}': "
                + "; ".join(f"{i + 1}: {p.label()}" for i, p in enumerate(found)),
                "add occurrence: N to choose one, or quote more words")
        return None
    else:
        passage = found[0]
    source = campaign.clip_source(item.clip)
    info = campaign.media[item.clip]
    levels = envelope(source, cache)
    notes: list[str] = []
    start, end = cut_points(transcript, passage, levels, info.duration, item.pads, notes)
    if info.fps:  # on the clip's own frame grid, so an editor's in and out are whole frames too
        first, last = transcript.words[passage.first], transcript.words[passage.last]
        start = snap_quiet(start, info.fps, levels, Fraction(0), first.start)
        end = min(snap_quiet(end, info.fps, levels, last.end, info.duration), info.duration)
    return Resolved(item.clip, item.says, passage, start, end,
                    wording(transcript, passage) if through else None, tuple(notes))


def quote_items(spec) -> list[tuple[tuple, object]]:
    """(key path, item) of every quote item, in the main sequence and every version's own."""
    out = [(("sequence", i), item) for i, item in enumerate(spec.sequence)
           if isinstance(item, ClipItem) and item.says is not None]
    for name, version in spec.versions.items():
        for i, item in enumerate(version.sequence or ()):
            if isinstance(item, ClipItem) and item.says is not None:
                out.append((("versions", name, "sequence", i), item))
    return out


def resolve_quotes(campaign, transcriber) -> tuple[object, list[SpecProblem]]:
    """The campaign with every quote item's ``from``/``to`` filled in; problems for quotes not found.

    Each clip's transcript is got once (through the cache); the resolved places are kept on
    the campaign (``quotes``) for the manifest and the paper edit.
    """
    spec = campaign.spec
    todo = quote_items(spec)
    if not todo:
        return campaign, []
    problems: list[SpecProblem] = []
    texts: dict[str, ClipText] = {}
    resolved: dict[tuple, Resolved] = {}
    for loc, item in todo:
        if item.clip not in campaign.media:
            continue  # reported already (unknown clip or unreadable file)
        if item.clip not in texts:
            texts[item.clip] = ClipText(campaign, item.clip, transcriber)
        done = resolve_item(campaign, item, texts[item.clip], loc + ("says",), problems, transcriber.cache)
        if done is not None:
            resolved[loc] = done
            log.info("%s: '%s' -> %s", item.clip, item.says, done.passage.label())
    transcripts = {cid: t.used for cid, t in texts.items()}

    def fill(items, prefix):
        out = []
        for i, item in enumerate(items):
            r = resolved.get(prefix + (i,))
            out.append(item.model_copy(update={"start": r.start, "end": r.end}) if r else item)
        return out

    versions = {name: v.model_copy(update={"sequence": fill(v.sequence, ("versions", name, "sequence"))})
                if v.sequence else v for name, v in spec.versions.items()}
    spec = spec.model_copy(update={"sequence": fill(spec.sequence, ("sequence",)), "versions": versions})
    return dataclasses.replace(campaign, spec=spec, quotes=resolved, transcripts=transcripts), problems


def quote_warnings(campaign) -> list[SpecProblem]:
    """What validate says of the resolved quotes, at each ``says:``'s line: matched through a correction
    (and the corrected wording), a cut that found no pause; and, at the cue's line of each corrected
    transcript, a word the aligner had to move onto the voiced sound."""
    out = []
    for loc, r in campaign.quotes.items():
        if r.corrected_says is not None:
            out.append(campaign.problem(
                loc + ("says",), f"'{r.says}' is Whisper's wording; matched through the corrected transcript, "
                f"which says «{r.corrected_says}» ({short_clock(r.start)}–{short_clock(r.end)})",
                "python cli.py validate --update-quotes SPEC writes the corrected wording into the spec"))
        for note in r.notes:
            out.append(campaign.problem(loc + ("says",), f"clip '{r.clip}': {note}",
                                        "quote to a sentence end, or set pads: to choose the air"))
    for clip_id, transcript in campaign.transcripts.items():
        out += alignment_notes(campaign, clip_id, transcript)
    return out


# --------------------------------------------------------------------------- sentences and cut-downs

SENTENCE_END = re.compile(r"[.!?…]+[\"'”»)]*$")


def sentences(transcript: Transcript) -> list[Passage]:
    """The transcript's sentences (a word ending in . ! ? or … ends one)."""
    words = transcript.words
    out: list[Passage] = []
    first = 0
    for i, w in enumerate(words):
        if SENTENCE_END.search(w.text) or i == len(words) - 1:
            out.append(Passage(first, i, words[first].start, w.end, " ".join(x.text for x in words[first:i + 1])))
            first = i + 1
    return out


#: A cut-down keeps no clip item shorter than this (a shot this short is a flash, not a statement).
MIN_ITEM = Fraction(3, 2)


def item_words(transcript: Transcript, start: Time, end: Time) -> tuple[int, int] | None:
    """(first, last) index of the words heard within [start, end] (their middle inside); None if none."""
    inside = [i for i, w in enumerate(transcript.words) if start <= (w.start + w.end) / 2 <= end]
    return (inside[0], inside[-1]) if inside else None


def quote_sentences(transcript: Transcript, first: int, last: int) -> list[tuple[int, int]]:
    """The sentences of words ``first``..``last``: split after each word that ends a sentence (the first one
    begins where the quote does)."""
    words = transcript.words
    out, begin = [], first
    for i in range(first, last + 1):
        if SENTENCE_END.search(words[i].text) or i == last:
            out.append((begin, i))
            begin = i + 1
    return out


def shorten_quote(campaign, item, room: Time, transcript: Transcript | None, cache: Cache):
    """A quote item ended at one of its own sentence ends so that it lasts at most ``room`` and at least
    :data:`MIN_ITEM` (None when not one whole sentence of it fits). The end is cut in the pause after
    the sentence, as a quote's end is."""
    if transcript is None or item.says is None:
        return None
    span = item_words(transcript, item.start, item.end)
    if span is None:
        return None
    info = campaign.media[item.clip]
    levels = envelope(campaign.clip_source(item.clip), cache)
    words = transcript.words
    for _, last in reversed(quote_sentences(transcript, *span)[:-1]):
        passage = words_passage(words, span[0], last)
        _, end = cut_points(transcript, passage, levels, info.duration, item.pads)
        if info.fps:
            end = min(snap_quiet(end, info.fps, levels, words[last].end, info.duration), info.duration)
        if MIN_ITEM <= end - item.start <= room:
            return item.model_copy(update={"end": end})
    return None


def cut_down(campaign, items: list, target: Time, cache: Cache, rate_margin: Fraction = Fraction(1, 48)
             ) -> tuple[list, Time] | str:
    """Items that fit ``target`` seconds: kept cards first, then the rest by priority (1 first; no
    priority last), in their original order; a quote that does not fit whole may end at an earlier
    sentence of its own (never less than one whole sentence, nor :data:`MIN_ITEM`); a clip item that cannot
    keep that much is dropped. Returns (items, achieved length), or a message when the kept cards alone are
    too long.

    Each item is later rounded to whole frames (at most half a frame each), so a margin of
    ``rate_margin`` per item keeps the result under the target at any rate from 24 fps.
    """
    last_card = max((i for i, it in enumerate(items) if isinstance(it, CardItem)), default=None)

    def kept(i: int, it) -> bool:
        return isinstance(it, CardItem) and (it.keep if it.keep is not None else i == last_card)

    chosen: dict[int, object] = {i: it for i, it in enumerate(items) if kept(i, it)}

    def used() -> Time:
        return sum((campaign.item_length(it) + rate_margin for it in chosen.values()), Fraction(0))

    if used() > target:
        return (f"the kept cards alone last {float(used()):.1f} s, more than max_duration "
                f"({float(target):g} s)")
    order = sorted((i for i in range(len(items)) if i not in chosen),
                   key=lambda i: (items[i].priority is None, items[i].priority or 0, i))
    for i in order:
        it = items[i]
        room = target - used() - rate_margin
        length = campaign.item_length(it)
        if length <= room and (not isinstance(it, ClipItem) or length >= MIN_ITEM):
            chosen[i] = it
        elif isinstance(it, ClipItem) and length > room:
            short = shorten_quote(campaign, it, room, campaign.transcripts.get(it.clip), cache)
            if short is not None:
                chosen[i] = short
    result = [chosen[i] for i in sorted(chosen)]
    return result, sum((campaign.item_length(it) for it in result), Fraction(0))


__all__ = ["LEAD", "MIN_ITEM", "TAIL", "ClipText", "Passage", "Resolved", "closest", "cut_down", "cut_points",
           "envelope", "find", "find_through", "normalise", "pauses", "quiet_point", "quote_warnings",
           "resolve_quotes", "sentences", "speech_level", "version_items"]


def version_items(campaign, transcriber=None) -> dict[str, list[tuple[str, str, Time]]]:
    """Per version (cut down), what each item is: (clip id or "card", its times and first … last words, or
    the card's id; its length)."""
    out: dict[str, list[tuple[str, str, Time]]] = {}
    for name, (items, _) in campaign.version_cuts.items():
        rows = []
        for it in items:
            length = campaign.item_length(it)
            if not isinstance(it, ClipItem):
                rows.append(("card", it.card, length))
                continue
            transcript = campaign.transcripts.get(it.clip)
            if transcript is None and transcriber is not None and it.clip in campaign.media:
                transcript = clip_transcript(campaign, it.clip, transcriber)
            start, end = campaign.cut_bounds(it)
            span = item_words(transcript, start, end) if transcript is not None else None
            times = f"{short_clock(start)}–{short_clock(end)}"
            if span is None:
                rows.append((it.clip, times, length))
                continue
            words = transcript.words
            a, b = span
            said = " ".join(w.text for w in words[a:b + 1]) if b - a < 6 else \
                " ".join(w.text for w in words[a:a + 3]) + " … " + " ".join(w.text for w in words[b - 2:b + 1])
            rows.append((it.clip, f"{times} «{said}»", length))
        out[name] = rows
    return out


# --------------------------------------------------------------------------- the paper edit

def _uses(campaign) -> dict[str, list[tuple[Time, Time, str]]]:
    """Per clip, the (from, to, edition) of every cut the spec makes, main film and versions."""
    out: dict[str, list[tuple[Time, Time, str]]] = {}
    for edition in campaign.editions():
        for item in edition.spec.sequence:
            if isinstance(item, ClipItem) and item.clip in campaign.media:
                start, end = edition.cut_bounds(item)
                out.setdefault(item.clip, []).append((start, end, edition.version or "main"))
    return out


def paper_edit(campaign, transcriber, clips: list[str] | None = None, fmt: str = "text") -> str:
    """Each clip's sentences with their times, who speaks, and which the spec already uses (a paper edit).

    ``fmt`` "md" gives markdown a producer can mark up and paste quotes from; "text" plain lines.
    """
    order = [item.clip for item in campaign.spec.sequence if isinstance(item, ClipItem)]
    order += [cid for cid in campaign.spec.clips if cid not in order]
    wanted = [cid for cid in dict.fromkeys(order) if (clips is None or cid in clips) and cid in campaign.media]
    uses = _uses(campaign)
    cutaways: dict[str, list] = {}  # per speaker's clip: (start, end, cutaway, edition) of the cutaways over it
    for edition in campaign.editions():
        for item in edition.spec.sequence:
            if isinstance(item, ClipItem) and item.clip in campaign.media:
                cutaways.setdefault(item.clip, []).extend((*c, edition.version or "main")
                                                          for c in in_clip_time(edition, item))
    md = fmt == "md"
    lines = [f"# {campaign.spec.title}: paper edit", ""] if md else [f"{campaign.spec.title}: paper edit", ""]
    for cid in wanted:
        person, role = campaign.clip_person(cid)
        transcript = campaign.transcripts.get(cid) or clip_transcript(campaign, cid, transcriber)
        corrected = campaign.transcript_path(cid) is not None
        who = ", ".join(x for x in (person, role) if x)
        head = f"{cid}" + (f" — {who}" if who else "")
        source = "corrected transcript" if corrected else "Whisper's transcript (correct it: transcripts export)"
        lines += [f"## {head}", "", f"*{campaign.clip_source(cid).name}, {source}*", ""] if md else \
            [head, f"  {campaign.clip_source(cid).name}, {source}"]
        for s in sentences(transcript):
            length = s.end - s.start
            shares = {}
            for a, b, name in uses.get(cid, ()):
                overlap = min(b, s.end) - max(a, s.start)
                if overlap > Fraction(1, 5) or (length > 0 and overlap >= length / 2):
                    shares[name] = max(shares.get(name, Fraction(0)), overlap / length if length else Fraction(1))
            used = sorted(shares)
            times = f"{short_clock(s.start)}–{short_clock(s.end)}"
            part = " (in part)" if used and max(shares.values()) < Fraction(9, 10) else ""
            mark = f"  [used{part}: {', '.join(used)}]" if used else ""
            if md:
                lines.append(f"- [{'x' if used else ' '}] `{times}` {s.text}{mark}")
            else:
                lines.append(f"  {'*' if used else ' '} {times}  {s.text}{mark}")
            lines += paper_lines(cutaways.get(cid, []), transcript, s.start, s.end, md)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
