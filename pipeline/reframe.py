"""Reframing that follows the speaker: faces found on sampled frames, a smooth crop path from them.

Interviews are framed with the person off-centre, so a centre crop to 9:16 cuts
them out. For each clip, frames are sampled (2 a second) and faces found with
OpenCV's frontal-face Haar cascade (it ships in ``opencv-python-headless<5``);
the results are cached with the clip's content. For each cut, the crop centre
stays put while the speaker does (a dead zone absorbs small moves), pans with an
eased (smoothstep) motion at a bounded speed when they move, and sits in the
middle when no face is found. A clip can fix the framing by hand (``focus:``).
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

from . import progress
from .cache import Cache, file_digest, key_of
from .errors import MediaError
from .probe import MediaInfo
from .timecode import Time, seconds

log = logging.getLogger("rekrutt")

DETECTOR_VERSION = 3
SAMPLES_PER_SECOND = 2
ANALYSIS_WIDTH = 640  #: frames are scaled to this width for detection
DEAD_ZONE = 0.06  #: a face moving less than this share of the frame width does not move the crop
MAX_SPEED = 0.2  #: crop centre speed limit, frame widths per second
MIN_PAN = 0.8  #: shortest pan, seconds
SHOT_THUMB = (64, 36)  #: every frame is compared with the one before at this size to find camera cuts
SHOT_CHANGE = 0.12  #: mean absolute difference (0..1) between consecutive thumbnails that marks a cut
EYE_LINE = 1 / 3  #: where the eyes sit in a vertically reframed picture, from the top


@dataclass(frozen=True)
class Face:
    """A face on a sampled frame, in fractions of the displayed frame."""

    cx: float
    cy: float
    size: float  #: face width / frame width
    eyes: int = 0  #: eyes found inside the face (2: probably open and frontal)
    score: float = 0.0  #: the cascade's confidence (level weight); false detections score low


@dataclass(frozen=True)
class Sample:
    t: Time  #: seconds on the clip's own timeline
    faces: tuple[Face, ...]

    @property
    def main(self) -> Face | None:
        return max(self.faces, key=lambda f: (f.score, f.size)) if self.faces else None


@dataclass(frozen=True)
class Analysis:
    """Faces over a whole clip, and where its camera cuts are."""

    samples: tuple[Sample, ...]
    shots: tuple[Time, ...] = ()  #: times of camera cuts (shot changes) inside the clip

    def to_json(self) -> dict:
        return {"samples": [{"t": float(s.t), "faces": [asdict(f) for f in s.faces]} for s in self.samples],
                "shots": [float(t) for t in self.shots]}

    @classmethod
    def from_json(cls, data: dict) -> Analysis:
        # floats from JSON become the project's time type here, once
        return cls(tuple(Sample(seconds(s["t"]), tuple(Face(**f) for f in s["faces"])) for s in data["samples"]),
                   tuple(seconds(t) for t in data.get("shots", ())))


#: OpenCV's first import is not safe from two threads at once (its loader replaces the package in
#: sys.modules midway; a render's two posters at once met "module 'cv2' has no attribute 'data'").
_CV2_IMPORT = threading.Lock()


def cascades():
    """OpenCV's Haar cascades for faces and eyes (the face detector of the reframing and the poster)."""
    with _CV2_IMPORT:
        import cv2

    face = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    eye = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_eye.xml"))
    if face.empty():
        raise MediaError("opencv", "OpenCV's Haar cascades are missing: pip install 'opencv-python-headless<5'")
    return face, eye


