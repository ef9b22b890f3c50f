"""A described version's hold on a still card is the card's own still GOP played again (issue 25).

The description reads the end card while the picture holds at the film's end. That hold is the card's still
GOP, which the output already has (:mod:`pipeline.stills`), played again, and a run of the frames left over:
no frame of the output decoded, and after an edit of the card only the leftover encoded. The described
version is joined with its sound by one ffmpeg.

Real renders of a 1.5 s shot and a 3 s end card at 320x180 (X and the career page), checked by the commands
the pipeline ran (their ``what``, and the frames of the files they wrote), by decoding the files (framemd5
against a full render of the edited spec, PSNR of the held frames against the film's last frame, key
frames), and by probing them.
"""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import av
import pytest
from click.testing import CliRunner

import pipeline.ffmpeg
import pipeline.output
from cli import main
from pipeline.probe import probe
from tests.conftest import make_clip
from tests.test_hostile import campaign, spec_text
from tests.test_speed_described import framemd5
from tests.test_still_runs import frames as decoded
from tests.test_still_runs import psnr

GOP = 13  # half a second at 25 fps
CARD_HOLD = "hold on card end"
EDIT = ("Søk innen 1. mars", "Søk innen 15. mars")


def card_text() -> str:
    """The hostile film with a 3 s end card whose words take longer to read than it stands: held at the end."""
    return spec_text().replace("    duration: 1\n", "    duration: 3\n    subline: Søk innen 1. mars\n"
                                                    "    url: https://hostile.no/jobb\n    qr: false\n", 1)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("still-holds-media") / "anne.mp4", seconds=3.0)


def render(spec: Path, cache: Path) -> tuple[dict[str, dict], list[tuple[str, int | None]]]:
    """The outputs of a render, and each ffmpeg it ran: its ``what`` and, for a hold on a card, the frames of
    the file it wrote."""
    ran: list[tuple[str, int | None]] = []
    real = pipeline.ffmpeg.run

    def run(argv, *, what, **kw):
        out = real(argv, what=what, **kw)
        frames = None
        if CARD_HOLD in what:
            with av.open(str(kw["writes"][0])) as c:
                frames = sum(1 for p in c.demux(video=0) if p.size)
        ran.append((what, frames))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline.ffmpeg, "run", run)
        result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "-j", "1", "--cache-dir",
                                           str(cache)])
    assert result.exit_code == 0, result.output
    data = json.loads((spec.parent / "out" / "hostile" / "manifest.json").read_text("utf-8"))
    return {o["channel"]: o for o in data["outputs"]}, ran


def holds(output: dict) -> list[dict]:
    return [d["hold"] for d in output["descriptions"] if d.get("hold")]


def out(spec: Path, name: str) -> Path:
    return spec.parent / "out" / "hostile" / name


@pytest.fixture(scope="module")
def edited(tmp_path_factory, clip):
    """The film rendered, its end card edited (a new deadline) and rendered again with the same cache, and the
    edited spec rendered with an empty one (its voice lines copied: eSpeak's samples vary from run to run)."""
    base = tmp_path_factory.mktemp("still-holds")
    (base / "a").mkdir()
    spec = campaign(base / "a", clip, card_text())
    first = render(spec, base / "cache-a")
    text = card_text().replace(*EDIT)
    assert text != card_text()
    spec.write_text(text, encoding="utf-8")
    edit = render(spec, base / "cache-a")
    (base / "b").mkdir()
    full = campaign(base / "b", clip, text)
    shutil.copytree(base / "cache-a" / "voice", base / "cache-b" / "voice")
    render(full, base / "cache-b")
    return spec, first, edit, full


def test_the_end_cards_hold_encodes_only_its_leftover(edited):
    """No frame of the output is decoded for the end card's hold, in the first render or after the edit: the
    card's GOP is the output's own, and the frames left over (70 = 5 GOPs + 5 before the edit) are the only ones
    encoded, once for X and the career page (the same picture)."""
    _, (outputs, first), (outputs_edit, edit), _ = edited
    for made, ran in ((outputs, first), (outputs_edit, edit)):
        end = [h for h in holds(made["x"]) if h["at"] == made["x"]["duration"]]
        assert len(end) == 1, holds(made["x"])
        frames = round(end[0]["seconds"] * 25)
        assert frames % GOP and frames > 2 * GOP, end
        assert not [w for w, _ in ran if "held picture at 4.52" in w], ran
        assert [n for w, n in ran if CARD_HOLD in w] == [frames % GOP], ran
    assert not [w for w, _ in edit if "held picture" in w], edit  # the shot's hold: from the cache as it was
    assert [w for w, _ in first if "held picture at 0.00" in w]  # it is made the old way (this can fail)


