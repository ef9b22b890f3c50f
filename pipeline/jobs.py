"""The job runner: renders every channel of a campaign and writes the manifest.

For each channel: lay out the timeline at its frame rate, draw its cards,
measure the edit's loudness (once per distinct rate, layout and target), run the
render into a temporary file, verify it (probe and ebur128), then rename it into
place. Progress goes to a callback as :class:`Event` objects; the CLI draws them.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

from . import __version__
from . import ffmpeg as ff
from .cards import card_png
from .channels import Preset
from .errors import Interrupted, RekruttError
from .files import atomic_path, sha256_file, write_text_atomic
from .loudness import Measured, parse_ebur128, parse_loudnorm
from .probe import probe
from .render import FfmpegCommand, measure_command, poster_command, render_command, verify_command
from .spec import Campaign, ClipItem
from .timeline import ClipSegment, Timeline, build_timeline

log = logging.getLogger("rekrutt")


@dataclass(frozen=True)
class RenderOptions:
    """What to render and how."""

    channels: tuple[str, ...] | None = None  #: a subset of the spec's channels (None: all)
    jobs: int = 1  #: outputs rendered at once
    captions: bool = True  #: make captions (the spec can still turn them off)
    cache_dir: Path | None = None  #: cache folder (default: $REKRUTT_CACHE_DIR or the platform's)
    model: str | None = None  #: Whisper model, overriding the spec's


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


@dataclass(frozen=True)
class Event:
    """Something for the user to see: an output started, progressed, finished or failed."""

    kind: Literal["start", "progress", "done", "failed", "info"]
    channel: str
    fraction: float = 0.0
    message: str = ""
    record: OutputRecord | None = None


@dataclass
class RenderResult:
    """What a campaign render produced."""

    outputs: list[OutputRecord]
    failures: dict[str, str]  #: channel -> error message
    manifest: Path | None

    @property
    def ok(self) -> bool:
        return not self.failures


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


class _LoudnessCache:
    """Measured loudness per (timeline rate, layout, target): a campaign is measured once per kind of output."""

    def __init__(self, campaign: Campaign, work: Path):
        self.campaign, self.work = campaign, work
        self._lock = threading.Lock()
        self._values: dict[tuple, Measured] = {}

    def get(self, timeline: Timeline, preset: Preset) -> Measured:
        key = (timeline.rate, preset.audio_channels, preset.loudness_lufs, preset.true_peak_dbtp)
        with self._lock:
            if key not in self._values:
                stderr = run_command(measure_command(self.campaign, timeline, preset), self.work,
                                     what=f"loudness measurement ({preset.name})")
                self._values[key] = parse_loudnorm(stderr)
                log.info("measured %s: %.1f LUFS, %.1f dBTP", preset.name, self._values[key].integrated,
                         self._values[key].true_peak)
            return self._values[key]


def plan_channels(campaign: Campaign, options: RenderOptions) -> list[str]:
    wanted = list(campaign.spec.channels)
    if options.channels:
        unknown = [c for c in options.channels if c not in wanted]
        if unknown:
            raise RekruttError(f"channel(s) not in {campaign.path.name}: {', '.join(unknown)}; "
                               f"the spec lists: {', '.join(wanted)}")
        wanted = [c for c in wanted if c in options.channels]
    return wanted


def render_campaign(campaign: Campaign, options: RenderOptions = RenderOptions(),
                    on_event: EventCallback | None = None) -> RenderResult:
    """Render every (chosen) channel of a validated campaign; write ``manifest.json``.

    A failing channel does not stop the others; its error is in the result. An
    :class:`Interrupted` (Ctrl-C, SIGTERM) stops everything and leaves no partial file.
    """
    emit = on_event or (lambda e: None)
    names = plan_channels(campaign, options)
    out_dir = campaign.out_dir
    rate_in = source_rate(campaign)
    records: dict[str, OutputRecord] = {}
    failures: dict[str, str] = {}

    with tempfile.TemporaryDirectory(prefix="rekrutt-") as tmp:
        work = Path(tmp)
        loudness = _LoudnessCache(campaign, work)
        captions = None
        if options.captions and campaign.spec.subtitles.enabled:
            from .cache import Cache
            from .subtitles import CaptionMaker
            from .transcribe import Transcriber

            cache = Cache(options.cache_dir)
            transcriber = Transcriber(cache, options.model or campaign.spec.subtitles.model)
            captions = CaptionMaker(campaign, work, emit, transcriber)

        def one(name: str) -> None:
            preset = campaign.preset(name)
            timeline = build_timeline(campaign, preset.rate_for(rate_in))
            emit(Event("start", name, message=f"{float(timeline.duration):.2f} s at {timeline.rate} fps"))
            try:
                record = _render_one(campaign, preset, timeline, work, out_dir, loudness, captions,
                                     lambda f: emit(Event("progress", name, fraction=f)))
            except Interrupted:
                raise
            except RekruttError as exc:
                failures[name] = str(exc)
                log.error("%s failed: %s", name, exc)
                emit(Event("failed", name, message=str(exc)))
                return
            records[name] = record
            emit(Event("done", name, fraction=1.0, record=record))

        if captions is not None:
            captions.prepare()  # transcribe what is needed once, before the renders fan out
        if options.jobs > 1 and len(names) > 1:
            with concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs) as pool:
                futures = [pool.submit(one, n) for n in names]
                try:
                    for fut in futures:
                        fut.result()
                except BaseException:
                    for fut in futures:
                        fut.cancel()
                    raise
        else:
            for n in names:
                one(n)

    outputs = [records[n] for n in names if n in records]
    manifest = out_dir / "manifest.json"
    if outputs or failures:
        write_text_atomic(manifest, json.dumps(_manifest(campaign, outputs, failures), indent=2,
                                               ensure_ascii=False) + "\n")
    return RenderResult(outputs, failures, manifest)


def _manifest(campaign: Campaign, outputs: list[OutputRecord], failures: dict[str, str]) -> dict:
    return {
        "campaign": campaign.spec.campaign,
        "title": campaign.spec.title,
        "spec": str(campaign.path),
        "rekrutt_version": __version__,
        "outputs": [asdict(o) for o in outputs],
        "failed": failures,
    }


def _render_one(campaign: Campaign, preset: Preset, timeline: Timeline, work: Path, out_dir: Path,
                loudness: _LoudnessCache, captions, progress: ff.ProgressCallback) -> OutputRecord:
    cards = {seg_card: card_png(campaign, seg_card, preset, work)
             for seg_card in {s.card_id for s in timeline.segments if hasattr(s, "card_id")}}
    measured = loudness.get(timeline, preset)
    final = out_dir / f"{preset.name}.{preset.extension}"
    extras: dict[str, str] = {}
    track = captions.for_output(preset, timeline) if captions is not None else None
    burn = track.burn_in if track is not None else None
    with atomic_path(final) as tmp:
        cmd = render_command(campaign, timeline, preset, cards, tmp, measured, burn_in=burn,
                             fonts_dir=track.fonts_dir if track is not None else None)
        run_command(cmd, work, what=f"render {preset.name}", duration=float(timeline.duration), progress=progress)
        info = probe(tmp)
        verified = parse_ebur128(run_command(verify_command(tmp), work, what=f"loudness check ({preset.name})"))
        if preset.poster:
            poster = out_dir / f"{preset.name}.poster.jpg"
            with atomic_path(poster) as ptmp:
                run_command(poster_command(tmp, _poster_time(timeline), ptmp), work, what="poster")
            extras["poster"] = poster.name
        size = tmp.stat().st_size
        digest = sha256_file(tmp)
    if track is not None:
        extras.update(track.write_sidecars(out_dir))
    if preset.max_bytes and size > preset.max_bytes:
        log.warning("%s is %d bytes, over the platform's %d", final.name, size, preset.max_bytes)
    return OutputRecord(
        channel=preset.name, path=final.name, width=info.width or 0, height=info.height or 0,
        fps=str(timeline.rate), duration=round(float(info.duration), 3), size=size, sha256=digest,
        loudness_lufs=verified.integrated, true_peak_dbtp=verified.true_peak,
        loudness_target_lufs=preset.loudness_lufs, video_codec=info.video_codec or "",
        audio_codec=info.audio_codec or "", audio_channels=info.channels or 0, extras=extras,
    )


def _poster_time(timeline: Timeline) -> Fraction:
    """A frame in the middle of the first interview cut (a face, not a card)."""
    for seg in timeline.segments:
        if isinstance(seg, ClipSegment):
            return seg.start + seg.duration / 2
    return timeline.duration / 2
