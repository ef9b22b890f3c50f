"""Where text goes so that it does not cover a face: burned captions and lower thirds.

The reframing's face analysis (faces sampled twice a second, cached with the clip) is
mapped into each output's frame through the same scale and crop the render uses. Text
is then placed in the safe area's free band: captions at the bottom where the face
leaves room, else at the top, above the head; a lower third beside the captions, or at
the other end of the safe area. Where no free band exists the text stays where it was
and a warning says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .channels import Preset
from .reframe import SAMPLES_PER_SECOND, analyse, centre_at, crop_path, cut_crop_keys, needs_reframing
from .timecode import Time
from .timeline import ClipSegment, Timeline

#: A box in output pixels: (x0, y0, x1, y1).
Box = tuple[float, float, float, float]

#: A face box from the cascade covers brow to mouth; the chin and hair reach this far beyond it (shares of its width).
ABOVE_FACE, BELOW_FACE = 0.35, 0.45
#: Text keeps this share of the frame height clear of the face.
CLEARANCE = 0.01


@dataclass(frozen=True)
class FaceSpan:
    """Where the main face is in the output frame from ``start`` to ``end`` (output seconds)."""

    start: Time
    end: Time
    box: Box  #: the head: hair to chin
    core: Box = (0.0, 0.0, 0.0, 0.0)  #: eyes to mouth (what text must never cover)


def _scaled(aspect: Fraction, preset: Preset, fit: str) -> tuple[float, float]:
    """The source's size in output pixels after its fit (crop fills, pad and pad-blur fit)."""
    w, h = preset.width, preset.height
    wide = aspect > Fraction(w, h)
    if (fit == "crop") == wide:
        return float(h * aspect), float(h)
    return float(w), float(w / aspect)


#: Where a pad leaves bars, text keeps this share of the picture's size from the picture's edges.
PICTURE_MARGIN = 0.05


def picture_box(aspect: Fraction, preset: Preset, fit: str | None = None) -> Box:
    """The part of the output frame that shows a source of ``aspect`` (not the black bars a pad leaves).

    A crop fills the frame and a pad-blur fills it with a blur of the picture itself: the whole frame.
    """
    w, h = preset.width, preset.height
    if (fit or preset.fit) != "pad":
        return (0.0, 0.0, float(w), float(h))
    sw, sh = _scaled(aspect, preset, "pad")
    return ((w - sw) / 2, (h - sh) / 2, (w + sw) / 2, (h + sh) / 2)


def _source_aspect(campaign, clip_id: str) -> Fraction | None:
    info = campaign.media.get(clip_id)
    if info is None or not info.width or not info.height:
        return None
    return Fraction(info.width, info.height) * info.sample_aspect


def picture_spans(campaign, timeline: Timeline, preset: Preset,
                  fits: dict[str, str] | None = None) -> list[tuple[Time, Time, Box]]:
    """(start, end, picture box) of every cut of the output: where its picture is in the frame (``fits``: how
    each clip fills the frame, the output's :attr:`~pipeline.job.OutputSpec.fits`)."""
    out = []
    for seg in timeline.clip_segments():
        aspect = _source_aspect(campaign, seg.clip_id)
        full = (0.0, 0.0, float(preset.width), float(preset.height))
        box = picture_box(aspect, preset, (fits or {}).get(seg.clip_id)) if aspect else full
        out.append((seg.start, seg.end, box))
    return out


def text_area(preset: Preset, pictures: list[tuple[Time, Time, Box]] = (), start: Time | None = None,
              end: Time | None = None) -> Box:
    """Where text may go: the channel's safe area, inside (a margin within) the picture of every cut on screen from
    ``start`` to ``end`` (all of ``pictures`` when no times are given), so that no text straddles a bar."""
    x0, y0, x1, y1 = (float(v) for v in preset.safe_area.box(preset.width, preset.height))
    for t0, t1, (px0, py0, px1, py1) in pictures:
        if start is not None and not (t0 < end and t1 > start):
            continue
        if (px1 - px0, py1 - py0) == (preset.width, preset.height):
            continue  # the picture fills the frame: the safe area alone holds
        mx, my = (px1 - px0) * PICTURE_MARGIN, (py1 - py0) * PICTURE_MARGIN
        x0, y0, x1, y1 = max(x0, px0 + mx), max(y0, py0 + my), min(x1, px1 - mx), min(y1, py1 - my)
    return x0, y0, max(x0, x1), max(y0, y1)


