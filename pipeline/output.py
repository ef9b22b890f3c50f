"""Making one output: a channel's version of a campaign, from its timeline to a verified file.

:func:`make_output` draws the cards, builds the captions, reframing crops, lower
thirds and music bed, and checks the output's fingerprint against the last
manifest: an output whose inputs did not change is not made again. Otherwise it
measures loudness (cached), renders into a temporary file, verifies it (probe and
ebur128), takes the poster, writes caption sidecars and the publish sheet, and
renames the file into place. :mod:`pipeline.jobs` runs many of these.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

from . import __version__
from . import ffmpeg as ff
from .cache import Cache, file_digest, key_of
from .cards import card_name, card_png, poster_with_title
from .channels import Preset
from .files import atomic_path, sha256_file, write_text_atomic
from .loudness import Measured, parse_ebur128, parse_loudnorm
from .probe import probe
from .render import (
    FfmpegCommand,
    MusicBed,
    file_loudness_command,
    measure_command,
    poster_command,
    render_command,
    verify_command,
)
from .spec import Campaign
from .timeline import CardSegment, ClipSegment, Timeline

log = logging.getLogger("rekrutt")


@dataclass(frozen=True)
class OutputRecord:
    """One finished output, as the manifest lists it."""

    channel: str
    path: str  #: relative to the campaign's output folder
    width: int
    height: int
    fps: str  #: exact rate, e.g. "25" or "30000/1001"
    duration: float  #: seconds
    size: int  #: bytes
    sha256: str
    loudness_lufs: float  #: measured integrated loudness of the file
    true_peak_dbtp: float  #: measured true peak
    loudness_target_lufs: float
    video_codec: str
    audio_codec: str
    audio_channels: int
    extras: dict[str, str] = field(default_factory=dict)  #: other files made for this channel (poster, captions)
    captions_burned: str = ""  #: language tag of the captions burned into the picture ('' for none)
    fingerprint: str = ""  #: hash of everything the output was made from


def run_command(cmd: FfmpegCommand, work: Path, *, what: str, duration: float | None = None,
                progress: ff.ProgressCallback | None = None) -> str:
    """Write the command's filter script (if any) into ``work`` and run it through the one runner."""
    script = None
    if cmd.filter_script:
        fd, name = tempfile.mkstemp(prefix="graph-", suffix=".txt", dir=work)
        script = Path(name)
        with open(fd, "w", encoding="utf-8") as f:
            f.write(cmd.filter_script)
    return ff.run(cmd.argv(ff.ffmpeg_exe(), script), what=what, duration=duration, progress=progress)


def edit_signature(campaign: Campaign, timeline: Timeline) -> list:
    """What the edit is made of, by content: clip digests, cut points and frame counts, card specs."""
    sig: list = [str(timeline.rate)]
    for seg in timeline.segments:
        if isinstance(seg, ClipSegment):
            sig.append(["clip", file_digest(campaign.clip_source(seg.clip_id)), str(seg.source_in), seg.frame_count])
        else:
            assert isinstance(seg, CardSegment)
            sig.append(["card", seg.card.model_dump(mode="json"), seg.frame_count])
    return sig


def _measure(campaign: Campaign, cache: Cache, timeline: Timeline, preset: Preset, work: Path,
             music: MusicBed | None = None) -> Measured:
    """The edit's loudness for this layout and target (cached by the edit's content)."""
    key = key_of("loudness", edit_signature(campaign, timeline), preset.audio_channels, preset.loudness_lufs,
                 preset.true_peak_dbtp, _music_signature(music))

    def make() -> Measured:
        stderr = run_command(measure_command(campaign, timeline, preset, music), work,
                             what=f"loudness measurement ({preset.name})")
        return parse_loudnorm(stderr)

    return cache.get_or_make("loudness", key, make, encode=asdict, decode=lambda d: Measured(**d))


def _music_signature(music: MusicBed | None) -> list | None:
    if music is None:
        return None
    return [file_digest(music.source), round(music.gain_db, 2), str(music.fade_in), str(music.fade_out), music.duck]


