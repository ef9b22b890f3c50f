"""Consent holds for every output a run makes (issue 20): each version, cut-down and channel, checked by
validate, render and the CI script before anything renders, and the review page never lists an output
whose consent does not hold. Small library clips made with the real ffmpeg."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from tests.conftest import ROOT, make_clip

TODAY = dt.date.today()

#: The main film shows Anne (and Ola, where a cut-down of it is to show him); the versions are what the
#: consent check did not look at.
CAMPAIGN = """\
campaign: samtykke
title: Samtykke
language: en
library: ../library
subtitles: {{enabled: false}}
clips:
  a: {{library: anne}}
  b: {{library: ola}}
sequence:
  - clip: a
    to: 1.5
{ola_in_main}  - card: end
cards:
  end:
    lines: ["Vi trenger deg!"]
    duration: 2
channels: [web]
versions:
{versions}
overrides:
{overrides}
output: ../out
"""

#: Ola in the main sequence, first in line for a cut-down.
OLA_IN_MAIN = """\
  - clip: b
    to: 1.5
    priority: 1
"""

#: An episode whose own sequence shows Ola (3.5 s), on a channel of its own.
EPISODE = """\
  ola:
    title: Ola forteller
    sequence:
      - clip: b
        to: 1.5
      - card: end
    channels: [tiktok]
"""

#: A cut-down of the main sequence on a channel the main film does not have: it keeps the end card and
#: Ola (3.5 s; a cut-down keeps no item under 1.5 s), not Anne.
CUT_DOWN = """\
  teaser:
    max_duration: 4
    channels: [instagram-reels]
"""

SIZES = {"web": "{width: 320, height: 180, poster: false}", "tiktok": "{width: 180, height: 320, poster: false}",
         "instagram-reels": "{width: 180, height: 320, poster: false}"}


def consent(*, expires: dt.date = TODAY + dt.timedelta(days=365), channels=("all",)) -> dict:
    return {"signed": (TODAY - dt.timedelta(days=30)).isoformat(), "expires": expires.isoformat(),
            "channels": list(channels)}


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    make_clip(folder / "anne.mp4", seconds=2.0)
    make_clip(folder / "ola.mp4", seconds=2.0, audio="sine=frequency=300:sample_rate=48000")
    return folder


def project(root: Path, media: Path, ola_consent: dict, versions: str = EPISODE) -> Path:
    """A library (Anne's consent holds everywhere; Ola's is given) and the campaign; returns the spec."""
    library = root / "library"
    library.mkdir(parents=True)
    for cid, person, given in (("anne", "Anne Hansen", consent()), ("ola", "Ola Nordmann", ola_consent)):
        (library / f"{cid}.mp4").symlink_to(media / f"{cid}.mp4")
        (library / f"{cid}.yml").write_text(yaml.safe_dump({"person": person, "language": "en",
                                                            "consent": given}), encoding="utf-8")
    (root / "campaigns").mkdir()
    spec = root / "campaigns" / "samtykke.yml"
    names = ["web"] + [ch for ch in ("tiktok", "instagram-reels") if ch in versions]
    spec.write_text(CAMPAIGN.format(versions=versions, ola_in_main=OLA_IN_MAIN if "teaser" in versions else "",
                                    overrides="".join(f"  {ch}: {SIZES[ch]}\n" for ch in names)),
                    encoding="utf-8")
    return spec


def set_consent(spec: Path, given: dict) -> None:
    meta = spec.parent.parent / "library" / "ola.yml"
    data = yaml.safe_load(meta.read_text(encoding="utf-8"))
    meta.write_text(yaml.safe_dump({**data, "consent": given}), encoding="utf-8")


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def ci_script(spec: Path) -> subprocess.CompletedProcess:
    """ci/render.sh in the campaigns folder, as the CI job runs it."""
    repo = spec.parent.parent
    assert run("ci", "init", "--github", str(repo)).exit_code == 0
    env = {**os.environ, "REKRUTT": f"{sys.executable} {ROOT / 'cli.py'}", "REKRUTT_OUTPUT": str(repo / "out"),
           "REKRUTT_CACHE_DIR": str(repo / "cache"), "PYTHONPATH": str(ROOT)}
    return subprocess.run(["bash", "ci/render.sh"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)


# each class of hole: what was refused nowhere before, and the words that must name it
HOLES = {
    "expired clip only in an episode's sequence": (
        consent(expires=TODAY - dt.timedelta(days=1)), EPISODE,
        ["consent of Ola Nordmann", f"expired on {(TODAY - dt.timedelta(days=1)).isoformat()}",
         "it is used in version 'ola' (tiktok)"]),
    "consent without a channel an episode adds": (
        consent(channels=["web"]), EPISODE, ["consent of Ola Nordmann", "does not cover tiktok (in version 'ola')"]),
    "consent without a channel a cut-down adds": (
        consent(channels=["web"]), CUT_DOWN,
        ["consent of Ola Nordmann", "does not cover instagram-reels (in version 'teaser')"]),
}


@pytest.mark.parametrize("hole", list(HOLES))
def test_every_version_and_channel_is_consent_checked_by_validate_render_and_ci(hole, tmp_path, media):
    given, versions, words = HOLES[hole]
    spec = project(tmp_path, media, given, versions)
    out = tmp_path / "out"
    for command in (["validate", str(spec)], ["validate", "--format", "github", str(spec)],
                    ["render", str(spec), "--cache-dir", str(tmp_path / "cache")]):
        result = run(*command)
        assert result.exit_code == 2, (command, result.output)
        assert str(spec) in result.output and "clips.b.library" in result.output, result.output
        for word in words:
            assert word in result.output, (command, word, result.output)
        assert "Traceback" not in result.output
        assert not out.exists(), f"{command[0]} wrote {list(out.rglob('*'))}"
    ci = ci_script(spec)
    assert ci.returncode == 2, ci.stdout + ci.stderr
    assert "::error file=" in ci.stdout and all(w in ci.stdout for w in words), ci.stdout
    assert not out.exists() and not (tmp_path / "reports" / "junit.xml").exists()
    # the same spec with the consent holding everywhere is valid: the refusal above is the consent's
    set_consent(spec, consent())
    assert run("validate", str(spec)).exit_code == 0


def test_a_run_of_other_versions_still_checks_only_what_it_renders(tmp_path, media):
    """-V main renders the main film only: Ola's episode lacking consent does not stop it (but -V ola does)."""
    spec = project(tmp_path, media, consent(channels=["web"]))
    main_only = run("validate", "-V", "main", str(spec))
    assert main_only.exit_code == 0, main_only.output
    episode = run("validate", "-V", "ola", str(spec))
    assert episode.exit_code == 2 and "does not cover tiktok (in version 'ola')" in episode.output


