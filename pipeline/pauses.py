"""Where to cut: the clip's level envelope, its real pauses, and cut points that sit in them.

A quote is cut in the pause nearest its first and last word, never in the voiced sound of a
neighbouring word; where no real pause is near, at the quietest point between the words (and the
loader warns). Split from the edit layer (quotes and cut-downs), which reads these.
"""

from __future__ import annotations

import logging
import math
from fractions import Fraction

from .cache import Cache, file_digest, key_of
from .timecode import Time, short_clock, snap
from .transcribe import Transcript
from .transcripts import Passage

log = logging.getLogger("rekrutt")

#: Air before a quote's first word and after its last, by default (speech decays longer than it starts).
LEAD = Fraction(15, 100)
TAIL = Fraction(3, 10)
#: The cut never comes closer than this to a word of the quote, nor to a neighbouring word.
CLEAR = Fraction(3, 100)
#: Loudness envelope resolution: one value per this many seconds.
ENVELOPE_STEP = Fraction(1, 100)
ENVELOPE_VERSION = 1

def envelope(path, cache: Cache) -> list[float]:
    """The clip's sound level (dBFS) every 10 ms, cached by its content."""

    def make() -> list[float]:
        import numpy as np
        from faster_whisper import decode_audio

        audio = decode_audio(str(path), sampling_rate=16000)
        step = int(16000 * ENVELOPE_STEP)
        frames = len(audio) // step
        if frames == 0:
            return []
        blocks = audio[:frames * step].reshape(frames, step).astype("float64")
        rms = np.sqrt((blocks ** 2).mean(axis=1)) + 1e-9
        return [round(float(v), 1) for v in 20 * np.log10(rms)]

    key = key_of("envelope", ENVELOPE_VERSION, file_digest(path), str(ENVELOPE_STEP))
    return cache.get_or_make("envelopes", key, make, encode=lambda v: v, decode=lambda v: list(v))


def quiet_point(levels: list[float], lo: Time, hi: Time, prefer: Time) -> Time:
    """The quietest moment in [lo, hi] (ties: nearest to ``prefer``), on the envelope's 10 ms grid."""
    if hi <= lo or not levels:
        return min(max(prefer, lo), hi) if hi >= lo else lo
    a = max(0, int(lo / ENVELOPE_STEP + 1 - Fraction(1, 10**9)) if lo > 0 else 0)
    b = min(len(levels) - 1, int(hi / ENVELOPE_STEP))
    if b < a:
        return min(max(prefer, lo), hi)
    # quiet within 3 dB of the quietest counts as quiet: then stay near the preferred air
    floor = min(levels[a:b + 1])
    quiet = [i for i in range(a, b + 1) if levels[i] <= floor + 3]
    best = min(quiet, key=lambda i: abs(i * ENVELOPE_STEP - prefer))
    return best * ENVELOPE_STEP


#: A pause: the envelope at least this far under the clip's speech level, for at least PAUSE_MIN.
PAUSE_DB = 20
PAUSE_MIN = Fraction(8, 100)
#: In fluent speech with no such pause, the breath between two words (shorter) is the place to cut.
SHORT_PAUSE = Fraction(3, 100)
#: How far from a quote's aligned edge the pause that ends it is looked for: forced alignment errs by
#: tenths of a second, more into the neighbour's words (outward) than into the quote's own.
REACH_OUT = Fraction(6, 10)
REACH_IN = Fraction(25, 100)


def speech_level(levels: list[float]) -> float:
    """The clip's speech level (dBFS): the 90th percentile of its envelope, loud speech."""
    if not levels:
        return 0.0
    # numpy.percentile's default ("linear") in plain Python, to the bit: a quote's cut needs no numpy, and an
    # unchanged re-render then imports none (issue 25); tests/test_noop_speed.py compares the two
    ordered = sorted(float(v) for v in levels)
    if any(v != v for v in ordered):  # NaN: numpy's order for it
        import numpy as np

        return float(np.percentile(np.asarray(levels, dtype="float64"), 90))
    at = (len(ordered) - 1) * (90 / 100)
    if at >= len(ordered) - 1:
        return ordered[-1]
    i = math.floor(at)
    gamma, a, b = at - i, ordered[i], ordered[i + 1]
    return b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma


def level_at(levels: list[float], t: Time) -> float:
    """The envelope at ``t`` (the 10 ms frame holding it)."""
    if not levels:
        return -200.0
    return levels[max(0, min(len(levels) - 1, int(t / ENVELOPE_STEP)))]


