"""Probing media with PyAV (imageio-ffmpeg ships no ffprobe)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import MediaError
from .timecode import STANDARD_RATES, Time

log = logging.getLogger("rekrutt")


@dataclass(frozen=True)
class MediaInfo:
    """What the pipeline needs to know about one media file."""

    path: Path  #: the file probed
    duration: Time  #: playable length in seconds: where the shorter of the picture and sound really ends
    width: int | None  #: display width after rotation (None: no video)
    height: int | None  #: display height after rotation
    #: the frame rate the clip was shot at: its average rate, or for a variable-rate clip (a phone's) its
    #: nominal rate (ffprobe's tbr), see :func:`nominal_rate`
    fps: Fraction | None
    rotation: int  #: display rotation in degrees from the file's metadata
    sample_aspect: Fraction  #: pixel aspect ratio of the coded frames (1 for square pixels)
    has_audio: bool  #: whether there is an audio stream
    sample_rate: int | None  #: audio sample rate
    channels: int | None  #: audio channel count
    video_codec: str | None  #: codec name of the first video stream
    audio_codec: str | None  #: codec name of the first audio stream
    is_image: bool = False  #: a still picture (PNG, JPEG)
    container_duration: Time | None = None  #: what the file's index says (may overstate a damaged file)
    video_end: Time | None = None  #: end of the last video packet that can be read
    audio_end: Time | None = None  #: end of the last audio packet that can be read
    average_fps: Fraction | None = None  #: frames per second over the whole clip (below ``fps`` for a VFR clip)

    @property
    def variable_rate(self) -> bool:
        """The frames come at a varying rate: the average is not the nominal rate."""
        return self.fps is not None and self.average_fps is not None and self.fps != self.average_fps

    @property
    def has_video(self) -> bool:
        return self.width is not None

    @property
    def streams_disagree(self) -> bool:
        """The picture and sound end a second or more apart, or a second or more before the file's index says.

        Less is how ordinary files end: an encoder's last audio frames, a camera stopping the picture on a
        frame and the sound on a packet (409.44 s against 408.76 s in a plain mux of an interview)."""
        ends = [e for e in (self.video_end, self.audio_end) if e is not None]
        if len(ends) == 2 and abs(ends[0] - ends[1]) >= STREAMS_APART:
            return True
        return bool(ends) and self.container_duration is not None and \
            min(ends) <= self.container_duration - STREAMS_APART


#: Picture and sound that end this far apart (seconds), or this far before the file's index says, are
#: a damaged or cut-off file; under it is how ordinary files end.
STREAMS_APART = Fraction(1)


#: An average rate this far (as a share) from the stream's nominal rate marks a variable-rate clip.
VFR_TOLERANCE = Fraction(1, 100)


def nominal_rate(average: Fraction | None, guessed: Fraction | None) -> Fraction | None:
    """The rate a clip was shot at, from its average rate and its nominal one (PyAV's ``guessed_rate``,
    ffprobe's tbr: the rate its timestamps are laid out on).

    A phone records at a variable rate: 30 fps nominal, fewer frames where the light is low or the
    encoder is busy, so the average (22.13) is no rate the clip was shot at; snapped, it would read as
    23.976. Where the average is under the nominal rate by more than :data:`VFR_TOLERANCE` and the
    nominal rate is a standard one (23.976 to 60), the nominal rate is the clip's; else its average.
    """
    if not average:
        return guessed or None
    if guessed and average < guessed * (1 - VFR_TOLERANCE) and \
            any(abs(guessed - r) <= r * VFR_TOLERANCE for r in STANDARD_RATES):
        return Fraction(guessed)
    return Fraction(average)


#: How far before the indexed end the quick end check starts reading, seconds.
_TAIL = 3


def stream_ends(path: Path, container_duration: Time | None) -> dict[str, Time]:
    """Where each stream's readable packets end (demuxed, not decoded), by stream type.

    A damaged file whose index is intact (the end of the data cut off) says it is longer
    than it plays; only reading the packets tells. The last few seconds are read first
    (cheap for a whole file); if they cannot be read, the whole file is demuxed.
    """
    import av

    def scan(seek_to: Time | None) -> dict[str, Time]:
        ends: dict[str, Time] = {}
        with av.open(str(path)) as container:
            if seek_to is not None and seek_to > 0:
                container.seek(int(seek_to * 1_000_000), backward=True, any_frame=False)
            try:
                for pkt in container.demux():
                    if pkt.pts is None or pkt.size == 0 or pkt.stream.type not in ("video", "audio"):
                        continue
                    end = (pkt.pts + (pkt.duration or 0)) * pkt.stream.time_base
                    start = pkt.stream.start_time * pkt.stream.time_base if pkt.stream.start_time else 0
                    ends[pkt.stream.type] = max(ends.get(pkt.stream.type, Fraction(0)), Fraction(end - start))
            except (av.error.FFmpegError, OSError) as exc:  # a cut-off file ends in a read error
                log.debug("%s: reading stopped: %s", path, exc)
        return ends

    if container_duration is not None and container_duration > 2 * _TAIL:
        quick = scan(container_duration - _TAIL)
        if quick and min(quick.values()) >= container_duration - Fraction(1, 2):
            return quick
    return scan(None)


_IMAGE_CODECS = {"png", "mjpeg", "bmp", "tiff", "webp", "gif"}


def probe(path: str | Path, *, rotation: bool = True) -> MediaInfo:
    """Read a media file's streams. Raises :class:`MediaError` when it is missing or unreadable.

    ``rotation=False``: the picture's rotation is not read (it takes decoding the first frame, half of a
    probe's time): for a file Rekrutt wrote itself, which never carries one."""
    import av  # imported here: PyAV loads FFmpeg libraries, which the CLI's --help does not need

    path, read_rotation = Path(path), rotation  # ``rotation`` is the picture's turn from here on
    if not path.is_file():
        raise MediaError(str(path), "file not found")
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            if video is None and audio is None:
                raise MediaError(str(path), "has neither picture nor sound")
            duration = Fraction(0)
            container_len = Fraction(container.duration, 1_000_000) if container.duration is not None else None
            if container.duration is not None:
                duration = Fraction(container.duration, 1_000_000)
            elif video is not None and video.duration is not None and video.time_base:
                duration = video.duration * video.time_base
            width = height = None
            fps = average_fps = None
            rotation = 0
            sar = Fraction(1)
            vcodec = None
            is_image = False
            if video is not None:
                vcodec = video.codec_context.name
                width, height = video.codec_context.width, video.codec_context.height
                if video.sample_aspect_ratio:
                    sar = Fraction(video.sample_aspect_ratio)
                average_fps = Fraction(video.average_rate) if video.average_rate else None
                guessed = video.guessed_rate or video.base_rate
                fps = nominal_rate(average_fps, Fraction(guessed) if guessed else None)
                is_image = vcodec in _IMAGE_CODECS and (video.frames or 0) <= 1
                for frame in container.decode(video) if read_rotation else ():
                    rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
                    break
                if rotation in (90, 270):
                    width, height = height, width
            has_audio = audio is not None
            sample_rate = audio.codec_context.sample_rate if audio else None
            channels = audio.codec_context.channels if audio else None
            acodec = audio.codec_context.name if audio else None
        ends = {} if is_image else stream_ends(path, container_len)
        playable = [e for e in (ends.get("video") if width is not None else None,
                                ends.get("audio") if has_audio else None) if e is not None]
        if playable:
            duration = min([duration, *playable]) if duration else min(playable)
        return MediaInfo(
            path=path, duration=duration, width=width, height=height, fps=fps, rotation=rotation,
            sample_aspect=sar, has_audio=has_audio, sample_rate=sample_rate, channels=channels,
            video_codec=vcodec, audio_codec=acodec, is_image=is_image,
            container_duration=(Fraction(container_len) if container_len else None),
            video_end=ends.get("video"), audio_end=ends.get("audio"), average_fps=average_fps,
        )
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, StopIteration) as exc:
        # FFmpegError's text repeats the errno and the path; its strerror is the reason alone
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(str(path), f"is not a media file ffmpeg can read ({reason})") from exc


