"""Rekrutt's command line: parse the arguments, make the library calls, map errors to exit codes.

What a command shows a person is :mod:`console`'s; what it does is :mod:`pipeline`'s.

Exit codes (the contract CI relies on; :func:`pipeline.errors.exit_code` is the one mapping):
0 success, 1 a render failed (or the cache or another tool could not be used), 2 invalid
input (nothing rendered), 130 interrupted by Ctrl-C (SIGINT), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import click

import clirun
import console
from pipeline import __version__, progress, stamp
from pipeline.cache import Cache, key_of
from pipeline.errors import Incomplete, InputError, Interrupted, SpecError, Terminated

log = logging.getLogger("rekrutt")

# Each command imports the library's stages it uses when it runs: a render that finds nothing changed answers
# from its stamp without the spec's models, Whisper or OpenCV being imported at all (issue 25).


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rekrutt")
@click.option("-v", "--verbose", count=True, help="More log output (-vv: debug, with ffmpeg commands).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def main(ctx: click.Context, verbose: int, debug: bool) -> None:
    """Rekrutt: render recruitment video campaigns from a YAML spec for every channel."""
    console.setup_logging(2 if debug else verbose)
    ctx.obj = {"debug": debug}
    # every command's long stages (transcription, alignment, sound clean-up, face analysis) show their progress
    stages = console.StageProgress()
    ctx.with_resource(progress.use(stages))
    ctx.call_on_close(stages.close)


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
              help="Also say how each clip fills each channel's frame (what fit: auto chose, and why), measure each "
              "clip's sound and say what the clean-up does (noise, hum, SNR before and after).")
@click.option("--update-quotes", is_flag=True,
              help="Rewrite says: quotes matched through a corrected transcript to its wording (comments kept).")
@click.option("--accessibility", is_flag=True,
              help="Also check WCAG 2.1 1.2.2 (captions) and 1.2.5 (synstolking) of every output; exit 2 where one "
              "would break them.")
@clirun.errors
def validate(specs: tuple[Path, ...], channels: tuple[str, ...], versions: tuple[str, ...], model: str | None,
             cache_dir: Path | None, fmt: str, brand: Path | None, sound: bool, update_quotes: bool,
             accessibility: bool) -> None:
    """Check campaign specs (keys, types, files, media, cuts, quotes, versions, channels) without rendering.

    Quotes (says:) are found in the clips' transcripts, transcribing through the cache where needed.
    With -v, each clip's sound is measured and cleaned through the cache (what the render will use).
    """
    from pipeline.ci import annotations
    from pipeline.reframe import framing
    from pipeline.sound import clip_sound
    from pipeline.specedit import quote_updates, set_values

    problems = []
    say = console.say_err if fmt == "gitlab" else click.echo
    for spec in specs:
        try:
            campaign = clirun.load(spec, channels=channels or None, versions=versions or None,
                             cache_dir=cache_dir, model=model, brand=brand)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        console.warnings(campaign.warnings)
        console.campaign_checked(spec, campaign, say)
        if update_quotes:
            changes = quote_updates(campaign)
            say(f"  {set_values(spec, changes)} quote(s) rewritten to the corrected transcript's wording in {spec}"
                if changes else "  no quote needs rewriting: every says: is in the corrected wording")
        if sound:
            for clip_id, channel, choice in framing(campaign):  # what fit: auto chose, and why
                say(f"  {choice.describe(clip_id, channel)}")
            cache = Cache(cache_dir)
            # every clip any version uses, as the render will clean it
            used = sorted({i.clip for e in campaign.editions(every=True) for i in e.spec.sequence
                           if hasattr(i, "clip")})
            for clip_id in used:
                console.clip_sound(clip_id, clip_sound(campaign, clip_id, cache), say)
        if accessibility:  # WCAG 1.2.2 and 1.2.5 of every output, before anything is rendered
            problems.extend(_accessibility_problems(campaign, cache_dir, model, say))
    if fmt != "text":
        click.echo(annotations(problems, fmt), nl=False)
        if problems:
            console.problems_header(len(problems))
            sys.exit(2)
        return
    if problems:
        raise SpecError(problems)


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
@click.option("--strict", is_flag=True, help="Exit 1 where an output lacks something it must show (a person's "
              "name strap that found no room off their face), naming the output and the person.")
@click.pass_context
@clirun.errors
def render(ctx: click.Context, specs: tuple[Path, ...], out: Path | None, channels: tuple[str, ...],
           versions: tuple[str, ...], jobs: str, draft: bool,
           no_captions: bool, model: str | None, cache_dir: Path | None, force: bool, fail_fast: bool,
           scheduler: str | None, show_safe_areas: bool, report: Path | None, junit: Path | None,
           brand: Path | None, strict: bool) -> None:
    """Render every channel's version of the campaign(s) in SPECS, as one batch.

    Each distinct clip is transcribed once; outputs whose inputs did not change are kept.
    """
    if jobs != "auto" and not (jobs.isdigit() and 1 <= int(jobs) <= 64):
        raise click.BadParameter("a number from 1 to 64, or auto", param_hint="--jobs")
    cache_root = Cache(cache_dir).root
    asked = {"command": "render", "cwd": str(Path.cwd()), "specs": [_absolute(p) for p in specs],
             "out": _absolute(out), "channels": channels, "versions": versions, "draft": draft,
             "captions": not no_captions, "model": model, "cache": _absolute(cache_root), "brand": _absolute(brand),
             "safe_areas": show_safe_areas, "strict": strict, "today": dt.date.today().isoformat(),
             "python": sys.version, "environment": {k: v for k, v in os.environ.items() if k.startswith(STAMPED_ENV)}}
    runs = stamp.path_for(cache_root, key_of(stamp.RUNS, stamp.STAMP_VERSION, asked))
    if not (force or report or junit or scheduler):  # those ask for work (or files) a stamp cannot give
        started = time.perf_counter()
        if (kept := stamp.answer(runs)) is not None:
            console.replayed(*kept, time.perf_counter() - started)
            return
    stamp.forget(runs)  # until this render ends, its outputs are not what the stamp recorded
    with stamp.recording(ignore=[cache_root]) as recorded:
        campaigns, result = _render(specs, out, channels, versions, jobs, draft, no_captions, model, cache_dir,
                                    force, fail_fast, scheduler, show_safe_areas, brand)
    from pipeline.report import incomplete_outputs, write_reports

    write_reports(result, report, junit)
    if strict and (lacking := incomplete_outputs(result)):
        raise Incomplete("render --strict: a name strap found no room off the face and the captions in any of "
                         "the person's shots (the outputs were made; the manifest lists what each lacks):\n  "
                         + "\n  ".join(lacking))
    if result.ok and not scheduler:  # a cluster's render read its files elsewhere: nothing to stamp
        outputs = [c.output_root / c.spec.campaign for c in campaigns]
        if (why := stamp.save(runs, recorded, outputs, console.replay_of(result, campaigns))) is not None:
            log.info("the next unchanged render will check its outputs the long way: %s", why)
    sys.exit(0 if result.ok else 1)


#: The environment a render's stamp is kept under (the library's own settings, CTranslate2's).
STAMPED_ENV = ("REKRUTT_", "CT2_")


def _absolute(path: Path | None) -> str | None:
    return None if path is None else os.path.abspath(path)


def _render(specs, out, channels, versions, jobs, draft, no_captions, model, cache_dir, force, fail_fast, scheduler,
            show_safe_areas, brand) -> tuple[list, object]:
    """render's work when its stamp does not answer: load and check every spec, then render the batch."""
    from pipeline.jobs import RenderOptions, auto_jobs, render_batch
    from pipeline.transcribe import model_calls_total

    clirun.stop_on_sigterm()
    calls_before = model_calls_total()  # loading transcribes too (quotes, synstolking's pauses): count the command
    # validate everything before rendering anything
    campaigns = clirun.load_all(specs, output=out, channels=channels or None, versions=versions or None,
                          cache_dir=cache_dir, model=model, brand=brand)
    for campaign in campaigns:
        console.warnings(campaign.warnings)
    options = RenderOptions(channels=channels or None, versions=versions or None,
                            jobs=auto_jobs() if jobs == "auto" else int(jobs), draft=draft,
                            captions=not no_captions, cache_dir=cache_dir,
                            model=model, force=force, fail_fast=fail_fast, scheduler=scheduler,
                            safe_zones=show_safe_areas)
    reporter = console.Reporter(multi=len(campaigns) > 1 or any(c.spec.versions for c in campaigns))
    try:
        with reporter, progress.use(reporter.stages):
            result = render_batch(campaigns, options, reporter.event)
    except KeyboardInterrupt:
        raise Interrupted("stopped by the user (Ctrl-C); nothing partial was kept", signal.SIGINT) from None
    except Terminated:
        raise Interrupted("stopped by SIGTERM; nothing partial was kept", signal.SIGTERM) from None
    result = dataclasses.replace(result, model_calls=model_calls_total() - calls_before)
    reporter.summary(result)
    return campaigns, result


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the presets as JSON.")
def channels(as_json: bool) -> None:
    """List the channel presets (frame, rate, codecs, loudness, limits, safe area, captions)."""
    from pipeline.channels import CHECKED, PRESETS

    console.channels(PRESETS, CHECKED, as_json)


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to a file instead of standard output.")
@click.option("--brand", is_flag=True, help="The schema of brand files instead.")
def schema(output: Path | None, brand: bool) -> None:
    """Print the JSON Schema of campaign specs (or brand files), for editor completion and checking."""
    from pipeline.brand import brand_schema
    from pipeline.spec import json_schema

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
@clirun.errors
def transcribe(media: tuple[Path, ...], language: str | None, model: str | None, fmt: str,
               translate: bool, output: Path | None, cache_dir: Path | None, glossary: tuple[str, ...],
               spec_path: Path | None) -> None:
    """Transcribe media files (and warm the cache); word times are on each file's own timeline.

    A spec's glossary is part of what its transcripts are cached under: give the same
    glossary (or --spec) for the render to find them.
    """
    from pipeline.export import transcribe_files
    from pipeline.languages import language_problem
    from pipeline.transcribe import Transcriber, model_for

    if spec_path is not None:
        campaign = clirun.load(spec_path, check_media=False)
        language = language or campaign.spec.language
        glossary = glossary or tuple(campaign.spec.subtitles.glossary)
        model = model_for(campaign.spec.subtitles, model)
    if language and language_problem(language):
        raise InputError(f"--language: {language_problem(language)}")
    text = transcribe_files(Transcriber(Cache(cache_dir), model), media, language, translate=translate,
                            glossary=tuple(glossary), fmt=fmt)
    console.deliver(text, output)