def _music_bed(campaign: Campaign, cache: Cache, timeline: Timeline, preset: Preset, work: Path) -> MusicBed | None:
    """The spec's music, with the gain that sets it ``level`` LU against the speech (both measured)."""
    spec = campaign.spec.music
    if spec is None:
        return None
    source = campaign.resolve(spec.source)
    voice = _measure(campaign, cache, timeline, preset.with_overrides(audio_channels=2), work)
    key = key_of("music-loudness", file_digest(source))
    music = cache.get_or_make("loudness", key, lambda: parse_loudnorm(run_command(
        file_loudness_command(source), work, what="music loudness")), encode=asdict, decode=lambda d: Measured(**d))
    if voice.is_silent or music.is_silent:
        gain = spec.level
    else:
        gain = (voice.integrated + spec.level) - music.integrated
    return MusicBed(source, gain, spec.fade_in, spec.fade_out, spec.duck)


def previous_records(out_dir: Path) -> dict[str, OutputRecord]:
    manifest = out_dir / "manifest.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return {o["channel"]: OutputRecord(**o) for o in data.get("outputs", [])}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


def _crops(campaign: Campaign, cache: Cache, timeline: Timeline, preset: Preset) -> dict[int, str]:
    """Crop x expressions for the cuts that a fill-crop narrows (reframing on the speaker)."""
    from .reframe import analyse, crop_path, crop_x_expression, needs_reframing

    if preset.fit != "crop":
        return {}
    crops: dict[int, str] = {}
    for i, seg in enumerate(timeline.segments):
        if not isinstance(seg, ClipSegment):
            continue
        info = campaign.media[seg.clip_id]
        if not needs_reframing(info, preset.width, preset.height):
            continue
        focus = campaign.focus(seg.clip_id)
        analysis = None if focus is not None else analyse(campaign.clip_source(seg.clip_id), info, cache)
        keys = crop_path(analysis, float(seg.source_in), float(seg.duration), focus)
        crops[i] = crop_x_expression(keys)
    return crops


def _lower_third_plan(campaign: Campaign, timeline: Timeline, preset: Preset) -> list[tuple]:
    """(person, role, start, duration, bottom margin) of each name strap: at the start of each
    person's first appearance, above the caption zone. Cheap: nothing is drawn."""
    from .subtitles import caption_style

    if not campaign.spec.lower_thirds:
        return []
    style = caption_style(preset)
    above = style.margin_v + int(style.size * 2.9)  # clear of two caption lines
    seen: set[str] = set()
    plan = []
    for seg in timeline.clip_segments():
        person, role = campaign.clip_person(seg.clip_id)
        if not person or person in seen:
            continue
        seen.add(person)
        duration = min(Fraction(4), seg.duration - Fraction(3, 5))
        if duration >= 1:
            plan.append((person, role, seg.start + Fraction(3, 10), duration, above))
    return plan


def _draw_lower_thirds(plan: list[tuple], preset: Preset, work: Path):
    from .cards import lower_third
    from .render import Overlay

    overlays = []
    for person, role, start, duration, above in plan:
        image, x, y = lower_third(person, role, preset, work, above)
        overlays.append(Overlay(image, x, y, start, duration))
    return overlays


