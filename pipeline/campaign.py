"""A validated campaign: the spec, where it lives, what probing found, and its lookups.

:class:`Campaign` is data with lookups (presets with overrides, clip sources, lengths, the
versions as campaigns of their own); :meth:`Campaign.outputs` is the one place that decides a
run's outputs. It is made by :func:`pipeline.load.load_campaign`, which does the checking.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from . import channels
from .brand import Brand, BrandSpec
from .cta import tracked_url
from .errors import SpecProblem
from .library import LibraryClip
from .probe import MediaInfo
from .problems import display_path
from .spec import FOCUS_WORDS, AudioSpec, CampaignSpec, CardItem, ClipItem
from .timecode import Time, seconds
from .yamlpos import Loc, Located


@dataclass(frozen=True)
class OutputKey:
    """One output of a run: a version of the film on one channel."""

    version: str | None  #: the version's name, None for the main film
    channel: str

    @property
    def where(self) -> str:
        """The version in words, for messages: ``the main film`` or ``version 'anne'``."""
        return f"version '{self.version}'" if self.version else "the main film"


@dataclass(frozen=True)
class Campaign:
    """A validated campaign: the spec, where it lives, and what probing found."""

    spec: CampaignSpec
    path: Path  #: the spec file
    media: dict[str, MediaInfo] = field(default_factory=dict)  #: clip id -> probe of its source
    output_root: Path = Path("out")  #: resolved output folder (campaign subfolder not included)
    library: dict[str, LibraryClip] = field(default_factory=dict)  #: clip id -> its library entry
    warnings: tuple[SpecProblem, ...] = ()  #: things that render but a user should look at
    selected: tuple[str, ...] | None = None  #: the channels asked for (render -c), None for all
    version: str | None = None  #: which version this is (None: the main film)
    #: the versions' sequences after cut-downs: name -> (items, length); filled by load_campaign
    version_cuts: dict = field(default_factory=dict, compare=False, repr=False)
    quotes: dict = field(default_factory=dict, compare=False, repr=False)  #: key path -> edit.Resolved
    transcripts: dict = field(default_factory=dict, compare=False, repr=False)  #: clip id -> Transcript used
    #: clip id -> its corrected transcript (cuefile.CueFile), read and checked once by load_campaign
    corrected: dict = field(default_factory=dict, compare=False, repr=False)
    located: Located | None = field(default=None, compare=False, repr=False)  #: where each value was written
    selected_versions: tuple[str, ...] | None = None  #: the versions asked for (render -V), None for all
    draft: bool = False  #: quick-look renders go to <output>/<campaign>/draft/ and are never final outputs
    brand: Brand = field(default_factory=lambda: Brand(BrandSpec()))  #: the visual profile (defaults: no file)

    @property
    def channels(self) -> list[str]:
        """The channels to make: the spec's, or those of them selected on the command line."""
        return self._asked_for(self.spec.channels)

    def _asked_for(self, names: list[str]) -> list[str]:
        return [c for c in names if c in self.selected] if self.selected else list(names)

    def outputs(self) -> list[OutputKey]:
        """Every output this run renders, as (version, channel): the one place that decides it.

        The main film on its channels (unless ``-V`` leaves it out), and each selected version on
        its own channels (default: the campaign's), all narrowed to the channels asked for (``-c``).
        The job plan renders exactly these and the consent check checks exactly these, so what is
        rendered cannot drift from what was checked. Needs no cut-down, so it holds before quotes
        are resolved. For one edition (:meth:`for_version`), its own outputs.
        """
        if self.version is not None:
            return [OutputKey(self.version, c) for c in self.channels]
        keys = []
        if not self.selected_versions or "main" in self.selected_versions:
            keys += [OutputKey(None, c) for c in self.channels]
        for name in self.version_names():
            version = self.spec.versions[name]
            keys += [OutputKey(name, c) for c in self._asked_for(version.channels or self.spec.channels)]
        return keys

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, p: Path) -> Path:
        """A path from the spec, relative to the spec file."""
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def out_dir(self) -> Path:
        """``<output>/<campaign>`` for the main film, ``<output>/<campaign>/<version>`` for a version."""
        base = self.output_root / self.spec.campaign
        if self.draft:
            base = base / "draft"
        return base / self.version if self.version else base

    @property
    def label(self) -> str:
        """``campaign`` or ``campaign/version``, for reports."""
        return f"{self.spec.campaign}/{self.version}" if self.version else self.spec.campaign

    def problem(self, loc: Loc, message: str, hint: str = "") -> SpecProblem:
        """A problem at a key path of the spec, with its line and column."""
        mark = self.located.mark(loc) if self.located else None
        return SpecProblem(str(self.path), mark.line if mark else None, mark.column if mark else None,
                           display_path(loc), message, hint)

    def version_names(self) -> list[str]:
        """The versions to make: the spec's, or those asked for (render -V)."""
        names = list(self.spec.versions)
        return [n for n in names if n in self.selected_versions] if self.selected_versions else names

    def for_version(self, name: str) -> Campaign:
        """The campaign as one of its versions plays it: its sequence (cut down), cards, channels and title."""
        version = self.spec.versions[name]
        items, _ = self.version_cuts[name]
        spec = self.spec.model_copy(update={
            "sequence": list(items), "cards": {**self.spec.cards, **version.cards},
            "channels": list(version.channels or self.spec.channels), "title": version.title or self.spec.title,
            "versions": {},
        })
        return dataclasses.replace(self, spec=spec, version=name, version_cuts={})

    def editions(self, every: bool = False) -> list[Campaign]:
        """The main film and every selected version (``every``: all of them), each as a campaign of its own."""
        if every:
            return [self] + [self.for_version(n) for n in self.spec.versions]
        main = [] if self.selected_versions and "main" not in self.selected_versions else [self]
        return main + [self.for_version(n) for n in self.version_names()]

    @property
    def all_channels(self) -> set[str]:
        """Every channel the spec names, the main film's and the versions'."""
        return set(self.spec.channels) | {c for v in self.spec.versions.values() for c in (v.channels or ())}

    def preset(self, channel: str) -> channels.Preset:
        """The channel's preset with the brand's caption style and this campaign's overrides applied."""
        base = channels.get_preset(channel)
        if base.caption_style == "social" and self.brand.spec.captions.social != "social":
            base = base.with_overrides(caption_style=self.brand.spec.captions.social)
        override = self.spec.overrides.get(channel)
        return base.with_overrides(**override.changes()) if override else base

    def clip_source(self, clip_id: str) -> Path:
        """The video file of a clip: from the library, or the spec's source relative to the spec."""
        if clip_id in self.library and self.library[clip_id].video is not None:
            return self.library[clip_id].video
        source = self.spec.clips[clip_id].source
        assert source is not None, "validation guarantees a source or a library clip"
        return self.resolve(source)

    def clip_person(self, clip_id: str) -> tuple[str | None, str | None]:
        """(person, role) of a clip: the spec's values, else the library's."""
        clip = self.spec.clips[clip_id]
        meta = self.library[clip_id].meta if clip_id in self.library else None
        return clip.person or (meta.person if meta else None), clip.role or (meta.role if meta else None)

    def clip_language(self, clip_id: str) -> str:
        """The speech language of a clip: the clip's, its library entry's, else the campaign's."""
        clip = self.spec.clips[clip_id]
        meta = self.library.get(clip_id)
        return clip.language or (meta.meta.language if meta else None) or self.spec.language

    def focus(self, clip_id: str) -> float | None:
        """A clip's fixed framing as a share of the width, or None to follow faces."""
        value = self.spec.clips[clip_id].focus
        return FOCUS_WORDS[value] if isinstance(value, str) else value

    def item_length(self, item: ClipItem | CardItem) -> Time:
        """A sequence item's length in seconds (before rounding to frames)."""
        if isinstance(item, ClipItem):
            start, end = self.cut_bounds(item)
            return end - start
        return item.duration or self.spec.cards[item.card].duration

    def sequence_for(self, channel: str | None) -> list[ClipItem | CardItem]:
        """The sequence as a channel plays it (None: the whole sequence); see :meth:`sequence_as`."""
        return list(self.spec.sequence) if channel is None else self.sequence_as(self.preset(channel))

    def sequence_as(self, preset: channels.Preset) -> list[ClipItem | CardItem]:
        """The sequence as a channel's (resolved) preset plays it: optional items dropped (last first)
        where the channel asks to be shortened to fit its length limit."""
        items = list(self.spec.sequence)
        if not preset.shorten or preset.max_duration is None:
            return items
        limit = seconds(preset.max_duration)
        for i in range(len(items) - 1, -1, -1):
            if sum(self.item_length(it) for it in items) <= limit:
                break
            if items[i].optional:
                del items[i]
        return items

    def cut_bounds(self, item: ClipItem) -> tuple[Time, Time]:
        """(from, to) of a cut in its clip, with ``to`` defaulting to the clip's end."""
        end = item.end if item.end is not None else self.media[item.clip].duration
        return item.start, end

    def link(self, channel: str) -> str | None:
        """The campaign address tagged for a channel (from the last card with a url), or None."""
        urls = [c.url for c in self.spec.cards.values() if c.url]
        return self.tracked(urls[-1], channel) if urls else None

    def tracked(self, url: str, channel: str) -> str:
        """``url`` tagged for a channel and this version (utm_content; ``main`` for the main film)."""
        return tracked_url(url, channel, self.spec.campaign, self.version)

    def audio(self, clip_id: str) -> AudioSpec:
        """A clip's sound clean-up: the campaign's settings, with the keys the clip sets itself."""
        own = self.spec.clips[clip_id].audio
        if own is None:
            return self.spec.audio
        return self.spec.audio.model_copy(update={k: getattr(own, k) for k in own.model_fields_set})

    def transcript_path(self, clip_id: str) -> Path | None:
        """The corrected transcript for a clip: named in the spec, or transcripts/<id>.srt if present."""
        clip = self.spec.clips[clip_id]
        if clip.transcript is not None:
            return self.resolve(clip.transcript)
        default = self.base_dir / "transcripts" / f"{clip_id}.srt"
        return default if default.is_file() else None
