"""Rekrutt's command line: thin wrappers around the pipeline library.

Exit codes (the contract CI relies on; :func:`pipeline.errors.exit_code` is the one mapping):
0 success, 1 a render failed (or the cache or another tool could not be used), 2 invalid
input (nothing rendered), 130 interrupted by Ctrl-C (SIGINT), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
from pathlib import Path

import click

from pipeline import __version__
from pipeline.errors import Interrupted, RekruttError, SpecError, Terminated, exit_code

log = logging.getLogger("rekrutt")


class Reporter:
    """Draws render events: a progress bar per output with ETA on a terminal, plain lines otherwise (CI)."""

    def __init__(self, multi: bool = False):
        from rich.console import Console

        self.multi = multi
        self.console = Console(stderr=True)
        self.live = self.console.is_terminal
        self.progress = None
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> Reporter:
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("{task.description:<18}"), BarColumn(),
                                     TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                                     TextColumn("{task.fields[note]}"), console=self.console)
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()

    def event(self, e) -> None:
        if self.progress is not None:
            name = f"{e.campaign}/{e.channel}" if self.multi else e.channel
            if e.kind == "start":
                self.tasks[name] = self.progress.add_task(name, total=1.0, note=e.message)
            elif e.kind == "progress" and name in self.tasks:
                self.progress.update(self.tasks[name], completed=e.fraction)
            elif e.kind == "done" and name in self.tasks:
                self.progress.update(self.tasks[name], completed=1.0, note=f"[green]{e.message or 'done'}")
            elif e.kind == "failed" and name in self.tasks:
                self.progress.update(self.tasks[name], note="[red]FAILED")
            elif e.kind == "info":
                self.progress.console.print(e.message)
            return
        if e.kind == "progress":
            return
        line = {"start": "started", "done": "done", "failed": "FAILED", "info": ""}[e.kind]
        text = f"[{e.campaign}] {e.channel} {line} {e.message}".rstrip() if e.channel else e.message
        print(text, file=sys.stderr, flush=True)

    def summary(self, batch) -> None:
        """A table of every output (on a terminal), or one line each."""
        rows = []
        for o in batch.outcomes:
            r = o.record
            detail = (f"{r.width}x{r.height} {r.fps} fps {r.duration:.2f} s {r.size / 1e6:.1f} MB "
                      f"{r.loudness_lufs:.1f} LUFS") if r else o.error.splitlines()[0] if o.error else ""
            rows.append((o.job.campaign, o.job.channel, o.status, f"{o.seconds:.1f}", detail))
        if self.console.is_terminal:
            from rich.table import Table

            table = Table(title="Outputs")
            for col in ("campaign", "channel", "status", "seconds", "result"):
                table.add_column(col)
            colour = {"rendered": "green", "unchanged": "cyan", "failed": "red", "skipped": "yellow"}
            for c, ch, status, secs, detail in rows:
                table.add_row(c, ch, f"[{colour[status]}]{status}", secs, detail)
            self.console.print(table)
        else:
            for c, ch, status, secs, detail in rows:
                click.echo(f"{c}/{ch}: {status} ({secs} s) {detail}")
        for name, result in batch.campaigns.items():
            for channel, message in result.failures.items():
                click.echo(f"{name}/{channel}: FAILED: {message}", err=True)
            if result.manifest and result.manifest.exists():
                click.echo(f"manifest: {result.manifest}")
        click.echo(f"model runs: {batch.model_calls}; {batch.seconds:.1f} s in all", err=True)


def _setup_logging(verbose: int) -> None:
    from rich.logging import RichHandler

    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler: logging.Handler
    if sys.stderr.isatty():
        handler = RichHandler(show_path=False, markup=False, rich_tracebacks=verbose > 1)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger("rekrutt")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _sigterm_to_interrupt() -> None:
    """SIGTERM (CI cancelling a job) stops work the way Ctrl-C does (children stopped, no partial
    files), and the process exits 143 rather than Ctrl-C's 130."""

    def handler(signum, frame):
        raise Terminated

    signal.signal(signal.SIGTERM, handler)


