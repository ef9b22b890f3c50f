"""The like-for-like floor's described versions, and the check that the floor makes what the render makes (issue 25).

``render -V main`` makes, beside each output, its described version (``<channel>.synstolket.<ext>``,
:mod:`pipeline.described`): the same picture held still where a description line fits no pause, and a
described sound track (the mix ducked under a voice, paused at the holds). The floor makes each of them
the plain way, one ffmpeg command from the pre-cut master: the channel's scale/crop or pad, the holds
(the held frame repeated there, ``trim`` + ``tpad`` + ``concat`` in the one filter graph), and the render's own
described sound track, encoded with the channel's settings.

What is prepared before timing, like the master: the described sound, decoded to PCM from the render's
``.synstolket`` file (its making, the voice and the ducking, is the render's work the floor does not
repeat), and the holds, read from the render's manifest (where and how long) with the frame each holds
taken from :func:`pipeline.describe.script` (a card's line holds the card's last frame, any other line
its shot's first, as :func:`pipeline.describe._held` places them).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from pipeline import describe
from pipeline.described import described_name
from pipeline.ffmpeg import ffmpeg_exe
from pipeline.probe import probe


@dataclass(frozen=True)
class FloorHold:
    """One hold as the floor makes it: where it goes (the index of the output's frame it comes before),
    the frame it holds (an index among the output's frames) and how many frames it lasts."""

    at: int
    frame: int
    frames: int


def floor_holds(campaign, channel: str, record: dict) -> list[FloorHold]:
    """The holds of one output's described version, in playing order, from its manifest ``record``."""
    timeline = describe.timeline_for(campaign, channel)
    rate = timeline.rate
    cards = {line.id for line in describe.script(campaign, timeline, dict(campaign.transcripts), channel)
             if line.card}
    holds = []
    for d in record.get("descriptions", []):
        if not d.get("hold"):
            continue
        at = round(Fraction(str(d["hold"]["at"])) * rate)  # the manifest rounds to the millisecond
        frames = round(Fraction(str(d["hold"]["seconds"])) * rate)
        card = d["id"] in cards
        holds.append((not card, FloorHold(at, at - 1 if card else at, frames)))
    return [h for _, h in sorted(holds, key=lambda x: (x[1].at, x[0]))]  # a card's hold before the shot's


def described_graph(fit: str, holds: list[FloorHold], rate: Fraction) -> str:
    """A filter graph ``[0:v]`` -> ``[v]``: the master's picture fitted, cut at the holds (``trim``), each hold
    its frame repeated (``tpad``), all joined (``concat``) and laid out frame by frame again.

    Not the ``loop`` filter: in this ffmpeg (9.0) its ``start=N`` repeats frame N-1 (N >= 1)."""
    if not holds:
        return f"[0:v]{fit}[v]"
    pieces: list[str] = []
    lo = 0
    for h in holds:
        if h.at > lo:
            pieces.append(f"trim=start_frame={lo}:end_frame={h.at}")
        pieces.append(f"trim=start_frame={h.frame}:end_frame={h.frame + 1},setpts=PTS-STARTPTS,"
                      f"tpad=stop={h.frames - 1}:stop_mode=clone")
        lo = h.at
    pieces.append(f"trim=start_frame={lo}")  # empty where the last hold is at the end
    n = len(pieces)
    graph = [f"[0:v]{fit},split={n}" + "".join(f"[s{i}]" for i in range(n))]
    graph += [f"[s{i}]{p},setpts=PTS-STARTPTS[p{i}]" for i, p in enumerate(pieces)]
    graph.append("".join(f"[p{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0,"
                 f"setpts=N/({rate.numerator}/{rate.denominator})/TB[v]")
    return ";".join(graph)


def extract_sound(described: Path, out: Path) -> Path:
    """The described version's sound track, decoded to PCM (not timed: the floor's input, like the master)."""
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(described), "-map", "0:a", "-c:a", "pcm_s24le",
                    str(out)], check=True)
    return out


def described_command(master: Path, sound: Path, holds: list[FloorHold], fit: str, rate: Fraction,
                      video_args: list[str], audio_args: list[str], target: Path) -> list[str]:
    """One plain ffmpeg command for a described version: the master's picture fitted and held, the
    described sound, both encoded with the channel's settings."""
    return [ffmpeg_exe(), "-v", "error", "-y", "-i", str(master), "-i", str(sound), "-filter_complex",
            described_graph(fit, holds, rate),
            "-map", "[v]", "-map", "1:a", *video_args, *audio_args, "-r", str(rate), str(target)]


def described_target(preset, out: Path) -> Path:
    return out / described_name(preset)


def frame_count(path: Path) -> int:
    """The video packets in a file (demuxed, not decoded): its frames."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for pkt in container.demux(stream) if pkt.size)


def compare(floor_file: Path, render_file: Path, rate: Fraction) -> str | None:
    """None where the floor's file has the render's frame count and duration (within a frame), else a line."""
    a, b = probe(floor_file), probe(render_file)
    fa, fb = frame_count(floor_file), frame_count(render_file)
    if fa == fb and abs(a.duration - b.duration) <= 1 / rate:
        return None
    return (f"{floor_file.name}: the floor's is {float(a.duration):.3f} s, {fa} frames; the render's "
            f"{float(b.duration):.3f} s, {fb} frames")
