"""One source of truth for what makes an output (issue 8): the RenderPlan, its fingerprint, and
the small mechanisms around it (fonts reaching libass, Whisper options, atomic files, errors)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from pipeline import fonts
from pipeline.cache import Cache
from pipeline.errors import Interrupted, RenderError
from pipeline.ffmpeg import failure_reason, ffmpeg_exe, run
from pipeline.job import OutputSpec
from pipeline.load import load_campaign
from pipeline.outplan import plan_output
from pipeline.plan import Burn, MusicBed, Overlay, Still, fingerprint
from pipeline.render import render_command
from pipeline.timecode import parse_rate
from pipeline.timeline import build_timeline
from tests.test_spec import write_spec


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    from tests.conftest import make_clip

    root = tmp_path_factory.mktemp("plan")
    clip = make_clip(root / "src.mp4", seconds=3.0)
    return load_campaign(write_spec(root, clip))


@pytest.fixture()
def plan(campaign, tmp_path):
    timeline = build_timeline(campaign, Fraction(25))
    made, _ = plan_output(OutputSpec(campaign, campaign.preset("tiktok"), tuple(campaign.spec.sequence), timeline),
                          tmp_path, cache=Cache(tmp_path / "c"))
    return made


def _changed(value, tmp_path: Path):
    """Another value of the same kind, for each kind of field a plan holds."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, Fraction):
        return value + 1
    if dataclasses.is_dataclass(value):
        name = next(f.name for f in dataclasses.fields(value) if f.metadata.get("fingerprint", True))
        return dataclasses.replace(value, **{name: _changed(getattr(value, name), tmp_path)})
    if isinstance(value, dict):
        key = next(iter(value))
        return {**value, key: _changed(value[key], tmp_path)}
    if isinstance(value, tuple):
        return value + (value[0],) if value else ("extra",)
    if isinstance(value, int):
        return value + 1
    if isinstance(value, Path):
        other = tmp_path / "other-file"
        other.write_bytes(os.urandom(16))
        return other
    if value is None:
        return None
    raise AssertionError(f"no change known for {type(value)}")


def test_every_field_of_the_plan_is_in_the_fingerprint(plan, tmp_path):
    base = fingerprint(plan)
    stand_ins = {
        "overlays": (Overlay(Still(tmp_path / "lt.png", "digest"), 1, 2, Fraction(1), Fraction(2)),),
        "burn": Burn(tmp_path / "c.ass", tmp_path, (), "nb"),
        "music": MusicBed(tmp_path / "m.wav", -14.0),
        "poster_at": Fraction(1),
        "crop_ys": ((0, "0"),),
    }
    (tmp_path / "c.ass").write_text("[Script Info]\n")
    for f in dataclasses.fields(plan):
        value = getattr(plan, f.name)
        if value is None or value == () and f.name in stand_ins:
            changed = stand_ins[f.name]
        else:
            changed = _changed(value, tmp_path)
        assert changed != value, f.name
        assert fingerprint(dataclasses.replace(plan, **{f.name: changed})) != base, \
            f"changing {f.name} leaves the fingerprint as it was"


def test_font_files_enter_by_content(plan, tmp_path):
    font = tmp_path / "brand.ttf"
    shutil.copyfile(fonts.find_font(True), font)
    one = fingerprint(dataclasses.replace(plan, fonts=(font,)))
    assert one == fingerprint(dataclasses.replace(plan, fonts=(font,)))
    font.write_bytes(font.read_bytes() + b"\0")  # same name, other content
    from pipeline import cache

    cache._digest_memo.clear()
    assert fingerprint(dataclasses.replace(plan, fonts=(font,))) != one


def test_clip_content_not_name_counts(plan, tmp_path):
    clip = plan.clips[0]
    copy = tmp_path / "copy.mp4"
    shutil.copyfile(clip.path, copy)
    moved = dataclasses.replace(plan, clips=(dataclasses.replace(clip, path=copy),))
    assert fingerprint(moved) == fingerprint(plan)


def test_a_font_not_installed_reaches_libass(campaign, tmp_path, monkeypatch):
    font_dir = tmp_path / "brand-fonts"
    font_dir.mkdir()
    shutil.copyfile(fonts.find_font(True), font_dir / "Brand-Bold.ttf")
    monkeypatch.setenv(fonts.FONT_BOLD_ENV, str(font_dir / "Brand-Bold.ttf"))
    fonts.find_font.cache_clear()
    try:
        from pipeline.subtitles import CaptionMaker

        maker = CaptionMaker(campaign, tmp_path, cache=Cache(tmp_path / "c"))
        maker.transcripts = {"nb": {}}
        timeline = build_timeline(campaign, Fraction(25))
        made, _ = plan_output(OutputSpec(campaign, campaign.preset("tiktok"), tuple(campaign.spec.sequence), timeline),
                          tmp_path, cache=Cache(tmp_path / "c"))
        fonts_dir, used = fonts.caption_fonts()
        assert fonts_dir == font_dir and used == (font_dir / "Brand-Bold.ttf",)
        burn = Burn(tmp_path / "c.ass", fonts_dir, used, "nb")
        (tmp_path / "c.ass").write_text("[Script Info]\n")
        cmd = render_command(dataclasses.replace(made, burn=burn), tmp_path / "o.mp4", None)
        assert f"fontsdir={font_dir}" in cmd.filter_script.replace("\\", "")
        assert fingerprint(dataclasses.replace(made, burn=burn)) != fingerprint(made)
    finally:
        fonts.find_font.cache_clear()


