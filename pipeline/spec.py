"""The campaign spec: typed, immutable models, validated in one place.

:func:`load_campaign` reads the YAML, validates its shape with pydantic (types,
unknown keys), then checks everything that needs the file system (media exist and
can be read, cuts lie inside their clips, ids and channels are known), and returns
a :class:`Campaign` with the probes it made. Every problem is collected with its
file, line, column and key path, and raised together as one :class:`SpecError`
before any work starts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import logging
import re
import types
import typing
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from . import channels
from .errors import ClipNotFound, SpecError, SpecProblem
from .images import image_problem
from .images import verify as verify_image
from .library import LibraryClip, consent_problems, library_dir, load_clip
from .names import Slug, SpecLink, insecure
from .probe import MediaInfo, probe_as
from .timecode import Time, parse_rate, parse_time, seconds
from .yamlpos import Loc, Located, YamlLimitError, load_file

log = logging.getLogger("rekrutt")


#: The time-like fields, as the spec writes them: (key, what the value is, an example, whether 0 is allowed).
#: Every message about a time names the key and gives an example of it written right.
_TIME_FIELDS: dict[str, tuple[str, str, str, bool]] = {
    "start": ("from", "where the cut starts, in seconds from the start of the clip", "from: 2.5", True),
    "end": ("to", "where the cut ends, in seconds from the start of the clip", "to: 9.5", True),
    "pad": ("pad", "seconds of air around the words", "pad: [0.2, 0.3]", True),
    "duration": ("duration", "how long the card is on screen, in seconds above 0", "duration: 4", False),
    "fade": ("fade", "the fade-in's length in seconds, 0 for none", "fade: 0.5", True),
    "fade_in": ("fade_in", "the fade-in's length in seconds, 0 for none", "fade_in: 1", True),
    "fade_out": ("fade_out", "the fade-out's length in seconds, 0 for none", "fade_out: 2", True),
    "max_duration": ("max_duration", "the longest the version may be, in seconds above 0", "max_duration: 15",
                     False),
}


def _shown(value: object) -> str:
    """A value as the user wrote it in YAML, for a message (never a Python type name)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 40 else f"'{value[:40]}...'"
    if isinstance(value, (list, tuple)):
        return f"the list [{', '.join(_shown(v) for v in value)}]" if len(value) <= 4 else \
            f"a list of {len(value)} values"
    if isinstance(value, dict):
        return "a mapping (key: value)"
    if value is None:
        return "an empty value"
    if isinstance(value, Fraction):
        return f"{float(value):g}"
    return str(value)


def _time_error(field_name: str | None, message: str) -> PydanticCustomError:
    """A time field's problem in a producer's words; the fix (with an example) goes in ctx['hint']."""
    key, what, example, _ = _TIME_FIELDS.get(field_name or "", (field_name or "time", "seconds", "2.5", True))
    return PydanticCustomError("spec_time", message, {"hint": f"{key} is {what}; e.g. {example}"})


def _one_time(value: object, field_name: str | None) -> Fraction:
    key, _, _, zero_ok = _TIME_FIELDS.get(field_name or "", (field_name, "", "", True))
    try:
        t = parse_time(value)
    except ValueError:
        raise _time_error(field_name, f"{_shown(value)} is not a time: write seconds (12.5) or MM:SS.mmm "
                          "('00:12.500')") from None
    if t < 0:
        raise _time_error(field_name, f"{_shown(value)} is negative; give seconds of "
                          f"{'0 or more' if zero_ok else 'more than 0'}")
    if t == 0 and not zero_ok:
        raise _time_error(field_name, "0 seconds would leave nothing to show; give seconds of more than 0")
    return t


def _time(value: object, info: ValidationInfo) -> Fraction:
    return _one_time(value, info.field_name)


def _pad(value: object, info: ValidationInfo) -> tuple[Fraction, Fraction]:
    """``pad: 0.2`` (both sides) or ``pad: [before, after]``, as (before, after)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise _time_error("pad", f"{_shown(value)} has {len(value)} value{'s' if len(value) != 1 else ''}; "
                              "give one number (both sides) or two: [before, after]")
        return (_one_time(value[0], "pad"), _one_time(value[1], "pad"))
    t = _one_time(value, "pad")
    return (t, t)


def _rate(value: object) -> Fraction:
    return parse_rate(value)


#: A frame rate in a spec: 25, 29.97 (read as 30000/1001), "30000/1001".
SpecRate = Annotated[
    Fraction,
    BeforeValidator(_rate),
    PlainSerializer(lambda r: str(r), return_type=str),
    WithJsonSchema({
        "anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": r"^\d+(/\d+)?$"}],
        "description": "frames per second: 25, 30, or an NTSC rate written 23.976, 29.97 or 59.94 "
                       "(read exactly as 24000/1001, 30000/1001, 60000/1001), or a fraction '30000/1001'",
    }),
]


def _language(value: object) -> object:
    if isinstance(value, bool):  # only reachable from non-YAML input
        raise ValueError("write the language code as text, e.g. 'no'")
    if isinstance(value, str):
        from .transcribe import language_problem

        problem = language_problem(value)
        if problem:
            raise ValueError(problem)
    return value


#: A speech language: a Whisper code (no, nn, en, ar, so, ...) or an alias (nb, nob, nno).
SpecLanguage = Annotated[str, BeforeValidator(_language)]


#: A time in a spec: seconds (2.5) or "MM:SS.mmm" / "HH:MM:SS.mmm"; held as an exact Fraction.
SpecTime = Annotated[
    Fraction,
    BeforeValidator(_time),
    PlainSerializer(lambda t: float(t), return_type=float),
    WithJsonSchema({
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "pattern": r"^(\d+:)?\d{1,2}:\d+([.,]\d+)?$|^\d+([.,]\d+)?$"},
        ],
        "description": "seconds, or MM:SS.mmm / HH:MM:SS.mmm",
    }),
]

#: Air around a quote's words: one time (both sides) or [before, after]; held as (before, after).
SpecPad = Annotated[
    tuple[Fraction, Fraction],
    BeforeValidator(_pad),
    PlainSerializer(lambda p: [float(p[0]), float(p[1])], return_type=list),
    WithJsonSchema({
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number", "minimum": 0}},
        ],
        "description": "seconds on both sides, or [before, after]",
    }),
]

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _color(value: str) -> str:
    if not _COLOR.match(value):
        raise ValueError(f"'{value}' is not a colour: write #RRGGBB, e.g. #FFFFFF")
    return value


#: A #RRGGBB colour (cards, brand files).
SpecColor = Annotated[str, AfterValidator(_color)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AudioSpec(_Model):
    """Clean-up of an interview's sound (per clip, and as the campaign's default). ``audio: off`` turns it all off."""

    denoise: Literal["auto", "off", "light", "strong"] = Field(
        "auto", description="speech enhancement (DeepFilterNet 3): auto applies it when the measured noise calls for "
        "it; light lowers the noise by up to 12 dB, strong by up to 24 dB")
    hum: Literal["auto", "off", "50", "60"] = Field(
        "auto", description="mains hum notches (50 Hz in Norway); auto finds 50 or 60 Hz hum in the quiet parts")
    highpass: bool | int = Field(True, description="cut rumble below 80 Hz (true), below this many Hz, or not (false)")
    deess: bool = Field(False, description="soften sharp s sounds")
    compress: bool = Field(True, description="gentle speech compression (2:1 over the loudest syllables, "
                           "from 6 dB under the clip's speech level)")
    level: bool = Field(True, description="bring every clip's speech to the same loudness before the mix")
    room_tone: bool = Field(True, description="the clip's own quietest second under joins and cards, "
                            "instead of digital silence (not under a music bed)")

    @model_validator(mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        if value is False or value == "off":
            return {"denoise": "off", "hum": "off", "highpass": False, "compress": False, "level": False,
                    "room_tone": False, "deess": False}
        if value is True or value in ("on", "auto"):
            return {name: f.default for name, f in cls.model_fields.items()}
        if isinstance(value, dict) and isinstance(value.get("hum"), int) and not isinstance(value["hum"], bool):
            return {**value, "hum": str(value["hum"])}
        return value

    @field_validator("highpass", mode="before")
    @classmethod
    def _check_highpass(cls, v: object) -> bool | int:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or (isinstance(v, int) and 20 <= v <= 300):
            return v
        raise ValueError(f"{_shown(v)} is not a highpass setting: give true, false or a frequency from 20 to "
                         "300 Hz, e.g. highpass: 100")

    @property
    def is_off(self) -> bool:
        return (self.denoise == "off" and self.hum == "off" and self.highpass is False and not self.deess
                and not self.compress and not self.level and not self.room_tone)


class ClipSpec(_Model):
    """A piece of raw material: one interview recording, as a file or from the clip library."""

    source: Path | None = Field(None, description="video file, relative to the spec file")
    library: Slug | None = Field(None, description="clip id in the clip library (instead of source)")
    person: str | None = Field(None, description="who speaks (for lower thirds and publish sheets)")
    role: str | None = Field(None, description="their job and workplace")
    language: SpecLanguage | None = Field(None, description="speech language if it differs from the campaign's")
    transcript: Path | None = Field(
        None, description="corrected transcript (SRT) of this clip; default transcripts/<clip id>.srt if it exists"
    )
    focus: float | Literal["left", "centre", "center", "right"] | None = Field(
        None, description="fix the framing of narrow crops: 0 (left edge) to 1 (right edge), or left/centre/right; "
        "default: follow the speaker's face")
    audio: AudioSpec | None = Field(None, description="sound clean-up for this clip; the keys given here change "
                                    "the campaign's audio: settings")

    @field_validator("focus", mode="before")
    @classmethod
    def _check_focus(cls, v: object) -> object:
        words = ("left", "centre", "center", "right")
        if v is None or v in words:
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise ValueError(f"{_shown(v)} is not a framing: give a share of the frame width from 0 (left edge) "
                             "to 1 (right edge), e.g. focus: 0.3, or one of left, centre, right")
        return float(v)


class ClipItem(_Model):
    """A cut of a clip in the sequence: by times (from/to), or by what is said (says)."""

    clip: str = Field(description="clip id from `clips`")
    start: SpecTime = Field(Fraction(0), alias="from", description="where the cut starts in the clip")
    end: SpecTime | None = Field(None, alias="to", description="where the cut ends in the clip (default: its end)")
    says: str | None = Field(None, description="cut by what is said: the passage from the clip's transcript "
                             "(case, punctuation and spacing ignored); '…' or '...' stands for everything between")
    occurrence: int | None = Field(None, ge=1, description="with says: the Nth place the passage is said")
    pad: SpecPad | None = Field(
        None, description="with says: seconds of air before and after the words, or [before, after] "
        "(default 0.15 before, 0.3 after, never into the next word)")
    optional: bool = Field(False, description="may be left out where a channel is too short for everything "
                           "(see overrides: shorten)")
    priority: int | None = Field(None, ge=1, description="for cut-downs (versions with max_duration): 1 is kept "
                                 "longest; items without a priority go first")

    @model_validator(mode="after")
    def _times_or_quote(self) -> ClipItem:
        if self.says is not None:
            if "start" in self.model_fields_set or "end" in self.model_fields_set:
                raise ValueError("give either 'says' (what is said) or 'from'/'to' (times), not both")
            if not self.says.replace("…", "").replace("...", "").strip():
                raise ValueError("'says' is empty: write the words of the passage, e.g. says: \"Hver dag ...\"")
        elif self.occurrence is not None or self.pad is not None:
            raise ValueError("'occurrence' and 'pad' go with 'says'")
        return self

    @property
    def pads(self) -> tuple[Fraction, Fraction] | None:
        """(before, after) air around a quote's words, if the spec set it."""
        return self.pad


