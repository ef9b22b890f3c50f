"""The brand kit: one file of colours, fonts, logo and caption look, shared by campaigns.

Checked like a spec (file:line:column of the brand file, did-you-mean, exit 2, nothing written),
and a change to it re-renders exactly the outputs whose pictures change.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from pipeline.load import load_campaign
from tests.conftest import ROOT, make_clip

SPEC = """\
campaign: merke
title: Merke
language: en
brand: brand/kit.yml
clips:
  jfk: {{source: jfk.mp4, person: John Kennedy, role: President}}
cards:
  end: {{lines: ["Vi trenger deg"], duration: 1}}
  intro: {{lines: ["Hei"], duration: 1, background: "#123456"}}
sequence:
  - card: intro
  - clip: jfk
    from: 0.3
    to: 4
  - card: end
channels: [instagram-reels, youtube]
overrides:
  instagram-reels: {{width: 360, height: 640, poster: false}}
  youtube: {{width: 320, height: 180, poster: false}}
audio: off
{extra}"""

BRAND = """\
# the municipality's profile
name: Merkeby
colors: {{background: "#224466", text: "#FFFFFF", accent: "{accent}"}}
logo: {{file: logo.png, on: end}}
captions: {{social: {social}}}
"""


def write(tmp_path: Path, brand: str, extra: str = "") -> Path:
    (tmp_path / "brand").mkdir(exist_ok=True)
    (tmp_path / "brand" / "kit.yml").write_text(brand, encoding="utf-8")
    from PIL import Image

    Image.new("RGBA", (64, 32), (255, 255, 255, 255)).save(tmp_path / "brand" / "logo.png")
    spec = tmp_path / "c.yml"
    spec.write_text(SPEC.format(extra=extra), encoding="utf-8")
    return spec


def test_the_brand_fills_what_the_spec_leaves_out(tmp_path):
    make_clip(tmp_path / "jfk.mp4", seconds=4.5)
    campaign = load_campaign(write(tmp_path, BRAND.format(accent="#FF8800", social="highlight")), check_media=False)
    end, intro = campaign.spec.cards["end"], campaign.spec.cards["intro"]
    assert (end.background, end.color) == ("#224466", "#FFFFFF")
    assert end.logo == (tmp_path / "brand" / "logo.png").resolve()  # the last card of the sequence
    assert intro.background == "#123456" and intro.logo is None  # the card's own value wins
    assert campaign.preset("instagram-reels").caption_style == "highlight"  # social channels take the brand's
    assert campaign.preset("youtube").caption_style == "standard"


def test_a_brand_of_comments_only_is_the_defaults(tmp_path):
    make_clip(tmp_path / "jfk.mp4", seconds=4.5)
    campaign = load_campaign(write(tmp_path, "# nothing decided yet\n"), check_media=False)
    assert campaign.spec.cards["end"].background == "#003B5C"
    assert campaign.preset("instagram-reels").caption_style == "social"


@pytest.mark.parametrize("brand, line, words", [
    ('colors: {background: "#224466", txet: "#FFFFFF"}\n', 1, ["unknown key 'txet'", "did you mean 'text'"]),
    ('colors:\n  accent: orange\n', 2, ["not a colour", "#RRGGBB"]),
    ('fonts:\n  bold: fonts/Missing.ttf\n', 2, ["font file not found"]),
    ('fonts:\n  bold: logo.png\n', 2, ["not a font file"]),
    ('colors:\n  text: "#003B5C"\n', 2, ["contrast", "4.5:1"]),
    ('captions: {social: karaoke}\n', 1, ["social", "highlight"]),
])
def test_bad_brand_files_are_bad_input(tmp_path, brand, line, words):
    make_clip(tmp_path / "jfk.mp4", seconds=4.5)
    spec = write(tmp_path, brand)
    result = CliRunner().invoke(main, ["render", str(spec)])
    assert result.exit_code == 2, result.output
    assert f"kit.yml:{line}:" in result.output, result.output
    for w in words:
        assert w in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_a_missing_brand_file_points_at_the_spec(tmp_path):
    make_clip(tmp_path / "jfk.mp4", seconds=4.5)
    spec = write(tmp_path, "")
    (tmp_path / "brand" / "kit.yml").unlink()
    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 2 and "c.yml:4:" in result.output and "brand file not found" in result.output


@pytest.mark.slow
def test_a_brand_change_re_renders_exactly_the_outputs_it_changes(tmp_path, speech_clip, cache_dir, model_dir):
    (tmp_path / "jfk.mp4").symlink_to(speech_clip)
    spec = write(tmp_path, BRAND.format(accent="#FF8800", social="social"))

    def render() -> dict[str, str]:
        result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir)])
        assert result.exit_code == 0, result.output
        manifest = json.loads((tmp_path / "out" / "merke" / "manifest.json").read_text(encoding="utf-8"))
        return {o["channel"]: o["sha256"] for o in manifest["outputs"]}

    first = render()
    kit = tmp_path / "brand" / "kit.yml"
    kit.write_text(kit.read_text(encoding="utf-8").replace("name: Merkeby", "name: Merkebyen"), encoding="utf-8")
    assert render() == first  # the brand's name is drawn nowhere: nothing is made again
    kit.write_text(kit.read_text(encoding="utf-8").replace("social: social", "social: highlight"), encoding="utf-8")
    second = render()
    assert second["youtube"] == first["youtube"] and second["instagram-reels"] != first["instagram-reels"]
    # a font file of the brand (same name, other content) changes every picture with text
    fonts = tmp_path / "brand" / "fonts"
    fonts.mkdir()
    from pipeline.fonts import packaged_font

    (fonts / "Brand.ttf").write_bytes(Path(packaged_font(True)).read_bytes())
    kit.write_text(kit.read_text(encoding="utf-8") + "fonts: {bold: fonts/Brand.ttf}\n", encoding="utf-8")
    third = render()
    assert third == second  # the same font by content: the same pictures
    (fonts / "Brand.ttf").write_bytes((ROOT / "brand" / "fonts" / "SourceSansPro-Semibold.ttf").read_bytes())
    fourth = render()
    assert fourth["youtube"] != third["youtube"] and fourth["instagram-reels"] != third["instagram-reels"]


def test_the_examples_share_one_brand():
    a = load_campaign(ROOT / "campaigns" / "fjordvik-2026.yml", check_media=False)
    b = load_campaign(ROOT / "campaigns" / "fjordvik-sommer.yml", check_media=False)
    assert a.brand.path == b.brand.path == (ROOT / "brand" / "fjordvik.yml").resolve()
    assert a.brand.typeface.bold.endswith("SourceSansPro-Semibold.ttf")
    assert a.spec.cards["end"].logo == b.spec.cards["end"].logo == (ROOT / "assets" / "logo.png").resolve()
    assert a.preset("tiktok").caption_style == "highlight" and a.preset("instagram-reels").caption_style == "social"
