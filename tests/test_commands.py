"""The ffmpeg commands as data: what a plan turns into, without running ffmpeg."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.cache import Cache
from pipeline.channels import PRESETS
from pipeline.ffmpeg import FfmpegCommand
from pipeline.job import OutputSpec
from pipeline.load import load_campaign
from pipeline.outplan import plan_output
from pipeline.render import measure_command, render_command, video_kbps_cap
from pipeline.timeline import build_timeline
from tests.test_spec import write_spec


def plan_for(campaign, preset, rate, tmp_path):
    """The real plan of an output (nothing rendered)."""
    timeline = build_timeline(campaign, Fraction(rate))
    plan, _ = plan_output(OutputSpec(campaign, preset, tuple(campaign.spec.sequence), timeline), tmp_path,
                          cache=Cache(tmp_path / "cache"))
    return plan


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    from tests.conftest import make_clip

    root = tmp_path_factory.mktemp("cmd")
    clip = make_clip(root / "src.mp4", seconds=3.0)
    return load_campaign(write_spec(root, clip))


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_x264_output_options(campaign, tmp_path):
    plan = plan_for(campaign, campaign.preset("youtube"), 25, tmp_path)
    cmd = render_command(plan, tmp_path / "o.mp4", None)
    a = cmd.args
    assert option(a, "-c:v") == "libx264" and option(a, "-preset") == "veryfast" and option(a, "-crf") == "21"
    assert option(a, "-g") == "13" and option(a, "-keyint_min") == "13" and option(a, "-flags") == "+cgop"
    assert option(a, "-c:a") == "aac" and option(a, "-ar") == "48000" and option(a, "-ac") == "2"
    assert option(a, "-movflags") == "+faststart" and option(a, "-r") == "25"
    assert option(a, "-/filter_complex") == FfmpegCommand.SCRIPT
    assert a[-1] == str(tmp_path / "o.mp4")
    # two inputs: the cut (seeked, with a two-frame margin) and the card (a still)
    assert a[a.index("-ss") + 1] == "0.500000" and a[a.index("-t") + 1] == "1.600000"  # 38 frames + 2
    script = cmd.filter_script
    assert "loop=loop=" in script  # the card: decoded once, held in the graph
    assert "concat=a=1:n=2:v=1" in script
    assert "scale=" in script and "crop=" in script and "fps=fps=25" in script
    assert "trim=end_frame=38" in script  # 1.5 s at 25 fps
    assert "afade=" in script  # joins do not click
    argv = cmd.argv("ffmpeg", Path("/tmp/graph.txt"))
    assert argv[0] == "ffmpeg" and "/tmp/graph.txt" in argv


def test_cinema_is_prores_pcm_51_padded(campaign, tmp_path):
    preset = campaign.preset("tiktok").with_overrides(**{k: getattr(PRESETS["cinema"], k) for k in (
        "width", "height", "fit", "fps", "extension", "video_codec", "profile", "pix_fmt", "max_video_kbps",
        "audio_codec", "audio_kbps", "audio_channels", "loudness_lufs")})
    cmd = render_command(plan_for(campaign, preset, 24, tmp_path), tmp_path / "c.mov", None)
    a = cmd.args
    assert option(a, "-c:v") == "prores_aw" and option(a, "-profile:v") == "3"
    assert option(a, "-pix_fmt") == "yuv422p10le" and option(a, "-c:a") == "pcm_s24le" and option(a, "-ac") == "6"
    assert "-b:a" not in a and "-movflags" not in a
    assert "pad=" in cmd.filter_script and "pan=args=5.1|FC" in cmd.filter_script


def test_measure_pass_is_audio_only(campaign, tmp_path):
    cmd = measure_command(plan_for(campaign, campaign.preset("youtube"), 25, tmp_path))
    assert "loudnorm=" in cmd.filter_script and "print_format=json" in cmd.filter_script
    assert "scale" not in cmd.filter_script and cmd.args[-3:] == ["-f", "null", "-"]


def test_bitrate_is_capped_to_fit_the_size_limit():
    x = PRESETS["x"]
    assert video_kbps_cap(x, Fraction(60)) == 5000  # the platform's own cap is lower
    small = x.with_overrides(max_bytes=10_000_000)
    cap = video_kbps_cap(small, Fraction(100))
    assert cap is not None and (cap + 128) * 100 * 1000 / 8 <= 10_000_000


def test_pictures_are_converted_once_and_blended_in_yuv(campaign, tmp_path):
    """Cards and lower thirds enter the graph in its own YUV before they are held (loop): converting after
    the loop, or blending in RGBA, costs a conversion of every frame (measured: a fifth of a 16:9 render)."""
    import dataclasses

    from PIL import Image

    from pipeline.plan import Overlay, Still

    strap = tmp_path / "strap.png"
    Image.new("RGBA", (200, 60), (0, 40, 80, 200)).save(strap)
    plan = plan_for(campaign, campaign.preset("youtube"), 25, tmp_path)
    plan = dataclasses.replace(plan, overlays=(Overlay(Still(strap, "x"), 40, 800, Fraction(1), Fraction(2)),))
    graph = render_command(plan, tmp_path / "o.mp4", None).filter_script.split(";")
    assert "rgba" not in ";".join(graph)
    overlays = [f for f in graph if "overlay=" in f and "enable=" in f]
    assert len(overlays) == 1 and "format=yuv420:" in overlays[0]
    for fmt in ("yuva420p", "yuv420p"):  # the strap, and each card: format first, then loop
        held = [i for i, f in enumerate(graph) if f"format=pix_fmts={fmt}" in f and f.startswith("[")
                and ":v]" in f.split("]")[0] + "]"]
        assert held, fmt
        for i in held:
            out = graph[i].rsplit("[", 1)[1]
            assert any(f.startswith(f"[{out}") and ("loop=" in f or "split=" in f) for f in graph), graph[i]


def test_pieces_picture_sound_and_join(campaign, tmp_path):
    """An output in pieces: a picture-only command per segment on the 1/rate time base, offset to the film's
    time only when something timed is drawn over it; one sound-only command; a join that copies."""
    import dataclasses

    from PIL import Image

    from pipeline.plan import Overlay, Still
    from pipeline.render import join_command, picture_command, picture_pieces, sound_command

    plan = plan_for(campaign, campaign.preset("youtube"), 25, tmp_path)
    assert picture_pieces(plan) == [range(0, 1), range(1, 2)]  # the cut (38 frames), the card
    card = picture_command(plan, range(1, 2), tmp_path / "card.mp4")
    assert "-c:a" not in card.args and option(card.args, "-c:v") == "libx264" and option(card.args, "-g") == "13"
    assert "settb=expr=1/25" in card.filter_script and "PTS-STARTPTS+" not in card.filter_script
    assert option(card.args, "-maxrate") == "8000k"  # the output's own settings
    strap = tmp_path / "strap.png"
    Image.new("RGBA", (200, 60), (0, 40, 80, 200)).save(strap)
    over = dataclasses.replace(plan, overlays=(Overlay(Still(strap, "x"), 40, 800, Fraction(8, 5), Fraction(1)),))
    timed = picture_command(over, range(1, 2), tmp_path / "card.mp4").filter_script
    assert "setpts=expr=PTS-STARTPTS+38" in timed and "between(t\\,1.600000\\,2.600000)" in timed
    assert "overlay=" not in picture_command(over, range(0, 1), tmp_path / "cut.mp4").filter_script
    sound = sound_command(plan, tmp_path / "sound.mp4", None)
    assert "-c:v" not in sound.args and option(sound.args, "-c:a") == "aac" and "atrim=end_sample=168960" in \
        sound.filter_script  # 3.52 s at 48 kHz
    join = join_command(plan, [tmp_path / "a.mp4", tmp_path / "b.mp4"], tmp_path / "sound.mp4", tmp_path / "o.mp4")
    assert option(join.args, "-f") == "concat" and option(join.args, "-i") == FfmpegCommand.LISTING
    assert option(join.args, "-c") == "copy" and option(join.args, "-movflags") == "+faststart"
    assert join.listing == f"file '{tmp_path / 'a.mp4'}'\nfile '{tmp_path / 'b.mp4'}'\n"
    argv = join.argv("ffmpeg", None, Path("/tmp/list.txt"))
    assert argv[argv.index("-i") + 1] == "/tmp/list.txt" and FfmpegCommand.LISTING not in argv


def test_a_short_x264_encode_runs_on_one_thread():
    """A few GOPs (a card's runs, a hold's leftover) are encoded on one thread; a clip's piece as x264 likes."""
    from fractions import Fraction

    from pipeline.channels import PRESETS
    from pipeline.encoding import video_codec_args

    youtube, cinema = PRESETS["youtube"], PRESETS["cinema"]
    rate = Fraction(25)
    assert video_codec_args(youtube, rate, Fraction(30), frames=35)["threads"] == 1
    assert video_codec_args(youtube, rate, Fraction(30), frames=52)["threads"] == 1
    assert "threads" not in video_codec_args(youtube, rate, Fraction(30), frames=53)
    assert "threads" not in video_codec_args(youtube, rate, Fraction(30))
    assert "threads" not in video_codec_args(cinema, Fraction(24), Fraction(30), frames=24)  # ProRes: its own
