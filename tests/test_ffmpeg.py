"""The runner and filter-value escaping, through the real ffmpeg."""

from pathlib import Path

import ffmpeg as ffmpeg_python
import pytest

from pipeline import ffmpeg as ff
from pipeline.errors import RenderError
from pipeline.ffmpeg import FfmpegCommand, compile_command, run_command

HOSTILE = [
    "plain",
    "colon: semi; comma, equals=",
    "quote ' double \" backslash \\ end\\",
    "brackets [in] {braces} %{pts} 100%",
    "æøå ÆØÅ «sitat» – emoji 😀",
    "-starts with a dash",
    "[s0];[0:v]null[x]",
    "two\nlines",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_filter_values_reach_ffmpeg_unchanged(tmp_path: Path, text: str):
    """A value goes through ffmpeg-python's two escaping levels and ffmpeg's two parsers intact.

    The metadata filter stores the value on a frame and prints it to a file whose path is
    itself hostile, so both the value and a path round-trip.
    """
    folder = tmp_path / "odd, dir; [x] 'q' = %d"
    folder.mkdir()
    report = folder / "meta:out.txt"
    stream = ffmpeg_python.input("color=c=black:s=16x16:d=0.04", f="lavfi").video
    stream = stream.filter("metadata", mode="add", key="rekrutt", value=ff.filter_value(text))
    stream = stream.filter("metadata", mode="print", key="rekrutt", file=ff.filter_value(report))
    cmd = compile_command(ffmpeg_python.output(stream, "-", f="null"), [])
    run_command(cmd, tmp_path, what="escaping check")
    printed = report.read_text(encoding="utf-8")
    assert f"rekrutt={text}\n" in printed


def test_filter_value_forms(tmp_path: Path):
    from fractions import Fraction

    assert ff.filter_value(Fraction(1, 3)) == "0.333333"
    assert ff.filter_value(2.5) == "2.5"
    assert ff.filter_value(True) == "1"
    assert ff.filter_value(Path("rel/file.ass")) == str(Path("rel/file.ass").absolute())
    with pytest.raises(ValueError):
        ff.filter_value("nul\x00byte")


@pytest.mark.parametrize("name", [n for n in HOSTILE if "\n" not in n and "/" not in n] + ["it's", "a\\'b'"])
def test_concat_listing_reaches_ffmpeg_unchanged(tmp_path: Path, name: str):
    """Files with hostile names, joined by the concat demuxer from the listing: every frame of each arrives."""
    folder = tmp_path / "odd 'dir' \\ [x]"
    folder.mkdir()
    parts = []
    for i, colour in enumerate(("red", "blue")):
        part = folder / f"{name} {i}.mkv"
        src = ffmpeg_python.input(f"color=c={colour}:s=16x16:r=25:d=0.2", f="lavfi").video
        run_command(compile_command(ffmpeg_python.output(src, str(part), **{"c:v": "ffv1"}), [part]), tmp_path,
                    what="part")
        parts.append(part)
    joined = tmp_path / "joined.mkv"
    video = ffmpeg_python.input(FfmpegCommand.LISTING, f="concat", safe=0).video
    cmd = compile_command(ffmpeg_python.output(video, str(joined), c="copy"), [joined])
    run_command(FfmpegCommand(cmd.args, cmd.filter_script, cmd.outputs, ff.concat_listing(parts)), tmp_path,
                what="join")
    import av

    with av.open(str(joined)) as container:
        colours = [tuple(f.to_ndarray(format="rgb24")[8, 8] // 128) for f in container.decode(video=0)]
    assert colours == [(1, 0, 0)] * 5 + [(0, 0, 1)] * 5


def test_concat_listing_refuses_a_line_break():
    with pytest.raises(ValueError, match="line break"):
        ff.concat_listing([Path("/tmp/two\nlines.mp4")])


def test_safe_path_arg():
    assert ff.safe_path_arg("-rf.mp4") == "./-rf.mp4"
    assert ff.safe_path_arg("/abs/x.mp4") == "/abs/x.mp4"


def test_runner_raises_with_ffmpegs_own_message(tmp_path: Path):
    cmd = FfmpegCommand(["-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"])
    with pytest.raises(RenderError) as info:
        run_command(cmd, tmp_path, what="probe missing")
    assert "No such file or directory" in str(info.value)
    assert "missing.mp4" in info.value.stderr_tail
    assert info.value.argv[0] == ff.ffmpeg_exe()


def test_ffmpeg_binary_can_be_chosen(monkeypatch, tmp_path):
    ff.ffmpeg_exe.cache_clear()
    monkeypatch.setenv(ff.FFMPEG_ENV, str(tmp_path / "no-such-ffmpeg"))
    try:
        with pytest.raises(RenderError, match="REKRUTT_FFMPEG"):
            ff.ffmpeg_exe()
    finally:
        monkeypatch.delenv(ff.FFMPEG_ENV)
        ff.ffmpeg_exe.cache_clear()
    assert Path(ff.ffmpeg_exe()).is_file()


def test_in_parallel_gives_each_result_in_order_and_runs_them_at_once():
    """Two tasks that each wait for the other to begin end only if they run at once; results in task order."""
    import threading

    began = [threading.Event(), threading.Event()]

    def task(k: int):
        began[k].set()
        assert began[1 - k].wait(10), "the tasks ran one after another"
        return k * 10

    assert ff.in_parallel([lambda: task(0), lambda: task(1)], 2) == [0, 10]
    order: list[int] = []
    assert ff.in_parallel([lambda k=k: order.append(k) or k for k in range(4)], 1) == [0, 1, 2, 3]
    assert order == [0, 1, 2, 3]


def test_in_parallel_raises_the_first_error_and_runs_no_task_not_begun():
    ran: list[int] = []

    def fail():
        raise RenderError("piece 0 failed")

    with pytest.raises(RenderError, match="piece 0 failed"):
        ff.in_parallel([fail] + [lambda k=k: ran.append(k) for k in range(1, 50)], 1)
    assert ran == []
    with pytest.raises(RenderError, match="piece 0 failed"):
        ff.in_parallel([fail] + [lambda k=k: ran.append(k) for k in range(1, 50)], 2)
    assert len(ran) < 49  # those queued behind the failure were cancelled
