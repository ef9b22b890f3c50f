"""The job runner: every output of every campaign as one job graph, run locally or on a Dask cluster.

:func:`render_batch` validates all campaigns first (and refuses two that would
write the same file), gets each distinct clip's transcript once, then runs one
job per output: locally on ``jobs`` threads (each drives an ffmpeg process), or on
a Dask cluster whose workers share the library, cache and output folders. A job
whose inputs have not changed since its last render (same fingerprint in the
manifest, file still there) is not rendered again. Each campaign's
``manifest.json`` is written at the end; a failing output does not stop the
others unless ``fail_fast``, but a full disk or an unusable cache stops the run
with one error (every output would fail alike). The run holds a lease on the
cache (:meth:`~pipeline.cache.Cache.lease`), so a prune meanwhile keeps what it uses.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import errno
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import ffmpeg as ff
from . import manifest, schedule
from .accessibility import report as accessibility_report
from .accessibility import write_report
from .cache import Cache
from .campaign import Campaign, OutputKey
from .captions import CaptionRules, cues_for_timeline
from .describe import transcripts_of
from .described import describe_output
from .errors import (
    CacheError,
    FolderFull,
    InputError,
    Interrupted,
    NoSpace,
    RekruttError,
    SpecError,
    SpecProblem,
)
from .files import refuse_links
from .interchange import export
from .job import OutputSpec, output_spec
from .load import load_campaign
from .manifest import OutputRecord
from .output import make_output
from .probe import probe_as
from .review import write_review
from .subtitles import CaptionMaker
from .timeline import source_rate
from .transcribe import model_calls_total, model_for, shared_transcriber

__all__ = ["RenderOptions", "OutputRecord", "Event", "OutputJob", "Outcome", "RenderResult", "BatchResult",
           "render_batch", "render_campaign", "execute_job", "plan", "source_rate"]

log = logging.getLogger("rekrutt")


@dataclass(frozen=True)
class RenderOptions:
    """What to render and how."""

    channels: tuple[str, ...] | None = None  #: a subset of the specs' channels (None: all)
    versions: tuple[str, ...] | None = None  #: a subset of the specs' versions, "main" for the main film (None: all)
    jobs: int = 1  #: outputs rendered at once (local threads)
    captions: bool = True  #: make captions (the spec can still turn them off)
    cache_dir: Path | None = None  #: cache folder (default: $REKRUTT_CACHE_DIR or the platform's)
    model: str | None = None  #: Whisper model, overriding the spec's
    force: bool = False  #: render even when nothing changed
    safe_zones: bool = False  #: shade the zones each platform's interface covers (for checking renders)
    fail_fast: bool = False  #: stop at the first failed output
    scheduler: str | None = None  #: Dask scheduler address (tcp://host:8786); None renders locally
    draft: bool = False  #: quick looks: a third of the size, fastest settings, "UTKAST" burned in, in draft/


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
    campaign: str  #: campaign slug, with "/version" for a version (for messages and reports)
    channel: str
    options: RenderOptions
    version: str | None = None  #: which version (None: the main film)
    #: with --force: when the run began (time.time()); pieces made before it are made again
    made_since: float | None = None
    #: pieces of this output made at once: the batch's jobs left over (``-j 2`` and one output: 2)
    workers: int = 1
    #: what the output is cut from, resolved once by :func:`plan` (None on a cluster worker, which
    #: loads the spec itself, or where it could not be resolved: the job then fails with the reason)
    output: OutputSpec | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> OutputKey:
        return OutputKey(self.version, self.channel)


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


# --------------------------------------------------------------------------- per-process state

class LoadedCampaign:
    """A campaign loaded in this process, with its caption maker (transcripts prepared once by :meth:`prepare`).

    The runner makes one per campaign and edition; ``rekrutt edit`` makes one for the edit's captions.
    """

    def __init__(self, campaign: Campaign, options: RenderOptions, emit: EventCallback | None = None):
        self.campaign = campaign
        self.cache = Cache(options.cache_dir)
        self.captions = None
        self._lock = threading.Lock()
        self._prepared = False
        self._emit = emit
        self._workdir = tempfile.TemporaryDirectory(prefix="rekrutt-captions-")
        if options.captions and campaign.spec.subtitles.enabled:
            transcriber = shared_transcriber(self.cache, model_for(campaign.spec.subtitles, options.model))
            self.captions = CaptionMaker(campaign, Path(self._workdir.name), transcriber)

    def prepare(self) -> None:
        with self._lock:
            if not self._prepared and self.captions is not None:
                done = self.captions.prepare()
                if self._emit is not None:
                    how = "all from cache" if done.model_runs == 0 else "cached for next time"
                    self._emit(Event("info", "", message=f"captions: {done.clips} clip(s), {done.model_runs} "
                                     f"model run(s) ({how})", campaign=self.campaign.label))
            self._prepared = True


_memo: dict[tuple, LoadedCampaign] = {}
_memo_lock = threading.Lock()


def _worker_loaded(job: OutputJob) -> LoadedCampaign:
    """On a cluster worker: the job's campaign, loaded once per worker process and spec version."""
    key = (str(job.spec), job.version, str(job.output_root), job.options.cache_dir, job.options.model,
           job.options.captions, job.spec.stat().st_mtime_ns if job.spec.exists() else 0)
    with _memo_lock:
        found = _memo.get(key)
    if found is None:
        campaign = load_campaign(job.spec, output=job.output_root, channels=job.options.channels,
                                 versions=job.options.versions, cache_dir=job.options.cache_dir,
                                 model=job.options.model, prober=probe_as, transcriber=shared_transcriber)
        found = LoadedCampaign(campaign.for_version(job.version) if job.version else campaign, job.options)
        with _memo_lock:
            found = _memo.setdefault(key, found)
    return found


