"""Channel-smart versions: reframing on a real face, safe areas, QR call to action, music ducking, cinema, posters."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from pipeline.channels import PRESETS
from pipeline.cta import tracked_url
from pipeline.reframe import Analysis, Face, Sample, crop_path, max_speed
from tests.conftest import ff

cv2 = pytest.importorskip("cv2")


def faces_in(gray: np.ndarray) -> list:
    """Faces found by OpenCV's frontal cascade, most confident first (a helmet can pass for a face)."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found, _, weights = cascade.detectMultiScale3(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30),
                                                  outputRejectLevels=True)
    ranked = sorted(zip(weights if len(found) else [], found if len(found) else [], strict=False),
                    key=lambda p: -p[0])
    return [tuple(f) for w, f in ranked if w >= 1.0]


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory) -> Path:
    """16:9, a real face (the astronaut) in the left third, drifting slowly right."""
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    root = tmp_path_factory.mktemp("face")
    Image.fromarray(data.astronaut()).resize((600, 600)).save(root / "face.png")
    path = root / "interview.mp4"
    ff("-f", "lavfi", "-i", "color=c=0x404850:s=1280x720:r=25:d=5", "-loop", "1", "-i", str(root / "face.png"),
       "-f", "lavfi", "-i", "sine=frequency=200:duration=5",
       "-filter_complex", "[0:v][1:v]overlay=x='60+24*t':y=60:shortest=1,format=yuv420p[v]",
       "-map", "[v]", "-map", "2:a", "-t", "5", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(path))
    return path


SPEC = """\
campaign: ansikt
title: Bli en av oss
language: en
clips:
  intervju: {source: interview.mp4, person: Eileen Collins, role: Astronaut}
sequence:
  - clip: intervju
    from: 0.5
    to: 4.5
  - card: end
cards:
  end: {lines: ["Vi trenger deg!"], url: "https://www.fjordvik.kommune.no/jobb", duration: 1.5}
channels: [instagram-reels, instagram-feed, youtube]
overrides:
  instagram-reels: {width: 360, height: 640}
  instagram-feed: {width: 480, height: 480}
  youtube: {width: 640, height: 360}
"""


@pytest.fixture(scope="module")
def rendered(face_clip, cache_dir) -> Path:
    root = face_clip.parent
    (root / "ansikt.yml").write_text(SPEC, encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(root / "ansikt.yml"), "--no-captions", "--cache-dir",
                                       str(cache_dir)])
    assert result.exit_code == 0, result.output
    return root / "out" / "ansikt"


def frames(path: Path, every: int = 5) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(f.time, f.to_ndarray(format="gray")) for i, f in enumerate(c.decode(video=0)) if i % every == 0]


@pytest.mark.parametrize("channel", ["instagram-reels", "instagram-feed"])
def test_narrow_crops_follow_the_face_smoothly(rendered, channel):
    centres = []
    for t, gray in frames(rendered / f"{channel}.mp4"):
        if t >= 3.9:  # the end card
            break
        found = faces_in(gray)
        assert len(found) >= 1, f"no face at {t:.2f} s in {channel}"
        x, y, w, h = found[0]
        assert x >= 0 and y >= 0 and x + w <= gray.shape[1] and y + h <= gray.shape[0]
        centres.append((x + w / 2) / gray.shape[1])
    assert len(centres) >= 10
    # the face drifts 24 px/s in the source; the crop follows without jumps
    steps = np.abs(np.diff(centres))
    assert steps.max() < 0.08, steps


def test_a_centre_crop_would_have_lost_the_face(face_clip):
    """Guard for the test above: with the crop fixed in the middle, the face is not in the 9:16 frame."""
    from tests.conftest import ff as run_ff

    out = face_clip.parent / "centre.png"
    run_ff("-ss", "1", "-i", str(face_clip), "-vf", "scale=-2:640,crop=360:640", "-frames:v", "1", str(out))
    gray = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
    assert len(faces_in(gray)) == 0


def test_crop_path_is_steady_eased_and_bounded():
    still = Analysis(tuple(Sample(t / 2, (Face(0.3 + (0.01 if t % 2 else 0), 0.4, 0.2, 2),)) for t in range(20)))
    assert crop_path(still, 0, 10) == [(0.0, 0.3)]  # jitter inside the dead zone: no movement
    moving = Analysis(tuple(Sample(t / 2, (Face(0.2 if t < 8 else 0.7, 0.4, 0.2, 2),)) for t in range(20)))
    keys = crop_path(moving, 0, 10)
    assert keys[0] == (0.0, 0.2) and keys[-1][1] == 0.7
    assert keys[-1][0] - keys[-2][0] >= 0.5 / 0.2 - 1e-9  # a pan at no more than 0.2 widths a second
    assert max_speed(keys) <= 0.2 / 25 * 1.5 + 1e-9  # smoothstep peaks at 1.5x the mean speed
    empty = Analysis(tuple(Sample(t / 2, ()) for t in range(10)))
    assert crop_path(empty, 0, 5) == [(0.0, 0.5)]
    assert crop_path(moving, 0, 10, focus=2 / 3) == [(0.0, 2 / 3)]


