"""The job runner: every output of every campaign as one job graph, run locally or on a Dask cluster.

:func:`render_batch` validates all campaigns first (and refuses two that would
write the same file), gets each distinct clip's transcript once, then runs one
job per output: locally on ``jobs`` threads (each drives an ffmpeg process), or on
a Dask cluster whose workers share the library, cache and output folders. A job
whose inputs have not changed since its last render (same fingerprint in the
manifest, file still there) is not rendered again. Each campaign's
``manifest.json`` is written at the end; a failing output does not stop the
others unless ``fail_fast``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

from . import __version__
from . import ffmpeg as ff
from .cache import Cache, file_digest, key_of
from .cards import card_png, poster_with_title
from .channels import Preset
from .errors import Interrupted, RekruttError, SpecError, SpecProblem
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
from .spec import Campaign, ClipItem, load_campaign
from .timeline import CardSegment, ClipSegment, Timeline, build_timeline

log = logging.getLogger("rekrutt")


@dataclass(frozen=True)
class RenderOptions:
    """What to render and how."""

    channels: tuple[str, ...] | None = None  #: a subset of the specs' channels (None: all)
    jobs: int = 1  #: outputs rendered at once (local threads)
    captions: bool = True  #: make captions (the spec can still turn them off)
    cache_dir: Path | None = None  #: cache folder (default: $REKRUTT_CACHE_DIR or the platform's)
    model: str | None = None  #: Whisper model, overriding the spec's
    force: bool = False  #: render even when nothing changed
    safe_zones: bool = False  #: shade the zones each platform's interface covers (for checking renders)
    fail_fast: bool = False  #: stop at the first failed output
    scheduler: str | None = None  #: Dask scheduler address (tcp://host:8786); None renders locally


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
    fingerprint: str = ""  #: hash of everything the output was made from


@dataclass(frozen=True)
class Event:
    """Something for the user to see: an output started, progressed, finished or failed."""

    kind: Literal["start", "progress", "done", "failed", "info"]
    channel: str
    fraction: float = 0.0
    message: str = ""
    record: OutputRecord | None = None
    campaign: str = ""


@dataclass(frozen=True)
class OutputJob:
    """One output to make; small and picklable, so a cluster worker can run it."""

    spec: Path  #: the campaign spec
    output_root: Path  #: resolved output folder
    campaign: str  #: campaign slug (for messages)
    channel: str
    options: RenderOptions


@dataclass(frozen=True)
class Outcome:
    """What became of one job."""

    job: OutputJob
    status: Literal["rendered", "unchanged", "failed", "skipped"]
    record: OutputRecord | None = None
    error: str = ""
    seconds: float = 0.0


@dataclass
class RenderResult:
    """What a campaign render produced."""

    outputs: list[OutputRecord]
    failures: dict[str, str]  #: channel -> error message
    manifest: Path | None
    model_calls: int = 0  #: times a speech model ran (0 when every transcript came from the cache)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class BatchResult:
    """What a batch of campaigns produced."""

    campaigns: dict[str, RenderResult]  #: campaign slug -> its result
    model_calls: int
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.campaigns.values())

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for r in self.campaigns.values() for o in r.outcomes]


EventCallback = Callable[[Event], None]


def source_rate(campaign: Campaign) -> Fraction | None:
    """The frame rate of the first clip in the sequence (outputs follow the source)."""
    for item in campaign.spec.sequence:
        if isinstance(item, ClipItem):
            return campaign.media[item.clip].fps
    return None


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


# --------------------------------------------------------------------------- per-process state

class _Loaded:
    """A campaign loaded in this process, with its caption maker (transcripts prepared once)."""

    def __init__(self, campaign: Campaign, options: RenderOptions, emit: EventCallback | None = None):
        self.campaign = campaign
        self.cache = Cache(options.cache_dir)
        self.captions = None
        self._lock = threading.Lock()
        self._prepared = False
        self._emit = emit
        self._workdir = tempfile.TemporaryDirectory(prefix="rekrutt-captions-")
        if options.captions and campaign.spec.subtitles.enabled:
            from .subtitles import CaptionMaker

            transcriber = _shared_transcriber(self.cache, options.model or campaign.spec.subtitles.model)
            self.captions = CaptionMaker(campaign, Path(self._workdir.name), emit, transcriber)

    def prepare(self) -> None:
        with self._lock:
            if not self._prepared and self.captions is not None:
                self.captions.prepare()
            self._prepared = True


_memo: dict[tuple, _Loaded] = {}
_transcribers: dict[tuple, object] = {}
_memo_lock = threading.Lock()


def _shared_transcriber(cache: Cache, model: str | None):
    """One Transcriber (one loaded model) per cache and model in this process."""
    from .transcribe import Transcriber

    with _memo_lock:
        key = (str(cache.root), model)
        if key not in _transcribers:
            _transcribers[key] = Transcriber(cache, model)
        return _transcribers[key]


def _model_calls() -> int:
    with _memo_lock:
        return sum(t.model_calls for t in _transcribers.values())


def _worker_loaded(job: OutputJob) -> _Loaded:
    """On a cluster worker: the job's campaign, loaded once per worker process and spec version."""
    key = (str(job.spec), str(job.output_root), job.options.cache_dir, job.options.model, job.options.captions,
           job.spec.stat().st_mtime_ns if job.spec.exists() else 0)
    with _memo_lock:
        found = _memo.get(key)
    if found is None:
        found = _Loaded(load_campaign(job.spec, output=job.output_root), job.options)
        with _memo_lock:
            found = _memo.setdefault(key, found)
    return found


