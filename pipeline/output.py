"""Making one output: a channel's version of a campaign, from its plan to a verified file.

:func:`~pipeline.outplan.plan_output` gathers everything the output is made from into a
:class:`~pipeline.plan.RenderPlan` (cheap: cards are not drawn yet); its hash is the
output's fingerprint, checked against the manifest so that an output whose inputs did
not change is not made again. :func:`make_output` then draws the cards, measures
loudness (cached), renders, verifies the result (stream lengths, ebur128 loudness and
true peak), takes the poster, writes caption sidecars and the publish sheet, renames
the file into place and records it in the manifest at once. :mod:`pipeline.jobs` runs
many of these.

An H.264 output is made in pieces: its picture one piece per segment of the edit, its
sound in one, each kept in the cache under a key of everything the piece is made from,
then joined into the file without encoding again. A piece another output or an earlier
render already made is taken from the cache: YouTube and LinkedIn share all but the end
card (whose QR code carries each channel's tracked link), and after an edit only the
pieces it touched are encoded. The cinema master (ProRes) is made in pieces too: ProRes is
intra-frame, so its pieces join anywhere and an edit of the end card encodes 4 s of it instead
of the whole film (its pieces are as large as the film: :meth:`~pipeline.cache.Cache.trim` removes
them first when the cache is over the size its user set).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pysubs2

from . import ffmpeg as ff
from . import manifest
from .cache import Cache, key_of
from .campaign import Campaign
from .cards import card_png
from .channels import Preset
from .cta import publish_sheet
from .cutaway import picture_span
from .cutaways import cutaway_entries
from .encoding import gop_frames, true_peak_margin
from .errors import RenderError
from .ffmpeg import run_command
from .files import atomic_path, sha256_file, write_text_atomic
from .job import OutputSpec
from .loudness import Measured, Verified, parse_ebur128, verify_command
from .manifest import OutputRecord, previous_records
from .outplan import command_key, mix_loudness, plan_output
from .plan import RenderPlan, fingerprint
from .posters import poster_is_current, poster_key, poster_with_title
from .probe import MediaInfo, probe
from .render import (
    join_command,
    picture_command,
    picture_pieces,
    poster_frame_command,
    render_command,
    sound_command,
)
from .sound import report
from .spec import ClipItem
from .stills import JoinedPicture, StillCard, StillRun, still_runs, still_runs_command, still_span
from .timeline import CardSegment, ClipSegment, Timeline

log = logging.getLogger("rekrutt")

__all__ = ["OutputRecord", "make_output", "previous_records"]

#: Encoders whose outputs are made in pieces: H.264 (each piece starts on a key frame) and ProRes (every
#: frame is one; pieces as large as the film, 6.8 MB a second for the example's cinema master, which the
#: cache trims first). Any other encoder an override names renders the output whole, in one pass.
PIECEWISE_CODECS = ("libx264", "prores_aw", "prores_ks")

#: What a draft's manifest says of its loudness (it is applied from the measurement, never checked).
DRAFT_LOUDNESS = "draft: loudness applied from the measurement, not checked on the file"

#: How far (dB) a file's measured true peak may sit over the ceiling before the output fails its check.
TRUE_PEAK_TOLERANCE = 0.05


def _unchanged(out_dir: Path, final: Path, old: OutputRecord | None, fp: str) -> bool:
    return (old is not None and old.fingerprint == fp and final.is_file() and final.stat().st_size == old.size
            and all((out_dir / f).is_file() for f in old.extras.values()))


def make_output(job: OutputSpec, work: Path, *, cache: Cache, captions=None, force: bool = False,
                safe_zones: bool = False, progress: ff.ProgressCallback | None = None,
                made_since: float | None = None, workers: int = 1
                ) -> tuple[OutputRecord, bool, Callable[[], list[StillCard]], JoinedPicture | None]:
    """Make ``job``'s output (or find it unchanged); returns (record, whether it was rendered, its still cards:
    a function giving where its cards stand still and their runs' files, for the described version's holds;
    the files its picture was joined from, None where it was not joined now).

    ``captions`` is the campaign's prepared :class:`~pipeline.subtitles.CaptionMaker` (None: no captions);
    ``made_since`` (a time.time(); with ``force``) makes again every piece made before it, so that a
    forced render encodes everything once and still shares what it made itself; ``workers``: its pieces made
    at once (:func:`_render_in_pieces`).
    Raises :class:`~pipeline.errors.RekruttError` subclasses on failure, leaving no partial file;
    the manifest is updated as soon as the output is in place.
    """
    campaign, preset, timeline = job.edition, job.preset, job.timeline
    out_dir = campaign.out_dir
    plan, track = plan_output(job, work, cache=cache, captions=captions, safe_zones=safe_zones)
    fp = fingerprint(plan)
    final = out_dir / f"{preset.name}.{preset.extension}"
    old = previous_records(out_dir).get(preset.name)
    def cards() -> list[StillCard]:
        return still_cards(job, plan, work, cache, made_since if force else None)

    if not force and _unchanged(out_dir, final, old, fp):
        return old, False, cards, None
    passes = _Passes()
    with passes("cards"):
        for card_id in plan.cards:
            card_png(campaign, card_id, preset, work, cache)
    with passes("loudness measurement"):
        measured = mix_loudness(plan, cache, work, plan.music)
    warnings: list[str] = list(track.warnings) if track is not None else []
    left_out = len(campaign.spec.sequence) - len(job.sequence)
    if left_out:
        warnings.append(f"shortened for {preset.label}: {left_out} optional item(s) left out")
    for person in plan.names_left_out:
        warnings.append(f"no name strap for {person}: no room off the face and the captions in any of their shots")
    made = _make_file(job, plan, work, final, measured, passes, warnings, progress, cache,
                      made_since if force else None, workers)
    extras = dict(made.extras)
    if track is not None:
        extras.update(track.write_sidecars(out_dir))
    burned = plan.burn.language if plan.burn is not None else ""
    info, verified = made.info, made.verified
    extras.update(_write_publish_sheet(campaign, preset, final.name, extras, float(info.duration), bool(burned)))
    record = OutputRecord(
        channel=preset.name, path=final.name, width=info.width or 0, height=info.height or 0,
        fps=str(timeline.rate), duration=round(float(info.video_end or info.duration), 3), size=made.size,
        sha256=made.sha256, loudness_lufs=verified.integrated, true_peak_dbtp=verified.true_peak,
        loudness_target_lufs=preset.loudness_lufs, video_codec=info.video_codec or "",
        audio_codec=info.audio_codec or "", audio_channels=info.channels or 0, extras=extras,
        captions_burned=burned, fingerprint=fp, audio_duration=round(float(info.audio_end or 0), 3),
        true_peak_limit_dbtp=preset.true_peak_dbtp, warnings=warnings, names_left_out=list(plan.names_left_out),
        items=edit_items(job), version=campaign.version or "",
        sound=_sound_report(campaign, plan, cache), passes=passes.seconds, pieces=made.pieces,
        picture_pieces=made.picture_pieces,
    )
    reused = made.pieces.get("reused", 0)
    log.info("%s: %s%s", preset.name, passes,
             f" ({reused} of {reused + made.pieces.get('made', 0)} pieces from the cache)" if made.pieces else "")
    manifest.update(campaign, record=record)
    return record, True, cards, made.joined


def still_cards(job: OutputSpec, plan: RenderPlan, work: Path, cache: Cache,
                made_since: float | None = None) -> list[StillCard]:
    """Where the output's cards stand still (:func:`~pipeline.stills.still_runs`), each with its runs' files
    from the cache (made the same way where missing: the card drawn if it was not): what a hold on a card
    in its described version is made of. Empty for an output rendered whole."""
    if plan.preset.video_codec not in PIECEWISE_CODECS:
        return []
    out = []
    for piece in picture_pieces(plan):
        seg = plan.timeline.segments[piece.start]
        if len(piece) != 1 or not isinstance(seg, CardSegment):
            continue
        shown = _with_piece_captions(plan, piece, work)
        runs = still_runs(shown, piece)
        if runs is None:
            continue

        def run_file(run: StillRun, shown=shown, piece=piece, seg=seg, runs=runs) -> Path:
            card_png(job.edition, seg.card_id, plan.preset, work, cache)  # drawn already where the output was made now
            what = f"described version's hold on card {seg.card_id} ({plan.preset.name})"
            own = [k for k, r in enumerate(runs) if (r.frames, r.fade) == (run.frames, run.fade)]
            if own:  # one of the card's own runs (its still GOP): the file the output plays
                return _still_pieces(shown, piece, runs, work, cache, _Passes(), what, made_since)[own[0]][0]
            return _still_pieces(shown, piece, [run], work, cache, _Passes(), what, made_since)[0][0]

        out.append(StillCard(*still_span(shown, piece, runs), gop_frames(plan.preset, plan.timeline.rate),
                             run_file))
    return out


@dataclasses.dataclass(frozen=True)
class _File:
    """An output's file, in place and checked."""

    info: MediaInfo  #: its probe
    verified: Verified
    size: int
    sha256: str
    extras: dict[str, str]  #: files made beside it (the poster)
    pieces: dict[str, int]  #: pieces encoded for it ("made") and taken from the cache ("reused"); {} when whole
    picture_pieces: list[dict]  #: its picture's pieces: start, end (s) and cache key; [] when whole
    joined: JoinedPicture | None  #: the files its picture was joined from; None when whole


