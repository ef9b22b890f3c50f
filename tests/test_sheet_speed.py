"""Faster where a producer waits (issue 25): the contact sheet and the posters after an edit.

The sheet's frames are kept in the cache by what they show (the picture piece they fall in and where in it),
the sheet is written only when a frame or label on it changed, and a poster made from the same frame, title
and font is kept. Behaviour only, never timings: which thumbnails the cache holds, which files were written
(their bytes and times), and the sheet's and posters' pixels against a sheet and posters made from scratch.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageChops

from cli import main
from pipeline.cache import Cache
from pipeline.load import load_campaign
from pipeline.manifest import OutputRecord
from pipeline.review import contact_sheet
from pipeline.sheet import GAP, LABEL_WIDTH, frame_times, thumbnail_key
from tests.conftest import make_clip
from tests.test_hostile import campaign, spec_text

EDITED = ('["Vi trenger deg!"]', '["Vi trenger deg nå, Anne!"]')
FRAMES, HEIGHT = 6, 120


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("sheet-speed-media") / "anne.mp4", seconds=3.0)


def render(spec: Path, cache: Path) -> dict[str, dict]:
    result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(cache), "-j", "1"])
    assert result.exit_code == 0, result.output
    return outputs(spec)


def outputs(spec: Path) -> dict[str, dict]:
    data = json.loads((spec.parent / "out" / "hostile" / "manifest.json").read_text("utf-8"))
    return {o["channel"]: o for o in data["outputs"]}


def thumbnails(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (cache / "sheet").rglob("*.png")}


def tiles(sheet: Path, rows: int) -> list[list[Image.Image]]:
    """The sheet cut into its rows' frames (every row here is 16:9, as wide as the widest)."""
    with Image.open(sheet) as im:
        im = im.convert("RGB")
    width = (im.width - LABEL_WIDTH) // FRAMES
    return [[im.crop((LABEL_WIDTH + k * width, GAP + r * (HEIGHT + GAP), LABEL_WIDTH + (k + 1) * width,
                      GAP + r * (HEIGHT + GAP) + HEIGHT)) for k in range(FRAMES)] for r in range(rows)]


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None


def on_card(record: dict) -> list[int]:
    """Which of the row's frames fall on the end card (the output's last picture piece)."""
    card = record["picture_pieces"][-1]
    return [k for k, at in enumerate(frame_times(record["duration"], FRAMES)) if float(at) >= card["start"]]


def fresh_sheet(spec: Path, tmp: Path) -> Path:
    """The contact sheet of the outputs on disk made from nothing: an empty cache, no sheet before."""
    target = tmp / "fresh-sheet.png"
    out = spec.parent / "out" / "hostile"
    kept = out / "contact-sheet.png"
    shutil.copy2(kept, tmp / "kept.png")
    kept.unlink()
    (tmp / "fresh-work").mkdir()
    contact_sheet(load_campaign(spec, cache_dir=tmp / "cache"), tmp / "fresh-work", cache=Cache(tmp / "fresh-cache"))
    shutil.move(kept, target)
    shutil.copy2(tmp / "kept.png", kept)
    return target


@pytest.fixture(scope="module")
def edited(tmp_path_factory, clip):
    """The hostile campaign (x with a poster, web without) rendered, then rendered again with its end card's
    words changed; what the first render left is kept aside."""
    tmp = tmp_path_factory.mktemp("sheet-edit")
    spec = campaign(tmp, clip)
    cache = tmp / "cache"
    out = tmp / "out" / "hostile"
    before = render(spec, cache)
    aside = tmp / "before"
    aside.mkdir()
    for name in ("contact-sheet.png", "x.poster.jpg"):
        shutil.copy2(out / name, aside / name)
    stamps = {name: (out / name).stat().st_mtime_ns for name in ("contact-sheet.png", "x.poster.jpg")}
    thumbs = thumbnails(cache)
    spec.write_text(spec_text(lines=EDITED[1]), encoding="utf-8")
    after = render(spec, cache)
    return {"spec": spec, "cache": cache, "out": out, "tmp": tmp, "before": before, "after": after,
            "aside": aside, "stamps": stamps, "thumbs": thumbs}


