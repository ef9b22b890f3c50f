"""The described version's sound track (synstolking, WCAG 2.1 1.2.5): the output's sound ducked under the
description voice, brought to the channel's loudness again, limited and checked (:func:`described_sound`).

Each description line is levelled on its own (:func:`line_levels`): a recorded line and a synthetic one
sound alike, and an edit of one line leaves the others' sound as it was. Where the picture holds
(:class:`~pipeline.describe.Hold`), the original sound pauses (silence, a short fade either side).

The track is encoded in chunks of about 10 s (:data:`CHUNK`, each with :data:`ROLL` more sound either side,
dropped when their packets are joined by :func:`join_chunks`), kept in the cache by the mix's samples they
are made from, so an edit of the end card encodes again only the chunks around the card (issue 25).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import mmap
import shutil
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from . import __version__
from .cache import Cache
from .cache import key_of as cache_key
from .channels import Preset
from .describe import Hold, Placed, holds_of
from .encoding import audio_codec_argv, container_format, true_peak_margin
from .errors import RenderError
from .ffmpeg import FfmpegCommand, ffmpeg_stamp, run_command
from .files import sha256_file
from .loudness import ebur128_filter, parse_ebur128, parse_integrated, verify_command
from .probe import sound_identity
from .timecode import Time

log = logging.getLogger(__name__)

#: When this process started: ``force`` makes again each described sound made before it.
_started = time.time()
#: How far (LU) a described track's measured loudness may be from the channel's target before it is made again
#: at a corrected gain: EBU R 128's tolerance for a programme's loudness.
LOUDNESS_TOLERANCE = 0.5
#: At most this many measurements of the limited mix's loudness before it is encoded: each corrects the gain by
#: what is missing, and the louder the mix, the more the limiter takes again.
ESTIMATES = 3

#: Seconds over which the original sound goes down under a line, and up after it.
RAMP = 0.2
#: Seconds over which the original sound stops before a hold and starts again after it.
HOLD_FADE = 0.02


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
    layout = _mix_layout(preset)
    graph = (_held_sound(preset, layout, holds_of(placed)) + ";"
             f"[orig]volume='{_duck_expression([p for p in placed if p.fits], duck_db)}':eval=frame[ducked];"
             f"[1:a]aresample={preset.sample_rate},{_layout(preset)},aformat=sample_fmts=fltp:channel_layouts="
             f"{layout},volume='{_voice_expression(placed, voice_gains_db)}':eval=frame[voice];"
             "[ducked][voice]amix=inputs=2:duration=first:normalize=0,asplit=2[mix][measured];"
             f"[measured]{ebur128_filter(true_peak=False)},anullsink")
    return FfmpegCommand(["-y", "-i", str(original), "-i", str(stem_wav), "-/filter_complex",
                          FfmpegCommand.SCRIPT, "-map", "[mix]", "-c:a", "pcm_f32le", "-f", "f32le", str(out)],
                         filter_script=graph, outputs=[out])


def _mix_layout(preset: Preset) -> str:
    """The mix's channel layout: 5.1 for a 5.1 channel, else stereo."""
    return "5.1" if preset.audio_channels == 6 else "stereo"


def _mix_input(mix: Path, preset: Preset) -> list[str]:
    """The mix as an input: raw 32-bit float samples (:func:`_mix_command`), interleaved, at the channel's rate."""
    layout = _mix_layout(preset)
    return ["-f", "f32le", "-ar", str(preset.sample_rate), "-ch_layout", layout, "-i", str(mix)]


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
            *audio_codec_argv(preset), "-f", container_format(preset), str(out), "-dec", "0:0", "-filter_complex",
             f"[dec:0]atrim=end_sample={samples},{ebur128_filter(true_peak=True)}[checked]",
             "-map", "[checked]", "-f", "null", "-"]
    return FfmpegCommand(args, filter_script=graph, outputs=[out])


def _limited(gain_db: float, preset: Preset, margin: float, oversampled: bool = True) -> str:
    """The filters that take the mix to the channel's loudness (``gain_db``) and hold its true peak ``margin``
    dB under the channel's ceiling: a limiter at 192 kHz (4x, where inter-sample peaks show; ``oversampled``
    False: at the mix's rate, for :func:`_limited_loudness_command`'s estimate)."""
    ceiling = 10 ** ((preset.true_peak_dbtp - margin) / 20)
    limiter = f"alimiter=limit={ceiling:.5f}:attack=1:release=60:level=0:latency=1"
    if not oversampled:
        return f"volume={gain_db:.2f}dB,{limiter}"
    return f"volume={gain_db:.2f}dB,aresample=192000,{limiter},aresample={preset.sample_rate},asetpts=N/SR/TB"


