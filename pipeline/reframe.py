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
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

from .cache import Cache, file_digest, key_of
from .errors import MediaError
from .probe import MediaInfo

log = logging.getLogger("rekrutt")

DETECTOR_VERSION = 2
SAMPLES_PER_SECOND = 2
ANALYSIS_WIDTH = 640  #: frames are scaled to this width for detection
DEAD_ZONE = 0.06  #: a face moving less than this share of the frame width does not move the crop
MAX_SPEED = 0.2  #: crop centre speed limit, frame widths per second
MIN_PAN = 0.8  #: shortest pan, seconds


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
    t: float  #: seconds on the clip's own timeline
    faces: tuple[Face, ...]

    @property
    def main(self) -> Face | None:
        return max(self.faces, key=lambda f: (f.score, f.size)) if self.faces else None


@dataclass(frozen=True)
class Analysis:
    """Faces over a whole clip."""

    samples: tuple[Sample, ...]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Analysis:
        return cls(tuple(Sample(s["t"], tuple(Face(**f) for f in s["faces"])) for s in data["samples"]))


def _cascades():
    import cv2

    face = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    eye = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_eye.xml"))
    if face.empty():
        raise MediaError("opencv", "OpenCV's Haar cascades are missing: pip install 'opencv-python-headless<5'")
    return face, eye


def _detect(gray, face_cascade, eye_cascade) -> tuple[Face, ...]:
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


def analyse(path: Path, info: MediaInfo, cache: Cache) -> Analysis:
    """Faces on frames sampled through the clip (cached by its content)."""
    key = key_of("faces", DETECTOR_VERSION, SAMPLES_PER_SECOND, ANALYSIS_WIDTH, file_digest(path))
    return cache.get_or_make("faces", key, lambda: _analyse(path, info), encode=Analysis.to_json,
                             decode=Analysis.from_json)


def _analyse(path: Path, info: MediaInfo) -> Analysis:
    import av
    import numpy as np

    face_cascade, eye_cascade = _cascades()
    samples: list[Sample] = []
    next_t = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.time is None or frame.time + 1e-6 < next_t:
                continue
            scale = ANALYSIS_WIDTH / max(frame.width, frame.height)
            gray = frame.reformat(width=max(2, int(frame.width * scale)), height=max(2, int(frame.height * scale)),
                                  format="gray").to_ndarray()
            # decoded frames are stored-orientation; the display matrix turns them upright
            turns = {90: 1, 180: 2, 270: 3}.get(info.rotation, 0)
            if turns:
                gray = np.ascontiguousarray(np.rot90(gray, k=turns))
            samples.append(Sample(round(frame.time, 3), _detect(gray, face_cascade, eye_cascade)))
            next_t += 1 / SAMPLES_PER_SECOND
    log.info("%s: faces on %d of %d sampled frames", path.name, sum(1 for s in samples if s.faces), len(samples))
    return Analysis(tuple(samples))


FOCUS_WORDS = {"left": 1 / 3, "centre": 0.5, "center": 0.5, "right": 2 / 3}

Keyframes = list[tuple[float, float]]  #: (seconds from the cut's start, crop centre as a share of the width)


def crop_path(analysis: Analysis | None, source_in: float, duration: float, focus: float | None = None) -> Keyframes:
    """Keyframes of the crop centre for one cut: steady, eased pans at bounded speed, centre without faces."""
    if focus is not None:
        return [(0.0, focus)]
    if analysis is None:
        return [(0.0, 0.5)]
    inside = [s for s in analysis.samples if source_in - 0.25 <= s.t <= source_in + duration + 0.25]
    values = [(s.t - source_in, s.main.cx if s.main else None) for s in inside]
    known = [(t, v) for t, v in values if v is not None]
    if not known:
        return [(0.0, 0.5)]
    # fill gaps from the nearest sample with a face, then a median of 5 against single false detections
    filled = [(t, v if v is not None else min(known, key=lambda k: abs(k[0] - t))[1]) for t, v in values]
    smooth = []
    for i, (t, _) in enumerate(filled):
        window = sorted(v for _, v in filled[max(0, i - 2):i + 3])
        smooth.append((t, window[len(window) // 2]))
    keys: Keyframes = [(0.0, smooth[0][1])]
    current, busy_until = smooth[0][1], 0.0
    for t, v in smooth[1:]:
        if t < busy_until or abs(v - current) <= DEAD_ZONE:
            continue
        start = max(t, busy_until, 0.0)
        length = max(MIN_PAN, abs(v - current) / MAX_SPEED)
        keys += [(start, current), (start + length, v)]
        current, busy_until = v, start + length
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


def crop_x_expression(keys: Keyframes) -> str:
    """An ffmpeg ``crop`` x expression following the keyframes (``t`` in seconds from the cut's start)."""
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
    return f"clip({centre}*iw-ow/2,0,iw-ow)"


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