class CardItem(_Model):
    """A card (title, end card) in the sequence."""

    card: str = Field(description="card id from `cards`")
    duration: SpecTime | None = Field(None, description="override the card's own duration")
    optional: bool = Field(False, description="may be left out where a channel is too short for everything")
    priority: int | None = Field(None, ge=1, description="for cut-downs: 1 is kept longest")
    keep: bool | None = Field(None, description="for cut-downs: always keep this card (default: true for the "
                              "last card of the sequence, the end card)")


def _item_kind(value: object) -> str | None:
    if isinstance(value, dict):
        if "card" in value:
            return "card"
        return "clip"
    if isinstance(value, (CardItem, ClipItem)):
        return "card" if isinstance(value, CardItem) else "clip"
    return None


SequenceItem = Annotated[
    Annotated[ClipItem, Tag("clip")] | Annotated[CardItem, Tag("card")],
    Discriminator(_item_kind),
]


class CardSpec(_Model):
    """A full-frame card: text centred in the channel's safe area over a colour or picture."""

    lines: list[str] = Field(min_length=1, description="main text, one entry per line (a line break inside an "
                             "entry starts a new line)")
    subline: str | None = Field(None, description="smaller line under the main text (one line; it wraps to fit)")
    url: SpecLink | None = Field(None, description="address shown at the bottom of the card (https://, or http:// "
                                 "with a warning)")

    @field_validator("lines")
    @classmethod
    def _split_lines(cls, v: list[str]) -> list[str]:
        # A YAML block scalar (|) or a "\n" in a line means more lines: lines are lines.
        out = [part.strip() for line in v for part in line.splitlines()]
        out = [line for line in out if line]
        if not out:
            raise ValueError("a card needs at least one line of text")
        return out

    @field_validator("subline")
    @classmethod
    def _one_subline(cls, v: str | None) -> str | None:
        if v is not None and ("\n" in v.strip() or "\r" in v.strip()):
            raise ValueError("the subline is one line (it wraps by itself); put the line break's text in 'lines' "
                             "or join the two parts with a space")
        return v.strip() if v is not None else v

    duration: SpecTime = Field(Fraction(4), description="seconds on screen")
    background: str = Field("#003B5C", description="#RRGGBB colour, or an image file relative to the spec")
    color: SpecColor = Field("#FFFFFF", description="text colour, #RRGGBB")
    logo: Path | None = Field(None, description="logo image (PNG with transparency), relative to the spec")
    qr: bool = Field(True, description="with a url: show a QR code of it, tagged per channel (utm_source)")
    fade: SpecTime = Field(Fraction(1, 2), description="fade-in length in seconds")



class ChannelOverride(_Model):
    """Per-channel changes to a preset; any field of the preset (see `python cli.py channels`)."""

    width: int | None = Field(None, gt=0)
    height: int | None = Field(None, gt=0)
    fit: Literal["crop", "pad", "pad-blur"] | None = Field(
        None, description="crop to fill the frame, pad with black, or pad over a blurred fill of the same picture")
    fps: SpecRate | None = Field(None, description="fixed output frame rate (29.97 is read as 30000/1001)")
    crf: int | None = Field(None, ge=0, le=51)
    x264_preset: str | None = None
    max_video_kbps: int | None = Field(None, gt=0)
    audio_kbps: int | None = Field(None, gt=0)
    loudness_lufs: float | None = Field(None, le=0)
    true_peak_dbtp: float | None = Field(None, le=0)
    max_duration: float | None = Field(None, gt=0)
    captions: Literal["sidecar", "burn", "both"] | None = None
    caption_line_chars: int | None = Field(None, ge=10, le=60)
    caption_style: Literal["standard", "social", "highlight"] | None = Field(
        None, description="burned captions: standard (two lines), social (one short line, larger type) or "
        "highlight (social, with the word being said lit up); sidecar files always follow the standard rules")
    poster: bool | None = None
    shorten: bool | None = Field(None, description="leave out optional sequence items (last first) until the "
                                 "campaign fits this channel's length limit")

    def changes(self) -> dict[str, object]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class MusicSpec(_Model):
    """A music bed under the whole campaign."""

    source: Path = Field(description="music file (any audio ffmpeg reads), relative to the spec")
    level: float = Field(-14.0, le=0, description="music loudness relative to the speech, LU (before ducking)")
    fade_in: SpecTime = Field(Fraction(1), description="fade-in at the start, seconds")
    fade_out: SpecTime = Field(Fraction(2), description="fade-out at the end, seconds")
    duck: bool = Field(True, description="duck the music under speech (sidechain compression keyed by the voice)")


