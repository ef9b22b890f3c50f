"""The campaign spec: typed, immutable pydantic models, and the spec's JSON Schema.

These are the spec's shape only (types, allowed keys, values in the producer's words).
:mod:`pipeline.load` reads a spec file into them and checks what needs the file system;
:mod:`pipeline.campaign` holds the validated result with its lookups.
"""

from __future__ import annotations

import typing
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    create_model,
    field_validator,
    model_validator,
)

from . import channels
from .names import Slug, SpecLink
from .spectypes import SpecColor, SpecLanguage, SpecPad, SpecRate, SpecTime, shown
from .yamlpos import Loc


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AudioSpec(SpecModel):
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
        raise ValueError(f"{shown(v)} is not a highpass setting: give true, false or a frequency from 20 to "
                         "300 Hz, e.g. highpass: 100")

    @property
    def is_off(self) -> bool:
        return (self.denoise == "off" and self.hum == "off" and self.highpass is False and not self.deess
                and not self.compress and not self.level and not self.room_tone)


#: The framing words of ``focus:``, as a share of the frame width.
FOCUS_WORDS = {"left": 1 / 3, "centre": 0.5, "center": 0.5, "right": 2 / 3}


class ClipSpec(SpecModel):
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
            raise ValueError(f"{shown(v)} is not a framing: give a share of the frame width from 0 (left edge) "
                             "to 1 (right edge), e.g. focus: 0.3, or one of left, centre, right")
        return float(v)


class CutawaySpec(SpecModel):
    """Another clip's picture over an item's sound (B-roll), placed by the words it covers or by times."""

    clip: str = Field(description="clip id from `clips` (a file or a library clip): the picture shown")
    start: SpecTime = Field(Fraction(0), alias="from", description="where in the cutaway's own clip it starts")
    during: str | None = Field(None, description="the item's words it covers, as in says: (first word to last)")
    at: SpecTime | None = Field(None, description="instead of during: seconds from the item's start")
    length: SpecTime | None = Field(None, alias="for", description="with at: how many seconds it shows")
    sound: Annotated[float, Field(ge=-60, le=0)] | Literal["off"] = Field(
        -18.0, description="its own sound, dB under the voice (-60 to 0), or off")
    focus: float | Literal["left", "centre", "center", "right"] | None = Field(
        None, description="fix the framing of its narrow crops (as a clip's focus:); default: the clip's")
    describe: str | None = Field(None, min_length=1, description="synstolking: what the cutaway shows, spoken "
                                 "in the nearest pause at or before its start, e.g. \"Anne hjelper en beboer\"")

    _focus = field_validator("focus", mode="before")(lambda cls, v: ClipSpec._check_focus(v))
    _off = field_validator("sound", mode="before")(lambda cls, v: "off" if v is False else v)

    @model_validator(mode="after")
    def _words_or_times(self) -> CutawaySpec:
        if self.during is not None and ({"at", "length"} & self.model_fields_set):
            raise ValueError("give either 'during' (the words it covers) or 'at'/'for' (seconds), not both")
        if self.during is None and (self.at is None or self.length is None):
            raise ValueError("a cutaway needs 'during' (the words it covers), or 'at' and 'for' (seconds from the "
                             "item's start, and how long), e.g. during: \"gjør jeg en forskjell\"")
        return self

    @property
    def gain_db(self) -> float | None:
        return None if self.sound == "off" else float(self.sound)


class ClipItem(SpecModel):
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
    describe: str | None = Field(None, min_length=1, description="synstolking: what the pictures show that the "
                                 "sound does not say, spoken in a pause of this cut (\"Anne går inn på et "
                                 "beboerrom\")")
    cutaways: list[CutawaySpec] = Field([], description="other clips' pictures over this item's sound (B-roll)")
    lead: SpecTime | None = Field(None, description="J-cut: its sound starts this many seconds before its picture")
    tail: SpecTime | None = Field(None, description="L-cut: its picture starts this long before the last sound ends")

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


