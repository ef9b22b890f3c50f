"""The value types of a campaign spec: times, air around quotes, frame rates, languages and colours.

Each parses what a producer writes (``2.5``, ``"00:12.500"``, ``29.97``, ``#FFFFFF``) into an exact value and
says what is wrong, with an example written right, when it cannot. :mod:`pipeline.spec` builds its models
from them.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from .languages import language_problem
from .timecode import parse_rate, parse_time

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
    "length": ("for", "how long a cutaway shows, in seconds above 0", "for: 2", False),
    "max_duration": ("max_duration", "the longest the version may be, in seconds above 0", "max_duration: 15",
                     False),
}


def shown(value: object) -> str:
    """A value as the user wrote it in YAML, for a message (never a Python type name)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 40 else f"'{value[:40]}...'"
    if isinstance(value, (list, tuple)):
        return f"the list [{', '.join(shown(v) for v in value)}]" if len(value) <= 4 else \
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
        raise _time_error(field_name, f"{shown(value)} is not a time: write seconds (12.5) or MM:SS.mmm "
                          "('00:12.500')") from None
    if t < 0:
        raise _time_error(field_name, f"{shown(value)} is negative; give seconds of "
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
            raise _time_error("pad", f"{shown(value)} has {len(value)} value{'s' if len(value) != 1 else ''}; "
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


COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")


def _color(value: str) -> str:
    if not COLOR_PATTERN.match(value):
        raise ValueError(f"'{value}' is not a colour: write #RRGGBB, e.g. #FFFFFF")
    return value


#: A #RRGGBB colour (cards, brand files).
SpecColor = Annotated[str, AfterValidator(_color)]
