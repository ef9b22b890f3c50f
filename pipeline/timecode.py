"""The pipeline's one time type: exact seconds as :class:`fractions.Fraction`.

Float seconds drift when cuts are added up and frame rates change; a Fraction
does not. Everything that holds a time holds a ``Time``; conversion to text for
ffmpeg or subtitle formats happens only here.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

Time = Fraction

_CLOCK = re.compile(r"^(?:(?:(\d+):)?(\d{1,2}):)?(\d+(?:[.,]\d+)?)$")


def parse_time(value: object) -> Time:
    """Parse seconds (int, float, numeric string) or ``[HH:]MM:SS(.mmm)`` into a Time.

    Raises ValueError with a message fit for a user when the text is not a time.
    """
    if isinstance(value, bool):
        raise ValueError("expected a time in seconds or MM:SS.mmm, got a boolean")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a time must be a finite number")
        # repr() gives the shortest decimal that round-trips: 9.5 -> "9.5", exact.
        return Fraction(repr(value))
    if isinstance(value, str):
        text = value.strip()
        m = _CLOCK.match(text)
        if not m:
            raise ValueError(f"{value!r} is not a time: use seconds (12.5) or MM:SS.mmm (00:12.500)")
        hours, minutes, seconds = m.groups()
        if minutes is not None and Fraction(seconds.replace(",", ".")) >= 60:
            raise ValueError(f"{value!r}: seconds must be below 60 in MM:SS form")
        total = Fraction(seconds.replace(",", "."))
        total += 60 * int(minutes or 0) + 3600 * int(hours or 0)
        return total
    raise ValueError(f"expected a time in seconds or MM:SS.mmm, got {type(value).__name__}")


def to_ffmpeg(t: Time) -> str:
    """Seconds as ffmpeg reads them: a plain decimal with microsecond precision."""
    return f"{float(t):.6f}"


def frames(t: Time, rate: Fraction) -> int:
    """Number of whole frames at ``rate`` that ``t`` covers, rounded to the nearest."""
    return int((t * rate) + Fraction(1, 2))


def snap(t: Time, rate: Fraction) -> Time:
    """``t`` rounded to the nearest frame boundary at ``rate``."""
    return Fraction(frames(t, rate)) / rate


def clock(t: Time, sep: str = ".") -> str:
    """``HH:MM:SS.mmm`` (or with ``sep=','`` for SRT), rounded to the millisecond."""
    ms = int(t * 1000 + Fraction(1, 2))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
