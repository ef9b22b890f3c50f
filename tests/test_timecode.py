from fractions import Fraction

import pytest

from pipeline.timecode import clock, frames, parse_time, snap


@pytest.mark.parametrize("value, expected", [
    (2, Fraction(2)), (2.5, Fraction(5, 2)), (9.1, Fraction(91, 10)), ("12.25", Fraction(49, 4)),
    ("00:09.500", Fraction(19, 2)), ("01:02.5", Fraction(125, 2)), ("1:00:00.040", Fraction(90001, 25)),
    ("00:01,5", Fraction(3, 2)),
])
def test_parse_time_forms(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", ["abc", "1:75", "-3", True, None, float("nan"), "1::2"])
def test_parse_time_rejects(value):
    with pytest.raises(ValueError):
        parse_time(value)


def test_float_times_are_exact_decimals():
    # 0.1 + 0.2 drifts as floats; as spec decimals they add up exactly
    assert parse_time(0.1) + parse_time(0.2) == parse_time("0.3")


def test_frames_and_snap():
    assert frames(Fraction(15, 2), Fraction(24)) == 180
    assert frames(Fraction(15, 2), Fraction(25)) == 188  # 187.5 rounds up
    assert snap(Fraction(1, 3), Fraction(25)) == Fraction(8, 25)


def test_clock():
    assert clock(Fraction(3723, 1) + Fraction(1, 2)) == "01:02:03.500"
    assert clock(Fraction(1, 3), sep=",") == "00:00:00,333"
