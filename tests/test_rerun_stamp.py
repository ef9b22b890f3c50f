"""A render that finds nothing changed answers from its stamp (issue 25): the record of every file it read and
wrote, kept in the cache, checked by size and time before anything is imported or loaded.

Behaviour, never timings: what the record holds and when it answers (each kind of change a producer makes
runs the render again), the lines it prints against those of the long way, the modules the answering process
imported, and that every file the long way looks at is one the record would see change.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from pipeline import stamp
from tests.conftest import ROOT, fresh_cache_with_model, make_clip
from tests.test_hostile import campaign, spec_text
from tests.test_noop_speed import _example
from tests.test_speed_cache import HEAVY, PROBE

ANSWERED = "nothing changed since the last render"


def _age(*paths: Path, seconds: float = 60) -> None:
    """Files as a producer's are: saved a while before the render (one saved during it is not stamped)."""
    when = time.time() - seconds
    for p in paths:
        os.utime(p, (when, when))


# --------------------------------------------------------------------------- the record itself


def _project(root: Path) -> dict[str, Path]:
    """A campaign's folder as a render sees it: a spec, a transcript, a clip, a folder of recordings with none
    in it yet, a transcripts folder holding another clip's file only, an output and the cache."""
    paths = {"spec": root / "work" / "spec.yml", "srt": root / "work" / "transcripts" / "anne.srt",
             "other": root / "work" / "more" / "sara.srt", "clip": root / "media" / "anne.mp4",
             "described": root / "work" / "descriptions", "output": root / "out" / "camp" / "x.mp4",
             "cached": root / "cache" / "probes" / "ab.json"}
    for name, p in paths.items():
        if name == "described":
            p.mkdir(parents=True)
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(f"{name} as it was".encode())
    _age(*(p for p in root.rglob("*")))
    return paths


def _record(root: Path, paths: dict[str, Path]) -> Path:
    target = stamp.path_for(root / "cache", "a" * 64)
    with stamp.recording(ignore=[root / "cache"]) as rec:
        paths["spec"].read_text(encoding="utf-8")
        paths["srt"].read_bytes()
        paths["other"].read_bytes()
        stamp.note(paths["clip"])  # fingerprinted by size and time, never opened
        paths["cached"].read_bytes()  # the cache checks its own entries
        (root / "work" / "transcripts" / "jonas.srt").exists()  # looked for by name: not there
        scratch = root / "out" / "camp" / ".x.partial"
        scratch.write_bytes(b"partial")
        scratch.replace(paths["output"])
        temporary = root / "tmp-work.ass"
        temporary.write_text("temporary")
        temporary.unlink()
    assert stamp.save(target, rec, [root / "out" / "camp"], {"said": "unchanged"}) is None
    return target


def _same_size(path: Path) -> None:
    text = path.read_bytes()
    path.write_bytes(text[::-1])  # the same length, another content