# --------------------------------------------------------------------------- one output

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


def _previous(out_dir: Path) -> dict[str, OutputRecord]:
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


def _lower_thirds(campaign: Campaign, timeline: Timeline, preset: Preset, work: Path):
    """Name straps at the start of each person's first appearance, above the caption zone."""
    from .cards import lower_third
    from .render import Overlay
    from .subtitles import caption_style

    if not campaign.spec.lower_thirds:
        return []
    style = caption_style(preset)
    above = style.margin_v + int(style.size * 2.9)  # clear of two caption lines
    seen: set[str] = set()
    overlays = []
    for seg in timeline.clip_segments():
        person, role = campaign.clip_person(seg.clip_id)
        if not person or person in seen:
            continue
        seen.add(person)
        start = seg.start + Fraction(3, 10)
        duration = min(Fraction(4), seg.duration - Fraction(3, 5))
        if duration < 1:
            continue
        image, x, y = lower_third(person, role, preset, work, above)
        overlays.append(Overlay(image, x, y, start, duration))
    return overlays


def execute_job(job: OutputJob, loaded: _Loaded | None = None, emit: EventCallback | None = None) -> Outcome:
    """Make one output (or find it unchanged). Never raises for a failed render; raises Interrupted.

    ``loaded`` is the campaign as the coordinator loaded it; a cluster worker passes none
    and loads (and validates) the spec itself.
    """
    started = time.perf_counter()
    emit = emit or (lambda e: None)
    try:
        if loaded is None:
            loaded = _worker_loaded(job)
        loaded.prepare()
        campaign = loaded.campaign
        preset = campaign.preset(job.channel)
        timeline = build_timeline(campaign, preset.rate_for(source_rate(campaign)))
        emit(Event("start", job.channel, message=f"{float(timeline.duration):.2f} s at {timeline.rate} fps",
                   campaign=job.campaign))
        with tempfile.TemporaryDirectory(prefix="rekrutt-") as tmp:
            record, rendered = _render_one(
                campaign, loaded, preset, timeline, Path(tmp), job.options,
                lambda f: emit(Event("progress", job.channel, fraction=f, campaign=job.campaign)))
    except Interrupted:
        raise
    except RekruttError as exc:
        log.error("%s/%s failed: %s", job.campaign, job.channel, exc)
        emit(Event("failed", job.channel, message=str(exc), campaign=job.campaign))
        return Outcome(job, "failed", error=str(exc), seconds=time.perf_counter() - started)
    status = "rendered" if rendered else "unchanged"
    emit(Event("done", job.channel, fraction=1.0, record=record, message="" if rendered else "unchanged",
               campaign=job.campaign))
    return Outcome(job, status, record, seconds=time.perf_counter() - started)