class SubtitleOptions(_Model):
    """How captions are made and delivered."""

    enabled: bool = Field(True, description="false: no captions at all (not advised: WCAG 2.1, 1.2.2)")
    burn_in: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: burn in where the platform takes no caption upload"
    )
    sidecar: list[Literal["srt", "vtt"]] = Field(["srt", "vtt"], description="sidecar formats where uploads are taken")
    glossary: list[str] = Field([], description="names and places Whisper should spell right")
    translate: list[Literal["en"]] = Field([], description="extra caption languages made by Whisper's translate task")
    burn_translation: bool = Field(False, description="also burn the first translation under the main line")
    model: str | None = Field(None, description="Whisper model: a name (base, large-v3) or a CTranslate2 model folder")


class VersionSpec(_Model):
    """Another edit of the campaign: its own sequence, or the main one cut down to a length."""

    title: str | None = Field(None, description="title of this version (publish sheets, posters)")
    sequence: list[SequenceItem] | None = Field(None, min_length=1, description="what plays (default: the main "
                                                "sequence)")
    max_duration: SpecTime | None = Field(None, description="cut the sequence down to at most this many seconds: "
                                          "kept cards first, then items by priority, in their original order")
    channels: list[str] | None = Field(None, min_length=1, description="channels of this version (default: the "
                                       "campaign's)")
    cards: dict[Slug, CardSpec] = Field({}, description="cards that differ in this version, by id")



class BrandColors(_Model):
    background: SpecColor = Field("#003B5C", description="cards' background")
    text: SpecColor = Field("#FFFFFF", description="text on cards, lower thirds and captions")
    accent: SpecColor = Field("#FFCC00", description="the lower third's bar and the lit word of highlight captions")


class BrandFonts(_Model):
    bold: Path | None = Field(None, description="font file (TTF/OTF) for titles, names and captions, relative to "
                              "the brand file (a family name is not enough)")
    regular: Path | None = Field(None, description="font file for sublines and roles, relative to the brand file")


class BrandLogo(_Model):
    file: Path = Field(description="logo image (PNG with transparency), relative to the brand file")
    on: Literal["all", "end", "none"] = Field("end", description="which cards show it where they name no logo "
                                               "of their own: all, the last card of the sequence, or none")


class BrandCaptions(_Model):
    social: Literal["social", "highlight"] = Field(
        "social", description="the caption style of the channels whose default is social (Reels, TikTok, Shorts)")
    box: bool = Field(True, description="a box behind burned captions (false: an outline)")
    box_opacity: float = Field(1.0, ge=0.5, le=1, description="how opaque the box is; the text must keep a 4.5:1 "
                               "contrast against the box over white footage")


class BrandLowerThird(_Model):
    background: SpecColor | None = Field(None, description="default: black at 67%")
    text: SpecColor | None = Field(None, description="default: the brand's text colour")
    accent: SpecColor | None = Field(None, description="the bar beside the name; default: the brand's accent")


class BrandSpec(_Model):
    """A municipality's visual profile, shared by its campaigns (``brand: ../brand/x.yml``)."""

    name: str | None = Field(None, description="whose brand this is")
    colors: BrandColors = Field(BrandColors(), description="#RRGGBB colours")
    fonts: BrandFonts = Field(BrandFonts(), description="font files (default: Source Sans Pro, shipped)")
    logo: BrandLogo | None = Field(None, description="logo for cards")
    captions: BrandCaptions = Field(BrandCaptions(), description="burned captions")
    lower_third: BrandLowerThird = Field(BrandLowerThird(), description="the name strap")


@dataclass(frozen=True)
class Brand:
    """A brand file, validated, with its files resolved (absolute paths)."""

    spec: BrandSpec
    path: Path | None = None  #: the brand file (None: the defaults)
    bold: Path | None = None
    regular: Path | None = None
    logo: Path | None = None

    @property
    def typeface(self):
        from .fonts import Typeface

        return Typeface(str(self.bold) if self.bold else None, str(self.regular) if self.regular else None)


def _version_name(name: str) -> str:
    # 'main' is the main film (render -V main); 'draft' the folder of quick looks beside the versions' folders
    if name in ("main", "draft"):
        what = "the main film (render -V main)" if name == "main" else "the folder of draft renders"
        raise ValueError(f"'{name}' cannot name a version: it is {what}; choose another name")
    return name


#: A version's name: a slug, and neither 'main' nor 'draft'.
VersionName = Annotated[Slug, AfterValidator(_version_name)]


class CampaignSpec(_Model):
    """A recruitment video campaign: what plays, and on which channels."""

    campaign: Slug = Field(description="slug naming the output folder (a-z, 0-9, -)")
    title: str = Field(description="campaign title")
    description: str | None = Field(None, description="text for the platforms' description fields (publish sheets)")
    hashtags: list[str] = Field([], description="hashtags for the publish sheets")
    language: SpecLanguage = Field("no", description="speech language (Whisper code: no, nb, nn, en, ...)")
    clips: dict[Slug, ClipSpec] = Field(description="raw material by id (a-z, 0-9, -)")
    sequence: list[SequenceItem] = Field(min_length=1, description="what plays, in order")
    cards: dict[Slug, CardSpec] = Field({}, description="cards by id (a-z, 0-9, -)")
    channels: list[str] = Field(min_length=1, description="channel ids (python cli.py channels)")
    overrides: dict[str, ChannelOverride] = Field({}, description="per-channel preset changes")
    subtitles: SubtitleOptions = Field(SubtitleOptions(), description="caption options")
    lower_thirds: bool = Field(True, description="name and role of each person at their first appearance")
    music: MusicSpec | None = Field(None, description="music bed under the campaign, ducked under speech")
    brand: Path | None = Field(None, description="brand file (colours, fonts, logo, caption look) shared by the "
                               "municipality's campaigns, relative to the spec (or render --brand FILE)")
    audio: AudioSpec = Field(AudioSpec(), description="sound clean-up of every clip (denoise, hum, level match, "
                             "room tone); off: the sound as recorded")
    library: Path | None = Field(None, description="clip library folder, relative to the spec (or $REKRUTT_LIBRARY)")
    output: Path = Field(Path("out"), description="output folder, relative to the spec")
    review_language: Literal["nb", "en"] = Field("nb", description="language of the review page's own words")
    versions: dict[VersionName, VersionSpec] = Field({}, description="further edits of the same campaign (episodes, "
                                             "cut-downs), each rendered to <output>/<campaign>/<version>/")



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
                           _display_path(loc), message, hint)

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
        from .reframe import FOCUS_WORDS

        value = self.spec.clips[clip_id].focus
        return FOCUS_WORDS[value] if isinstance(value, str) else value

    def item_length(self, item: ClipItem | CardItem) -> Time:
        """A sequence item's length in seconds (before rounding to frames)."""
        if isinstance(item, ClipItem):
            start, end = self.cut_bounds(item)
            return end - start
        return item.duration or self.spec.cards[item.card].duration

    def sequence_for(self, channel: str | None) -> list[ClipItem | CardItem]:
        """The sequence as a channel plays it: optional items dropped (last first) where the channel
        asks to be shortened to fit its length limit."""
        items = list(self.spec.sequence)
        if channel is None:
            return items
        preset = self.preset(channel)
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
        from .cta import tracked_url

        urls = [c.url for c in self.spec.cards.values() if c.url]
        return tracked_url(urls[-1], channel, self.spec.campaign) if urls else None

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


