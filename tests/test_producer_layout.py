"""What a producer sees on real footage, the layout (issue 22): text inside the picture, tall end cards laid out
for the safe area, captions that hold their place for the shot.

The pictures are a real face (scikit-image's astronaut) with real speech (jfk.flac) under it; what the pipeline
decided (the plan's overlays, the caption track's boxes, the card's layout) is checked as numbers, and the
rendered frames are probed.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from cli import main
from pipeline.cache import Cache
from pipeline.cards import card_layout, draw_card
from pipeline.channels import get_preset
from pipeline.job import OutputSpec
from pipeline.load import load_campaign
from pipeline.outplan import plan_output
from pipeline.placement import FaceSpan, face_during, face_spans, held_spots, overlaps, picture_spans, text_area
from pipeline.subtitles import CaptionMaker
from pipeline.timeline import build_timeline
from tests.conftest import ff

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
campaign: layout
title: Layout
language: en
clips:
  eileen: {{source: {clip}, person: Eileen Collins, role: Astronaut og kommandør}}
sequence:
  - clip: eileen
    to: {to}
  - card: end
cards:
  end:
    lines: ["Vi trenger deg!"]
    subline: Søk innen 1. mars
    url: https://www.fjordvik.kommune.no/jobb
    duration: 1
lower_thirds: {straps}
channels: [{channel}]
overrides:
  {channel}: {{width: {w}, height: {h}, poster: false}}
"""


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    from skimage import data

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


def _spec(folder: Path, clip: Path, channel: str, size: tuple[int, int], to: float, straps: bool) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / clip.name).symlink_to(clip)
    spec = folder / "c.yml"
    spec.write_text(SPEC.format(clip=clip.name, to=to, straps=str(straps).lower(), channel=channel, w=size[0],
                                h=size[1]), encoding="utf-8")
    return spec


def _render(spec: Path, cache_dir: Path) -> Path:
    result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    return spec.parent / "out" / "layout"


def _plan(spec: Path, cache_dir: Path, channel: str, work: Path):
    """What the pipeline decides for the output: (campaign, timeline, plan, caption track)."""
    cache = Cache(cache_dir)
    campaign = load_campaign(spec, cache=cache)
    preset = campaign.preset(channel)
    timeline = build_timeline(campaign, preset.rate_for(campaign.media["eileen"].fps))
    maker = CaptionMaker(campaign, work, cache=cache)
    maker.prepare()
    job = OutputSpec(campaign, preset, tuple(campaign.spec.sequence), timeline)
    plan, track = plan_output(job, work, cache=cache, captions=maker)
    return campaign, timeline, plan, track


def _frame(path: Path, at: float) -> np.ndarray:
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            if f.time is not None and f.time >= at:
                return f.to_ndarray(format="rgb24")
    raise AssertionError(f"{path} has no frame at {at} s")


def _inside(box, area) -> bool:
    return area[0] - 0.5 <= box[0] and area[1] - 0.5 <= box[1] and box[2] <= area[2] + 0.5 and box[3] <= area[3] + 0.5


# --------------------------------------------------------------------------- 1. cinema: text inside the picture