def execute_job(job: OutputJob, loaded: LoadedCampaign | None = None, emit: EventCallback | None = None) -> Outcome:
    """Make one output (or find it unchanged). Never raises for a failed render; raises Interrupted, and
    the errors that stop the whole run because every output would meet them: a cache that cannot be used
    (:class:`CacheError`, a full disk included) and a full output or temporary folder (:class:`FolderFull`).

    ``loaded`` is the campaign as the coordinator loaded it; a cluster worker passes none
    and loads (and validates) the spec itself.
    """
    started = time.perf_counter()
    emit = emit or (lambda e: None)
    cache = loaded.cache if loaded is not None else Cache(job.options.cache_dir)
    with cache.lease(f"render of {job.campaign}"):  # a cluster worker's own; locally, the batch's
        try:
            return _execute_job(job, loaded, emit, started)
        except (NoSpace, OSError) as exc:
            full = _disk_full(exc, cache, job.output_root)
            if full is None:
                raise
            raise full from exc


def _execute_job(job: OutputJob, loaded: LoadedCampaign | None, emit: EventCallback, started: float) -> Outcome:
    try:
        if loaded is None:
            loaded = _worker_loaded(job)
        loaded.prepare()
        output = job.output or output_spec(loaded.campaign, job.key, job.options.draft)
        timeline = output.timeline
        emit(Event("start", job.channel, message=f"{float(timeline.duration):.2f} s at {timeline.rate} fps",
                   campaign=job.campaign))
        with tempfile.TemporaryDirectory(prefix="rekrutt-") as tmp:
            record, rendered, cards, joined = make_output(
                output, Path(tmp), cache=loaded.cache, captions=loaded.captions,
                force=job.options.force, safe_zones=job.options.safe_zones,
                progress=lambda f: emit(Event("progress", job.channel, fraction=f, campaign=job.campaign)),
                made_since=job.made_since, workers=job.workers)
            if not job.options.draft:  # synstolking (WCAG 1.2.5): the described version beside the output
                described = describe_output(output, Path(tmp), record, loaded.captions, force=job.options.force,
                                            cache=loaded.cache, cards=cards, joined=joined)
                if described is not record:
                    record = described
                    manifest.update(output.edition, record=record)
    except (Interrupted, CacheError, FolderFull, NoSpace):  # they stop the run: every output would fail alike
        raise
    except RekruttError as exc:
        log.error("%s/%s failed: %s", job.campaign, job.channel, exc)
        emit(Event("failed", job.channel, message=str(exc), campaign=job.campaign))
        return Outcome(job, "failed", error=str(exc), seconds=time.perf_counter() - started)
    status = "rendered" if rendered else "unchanged"
    emit(Event("done", job.channel, fraction=1.0, record=record, message="" if rendered else "unchanged",
               campaign=job.campaign))
    return Outcome(job, status, record, seconds=time.perf_counter() - started)