def probe_as(src: Path, want: str) -> tuple[MediaInfo | None, tuple[str, str] | None]:
    """Probe a file that must be a video (a clip) or sound (a music bed).

    Returns (info, None), or (None, (message, what to do)) when the file is not that: not media
    at all, a still picture under a video file's name, sound only, or no frames to play.
    """
    if want == "video":
        what, fix = "a video file", "give the recording itself, an MP4 or MOV file; if it plays elsewhere, " \
            "re-export it as MP4 with H.264 video and AAC sound"
    else:
        what, fix = "a sound file", "give a WAV, FLAC, MP3 or AAC file"
    try:
        info = probe(src)
    except MediaError as exc:
        reason = str(exc).removeprefix(f"{src}: ")
        return None, (f"{src.name} is not {what}: it {reason}", fix)
    if want == "video":
        if info.is_image:
            kind = (info.video_codec or "").replace("mjpeg", "JPEG").upper()
            return None, (f"{src.name} is not {what}: it is a still picture ({kind}) under a video file's name",
                          f"{fix}; a picture belongs on a card, as its background or logo")
        if not info.has_video:
            return None, (f"{src.name} is not {what}: it has sound only, no picture", fix)
        if info.duration <= 0:
            return None, (f"{src.name} is not {what}: it has no frames that can be played", fix)
    elif not info.has_audio:
        return None, (f"{src.name} is not {what}: it has no sound", fix)
    return info, None


