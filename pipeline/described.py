"""The described version of a finished output (synstolking, WCAG 2.1 1.2.5 and 1.2.7).

:func:`described_output` makes ``<channel>.synstolket.<ext>`` from a finished output and the lines
:mod:`pipeline.describe` placed: the same picture stream copied (not encoded again: same pictures,
captions burned in, no generation loss, and seconds instead of a render), and a new sound track (the
original mix ducked under the description voice, brought to the channel's loudness target again and
checked).

Extended description: where a line fits no pause (:class:`~pipeline.describe.Hold`), the picture is held
still there. Each hold lies where a segment of the edit begins or ends, and every segment's picture was
encoded as a piece of its own that begins on a key frame (:func:`pipeline.render.picture_pieces`): the
described version plays the pieces the output was just joined from (:class:`~pipeline.stills.JoinedPicture`),
a hold one more piece between them; where the output was not made now, its picture is cut, without
decoding, at the holds. A hold on a card
that stands still (the end card read out at the film's end) is the card's own still GOP, which the output
already has (:mod:`pipeline.stills`), played again, and a run of the frames left over, made as the output's
runs are; any other hold is its frame taken from the output and encoded with the output's own settings
(same size, rate, pixel format, GOP, x264 preset and quality). The parts, the holds and the new sound track
are joined, copied, by one ffmpeg (the concat demuxer). The frame is held as the film shows it (a burned
caption on it stays, and a card with one is held from the output's frame: the picture does not jump when
the film goes on). The
original sound is paused (silence, a short fade either side), the captions' sidecars are written again
for the described version (``<channel>.synstolket.<lang>.<fmt>``) with their times shifted by the holds.

The sound track is encoded in chunks of about 10 s (:data:`CHUNK`, each with :data:`ROLL` more sound
either side, dropped when their packets are joined), kept in the cache by the mix's samples they are made
from, so an edit of the end card encodes again only the chunks around the card (issue 25); each description
line is levelled on its own, so an edit of one line leaves the others' sound as it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import mmap
import shutil
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import pysubs2

from . import __version__
from .cache import Cache
from .cache import key_of as cache_key
from .campaign import Campaign
from .channels import Preset
from .describe import Hold, Placed, described_lines, holds_of, recording, shift, stem, transcripts_of, voice_of
from .encoding import container_format, gop_frames, video_codec_args
from .errors import RenderError
from .ffmpeg import FfmpegCommand, concat_listing, ffmpeg_stamp, run_command
from .files import atomic_path, sha256_file, write_text_atomic, write_text_if_changed
from .job import OutputSpec
from .loudness import ebur128_filter, parse_ebur128, parse_integrated, verify_command
from .probe import frame_identity, sound_identity
from .stills import JoinedPicture, StillCard
from .subtitles import web_page
from .timecode import Time
from .timeline import Timeline
from .transcribe import whisper_language

log = logging.getLogger("rekrutt")

#: When this process started: ``force`` makes again each described sound made before it.
_started = time.time()
#: Seconds over which the original sound goes down under a line, and up after it.
RAMP = 0.2
#: Seconds over which the original sound stops before a hold and starts again after it.
HOLD_FADE = 0.02


def described_name(preset: Preset) -> str:
    return f"{preset.name}.synstolket.{preset.extension}"


def _duck_expression(placed: list[Placed], duck_db: float) -> str:
    """A volume expression: 0 dB, down by ``duck_db`` under each line (with ramps of :data:`RAMP` s)."""
    if not placed:
        return "1"
    terms = []
    for p in placed:
        a, b = float(p.start), float(p.end)
        terms.append(f"clip(min((t-{a - RAMP:.3f})/{RAMP},({b + RAMP:.3f}-t)/{RAMP}),0,1)")
    env = terms[0]
    for t in terms[1:]:
        env = f"max({env},{t})"
    return f"pow(10,{duck_db / 20:.4f}*{env})"


def _layout(preset: Preset) -> str:
    return "pan=5.1|FC=c0" if preset.audio_channels == 6 else "pan=stereo|FL=c0|FR=c0"


def _held_sound(preset: Preset, layout: str, holds: list[Hold]) -> str:
    """A graph that takes ``[0:a]`` and gives ``[orig]``: the original sound with silence where the picture
    holds (a short fade either side), each hold's length to the sample."""
    fmt = f"aformat=sample_fmts=fltp:sample_rates={preset.sample_rate}:channel_layouts={layout}"
    if not holds:
        return f"[0:a]{fmt}[orig]"
    sr = preset.sample_rate
    cuts = [int(h.at * sr + Fraction(1, 2)) for h in holds]
    parts = [f"[0:a]{fmt},asplit={len(holds) + 1}" + "".join(f"[p{i}]" for i in range(len(holds) + 1))]
    order = []
    for i in range(len(holds) + 1):
        lo = cuts[i - 1] if i else 0
        trim = f"atrim=start_sample={lo}" + (f":end_sample={cuts[i]}" if i < len(holds) else "")
        fades = "" if i == 0 else f",afade=t=in:d={HOLD_FADE}"
        if i < len(holds) and cuts[i] - lo > 2 * HOLD_FADE * sr:
            fades += f",afade=t=out:st={(cuts[i] - lo) / sr - HOLD_FADE:.6f}:d={HOLD_FADE}"
        parts.append(f"[p{i}]{trim},asetpts=PTS-STARTPTS{fades}[o{i}]")
        order.append(f"[o{i}]")
        if i < len(holds):
            n = int(holds[i].length * sr + Fraction(1, 2))
            parts.append(f"anullsrc=r={sr}:cl={layout},atrim=end_sample={n},{fmt}[h{i}]")
            order.append(f"[h{i}]")
    parts.append("".join(order) + f"concat=n={len(order)}:v=0:a=1[orig]")
    return ";".join(parts)


