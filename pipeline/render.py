"""Filter graphs: the edit as ffmpeg commands, built as data.

The functions here are pure: they turn a :class:`~pipeline.plan.RenderPlan` into
an :class:`~pipeline.ffmpeg.FfmpegCommand` (argv plus filter script, or a concat list)
without touching the disk or starting ffmpeg, so tests can read them;
:func:`pipeline.ffmpeg.run_command` runs them. An H.264 output is made of :func:`picture_command` per piece of its
picture (:func:`picture_pieces`), one :func:`sound_command` and a
:func:`join_command` that copies them into the file; a ProRes master is one
:func:`render_command`. :func:`measure_command` is the loudness-measuring pass.

Every segment is normalised on the way in (display size, square pixels, the
output frame rate, 48 kHz stereo, a short audio fade at each join so cuts do
not click) and the segments are joined with ``concat``. Lower thirds are
overlays; captions, when burned in, are one more filter (``ass``) on the picture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import ffmpeg as ffmpeg_python

from .channels import Preset
from .cutaway import picture_span
from .encoding import (
    TRUE_PEAK_MARGIN,
    audio_codec_args,
    container_format,
    video_codec_args,
    video_kbps_cap,
)
from .ffmpeg import FfmpegCommand, compile_command, concat_listing, filter_value, safe_path_arg
from .loudness import SAMPLE_RATE, Measured
from .plan import CleanSound, ClipSource, MusicBed, RenderPlan
from .timecode import to_ffmpeg
from .timeline import CardSegment, ClipSegment, Timeline

__all__ = ["join_command", "measure_command", "picture_command", "picture_output", "picture_pieces",
           "poster_frame_command", "render_command", "sound_command", "video_codec_args", "video_kbps_cap",
           "TRUE_PEAK_MARGIN"]

#: Length of the audio fade at each join, seconds.
JOIN_FADE = Fraction(1, 100)

#: Rate the true-peak limiter runs at: 4x oversampling, as BS.1770's true-peak meter does.
LIMITER_RATE = 192000


def _samples(t: Fraction) -> int:
    return int(t * SAMPLE_RATE + Fraction(1, 2))


class _Shared:
    """Inputs a graph uses more than once (silence under several cards, the same card twice, a clip's room
    tone under several cuts).

    ffmpeg-python merges nodes with the same arguments into one, which ffmpeg then refuses to
    feed to two filters: such an input is opened once and split, one branch per use.
    """

    def __init__(self) -> None:
        self.uses: dict[object, int] = {}
        self.branches: dict[object, list] = {}

    def need(self, key: object) -> None:
        self.uses[key] = self.uses.get(key, 0) + 1

    def take(self, key: object, make, split: str):
        if key not in self.branches:
            stream, n = make(), self.uses.get(key, 1)
            if n > 1:
                parts = stream.filter_multi_output(split, n)
                self.branches[key] = [parts[i] for i in range(n)]
            else:
                self.branches[key] = [stream]
        return self.branches[key].pop()


def _endless_silence():
    return ffmpeg_python.input(f"anullsrc=r={SAMPLE_RATE}:cl=stereo", f="lavfi").audio


def _still(image: Path, frames: int, rate: Fraction, pix_fmt: str, shared: _Shared | None = None):
    """A picture held for ``frames`` frames at ``rate``, in ``pix_fmt``.

    The picture is decoded and converted to the graph's pixel format once, then repeated
    inside the graph (``loop``), rather than looped by the demuxer (``-loop 1``), which
    decodes it again for every frame and lets its decoder run ahead of the encoder with
    full frames queued, or converted after the loop, once per frame.
    """
    def make():
        return ffmpeg_python.input(safe_path_arg(image)).video.filter("format", pix_fmts=pix_fmt)

    v = shared.take(("still", str(image)), make, "split") if shared is not None else make()
    v = v.filter("loop", loop=max(0, frames - 1), size=1, start=0)
    return v.filter("setpts", expr=f"N/({rate})/TB")


def _frame(v, preset: Preset, clip: ClipSource, crop_x: str | None = None, crop_y: str | None = None):
    """Scale a clip's picture to the output frame as its ``fit`` says: crop to fill (following
    ``crop_x``/``crop_y``), pad to fit, or fit over a blurred fill of the same picture (``pad-blur``);
    square pixels."""
    if clip.sample_aspect != 1:
        v = v.filter("scale", w=f"trunc(iw*{float(clip.sample_aspect):.6f}/2)*2", h="ih")
    w, h = preset.width, preset.height
    fit = clip.fit
    if fit == "crop":
        v = v.filter("scale", w=w, h=h, force_original_aspect_ratio="increase", flags="bicubic")
        if crop_x or crop_y:
            v = v.filter("crop", w=w, h=h, x=crop_x or "(iw-ow)/2", y=crop_y or "(ih-oh)/2", exact=1)
        else:
            v = v.filter("crop", w=w, h=h)
    elif fit == "pad-blur":
        both = v.filter_multi_output("split", 2)
        # the fill: the same picture cropped to fill, small and blurred (cheap at a quarter size), then enlarged
        fill = both[0].filter("scale", w=w // 4, h=h // 4, force_original_aspect_ratio="increase")
        fill = fill.filter("crop", w=w // 4, h=h // 4).filter("boxblur", luma_radius=12, luma_power=2)
        fill = fill.filter("eq", brightness=-0.08).filter("scale", w=w, h=h, flags="bilinear").filter("setsar", sar=1)
        front = both[1].filter("scale", w=w, h=h, force_original_aspect_ratio="decrease", flags="bicubic")
        front = front.filter("setsar", sar=1)
        v = ffmpeg_python.filter([fill, front], "overlay", x="(W-w)/2", y="(H-h)/2")
    else:
        v = v.filter("scale", w=w, h=h, force_original_aspect_ratio="decrease", flags="bicubic")
        v = v.filter("pad", w=w, h=h, x="(ow-iw)/2", y="(oh-ih)/2", color="black")
    return v.filter("setsar", sar=1)


def _segment_audio(a, seg_start: Fraction, duration: Fraction, tone=None):
    """Normalise one segment's audio and cut it to the exact sample count of its frames.

    ``tone`` (a room-tone stream, already looped) fills the fades at the joins: it fades
    out as the segment's own sound fades in, and back in as it fades out.
    """
    n = _samples(seg_start + duration) - _samples(seg_start)
    a = _exact(_stereo(a), n)
    fade = to_ffmpeg(JOIN_FADE)
    a = a.filter("afade", t="in", d=fade)
    a = a.filter("afade", t="out", st=to_ffmpeg(duration - JOIN_FADE), d=fade)
    if tone is None:
        return a
    tone = _exact(tone, n).filter("afade", t="out", d=fade)
    tone = tone.filter("afade", t="in", st=to_ffmpeg(duration - JOIN_FADE), d=fade)
    return ffmpeg_python.filter([a, tone], "amix", inputs=2, normalize=0, duration="first")


def _stereo(a):
    a = a.filter("aresample", osr=SAMPLE_RATE)
    return a.filter("aformat", sample_fmts="fltp", sample_rates=SAMPLE_RATE, channel_layouts="stereo")


def _exact(a, n: int):
    return a.filter("apad").filter("atrim", end_sample=n).filter("asetpts", expr="PTS-STARTPTS")


def _clean_sound(sound: CleanSound, start: Fraction, length: Fraction):
    """A stretch of a clip's cleaned (mono) sound, levelled, as stereo.

    Cut by sample count from the start of the file, not by seeking: ffmpeg's FLAC seek
    can land a packet off (measured 18 ms), which would move the sound against the picture.
    """
    a = ffmpeg_python.input(safe_path_arg(sound.path)).audio
    a = a.filter("atrim", start_sample=_samples(start), end_sample=_samples(start + length))
    a = a.filter("asetpts", expr="PTS-STARTPTS")
    if sound.gain_db:
        a = a.filter("volume", volume=f"{sound.gain_db:.2f}dB")
    return a.filter("pan", args="stereo|c0=c0|c1=c0")


def _room_tone(sound: CleanSound):
    """The clip's quietest second, looped without end."""
    a = _clean_sound(sound, sound.room_tone_at, Fraction(1))
    return a.filter("aloop", loop=-1, size=SAMPLE_RATE)