# --------------------------------------------------------------------------- validation

_HINTS = {
    "missing": "add this key",
    "extra_forbidden": "remove it or fix its spelling",
    "string_type": "write it as text",
    "int_parsing": "write a whole number",
    "float_parsing": "write a number",
    "list_type": "write a list, e.g. [a, b]",
    "dict_type": "write a mapping of key: value lines",
    "too_short": "add at least one entry",
}


def _unwrap(annotation: object) -> object:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def _known_keys(loc: Loc, root: type[BaseModel] | None = None) -> list[str]:
    """Field names (aliases) allowed at the mapping that holds ``loc[-1]`` (in a campaign spec, or ``root``)."""
    current: object = root or CampaignSpec
    for part in loc[:-1]:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            if part not in fields:
                return []
            current = fields[part].annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
        elif typing.get_origin(current) in (Union, types.UnionType):
            options = {
                "clip": ClipItem, "card": CardItem,
            }
            if part in options:
                current = options[part]
            else:
                return []
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _display_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Collector:
    """Collects problems with positions from a located document."""

    def __init__(self, file: Path, located: Located | None):
        self.file = str(file)
        self.located = located
        self.problems: list[SpecProblem] = []

    def add(self, loc: Loc, message: str, hint: str = "", at_key: bool = False) -> None:
        mark = self.located.mark(loc, at_key) if self.located else None
        self.problems.append(
            SpecProblem(self.file, mark.line if mark else None, mark.column if mark else None,
                        _display_path(loc), message, hint)
        )


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "expected one of: " + ", ".join(sorted(options)) if options else ""


def _shape_problems(collector: _Collector, error: ValidationError, root: type[BaseModel] | None = None) -> None:
    """Pydantic's errors as problems in the spec's words: the key path as written, one message a place.

    A value that may take several forms (``focus: 0.3`` or ``left``) fails once per form, each with
    pydantic's name for the form in its loc (``function-before[...]``, ``literal[...]``): those are
    dropped, and a place keeps the project's own message where one of the forms gave one.
    """
    data = collector.located.data if collector.located is not None else None
    found: dict[tuple, list[dict]] = {}
    for err in error.errors():
        # The discriminated union adds its tag ('clip'/'card') to the loc: drop it.
        raw = tuple(err["loc"])
        loc = _user_loc(_strip_tags(raw), data, err["type"])
        found.setdefault(loc, []).append({**err, "raw": raw})
    for loc, errs in found.items():
        own = [e for e in errs if e["type"] in ("spec_time", "value_error")]
        if own:
            errs = own[:1]
        elif len(errs) > 1:  # every form failed on pydantic's own words: say them together
            first = errs[0]
            errs = [{**first, "msg": "; or ".join(dict.fromkeys(e["msg"] for e in errs))}]
        err = errs[0]
        kind = err["type"]
        if loc[-1:] == ("[key]",):  # a mapping's key (a clip, card or version id) failed its rule: point at it
            collector.add(loc[:-1], err["msg"].removeprefix("Value error, "), _HINTS.get(kind, ""), at_key=True)
        elif kind == "extra_forbidden":
            known = _known_keys(err["raw"], root)
            collector.add(loc, f"unknown key '{loc[-1]}'", _did_you_mean(str(loc[-1]), known), at_key=True)
        elif kind == "missing":
            collector.add(loc, "this key is required", _HINTS["missing"])
        else:
            message = err["msg"].removeprefix("Value error, ")
            hint = (err.get("ctx") or {}).get("hint") or _HINTS.get(kind, "")
            if collector.located is not None and loc + ("says",) in collector.located.values:
                loc = loc + ("says",)  # an item-level rule about a quote: point at the quote
            collector.add(loc, message, hint)


def _user_loc(loc: tuple, data: object, kind: str) -> tuple:
    """The part of a pydantic loc that the user wrote: keys and list positions found in ``data``.

    Anything else in it names one of pydantic's forms of a value (``function-before[_time(), fraction]``,
    ``list[...]``, ``literal['left','right']``) and is dropped; a missing key stays (it is not there yet).
    """
    out: list = []
    current = data
    for i, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            current = current[part]
            out.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            out.append(part)
        elif isinstance(current, dict) and i == len(loc) - 1 and kind == "missing":
            out.append(part)
        elif data is None:
            out.append(part)
    return tuple(out)


def _strip_tags(loc: tuple) -> tuple:
    """Drop the union tag pydantic puts after ``sequence[i]`` (it is not a key the user wrote),
    in the main sequence and in versions' sequences."""
    for at in range(len(loc) - 2):
        if loc[at] == "sequence" and isinstance(loc[at + 1], int) and loc[at + 2] in ("clip", "card"):
            return loc[:at + 2] + loc[at + 3:]
    return loc


