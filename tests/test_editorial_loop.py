"""The editorial loop on a real interview (issue 21): quotes anchored to words, cuts in real pauses,
cut-downs of whole sentences.

Real Norwegian speech (90 s of erna.mp3) under a real face (scikit-image's astronaut, moved slowly),
real forced alignment and the real level envelope. What Whisper hears in the excerpt is pinned
(tests/fixtures/erna-excerpt-transcript.json, Whisper base's words on it), so the quotes and the
corrections do not hang on one CPU's Whisper; cut points are checked against the sound itself.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from pipeline.cache import Cache
from pipeline.edit import MIN_ITEM, SENTENCE_END, cut_down, find, find_through, item_words
from pipeline.load import load_campaign
from pipeline.pauses import PAUSE_DB, envelope, speech_level
from pipeline.spec import ClipItem
from pipeline.transcribe import Segment, Transcriber, Transcript, Word, after_previous, place_on_speech, trim_pauses
from pipeline.transcripts import word_map
from tests.conftest import ROOT, ff, fresh_cache_with_model, pinned_run

#: The excerpt: erna.mp3 from 44 s, 90 s long (the children's press conference: sleep and blueberries,
#: the national day, friends).
EXCERPT_START, EXCERPT_LENGTH = 44, 90


def make_excerpt(erna: Path, target: Path) -> Path:
    """90 s of erna's sound under the astronaut's face, looped and panned slowly, 320x180 at 25 fps."""
    import numpy as np
    from PIL import Image
    from skimage import data

    face = target.with_suffix(".png")
    Image.fromarray(np.asarray(data.astronaut())).save(face)
    pan = ("scale=640:640,crop=512:288:x='64+60*sin(2*PI*t/30)':y='120+100*sin(2*PI*t/45)',"
           "scale=320:180,setsar=1,format=yuv420p")
    tmp = target.with_suffix(".part.mp4")
    ff("-loop", "1", "-framerate", "25", "-i", str(face), "-ss", str(EXCERPT_START), "-t", str(EXCERPT_LENGTH),
       "-i", str(erna), "-map", "0:v", "-map", "1:a", "-vf", pan, "-c:v", "libx264", "-preset", "ultrafast",
       "-g", "25", "-threads", "1", "-c:a", "aac", "-ac", "1", "-t", str(EXCERPT_LENGTH), str(tmp))
    tmp.replace(target)
    return target


PINNED = ROOT / "tests" / "fixtures" / "erna-excerpt-transcript.json"


def pinned() -> Transcript:
    """Whisper base's words on the excerpt (pinned, so the quotes do not hang on one CPU's Whisper)."""
    return Transcript.from_json(json.loads(PINNED.read_text(encoding="utf-8")))


def _stored(pytestconfig, tmp_path_factory, name: str) -> Path:
    """A folder kept between runs in pytest's cache (a fresh temporary one where the cache is off)."""
    cache = getattr(pytestconfig, "cache", None)
    return cache.mkdir(name) if cache is not None else tmp_path_factory.mktemp(name)


@pytest.fixture(scope="session")
def erna_clip(erna, pytestconfig, tmp_path_factory) -> Path:
    """90 s of the interview under a real face, made once and kept in pytest's cache."""
    folder = _stored(pytestconfig, tmp_path_factory, "rekrutt-erna-excerpt")
    target = folder / f"erna-{EXCERPT_START}-{EXCERPT_LENGTH}.mp4"
    return target if target.is_file() else make_excerpt(erna, target)


@pytest.fixture(scope="session")
def erna_cache(erna_clip, cache_dir, model_dir, pytestconfig, tmp_path_factory):
    """A cache (kept between runs: alignments, envelopes) in which the excerpt "transcribes" to the pinned
    transcript; alignment and everything else are real."""
    run = pinned_run(erna_clip, pinned)
    kept = _stored(pytestconfig, tmp_path_factory, "rekrutt-erna-cache")
    link = kept / "models" / "whisper-base"
    if link.is_symlink():  # to the model of an earlier session's (gone) cache
        link.unlink()
    root = fresh_cache_with_model(kept, cache_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Transcriber, "_run", run)
        yield root


SPEC = """\
# The children's press conference: four answers, and two teasers.
campaign: barna
title: Barnas pressekonferanse
language: no
clips:
  erna:
    source: media/erna.mp4   # the interview, under a stand-in face
    person: Erna Solberg
sequence:
  # sleep first
  - clip: erna
    says: "Jeg forsøker å sove nok for det at å sove er viktig for immunforsvaretet."
    priority: 3
  - clip: erna
    says: 'Jeg er veldig grei blåber.'   # the secret
    priority: 2
  - clip: erna
    says: "Kan jeg henne at nationaldagen blir avløst … smitte? Det kjemme litt annet … andre mennesker."
    priority: 1
  - clip: erna
    says: "Du kan ha en eller to vennne, men då er det gjelde å holde de samme gjennom hele perioden."
  - card: end
cards:
  end:
    lines: ["Spør oss"]
    duration: 2
channels: [web]
overrides:
  web: {width: 320, height: 180, poster: false}
versions:
  teaser15:
    max_duration: 15   # the pre-roll
  teaser8:
    max_duration: 8
output: out
"""