def face_spans(campaign, cache, timeline: Timeline, preset: Preset, fits: dict[str, str]) -> list[FaceSpan]:
    """The main face of every cut, in output pixels, for each half second it was sampled (``fits``: how each
    clip fills the frame, the output's :attr:`~pipeline.job.OutputSpec.fits`)."""
    spans: list[FaceSpan] = []
    w, h = preset.width, preset.height
    step = Fraction(1, SAMPLES_PER_SECOND)
    for seg in timeline.segments:
        if not isinstance(seg, ClipSegment):
            continue
        info = campaign.media[seg.clip_id]
        if not info.width or not info.height:
            continue
        aspect = Fraction(info.width, info.height) * info.sample_aspect
        fit = fits.get(seg.clip_id, "crop")
        sw, sh = _scaled(aspect, preset, fit)
        analysis = analyse(campaign.clip_source(seg.clip_id), info, cache)
        xkeys, ykeys = (cut_crop_keys(campaign, cache, seg.clip_id, seg.source_in, seg.duration, w, h)
                        if fit == "crop" else (None, None))
        for sample in analysis.samples:
            face = sample.main
            if face is None or not seg.source_in - step / 2 <= sample.t <= seg.source_out:
                continue
            t = float(sample.t - seg.source_in)
            left = min(max(centre_at(xkeys, t) * sw - w / 2, 0.0), sw - w) if xkeys else (sw - w) / 2
            top = min(max(centre_at(ykeys, t) * sh - h / 2, 0.0), sh - h) if ykeys else (sh - h) / 2
            start = seg.start + max(Fraction(0), sample.t - seg.source_in - step / 2)
            spans.append(FaceSpan(start, min(seg.end, start + step), *_on_screen(face, sw, sh, left, top)))
    return cutaway_faces(campaign, cache, timeline, preset, spans, fits)


def _on_screen(face, sw: float, sh: float, left: float, top: float) -> tuple[Box, Box]:
    """A face's box (hair to chin, what text keeps off) and core (eyes to mouth) in output pixels, for a
    source scaled to ``sw`` x ``sh`` and shown from (``left``, ``top``)."""
    fw = face.size * sw
    cx, cy = face.cx * sw - left, face.cy * sh - top
    return ((cx - fw / 2, cy - fw / 2 - ABOVE_FACE * fw, cx + fw / 2, cy + fw / 2 + BELOW_FACE * fw),
            (cx - fw / 2, cy - fw / 2, cx + fw / 2, cy + fw / 2))