def make_output(campaign: Campaign, preset: Preset, timeline: Timeline, work: Path, *, cache: Cache,
                captions=None, force: bool = False, safe_zones: bool = False,
                progress: ff.ProgressCallback | None = None) -> tuple[OutputRecord, bool]:
    """Make one channel's output (or find it unchanged); returns (record, whether it was rendered).

    ``captions`` is the campaign's prepared :class:`~pipeline.subtitles.CaptionMaker` (None: no captions).
    Raises :class:`~pipeline.errors.RekruttError` subclasses on failure, leaving no partial file.
    """
    out_dir = campaign.out_dir
    card_ids = sorted({s.card_id for s in timeline.segments if isinstance(s, CardSegment)})
    track = captions.for_output(preset, timeline) if captions is not None else None
    crops = _crops(campaign, cache, timeline, preset)
    straps = _lower_third_plan(campaign, timeline, preset)
    music = _music_bed(campaign, cache, timeline, preset, work)
    final = out_dir / f"{preset.name}.{preset.extension}"
    # Everything the output is made from, cheaply (nothing drawn or rendered yet), so an
    # unchanged output is recognised fast.
    fingerprint = key_of(
        "output", __version__, dataclasses.asdict(preset), edit_signature(campaign, timeline),
        [card_name(campaign, cid, preset) for cid in card_ids], campaign.spec.title, campaign.spec.description,
        campaign.spec.hashtags, track.signature() if track is not None else None, sorted(crops.items()),
        [[p, r, str(s), str(d), a] for p, r, s, d, a in straps], safe_zones, _music_signature(music),
    )
    old = previous_records(out_dir).get(preset.name)
    if (not force and old is not None and old.fingerprint == fingerprint and final.is_file()
            and final.stat().st_size == old.size and all((out_dir / f).is_file() for f in old.extras.values())):
        return old, False
    cards = {cid: card_png(campaign, cid, preset, work) for cid in card_ids}
    overlays = _draw_lower_thirds(straps, preset, work)
    measured = _measure(campaign, cache, timeline, preset, work, music)
    extras: dict[str, str] = {}
    burn = track.burn_in if track is not None else None
    with atomic_path(final) as tmp:
        cmd = render_command(campaign, timeline, preset, cards, tmp, measured, burn_in=burn,
                             fonts_dir=track.fonts_dir if track is not None else None, crops=crops,
                             overlays=overlays, safe_zones=safe_zones, music=music)
        run_command(cmd, work, what=f"render {preset.name}", duration=float(timeline.duration), progress=progress)
        info = probe(tmp)
        verified = parse_ebur128(run_command(verify_command(tmp), work, what=f"loudness check ({preset.name})"))
        if preset.poster:
            poster = out_dir / f"{preset.name}.poster.jpg"
            frame = work / "poster-frame.png"
            run_command(poster_command(tmp, _poster_time(campaign, cache, timeline), frame, fmt="image2",
                                       codec="png"), work, what="poster")
            with atomic_path(poster) as ptmp:
                poster_with_title(frame, campaign.spec.title, preset, ptmp)
            extras["poster"] = poster.name
        size = tmp.stat().st_size
        digest = sha256_file(tmp)
    if track is not None:
        extras.update(track.write_sidecars(out_dir))
    burned = track.burned_language if track is not None else ""
    extras.update(_write_publish_sheet(campaign, preset, final.name, extras, float(info.duration), bool(burned)))
    if preset.max_bytes and size > preset.max_bytes:
        log.warning("%s is %d bytes, over the platform's %d", final.name, size, preset.max_bytes)
    record = OutputRecord(
        channel=preset.name, path=final.name, width=info.width or 0, height=info.height or 0,
        fps=str(timeline.rate), duration=round(float(info.duration), 3), size=size, sha256=digest,
        loudness_lufs=verified.integrated, true_peak_dbtp=verified.true_peak,
        loudness_target_lufs=preset.loudness_lufs, video_codec=info.video_codec or "",
        audio_codec=info.audio_codec or "", audio_channels=info.channels or 0, extras=extras,
        captions_burned=burned, fingerprint=fingerprint,
    )
    return record, True


def _write_publish_sheet(campaign: Campaign, preset: Preset, video: str, extras: dict[str, str],
                         duration: float, burned: bool) -> dict[str, str]:
    from .cta import publish_sheet

    spec = campaign.spec
    captions = [v for k, v in extras.items() if k.startswith("captions.")]
    markdown, data = publish_sheet(
        title=spec.title, description=spec.description or spec.title, hashtags=list(spec.hashtags),
        link=campaign.link(preset.name), preset=preset, video=video, captions=captions, duration=duration,
        burned=burned)
    md, js = campaign.out_dir / f"{preset.name}.publish.md", campaign.out_dir / f"{preset.name}.publish.json"
    write_text_atomic(md, markdown)
    write_text_atomic(js, data)
    return {"publish_md": md.name, "publish_json": js.name}


def _poster_time(campaign: Campaign, cache: Cache, timeline: Timeline) -> Fraction:
    """The best face in the edit: large, frontal, both eyes found (not mid-blink); else the first cut's middle."""
    from .reframe import analyse

    best: tuple[float, Fraction] | None = None
    for seg in timeline.clip_segments():
        analysis = analyse(campaign.clip_source(seg.clip_id), campaign.media[seg.clip_id], cache)
        for sample in analysis.samples:
            face = sample.main
            t = Fraction(str(sample.t)) - seg.source_in
            if face is None or not (Fraction(1, 5) <= t <= seg.duration - Fraction(1, 5)):
                continue
            score = face.size * (1.0 if face.eyes >= 2 else 0.4) * (1.0 if 0.2 < face.cx < 0.8 else 0.8)
            if best is None or score > best[0]:
                best = (score, seg.start + t)
    if best is not None:
        return best[1]
    for seg in timeline.clip_segments():
        return seg.start + seg.duration / 2
    return timeline.duration / 2
