"""Clip library and consent, batches of campaigns, incremental renders, reports, cache, Dask."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from tests.conftest import make_clip

TODAY = dt.date.today()

CAMPAIGN = """\
campaign: {slug}
title: Kampanje {slug}
language: en
library: ../library
clips:
  a: {{library: {first}}}
  b: {{library: {second}}}
sequence:
  - clip: a
    from: 0.2
    to: 2.2
  - clip: b
    to: 1.5
  - card: end
cards:
  end:
    lines: ["{card}"]
    duration: 1
channels: [x, web, tiktok]
overrides:
  x: {{width: 320, height: 180}}
  web: {{width: 320, height: 180, poster: false}}
  tiktok: {{width: 180, height: 320}}
output: ../out
"""


def consent(expires: dt.date, channels=("all",)) -> dict:
    return {"signed": (TODAY - dt.timedelta(days=30)).isoformat(), "expires": expires.isoformat(),
            "channels": list(channels)}


@pytest.fixture(scope="module")
def library(tmp_path_factory, speech_clip) -> Path:
    root = tmp_path_factory.mktemp("batch")
    lib = root / "library"
    lib.mkdir()
    (lib / "kennedy.mp4").symlink_to(speech_clip)
    make_clip(lib / "tone-a.mp4", seconds=2.5)
    make_clip(lib / "tone-b.mp4", seconds=2.5, audio="sine=frequency=300:sample_rate=48000")
    good = consent(TODAY + dt.timedelta(days=365))
    for cid, person in (("kennedy", "John Kennedy"), ("tone-a", "Anne Hansen"), ("tone-b", "Bo Berg")):
        (lib / f"{cid}.yml").write_text(yaml.safe_dump({"person": person, "role": "Tester", "language": "en",
                                                        "consent": good}), encoding="utf-8")
    (root / "campaigns").mkdir()
    return lib


def write_campaign(library: Path, slug: str, first="kennedy", second="tone-a", card="Vi trenger deg!") -> Path:
    path = library.parent / "campaigns" / f"{slug}.yml"
    path.write_text(CAMPAIGN.format(slug=slug, first=first, second=second, card=card), encoding="utf-8")
    return path


def same_pictures(a: Path, b: Path) -> bool:
    """The same frames, each within encoder noise of the other (mean difference under 1.5 of 255)."""
    import av
    import numpy as np

    with av.open(str(a)) as ca, av.open(str(b)) as cb:
        fa = [f.to_ndarray(format="gray").astype(float) for f in ca.decode(video=0)]
        fb = [f.to_ndarray(format="gray").astype(float) for f in cb.decode(video=0)]
    return len(fa) == len(fb) > 0 and all(np.abs(x - y).mean() < 1.5 for x, y in zip(fa, fb, strict=True))


def fresh_cache(tmp_path: Path, shared: Path) -> Path:
    """An empty cache that borrows the already assembled model."""
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    (cache / "models" / "whisper-base").symlink_to(shared / "models" / "whisper-base")
    return cache


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_batch_transcribes_each_clip_once_renders_incrementally_and_reports(library, tmp_path, cache_dir):
    from pipeline.cache import Cache
    from pipeline.transcribe import assemble_base_model

    assemble_base_model(Cache(cache_dir))  # the shared model, borrowed by the fresh cache below
    cache = fresh_cache(tmp_path, cache_dir)
    specs = [write_campaign(library, "k1", "kennedy", "tone-a"), write_campaign(library, "k2", "tone-a", "tone-b"),
             write_campaign(library, "k3", "kennedy", "tone-b")]
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    result = run("render", *map(str, specs), "--jobs", "2", "--cache-dir", str(cache),
                 "--report", str(report), "--junit", str(junit))
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["model_calls"] == 3  # three distinct clips in three campaigns
    assert [o["status"] for o in data["outputs"]] == ["rendered"] * 9
    suites = ET.parse(junit).getroot()
    assert sorted(s.get("name") for s in suites) == ["k1", "k2", "k3"]
    assert all(s.get("failures") == "0" and s.get("tests") == "3" for s in suites)
    out = library.parent / "out"
    k1 = json.loads((out / "k1" / "manifest.json").read_text())
    assert {o["channel"] for o in k1["outputs"]} == {"x", "web", "tiktok"}
    assert all(o["fingerprint"] for o in k1["outputs"])
    assert [o["captions_burned"] for o in k1["outputs"]] == ["", "", "en"]  # tiktok takes no caption upload
    assert (out / "k1" / "x.en.srt").read_text().strip()  # Kennedy speaks in k1
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")}

    # unchanged: nothing rendered, nothing transcribed
    result = run("render", *map(str, specs), "--cache-dir", str(cache), "--report", str(report))
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["model_calls"] == 0
    assert {o["status"] for o in data["outputs"]} == {"unchanged"}
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")}

    # one card edited: only that campaign is rendered again, and nothing is transcribed
    write_campaign(library, "k2", "tone-a", "tone-b", card="Søk nå!")
    result = run("render", *map(str, specs), "--cache-dir", str(cache), "--report", str(report))
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    status = {(o["campaign"], o["status"]) for o in data["outputs"]}
    assert status == {("k1", "unchanged"), ("k2", "rendered"), ("k3", "unchanged")}
    assert data["model_calls"] == 0

    # --force renders again
    result = run("render", str(specs[0]), "--cache-dir", str(cache), "--force", "--report", str(report))
    assert {o["status"] for o in json.loads(report.read_text())["outputs"]} == {"rendered"}


def test_one_failing_output_does_not_stop_the_others(library, tmp_path, cache_dir, caplog):
    caplog.expected_errors = True
    spec = write_campaign(library, "brudd")
    spec.write_text(spec.read_text().replace("x: {width: 320, height: 180}",
                                             "x: {width: 320, height: 180, x264_preset: nope}"))
    report = tmp_path / "r.json"
    result = run("render", str(spec), "--cache-dir", str(cache_dir), "--no-captions", "--report", str(report))
    assert result.exit_code == 1
    outcomes = {o["channel"]: o for o in json.loads(report.read_text())["outputs"]}
    assert outcomes["x"]["status"] == "failed" and "ffmpeg" in outcomes["x"]["error"]
    assert outcomes["web"]["status"] == "rendered"
    # one at a time, so that nothing else has started when X fails (with -j 2 web would already be running)
    result = run("render", str(spec), "--cache-dir", str(cache_dir), "--no-captions", "--fail-fast", "--force",
                 "--jobs", "1", "--report", str(report))
    outcomes = {o["channel"]: o["status"] for o in json.loads(report.read_text())["outputs"]}
    assert result.exit_code == 1 and outcomes == {"x": "failed", "web": "skipped", "tiktok": "skipped"}


def test_two_campaigns_writing_the_same_files_are_refused(library, cache_dir):
    a = write_campaign(library, "same")
    b = library.parent / "campaigns" / "same-copy.yml"
    b.write_text(a.read_text())
    result = run("render", str(a), str(b), "--cache-dir", str(cache_dir))
    assert result.exit_code == 2
    assert "as " + str(a) in result.output and "different slugs" in result.output
    assert not (library.parent / "out" / "same").exists()


@pytest.mark.parametrize("edit, words", [
    ({"consent": consent(TODAY - dt.timedelta(days=1))}, ["consent of Anne Hansen", "expired on",
                                                           (TODAY - dt.timedelta(days=1)).isoformat()]),
    ({"consent": consent(TODAY + dt.timedelta(days=9), ["x"])}, ["consent of Anne Hansen", "does not cover web"]),
    ({"consent": None}, ["'tone-a' (Anne Hansen) has no consent on record"]),
])
def test_consent_is_checked_before_rendering(library, tmp_path, edit, words):
    lib = tmp_path / "library"
    lib.mkdir()
    for f in library.iterdir():
        (lib / f.name).symlink_to(f.resolve())
    meta = yaml.safe_load((library / "tone-a.yml").read_text())
    meta.update(edit)
    (lib / "tone-a.yml").unlink()
    (lib / "tone-a.yml").write_text(yaml.safe_dump({k: v for k, v in meta.items() if v is not None}))
    (tmp_path / "campaigns").mkdir()
    spec = write_campaign(lib, "samtykke")
    result = run("validate", str(spec))
    assert result.exit_code == 2
    assert f"{spec}:" in result.output and "clips.b.library" in result.output
    for word in words:
        assert word in result.output


def test_library_lookup_errors(library, tmp_path):
    spec = write_campaign(library, "feil", second="tone-c")
    result = run("validate", str(spec))
    assert result.exit_code == 2
    assert "no clip 'tone-c' in the library" in result.output and "did you mean 'tone-" in result.output
    lib = tmp_path / "library"
    lib.mkdir()
    (lib / "ghost.yml").write_text(yaml.safe_dump({"person": "Gjest", "consent": consent(TODAY)}))
    (tmp_path / "campaigns").mkdir()
    spec = write_campaign(lib, "spokelse", first="ghost", second="ghost")
    result = run("validate", str(spec))
    assert result.exit_code == 2 and "has no video file" in result.output


def test_clips_commands(tmp_path, library):
    lib = tmp_path / "lib"
    video = make_clip(tmp_path / "intervju.mp4", seconds=1.0)
    result = run("clips", "add", "--library", str(lib), str(video), "--id", "kari-ingenior", "--person",
                 "Kari Nordmann", "--role", "Ingeniør", "--tag", "teknisk", "--consent-signed", "2026-01-01",
                 "--consent-expires", "2027-12-31", "--consent-channel", "youtube")
    assert result.exit_code == 0, result.output
    assert (lib / "kari-ingenior.mp4").is_file() and video.is_file()
    listed = json.loads(run("clips", "list", "--library", str(lib), "--json").output)
    assert listed[0]["id"] == "kari-ingenior" and listed[0]["consent"]["expires"] == "2027-12-31"
    assert listed[0]["consent"]["channels"] == ["youtube"]
    shown = json.loads(run("clips", "show", "--library", str(lib), "kari-ingenior").output)
    assert shown["person"] == "Kari Nordmann"
    again = run("clips", "add", "--library", str(lib), str(video), "--id", "kari-ingenior", "--person", "X",
                "--consent-signed", "2026-01-01", "--consent-expires", "2027-01-01")
    assert again.exit_code == 2 and "already in" in again.output
    assert run("clips", "list", "--library", str(library)).exit_code == 0


def test_cache_info_and_prune(tmp_path):
    from pipeline.cache import Cache

    cache = Cache(tmp_path / "c")
    cache.put("transcripts", "ab" * 32, {"x": 1})
    cache.put("loudness", "cd" * 32, {"y": 2})
    info = json.loads(run("cache", "info", "--cache-dir", str(cache.root), "--json").output)
    assert info["kinds"]["transcripts"]["entries"] == 1 and info["kinds"]["loudness"]["entries"] == 1
    assert run("cache", "prune", "--cache-dir", str(cache.root), "--older-than", "1").output.startswith("removed 0")
    result = run("cache", "prune", "--cache-dir", str(cache.root), "--all", "--kind", "loudness")
    assert result.output.startswith("removed 1")
    assert cache.get("transcripts", "ab" * 32) == {"x": 1} and cache.get("loudness", "cd" * 32) is None


def test_dask_cluster_renders_what_a_local_run_does(library, tmp_path, cache_dir):
    distributed = pytest.importorskip("distributed")
    specs = [write_campaign(library, "klynge1"), write_campaign(library, "klynge2", "tone-b", "tone-a")]
    local = run("render", *map(str, specs), "--out", str(tmp_path / "local"), "--cache-dir", str(cache_dir))
    assert local.exit_code == 0, local.output
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) \
            as cluster:
        result = run("render", *map(str, specs), "--out", str(tmp_path / "cluster"), "--cache-dir",
                     str(cache_dir), "--scheduler", cluster.scheduler_address, "--report", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    assert {o["status"] for o in json.loads((tmp_path / "r.json").read_text())["outputs"]} == {"rendered"}
    for slug in ("klynge1", "klynge2"):
        a = json.loads((tmp_path / "local" / slug / "manifest.json").read_text())["outputs"]
        b = json.loads((tmp_path / "cluster" / slug / "manifest.json").read_text())["outputs"]
        # the same plan for every output...
        assert [(o["channel"], o["fingerprint"], o["width"], o["height"], o["duration"]) for o in a] == \
            [(o["channel"], o["fingerprint"], o["width"], o["height"], o["duration"]) for o in b]
        # ...and the same pictures: x264's bitrate cap (VBV) under frame threads is not bit-exact from run
        # to run (measured: the same command twice at once gave 2 different files in 16), so files may differ
        # in their bytes, not in what they show
        for oa, ob in zip(a, b, strict=True):
            assert same_pictures(tmp_path / "local" / slug / oa["path"], tmp_path / "cluster" / slug / ob["path"])
        assert sorted(p.name for p in (tmp_path / "local" / slug).iterdir()) == \
            sorted(p.name for p in (tmp_path / "cluster" / slug).iterdir())