def _fail(exc: BaseException, debug: bool) -> None:
    """Report an error and exit with its code: the one place errors meet the console."""
    if debug:
        log.error("failed", exc_info=exc)
    if isinstance(exc, SpecError):
        click.echo(f"Invalid input: {len(exc.problems)} problem(s); nothing was rendered.", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
    elif isinstance(exc, Interrupted):
        click.echo(f"Interrupted: {exc}", err=True)
    elif isinstance(exc, Terminated):
        click.echo("Stopped by SIGTERM; nothing partial was kept.", err=True)
    elif isinstance(exc, KeyboardInterrupt):
        click.echo("Interrupted by the user; nothing partial was kept.", err=True)
    else:
        click.echo(f"Error: {exc}", err=True)
    sys.exit(exit_code(exc))


def _errors(f):
    """Run a command with the one error path: RekruttError and interruptions become messages and exit codes.

    Anything else is a bug: it propagates with its traceback (Python's exit 1).
    """

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        debug = bool((click.get_current_context().find_root().obj or {}).get("debug"))
        try:
            return f(*args, **kwargs)
        except (RekruttError, KeyboardInterrupt, Terminated) as exc:
            _fail(exc, debug)

    return wrapper


def _warn(campaign) -> None:
    for w in campaign.warnings:
        click.echo(f"warning: {w}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rekrutt")
@click.option("-v", "--verbose", count=True, help="More log output (-vv: debug, with ffmpeg commands).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def main(ctx: click.Context, verbose: int, debug: bool) -> None:
    """Rekrutt: render recruitment video campaigns from a YAML spec for every channel."""
    _setup_logging(2 if debug else verbose)
    ctx.obj = {"debug": debug}


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-c", "--channel", "channels", multiple=True, help="Check only this channel's limits (repeatable).")
@click.option("-V", "--version", "versions", multiple=True, help="Check only this version ('main': the main film).")
@click.option("--model", help="Whisper model for finding quotes (overrides the spec).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR].")
@click.option("--format", "fmt", type=click.Choice(["text", "github", "gitlab"]), default="text", show_default=True,
              help="How problems are reported: text, GitHub ::error annotations, or a GitLab code-quality report "
              "(JSON on standard output).")
@click.option("--brand", type=click.Path(path_type=Path), help="Brand file to use instead of the spec's brand:.")
@click.option("-v", "--verbose", "sound", is_flag=True,
              help="Also measure each clip's sound and say what the clean-up does (noise, hum, SNR before and after).")
@_errors
def validate(specs: tuple[Path, ...], channels: tuple[str, ...], versions: tuple[str, ...], model: str | None,
             cache_dir: Path | None, fmt: str, brand: Path | None, sound: bool) -> None:
    """Check campaign specs (keys, types, files, media, cuts, quotes, versions, channels) without rendering.

    Quotes (says:) are found in the clips' transcripts, transcribing through the cache where needed.
    With -v, each clip's sound is measured and cleaned through the cache (what the render will use).
    """
    from pipeline.spec import load_campaign

    problems = []
    for spec in specs:
        try:
            campaign = load_campaign(spec, channels=channels or None, versions=versions or None,
                                     cache_dir=cache_dir, model=model, brand=brand)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        _warn(campaign)
        say = (lambda text: click.echo(text, err=True)) if fmt == "gitlab" else click.echo
        say(f"{spec}: OK ({len(campaign.spec.sequence)} items, channels: {', '.join(campaign.channels)})")
        if campaign.quotes:
            say(f"  quotes: {len(campaign.quotes)} found in the transcripts of "
                f"{len({q.clip for q in campaign.quotes.values()})} clip(s) (transcribed through the cache)")
        for edition in campaign.editions():
            if edition.version:
                length = float(campaign.version_cuts[edition.version][1])
                say(f"  version {edition.version}: {len(edition.spec.sequence)} items, {length:.2f} s, "
                    f"channels: {', '.join(edition.channels)}")
        if sound:
            _say_sound(campaign, cache_dir, say)
    if fmt != "text":
        from pipeline.ci import annotations

        click.echo(annotations(problems, fmt), nl=False)
        if problems:
            click.echo(f"Invalid input: {len(problems)} problem(s); nothing was rendered.", err=True)
            sys.exit(2)
        return
    if problems:
        raise SpecError(problems)


def _say_sound(campaign, cache_dir: Path | None, say) -> None:
    """Per clip: the sound as recorded, and what the clean-up does to it."""
    from pipeline.cache import Cache
    from pipeline.sound import clip_sound

    cache = Cache(cache_dir)
    used = sorted({i.clip for e in campaign.editions(every=True) for i in e.spec.sequence if hasattr(i, "clip")})
    for clip_id in used:
        cleaned = clip_sound(campaign, clip_id, cache)
        if cleaned is None:
            say(f"  sound {clip_id}: as recorded (audio: off, or no sound)")
            continue
        r = cleaned.report()
        hum = f", hum {r['hum_hz']} Hz" if r["hum_hz"] else ""
        say(f"  sound {clip_id}: SNR {_snr(r['snr_before_db'])} -> {_snr(r['snr_after_db'])} "
            f"(noise {_floor(r['noise_before_dbfs'])} -> {_floor(r['noise_after_dbfs'])}{hum}); "
            f"{', '.join(r['applied'])}; gain {r['gain_db']:+.1f} dB")


def _snr(db: float) -> str:
    return "over 90 dB" if db > 90 else f"{db:.0f} dB"


def _floor(dbfs: float) -> str:
    return "silent" if dbfs <= -100 else f"{dbfs:.0f} dBFS"


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Output folder (overrides the spec's 'output').")
@click.option("-c", "--channel", "channels", multiple=True, help="Render only this channel (repeatable).")
@click.option("-V", "--version", "versions", multiple=True,
              help="Render only this version (repeatable; 'main' is the main film) [default: all].")
@click.option("-j", "--jobs", default="auto", show_default=True,
              help="Outputs rendered at once: a number, or 'auto' (one per core, at most one per GB of free memory).")
@click.option("--draft", is_flag=True, help="Quick looks: a third of the size, fastest settings, 'UTKAST' burned "
              "in, written to <output>/<campaign>/draft/ and never listed as final outputs.")
@click.option("--no-captions", is_flag=True, help="Skip captions (drafts only: captions are a legal duty).")
@click.option("--model", help="Whisper model name or CTranslate2 folder (overrides the spec).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR; default: the platform's user cache].")
@click.option("--force", is_flag=True, help="Render even outputs whose inputs did not change.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed output.")
@click.option("--scheduler", envvar="REKRUTT_SCHEDULER",
              help="Dask scheduler address (tcp://host:8786) to render on a cluster [env REKRUTT_SCHEDULER].")
@click.option("--show-safe-areas", is_flag=True,
              help="Shade the zones each platform's interface covers (to check a render; not for publishing).")
@click.option("--report", type=click.Path(path_type=Path), help="Write a JSON report of every output here.")
@click.option("--junit", type=click.Path(path_type=Path), help="Write a JUnit XML report here (for CI).")
@click.option("--brand", type=click.Path(path_type=Path), help="Brand file to use instead of the spec's brand:.")
@click.pass_context
@_errors
def render(ctx: click.Context, specs: tuple[Path, ...], out: Path | None, channels: tuple[str, ...],
           versions: tuple[str, ...], jobs: str, draft: bool,
           no_captions: bool, model: str | None, cache_dir: Path | None, force: bool, fail_fast: bool,
           scheduler: str | None, show_safe_areas: bool, report: Path | None, junit: Path | None,
           brand: Path | None) -> None:
    """Render every channel's version of the campaign(s) in SPECS, as one batch.

    Each distinct clip is transcribed once; outputs whose inputs did not change are kept.
    """
    from pipeline.jobs import RenderOptions, render_batch
    from pipeline.report import junit_xml, report_json
    from pipeline.spec import load_campaign

    _sigterm_to_interrupt()
    campaigns = []
    problems = []
    for spec in specs:  # validate everything before rendering anything
        try:
            campaigns.append(load_campaign(spec, output=out, channels=channels or None, versions=versions or None,
                                           cache_dir=cache_dir, model=model, brand=brand))
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    for campaign in campaigns:
        _warn(campaign)
    from pipeline.jobs import auto_jobs

    if jobs == "auto":
        count = auto_jobs()
    elif jobs.isdigit() and 1 <= int(jobs) <= 64:
        count = int(jobs)
    else:
        raise click.BadParameter("a number from 1 to 64, or auto", param_hint="--jobs")
    options = RenderOptions(channels=channels or None, versions=versions or None, jobs=count, draft=draft,
                            captions=not no_captions, cache_dir=cache_dir,
                            model=model, force=force, fail_fast=fail_fast, scheduler=scheduler,
                            safe_zones=show_safe_areas)
    reporter = Reporter(multi=len(campaigns) > 1 or any(c.spec.versions for c in campaigns))
    try:
        with reporter:
            result = render_batch(campaigns, options, reporter.event)
    except KeyboardInterrupt:
        raise Interrupted("stopped by the user (Ctrl-C); nothing partial was kept", signal.SIGINT) from None
    except Terminated:
        raise Interrupted("stopped by SIGTERM; nothing partial was kept", signal.SIGTERM) from None
    reporter.summary(result)
    from pipeline.files import write_text_atomic

    if report:
        write_text_atomic(report, report_json(result))
    if junit:
        write_text_atomic(junit, junit_xml(result))
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the presets as JSON.")
def channels(as_json: bool) -> None:
    """List the channel presets (frame, rate, codecs, loudness, limits, safe area, captions)."""
    import dataclasses

    from pipeline.channels import CHECKED, PRESETS

    if as_json:
        data = {name: json.loads(json.dumps(dataclasses.asdict(p), default=str)) for name, p in PRESETS.items()}
        click.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console

    console = Console()
    rows = []
    for p in PRESETS.values():
        length = "any" if p.max_duration is None else f"{p.min_duration or 0:g}-{p.max_duration:g} s"
        size = "" if p.max_bytes is None else f", at most {p.max_bytes / 1e6:g} MB"
        fps = f"{p.fps} fps" if p.fps else f"source fps ({p.min_fps}-{p.max_fps})"
        audio = f"{p.audio_codec} {p.audio_channels}ch {p.sample_rate // 1000} kHz"
        rows.append((p, f"{p.width}x{p.height} {p.fit}", fps, f"{p.video_codec}.{p.extension}", audio,
                     f"{p.loudness_lufs:g} LUFS / {p.true_peak_dbtp:g} dBTP", length + size, p.captions))
    if console.is_terminal and console.width >= 120:
        from rich.table import Table

        table = Table(title=f"Channel presets (facts checked {CHECKED})")
        for col in ("channel", "frame", "fps", "codec", "audio", "loudness", "length", "captions"):
            table.add_column(col)
        for p, *cells in rows:
            table.add_row(p.name, *cells)
        console.print(table)
        return
    # a narrow terminal, a file or a pipe: two short lines a channel, readable at 80 columns
    click.echo(f"Channel presets (facts checked {CHECKED})")
    for p, frame, fps, codec, audio, loudness, length, captions in rows:
        click.echo(f"{p.name:<17} {p.label}")
        click.echo(f"{'':<17} {frame}, {fps}, {codec}")
        click.echo(f"{'':<17} {audio}, {loudness}")
        click.echo(f"{'':<17} length {length}, captions {captions}")


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to a file instead of standard output.")
@click.option("--brand", is_flag=True, help="The schema of brand files instead.")
def schema(output: Path | None, brand: bool) -> None:
    """Print the JSON Schema of campaign specs (or brand files), for editor completion and checking."""
    from pipeline.spec import brand_schema, json_schema

    text = json.dumps(brand_schema() if brand else json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("media", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-l", "--language", help="Speech language (no, nb, nn, en, ...); detected when left out.")
@click.option("--model", help="Whisper model name or CTranslate2 folder [default: bundled Whisper base].")
@click.option("-f", "--format", "fmt", type=click.Choice(["json", "srt", "vtt"]), default="json", show_default=True)
@click.option("--translate", is_flag=True, help="Translate the speech into English (Whisper's translate task).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here instead of standard output.")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR].")
@click.option("-g", "--glossary", "glossary", multiple=True,
              help="A name or place Whisper should spell right (repeatable; as a spec's subtitles.glossary).")
@click.option("--spec", "spec_path", type=click.Path(path_type=Path),
              help="Take language, glossary and model from this campaign spec, so a render finds the cache warm.")
@_errors
def transcribe(media: tuple[Path, ...], language: str | None, model: str | None, fmt: str,
               translate: bool, output: Path | None, cache_dir: Path | None, glossary: tuple[str, ...],
               spec_path: Path | None) -> None:
    """Transcribe media files (and warm the cache); word times are on each file's own timeline.

    A spec's glossary is part of what its transcripts are cached under: give the same
    glossary (or --spec) for the render to find them.
    """
    from pipeline.cache import Cache
    from pipeline.errors import InputError
    from pipeline.export import transcript_text
    from pipeline.transcribe import Transcriber, language_problem

    if spec_path is not None:
        from pipeline.spec import load_campaign

        campaign = load_campaign(spec_path, check_media=False)
        language = language or campaign.spec.language
        glossary = glossary or tuple(campaign.spec.subtitles.glossary)
        model = model or campaign.spec.subtitles.model
    if language and language_problem(language):
        raise InputError(f"--language: {language_problem(language)}")
    transcriber = Transcriber(Cache(cache_dir), model)
    texts = []
    for path in media:
        t = transcriber.transcribe(path, language, task="translate" if translate else "transcribe",
                                   glossary=tuple(glossary))
        texts.append(transcript_text(t, fmt, path))
    if fmt == "json":
        text = texts[0] if len(texts) == 1 else "[\n" + ",\n".join(t.rstrip() for t in texts) + "\n]\n"
    else:
        text = "".join(texts)
    if output:
        from pipeline.files import write_text_atomic

        write_text_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@main.group()
def transcripts() -> None:
    """The correction loop: export clip transcripts to edit; renders pick the edits up."""


@transcripts.command("export")
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite transcripts that already exist (and may hold corrections).")
@click.option("--model", help="Whisper model name or CTranslate2 folder (overrides the spec).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR].")
@_errors
def transcripts_export(spec: Path, force: bool, model: str | None, cache_dir: Path | None) -> None:
    """Write transcripts/<clip>.srt beside SPEC for each clip, to correct in Subtitle Edit or Aegisub.

    The next render finds them and re-times the corrected text to the audio.
    """
    from pipeline.cache import Cache
    from pipeline.export import export_transcripts
    from pipeline.spec import load_campaign
    from pipeline.transcribe import Transcriber

    # nothing to probe or quote: the transcripts it writes are what a broken one is replaced with
    campaign = load_campaign(spec, check_media=False)
    transcriber = Transcriber(Cache(cache_dir), model or campaign.spec.subtitles.model)
    for clip_id, path, written in export_transcripts(campaign, transcriber, force=force):
        click.echo(f"{clip_id}: {'wrote' if written else 'kept (already there; --force to replace)'} {path}")


@transcripts.command("show")
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--clip", "clips", multiple=True, help="Only this clip (repeatable).")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "md"]), default="text", show_default=True,
              help="md: a paper edit to mark up and paste quotes from.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to a file instead of standard output.")
@click.option("--model", help="Whisper model name or CTranslate2 folder (overrides the spec).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR].")
@_errors
def transcripts_show(spec: Path, clips: tuple[str, ...], fmt: str, output: Path | None, model: str | None,
                     cache_dir: Path | None) -> None:
    """The paper edit: each clip's sentences with times, who speaks, and which ones the spec uses.

    Copy a sentence into a sequence item as says: "..." to cut by it.
    """
    from pipeline.cache import Cache
    from pipeline.edit import paper_edit
    from pipeline.errors import InputError
    from pipeline.spec import load_campaign
    from pipeline.transcribe import shared_transcriber

    campaign = load_campaign(spec, cache_dir=cache_dir, model=model)
    unknown = [c for c in clips if c not in campaign.spec.clips]
    if unknown:
        raise InputError(f"--clip: no clip {', '.join(unknown)} in {spec}; the spec has: "
                         f"{', '.join(campaign.spec.clips)}")
    transcriber = shared_transcriber(Cache(cache_dir), model or campaign.spec.subtitles.model)
    text = paper_edit(campaign, transcriber, list(clips) or None, fmt)
    if output:
        from pipeline.files import write_text_atomic

        write_text_atomic(output, text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@main.command("export")
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("-V", "--version", "version", default="main", show_default=True, help="Which version's edit.")
@click.option("-c", "--channel", help="As this channel plays it (its frame rate and shortening) [default: the first].")
@click.option("-f", "--format", "fmt", type=click.Choice(["otio", "fcpxml", "xml", "edl"]), default="otio",
              show_default=True, help="otio (OpenTimelineIO), fcpxml (Final Cut Pro X, Resolve), xml (FCP 7, "
              "Premiere, Resolve), edl (CMX 3600).")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="File to write [default: <version>.<format extension> in the current folder].")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR].")
@click.option("--model", help="Whisper model name or CTranslate2 folder (overrides the spec).")
@_errors
def export_edit(spec: Path, version: str, channel: str | None, fmt: str, output: Path | None,
                cache_dir: Path | None, model: str | None) -> None:
    """Write the edit for an editor (Final Cut, Resolve, Premiere, Avid) through OpenTimelineIO's adapters.

    The cards' pictures go in <file>.cards/ beside the file; captions become markers (OTIO, FCP XML).
    """
    from pipeline.errors import InputError
    from pipeline.interchange import FORMATS
    from pipeline.jobs import LoadedCampaign, RenderOptions, write_edit
    from pipeline.spec import load_campaign

    campaign = load_campaign(spec, versions=(version,), cache_dir=cache_dir, model=model)
    edition = campaign if version == "main" else campaign.for_version(version)
    channel = channel or edition.spec.channels[0]
    if channel not in edition.spec.channels:
        raise InputError(f"--channel: '{channel}' is not a channel of {edition.label}: "
                         f"{', '.join(edition.spec.channels)}")
    loaded = LoadedCampaign(edition, RenderOptions(cache_dir=cache_dir, model=model))
    loaded.prepare()
    written = write_edit(edition, channel, loaded, output or Path(f"{version}.{FORMATS[fmt][1]}"), fmt)
    click.echo(f"wrote {written}")


@main.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--open", "open_page", is_flag=True, help="Open the page in the default browser.")
@click.option("--lang", type=click.Choice(["nb", "en"]), help="The page's language [default: the spec's, nb].")
@click.option("--notes", "notes_file", type=click.Path(path_type=Path),
              help="A review-notes.json from the page: print its notes and record its approvals.")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Output folder (as given to render).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR].")
@_errors
def review(spec: Path, open_page: bool, lang: str | None, notes_file: Path | None, out: Path | None,
           cache_dir: Path | None) -> None:
    """Rebuild the review page (index.html) from the manifests, without rendering; read reviewers' notes.

    The page works from the output folder in any browser (file://) or on any static web host.
    """
    from pipeline.cache import Cache
    from pipeline.review import notes_text, notes_warnings, read_notes, record_approvals, write_review
    from pipeline.spec import load_campaign
    from pipeline.transcribe import shared_transcriber

    campaign = load_campaign(spec, output=out, cache_dir=cache_dir)
    if notes_file is not None:
        notes = read_notes(notes_file)
        for w in notes_warnings(notes, campaign):
            click.echo(f"warning: {w}", err=True)
        click.echo(notes_text(notes.notes, campaign), nl=False)
        for name in record_approvals(campaign, notes.approvals):
            click.echo(f"approved: {name}")
    transcriber = shared_transcriber(Cache(cache_dir), campaign.spec.subtitles.model)
    page = write_review(campaign, transcriber if campaign.spec.subtitles.enabled else None, lang)
    click.echo(f"review page: {page}")
    if open_page:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())