def _render_one(campaign: Campaign, loaded: _Loaded, preset: Preset, timeline: Timeline, work: Path,
                options: RenderOptions, progress: ff.ProgressCallback) -> tuple[OutputRecord, bool]:
    out_dir = campaign.out_dir
    cards = {cid: card_png(campaign, cid, preset, work)
             for cid in {s.card_id for s in timeline.segments if isinstance(s, CardSegment)}}
    track = loaded.captions.for_output(preset, timeline) if loaded.captions is not None else None
    crops = _crops(campaign, loaded.cache, timeline, preset)
    overlays = _lower_thirds(campaign, timeline, preset, work)
    music = _music_bed(campaign, loaded.cache, timeline, preset, work)
    final = out_dir / f"{preset.name}.{preset.extension}"
    fingerprint = key_of(
        "output", __version__, dataclasses.asdict(preset), edit_signature(campaign, timeline),
        sorted(p.name for p in cards.values()), campaign.spec.title, campaign.spec.description,
        campaign.spec.hashtags, track.signature() if track is not None else None, sorted(crops.items()),
        [[o.image.name, o.x, o.y, str(o.start), str(o.duration)] for o in overlays], options.safe_zones,
        _music_signature(music),
    )
    old = _previous(out_dir).get(preset.name)
    if (not options.force and old is not None and old.fingerprint == fingerprint and final.is_file()
            and final.stat().st_size == old.size and all((out_dir / f).is_file() for f in old.extras.values())):
        return old, False
    measured = _measure(campaign, loaded.cache, timeline, preset, work, music)
    extras: dict[str, str] = {}
    burn = track.burn_in if track is not None else None
    with atomic_path(final) as tmp:
        cmd = render_command(campaign, timeline, preset, cards, tmp, measured, burn_in=burn,
                             fonts_dir=track.fonts_dir if track is not None else None, crops=crops,
                             overlays=overlays, safe_zones=options.safe_zones, music=music)
        run_command(cmd, work, what=f"render {preset.name}", duration=float(timeline.duration), progress=progress)
        info = probe(tmp)
        verified = parse_ebur128(run_command(verify_command(tmp), work, what=f"loudness check ({preset.name})"))
        poster = out_dir / f"{preset.name}.poster.jpg"
        frame = work / "poster-frame.png"
        run_command(poster_command(tmp, _poster_time(campaign, loaded.cache, timeline), frame, fmt="image2",
                                   codec="png"), work, what="poster")
        with atomic_path(poster) as ptmp:
            poster_with_title(frame, campaign.spec.title, preset, ptmp)
        extras["poster"] = poster.name
        size = tmp.stat().st_size
        digest = sha256_file(tmp)
    if track is not None:
        extras.update(track.write_sidecars(out_dir))
    extras.update(_write_publish_sheet(campaign, preset, final.name, extras, float(info.duration)))
    if preset.max_bytes and size > preset.max_bytes:
        log.warning("%s is %d bytes, over the platform's %d", final.name, size, preset.max_bytes)
    record = OutputRecord(
        channel=preset.name, path=final.name, width=info.width or 0, height=info.height or 0,
        fps=str(timeline.rate), duration=round(float(info.duration), 3), size=size, sha256=digest,
        loudness_lufs=verified.integrated, true_peak_dbtp=verified.true_peak,
        loudness_target_lufs=preset.loudness_lufs, video_codec=info.video_codec or "",
        audio_codec=info.audio_codec or "", audio_channels=info.channels or 0, extras=extras,
        fingerprint=fingerprint,
    )
    return record, True


