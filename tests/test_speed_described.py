"""Faster where a producer waits (issue 25): the described versions (synstolking) after an edit.

A described version's sound track is kept in the cache by what it is made from (the output's sound by its
packets, the description stem by its content, the ducks, the holds, the channel's sound settings): outputs
with the same sound share one track, an edit that leaves an output's sound and its description lines as
they were makes none, and the described version itself is a stream copy of picture and track.

Behaviour only, never timings: the tracks the cache holds, and the frames and sound of the files
(framemd5) against a full render of the edited spec.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from pipeline.ffmpeg import ffmpeg_exe
from pipeline.probe import probe
from tests.conftest import make_clip
from tests.test_hostile import campaign, spec_text

EDITED = ('["Vi trenger deg!"]', '["Vi trenger deg nå, Anne!"]')


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("described-speed-media") / "anne.mp4", seconds=3.0)


def render(spec: Path, cache: Path) -> dict[str, dict]:
    result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    data = json.loads((spec.parent / "out" / "hostile" / "manifest.json").read_text("utf-8"))
    return {o["channel"]: o for o in data["outputs"]}


def framemd5(path: Path, stream: str) -> list[str]:
    """Each decoded frame's (``v``) or sound frame's (``a``) checksum, without the header lines."""
    text = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", f"0:{stream}", "-f", "framemd5",
                           "-"], check=True, capture_output=True, text=True).stdout
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def tracks(cache: Path) -> set[str]:
    return {p.name for p in (cache / "described-sound").rglob("*.mp4")}


def described(spec: Path, channel: str) -> Path:
    return spec.parent / "out" / "hostile" / f"{channel}.synstolket.mp4"


def test_outputs_with_the_same_sound_share_one_described_track(tmp_path, clip):
    """X and the web page have the same sound: their described versions are made with one track, and each is
    the whole film (its picture held where a line fits no pause, and its sound as long)."""
    spec = campaign(tmp_path, clip)
    cache = tmp_path / "cache"
    outputs = render(spec, cache)
    assert len(tracks(cache)) == 1, tracks(cache)
    sound = {c: framemd5(described(spec, c), "a") for c in ("x", "web")}
    assert sound["x"] == sound["web"] and len(sound["x"]) > 40
    for channel in ("x", "web"):
        info = probe(described(spec, channel))
        held = sum(d["hold"]["seconds"] for d in outputs[channel]["descriptions"] if d.get("hold"))
        assert held > 0, outputs[channel]["descriptions"]
        assert abs(float(info.duration) - (outputs[channel]["duration"] + held)) < 0.05
        assert info.has_audio and abs(float(info.audio_end - info.video_end)) < 0.05


def test_an_end_card_edit_makes_one_track_and_matches_a_full_render(tmp_path, clip):
    """After an edit of the end card's words (its description line changes) one new track serves both outputs,
    and each described version is frame for frame, picture and sound, the file a full render of the edited
    spec makes (the full render with the same voice: eSpeak's samples vary a little from run to run, so its
    cache starts with the first one's synthesized lines)."""
    (tmp_path / "a").mkdir()
    spec = campaign(tmp_path / "a", clip)
    cache = tmp_path / "cache-a"
    render(spec, cache)
    before = {c: framemd5(described(spec, c), "a") for c in ("x", "web")}
    made = tracks(cache)
    edited = spec_text().replace(*EDITED)
    assert edited != spec_text()
    spec.write_text(edited, encoding="utf-8")
    render(spec, cache)
    assert len(tracks(cache) - made) == 1, tracks(cache) - made
    (tmp_path / "b").mkdir()
    full = campaign(tmp_path / "b", clip, edited)
    shutil.copytree(cache / "voice", tmp_path / "cache-b" / "voice")
    render(full, tmp_path / "cache-b")
    for channel in ("x", "web"):
        for stream in ("v", "a"):
            incremental = framemd5(described(spec, channel), stream)
            fresh = framemd5(described(full, channel), stream)
            assert len(incremental) == len(fresh) > 40, (channel, stream)
            assert incremental == fresh, (channel, stream)
        assert framemd5(described(spec, channel), "a") != before[channel]  # the line did change: this can fail


def test_a_picture_only_edit_makes_no_track(tmp_path, clip):
    """An edit of the end card's colour changes the described versions' picture and leaves their sound: the
    track is taken from the cache as it was, and muxed with the new picture."""
    spec = campaign(tmp_path, clip)
    cache = tmp_path / "cache"
    text = spec_text().replace("    duration: 1\n", "    duration: 1\n    background: \"#003B5C\"\n", 1)
    spec.write_text(text, encoding="utf-8")
    render(spec, cache)
    made = tracks(cache)
    picture = framemd5(described(spec, "x"), "v")
    sound = framemd5(described(spec, "x"), "a")
    spec.write_text(text.replace("#003B5C", "#5C1A00"), encoding="utf-8")
    render(spec, cache)
    assert tracks(cache) == made
    assert framemd5(described(spec, "x"), "a") == sound
    after = framemd5(described(spec, "x"), "v")
    assert len(after) == len(picture) and after != picture
