"""Placing description lines (pure logic): the O(n log n) placement gives exactly what the straightforward
one did (free stretches recomputed with :func:`describe.pauses` for every line, holds shifted by summing
every hold before), on random lines, lengths, cards and speech."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import describe
from pipeline.describe import BETWEEN, CLEAR, Hold, Line, Placed, pauses, shift

# --------------------------------------------------------------------------- the reference (as it was)

def ref_place(lines, lengths, talk, duration, rate, recorded=frozenset(), hold=False):
    placed: list[Placed] = []
    taken: list[tuple] = []
    for line in lines:
        length = lengths.get(line.id, Fraction(0))
        lo, hi = line.window
        busy = talk + [(a - BETWEEN + CLEAR, b + BETWEEN - CLEAR) for a, b in taken]
        free = pauses(duration, busy)
        best = None
        biggest = (Fraction(0), lo)
        for a, b in free:
            if b <= lo or a >= hi:
                continue
            start = max(a, lo)
            end = b if line.card else min(b, hi)
            slot = end - start
            if slot > biggest[0]:
                biggest = (slot, start)
            if length and slot >= length:
                best = Placed(line, start, length, slot, True, line.id in recorded)
                break
        if best is None and hold and length:
            best = ref_held(line, length, busy, rate, line.id in recorded, biggest[0])
        if best is None:
            best = Placed(line, biggest[1], length, biggest[0], not length and biggest[0] > 0, line.id in recorded)
        placed.append(best)
        if best.fits and length and not best.hold:
            taken.append((best.start, best.end))
        elif best.hold and best.start < best.hold.at:
            taken.append((best.start, best.hold.at))
    return ref_on_held_timeline(placed, rate) if hold else placed


def ref_held(line, length, busy, rate, recorded, slot):
    lo, hi = line.window
    frame = 1 / rate
    if line.card:
        free = pauses(hi, [(a, b) for a, b in busy if a < hi])
        start = next((max(a, lo) for a, b in free[-1:] if b == hi and b > lo), hi)
        return Placed(line, start, length, slot, True, recorded, Hold(hi, hi - frame, Fraction(0), line.id))
    return Placed(line, lo, length, slot, True, recorded, Hold(lo, lo, Fraction(0), line.id))


def ref_on_held_timeline(placed, rate):
    order = sorted((p for p in placed if p.hold), key=lambda p: (p.hold.at, not p.line.card))
    done: list[Hold] = []
    moved: dict[str, Placed] = {}
    for p in order:
        at = shift(p.hold.at, done)
        if p.start < p.hold.at:
            begin = shift(p.start, done)
        else:
            voices = [shift(q.start, done) + q.length for q in placed if q.fits and q.length and not q.hold
                      and q.start < p.hold.at] + [m.end for m in moved.values()]
            begin = max([at + CLEAR] + [e + BETWEEN for e in voices if e + BETWEEN > at + CLEAR])
        need = begin + p.length + CLEAR - at
        frames = max(1, -(-need * rate // 1))
        h = dataclasses.replace(p.hold, length=Fraction(frames) / rate)
        done.append(h)
        moved[p.line.id] = dataclasses.replace(p, start=begin, hold=h)
    return [moved.get(p.line.id) or dataclasses.replace(p, start=shift(p.start, done)) for p in placed]


# --------------------------------------------------------------------------- random cases

#: Times on a coarse grid (twentieths of a second), so that ends meet, windows share edges and margins
#: (CLEAR, BETWEEN) land exactly on other times.
times = st.integers(0, 400).map(lambda n: Fraction(n, 20))


@st.composite
def cases(draw):
    talk = sorted((s, s + draw(st.integers(0, 40)) / Fraction(20)) for s in draw(st.lists(times, max_size=25)))
    n = draw(st.integers(0, 30))
    lines, lengths = [], {}
    for i in range(n):
        lo = draw(times)
        hi = lo + draw(st.integers(0, 80)) / Fraction(20)
        card = draw(st.booleans())
        line = Line(f"l{i}", "x", draw(st.sampled_from(["person", "card", "describe"])), ("sequence", i),
                    (lo, hi), card)
        lines.append(line)
        length = draw(st.one_of(st.none(), st.integers(0, 60).map(lambda k: Fraction(k, 20)),
                                st.fractions(0, 4, max_denominator=997)))
        if length is not None:
            lengths[line.id] = length
    if draw(st.booleans()):
        lines.sort(key=lambda ln: ln.window)  # in playing order, as the script gives them
    duration = draw(times) + draw(st.sampled_from([0, 5, 20]))
    rate = draw(st.sampled_from([Fraction(25), Fraction(30000, 1001), Fraction(50)]))
    recorded = {ln.id for ln in lines if draw(st.booleans())}
    return lines, lengths, talk, duration, rate, recorded


@settings(max_examples=600, deadline=None)
@given(cases(), st.booleans())
def test_placement_is_the_straightforward_one(case, hold):
    lines, lengths, talk, duration, rate, recorded = case
    got = describe._place(lines, lengths, list(talk), duration, rate, recorded, hold)
    want = ref_place(lines, lengths, list(talk), duration, rate, recorded, hold)
    assert got == want
    for g in got:  # exact Fractions, not floats that compare equal
        assert all(isinstance(v, Fraction) for v in (g.start, g.length, g.slot)), g


def test_a_long_run_of_cards_is_the_straightforward_one():
    """Many card lines in a row (a long sequence of cards), none fitting, held: as before."""
    lines = [Line(f"kort-{i}", "x", "card", ("cards", "end"), (Fraction(i), Fraction(i + 1)), True)
             for i in range(300)]
    lengths = {ln.id: Fraction(3, 2) if i % 3 else Fraction(1, 2) for i, ln in enumerate(lines)}
    talk = [(Fraction(5), Fraction(7)), (Fraction(100), Fraction(120))]
    for hold in (False, True):
        assert (describe._place(lines, lengths, talk, Fraction(300), Fraction(25), set(), hold)
                == ref_place(lines, lengths, talk, Fraction(300), Fraction(25), set(), hold))