def test_cinema_keeps_the_name_strap_and_captions_inside_a_square_picture(tmp_path, photo, jfk, cache_dir,
                                                                          model_dir):
    square = tmp_path / "square.mp4"
    ff("-loop", "1", "-framerate", "25", "-i", str(photo), "-i", str(jfk), "-t", "4", "-vf",
       "scale=512:512,format=yuv420p", "-r", "25", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
       "-shortest", str(square))
    spec = _spec(tmp_path / "kino", square, "cinema", (666, 360), 4, True)
    campaign, timeline, plan, track = _plan(spec, cache_dir, "cinema", tmp_path / "work")
    preset = plan.preset
    (px0, _, px1, _), = {b for _, _, b in picture_spans(campaign, timeline, preset)}
    assert (round(px0), round(px1)) == (153, 513)  # a 360x360 picture in the middle of 666x360: bars each side
    area = text_area(preset, picture_spans(campaign, timeline, preset))
    sx0, sy0, sx1, sy1 = preset.safe_area.box(preset.width, preset.height)
    assert px0 < area[0] and area[2] < px1 and sy0 <= area[1] and area[3] <= sy1  # inside picture and title safe
    straps = [o for o in plan.overlays if "lower-third" in o.image.path.name]
    assert len(straps) == 1
    with Image.open(straps[0].image.path) as im:
        strap = (straps[0].x, straps[0].y, straps[0].x + im.width, straps[0].y + im.height)
    assert _inside(strap, area), (strap, area)
    assert track.placed and all(_inside(box, area) for _, _, box in track.placed), (track.placed, area)
    # the rendered frame: nothing but black in the bars while the strap and a caption are up
    out = _render(spec, cache_dir) / "cinema.mov"
    at = float(straps[0].start + straps[0].duration / 2)
    frame = _frame(out, at)
    Image.fromarray(frame).save(tmp_path / "cinema-strap.png")
    bars = np.concatenate([frame[:, :int(px0) - 2], frame[:, int(px1) + 2:]], axis=1)
    assert bars.max() < 24, "text in the black bars"
    shown = frame[int(strap[1]):int(strap[3]), int(strap[0]):int(strap[2])].astype(int)
    picture = frame[int(strap[1]):int(strap[3]), int(strap[2]) + 4:int(strap[2]) + 40].astype(int)
    assert abs(shown.mean() - picture.mean()) > 10  # the strap is there (darker than the picture beside it)


# --------------------------------------------------------------------------- 2. tall end cards


@pytest.mark.parametrize("channel", ["instagram-reels", "tiktok", "youtube-shorts"])
def test_a_tall_end_card_is_balanced_in_the_safe_area(channel, tmp_path):
    campaign = load_campaign(ROOT / "campaigns" / "fjordvik-2026.yml", check_media=False)
    card, preset = campaign.spec.cards["end"], campaign.preset(channel)
    layout, _, _ = card_layout(campaign, card, preset)
    sx0, sy0, sx1, sy1 = preset.safe_area.box(preset.width, preset.height)
    assert all(_inside(part, (sx0, sy0, sx1, sy1)) for part in layout.parts), (layout.parts, (sx0, sy0, sx1, sy1))
    centre, middle = (layout.text[1] + layout.text[3]) / 2, (sy0 + sy1) / 2
    assert abs(centre - middle) <= 0.1 * (sy1 - sy0), (centre, middle)  # the text in the safe area's middle band
    assert layout.logo[3] <= layout.text[1] and layout.text[3] <= layout.qr[1]
    # the parts take the safe area's height: the QR code reaches its last fifth, the logo its first fifth
    assert layout.qr[3] >= sy0 + 0.8 * (sy1 - sy0) and layout.logo[1] <= sy0 + 0.2 * (sy1 - sy0)
    # drawn: nothing but the background in the platform's interface zones (TikTok's right-hand buttons too)
    image = np.asarray(draw_card(campaign, card, preset)).astype(int)
    ink = np.abs(image - image[2, 2]).sum(axis=2) > 30
    ys, xs = np.nonzero(ink)
    assert sx0 <= xs.min() and xs.max() < sx1 and sy0 <= ys.min() and ys.max() < sy1
    assert ys.max() > preset.height / 2  # the lower half of the frame is used, down to the safe area's end


def test_wide_cards_keep_their_layout():
    campaign = load_campaign(ROOT / "campaigns" / "fjordvik-2026.yml", check_media=False)
    layout, _, _ = card_layout(campaign, campaign.spec.cards["end"], get_preset("youtube"))
    gap = get_preset("youtube").height * 0.04
    assert layout.text[1] - layout.logo[3] == pytest.approx(gap, abs=2)  # logo, text and QR code stay together


# --------------------------------------------------------------------------- 3. captions hold for the shot


