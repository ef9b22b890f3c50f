"""Channel presets: every platform's delivery facts as data, in one place.

Facts come from the platforms' help pages and third-party summaries collected in
``shared/docs/CHANNELS.md`` (checked 2026-11). Platforms change them often: edit
this table, nothing else. A campaign may override fields per channel
(``overrides:`` in the spec), which yields a new preset by copy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from .timecode import STANDARD_RATES, nearest_rate, parse_rate, seconds

#: When the facts below were last checked against the platforms.
CHECKED = "2026-11"



@dataclass(frozen=True)
class SafeArea:
    """Margins that platform interfaces cover, as fractions of the frame."""

    top: float = 0.0
    bottom: float = 0.0
    left: float = 0.0
    right: float = 0.0

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The safe rectangle (x0, y0, x1, y1) in pixels for a frame of this size."""
        return (
            round(width * self.left), round(height * self.top),
            width - round(width * self.right), height - round(height * self.bottom),
        )


@dataclass(frozen=True)
class Preset:
    """How one channel's version is made. Every field can be overridden per campaign."""

    name: str  #: channel id used in specs and file names
    label: str  #: human name
    width: int  #: output frame width in pixels
    height: int  #: output frame height in pixels
    #: crop to fill the frame, pad (letterbox/pillarbox in black), pad-blur (over a blurred fill of the picture),
    #: or auto: per clip, pad-blur where a crop would enlarge too much or cut off too much of the height, else
    #: crop (see :func:`pipeline.reframe.clip_fit`)
    fit: Literal["auto", "crop", "pad", "pad-blur"] = "auto"
    fps: Fraction | None = None  #: fixed output rate; None: the source's rate snapped to a standard one
    min_fps: Fraction = Fraction(23)  #: lowest rate the platform accepts
    max_fps: Fraction = Fraction(60)  #: highest rate the platform accepts
    extension: str = "mp4"  #: container
    video_codec: str = "libx264"  #: ffmpeg encoder
    crf: int = 21  #: x264 constant rate factor
    x264_preset: str = "veryfast"  #: x264 speed preset
    profile: str = "high"  #: codec profile (x264 name, or ProRes profile number)
    pix_fmt: str = "yuv420p"  #: output pixel format
    max_video_kbps: int | None = 8000  #: VBV cap on the video bitrate
    gop_seconds: Fraction = Fraction(1, 2)  #: closed GOP length (YouTube asks for half the frame rate)
    audio_codec: str = "aac"  #: ffmpeg audio encoder
    audio_kbps: int | None = 192  #: audio bitrate (None for PCM)
    audio_channels: int = 2  #: 2 for stereo, 6 for 5.1 (dialogue in the centre)
    sample_rate: int = 48000  #: audio sample rate
    loudness_lufs: float = -14.0  #: integrated loudness target (EBU R 128 measure)
    true_peak_dbtp: float = -1.0  #: true-peak ceiling
    min_duration: float | None = None  #: shortest length the platform accepts, seconds
    max_duration: float | None = None  #: longest length the platform accepts, seconds
    max_bytes: int | None = None  #: file-size limit
    safe_area: SafeArea = field(default_factory=SafeArea)  #: zones the platform's interface covers
    captions: Literal["sidecar", "burn", "both"] = "sidecar"  #: how captions reach viewers on this platform
    caption_line_chars: int = 42  #: caption line length limit for this frame
    #: burned captions: standard (2 lines), social (one short line, larger), highlight (social, the spoken
    #: word lit up as it is said). Sidecar files always follow the standard rules.
    caption_style: Literal["standard", "social", "highlight"] = "standard"
    poster: bool = True  #: also write a poster JPEG
    shorten: bool = False  #: drop optional sequence items until the campaign fits max_duration

    @property
    def aspect(self) -> Fraction:
        return Fraction(self.width, self.height)

    def rate_for(self, source_fps: Fraction | None) -> Fraction:
        """The output frame rate: fixed, or the source's snapped to the nearest standard rate in range."""
        if self.fps is not None:
            return self.fps
        source = source_fps or Fraction(25)
        allowed = tuple(r for r in STANDARD_RATES if self.min_fps <= r <= self.max_fps) or (Fraction(25),)
        return nearest_rate(source, allowed)

    def draft(self) -> Preset:
        """A quick look: a third of the size, x264's fastest settings, no poster, no size or rate caps.

        Drafts are never published (they carry "UTKAST" in the picture) and never listed as final outputs.
        """
        return dataclasses.replace(
            self, width=max(2, self.width // 3 // 2 * 2), height=max(2, self.height // 3 // 2 * 2),
            video_codec="libx264", extension="mp4", x264_preset="ultrafast", crf=30, profile="high",
            pix_fmt="yuv420p", max_video_kbps=None, max_bytes=None, audio_codec="aac", audio_kbps=96,
            poster=False)

    def with_overrides(self, **changes: object) -> Preset:
        """A copy of this preset with some fields changed."""
        if "safe_area" in changes and isinstance(changes["safe_area"], dict):
            changes["safe_area"] = SafeArea(**changes["safe_area"])
        for key in ("fps", "min_fps", "max_fps"):
            if key in changes and changes[key] is not None:
                changes[key] = parse_rate(changes[key])
        if changes.get("gop_seconds") is not None:
            changes["gop_seconds"] = seconds(changes["gop_seconds"])
        return dataclasses.replace(self, **changes)


_REELS_SAFE = SafeArea(top=0.14, bottom=0.35, left=0.06, right=0.06)
_SOCIAL_MARGIN = SafeArea(top=0.05, bottom=0.05, left=0.06, right=0.06)
_WIDE_TITLE_SAFE = SafeArea(top=0.05, bottom=0.05, left=0.05, right=0.05)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("youtube", "YouTube", 1920, 1080, max_duration=15 * 60, safe_area=_WIDE_TITLE_SAFE),
        Preset("youtube-shorts", "YouTube Shorts", 1080, 1920, max_duration=180, safe_area=_REELS_SAFE,
               captions="burn", caption_line_chars=32, caption_style="social"),
        Preset("instagram-reels", "Instagram Reels", 1080, 1920, min_duration=3, max_duration=15 * 60,
               max_bytes=1_000_000_000, safe_area=_REELS_SAFE, captions="burn", caption_line_chars=32,
               caption_style="social"),
        Preset("instagram-feed", "Instagram feed", 1080, 1350, max_bytes=1_000_000_000,
               safe_area=_SOCIAL_MARGIN, captions="burn", caption_line_chars=36),
        Preset("instagram-stories", "Instagram/Facebook Stories", 1080, 1920, max_duration=60,
               safe_area=SafeArea(top=250 / 1920, bottom=340 / 1920, left=0.06, right=0.06),
               captions="burn", caption_line_chars=32),
        Preset("facebook", "Facebook feed", 1080, 1350, max_duration=241 * 60, max_bytes=4_000_000_000,
               safe_area=_SOCIAL_MARGIN, caption_line_chars=36),
        Preset("linkedin", "LinkedIn", 1920, 1080, min_duration=3, max_duration=10 * 60, max_fps=Fraction(60),
               min_fps=Fraction(10), max_bytes=500_000_000, safe_area=_WIDE_TITLE_SAFE),
        Preset("x", "X", 1280, 720, min_duration=0.5, max_duration=140, max_bytes=512_000_000,
               max_video_kbps=5000, audio_kbps=128, safe_area=_WIDE_TITLE_SAFE, min_fps=Fraction(1)),
        Preset("tiktok", "TikTok", 1080, 1920, min_duration=3, max_duration=180,
               safe_area=SafeArea(top=150 / 1920, bottom=440 / 1920, left=0.06, right=150 / 1080),
               captions="burn", caption_line_chars=32, caption_style="social"),
        # the career page's cap is X's 5 Mb/s (the page only asks "keep it small": crf 21 averages ~0.6 Mb/s
        # at 720p): the two 1280x720 outputs of an edit are then one encode (issue 25)
        Preset("web", "Career page", 1280, 720, max_video_kbps=5000, audio_kbps=128,
               safe_area=_WIDE_TITLE_SAFE, min_fps=Fraction(1)),
        Preset("cinema", "Cinema (sales-house master)", 1998, 1080, fit="pad", fps=Fraction(24),
               extension="mov", video_codec="prores_aw", profile="3", pix_fmt="yuv422p10le",
               max_video_kbps=None, audio_codec="pcm_s24le", audio_kbps=None, audio_channels=6,
               loudness_lufs=-24.0, true_peak_dbtp=-1.0,
               # title safe ~1598x864 inside 1998x1080
               safe_area=SafeArea(top=0.1, bottom=0.1, left=0.1, right=0.1), captions="burn"),
    )
}

#: The preset fields a spec may override per channel, in the order the schema lists them: what a
#: platform's limits and a producer's taste decide. The rest (codecs, containers, sample rates,
#: safe areas) follow from the platform and stay fixed. ``spec.ChannelOverride`` is built from this.
OVERRIDABLE = ("width", "height", "fit", "fps", "crf", "x264_preset", "max_video_kbps", "audio_kbps",
               "loudness_lufs", "true_peak_dbtp", "max_duration", "captions", "caption_line_chars",
               "caption_style", "poster", "shorten")


def get_preset(name: str) -> Preset:
    """The preset for a channel id. Raises KeyError for an unknown channel."""
    return PRESETS[name]