@pytest.mark.parametrize("channel", list(PRESETS))
def test_captions_and_lower_thirds_sit_inside_the_safe_area(channel, tmp_path):
    from PIL import Image

    from pipeline.cards import lower_third
    from pipeline.subtitles import caption_style

    preset = PRESETS[channel]
    x0, y0, x1, y1 = preset.safe_area.box(preset.width, preset.height)
    style = caption_style(preset)
    # two caption lines above the bottom margin, no wider than the margins allow
    assert preset.height - style.margin_v <= y1
    assert preset.height - style.margin_v - 2.6 * style.size >= y0
    assert style.margin_h >= x0 and preset.width - style.margin_h <= x1
    above = style.margin_v + int(style.size * 2.9)
    image, x, y = lower_third("Kari Nordmann-Østerbø", "Barnehagelærer, Solsikken barnehage", preset, tmp_path,
                              above)
    w, h = Image.open(image).size
    assert x0 <= x and x + w <= x1 and y0 <= y and y + h <= y1
    assert y + h <= preset.height - above  # clear of the captions


def test_end_card_qr_code_decodes_to_the_tracked_link(rendered):
    for channel in ("instagram-reels", "youtube"):
        last = frames(rendered / f"{channel}.mp4", every=1)[-1][1]
        # a phone camera sees the code large on a screen; these test frames are small
        last = cv2.resize(last, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
        text, _, _ = cv2.QRCodeDetector().detectAndDecode(last)
        assert text == tracked_url("https://www.fjordvik.kommune.no/jobb", channel, "ansikt")
        assert "utm_source=" + channel in text and "utm_campaign=ansikt" in text


def test_publish_sheets_and_posters(rendered):
    manifest = json.loads((rendered / "manifest.json").read_text())
    for entry in manifest["outputs"]:
        sheet = json.loads((rendered / entry["extras"]["publish_json"]).read_text())
        assert sheet["link"].endswith(f"utm_source={entry['channel']}&utm_medium=video&utm_campaign=ansikt"
                                      "&utm_content=main")
        assert sheet["video"] == entry["path"]
        assert (rendered / entry["extras"]["publish_md"]).read_text().startswith("# Bli en av oss")
        poster = rendered / entry["extras"]["poster"]
        with av.open(str(poster)) as c:
            frame = next(c.decode(video=0)).to_ndarray(format="gray")
        assert frame.shape == (entry["height"], entry["width"])
        assert len(faces_in(frame)) >= 1  # the poster shows the face


def test_music_is_ducked_under_speech_and_cinema_keeps_speech_in_the_centre(tmp_path, speech_clip, cache_dir):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "tale.mp4").symlink_to(speech_clip)
    ff("-f", "lavfi", "-i", "sine=frequency=3000:sample_rate=48000", "-t", "4", str(tmp_path / "music.wav"))
    (tmp_path / "musikk.yml").write_text("""\
campaign: musikk
title: Musikk
language: en
clips: {tale: {source: media/tale.mp4}}
sequence:
  - clip: tale
    from: 2.5
    to: 10.5
  - card: end
cards: {end: {lines: ["Slutt"], duration: 3}}
music: {source: music.wav}
lower_thirds: false
channels: [youtube, cinema]
overrides:
  youtube: {width: 320, height: 180}
  cinema: {width: 400, height: 216}
""", encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(tmp_path / "musikk.yml"), "--no-captions", "--cache-dir",
                                       str(cache_dir)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "musikk"
    with av.open(str(out / "youtube.mp4")) as c:
        rate = c.streams.audio[0].codec_context.sample_rate
        audio = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1).mean(axis=0)
    win = rate // 10
    voice_db, music_db = [], []
    for i in range(0, len(audio) - win, win):
        spectrum = np.abs(np.fft.rfft(audio[i:i + win] * np.hanning(win))) ** 2
        freqs = np.fft.rfftfreq(win, 1 / rate)
        band = (freqs > 2900) & (freqs < 3100)
        music_db.append(10 * np.log10(spectrum[band].sum() + 1e-12))
        voice_db.append(10 * np.log10(spectrum[~band].sum() + 1e-12))
    voice_db, music_db = np.array(voice_db), np.array(music_db)
    speaking = voice_db > voice_db.max() - 15  # windows where the voice is strong
    assert speaking.sum() >= 20
    assert np.median(voice_db[speaking] - music_db[speaking]) >= 10
    card = slice(int(8.5 * 10), int(10.5 * 10))  # the end card: music alone, before the fade-out
    assert music_db[card].mean() > music_db[speaking].mean() + 3  # ducked while speaking, back up after
    with av.open(str(out / "cinema.mov")) as c:
        stream = c.streams.audio[0]
        names = [ch.name for ch in stream.codec_context.layout.channels]
        assert stream.codec_context.channels == 6 and c.streams.video[0].average_rate == Fraction(24)
        pcm = np.concatenate([f.to_ndarray().reshape(-1, 6).T.astype(float) for f in c.decode(stream)], axis=1)
    rms = dict(zip(names, np.sqrt((pcm ** 2).mean(axis=1)), strict=True))
    assert rms["FC"] > 3 * rms["FL"] and rms["FL"] > 0 and rms["LFE"] == 0