def _make_file(job: OutputSpec, plan: RenderPlan, work: Path, final: Path, measured: Measured, passes: _Passes,
               warnings: list[str], progress, cache: Cache, made_since: float | None, workers: int = 1) -> _File:
    """Render ``plan`` into a temporary file, check it and put it in place."""
    campaign, preset, out_dir, draft = job.edition, plan.preset, job.edition.out_dir, job.draft
    extras: dict[str, str] = {}
    with atomic_path(final) as tmp:
        if preset.video_codec in PIECEWISE_CODECS:
            info, verified, pieces, picture_pieces, joined = _render_in_pieces(
                plan, work, tmp, measured, passes, warnings, progress, draft, cache, made_since, workers)
        else:
            info, verified = _render_checked(plan, work, tmp, measured, passes, warnings, progress, draft)
            pieces, picture_pieces, joined = {}, [], None
        if plan.poster_at is not None:
            with passes("poster"):
                extras["poster"] = _poster(campaign, plan, work, out_dir, cache, made_since)
        size = tmp.stat().st_size
        digest = sha256_file(tmp)
        if preset.max_bytes and size > preset.max_bytes:
            warnings.append(f"{final.name} is {size / 1e6:.1f} MB, over the platform's {preset.max_bytes / 1e6:g} MB")
            log.warning("%s", warnings[-1])
        # the old entry goes before the file is replaced: an interrupt now leaves no stale checksum
        manifest.update(campaign, forget=preset.name)
    return _File(info, verified, size, digest, extras, pieces, picture_pieces, joined)