def _tones(plan: RenderPlan) -> list[CleanSound | None]:
    """Per segment, the room tone that fills it: its clip's own; for a card, the clip before it (or after)."""
    own = [plan.clip(seg.clip_id).sound if isinstance(seg, ClipSegment) else None
           for seg in plan.timeline.segments]
    own = [s if s is not None and s.room_tone_at is not None else None for s in own]
    out: list[CleanSound | None] = []
    for i, seg in enumerate(plan.timeline.segments):
        if isinstance(seg, ClipSegment):
            out.append(own[i])
            continue
        before = next((s for s in reversed(own[:i]) if s is not None), None)
        out.append(before or next((s for s in own[i + 1:] if s is not None), None))
    return out


def _segments(plan: RenderPlan, video: bool, audio: bool = True, only: range | None = None):
    """Input streams for the segments (all, or those ``only`` names), normalised: a list of
    (video or None, audio or None), each starting at 0."""
    out = []
    timeline, preset = plan.timeline, plan.preset
    rate = timeline.rate
    margin = Fraction(2) / rate  # read a little past the cut; trim makes it exact
    crop_x, crop_y = plan.crop_x, plan.crop_y
    indices = range(len(timeline.segments)) if only is None else only
    # under a music bed there is no digital silence to fill, and room tone would key the ducking
    tones = _tones(plan) if audio and plan.music is None else [None] * len(timeline.segments)
    shared = _Shared()
    for index in indices:
        seg = timeline.segments[index]
        if tones[index] is not None:
            shared.need(("tone", tones[index].key))
        if isinstance(seg, CardSegment):
            if audio and tones[index] is None:
                shared.need("silence")
            if video:
                shared.need(("still", str(plan.cards[seg.card_id].path)))
        elif audio and not plan.clip(seg.clip_id).has_audio and plan.clip(seg.clip_id).sound is None:
            shared.need("silence")
    for index in indices:
        seg = timeline.segments[index]
        sound = tones[index]
        tone = shared.take(("tone", sound.key), lambda s=sound: _room_tone(s), "asplit") if sound else None
        a = v = None
        first, count = picture_span(timeline.segments, index)  # split edits move the picture's cuts
        count -= first
        if isinstance(seg, ClipSegment):
            clip = plan.clip(seg.clip_id)
            inp = ffmpeg_python.input(safe_path_arg(clip.path), ss=to_ffmpeg(seg.source_in),
                                      t=to_ffmpeg(seg.duration + margin))
            if not audio:
                pass
            elif clip.sound is not None:
                a = _clean_sound(clip.sound, seg.source_in, seg.duration + margin)
            else:
                a = inp.audio if clip.has_audio else shared.take("silence", _endless_silence, "asplit")
            if audio and seg.cutaways:
                a = _with_cutaway_sound(a, plan, seg)
            if video:
                if first or count != seg.frame_count:
                    inp = ffmpeg_python.input(safe_path_arg(clip.path), ss=to_ffmpeg(seg.source_in + first / rate),
                                              t=to_ffmpeg(count / rate + margin))
                v = inp.video.filter("setpts", expr="PTS-STARTPTS").filter("fps", fps=str(rate))
                v = _frame(v, preset, clip, crop_x.get(index), crop_y.get(index))
                v = _with_cutaways(v, plan, index, first)
        else:
            assert isinstance(seg, CardSegment)
            if not audio:
                pass
            elif tone is None:
                a = shared.take("silence", _endless_silence, "asplit")
            else:  # a card is all room tone: no fades to fill
                a, tone = tone, None
                if index == len(timeline.segments) - 1:  # the film's end: the room tone fades away
                    fade = min(Fraction(1), seg.duration)
                    a = _exact(_stereo(a), _samples(seg.start + seg.duration) - _samples(seg.start))
                    a = a.filter("afade", t="out", st=to_ffmpeg(seg.duration - fade), d=to_ffmpeg(fade))
            if video:
                v = _still(plan.cards[seg.card_id].path, seg.frame_count + int(margin * rate) + 1, rate, "yuv420p",
                           shared)
                v = v.filter("setsar", sar=1)
                if seg.card.fade > 0:
                    v = v.filter("fade", t="in", st=0, d=to_ffmpeg(min(seg.card.fade, seg.duration)))
        if v is not None:
            v = v.filter("format", pix_fmts="yuv420p")
            v = v.filter("tpad", stop_mode="clone", stop=int(margin * rate) + 1)
            v = v.filter("trim", end_frame=count).filter("setpts", expr="PTS-STARTPTS")
        out.append((v, _segment_audio(a, seg.start, seg.duration, tone) if audio else None))
    return out