def _write_publish_sheet(campaign: Campaign, preset: Preset, video: str, extras: dict[str, str],
                         duration: float) -> dict[str, str]:
    from .cta import publish_sheet

    spec = campaign.spec
    captions = [v for k, v in extras.items() if k.startswith("captions.")]
    markdown, data = publish_sheet(
        title=spec.title, description=spec.description or spec.title, hashtags=list(spec.hashtags),
        link=campaign.link(preset.name), preset=preset, video=video, captions=captions, duration=duration,
        burned="captions_burned" in extras)
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


# --------------------------------------------------------------------------- batches

def plan_channels(campaign: Campaign, options: RenderOptions) -> list[str]:
    wanted = list(campaign.spec.channels)
    if options.channels:
        unknown = [c for c in options.channels if c not in wanted]
        if unknown and len(options.channels) == len(unknown):
            raise RekruttError(f"channel(s) not in {campaign.path.name}: {', '.join(unknown)}; "
                               f"the spec lists: {', '.join(wanted)}")
        wanted = [c for c in wanted if c in options.channels]
    return wanted


def plan(campaigns: list[Campaign], options: RenderOptions) -> list[OutputJob]:
    """Every output of every campaign; two that would write the same file are an input error."""
    jobs: list[OutputJob] = []
    owners: dict[Path, tuple[Campaign, str]] = {}
    problems: list[SpecProblem] = []
    for campaign in campaigns:
        for channel in plan_channels(campaign, options):
            preset = campaign.preset(channel)
            target = (campaign.out_dir / f"{channel}.{preset.extension}").resolve()
            if target in owners:
                other, _ = owners[target]
                problems.append(SpecProblem(
                    str(campaign.path), None, None, "campaign",
                    f"writes {target}, as {other.path} does", "give the campaigns different slugs or outputs"))
                continue
            owners[target] = (campaign, channel)
            jobs.append(OutputJob(campaign.path, campaign.output_root, campaign.spec.campaign, channel, options))
    if problems:
        raise SpecError(problems)
    return jobs


def render_batch(campaigns: list[Campaign], options: RenderOptions = RenderOptions(),
                 on_event: EventCallback | None = None) -> BatchResult:
    """Render every output of every campaign as one job graph; write each campaign's manifest."""
    started = time.perf_counter()
    emit = on_event or (lambda e: None)
    jobs = plan(campaigns, options)
    calls_before = _model_calls()
    loaded = {}
    for c in campaigns:  # transcribe each distinct clip once, before the outputs fan out
        if any(j.spec == c.path for j in jobs):
            loaded[c.path] = _Loaded(c, options, emit)
            loaded[c.path].prepare()
    if options.scheduler:
        outcomes = _run_on_cluster(jobs, options, emit)
    else:
        outcomes = _run_locally(jobs, options, loaded, emit)
    calls = _model_calls() - calls_before
    results: dict[str, RenderResult] = {}
    for campaign in campaigns:
        mine = [o for o in outcomes if o.job.spec == campaign.path]
        if not mine:
            continue
        records = {o.job.channel: o.record for o in mine if o.record is not None}
        previous = _previous(campaign.out_dir)
        # keep manifest entries of channels not rendered in this run (e.g. -c youtube)
        for channel, record in previous.items():
            if channel in campaign.spec.channels and channel not in records and \
                    (campaign.out_dir / record.path).is_file():
                records[channel] = record
        failures = {o.job.channel: o.error or "skipped after an earlier failure (--fail-fast)"
                    for o in mine if o.status in ("failed", "skipped")}
        order = [c for c in campaign.spec.channels if c in records]
        manifest = campaign.out_dir / "manifest.json"
        write_text_atomic(manifest, json.dumps(_manifest(campaign, [records[c] for c in order], failures),
                                               indent=2, ensure_ascii=False) + "\n")
        mine_records = [o.record for o in mine if o.record is not None]
        results[campaign.spec.campaign] = RenderResult(mine_records, failures, manifest, calls, mine)
    return BatchResult(results, calls, time.perf_counter() - started)


