"""Transcription's speed settings and the progress of transcription and alignment, with the real Whisper
base model on real speech (the NPSC clips with their reference texts, jfk.flac, an excerpt of erna.mp3)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from pipeline import progress
from pipeline.cache import Cache
from pipeline.edit import normalise
from pipeline.transcribe import Transcriber
from pipeline.whisperrun import SEQUENTIAL, WhisperOptions, part_bounds
from tests.conftest import SHARED_MEDIA, ff, fresh_cache_with_model

#: The NPSC clips' reference texts (shared/media/README.md).
NPSC = {
    "npsc-short.mp3": "Stortingets møte er lovlig satt.",
    "npsc-medium.mp3": "Representantene Fredric Helen, Fredric Holen Bjordal, og Trond Giske, som har vært "
                       "permitterte, har igjen tatt sete.",
}


@pytest.fixture(scope="module")
def npsc() -> dict[str, Path]:
    paths = {name: SHARED_MEDIA / name for name in NPSC}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        pytest.skip(f"reference recordings missing: {', '.join(missing)} (the shared/ folder beside the project)")
    return paths


@pytest.fixture(scope="module")
def erna_40s(tmp_path_factory, erna) -> Path:
    path = tmp_path_factory.mktemp("speed") / "erna-40s.wav"
    ff("-ss", "60", "-t", "40", "-i", str(erna), "-ac", "1", "-ar", "16000", str(path))
    return path


def fresh(tmp_path: Path, cache_dir: Path, model_dir: Path) -> Transcriber:
    """A transcriber with no transcripts cached (the session's assembled model borrowed)."""
    return Transcriber(Cache(fresh_cache_with_model(tmp_path / "cache", cache_dir)))


def tokens(words) -> list[str]:
    return [t for w in words for t in normalise(w.text)]


def test_the_faster_settings_keep_whisper_bases_words_and_word_times(tmp_path, cache_dir, model_dir, npsc):
    """On the NPSC references the defaults (long audio in parts, decoded at once) make at most one error
    more than the whole-file beam search of before (the bound is 0.02 of WER: one word of the 22 is 0.045,
    and CPUs differ by a word), and the words both hear are timed alike (the pipeline cuts on word times)."""
    transcriber = fresh(tmp_path, cache_dir, model_dir)
    errors = {}
    shifts = []
    for name, path in npsc.items():
        before = transcriber.transcribe_with(path, WhisperOptions.make("no", **SEQUENTIAL))
        now = transcriber.transcribe(path, "no")
        reference = normalise(NPSC[name])
        for label, t in (("before", before), ("now", now)):
            errors[label] = errors.get(label, 0) + Levenshtein.distance(tokens(t.words), reference)
        a = [w for w in before.words if normalise(w.text)]
        b = [w for w in now.words if normalise(w.text)]
        for op in Levenshtein.opcodes(tokens(a), tokens(b)):
            if op.tag == "equal":
                for i, j in zip(range(op.src_start, op.src_end), range(op.dest_start, op.dest_end), strict=True):
                    shifts += [abs(float(a[i].start - b[j].start)), abs(float(a[i].end - b[j].end))]
        assert all(x.start <= x.end for x in now.words) and now.words == sorted(now.words, key=lambda w: w.start)
    assert errors["now"] <= errors["before"] + 1, errors
    assert len(shifts) >= 2 * 10, "too few words heard alike to compare their times"
    assert sum(shifts) / len(shifts) <= 0.1, shifts  # measured: 0.03 s
    assert transcriber.model_calls == 4  # each setting is its own cache entry


def test_the_cache_key_holds_every_setting_that_changes_the_result():
    """A transcript made with other settings (beam, parts, VAD, prompt) is never reused."""
    base = WhisperOptions.make("no")
    changed = [WhisperOptions.make("no", **SEQUENTIAL), WhisperOptions.make("no", beam_size=1),
               WhisperOptions.make("no", glossary=("Fjordvik",)),
               WhisperOptions.make("no", vad_filter=False),
               WhisperOptions.make("no", task="translate"), WhisperOptions.make("nn")]
    keys = {repr(sorted(asdict(o).items())) for o in [base, *changed]}
    assert len(keys) == 1 + len(changed)
    # the call's arguments are the key's fields (how the audio is parted is Rekrutt's, not the call's)
    assert set(base.kwargs()) | {"part_seconds"} == set(asdict(base))


def steps_of(seen: list[progress.Step], name: str) -> list[progress.Step]:
    return [s for s in seen if s.task == name]


def assert_rises_to_the_total(steps: list[progress.Step], total: float) -> None:
    kinds = [s.kind for s in steps]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("start") == kinds.count("end") == 1, kinds
    assert set(kinds[1:-1]) == {"update"}, kinds
    done = [s.done for s in steps]
    assert done == sorted(done), done  # never goes back
    assert done[0] == 0 and any(0 < d < total for d in done[1:-1]), done  # updates arrive on the way
    assert all(s.total == pytest.approx(total, abs=0.01) and s.unit == "s" for s in steps)
    assert done[-1] == pytest.approx(total, abs=0.01) and steps[-1].fraction == pytest.approx(1.0)


def test_transcription_reports_seconds_of_audio_done_and_ends_at_the_total(tmp_path, cache_dir, model_dir, erna_40s):
    transcriber = fresh(tmp_path, cache_dir, model_dir)
    seen: list[progress.Step] = []
    with progress.use(seen.append):
        t = transcriber.transcribe(erna_40s, "no", label="erna")
    assert len(t.words) > 30
    assert_rises_to_the_total(steps_of(seen, "transcribing erna"), 40.0)
    assert {s.task for s in seen} == {"transcribing erna"}
    seen.clear()
    with progress.use(seen.append):
        again = Transcriber(transcriber.cache).transcribe(erna_40s, "no", label="erna")
    assert again == t and seen == []  # from the cache: nothing to wait for, nothing reported


def test_alignment_of_a_corrected_transcript_reports_its_progress(tmp_path, cache_dir, model_dir, jfk):
    transcriber = fresh(tmp_path, cache_dir, model_dir)
    cues = [(0.0, 3.0, "And so my fellow Americans,"),
            (3.0, 6.5, "ask not what your municipality can do for you,"),
            (6.5, 11.0, "ask what you can do for your town.")]
    seen: list[progress.Step] = []
    with progress.use(seen.append):
        t = transcriber.align(jfk, "en", cues, label="jfk")
    assert "municipality" in [w.text for w in t.words]
    steps = steps_of(seen, "aligning jfk")
    assert_rises_to_the_total(steps, float(t.duration))
    assert {s.task for s in seen} == {"aligning jfk"}


def test_long_audio_is_cut_only_in_pauses_into_parts_of_about_the_length():
    rate = 16000
    # speech of 5 s with pauses of 0.2 s (too short to cut in) and, every 37 s, one of 1 s
    speech, t = [], 0
    while t < 400 * rate:
        speech.append((t, t + 5 * rate))
        t += 5 * rate + (rate if len(speech) % 7 == 0 else rate // 5)
    pauses = [(e, s) for (_, e), (s, _) in zip(speech, speech[1:], strict=False)]
    bounds = part_bounds(speech, 400 * rate, 90 * rate)
    assert bounds[0][0] == 0 and bounds[-1][1] == 400 * rate
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))  # no gap, no overlap
    for cut in (b for _, b in bounds[:-1]):
        assert any(e <= cut <= s and s - e >= rate for e, s in pauses), cut  # in a long pause, not in a word
    assert all(45 * rate <= b - a <= 135 * rate for a, b in bounds), bounds
    assert part_bounds(speech, 120 * rate, 90 * rate) == [(0, 120 * rate)]  # short: one part
    assert part_bounds([(0, 400 * rate)], 400 * rate, 90 * rate) == [(0, 400 * rate)]  # no pause: no cut