def _disk_full(exc: OSError | NoSpace, cache: Cache, *output_roots: Path) -> RekruttError | None:
    """The run's error for a write that found its disk full, naming the folder (the cache, the output
    folder or another) and how to choose another; None when ``exc`` is not about a full disk."""
    if isinstance(exc, NoSpace):
        paths, detail = exc.paths, f"{exc.what}: {ff.NO_SPACE}"
    elif exc.errno == errno.ENOSPC:
        paths, detail = [exc.filename] if exc.filename else [], f"writing {exc.filename}: {exc.strerror}"
    else:
        return None
    if cache.holds(paths):
        return cache.full(detail)
    for root in (r.absolute() for r in output_roots):
        if not any(Path(p).absolute().is_relative_to(root) for p in paths):
            continue
        same = ""
        with contextlib.suppress(OSError):
            if cache.root.stat().st_dev == root.stat().st_dev:
                same = f" (the cache folder {cache.root} is on the same disk)"
        return FolderFull(f"the output folder {root} is on a full disk ({detail}){same}; free space there, "
                          "or choose another folder with --out")
    folder = Path(paths[0]).absolute().parent if paths else Path(tempfile.gettempdir())
    return FolderFull(f"the folder {folder} is on a full disk ({detail}); free space there (temporary files: "
                      "choose their folder with TMPDIR)")


# --------------------------------------------------------------------------- batches

def auto_jobs() -> int:
    """Outputs to render at once for ``--jobs auto`` (the default): one per core, at most one per GB of
    available memory (one output's ffmpeg peaks under 0.5 GB; the rest is headroom), at least one.

    On 2 cores two outputs at once fill the time one output leaves a core idle (its filter graph,
    the loudness check, the poster): the example's final render measured about 5 % faster than one at a time.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            available_kb = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
        by_memory = int(available_kb / (1024 * 1024))
    except (OSError, StopIteration, ValueError):
        by_memory = cores
    return max(1, min(cores, by_memory))


def plan(campaigns: list[Campaign], options: RenderOptions) -> list[OutputJob]:
    """Every output of every campaign and version; two that would write the same file are an input error.

    Load the campaigns with ``channels=``/``versions=`` (as the CLI does) to have unknown names
    reported with their position; here an unknown name is still an input error, never dropped silently.
    """
    jobs: list[OutputJob] = []
    since = time.time() if options.force else None
    owners: dict[Path, tuple[Campaign, str]] = {}
    problems: list[SpecProblem] = []
    for campaign in campaigns:
        editions = campaign.editions()
        if options.channels:
            known = campaign.all_channels
            unknown = [c for c in options.channels if c not in known]
            if unknown:
                raise InputError(f"channel(s) not in {campaign.path.name}: {', '.join(unknown)}; "
                                 f"the spec lists: {', '.join(sorted(known))}")
        by_version = {e.version: e for e in editions}
        # what the run renders is decided once, by Campaign.outputs (which the consent check checked);
        # options.channels can only narrow it (a campaign loaded without -c, e.g. by a script)
        for key in campaign.outputs():
            if options.channels and key.channel not in options.channels:
                continue
            edition, channel = by_version[key.version], key.channel
            try:
                output = output_spec(edition, key, options.draft)
            except RekruttError:  # the job fails with it, alone, when it is made
                output = None
            preset = edition.preset(channel)
            target = (edition.out_dir / f"{channel}.{preset.extension}").resolve()
            if target in owners:
                other, _ = owners[target]
                problems.append(SpecProblem(
                    str(campaign.path), None, None, "campaign",
                    f"writes {target}, as {other.path} does", "give the campaigns different slugs or outputs"))
                continue
            owners[target] = (campaign, channel)
            jobs.append(OutputJob(campaign.path, campaign.output_root, edition.label, channel, options,
                                  edition.version, since, output=output))
    if problems:
        raise SpecError(problems)
    return jobs


def render_batch(campaigns: list[Campaign], options: RenderOptions = RenderOptions(),
                 on_event: EventCallback | None = None) -> BatchResult:
    """Render every output of every campaign as one job graph; write each campaign's manifest."""
    cache = Cache(options.cache_dir)
    with cache.lease("render of " + ", ".join(c.spec.campaign for c in campaigns)):
        try:
            return _render_batch(campaigns, options, on_event)
        except (NoSpace, OSError) as exc:  # a manifest or an edit file on a full disk, or a caption pass
            full = _disk_full(exc, cache, *{c.output_root for c in campaigns})
            if full is None:
                raise
            raise full from exc