def _with_cutaways(v, plan: RenderPlan, index: int, first: int):
    """The segment's picture (``first`` frames into its cut) with its cutaways laid over it, each framed for
    the output as any clip is (its own crop), on the frame grid; between them the speaker's picture."""
    rate, seg = plan.timeline.rate, plan.timeline.segments[index]
    crops = {(i, k): (x, y) for i, k, x, y in plan.cutaway_crops}
    for k, cut in enumerate(seg.cutaways):
        src = plan.clip(cut.clip_id)
        at = cut.offset - first
        inp = ffmpeg_python.input(safe_path_arg(src.path), ss=to_ffmpeg(cut.source_in),
                                  t=to_ffmpeg(cut.duration(rate) + Fraction(2) / rate))
        c = inp.video.filter("setpts", expr="PTS-STARTPTS").filter("fps", fps=str(rate))
        c = _frame(c, plan.preset, src, *crops.get((index, k), (None, None)))
        c = c.filter("format", pix_fmts="yuv420p").filter("tpad", stop_mode="clone", stop=3)
        c = c.filter("trim", end_frame=cut.frame_count).filter("setpts", expr=f"PTS-STARTPTS+{at}/({rate})/TB")
        # shown on exactly its frames: from frame `at` to the one before `at + frame_count`
        when = f"between(n,{at},{at + cut.frame_count - 1})"
        v = ffmpeg_python.filter([v, c], "overlay", x=0, y=0, eof_action="pass", enable=when)
    return v


