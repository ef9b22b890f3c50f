"""Rekrutt's console: everything the command line shows a person, and nothing it decides.

The reporter (a progress bar per output on a terminal, plain lines in CI), the tables, the log
handler, and the words of each command's results and errors. :mod:`cli` parses the arguments, makes
the library calls and maps errors to exit codes; it hands what comes back to the functions here.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import click

from pipeline.errors import Interrupted, SpecError, Terminated
from pipeline.files import write_text_atomic
from pipeline.progress import Step

Say = Callable[[str], None]


def setup_logging(verbose: int) -> None:
    """The library's log on standard error: rich on a terminal, plain ``LEVEL message`` lines otherwise."""
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


_line_lock = threading.Lock()


def say_err(text: str) -> None:
    """One line on standard error, whole: text and newline in one write, one thread at a time (``print`` writes
    the newline separately, so two render threads ran their lines together)."""
    with _line_lock:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def problems_header(count: int) -> None:
    say_err(f"Invalid input: {count} problem(s); nothing was rendered.")


def error(exc: BaseException) -> None:
    """The words for an error that ends a command (its exit code is the CLI's business)."""
    if isinstance(exc, SpecError):
        problems_header(len(exc.problems))
        for problem in exc.problems:
            say_err(f"  {problem}")
    elif isinstance(exc, Interrupted):
        say_err(f"Interrupted: {exc}")
    elif isinstance(exc, Terminated):
        say_err("Stopped by SIGTERM; nothing partial was kept.")
    elif isinstance(exc, KeyboardInterrupt):
        say_err("Interrupted by the user; nothing partial was kept.")
    else:
        say_err(f"Error: {exc}")


def warnings(items: Iterable) -> None:
    for w in items:
        say_err(f"warning: {w}")


def deliver(text: str, output: Path | None) -> None:
    """Write ``text`` to ``output`` (atomically, saying so on standard error), or to standard output."""
    if output:
        write_text_atomic(output, text)
        say_err(f"wrote {output}")
    else:
        click.echo(text, nl=False)


# --- progress of the long stages ------------------------------------------------------------------------------

#: In plain mode (CI, a file) a task's progress line comes at most this often, in seconds ...
PLAIN_EVERY_S = 10.0
#: ... and only once the task has moved on by this share of its total since its last line.
PLAIN_EVERY_FRACTION = 0.1