class CardItem(SpecModel):
    """A card (title, end card) in the sequence."""

    card: str = Field(description="card id from `cards`")
    duration: SpecTime | None = Field(None, description="override the card's own duration")
    optional: bool = Field(False, description="may be left out where a channel is too short for everything")
    priority: int | None = Field(None, ge=1, description="for cut-downs: 1 is kept longest")
    keep: bool | None = Field(None, description="for cut-downs: always keep this card (default: true for the "
                              "last card of the sequence, the end card)")
    describe: str | None = Field(None, min_length=1, description="synstolking: more to say over this card than "
                                 "its text (which is read out by itself)")


DescribeMode = Literal["version", "integrated", "off"]


class VoiceCommand(SpecModel):
    """Another speech engine, run as a command: ``{text}`` is the line, ``{out}`` the WAV file it writes."""

    command: str = Field(description="e.g. \"piper --model nb.onnx --output_file {out} --text {text}\"")

    @field_validator("command")
    @classmethod
    def _placeholders(cls, v: str) -> str:
        missing = [p for p in ("{text}", "{out}") if p not in v]
        if missing:
            raise ValueError(f"the voice command needs {' and '.join(missing)} in it: {{text}} is the line, "
                             "{out} the WAV file the command writes")
        return v


class SynstolkingSpec(SpecModel):
    """Audio description (WCAG 2.1 1.2.5): a described version of each output, or none where the film's own
    sound says everything the pictures show (integrated), or off."""

    mode: DescribeMode = Field("version", description="version: a described version <channel>.synstolket.mp4 "
                               "beside each output (the original sound ducked under a voice in its pauses); "
                               "integrated: the film's own sound carries it (nothing is added, the report checks "
                               "it); off: no description (the report flags it)")
    channels: dict[str, DescribeMode] = Field({}, description="the mode for some channels, e.g. {cinema: off}")
    voice: str | VoiceCommand | None = Field(None, description="eSpeak NG voice name (default: the brand's, else "
                                             "nb), or {command: ...} for another engine; a recording "
                                             "descriptions/<line>.wav beside the spec replaces any line")
    rate: int | None = Field(None, ge=80, le=400, description="speaking rate in words a minute (default: the "
                             "brand's, else 150)")
    duck: float = Field(-12.0, ge=-40, le=0, description="how far (dB) the original sound is lowered under the "
                        "description voice")
    hold: bool = Field(True, description="extended description (WCAG 1.2.7): where a line fits no pause, the "
                       "described version holds the picture (a shot's first frame, a card's last) while it is "
                       "spoken, the original sound paused; false: such a line is left out")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        if value is False:
            return {"mode": "off"}
        if isinstance(value, str):
            return {"mode": value}
        return value

    def mode_for(self, channel: str) -> str:
        return self.channels.get(channel, self.mode)


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


class CardSpec(SpecModel):
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


#: What a spec's override of each field may hold, beyond the preset's own type (see channels.OVERRIDABLE).
_OVERRIDE_FIELDS: dict[str, dict] = {
    "width": {"gt": 0},
    "height": {"gt": 0},
    "fit": {"description": "auto (the default: per clip, pad-blur where a crop would enlarge it more than 2x or keep "
            "under 70% of its height, else crop), crop to fill the frame, pad with black, or pad over a blurred "
            "fill of the same picture"},
    "fps": {"description": "fixed output frame rate (29.97 is read as 30000/1001)"},
    "crf": {"ge": 0, "le": 51},
    "max_video_kbps": {"gt": 0},
    "audio_kbps": {"gt": 0},
    "loudness_lufs": {"le": 0},
    "true_peak_dbtp": {"le": 0},
    "max_duration": {"gt": 0},
    "caption_line_chars": {"ge": 10, "le": 60},
    "caption_style": {"description": "burned captions: standard (two lines), social (one short line, larger type) "
                      "or highlight (social, with the word being said lit up); sidecar files always follow the "
                      "standard rules"},
    "shorten": {"description": "leave out optional sequence items (last first) until the campaign fits this "
                "channel's length limit"},
}