def render_campaign(campaign: Campaign, options: RenderOptions = RenderOptions(),
                    on_event: EventCallback | None = None) -> RenderResult:
    """Render one campaign (a batch of one)."""
    batch = render_batch([campaign], options, on_event)
    return batch.campaigns.get(campaign.spec.campaign) or RenderResult([], {}, None, batch.model_calls)


def _run_locally(jobs: list[OutputJob], options: RenderOptions, loaded: dict[Path, _Loaded],
                 emit: EventCallback) -> list[Outcome]:
    outcomes: dict[int, Outcome] = {}
    stop = threading.Event()

    def one(i: int, job: OutputJob) -> None:
        if stop.is_set():
            outcomes[i] = Outcome(job, "skipped")
            return
        outcome = execute_job(job, loaded[job.spec], emit)
        outcomes[i] = outcome
        if outcome.status == "failed" and options.fail_fast:
            stop.set()

    if options.jobs > 1 and len(jobs) > 1:
        with concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs) as pool:
            futures = [pool.submit(one, i, j) for i, j in enumerate(jobs)]
            try:
                for fut in futures:
                    fut.result()
            except BaseException:
                # Ctrl-C reaches this (main) thread: stop the workers' ffmpeg children too,
                # and let them clean their temporary files up before we leave.
                for fut in futures:
                    fut.cancel()
                ff.stop_all()
                concurrent.futures.wait(futures)
                raise
    else:
        for i, job in enumerate(jobs):
            one(i, job)
    return [outcomes.get(i, Outcome(j, "skipped")) for i, j in enumerate(jobs)]


def _run_on_cluster(jobs: list[OutputJob], options: RenderOptions, emit: EventCallback) -> list[Outcome]:
    """Run the jobs on a Dask cluster; the workers must see the same specs, library, cache and output paths."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise RekruttError("a Dask scheduler was given, but dask[distributed] is not installed: "
                           "pip install 'dask[distributed]'") from exc
    try:
        client = Client(options.scheduler, timeout=30)
    except OSError as exc:
        raise RekruttError(f"cannot reach the Dask scheduler at {options.scheduler}: {exc}") from exc
    try:
        local_options = dataclasses.replace(options, scheduler=None)
        futures = {}
        for job in jobs:
            job = dataclasses.replace(job, options=local_options)
            emit(Event("start", job.channel, message="sent to the cluster", campaign=job.campaign))
            futures[client.submit(execute_job, job, pure=False)] = job
        outcomes: dict[OutputJob, Outcome] = {}
        from distributed import as_completed

        for fut in as_completed(list(futures)):
            job = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # a worker died, or the job raised something unexpected
                outcome = Outcome(job, "failed", error=f"cluster job failed: {exc}")
            outcomes[job] = outcome
            if outcome.status == "failed":
                emit(Event("failed", job.channel, message=outcome.error, campaign=job.campaign))
                if options.fail_fast:
                    for other in futures:
                        other.cancel()
                    break
            else:
                emit(Event("done", job.channel, fraction=1.0, record=outcome.record, campaign=job.campaign,
                           message="" if outcome.status == "rendered" else "unchanged"))
        return [outcomes.get(dataclasses.replace(j, options=local_options), Outcome(j, "skipped")) for j in jobs]
    finally:
        client.close()


def _manifest(campaign: Campaign, outputs: list[OutputRecord], failures: dict[str, str]) -> dict:
    return {
        "campaign": campaign.spec.campaign,
        "title": campaign.spec.title,
        "spec": str(campaign.path),
        "rekrutt_version": __version__,
        "outputs": [asdict(o) for o in outputs],
        "failed": failures,
    }