def clock(seconds: float) -> str:
    """``65`` -> ``1:05``, ``3725`` -> ``1:02:05`` (whole seconds, rounded up: an ETA never says 0:00 early)."""
    whole = max(0, int(-(-seconds // 1)))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _amount(step: Step) -> str:
    return f"{step.done:.0f}/{step.total:.0f} {step.unit}" if step.total > 0 else f"{step.done:.0f} {step.unit}"


class StageProgress:
    """The sink of :mod:`pipeline.progress`: the long stages (transcription, alignment, sound clean-up, face
    analysis) as a bar per task with the amount done and the ETA on a terminal, and as plain lines otherwise
    ("transcribing anne: 120/412 s, ETA 1:05"): a start line, a line at most every ``PLAIN_EVERY_S`` seconds
    and ``PLAIN_EVERY_FRACTION`` of the task, and an end line.

    ``progress`` is a running :class:`rich.progress.Progress` to add the bars to (the render's); without one
    the sink starts its own while a task runs. Reports come from any thread.
    """

    def __init__(self, console=None, progress=None, clock_s: Callable[[], float] = time.monotonic):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self._shared = progress
        self._progress = progress
        self._bars: dict[str, object] = {}
        self._said: dict[str, tuple[float, float]] = {}  # plain mode: task -> (time, fraction) of its last line
        self._lock = threading.Lock()
        self._clock = clock_s

    def __call__(self, step: Step) -> None:
        with self._lock:
            if self.live:
                self._draw(step)
            else:
                self._line(step)

    def close(self) -> None:
        """Stop the bars this sink started (a task still open stays as it was drawn)."""
        with self._lock:
            if self._progress is not None and self._shared is None:
                self._progress.stop()
                self._progress = None
            self._bars.clear()

    def _draw(self, step: Step) -> None:
        if self._progress is None:
            from rich.progress import BarColumn, Progress, TextColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                      TextColumn("{task.fields[amount]}"), TextColumn("{task.fields[eta]}"),
                                      console=self.console)
            self._progress.start()
        bars = self._progress
        if step.kind == "start" or step.task not in self._bars:
            self._bars[step.task] = bars.add_task(step.task, total=step.total if step.total > 0 else None,
                                                  amount=_amount(step), eta="")
        bar = self._bars[step.task]
        if step.kind == "update":
            eta = f"ETA {clock(step.eta)}" if step.eta is not None else ""
            bars.update(bar, completed=step.done, amount=_amount(step), eta=eta, refresh=True)
        elif step.kind == "end":
            bars.update(bar, completed=step.total if step.total > 0 else step.done, amount=_amount(step),
                        eta=f"[green]{clock(step.elapsed)}")
            del self._bars[step.task]
            if not self._bars and self._shared is None:  # nothing left to draw: leave the terminal to the rest
                bars.stop()
                self._progress = None

    def _line(self, step: Step) -> None:
        now = self._clock()
        if step.kind == "start":
            self._said[step.task] = (now, 0.0)
            total = f" ({step.total:.0f} {step.unit})" if step.total > 0 else ""
            say_err(f"{step.task}: started{total}")
        elif step.kind == "update":
            then, fraction = self._said.get(step.task, (now, 0.0))
            moved = step.fraction - fraction >= PLAIN_EVERY_FRACTION or step.total <= 0
            if now - then >= PLAIN_EVERY_S and moved and step.fraction < 1:
                self._said[step.task] = (now, step.fraction)
                eta = f", ETA {clock(step.eta)}" if step.eta is not None else ""
                say_err(f"{step.task}: {_amount(step)}{eta}")
        else:
            self._said.pop(step.task, None)
            say_err(f"{step.task}: finished in {clock(step.elapsed)}")


# --- validate --------------------------------------------------------------------------------------------------


def campaign_checked(spec: Path, campaign, say: Say) -> None:
    """What validate found in one spec: its items and channels, its quotes, each version."""
    from pipeline.edit import version_items

    say(f"{spec}: OK ({len(campaign.spec.sequence)} items, channels: {', '.join(campaign.channels)})")
    if campaign.quotes:
        say(f"  quotes: {len(campaign.quotes)} found in the transcripts of "
            f"{len({q.clip for q in campaign.quotes.values()})} clip(s) (transcribed through the cache)")
    items = version_items(campaign)
    for edition in campaign.editions():
        if not edition.version:  # the main film, measured as the versions are (before rounding to frames)
            length = float(sum((campaign.item_length(it) for it in campaign.spec.sequence), Fraction(0)))
            say(f"  main film: {len(campaign.spec.sequence)} items, {length:.2f} s, "
                f"channels: {', '.join(edition.channels)}")
        else:
            length = float(campaign.version_cuts[edition.version][1])
            say(f"  version {edition.version}: {len(edition.spec.sequence)} items, {length:.2f} s, "
                f"channels: {', '.join(edition.channels)}")
            for what, said, seconds in items.get(edition.version, ()):
                say(f"    {float(seconds):5.2f} s  {what}" + (f" {said}" if what == "card" else f": {said}"))


def clip_sound(clip_id: str, cleaned, say: Say) -> None:
    """One clip's sound as recorded, and what the clean-up does to it (``cleaned`` None: left as recorded)."""
    if cleaned is None:
        say(f"  sound {clip_id}: as recorded (audio: off, or no sound)")
        return
    r = cleaned.report()
    hum = f", hum {r['hum_hz']} Hz" if r["hum_hz"] else ""
    say(f"  sound {clip_id}: SNR {_snr(r['snr_before_db'])} -> {_snr(r['snr_after_db'])} "
        f"(noise {_floor(r['noise_before_dbfs'])} -> {_floor(r['noise_after_dbfs'])}{hum}); "
        f"{', '.join(r['applied'])}; gain {r['gain_db']:+.1f} dB")


def _snr(db: float) -> str:
    return "over 90 dB" if db > 90 else f"{db:.0f} dB"


def _floor(dbfs: float) -> str:
    return "silent" if dbfs <= -100 else f"{dbfs:.0f} dBFS"


# --- render ----------------------------------------------------------------------------------------------------


class Reporter:
    """Draws render events: a progress bar per output with ETA on a terminal, plain lines otherwise (CI)."""

    def __init__(self, multi: bool = False, console=None):
        from rich.console import Console

        self.multi = multi
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self.progress = None
        self.tasks: dict[str, int] = {}
        #: the long stages' sink while the render runs (on a terminal, its bars join the outputs')
        self.stages = StageProgress(self.console)

    def __enter__(self) -> Reporter:
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("{task.description:<18}"), BarColumn(),
                                     TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                                     TextColumn("{task.fields[note]}"), console=self.console)
            self.progress.start()
            self.stages = StageProgress(self.console, self.progress)
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()

    def event(self, e) -> None:
        self._event(e)
        if e.kind == "done" and e.record is not None and e.message != "unchanged":
            # an output's caption notes, counted, once: when it is made (an unchanged output repeats nothing)
            for line in caption_notes(e.record, verbose=logging.getLogger("rekrutt").isEnabledFor(logging.INFO)):
                self._event(dataclasses.replace(e, kind="info", message=line))

    def _event(self, e) -> None:
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
                self.progress.console.print(_info_line(e, name), markup=False, highlight=False)
            return
        if e.kind == "progress":
            return
        if e.kind == "info":
            say_err(_info_line(e, f"[{e.campaign}] {e.channel}"))
            return
        line = {"start": "started", "done": "done", "failed": "FAILED"}[e.kind]
        say_err(f"[{e.campaign}] {e.channel} {line} {e.message}".rstrip())

    def summary(self, batch) -> None:
        """A table of every output (on a terminal), or one line each."""
        rows = [(o.job.campaign, o.job.channel, o.status, f"{o.seconds:.1f}",
                 _result(o.record) if o.record else o.error.splitlines()[0] if o.error else "")
                for o in batch.outcomes]
        _outputs(rows, self.console)
        for name, result in batch.campaigns.items():
            for channel, message in result.failures.items():
                click.echo(f"{name}/{channel}: FAILED: {message}", err=True)
            if result.manifest and result.manifest.exists():
                click.echo(f"manifest: {result.manifest}")
        click.echo(f"model runs: {batch.model_calls}; {batch.seconds:.1f} s in all", err=True)


def _result(r) -> str:
    return f"{r.width}x{r.height} {r.fps} fps {r.duration:.2f} s {r.size / 1e6:.1f} MB {r.loudness_lufs:.1f} LUFS"


def _outputs(rows: list[tuple[str, str, str, str, str]], out) -> None:
    if out.is_terminal:
        from rich.table import Table

        table = Table(title="Outputs")
        for col in ("campaign", "channel", "status", "seconds", "result"):
            table.add_column(col)
        colour = {"rendered": "green", "unchanged": "cyan", "failed": "red", "skipped": "yellow"}
        for c, ch, status, secs, detail in rows:
            table.add_row(c, ch, f"[{colour[status]}]{status}", secs, detail)
        out.print(table)
    else:
        for c, ch, status, secs, detail in rows:
            click.echo(f"{c}/{ch}: {status} ({secs} s) {detail}")


def replay_of(batch, campaigns) -> dict:
    """What a render prints when it runs again with nothing changed (kept in its stamp): the campaigns'
    warnings, each output as unchanged, the manifests."""
    return {"warnings": [str(w) for c in campaigns for w in c.warnings],
            "outputs": [[o.job.campaign, o.job.channel, _result(o.record)] for o in batch.outcomes if o.record],
            "manifests": [str(r.manifest) for r in batch.campaigns.values() if r.manifest and r.manifest.exists()]}


def replayed(kept: dict, checked: int, seconds: float) -> None:
    """A render answered from its stamp: nothing it read or wrote changed since it last ran."""
    from rich.console import Console

    warnings(kept["warnings"])
    _outputs([(c, ch, "unchanged", "0.0", detail) for c, ch, detail in kept["outputs"]], Console(stderr=True))
    for manifest in kept["manifests"]:
        click.echo(f"manifest: {manifest}")
    click.echo(f"model runs: 0; {seconds:.1f} s in all", err=True)
    say_err(f"nothing changed since the last render: its {checked} files and folders are as it left them "
            "(--force renders again)")


def caption_notes(record, verbose: bool = False) -> list[str]:
    """An output's notes about its captions as one line per kind with a count ("12 captions read fast (over 17
    chars/s); -v lists them"); ``verbose``: each note on an indented line under it."""
    from pipeline.captions import CaptionRules  # the library's stages only where a command needs them
    from pipeline.subtitles import COVERS_FACE, FAST_CAPTION

    max_cps = float(CaptionRules.for_rate(Fraction(record.fps)).max_cps)
    kinds = [(lambda w: w.startswith(FAST_CAPTION), ("reads", "read"), f"fast (over {max_cps:g} chars/s)"),
             (lambda w: f" {COVERS_FACE}: " in w, ("covers", "cover"), "a face (no free band in the safe area)")]
    lines = []
    for belongs, verbs, what in kinds:
        found = [w for w in record.warnings if belongs(w)]
        if not found:
            continue
        n = len(found)
        head = f"{n} caption{'' if n == 1 else 's'} {verbs[n != 1]} {what}"
        lines.append(head + ":\n" + "\n".join(f"    {w}" for w in found) if verbose else head + "; -v lists them")
    return lines


def _info_line(e, name: str) -> str:
    """An info event's line: the output's name first where it is about one output."""
    return f"{name}: {e.message}" if e.channel else e.message


# --- channels --------------------------------------------------------------------------------------------------


def channels(presets: dict, checked: str, as_json: bool) -> None:
    """The channel presets: JSON, a table on a wide terminal, or two short lines a channel (80 columns)."""
    if as_json:
        data = {name: json.loads(json.dumps(dataclasses.asdict(p), default=str)) for name, p in presets.items()}
        click.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console

    console = Console()
    rows = []
    for p in presets.values():
        length = "any" if p.max_duration is None else f"{p.min_duration or 0:g}-{p.max_duration:g} s"
        size = "" if p.max_bytes is None else f", at most {p.max_bytes / 1e6:g} MB"
        fps = f"{p.fps} fps" if p.fps else f"source fps ({p.min_fps}-{p.max_fps})"
        audio = f"{p.audio_codec} {p.audio_channels}ch {p.sample_rate // 1000} kHz"
        rows.append((p, f"{p.width}x{p.height} {p.fit}", fps, f"{p.video_codec}.{p.extension}", audio,
                     f"{p.loudness_lufs:g} LUFS / {p.true_peak_dbtp:g} dBTP", length + size, p.captions))
    if console.is_terminal and console.width >= 120:
        from rich.table import Table

        table = Table(title=f"Channel presets (facts checked {checked})")
        for col in ("channel", "frame", "fps", "codec", "audio", "loudness", "length", "captions"):
            table.add_column(col)
        for p, *cells in rows:
            table.add_row(p.name, *cells)
        console.print(table)
        return
    # a narrow terminal, a file or a pipe: two short lines a channel, readable at 80 columns
    click.echo(f"Channel presets (facts checked {checked})")
    for p, frame, fps, codec, audio, loudness, length, captions in rows:
        click.echo(f"{p.name:<17} {p.label}")
        click.echo(f"{'':<17} {frame}, {fps}, {codec}")
        click.echo(f"{'':<17} {audio}, {loudness}")
        click.echo(f"{'':<17} length {length}, captions {captions}")


# --- transcripts, export, review, ci ---------------------------------------------------------------------------


def transcripts_exported(results: Iterable[tuple[str, Path, bool]]) -> None:
    for clip_id, path, written in results:
        click.echo(f"{clip_id}: {'wrote' if written else 'kept (already there; --force to replace)'} {path}")


def wrote(paths: Iterable[Path]) -> None:
    for path in paths:
        click.echo(f"wrote {path}")


def review_notes(warning_lines: Iterable[str], notes_text: str, approved: Iterable[str]) -> None:
    """A review-notes file read back: its warnings, its notes, the approvals recorded."""
    warnings(warning_lines)
    click.echo(notes_text, nl=False)
    for name in approved:
        click.echo(f"approved: {name}")


def review_page(page: Path, open_page: bool) -> None:
    click.echo(f"review page: {page}")
    if open_page:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())