def _accessibility_problems(campaign, cache_dir: Path | None, model: str | None, say) -> list:
    """validate --accessibility: each output that would break 1.2.2 or 1.2.5, as a problem at the spec."""
    from pipeline.accessibility import failures as accessibility_failures
    from pipeline.accessibility import report as accessibility_report
    from pipeline.describe import all_transcripts
    from pipeline.transcribe import model_for, shared_transcriber

    transcriber = shared_transcriber(Cache(cache_dir), model_for(campaign.spec.subtitles, model))
    checks = accessibility_report(campaign, all_transcripts(campaign, transcriber))
    for check in checks:
        say(f"  accessibility {check.output}: 1.2.2 {'ok' if check.captions_ok else 'NO'}, 1.2.5 "
            f"{'ok' if not check.unspoken else 'NO'} ({check.mode}), 1.4.3 {'ok' if check.contrast_ok else 'low'}")
    return [campaign.problem(("synstolking",), message, "give synstolking: version (a described version), say it "
                             "in the film, or record the line (descriptions/<line>.wav)")
            for message in accessibility_failures(checks)]


@main.group()
def describe() -> None:
    """Synstolking (audio description): the script to read, edit or record."""


@describe.command("export")
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write here [default: descriptions/script.md beside SPEC].")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of Markdown.")
@click.option("--model", help="Whisper model name or CTranslate2 folder (overrides the spec).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR].")
@clirun.errors
def describe_export(spec: Path, output: Path | None, as_json: bool, model: str | None, cache_dir: Path | None) -> None:
    """Write the description script: each line's id (its recording's name), text, slot and longest length."""
    from pipeline.describe import all_transcripts, script_markdown
    from pipeline.describe import export_rows as description_rows
    from pipeline.describe import timeline_for as description_timeline
    from pipeline.transcribe import model_for, shared_transcriber

    campaign = clirun.load(spec, cache_dir=cache_dir, model=model)
    transcriber = shared_transcriber(Cache(cache_dir), model_for(campaign.spec.subtitles, model))
    rows = description_rows(campaign, all_transcripts(campaign, transcriber), description_timeline)
    target = output or campaign.base_dir / "descriptions" / ("script.json" if as_json else "script.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n" if as_json else script_markdown(rows),
                      encoding="utf-8")
    click.echo(f"description script: {target} ({len({r['id'] for r in rows})} line(s); record one as "
               "descriptions/<id>.wav to replace the synthetic voice)")