def _limited_loudness_command(mix: Path, gain_db: float, preset: Preset, margin: float) -> FfmpegCommand:
    """The mix's loudness after the gain and the limiter, measured without encoding, the limiter at the mix's
    rate: on the example's described tracks within 0.1 LU of the 192 kHz one's at 0, 2 and 4 dB over its
    gain, in a quarter of its time (0.14 s against 0.55 s for 34 s of stereo)."""
    return FfmpegCommand(["-y", *_mix_input(mix, preset), "-af",
                          f"{_limited(gain_db, preset, margin, oversampled=False)},{ebur128_filter(true_peak=False)}",
                          "-f", "null", "-"])


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
        args += ["-map", f"[c{i}]", *audio_codec_argv(preset), "-f", container_format(preset), str(out)]
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
    size = 4 * {"5.1": 6, "stereo": 2}[_mix_layout(preset)]  # bytes of one of the mix's samples
    if mix.stat().st_size < size:
        raise RenderError(f"{preset.name}: the described version's mix {mix} holds no sound")
    with mix.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data, memoryview(data) as view:
        # hashed where it lies (no copy of the mix: 54 MB for the cinema's 5.1)
        digests = [hashlib.sha256(view[a * size: b * size]).hexdigest() for _, _, a, b in spans]
    keys = [cache_key("described-chunk", CHUNK_VERSION, digest, b - a, f"{gain_db:.2f}", margin,
                      audio_codec_argv(preset), preset.true_peak_dbtp, ROLL, ffmpeg_stamp(), __version__)
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
#: Bump when the described sound's making changes (its cached tracks are then made anew).
SOUND_VERSION = 5  # 3: AAC's fast coder (encoding.AAC_CODER); 4, 5: the gain corrected after the limiter


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
    returns its measured loudness. Three ffmpeg runs, one more for each line not measured before (issue 25):
    the mix with its loudness, its loudness after the limiter (the gain corrected by what the limiter takes,
    where that is over :data:`LOUDNESS_TOLERANCE`), and the track with its check (again with a bigger margin
    where its true peak is over the ceiling, and once more at a corrected gain where its loudness is still
    off by more than the tolerance). An AAC or PCM track is made in chunks (:func:`_chunked_track`, kept in
    the cache by the mix's samples) and checked by a fourth run that decodes
    the joined file, as a player does.

    The gain is in steps of 0.1 dB: the mix's loudness is read from ebur128's summary, which gives it to a
    tenth of a LU, so a small edit (a card's date) leaves the gain, and every chunk it did not touch, as
    it was."""
    gains = [(source_lufs - level) if level > -70 else 0.0
             for level in line_levels(stem_wav, placed, work, preset, cache)]
    mix = work / "described-mix.f32"
    mixed = run_command(_mix_command(original, stem_wav, placed, duck_db, gains, preset, mix),
                        work, what=f"described sound ({preset.name})")
    gain = preset.loudness_lufs - parse_integrated(mixed)
    margin, corrected = true_peak_margin(preset), False
    # the limiter takes loudness with the peaks: where it takes more than the tolerance, the gain is
    # corrected before anything is encoded (the check below corrects it once more where this missed)
    tried: list[tuple[float, float]] = []  # (gain, loudness after the limiter)
    for _ in range(ESTIMATES):
        estimate = parse_integrated(run_command(_limited_loudness_command(mix, gain, preset, margin), work,
                                                what=f"described sound's loudness ({preset.name})"))
        log.debug("%s: described sound at %+.1f dB measures %.1f LUFS after the limiter", preset.name, gain,
                  estimate)
        off = preset.loudness_lufs - estimate
        if abs(off) <= LOUDNESS_TOLERANCE or estimate <= -70:
            break
        tried.append((gain, estimate))
        # a LU a dB at first; then as much as the last two gains moved it (the louder, the more is taken)
        slope = 1.0
        if len(tried) > 1 and tried[-1][0] != tried[-2][0]:
            slope = min(1.0, max(0.2, (tried[-1][1] - tried[-2][1]) / (tried[-1][0] - tried[-2][0])))
        gain = round(gain + off / slope, 1)
    for _ in range(4):  # at most once further under the ceiling, and once at a corrected gain
        if chunked(preset):
            _chunked_track(mix, gain, preset, duration, work, out, margin, cache, made_since)
            measured = run_command(verify_command(out), work, what=f"described version's check ({preset.name})")
        else:
            measured = run_command(_sound_command(mix, gain, preset, duration, out, margin), work,
                                   what=f"described version's sound ({preset.name})")
        verified = parse_ebur128(measured)
        off = preset.loudness_lufs - verified.integrated
        if verified.true_peak > preset.true_peak_dbtp + 0.05:
            if margin > true_peak_margin(preset):
                break
            margin += 1.0
        elif abs(off) > LOUDNESS_TOLERANCE and verified.integrated > -70 and not corrected:
            # the limiter took the peaks after the gain was set, and loudness with them: once more, louder by
            # what is missing (in the same 0.1 dB steps, so an edit that leaves the loudness finds the same gain)
            gain, corrected = round(gain + off, 1), True
        else:
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
