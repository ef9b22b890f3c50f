"""A running render and the cache (issue 20): prune keeps what a render uses, a full disk stops the run once.

Real renders through the CLI, a real second process for prune's view of a live and a dead lease, and a
real full disk (a small tmpfs, where this machine lets a test mount one; ffmpeg writing /dev/full otherwise).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from pipeline import ffmpeg as ff
from pipeline.cache import LEASES, Cache, key_of
from pipeline.errors import CacheError, FolderFull, NoSpace
from pipeline.probe import probe
from tests.conftest import ROOT, make_clip

SPEC = """\
campaign: running
title: Running
language: no
clips:
  anne:
    source: {clip}
    person: Anne Hansen
sequence:
  - clip: anne
    from: 0.5
    to: 2.5
  - card: end
cards:
  end:
    lines: ["Vi trenger deg!"]
    duration: 1
channels: [{channels}]
overrides:
  x: {{width: 320, height: 180}}
  web: {{poster: false}}
output: {output}
"""


@pytest.fixture(scope="module")
def anne(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("running-media") / "anne.mp4", seconds=3.0)


def write_spec(tmp_path: Path, clip: Path, channels: str = "x, web", output: Path | None = None) -> Path:
    spec = tmp_path / "campaign.yml"
    spec.write_text(SPEC.format(clip=clip, channels=channels, output=output or tmp_path / "out"), encoding="utf-8")
    return spec


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def no_traceback(result) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


def cache_files(cache: Path, kind: str) -> list[Path]:
    return [p for p in (cache / kind).rglob("*") if p.is_file() and p.suffix != ".lock"] \
        if (cache / kind).is_dir() else []


# --------------------------------------------------------------------------- prune while a render runs

def test_prune_during_a_render_keeps_what_it_uses(tmp_path, anne):
    """`cache prune --all` while a render runs: the render still succeeds, prune says what it kept and for whom,
    and once the render is over the next prune removes it all (before: every output failed, "Error opening
    input file .../sound/....flac")."""
    cache = tmp_path / "cache"
    spec = write_spec(tmp_path, anne)
    # one output at a time: x is done (its pieces and the cleaned sound in the cache) while web's picture
    # pieces, 1280x720, are being encoded; its sound piece (reading the cleaned sound) and its join come after
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "render", str(spec), "--no-captions", "-j", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "REKRUTT_CACHE_DIR": str(cache)}, cwd=ROOT)
    try:
        deadline = time.time() + 120
        manifest = tmp_path / "out" / "running" / "manifest.json"
        while time.time() < deadline and proc.poll() is None and not (
                '"channel": "x"' in (manifest.read_text(encoding="utf-8") if manifest.is_file() else "")
                and any(cache.glob("pieces/*/.*.partial"))):
            time.sleep(0.01)
        assert proc.poll() is None, "the render ended before prune could run: " + proc.communicate()[0]
        pruned = cli("cache", "prune", "--all", "--cache-dir", str(cache))
    finally:
        output, _ = proc.communicate(timeout=300)
    no_traceback(pruned)
    assert pruned.exit_code == 0, pruned.output
    assert "kept" in pruned.output and "in use by a running render" in pruned.output, pruned.output
    assert f"pid {proc.pid}: render of running" in pruned.output, pruned.output
    assert "sound" in pruned.output and "pieces" in pruned.output, pruned.output
    assert proc.returncode == 0, output
    out = tmp_path / "out" / "running"
    records = {o["channel"]: o for o in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]}
    assert set(records) == {"x", "web"}
    for channel, record in records.items():
        info = probe(out / record["path"])
        assert abs(float(info.duration) - 3.0) < 0.1, (channel, info.duration)
        assert info.has_audio and info.video_codec == "h264", channel
    # the render is over: its lease went with it, and prune removes everything
    assert not list((cache / LEASES).glob("*.lease"))
    again = cli("cache", "prune", "--all", "--cache-dir", str(cache))
    assert again.exit_code == 0 and "kept" not in again.output, again.output
    assert not again.output.startswith("removed 0 "), again.output
    assert not cache_files(cache, "pieces") and not cache_files(cache, "sound")


HOLDER = """\
import os, sys, time
from pipeline.cache import Cache
cache = Cache(sys.argv[1])
with cache.lease("render of held"):
    cache.get("loudness", sys.argv[2])
    print("held", flush=True)
    if sys.argv[3] == "crash":
        os.kill(os.getpid(), 9)
    time.sleep(60)
"""


@pytest.mark.parametrize("how", ["crash", "live"])
def test_a_lease_keeps_entries_only_while_its_process_lives(tmp_path, how):
    """A lease is an OS lock held by the render's process: a live one keeps its entries, one left by a killed
    process keeps nothing and is removed."""
    cache = Cache(tmp_path / "cache")
    used, unused = key_of("used"), key_of("unused")
    cache.put("loudness", used, {"n": 1})
    cache.put("loudness", unused, {"n": 2})
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(cache.root), used, how], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "held"
        if how == "crash":
            holder.wait(timeout=30)
            assert holder.returncode == -signal.SIGKILL
        result = cli("cache", "prune", "--all", "--cache-dir", str(cache.root))
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 0, result.output
    assert cache.get("loudness", unused) is None
    if how == "live":
        assert result.output.startswith("removed 1 entries"), result.output
        assert f"kept 1 entries in use by a running render (loudness 1): pid {holder.pid}: render of held" \
            in result.output
        assert cache.get("loudness", used) == {"n": 1}
    else:
        assert result.output.startswith("removed 2 entries") and "kept" not in result.output, result.output
        assert not list((cache.root / LEASES).glob("*.lease"))  # the dead process's lease is gone


