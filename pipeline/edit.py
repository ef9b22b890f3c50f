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
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

from .cache import Cache, file_digest, key_of
from .errors import SpecProblem
from .spec import CardItem, ClipItem
from .timecode import Time, short_clock, snap
from .transcribe import Transcript, Word
from .transcripts import clip_transcript

log = logging.getLogger("rekrutt")

#: Air before a quote's first word and after its last, by default (speech decays longer than it starts).
LEAD = Fraction(15, 100)
TAIL = Fraction(3, 10)
#: The cut never comes closer than this to a word of the quote, nor to a neighbouring word.
CLEAR = Fraction(3, 100)
#: Loudness envelope resolution: one value per this many seconds.
ENVELOPE_STEP = Fraction(1, 100)
ENVELOPE_VERSION = 1

_ELLIPSIS = re.compile(r"\s*(?:…|\.\.\.)\s*")


def normalise(text: str) -> list[str]:
    """Words for matching: NFC, case-folded, punctuation and symbols as spaces (letters kept as they are)."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)
    return text.split()


@dataclass(frozen=True)
class Passage:
    """Words ``first``..``last`` (inclusive) of a transcript, with their times on the clip's timeline."""

    first: int
    last: int
    start: Time  #: the first word's start
    end: Time  #: the last word's end
    text: str  #: the words as the transcript has them

    def label(self) -> str:
        return f"{short_clock(self.start)}–{short_clock(self.end)} «{self.text}»"


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

    def passage(self, first_token: int, last_token: int) -> Passage:
        a, b = self.owner[first_token], self.owner[last_token]
        return Passage(a, b, self.words[a].start, self.words[b].end, " ".join(w.text for w in self.words[a:b + 1]))

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
        ok = True
        for part in parts[1:]:
            later = index.find_all(part, end + 1)
            if not later:
                ok = False
                break
            end = later[0] + len(part) - 1
        if ok:
            found.append(index.passage(begin, end))
    return found


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


# --------------------------------------------------------------------------- where to cut

def envelope(path, cache: Cache) -> list[float]:
    """The clip's sound level (dBFS) every 10 ms, cached by its content."""

    def make() -> list[float]:
        import numpy as np
        from faster_whisper import decode_audio

        audio = decode_audio(str(path), sampling_rate=16000)
        step = int(16000 * ENVELOPE_STEP)
        frames = len(audio) // step
        if frames == 0:
            return []
        blocks = audio[:frames * step].reshape(frames, step).astype("float64")
        rms = np.sqrt((blocks ** 2).mean(axis=1)) + 1e-9
        return [round(float(v), 1) for v in 20 * np.log10(rms)]

    key = key_of("envelope", ENVELOPE_VERSION, file_digest(path), str(ENVELOPE_STEP))
    return cache.get_or_make("envelopes", key, make, encode=lambda v: v, decode=lambda v: list(v))


def quiet_point(levels: list[float], lo: Time, hi: Time, prefer: Time) -> Time:
    """The quietest moment in [lo, hi] (ties: nearest to ``prefer``), on the envelope's 10 ms grid."""
    if hi <= lo or not levels:
        return min(max(prefer, lo), hi) if hi >= lo else lo
    a = max(0, int(lo / ENVELOPE_STEP + 1 - Fraction(1, 10**9)) if lo > 0 else 0)
    b = min(len(levels) - 1, int(hi / ENVELOPE_STEP))
    if b < a:
        return min(max(prefer, lo), hi)
    # quiet within 3 dB of the quietest counts as quiet: then stay near the preferred air
    floor = min(levels[a:b + 1])
    quiet = [i for i in range(a, b + 1) if levels[i] <= floor + 3]
    best = min(quiet, key=lambda i: abs(i * ENVELOPE_STEP - prefer))
    return best * ENVELOPE_STEP


def cut_points(transcript: Transcript, passage: Passage, levels: list[float], duration: Time,
               pads: tuple[Time, Time] | None = None) -> tuple[Time, Time]:
    """(from, to) of the cut around a passage: ``pads`` of air (default LEAD, TAIL), never into the next word,
    at the quietest point the gap allows."""
    lead, tail = pads or (LEAD, TAIL)
    words = transcript.words
    first, last = words[passage.first], words[passage.last]
    before = words[passage.first - 1].end if passage.first > 0 else Fraction(0)
    after = words[passage.last + 1].start if passage.last + 1 < len(words) else duration
    lo = max(before + CLEAR, first.start - 2 * lead, Fraction(0))
    hi = first.start - min(CLEAR, lead)
    start = quiet_point(levels, lo, hi, first.start - lead) if lo < hi else max(Fraction(0), min(lo, first.start))
    lo = last.end + min(CLEAR, tail)
    hi = min(after - CLEAR, last.end + 2 * tail, duration)
    end = quiet_point(levels, lo, hi, last.end + tail) if lo < hi else min(duration, max(hi, last.end))
    return start, end


