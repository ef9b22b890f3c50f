"""Hostile inputs, second round (issue 20): pictures, card text, time values and media files.

Through the CLI as a user runs it: exit 2 at the file:line the problem was written at, in words
a producer understands with the fix, never a traceback, Pillow's warnings or pydantic's internals.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from pipeline.images import MAX_PIXELS
from tests.conftest import make_clip
from tests.test_hostile import campaign, no_traceback, run, spec_text

#: Words of pydantic's own that must never reach a user.
PYDANTIC_WORDS = ("function-before", "function-after", "input_value", "type=", "list[", "literal[", "pydantic")


@pytest.fixture(scope="module")
def anne(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("hardening-inputs") / "anne.mp4", seconds=3.0)


def line_of(spec: Path, needle: str) -> int:
    """1-based line of the first line of ``spec`` holding ``needle``."""
    return next(i for i, line in enumerate(spec.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def big_png(path: Path, width: int, height: int) -> Path:
    """A PNG of width x height one-bit pixels: a few KB on disk, gigabytes once decoded as RGBA."""
    Image.new("1", (width, height)).save(path, optimize=True)
    return path


def with_brand(tmp_path: Path, anne: Path, logo: str) -> tuple[Path, Path]:
    """A campaign whose brand file names ``logo``; returns (spec, brand file)."""
    brand = tmp_path / "brand.yml"
    brand.write_text(f"name: Test\ncolors:\n  background: '#003B5C'\nlogo:\n  file: {logo}\n  on: end\n",
                     encoding="utf-8")
    spec = campaign(tmp_path, anne, "brand: brand.yml\n" + spec_text())
    return spec, brand


# --------------------------------------------------------------------------- pictures

@pytest.mark.parametrize("make, words", [
    (lambda d: big_png(d / "big.png", 13000, 13000), ["13000 x 13000", "at most 4096 x 4096", "scale it down"]),
    (lambda d: big_png(d / "huge.png", 20000, 20000), ["400 Mpixel", "at most 4096 x 4096", "scale it down"]),
    (lambda d: (d / "logo.svg").write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
                                           'width="10" height="10"/>') and d / "logo.svg",
     ["SVG", "export it as PNG"]),
    (lambda d: (d / "renamed.png").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>") and d / "renamed.png",
     ["SVG", "export it as PNG"]),
    (lambda d: (d / "notes.png").write_text("not a picture") and d / "notes.png",
     ["not a picture a card can draw", "save the logo as PNG"]),
])
def test_a_brand_logo_that_cannot_be_drawn_is_refused_at_the_brand_files_line(tmp_path, anne, make, words):
    logo = make(tmp_path)
    spec, brand = with_brand(tmp_path, anne, logo.name)
    result = run("validate", str(spec))
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert f"brand.yml:{line_of(brand, 'file:')}:" in result.output, result.output
    assert "logo.file" in result.output and "campaign.yml" not in result.output
    assert "DecompressionBomb" not in result.output and "Image size" not in result.output
    for w in words:
        assert w in result.output, result.output


@pytest.mark.parametrize("key, pixels, words", [
    ("logo", (4097, 4096), ["4097 x 4096", "a logo may have at most"]),
    ("background", (9000, 9000), ["9000 x 9000", "a background may have at most 50 Mpixel"]),
])
def test_a_card_picture_is_judged_from_its_header_at_its_line(tmp_path, anne, key, pixels, words):
    big_png(tmp_path / "pic.png", *pixels)
    text = spec_text().replace("    duration: 1", f"    duration: 1\n    {key}: pic.png")
    spec = campaign(tmp_path, anne, text)
    result = run("validate", str(spec))
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert f"campaign.yml:{line_of(spec, key + ': pic.png')}:" in result.output
    assert f"cards.end.{key}" in result.output
    for w in words:
        assert w in result.output, result.output
    # the limits fit any real picture of the kind: a 4096 x 4096 logo and a 48 Mpixel phone photo pass
    assert MAX_PIXELS["logo"] >= 4096 * 4096 and MAX_PIXELS["background"] >= 8064 * 6048


def test_a_picture_within_the_limits_passes(tmp_path, anne):
    big_png(tmp_path / "pic.png", 4096, 4096)
    text = spec_text().replace("    duration: 1", "    duration: 1\n    logo: pic.png")
    result = run("validate", str(campaign(tmp_path, anne, text)))
    assert result.exit_code == 0, result.output
    assert "DecompressionBomb" not in result.output


# --------------------------------------------------------------------------- card text

@pytest.mark.parametrize("line, words", [
    ("A" * 10_000, ["10,000 characters, one word", "at most", "characters fit on x, web (320x180)",
                    "break the word"]),
    (" ".join(f"ord{i}" for i in range(2000))[:10_000], ["10,000 characters)", "characters fit on x, web",
                                                         "shorten it"]),
])
def test_card_text_that_cannot_be_shown_whole_is_refused_at_its_line(tmp_path, anne, line, words):
    spec = campaign(tmp_path, anne, spec_text(lines=f'["Vi trenger deg!", "{line}"]'))
    result = run("validate", str(spec))
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert f"campaign.yml:{line_of(spec, 'lines:')}:" in result.output and "cards.end.lines[1]" in result.output
    for w in words:
        assert w in result.output, result.output
    assert result.output.count("cannot be shown whole") == 1  # one problem, both channels named in it
    most = int(re.search(r"at most ([\d,]+) characters", result.output).group(1).replace(",", ""))
    # the figure is what fits: that much of the line validates, one character more does not
    for n, code in ((most, 0), (most + 1, 2)):
        shorter = campaign(tmp_path, anne, spec_text(lines=f'["Vi trenger deg!", "{line[:n].rstrip()}"]'))
        if n == most + 1 and line[:n].endswith(" "):
            continue
        assert run("validate", str(shorter)).exit_code == code, (n, code)


def test_each_channels_frame_is_named_with_what_fits_there(tmp_path, anne):
    text = spec_text(lines='["' + "B" * 3000 + '"]').replace(
        "  web: {width: 320, height: 180, poster: false}", "  web: {width: 180, height: 320, poster: false}")
    result = run("validate", str(campaign(tmp_path, anne, text)))
    assert result.exit_code == 2, result.output
    found = dict((ch, int(n.replace(",", ""))) for n, ch in
                 re.findall(r"([\d,]+)(?: characters fit)? on (x|web) \(", result.output))
    assert set(found) == {"x", "web"} and found["x"] != found["web"], result.output
    assert "(320x180)" in result.output and "(180x320)" in result.output


def test_too_many_lines_say_how_many_fit(tmp_path, anne):
    lines = "[" + ", ".join(f'"Linje {i}"' for i in range(60)) + "]"
    result = run("validate", str(campaign(tmp_path, anne, spec_text(lines=lines))))
    assert result.exit_code == 2, result.output
    assert re.search(r"the card's 60 lines cannot be shown together: at most \d+ fit on x, web", result.output)


# --------------------------------------------------------------------------- time values

BASE = spec_text()
TIME_CASES = {
    "from negative": (BASE.replace("    from: 0.5", "    from: -1"), "from:", ["-1 is negative", "from: 2.5"]),
    "from text": (BASE.replace("    from: 0.5", "    from: soon"), "from:", ["'soon' is not a time", "MM:SS"]),
    "from list": (BASE.replace("    from: 0.5", "    from: [1, 2]"), "from:", ["[1, 2] is not a time"]),
    "from clock": (BASE.replace("    from: 0.5", "    from: '01:75'"), "from:", ["is not a time"]),
    "to negative": (BASE.replace("    to: 2.0", "    to: -2"), "to:", ["-2 is negative", "to: 9.5"]),
    "to true": (BASE.replace("    to: 2.0", "    to: true"), "to:", ["true is not a time"]),
    "pad negative": (BASE.replace("    from: 0.5\n    to: 2.0", '    says: "hei"\n    pad: [-5, 100]'), "pad:",
                     ["-5 is negative", "pad: [0.2, 0.3]"]),
    "pad three": (BASE.replace("    from: 0.5\n    to: 2.0", '    says: "hei"\n    pad: [0.1, 0.2, 0.3]'), "pad:",
                  ["has 3 values", "[before, after]"]),
    "pad text": (BASE.replace("    from: 0.5\n    to: 2.0", '    says: "hei"\n    pad: lots'), "pad:",
                 ["'lots' is not a time"]),
    "card duration -1": (BASE.replace("    duration: 1", "    duration: -1"), "duration:",
                         ["-1 is negative", "more than 0", "duration: 4"]),
    "card duration 0": (BASE.replace("    duration: 1", "    duration: 0"), "duration:",
                        ["0 seconds", "more than 0"]),
    "card duration list": (BASE.replace("    duration: 1", "    duration: [4, 5]"), "duration:",
                           ["is not a time", "duration: 4"]),
    "item duration": (BASE.replace("  - card: end", "  - card: end\n    duration: -1"), "duration: -1",
                      ["-1 is negative"]),
    "fade": (BASE.replace("    duration: 1", "    duration: 1\n    fade: -0.5"), "fade:", ["-0.5 is negative"]),
    "music fade": (BASE + "music:\n  source: clips/anne.mp4\n  fade_in: x\n", "fade_in:", ["'x' is not a time"]),
    "max_duration": (BASE + "versions:\n  kort:\n    max_duration: -3\n", "max_duration:", ["-3 is negative"]),
}


@pytest.mark.parametrize("case", list(TIME_CASES))
def test_a_bad_time_is_said_in_words_at_its_line(tmp_path, anne, case):
    text, needle, words = TIME_CASES[case]
    spec = campaign(tmp_path, anne, text)
    result = run("validate", str(spec))
    no_traceback(result)
    assert result.exit_code == 2, result.output
    for internal in PYDANTIC_WORDS:
        assert internal not in result.output, result.output
    assert f"campaign.yml:{line_of(spec, needle)}:" in result.output, result.output
    assert "start of the clip" not in result.output or needle in ("from:", "to:")
    for w in words:
        assert w in result.output, result.output
    assert result.output.count("campaign.yml:") == 1, result.output  # one problem, not one per form


@pytest.mark.parametrize("text, words", [
    (BASE.replace("    person: Anne Hansen", "    person: Anne Hansen\n    focus: middle"),
     ["'middle' is not a framing", "left, centre, right"]),
    (BASE.replace("    person: Anne Hansen", "    person: Anne Hansen\n    audio: {highpass: loud}"),
     ["'loud' is not a highpass setting", "20 to"]),
])
def test_values_of_several_forms_say_what_they_take(tmp_path, anne, text, words):
    result = run("validate", str(campaign(tmp_path, anne, text)))
    assert result.exit_code == 2, result.output
    for internal in PYDANTIC_WORDS:
        assert internal not in result.output, result.output
    for w in words:
        assert w in result.output, result.output


# --------------------------------------------------------------------------- media files

@pytest.fixture(scope="module")
def not_videos(tmp_path_factory, anne) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("not-videos")
    png = root / "picture.mp4"
    Image.new("RGB", (64, 64), "red").save(png, format="PNG")
    text = root / "notes.mp4"
    text.write_text("this is not a video")
    sound = root / "sound.mp4"
    from tests.conftest import ff

    ff("-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", "-f", "mp4", str(sound))
    return {"picture": png, "text": text, "sound": sound}


@pytest.mark.parametrize("kind, words", [
    ("picture", ["is not a video file", "still picture (PNG)", "a picture belongs on a card"]),
    ("text", ["is not a video file", "not a media file"]),
    ("sound", ["is not a video file", "sound only"]),
])
def test_a_clip_that_is_not_a_video_is_said_so(tmp_path, anne, not_videos, kind, words):
    spec = campaign(tmp_path, anne, clip=not_videos[kind])
    result = run("validate", str(spec))
    no_traceback(result)
    assert result.exit_code == 2, result.output
    assert f"campaign.yml:{line_of(spec, 'source:')}:" in result.output and "clips.anne.source" in result.output
    assert "MP4 or MOV" in result.output  # what to do
    assert "0.000 s" not in result.output and "inside the clip" not in result.output
    for w in words:
        assert w in result.output, result.output


def test_a_music_bed_that_is_not_sound_is_said_so(tmp_path, anne, not_videos):
    shutil.copy(not_videos["picture"], tmp_path / "music.mp3")
    spec = campaign(tmp_path, anne, BASE + "music:\n  source: music.mp3\n")
    result = run("validate", str(spec))
    assert result.exit_code == 2, result.output
    assert f"campaign.yml:{line_of(spec, 'source: music')}:" in result.output
    assert "is not a sound file" in result.output and "WAV, FLAC, MP3" in result.output


def test_card_fits_are_remembered_and_laid_out_again_when_the_logo_changes(tmp_path, anne, monkeypatch):
    """An unchanged load reads each card's fit from the cache (issue 25); a logo file changed in place (same
    name, another shape) is a new layout, so the cards are laid out again, and a card that no longer fits is
    refused."""
    import pipeline.textcheck as textcheck
    from pipeline.errors import SpecError
    from pipeline.load import load_campaign

    Image.new("RGBA", (400, 40), (255, 255, 255, 255)).save(tmp_path / "logo.png")
    spec, _ = with_brand(tmp_path, anne, "logo.png")
    laid_out = []
    real = textcheck.text_fit
    monkeypatch.setattr(textcheck, "text_fit", lambda *a: laid_out.append(a[2].name) or real(*a))
    cache_dir = tmp_path / "cache"
    load_campaign(spec, cache_dir=cache_dir)
    first = sorted(laid_out)
    assert first, "nothing was laid out"
    laid_out.clear()
    load_campaign(spec, cache_dir=cache_dir)
    assert laid_out == [], "an unchanged campaign laid its cards out again"
    Image.new("RGBA", (40, 400), (255, 255, 255, 255)).save(tmp_path / "logo.png")
    load_campaign(spec, cache_dir=cache_dir)
    assert sorted(laid_out) == first
    # the same name, more text than fits: refused although a fit of this card was remembered before
    long = spec.read_text(encoding="utf-8").replace('["Vi trenger deg!"]', '["Vi trenger deg!", "' + "B" * 3000 + '"]')
    spec.write_text(long, encoding="utf-8")
    with pytest.raises(SpecError, match="cannot be shown whole"):
        load_campaign(spec, cache_dir=cache_dir)