#: a producer's corrections of what Whisper heard (pattern, correction): three words
CORRECTIONS = [(r"immunforsvaretet", "immunforsvaret"), (r"grei(\s+)blåber\.", r"grei\1blåbær."),
               (r"nationaldagen", "nasjonaldagen")]


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def loop(tmp_path, erna_clip, erna_cache, monkeypatch):
    """The campaign, its transcript exported and corrected as a producer would (3 words in the SRT)."""
    monkeypatch.setenv("REKRUTT_CACHE_DIR", str(erna_cache))
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "erna.mp4").symlink_to(erna_clip)
    spec = tmp_path / "campaign.yml"
    spec.write_text(SPEC, encoding="utf-8")
    before = load_campaign(spec, cache_dir=erna_cache)
    result = run("transcripts", "export", str(spec))
    assert result.exit_code == 0, result.output
    srt = tmp_path / "transcripts" / "erna.srt"
    text = srt.read_text(encoding="utf-8")
    for pattern, fixed in CORRECTIONS:
        text, n = re.subn(pattern, fixed, text, count=1)
        assert n == 1, pattern
    srt.write_text(text, encoding="utf-8")
    return spec, erna_cache, before


# --------------------------------------------------------------------------- the loop on real speech

def test_quotes_survive_the_correction_and_are_rewritten(loop):
    spec, cache, before = loop
    result = run("validate", str(spec))
    assert result.exit_code == 0, result.output
    through = re.findall(r"is Whisper's wording; matched through the corrected transcript", result.output)
    assert len(through) == 3, result.output
    assert "validate --update-quotes" in result.output
    corrected = load_campaign(spec, cache_dir=cache)
    assert corrected.transcripts["erna"].source == "corrected"
    # every quote is the same span of words as before the correction
    for loc, r in before.quotes.items():
        c = corrected.quotes[loc]
        assert (c.passage.first, c.passage.last) == (r.passage.first, r.passage.last)

    result = run("validate", "--update-quotes", str(spec))
    assert result.exit_code == 0, result.output
    assert "3 quote(s) rewritten" in result.output
    text = spec.read_text(encoding="utf-8")
    for comment in ("# The children's press conference", "# sleep first", "# the secret", "# the pre-roll",
                    "# the interview, under a stand-in face"):
        assert comment in text
    assert "says: 'Jeg er veldig grei blåbær.'" in text  # its quoting kept
    assert "immunforsvaret.\"" in text and "nasjonaldagen blir" in text and "blåber" not in text
    assert text.replace("immunforsvaret.", "immunforsvaretet.").replace("blåbær", "blåber").replace(
        "nasjonaldagen", "nationaldagen") == SPEC  # nothing else changed
    again = run("validate", str(spec))
    assert again.exit_code == 0 and "matched through" not in again.output, again.output
    rewritten = load_campaign(spec, cache_dir=cache)
    assert {k: (q.start, q.end) for k, q in rewritten.quotes.items()} == \
        {k: (q.start, q.end) for k, q in corrected.quotes.items()}


def test_corrected_cuts_lie_in_pauses(loop):
    spec, cache, _ = loop
    campaign = load_campaign(spec, cache_dir=cache)
    levels = envelope(campaign.clip_source("erna"), Cache(cache))
    speech = speech_level(levels)
    words = campaign.transcripts["erna"].words
    for loc, q in campaign.quotes.items():
        for t in (q.start, q.end):
            level = levels[int(t / Fraction(1, 100))]
            assert level <= speech - 15, (loc, float(t), level, speech)
        # by times: the quote's words inside the cut (to the aligner's and the envelope's precision, 0.1 s),
        # the neighbours' outside
        first, last = words[q.passage.first], words[q.passage.last]
        assert q.start <= first.start + Fraction(1, 10) and last.end - Fraction(1, 10) <= q.end, (loc, first, last)
        for i in (q.passage.first - 1, q.passage.last + 1):
            if 0 <= i < len(words):
                middle = (words[i].start + words[i].end) / 2
                assert not q.start <= middle <= q.end, (loc, words[i])
    # no word of the corrected transcript more than ~1 s from voiced sound (a caption would hang in silence)
    for w in words:
        a, b = int(max(Fraction(0), w.start - 1) * 100), int(w.end * 100) + 1
        assert max(levels[a:b]) >= speech - PAUSE_DB, w


