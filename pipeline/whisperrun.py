"""One faster-whisper run: its settings (which are also the transcript's cache key), and long audio
decoded in parts at once.

Whisper decodes a 30 s window at a time, one token after another; on a small CPU that leaves cores
waiting (the matrices of one greedy step are too small to share out). Audio longer than 1.5
:attr:`WhisperOptions.part_seconds` is cut in pauses (0.3 s or more of the recording's level well
under its speech, as the edit's pauses are measured) into parts of about that length, and the parts
are decoded concurrently, each by a CTranslate2 worker of one thread. With
``condition_on_previous_text`` off no window reads the one before it, so a cut in a pause only moves
where windows begin. Written here because faster-whisper's ``BatchedInferencePipeline``, the
library's own way, drops the temperature fallback and looped ("å å å ...") on erna.mp3.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class WhisperOptions:
    """The arguments of one faster-whisper ``transcribe`` call and how the audio is parted: the
    transcript's cache key, so a cached transcript cannot come from other settings.

    The defaults are the fastest measured (``bench/transcribe_bench.py``) that keep Whisper base's
    words and word times; :data:`SEQUENTIAL` is how Rekrutt transcribed before.
    """

    language: str | None = None  #: Whisper code; None lets Whisper detect it
    task: str = "transcribe"  #: or "translate" (into English)
    beam_size: int = 5  #: beam search (greedy, 1, saves a third of the CPU but mishears more in noise)
    vad_filter: bool = True  #: silence and music give no invented text
    word_timestamps: bool = True
    condition_on_previous_text: bool = False  #: no runaway repetition across segments
    #: the glossary, as Whisper's prompt: faster-whisper's ``hotwords`` appended the glossary as
    #: invented text after the speech on these machines
    initial_prompt: str | None = None
    part_seconds: int = 90  #: audio cut in pauses into parts of about this length, decoded at once; 0: whole

    @classmethod
    def make(cls, language: str | None, task: str = "transcribe", glossary: tuple[str, ...] = (),
             **settings) -> WhisperOptions:
        prompt = (", ".join(sorted(glossary)) + ".") if glossary and task == "transcribe" else None
        return cls(language=language, task=task, initial_prompt=prompt, **settings)

    def kwargs(self) -> dict:
        """Keyword arguments for ``WhisperModel.transcribe``."""
        out = asdict(self)
        del out["part_seconds"]
        return out


#: The settings before parts (the whole file in one run); greedy decoding is measured beside them.
SEQUENTIAL = {"beam_size": 5, "part_seconds": 0}

#: A cut needs a pause at least this long (samples) and lies in its middle.
MIN_PAUSE = SAMPLE_RATE * 3 // 10


def part_bounds(speech: list[tuple[int, int]], total: int, part: int) -> list[tuple[int, int]]:
    """Sample ranges ``[a, b)`` covering ``[0, total)``, each about ``part`` samples long (between 2/3
    and 4/3 of it where a pause allows), cut in the middle of the longest pause between ``speech``
    stretches there. No cut where there is no pause: a part grows until one comes."""
    if part <= 0 or total <= part * 3 // 2:
        return [(0, total)]
    pauses = [((e + s) // 2, s - e) for (_, e), (s, _) in zip(speech, speech[1:], strict=False) if s - e >= MIN_PAUSE]
    cuts: list[int] = []
    last = 0
    while total - last > part * 3 // 2:
        near = [p for p in pauses if last + part * 2 // 3 <= p[0] <= min(last + part * 4 // 3, total - part // 2)]
        later = [p for p in pauses if last + part * 2 // 3 <= p[0] <= total - part // 2]
        if not (near or later):
            break
        cut = max(near, key=lambda p: p[1])[0] if near else min(later)[0]
        cuts.append(cut)
        last = cut
    edges = [0, *cuts, total]
    return list(zip(edges, edges[1:], strict=False))


#: A decoded segment: (start, end, text, words as (text, start, end, probability)), seconds on the file.
Decoded = tuple[float, float, str, list[tuple[str, float, float, float]]]


def run(model, audio, options: WhisperOptions, bounds: list[tuple[int, int]], workers: int,
        report: Callable[[float], None]) -> tuple[list[Decoded], str, float]:
    """Decode ``audio`` (16 kHz samples) with a loaded ``WhisperModel``, in the parts ``bounds`` gives
    (:func:`part_bounds`), ``workers`` at once: the segments in order, the language and its probability.
    ``report`` is given the seconds of audio done, as they rise."""
    kwargs = options.kwargs()
    language, probability = options.language, 1.0
    if len(bounds) > 1 and language is None:  # one language for all parts, from the start (as Whisper does)
        language, probability, _ = model.detect_language(audio)
        kwargs["language"] = language
    done = [0.0] * len(bounds)
    lock = threading.Lock()

    def part(i: int) -> tuple[list[Decoded], object]:
        a, b = bounds[i]
        offset = a / SAMPLE_RATE
        segments, info = model.transcribe(audio[a:b], **kwargs)
        out = []
        for s in segments:  # a generator: each segment is decoded as it is asked for
            out.append((offset + s.start, offset + s.end, s.text,
                        [(w.word, offset + w.start, offset + w.end, w.probability) for w in (s.words or ())]))
            with lock:
                done[i] = s.end
                report(sum(done))
        with lock:
            done[i] = (b - a) / SAMPLE_RATE
            report(sum(done))
        return out, info

    with ThreadPoolExecutor(max(1, min(workers, len(bounds)))) as pool:
        results = list(pool.map(part, range(len(bounds))))
    if len(bounds) == 1:
        info = results[0][1]
        language, probability = info.language, info.language_probability
    return [s for out, _ in results for s in out], language, probability