def _render_batch(campaigns: list[Campaign], options: RenderOptions, on_event: EventCallback | None
                  ) -> BatchResult:
    started = time.perf_counter()
    emit = on_event or (lambda e: None)
    jobs = plan(campaigns, options)
    for c in campaigns:  # before any work: a planted link would have outputs written where it points
        refuse_links(c.output_root / c.spec.campaign)
    calls_before = model_calls_total()
    loaded: dict[tuple, LoadedCampaign] = {}
    editions: dict[tuple, Campaign] = {}
    for c in campaigns:  # transcribe each distinct clip once (the cache serves the rest), before the fan-out
        for edition in c.editions():
            key = (c.path, edition.version)
            editions[key] = edition
            if any((j.spec, j.version) == key for j in jobs):
                loaded[key] = LoadedCampaign(edition, options, emit)
                loaded[key].prepare()
    if options.scheduler:
        outcomes = _run_on_cluster(jobs, options, emit)
    else:
        outcomes = _run_locally(jobs, options, loaded, emit)
    calls = model_calls_total() - calls_before
    results: dict[str, RenderResult] = {}
    for (spec_path, version), campaign in editions.items():
        mine = [o for o in outcomes if (o.job.spec, o.job.version) == (spec_path, version)]
        if not mine:
            continue
        if options.draft:
            campaign = dataclasses.replace(campaign, draft=True)
        # each output recorded itself as it finished; what is left is the run's failures (and an
        # unchanged output's entry, for a manifest written by an older version)
        failures = {o.job.channel: o.error or "skipped after an earlier failure (--fail-fast)"
                    for o in mine if o.status in ("failed", "skipped")}
        unchanged = [o.record for o in mine if o.status == "unchanged" and o.record is not None]
        path = manifest.update(campaign, records=unchanged, failures=failures)
        done = [o.job.channel for o in mine if o.status in ("rendered", "unchanged")]
        edit_file = campaign.out_dir / f"{campaign.version or 'main'}.otio"
        same = all(o.status == "unchanged" for o in mine) and _newer_than_spec(edit_file, spec_path)
        if done and (spec_path, version) in loaded and not options.draft and not same:
            try:
                write_edit(output_spec(campaign, OutputKey(version, done[0])), loaded[(spec_path, version)])
            except RekruttError as exc:
                log.warning("%s: the edit file (OTIO) was not written: %s", campaign.label, exc)
        if version is not None and not options.draft:
            manifest.link_version(campaign, path)
        mine_records = [o.record for o in mine if o.record is not None]
        results[campaign.label] = RenderResult(mine_records, failures, path, calls, mine)
    for campaign in campaigns:  # the review page, from the manifests just written
        mine = [o for o in outcomes if o.job.spec == campaign.path]
        page = campaign.out_dir / "index.html"
        unchanged = mine and all(o.status == "unchanged" for o in mine) and page.is_file()
        if mine and not options.draft and not unchanged:  # (`review SPEC` rebuilds it on demand)
            write_review_page(campaign, options)
    for campaign in campaigns:  # the accessibility report (WCAG 1.2.2, 1.2.5, 1.4.3)
        mine = [o for o in outcomes if o.job.spec == campaign.path]
        same = all(o.status == "unchanged" for o in mine) and _newer_than_spec(
            campaign.out_dir / "accessibility.json", campaign.path)
        if not options.draft and mine and not same:
            _write_accessibility(campaign, [v for (p, _), v in loaded.items() if p == campaign.path])
    return BatchResult(results, calls, time.perf_counter() - started)


def _newer_than_spec(made: Path, spec: Path) -> bool:
    """Whether ``made`` (an edit file, the accessibility report) was written after the spec last changed: with
    every output unchanged it is then written again the same (issue 25: an unchanged run writes nothing)."""
    try:
        return made.stat().st_mtime_ns >= spec.stat().st_mtime_ns
    except OSError:
        return False


def _write_accessibility(campaign: Campaign, loaded: list[LoadedCampaign]) -> None:
    """``accessibility.md`` and ``.json`` beside the outputs (a failure is only a warning: the outputs are made)."""
    transcripts = transcripts_of(campaign)
    for x in loaded:
        transcripts.update(transcripts_of(x.campaign, x.captions))
    try:
        write_report(campaign, accessibility_report(campaign, transcripts))
    except (RekruttError, OSError) as exc:
        log.warning("%s: the accessibility report was not written: %s", campaign.label, exc)