def _voice_expression(placed: list[Placed], gains_db: list[float]) -> str:
    """A volume expression for the stem: each fitted line (``placed``, in order) at its own gain, switched in
    the silence half way between two lines (the stem is silent there, so where the switch falls within it
    changes no sample: a line that moves or grows leaves the others' samples as they were)."""
    lines = sorted((p for p in placed if p.fits), key=lambda p: p.start)
    if not lines:
        return "1"
    factors = [f"{10 ** (g / 20):.6f}" for g in gains_db]
    expr = factors[-1]
    for k in range(len(lines) - 2, -1, -1):
        switch = (float(lines[k].end) + float(lines[k + 1].start)) / 2
        expr = f"if(lt(t,{switch:.4f}),{factors[k]},{expr})"
    return expr


def _mix_command(original: Path, stem_wav: Path, placed: list[Placed], duck_db: float, voice_gains_db: list[float],
                 preset: Preset, out: Path) -> FfmpegCommand:
    """The original sound ducked under the description voice (each fitted line at its gain in
    ``voice_gains_db``, in the order of their starts), to raw float samples at ``out``; the same ffmpeg
    measures the mix's integrated loudness on a branch of its own (:func:`~pipeline.loudness.parse_integrated`
    reads it from the stderr): the mix is read once, and no second ffmpeg decodes the wav again (issue 25)."""
    layout = "5.1" if preset.audio_channels == 6 else "stereo"
    graph = (_held_sound(preset, layout, holds_of(placed)) + ";"
             f"[orig]volume='{_duck_expression([p for p in placed if p.fits], duck_db)}':eval=frame[ducked];"
             f"[1:a]aresample={preset.sample_rate},{_layout(preset)},aformat=sample_fmts=fltp:channel_layouts="
             f"{layout},volume='{_voice_expression(placed, voice_gains_db)}':eval=frame[voice];"
             "[ducked][voice]amix=inputs=2:duration=first:normalize=0,asplit=2[mix][measured];"
             f"[measured]{ebur128_filter(true_peak=False)},anullsink")
    return FfmpegCommand(["-y", "-i", str(original), "-i", str(stem_wav), "-/filter_complex",
                          FfmpegCommand.SCRIPT, "-map", "[mix]", "-c:a", "pcm_f32le", "-f", "f32le", str(out)],
                         filter_script=graph, outputs=[out])


def _mix_input(mix: Path, preset: Preset) -> list[str]:
    """The mix as an input: raw 32-bit float samples (:func:`_mix_command`), interleaved, at the channel's rate."""
    layout = "5.1" if preset.audio_channels == 6 else "stereo"
    return ["-f", "f32le", "-ar", str(preset.sample_rate), "-ch_layout", layout, "-i", str(mix)]


# --------------------------------------------------------------------------- the held picture

def split_command(original: Path, times: list[Time], rate: Fraction, preset: Preset, out_dir: Path
                  ) -> FfmpegCommand:
    """The output's picture cut, copied, at each hold's place (a key frame: each segment of the edit begins
    on one) into ``out_dir/part%03d``: the segment muxer cuts at the first key frame at or after each time,
    given half a frame early."""
    args = ["-y", "-i", str(original), "-map", "0:v", "-c", "copy", "-f", "segment",
            "-segment_format", container_format(preset), "-reset_timestamps", "1",
            "-segment_times", ",".join(f"{float(t - 1 / (2 * rate)):.6f}" for t in times)]
    return FfmpegCommand(args + [str(out_dir / f"part%03d.{preset.extension}")], outputs=[])


def hold_command(original: Path, hold: Hold, rate: Fraction, preset: Preset, duration: Time, out: Path,
                 frames: int | None = None) -> FfmpegCommand:
    """One hold's picture: the frame at ``hold.frame`` of the output (decoded as it is, no colour conversion),
    repeated for the hold's frames (or ``frames``) and encoded as the output's own pieces are
    (:func:`video_codec_args`)."""
    return holds_command(original, hold, rate, preset, duration,
                         [(int(hold.length * rate) if frames is None else frames, out)])