@main.group()
def transcripts() -> None:
    """The correction loop: export clip transcripts to edit; renders pick the edits up."""


@transcripts.command("export")
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite transcripts that already exist (and may hold corrections).")
@click.option("--model", help="Whisper model name or CTranslate2 folder (overrides the spec).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR].")
@clirun.errors
def transcripts_export(spec: Path, force: bool, model: str | None, cache_dir: Path | None) -> None:
    """Write transcripts/<clip>.srt beside SPEC for each clip, to correct in Subtitle Edit or Aegisub.

    The next render finds them and re-times the corrected text to the audio.
    """
    from pipeline.export import export_transcripts
    from pipeline.transcribe import Transcriber, model_for

    # nothing to probe or quote: the transcripts it writes are what a broken one is replaced with
    campaign = clirun.load(spec, check_media=False, model=model)
    transcriber = Transcriber(Cache(cache_dir), model_for(campaign.spec.subtitles, model))
    console.transcripts_exported(export_transcripts(campaign, transcriber, force=force))


@transcripts.command("show")
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--clip", "clips", multiple=True, help="Only this clip (repeatable).")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "md"]), default="text", show_default=True,
              help="md: a paper edit to mark up and paste quotes from.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to a file instead of standard output.")
@click.option("--model", help="Whisper model name or CTranslate2 folder (overrides the spec).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR].")
@clirun.errors
def transcripts_show(spec: Path, clips: tuple[str, ...], fmt: str, output: Path | None, model: str | None,
                     cache_dir: Path | None) -> None:
    """The paper edit: each clip's sentences with times, who speaks, and which ones the spec uses.

    Copy a sentence into a sequence item as says: "..." to cut by it.
    """
    from pipeline.edit import paper_edit
    from pipeline.transcribe import model_for, shared_transcriber

    campaign = clirun.load(spec, cache_dir=cache_dir, model=model)
    unknown = [c for c in clips if c not in campaign.spec.clips]
    if unknown:
        raise InputError(f"--clip: no clip {', '.join(unknown)} in {spec}; the spec has: "
                         f"{', '.join(campaign.spec.clips)}")
    transcriber = shared_transcriber(Cache(cache_dir), model_for(campaign.spec.subtitles, model))
    console.deliver(paper_edit(campaign, transcriber, list(clips) or None, fmt), output)


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
@clirun.errors
def export_edit(spec: Path, version: str, channel: str | None, fmt: str, output: Path | None,
                cache_dir: Path | None, model: str | None) -> None:
    """Write the edit for an editor (Final Cut, Resolve, Premiere, Avid) through OpenTimelineIO's adapters.

    The cards' pictures go in <file>.cards/ beside the file; captions become markers (OTIO, FCP XML).
    """
    from pipeline.campaign import OutputKey
    from pipeline.interchange import default_path
    from pipeline.job import output_spec
    from pipeline.jobs import LoadedCampaign, RenderOptions, write_edit

    campaign = clirun.load(spec, versions=(version,), cache_dir=cache_dir, model=model)
    edition = campaign if version == "main" else campaign.for_version(version)
    channel = channel or edition.spec.channels[0]
    if channel not in edition.spec.channels:
        raise InputError(f"--channel: '{channel}' is not a channel of {edition.label}: "
                         f"{', '.join(edition.spec.channels)}")
    loaded = LoadedCampaign(edition, RenderOptions(cache_dir=cache_dir, model=model))
    loaded.prepare()
    job = output_spec(edition, OutputKey(edition.version, channel))
    console.wrote([write_edit(job, loaded, output or default_path(version, fmt), fmt)])