def test_an_end_card_edit_decodes_and_changes_only_the_end_cards_thumbnails(edited):
    before, after, out = edited["before"], edited["after"], edited["out"]
    rows = ["x", "web"]  # the sheet's rows, in the spec's order of channels
    for channel in rows:  # the edit made every output again: its card piece is new, its clip piece is not
        old, new = before[channel]["picture_pieces"], after[channel]["picture_pieces"]
        assert before[channel]["sha256"] != after[channel]["sha256"]
        assert [p["key"] for p in old[:-1]] == [p["key"] for p in new[:-1]] and old[-1]["key"] != new[-1]["key"]
    card_frames = {c: on_card(after[c]) for c in rows}
    assert all(0 < len(k) < FRAMES for k in card_frames.values()), card_frames
    new_thumbs = set(thumbnails(edited["cache"])) - set(edited["thumbs"])
    # only the frames on the card were decoded again: one new thumbnail each, the others from the cache (X and
    # web encode alike: where their cards are one piece, its frames are one thumbnail)
    shown = {(after[c]["picture_pieces"][-1]["key"], k) for c in rows for k in card_frames[c]}
    assert len(new_thumbs) == len(shown), new_thumbs
    old_tiles, new_tiles = tiles(edited["aside"] / "contact-sheet.png", 2), tiles(out / "contact-sheet.png", 2)
    for r, channel in enumerate(rows):
        for k in range(FRAMES):
            if k not in card_frames[channel]:
                assert same_pixels(old_tiles[r][k], new_tiles[r][k]), (channel, k)
        assert not same_pixels(old_tiles[r][-1], new_tiles[r][-1]), channel  # the new words on the card
    # the sheet is exactly the one made from nothing for the edited outputs
    assert same_pixels(Image.open(out / "contact-sheet.png"), Image.open(fresh_sheet(edited["spec"], edited["tmp"])))


def test_a_poster_that_does_not_show_the_edit_is_kept_and_an_unchanged_run_rewrites_nothing(edited):
    out, stamps = edited["out"], edited["stamps"]
    # x's poster shows the clip: the output was made again, the poster file was left as it was
    assert (out / "x.poster.jpg").read_bytes() == (edited["aside"] / "x.poster.jpg").read_bytes()
    assert (out / "x.poster.jpg").stat().st_mtime_ns == stamps["x.poster.jpg"]
    sheet_stamp = (out / "contact-sheet.png").stat().st_mtime_ns
    assert sheet_stamp != stamps["contact-sheet.png"]  # the sheet shows the card, so it was written
    render(edited["spec"], edited["cache"])  # unchanged
    assert (out / "contact-sheet.png").stat().st_mtime_ns == sheet_stamp
    assert (out / "x.poster.jpg").stat().st_mtime_ns == stamps["x.poster.jpg"]
    # the sheet of the same outputs asked for again (review SPEC does this) is not written again
    campaign_ = load_campaign(edited["spec"], cache_dir=edited["cache"])
    work = edited["tmp"] / "again-work"
    work.mkdir(exist_ok=True)
    contact_sheet(campaign_, work, cache=Cache(edited["cache"]))
    assert (out / "contact-sheet.png").stat().st_mtime_ns == sheet_stamp
    assert not list(work.iterdir())  # nothing was decoded


def test_a_deleted_or_damaged_thumbnail_and_a_broken_sheet_are_made_again(edited):
    out, cache = edited["out"], edited["cache"]
    good = Image.open(out / "contact-sheet.png").convert("RGB")
    shown = {p.stem: p for p in (cache / "sheet").rglob("*.png")}
    x = OutputRecord(**outputs(edited["spec"])["x"])
    # two frames the sheet shows: one on the clip, one on the end card
    files = [shown[thumbnail_key(x, frame_times(x.duration, FRAMES)[k], HEIGHT)] for k in (0, FRAMES - 1)]
    files[0].unlink()  # a thumbnail gone from the cache
    files[1].write_bytes(files[1].read_bytes()[:100])  # one cut short
    (out / "contact-sheet.png").write_bytes(b"not a png")  # and the sheet itself broken
    work = edited["tmp"] / "recover-work"
    work.mkdir()
    contact_sheet(load_campaign(edited["spec"], cache_dir=cache), work, cache=Cache(cache))
    assert files[0].is_file() and len(files[1].read_bytes()) > 100
    assert same_pixels(Image.open(out / "contact-sheet.png"), good)