def holds_command(original: Path, hold: Hold, rate: Fraction, preset: Preset, duration: Time,
                  outs: list[tuple[int, Path]]) -> FfmpegCommand:
    """Files of one hold's picture (``outs``: frames and file of each) by one ffmpeg, the held frame decoded
    once: each the frame repeated for its frames, encoded with the output's settings."""
    graph = [f"[0:v]trim=end_frame=1,split={len(outs)}" + "".join(f"[f{i}]" for i in range(len(outs)))]
    # an input seek starts at the first frame at or after its time: a quarter of a frame early, to be sure
    args = ["-y", "-ss", f"{float(hold.frame - 1 / (4 * rate)):.6f}", "-i", str(original), "-/filter_complex",
            FfmpegCommand.SCRIPT]
    for i, (frames, out) in enumerate(outs):
        codec = [a for k, v in video_codec_args(preset, rate, duration, frames).items() for a in (f"-{k}", str(v))]
        graph.append(f"[f{i}]tpad=stop={frames - 1}:stop_mode=clone,setpts=N/({rate.numerator}/{rate.denominator})"
                     f"/TB[o{i}]")
        args += ["-map", f"[o{i}]", "-an", "-frames:v", str(frames), "-r", str(rate), "-fps_mode", "cfr", *codec,
                 "-f", container_format(preset), str(out)]
    return FfmpegCommand(args, filter_script=";".join(graph), outputs=[out for _, out in outs])


def _held_stills(original: Path, hold: Hold, timeline: Timeline, preset: Preset, work: Path, name: str,
                 cache: Cache | None) -> list[Path]:
    """One hold's encoded picture, as the files to play in a row (issue 25): one closed GOP of the held frame
    played as often as it fits, then the frames left over; each encoded once (a 3 s hold: 13 + 10 frames
    instead of 75). With a cache, kept there by what the held frame is made from
    (:func:`~pipeline.probe.frame_identity`, read without decoding) and the command: an edit elsewhere in the
    film (a new end card) encodes none of the other holds again, nor a hold that only moved."""
    rate, ext = timeline.rate, "." + preset.extension
    unit = gop_frames(preset, rate)
    times, left = divmod(int(hold.length * rate), unit)
    runs = ([(unit, times)] if times else []) + ([(left, 1)] if left else [])
    what = f"described version's held picture at {float(hold.at):.2f} s ({preset.name})"
    identity = frame_identity(original, hold.frame) if cache is not None else ""
    stills = [work / f"{name}-{k}{ext}" for k in range(len(runs))]
    keys = []
    for (frames, _), still in zip(runs, stills, strict=True):
        cmd = hold_command(original, hold, rate, preset, timeline.duration, still, frames)
        args = [a for a in cmd.args[cmd.args.index("-i") + 2:] if a != str(still)]  # not the seek: the frame's identity
        keys.append(cache_key("held-picture", 3, identity, args, cmd.filter_script, ffmpeg_stamp(), __version__))
    missing = [k for k, key in enumerate(keys) if cache is None or cache.get("held", key) is None]
    if len(missing) > 1:  # the held frame decoded once for all of them
        run_command(holds_command(original, hold, rate, preset, timeline.duration,
                                  [(runs[k][0], stills[k]) for k in missing]), work, what=what)
    out: list[Path] = []
    for k, (frames, repeat) in enumerate(runs):
        def make(path: Path, frames=frames, k=k) -> dict:
            if len(missing) > 1 and k in missing and stills[k].is_file():
                if path != stills[k]:
                    shutil.move(stills[k], path)
            else:
                run_command(hold_command(original, hold, rate, preset, timeline.duration, path, frames), work,
                            what=what)
            return {}

        if cache is None:
            make(stills[k])
            path = stills[k]
        else:
            path, _, _ = cache.file("held", keys[k], ext, make)  # beside the pieces: a GOP, small
        out += [path] * repeat
    return out


def held_picture(original: Path, holds: list[Hold], timeline: Timeline, preset: Preset, work: Path,
                 cache: Cache | None = None, cards: Sequence[StillCard] = (),
                 joined: JoinedPicture | None = None) -> list[Path]:
    """The output's picture with the holds in it, as the files to play in a row (joined by
    :func:`mux_command`), every frame of the output copied (see the module's note). A hold on a card's still
    picture (``cards``: the output's :class:`~pipeline.stills.StillCard`) is that card's still GOP played again
    and a run of the frames left over; any other is its frame taken from the output (:func:`_held_stills`; with
    ``cache``, kept there by the frame it holds)."""
    inner = sorted({h.at for h in holds if 0 < h.at < timeline.duration})
    parts = _picture_parts(original, inner, timeline.rate, preset, work, joined)
    if len(parts) != len(inner) + 1:
        raise RenderError(f"{preset.name}: the picture could not be cut at the holds ({len(parts)} parts for "
                          f"{len(inner)} places): a hold is not on a key frame")
    bounds = [Fraction(0), *inner, timeline.duration]
    listing: list[Path] = []

    def stills(at: Time) -> None:
        for j, h in enumerate(x for x in holds if x.at == at):
            frame = int(h.frame * timeline.rate)
            card = next((c for c in cards if c.shows(frame)), None)
            if card is not None:  # the card's own still picture, encoded once for the output and its holds
                listing.extend(card.held(int(h.length * timeline.rate)))
            else:
                listing.extend(_held_stills(original, h, timeline, preset, work, f"hold-{len(listing):03d}-{j}",
                                            cache))

    stills(bounds[0])
    for i, part in enumerate(parts):
        listing.extend(part)
        stills(bounds[i + 1])
    return listing