def _render_checked(plan: RenderPlan, work: Path, tmp: Path, measured: Measured, passes: _Passes,
                    warnings: list[str], progress, draft: bool):
    """Render into ``tmp`` in one pass and check it: stream lengths, and loudness and true peak measured
    on the file (once more, with the encoder's overshoot taken off, if the true peak is over the ceiling)."""
    preset, timeline = plan.preset, plan.timeline
    margin = true_peak_margin(preset)
    for attempt in (1, 2):
        with passes("render"):
            run_command(render_command(plan, tmp, measured, margin), work, what=f"render {preset.name}",
                        duration=float(timeline.duration), progress=progress)
        info = probe(tmp, rotation=False)  # our own file: no rotation to read
        _check_streams(preset, timeline, info)
        if draft:  # a quick look: one loudness pass (the cached measurement), no check of the file
            warnings.append(DRAFT_LOUDNESS)
            return info, Verified(preset.loudness_lufs, preset.true_peak_dbtp, measured.lra)
        with passes("loudness check"):
            verified = _loudness_check(tmp, work, preset)
        step = _further_under(plan, measured, verified, attempt)
        if step is None:
            return info, verified
        margin += step
    raise AssertionError("unreachable")


def _loudness_check(path: Path, work: Path, preset: Preset) -> Verified:
    """Loudness, range and true peak of a file's sound, measured by ebur128."""
    return parse_ebur128(run_command(verify_command(path), work, what=f"loudness check ({preset.name})"))