class _Override(SpecModel):
    """Per-channel changes to a preset; any field of the preset (see `python cli.py channels`)."""

    def changes(self) -> dict[str, object]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


#: The preset's field types, resolved once (each get_type_hints call resolves them all anew).
_PRESET_HINTS = typing.get_type_hints(channels.Preset)


def _override_type(name: str) -> object:
    """The preset field's own type, optional; a frame rate is read as a spec's rate (29.97 -> 30000/1001)."""
    if name == "fps":
        return SpecRate | None
    kind = _PRESET_HINTS[name]
    return kind if type(None) in typing.get_args(kind) else kind | None


#: Built from the preset's fields (channels.OVERRIDABLE), so an override and the preset cannot drift apart.
ChannelOverride = create_model(
    "ChannelOverride", __base__=_Override, __module__=__name__, __doc__=_Override.__doc__,
    **{name: (_override_type(name), Field(None, **_OVERRIDE_FIELDS.get(name, {}))) for name in channels.OVERRIDABLE},
)


class MusicSpec(SpecModel):
    """A music bed under the whole campaign."""

    source: Path = Field(description="music file (any audio ffmpeg reads), relative to the spec")
    level: float = Field(-14.0, le=0, description="music loudness relative to the speech, LU (before ducking)")
    fade_in: SpecTime = Field(Fraction(1), description="fade-in at the start, seconds")
    fade_out: SpecTime = Field(Fraction(2), description="fade-out at the end, seconds")
    duck: bool = Field(True, description="duck the music under speech (sidechain compression keyed by the voice)")


class SubtitleOptions(SpecModel):
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

    def delivery(self, channel_captions: str) -> tuple[bool, bool]:
        """(burned in, as a file) on a channel whose preset delivers captions as ``channel_captions``
        (sidecar, burn or both), under ``burn_in``."""
        burn = self.burn_in == "always" or (self.burn_in == "auto" and channel_captions in ("burn", "both"))
        return burn, self.burn_in == "never" or channel_captions in ("sidecar", "both")

class VersionSpec(SpecModel):
    """Another edit of the campaign: its own sequence, or the main one cut down to a length."""

    title: str | None = Field(None, description="title of this version (publish sheets, posters)")
    sequence: list[SequenceItem] | None = Field(None, min_length=1, description="what plays (default: the main "
                                                "sequence)")
    max_duration: SpecTime | None = Field(None, description="cut the sequence down to at most this many seconds: "
                                          "kept cards first, then items by priority, in their original order")
    channels: list[str] | None = Field(None, min_length=1, description="channels of this version (default: the "
                                       "campaign's)")
    cards: dict[Slug, CardSpec] = Field({}, description="cards that differ in this version, by id")


def _version_name(name: str) -> str:
    # 'main' is the main film (render -V main); 'draft' the folder of quick looks beside the versions' folders
    if name in ("main", "draft"):
        what = "the main film (render -V main)" if name == "main" else "the folder of draft renders"
        raise ValueError(f"'{name}' cannot name a version: it is {what}; choose another name")
    return name


#: A version's name: a slug, and neither 'main' nor 'draft'.
VersionName = Annotated[Slug, AfterValidator(_version_name)]


class CampaignSpec(SpecModel):
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
    synstolking: SynstolkingSpec = Field(SynstolkingSpec(), description="audio description (WCAG 2.1 1.2.5): "
                                         "mode version|integrated|off, voice, rate, duck")
    versions: dict[VersionName, VersionSpec] = Field({}, description="further edits of the same campaign (episodes, "
                                             "cut-downs), each rendered to <output>/<campaign>/<version>/")


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


def json_schema() -> dict:
    """JSON Schema of the spec, for editors (YAML language servers) to complete and check."""
    schema = CampaignSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Rekrutt campaign"
    schema.setdefault("properties", {})["channels"]["items"] = {"enum": list(channels.PRESETS)}
    return schema