def test_parts_decoded_at_once_give_the_words_at_their_times_and_one_rising_progress(
        tmp_path, cache_dir, model_dir, erna_40s):
    """40 s cut into parts of about 20 s (in a pause): the parts' words keep their place on the file's
    timeline (the same words as one part, timed alike) and the progress of both parts is one rising sum."""
    transcriber = fresh(tmp_path, cache_dir, model_dir)
    whole = transcriber.transcribe_with(erna_40s, WhisperOptions.make("no", part_seconds=0))
    seen: list[progress.Step] = []
    with progress.use(seen.append):
        parted = transcriber.transcribe_with(erna_40s, WhisperOptions.make("no", part_seconds=20), label="erna")
    assert_rises_to_the_total(steps_of(seen, "transcribing erna"), 40.0)
    a = [w for w in whole.words if normalise(w.text)]
    b = [w for w in parted.words if normalise(w.text)]
    assert b == sorted(b, key=lambda w: w.start) and b[-1].start > 20  # the second part is there, in order
    pairs = [(a[i], b[j]) for op in Levenshtein.opcodes(tokens(a), tokens(b)) if op.tag == "equal"
             for i, j in zip(range(op.src_start, op.src_end), range(op.dest_start, op.dest_end), strict=True)]
    # Whisper base on Norwegian hears a window differently where it begins elsewhere (measured: 78 % alike)
    assert len(pairs) >= 0.7 * len(a), (whole.text, parted.text)
    assert sum(abs(float(x.start - y.start)) for x, y in pairs) / len(pairs) <= 0.1
    assert parted.language == whole.language == "no"