def test_a_poster_on_the_end_card_shows_the_new_card(tmp_path, clip):
    """A film of one card: its poster is the card, so an edit of the card draws it again, as a render of the
    edited spec from nothing draws it."""
    text = spec_text().replace("  - clip: anne\n    from: 0.5\n    to: 2.0\n", "")
    (tmp_path / "a").mkdir()
    spec = campaign(tmp_path / "a", clip, text)
    render(spec, tmp_path / "cache")
    poster = spec.parent / "out" / "hostile" / "x.poster.jpg"
    first = poster.read_bytes()
    edited_text = text.replace(*EDITED)
    spec.write_text(edited_text, encoding="utf-8")
    render(spec, tmp_path / "cache")
    assert poster.read_bytes() != first
    (tmp_path / "b").mkdir()
    fresh = campaign(tmp_path / "b", clip, edited_text)
    render(fresh, tmp_path / "fresh-cache")
    assert same_pixels(Image.open(poster), Image.open(fresh.parent / "out" / "hostile" / "x.poster.jpg"))
    assert not same_pixels(Image.open(poster), Image.open(io.BytesIO(first)))


def record(**changes) -> OutputRecord:
    fields = dict(channel="x", path="x.mp4", width=320, height=180, fps="25", duration=2.5, size=1, sha256="a" * 64,
                  loudness_lufs=-14.0, true_peak_dbtp=-2.0, loudness_target_lufs=-14.0, video_codec="h264",
                  audio_codec="aac", audio_channels=2,
                  picture_pieces=[{"start": 0.0, "end": 1.5, "key": "clip"}, {"start": 1.5, "end": 2.5, "key": "card"}])
    return OutputRecord(**{**fields, **changes})


def test_a_thumbnail_is_keyed_by_the_piece_it_shows_or_by_the_file_without_pieces():
    """Pure logic: the key of a frame is its piece and the offset in it, whatever the file's checksum; a frame
    of an output the manifest lists no pieces for (made whole, an older manifest) goes with the file."""
    a, b = record(), record(sha256="b" * 64)
    assert thumbnail_key(a, "0.625", 120) == thumbnail_key(b, "0.625", 120)
    moved = record(picture_pieces=[{"start": 0.0, "end": 1.0, "key": "other"}, {"start": 1.0, "end": 2.0,
                                                                                  "key": "card"}])
    assert thumbnail_key(a, "1.875", 120) == thumbnail_key(moved, "1.375", 120)  # the same card, 0.375 s in
    assert thumbnail_key(a, "1.875", 120) != thumbnail_key(a, "1.876", 120)
    assert thumbnail_key(a, "0.625", 120) != thumbnail_key(a, "0.625", 100)
    # a moment within a frame of the cut may show the clip's last frame: it goes with both pieces
    clip_changed = record(picture_pieces=[{"start": 0.0, "end": 1.5, "key": "new clip"},
                                          {"start": 1.5, "end": 2.5, "key": "card"}])
    assert thumbnail_key(a, "1.510", 120) != thumbnail_key(clip_changed, "1.510", 120)
    assert thumbnail_key(a, "1.875", 120) == thumbnail_key(clip_changed, "1.875", 120)
    whole, whole_b = record(picture_pieces=[]), record(picture_pieces=[], sha256="b" * 64)
    assert thumbnail_key(whole, "0.625", 120) != thumbnail_key(whole_b, "0.625", 120)


def test_the_sheet_decodes_a_few_frames_per_ffmpeg_each_with_one_thread():
    """All of a first render's missing frames in one or two runs of ffmpeg (51 inputs open at once) held 1.3 GB
    in one process: at most PER_RUN inputs a run, each decoder one thread."""
    from pipeline.sheet import PER_RUN, decode_runs, thumbnails_command

    frames = [(Path(f"v{i}.mp4"), "1.000", Path(f"t{i}.png")) for i in range(102)]
    runs = decode_runs(frames)
    assert [f for run in runs for f in run] == frames and max(map(len, runs)) == PER_RUN <= 8
    args = thumbnails_command(runs[0], 120).args
    assert args.count("-i") == PER_RUN and args.count("-threads") == PER_RUN
    inputs = [j for j, a in enumerate(args) if a == "-i"]
    assert all(args[j - 4:j - 2] == ["-threads", "1"] for j in inputs), args
