"""Synstolking (audio description, WCAG 2.1 1.2.5): the description script, placed in the pauses of speech.

The script is drafted from what the spec already knows: each person's name and role at their first appearance (left
out where the words of their cut say it themselves), every card's text in speakable form (an address without
``https://www.``), and the producer's own ``describe:`` text on a sequence item or on a cutaway (what the cutaway's
picture shows). Each line goes into a pause of the output's speech (the transcript's word times on its timeline), at
least :data:`CLEAR` seconds clear of speech at both ends, within its item's time (a card line: within the card's
time, and the pauses around it; a cutaway's line: the nearest pause at or before the cutaway's start within its
item, as a cutaway covers speech). A line that fits no pause is reported with the time it needs.

:mod:`pipeline.voice` speaks the lines; :mod:`pipeline.described` makes the described version from a finished
output. Where a line fits no pause the picture can be held for it (extended description, :class:`Hold`,
``synstolking: hold``): the lines are then on the described version's timeline.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from . import voice as tts
from .cache import Cache
from .campaign import Campaign, OutputKey
from .captions import words_in_cut
from .cutaway import place as on_grid
from .job import output_spec
from .scriptfile import SCRIPT_FILE, read_script
from .spec import ClipItem
from .timecode import Time
from .timeline import CardSegment, ClipSegment, Timeline
from .transcribe import Transcript
from .transcripts import clip_transcript
from .yamlpos import Loc

log = logging.getLogger("rekrutt")

#: Seconds a description keeps clear of speech at both ends.
CLEAR = Fraction(1, 4)
#: Seconds between two description lines.
BETWEEN = Fraction(3, 10)
#: Folder beside the spec whose ``<line id>.wav`` recordings replace the synthetic voice.
RECORDINGS = "descriptions"


@dataclass(frozen=True)
class Line:
    """One line of the description script, before it is placed."""

    id: str  #: a slug, the name of its recording (descriptions/<id>.wav)
    text: str
    kind: str  #: "person", "card" or "describe"
    loc: Loc  #: where the spec says it (for file:line)
    window: tuple[Time, Time]  #: the time of its item on the output timeline
    card: bool = False  #: over a card (no speech): may use the pauses around the card
    latest: bool = False  #: a cutaway's line: in the last pause of its window that holds it, as late as it fits


@dataclass(frozen=True)
class Placed:
    """A line in its pause: where it starts and ends, the slot it may use, and whether it fits."""

    line: Line
    start: Time
    length: Time  #: seconds of its voice (0 when not spoken yet)
    slot: Time  #: the longest it may be where it goes
    fits: bool
    recorded: bool = False
    hold: Hold | None = None  #: the picture held for it (extended description), where it fits no pause

    @property
    def end(self) -> Time:
        return self.start + self.length

    def as_dict(self) -> dict:
        out = {"id": self.line.id, "start": round(float(self.start), 3), "end": round(float(self.end), 3),
               "text": self.line.text, "kind": self.line.kind, "recorded": self.recorded}
        if self.hold is not None:
            out["hold"] = {"at": round(float(self.hold.at), 3), "seconds": round(float(self.hold.length), 3)}
        return out


@dataclass(frozen=True)
class Hold:
    """Extended description: the picture held still at ``at`` (the output's own time) for ``length`` seconds
    (whole frames), the original sound paused, while a line that fits no pause is spoken."""

    at: Time  #: where it goes on the output's timeline (a segment's start or end)
    frame: Time  #: the time of the frame held: a shot's first (``at``), a card's last (``at`` - 1 frame)
    length: Time
    line_id: str


# --------------------------------------------------------------------------- the script

def speakable_link(url: str) -> str:
    """An address as it is said: ``https://www.fjordvik.kommune.no/jobb/`` -> ``fjordvik.kommune.no/jobb``."""
    text = re.sub(r"^[a-z]+://", "", url.strip(), flags=re.I)
    text = re.sub(r"^www\.", "", text, flags=re.I)
    return text.split("?")[0].split("#")[0].rstrip("/")


def card_text(card) -> str:
    """Everything a card shows, as one spoken line: its lines, subline and address."""
    parts = [*card.lines, *([card.subline] if card.subline else []), *([speakable_link(card.url)] if card.url else [])]
    return " ".join(p if re.search(r"[.!?…:]$", p) else p + "." for p in parts)


def slugify(text: str) -> str:
    """A line id's part: lower case a-z, 0-9 and dashes (æ, ø, å as ae, o, a)."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "x"


def _norm(word: str) -> str:
    return re.sub(r"[^\w]", "", word.lower())


def said(words: list[str], phrase: str) -> bool:
    """Whether every word of ``phrase`` is among ``words`` (case and punctuation ignored)."""
    spoken = {_norm(w) for w in words}
    wanted = [_norm(w) for w in phrase.split() if _norm(w)]
    return bool(wanted) and all(w in spoken for w in wanted)


def _raw_sequences(campaign: Campaign) -> list[tuple[Loc, list]]:
    """(key path, items as written) of the version's own sequence where it has one, then the main one."""
    data = campaign.located.data if campaign.located is not None else {}
    places: list[tuple[Loc, list]] = []
    if campaign.version and isinstance(data.get("versions", {}).get(campaign.version), dict):
        places.append((("versions", campaign.version, "sequence"),
                       data["versions"][campaign.version].get("sequence") or []))
    return places + [(("sequence",), data.get("sequence") or [])]


def _item_loc(campaign: Campaign, item, index: int) -> Loc:
    """The key path of a sequence item with a ``describe:``: in the version's own sequence, else the main one."""
    for prefix, seq in _raw_sequences(campaign):
        for i, raw in enumerate(seq):
            if isinstance(raw, dict) and raw.get("describe") == item.describe:
                return prefix + (i, "describe")
    return ("sequence", index, "describe")


def script(campaign: Campaign, timeline: Timeline, transcripts: dict[str, Transcript],
           channel: str | None = None) -> list[Line]:
    """The description lines of one output, in playing order (see the module's note)."""
    items = campaign.sequence_for(channel)
    lines: list[Line] = []
    seen_people: set[str] = set()
    ids: set[str] = set()
    taken: dict[str, int] = {}  # the next number to try per base id (a search from 2 each time is quadratic)
    corrected = read_script(campaign.base_dir / SCRIPT_FILE)  # the producer's own words for drafted lines

    def add(ident: str, **kw) -> None:
        base, n = ident, taken.get(ident, 2)
        while ident in ids:
            ident, n = f"{base}-{n}", n + 1
        taken[base] = n
        ids.add(ident)
        if ident in corrected:
            kw["text"] = corrected[ident]
        lines.append(Line(ident, **kw))

    for index, (item, seg) in enumerate(zip(items, timeline.segments, strict=True)):
        window = (seg.start, seg.end)
        if isinstance(seg, ClipSegment) and isinstance(item, ClipItem):
            person, role = campaign.clip_person(seg.clip_id)
            if person and person not in seen_people and campaign.spec.lower_thirds:
                seen_people.add(person)
                transcript = transcripts.get(seg.clip_id)
                words = [w.text for w in words_in_cut(transcript, seg)] if transcript else []
                first = person.split()[0]
                parts = [] if said(words, first) else [person]
                parts += [p.strip() for p in (role or "").split(",") if p.strip() and not said(words, p)]
                if parts:
                    add(f"{slugify(seg.clip_id)}-navn", text=", ".join(parts) + ".", kind="person",
                        loc=("clips", seg.clip_id, "person"), window=window)
        elif isinstance(seg, CardSegment):
            add(f"kort-{slugify(seg.card_id)}", text=card_text(seg.card), kind="card",
                loc=_card_loc(campaign, seg.card_id), window=window, card=True)
        if isinstance(seg, ClipSegment) and isinstance(item, ClipItem):
            for k, cut in enumerate(item.cutaways):
                at = _cutaway_start(item, cut, seg)
                if cut.describe and at is not None:
                    add(f"{index + 1:02d}-{slugify(cut.clip)}", text=cut.describe.strip(), kind="cutaway",
                        loc=_cutaway_loc(campaign, item, index, k), window=(seg.start, at), latest=True)
        if getattr(item, "describe", None):
            add(f"{index + 1:02d}-{slugify(getattr(item, 'clip', None) or getattr(item, 'card', ''))}",
                text=item.describe.strip(), kind="describe", loc=_item_loc(campaign, item, index),
                window=window, card=isinstance(seg, CardSegment))
    return lines


def _cutaway_start(item: ClipItem, cut, seg: ClipSegment) -> Time | None:
    """Where a cutaway starts on the output's timeline, as :func:`pipeline.cutaway.place` puts it on the
    grid (None where this cut does not show it: a cut-down that no longer holds its words)."""
    shown = on_grid(item.model_copy(update={"cutaways": [cut]}), seg.rate, seg.frame_count)
    return seg.start + Fraction(shown[0].offset) / seg.rate if shown else None


def _cutaway_loc(campaign: Campaign, item, index: int, k: int) -> Loc:
    """The key path of a cutaway's ``describe:`` (in the version's own sequence, else the main one)."""
    want = item.cutaways[k].describe
    for prefix, seq in _raw_sequences(campaign):
        for i, raw in enumerate(seq):
            cuts = raw.get("cutaways") if isinstance(raw, dict) else None
            if isinstance(cuts, list) and k < len(cuts) and isinstance(cuts[k], dict) \
                    and cuts[k].get("describe") == want:
                return prefix + (i, "cutaways", k, "describe")
    return ("sequence", index, "cutaways", k, "describe")


def _card_loc(campaign: Campaign, card_id: str) -> Loc:
    data = campaign.located.data if campaign.located is not None else {}
    if campaign.version and card_id in ((data.get("versions") or {}).get(campaign.version) or {}).get("cards", {}):
        return ("versions", campaign.version, "cards", card_id, "lines")
    return ("cards", card_id, "lines")


# --------------------------------------------------------------------------- the pauses

def speech(timeline: Timeline, transcripts: dict[str, Transcript]) -> list[tuple[Time, Time]]:
    """Where words are spoken on the output timeline, in order."""
    out = []
    for seg in timeline.clip_segments():
        transcript = transcripts.get(seg.clip_id)
        if transcript is None:
            out.append((seg.start, seg.end))  # no transcript: the whole cut counts as speech
            continue
        out += [(w.start, w.end) for w in words_in_cut(transcript, seg)]
    return sorted(out)


def pauses(duration: Time, busy: list[tuple[Time, Time]], clear: Time = CLEAR) -> list[tuple[Time, Time]]:
    """The stretches of ``[0, duration]`` at least ``clear`` away from every busy interval."""
    free: list[tuple[Time, Time]] = []
    at = Fraction(0)
    for s, e in sorted(busy):
        lo, hi = s - clear, e + clear
        if lo > at:
            free.append((at, lo))
        at = max(at, hi)
    if at < duration:
        free.append((at, duration))
    return [(a, b) for a, b in free if b > a]


class _Free:
    """The stretches of ``[0, ∞)`` outside the closed intervals taken so far, sorted (the last one open-ended):
    :func:`pauses` of everything taken, kept up to date one interval at a time (bisect) instead of recomputed."""

    def __init__(self) -> None:
        self.starts: list[Time] = [Fraction(0)]
        self.ends: list[Time | float] = [math.inf]

    def take(self, lo: Time, hi: Time) -> None:
        i = bisect.bisect_right(self.ends, lo)  # the first stretch ending after lo
        j = bisect.bisect_left(self.starts, hi, i)  # and the first from it starting at or after hi
        if i >= j:
            return
        starts, ends = [], []
        if lo > self.starts[i]:
            starts.append(self.starts[i])
            ends.append(lo)
        if hi < self.ends[j - 1]:
            starts.append(hi)
            ends.append(self.ends[j - 1])
        self.starts[i:j], self.ends[i:j] = starts, ends

    def within(self, lo: Time, hi: Time, duration: Time):
        """The stretches (a, b) that reach into ``(lo, hi)``, in order, the open-ended one up to ``duration``."""
        for i in range(bisect.bisect_right(self.ends, lo), len(self.starts)):
            a, b = self.starts[i], self.ends[i]
            if a >= hi or (b == math.inf and (a >= duration or duration <= lo)):
                return
            yield a, (duration if b == math.inf else b)


class _Reach:
    """Intervals by their start: the latest end among those that start before a time (bisect, running maxima)."""

    def __init__(self, pairs: list[tuple[Time, Time]] = ()) -> None:
        self.keys: list[Time] = []
        self.ends: list[Time] = []
        self.most: list[Time] = []
        for key, end in pairs:
            self.add(key, end)

    def add(self, key: Time, end: Time) -> None:
        i = bisect.bisect_right(self.keys, key)  # at the end but for a line placed before one taken earlier
        self.keys.insert(i, key)
        self.ends.insert(i, end)
        del self.most[i:]
        for e in self.ends[i:]:
            self.most.append(e if not self.most or e > self.most[-1] else self.most[-1])

    def before(self, t: Time, floor: Time) -> Time:
        i = bisect.bisect_left(self.keys, t)
        return max(floor, self.most[i - 1]) if i else floor


def place(lines: list[Line], lengths: dict[str, Time], timeline: Timeline, transcripts: dict[str, Transcript],
          recorded: set[str] = frozenset(), hold: bool = False) -> list[Placed]:
    """Each line in the first pause of its item's time that holds it (in order; lines do not overlap).

    With ``hold`` (extended description), a line that fits no pause is spoken over the picture held still
    (:class:`Hold`): a card's line from where the card's pause begins, the card's last frame held for the
    rest; any other line at its shot's first frame. The lines are then on the described version's
    timeline (:func:`shift`), every held one ``fits``."""
    return _place(lines, lengths, speech(timeline, transcripts), timeline.duration, timeline.rate, recorded, hold)


def _place(lines: list[Line], lengths: dict[str, Time], talk: list[tuple[Time, Time]], duration: Time,
           rate: Fraction, recorded: set[str] = frozenset(), hold: bool = False) -> list[Placed]:
    """:func:`place` given the speech (sorted), in O(n log n): the free stretches are kept (:class:`_Free`),
    not recomputed for every line; the same as :func:`pauses` of the speech and the lines taken so far
    (each :data:`CLEAR` from speech, :data:`BETWEEN` from a line)."""
    free, heard, said_ = _Free(), _Reach((s, e + CLEAR) for s, e in talk), _Reach()
    for s, e in talk:
        free.take(s - CLEAR, e + CLEAR)
    placed: list[Placed] = []
    for line in lines:
        length = lengths.get(line.id, Fraction(0))
        lo, hi = line.window
        best: Placed | None = None
        biggest = (Fraction(0), lo)
        for a, b in free.within(lo, hi, duration):
            start = max(a, lo)
            end = b if line.card else min(b, hi)
            slot = end - start
            if slot > biggest[0]:
                biggest = (slot, start)
            if length and slot >= length:
                # a cutaway's line: the nearest pause before its picture, ending where the pause does
                best = Placed(line, end - length if line.latest else start, length, slot, True, line.id in recorded)
                if not line.latest:
                    break
        if best is None and hold and length:  # a card's pause ends at hi where nothing before hi reaches it
            after = said_.before(hi, heard.before(hi, Fraction(0)))
            best = _held(line, length, after, rate, line.id in recorded, biggest[0])
        if best is None:
            best = Placed(line, biggest[1], length, biggest[0], not length and biggest[0] > 0, line.id in recorded)
        placed.append(best)
        taken = ((best.start, best.end) if best.fits and length and not best.hold else
                 (best.start, best.hold.at) if best.hold and best.start < best.hold.at else None)
        if taken:  # a line spoken (a card's line begun over the card: up to its hold)
            free.take(taken[0] - BETWEEN, taken[1] + BETWEEN)
            said_.add(taken[0] - BETWEEN + CLEAR, taken[1] + BETWEEN)
    return _on_held_timeline(placed, rate) if hold else placed


def _held(line: Line, length: Time, after: Time, rate: Fraction, recorded: bool, slot: Time) -> Placed:
    """A line that fits no pause, with its hold (its length set by :func:`_on_held_timeline`); ``after``: the
    latest end (with its margin, from 0) of speech and lines that start before the line's item ends."""
    lo, hi = line.window
    frame = 1 / rate
    if line.card:  # from the start of the card's last pause (what follows the card waits for the hold)
        start = max(after, lo) if after < hi and hi > lo else hi
        return Placed(line, start, length, slot, True, recorded, Hold(hi, hi - frame, Fraction(0), line.id))
    return Placed(line, lo, length, slot, True, recorded, Hold(lo, lo, Fraction(0), line.id))


def shift(t: Time, holds: list[Hold], start: bool = True) -> Time:
    """A time of the output on its described version's timeline: later by the holds before it (a hold at
    ``t`` itself comes before a ``start``, after an end)."""
    return t + sum((h.length for h in holds if h.at < t or (start and h.at == t)), Fraction(0))


def _on_held_timeline(placed: list[Placed], rate: Fraction) -> list[Placed]:
    """The placed lines on the described version's timeline, each hold as long as its line needs (the line
    :data:`CLEAR` s into the hold, or on from the card, and :data:`CLEAR` s before the film goes on; after
    any line still being spoken, by :data:`BETWEEN`), in whole frames.

    The holds are made in order of time, so :func:`shift` by those made is a bisect into their running
    sums; a line spoken before a hold is shifted only by holds before it, all made by then."""
    order = sorted((p for p in placed if p.hold), key=lambda p: (p.hold.at, not p.line.card))
    ats: list[Time] = []
    sums = [Fraction(0)]

    def shifted(t: Time) -> Time:  # shift(t, the holds made), a hold at t before it
        return t + sums[bisect.bisect_right(ats, t)]

    voiced = sorted((q for q in placed if q.fits and q.length and not q.hold), key=lambda q: q.start)
    k, latest = 0, None  # the lines before the hold (voiced[:k]), and the latest end of them and the held
    moved: dict[str, Placed] = {}
    for p in order:
        at = shifted(p.hold.at)  # where the hold begins on the held timeline
        if p.start < p.hold.at:  # a card's line, begun over the card
            begin = shifted(p.start)
        else:
            for q in voiced[k:]:
                if q.start >= p.hold.at:
                    break
                end, k = shifted(q.start) + q.length, k + 1
                latest = end if latest is None or end > latest else latest
            begin = at + CLEAR if latest is None or latest + BETWEEN <= at + CLEAR else latest + BETWEEN
        need = begin + p.length + CLEAR - at
        frames = max(1, -(-need * rate // 1))
        h = dataclasses.replace(p.hold, length=Fraction(frames) / rate)
        ats.append(h.at)
        sums.append(sums[-1] + h.length)
        moved[p.line.id] = m = dataclasses.replace(p, start=begin, hold=h)
        latest = m.end if latest is None or m.end > latest else latest
    return [moved.get(p.line.id) or dataclasses.replace(p, start=shifted(p.start)) for p in placed]


def holds_of(placed: list[Placed]) -> list[Hold]:
    """The holds of placed lines, in playing order (a card's before the next shot's at the same time)."""
    return [p.hold for p in sorted((p for p in placed if p.hold), key=lambda p: (p.hold.at, not p.line.card))]


# --------------------------------------------------------------------------- the voice

def voice_of(campaign: Campaign) -> tts.Voice:
    """The description voice: the spec's, else the brand's."""
    s, b = campaign.spec.synstolking, campaign.brand.spec.synstolking
    if s.voice is not None and not isinstance(s.voice, str):
        return tts.Voice(command=s.voice.command, rate=s.rate or b.rate)
    return tts.Voice(name=s.voice or b.voice, rate=s.rate or b.rate)


def recording(campaign: Campaign, line_id: str) -> Path:
    return campaign.base_dir / RECORDINGS / f"{line_id}.wav"


def spoken(campaign: Campaign, lines: list[Line], work: Path | None = None, cache: Cache | None = None) -> tts.Spoken:
    """Each line's voice when first read: its recording where there is one, else the synthetic one (cached)."""
    v, text = voice_of(campaign), {line.id: line.text for line in lines}
    return tts.Spoken(list(text), lambda i: tts.speak(text[i], v, recording(campaign, i), work, cache))


def described_lines(campaign: Campaign, timeline: Timeline, transcripts: dict[str, Transcript],
                    channel: str | None, work: Path | None = None, cache: Cache | None = None
                    ) -> tuple[list[Placed], tts.Spoken]:
    """The output's script, spoken and placed: (placed lines, each line's samples, spoken when first read)."""
    lines, v = script(campaign, timeline, transcripts, channel), voice_of(campaign)
    lengths = {line.id: tts.spoken_length(line.text, v, recording(campaign, line.id), work, cache) for line in lines}
    recorded = {line.id for line in lines if recording(campaign, line.id).is_file()}
    hold = campaign.spec.synstolking.hold
    return place(lines, lengths, timeline, transcripts, recorded, hold=hold), spoken(campaign, lines, work, cache)


def stem(placed: list[Placed], voices: tts.Spoken | dict[str, np.ndarray], duration: Time, path: Path) -> Path:
    """The description alone (mono, :data:`voice.VOICE_RATE`), each line at its start, silence elsewhere."""
    import numpy as np
    rate = tts.VOICE_RATE
    out = np.zeros(int(float(duration) * rate) + 1, dtype=np.int16)
    for p in placed:
        if not p.fits:
            continue
        samples = voices[p.line.id]
        at = int(float(p.start) * rate)
        n = max(0, min(samples.size, out.size - at))
        out[at:at + n] = samples[:n]
    return tts.write_wav(path, out, rate)


# --------------------------------------------------------------------------- the transcripts

def transcripts_of(campaign: Campaign, captions=None) -> dict[str, Transcript]:
    """The clips' transcripts in the campaign's language: the caption maker's (every clip), else those
    the quotes were found in."""
    if captions is not None and captions.transcripts:
        return dict(next(iter(captions.transcripts.values())))
    return dict(campaign.transcripts)


# --------------------------------------------------------------------------- checks (validate)

@dataclass(frozen=True)
class Finding:
    """Something about the description that validate reports: where, what, and what to do."""

    loc: Loc
    message: str
    hint: str = ""
    problem: bool = False  #: stops the render (else a warning)


def outputs_described(campaign: Campaign):
    """Every (edition, channel) of the run (:meth:`Campaign.outputs`, the one place that decides it)
    whose mode is ``version``."""
    for key in campaign.outputs():
        if campaign.spec.synstolking.mode_for(key.channel) == "version":
            yield (campaign.for_version(key.version) if key.version else campaign), key.channel


def check(campaign: Campaign, transcripts: dict[str, Transcript], timeline_for, cache: Cache | None = None
          ) -> list[Finding]:
    """What ``validate`` says of the description: unknown channels and voice, a line that fits no pause
    (with the time it needs and the longest pause there is), a recording longer than its slot, and a
    recording in descriptions/ that no line has. ``timeline_for(edition, channel)`` lays an output out."""
    syn = campaign.spec.synstolking
    found: list[Finding] = []
    known = campaign.all_channels
    for name in syn.channels:
        if name not in known:
            found.append(Finding(("synstolking", "channels", name), f"'{name}' is not a channel of this campaign",
                                 "the spec's channels: " + ", ".join(sorted(known)), problem=True))
    if syn.voice is not None and isinstance(syn.voice, str):
        try:
            tts.espeak_samples("ja", syn.voice, 175)
        except Exception as exc:  # InputError: no such voice; RenderError: no engine
            found.append(Finding(("synstolking", "voice"), str(exc), "voice: nb", problem=True))
            return found
    seen: dict[tuple[str, str], list[str]] = {}
    ids: set[str] = set()
    facts: dict[tuple[str, str], tuple[Placed, str]] = {}
    for edition, channel in outputs_described(campaign):
        timeline = timeline_for(edition, channel)
        placed, _ = described_lines(edition, timeline, transcripts, channel, cache=cache)
        for p in placed:
            ids.add(p.line.id)
            if p.fits:
                continue
            what = (edition.label, p.line.id)
            seen.setdefault(what, []).append(channel)
            facts.setdefault(what, (p, edition.where if hasattr(edition, "where") else edition.label))
    for (label, line_id), chans in seen.items():
        p, _ = facts[(label, line_id)]
        kind = "recorded line" if p.recorded else "description line"
        where = "over the card" if p.line.card else \
            "in this cut before the cutaway" if p.line.latest else "in this cut"
        first = "start the cutaway later (on later words), " if p.line.latest else ""
        found.append(Finding(
            p.line.loc, f"the {kind} '{line_id}' (\"{_short(p.line.text)}\") needs {float(p.length):.1f} s, and the "
            f"longest pause {where} is {float(p.slot):.1f} s ({label}: {', '.join(chans)}); it is left out of the "
            "described version",
            f"{first}shorten the text, leave a pause in the cut (pad:, from:/to:), make the card longer (duration:), "
            f"record it faster ({RECORDINGS}/{line_id}.wav), or speak faster (synstolking: rate)"))
    folder = campaign.base_dir / RECORDINGS
    if folder.is_dir():
        for wav in sorted(folder.glob("*.wav")):
            if wav.stem not in ids:
                found.append(Finding(("synstolking",), f"{RECORDINGS}/{wav.name} is the recording of no line",
                                     "name it after a line (python cli.py describe export SPEC lists them)"))
    return found


def _short(text: str, n: int = 50) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def export_rows(campaign: Campaign, transcripts: dict[str, Transcript], timeline_for) -> list[dict]:
    """The description script of every described output: each line's id, text, slot and longest length."""
    rows: list[dict] = []
    for edition, channel in outputs_described(campaign):
        timeline = timeline_for(edition, channel)
        placed, _ = described_lines(edition, timeline, transcripts, channel)
        for p in placed:
            rows.append({"version": edition.version or "main", "channel": channel, "id": p.line.id,
                         "kind": p.line.kind, "text": p.line.text, "start": round(float(p.start), 2),
                         "longest": round(float(p.slot), 2), "needs": round(float(p.length), 2),
                         "fits": p.fits, "recorded": p.recorded,
                         "held": round(float(p.hold.length), 2) if p.hold else 0,
                         "recording": f"{RECORDINGS}/{p.line.id}.wav"})
    return rows


def all_transcripts(campaign: Campaign, transcriber) -> dict[str, Transcript]:
    """Every clip's transcript that any edition plays (those the quotes were found in, the rest through
    the transcriber and its cache)."""
    clip_ids = {s.clip for e in campaign.editions() for s in e.spec.sequence if isinstance(s, ClipItem)}
    found = dict(campaign.transcripts)
    for clip_id in sorted(clip_ids - set(found)):
        found[clip_id] = clip_transcript(campaign, clip_id, transcriber)
    return found


def timeline_for(edition: Campaign, channel: str) -> Timeline:
    """An output's timeline, as the render lays it out (the output's job, :func:`~pipeline.job.output_spec`)."""
    return output_spec(edition, OutputKey(edition.version, channel)).timeline


def script_markdown(rows: list[dict]) -> str:
    """The description script as a table to read, edit (in the spec) or record from."""
    out = ["# Synstolking: the description script", "",
           "Each line is spoken in a pause of the speech; where none is long enough, the described version holds "
           "the picture for it (times are the described version's). Record a line as `descriptions/<id>.wav` "
           "beside the spec to replace the synthetic voice (no longer than its longest length, or its hold's). "
           "Change a card's or a person's text in the spec; add your own with `describe:` on a sequence item or a "
           "cutaway.", "",
           "| version | channel | id | starts at (s) | longest (s) | synthetic (s) | fits | text |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        out.append(f"| {r['version']} | {r['channel']} | `{r['id']}` | {r['start']:.2f} | {r['longest']:.2f} | "
                   f"{r['needs']:.2f} | {'yes' if r['fits'] else '**no**'}{' (recorded)' if r['recorded'] else ''}"
                   f"{f' (picture held {held:.2f} s)' if (held := r.get('held')) else ''} "
                   f"| {r['text']} |")
    return "\n".join(out) + "\n"