def _whole_sentences(campaign, version, sentences: bool = True):
    items, length = campaign.version_cuts[version]
    transcript = campaign.transcripts["erna"]
    words = transcript.words
    quotes = {(q.passage.first, q.passage.last) for q in campaign.quotes.values()}
    clips = [it for it in items if isinstance(it, ClipItem)]
    assert clips, version
    for it in clips:
        assert campaign.item_length(it) >= MIN_ITEM, (version, it)
        if not sentences:
            continue
        first, last = item_words(transcript, *campaign.cut_bounds(it))
        quote = next(q for q in quotes if q[0] == first)  # begins where its quote begins
        assert quote[0] <= last <= quote[1], (version, transcript.source, words[last], it.start, it.end)
        assert last == quote[1] or SENTENCE_END.search(words[last].text), (version, words[last])
    return items, length


def test_cut_downs_keep_whole_sentences(loop):
    spec, cache, _ = loop
    srt = spec.parent / "transcripts" / "erna.srt"
    for corrected in (True, False):  # on the corrected words, then on Whisper's
        if not corrected:
            srt.unlink()
        campaign = load_campaign(spec, cache_dir=cache)
        assert campaign.transcripts["erna"].source == ("corrected" if corrected else "whisper")
        for version, target in (("teaser15", 15), ("teaser8", 8)):
            # Whisper's own word times stretch over pauses, so its words are no measure of where a cut falls
            _, length = _whole_sentences(campaign, version, sentences=corrected)
            assert length <= target
        result = run("validate", str(spec))
        assert result.exit_code == 0, result.output
        teaser = result.output[result.output.index("version teaser8"):]
        assert re.search(r"\d+\.\d\d s  erna: \d\d:\d\d\.\d+–\d\d:\d\d\.\d+ «Kan jeg", teaser), result.output
        assert " s  card end" in teaser
    shown = run("transcripts", "show", str(spec))
    assert shown.exit_code == 0 and "teaser8" in shown.output and "teaser15" in shown.output, shown.output


# --------------------------------------------------------------------------- pure logic, pinned transcripts

def _corrected(t: Transcript, changes: dict[int, list[str]]) -> Transcript:
    """Whisper's words with some replaced (index -> the words that take its place, sharing its time)."""
    words = []
    for i, w in enumerate(t.words):
        for j, text in enumerate(changes.get(i, [w.text])):
            n = len(changes.get(i, [w.text]))
            step = (w.end - w.start) / n
            words.append(Word(text, w.start + j * step, w.start + (j + 1) * step))
    return Transcript(t.language, 1.0, t.duration, (Segment(words[0].start, words[-1].end, "", tuple(words)),),
                      source="corrected")


def test_a_quote_resolves_to_the_same_words_through_a_correction():
    whisper = pinned()
    texts = [w.text for w in whisper.words]
    blue = texts.index("blåber.", texts.index("grei") + 1)
    sleep = texts.index("immunforsvaretet.")
    # one word corrected, one word split in two, one word deleted
    corrected = _corrected(whisper, {blue: ["blåbær."], sleep: ["immun-", "forsvaret."], sleep - 1: []})
    mapping = word_map(whisper.words, corrected.words)
    for says, fixed in (("Jeg er veldig grei blåber.", "Jeg er veldig grei blåbær."),
                        ("Jeg forsøker å sove nok … viktig for immunforsvaretet.",
                         "Jeg forsøker å sove nok … viktig immun- forsvaret.")):
        assert find(corrected, says) == []
        through = find_through(whisper, corrected, mapping, says)
        direct = find(corrected, fixed)
        assert len(through) == 1 and len(direct) == 1
        assert (through[0].first, through[0].last, through[0].parts) == (direct[0].first, direct[0].last,
                                                                          direct[0].parts)
    # words left as they were pair one to one, across the whole transcript
    same = [i for i, w in enumerate(whisper.words) if i not in (blue, sleep, sleep - 1)]
    shift = {i: (1 if i > sleep else 0) - (1 if i > sleep - 1 else 0) for i in same}
    assert all(mapping.spans[i] == (i + shift[i], i + shift[i]) for i in same)
    assert mapping.span(sleep - 1, sleep) == (sleep - 1, sleep)  # «for immunforsvaretet.» -> «immun- forsvaret.»


class _Campaign:
    """What cut_down asks of a campaign, over the pinned transcript (no media)."""

    def __init__(self, transcript: Transcript):
        self.transcripts = {"erna": transcript}
        self.media = {"erna": type("Info", (), {"fps": Fraction(25), "duration": transcript.duration})()}

    def clip_source(self, clip_id):
        return Path("erna.mp4")

    def item_length(self, item):
        return (item.end - item.start) if isinstance(item, ClipItem) else Fraction(item.duration)


