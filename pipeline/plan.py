"""What one output is made from: the :class:`RenderPlan`, and its fingerprint.

A plan holds everything the render reads, and nothing else: the preset, the edit on
its frame grid, every source file, the pictures drawn for it (cards, lower thirds)
with what they are drawn from, the captions to burn with their fonts, the crop paths,
the music bed and the texts written beside the video. :func:`pipeline.render.render_command`
consumes a plan; :func:`fingerprint` hashes it. Because both read the same object, an
input cannot reach the render without also reaching the fingerprint (a hand-kept list
beside the render's parameters drifted once: the lower-third font was in one and not the other).

Files enter the fingerprint by content (sha256), not by name. Pictures that are drawn
only after the unchanged check carry ``inputs``, a digest of what they are drawn from;
their paths (in a temporary folder) are left out of the fingerprint.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path, PurePath

from . import __version__
from .cache import file_digest, key_of
from .channels import Preset
from .timeline import Timeline

#: Mark a field as left out of the fingerprint (a temporary path whose content is covered elsewhere).
NOT_HASHED = {"fingerprint": False}


@dataclass(frozen=True)
class CleanSound:
    """A clip's cleaned sound (:mod:`pipeline.sound`): read instead of the clip's own, levelled, with room tone."""

    path: Path = field(metadata=NOT_HASHED)  #: 48 kHz mono FLAC in the cache (its content is named by ``key``)
    key: str = ""  #: digest of what it is made from (source content, treatment, clean-up version)
    gain_db: float = 0.0  #: brings the clip's speech to the common level
    room_tone_at: Fraction | None = None  #: start of its quietest second, looped under joins and cards (None: none)


@dataclass(frozen=True)
class ClipSource:
    """A clip's file and what the graph needs to know about it."""

    clip_id: str
    path: Path  #: the video file (hashed by content)
    sample_aspect: Fraction  #: pixel aspect ratio of its coded frames
    has_audio: bool
    aspect: Fraction | None = None  #: displayed width / height (None: unknown)
    sound: CleanSound | None = None  #: cleaned sound to use instead of the file's own (None: as recorded)
    fit: str = "crop"  #: how it fills the frame (crop, pad, pad-blur): the preset's fit, auto resolved for it


@dataclass(frozen=True)
class Still:
    """A picture drawn for the output (a card, a lower third): where it will be, and what it is drawn from."""

    path: Path = field(metadata=NOT_HASHED)  #: PNG in the output's work folder (drawn after the unchanged check)
    inputs: str = ""  #: digest of everything it is drawn from (text, sizes, colours, font and image contents)


@dataclass(frozen=True)
class Overlay:
    """A picture shown over the video for a while (a lower third), faded in and out."""

    image: Still
    x: int  #: position in the frame
    y: int
    start: Fraction  #: output time it appears
    duration: Fraction  #: how long it stays
    fade: Fraction = Fraction(2, 5)  #: fade in and out, seconds


@dataclass(frozen=True)
class MusicBed:
    """A music track under the speech: looped or trimmed to length, faded, ducked under the voice."""

    source: Path  #: audio (or video) file
    gain_db: float  #: level change that puts the music ``level`` LU under the speech before ducking
    fade_in: Fraction = Fraction(1)
    fade_out: Fraction = Fraction(2)
    duck: bool = True  #: compress the music whenever the voice speaks (sidechain)


@dataclass(frozen=True)
class Burn:
    """Captions burned into the picture through libass."""

    ass: Path  #: the ASS file (hashed by content: cue times, text, style)
    fonts_dir: Path | None = field(default=None, metadata=NOT_HASHED)  #: folder libass loads fonts from
    fonts: tuple[Path, ...] = ()  #: the font files it uses (hashed by content)
    language: str = ""  #: language tag of the burned track


@dataclass(frozen=True)
class RenderPlan:
    """Everything one output is made from. Frozen; build it once per output, in one place
    (:func:`pipeline.outplan.plan_output`)."""

    channel: str
    preset: Preset
    timeline: Timeline
    title: str  #: the campaign title (file metadata, poster)
    clips: tuple[ClipSource, ...]  #: every clip the timeline cuts from
    cards: dict[str, Still]  #: card id -> its picture for this preset
    fonts: tuple[Path, ...] = ()  #: font files the drawn pictures use (hashed by content)
    overlays: tuple[Overlay, ...] = ()  #: lower thirds
    names_left_out: tuple[str, ...] = ()  #: people whose name strap found no room off their face (not shown)
    burn: Burn | None = None  #: captions burned in, if any
    sidecars: tuple[str, ...] = ()  #: digest per sidecar caption file written beside the video
    crops: tuple[tuple[int, str], ...] = ()  #: segment index -> crop x expression (reframing)
    crop_ys: tuple[tuple[int, str], ...] = ()  #: segment index -> crop y expression (vertical reframing)
    #: (segment index, cutaway index, crop x, crop y expression or None) of each cutaway a fill-crop reframes
    cutaway_crops: tuple[tuple[int, int, str | None, str | None], ...] = ()
    music: MusicBed | None = None
    safe_zones: bool = False  #: shade the platform's interface zones (for checking, not publishing)
    texts: tuple[tuple[str, str], ...] = ()  #: texts written beside the video (publish sheet fields)
    poster_at: Fraction | None = None  #: output time the poster is taken from (None: no poster)
    version: str = __version__  #: the pipeline's version (a new release re-renders)

    def clip(self, clip_id: str) -> ClipSource:
        for c in self.clips:
            if c.clip_id == clip_id:
                return c
        raise KeyError(clip_id)

    @property
    def crop_x(self) -> dict[int, str]:
        return dict(self.crops)

    @property
    def crop_y(self) -> dict[int, str]:
        return dict(self.crop_ys)


def describe(value: object) -> object:
    """A JSON-able description of a plan (or any part of it), files by content.

    Generic over dataclasses, so a field added to the plan is in the fingerprint
    without anyone remembering to add it.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: describe(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("fingerprint", True)}
    if isinstance(value, PurePath):
        path = Path(value)
        return ["file", file_digest(path)] if path.is_file() else ["path", str(value)]
    if isinstance(value, dict):
        return {str(k): describe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "model_dump"):  # pydantic models (card specs)
        return value.model_dump(mode="json")
    return value


def fingerprint(plan: RenderPlan) -> str:
    """The plan's hash: equal for two plans exactly when they make the same output."""
    return key_of("output", describe(plan))