def _span(t0, t1, y0, y1) -> FaceSpan:
    return FaceSpan(Fraction(t0), Fraction(t1), (120.0, y0, 240.0, y1), (130.0, y0 + 40, 230.0, y1 - 40))


def test_a_caption_moves_once_when_the_face_moves_into_it():
    """The face is high for the first three cues (the top is taken) and low for the next three (the bottom is
    taken): no place is free for the whole shot, so the captions move once, where the face moves into them."""
    preset = get_preset("tiktok").with_overrides(width=360, height=640)
    bands = [(35.0, 60.0, 300.0, Fraction(k), Fraction(k) + Fraction(9, 10)) for k in range(6)]
    high_then_low = [_span(k, k + 1, 10 if k < 3 else 300, 380 if k < 3 else 600) for k in range(6)]
    spots = held_spots(bands, high_then_low, preset, [(Fraction(0), Fraction(6))])
    ends = [s[0] for s in spots]
    assert ends == ["bottom"] * 3 + ["top"] * 3
    # the face bobs between the middle (both ends free) and low (on the bottom place): each cue on its own would
    # jump between the chest and above the head at every cue; held, they stay above the head
    bobbing = [_span(k, k + 1, 300 if k % 2 else 150, 600 if k % 2 else 400) for k in range(6)]
    spots = held_spots(bands, bobbing, preset, [(Fraction(0), Fraction(6))])
    assert len(set(spots)) == 1 and spots[0][0] == "top"
    alone = [held_spots([band], bobbing, preset) for band in bands]
    assert len({s[0][0] for s in alone}) == 2  # (what placing each cue on its own does)
    # a cut starts a new shot: the place is chosen again there
    spots = held_spots(bands, high_then_low, preset, [(Fraction(0), Fraction(3)), (Fraction(3), Fraction(6))])
    assert [s[0] for s in spots] == ["bottom"] * 3 + ["top"] * 3


def test_captions_hold_their_place_on_a_real_face_that_moves(tmp_path, photo, jfk, cache_dir, model_dir):
    """A 9:16 close-up whose face drops at 5 s into the captions' usual place at the bottom: the captions go
    above the head for the whole shot instead of starting at the bottom and jumping, and none covers the face."""
    moving = tmp_path / "moving.mp4"
    ff("-f", "lavfi", "-i", "color=c=0x707070:s=360x640:r=25", "-loop", "1", "-framerate", "25", "-i", str(photo),
       "-i", str(jfk), "-t", "10", "-filter_complex",
       "[1:v]scale=600:600[p];[0:v][p]overlay=x=-82:y='if(lt(t,5),120,260)',format=yuv420p", "-map", "2:a",
       "-r", "25", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(moving))
    spec = _spec(tmp_path / "hold", moving, "tiktok", (360, 640), 10, False)
    campaign, timeline, plan, track = _plan(spec, cache_dir, "tiktok", tmp_path / "work")
    faces = face_spans(campaign, Cache(cache_dir), timeline, plan.preset, {c.clip_id: c.fit for c in plan.clips})
    assert len(track.placed) >= 3
    for seg in timeline.clip_segments():
        shot = [box for t0, _, box in track.placed if seg.start <= t0 < seg.end]
        changes = sum(1 for a, b in zip(shot, shot[1:], strict=False) if a[1] != b[1] and a[3] != b[3])
        assert changes <= 1, shot
    low = [box for t0, t1, box in track.placed if (face := face_during(faces, t0, t1)) and face[3] > 640 * 0.7]
    assert low, "the face does not reach the captions' usual place: the clip no longer tests the rule"
    for t0, t1, box in track.placed:
        face = face_during(faces, t0, t1)
        assert face is None or not overlaps(box, face), (float(t0), box, face)
    # look at it: a frame before and after the face drops, and the end card
    out = _render(spec, cache_dir) / "tiktok.mp4"
    for at in (2.0, 7.0, 10.5):
        Image.fromarray(_frame(out, at)).save(tmp_path / f"tiktok-{at}.png")
