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

The sound track is :mod:`pipeline.describedsound`'s.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
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
from .describedsound import described_sound
from .encoding import container_format, gop_frames, video_codec_args
from .errors import RenderError
from .ffmpeg import FfmpegCommand, concat_listing, ffmpeg_stamp, run_command
from .files import atomic_path, sha256_file, write_text_atomic, write_text_if_changed
from .job import OutputSpec
from .probe import frame_identity
from .stills import JoinedPicture, StillCard
from .subtitles import web_page
from .timecode import Time
from .timeline import Timeline
from .transcribe import whisper_language

log = logging.getLogger("rekrutt")



def described_name(preset: Preset) -> str:
    return f"{preset.name}.synstolket.{preset.extension}"


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