def test_whisper_options_are_the_call_and_the_key():
    from pipeline.transcribe import WhisperOptions

    a = WhisperOptions.make("no", glossary=("Fjordvik", "Tunet"))
    b = WhisperOptions.make("no", glossary=("Tunet", "Fjordvik"))
    assert a == b and a.kwargs()["initial_prompt"] == "Fjordvik, Tunet."
    assert set(a.kwargs()) >= {"language", "task", "beam_size", "vad_filter", "word_timestamps", "initial_prompt"}
    import inspect

    from faster_whisper import WhisperModel

    accepted = inspect.signature(WhisperModel.transcribe).parameters
    assert all(name in accepted for name in a.kwargs()), "every option is an argument of the model call"


def test_rates_snap_to_ntsc():
    assert parse_rate(29.97) == Fraction(30000, 1001)
    assert parse_rate("23.976") == Fraction(24000, 1001)
    assert parse_rate(59.94) == Fraction(60000, 1001)
    assert parse_rate(25) == 25 and parse_rate("30000/1001") == Fraction(30000, 1001)
    assert parse_rate(12.5) == Fraction(25, 2)


def test_fps_override_is_exact(tmp_path, campaign):
    from tests.conftest import make_clip
    from tests.test_spec import GOOD

    clip = make_clip(tmp_path / "c.mp4", seconds=3.0)
    spec = write_spec(tmp_path, clip, GOOD.replace("output: out", "overrides:\n  youtube: {fps: 29.97}\noutput: out"))
    assert load_campaign(spec).preset("youtube").fps == Fraction(30000, 1001)


def test_transcripts_and_analyses_hold_exact_times():
    from pipeline.reframe import Analysis
    from pipeline.transcribe import Transcript

    t = Transcript.from_json({"language": "en", "language_probability": 1.0, "duration": 11.0, "segments": [
        {"start": 0.1, "end": 0.7, "text": "And so", "words": [{"text": "And", "start": 0.1, "end": 0.3}]}]})
    assert t.words[0].start == Fraction(1, 10) and isinstance(t.duration, Fraction)
    assert Transcript.from_json(t.to_json()) == t
    a = Analysis.from_json({"samples": [{"t": 0.5, "faces": []}], "shots": [1.24]})
    assert a.samples[0].t == Fraction(1, 2) and a.shots == (Fraction(31, 25),)


def test_atomic_files_never_touch_the_umask(tmp_path, monkeypatch):
    from pipeline.files import write_text_atomic

    old = os.umask(0o027)
    try:
        def forbidden(mask):
            raise AssertionError("os.umask was called")

        monkeypatch.setattr(os, "umask", forbidden)
        write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640


def test_a_bug_in_a_progress_callback_surfaces_as_itself(tmp_path):
    def broken(fraction):
        raise TypeError("a bug")

    out = tmp_path / "o.mp4"
    argv = [ffmpeg_exe(), "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=20", "-c:v", "libx264",
            "-preset", "ultrafast", str(out)]
    with pytest.raises(TypeError, match="a bug"):
        run(argv, what="test", duration=20.0, progress=broken)
    # ffmpeg was stopped, not left writing
    import time

    size = out.stat().st_size if out.exists() else 0
    time.sleep(0.5)
    assert (out.stat().st_size if out.exists() else 0) == size
    assert not issubclass(TypeError, Interrupted)


def test_ffmpegs_reason_comes_first():
    lines = ["Input #0, lavfi, from 'testsrc2':", "  Duration: N/A, start: 0.000000, bitrate: N/A",
             "Stream mapping:", "  Stream #0:0 -> #0:0 (wrapped_avframe (native) -> h264 (libx264))",
             "[out#0/mp4 @ 0x55] Error writing trailer: No space left on device",
             "[out#0/mp4 @ 0x55] Error closing file: No space left on device",
             "Conversion failed!"]
    assert "No space left on device" in failure_reason(lines)
    error = RenderError(f"render x failed (exit 1): {failure_reason(lines)}", ["ffmpeg"] + ["-x"] * 500,
                        "\n".join(lines))
    assert str(error).index("No space left") < 100


def test_corrected_words_keep_the_writers_spelling():
    from pipeline.transcribe import Word, words_as_written

    tokens = (Word("self", Fraction(1), Fraction(3, 2)), Word("-starter,", Fraction(3, 2), Fraction(2)),
              Word("«Hei»", Fraction(2), Fraction(5, 2)))
    words = words_as_written("self-starter, «Hei»", tokens)
    assert [w.text for w in words] == ["self-starter,", "«Hei»"]
    assert (words[0].start, words[0].end) == (Fraction(1), Fraction(2))
