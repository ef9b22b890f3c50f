"""Rendering in CI as a campaigns repository runs it (issue 13): the templates against the official
workflow schemas, and the CI script run as CI would, in a real git repository, twice, with the
cache carried over as the CI cache restores it."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from tests.conftest import ROOT, make_clip

CAMPAIGN = """\
campaign: {slug}
title: Kampanje {slug}
language: en
clips:
  a: {{library: kennedy}}
  b: {{library: tone}}
sequence:
  - clip: a
    from: 2.5
    to: 6.0
  - clip: b
    to: 1.0
  - card: end
cards:
  end:
    lines: ["{card}"]
    duration: 1
channels: [web, tiktok]
overrides:
  web: {{width: 320, height: 180, poster: false}}
  tiktok: {{width: 180, height: 320, poster: false}}
output: ../out
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=CI", "-c", "user.email=ci@example.no", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.mark.parametrize("kind, schema, path", [
    ("github", "vendor.github-workflows", ".github/workflows/rekrutt.yml"),
    ("gitlab", "vendor.gitlab-ci", ".gitlab-ci.yml"),
])
def test_templates_validate_against_the_official_schemas(tmp_path, kind, schema, path):
    result = CliRunner().invoke(main, ["ci", "init", f"--{kind}", str(tmp_path)])
    assert result.exit_code == 0, result.output
    checker = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema]
    done = subprocess.run([*checker, str(tmp_path / path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.access(tmp_path / "ci" / "render.sh", os.X_OK)
    text = (tmp_path / path).read_text(encoding="utf-8")
    assert "bash ci/render.sh" in text and "OPT-IN" in text and "personvern" in text
    assert "REKRUTT_SCHEDULER" in text and "REKRUTT_LIBRARY" in text
    # the check is real: a broken workflow fails it
    broken = tmp_path / "broken.yml"
    data = yaml.safe_load(text)
    data["jobs" if kind == "github" else "render"] = 5
    broken.write_text(yaml.safe_dump(data))
    assert subprocess.run([*checker, str(broken)], capture_output=True).returncode != 0
    # files are not replaced without --force
    again = CliRunner().invoke(main, ["ci", "init", f"--{kind}", str(tmp_path)])
    assert again.exit_code == 2 and "--force" in again.output


def test_validate_prints_annotations(tmp_path):
    spec = tmp_path / "campaigns" / "x.yml"
    spec.parent.mkdir()
    spec.write_text("campaign: x\ntitle: X\nclips: {}\nsequence: [{card: end}]\nchannels: [web]\nchanels: []\n")
    result = CliRunner().invoke(main, ["validate", "--format", "github", str(spec)])
    assert result.exit_code == 2
    assert (f"::error file={spec.as_posix()},line=6,col=1,title=Rekrutt::chanels: unknown key 'chanels' "
            "(did you mean 'channels'?)") in result.stdout
    result = CliRunner().invoke(main, ["validate", "--format", "gitlab", str(spec)])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report[0]["location"]["lines"]["begin"] == 6 and report[0]["severity"] == "blocker"


@pytest.fixture()
def repo(tmp_path, speech_clip):
    """A campaigns repository: two campaigns sharing library clips (outside git, as on a share)."""
    library = tmp_path / "share" / "library"
    library.mkdir(parents=True)
    shutil.copy(speech_clip, library / "kennedy.mp4")
    make_clip(library / "tone.mp4", seconds=2.0)
    today = dt.date.today()
    for cid, person in (("kennedy", "John Kennedy"), ("tone", "Test Tone")):
        (library / f"{cid}.yml").write_text(yaml.safe_dump({
            "person": person, "language": "en", "consent": {
                "signed": (today - dt.timedelta(days=10)).isoformat(),
                "expires": (today + dt.timedelta(days=365)).isoformat(), "channels": ["all"]}}))
    origin = tmp_path / "origin"
    (origin / "campaigns").mkdir(parents=True)
    for slug, card in (("alfa", "Vi trenger deg"), ("beta", "Søk nå")):
        (origin / "campaigns" / f"{slug}.yml").write_text(CAMPAIGN.format(slug=slug, card=card), encoding="utf-8")
    (origin / ".gitignore").write_text("out/\n.rekrutt-cache/\nreports/\n")
    assert CliRunner().invoke(main, ["ci", "init", "--github", str(origin)]).exit_code == 0
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "campaigns")
    return origin, library


def ci_run(origin: Path, where: Path, library: Path, restored: Path | None, model_dir: Path):
    """Clone the repository fresh and run ci/render.sh as the workflow does, with the CI cache restored."""
    subprocess.run(["git", "clone", "-q", str(origin), str(where)], check=True)
    if restored is not None:  # what actions/cache restores: Rekrutt's cache and the last outputs
        shutil.copytree(restored / ".rekrutt-cache", where / ".rekrutt-cache", symlinks=True)
        shutil.copytree(restored / "out", where / "out")
    else:
        (where / ".rekrutt-cache").mkdir()
        (where / ".rekrutt-cache" / "models").symlink_to(model_dir)  # the model from its pip packages
    env = {**os.environ, "REKRUTT": f"{sys.executable} {ROOT / 'cli.py'}", "REKRUTT_LIBRARY": str(library),
           "CI": "true"}
    env.pop("REKRUTT_CACHE_DIR", None)
    return subprocess.run(["bash", "ci/render.sh"], cwd=where, env=env, capture_output=True, text=True, timeout=600)


def test_ci_renders_what_changed(tmp_path, repo, model_dir):
    origin, library = repo
    first = ci_run(origin, tmp_path / "run1", library, None, model_dir)
    assert first.returncode == 0, first.stdout + first.stderr
    report = json.loads((tmp_path / "run1" / "reports" / "report.json").read_text())
    assert {o["status"] for o in report["outputs"]} == {"rendered"} and len(report["outputs"]) == 4
    # the model ran in the first run, from an empty cache (validate transcribes too, for quotes and for
    # synstolking's pauses, so the transcripts may be made before the render counts its model runs)
    assert list((tmp_path / "run1" / ".rekrutt-cache" / "transcripts").rglob("*.json"))
    # a commit edits one card
    spec = origin / "campaigns" / "alfa.yml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("Vi trenger deg", "Vi trenger deg nå"), encoding="utf-8")
    git(origin, "commit", "-q", "-am", "new end card")
    second = ci_run(origin, tmp_path / "run2", library, tmp_path / "run1", model_dir)
    assert second.returncode == 0, second.stdout + second.stderr
    report = json.loads((tmp_path / "run2" / "reports" / "report.json").read_text())
    status = {o["output"]: o["status"] for o in report["outputs"]}
    assert status == {"alfa/web": "rendered", "alfa/tiktok": "rendered", "beta/web": "unchanged",
                      "beta/tiktok": "unchanged"}, status
    assert report["model_calls"] == 0 and "model runs: 0" in second.stderr
    cases = [c.get("name") for c in ET.parse(tmp_path / "run2" / "reports" / "junit.xml").iter("testcase")]
    assert sorted(cases) == ["alfa/tiktok", "alfa/web", "beta/tiktok", "beta/web"]
    # a typo fails the job before any render, with a GitHub annotation naming the file and line
    bad = origin / "campaigns" / "beta.yml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("channels: [web, tiktok]", "chanels: [web, tiktok]"),
                   encoding="utf-8")
    git(origin, "commit", "-q", "-am", "typo")
    third = ci_run(origin, tmp_path / "run3", library, tmp_path / "run2", model_dir)
    assert third.returncode == 2, third.stdout + third.stderr
    assert "::error file=campaigns/beta.yml,line=" in third.stdout, third.stdout
    assert not (tmp_path / "run3" / "reports" / "junit.xml").exists()


def test_expired_consent_fails_the_job_before_rendering(tmp_path, repo, model_dir):
    origin, library = repo
    meta = yaml.safe_load((library / "tone.yml").read_text())
    meta["consent"]["expires"] = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    (library / "tone.yml").write_text(yaml.safe_dump(meta))
    run = ci_run(origin, tmp_path / "run", library, None, model_dir)
    assert run.returncode == 2
    assert "Test Tone" in run.stdout and "expired" in run.stdout and "::error" in run.stdout
    assert not (tmp_path / "run" / "out").exists()
