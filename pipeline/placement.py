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


def _scaled(aspect: Fraction, preset: Preset) -> tuple[float, float]:
    """The source's size in output pixels after the preset's fit (crop fills, pad fits)."""
    w, h = preset.width, preset.height
    wide = aspect > Fraction(w, h)
    if (preset.fit == "crop") == wide:
        return float(h * aspect), float(h)
    return float(w), float(w / aspect)


def face_spans(campaign, cache, timeline: Timeline, preset: Preset) -> list[FaceSpan]:
    """The main face of every cut, in output pixels, for each half second it was sampled."""
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
        sw, sh = _scaled(aspect, preset)
        analysis = analyse(campaign.clip_source(seg.clip_id), info, cache)
        xkeys, ykeys = (cut_crop_keys(campaign, cache, seg.clip_id, seg.source_in, seg.duration, w, h)
                        if preset.fit == "crop" else (None, None))
        for sample in analysis.samples:
            face = sample.main
            if face is None or not seg.source_in - step / 2 <= sample.t <= seg.source_out:
                continue
            t = float(sample.t - seg.source_in)
            left = min(max(centre_at(xkeys, t) * sw - w / 2, 0.0), sw - w) if xkeys else (sw - w) / 2
            top = min(max(centre_at(ykeys, t) * sh - h / 2, 0.0), sh - h) if ykeys else (sh - h) / 2
            fw = face.size * sw
            cx, cy = face.cx * sw - left, face.cy * sh - top
            box = (cx - fw / 2, cy - fw / 2 - ABOVE_FACE * fw, cx + fw / 2, cy + fw / 2 + BELOW_FACE * fw)
            core = (cx - fw / 2, cy - fw / 2, cx + fw / 2, cy + fw / 2)
            start = seg.start + max(Fraction(0), sample.t - seg.source_in - step / 2)
            spans.append(FaceSpan(start, min(seg.end, start + step), box, core))
    return cutaway_faces(campaign, cache, timeline, preset, spans)


def cutaway_faces(campaign, cache, timeline: Timeline, preset: Preset, spans: list[FaceSpan]) -> list[FaceSpan]:
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
            sw, sh = _scaled(aspect, preset)
            xkeys, ykeys = (cut_crop_keys(campaign, cache, cut.clip_id, cut.source_in, b - a, w, h)
                            if preset.fit == "crop" else (None, None))
            if cut.focus is not None and preset.fit == "crop":
                xkeys = crop_path(None, cut.source_in, b - a, cut.focus) if needs_reframing(info, w, h) else None
            for sample in analyse(campaign.clip_source(cut.clip_id), info, cache).samples:
                face = sample.main
                if face is None or not cut.source_in - step / 2 <= sample.t <= cut.source_in + (b - a):
                    continue
                t = float(sample.t - cut.source_in)
                left = min(max(centre_at(xkeys, t) * sw - w / 2, 0.0), sw - w) if xkeys else (sw - w) / 2
                top = min(max(centre_at(ykeys, t) * sh - h / 2, 0.0), sh - h) if ykeys else (sh - h) / 2
                fw = face.size * sw
                cx, cy = face.cx * sw - left, face.cy * sh - top
                start = a + max(Fraction(0), sample.t - cut.source_in - step / 2)
                spans.append(FaceSpan(start, min(b, start + step), (cx - fw / 2, cy - fw / 2 - ABOVE_FACE * fw,
                                      cx + fw / 2, cy + fw / 2 + BELOW_FACE * fw),
                                      (cx - fw / 2, cy - fw / 2, cx + fw / 2, cy + fw / 2)))
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
          prefer: str, taken: list[Box] = ()) -> tuple[str, float] | None:
    """Where a band of text fits: clear of the whole head if it can be, else clear of its eyes and
    mouth (over hair or chin); None when neither is possible."""
    for core in (False, True):
        spot = free_y(height, x0, x1, face_during(spans, start, end, core), preset, prefer, taken)
        if spot is not None:
            return spot
    return None


def free_y(height: float, x0: float, x1: float, face: Box | None, preset: Preset, prefer: str,
           taken: list[Box] = ()) -> tuple[str, float] | None:
    """Where (which end, top y) a band of ``height`` between ``x0`` and ``x1`` fits in the safe area
    without touching ``face`` or the ``taken`` boxes: at the ``prefer``red end first
    ("bottom": as low as it goes, "top": as high), then the other, then in the free band next to
    the face. None when nowhere is free."""
    _, sy0, _, sy1 = preset.safe_area.box(preset.width, preset.height)
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
               preset: Preset, taken: list[Box] = ()) -> tuple[float, float] | None:
    """Where a name strap of ``size`` (w, h) fits from ``start`` to ``end``: its ``home`` (x, y) when it is free,
    else the left or right edge of the safe area at its bottom, top, below the chin or above the head, clear of
    the whole head (hair to chin) where it can be and else clear of eyes, mouth and hair; never over those,
    nor over the ``taken`` boxes (captions). None when nowhere is free."""
    w, h = size
    sx0, sy0, sx1, sy1 = preset.safe_area.box(preset.width, preset.height)
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
