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
    if isinstance(value, (Fraction, int, float)):
        return seconds(value)
    if isinstance(value, str):
        text = value.strip()
        m = _CLOCK.match(text)
        if not m:
            raise ValueError(f"{value!r} is not a time: use seconds (12.5) or MM:SS.mmm (00:12.500)")
        hours, minutes, secs = m.groups()
        if minutes is not None and Fraction(secs.replace(",", ".")) >= 60:
            raise ValueError(f"{value!r}: seconds must be below 60 in MM:SS form")
        total = Fraction(secs.replace(",", "."))
        total += 60 * int(minutes or 0) + 3600 * int(hours or 0)
        return total
    raise ValueError(f"expected a time in seconds or MM:SS.mmm, got {type(value).__name__}")


#: NTSC rates people write as decimals, and the exact rates they mean (as PySceneDetect's
#: ``framerate_to_fraction`` snaps them).
_NTSC = {Fraction(24000, 1001): ("23.976", "23.98"), Fraction(30000, 1001): ("29.97",),
         Fraction(60000, 1001): ("59.94",), Fraction(48000, 1001): ("47.952",),
         Fraction(120000, 1001): ("119.88",)}


#: The broadcast frame rates a clip's rate (or a channel's "source" rate) is snapped to.
STANDARD_RATES = (
    Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
    Fraction(50), Fraction(60000, 1001), Fraction(60),
)


def nearest_rate(fps: Fraction, rates: tuple[Fraction, ...] = STANDARD_RATES) -> Fraction:
    """The rate of ``rates`` nearest ``fps`` (ties: the higher): the one way a rate is snapped."""
    return min(rates, key=lambda r: (abs(r - fps), -r))


def parse_rate(value: object) -> Fraction:
    """A frame rate as an exact fraction: 25 -> 25, 29.97 -> 30000/1001, "24000/1001" -> 24000/1001.

    A decimal within 0.01 of an NTSC rate (N*1000/1001) is that rate; other decimals are taken as written.
    Raises ValueError with a message fit for a user.
    """
    if isinstance(value, bool):
        raise ValueError("a frame rate is a number, e.g. 25 or 29.97")
    if isinstance(value, Fraction):
        rate = value
    elif isinstance(value, int):
        rate = Fraction(value)
    elif isinstance(value, (float, str)):
        text = str(value).strip()
        try:
            if "/" in text:
                num, den = text.split("/", 1)
                rate = Fraction(int(num), int(den))
            else:
                rate = Fraction(repr(float(text)) if isinstance(value, float) else text)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{value!r} is not a frame rate: write 25, 29.97 or 30000/1001") from None
    else:
        raise ValueError(f"a frame rate is a number, e.g. 25 or 29.97, not {type(value).__name__}")
    if rate <= 0 or rate > 1000:
        raise ValueError(f"{value!r} is not a usable frame rate (above 0, at most 1000)")
    if rate.denominator != 1 and rate.denominator != 1001:
        exact = nearest_rate(rate, tuple(_NTSC))
        if abs(rate - exact) < Fraction(1, 100):
            return exact
    return rate


def seconds(value: float | int | str) -> Time:
    """Seconds from outside the pipeline (Whisper, OpenCV, JSON) as a Time, exactly as printed.

    The one conversion at the edge: a float goes in by its shortest decimal (0.1 -> 1/10),
    so cut and caption maths never see binary floats.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("a time must be a finite number")
        # repr() gives the shortest decimal that round-trips: 9.5 -> "9.5", exact.
        return Fraction(repr(value))
    return Fraction(str(value))


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
    """``HH:MM:SS.mmm`` (or with ``sep=','`` for SRT), rounded to the millisecond; a time before zero
    gets a minus sign (``-00:00:05.000``), never a wrapped-around clock."""
    sign, (h, m, s, ms) = _parts(t)
    return f"{sign}{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def short_clock(t: Time) -> str:
    """``MM:SS.mmm`` under an hour, ``HH:MM:SS.mmm`` from an hour on (as the review page shows
    times), rounded to the millisecond; a time before zero gets a minus sign."""
    sign, (h, m, s, ms) = _parts(t)
    return f"{sign}{h:02d}:{m:02d}:{s:02d}.{ms:03d}" if h else f"{sign}{m:02d}:{s:02d}.{ms:03d}"


def _parts(t: Time) -> tuple[str, tuple[int, int, int, int]]:
    """The sign and (hours, minutes, seconds, milliseconds) of ``t``, its size rounded half up."""
    ms = math.floor(abs(Fraction(t)) * 1000 + Fraction(1, 2))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return ("-" if t < 0 and (h or m or s or ms) else ""), (h, m, s, ms)