def _picture_parts(original: Path, inner: list[Time], rate: Fraction, preset: Preset, work: Path,
                   joined: JoinedPicture | None) -> list[list[Path]]:
    """The output's picture between the holds at ``inner`` (times inside the film), as the files of each part:
    the pieces it was just joined from, where each hold is where a piece begins and every file is still there
    (no copy of the output written: 250 MB for the example's cinema master); else the output cut at the holds."""
    if not inner:
        return [[original]]  # held at the start or the end only: the picture as it is, between the holds
    frames = [t * rate for t in inner]
    if joined is not None and all(f.denominator == 1 for f in frames):
        parts = joined.parts([int(f) for f in frames])
        if parts is not None and all(f.is_file() for part in parts for f in set(part)):
            return parts
    parts_dir = work / "described-parts"
    parts_dir.mkdir(exist_ok=True)
    for old in parts_dir.iterdir():
        old.unlink()
    run_command(split_command(original, inner, rate, preset, parts_dir), work,
                what=f"described version's picture, cut at the holds ({preset.name})")
    return [[part] for part in sorted(parts_dir.glob(f"part*.{preset.extension}"))]


def shifted_captions(record, holds: list[Hold], preset: Preset, out_dir: Path) -> dict[str, str]:
    """The output's caption sidecars again for the described version, their times shifted by the holds
    (``<channel>.synstolket.<lang>.<fmt>``); returns them as manifest extras."""
    out: dict[str, str] = {}
    for key, name in record.extras.items():
        if not key.startswith("captions.") or not (out_dir / name).is_file():
            continue
        subs = pysubs2.load(str(out_dir / name), encoding="utf-8")
        for e in subs.events:
            e.start = int(shift(Fraction(e.start, 1000), holds) * 1000)
            e.end = int(shift(Fraction(e.end, 1000), holds, start=False) * 1000)
        fmt = name.rsplit(".", 1)[-1]
        path = out_dir / f"{preset.name}.synstolket.{name.removeprefix(preset.name + '.')}"
        write_text_atomic(path, subs.to_string(fmt))
        out[f"described_{key}"] = path.name
    return out


def _sound_command(mix: Path, gain_db: float, preset: Preset, duration: Time, out: Path,
                   margin: float = 0.5) -> FfmpegCommand:
    """The described version's sound track alone: the mix at the channel's loudness, true-peak limited,
    to the sample as long as the picture, encoded as the channel's sound (muxed by :func:`mux_command`).

    The same ffmpeg checks what it encoded (issue 25): a loopback decoder (``-dec 0:0``) decodes the
    encoder's packets, the packets the file holds, and ebur128 measures them as
    :func:`~pipeline.loudness.verify_command` measures the file. The decoder gives the AAC encoder's
    padding after the last sample too (the file's edit list leaves it out): the measured branch is cut
    to the track's samples, so it measures the samples a player plays, as the file's decoding does."""
    samples = int(duration * preset.sample_rate + Fraction(1, 2))
    graph = f"[0:a]{_limited(gain_db, preset, margin)},apad,atrim=end_sample={samples}[a]"
    args = ["-y", *_mix_input(mix, preset), "-/filter_complex", FfmpegCommand.SCRIPT, "-map", "[a]",
            *_sound_codec(preset), "-f", container_format(preset), str(out), "-dec", "0:0", "-filter_complex",
             f"[dec:0]atrim=end_sample={samples},{ebur128_filter(true_peak=True)}[checked]",
             "-map", "[checked]", "-f", "null", "-"]
    return FfmpegCommand(args, filter_script=graph, outputs=[out])


def _limited(gain_db: float, preset: Preset, margin: float) -> str:
    """The filters that take the mix to the channel's loudness (``gain_db``) and hold its true peak ``margin``
    dB under the channel's ceiling: a limiter at 192 kHz (4x, where inter-sample peaks show)."""
    ceiling = 10 ** ((preset.true_peak_dbtp - margin) / 20)
    return (f"volume={gain_db:.2f}dB,aresample=192000,alimiter=limit={ceiling:.5f}:attack=1:release=60:level=0:"
            f"latency=1,aresample={preset.sample_rate},asetpts=N/SR/TB")


def _sound_codec(preset: Preset) -> list[str]:
    args = ["-c:a", preset.audio_codec, "-ar", str(preset.sample_rate), "-ac", str(preset.audio_channels)]
    return args + (["-b:a", f"{preset.audio_kbps}k"] if preset.audio_kbps else [])


# --------------------------------------------------------------------------- the track in chunks (issue 25)

#: A described track is encoded in chunks of this many samples (about 10 s at 48 kHz; a whole number of AAC's
#: 1024-sample frames), kept in the cache by the mix's samples they are made from: an edit of the end card
#: encodes again only the chunks whose sound changed (the three sound groups' whole tracks were a third of an
#: end-card edit's CPU).
CHUNK = 1024 * 470
#: Samples encoded before and after each chunk's own span and dropped when the chunks' packets are joined
#: (about 2 s). AAC's windows overlap their neighbours by 1024 samples, so at each join the decoder overlaps
#: two frames each encoded from the same sound on both sides, as inside one encode; but a fresh AAC encoder
#: codes its first second or so worse (its rate control settles): JFK's speech, limited, encoded whole is
#: 53.8 dB under its difference from the sound; in chunks of 5 s with 0.5 s either side 46.6 dB, of 10 s with
#: 0.5 s 51.1 dB, with 2 s 53.1 dB (the example's described sound: 33.1 dB each way). The limiter's release
#: (60 ms) has long died away; the cinema's PCM joins to the sample, one encode's samples.
ROLL = 1024 * 96
#: Bump when a chunk's making changes.
CHUNK_VERSION = 1


