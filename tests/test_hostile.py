"""Hostile and careless input, through the CLI as a user runs it (issue 8).

Every case ends with a clear message and the right exit code (the README's table),
or with a correct output; never with a traceback, a hang or a wrong file recorded as
good. Each test checks the exit code, the words of the message and what is left on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from pipeline.probe import probe
from tests.conftest import ROOT, ff, make_clip

SPEC = """\
campaign: hostile
title: Hostile
language: {language}
clips:
  anne:
    source: clips/anne.mp4
    person: Anne Hansen
sequence:
  - clip: anne
    from: {start}
    to: 2.0
  - card: end
cards:
  end:
    lines: {lines}
    duration: 1
channels: [x, web]
overrides:
  x: {{width: 320, height: 180}}
  web: {{width: 320, height: 180, poster: false}}
output: out
"""


def spec_text(language="no", start="0.5", lines='["Vi trenger deg!"]') -> str:
    return SPEC.format(language=language, start=start, lines=lines)


@pytest.fixture(scope="module")
def anne(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("hostile-media") / "anne.mp4", seconds=3.0)


def campaign(tmp_path: Path, anne: Path, text: str | None = None, clip: Path | None = None) -> Path:
    (tmp_path / "clips").mkdir(exist_ok=True)
    target = tmp_path / "clips" / "anne.mp4"
    if target.exists() or target.is_symlink():
        target.unlink()
    target.symlink_to(clip or anne)
    spec = tmp_path / "campaign.yml"
    spec.write_text(text if text is not None else spec_text(), encoding="utf-8")
    return spec


def run(*args: str, cache: Path | None = None):
    env = {"REKRUTT_CACHE_DIR": str(cache)} if cache else {}
    return CliRunner().invoke(main, list(args), env=env)


def no_traceback(result) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


# --------------------------------------------------------------------------- channels on the command line

@pytest.mark.parametrize("channels, words", [
    (["-c", "youtub"], ["unknown channel 'youtub'", "did you mean 'youtube'"]),
    (["-c", "x", "-c", "tiktokk"], ["unknown channel 'tiktokk'", "did you mean 'tiktok'"]),
    (["-c", "tiktok"], ["'tiktok' (asked for with -c) is not one of this campaign's channels", "x, web"]),
])
def test_unknown_channel_is_bad_input(tmp_path, anne, cache_dir, channels, words):
    spec = campaign(tmp_path, anne)
    result = run("render", str(spec), *channels, "--no-captions", cache=cache_dir)
    no_traceback(result)
    assert result.exit_code == 2, result.output
    for w in words:
        assert w in result.output
    assert "campaign.yml" in result.output and "nothing was rendered" in result.output
    assert not (tmp_path / "out").exists()


def test_only_the_selected_channels_limits_are_checked(tmp_path, anne):
    long = spec_text().replace("    duration: 1", "    duration: 150")  # over X's 140 s
    spec = campaign(tmp_path, anne, long)
    assert run("validate", str(spec)).exit_code == 2
    result = run("validate", str(spec), "-c", "web")
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- YAML

def test_billion_laughs_is_refused_quickly(tmp_path, anne):
    bomb = 'lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for name, prev in zip("bcdefghi", "abcdefgh", strict=True):
        bomb += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    spec = campaign(tmp_path, anne, spec_text() + bomb)
    started = time.monotonic()
    result = run("validate", str(spec))
    no_traceback(result)
    assert result.exit_code == 2
    assert "aliases" in result.output and "campaign.yml:" in result.output
    assert time.monotonic() - started < 30  # a guard against the old behaviour (never finishing), not a benchmark


def test_a_long_sequence_validates(tmp_path, anne):
    items = "".join("  - card: end\n" for _ in range(10_000))
    text = spec_text().replace("  - card: end\n", items, 1).replace("channels: [x, web]", "channels: [web]")
    text = text.replace("  x: {width: 320, height: 180}\n", "")
    result = run("validate", str(campaign(tmp_path, anne, text)))
    assert result.exit_code == 0, result.output[-2000:]


@pytest.mark.parametrize("edit, words", [
    (("  anne:\n", "  anne:\n    source: clips/anne.mp4\n    person: A\n  anne:\n"), ["clip id 'anne' is given twice",
                                                                                  "line 5 and line 8"]),
    (("title: Hostile\n", "title: Hostile\ntitle: Other\n"), ["key 'title' is given twice", "line 2 and line 3"]),
])
def test_duplicate_keys_name_both_lines(tmp_path, anne, edit, words):
    spec = campaign(tmp_path, anne, spec_text().replace(*edit, 1))
    result = run("validate", str(spec))
    no_traceback(result)
    assert result.exit_code == 2
    for w in words:
        assert w in result.output, result.output


def test_library_metadata_reads_norwegian_and_bad_metadata_is_located(tmp_path, anne):
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(anne, lib / "anne.mp4")
    (lib / "anne.yml").write_text("person: Anne\nlanguage: no\nconsent:\n  signed: 2026-01-01\n"
                                  "  expires: 2099-01-01\n", encoding="utf-8")
    result = run("clips", "show", "--library", str(lib), "anne")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["language"] == "no"
    (lib / "bad.yml").write_text("person: [unclosed\n", encoding="utf-8")
    result = run("clips", "show", "--library", str(lib), "bad")
    no_traceback(result)
    assert result.exit_code == 2 and "bad.yml:" in result.output and "YAML syntax error" in result.output
    (lib / "typo.yml").write_text("person: A\nlanguage: xx\nconsnet: {}\n", encoding="utf-8")
    result = run("clips", "show", "--library", str(lib), "typo")
    assert result.exit_code == 2 and "typo.yml:2:" in result.output and "typo.yml:3:" in result.output
    result = run("clips", "show", "--library", str(lib), "nobody")
    assert result.exit_code == 2 and "no clip 'nobody'" in result.output
    result = run("clips", "list", "--library", str(tmp_path / "none"))
    assert result.exit_code == 2 and "no clip library at" in result.output
    result = run("clips", "add", str(anne), "--library", str(lib), "--id", "anne", "--person", "A",
                 "--consent-signed", "2026-01-01", "--consent-expires", "2099-01-01")
    assert result.exit_code == 2 and "already in the library" in result.output


# --------------------------------------------------------------------------- values

@pytest.mark.parametrize("text, words", [
    (spec_text(language="xx"), ["unknown speech language 'xx'"]),
    (spec_text(language="nr"), ["did you mean", "'nn'"]),
    (spec_text(start="-2"), ["sequence[0].from", "-2 is negative"]),
    (spec_text().replace("    lines:", "    subline: \"one\\ntwo\"\n    lines:"), ["subline is one line"]),
])
def test_bad_values_are_refused_with_their_place(tmp_path, anne, text, words):
    result = run("validate", str(campaign(tmp_path, anne, text)))
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "campaign.yml:" in result.output
    for w in words:
        assert w in result.output, result.output


def test_transcribe_refuses_an_unknown_language(tmp_path, anne, cache_dir):
    result = run("transcribe", str(anne), "-l", "xx", cache=cache_dir)
    no_traceback(result)
    assert result.exit_code == 2 and "unknown speech language 'xx'" in result.output


def test_shape_and_reference_problems_are_reported_together(tmp_path, anne):
    text = spec_text().replace("    person: Anne Hansen", "    persn: Anne Hansen").replace(
        "  - card: end", "  - card: ending")
    result = run("validate", str(campaign(tmp_path, anne, text)))
    assert result.exit_code == 2
    assert "unknown key 'persn'" in result.output and "unknown card 'ending'" in result.output


def test_card_line_breaks_are_lines_and_long_words_are_broken(tmp_path, anne, cache_dir):
    import numpy as np

    # 120 letters: too long for a line of a 320x180 card, short enough to be shown whole when broken
    # (a word that cannot be shown whole is refused: tests/test_hardening_inputs.py)
    text = spec_text(lines='["Vi trenger\\ndeg!", "' + "A" * 120 + '"]')
    spec = campaign(tmp_path, anne, text)
    from pipeline.load import load_campaign

    loaded = load_campaign(spec)
    assert loaded.spec.cards["end"].lines == ["Vi trenger", "deg!", "A" * 120]
    result = run("render", str(spec), "-c", "x", "--no-captions", cache=cache_dir)
    assert result.exit_code == 0, result.output
    assert result.output.count("too long for a line") == 1, result.output  # said once, at its line
    assert "campaign.yml:15:" in result.output
    out = tmp_path / "out" / "hostile" / "x.mp4"
    import av

    with av.open(str(out)) as container:
        last = [f.to_ndarray(format="gray") for f in container.decode(video=0)][-1]
    bright = np.argwhere(last > 200)
    # the text stays inside the frame's safe area (5% margins): nothing runs off the sides
    assert bright[:, 1].min() >= 320 * 0.05 - 1 and bright[:, 1].max() <= 320 * 0.95 + 1


# --------------------------------------------------------------------------- media

@pytest.fixture(scope="module")
def truncated(tmp_path_factory) -> Path:
    """An mp4 whose index is intact but whose data was cut off after about a third."""
    root = tmp_path_factory.mktemp("truncated")
    full = root / "full.mp4"
    ff("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=5", "-f", "lavfi", "-i", "sine=duration=5",
       "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-movflags", "+faststart", str(full))
    data = full.read_bytes()
    cut = root / "cut.mp4"
    cut.write_bytes(data[:len(data) // 3])
    return cut


@pytest.fixture(scope="module")
def short_picture(tmp_path_factory) -> Path:
    """Picture for 1.36 s, sound for 4.88 s (as a damaged phone file was found)."""
    root = tmp_path_factory.mktemp("short-picture")
    path = root / "short.mp4"
    ff("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1.36", "-f", "lavfi", "-i",
       "sine=duration=4.88", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(path))
    return path


def test_cut_off_file_is_as_long_as_it_plays(truncated, tmp_path, anne):
    info = probe(truncated)
    assert info.container_duration == 5 and info.duration < 2.5 and info.streams_disagree
    spec = campaign(tmp_path, anne, spec_text().replace("to: 2.0", "to: 4.0"), clip=truncated)
    result = run("validate", str(spec))
    no_traceback(result)
    assert result.exit_code == 2
    assert "past the end of clip 'anne'" in result.output


def test_picture_and_sound_that_disagree_are_warned_about(short_picture, tmp_path, anne):
    info = probe(short_picture)
    assert abs(float(info.video_end) - 1.36) < 0.05 and abs(float(info.audio_end) - 4.88) < 0.05
    assert info.duration == info.video_end
    spec = campaign(tmp_path, anne, spec_text().replace("to: 2.0", "to: 1.2"), clip=short_picture)
    result = run("validate", str(spec))
    assert result.exit_code == 0, result.output
    assert "the picture ends at 1.36 s but the sound at 4.88 s" in result.output


def test_clip_without_sound_warns_and_writes_no_empty_captions(tmp_path, cache_dir):
    silent = make_clip(tmp_path / "silent.mp4", seconds=3.0, audio=None)
    spec = campaign(tmp_path, silent, spec_text(language="en"))
    result = run("render", str(spec), "-c", "web", cache=cache_dir)
    assert result.exit_code == 0, result.output
    assert "has no sound" in result.output
    out = tmp_path / "out" / "hostile"
    captions = [p for p in out.glob("*.vtt") if not p.name.endswith(".descriptions.vtt")]
    assert not list(out.glob("*.srt")) and not captions
    sheet = json.loads((out / "web.publish.json").read_text(encoding="utf-8"))
    assert not any(str(v).endswith((".srt", ".vtt")) and ".descriptions." not in str(v)
                   for v in json.dumps(sheet).split('"'))
    # the synstolking track is not captions: the card's text is in it, so it is never empty
    for track in out.glob("*.descriptions.vtt"):
        assert "Vi trenger deg" in track.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the cache

def _without_root_override() -> list[str]:
    """Run a command with file permissions enforced even for root (CI runs as root)."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("capsh"):
        pytest.fail("capsh (Debian's libcap2-bin) is needed to test permissions as root")
    return ["capsh", "--drop=cap_dac_override,cap_dac_read_search,cap_fowner", "--"]