def write_review_page(campaign: Campaign, options: RenderOptions = RenderOptions()) -> Path | None:
    """``index.html`` and ``contact-sheet.png`` in the campaign's output folder (a failure is only a warning:
    the outputs are made)."""
    try:
        cache = Cache(options.cache_dir)
        transcriber = shared_transcriber(cache, model_for(campaign.spec.subtitles, options.model))
        return write_review(campaign, transcriber if campaign.spec.subtitles.enabled else None, cache=cache)
    except (RekruttError, OSError) as exc:
        log.warning("%s: the review page was not written: %s", campaign.label, exc)
        return None


def write_edit(output: OutputSpec, loaded: LoadedCampaign | None = None, path: Path | None = None,
               fmt: str = "otio") -> Path:
    """The edit as ``output``'s channel plays it, with captions as markers, in ``fmt`` (default:
    ``<version or main>.otio`` beside the outputs)."""
    campaign, timeline = output.edition, output.timeline
    cues = []
    if loaded is not None and loaded.captions is not None and loaded.captions.transcripts:
        by_clip = next(iter(loaded.captions.transcripts.values()))
        cues = cues_for_timeline(timeline, by_clip, CaptionRules.for_rate(timeline.rate))
    return export(output, path or campaign.out_dir / f"{campaign.version or 'main'}.otio", fmt,
                  cues, cache=loaded.cache if loaded is not None else None)


def render_campaign(campaign: Campaign, options: RenderOptions = RenderOptions(),
                    on_event: EventCallback | None = None) -> RenderResult:
    """Render one campaign (a batch of one)."""
    batch = render_batch([campaign], options, on_event)
    return batch.campaigns.get(campaign.spec.campaign) or RenderResult([], {}, None, batch.model_calls)


def _run_locally(jobs: list[OutputJob], options: RenderOptions, loaded: dict[Path, LoadedCampaign],
                 emit: EventCallback) -> list[Outcome]:
    outcomes: dict[int, Outcome] = {}
    stop = threading.Event()
    spare = max(1, options.jobs // max(1, len(jobs)))  # jobs to spare (fewer outputs): pieces made at once

    def one(i: int, job: OutputJob) -> None:
        if stop.is_set():
            outcomes[i] = Outcome(job, "skipped")
            return
        outcome = execute_job(dataclasses.replace(job, workers=spare), loaded[(job.spec, job.version)], emit)
        outcomes[i] = outcome = dataclasses.replace(outcome, job=job)
        if outcome.status == "failed" and options.fail_fast:
            stop.set()

    if options.jobs > 1 and len(jobs) > 1:
        order = schedule.order([((job.spec, job.version), job.output) for job in jobs])
        with concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs) as pool:
            futures = [pool.submit(one, i, jobs[i]) for i in order]
            try:
                concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
                stops = [f.exception() for f in futures if f.done() and f.exception() is not None]
                if stops and all(isinstance(e, RekruttError) and not isinstance(e, Interrupted) for e in stops):
                    # an error that stops the run (a full disk): the jobs not yet started are skipped, those
                    # under way end (failing alike), and the run reports it once
                    stop.set()
                    concurrent.futures.wait(futures)
                for fut in futures:
                    fut.result()
            except RekruttError as exc:
                if isinstance(exc, Interrupted):
                    _stop_workers(futures, exc)
                raise
            except BaseException as exc:
                _stop_workers(futures, exc)
                raise
    else:
        for i, job in enumerate(jobs):
            one(i, job)
    return [outcomes.get(i, Outcome(j, "skipped")) for i, j in enumerate(jobs)]


def _stop_workers(futures: list[concurrent.futures.Future], exc: BaseException) -> None:
    """Ctrl-C or SIGTERM reached this (main) thread: stop the workers' ffmpeg children too, and let them
    clean their temporary files up before we leave."""
    for fut in futures:
        fut.cancel()
    ff.stop_for(exc)
    concurrent.futures.wait(futures)


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
            job = dataclasses.replace(job, options=local_options, output=None)  # the worker resolves its own
            emit(Event("start", job.channel, message="sent to the cluster", campaign=job.campaign))
            futures[client.submit(execute_job, job, pure=False)] = job
        outcomes: dict[OutputJob, Outcome] = {}
        from distributed import as_completed

        for fut in as_completed(list(futures)):
            job = futures[fut]
            try:
                outcome = fut.result()
            except (CacheError, FolderFull, NoSpace):  # the run stops (a full disk), as it does locally
                for other in futures:
                    other.cancel()
                raise
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