def pauses(levels: list[float], lo: Time, hi: Time, threshold: float, minimum: Time = PAUSE_MIN
           ) -> list[tuple[Time, Time]]:
    """Runs of the envelope under ``threshold`` within [lo, hi] lasting at least ``minimum``."""
    a = max(0, int(lo / ENVELOPE_STEP))
    b = min(len(levels), int(hi / ENVELOPE_STEP) + 1)
    out, run = [], None
    for i in range(a, b + 1):
        quiet = i < b and levels[i] < threshold
        if quiet and run is None:
            run = i
        elif not quiet and run is not None:
            if (i - run) * ENVELOPE_STEP >= minimum:
                out.append((run * ENVELOPE_STEP, i * ENVELOPE_STEP))
            run = None
    return out


def _in_pause(levels: list[float], pause: tuple[Time, Time], prefer: Time) -> Time:
    """The quietest point of a pause nearest ``prefer``, one frame inside its edges."""
    a, b = pause
    inner = (a + ENVELOPE_STEP, b - 2 * ENVELOPE_STEP) if b - a > 3 * ENVELOPE_STEP else (a, a)
    return quiet_point(levels, inner[0], inner[1], min(max(prefer, inner[0]), inner[1]))


def cut_points(transcript: Transcript, passage: Passage, levels: list[float], duration: Time,
               pads: tuple[Time, Time] | None = None, notes: list[str] | None = None) -> tuple[Time, Time]:
    """(from, to) of the cut around a passage: in the real pause (the envelope :data:`PAUSE_DB` under the
    clip's speech level) nearest the first word's start and the last word's end, ``pads`` of air (default
    LEAD, TAIL) from the speech where the pause allows. Where no pause is near, the quietest point of the
    gap between the words, and a note in ``notes``."""
    lead, tail = pads or (LEAD, TAIL)
    words = transcript.words
    first, last = words[passage.first], words[passage.last]
    before = words[passage.first - 1] if passage.first > 0 else None
    after = words[passage.last + 1] if passage.last + 1 < len(words) else None
    threshold = speech_level(levels) - PAUSE_DB

    # the start: the pause that ends nearest where the first word begins
    lo = max(Fraction(0), first.start - REACH_OUT, before.start + CLEAR if before else Fraction(0))
    hi = min(first.start + REACH_IN, first.end)
    found = pauses(levels, lo, hi, threshold) or pauses(levels, lo, hi, threshold, SHORT_PAUSE)
    if not found and first.start <= 2 * ENVELOPE_STEP:
        start = Fraction(0)  # the clip begins with the quote
    elif found:
        a, b = min(found, key=lambda p: Fraction(0) if p[0] <= first.start <= p[1]
                   else (first.start - p[1] if p[1] < first.start else 2 * (p[0] - first.start)))
        start = _in_pause(levels, (a, b), b - lead if b <= first.start + CLEAR else first.start - lead)
    else:
        prev_end = before.end if before else Fraction(0)
        lo, hi = max(prev_end + CLEAR, first.start - 2 * lead, Fraction(0)), first.start - min(CLEAR, lead)
        start = quiet_point(levels, lo, hi, first.start - lead) if lo < hi else max(Fraction(0), min(lo, first.start))
        if notes is not None:
            notes.append(f"no pause before «{first.text}» at {short_clock(first.start)}: the cut at "
                         f"{short_clock(start)} is in speech ({level_at(levels, start):.0f} dBFS)")

    # the end: the pause that begins nearest where the last word ends
    hi = min(duration, last.end + REACH_OUT, after.end - CLEAR if after else duration)
    lo = max(last.start, last.end - REACH_IN)
    found = pauses(levels, lo, hi, threshold) or pauses(levels, lo, hi, threshold, SHORT_PAUSE)
    if not found and duration - last.end <= 2 * ENVELOPE_STEP:
        end = duration
    elif found:
        a, b = min(found, key=lambda p: Fraction(0) if p[0] <= last.end <= p[1]
                   else (p[0] - last.end if p[0] > last.end else 2 * (last.end - p[1])))
        end = _in_pause(levels, (a, b), a + tail if a >= last.end - CLEAR else last.end + tail)
    else:
        next_start = after.start if after else duration
        lo, hi = last.end + min(CLEAR, tail), min(next_start - CLEAR, last.end + 2 * tail, duration)
        end = quiet_point(levels, lo, hi, last.end + tail) if lo < hi else min(duration, max(hi, last.end))
        if notes is not None:
            notes.append(f"no pause after «{last.text}» at {short_clock(last.end)}: the cut at "
                         f"{short_clock(end)} is in speech ({level_at(levels, end):.0f} dBFS)")
    return start, end


def snap_quiet(t: Time, fps, levels: list[float], lo: Time, hi: Time) -> Time:
    """``t`` on the frame grid: of the frame edges either side, the quieter (within [lo, hi])."""
    if not fps:
        return t
    step = 1 / Fraction(fps)
    below = int(t / step) * step
    options = [x for x in (snap(t, fps), below, below + step) if lo <= x <= hi] or [snap(t, fps)]
    return min(options, key=lambda x: (level_at(levels, x), abs(x - t)))