def test_outputs_is_what_the_plan_renders(tmp_path, media):
    """The consent check and the job plan read the same list of (version, channel) outputs."""
    from pipeline.campaign import OutputKey
    from pipeline.jobs import RenderOptions, plan
    from pipeline.load import load_campaign

    spec = project(tmp_path, media, consent(), EPISODE + CUT_DOWN)
    campaign = load_campaign(spec, cache_dir=tmp_path / "cache")
    assert campaign.outputs() == [OutputKey(None, "web"), OutputKey("ola", "tiktok"),
                                  OutputKey("teaser", "instagram-reels")]
    jobs = plan([campaign], RenderOptions())
    assert [(j.version, j.channel) for j in jobs] == [(k.version, k.channel) for k in campaign.outputs()]
    only = load_campaign(spec, versions=("teaser", "main"), cache_dir=tmp_path / "cache")
    assert only.outputs() == [OutputKey(None, "web"), OutputKey("teaser", "instagram-reels")]
    assert [(j.version, j.channel) for j in plan([only], RenderOptions())] == [(None, "web"),
                                                                             ("teaser", "instagram-reels")]


def test_review_page_and_contact_sheet_never_list_an_output_whose_consent_lapsed(tmp_path, media):
    spec = project(tmp_path, media, consent())
    cache = str(tmp_path / "cache")
    first = run("render", str(spec), "--cache-dir", cache, "-j", "1")
    assert first.exit_code == 0, first.output
    out = tmp_path / "out" / "samtykke"
    page = out / "index.html"

    def listed() -> set[str]:
        text = page.read_text(encoding="utf-8")
        start = text.index(">", text.index('type="application/json"')) + 1
        data = json.loads(text[start:text.index("</script>", start)])
        return {o["id"] for e in data["editions"] for o in e["outputs"]}

    assert listed() == {"main--web", "ola--tiktok"}
    from PIL import Image

    with Image.open(out / "contact-sheet.png") as sheet:
        assert sheet.height > 200  # a row per output: the main film's web and Ola's TikTok episode
    # Ola withdraws TikTok; the main film (without Ola on web) is made again and the page rebuilt
    set_consent(spec, consent(channels=["web"]))
    assert run("render", str(spec), "-V", "ola", "--cache-dir", cache).exit_code == 2
    page.unlink()
    again = run("render", str(spec), "-V", "main", "--cache-dir", cache)
    assert again.exit_code == 0, again.output
    assert listed() == {"main--web"}
    assert "ola/tiktok.mp4" not in page.read_text(encoding="utf-8")
    assert "samtykke/ola/tiktok is left off the review page" in again.output, again.output
    assert "does not cover tiktok (in version 'ola')" in again.output

    with Image.open(out / "contact-sheet.png") as sheet:
        assert sheet.height < 200  # one row (the main film's web output), not two
    # the page lists no output whose publish sheet it would show without consent; the sheets it lists are there
    assert (out / "web.publish.md").is_file()


def test_clips_add_refuses_a_consent_that_ends_before_it_is_signed(tmp_path, media):
    lib = tmp_path / "lib"
    result = run("clips", "add", "--library", str(lib), str(media / "anne.mp4"), "--id", "anne", "--person",
                 "Anne Hansen", "--consent-signed", "2026-03-01", "--consent-expires", "2026-02-28")
    assert result.exit_code == 2, result.output
    assert "--consent-expires" in result.output and "before it is signed on 2026-03-01" in result.output
    assert "on or after the signing date" in result.output and "Traceback" not in result.output
    assert not lib.exists() or not any(lib.iterdir())
    # the same rule for a metadata file written by hand: refused at validation with its line
    spec = project(tmp_path / "p", media, {"signed": "2026-03-01", "expires": "2026-02-28", "channels": ["all"]})
    checked = run("validate", str(spec))
    assert checked.exit_code == 2 and "ola.yml:" in checked.output and "consent.expires" in checked.output
    ok = run("clips", "add", "--library", str(lib), str(media / "anne.mp4"), "--id", "anne", "--person",
             "Anne Hansen", "--consent-signed", "2026-03-01", "--consent-expires", "2026-03-01")
    assert ok.exit_code == 0, ok.output
