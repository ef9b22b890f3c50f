"""Outputs made in pieces (issue 11): the picture one piece per segment, the sound in one, each kept in
the cache by what it is made from and joined without encoding again.

Real renders of a 3 s clip and a card, checked by decoding the files: a shared or reused piece must
give the very same pictures, an edit must re-encode only what it touched, and a damaged piece in
the cache must be made again, never joined into an output.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from pipeline.probe import probe
from tests.conftest import make_clip
from tests.test_hostile import campaign, spec_text


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("pieces-media") / "anne.mp4", seconds=3.0)


def render(spec: Path, cache: Path, *extra: str) -> dict[str, dict]:
    result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(cache), *extra])
    assert result.exit_code == 0, result.output
    data = json.loads((spec.parent / "out" / "hostile" / "manifest.json").read_text("utf-8"))
    return {o["channel"]: o for o in data["outputs"]}


def pictures(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.int16) for f in container.decode(video=0)]


def check_file(path: Path, record: dict) -> None:
    """The joined file is whole: every frame decodes, picture and sound as long as the edit."""
    info = probe(path)
    frames = pictures(path)
    assert len(frames) == round(record["duration"] * 25) == 63  # 1.5 s of clip + 1 s of card, at 25 fps
    assert abs(float(info.audio_end) - 2.52) < 0.03 and abs(float(info.video_end) - 2.52) < 0.001


def test_outputs_share_the_pieces_they_have_in_common(tmp_path, clip):
    """X and web with the same settings make the same pieces: each is encoded once (in a run of two at once)."""
    apart = spec_text().replace("  x: {width: 320, height: 180}",
                                "  x: {width: 320, height: 180, max_video_kbps: 3000}")  # web's is X's 5000
    for text, shared in ((spec_text(), True), (apart, False)):  # as given, X and web encode alike
        folder = tmp_path / ("same" if shared else "apart")
        folder.mkdir()
        outputs = render(campaign(folder, clip, text), folder / "cache", "--jobs", "2")
        made = sum(o["pieces"]["made"] for o in outputs.values())
        reused = sum(o["pieces"]["reused"] for o in outputs.values())
        # each output: the clip's picture, the card's picture, the sound (with other caps: only the sound is shared)
        assert (made, reused) == ((3, 3) if shared else (5, 1)), outputs
        out = folder / "out" / "hostile"
        for channel, record in outputs.items():
            check_file(out / f"{channel}.mp4", record)
        x, web = pictures(out / "x.mp4"), pictures(out / "web.mp4")
        if shared:  # the same pieces: the same pictures, frame for frame, and the same sound
            assert all(np.array_equal(a, b) for a, b in zip(x, web, strict=True))
            assert outputs["x"]["loudness_lufs"] == outputs["web"]["loudness_lufs"]


def test_an_edit_encodes_again_only_the_pieces_it_touches(tmp_path, clip):
    spec = campaign(tmp_path, clip)
    cache = tmp_path / "cache"
    first = render(spec, cache, "-c", "x")["x"]
    assert first["pieces"] == {"made": 3, "reused": 0}
    before = pictures(tmp_path / "out" / "hostile" / "x.mp4")
    # a new end card: its piece is encoded, the clip's picture and the sound are taken from the cache
    spec.write_text(spec_text(lines='["Vi trenger deg nå!"]'), encoding="utf-8")
    second = render(spec, cache, "-c", "x")["x"]
    assert second["pieces"] == {"made": 1, "reused": 2}, second
    after = pictures(tmp_path / "out" / "hostile" / "x.mp4")
    check_file(tmp_path / "out" / "hostile" / "x.mp4", second)
    assert all(np.array_equal(a, b) for a, b in zip(before[:38], after[:38], strict=True))  # the clip: as it was
    assert np.abs(before[-1] - after[-1]).mean() > 0.5  # the card: the new text
    # the clip cut shorter: its picture and the sound change; the card, with nothing timed over it, does not
    spec.write_text(spec_text(lines='["Vi trenger deg nå!"]').replace("to: 2.0", "to: 1.8"), encoding="utf-8")
    third = render(spec, cache, "-c", "x")["x"]
    assert third["pieces"] == {"made": 2, "reused": 1}, third
    assert len(pictures(tmp_path / "out" / "hostile" / "x.mp4")) == 58
    # --force encodes every piece again
    assert render(spec, cache, "-c", "x", "--force")["x"]["pieces"] == {"made": 3, "reused": 0}


def test_a_damaged_piece_is_made_again(tmp_path, clip):
    spec = campaign(tmp_path, clip)
    cache = tmp_path / "cache"
    render(spec, cache, "-c", "x")
    pieces = sorted((cache / "pieces").rglob("*.mp4"))
    assert len(pieces) == 3 and not [p for p in (cache / "pieces").rglob("*") if ".partial" in p.name]
    biggest = max(pieces, key=lambda p: p.stat().st_size)
    data = bytearray(biggest.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle: a damaged disk, a bad copy
    biggest.write_bytes(bytes(data))
    (tmp_path / "out" / "hostile" / "x.mp4").unlink()
    result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(cache), "-c", "x"])
    assert result.exit_code == 0 and f"{biggest} is damaged; making it again" in result.output, result.output
    record = json.loads((tmp_path / "out" / "hostile" / "manifest.json").read_text("utf-8"))["outputs"][0]
    assert record["pieces"] == {"made": 1, "reused": 2}
    check_file(tmp_path / "out" / "hostile" / "x.mp4", record)


def test_cache_prune_removes_the_pieces_with_their_entries(tmp_path, clip):
    spec = campaign(tmp_path, clip)
    cache = tmp_path / "cache"
    render(spec, cache, "-c", "x")
    assert len(list((cache / "pieces").rglob("*.mp4"))) == 3
    result = CliRunner().invoke(main, ["cache", "prune", "--all", "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    assert not list((cache / "pieces").rglob("*.mp4")) and not list((cache / "pieces").rglob("*.json"))


def test_pieces_join_on_an_ntsc_rate(tmp_path, clip):
    """At 30000/1001 fps the pieces' lengths are not whole milliseconds: the joined picture still runs on
    one even frame grid, as long as the edit, with the sound beside it."""
    spec = campaign(tmp_path, clip, spec_text().replace("  x: {width: 320, height: 180}",
                                                        "  x: {width: 320, height: 180, fps: 29.97}"))
    record = render(spec, tmp_path / "cache", "-c", "x")["x"]
    assert record["fps"] == "30000/1001" and record["pieces"] == {"made": 3, "reused": 0}
    path = tmp_path / "out" / "hostile" / "x.mp4"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = [f.time for f in container.decode(stream)]
    steps = {round((b - a) * 30000) for a, b in zip(times, times[1:], strict=False)}
    assert steps == {1001} and times[0] == 0, steps  # no gap, no doubled frame at the join
    # 1.5 s of clip and 1 s of card, each rounded to whole frames: 45 + 30
    assert len(times) == 75
    info = probe(path)
    assert abs(float(info.video_end) - 75 * 1001 / 30000) < 0.001
    assert abs(float(info.audio_end) - float(info.video_end)) < 1024 / 48000 + 0.001


def test_a_true_peak_over_the_ceiling_makes_the_sound_again_further_under_it():
    """The retry rule (pure logic): within the tolerance nothing; over it, once more by the overshoot and
    0.3 dB; over it again, the output fails."""
    from types import SimpleNamespace

    from pipeline.channels import PRESETS
    from pipeline.errors import RenderError
    from pipeline.loudness import Measured, Verified
    from pipeline.output import _further_under

    plan = SimpleNamespace(preset=PRESETS["youtube"])  # ceiling -1 dBTP
    loud = Measured(integrated=-20, true_peak=-3, lra=5, threshold=-30, offset=0)
    assert _further_under(plan, loud, Verified(-14, -1.03, 5), 1) is None
    assert _further_under(plan, loud, Verified(-14, -0.6, 5), 1) == pytest.approx(0.7)
    with pytest.raises(RenderError, match="over the -1 dBTP ceiling"):
        _further_under(plan, loud, Verified(-14, -0.6, 5), 2)


def test_one_output_with_jobs_to_spare_makes_its_pieces_at_once(tmp_path, clip):
    """``-j 2`` with one output to make: its pieces and its sound are made by ffmpeg runs at once (seen by
    an ffmpeg that logs when each run begins and ends), and the file is the one ``-j 1`` makes, byte for byte."""
    import shutil
    import stat

    from pipeline import ffmpeg as ff

    log = tmp_path / "runs.log"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\necho "begin $$ $(date +%s.%N)" >> {log}\n"{ff.ffmpeg_exe()}" "$@"\nrc=$?\n'
                       f'echo "end $$ $(date +%s.%N)" >> {log}\nexit $rc\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    ff.ffmpeg_exe.cache_clear()
    files, most = {}, {}
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(ff.FFMPEG_ENV, str(wrapper))
            for jobs in ("1", "2"):
                folder = tmp_path / f"j{jobs}"
                folder.mkdir()
                log.write_text("")
                spec = campaign(folder, clip)
                record = render(spec, folder / "cache", "-c", "x", "--jobs", jobs)["x"]
                assert record["pieces"] == {"made": 3, "reused": 0}
                running = peak = 0
                for line in log.read_text().splitlines():
                    running += 1 if line.startswith("begin") else -1
                    peak = max(peak, running)
                files[jobs], most[jobs] = (folder / "out" / "hostile" / "x.mp4").read_bytes(), peak
                shutil.rmtree(folder / "cache")
    finally:
        ff.ffmpeg_exe.cache_clear()
    assert most == {"1": 1, "2": 2}
    assert files["1"] == files["2"]


def test_the_limiter_margin_grows_as_the_sound_bitrate_falls():
    """A channel's sound is limited as far under its ceiling as its encoder overshoots (X's 128 kbps AAC made
    its sound twice at 0.5 dB): PCM and 192 kbps 0.5 dB, 128 kbps 1.0 dB, a draft's 96 kbps 2.0 dB."""
    from pipeline.channels import get_preset
    from pipeline.encoding import true_peak_margin

    margins = {name: true_peak_margin(get_preset(name)) for name in ("youtube", "cinema", "x", "web")}
    assert margins == {"youtube": 0.5, "cinema": 0.5, "x": 1.0, "web": 1.0}
    assert true_peak_margin(get_preset("youtube").draft()) == 2.0