def _further_under(plan: RenderPlan, measured: Measured, verified: Verified, attempt: int) -> float | None:
    """How much further (dB) under the ceiling the sound must be made again (None: it is under it;
    raises on the second try)."""
    preset = plan.preset
    excess = verified.true_peak - preset.true_peak_dbtp
    if measured.is_silent or excess <= TRUE_PEAK_TOLERANCE:
        return None
    if attempt == 2:
        raise RenderError(f"{preset.name}: the true peak is {verified.true_peak:.2f} dBTP, over the "
                          f"{preset.true_peak_dbtp:g} dBTP ceiling; the output was not kept")
    # the encoder overshot more than the margin allows: once more, with the overshoot taken off
    log.info("%s: true peak %.2f dBTP over the ceiling; making the sound again %.1f dB further under it",
             preset.name, verified.true_peak, excess + 0.3)
    return excess + 0.3


def _render_in_pieces(plan: RenderPlan, work: Path, tmp: Path, measured: Measured, passes: _Passes,
                      warnings: list[str], progress, draft: bool, cache: Cache, made_since: float | None,
                      workers: int = 1):
    """Make the output at ``tmp`` from its pieces (see the module's note), taking from the cache the pieces
    made before, and check it. The sound's loudness and true peak are measured on the sound piece when it
    is made (the file carries the very same packets) and kept with it. ``workers``: pieces (and the sound)
    made at once, each by its own ffmpeg (the batch's spare jobs: ``-j 2`` with one output to make)."""
    preset, timeline = plan.preset, plan.timeline
    total = float(timeline.duration)
    suffix = "." + preset.extension
    count = {"made": 0, "reused": 0}
    starts: list[int] = []  # where each piece begins (a frame of the output) and the files played for it
    rate = timeline.rate
    pieces = list(picture_pieces(plan))
    lengths = [float(sum(timeline.segments[i].duration for i in piece)) for piece in pieces]
    done = [0.0] * len(pieces)  # each piece's share made (pieces may be made at once)

    def shown_progress(k: int) -> Callable[[float], None] | None:
        def report(f: float) -> None:
            done[k] = f * lengths[k]
            progress(sum(done) / total)
        return report if progress else None

    def make_piece(k: int) -> tuple[list[Path], int, int, str]:
        """Piece ``k``'s files (a still card's runs repeated), how many of them were made now and how many
        taken from the cache, and its key."""
        piece = pieces[k]
        shown = _with_piece_captions(plan, piece, work)
        what = f"render {preset.name} ({_piece_name(plan, piece)})"
        runs = still_runs(shown, piece)
        if runs is not None:  # a card standing still: a GOP encoded once, played again (pipeline.stills)
            made = _still_pieces(shown, piece, runs, work, cache, passes, what, made_since)
            files = [path for path, _, run, _ in made for _ in range(run.times)]
            new = sum(new for _, new, _, _ in made)
            return files, new, len(made) - new, key_of("still-piece", [(run_key, run.times)
                                                                       for _, _, run, run_key in made])

        def make(path: Path) -> dict:
            with passes("picture"):
                run_command(picture_command(shown, piece, path), work, what=what, duration=lengths[k],
                            progress=shown_progress(k))
            return {}

        key = command_key(picture_command(shown, piece, work / "piece"), work, shown)
        path, _, new = cache.file("pieces", key, suffix, make, made_since=made_since)
        return [path], int(new), int(not new), key

    def make_sound(path: Path, margin: float) -> dict:
        with passes("sound"):
            run_command(sound_command(plan, path, measured, margin), work, what=f"sound {preset.name}")
        if draft:
            return {}
        with passes("loudness check"):
            return {"verified": dataclasses.asdict(_loudness_check(path, work, preset))}

    def sound_piece(margin: float) -> tuple[Path, dict, bool]:
        key = command_key(sound_command(plan, work / "sound", measured, margin), work, plan)
        return cache.file("pieces", key, suffix, lambda path: make_sound(path, margin), made_since=made_since)

    margin = true_peak_margin(preset)
    # the sound first: one thread of ffmpeg, beside the pictures' encoders
    first, *made = ff.in_parallel([lambda: sound_piece(margin)] + [lambda k=k: make_piece(k)
                                                                    for k in range(len(pieces))], workers)
    files_of: list[tuple[Path, ...]] = []
    spans: list[dict] = []
    for piece, (files, new, reused, key) in zip(pieces, made, strict=True):
        count["made"] += new
        count["reused"] += reused
        starts.append(int(timeline.segments[piece.start].start * rate)
                      + picture_span(timeline.segments, piece.start)[0])
        files_of.append(tuple(files))
        spans.append({"start": float(timeline.segments[piece.start].start),
                      "end": float(timeline.segments[piece.stop - 1].end), "key": key})
    for attempt in (1, 2):
        sound, facts, new = first if attempt == 1 else sound_piece(margin)
        count["made" if new else "reused"] += 1
        if draft:  # a quick look: one loudness pass (the cached measurement), no check of the file
            warnings.append(DRAFT_LOUDNESS)
            verified = Verified(preset.loudness_lufs, preset.true_peak_dbtp, measured.lra)
            break
        if "verified" in facts:
            verified = Verified(**facts["verified"])
        else:  # made by a draft of the same sound: measure it now
            with passes("loudness check"):
                verified = _loudness_check(sound, work, preset)
        step = _further_under(plan, measured, verified, attempt)
        if step is None:
            break
        margin += step
    joined = JoinedPicture(tuple(starts), tuple(files_of))
    with passes("join"):
        run_command(join_command(plan, [f for files in joined.files for f in files], sound, tmp), work,
                    what=f"join {preset.name}")
    if progress:
        progress(1.0)
    info = probe(tmp, rotation=False)  # our own file: no rotation to read
    _check_streams(preset, timeline, info)
    return info, verified, count, spans, joined