@main.group("ci")
def ci_group() -> None:
    """Rendering in CI: workflow templates for a campaigns repository."""


@ci_group.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--github", "kind", flag_value="github", help="A GitHub Actions workflow.")
@click.option("--gitlab", "kind", flag_value="gitlab", help="A GitLab CI file.")
@click.option("--force", is_flag=True, help="Replace files that are there already.")
@_errors
def ci_init(directory: Path, kind: str | None, force: bool) -> None:
    """Write a CI workflow and ci/render.sh (the one script it runs) into a campaigns repository."""
    from pipeline.ci import init

    if kind is None:
        raise click.UsageError("say --github or --gitlab")
    for path in init(kind, directory, force):
        click.echo(f"wrote {path}")
    click.echo("Put the campaign specs in campaigns/; set REKRUTT_PACKAGE (and REKRUTT_LIBRARY) as CI variables.")


@main.group()
def cache() -> None:
    """The cache of models, transcripts, alignments, loudness measurements and rendered pieces."""


def _cache_option(f):
    return click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
                        help="Cache folder [env REKRUTT_CACHE_DIR].")(f)


@cache.command("info")
@_cache_option
@click.option("--json", "as_json", is_flag=True)
@_errors
def cache_info(cache_dir: Path | None, as_json: bool) -> None:
    """What the cache holds."""
    from pipeline.cache import Cache

    c = Cache(cache_dir)
    info = c.info()
    if as_json:
        click.echo(json.dumps({"root": str(c.root), "kinds": info}, indent=2))
        return
    click.echo(f"cache: {c.root}")
    for kind, numbers in info.items():
        click.echo(f"  {kind:12s} {numbers['entries']:6d} entries {numbers['bytes'] / 1e6:10.1f} MB")
    click.echo(f"  {'total':12s} {sum(n['entries'] for n in info.values()):6d} entries "
               f"{sum(n['bytes'] for n in info.values()) / 1e6:10.1f} MB")