def _with_cutaway_sound(a, plan: RenderPlan, seg: ClipSegment):
    """The segment's sound with each cutaway's own under it, at its level under the voice (its clip's cleaned
    sound, levelled to the common speech level, or as recorded), from where it is shown to where it ends."""
    rate = plan.timeline.rate
    for cut in seg.cutaways:
        src = plan.clip(cut.clip_id)
        if cut.gain_db is None or not (src.has_audio or src.sound is not None):
            continue
        length = cut.duration(rate)
        if src.sound is not None:
            c = _clean_sound(src.sound, cut.source_in, length)
        else:
            c = _stereo(ffmpeg_python.input(safe_path_arg(src.path), ss=to_ffmpeg(cut.source_in),
                                            t=to_ffmpeg(length)).audio)
        c = _exact(_stereo(c), _samples(length)).filter("volume", volume=f"{cut.gain_db:.2f}dB")
        fade = to_ffmpeg(min(Fraction(1, 20), length / 4))
        c = c.filter("afade", t="in", d=fade).filter("afade", t="out", st=to_ffmpeg(length - min(Fraction(1, 20),
                                                                                           length / 4)), d=fade)
        delay = _samples(Fraction(cut.offset) / rate)
        c = c.filter("adelay", delays=f"{delay}S", all=1)
        a = ffmpeg_python.filter([_stereo(a), c], "amix", inputs=2, normalize=0, duration="first")
    return a


