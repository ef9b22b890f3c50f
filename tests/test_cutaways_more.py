"""Cutaways, continued (issue 26): in the edit for editors, the paper edit and the review page, captions
off the cutaway's faces, the L-cut on a rendered output, consent of a library cutaway's people, and
synstolking of a cutaway.

Real speech (jfk.flac with the pinned reference transcript's word times) and real footage (a pan over
scikit-image's coffee photograph, or the astronaut's face), as in tests/test_cutaways.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.ffmpeg import ffmpeg_exe
from tests.conftest import best_alignment, jfk_reference, mono16k
from tests.test_cutaways import CUTAWAY, run, words, work_clip, write  # noqa: F401 (work_clip: a fixture)

RATE = 25


def _edit(spec, cache):
    """(timeline, the second item's segment) of the spec's edit as its first channel plays it."""
    from pipeline.campaign import OutputKey
    from pipeline.job import output_spec
    from pipeline.load import load_campaign

    campaign = load_campaign(spec, cache_dir=cache)
    job = output_spec(campaign, OutputKey(None, campaign.spec.channels[0]))
    return job.timeline, job.timeline.segments[1]


@pytest.mark.parametrize("fmt", ["otio", "fcpxml", "xml", "edl"])
def test_the_edit_for_editors_has_the_cutaway_on_a_second_video_track(tmp_path, speech_clip, work_clip,
                                                                      pinned_cache, fmt):
    import opentimelineio as otio

    from pipeline.interchange import FORMATS, read

    spec = write(tmp_path, speech_clip, work_clip, CUTAWAY.format(sound=-18))
    from pipeline.cutaway import placed

    timeline, seg = _edit(spec, pinned_cache)
    path = tmp_path / f"edit.{FORMATS[fmt][1]}"
    result = run("export", str(spec), "-f", fmt, "-o", str(path), "--cache-dir", str(pinned_cache))
    assert result.exit_code == 0, result.output
    # where the cutaway must be, from the words it covers (the pinned transcript) and the cut's place
    first, last = words("what", "your", "country")
    rec_in = float(seg.start) + int((first - float(seg.source_in)) * RATE) / RATE
    rec_out = float(seg.start) + -(-(last - float(seg.source_in)) * RATE // 1) / RATE
    frame = 1 / RATE
    back = read(path, fmt, Fraction(RATE))
    if fmt == "edl":  # one video track: the cutaway is a note on the event it lies over
        events = [c for c in back.tracks[0].find_clips()]
        notes = [(c, n) for c in events for n in c.metadata.get("cmx_3600", {}).get("comments", [])
                 if n.startswith("CUTAWAY")]
        assert len(notes) == 1, [c.metadata for c in events]
        host, note = notes[0]
        assert host.range_in_parent().start_time.to_seconds() == pytest.approx(float(seg.start), abs=frame / 2)
        parts = note.split()
        assert parts[:3] == ["CUTAWAY", "V2", "work"] and parts[3] == "SRC" and parts[6] == "REC", note
        tc = [otio.opentime.from_timecode(t, RATE).to_seconds() for t in (parts[4], parts[5], parts[7], parts[8])]
        assert tc[0] == pytest.approx(1.0, abs=frame / 2)  # from: 1.0 in the cutaway's clip
        assert abs(tc[2] - rec_in) <= frame + 1e-6 and abs(tc[3] - rec_out) <= frame + 1e-6, (tc, rec_in, rec_out)
        assert tc[1] - tc[0] == pytest.approx(tc[3] - tc[2], abs=1e-6)
        assert parts[9] == "FILE" and parts[10].endswith("work.mp4")
        return
    videos = [t for t in back.tracks if t.kind == otio.schema.TrackKind.Video]
    assert len(videos) == 2, [t.name for t in back.tracks]
    clips = list(videos[1].find_clips())
    assert [c.name for c in clips] == ["work"]
    clip = clips[0]
    got = clip.range_in_parent()
    start, end = got.start_time.to_seconds(), got.end_time_exclusive().to_seconds()
    assert abs(start - rec_in) <= frame + 1e-6 and abs(end - rec_out) <= frame + 1e-6, (start, end, rec_in, rec_out)
    assert clip.source_range.start_time.to_seconds() == pytest.approx(1.0, abs=frame / 2)
    assert clip.source_range.duration.to_seconds() == pytest.approx(end - start, abs=frame / 2 + 1e-6)
    assert clip.media_reference.target_url.endswith("work.mp4")
    # the speaker's track is whole under it: the cut it covers is still there, its picture and sound
    assert [c.name for c in videos[0].find_clips() if not c.name.startswith("card")] == ["jfk", "jfk"]
    if fmt == "fcpxml":
        # the file itself is exact: a connected clip's offset is in its parent's time (the reader rounds
        # down as the adapter's writer did, so reading back alone would not show a frame's error)
        import xml.etree.ElementTree as ET

        root = ET.parse(path).getroot()
        parent = next(e for e in root.iter("clip") if any(c.get("lane") for c in e))
        lane = next(c for c in parent if c.get("lane"))
        sec = [Fraction((v or "0s").rstrip("s")) for v in (parent.get("offset"), parent.get("start"),
                                                            lane.get("offset"), lane.get("duration"))]
        decided = placed(timeline)[0]  # where the pipeline put it, on the frame grid
        assert sec[0] + sec[2] - sec[1] == decided.record_in, (sec, decided)
        assert sec[3] == decided.cutaway.duration(timeline.rate)
    if fmt == "otio":
        assert clip.metadata["rekrutt"]["cutaway"] is True and clip.metadata["rekrutt"]["over"] == "jfk"
        assert [t.name for t in back.tracks] == ["V1", "V2", "A1"]


def test_an_edit_without_cutaways_has_one_video_track(tmp_path, speech_clip, work_clip, pinned_cache):
    import opentimelineio as otio

    from pipeline.interchange import read

    spec = write(tmp_path, speech_clip, work_clip, "")
    path = tmp_path / "edit.otio"
    result = run("export", str(spec), "-f", "otio", "-o", str(path), "--cache-dir", str(pinned_cache))
    assert result.exit_code == 0, result.output
    back = read(path, "otio")
    assert [t.kind for t in back.tracks] == [otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio]


# --------------------------------------------------------------------------- one render: an L-cut, a cutaway
# of a real face low in its frame, burned captions

FACE_SPEC = """\
campaign: tale
title: Tale
language: en
clips:
  jfk:
    source: media/jfk.mp4
    person: John Kennedy
  face:
    source: media/face.mp4
sequence:
  - clip: jfk
    from: 0
    to: 2.3
  - clip: jfk
    says: "ask not what your country can do for you"
    tail: 0.4
    cutaways:
      - clip: face
        during: "what your country"
        sound: off
  - card: end
cards:
  end:
    lines: ["Ask"]
    duration: 1
subtitles: {burn_in: always}
lower_thirds: false
channels: [web]
overrides:
  web: {width: 320, height: 180, poster: false, captions: burn}
output: out
"""


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory) -> Path:
    """6 s, 16:9: a real face (scikit-image's astronaut) low in the frame, where captions usually go."""
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    from tests.conftest import ff

    root = tmp_path_factory.mktemp("face")
    Image.fromarray(data.astronaut()).resize((600, 600)).save(root / "face.png")
    path = root / "face.mp4"
    ff("-f", "lavfi", "-i", "color=c=0x404850:s=1280x720:r=25:d=6", "-loop", "1", "-i", str(root / "face.png"),
       "-filter_complex", "[0:v][1:v]overlay=x=340:y=330:shortest=1,format=yuv420p[v]",
       "-map", "[v]", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", str(path))
    return path


@pytest.fixture(scope="module")
def face_render(tmp_path_factory, speech_clip, face_clip, cache_dir, model_dir):
    """(spec, film, the manifest's items, cache) of the edit above, rendered (the pinned transcript)."""
    from pipeline.transcribe import Transcriber
    from tests.conftest import fresh_cache_with_model, pinned_run, pinned_transcript

    mp = pytest.MonkeyPatch()
    mp.setattr(Transcriber, "_run", pinned_run(speech_clip, pinned_transcript))
    cache = fresh_cache_with_model(tmp_path_factory.mktemp("pinned") / "cache", cache_dir)
    root = tmp_path_factory.mktemp("lcut")
    (root / "media").mkdir()
    (root / "media" / "jfk.mp4").symlink_to(speech_clip)
    (root / "media" / "face.mp4").symlink_to(face_clip)
    spec = root / "campaign.yml"
    spec.write_text(FACE_SPEC, encoding="utf-8")
    result = run("render", str(spec), "--cache-dir", str(cache))
    assert result.exit_code == 0, result.output
    manifest = json.loads((root / "out" / "tale" / "manifest.json").read_text(encoding="utf-8"))
    yield spec, root / "out" / "tale" / "web.mp4", manifest["outputs"][0]["items"], cache
    mp.undo()


def grey(path: Path, start: float = 0.0, count: int | None = None, size=(160, 90)) -> np.ndarray:
    """Frames of a video from ``start``, grey, ``size``."""
    args = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-ss", f"{start:.3f}"]
    if count is not None:
        args += ["-frames:v", str(count)]
    w, h = size
    raw = subprocess.run([*args, "-vf", f"fps={RATE},scale={w}:{h},format=gray", "-f", "rawvideo", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w).astype(np.float32)


def test_captions_go_off_the_face_in_the_cutaways_picture(face_render, face_clip, speech_clip):
    """Under the cutaway the burned caption leaves the astronaut's face (low in the frame) and goes to the top;
    on the speaker's own picture (no face) it stays at the bottom."""
    _, film, items, _ = face_render
    cut = items[1]["cutaways"][0]
    shown = grey(film)
    still = grey(face_clip, 1.0, 1)[0]  # the cutaway's picture (a still face), as the film frames it (16:9 both)
    h = still.shape[0]
    top, bottom = slice(0, h // 4), slice(3 * h // 4, h)
    first, n = round(cut["at"] * RATE), round(cut["duration"] * RATE)
    under = [shown[i] for i in range(first + 3, first + n - 3)]
    assert under, cut
    # what differs from the cutaway's own picture is the caption: at the top, none at the bottom (the face)
    top_diff = [np.abs(f[top] - still[top]).mean() for f in under]
    bottom_diff = [np.abs(f[bottom] - still[bottom]).mean() for f in under]
    assert min(top_diff) > 4 * max(max(bottom_diff), 0.5), (top_diff, bottom_diff)
    # over the speaker's own picture (no face) a caption is at the bottom, its usual place: the first cut's
    # (the second cut's one caption stays where it is for the whole cue, which the cutaway is part of)
    shots = range(36, 46)  # "And so my fellow Americans," before the L-cut's picture change
    own = grey(speech_clip, shots[0] / RATE, len(shots))
    top_diff = [np.abs(shown[i][top] - own[k][top]).mean() for k, i in enumerate(shots)]
    bottom_diff = [np.abs(shown[i][bottom] - own[k][bottom]).mean() for k, i in enumerate(shots)]
    assert min(bottom_diff) > 4 * max(max(top_diff), 0.5), (top_diff, bottom_diff)


def test_an_l_cut_starts_the_pictures_cut_before_the_sounds(face_render, speech_clip, jfk, tmp_path):
    """tail: 0.4 at 25 fps: the second cut's picture comes 10 frames before its sound; the sound's cut stays."""
    _, film, items, _ = face_render
    first, second = items[0], items[1]
    assert second["picture_shift"] == pytest.approx(-0.4)
    n1 = round(second["at"] * RATE)  # where the second cut's sound starts
    tail = 10
    mid = slice(30, 60)  # the middle band of a 90-row frame: no caption there
    shown = grey(film, 0, n1 + 12)
    a = grey(speech_clip, first["from"], n1 + 12)
    b = grey(speech_clip, second["from"] - tail / RATE, 30)
    kinds = []
    for i in range(n1 - 20, n1 + 10):
        da = np.abs(shown[i][mid] - a[i][mid]).mean()
        db = np.abs(shown[i][mid] - b[i - (n1 - tail)][mid]).mean() if i >= n1 - tail else 1e9
        assert min(da, db) < 12, (i, da, db)
        kinds.append("a" if da < db else "b")
    picture_cut = n1 - 20 + kinds.index("b")
    assert picture_cut == n1 - tail, (picture_cut, n1, kinds)
    assert set(kinds[kinds.index("b"):]) == {"b"}
    # the sound's cut did not move: the second cut's first word ("ask") starts where its sound starts
    film_sound, source = mono16k(film, tmp_path), mono16k(jfk, tmp_path)
    before_ask = jfk_reference()["silences"][0][1]
    lag, ncc = best_alignment(film_sound, source, second["at"] + before_ask - second["from"], before_ask, 0.4)
    assert abs(lag) <= 0.005 and ncc >= 0.6, (lag, ncc)


@pytest.mark.parametrize("fmt", ["md", "text"])
def test_the_paper_edit_says_where_each_cutaway_sits(face_render, fmt):
    spec, _, items, cache = face_render
    result = run("transcripts", "show", str(spec), "--cache-dir", str(cache), "-f", fmt, "--clip", "jfk")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = [i for i, ln in enumerate(lines) if "cutaway" in ln]
    assert len(at) == 1, result.output
    line = lines[at[0]]
    assert "ask not what your country" in lines[at[0] - 1]  # under the sentence it covers
    first, last = words("what", "your", "country")
    from pipeline.timecode import short_clock

    assert f"{short_clock(Fraction(first).limit_denominator(1000))}–" in line, (line, first)
    assert '"what your country"' in line and "face" in line and "sound off" in line and "[main]" in line


def test_the_review_page_lists_each_cutaway(face_render, tmp_path):
    from tests.test_review import Page, chromium_path

    if chromium_path() is None:
        pytest.skip("no Chromium: apt-get install chromium-headless-shell")
    from playwright.sync_api import sync_playwright

    spec, _, items, _ = face_render
    index = spec.parent / "out" / "tale" / "index.html"
    cut = items[1]["cutaways"][0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        view = Page(browser, index)
        try:
            page = view.page
            assert not view.errors, view.errors
            rows = page.evaluate("""[...document.querySelectorAll('.cutaways li')].map(li => ({
                clip: li.dataset.clip, at: Number(li.dataset.at), text: li.textContent}))""")
            assert len(rows) == 1, rows
            assert rows[0]["clip"] == "face" and rows[0]["at"] == pytest.approx(cut["at"])
            assert "what your country" in rows[0]["text"] and "jfk" in rows[0]["text"]
            # the spec's language is en: the page is in English (one language a page)
            assert page.evaluate("document.querySelector('.cutaways-panel h4').textContent") == "Cutaways"
            page.click(".cutaways li button")
            t = page.evaluate("document.querySelector('video:not(.described)').currentTime")
            assert t == pytest.approx(cut["at"], abs=0.05)
            page.locator(".cutaways-panel").screenshot(path=str(tmp_path / "cutaways.png"))
        finally:
            view.close()
            browser.close()


# --------------------------------------------------------------------------- consent of a cutaway's people

CONSENT_CAMPAIGN = """\
campaign: samtykke
title: Samtykke
language: en
library: ../library
subtitles: {enabled: false}
clips:
  a: {library: anne}
  b: {library: ola}
sequence:
  - clip: a
    to: 1.8
    cutaways:
      - clip: b
        at: 0.2
        for: 1.0
  - card: end
cards:
  end:
    lines: ["Vi trenger deg!"]
    duration: 2
channels: [web, tiktok]
overrides:
  web: {width: 320, height: 180, poster: false}
  tiktok: {width: 180, height: 320, poster: false}
output: ../out
"""


@pytest.mark.parametrize("given, words", [
    ({"channels": ["web"]}, ["does not cover tiktok"]),
    ({"expires": -1}, ["expired on"]),
])
def test_consent_of_a_library_cutaways_people_is_checked_for_every_channel(tmp_path, given, words):
    """Ola is only in a cutaway over Anne's words: his consent is checked as if he spoke, for each channel."""
    import datetime as dt

    from tests.conftest import make_clip
    from tests.test_hardening_consent import consent, set_consent

    today = dt.date.today()
    clips = tmp_path / "clips"
    clips.mkdir()
    make_clip(clips / "anne.mp4", seconds=2.0)
    make_clip(clips / "ola.mp4", seconds=2.0)
    library = tmp_path / "library"
    library.mkdir()
    ola = consent(channels=given.get("channels", ("all",)),
                  **({"expires": today + dt.timedelta(days=given["expires"])} if "expires" in given else {}))
    for cid, person, c in (("anne", "Anne Hansen", consent()), ("ola", "Ola Nordmann", ola)):
        (library / f"{cid}.mp4").symlink_to(clips / f"{cid}.mp4")
        (library / f"{cid}.yml").write_text(yaml.safe_dump({"person": person, "language": "en", "consent": c}),
                                            encoding="utf-8")
    (tmp_path / "campaigns").mkdir()
    spec = tmp_path / "campaigns" / "samtykke.yml"
    spec.write_text(CONSENT_CAMPAIGN, encoding="utf-8")
    for command in (["validate", str(spec)], ["render", str(spec), "--cache-dir", str(tmp_path / "cache")]):
        result = run(*command)
        assert result.exit_code == 2, (command, result.output)
        assert re.search(r"samtykke\.yml:\d+:\d+: ", result.output) and "clips.b.library" in result.output, \
            result.output
        assert "Ola Nordmann" in result.output and "tiktok" in result.output, result.output
        for w in words:
            assert w in result.output, (command, w, result.output)
        assert "Traceback" not in result.output
        assert not (tmp_path / "out").exists()
    # the refusal is the consent's: with it holding everywhere the same spec is valid
    set_consent(spec, consent())
    result = run("validate", str(spec))
    assert result.exit_code == 0, result.output