def chunked(preset: Preset) -> bool:
    """Whether a channel's described track is made in chunks: AAC, whose packets are each 1024 samples, and
    PCM, cut into packets of 1024 samples to join at (any other codec is encoded whole)."""
    return preset.audio_codec == "aac" or preset.audio_codec.startswith("pcm_")


def chunk_spans(samples: int) -> list[tuple[int, int, int, int]]:
    """The chunks of a track of ``samples`` samples: (lo, hi) each chunk's own span, (a, b) what is encoded
    for it (:data:`ROLL` more either side, within the track)."""
    bounds = [*range(0, samples, CHUNK), samples]
    return [(lo, hi, max(0, lo - ROLL), min(samples, hi + ROLL)) for lo, hi in itertools.pairwise(bounds)]


def chunks_command(mix: Path, gain_db: float, preset: Preset, spans: list[tuple[int, int]], outs: list[Path],
                   margin: float = 0.5) -> FfmpegCommand:
    """The chunks at ``spans`` ((a, b): sample ranges of the track) in one ffmpeg, the mix read once: each range
    of the mix (silence past its end) limited as the whole track is (:func:`_limited`) and encoded alone."""
    graph = [f"[0:a]asplit={len(spans)}" + "".join(f"[m{i}]" for i in range(len(spans)))]
    args = ["-y", *_mix_input(mix, preset), "-/filter_complex", FfmpegCommand.SCRIPT]
    for i, ((a, b), out) in enumerate(zip(spans, outs, strict=True)):
        packets = ",asetnsamples=n=1024:p=0" if preset.audio_codec.startswith("pcm_") else ""
        graph.append(f"[m{i}]atrim=start_sample={a}:end_sample={b},asetpts=N/SR/TB,"
                     f"{_limited(gain_db, preset, margin)},apad,atrim=end_sample={b - a}{packets}[c{i}]")
        args += ["-map", f"[c{i}]", *_sound_codec(preset), "-f", container_format(preset), str(out)]
    return FfmpegCommand(args, filter_script=";".join(graph), outputs=list(outs))


def join_chunks(parts: list[tuple[Path, int, int, int]], out: Path, fmt: str) -> None:
    """The chunks' packets as one track at ``out`` (``parts``: each chunk's file, the first sample it was
    encoded from, and its own span): from each chunk the packets that begin in its span, the first chunk's
    priming packet too, copied with their times on the track's timeline (PyAV: ffmpeg's concat demuxer
    cannot drop a file's packets to the sample)."""
    import av

    with av.open(str(out), "w", format=fmt) as joined:
        stream = None
        for k, (path, a, lo, hi) in enumerate(parts):
            with av.open(str(path)) as chunk:
                source = chunk.streams.audio[0]
                if source.time_base != Fraction(1, source.rate):
                    raise RenderError(f"{path.name}: its sound's time base is {source.time_base}, not one sample "
                                      f"(1/{source.rate}): its packets cannot be joined to the sample")
                if stream is None:
                    stream = joined.add_stream_from_template(source)
                for packet in chunk.demux(source):
                    if packet.pts is None:
                        continue
                    at = packet.pts + a
                    if (k and at < lo) or at >= hi:
                        continue
                    packet.pts = packet.dts = at
                    packet.stream = stream
                    joined.mux(packet)


def _chunked_track(mix: Path, gain_db: float, preset: Preset, duration: Time, work: Path, out: Path,
                   margin: float, cache: Cache | None, made_since: float | None = None) -> None:
    """The described track at ``out`` from its chunks (each made where the cache has it not, all those in one
    ffmpeg; ``made_since``: each made again), joined packet for packet."""
    samples = int(duration * preset.sample_rate + Fraction(1, 2))
    spans = chunk_spans(samples)
    size = 4 * preset.audio_channels
    if mix.stat().st_size < size:
        raise RenderError(f"{preset.name}: the described version's mix {mix} holds no sound")
    with mix.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data, memoryview(data) as view:
        # hashed where it lies (no copy of the mix: 54 MB for the cinema's 5.1)
        digests = [hashlib.sha256(view[a * size: b * size]).hexdigest() for _, _, a, b in spans]
    keys = [cache_key("described-chunk", CHUNK_VERSION, digest, b - a, f"{gain_db:.2f}", margin, _sound_codec(preset),
                      preset.true_peak_dbtp, ROLL, ffmpeg_stamp(), __version__)
            for digest, (_, _, a, b) in zip(digests, spans, strict=True)]
    ext = "." + preset.extension
    files = [work / f"described-chunk-{k:03d}{ext}" for k in range(len(spans))]
    what = f"described version's sound ({preset.name})"

    def encode(ks: list[int]) -> None:
        run_command(chunks_command(mix, gain_db, preset, [spans[k][2:] for k in ks], [files[k] for k in ks],
                                   margin), work, what=what)

    missing = [k for k, key in enumerate(keys)
               if cache is None or made_since is not None or cache.get("described-chunk", key) is None]
    if missing:
        encode(missing)
    paths = files
    if cache is not None:
        def keep(k: int) -> Callable[[Path], dict]:
            def make(path: Path) -> dict:
                if not files[k].is_file():  # its entry was there, its file not: made alone
                    encode([k])
                shutil.move(files[k], path)
                return {}
            return make

        paths = [cache.file("described-chunk", key, ext, keep(k), made_since=made_since)[0]
                 for k, key in enumerate(keys)]
    join_chunks([(path, a, lo, hi) for path, (lo, hi, a, _) in zip(paths, spans, strict=True)], out,
                container_format(preset))