def cutaway_faces(campaign, cache, timeline: Timeline, preset: Preset, spans: list[FaceSpan],
                  fits: dict[str, str] | None = None) -> list[FaceSpan]:
    """``spans`` with each cutaway's own faces in place of the speaker's while it is shown: text is placed
    off the faces on screen, and under a cutaway that is the cutaway's picture, framed as the render frames it
    (its faces followed, or its ``focus:``)."""
    w, h = preset.width, preset.height
    step = Fraction(1, SAMPLES_PER_SECOND)
    for seg in timeline.clip_segments():
        for cut in seg.cutaways:
            a = seg.start + Fraction(cut.offset) / timeline.rate
            b = a + cut.duration(timeline.rate)
            kept = []
            for s in spans:  # the speaker's face is not on screen from a to b
                if s.end <= a or s.start >= b:
                    kept.append(s)
                    continue
                if s.start < a:
                    kept.append(FaceSpan(s.start, a, s.box, s.core))
                if s.end > b:
                    kept.append(FaceSpan(b, s.end, s.box, s.core))
            spans = kept
            info = campaign.media[cut.clip_id]
            if not info.width or not info.height:
                continue
            aspect = Fraction(info.width, info.height) * info.sample_aspect
            fit = (fits or {}).get(cut.clip_id, "crop")
            sw, sh = _scaled(aspect, preset, fit)
            xkeys, ykeys = (cut_crop_keys(campaign, cache, cut.clip_id, cut.source_in, b - a, w, h)
                            if fit == "crop" else (None, None))
            if cut.focus is not None and fit == "crop":
                xkeys = crop_path(None, cut.source_in, b - a, cut.focus) if needs_reframing(info, w, h) else None
            for sample in analyse(campaign.clip_source(cut.clip_id), info, cache).samples:
                face = sample.main
                if face is None or not cut.source_in - step / 2 <= sample.t <= cut.source_in + (b - a):
                    continue
                t = float(sample.t - cut.source_in)
                left = min(max(centre_at(xkeys, t) * sw - w / 2, 0.0), sw - w) if xkeys else (sw - w) / 2
                top = min(max(centre_at(ykeys, t) * sh - h / 2, 0.0), sh - h) if ykeys else (sh - h) / 2
                start = a + max(Fraction(0), sample.t - cut.source_in - step / 2)
                spans.append(FaceSpan(start, min(b, start + step), *_on_screen(face, sw, sh, left, top)))
    return sorted(spans, key=lambda s: s.start)


def face_during(spans: list[FaceSpan], start: Time, end: Time, core: bool = False) -> Box | None:
    """The union of the face boxes (``core``: eyes to mouth only) on screen at any time from ``start`` to ``end``."""
    boxes = [s.core if core else s.box for s in spans if s.start < end and s.end > start]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place(height: float, x0: float, x1: float, spans: list[FaceSpan], start: Time, end: Time, preset: Preset,
          prefer: str, taken: list[Box] = (), area: Box | None = None) -> tuple[str, float] | None:
    """Where a band of text fits: clear of the whole head if it can be, else clear of its eyes and
    mouth (over hair or chin); None when neither is possible. ``area``: where text may go (:func:`text_area`;
    default: the safe area)."""
    for core in (False, True):
        spot = free_y(height, x0, x1, face_during(spans, start, end, core), preset, prefer, taken, area)
        if spot is not None:
            return spot
    return None


def free_y(height: float, x0: float, x1: float, face: Box | None, preset: Preset, prefer: str,
           taken: list[Box] = (), area: Box | None = None) -> tuple[str, float] | None:
    """Where (which end, top y) a band of ``height`` between ``x0`` and ``x1`` fits in the safe area
    without touching ``face`` or the ``taken`` boxes: at the ``prefer``red end first
    ("bottom": as low as it goes, "top": as high), then the other, then in the free band next to
    the face, all inside ``area`` (default: the safe area). None when nowhere is free."""
    _, sy0, _, sy1 = area or preset.safe_area.box(preset.width, preset.height)
    gap = preset.height * CLEARANCE
    blocked = [b for b in [face, *taken] if b is not None]
    candidates = {"bottom": sy1 - height, "top": float(sy0)}
    order = [prefer, "top" if prefer == "bottom" else "bottom"]
    tries = [(end, candidates[end]) for end in order]
    if face is not None:  # just below the chin, just above the head
        tries += [("bottom", face[3] + gap), ("top", face[1] - gap - height)]
    for end, y in tries:
        if y < sy0 or y + height > sy1:
            continue
        box = (x0, y - gap, x1, y + height + gap)
        if not any(overlaps(box, b) for b in blocked):
            return end, y
    return None


#: The hair beside the face box reaches this share of its width to each side.
BESIDE_FACE = 0.1