@main.command()
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--open", "open_page", is_flag=True, help="Open the page in the default browser.")
@click.option("--lang", type=click.Choice(["nb", "en"]), help="The page's language [default: the spec's, nb].")
@click.option("--notes", "notes_file", type=click.Path(path_type=Path),
              help="A review-notes.json from the page: print its notes and record its approvals.")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Output folder (as given to render).")
@click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
              help="Cache folder [env REKRUTT_CACHE_DIR].")
@click.option("--model", help="Whisper model name or CTranslate2 folder (overrides the spec).")
@click.option("--serve", "serve_page", is_flag=True,
              help="Serve the page on 127.0.0.1 (a secret address) so that its desk saves corrected transcripts and "
                   "the description script, and renders drafts; Ctrl-C stops it.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="With --serve: the port [default: a free one].")
@clirun.errors
def review(spec: Path, open_page: bool, lang: str | None, notes_file: Path | None, out: Path | None,
           cache_dir: Path | None, model: str | None, serve_page: bool, port: int) -> None:
    """Rebuild the review page (index.html) from the manifests, without rendering; read reviewers' notes.

    The page works from the output folder in any browser (file://) or on any static web host; with
    --serve its "save" writes transcripts/<clip>.srt and descriptions/script.yml and it renders drafts.
    """
    from pipeline.jobs import RenderOptions
    from pipeline.review import notes_text, notes_warnings, read_notes, record_approvals, write_review
    from pipeline.transcribe import model_for, shared_transcriber

    campaign = clirun.load(spec, output=out, cache_dir=cache_dir, model=model)
    if notes_file is not None:
        notes = read_notes(notes_file)
        console.review_notes(notes_warnings(notes, campaign), notes_text(notes.notes, campaign),
                             record_approvals(campaign, notes.approvals))
    cache = Cache(cache_dir)
    transcriber = shared_transcriber(cache, model_for(campaign.spec.subtitles, model))
    page = write_review(campaign, transcriber if campaign.spec.subtitles.enabled else None, lang, cache=cache)
    console.review_page(page, open_page and not serve_page)
    if serve_page:
        from pipeline.serve import DeskServer  # the desk's web server: only for review --serve
        from pipeline.serve import serve as serve_desk

        clirun.stop_on_sigterm()
        server = DeskServer(functools.partial(clirun.load, spec, output=out, cache_dir=cache_dir, model=model),
                            transcriber if campaign.spec.subtitles.enabled else None,
                            RenderOptions(cache_dir=cache_dir, model=model), lang, port)
        try:  # Ctrl-C (or SIGTERM) is how a producer stops the server: a clean stop, exit 0
            console.review_serving(server.url, open_page)
            serve_desk(server)
        except (KeyboardInterrupt, Terminated):
            server.stop()
        console.review_stopped()


@main.group("ci")
def ci_group() -> None:
    """Rendering in CI: workflow templates for a campaigns repository."""


@ci_group.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--github", "kind", flag_value="github", help="A GitHub Actions workflow.")
@click.option("--gitlab", "kind", flag_value="gitlab", help="A GitLab CI file.")
@click.option("--force", is_flag=True, help="Replace files that are there already.")
@clirun.errors
def ci_init(directory: Path, kind: str | None, force: bool) -> None:
    """Write a CI workflow and ci/render.sh (the one script it runs) into a campaigns repository."""
    from pipeline.ci import init as ci_files

    if kind is None:
        raise click.UsageError("say --github or --gitlab")
    console.ci_written(ci_files(kind, directory, force))


@main.group()
def cache() -> None:
    """The cache of models, transcripts, alignments, loudness measurements and rendered pieces."""


def _cache_option(f):
    return click.option("--cache-dir", type=click.Path(path_type=Path), envvar="REKRUTT_CACHE_DIR",
                        help="Cache folder [env REKRUTT_CACHE_DIR].")(f)


@cache.command("info")
@_cache_option
@click.option("--json", "as_json", is_flag=True)
@clirun.errors
def cache_info(cache_dir: Path | None, as_json: bool) -> None:
    """What the cache holds."""
    c = Cache(cache_dir)
    console.cache_info(c.root, c.info(), as_json)


@cache.command("prune")
@_cache_option
@click.option("--older-than", type=float, metavar="DAYS", help="Only entries not used for this many days.")
@click.option("--kind", "kinds", multiple=True,
              help="Only this kind (transcripts, alignments, loudness, pieces, models).")
@click.option("--all", "everything", is_flag=True, help="Remove every entry of the chosen kinds.")
@clirun.errors
def cache_prune(cache_dir: Path | None, older_than: float | None, kinds: tuple[str, ...], everything: bool) -> None:
    """Remove cache entries (the assembled model stays unless --kind models)."""
    if older_than is None and not everything:
        raise click.UsageError("say --older-than DAYS, or --all")
    console.cache_pruned(Cache(cache_dir).prune(None if everything else older_than, kinds))


@main.group()
def clips() -> None:
    """The clip library: interview clips with the person's consent [library: --library or REKRUTT_LIBRARY]."""


def _library_option(f):
    return click.option("--library", type=click.Path(path_type=Path), envvar="REKRUTT_LIBRARY", required=True,
                        help="Clip library folder [env REKRUTT_LIBRARY].")(f)


@clips.command("list")
@_library_option
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@clirun.errors
def clips_list(library: Path, as_json: bool) -> None:
    """Every clip in the library, with its consent."""
    from pipeline.library import list_clips

    console.clips(library, list_clips(library), as_json)


@clips.command("show")
@_library_option
@click.argument("clip_id")
@clirun.errors
def clips_show(library: Path, clip_id: str) -> None:
    """One clip's metadata (JSON)."""
    from pipeline.library import load_clip

    console.clip(load_clip(library, clip_id))


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
@clirun.errors
def clips_add(library: Path, video: Path, clip_id: str, person: str, role: str | None, workplace: str | None,
              language: str, tags: tuple[str, ...], consent_signed, consent_expires,
              consent_channels: tuple[str, ...], move: bool) -> None:
    """Put VIDEO into the library with its metadata and consent."""
    from pipeline.library import add_clip, check_video, meta_from_options

    check_video(video)
    meta = meta_from_options(person=person, role=role, workplace=workplace, language=language, tags=list(tags),
                             signed=consent_signed.date(), expires=consent_expires.date(),
                             channels=list(consent_channels))
    console.clip_added(add_clip(library, video, clip_id, meta, move=move))


if __name__ == "__main__":
    main()