def mux_command(pictures: list[Path], sound: Path, preset: Preset, out: Path) -> FfmpegCommand:
    """The described version in one ffmpeg: its picture's files (:func:`held_picture`; the output itself where
    nothing holds) joined by the concat demuxer, and its sound track, all copied (nothing encoded)."""
    if len(pictures) == 1:
        args, listing = ["-y", "-i", str(pictures[0])], ""
    else:
        args, listing = ["-y", "-f", "concat", "-safe", "0", "-i", FfmpegCommand.LISTING], concat_listing(pictures)
    args += ["-i", str(sound), "-map", "0:v", "-map", "1:a", "-c", "copy",
             "-metadata", "title=Synstolket versjon", "-metadata:s:a:0", "language=nor",
             "-metadata:s:a:0", "title=Lyd med synstolking"]
    if preset.extension == "mp4":
        args += ["-movflags", "+faststart"]
    return FfmpegCommand(args + ["-f", container_format(preset), str(out)], outputs=[out], listing=listing)


#: Bump when the described sound's making changes (its cached tracks are then made anew).
SOUND_VERSION = 2


def sound_key(audio_md5: str, stem_sha: str, placed: list[Placed], duck_db: float, source_lufs: float,
              preset: Preset, duration: Time) -> str:
    """What a described sound track is made from (issue 25): the output's sound by its packets, the
    description stem by its content, where the lines duck it and where the picture holds, and the
    channel's sound settings. Outputs that share a sound (YouTube, Facebook, Reels …) share its track,
    and an edit that leaves an output's sound and stem as they were makes none."""
    fits = [(str(p.start), str(p.end)) for p in placed if p.fits]
    holds = [(str(h.at), str(h.length)) for h in holds_of(placed)]
    settings = [preset.sample_rate, preset.audio_channels, preset.audio_codec, preset.audio_kbps,
                preset.loudness_lufs, preset.true_peak_dbtp, preset.extension]
    return cache_key("described-sound", SOUND_VERSION, audio_md5, stem_sha, fits, holds, duck_db, source_lufs,
                     settings, str(duration), RAMP, HOLD_FADE, ffmpeg_stamp(), __version__)


def _make_sound(original: Path, stem_wav: Path, placed: list[Placed], duck_db: float, source_lufs: float,
                preset: Preset, duration: Time, work: Path, out: Path, cache: Cache | None = None,
                made_since: float | None = None) -> dict:
    """The described sound track at ``out`` (the mix, brought to the channel's loudness, limited, checked);
    returns its measured loudness. Two ffmpeg runs, one more for each line not measured before (issue 25): the
    mix with its loudness, and the track with its check (again with a bigger margin where its true peak
    is over the ceiling). An AAC or PCM track is made in chunks (:func:`_chunked_track`, kept in the cache by
    the mix's samples) and checked by a third run that decodes the joined file, as a player does.

    The gain is in steps of 0.1 dB: the mix's loudness is read from ebur128's summary, which gives it to a
    tenth of a LU, so a small edit (a card's date) leaves the gain, and every chunk it did not touch, as
    it was."""
    gains = [(source_lufs - level) if level > -70 else 0.0
             for level in line_levels(stem_wav, placed, work, preset, cache)]
    mix = work / "described-mix.f32"
    mixed = run_command(_mix_command(original, stem_wav, placed, duck_db, gains, preset, mix),
                        work, what=f"described sound ({preset.name})")
    gain = preset.loudness_lufs - parse_integrated(mixed)
    for margin in (0.5, 1.5):
        if chunked(preset):
            _chunked_track(mix, gain, preset, duration, work, out, margin, cache, made_since)
            measured = run_command(verify_command(out), work, what=f"described version's check ({preset.name})")
        else:
            measured = run_command(_sound_command(mix, gain, preset, duration, out, margin), work,
                                   what=f"described version's sound ({preset.name})")
        verified = parse_ebur128(measured)
        if verified.true_peak <= preset.true_peak_dbtp + 0.05:
            return {"integrated": verified.integrated, "true_peak": verified.true_peak}
    raise RenderError(f"{preset.name}: the described version's true peak is {verified.true_peak:.2f} dBTP, "
                      f"over the {preset.true_peak_dbtp:g} dBTP ceiling")


