"""Drafts (issue 11, in part): quick looks that carry "UTKAST" and never count as final outputs."""

from __future__ import annotations

import json

import av
import pytest
from click.testing import CliRunner

from cli import main
from pipeline.jobs import auto_jobs
from tests.conftest import make_clip
from tests.test_hostile import campaign, spec_text


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("draft-media") / "anne.mp4", seconds=3.0)


def test_a_draft_is_marked_and_never_final(tmp_path, clip, cache_dir):
    spec = campaign(tmp_path, clip, spec_text().replace("  web: {width: 320, height: 180, poster: false}",
                                                        "  web: {width: 960, height: 540, poster: false}"))
    result = CliRunner().invoke(main, ["render", str(spec), "--draft", "--jobs", "auto", "--no-captions",
                                       "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "hostile"
    assert not (out / "manifest.json").exists() and not (out / "web.mp4").exists()  # nothing final
    manifest = json.loads((out / "draft" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["draft"] is True
    web = next(o for o in manifest["outputs"] if o["channel"] == "web")
    assert (web["width"], web["height"]) == (320, 180)  # a third of the size
    with av.open(str(out / "draft" / "web.mp4")) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    # the watermark's red box sits in the top-left of the safe area (5% margins), on the whole film
    corner = frame[9:40, 16:90]
    red = (corner[..., 0] > 150) & (corner[..., 1] < 80) & (corner[..., 2] < 80)
    white = (corner.min(axis=2) > 200)
    assert red.mean() > 0.3 and white.sum() > 20, (red.mean(), white.sum())
    # the final render is untouched by it and the draft is not in its manifest
    result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    final = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert final["draft"] is False and all("draft" not in o["path"] for o in final["outputs"])


def test_jobs_auto_is_sensible():
    assert 1 <= auto_jobs() <= 64
