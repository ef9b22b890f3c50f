"""Planning one output: everything it is made from, gathered into a :class:`~pipeline.plan.RenderPlan`.

:func:`plan_output` is cheap (cards are named by what they are drawn from, not drawn; captions
and lower thirds are small files written into the work folder), so it runs for every output,
also an unchanged one: the plan's hash is the output's fingerprint, checked against the
manifest by :func:`pipeline.output.make_output`. Planning reads what it needs measured from the
cache (faces for the crops and the placement of text, the cleaned sound of each clip, the
loudness of the speech and of the music bed, the poster's moment) and measures it when missing.

:func:`command_key` is what a command makes, as a hash (the key of a cached piece or
measurement); :func:`mix_loudness` is the cached loudness of a plan's mix.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path

from PIL import Image

from . import fonts
from .cache import Cache, file_digest, key_of
from .campaign import Campaign
from .cards import card_inputs, card_name, draft_mark, lower_third
from .channels import Preset
from .cutaways import cutaway_crops, straps_off_cutaways
from .ffmpeg import FfmpegCommand, ffmpeg_stamp, run_command
from .job import OutputSpec
from .loudness import Measured, file_loudness_command, parse_loudnorm
from .placement import face_spans, picture_spans, strap_spot, text_area
from .plan import Burn, CleanSound, ClipSource, MusicBed, Overlay, RenderPlan, Still, describe
from .posters import poster_time
from .reframe import crop_x_expression, cut_crop_keys
from .render import measure_command
from .sound import clip_sound
from .subtitles import caption_style
from .timeline import CardSegment, ClipSegment, Timeline

log = logging.getLogger("rekrutt")

__all__ = ["command_key", "mix_loudness", "plan_output"]


def command_key(cmd: FfmpegCommand, work: Path, plan: RenderPlan) -> str:
    """What a command makes (a piece, a measurement), as a hash: equal for two commands exactly when
    they would make the same (the same argv and graph, reading files of the same content).

    Every input file (``-i``) and every file of ``work`` the graph names (cards, lower thirds,
    captions) enters by content, the output path not at all, so two outputs (or two renders)
    that make the same piece share its key. What the graph reads by name beyond those, the
    caption fonts, enters with the plan's font digests, as do the pipeline's version and the
    ffmpeg binary (pieces of two x264 builds may not join). A work-dir path it cannot place
    leaves the key unique: a missed share, never a wrong one.
    """
    args: list[str] = []
    for before, arg in zip(["", *cmd.args], cmd.args, strict=False):
        if before == "-i" and Path(arg).is_file():
            arg = f"<file {file_digest(Path(arg))}>"
        args.append("<output>" if arg in {str(o) for o in cmd.outputs} else arg)
    script = cmd.filter_script
    if work.is_dir():
        for path in sorted((p for p in work.iterdir() if p.is_file()), key=lambda p: -len(str(p))):
            if str(path) in script:
                script = script.replace(str(path), f"<file {file_digest(path)}>")
    fonts = describe(plan.burn.fonts) if plan.burn is not None else []
    return key_of("piece", args, script, fonts, plan.version, ffmpeg_stamp())


def mix_loudness(plan: RenderPlan, cache: Cache, work: Path, music: MusicBed | None) -> Measured:
    """The loudness of the plan's mix (with ``music``) for its layout and target, cached by what makes it:
    the measuring command, its files by content (a new end card's text does not measure again)."""
    preset = plan.preset
    cmd = measure_command(plan, music)
    key = key_of("loudness", command_key(cmd, work, plan))

    def make() -> Measured:
        return parse_loudnorm(run_command(cmd, work, what=f"loudness measurement ({preset.name})"))

    return cache.get_or_make("loudness", key, make, encode=asdict, decode=lambda d: Measured(**d))


def _music_bed(campaign: Campaign, cache: Cache, plan: RenderPlan, work: Path) -> MusicBed | None:
    """The spec's music, with the gain that sets it ``level`` LU against the speech (both measured)."""
    spec = campaign.spec.music
    if spec is None:
        return None
    source = campaign.resolve(spec.source)
    stereo = dataclasses.replace(plan, preset=plan.preset.with_overrides(audio_channels=2))
    voice = mix_loudness(stereo, cache, work, None)
    key = key_of("music-loudness", file_digest(source))
    music = cache.get_or_make("loudness", key, lambda: parse_loudnorm(run_command(
        file_loudness_command(source), work, what="music loudness")), encode=asdict, decode=lambda d: Measured(**d))
    if voice.is_silent or music.is_silent:
        gain = spec.level
    else:
        gain = (voice.integrated + spec.level) - music.integrated
    return MusicBed(source, round(gain, 2), spec.fade_in, spec.fade_out, spec.duck)


def _crops(job: OutputSpec, cache: Cache) -> tuple[dict[int, str], dict[int, str]]:
    """Crop x and y expressions for the cuts that a fill-crop narrows or shortens (reframing on the speaker)."""
    campaign, preset = job.edition, job.preset
    xs: dict[int, str] = {}
    ys: dict[int, str] = {}
    for i, seg in enumerate(job.timeline.segments):
        if not isinstance(seg, ClipSegment) or job.fit(seg.clip_id) != "crop":
            continue
        xkeys, ykeys = cut_crop_keys(campaign, cache, seg.clip_id, seg.source_in, seg.duration, preset.width,
                                     preset.height)
        if xkeys is not None:
            xs[i] = crop_x_expression(xkeys)
        if ykeys is not None:
            ys[i] = crop_x_expression(ykeys, "y")
    return xs, ys


def _faces(job: OutputSpec, cache: Cache, captions: bool) -> list:
    """Where faces are in this output's frame, when text is drawn over the picture (else none)."""
    burns = captions and job.preset.captions in ("burn", "both")
    if not burns and not job.edition.spec.lower_thirds:
        return []
    return face_spans(job.edition, cache, job.timeline, job.preset, job.shown_fits())


#: Sizes a name strap is tried at (shares of its full size) where the full one finds no room.
STRAP_SCALES = (1.0, 0.8, 0.65)


def _lower_thirds(campaign: Campaign, timeline: Timeline, preset: Preset, work: Path, faces=(),
                  track=None, fits: dict[str, str] | None = None,
                  cache: Cache | None = None) -> tuple[tuple[Overlay, ...], tuple[str, ...]]:
    """A name strap where each person first appears, off the face and the captions, and the people whose strap
    found no room (small pictures: drawn here, and hashed by content).

    At the person's first shot the strap goes above the caption zone, else to another edge of the safe area
    (:func:`~pipeline.placement.strap_spot`), then smaller; failing all of those, at the first later shot of
    theirs that has room. Never over eyes, mouth or hair: a name that finds no room is left out and returned."""
    if not campaign.spec.lower_thirds:
        return (), ()
    pictures = picture_spans(campaign, timeline, preset, fits)  # text stays off a pad's bars
    style = caption_style(preset, face=campaign.brand.typeface, area=text_area(preset, pictures))
    above = style.margin_v + int(style.size * 2.9)  # clear of two caption lines
    lt = campaign.brand.spec.lower_third
    colors = campaign.brand.spec.colors
    palette = (lt.background, lt.text or colors.text, lt.accent or colors.accent)
    shots: dict[str, list] = {}
    for seg in timeline.clip_segments():
        person, role = campaign.clip_person(seg.clip_id)
        if person:
            shots.setdefault(person, []).append((seg, role))
    overlays, missing = [], []
    for person, segs in shots.items():
        overlay = next((o for seg, role in segs for scale in STRAP_SCALES
                        if (o := _strap_in(person, role, seg, scale, preset, work, above, campaign, palette,
                                           list(faces), track, pictures, cache)) is not None), None)
        if overlay is None:
            log.warning("%s: no room for the name strap of %s off the face and the captions in the safe area, "
                        "in any of their shots; it was left out", preset.name, person)
            missing.append(person)
        else:
            overlays.append(overlay)
    return tuple(overlays), tuple(missing)


def _strap_in(person: str, role: str | None, seg: ClipSegment, scale: float, preset: Preset, work: Path,
              above: int, campaign: Campaign, palette, faces: list, track, pictures=(),
              cache: Cache | None = None) -> Overlay | None:
    """The strap of ``person`` at ``scale`` in the shot ``seg``, where it fits inside the shot's picture (None:
    nowhere)."""
    duration = min(Fraction(4), seg.duration - Fraction(3, 5))
    if duration < 1:
        return None
    start = seg.start + Fraction(3, 10)
    area = text_area(preset, list(pictures), start, start + duration)
    image, x, y = lower_third(person, role, preset, work, above, campaign.brand.typeface, palette, scale, area,
                              cache=cache)
    with Image.open(image) as im:
        size = im.size
    taken = [b for t0, t1, b in (track.placed if track is not None else ()) if t0 < start + duration and t1 > start]
    spot = strap_spot(size, (x, y), faces, start, start + duration, preset, taken, area)
    if spot is None:
        return None
    return Overlay(Still(image, file_digest(image)), round(spot[0]), round(spot[1]), start, duration)


def _texts(campaign: Campaign, preset: Preset) -> tuple[tuple[str, str], ...]:
    spec = campaign.spec
    return (("title", spec.title), ("description", spec.description or ""), ("hashtags", " ".join(spec.hashtags)),
            ("link", campaign.link(preset.name) or ""))


def plan_output(job: OutputSpec, work: Path, *, cache: Cache, captions=None, safe_zones: bool = False):
    """Everything ``job``'s output is made from, as a :class:`RenderPlan` (and its caption track, or None).

    Cheap enough to run for an unchanged output: cards are named by what they are drawn from,
    not drawn; captions and lower thirds are small files written into ``work``.
    """
    campaign, preset, timeline = job.edition, job.preset, job.timeline
    card_ids = sorted({s.card_id for s in timeline.segments if isinstance(s, CardSegment)})
    faces = _faces(job, cache, captions is not None)
    track = captions.for_output(job, work, faces) if captions is not None else None
    xs, ys = _crops(job, cache)
    fits = job.shown_fits()
    clips = tuple(ClipSource(cid, campaign.clip_source(cid), campaign.media[cid].sample_aspect,
                             campaign.media[cid].has_audio, _aspect(campaign.media[cid]), _sound(campaign, cid, cache),
                             fit)
                  for cid, fit in fits.items())
    straps, left_out = _lower_thirds(campaign, timeline, preset, work, faces, track, fits, cache)
    straps = straps_off_cutaways(straps, timeline)  # a name strap belongs to the speaker's own picture
    burn = None
    if track is not None and track.burn_in is not None:
        fonts_dir, font_files = fonts.caption_fonts(face=campaign.brand.typeface)
        burn = Burn(track.burn_in, fonts_dir, font_files, track.burned_language)
    plan = RenderPlan(
        channel=preset.name, preset=preset, timeline=timeline, title=campaign.spec.title, clips=clips,
        cards={cid: Still(work / card_name(campaign, cid, preset), card_inputs(campaign, cid, preset))
               for cid in card_ids},
        fonts=fonts.font_files(campaign.brand.typeface),
        overlays=straps, names_left_out=left_out, burn=burn,
        sidecars=(track.signature(),) if track is not None else (), crops=tuple(sorted(xs.items())),
        crop_ys=tuple(sorted(ys.items())), safe_zones=safe_zones, texts=_texts(campaign, preset),
        cutaway_crops=cutaway_crops(campaign, cache, timeline, preset, job.fit),
    )
    if job.draft:  # "UTKAST" in a corner for the whole film, so a draft can never be published by mistake
        image, x, y = draft_mark(preset, work)
        plan = dataclasses.replace(plan, overlays=plan.overlays + (
            Overlay(Still(image, file_digest(image)), x, y, Fraction(0), timeline.duration, Fraction(0)),))
    music = _music_bed(campaign, cache, plan, work)
    poster_at = None
    if preset.poster:
        poster_at = poster_time(campaign, cache, timeline)
    return dataclasses.replace(plan, music=music, poster_at=poster_at), track


def _sound(campaign: Campaign, clip_id: str, cache: Cache) -> CleanSound | None:
    """The clip's cleaned sound for the render (None: as recorded)."""
    cleaned = clip_sound(campaign, clip_id, cache)
    if cleaned is None:
        return None
    return CleanSound(cleaned.path, cleaned.key, cleaned.gain_db,
                      cleaned.quiet_at if cleaned.treatment.room_tone else None)


def _aspect(info) -> Fraction | None:
    if not info.width or not info.height:
        return None
    return Fraction(info.width, info.height) * info.sample_aspect