# --------------------------------------------------------------------------- a full disk

@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs, filled to leave ``free(n)`` bytes: a real disk that runs full. Needs root and a kernel
    that lets this process mount (not every container does): otherwise the test is skipped, saying so."""
    where = tmp_path / "small-disk"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the full-disk render is not tested here")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], capture_output=True,
                          text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({made.stderr.strip()}); the full-disk render is not tested")

    def fill(leave: int) -> None:
        filler = where / "filler"
        with filler.open("wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        size = filler.stat().st_size
        os.truncate(filler, max(0, size - leave))

    try:
        yield where, fill
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.parametrize("full", ["cache", "output"])
def test_a_full_disk_stops_the_run_once_naming_its_folder(tmp_path, anne, small_disk, full):
    """The cache's disk or the output folder's disk is full: exit 1 with one message naming the full folder
    and the option that chooses another (before: ffmpeg's "No space left on device" once per output)."""
    where, fill = small_disk
    cache = where / "cache" if full == "cache" else tmp_path / "cache"
    out = where / "out" if full == "output" else tmp_path / "out"
    cache.mkdir()
    out.mkdir()
    spec = write_spec(tmp_path, anne, channels="x, web, youtube, instagram-feed", output=out)
    # room for the cache's small JSON entries, none for a cleaned sound or a piece (or an output)
    fill(48 * 1024 if full == "cache" else 0)
    result = cli("render", str(spec), "--no-captions", "--cache-dir", str(cache))
    no_traceback(result)
    assert result.exit_code == 1, result.output
    assert result.output.count("No space left on device") == 1, result.output
    if full == "cache":
        assert f"the cache folder {cache} is on a full disk" in result.output, result.output
        assert "--cache-dir" in result.output and "output folder" not in result.output
        assert not list(cache.rglob("*.partial")) and not list(cache.rglob(".*.flac"))
    else:
        assert f"the output folder {out} is on a full disk" in result.output, result.output
        assert "--out" in result.output and "--cache-dir" not in result.output
        assert not list(out.rglob("*.partial"))
    assert "FAILED" not in result.output  # one run-level error, not one per output


def test_ffmpeg_on_a_full_disk_says_which_file(tmp_path):
    """ffmpeg's own ENOSPC (writing /dev/full, which always is) is told apart from other failures, with the file."""
    with pytest.raises(NoSpace) as caught:
        ff.run([ff.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-f", "wav", "/dev/full"],
               what="writing a tone")
    assert caught.value.paths == ["/dev/full"] and "No space left on device" in str(caught.value)


def test_a_full_disk_is_named_by_where_the_write_was(tmp_path):
    """Which folder a full-disk message names: the cache, the output folder (saying when both share the disk),
    or the folder written (temporary files)."""
    from pipeline.jobs import _disk_full

    cache = Cache(tmp_path / "cache")
    cache.root.mkdir()
    out = tmp_path / "out"
    out.mkdir()

    def full(path: Path):
        return _disk_full(NoSpace("x", "join web", [str(path)]), cache, out)

    in_cache = full(cache.root / "pieces" / "ab" / ".ab.mp4.1.partial")
    assert isinstance(in_cache, CacheError) and f"the cache folder {cache.root} is on a full disk" in str(in_cache)
    assert "--cache-dir" in str(in_cache)
    in_out = full(out / "running" / ".web.mp4.1.partial")
    assert isinstance(in_out, FolderFull) and f"the output folder {out} is on a full disk" in str(in_out)
    assert "--out" in str(in_out) and f"the cache folder {cache.root} is on the same disk" in str(in_out)
    elsewhere = full(tmp_path / "work" / "decoded.f32")
    assert isinstance(elsewhere, FolderFull) and "TMPDIR" in str(elsewhere)
    assert _disk_full(OSError(13, "Permission denied", "x"), cache, out) is None


def test_a_signal_just_after_the_temporary_file_appears_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM is raised between two bytecodes: also the ones right after the temporary file was
    created and before atomic_path's cleanup knew of it (a render stopped as it started left a .partial)."""
    import os

    from pipeline import files

    real_open = os.open

    def open_then_signal(path, flags, mode=0o777):
        fd = real_open(path, flags, mode)
        os.close(fd)
        raise KeyboardInterrupt  # as if the signal landed the moment the file appeared

    monkeypatch.setattr(files.os, "open", open_then_signal)
    with pytest.raises(KeyboardInterrupt):
        with files.atomic_path(tmp_path / "cinema.mov"):
            pass
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
