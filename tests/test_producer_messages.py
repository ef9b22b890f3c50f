"""What a producer reads while Rekrutt works (issue 22, "Progress and messages").

The long stages' progress (a bar with amount and ETA on a terminal, throttled plain lines in CI), caption notes
counted once per rendered output (and nothing repeated for an unchanged one), picture and sound that end a little
apart as an ordinary file, every event on a line of its own, and the main film's length in ``validate``.
The sink and the reporter are tested with rich consoles forced to a terminal and with plain output; the CLI in
process (CliRunner) on real renders, the transcript pinned (its words sped up so that cues read fast).
"""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

import console
from cli import main
from pipeline.jobs import Event
from pipeline.manifest import OutputRecord
from pipeline.probe import probe
from pipeline.progress import Step
from pipeline.transcribe import Transcriber, Transcript
from tests.conftest import ff, fresh_cache_with_model, jfk_reference, make_clip, pinned_run


def steps(name: str, total: float, every: float, seconds_per_unit: float):
    """A task's reports as the library makes them: start, an update every ``every`` units, end."""
    done, out = 0.0, [Step(name, "start", 0.0, total, "s", 0.0)]
    while done < total:
        done = min(total, done + every)
        out.append(Step(name, "update", done, total, "s", done * seconds_per_unit))
    return out + [Step(name, "end", total, total, "s", total * seconds_per_unit)]


# --------------------------------------------------------------------------- the progress sink

def test_plain_progress_lines_are_few_and_say_amount_and_eta(capsys):
    now = [0.0]
    sink = console.StageProgress(Console(file=io.StringIO(), force_terminal=False), clock_s=lambda: now[0])
    for step in steps("transcribing anne", 412.0, 4.0, 0.5):  # 412 s of audio in 206 s, a report every 2 s
        now[0] = step.elapsed
        sink(step)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "transcribing anne: started (412 s)"
    assert lines[-1] == "transcribing anne: finished in 3:26"
    updates = lines[1:-1]
    assert 5 <= len(updates) <= 10, lines  # every 10 % (here 20 s) rather than every report
    for line in updates:
        assert re.fullmatch(r"transcribing anne: \d+/412 s, ETA \d+:\d\d", line), line
    first = re.fullmatch(r"transcribing anne: (\d+)/412 s, ETA (\d+):(\d\d)", updates[0])
    done, eta = int(first[1]), int(first[2]) * 60 + int(first[3])
    assert abs(eta - (412 - done) * 0.5) <= 1  # the pace so far


def test_plain_progress_of_a_slow_task_is_at_most_every_ten_seconds(capsys):
    now = [0.0]
    sink = console.StageProgress(Console(file=io.StringIO(), force_terminal=False), clock_s=lambda: now[0])
    for step in steps("cleaning the sound of anne.mp4", 60.0, 10.0, 1.0):  # 10 % a report, a report each 10 s
        now[0] = step.elapsed
        sink(step)
    for step in steps("analysing faces in sara.mp4", 60.0, 6.0, 0.15):  # 10 % a report, 0.9 s apart
        now[0] = 100 + step.elapsed
        sink(step)
    err = capsys.readouterr().err
    assert err.count("cleaning the sound of anne.mp4: ") == 2 + 5  # start, 10/60 .. 50/60, end
    assert err.count("analysing faces in sara.mp4: ") == 2  # done in 9 s: start and end only


def test_terminal_progress_draws_a_bar_with_amount_and_eta():
    out = Console(file=io.StringIO(), force_terminal=True, width=110, record=True)
    sink = console.StageProgress(out)
    for step in steps("transcribing anne", 412.0, 4.0, 0.5)[:-1]:
        sink(step)
    drawn = out.export_text(clear=False)  # every frame drawn while it ran
    sink(steps("transcribing anne", 412.0, 4.0, 0.5)[-1])
    sink.close()
    assert sink.live
    assert "transcribing anne" in drawn and "━" in drawn  # the bar
    assert re.search(r"200/412 s +ETA 1:46", drawn), drawn  # 212 s of audio left at 0.5 s a second
    assert re.search(r"408/412 s +ETA 0:02", drawn), drawn
    assert re.search(r"412/412 s +3:26", out.export_text()), out.export_text()  # at the end: how long it took


def test_a_terminal_sink_gives_the_terminal_back_between_tasks():
    out = Console(file=io.StringIO(), force_terminal=True, width=100)
    sink = console.StageProgress(out)
    for step in steps("aligning anne", 20.0, 5.0, 0.1):
        sink(step)
    with console.Reporter(console=out) as reporter:  # rich allows one live display at a time: the sink's ended
        assert reporter.live
    for step in steps("aligning sara", 20.0, 5.0, 0.1):
        sink(step)
    sink.close()


# --------------------------------------------------------------------------- events on lines of their own

