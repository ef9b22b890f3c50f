"""Caption segmentation: rules as properties over random word streams, and the break heuristics."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.captions import (
    CaptionRules,
    Cue,
    TimedWord,
    bonds,
    break_lines,
    check,
    enforce_gaps,
    segment_words,
)

RULES = CaptionRules.for_rate(Fraction(25), 42)

WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøå", min_size=1, max_size=14)
PUNCT = st.sampled_from(["", "", "", "", ",", ".", "?", "!"])


@st.composite
def word_streams(draw, max_chars: int = 42):
    """Words with plausible speech timing: 0.1–0.9 s each, gaps 0–1.5 s, all inside one cut."""
    n = draw(st.integers(1, 80))
    t = Fraction(draw(st.integers(0, 40)), 10)
    lo = Fraction(0)
    words = []
    for _ in range(n):
        text = draw(WORDS) + draw(PUNCT)
        if draw(st.booleans()) and len(text) > 1:
            text = text[0].upper() + text[1:]
        length = Fraction(draw(st.integers(1, 9)), 10)
        words.append(TimedWord(text, t, t + length))
        t += length + Fraction(draw(st.sampled_from([0, 0, 0, 1, 2, 5, 15])), 10)
    hi = t + Fraction(draw(st.integers(0, 30)), 10)
    return words, (lo, hi)


@settings(max_examples=300, deadline=None)
@given(word_streams(), st.sampled_from([32, 36, 42]))
def test_segmentation_keeps_every_rule(stream, max_chars):
    words, window = stream
    rules = CaptionRules.for_rate(Fraction(25), max_chars)
    cues = enforce_gaps(segment_words(words, rules, window), rules)
    # no word lost, added or reordered
    assert [w.text for c in cues for w in c.words] == [w.text for w in words]
    assert " ".join(c.text for c in cues).split() == [w.text for w in words]
    report = check(cues, rules)
    assert report.too_many_lines == 0
    assert report.too_long_lines == 0
    assert report.small_gaps == 0
    for k, cue in enumerate(cues):
        assert window[0] <= cue.start < cue.end <= window[1]
        assert all(len(line) <= max_chars for line in cue.lines)
        # on screen no longer than 7 s, unless one word alone is that long
        assert cue.duration <= rules.max_duration or len(cue.words) == 1
        # shown from its first word to (at least) its last word, give or take the gap
        assert cue.start <= cue.words[0].start
        assert cue.end >= min(cue.words[-1].end, (cues[k + 1].start if k + 1 < len(cues) else window[1])) - \
            rules.min_gap
        if cue.duration < rules.min_duration:
            # only where the neighbours or the cut leave no room
            before = cues[k - 1].end + rules.min_gap if k else window[0]
            after = cues[k + 1].start - rules.min_gap if k + 1 < len(cues) else window[1]
            assert cue.start <= before + Fraction(1, 1000) or after - before < rules.min_duration or \
                cue.end >= after - Fraction(1, 1000)


@settings(max_examples=200, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=12), st.integers(16, 42))
def test_line_breaking_never_splits_words(texts, max_chars):
    lines = break_lines(texts, max_chars)
    if lines is None:
        assert len(" ".join(texts)) > max_chars
        return
    assert " ".join(lines).split() == texts
    assert len(lines) <= 2
    if len(texts) > 1:
        assert all(len(line) <= max_chars for line in lines)


def test_prefers_sentence_and_clause_breaks():
    texts = "Jeg heter Anne Hansen, og jeg er sykepleier på Tunet sykehjem.".split()
    lines = break_lines(texts, 42)
    assert lines == ("Jeg heter Anne Hansen,", "og jeg er sykepleier på Tunet sykehjem.")


def test_never_separates_name_article_or_preposition():
    texts = "Vi har snakket med den nye sykepleieren Kari Nordmann i dag om jobben".split()
    b = bonds(texts, glossary=["Tunet sykehjem"])
    assert b[texts.index("den")]  # article + adjective/noun
    assert b[texts.index("Kari")]  # first + last name
    assert b[texts.index("med")]  # preposition + object
    lines = break_lines(texts, 42)
    assert lines is not None
    for line in lines:
        assert not line.endswith((" den", " Kari", " med", " i", " om"))


def test_glossary_phrases_stay_whole():
    texts = "Jeg jobber på Tunet sykehjem hver dag og hver natt med gode kolleger der".split()
    b = bonds(texts, glossary=["Tunet sykehjem"])
    assert b[texts.index("Tunet")]


def test_long_pause_ends_a_cue():
    words = [TimedWord("hei", Fraction(0), Fraction(1, 2)), TimedWord("der", Fraction(3), Fraction(7, 2))]
    cues = segment_words(words, RULES, (Fraction(0), Fraction(5)))
    assert [c.text for c in cues] == ["hei", "der"]


def test_short_cue_is_held_for_the_minimum_duration():
    words = [TimedWord("Hei.", Fraction(1), Fraction(13, 10))]
    (cue,) = segment_words(words, RULES, (Fraction(0), Fraction(10)))
    assert cue.start == Fraction(1) and cue.duration >= RULES.min_duration


def test_fast_cues_are_reported_not_hidden():
    fast = Cue(Fraction(0), Fraction(1), ("En altfor lang setning på ett sekund",))
    report = check([fast], RULES)
    assert report.fast and report.fast[0][1] > 17