def _read(path: Path) -> tuple[Located, _Collector]:
    """The spec's YAML with positions; syntax errors, alias bombs and duplicate keys as problems."""
    try:
        located = load_file(path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError([SpecProblem(
            str(path), mark.line + 1 if mark else None, mark.column + 1 if mark else None, "",
            f"YAML syntax error: {exc.problem or exc}", "fix the indentation or quoting at this place")]) from None
    except YamlLimitError as exc:
        raise SpecError([SpecProblem(
            str(path), exc.mark.line if exc.mark else None, exc.mark.column if exc.mark else None, "", str(exc),
            "write the values out, or use fewer nested aliases (&name / *name)")]) from None
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        raise SpecError([SpecProblem(str(path), None, None, "", f"cannot read YAML: {exc}",
                                     "save the file as UTF-8 YAML")]) from None
    collector = _Collector(path, located)
    for dup in located.duplicates:
        what = "clip id" if dup.loc[:1] == ("clips",) and len(dup.loc) == 2 else \
            "card id" if dup.loc[:1] == ("cards",) and len(dup.loc) == 2 else "key"
        collector.problems.append(SpecProblem(
            str(path), dup.again.line, dup.again.column, _display_path(dup.loc),
            f"{what} '{dup.loc[-1]}' is given twice (line {dup.first.line} and line {dup.again.line}); "
            "only one can count", "remove one, or give the second another name"))
    return located, collector


#: Placeholders that let reference checks run on a spec whose top-level values failed the shape check.
_PLACEHOLDERS: dict[str, object] = {"campaign": "x", "title": "x", "clips": {}, "sequence": [{"card": "_"}],
                                    "channels": ["youtube"]}


def _salvage(data: dict, error: ValidationError) -> tuple[CampaignSpec | None, set[tuple]]:
    """The spec without the entries that failed the shape check (so the reference checks can still run).

    Returns the salvaged spec (None when nothing sensible is left) and the (collection, id) pairs
    that were dropped, so that references to them are not reported as unknown.
    """
    data = dict(data)
    dropped: set[tuple] = set()
    for _ in range(4):
        for err in error.errors():
            loc = _strip_tags(tuple(err["loc"]))
            if not loc:
                return None, dropped
            top = loc[0]
            if len(loc) >= 2 and top in ("clips", "cards", "overrides") and isinstance(data.get(top), dict):
                data[top] = {k: v for k, v in data[top].items() if k != loc[1]}
                dropped.add((top, loc[1]))
            elif len(loc) >= 2 and top in ("sequence", "channels", "hashtags") and isinstance(data.get(top), list) \
                    and isinstance(loc[1], int):
                items = list(data[top])
                if loc[1] < len(items):
                    items[loc[1]] = None
                data[top] = items
                dropped.add((top, loc[1]))
            elif top in _PLACEHOLDERS:
                data[top] = _PLACEHOLDERS[top]
                dropped.add((top, None))
                dropped.add(("placeholder", "_"))
            else:
                data.pop(top, None)
                dropped.add((top, None))
        for top in ("sequence", "channels", "hashtags"):
            if isinstance(data.get(top), list):
                data[top] = [x for x in data[top] if x is not None]
                if not data[top] and top in _PLACEHOLDERS:
                    data[top] = _PLACEHOLDERS[top]
                    dropped.add(("placeholder", "_"))
        try:
            return CampaignSpec.model_validate(data), dropped
        except ValidationError as again:
            error = again
    return None, dropped


def load_campaign(path: str | Path, *, output: Path | None = None, check_media: bool = True,
                  today: dt.date | None = None, channels: tuple[str, ...] | list[str] | None = None,
                  versions: tuple[str, ...] | list[str] | None = None, cache_dir: Path | None = None,
                  model: str | None = None, brand: Path | None = None) -> Campaign:
    """Read and validate a campaign spec; raise :class:`SpecError` listing every problem.

    ``output`` overrides the spec's output folder. With ``check_media`` (the default)
    every media file is probed and cuts are checked against clip lengths. ``channels``
    selects some of the spec's channels (``render -c``): unknown ones are problems, and
    only the selected channels' limits are checked; ``versions`` selects versions (``render -V``;
    "main" is the main film). Quotes (``says:``) are found in the clips' transcripts, transcribing
    through the cache in ``cache_dir`` with ``model`` where needed. Problems of the shape (types,
    keys) and of the references (files, ids, cuts) are reported together where the rest of the
    spec allows it. Things worth a look that do not stop a render are in ``warnings``.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError([SpecProblem(str(path), None, None, "", "spec file not found",
                                     "check the path (python cli.py validate campaigns/<name>.yml)")])
    located, collector = _read(path)
    if not isinstance(located.data, dict):
        collector.add((), "the spec must be a mapping of keys (campaign:, title:, clips:, ...)",
                      "see campaigns/ for an example, or python cli.py schema")
        raise SpecError(collector.problems)
    try:
        spec = CampaignSpec.model_validate(located.data)
        dropped: set[tuple] = set()
    except ValidationError as exc:
        _shape_problems(collector, exc)
        spec, dropped = _salvage(located.data, exc)
        if spec is None:
            raise SpecError(collector.problems) from None

    selected = tuple(channels) if channels else None
    campaign = Campaign(spec=spec, path=path.resolve(), selected=selected, located=located,
                        selected_versions=tuple(versions) if versions else None,
                        output_root=output if output is not None else (path.parent / spec.output))
    if selected and not any(top == "channels" for top, _ in dropped):
        _check_selected(collector, campaign)
    if versions:
        for name in versions:
            if name != "main" and name not in spec.versions:
                collector.add(("versions",), f"unknown version '{name}' (asked for with -V)",
                              _did_you_mean(name, ["main", *spec.versions]))
    library = _check_library(collector, campaign)
    campaign = dataclasses.replace(campaign, library=library)
    _check_consent(collector, campaign, today or dt.date.today())
    brand_path = brand if brand is not None else (campaign.resolve(spec.brand) if spec.brand else None)
    if brand_path is not None:
        loaded = load_brand(Path(brand_path), collector, () if brand is not None else ("brand",))
        if loaded is not None:
            campaign = dataclasses.replace(campaign, brand=loaded, spec=_apply_brand(spec, loaded))
            spec = campaign.spec
    shape_failed = bool(collector.problems) or bool(dropped)
    before = len(collector.problems)
    media = _check_references(collector, campaign, check_media, dropped)
    corrected = _check_transcripts(collector, campaign, media) if check_media else {}
    if dropped:
        # a reference to an entry that failed its shape check is not a second problem
        collector.problems[before:] = [p for p in collector.problems[before:]
                                       if not any(f"'{ident}'" in p.message for _, ident in dropped if ident)]
    if collector.problems or shape_failed:
        raise SpecError(collector.problems)
    warnings = _Collector(path, located)
    warnings.problems += [w for cue_file in corrected.values() for w in cue_file.warnings]
    campaign = dataclasses.replace(campaign, media=media, corrected=corrected)
    if check_media:
        from .cache import Cache
        from .edit import quote_items, resolve_quotes

        cache = Cache(cache_dir)
        if quote_items(spec):
            from .transcribe import model_for, shared_transcriber

            log.info("finding the quoted passages in the clips' transcripts (cached after the first time)")
            campaign, problems = resolve_quotes(campaign, shared_transcriber(cache, model_for(spec, model)))
            if problems:
                raise SpecError(problems)
        campaign = _cut_versions(collector, campaign, cache)
        if collector.problems:
            raise SpecError(collector.problems)
        _check_lengths(collector, campaign)
        for name in campaign.version_names():
            _check_lengths(collector, campaign.for_version(name), ("versions", name))
        if collector.problems:
            raise SpecError(collector.problems)
        _check_card_text(collector, warnings, campaign)
        if collector.problems:
            raise SpecError(collector.problems)
        _media_warnings(warnings, campaign)
    _text_warnings(warnings, campaign)
    _link_warnings(warnings, campaign)
    return dataclasses.replace(campaign, warnings=tuple(warnings.problems))


def _holds_link(annotation: object) -> bool:
    """Whether a field's type is (or may be) a :data:`SpecLink`."""
    return annotation == SpecLink or any(_holds_link(a) for a in typing.get_args(annotation)
                                         if typing.get_origin(annotation) is not Annotated)


def links(model: BaseModel, loc: Loc = ()) -> typing.Iterator[tuple[Loc, str]]:
    """Every link a spec (or any of its models) carries, with its key path: every field typed SpecLink."""
    for name, info in type(model).model_fields.items():
        value, at = getattr(model, name), loc + (info.alias or name,)
        if isinstance(value, str) and _holds_link(info.annotation):
            yield at, value
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in [(None, value), *children]:
            if isinstance(child, BaseModel):
                yield from links(child, at if key is None else at + (key,))


def _link_warnings(w: _Collector, campaign: Campaign) -> None:
    """Plain http links: they work, but a phone's camera app warns about them and they can be altered on the way."""
    for loc, link in links(campaign.spec):
        if insecure(link):
            w.add(loc, f"'{link}' is not encrypted (http://): phones warn about such links and networks can "
                  "alter the page on the way", "write https:// if the site has it")


def _check_card_text(c: _Collector, w: _Collector, campaign: Campaign) -> None:
    """Card text that cannot be shown whole on a channel's frame is a problem at its line, with the most
    of it that fits on each frame; a word broken between letters to fit a line is a warning, once."""
    from .cards import card_texts, lines_that_fit, most_that_fits, text_fit

    too_long: dict[Loc, tuple[str, dict[str, tuple[int, str]]]] = {}  # loc -> (text, channel -> (most, size))
    broken: dict[Loc, dict[str, list[str]]] = {}  # loc -> word -> channels
    done: set[tuple[str, str]] = set()
    for edition in campaign.editions():
        own = campaign.spec.versions[edition.version].cards if edition.version else {}
        for card_id in dict.fromkeys(i.card for i in edition.spec.sequence if isinstance(i, CardItem)):
            card = edition.spec.cards.get(card_id)
            if card is None:
                continue
            prefix = ("versions", edition.version, "cards", card_id) if card_id in own else ("cards", card_id)
            for name in edition.channels:
                if (card.model_dump_json(), name) in done:
                    continue  # the same card on the same channel in another version
                done.add((card.model_dump_json(), name))
                preset = edition.preset(name)
                fit = text_fit(edition, card, preset)
                texts = card_texts(card)
                if fit.fits:
                    for word in fit.broken:
                        place = next((p for p, t in texts if word in t.split()), ("lines", 0))
                        broken.setdefault(_card_loc(campaign, prefix, place), {}).setdefault(word, []).append(name)
                    continue
                # blame the longest text: the most of it that fits beside the rest of the card; where
                # even none of it would fit, the card has more lines than fit
                size = f"{preset.width}x{preset.height}"
                place, text = max(texts, key=lambda pt: len(pt[1]))
                most = most_that_fits(edition, card, preset, place)
                if most:
                    too_long.setdefault(_card_loc(campaign, prefix, place), (text, {}))[1][name] = (most, size)
                else:
                    too_long.setdefault(prefix + ("lines",), ("\n".join(card.lines), {}))[1][name] = \
                        (lines_that_fit(edition, card, preset), size)
    for loc, (text, per_channel) in too_long.items():
        groups: dict[tuple[int, str], list[str]] = {}
        for name, key in per_channel.items():
            groups.setdefault(key, []).append(name)
        fits = [f"{most:,} on {', '.join(names)} ({size})" for (most, size), names in sorted(groups.items())]
        if loc[-1] == "lines":  # too many lines
            fits[0] = fits[0].replace(" on ", " fit on ", 1)
            c.add(loc, f"the card's {len(text.splitlines())} lines cannot be shown together: at most "
                  f"{', '.join(fits)}", "put fewer lines on the card, or spread them over two cards")
            continue
        what = {"subline": "the subline", "url": "the address"}.get(str(loc[-1]), "this line")
        one_word = len(text.split()) == 1
        fits[0] = fits[0].replace(" on ", " characters fit on ", 1)
        c.add(loc, f"{what} ({len(text):,} characters{', one word' if one_word else ''}) cannot be shown whole "
              f"on the card: at most {', '.join(fits)}", "break the word with spaces or hyphens, or shorten it"
              if one_word else "shorten it, or put the rest on another card")
    for loc, words in broken.items():
        for word, names in words.items():
            w.add(loc, f"a word of {len(word)} letters ({word[:20]}{'...' if len(word) > 20 else ''}) is too long "
                  f"for a line of the card on {', '.join(names)}; it is broken between letters with a hyphen",
                  "shorten it, or write a hyphen where it may break")


def _card_loc(campaign: Campaign, prefix: Loc, place: tuple) -> Loc:
    """Where a card's text was written: a line of ``lines`` after splitting is the entry it came from."""
    if place[0] != "lines":
        return prefix + place
    data: object = campaign.located.data if campaign.located else None
    for part in prefix + ("lines",):
        data = data.get(part) if isinstance(data, dict) else None
    if not isinstance(data, list):
        return prefix + place
    n = 0
    for entry, value in enumerate(data):
        n += len([p for p in str(value).splitlines() if p.strip()])
        if place[1] < n:
            return prefix + ("lines", entry)
    return prefix + ("lines",)


def _text_warnings(w: _Collector, campaign: Campaign) -> None:
    """Text that no font here can show (it would be drawn as empty boxes): emoji, scripts without a font."""
    from .fonts import cannot_show

    spec = campaign.spec
    texts: list[tuple[Loc, str, bool]] = [(("title",), spec.title, True)]
    for card_id, card in {**spec.cards, **{k: c for v in spec.versions.values() for k, c in v.cards.items()}}.items():
        texts += [(("cards", card_id, "lines", i), line, True) for i, line in enumerate(card.lines)]
        if card.subline:
            texts.append((("cards", card_id, "subline"), card.subline, False))
    for clip_id, clip in spec.clips.items():
        texts += [(("clips", clip_id, key), value, key == "person") for key, value in
                  (("person", clip.person), ("role", clip.role)) if value]
    for loc, text, bold in texts:
        missing = cannot_show(text, bold, campaign.brand.typeface)
        if missing:
            emoji = any(unicodedata.category(ch) == "So" for ch in missing)
            w.add(loc, f"no font here can show {' '.join(missing)} (it would be drawn as an empty box)",
                  "leave the emoji out" if emoji else
                  "give a font that has these letters (REKRUTT_FONT / REKRUTT_FONT_BOLD, or the brand kit)")


def load_brand(path: Path, spec_collector: _Collector | None = None, loc: Loc = ()) -> Brand | None:
    """Read and check a brand file; its problems are the brand file's (file:line:column), raised at once.

    A file that is missing is a problem of the spec (at ``loc``) when ``spec_collector`` is given.
    """
    if not path.is_file():
        if spec_collector is not None:
            spec_collector.add(loc, f"brand file not found: {path}", "check the path (relative to the spec), "
                               "or leave brand: out for the defaults")
            return None
        raise SpecError([SpecProblem(str(path), None, None, "", "brand file not found", "check the path")])
    located, collector = _read(path)
    data = located.data if located.data is not None else {}  # a file of comments only: all defaults
    if not isinstance(data, dict):
        collector.add((), "a brand file is a mapping of keys (colors:, fonts:, logo:, ...)",
                      "see brand/ for an example, or python cli.py schema --brand")
        raise SpecError(collector.problems)
    try:
        spec = BrandSpec.model_validate(data)
    except ValidationError as exc:
        _shape_problems(collector, exc, BrandSpec)
        raise SpecError(collector.problems) from None
    if collector.problems:
        raise SpecError(collector.problems)
    base = path.parent

    def resolve(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else (base / p)).resolve()

    bold, regular = resolve(spec.fonts.bold), resolve(spec.fonts.regular)
    logo = resolve(spec.logo.file) if spec.logo else None
    for key, file in (("bold", bold), ("regular", regular)):
        if file is None:
            continue
        if not file.is_file():
            collector.add(("fonts", key), f"font file not found: {file}", "give the path of a TTF or OTF file, "
                          "relative to the brand file")
            continue
        try:
            from PIL import ImageFont

            ImageFont.truetype(str(file), 12)
        except OSError as exc:
            collector.add(("fonts", key), f"{file.name} is not a font file Pillow can open ({exc})",
                          "give a TTF or OTF file")
    if logo is not None and not logo.is_file():
        collector.add(("logo", "file"), f"logo file not found: {logo}", "give the path of a PNG, relative to "
                      "the brand file")
    elif logo is not None:
        problem = image_problem(logo, "logo") or (verify_image(logo), "save it again as PNG")
        if problem[0]:
            collector.add(("logo", "file"), *problem)
    ratio = caption_contrast(spec)
    if ratio < 4.5:
        where = ("captions", "box_opacity") if "box_opacity" in spec.captions.model_fields_set else ("colors", "text")
        collector.add(where, f"burned captions would have a contrast of {ratio:.1f}:1 against their box over "
                      "white footage (WCAG asks for 4.5:1)", "use a lighter text colour or a more opaque box")
    if collector.problems:
        raise SpecError(collector.problems)
    return Brand(spec, path.resolve(), bold, regular, logo)


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def caption_contrast(brand: BrandSpec) -> float:
    """WCAG contrast of caption text against its black box at the brand's opacity over white footage
    (the worst case; an outline without a box is judged as a box of the outline's full opacity)."""
    opacity = brand.captions.box_opacity if brand.captions.box else 1.0
    grey = round(255 * (1 - opacity))
    box = f"#{grey:02X}{grey:02X}{grey:02X}"
    a, b = sorted((_luminance(brand.colors.text), _luminance(box)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _apply_brand(spec: CampaignSpec, brand: Brand) -> CampaignSpec:
    """Cards take the brand's colours and logo where they set none of their own."""
    colors = brand.spec.colors
    on = brand.spec.logo.on if brand.spec.logo else "none"
    last = {seq[-1].card for seq in [spec.sequence, *(v.sequence for v in spec.versions.values() if v.sequence)]
            if seq and isinstance(seq[-1], CardItem)}

    def branded(card_id: str, card: CardSpec) -> CardSpec:
        update: dict[str, object] = {}
        if "background" not in card.model_fields_set:
            update["background"] = colors.background
        if "color" not in card.model_fields_set:
            update["color"] = colors.text
        if "logo" not in card.model_fields_set and brand.logo is not None and (
                on == "all" or (on == "end" and card_id in last)):
            update["logo"] = brand.logo
        return card.model_copy(update=update) if update else card

    versions = {name: v.model_copy(update={"cards": {k: branded(k, c) for k, c in v.cards.items()}})
                for name, v in spec.versions.items()}
    return spec.model_copy(update={"cards": {k: branded(k, c) for k, c in spec.cards.items()},
                                   "versions": versions})


def _cut_versions(c: _Collector, campaign: Campaign, cache) -> Campaign:
    """Each version's sequence: its own or the main one, cut down to its max_duration."""
    from .edit import cut_down

    cuts: dict[str, tuple] = {}
    for name, version in campaign.spec.versions.items():
        items = list(version.sequence or campaign.spec.sequence)
        length = sum((campaign.item_length(it) for it in items), Fraction(0))
        if version.max_duration is not None and length > version.max_duration:
            made = cut_down(campaign, items, version.max_duration, cache)
            if isinstance(made, str):
                c.add(("versions", name, "max_duration"), made,
                      "raise max_duration, shorten the kept cards, or set keep: false on one")
                continue
            items, length = made
            log.info("version %s: %.2f s (of at most %g s), %d item(s)", name, float(length),
                     float(version.max_duration), len(items))
        cuts[name] = (tuple(items), length)
    return dataclasses.replace(campaign, version_cuts=cuts)


def _check_selected(c: _Collector, campaign: Campaign) -> None:
    """Channels asked for on the command line: each must be one of the spec's channels."""
    listed = list(campaign.spec.channels)
    for name in campaign.selected or ():
        if name in listed:
            continue
        if name in channels.PRESETS:
            c.add(("channels",), f"channel '{name}' (asked for with -c) is not one of this campaign's channels",
                  f"add it to 'channels', or choose from: {', '.join(listed)}")
        else:
            c.add(("channels",), f"unknown channel '{name}' (asked for with -c)",
                  _did_you_mean(name, list(channels.PRESETS)))


#: A fill-crop that enlarges the picture more than this looks soft and blocky.
MAX_UPSCALE = 2.5
#: A fill-crop that keeps less than this share of the source's height (a square or portrait clip
#: in a wide frame) turns a talking head into a forehead-to-chin close-up. Narrowing the width
#: (16:9 to 9:16) is the normal case the face-following crop is made for, and is not warned about.
MIN_KEPT_HEIGHT = 0.7


def _media_warnings(w: _Collector, campaign: Campaign) -> None:
    """Things that render, but that a user should hear about before publishing."""
    used = dict.fromkeys(item.clip for item in campaign.spec.sequence if isinstance(item, ClipItem))
    for clip_id in used:
        info = campaign.media.get(clip_id)
        if info is None:
            continue
        loc = ("clips", clip_id)
        if not info.has_audio:
            w.add(loc, f"clip '{clip_id}' has no sound: its cuts play silence and get no captions",
                  "use the recording with its sound, or mark the speech in the cards")
        if info.streams_disagree:
            w.add(loc, f"{info.path.name}: the picture ends at {float(info.video_end or 0):.2f} s but the sound "
                  f"at {float(info.audio_end or 0):.2f} s (a damaged or cut-off file?); the clip is treated as "
                  f"{float(info.duration):.2f} s long", "re-export or copy the file again")
        enlarged: dict[str, tuple[Fraction, Fraction]] = {}
        for name in _all_channels(campaign):
            preset = campaign.preset(name)
            if preset.fit != "crop" or not info.width or not info.height:
                continue
            src_w = info.width * info.sample_aspect
            scale = max(Fraction(preset.width) / src_w, Fraction(preset.height, info.height))
            kept_height = min(Fraction(1), Fraction(preset.height) / scale / info.height)
            if scale > MAX_UPSCALE or kept_height < MIN_KEPT_HEIGHT:
                enlarged[name] = (scale, kept_height)
        if enlarged:
            worst = max(s for s, _ in enlarged.values())
            least = min(k for _, k in enlarged.values())
            names = ", ".join(enlarged)
            w.add(loc, f"clip '{clip_id}' ({info.width}x{info.height}) is enlarged up to {float(worst):.1f}x and keeps "
                  f"{float(least) * 100:.0f}% of its height on {names}",
                  "use a sharper recording, or show all of it with overrides: {CHANNEL: {fit: pad-blur}} for "
                  f"{names}")


def _all_channels(campaign: Campaign) -> list[str]:
    """The channels made in this run, the main film's and the versions'."""
    return list(dict.fromkeys(key.channel for key in campaign.outputs()))


def _check_library(c: _Collector, campaign: Campaign) -> dict[str, LibraryClip]:
    """Resolve library clips (their consent is checked by _check_consent)."""
    spec = campaign.spec
    wanted = {cid: clip for cid, clip in spec.clips.items() if clip.library is not None}
    if not wanted:
        return {}
    folder = library_dir(spec.library, campaign.base_dir)
    if folder is None:
        for cid in wanted:
            c.add(("clips", cid, "library"), "no clip library is set",
                  "add 'library: path/to/library' to the spec, or set REKRUTT_LIBRARY")
        return {}
    found: dict[str, LibraryClip] = {}
    for cid, clip in wanted.items():
        if clip.source is not None:
            c.add(("clips", cid, "source"), "give either 'source' or 'library', not both", "remove one")
            continue
        try:
            entry = load_clip(folder, clip.library)
        except ClipNotFound:
            known = [p.stem for p in folder.glob("*.yml")] if folder.is_dir() else []
            c.add(("clips", cid, "library"), f"no clip '{clip.library}' in the library {folder}",
                  _did_you_mean(clip.library, known) or "add it with: python cli.py clips add FILE --id ID")
            continue
        except SpecError as exc:
            c.problems.extend(exc.problems)
            continue
        if entry.video is None:
            c.add(("clips", cid, "library"), f"library clip '{clip.library}' has no video file beside "
                  f"{entry.meta_path}", "put the video there, or fix 'file:' in the metadata")
            continue
        found[cid] = entry
    return found


def _check_consent(c: _Collector, campaign: Campaign, today: dt.date) -> None:
    """The consent of everyone in a library clip, for every output of the run that may show them.

    Iterates over :meth:`Campaign.outputs` (what the run renders), each with the clips of the
    sequence it is made from: a version's own, or the main one. A cut-down or a shortened channel
    plays a subset of those, so a clip is checked wherever it may play, whatever the cut keeps.
    """
    spec = campaign.spec
    uses: dict[str, list[tuple[str, str]]] = {}  # clip id -> (which version, channel) that may show it
    for key in campaign.outputs():
        if key.channel not in channels.PRESETS:
            continue  # an unknown channel is reported by _check_references
        version = spec.versions.get(key.version) if key.version else None
        items = (version.sequence if version is not None else None) or spec.sequence
        for cid in dict.fromkeys(item.clip for item in items if isinstance(item, ClipItem)):
            if cid in campaign.library:
                uses.setdefault(cid, []).append((key.where, key.channel))
    for cid, where in uses.items():
        for problem in consent_problems(campaign.library[cid], where, today):
            c.add(("clips", cid, "library"), problem,
                  "renew the consent, or leave the clip, the version or the channel out of this campaign")


def _check_lengths(c: _Collector, campaign: Campaign, prefix: Loc = ()) -> None:
    """Each channel's length limits, against the campaign's (or a version's) length, before any rendering."""
    for i, name in enumerate(campaign.spec.channels):
        if name not in campaign.channels:
            continue  # not asked for in this run (render -c)
        preset = campaign.preset(name)
        what = f"version '{campaign.version}'" if campaign.version else "campaign"
        total = sum((campaign.item_length(it) for it in campaign.sequence_for(name)), Fraction(0))
        if preset.max_duration is not None and total > seconds(preset.max_duration):
            how = ("mark more sequence items 'optional: true'" if preset.shorten else
                   f"shorten the sequence, or set overrides: {{{name}: {{shorten: true}}}} and mark items "
                   "'optional: true'")
            c.add(prefix + ("channels", i), f"the {what} is {float(total):.1f} s long; {preset.label} takes at most "
                  f"{preset.max_duration:g} s", how)
        if preset.min_duration is not None and total < seconds(preset.min_duration):
            c.add(prefix + ("channels", i), f"the {what} is {float(total):.1f} s long; {preset.label} needs at least "
                  f"{preset.min_duration:g} s", "lengthen the sequence or hold the end card longer")


def _check_references(c: _Collector, campaign: Campaign, check_media: bool,
                      dropped: set[tuple] = frozenset()) -> dict[str, MediaInfo]:
    spec = campaign.spec
    media: dict[str, MediaInfo] = {}
    sequences: list[tuple[Loc, list, dict]] = [(("sequence",), spec.sequence, spec.cards)]
    for name, version in spec.versions.items():
        if version.sequence:
            sequences.append((("versions", name, "sequence"), version.sequence, {**spec.cards, **version.cards}))
    used_clips = {item.clip for _, items, _ in sequences for item in items if isinstance(item, ClipItem)}
    for clip_id, clip in spec.clips.items():
        if clip.library is not None:
            if clip_id not in campaign.library:
                continue  # reported by _check_library
            src = campaign.clip_source(clip_id)
        elif clip.source is None:
            c.add(("clips", clip_id), "a clip needs 'source' (a file) or 'library' (a library clip id)",
                  "add source: path/to/clip.mp4")
            continue
        else:
            src = campaign.resolve(clip.source)
        if not src.is_file():
            c.add(("clips", clip_id, "source"), f"file not found: {src}",
                  "check the path; it is relative to the spec file")
            continue
        if check_media and clip_id in used_clips:
            info, problem = probe_as(src, "video")
            if problem:
                c.add(("clips", clip_id, "library" if clip.library is not None else "source"), *problem)
                continue
            media[clip_id] = info
        if clip.transcript is not None and not campaign.resolve(clip.transcript).is_file():
            c.add(("clips", clip_id, "transcript"), f"file not found: {campaign.resolve(clip.transcript)}",
                  "export one with: python cli.py transcripts export SPEC")

    for prefix, items, cards in sequences:
        _check_sequence(c, prefix, items, cards, spec, media)

    if spec.music is not None:
        src = campaign.resolve(spec.music.source)
        if not src.is_file():
            c.add(("music", "source"), f"file not found: {src}", "check the path; it is relative to the spec file")
        elif check_media:
            _, problem = probe_as(src, "sound")
            if problem:
                c.add(("music", "source"), *problem)
    all_cards = [(("cards", card_id), card) for card_id, card in spec.cards.items()]
    all_cards += [(("versions", name, "cards", card_id), card) for name, version in spec.versions.items()
                  for card_id, card in version.cards.items()]
    for loc, card in all_cards:
        # the brand's logo is the brand file's: load_brand checked it, at its own line
        if card.logo is not None and card.logo != campaign.brand.logo:
            _check_image(c, campaign, loc + ("logo",), card.logo, check_media, "logo")
        if not _COLOR.match(card.background):
            _check_image(c, campaign, loc + ("background",), Path(card.background), check_media, "background",
                         "use #RRGGBB or an image file relative to the spec")

    known = list(channels.PRESETS)
    seen: set[str] = set()
    if any(top == "channels" for top, _ in dropped):
        return media
    for i, name in enumerate(spec.channels):
        if name not in channels.PRESETS:
            c.add(("channels", i), f"unknown channel '{name}'", _did_you_mean(name, known))
        elif name in seen:
            c.add(("channels", i), f"channel '{name}' is listed twice", "list each channel once")
        seen.add(name)
    all_channels = set(spec.channels) | {ch for v in spec.versions.values() for ch in (v.channels or ())}
    for vname, version in spec.versions.items():
        for i, name in enumerate(version.channels or ()):
            if name not in channels.PRESETS:
                c.add(("versions", vname, "channels", i), f"unknown channel '{name}'", _did_you_mean(name, known))
        if version.sequence is None and version.max_duration is None and not version.cards:
            c.add(("versions", vname), f"version '{vname}' changes nothing",
                  "give it a sequence, a max_duration or cards of its own")
    for name in spec.overrides:
        if name not in channels.PRESETS:
            c.add(("overrides", name), f"unknown channel '{name}'", _did_you_mean(name, known))
        elif name not in all_channels:
            c.add(("overrides", name), f"channel '{name}' is overridden but not in 'channels'",
                  "add it to channels or remove the override")
    return media


def _check_transcripts(c: _Collector, campaign: Campaign, media: dict[str, MediaInfo]) -> dict:
    """Read and check the corrected transcript of each clip the sequences use, against the clip's length,
    before anything is aligned or rendered; every problem carries the transcript's own file:line."""
    from .cuefile import read_cue_file

    out = {}
    for clip_id, info in media.items():
        path = campaign.transcript_path(clip_id)
        if path is None or not path.is_file():
            continue  # none, or a missing 'transcript:' file (reported by _check_references)
        try:
            out[clip_id] = read_cue_file(path, info.duration)
        except SpecError as exc:
            c.problems += exc.problems
    return out


def _check_sequence(c: _Collector, prefix: Loc, items: list, cards: dict, spec: CampaignSpec,
                    media: dict[str, MediaInfo]) -> None:
    """Ids and cut times of one sequence (the main one, or a version's)."""
    for i, item in enumerate(items):
        at = prefix + (i,)
        if isinstance(item, ClipItem):
            if item.clip not in spec.clips:
                c.add(at + ("clip",), f"unknown clip '{item.clip}'", _did_you_mean(item.clip, list(spec.clips)))
                continue
            if item.end is not None and item.end <= item.start:
                c.add(at + ("to",), f"'to' ({float(item.end):g} s) must be after 'from' "
                      f"({float(item.start):g} s)", "swap them or fix the times")
                continue
            info = media.get(item.clip)
            if info is None or item.says is not None:
                continue
            if item.start >= info.duration:
                c.add(at + ("from",), f"'from' ({float(item.start):g} s) is past the end of clip "
                      f"'{item.clip}' ({float(info.duration):.3f} s long)", "use a time inside the clip")
            elif item.end is not None and item.end > info.duration + Fraction(1, 100):
                c.add(at + ("to",), f"'to' ({float(item.end):g} s) is past the end of clip "
                      f"'{item.clip}' ({float(info.duration):.3f} s long)",
                      f"use {float(info.duration):.2f} or less, or leave 'to' out to play to the end")
        elif item.card not in cards:
            c.add(at + ("card",), f"unknown card '{item.card}'",
                  _did_you_mean(item.card, list(cards)) or "define it under 'cards:'")


def _check_image(c: _Collector, campaign: Campaign, loc: Loc, rel: Path, check_media: bool, kind: str,
                 hint: str = "") -> None:
    """A logo or background the spec names: there, a picture, and small enough to decode (header only)."""
    p = campaign.resolve(rel)
    if not p.is_file():
        c.add(loc, f"file not found: {p}", hint or "check the path; it is relative to the spec file")
        return
    if check_media:
        problem = image_problem(p, kind) or (verify_image(p), "save it again as PNG or JPEG")
        if problem[0]:
            c.add(loc, *problem)


def brand_schema() -> dict:
    """JSON Schema of brand files."""
    schema = BrandSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rekrutt brand"
    return schema


def json_schema() -> dict:
    """JSON Schema of the spec, for editors (YAML language servers) to complete and check."""
    schema = CampaignSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rekrutt campaign"
    schema.setdefault("properties", {})["channels"]["items"] = {"enum": list(channels.PRESETS)}
    return schema