def frame_identity(path: Path, at: Time) -> str:
    """What the video frame shown at ``at`` (a frame's own time) is made from, without decoding it: a hash of the
    stream's decoder set-up and of the packets of the closed GOP that holds the frame, and the frame's place in it.

    Two frames with the same identity decode to the same picture (every GOP of a Rekrutt output is closed:
    nothing in it refers outside it). Reading packets takes milliseconds where decoding the frame in an ffmpeg
    of its own took 0.1-0.2 s (issue 25: the described version's holds look up their encoded picture by it).
    """
    import hashlib

    import av

    gop: list[bytes] = []
    pts_in_gop: list[int] = []
    ends: list[int] = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            ctx = stream.codec_context
            setup = f"{ctx.name} {ctx.width}x{ctx.height} {ctx.format.name if ctx.format else ''}".encode()
            setup += bytes(ctx.extradata or b"")
            tb = stream.time_base
            target = round(Fraction(at) / tb)
            container.seek(max(0, target), stream=stream, backward=True, any_frame=False)
            started = False
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                if packet.is_keyframe:
                    if started and packet.pts > target:
                        break  # the next GOP: the frame's own is complete
                    started, gop, pts_in_gop, ends = True, [], [], []
                if started:
                    gop.append(bytes(packet))
                    pts_in_gop.append(packet.pts)
                    ends.append(packet.pts + (packet.duration or 1))
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise MediaError(str(path), f"cannot read the frame at {float(at):.3f} s ({exc})") from exc
    # the frame shown at ``at``: the last to start at or before it (a hair of slack for rounding)
    slack = max(1, round(Fraction(1, 10000) / tb))
    shown = [(p, e) for p, e in zip(pts_in_gop, ends, strict=True) if p <= target + slack]
    nearest, end = max(shown, default=(None, None))
    if nearest is None or end <= target:
        raise MediaError(str(path), f"has no frame at {float(at):.3f} s")
    digest = hashlib.sha256(setup)
    for data in gop:
        digest.update(hashlib.sha256(data).digest())
    return f"{digest.hexdigest()}:{sorted(pts_in_gop).index(nearest)}"


def sound_identity(path: Path) -> str:
    """A hash of a file's sound: its decoder set-up and every packet of its first audio stream, read without
    decoding (issue 25: in-process, where an ffmpeg copying the packets to its md5 muxer took 0.05-0.1 s)."""
    import hashlib

    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            ctx = stream.codec_context
            digest = hashlib.sha256(f"{ctx.name} {ctx.sample_rate} {ctx.channels}".encode())
            digest.update(bytes(ctx.extradata or b""))
            for packet in container.demux(stream):
                if packet.size:
                    digest.update(bytes(packet))
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise MediaError(str(path), f"cannot read its sound ({exc})") from exc
    return digest.hexdigest()
