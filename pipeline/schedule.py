"""The order a local run's worker pool takes its outputs in (issue 25).

Largest first, so that a run does not end on one long render with the other cores idle; but ahead of them
the largest output of each described sound (:func:`sound_group`). Outputs of one film with the same sound
settings share their described sound track (:func:`pipeline.describedsound.sound_key`): two workers that start
on two of them do not both make it, one waits for the other (3 s of a worker in an end-card edit of the
example, where YouTube and Reels went first).
"""

from __future__ import annotations

from collections.abc import Hashable

from .job import OutputSpec

__all__ = ["order", "sound_group", "work"]


def work(output: OutputSpec | None) -> float:
    """A rough size of an output's render: pixels per frame times frames (0 for one that fails when made)."""
    if output is None:
        return 0.0
    preset, timeline = output.preset, output.timeline
    return preset.width * preset.height * float(timeline.rate) * float(timeline.duration)


def sound_group(film: Hashable, output: OutputSpec | None) -> tuple:
    """What the outputs that share a described sound have in common: the film and the sound's settings."""
    if output is None:
        return (film, None)
    p = output.preset
    return (film, p.audio_codec, p.audio_kbps, p.sample_rate, p.audio_channels, p.loudness_lufs, p.true_peak_dbtp,
            p.extension)


def order(outputs: list[tuple[Hashable, OutputSpec | None]]) -> list[int]:
    """The indexes of ``outputs`` (each its film's key and its spec) in the order to start them."""
    by_size = sorted(range(len(outputs)), key=lambda i: -work(outputs[i][1]))
    firsts: dict[tuple, int] = {}
    for i in by_size:
        firsts.setdefault(sound_group(*outputs[i]), i)
    lead = list(firsts.values())
    return lead + [i for i in by_size if i not in lead]