def _music(bed: MusicBed, timeline: Timeline):
    total = timeline.duration
    m = ffmpeg_python.input(safe_path_arg(bed.source), stream_loop=-1, t=to_ffmpeg(total + 1)).audio
    m = _stereo(m).filter("volume", volume=f"{bed.gain_db:.2f}dB")
    m = _exact(m, _samples(total))
    m = m.filter("afade", t="in", st=0, d=to_ffmpeg(min(bed.fade_in, total / 2)))
    fade_out = min(bed.fade_out, total / 2)
    return m.filter("afade", t="out", st=to_ffmpeg(total - fade_out), d=to_ffmpeg(fade_out))


def _mix_layout(a, preset: Preset, timeline: Timeline | None = None, music: MusicBed | None = None):
    """Speech (and the music bed, ducked under it) in the channel's layout.

    Stereo mixes both; 5.1 (cinema) puts the speech in the centre channel and the
    music in left and right, as the sales house asks.
    """
    if music is None:
        if preset.audio_channels == 6:
            return a.filter("pan", args="5.1|FC=0.5*c0+0.5*c1")
        if preset.audio_channels == 1:
            return a.filter("pan", args="mono|c0=0.5*c0+0.5*c1")
        return a
    assert timeline is not None
    voice = a.filter_multi_output("asplit", 2)
    m = _music(music, timeline)
    if music.duck:
        # the voice drives a compressor on the music: about 10 dB less music while someone speaks
        m = ffmpeg_python.filter([m, voice[1]], "sidechaincompress", threshold=0.008, ratio=12, attack=15,
                                 release=450, knee=2)
    else:
        voice[1].filter("anullsink")
    if preset.audio_channels == 6:
        speech = voice[0].filter("pan", args="mono|c0=0.5*c0+0.5*c1")
        both = ffmpeg_python.filter([speech, m], "amerge", inputs=2)
        # amerge orders the channels by layout (FL FR FC): map them by name
        return both.filter("pan", args="5.1|FL=FL|FR=FR|FC=FC")
    mixed = ffmpeg_python.filter([voice[0], m], "amix", inputs=2, normalize=0, duration="first")
    if preset.audio_channels == 1:
        return mixed.filter("pan", args="mono|c0=0.5*c0+0.5*c1")
    return mixed


def _joined(plan: RenderPlan, video: bool):
    parts = _segments(plan, video)
    if video:
        flat = [s for pair in parts for s in pair]
        joined = ffmpeg_python.concat(*flat, v=1, a=1).node
        return joined[0], joined[1]
    joined = ffmpeg_python.concat(*[a for _, a in parts], v=0, a=1)
    return None, joined


def measure_command(plan: RenderPlan, music: MusicBed | None = None) -> FfmpegCommand:
    """The loudness-measuring pass: the edit's audio only (with ``music``), through loudnorm in print mode."""
    preset = plan.preset
    _, a = _joined(plan, video=False)
    a = _mix_layout(a, preset, plan.timeline, music).filter(
        "loudnorm", I=f"{preset.loudness_lufs:.1f}", TP=f"{preset.true_peak_dbtp:.1f}", LRA="11",
        print_format="json")
    out = ffmpeg_python.output(a, "-", f="null")
    return compile_command(out, [])