def _cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    prefix = _without_root_override()
    command = [sys.executable, str(ROOT / "cli.py"), *args]
    if prefix:
        command = [*prefix, "-c", " ".join(f"'{a}'" for a in command)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env}, cwd=ROOT)


def test_read_only_cache_is_a_clear_error(tmp_path, anne, model_dir):
    cache = tmp_path / "ro-cache"
    cache.mkdir()
    # the model is there (assembled once for the session), but nothing else can be written
    (cache / "models").symlink_to(model_dir)
    os.chmod(cache, 0o555)
    try:
        result = _cli(["transcribe", str(anne), "-l", "en"], {"REKRUTT_CACHE_DIR": str(cache)})
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert f"the cache folder {cache} cannot be used" in result.stderr and "--cache-dir" in result.stderr
        assert not (cache / "transcripts").exists()  # nothing half-made was left
        os.chmod(cache, 0o755)
        (cache / "transcripts" / "ab").mkdir(parents=True)
        (cache / "transcripts" / "ab" / "abc.json").write_text("{}")
        os.chmod(cache / "transcripts" / "ab", 0o555)
        result = _cli(["cache", "prune", "--all"], {"REKRUTT_CACHE_DIR": str(cache)})
        assert result.returncode == 1, result.stdout + result.stderr
        assert "could not remove 1 cache entries" in result.stderr and str(cache) in result.stderr
    finally:
        for p in [cache, *cache.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                os.chmod(p, 0o755)


# --------------------------------------------------------------------------- interruptions

def test_interrupted_rerender_leaves_a_true_manifest(tmp_path, anne, cache_dir):
    spec = campaign(tmp_path, anne)
    env = {"REKRUTT_CACHE_DIR": str(cache_dir)}
    first = subprocess.run([sys.executable, str(ROOT / "cli.py"), "render", str(spec), "--no-captions"],
                           capture_output=True, text=True, env={**os.environ, **env}, timeout=300)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out" / "hostile"
    before = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # edit the spec, then stop the re-render after its first output is finished and the second is under way
    # (one at a time: with -j auto both would start together)
    spec.write_text(spec_text(lines='["Søk nå!"]').replace("channels: [x, web]", "channels: [x, web]"),
                    encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "render", str(spec), "--no-captions", "-j", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **env})
    deadline = time.time() + 120
    while time.time() < deadline and not any(out.glob(".web.mp4.*")):
        time.sleep(0.02)
    assert any(out.glob(".web.mp4.*")), "the second output never started"
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 143, output
    after = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    from pipeline.files import sha256_file

    by_channel = {o["channel"]: o for o in after["outputs"]}
    assert by_channel["x"]["fingerprint"] != {o["channel"]: o for o in before["outputs"]}["x"]["fingerprint"]
    for entry in after["outputs"]:  # every listed output is exactly the file on disk
        assert sha256_file(out / entry["path"]) == entry["sha256"], entry["channel"]
    assert not list(out.glob(".*.partial"))


def test_sigint_exits_130(tmp_path, anne, cache_dir):
    spec = campaign(tmp_path, anne, spec_text().replace("channels: [x, web]", "channels: [web]").replace(
        "  x: {width: 320, height: 180}\n", "").replace("web: {width: 320, height: 180, poster: false}",
                                                          "web: {poster: false}"))
    # Ctrl-C as a terminal delivers it: a suite started in the background (`cmd &` in a script) starts its
    # children with SIGINT ignored, and then there would be nothing to test
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "render", str(spec), "--no-captions"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            env={**os.environ, "REKRUTT_CACHE_DIR": str(cache_dir)})
    out = tmp_path / "out" / "hostile"
    deadline = time.time() + 120
    while time.time() < deadline and not any(out.glob(".web.mp4.*")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert not list(out.glob("*.mp4")) and not list(out.glob(".*.partial"))


# --------------------------------------------------------------------------- console

def test_channels_fit_80_columns_when_not_a_terminal():
    result = run("channels")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) > 10 and max(len(line) for line in lines) <= 80, result.output
    assert any(line.startswith("youtube") for line in lines) and "1920x1080" in result.output