@cache.command("prune")
@_cache_option
@click.option("--older-than", type=float, metavar="DAYS", help="Only entries not used for this many days.")
@click.option("--kind", "kinds", multiple=True,
              help="Only this kind (transcripts, alignments, loudness, pieces, models).")
@click.option("--all", "everything", is_flag=True, help="Remove every entry of the chosen kinds.")
@_errors
def cache_prune(cache_dir: Path | None, older_than: float | None, kinds: tuple[str, ...], everything: bool) -> None:
    """Remove cache entries (the assembled model stays unless --kind models)."""
    from pipeline.cache import Cache

    if older_than is None and not everything:
        raise click.UsageError("say --older-than DAYS, or --all")
    done = Cache(cache_dir).prune(None if everything else older_than, kinds)
    click.echo(f"removed {done.removed} entries, {done.freed / 1e6:.1f} MB")
    if done.kept:
        kinds_kept = ", ".join(f"{kind} {n}" for kind, n in sorted(done.kept.items()))
        click.echo(f"kept {sum(done.kept.values())} entries in use by a running render ({kinds_kept}): "
                   f"{'; '.join(done.holders)}; prune again when it has finished")


@main.group()
def clips() -> None:
    """The clip library: interview clips with the person's consent [library: --library or REKRUTT_LIBRARY]."""


