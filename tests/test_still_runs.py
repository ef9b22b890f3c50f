"""A card standing still, and a described version's held picture, encoded as one GOP played again (issue 25).

Real renders of a 3 s clip and a 3 s end card at 320x180, checked by decoding the files: the card's picture
after its fade is one closed GOP repeated (its frames equal GOP for GOP, key frames where a whole encode puts
them), the film looks as it did when the card was encoded whole (PSNR against that render), and a hold of the
described version is a GOP of the held frame played again. :func:`pipeline.probe.frame_identity` names a frame
by its GOP's packets without decoding it.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

import pipeline.output
from cli import main
from pipeline.errors import MediaError
from pipeline.probe import frame_identity
from tests.conftest import make_clip
from tests.test_hostile import campaign, spec_text

GOP = 13  # half a second at 25 fps
CARD = 75  # frames of the 3 s end card


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("still-runs-media") / "anne.mp4", seconds=3.0)


def long_card(text: str | None = None) -> str:
    return (text or spec_text()).replace("    duration: 1\n", "    duration: 3\n", 1)


def render(spec: Path, cache: Path, *extra: str) -> dict[str, dict]:
    result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(cache), *extra])
    assert result.exit_code == 0, result.output
    data = json.loads((spec.parent / "out" / "hostile" / "manifest.json").read_text("utf-8"))
    return {o["channel"]: o for o in data["outputs"]}


def frames(path: Path) -> tuple[list[np.ndarray], list[bool]]:
    """Each decoded frame (YUV planes as one array) and whether its packet is a key frame."""
    with av.open(str(path)) as container:
        pictures, keys = [], []
        for frame in container.decode(video=0):
            pictures.append(frame.to_ndarray().astype(np.int16))
            keys.append(frame.key_frame)
    return pictures, keys


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, clip):
    """The film with a 3 s end card, rendered as Rekrutt does and (in a cache of its own) with every card
    encoded whole, as before."""
    base = tmp_path_factory.mktemp("still-runs")
    (base / "runs").mkdir()
    spec = campaign(base / "runs", clip, long_card())
    outputs = render(spec, base / "cache-runs")
    (base / "whole").mkdir()
    whole = campaign(base / "whole", clip, long_card())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline.output, "still_runs", lambda plan, piece: None)
        whole_outputs = render(whole, base / "cache-whole")
    return spec, outputs, whole, whole_outputs


def test_a_still_card_is_one_gop_played_again(rendered):
    spec, outputs, _, whole_outputs = rendered
    x = outputs["x"]
    # the clip, the card's fade (one GOP), one GOP of the still card, the frames left over, the sound; X and web
    # (rendered at once) share them all
    assert sum(o["pieces"]["made"] for o in outputs.values()) == 5, outputs
    assert sum(o["pieces"]["made"] for o in whole_outputs.values()) == 3  # encoded whole: clip, card, sound
    pictures, keys = frames(spec.parent / "out" / "hostile" / "x.mp4")
    assert len(pictures) == round(x["duration"] * 25)
    start = len(pictures) - CARD
    # key frames where a whole encode puts them: every GOP from the card's first frame on
    assert [i for i in range(start, len(pictures)) if keys[i]] == list(range(start, len(pictures), GOP))
    still = pictures[start + GOP:]
    for i in range(GOP, len(still) // GOP * GOP):  # each whole GOP decodes to the very pictures of the one before
        assert np.array_equal(still[i], still[i - GOP]), i
    assert min(psnr(p, still[0]) for p in still) > 40  # and stands still
    assert not np.array_equal(pictures[start], still[0])  # the fade is not: it starts dark


def test_the_film_looks_as_it_did_with_the_card_encoded_whole(rendered):
    spec, _, whole, _ = rendered
    for channel in ("x", "web"):
        ours, _ = frames(spec.parent / "out" / "hostile" / f"{channel}.mp4")
        before, _ = frames(whole.parent / "out" / "hostile" / f"{channel}.mp4")
        assert len(ours) == len(before)
        worst = min(psnr(a, b) for a, b in zip(ours, before, strict=True))
        assert worst > 40, worst  # invisible: the same picture encoded at the same quality


def test_x_and_the_career_page_share_every_piece(rendered):
    """The career page's bitrate cap is X's: the two 1280x720 outputs of the edit are one encode."""
    spec, outputs, _, _ = rendered
    assert sum(o["pieces"]["reused"] for o in outputs.values()) == 5, outputs
    out = spec.parent / "out" / "hostile"
    end = Fraction(outputs["x"]["duration"]).limit_denominator(1000)
    for at in (Fraction(1), end - Fraction(GOP, 25), end - Fraction(1, 100)):
        assert frame_identity(out / "x.mp4", at) == frame_identity(out / "web.mp4", at)


def test_a_hold_is_one_gop_of_the_held_frame_played_again(rendered):
    """The described version holds the first shot's first frame while the speaker's name is read: the hold's
    frames are the held frame, and its GOP is encoded once however long the hold."""
    spec, outputs, _, _ = rendered
    x = outputs["x"]
    holds = [d["hold"] for d in x["descriptions"] if d.get("hold")]
    assert holds, x["descriptions"]
    film, _ = frames(spec.parent / "out" / "hostile" / "x.mp4")
    described, keys = frames(spec.parent / "out" / "hostile" / "x.synstolket.mp4")
    held = round(sum(h["seconds"] for h in holds) * 25)
    assert len(described) == len(film) + held
    first = holds[0]  # the name before the first shot: its first frame held (the words fit no pause)
    begin, n = round(first["at"] * 25), round(first["seconds"] * 25)
    assert n > GOP, first
    shown = film[begin] if begin < len(film) else film[-1]
    hold = described[begin:begin + n]
    assert min(psnr(p, shown) for p in hold) > 40  # the held frame, encoded once more
    assert all(np.array_equal(hold[i], hold[i - GOP]) for i in range(GOP, n // GOP * GOP))
    assert [i for i in range(n) if keys[begin + i]] == list(range(0, n, GOP))


def test_frame_identity_names_a_frame_by_its_gop(rendered):
    spec, outputs, _, _ = rendered
    path = spec.parent / "out" / "hostile" / "x.mp4"
    duration = Fraction(outputs["x"]["duration"]).limit_denominator(1000)
    a, b = frame_identity(path, Fraction(1)), frame_identity(path, Fraction(1) + Fraction(1, 25))
    assert a != b and a == frame_identity(path, Fraction(1)) == frame_identity(path, Fraction(1) + Fraction(1, 50))
    still = duration - Fraction(CARD - GOP - 2, 25)  # the card's third frame after its fade
    # two frames of the still card in different GOPs: the same packets, the same place in them
    assert frame_identity(path, still) == frame_identity(path, still + Fraction(GOP, 25))
    with pytest.raises(MediaError, match="has no frame at 40.000 s"):
        frame_identity(path, Fraction(40))


def test_one_ffmpeg_makes_a_holds_files_as_two_would(rendered, tmp_path):
    """A hold's GOP and its frames left over, made by one ffmpeg (the held frame decoded once), are the files
    hold_command makes one at a time: the same pictures, frame for frame, and the same encoder settings."""
    from pipeline.describe import Hold
    from pipeline.described import hold_command, holds_command
    from pipeline.ffmpeg import run_command
    from pipeline.load import load_campaign

    spec, outputs, _, _ = rendered
    preset = load_campaign(spec).preset("x")
    original = spec.parent / "out" / "hostile" / "x.mp4"
    hold = Hold(at=Fraction(3, 2), frame=Fraction(3, 2) - Fraction(1, 25), length=Fraction(22, 25), line_id="t")
    rate, duration = Fraction(25), Fraction(outputs["x"]["duration"]).limit_denominator(1000)
    together = [(GOP, tmp_path / "a.mp4"), (9, tmp_path / "b.mp4")]
    run_command(holds_command(original, hold, rate, preset, duration, together), tmp_path, what="together")
    for frames, path in together:
        alone = tmp_path / f"alone-{frames}.mp4"
        run_command(hold_command(original, hold, rate, preset, duration, alone, frames), tmp_path, what="alone")
        a, b = frames_of(path), frames_of(alone)
        assert len(a) == len(b) == frames
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def frames_of(path: Path) -> list[np.ndarray]:
    return frames(path)[0]
