"""An output's encoder settings: the codec arguments of its picture and sound, its GOP, its bitrate cap and
container, from its :class:`~pipeline.channels.Preset` (one place: pieces, whole renders and the described
version's holds all encode with these)."""

from __future__ import annotations

from fractions import Fraction

from .channels import Preset

__all__ = ["AAC_CODER", "TRUE_PEAK_MARGIN", "audio_codec_args", "audio_codec_argv", "container_format",
           "gop_frames", "true_peak_margin", "video_codec_args", "video_kbps_cap"]

#: The limiter after the loudness gain holds the peaks this far (dB) under the preset's true-peak
#: ceiling, so that the lossy encoder's overshoot still leaves the file under it.
TRUE_PEAK_MARGIN = 0.5


def true_peak_margin(preset: Preset) -> float:
    """How far (dB) under the channel's true-peak ceiling the limiter holds the peaks: the lossy encoder
    overshoots more at lower bitrates. Measured on the example's X sound limited 1.5 dB under the ceiling:
    AAC at 256 kbps peaks 0.0 dB over the limit, 192 kbps 0.1, 160 kbps 0.2, 128 kbps 0.5 (the render
    measured 0.7, and made X's sound twice), 96 kbps 1.4 (issue 25). A margin the encoder keeps to makes
    the sound once."""
    kbps = preset.audio_kbps
    if not kbps or kbps >= 192:  # PCM, or enough bits to keep the limiter's peaks
        return TRUE_PEAK_MARGIN
    return TRUE_PEAK_MARGIN + (0.5 if kbps >= 128 else 1.5)


def gop_frames(preset: Preset, rate: Fraction) -> int:
    """Frames in one closed GOP of the output (the key-frame interval its encoder is given)."""
    return max(1, int(preset.gop_seconds * rate + Fraction(1, 2)))


def video_kbps_cap(preset: Preset, duration: Fraction) -> int | None:
    """The video bitrate cap: the preset's, lowered so that the file fits the platform's size limit."""
    cap = preset.max_video_kbps
    if preset.max_bytes and duration > 0:
        budget = preset.max_bytes * 8 / 1000 / float(duration) * 0.92  # container overhead and VBV slack
        budget -= preset.audio_kbps or 0
        cap = int(budget) if cap is None else min(cap, int(budget))
    return cap


# x264's frame threads and their lookahead are set up for every encode; for a few GOPs (a card's runs, a
# hold's frames left over) that costs more than it gives. Measured on 1080p still runs on 2 cores, x264's own
# thread count (3) against one: 13 frames 0.42 s of CPU and 0.35 s wall against 0.24 s and 0.24 s; a card's
# 35 frames (fade, still GOP, the rest) 0.88 s and 0.49 s against 0.62 s and 0.53 s. The frames decode the
# same (the bitstream differs only in x264's note of its settings).
ONE_THREAD_GOPS = 4


def video_codec_args(preset: Preset, rate: Fraction, duration: Fraction,
                     frames: int | None = None) -> dict[str, object]:
    """The picture's encoder arguments. ``duration``: the film's length (the bitrate cap); ``frames``: how
    many frames this encode makes, when known (a short run is encoded on one thread)."""
    if preset.video_codec == "libx264":
        gop = gop_frames(preset, rate)
        args: dict[str, object] = {
            "c:v": "libx264", "preset": preset.x264_preset, "crf": preset.crf, "profile:v": preset.profile,
            "pix_fmt": preset.pix_fmt, "g": gop, "keyint_min": gop, "sc_threshold": 0, "flags": "+cgop",
        }
        if frames is not None and frames <= ONE_THREAD_GOPS * gop:
            args["threads"] = 1
        cap = video_kbps_cap(preset, duration)
        if cap:
            args["maxrate"] = f"{cap}k"
            args["bufsize"] = f"{cap * 2}k"
        return args
    if preset.video_codec in ("prores_aw", "prores_ks"):
        # ProRes (profile 3: 422 HQ). The cinema preset uses prores_aw: measured on the example's
        # cinema master 4.9x faster than prores_ks (which searches quantisers per slice) at the same
        # size within 0.5 % and 73.2 against 74.2 dB PSNR to the frames it was given (both far
        # beyond visible); prores_ks stays available as an override.
        return {"c:v": preset.video_codec, "profile:v": preset.profile, "pix_fmt": preset.pix_fmt, "vendor": "apl0"}
    return {"c:v": preset.video_codec, "pix_fmt": preset.pix_fmt}


#: ffmpeg's AAC encoder's quantizer search. Its default (twoloop) is the slow one; ffmpeg's manual on "fast":
#: "Worse with low bitrates (less than 64kbps), but is better and much faster at higher bitrates", and ours are
#: 96 kbps and over. Measured on 28 s of erna.mp3, stereo: 0.46 s of CPU against 0.72 s at 192 kbps (40.3 dB
#: against 40.4 dB under the difference from the sound), 0.36 s against 0.75 s at 128 kbps (32.3 dB, 29.8 dB).
AAC_CODER = "fast"


def audio_codec_args(preset: Preset) -> dict[str, object]:
    """The sound's encoder arguments (ffmpeg's option names, without the dash)."""
    args: dict[str, object] = {"c:a": preset.audio_codec, "ar": preset.sample_rate, "ac": preset.audio_channels}
    if preset.audio_kbps:
        args["b:a"] = f"{preset.audio_kbps}k"
    if preset.audio_codec == "aac":
        args["aac_coder"] = AAC_CODER
    return args


def audio_codec_argv(preset: Preset) -> list[str]:
    """:func:`audio_codec_args` as command-line arguments."""
    return [arg for name, value in audio_codec_args(preset).items() for arg in (f"-{name}", str(value))]


def container_format(preset: Preset) -> str:
    return {"mp4": "mp4", "mov": "mov"}.get(preset.extension, preset.extension)