def _still_pieces(plan: RenderPlan, piece: range, runs: list[StillRun], work: Path, cache: Cache, passes: _Passes,
                  what: str, made_since: float | None) -> list[tuple[Path, bool, StillRun, str]]:
    """The files of a still card's runs (:func:`~pipeline.stills.still_runs`), from the cache or made, each
    with whether it was made now and its cache key. The missing runs are made by one encode
    (:func:`~pipeline.stills.still_runs_command`)."""
    cmd, files = still_runs_command(plan, piece, runs, work / f"runs-{os.urandom(4).hex()}")
    whole = command_key(cmd, work, plan)
    keys = [key_of("still-run", whole, k) for k in range(len(runs))]

    def make(path: Path, k: int) -> dict:
        if not files[k].is_file():  # the first run missing: all of the card's runs, by one encode
            with passes("picture"):
                run_command(cmd, work, what=what)
            if not all(f.is_file() for f in files):
                raise RenderError(f"{what}: the card's encode was not cut into its {len(runs)} runs")
        shutil.move(files[k], path)
        return {}

    out = []
    for k, (run, key) in enumerate(zip(runs, keys, strict=True)):
        path, _, new = cache.file("pieces", key, "." + plan.preset.extension, lambda path, k=k: make(path, k),
                                  made_since=made_since)
        out.append((path, new, run, key))
    return out


def _piece_name(plan: RenderPlan, piece: range) -> str:
    """A piece as the user knows it: the card or clip it shows ("card end", "clip anne")."""
    names = []
    for seg in (plan.timeline.segments[i] for i in piece):
        names.append(f"card {seg.card_id}" if isinstance(seg, CardSegment) else f"clip {seg.clip_id}")
    return ", ".join(names)


