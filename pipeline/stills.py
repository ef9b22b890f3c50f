"""A card standing still, encoded once as a closed GOP and played again (issue 25).

Where a card stands still (after its fade in, with nothing timed over it: no lower third, no burned
caption), every closed GOP of its encoded picture is the same. Its piece is then made of runs
(:func:`still_runs`): the fade, encoded as whole GOPs; one GOP of the still picture, joined as often as it
fits; the frames left over. The runs are one encode (:func:`still_runs_command`: the card's picture decoded
and the encoder set up once), cut into their files at their key frames. The output's join copies them in as
it copies its other pieces
(:func:`pipeline.render.join_command`), the key frames where a whole encode puts them. A 4 s end card
encodes 35 frames instead of 100, and a card's GOP is shared by every film and version that shows the
same card for the same output.

A described version's hold on a still card (the description reads the end card while the picture holds at
the film's end) is made of the same files (:class:`StillCard`): the card's still GOP played again and a run
of the frames left over, instead of the output's frame decoded and encoded again. The rest of its picture
is the output's own pieces (:class:`JoinedPicture`), played again with the holds between them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

from .cutaway import picture_span
from .encoding import gop_frames
from .ffmpeg import FfmpegCommand, compile_command
from .plan import RenderPlan
from .render import picture_output
from .timeline import CardSegment, Timeline

__all__ = ["JoinedPicture", "StillCard", "StillRun", "still_runs", "still_runs_command", "still_span"]


@dataclasses.dataclass(frozen=True)
class StillRun:
    """Part of a card's piece while its picture stands still: ``frames`` frames (with the card's fade in,
    or without), encoded once and played ``times`` times in a row."""

    frames: int
    fade: bool
    times: int = 1


def still_runs(plan: RenderPlan, piece: range) -> list[StillRun] | None:
    """A card's piece as runs of its still picture (see the module's note), or None to encode it whole
    (``plan`` is the piece's own, as :func:`~pipeline.render.picture_command` gets it: its burned captions
    only those the piece shows)."""
    if len(piece) != 1:
        return None
    timeline = plan.timeline
    seg = timeline.segments[piece.start]
    if not isinstance(seg, CardSegment):
        return None
    rate = timeline.rate
    first, end = picture_span(timeline.segments, piece.start)
    start, stop = seg.start + Fraction(first) / rate, seg.start + Fraction(end) / rate
    if plan.burn is not None or any(ov.start < stop and ov.start + ov.duration > start for ov in plan.overlays):
        return None
    unit = gop_frames(plan.preset, rate)
    # frames the fade changes: every frame up to its end (ffmpeg's fade still dims the frame at its end a little)
    fading = math.floor(min(seg.card.fade, seg.duration) * rate) + 1 if seg.card.fade > 0 else 0
    head = -(-fading // unit) * unit
    times, left = divmod(end - first - head, unit)
    if times < 2:
        return None
    return ([StillRun(head, True)] if head else []) + [StillRun(unit, False, times)] + \
        ([StillRun(left, False)] if left else [])


def still_span(plan: RenderPlan, piece: range, runs: list[StillRun]) -> tuple[int, int]:
    """The frames (first, end) of the output's timeline where a still card's piece (:func:`still_runs`) shows
    its still picture: after its fade, to its last frame."""
    seg = plan.timeline.segments[piece.start]
    first, end = picture_span(plan.timeline.segments, piece.start)
    at = int(seg.start * plan.timeline.rate)
    head = runs[0].frames if runs[0].fade else 0
    return at + first + head, at + end


@dataclasses.dataclass(frozen=True)
class StillCard:
    """Where an output's card stands still (frames ``first`` to ``end`` of its timeline, after the fade) and
    how its runs are had again: ``run_file`` gives a :class:`StillRun`'s file (from the cache, or encoded
    as the output's own runs are), so that a hold on the card plays its still GOP again (issue 25)."""

    first: int
    end: int
    unit: int  #: frames of the card's still GOP
    run_file: Callable[[StillRun], Path]

    def shows(self, frame: int) -> bool:
        """Whether the output's frame ``frame`` is this card's still picture."""
        return self.first <= frame < self.end

    def held(self, frames: int) -> list[Path]:
        """A hold of ``frames`` frames on the card, as the files to play in a row: the card's still GOP as
        often as it fits, then a run of the frames left over."""
        times, left = divmod(frames, self.unit)
        gop = [self.run_file(StillRun(self.unit, False))] * times if times else []
        return gop + ([self.run_file(StillRun(left, False))] if left else [])


@dataclasses.dataclass(frozen=True)
class JoinedPicture:
    """An output's picture as it was joined from its pieces: the frame of the output's timeline where each
    piece begins, and the files played for it, in order (a card's still GOP once each time it is played).
    The described version plays the same files, each hold put in where a piece begins (issue 25: no copy
    of the output cut apart, 250 MB for the example's cinema master)."""

    starts: tuple[int, ...]
    files: tuple[tuple[Path, ...], ...]

    def parts(self, cuts: Sequence[int]) -> list[list[Path]] | None:
        """The files in ``len(cuts) + 1`` parts, cut at each of ``cuts`` (frames of the output, rising); None
        where one is not where a piece begins."""
        index = {start: i for i, start in enumerate(self.starts)}
        if any(c not in index for c in cuts):
            return None
        bounds = [0, *(index[c] for c in cuts), len(self.files)]
        return [[f for files in self.files[a:b] for f in files] for a, b in itertools.pairwise(bounds)]


def still_runs_command(plan: RenderPlan, piece: range, runs: list[StillRun], stem: Path
                       ) -> tuple[FfmpegCommand, list[Path]]:
    """A card's runs (:func:`still_runs`, or one run: a hold's frames left over) by one encode, and the file of
    each run (``stem-000.<ext>`` …, in the order of ``runs``): each run's frames once, in a row (the fade in,
    then the still picture), encoded as the output's pieces are (the film's length sets the bitrate cap) and
    cut by the segment muxer into a file per run at its first frame (a key frame: the runs are whole GOPs but
    the last). The card's picture is decoded and the encoder set up once for the card, not once a run
    (measured: 0.55 s of CPU for the example's end card at 1080p against 0.96 s for three encodes)."""
    ext = "." + plan.preset.extension
    files = [stem.with_name(f"{stem.name}-{k:03d}{ext}") for k in range(len(runs))]
    cuts = list(itertools.accumulate(run.frames for run in runs))[:-1]
    whole = StillRun(sum(run.frames for run in runs), runs[0].fade)
    output = stem.with_name(f"{stem.name}-%03d{ext}") if cuts else files[0]
    return compile_command(_run_output(plan, piece, whole, output, cuts), [output]), files


def _run_output(plan: RenderPlan, piece: range, run: StillRun, output: Path, cuts: list[int] | None = None):
    seg = plan.timeline.segments[piece.start]
    assert isinstance(seg, CardSegment)
    card = seg.card if run.fade else seg.card.model_copy(update={"fade": 0})
    alone = dataclasses.replace(seg, card=card, frame_count=run.frames, start=Fraction(0))
    shown = dataclasses.replace(plan, timeline=Timeline(plan.timeline.rate, (alone,)), overlays=(), burn=None,
                                crops=(), crop_ys=(), cutaway_crops=())
    return picture_output(shown, range(0, 1), output, plan.timeline.duration, cuts or ())