def review_serving(url: str, open_page: bool) -> None:
    """The served review page's secret address (anyone with it can save into the campaign's folders)."""
    click.echo(f"serving the review page at {url}")
    click.echo("  only on this machine; the address holds a secret: share it with no one. Ctrl-C stops.")
    if open_page:
        import webbrowser

        webbrowser.open(url)


def review_stopped() -> None:
    click.echo("review server stopped")


def ci_written(paths: Iterable[Path]) -> None:
    wrote(paths)
    click.echo("Put the campaign specs in campaigns/; set REKRUTT_PACKAGE (and REKRUTT_LIBRARY) as CI variables.")


# --- cache -----------------------------------------------------------------------------------------------------


def cache_info(root: Path, info: dict, as_json: bool) -> None:
    """What the cache holds, kind by kind, and in all."""
    if as_json:
        click.echo(json.dumps({"root": str(root), "kinds": info}, indent=2))
        return
    click.echo(f"cache: {root}")
    for kind, numbers in info.items():
        click.echo(f"  {kind:12s} {numbers['entries']:6d} entries {numbers['bytes'] / 1e6:10.1f} MB")
    click.echo(f"  {'total':12s} {sum(n['entries'] for n in info.values()):6d} entries "
               f"{sum(n['bytes'] for n in info.values()) / 1e6:10.1f} MB")


def cache_pruned(done) -> None:
    """What a prune removed, and what it kept for a running render."""
    click.echo(f"removed {done.removed} entries, {done.freed / 1e6:.1f} MB")
    if done.kept:
        kinds_kept = ", ".join(f"{kind} {n}" for kind, n in sorted(done.kept.items()))
        click.echo(f"kept {sum(done.kept.values())} entries in use by a running render ({kinds_kept}): "
                   f"{'; '.join(done.holders)}; prune again when it has finished")


# --- clips -----------------------------------------------------------------------------------------------------


def clips(library: Path, found: list, as_json: bool) -> None:
    """The clip library: JSON, or a table with each clip's consent."""
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


def clip(found) -> None:
    click.echo(json.dumps(found.as_dict(), indent=2, ensure_ascii=False, default=str))


def clip_added(found) -> None:
    click.echo(f"added {found.id}: {found.video}")