def _dress(v, plan: RenderPlan, start: Fraction, end: Fraction):
    """What goes over the picture between output times ``start`` and ``end`` (``v``'s timestamps count
    from the film's start): lower thirds, burned captions, the shaded safe zones; then the output's
    pixel format."""
    timeline, preset = plan.timeline, plan.preset
    for ov in plan.overlays:
        if ov.start >= end or ov.start + ov.duration <= start:
            continue
        # blended in the picture's own YUV (the still converted once): an RGBA blend would convert
        # every frame of the film to RGB and back (measured: a fifth of a 16:9 render's time)
        pic = _still(ov.image.path, max(1, int(ov.duration * timeline.rate)), timeline.rate, "yuva420p")
        if ov.fade > 0:
            fade = to_ffmpeg(min(ov.fade, ov.duration / 2))
            pic = pic.filter("fade", t="in", st=0, d=fade, alpha=1)
            pic = pic.filter("fade", t="out", st=to_ffmpeg(ov.duration - min(ov.fade, ov.duration / 2)), d=fade,
                             alpha=1)
        pic = pic.filter("setpts", expr=f"PTS-STARTPTS+{to_ffmpeg(ov.start)}/TB")
        v = ffmpeg_python.filter([v, pic], "overlay", x=ov.x, y=ov.y, eof_action="pass", format="yuv420",
                                 enable=f"between(t,{to_ffmpeg(ov.start)},{to_ffmpeg(ov.start + ov.duration)})")
    if plan.burn is not None:
        opts = {"filename": filter_value(plan.burn.ass)}
        if plan.burn.fonts_dir is not None:
            opts["fontsdir"] = filter_value(plan.burn.fonts_dir)
        v = v.filter("ass", **opts)
    if plan.safe_zones:
        v = _shade_unsafe(v, preset)
    if preset.pix_fmt != "yuv420p":
        v = v.filter("format", pix_fmts=preset.pix_fmt)
    return v


def _finished_sound(a, plan: RenderPlan, loudness: Measured | None, peak_margin: float):
    """The joined speech mixed into the channel's layout, at its loudness, exactly as long as the picture."""
    timeline, preset = plan.timeline, plan.preset
    a = _mix_layout(a, preset, timeline, plan.music)
    if loudness is not None and not loudness.is_silent:
        # One linear gain to the target, then a true-peak limiter at 4x the rate (where inter-sample
        # peaks show). Not loudnorm's second pass: where the gain would break the ceiling it falls back
        # to its dynamic mode, which held 850 MB more in one ffmpeg (a 1080x1920 episode) and compresses
        # the whole mix instead of its peaks.
        a = a.filter("volume", volume=f"{loudness.gain_db(preset.loudness_lufs):.2f}dB")
        ceiling = 10 ** ((preset.true_peak_dbtp - peak_margin) / 20)
        a = a.filter("aresample", osr=LIMITER_RATE)
        a = a.filter("alimiter", limit=f"{ceiling:.5f}", attack=1, release=60, level=0, latency=1)
    a = a.filter("aresample", osr=preset.sample_rate)
    # exactly as long as the picture: no tail of sound after the last frame. The limiter's delay
    # compensation leaves the first timestamps below zero, and atrim counts by timestamp: renumber first.
    a = a.filter("asetpts", expr="N/SR/TB").filter("apad")
    return a.filter("atrim", end_sample=int(timeline.duration * preset.sample_rate + Fraction(1, 2)))