# --------------------------------------------------------------------------- resolving a campaign's quotes

@dataclass(frozen=True)
class Resolved:
    """Where a quote item landed: for messages, the manifest and the paper edit."""

    clip: str
    says: str
    passage: Passage
    start: Time
    end: Time


def resolve_item(campaign, item, transcript: Transcript, loc: tuple, problems: list[SpecProblem],
                 cache: Cache):
    """A quote item with its times filled in (or None, with a problem added)."""
    def problem(message: str, hint: str) -> None:
        problems.append(campaign.problem(loc, message, hint))

    found = find(transcript, item.says)
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
    start, end = cut_points(transcript, passage, envelope(source, cache), info.duration, item.pads)
    if info.fps:  # on the clip's own frame grid, so an editor's in and out are whole frames too
        start, end = snap(start, info.fps), min(snap(end, info.fps), info.duration)
    return Resolved(item.clip, item.says, passage, start, end)


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
    transcripts: dict[str, Transcript] = {}
    resolved: dict[tuple, Resolved] = {}
    for loc, item in todo:
        if item.clip not in campaign.media:
            continue  # reported already (unknown clip or unreadable file)
        if item.clip not in transcripts:
            transcripts[item.clip] = clip_transcript(campaign, item.clip, transcriber)
        done = resolve_item(campaign, item, transcripts[item.clip], loc + ("says",), problems, transcriber.cache)
        if done is not None:
            resolved[loc] = done
            log.info("%s: '%s' -> %s", item.clip, item.says, done.passage.label())

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


# --------------------------------------------------------------------------- sentences and cut-downs

_SENTENCE_END = re.compile(r"[.!?…]+[\"'”»)]*$")


def sentences(transcript: Transcript) -> list[Passage]:
    """The transcript's sentences (a word ending in . ! ? or … ends one)."""
    words = transcript.words
    out: list[Passage] = []
    first = 0
    for i, w in enumerate(words):
        if _SENTENCE_END.search(w.text) or i == len(words) - 1:
            out.append(Passage(first, i, words[first].start, w.end, " ".join(x.text for x in words[first:i + 1])))
            first = i + 1
    return out


def shorten_quote(campaign, item, room: Time, transcript: Transcript | None, cache: Cache):
    """A quote item cut at a sentence end so that it lasts at most ``room`` (None when no sentence fits)."""
    if transcript is None or item.says is None:
        return None
    start = item.start
    for sentence in reversed(sentences(transcript)):
        if sentence.end <= start or sentence.end >= item.end:
            continue
        level = envelope(campaign.clip_source(item.clip), cache)
        after = next((w.start for w in transcript.words if w.start >= sentence.end), item.end)
        end = quiet_point(level, sentence.end + CLEAR, min(after - CLEAR, sentence.end + 2 * TAIL), sentence.end + TAIL)
        fps = campaign.media[item.clip].fps
        end = snap(end, fps) if fps else end
        if start < end and end - start <= room:
            return item.model_copy(update={"end": end})
    return None


def cut_down(campaign, items: list, target: Time, cache: Cache, rate_margin: Fraction = Fraction(1, 48)
             ) -> tuple[list, Time] | str:
    """Items that fit ``target`` seconds: kept cards first, then the rest by priority (1 first; no
    priority last), in their original order; a quote that does not fit whole may end at an earlier
    sentence. Returns (items, achieved length), or a message when the kept cards alone are too long.

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
        if campaign.item_length(it) <= room:
            chosen[i] = it
        elif isinstance(it, ClipItem):
            short = shorten_quote(campaign, it, room, campaign.transcripts.get(it.clip), cache)
            if short is not None:
                chosen[i] = short
    result = [chosen[i] for i in sorted(chosen)]
    return result, sum((campaign.item_length(it) for it in result), Fraction(0))


__all__ = ["LEAD", "TAIL", "Passage", "Resolved", "closest", "cut_down", "cut_points", "envelope", "find",
           "normalise", "quiet_point", "resolve_quotes", "sentences"]


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
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