def line_levels(stem_wav: Path, placed: list[Placed], work: Path, preset: Preset, cache: Cache | None = None
                ) -> list[float]:
    """Each fitted line's integrated loudness (LUFS), in the order of their starts, measured on its own samples
    in the stem (its true peak is never read, so not measured). Each line is brought to the speech's loudness
    on its own: a recorded line and a synthetic one sound alike, and an edit of one line (the end card's date)
    changes no other line's level, so the sound it did not touch stays as it was. With a cache, kept there by
    the line's samples: the outputs' sound groups, and a render after an edit, measure only what is new."""
    import wave

    import numpy as np

    from .voice import write_wav

    with wave.open(str(stem_wav), "rb") as w:
        rate, data = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    levels = []
    for p in sorted((p for p in placed if p.fits), key=lambda p: p.start):
        at = int(float(p.start) * rate)  # where :func:`~pipeline.describe.stem` put it
        piece = data[at: at + round(float(p.length) * rate)]
        digest = hashlib.sha256(piece.tobytes()).hexdigest()

        def measure(piece=piece, digest=digest) -> float:
            path = write_wav(work / f"description-line-{digest[:16]}.wav", piece, rate)
            try:
                return parse_integrated(run_command(verify_command(path, true_peak=False), work,
                                                    what=f"description voice ({preset.name})"))
            finally:
                path.unlink(missing_ok=True)

        if cache is None:
            levels.append(measure())
        else:
            key = cache_key("line-loudness", 1, digest, rate, ebur128_filter(true_peak=False), ffmpeg_stamp())
            levels.append(cache.get_or_make("line-loudness", key, measure, encode=float, decode=float))
    return levels


def described_sound(original: Path, stem_wav: Path, placed: list[Placed], duck_db: float, source_lufs: float,
                    preset: Preset, duration: Time, work: Path, cache: Cache | None = None,
                    force: bool = False) -> tuple[Path, float]:
    """The described version's sound track and its integrated loudness; with a cache, kept there by
    :func:`sound_key`, so outputs with the same sound make it once (``force``: made again)."""
    def made(tmp):
        return _make_sound(original, stem_wav, placed, duck_db, source_lufs, preset, duration, work, tmp, cache,
                           _started if force else None)

    if cache is None:
        out = work / f"described-sound.{preset.extension}"
        return out, made(out)["integrated"]
    key = sound_key(sound_identity(original), sha256_file(stem_wav), placed, duck_db, source_lufs, preset, duration)
    path, facts, _ = cache.file("described-sound", key, "." + preset.extension, made,
                                made_since=_started if force else None)
    return path, facts["integrated"]



def on_original(placed: list[Placed], holds: list[Hold], duration: Time) -> list[tuple[Time, Time, str]]:
    """Each spoken line as (start, end, text) on the original's timeline, for its descriptions track.

    A line's times are on the described version's timeline, later by the holds before it (the
    career page's switch maps them the same way). A line spoken in a hold takes no time of the
    original, so its cue starts where the picture holds and lasts as long as the line is spoken,
    within the time its item (the person's shot, the card) is on screen."""
    spans = sorted((h.at, h.length) for h in holds)

    def original(d: Time) -> Time:
        before = Fraction(0)
        for at, length in spans:
            start = at + before
            if d < start:
                break
            if d < start + length:
                return at
            before += length
        return d - before

    cues = []
    for p in placed:
        if not p.fits:
            continue
        start, end = original(p.start), original(p.end)
        if end - start < p.length:
            lo, hi = min(p.line.window[0], start), max(p.line.window[1], end)
            end = min(start + p.length, hi, duration)
            start = max(lo, min(start, end - p.length))
        cues.append((start, end, p.line.text))
    return cues


def write_vtt(cues: list[tuple[Time, Time, str]], path: Path) -> Path:
    """A WebVTT ``kind="descriptions"`` track: one cue per spoken line."""
    subs = pysubs2.SSAFile()
    for start, end, text in cues:
        subs.append(pysubs2.SSAEvent(start=int(float(start) * 1000), end=int(float(end) * 1000), text=text))
    write_text_atomic(path, subs.to_string("vtt"))
    return path


