"""Cutaways and split edits on one output's frame grid (pure: no media, no transcript).

A cutaway (``cutaways:`` on a sequence item) shows another clip's picture over the item's sound. By the
time a timeline is built its place is known in the item's own time (``at``/``for``: from the words it
covers, :mod:`pipeline.cutaways`), so here it is only put on the frame grid. A split edit (``lead:``,
``tail:``) moves the picture's cut against the sound's: the sound's cuts stay where they were put (in
pauses, on the grid), the picture changes ``lead`` later (J-cut) or ``tail`` earlier (L-cut).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .spec import ClipItem
from .timecode import Time, frames, short_clock


@dataclass(frozen=True)
class Cutaway:
    """A cutaway on the output's grid, inside its item's segment."""

    clip_id: str  #: whose picture is shown
    source_in: Time  #: where in that clip it starts
    offset: int  #: frames from the segment's (sound's) start
    frame_count: int  #: how many frames it shows
    gain_db: float | None  #: its own sound, dB under the voice (None: off)
    focus: float | None = None  #: a fixed framing (share of the width), None: the clip's own

    def duration(self, rate: Fraction) -> Time:
        return Fraction(self.frame_count) / rate


#: The framing words of ``focus:`` (as in spec.FOCUS_WORDS).
_FOCUS = {"left": 1 / 3, "centre": 0.5, "center": 0.5, "right": 2 / 3}


def place(item: ClipItem, rate: Fraction, frame_count: int) -> tuple[Cutaway, ...]:
    """The item's cutaways on the grid at ``rate``, inside its ``frame_count`` frames.

    Placed from the item's own time (``at``/``for``, filled from the covered words at validation): the
    first frame is the one the first word starts in, the last the one the last word ends in. A cutaway
    not yet placed (``during`` unresolved) or whose words the item no longer holds whole (a cut-down
    that ended the item earlier) is left out: cut-downs keep or drop a cutaway with its words.
    """
    out = []
    for cut in item.cutaways:
        if cut.at is None or cut.length is None:
            continue
        first = int(cut.at * rate)  # the frame the first word starts in
        last = -(-((cut.at + cut.length) * rate) // 1)  # up to the frame edge after the last word ends
        if first >= frame_count or (cut.at + cut.length) * rate > frame_count + Fraction(1, 2):
            continue
        last = min(int(last), frame_count)
        focus = _FOCUS[cut.focus] if isinstance(cut.focus, str) else cut.focus
        out.append(Cutaway(cut.clip, cut.start, first, max(1, last - first), cut.gain_db, focus))
    return tuple(out)


def picture_shift(item: ClipItem, previous: object, rate: Fraction) -> int:
    """Frames the picture's cut into ``item`` lies after its sound's cut: ``lead`` (J-cut) later, ``tail``
    (L-cut) earlier; 0 where the item before it is not a clip (a card has no sound to split from)."""
    if not isinstance(previous, ClipItem):
        return 0
    return frames(item.lead or Fraction(0), rate) - frames(item.tail or Fraction(0), rate)


def picture_span(segments, index: int) -> tuple[int, int]:
    """(first, end) frame offsets of segment ``index``'s picture from its sound's start: moved by its own
    split edit at the start and the next segment's at the end."""
    seg = segments[index]
    start = getattr(seg, "picture_shift", 0)
    nxt = segments[index + 1] if index + 1 < len(segments) else None
    return start, seg.frame_count + (getattr(nxt, "picture_shift", 0) if nxt is not None else 0)


@dataclass(frozen=True)
class Placed:
    """A cutaway where the output shows it: for the edit's second video track and the paper edit."""

    segment: int  #: index of the segment (cut) whose sound it lies over
    index: int  #: which of that cut's cutaways
    record_in: Time  #: where on the output's timeline it starts
    cutaway: Cutaway

    def record_out(self, rate: Fraction) -> Time:
        return self.record_in + self.cutaway.duration(rate)


def placed(timeline) -> tuple[Placed, ...]:
    """Every cutaway of ``timeline`` at its place on the output's timeline, in order."""
    return tuple(Placed(i, k, seg.start + Fraction(cut.offset) / timeline.rate, cut)
                 for i, seg in enumerate(timeline.segments) for k, cut in enumerate(getattr(seg, "cutaways", ())))


def in_clip_time(edition, item: ClipItem) -> list[tuple[Time, Time, object]]:
    """(start, end, cutaway spec) of each of ``item``'s cutaways in its speaker's clip time, as the edition
    keeps them (a cut-down that no longer holds a cutaway's words whole drops it, as :func:`place` does)."""
    start, end = edition.cut_bounds(item)
    return [(start + c.at, start + c.at + c.length, c) for c in item.cutaways
            if c.at is not None and c.length is not None and start + c.at + c.length <= end + Fraction(1, 50)]


def paper_lines(uses: list[tuple[Time, Time, object, str]], transcript, s_start: Time, s_end: Time,
                md: bool) -> list[str]:
    """The paper edit's lines for the cutaways that start in the sentence ``s_start``–``s_end``: the clip
    shown, the words it covers and their times, in which edition (``uses``: (start, end, cutaway, edition))."""
    out = []
    for a, b, cut, name in sorted(uses, key=lambda u: (u[0], u[3])):
        if not s_start <= a < s_end:
            continue
        said = " ".join(w.text for w in transcript.words if w.start >= a - Fraction(1, 50)
                        and w.end <= b + Fraction(1, 50)).strip()
        times = f"{short_clock(a)}–{short_clock(b)}"
        source = f", from {float(cut.start):g} s of it" if cut.start else ""
        sound = "its sound off" if cut.gain_db is None else f"its sound {cut.gain_db:g} dB"
        what = f'{cut.clip}{source} over "{said}" ({sound}) [{name}]'
        out.append(f"    - cutaway `{times}` {what}" if md else f"      ↳ cutaway {times}  {what}")
    return out