def crown_during(spans: list[FaceSpan], start: Time, end: Time) -> Box | None:
    """The eyes, mouth and hair on screen at any time from ``start`` to ``end``: the face box widened for the
    hair beside it and raised for the hair above it (the chin and neck below the mouth left free)."""
    core = face_during(spans, start, end, core=True)
    if core is None:
        return None
    fw = min(s.core[2] - s.core[0] for s in spans if s.start < end and s.end > start)
    return (core[0] - BESIDE_FACE * fw, core[1] - ABOVE_FACE * fw, core[2] + BESIDE_FACE * fw, core[3])


def strap_spot(size: tuple[float, float], home: tuple[float, float], spans: list[FaceSpan], start: Time, end: Time,
               preset: Preset, taken: list[Box] = (), area: Box | None = None) -> tuple[float, float] | None:
    """Where a name strap of ``size`` (w, h) fits from ``start`` to ``end``: its ``home`` (x, y) when it is free,
    else the left or right edge of the safe area at its bottom, top, below the chin or above the head, clear of
    the whole head (hair to chin) where it can be and else clear of eyes, mouth and hair; never over those,
    nor over the ``taken`` boxes (captions); all inside ``area`` (:func:`text_area`; default: the safe area).
    None when nowhere is free."""
    w, h = size
    sx0, sy0, sx1, sy1 = area or preset.safe_area.box(preset.width, preset.height)
    gap = preset.height * CLEARANCE
    inset = (sx1 - sx0) * 0.02
    xs = [home[0], sx0 + inset, sx1 - inset - w]
    for face in (face_during(spans, start, end), crown_during(spans, start, end)):
        ys = [home[1], sy1 - h, float(sy0)]
        if face is not None:
            ys += [face[3] + gap, face[1] - gap - h]
        for y in ys:
            for x in xs:
                if y < sy0 or y + h > sy1 or x < sx0 or x + w > sx1:
                    continue
                box = (x - gap, y - gap, x + w + gap, y + h + gap)
                if not any(overlaps(box, b) for b in [face, *taken] if b is not None):
                    return x, y
    return None


def held_spots(bands: list[tuple[float, float, float, Time, Time]], spans: list[FaceSpan], preset: Preset,
               shots: list[tuple[Time, Time]] = (), area: Box | None = None) -> list[tuple[str, float] | None]:
    """Where each caption goes, holding its place for the shot: (end, top y) per band, None where none is free.

    ``bands`` are the cues in order, (height, x0, x1, start, end); ``shots`` the (start, end) of each cut (a cue
    belongs to the shot it starts in; none given: one shot). Within a shot the captions keep one place while it
    stays clear of the face, and move only where the face comes into it, to the place that then stays free the
    longest (so a moving face moves them as few times as it can, and a still one never): a place is held for a run
    of cues, the longest run from its first cue that one place is free for, at the bottom where it can be. A band
    at the "bottom" keeps its bottom edge through the run, one at the "top" its top edge.
    """
    out: list[tuple[str, float] | None] = [None] * len(bands)
    groups: dict[int, list[int]] = {}
    for k, (_, _, _, start, _) in enumerate(bands):
        shot = next((i for i, (t0, t1) in enumerate(shots) if t0 <= start < t1), -1)
        groups.setdefault(shot, []).append(k)
    for members in groups.values():
        i, prefer = 0, "bottom"
        while i < len(members):
            held = None
            for j in range(i, len(members)):
                run = [bands[k] for k in members[i:j + 1]]
                height = max(b[0] for b in run)
                spot = place(height, min(b[1] for b in run), max(b[2] for b in run), spans, run[0][3], run[-1][4],
                             preset, prefer, area=area)
                if spot is None:
                    break
                held = (spot, height, j)
            if held is None:  # nowhere free even for this cue alone
                i += 1
                continue
            (end, y), height, last = held
            for k in members[i:last + 1]:
                out[k] = (end, y + height - bands[k][0] if end == "bottom" else y)
            i, prefer = last + 1, end
    return out