def key_of(campaign: Campaign, placed: list[Placed], source_sha: str, preset: Preset) -> str:
    """What a described version is made from: the output, the placed lines, the voice and its recordings."""
    recs = {p.line.id: sha256_file(recording(campaign, p.line.id)) for p in placed if p.recorded}
    data = {"source": source_sha, "lines": [p.as_dict() for p in placed if p.fits], "voice": str(voice_of(campaign)),
            "duck": campaign.spec.synstolking.duck, "recorded": recs, "preset": preset.name, "v": 3}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def described_output(campaign: Campaign, preset: Preset, timeline: Timeline, record, transcripts: dict,
                     work: Path, *, force: bool = False, cache: Cache | None = None,
                     cards: Callable[[], Sequence[StillCard]] | None = None,
                     joined: JoinedPicture | None = None):
    """The described version of a finished output (see the module's note), with its VTT on web; returns the
    output's record with the described files and the description lines (on the output's timeline) added.
    ``cards`` gives where the output's cards stand still (:func:`pipeline.output.still_cards`): a hold there
    plays the card's GOP again; ``joined``: the files the output was just joined from, played again. Left as
    it is where the channel's mode is not ``version`` or the file is a draft."""
    mode = campaign.spec.synstolking.mode_for(preset.name)
    if mode != "version" or campaign.draft:
        return record
    out_dir = campaign.out_dir
    placed, voices = described_lines(campaign, timeline, transcripts, preset.name, work, cache)
    holds = holds_of(placed)
    duration = timeline.duration + sum((h.length for h in holds), Fraction(0))
    for p in placed:
        if not p.fits:
            log.warning("%s: the description line '%s' (%.1f s) fits no pause (the longest there is %.1f s); "
                        "it is left out of the described version", preset.name, p.line.id, float(p.length),
                        float(p.slot))
    key = key_of(campaign, placed, record.sha256, preset)
    final = out_dir / described_name(preset)
    extras = dict(record.extras)
    lines = [p.as_dict() for p in placed if p.fits]
    if not force and record.described_key == key and final.is_file():
        write_web_page(out_dir, preset, record.extras, holds)  # the captions' sidecars may have written it again
        return record
    stem_wav = stem(placed, voices, duration, work / "description-stem.wav")
    original = out_dir / record.path
    pictures = held_picture(original, holds, timeline, preset, work, cache, cards() if cards else (), joined) \
        if holds else [original]
    sound, integrated = described_sound(original, stem_wav, placed, campaign.spec.synstolking.duck,
                                        record.loudness_lufs, preset, duration, work, cache, force)
    with atomic_path(final) as tmp:
        run_command(mux_command(pictures, sound, preset, tmp), work, what=f"described version ({preset.name})")
    extras = {k: v for k, v in extras.items() if not k.startswith("described_captions.")}
    extras["described"] = final.name  # extras are files: an unchanged output checks each is there
    if holds:
        extras.update(shifted_captions(record, holds, preset, out_dir))
        log.info("%s: the picture held %d time(s), %.1f s in all, for line(s) that fit no pause", preset.name,
                 len(holds), float(duration - timeline.duration))
    if preset.name == "web":
        # one descriptions track per video, each on its own timeline: the original's (its cues where
        # each thing is seen), and the described version's (where each line is spoken); the page's
        # Synstolking switch changes the one with the other
        tag = _tag(campaign.spec.language)
        vtt = write_vtt(on_original(placed, holds, timeline.duration),
                        out_dir / f"{preset.name}.{tag}.descriptions.vtt")
        extras["descriptions_vtt"] = vtt.name
        spoken = [(p.start, p.end, p.line.text) for p in placed if p.fits]
        extras["described_descriptions_vtt"] = write_vtt(
            spoken, out_dir / f"{preset.name}.synstolket.{tag}.descriptions.vtt").name
    _add_to_publish_sheet(out_dir, preset, final.name, extras.get("descriptions_vtt"),
                          extras.get("described_descriptions_vtt"))
    write_web_page(out_dir, preset, extras, holds)
    log.info("%s: described version %s (%d line(s), %.1f LUFS)", preset.name, final.name, len(lines),
             integrated)
    return dataclasses.replace(record, extras=extras, descriptions=lines,
                               described_loudness_lufs=integrated, described_key=key)


def write_web_page(out_dir: Path, preset: Preset, extras: dict[str, str], holds: list[Hold]) -> None:
    """The career page (``web.html``, where the captions wrote one) again, with its "Synstolking" switch to the
    described version (:func:`~pipeline.subtitles.web_page`)."""
    if "html" not in extras or "described" not in extras:
        return
    langs = [k.split(".")[1] for k in extras if k.startswith("captions.") and k.endswith(".vtt")]
    shifted = {k.split(".")[1]: v for k, v in extras.items()
               if k.startswith("described_captions.") and k.endswith(".vtt")}
    write_text_if_changed(out_dir / extras["html"], web_page(
        preset, langs, described=extras["described"], described_captions=shifted,
        descriptions=extras.get("descriptions_vtt"), described_descriptions=extras.get("described_descriptions_vtt"),
        holds=[(h.at, h.length) for h in holds]))


def _tag(code: str) -> str:
    """The language tag of file names (as the captions' files: Norwegian bokmål is ``nb``)."""
    lang = whisper_language(code)
    return {"no": "nb"}.get(lang, lang)


def _add_to_publish_sheet(out_dir: Path, preset: Preset, video: str, vtt: str | None,
                          described_vtt: str | None = None) -> None:
    sheet = out_dir / f"{preset.name}.publish.md"
    if not sheet.is_file():
        return
    text = sheet.read_text(encoding="utf-8")
    line = (f"- Synstolket versjon (WCAG 1.2.5): `{video}` — post it as well, as its own video titled "
            "\"… (synstolket)\", or as the platform's audio description track where it takes one; link to it from "
            "the original's description.")
    if vtt:
        line += f" On the web page, add `{vtt}` as `<track kind=\"descriptions\" srclang=\"nb\">`"
        line += f" to the original (and `{described_vtt}` to the described version)." if described_vtt else "."
    if line not in text:
        head, sep, rest = text.partition("\n## Description")
        write_text_atomic(sheet, head.rstrip("\n") + "\n" + line + "\n" + sep + rest)


def describe_output(output: OutputSpec, work: Path, record, captions=None, *, force: bool = False,
                    cache: Cache | None = None, cards: Callable[[], Sequence[StillCard]] | None = None,
                    joined: JoinedPicture | None = None):
    """:func:`described_output` for one planned output, with the transcripts its captions were made from."""
    return described_output(output.edition, output.preset, output.timeline, record,
                            transcripts_of(output.edition, captions), work, force=force, cache=cache, cards=cards,
                            joined=joined)


