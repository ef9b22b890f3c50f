"""Probing media with PyAV (imageio-ffmpeg ships no ffprobe)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import MediaError
from .timecode import Time

log = logging.getLogger("rekrutt")


@dataclass(frozen=True)
class MediaInfo:
    """What the pipeline needs to know about one media file."""

    path: Path  #: the file probed
    duration: Time  #: container duration in seconds
    width: int | None  #: display width after rotation (None: no video)
    height: int | None  #: display height after rotation
    fps: Fraction | None  #: average frame rate
    rotation: int  #: display rotation in degrees from the file's metadata
    sample_aspect: Fraction  #: pixel aspect ratio of the coded frames (1 for square pixels)
    has_audio: bool  #: whether there is an audio stream
    sample_rate: int | None  #: audio sample rate
    channels: int | None  #: audio channel count
    video_codec: str | None  #: codec name of the first video stream
    audio_codec: str | None  #: codec name of the first audio stream
    is_image: bool = False  #: a still picture (PNG, JPEG)

    @property
    def has_video(self) -> bool:
        return self.width is not None


_IMAGE_CODECS = {"png", "mjpeg", "bmp", "tiff", "webp", "gif"}


def probe(path: str | Path) -> MediaInfo:
    """Read a media file's streams. Raises :class:`MediaError` when it is missing or unreadable."""
    import av  # imported here: PyAV loads FFmpeg libraries, which the CLI's --help does not need

    path = Path(path)
    if not path.is_file():
        raise MediaError(str(path), "file not found")
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            if video is None and audio is None:
                raise MediaError(str(path), "has neither video nor audio")
            duration = Fraction(0)
            if container.duration is not None:
                duration = Fraction(container.duration, 1_000_000)
            elif video is not None and video.duration is not None and video.time_base:
                duration = video.duration * video.time_base
            width = height = None
            fps = None
            rotation = 0
            sar = Fraction(1)
            vcodec = None
            is_image = False
            if video is not None:
                vcodec = video.codec_context.name
                width, height = video.codec_context.width, video.codec_context.height
                if video.sample_aspect_ratio:
                    sar = Fraction(video.sample_aspect_ratio)
                rate = video.average_rate or video.guessed_rate or video.base_rate
                fps = Fraction(rate) if rate else None
                is_image = vcodec in _IMAGE_CODECS and (video.frames or 0) <= 1
                for frame in container.decode(video):
                    rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
                    break
                if rotation in (90, 270):
                    width, height = height, width
            return MediaInfo(
                path=path,
                duration=duration,
                width=width,
                height=height,
                fps=fps,
                rotation=rotation,
                sample_aspect=sar,
                has_audio=audio is not None,
                sample_rate=audio.codec_context.sample_rate if audio else None,
                channels=audio.codec_context.channels if audio else None,
                video_codec=vcodec,
                audio_codec=audio.codec_context.name if audio else None,
                is_image=is_image,
            )
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, StopIteration) as exc:
        raise MediaError(str(path), f"cannot be read as media ({exc})") from exc