def render_command(plan: RenderPlan, output: Path, loudness: Measured | None,
                   peak_margin: float = TRUE_PEAK_MARGIN) -> FfmpegCommand:
    """The command that renders one channel's version (everything it reads is in ``plan``) to ``output``
    in one pass (outputs whose encoder has no use for pieces: ProRes).

    ``loudness`` is the first pass's measurement of the plan's mix (None leaves the level as is);
    ``peak_margin`` how far (dB) under the true-peak ceiling the limiter holds the peaks.
    After the loudness gain a limiter, oversampled 4x, holds the true-peak ceiling, and the
    sound is cut to the picture's exact length.
    """
    timeline, preset = plan.timeline, plan.preset
    v, a = _joined(plan, video=True)
    v = v.filter("settb", expr=f"{timeline.rate.denominator}/{timeline.rate.numerator}")  # as in picture_command
    v = _dress(v, plan, Fraction(0), timeline.duration)
    a = _finished_sound(a, plan, loudness, peak_margin)
    container = container_format(preset)
    kwargs: dict[str, object] = {
        "f": container, "r": str(timeline.rate), "fps_mode": "cfr",
        **video_codec_args(preset, timeline.rate, timeline.duration), **audio_codec_args(preset),
        "metadata": f"title={plan.title}",
    }
    if container == "mp4":
        kwargs["movflags"] = "+faststart"
    out = ffmpeg_python.output(v, a, safe_path_arg(output), **kwargs)
    return compile_command(out, [output])


def picture_pieces(plan: RenderPlan) -> list[range]:
    """How an output's picture is cut into pieces, each encoded on its own: one per segment of the edit.

    A piece is named by what it is made from, so the same piece in two outputs (YouTube and LinkedIn
    differ only in the end card's tracked link) or in the next render after an edit (a new end card
    leaves the clips' pieces as they were) is encoded once and reused.
    """
    return [range(i, i + 1) for i in range(len(plan.timeline.segments))]


def picture_command(plan: RenderPlan, piece: range, output: Path) -> FfmpegCommand:
    """The picture (no sound) of the segments in ``piece``, with everything over it, encoded as the
    output's video: it starts on a key frame, so pieces join without decoding (:func:`join_command`)."""
    return compile_command(picture_output(plan, piece, output), [output])


def picture_output(plan: RenderPlan, piece: range, output: Path, duration: Fraction | None = None,
                   cuts: Sequence[int] = ()):
    """:func:`picture_command`'s graph and output, as an ffmpeg-python output node. ``duration``: the film's
    length, for the bitrate cap (the plan's timeline's length when not given: a card's runs are encoded
    alone, :mod:`pipeline.stills`). ``cuts``: frames (each on a key frame) where the encode is cut into
    files (``output``: a pattern with ``%03d``), each starting as a file encoded alone does."""
    duration = plan.timeline.duration if duration is None else duration
    timeline, preset = plan.timeline, plan.preset
    rate = timeline.rate
    parts = [v for v, _ in _segments(plan, video=True, audio=False, only=piece)]
    v = parts[0] if len(parts) == 1 else ffmpeg_python.concat(*parts, v=1, a=0)
    start, end = timeline.segments[piece.start].start, timeline.segments[piece.stop - 1].start
    start += Fraction(picture_span(timeline.segments, piece.start)[0]) / rate  # split edits
    end += Fraction(picture_span(timeline.segments, piece.stop - 1)[1]) / rate
    # timestamps on the frame grid (integer ticks of 1/rate: exact; in a finer time base a frame's time can
    # come out a hair early, 22.9599 s, and libass, which counts whole milliseconds, showed a caption that
    # starts at 22.96 s one frame late)
    v = v.filter("settb", expr=f"{rate.denominator}/{rate.numerator}")
    timed = plan.burn is not None or any(ov.start < end and ov.start + ov.duration > start for ov in plan.overlays)
    if timed and start:
        # counted from the film's start, so that captions and lower thirds land where they do in the whole
        # film; back to 0 for the encoder. (A piece with nothing timed over it does not depend on where it
        # sits: an end card keeps its piece when a clip before it is cut shorter.)
        v = v.filter("setpts", expr=f"PTS-STARTPTS+{int(start * rate)}")
        v = _dress(v, plan, start, end).filter("setpts", expr="PTS-STARTPTS")
    else:
        v = _dress(v, plan, start, end)
    frames = int((end - start) * rate)
    kwargs: dict[str, object] = {"f": container_format(preset), "r": str(rate), "fps_mode": "cfr",
                                 **video_codec_args(preset, rate, duration, frames)}
    if cuts:
        # the first file's timestamps as the others' (and a file's encoded alone): B-frames' delay in an
        # edit list, not shifted to start late
        kwargs.update({"f": "segment", "segment_format": container_format(preset), "reset_timestamps": 1,
                       "segment_frames": ",".join(str(c) for c in cuts), "avoid_negative_ts": "disabled"})
    return ffmpeg_python.output(v, safe_path_arg(output), **kwargs)


