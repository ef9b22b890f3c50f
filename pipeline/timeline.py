"""The edit plan: what plays when, on one output's frame grid.

A :class:`Timeline` is built per output frame rate, because cut lengths are
rounded to whole frames: a cut of 7.5 s is 180 frames at 24 fps and 188 at 25.
Captions, loudness measurement and the filter graph all read the same Timeline,
so their idea of "where is second 12 of the output" cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .campaign import Campaign
from .cutaway import Cutaway, picture_shift, place
from .spec import CardItem, CardSpec, ClipItem
from .timecode import Time, frames, nearest_rate


class _Placed:
    """Length and end of a segment placed on the output's frame grid (shared by both kinds)."""

    frame_count: int
    start: Time
    rate: Fraction

    @property
    def duration(self) -> Time:
        return Fraction(self.frame_count) / self.rate

    @property
    def end(self) -> Time:
        return self.start + self.duration


@dataclass(frozen=True)
class ClipSegment(_Placed):
    """A cut of a clip, placed on the output timeline."""

    clip_id: str  #: which clip
    source_in: Time  #: cut start in the clip's own time
    frame_count: int  #: length in output frames
    start: Time  #: where it starts on the output timeline
    rate: Fraction  #: output frame rate
    cutaways: tuple[Cutaway, ...] = ()  #: other clips' pictures over this cut's sound
    picture_shift: int = 0  #: split edit: frames this cut's picture starts after its sound (J-cut; < 0: L-cut)

    @property
    def source_out(self) -> Time:
        return self.source_in + self.duration


@dataclass(frozen=True)
class CardSegment(_Placed):
    """A card, placed on the output timeline."""

    card_id: str  #: which card
    card: CardSpec  #: its spec
    frame_count: int  #: length in output frames
    start: Time  #: where it starts on the output timeline
    rate: Fraction  #: output frame rate


Segment = ClipSegment | CardSegment


@dataclass(frozen=True)
class Timeline:
    """The whole edit at one frame rate."""

    rate: Fraction  #: output frame rate
    segments: tuple[Segment, ...]  #: in playing order

    @property
    def frame_count(self) -> int:
        return sum(s.frame_count for s in self.segments)

    @property
    def duration(self) -> Time:
        return Fraction(self.frame_count) / self.rate

    def clip_segments(self) -> list[ClipSegment]:
        return [s for s in self.segments if isinstance(s, ClipSegment)]


def build_timeline(campaign: Campaign, rate: Fraction, channel: str | None = None, *,
                   items: Sequence[ClipItem | CardItem] | None = None) -> Timeline:
    """Lay the campaign's sequence (``items``, else as ``channel`` plays it) out on a frame grid at ``rate``.

    Each segment's length is its spec length rounded to the nearest frame (at least one).
    """
    spec = campaign.spec
    segments: list[Segment] = []
    position = Fraction(0)
    previous = None
    for item in campaign.sequence_for(channel) if items is None else items:
        if isinstance(item, ClipItem):
            start, end = campaign.cut_bounds(item)
            n = max(1, frames(end - start, rate))
            seg: Segment = ClipSegment(item.clip, start, n, position, rate, place(item, rate, n),
                                       picture_shift(item, previous, rate))
        else:
            assert isinstance(item, CardItem)
            card = spec.cards[item.card]
            n = max(1, frames(item.duration or card.duration, rate))
            seg = CardSegment(item.card, card, n, position, rate)
        segments.append(seg)
        position += seg.duration
        previous = item
    return Timeline(rate, tuple(segments))


def source_rate(campaign: Campaign) -> Fraction | None:
    """The frame rate the edit is made at, from all its clips (not the first alone): see :func:`edit_rate`.

    A clip counts at its own rate (a variable-rate phone clip at its nominal rate, not its average:
    :attr:`pipeline.probe.MediaInfo.fps`) for the time its cuts hold in the sequence. Channels with a
    fixed rate (cinema: 24) still use theirs. None when the sequence has no clips.
    """
    shares: list[tuple[Fraction, Time]] = []
    for item in campaign.spec.sequence:
        if not isinstance(item, ClipItem):
            continue
        fps = campaign.media[item.clip].fps if item.clip in campaign.media else None
        if fps:
            start, end = campaign.cut_bounds(item)
            shares.append((fps, end - start))
    return edit_rate(shares)


#: Rates this close (a share) are one family: 24 and 23.976, 30 and 29.97, 60 and 59.94 differ by one
#: frame in a thousand, where converting one to the other drops or repeats a frame every 40 seconds.
FAMILY = Fraction(1, 500)


def edit_rate(shares: Sequence[tuple[Fraction, Time]]) -> Fraction | None:
    """The edit's frame rate from (clip rate, seconds of the edit it holds): a clip is converted only
    where clips at another rate hold more of the edit.

    Each rate is snapped to the nearest broadcast rate (23.976, 24, 25, 29.97, 30, 50, 59.94, 60). The
    family of rates (23.976 with 24, 29.97 with 30, 59.94 with 60) that holds the most of the edit's
    time wins, and in it the rate that holds the most; ties go to the higher rate, so no clip loses
    frames it has. So a minority clip (a phone's 30 fps answer) never pulls the majority (another
    person's 25 fps interview) to its rate, however many cuts it has. None without clips.
    """
    time_at: dict[Fraction, Fraction] = {}
    for fps, length in shares:
        rate = nearest_rate(fps)
        time_at[rate] = time_at.get(rate, Fraction(0)) + length
    if not time_at:
        return None

    def family(rate: Fraction) -> list[Fraction]:
        return [r for r in time_at if abs(r - rate) <= rate * FAMILY]

    best = max(time_at, key=lambda r: (sum(time_at[f] for f in family(r)), max(family(r)), time_at[r], r))
    return max(family(best), key=lambda r: (time_at[r], r))
