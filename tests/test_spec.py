"""Spec validation: every kind of bad input gets file:line:column, the key path, a hint, and exit 2."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from pipeline.errors import SpecError
from pipeline.load import load_campaign
from tests.conftest import make_clip

GOOD = """\
campaign: test-kampanje
title: Bli sykepleier
language: no
clips:
  anne:
    source: clips/anne.mp4
    person: Anne Hansen
    role: Sykepleier
sequence:
  - clip: anne
    from: 0.5
    to: "00:02.000"
  - card: end
cards:
  end:
    lines: ["Vi trenger deg!"]
    duration: 2
channels: [youtube, tiktok]
output: out
"""


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("spec-media") / "anne.mp4", seconds=3.0)


def write_spec(tmp_path: Path, clip: Path, text: str = GOOD) -> Path:
    (tmp_path / "clips").mkdir(exist_ok=True)
    target = tmp_path / "clips" / "anne.mp4"
    if not target.exists():
        target.symlink_to(clip)
    spec = tmp_path / "campaign.yml"
    spec.write_text(text, encoding="utf-8")
    return spec


def validate(spec: Path):
    return CliRunner().invoke(main, ["validate", str(spec)])


def test_good_spec_loads_typed(tmp_path, clip):
    campaign = load_campaign(write_spec(tmp_path, clip))
    assert campaign.spec.language == "no"  # not False: YAML 1.2 booleans only
    item = campaign.spec.sequence[0]
    assert item.start == Fraction(1, 2)
    assert str(item.end) == "2"
    assert campaign.media["anne"].width == 320
    assert validate(write_spec(tmp_path, clip)).exit_code == 0


@pytest.mark.parametrize("edit, where, words", [
    (("    person: Anne Hansen", "    persn: Anne Hansen"), ":7:5:", ["clips.anne.persn", "unknown key 'persn'",
                                                                    "did you mean 'person'"]),
    (("  - card: end", "  - card: ending"), ":13:11:", ["sequence[1].card", "unknown card 'ending'",
                                                       "did you mean 'end'"]),
    (("  - clip: anne", "  - clip: ane"), ":10:11:", ["sequence[0].clip", "unknown clip 'ane'"]),
    (("channels: [youtube, tiktok]", "channels: [youtube, tiktokk]"), ":18:21:",
     ["channels[1]", "unknown channel 'tiktokk'", "did you mean 'tiktok'"]),
    (('    to: "00:02.000"', "    to: 0.2"), ":12:9:", ["sequence[0].to", "must be after 'from'"]),
    (('    to: "00:02.000"', "    to: 30"), ":12:9:", ["past the end of clip 'anne'", "3.0"]),
    (("    from: 0.5", "    from: half"), ":11:11:", ["sequence[0].from", "is not a time"]),
    (("    duration: 2", "    duration: [2]"), ":17:15:", ["cards.end.duration"]),
    (("campaign: test-kampanje", "campaign: Test Kampanje"), ":1:11:", ["campaign", "lowercase"]),
    (("    source: clips/anne.mp4", "    source: clips/nobody.mp4"), ":6:13:",
     ["clips.anne.source", "file not found", "relative to the spec file"]),
    (("title: Bli sykepleier\n", ""), ":1:1:", ["title", "this key is required"]),
])
def test_bad_specs_are_located_and_explained(tmp_path, clip, edit, where, words):
    old, new = edit
    assert old in GOOD
    spec = write_spec(tmp_path, clip, GOOD.replace(old, new))
    result = validate(spec)
    assert result.exit_code == 2, result.output
    message = result.output
    assert f"{spec}{where}" in message
    for word in words:
        assert word in message


def test_unreadable_media_is_an_input_error(tmp_path, clip):
    spec = write_spec(tmp_path, clip)
    (tmp_path / "clips" / "anne.mp4").unlink()
    (tmp_path / "clips" / "anne.mp4").write_text("not a video")
    result = validate(spec)
    assert result.exit_code == 2
    assert "clips.anne.source" in result.output and "is not a video file" in result.output


def test_yaml_syntax_error_names_line(tmp_path, clip):
    spec = write_spec(tmp_path, clip, GOOD.replace("title: Bli sykepleier", "title: [Bli sykepleier"))
    result = validate(spec)
    assert result.exit_code == 2
    assert "YAML syntax error" in result.output and f"{spec}:" in result.output


def test_all_problems_reported_together(tmp_path, clip):
    text = GOOD.replace("  - clip: anne", "  - clip: ane").replace("[youtube, tiktok]", "[yotube]")
    with pytest.raises(SpecError) as info:
        load_campaign(write_spec(tmp_path, clip, text))
    assert len(info.value.problems) == 2


def test_render_of_bad_spec_writes_nothing(tmp_path, clip):
    spec = write_spec(tmp_path, clip, GOOD.replace("[youtube, tiktok]", "[youtube, tiktokk]"))
    result = CliRunner().invoke(main, ["render", str(spec)])
    assert result.exit_code == 2
    assert "nothing was rendered" in result.output
    assert not (tmp_path / "out").exists()


def test_schema_is_json_schema_with_channels(tmp_path):
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert "campaign" in schema["required"] and "sequence" in schema["required"]
    assert "tiktok" in schema["properties"]["channels"]["items"]["enum"]
    assert schema["additionalProperties"] is False


def test_committed_schema_is_current():
    root = Path(__file__).resolve().parent.parent
    result = CliRunner().invoke(main, ["schema"])
    assert json.loads((root / "campaign.schema.json").read_text(encoding="utf-8")) == json.loads(result.output), \
        "run: python cli.py schema -o campaign.schema.json"


def test_example_campaign_is_valid():
    root = Path(__file__).resolve().parent.parent
    result = CliRunner().invoke(main, ["validate", str(root / "campaigns" / "fjordvik-2026.yml")])
    assert result.exit_code == 0, result.output


def test_a_shorter_cut_is_chosen_where_the_spec_allows(tmp_path, clip):
    from pipeline.timeline import build_timeline

    text = GOOD.replace("    duration: 2\n", "    duration: 150\n").replace("[youtube, tiktok]", "[youtube, x]")
    text = text.replace("  - card: end\n", "  - card: end\n    optional: true\n  - clip: anne\n    to: 1\n")
    text += "overrides:\n  x: {shorten: true}\n"
    campaign = load_campaign(write_spec(tmp_path, clip, text))
    assert [getattr(i, "card", None) for i in campaign.sequence_for("x")] == [None, None]  # the long card left out
    assert len(campaign.sequence_for("youtube")) == 3
    assert build_timeline(campaign, Fraction(25), "x").duration < 140
    assert build_timeline(campaign, Fraction(25), "youtube").duration > 140


def test_channel_length_limit_fails_validation_for_that_channel_only(tmp_path, clip):
    text = GOOD.replace("    duration: 2\n", "    duration: 150\n").replace("[youtube, tiktok]", "[youtube, x]")
    result = validate(write_spec(tmp_path, clip, text))
    assert result.exit_code == 2
    assert "channels[1]" in result.output and "X takes at most 140 s" in result.output
    assert "channels[0]" not in result.output  # youtube takes 15 minutes


def test_channel_overrides_are_the_presets_own_fields():
    """ChannelOverride is built from channels.OVERRIDABLE and the preset's field types: one list, no drift."""
    import dataclasses

    from pipeline.channels import OVERRIDABLE, Preset, get_preset
    from pipeline.spec import ChannelOverride

    preset_fields = {f.name for f in dataclasses.fields(Preset)}
    assert set(OVERRIDABLE) <= preset_fields
    assert list(ChannelOverride.model_fields) == list(OVERRIDABLE)
    youtube = get_preset("youtube")
    for name in OVERRIDABLE:  # the preset's own value is a valid override of it
        value = getattr(youtube, name)
        value = float(value) if name == "fps" and value is not None else value
        if value is not None:
            assert getattr(ChannelOverride.model_validate({name: value}), name) is not None, name
    with pytest.raises(Exception, match="crf"):
        ChannelOverride.model_validate({"crf": 99})