def sound_command(plan: RenderPlan, output: Path, loudness: Measured | None,
                  peak_margin: float = TRUE_PEAK_MARGIN) -> FfmpegCommand:
    """The output's whole sound (no picture), encoded as the output's audio: levelled as in
    :func:`render_command`, in the output's container."""
    _, a = _joined(plan, video=False)
    a = _finished_sound(a, plan, loudness, peak_margin)
    preset = plan.preset
    out = ffmpeg_python.output(a, safe_path_arg(output), f=container_format(preset), **audio_codec_args(preset))
    return compile_command(out, [output])


def join_command(plan: RenderPlan, pieces: list[Path], sound: Path, output: Path) -> FfmpegCommand:
    """The output file from its picture pieces and its sound, copied (not encoded again)."""
    container = container_format(plan.preset)
    video = ffmpeg_python.input(FfmpegCommand.LISTING, f="concat", safe=0).video
    audio = ffmpeg_python.input(safe_path_arg(sound)).audio
    kwargs: dict[str, object] = {"f": container, "c": "copy", "metadata": f"title={plan.title}"}
    if container == "mp4":
        kwargs["movflags"] = "+faststart"
    out = ffmpeg_python.output(video, audio, safe_path_arg(output), **kwargs)
    return dataclasses.replace(compile_command(out, [output]), listing=concat_listing(pieces))


def _shade_unsafe(v, preset: Preset):
    """Shade (red, half transparent) the margins the platform's interface covers, for checking a render."""
    x0, y0, x1, y1 = preset.safe_area.box(preset.width, preset.height)
    boxes = [(0, 0, preset.width, y0), (0, y1, preset.width, preset.height - y1),
             (0, y0, x0, y1 - y0), (x1, y0, preset.width - x1, y1 - y0)]
    for x, y, w, h in boxes:
        if w > 0 and h > 0:
            v = v.filter("drawbox", x=x, y=y, w=w, h=h, color="red@0.35", t="fill")
    x, y, w, h = x0, y0, x1 - x0, y1 - y0
    return v.filter("drawbox", x=x, y=y, w=w, h=h, color="yellow@0.8", t=max(2, preset.height // 400))


def poster_frame_command(plan: RenderPlan, at: Fraction, output: Path) -> FfmpegCommand | None:
    """One frame of the edit at output time ``at``, framed as the output frames it but without
    burned captions or lower thirds (PNG). None when ``at`` falls on a card (use the card's picture)."""
    timeline, preset = plan.timeline, plan.preset
    for index, seg in enumerate(timeline.segments):
        if not (seg.start <= at < seg.end) or not isinstance(seg, ClipSegment):
            continue
        clip = plan.clip(seg.clip_id)
        offset = at - seg.start
        inp = ffmpeg_python.input(safe_path_arg(clip.path), ss=to_ffmpeg(seg.source_in + offset))
        # t inside the crop expressions counts from the cut's start, as in the render
        v = inp.video.filter("setpts", expr=f"PTS-STARTPTS+{to_ffmpeg(offset)}/TB")
        v = _frame(v, preset, clip, plan.crop_x.get(index), plan.crop_y.get(index))
        out = ffmpeg_python.output(v, safe_path_arg(output), vframes=1, f="image2", **{"c:v": "png"})
        return compile_command(out, [output])
    return None