def _with_piece_captions(plan: RenderPlan, piece: range, work: Path) -> RenderPlan:
    """The plan with only the burned captions the piece shows (none: no captions pass), so that a piece's
    key changes only when its own captions do."""
    if plan.burn is None:
        return plan
    start = plan.timeline.segments[piece.start].start
    end = plan.timeline.segments[piece.stop - 1].end
    subs = pysubs2.load(str(plan.burn.ass), encoding="utf-8")
    lo, hi = int(start * 1000), int(end * 1000 + Fraction(1, 2))
    subs.events = [e for e in subs.events if e.start < hi and e.end > lo]
    if not subs.events:
        return dataclasses.replace(plan, burn=None)
    path = work / f"{plan.burn.ass.stem}-piece{piece.start}.ass"
    subs.save(str(path), encoding="utf-8")
    return dataclasses.replace(plan, burn=dataclasses.replace(plan.burn, ass=path))


class _Passes:
    """Seconds spent in each pass over the media for one output (render -v, the manifest, the benchmark)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()  # pieces made at once add their seconds

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)

    def __str__(self) -> str:
        return ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items())


def _sound_report(campaign: Campaign, plan: RenderPlan, cache: Cache) -> dict[str, dict]:
    return report(campaign, [c.clip_id for c in plan.clips if c.sound is not None], cache)


def edit_items(job: OutputSpec) -> list[dict]:
    """What plays, for the manifest: each cut's clip and source in/out (and the quote it was cut by), each card."""
    out: list[dict] = []
    for item, seg in zip(job.sequence, job.timeline.segments, strict=True):
        if isinstance(seg, ClipSegment):
            entry = {"clip": seg.clip_id, "from": round(float(seg.source_in), 3),
                     "to": round(float(seg.source_out), 3), "at": round(float(seg.start), 3),
                     "fit": job.fit(seg.clip_id)}  # how it fills the frame (fit: auto resolved for this clip)
            if isinstance(item, ClipItem) and item.says:
                entry["says"] = item.says
            if seg.cutaways or seg.picture_shift:
                entry.update(cutaway_entries(item, seg))
            out.append(entry)
        else:
            out.append({"card": seg.card_id, "duration": round(float(seg.duration), 3),
                        "at": round(float(seg.start), 3)})
    return out


def _check_streams(preset: Preset, timeline: Timeline, info) -> None:
    """The picture and sound of a finished file must be as long as the edit, within a frame."""
    frame = max(Fraction(1) / timeline.rate, Fraction(1024, preset.sample_rate))  # one frame, or one AAC packet
    for name, end in (("picture", info.video_end), ("sound", info.audio_end)):
        if end is not None and abs(end - timeline.duration) > frame + Fraction(1, 1000):
            raise RenderError(f"{preset.name}: the {name} is {float(end):.3f} s long, the edit "
                              f"{float(timeline.duration):.3f} s; the output was not kept")


def _poster(campaign: Campaign, plan: RenderPlan, work: Path, out_dir: Path, cache: Cache,
            made_since: float | None = None) -> str:
    """The poster: an uncaptioned frame of the edit with the title clear of faces; returns its file name.
    The frame is kept in the cache by what it is taken from (an edit of a card leaves it as it was), and a
    poster already made from the same frame, title and font is kept as it is (``--force`` draws it again)."""
    poster = out_dir / f"{plan.preset.name}.poster.jpg"
    frame = work / "poster-frame.png"
    cmd = poster_frame_command(plan, plan.poster_at, frame)
    if cmd is None:  # on a card: its own picture
        seg = next(s for s in plan.timeline.segments if isinstance(s, CardSegment) and s.start <= plan.poster_at)
        frame = plan.cards[seg.card_id].path
        frame_key = "card " + sha256_file(frame)
    else:
        frame_key = command_key(cmd, work, plan)
    key = poster_key(frame_key, campaign.spec.title, plan.preset, campaign.brand.typeface)
    if made_since is None and poster_is_current(poster, key):
        return poster.name
    if cmd is not None:
        def make(path: Path) -> dict:
            run_command(poster_frame_command(plan, plan.poster_at, path), work, what="poster")
            return {}

        frame, _, _ = cache.file("posters", frame_key, ".png", make, made_since=made_since)
    with atomic_path(poster) as ptmp:
        poster_with_title(frame, campaign.spec.title, plan.preset, ptmp, campaign.brand.typeface, key)
    return poster.name


def _write_publish_sheet(campaign: Campaign, preset: Preset, video: str, extras: dict[str, str],
                         duration: float, burned: bool) -> dict[str, str]:
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
