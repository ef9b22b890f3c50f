"""One output's job: the edition, its resolved preset, its sequence and its timeline, decided once.

:func:`output_spec` is the one place that resolves what an output (a version of the film on one
channel, an :class:`~pipeline.campaign.OutputKey`) is made from: the edition (the campaign as that
version plays it), the channel's preset with the brand's caption style, the campaign's overrides
and, for a draft, the quick-look settings applied; the sequence as the channel plays it
(shortened where it asks to be); the frame rate; the timeline on that rate's frame grid. The run's
plan (:func:`pipeline.jobs.plan`) builds one per output; making the output, its captions, its
edit file and its place on the review page all take it as it is, and none derives it again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

from .campaign import Campaign, OutputKey
from .channels import Preset
from .reframe import FitChoice, clip_fit
from .spec import CardItem, ClipItem
from .timeline import Timeline, build_timeline, source_rate

__all__ = ["OutputSpec", "output_spec"]


@dataclass(frozen=True)
class OutputSpec:
    """Everything one output is cut from, resolved once (see :func:`output_spec`)."""

    edition: Campaign  #: the campaign as this version plays it (``draft`` set for a quick look)
    preset: Preset  #: the channel's preset: brand, overrides and draft settings applied
    sequence: tuple[ClipItem | CardItem, ...]  #: the sequence as the channel plays it (shortened where it asks)
    timeline: Timeline  #: the sequence on the output's frame grid
    #: how each clip of the sequence is fitted into the frame (``fit: auto`` resolved per clip, on the
    #: full-size frame also for a draft, so a quick look is framed as the final film)
    fits: dict[str, FitChoice] = dataclasses.field(default_factory=dict)

    @property
    def channel(self) -> str:
        return self.preset.name

    @property
    def rate(self) -> Fraction:
        """The output's frame rate."""
        return self.timeline.rate

    @property
    def draft(self) -> bool:
        """A quick look (third size, fastest settings, "UTKAST" burned in, in draft/)."""
        return self.edition.draft

    @property
    def key(self) -> OutputKey:
        return OutputKey(self.edition.version, self.channel)

    def shown_fits(self) -> dict[str, str]:
        """How each clip on screen fills this output's frame (:meth:`fit`), the cuts' clips and their cutaways'
        in the order they first appear."""
        shown = dict.fromkeys(c for s in self.timeline.clip_segments()
                              for c in (s.clip_id, *(k.clip_id for k in s.cutaways)))
        return {c: self.fit(c) for c in shown}

    def fit(self, clip_id: str) -> str:
        """How ``clip_id`` is fitted into this output's frame: crop, pad or pad-blur."""
        choice = self.fits.get(clip_id)
        if choice is None:  # a job put together by hand, not by output_spec: decided on its preset's frame
            info = self.edition.media.get(clip_id)
            if info is None:
                return "crop" if self.preset.fit == "auto" else self.preset.fit
            choice = clip_fit(info, self.preset.fit, self.preset.width, self.preset.height)
        return choice.fit


def output_spec(campaign: Campaign, key: OutputKey, draft: bool = False) -> OutputSpec:
    """The job of one output: ``campaign`` (the main film or any of its editions) as ``key`` plays it.

    The sequence is shortened by the channel's own preset; the rate and the timeline follow the
    preset as made (a draft's). Raises what :func:`~pipeline.timeline.build_timeline` raises.
    """
    assert campaign.version in (None, key.version), "an edition makes its own outputs only"
    edition = campaign if campaign.version == key.version else campaign.for_version(key.version)
    preset = edition.preset(key.channel)
    sequence = tuple(edition.sequence_as(preset))
    fits = {item.clip: clip_fit(edition.media[item.clip], preset.fit, preset.width, preset.height)
            for item in sequence if isinstance(item, ClipItem) and item.clip in edition.media}
    if draft:
        edition, preset = dataclasses.replace(edition, draft=True), preset.draft()
    rate = preset.rate_for(source_rate(edition))
    return OutputSpec(edition, preset, sequence, build_timeline(edition, rate, items=sequence), fits)