def _levels(transcript: Transcript) -> list[float]:
    """An envelope: speech (-15 dBFS) where the words are, silence (-70) between."""
    levels = [-70.0] * (int(transcript.duration * 100) + 1)
    for w in transcript.words:
        for i in range(int(w.start * 100), int(w.end * 100)):
            levels[i] = -15.0
    return levels


def test_a_cut_down_keeps_whole_sentences_of_its_quotes(monkeypatch):
    from pipeline import edit
    from pipeline.spec import CardItem

    transcript = Transcript("no", 1.0, Fraction(60), (Segment(Fraction(0), Fraction(60), "", tuple(
        Word(text, Fraction(start, 10), Fraction(start + 4, 10)) for text, start in (
            # a 0.4 s word every 0.5 s; sentences end at «en.», «to.», «tre.»
            ("Ja", 10), ("en.", 15), ("Så", 20), ("sa", 25), ("hun", 30), ("to.", 35), ("Og", 40), ("tre.", 45),
            ("Fire", 100), ("fem", 105), ("seks", 110), ("sju", 115), ("åtte", 120), ("ni.", 125),
            ("Ti", 200), ("elleve", 205), ("tolv", 210), ("tretten.", 215), ("Fjorten", 220), ("femten.", 225),
        ))),))
    monkeypatch.setattr(edit, "envelope", lambda path, cache: _levels(transcript))
    campaign = _Campaign(transcript)

    def quote(a, b, priority):
        # a resolved quote, as resolve_quotes leaves it: its says and its times
        return ClipItem(clip="erna", says="x", priority=priority).model_copy(
            update={"start": Fraction(a, 10) - Fraction(1, 10), "end": Fraction(b, 10) + Fraction(2, 10)})

    items = [quote(10, 49, 2),   # «Ja en. Så sa hun to. Og tre.» 4.2 s, three sentences
             quote(100, 129, 1),  # «Fire … ni.» 3.2 s, one sentence
             quote(200, 229, 3),  # «Ti elleve tolv tretten. Fjorten femten.» 3.2 s
             CardItem(card="end", duration=2)]
    for target in (Fraction(15), Fraction(9), Fraction(8), Fraction(6)):
        made, length = cut_down(campaign, items, target, cache=None)
        assert length <= target
        for it in made:
            if not isinstance(it, ClipItem):
                continue
            assert it.end - it.start >= MIN_ITEM, (target, it)
            first, last = item_words(transcript, it.start, it.end)
            original = next(q for q in items if isinstance(q, ClipItem) and q.start == it.start)
            q_first, q_last = item_words(transcript, original.start, original.end)
            assert first == q_first and last <= q_last
            assert last == q_last or SENTENCE_END.search(transcript.words[last].text), (target, it)
    # 6 s: the end card, «Fire … ni.» whole (3.2 s); «Ja en.» (0.9 s) is too short to keep, so the item goes
    made, _ = cut_down(campaign, items, Fraction(6), cache=None)
    assert [(it.start, it.end) for it in made if isinstance(it, ClipItem)] == [(items[1].start, items[1].end)]
    # 9 s: and the first quote shortened at «hun to.» (2.9 s), not at «en.»
    made, _ = cut_down(campaign, items, Fraction(9), cache=None)
    first = [it for it in made if isinstance(it, ClipItem) and it.start == items[0].start]
    assert first and Fraction(38, 10) < first[0].end < Fraction(40, 10)


def test_the_aligner_moves_words_off_pauses():
    voiced = [(Fraction(10), Fraction(12)), (Fraction(15), Fraction(17))]
    # «mitt» placed 2.3 s before it is said, in the pause before its cue's sound
    words = (Word("mitt", Fraction(127, 10), Fraction(130, 10)), Word("hjem", Fraction(151, 10), Fraction(155, 10)))
    placed, moved = place_on_speech(words, voiced, (Fraction(125, 10), Fraction(18)))
    assert placed[0].start == Fraction(15) and placed[0].end <= placed[1].start + Fraction(1, 10)
    assert moved == [("mitt", Fraction(127, 10), Fraction(15))]
    # a word stretched over a pause keeps its own side of it; a cue's word starting inside the previous cue's
    # words starts at the next voiced sound
    stretched = trim_pauses((Word("smitte?", Fraction(11), Fraction(155, 10)),), voiced)
    assert stretched[0].end == Fraction(12)
    later, moved = after_previous((Word("Det", Fraction(11), Fraction(158, 10)),), Fraction(12), voiced)
    assert later[0].start == Fraction(15) and moved