def _kept_time(path: Path) -> None:
    st = path.stat()
    _same_size(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # as cp -p leaves it: only the change time is new


CHANGES = {
    "the spec edited (same length)": lambda p, root: _same_size(p["spec"]),
    "the clip replaced (a fingerprinted file)": lambda p, root: _same_size(p["clip"]),
    "a corrected transcript added beside another": lambda p, root: (p["other"].parent / "anne.srt").write_text("x"),
    "a recording put in its empty folder": lambda p, root: (p["described"] / "kort-end.wav").write_bytes(b"RIFF"),
    "a looked-for transcript made": lambda p, root: (root / "work" / "transcripts" / "jonas.srt").write_text("x"),
    "an output deleted": lambda p, root: p["output"].unlink(),
    "an output touched": lambda p, root: os.utime(p["output"]),
    "a clip copied over with its size and time kept": lambda p, root: _kept_time(p["clip"]),
    "a file put among the outputs": lambda p, root: (p["output"].parent / "x.bak").write_bytes(b"x"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_stamp_answers_until_anything_it_recorded_changes(tmp_path, change):
    paths = _project(tmp_path)
    target = _record(tmp_path, paths)
    kept = stamp.answer(target)
    assert kept is not None and kept[0] == {"said": "unchanged"}
    document = json.loads(target.read_text(encoding="utf-8"))
    assert str(paths["clip"]) in document["files"] and str(paths["output"]) in document["files"]
    assert str(tmp_path / "work" / "transcripts") in document["files"]  # where jonas.srt was looked for
    assert not any("cache" in Path(p).relative_to(tmp_path).parts[:1] for p in document["files"]
                   if p.startswith(str(tmp_path)))  # nothing of the cache
    assert not any("tmp-work" in p or ".partial" in p for p in [*document["files"], *document["absent"]])
    CHANGES[change](paths, tmp_path)
    assert stamp.answer(target) is None, change


def test_what_the_stamp_does_not_record_leaves_it_answering(tmp_path):
    paths = _project(tmp_path)
    target = _record(tmp_path, paths)
    _same_size(paths["cached"])  # the cache's own entry: the cache checks it
    (tmp_path / "elsewhere.txt").write_text("a file no render looked at")
    assert stamp.answer(target) is not None


def test_a_file_changed_while_the_render_read_it_is_not_stamped(tmp_path):
    paths = _project(tmp_path)
    target = stamp.path_for(tmp_path / "cache", "f" * 64)
    with stamp.recording(ignore=[tmp_path / "cache"]) as rec:
        paths["spec"].read_text(encoding="utf-8")
        paths["spec"].write_text("saved again during the render", encoding="utf-8")  # by the producer's editor
    # read by the render, written by someone else: the render did not write it, so it is an input (the hook
    # saw the editor's write too: here both are one process; the time is what tells)
    rec.written.discard(str(paths["spec"]))
    why = stamp.save(target, rec, [tmp_path / "out" / "camp"], {})
    assert why is not None and "spec.yml changed while the render read it" in why
    assert not target.exists()


def test_a_damaged_or_older_stamp_is_no_answer(tmp_path):
    paths = _project(tmp_path)
    target = _record(tmp_path, paths)
    text = target.read_text(encoding="utf-8")
    target.write_text(text[: len(text) // 2], encoding="utf-8")
    assert stamp.answer(target) is None
    target.write_text(json.dumps({**json.loads(text), "version": 0}), encoding="utf-8")
    assert stamp.answer(target) is None
    stamp.forget(target)
    assert stamp.answer(target) is None and not target.exists()


# --------------------------------------------------------------------------- the render command


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("stamp-media") / "anne.mp4", seconds=3.0)


def _render(spec: Path, cache: Path, *extra: str):
    result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(cache), *extra])
    assert result.exit_code == 0, result.output
    return result


def _rows(output: str) -> list[str]:
    """The lines a render prints for its outputs and manifests, the seconds left out."""
    return [re.sub(r"\(\d+\.\d s\)", "(s)", line) for line in output.splitlines()
            if re.match(r"\S+/\S+: |manifest: ", line)]


def test_an_unchanged_render_answers_from_its_stamp_and_each_change_renders_again(tmp_path, clip, monkeypatch):
    spec = campaign(tmp_path, clip, spec_text())
    _age(clip, tmp_path / "clips")
    cache = tmp_path / "cache"
    first = _render(spec, cache)
    assert ANSWERED not in first.output
    _age(spec, tmp_path, tmp_path / "clips")  # the render made out/ in the spec's folder: a while ago now
    second = _render(spec, cache)  # the long way, finding every output unchanged: stamped
    assert ANSWERED not in second.output and second.output.count(": unchanged (") == 2, second.output
    assert len(list((cache / stamp.RUNS).rglob("*.json"))) == 1, second.output
    third = _render(spec, cache)
    assert ANSWERED in third.output, third.output
    assert _rows(third.output) == _rows(second.output) and len(_rows(third.output)) == 3  # 2 outputs, 1 manifest
    assert "model runs: 0" in third.output

    out = tmp_path / "out" / "hostile"
    (out / "x.mp4").unlink()  # an output deleted: made again
    again = _render(spec, cache)
    assert ANSWERED not in again.output and "hostile/x: rendered" in again.output, again.output
    assert (out / "x.mp4").is_file()
    assert ANSWERED in _render(spec, cache).output

    spec.write_text(spec_text(lines='["Vi trenger deg nå!"]'), encoding="utf-8")  # the end card edited
    _age(spec)
    edited = _render(spec, cache)
    assert ANSWERED not in edited.output and edited.output.count(": rendered (") == 2, edited.output
    assert ANSWERED in _render(spec, cache).output

    assert ANSWERED not in _render(spec, cache, "-c", "x").output  # another question: the long way, once
    assert ANSWERED in _render(spec, cache, "-c", "x").output  # then that question has a stamp of its own
    for other in (["--force"], ["--report", str(tmp_path / "report.json")]):  # asking for what a stamp lacks
        assert ANSWERED not in _render(spec, cache, *other).output, other
    assert (tmp_path / "report.json").is_file()
    assert ANSWERED not in _render(spec, cache, "-c", "x").output  # --force made x again: its stamp is old
    monkeypatch.setenv("REKRUTT_CACHE_MAX_SIZE", "100G")  # a setting of the library's: the long way
    assert ANSWERED not in _render(spec, cache).output


@contextlib.contextmanager
def _looked_at(monkeypatch):
    """Every path this process stats or opens in the block (the test's own spy, beside the stamp's hook)."""
    seen: set[str] = set()
    real_stat = os.stat

    def spying_stat(path, *args, **kwargs):
        if not isinstance(path, int) and kwargs.get("dir_fd") is None:  # (rmtree's stats are by folder)
            seen.add(os.path.abspath(os.fsdecode(path)))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", spying_stat)
    try:
        with stamp.recording() as rec:  # opens and listings, as the stamp's hook sees them
            yield seen
    finally:
        monkeypatch.undo()
    seen |= rec.read | rec.listed | rec.written


def _first_there(path: str) -> str:
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def test_every_file_the_long_way_looks_at_is_one_the_stamp_sees_change(tmp_path, cache_dir, model_dir,
                                                                       monkeypatch):
    """The example (transcripts, brand kit, described versions): each path the full unchanged run stats or
    opens is in the stamp, or is in a folder the stamp records (a file added there changes the folder)."""
    spec = _example(tmp_path)
    cache = fresh_cache_with_model(tmp_path / "cache", cache_dir)
    args = ["render", str(spec), "-V", "main", "-c", "x", "--out", str(tmp_path / "out"), "--cache-dir", str(cache)]
    assert CliRunner().invoke(main, args).exit_code == 0
    _age(*(p for p in tmp_path.rglob("*") if "out" not in p.relative_to(tmp_path).parts[:1]
           and "cache" not in p.relative_to(tmp_path).parts[:1]))
    with _looked_at(monkeypatch) as seen:
        long_way = CliRunner().invoke(main, args)
    assert long_way.exit_code == 0 and ANSWERED not in long_way.output, long_way.output
    (kept,) = list((cache / stamp.RUNS).rglob("*.json"))
    document = json.loads(kept.read_text(encoding="utf-8"))
    recorded = set(document["files"]) | set(document["absent"])
    skip = [str(cache), *stamp._interpreter_roots(), *stamp._SYSTEM]
    unseen = []
    for p in sorted(seen):
        if stamp._under(p, skip) or "__pycache__" in p or p in recorded:
            continue
        there = _first_there(p)  # a file looked for and not found: the nearest folder that is there
        if there == tempfile.gettempdir():
            continue  # a scratch file of the run's own, gone with its folder
        if there != p and there in recorded or os.path.dirname(p) in recorded:
            continue
        if os.path.isdir(p) and any(r.startswith(p + os.sep) for r in recorded):
            continue  # a folder of recorded files (the output folder): gone, they are gone too
        unseen.append(p)
    assert unseen == [], unseen
    assert str(spec) in document["files"] and str(spec.parent / "transcripts" / "jonas.srt") in document["files"]

    # the answer, in a process of its own, as a producer runs it: none of the long way's libraries imported
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=os.getcwd(),
                          env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ANSWERED in proc.stderr, proc.stderr
    assert _rows(proc.stdout) == _rows(long_way.output)
    modules = set(json.loads(proc.stdout.split("MODULES ", 1)[1]))
    assert "pipeline" in modules and "click" in modules  # the probe does see what the run imports
    assert not modules & {"numpy", "pydantic", "PIL", "yaml", *HEAVY}, sorted(modules & {"numpy", "pydantic", *HEAVY})