def test_the_edit_is_frame_for_frame_a_full_render(edited):
    spec, _, _, full = edited
    for channel in ("x", "web"):
        for stream in ("v", "a"):
            incremental = framemd5(out(spec, f"{channel}.synstolket.mp4"), stream)
            fresh = framemd5(out(full, f"{channel}.synstolket.mp4"), stream)
            assert len(incremental) == len(fresh) > 100, (channel, stream)
            assert incremental == fresh, (channel, stream)


def test_the_hold_looks_like_the_card_and_keeps_the_gops(edited):
    """The held frames are the card as the film ends on it, each hold's GOP starts on a key frame, and the
    described version is as long as the film and its holds, with its title and sound track's language."""
    spec, _, (outputs, _), _ = edited
    film, _ = decoded(out(spec, "x.mp4"))
    described, keys = decoded(out(spec, "x.synstolket.mp4"))
    held = [round(h["seconds"] * 25) for h in holds(outputs["x"])]
    assert len(described) == len(film) + sum(held)
    tail = described[-held[-1]:]
    assert min(psnr(p, film[-1]) for p in tail) > 45
    assert [i for i in range(held[-1]) if keys[len(described) - held[-1] + i]] == list(range(0, held[-1], GOP))
    first = described[:held[0]]  # the shot's first frame, held while the name is read
    assert min(psnr(p, film[0]) for p in first) > 40
    info = probe(out(spec, "x.synstolket.mp4"))
    assert abs(float(info.duration) - len(described) / 25) < 0.05
    assert info.has_audio and abs(float(info.audio_end - info.video_end)) < 0.05
    with av.open(str(out(spec, "x.synstolket.mp4"))) as c:
        assert c.metadata.get("title") == "Synstolket versjon"
        assert c.streams.audio[0].metadata.get("language") == "nor"


def test_a_card_with_something_timed_over_it_is_held_from_the_outputs_frame(tmp_path, clip):
    """A card with a name strap or a burned caption over it is encoded whole (``still_runs`` gives None): its
    hold is the output's last frame, decoded and encoded as before."""
    spec = campaign(tmp_path, clip, card_text())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline.output, "still_runs", lambda plan, piece: None)
        outputs, ran = render(spec, tmp_path / "cache")
    assert not [w for w, _ in ran if CARD_HOLD in w], ran
    assert [w for w, _ in ran if "held picture at 4.52" in w], ran
    film, _ = decoded(out(spec, "x.mp4"))
    described, _ = decoded(out(spec, "x.synstolket.mp4"))
    held = [round(h["seconds"] * 25) for h in holds(outputs["x"])]
    assert len(described) == len(film) + sum(held)
    assert min(psnr(p, film[-1]) for p in described[-held[-1]:]) > 40


def test_a_cards_runs_are_one_encode(edited):
    """After the edit the end card's runs (its fade, its still GOP, the frames left over) are encoded by one
    ffmpeg, cut into their files by the segment muxer, once for X and the career page; the joined films keep
    every frame at its time (the first run starts at 0 as the others do)."""
    spec, _, (outputs_edit, edit), _ = edited
    assert [w for w, _ in edit if w.startswith("render ") and "(card end)" in w] == ["render x (card end)"], edit
    for channel in ("x", "web"):
        with av.open(str(out(spec, f"{channel}.mp4"))) as c:
            times = [f.pts * f.time_base for f in c.decode(video=0)]
        assert len(times) == round(outputs_edit[channel]["duration"] * 25)
        assert times == [Fraction(i, 25) for i in range(len(times))], channel


def test_a_joined_picture_is_cut_only_where_a_piece_begins():
    """The described version puts a hold between the output's pieces only where one begins; anywhere else it
    cuts the output itself (:func:`pipeline.described._picture_parts`)."""
    from pipeline.stills import JoinedPicture

    a, b, c = Path("a.mp4"), Path("gop.mp4"), Path("c.mp4")
    joined = JoinedPicture((0, 50, 80), ((a,), (b, b), (c,)))
    assert joined.parts([50]) == [[a], [b, b, c]]
    assert joined.parts([50, 80]) == [[a], [b, b], [c]]
    assert joined.parts([]) == [[a, b, b, c]]
    assert joined.parts([51]) is None and joined.parts([50, 79]) is None