def _library_option(f):
    return click.option("--library", type=click.Path(path_type=Path), envvar="REKRUTT_LIBRARY", required=True,
                        help="Clip library folder [env REKRUTT_LIBRARY].")(f)


@clips.command("list")
@_library_option
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@_errors
def clips_list(library: Path, as_json: bool) -> None:
    """Every clip in the library, with its consent."""
    from pipeline.library import list_clips

    found = list_clips(library)
    if as_json:
        click.echo(json.dumps([c.as_dict() for c in found], indent=2, ensure_ascii=False, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Clip library {library}")
    for col in ("id", "person", "role", "workplace", "consent until", "channels", "tags", "file"):
        table.add_column(col)
    for c in found:
        m = c.meta
        table.add_row(c.id, m.person or "", m.role or "", m.workplace or "",
                      m.consent.expires.isoformat() if m.consent else "[red]none",
                      ", ".join(m.consent.channels) if m.consent else "", ", ".join(m.tags),
                      c.video.name if c.video else "[red]missing")
    Console().print(table)


@clips.command("show")
@_library_option
@click.argument("clip_id")
@_errors
def clips_show(library: Path, clip_id: str) -> None:
    """One clip's metadata (JSON)."""
    from pipeline.library import load_clip

    clip = load_clip(library, clip_id)
    click.echo(json.dumps(clip.as_dict(), indent=2, ensure_ascii=False, default=str))


@clips.command("add")
@_library_option
@click.argument("video", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "clip_id", required=True, help="Library id, e.g. anne-sykepleier.")
@click.option("--person", required=True)
@click.option("--role")
@click.option("--workplace")
@click.option("--language", default="no", show_default=True)
@click.option("--tag", "tags", multiple=True)
@click.option("--consent-signed", type=click.DateTime(["%Y-%m-%d"]), required=True, help="YYYY-MM-DD")
@click.option("--consent-expires", type=click.DateTime(["%Y-%m-%d"]), required=True, help="YYYY-MM-DD")
@click.option("--consent-channel", "consent_channels", multiple=True,
              help="Channel the consent covers (repeat; default: all).")
@click.option("--move", is_flag=True, help="Move the file into the library instead of copying it.")
@_errors
def clips_add(library: Path, video: Path, clip_id: str, person: str, role: str | None, workplace: str | None,
              language: str, tags: tuple[str, ...], consent_signed, consent_expires,
              consent_channels: tuple[str, ...], move: bool) -> None:
    """Put VIDEO into the library with its metadata and consent."""
    from pydantic import ValidationError

    from pipeline.errors import InputError, MediaError
    from pipeline.library import ClipMeta, add_clip
    from pipeline.probe import probe_as

    _, problem = probe_as(video, "video")
    if problem:
        raise MediaError(str(video), f"{problem[0]} ({problem[1]})")
    try:
        # one model from plain data, so that a problem's place reads as its option (consent.expires: --consent-expires)
        meta = ClipMeta.model_validate({
            "person": person, "role": role, "workplace": workplace, "language": language, "tags": list(tags),
            "consent": {"signed": consent_signed.date(), "expires": consent_expires.date(),
                        "channels": list(consent_channels) or ["all"]}})
    except ValidationError as exc:
        raise InputError("; ".join(f"--{'-'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                                   for e in exc.errors())) from None
    clip = add_clip(library, video, clip_id, meta, move=move)
    click.echo(f"added {clip.id}: {clip.video}")


if __name__ == "__main__":
    main()