def detect_faces(gray, face_cascade, eye_cascade) -> tuple[Face, ...]:
    """The faces the detector is sure of on a grey picture (a numpy array), each with the eyes found in it (up to 2)."""
    import numpy as np
    h, w = gray.shape
    found, _, weights = face_cascade.detectMultiScale3(
        gray, scaleFactor=1.1, minNeighbors=5, minSize=(max(20, w // 30),) * 2, outputRejectLevels=True)
    faces = []
    for (x, y, fw, fh), weight in zip(found if len(found) else [], weights if len(found) else [], strict=False):
        if weight < 1.0:
            continue
        roi = np.ascontiguousarray(gray[y:y + fh // 2 + fh // 6, x:x + fw])
        eyes = eye_cascade.detectMultiScale(roi, scaleFactor=1.1, minNeighbors=6) if roi.size else []
        faces.append(Face(round(float(x + fw / 2) / w, 4), round(float(y + fh / 2) / h, 4), round(float(fw) / w, 4),
                          min(2, len(eyes)), round(float(weight), 3)))
    return tuple(faces)


#: Analyses read in this process, by cache folder and key: every output of a run frames the same clips, and
#: reading a minutes-long clip's faces from JSON again for each took a quarter of an unchanged run (issue 25).
_analysed: dict[tuple[str, str], Analysis] = {}


def analyse(path: Path, info: MediaInfo, cache: Cache) -> Analysis:
    """Faces on frames sampled through the clip (cached by its content)."""
    key = key_of("faces", DETECTOR_VERSION, SAMPLES_PER_SECOND, ANALYSIS_WIDTH, file_digest(path))
    found = _analysed.get((str(cache.root), key))
    if found is None:
        found = cache.get_or_make("faces", key, lambda: _analyse(path, info), encode=Analysis.to_json,
                                  decode=Analysis.from_json)
        _analysed[(str(cache.root), key)] = found
    return found


def _analyse(path: Path, info: MediaInfo) -> Analysis:
    import av
    import numpy as np

    face_cascade, eye_cascade = cascades()
    samples: list[Sample] = []
    shots: list[Time] = []
    next_t = 0.0
    previous = None
    with av.open(str(path)) as container, \
            progress.task(f"analysing faces in {path.name}", float(info.duration or 0), "s") as report:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            report.update(frame.time)
            # a cheap shot-change score on every frame: a camera cut changes most of a tiny thumbnail
            thumb = frame.reformat(width=SHOT_THUMB[0], height=SHOT_THUMB[1], format="gray").to_ndarray()
            thumb = thumb.astype(np.int16)
            if previous is not None and float(np.abs(thumb - previous).mean()) / 255 > SHOT_CHANGE:
                shots.append(seconds(round(frame.time, 3)))
                next_t = min(next_t, frame.time)  # sample the new shot at once
            previous = thumb
            if frame.time + 1e-6 < next_t:
                continue
            scale = ANALYSIS_WIDTH / max(frame.width, frame.height)
            gray = frame.reformat(width=max(2, int(frame.width * scale)), height=max(2, int(frame.height * scale)),
                                  format="gray").to_ndarray()
            # decoded frames are stored-orientation; the display matrix turns them upright
            turns = {90: 1, 180: 2, 270: 3}.get(info.rotation, 0)
            if turns:
                gray = np.ascontiguousarray(np.rot90(gray, k=turns))
            samples.append(Sample(seconds(round(frame.time, 3)), detect_faces(gray, face_cascade, eye_cascade)))
            next_t = frame.time + 1 / SAMPLES_PER_SECOND
    log.info("%s: faces on %d of %d sampled frames, %d camera cut(s)", path.name,
             sum(1 for s in samples if s.faces), len(samples), len(shots))
    return Analysis(tuple(samples), tuple(shots))


Keyframes = list[tuple[float, float]]  #: (seconds from the cut's start, crop centre as a share of the width)


def _face_value(face: Face, axis: str, window: float) -> float:
    """Where the crop window's centre should be for this face, as a share of the (scaled) frame.

    Horizontally, on the face. Vertically, so that the eyes (a little above the face
    box's centre) sit ``EYE_LINE`` from the top of a window ``window`` high.
    """
    if axis == "x":
        return face.cx
    eyes = face.cy - face.size * 0.12
    return eyes + window / 2 - window * EYE_LINE


def crop_path(analysis: Analysis | None, source_in: Time, duration: Time, focus: float | None = None,
              axis: str = "x", window: float = 0.0) -> Keyframes:
    """Keyframes of the crop centre for one cut: steady, eased pans at bounded speed, centre without faces.

    Across a camera cut inside the clip the crop jumps (two keyframes at the same time)
    rather than panning, so the speaker is not half out of frame while the pan catches up.
    ``axis`` "y" follows the face vertically (``window``: the crop height as a share of the picture).
    """
    if focus is not None:
        return [(0.0, focus)]
    if analysis is None:
        return [(0.0, 0.5)]
    start, end = source_in - Fraction(1, 4), source_in + duration + Fraction(1, 4)
    inside = [s for s in analysis.samples if start <= s.t <= end]
    cuts = [float(t - source_in) for t in analysis.shots if source_in < t < source_in + duration]
    bounds = [-1.0, *cuts, float(duration) + 1]
    keys: Keyframes = []
    for shot, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
        values = [(float(s.t - source_in), _face_value(s.main, axis, window) if s.main else None) for s in inside
                  if lo <= float(s.t - source_in) < hi]
        if not values and shot > 0:
            continue  # no sample inside this shot: keep the framing
        shot_keys = _shot_path(values)
        if shot == 0:
            keys = shot_keys
            continue
        cut = lo
        current = centre_at(keys, cut)
        if not shot_keys:
            continue
        # a jump at the cut, then the new shot's own path
        keys += [(cut, current), (cut, shot_keys[0][1])]
        keys += [(max(t, cut), v) for t, v in shot_keys[1:]]
    return keys or [(0.0, 0.5)]


def _shot_path(values: list[tuple[float, float | None]]) -> Keyframes:
    """Keyframes inside one shot (no camera cut) from (time, face value or None) samples."""
    known = [(t, v) for t, v in values if v is not None]
    if not known:
        return [(max(0.0, values[0][0]) if values else 0.0, 0.5)]
    # fill gaps from the nearest sample with a face, then a median of 5 against single false detections
    filled = [(t, v if v is not None else min(known, key=lambda k: abs(k[0] - t))[1]) for t, v in values]
    smooth = []
    for i, (t, _) in enumerate(filled):
        window = sorted(v for _, v in filled[max(0, i - 2):i + 3])
        smooth.append((t, window[len(window) // 2]))
    first_t = max(0.0, smooth[0][0]) if smooth[0][0] > 0 else 0.0
    keys: Keyframes = [(first_t, smooth[0][1])]
    current, busy_until = smooth[0][1], first_t
    for t, v in smooth[1:]:
        if t < busy_until or abs(v - current) <= DEAD_ZONE:
            continue
        begin = max(t, busy_until, 0.0)
        length = max(MIN_PAN, abs(v - current) / MAX_SPEED)
        keys += [(begin, current), (begin + length, v)]
        current, busy_until = v, begin + length
    return keys


def _smoothstep(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return u * u * (3 - 2 * u)


def centre_at(keys: Keyframes, t: float) -> float:
    """The crop centre at ``t`` (seconds from the cut's start), as the ffmpeg expression computes it."""
    for (t0, c0), (t1, c1) in zip(keys, keys[1:], strict=False):
        if t < t1:
            if t < t0 or t1 <= t0:
                return c0
            return c0 + (c1 - c0) * _smoothstep((t - t0) / (t1 - t0))
    return keys[-1][1]


def crop_x_expression(keys: Keyframes, axis: str = "x") -> str:
    """An ffmpeg ``crop`` x (or y) expression following the keyframes (``t`` in seconds from the cut's start)."""
    def piece(i: int) -> str:
        if i >= len(keys) - 1:
            return f"{keys[-1][1]:.4f}"
        (t0, c0), (t1, c1) = keys[i], keys[i + 1]
        if c1 == c0 or t1 <= t0:
            segment = f"{c0:.4f}"
        else:
            u = f"clip((t-{t0:.3f})/{t1 - t0:.3f},0,1)"
            segment = f"({c0:.4f}+({c1 - c0:.4f})*{u}*{u}*(3-2*{u}))"
        return f"if(lt(t,{t1:.3f}),{segment},{piece(i + 1)})"

    centre = piece(0) if len(keys) > 1 else f"{keys[0][1]:.4f}"
    if axis == "y":
        return f"clip({centre}*ih-oh/2,0,ih-oh)"
    return f"clip({centre}*iw-ow/2,0,iw-ow)"


def cut_crop_keys(campaign, cache: Cache, clip_id: str, source_in: Time, duration: Time, width: int, height: int
                  ) -> tuple[Keyframes | None, Keyframes | None]:
    """Where a fill-crop of one cut is centred over time: (x keyframes, y keyframes), None where that axis is
    not cropped. The one place that decides it: the render's crop and the text placement both read it."""
    info = campaign.media[clip_id]
    sideways = needs_reframing(info, width, height)
    window = vertical_window(info, width, height)
    if not sideways and window is None:
        return None, None
    focus = campaign.focus(clip_id)
    analysis = analyse(campaign.clip_source(clip_id), info, cache)
    xkeys = crop_path(analysis if focus is None else None, source_in, duration, focus) if sideways else None
    ykeys = crop_path(analysis, source_in, duration, None, "y", window) if window is not None else None
    return xkeys, ykeys


def max_speed(keys: Keyframes, step: float = 1 / 25) -> float:
    """Largest change of the crop centre between two frames ``step`` apart (share of width per frame)."""
    if len(keys) < 2:
        return 0.0
    end = keys[-1][0] + 1
    n = int(math.ceil(end / step))
    values = [centre_at(keys, i * step) for i in range(n + 1)]
    return max(abs(b - a) for a, b in zip(values, values[1:], strict=False))


def needs_reframing(info: MediaInfo, width: int, height: int) -> bool:
    """A crop to fill cuts the sides off: the output is narrower than the source."""
    if not info.width or not info.height:
        return False
    return Fraction(width, height) < Fraction(info.width, info.height) * info.sample_aspect * Fraction(99, 100)


def vertical_window(info: MediaInfo, width: int, height: int) -> float | None:
    """The crop's height as a share of the picture where a crop to fill cuts the top and bottom off
    (the output is wider than the source: a square or portrait clip going to 16:9); else None."""
    if not info.width or not info.height:
        return None
    source = Fraction(info.width, info.height) * info.sample_aspect
    if Fraction(width, height) <= source * Fraction(101, 100):
        return None
    return float(source / Fraction(width, height))


#: ``fit: auto`` shows the whole picture over a blurred fill of itself (pad-blur) where a crop that cuts
#: the top and bottom off (a square or portrait clip in a wide frame) would enlarge the clip more than this
AUTO_MAX_ENLARGE = 2.0
#: ... or keep less than this share of its height (forehead and chin cut off: an extreme close-up)
AUTO_MIN_KEPT_HEIGHT = 0.7


@dataclass(frozen=True)
class FitChoice:
    """How one clip is fitted into one output's frame, and why (``fit: auto`` decides per clip)."""

    fit: str  #: crop, pad or pad-blur (never auto)
    asked: str  #: what the preset says (auto, crop, pad, pad-blur)
    enlarge: float  #: how much a crop to fill enlarges the clip (output pixels per source pixel)
    kept_height: float  #: the share of the clip's height a crop to fill keeps
    reason: str  #: why, in words: "a crop would enlarge 2.7x and keep 56% of the height"

    def describe(self, clip_id: str, channel: str) -> str:
        return f"{clip_id} on {channel}: {self.fit} ({self.reason})"


def crop_enlargement(info: MediaInfo, width: int, height: int) -> tuple[float, float]:
    """What a crop to fill a ``width`` x ``height`` frame does to the clip: (enlargement, share of its height kept)."""
    if not info.width or not info.height:
        return 1.0, 1.0
    src_w = info.width * info.sample_aspect
    scale = max(Fraction(width) / src_w, Fraction(height, info.height))
    kept = min(Fraction(1), Fraction(height) / scale / info.height)
    return float(scale), float(kept)


def clip_fit(info: MediaInfo, fit: str, width: int, height: int) -> FitChoice:
    """How a clip fills a ``width`` x ``height`` frame under the preset's ``fit`` (the full-size frame's, also
    for a draft, so a quick look is framed as the final film).

    ``auto``: pad-blur where a crop would cut the top and bottom off and enlarge the clip more than
    :data:`AUTO_MAX_ENLARGE` or keep under :data:`AUTO_MIN_KEPT_HEIGHT` of its height; else a crop that
    follows the face. A crop that only narrows the picture (16:9 into 9:16) keeps the whole height and is
    what the face-following crop is for: a pad-blur there would shrink the speaker to a band across the
    tall frame. A pad-blur of a clip that already has the frame's shape is a crop (nothing to pad).
    """
    enlarge, kept = crop_enlargement(info, width, height)
    figures = f"a crop would enlarge {enlarge:.1f}x and keep {kept * 100:.0f}% of the height"
    same_shape = bool(info.width and info.height) and abs(
        Fraction(info.width, info.height) * info.sample_aspect / Fraction(width, height) - 1) < Fraction(1, 100)
    if same_shape or not info.width:
        # a pad-blur of a clip that has the frame's shape already: nothing to pad, nothing to blur
        return FitChoice("crop" if fit in ("auto", "pad-blur") else fit, fit, enlarge, kept,
                         "the clip has the frame's shape")
    if fit != "auto":
        return FitChoice(fit, fit, enlarge, kept, f"fit: {fit} set for the channel; {figures}")
    if vertical_window(info, width, height) is None:
        return FitChoice("crop", fit, enlarge, kept, f"a crop keeps the whole height and follows the face; it "
                         f"enlarges {enlarge:.1f}x")
    if enlarge > AUTO_MAX_ENLARGE or kept < AUTO_MIN_KEPT_HEIGHT:
        return FitChoice("pad-blur", fit, enlarge, kept, figures)
    return FitChoice("crop", fit, enlarge, kept, f"{figures}, close enough to fill the frame")


def framing(campaign) -> list[tuple[str, str, FitChoice]]:
    """(clip, channel, how it is fitted) for every clip on every channel it plays on, in any version, where
    the clip's shape is not the frame's (there is something to decide)."""
    seen: dict[tuple[str, str], FitChoice] = {}
    for edition in campaign.editions():
        used = dict.fromkeys(i.clip for i in edition.spec.sequence if hasattr(i, "clip"))
        for key in (k for k in edition.outputs() if k.version == edition.version):
            preset = edition.preset(key.channel)
            for clip_id in used:
                if (clip_id, key.channel) not in seen and clip_id in campaign.media:
                    seen[clip_id, key.channel] = clip_fit(campaign.media[clip_id], preset.fit, preset.width,
                                                          preset.height)
    return [(clip, channel, choice) for (clip, channel), choice in seen.items()
            if choice.reason != "the clip has the frame's shape"]