class SlowStream(io.StringIO):
    """A stream whose writes let other threads run (as a pipe to CI does), so interleaved writes show."""

    def write(self, s: str) -> int:
        time.sleep(0.0005)
        return super().write(s)


def burst(reporter: console.Reporter, threads: int = 6, each: int = 15) -> None:
    def one(k: int) -> None:
        for i in range(each):
            reporter.event(Event("start", f"channel{k}", message=f"{i}.00 s at 25 fps", campaign="c/teaser"))
            reporter.event(Event("done", f"channel{k}", message="unchanged", campaign="c/teaser"))
    workers = [threading.Thread(target=one, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_plain_events_from_threads_each_keep_their_line(monkeypatch):
    stream = SlowStream()
    monkeypatch.setattr(sys, "stderr", stream)
    reporter = console.Reporter(multi=True)
    assert not reporter.live
    with reporter:
        burst(reporter)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 6 * 15 * 2
    for line in lines:
        assert re.fullmatch(r"\[c/teaser\] channel\d (started \d+\.00 s at 25 fps|done unchanged)", line), line


def test_live_events_each_keep_their_line():
    # a terminal that draws the bars once, at the end (no redrawing frames in the record: lines as printed)
    out = Console(file=io.StringIO(), force_terminal=True, force_interactive=False, width=120, record=True)
    reporter = console.Reporter(multi=True, console=out)
    assert reporter.live
    with reporter:
        for k in range(3):
            reporter.event(Event("start", f"channel{k}", message="2.50 s at 25 fps", campaign="c"))
        for k in range(3):
            reporter.event(Event("info", f"channel{k}", message=f"note {k}", campaign="c"))
        reporter.event(Event("info", "", message="captions: 1 clip(s)", campaign="c"))
    lines = out.export_text().splitlines()
    for k in range(3):
        assert f"c/channel{k}: note {k}" in lines
    assert "captions: 1 clip(s)" in lines


# --------------------------------------------------------------------------- caption notes, counted

def record(warnings: list[str]) -> OutputRecord:
    return OutputRecord(channel="youtube", path="youtube.mp4", width=1920, height=1080, fps="25", duration=30.0,
                        size=1, sha256="", loudness_lufs=-14.0, true_peak_dbtp=-1.0, loudness_target_lufs=-14.0,
                        video_codec="h264", audio_codec="aac", audio_channels=2, warnings=warnings)


FAST = [f"caption reads fast ({17.5 + i / 10:.1f} characters/s > 17): words {i}" for i in range(12)]
COVERING = ["caption at 3.0 s covers the face: no free band in the safe area (Hei)"]


def test_caption_notes_are_one_line_per_kind_with_a_count():
    notes = [*FAST, *COVERING, "youtube.mp4 is 300.0 MB, over the platform's 256 MB"]
    assert console.caption_notes(record(notes)) == [
        "12 captions read fast (over 17 chars/s); -v lists them",
        "1 caption covers a face (no free band in the safe area); -v lists them"]
    listed = console.caption_notes(record(FAST), verbose=True)
    assert len(listed) == 1 and listed[0].splitlines()[1:] == [f"    {w}" for w in FAST]
    assert console.caption_notes(record([])) == []


def test_an_unchanged_output_repeats_no_notes(capsys):
    reporter = console.Reporter()
    with reporter:
        reporter.event(Event("done", "youtube", record=record(FAST), message="", campaign="c"))
        reporter.event(Event("done", "youtube", record=record(FAST), message="unchanged", campaign="c"))
    err = capsys.readouterr().err.splitlines()
    assert err == ["[c] youtube done", "[c] youtube: 12 captions read fast (over 17 chars/s); -v lists them",
                   "[c] youtube done unchanged"]


# --------------------------------------------------------------------------- through the CLI

SPEC = """\
campaign: tale
title: Tale
language: en
audio: {{denoise: light}}
clips:
  jfk:
    source: media/jfk.mp4
    person: John Kennedy
sequence:
  - clip: jfk
    from: 0
    to: {to}
  - card: end
cards:
  end:
    lines: ["Ask"]
    duration: 1
channels: [web, tiktok]
overrides:
  web: {{width: 320, height: 180, poster: false}}
  tiktok: {{width: 180, height: 320, poster: false, fit: crop}}
output: out
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def spoken_fast() -> Transcript:
    """The pinned jfk transcript said in 40 % of the time (about 25 characters a second)."""
    data = jfk_reference()
    for seg in data["segments"]:
        seg["start"], seg["end"] = seg["start"] * 0.4, seg["end"] * 0.4
        for w in seg["words"]:
            w["start"], w["end"] = w["start"] * 0.4, w["end"] * 0.4
    return Transcript.from_json(data)


@pytest.fixture
def fast_cache(tmp_path, cache_dir, model_dir, speech_clip, monkeypatch) -> Path:
    monkeypatch.setattr(Transcriber, "_run", pinned_run(speech_clip, spoken_fast))
    return fresh_cache_with_model(tmp_path / "fast-cache", cache_dir)


def write_spec(tmp_path: Path, clip: Path, to: str = "5") -> Path:
    (tmp_path / "media").mkdir(exist_ok=True)
    target = tmp_path / "media" / "jfk.mp4"
    if not target.exists():
        target.symlink_to(clip)
    spec = tmp_path / "campaign.yml"
    spec.write_text(SPEC.format(to=to), encoding="utf-8")
    return spec


def test_render_shows_progress_counts_notes_once_and_repeats_nothing(tmp_path, speech_clip, fast_cache):
    spec = write_spec(tmp_path, speech_clip)
    first = run("render", str(spec), "--cache-dir", str(fast_cache))
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    # the long stages, each reported on lines of their own
    for task in ("cleaning the sound of jfk.mp4", "analysing faces in jfk.mp4"):
        assert any(re.fullmatch(rf"{task}: started \(\d+ s\)", line) for line in lines), first.output
        assert any(re.fullmatch(rf"{task}: finished in \d+:\d\d", line) for line in lines), first.output
    for line in lines:  # every event on its own line: no line carries two outputs' prefixes
        assert line.count("[tale]") <= 1, line
    # fast captions: one counted line per output, as many as its manifest lists, no line per cue
    manifest = json.loads((tmp_path / "out" / "tale" / "manifest.json").read_text(encoding="utf-8"))
    for out in manifest["outputs"]:
        fast = [w for w in out["warnings"] if w.startswith("caption reads fast")]
        assert fast, out["warnings"]
        n = len(fast)
        assert f"[tale] {out['channel']}: {n} caption{'s' if n > 1 else ''} read{'' if n > 1 else 's'} fast " \
               f"(over 17 chars/s); -v lists them" in lines, first.output
    assert "caption reads fast (" not in first.output

    again = run("render", str(spec), "--cache-dir", str(fast_cache))
    assert again.exit_code == 0, again.output
    assert "[tale] web done unchanged" in again.output
    for words in ("fast", "captions read", "caption reads", "a face", "analysing faces", "cleaning the sound"):
        assert words not in again.output, again.output

    listed = run("-v", "render", str(spec), "-c", "web", "--force", "--cache-dir", str(fast_cache))
    assert listed.exit_code == 0, listed.output
    web = next(o for o in manifest["outputs"] if o["channel"] == "web")
    fast = [w for w in web["warnings"] if w.startswith("caption reads fast")]
    assert "-v lists them" not in listed.output
    for w in fast:
        assert f"    {w}" in listed.output.splitlines()


def test_validate_gives_the_main_films_length(tmp_path, speech_clip):
    spec = write_spec(tmp_path, speech_clip, to="7.5")
    result = run("validate", str(spec))
    assert result.exit_code == 0, result.output
    assert "  main film: 2 items, 8.50 s, channels: web, tiktok" in result.output.splitlines()


def test_validate_of_versions_only_gives_no_main_film(tmp_path, speech_clip):
    spec = write_spec(tmp_path, speech_clip)
    spec.write_text(spec.read_text(encoding="utf-8").replace(
        "output: out\n", "versions:\n  kort:\n    max_duration: 3\n    channels: [web]\noutput: out\n"),
        encoding="utf-8")
    result = run("validate", str(spec), "-V", "kort")
    assert result.exit_code == 0, result.output
    assert "main film" not in result.output and "version kort:" in result.output


# --------------------------------------------------------------------------- how files end

@pytest.mark.parametrize("sound, warned", [(2.3, False), (1.7, True)])
def test_picture_and_sound_a_little_apart_is_an_ordinary_file(tmp_path, sound, warned):
    clip = tmp_path / "clip.mp4"
    ff("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3", "-f", "lavfi", "-i",
       f"sine=duration={sound}", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(clip))
    info = probe(clip)
    assert abs(float(info.video_end - info.audio_end) - (3 - sound)) < 0.05
    assert info.streams_disagree is warned
    spec = write_spec(tmp_path, clip, to="1.5")
    result = run("validate", str(spec), "-c", "web")
    assert result.exit_code == 0, result.output
    assert ("the picture ends at 3.00 s but the sound" in result.output) is warned, result.output


def test_the_sound_clean_up_reports_its_progress(tmp_path):
    """validate -v cleans each clip's sound (as the render will): the denoiser says how far it is."""
    clip = make_clip(tmp_path / "noisy.mp4", seconds=4.0)
    spec = write_spec(tmp_path, clip, to="3")
    result = run("validate", "-v", str(spec), "-c", "web", "--cache-dir", str(tmp_path / "cache"))  # made anew
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "cleaning the sound of jfk.mp4: started (4 s)" in lines, result.output
    assert any(re.fullmatch(r"cleaning the sound of jfk.mp4: finished in \d:\d\d", line) for line in lines)
