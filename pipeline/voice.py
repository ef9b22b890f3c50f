"""The description voice: an offline Norwegian synthetic voice, a recorded line, or another engine.

The default is eSpeak NG from the ``espeakng-loader`` wheel (it ships ``libespeak-ng`` and its
``no_dict``), called through ctypes: no network, no model download, the same voice on every
machine. It is robotic but intelligible; a recorded human voice (``descriptions/<line>.wav``
beside the spec) is the quality path and replaces the synthetic line. Another engine plugs in by
command (``voice: {command: "engine --out {out} {text}"}``).

eSpeak keeps global state and is not thread-safe: one synthesis at a time in a process.
"""

from __future__ import annotations

import ctypes
import logging
import shlex
import tempfile
import threading
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: an unchanged re-render needs none (issue 25)
    import numpy as np

from . import ffmpeg as ff
from .cache import Cache, key_of
from .errors import InputError, RenderError

log = logging.getLogger("rekrutt")

#: The description stem's sample rate (eSpeak's own).
VOICE_RATE = 22050

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE = 1

_lock = threading.Lock()
_engine: dict[str, object] = {}
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class Voice:
    """Which voice speaks the description: an eSpeak voice name at a rate (words a minute), or a command."""

    name: str = "nb"
    rate: int = 150
    command: str | None = None  #: a command with {text} and {out} (a WAV file) in it, instead of eSpeak

    @property
    def label(self) -> str:
        return f"command '{self.command.split()[0]}'" if self.command else f"eSpeak NG '{self.name}' at {self.rate}"


def _espeak():
    """The loaded library, initialised once (its data from the wheel)."""
    import numpy as np
    if "lib" not in _engine:
        try:
            import espeakng_loader
        except ImportError as exc:  # a dependency of the project: pip install -e . brings it
            raise RenderError("the description voice needs espeakng-loader: pip install espeakng-loader") from exc
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise RenderError("eSpeak NG could not start (its data folder was not found)")
        chunks: list[np.ndarray] = []

        def collect(wav, count, events) -> int:
            if count > 0 and wav:
                chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            return 0

        callback = _CALLBACK(collect)
        lib.espeak_SetSynthCallback(callback)
        _engine.update(lib=lib, rate=rate, chunks=chunks, callback=callback, voice=None)
    return _engine


def espeak_samples(text: str, voice: str = "nb", rate: int = 175) -> tuple[np.ndarray, int]:
    """eSpeak NG's speech of ``text`` as int16 samples, and their sample rate."""
    import numpy as np
    with _lock:
        engine = _espeak()
        lib = engine["lib"]
        if engine["voice"] != voice:
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise InputError(f"eSpeak NG has no voice '{voice}'; use nb (Norwegian bokmål) or another "
                                 "eSpeak voice name")
            engine["voice"] = voice
        lib.espeak_SetParameter(_RATE, int(rate), 0)
        chunks: list = engine["chunks"]
        chunks.clear()
        data = text.encode("utf-8") + b"\0"
        lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        chunks.clear()
        return samples.astype(np.int16), int(engine["rate"])


def _trim(samples: np.ndarray, rate: int) -> np.ndarray:
    """Speech without the silence eSpeak (or a recording) leaves at both ends (kept: 20 ms)."""
    import numpy as np
    if not samples.size:
        return samples
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 300)
    if not loud.size:
        return samples[:0]
    keep = int(rate * 0.02)
    return samples[max(0, loud[0] - keep): loud[-1] + keep]


def write_wav(path: Path, samples: np.ndarray, rate: int = VOICE_RATE) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def read_any(path: Path, rate: int = VOICE_RATE) -> np.ndarray:
    """Any audio file ffmpeg reads, as mono int16 at ``rate`` (decoded through the one runner)."""
    import numpy as np
    with tempfile.TemporaryDirectory(prefix="rekrutt-voice-") as tmp:
        out = Path(tmp) / "voice.wav"
        try:
            ff.run([ff.ffmpeg_exe(), "-v", "error", "-i", ff.safe_path_arg(path), "-ac", "1", "-ar", str(rate),
                    "-c:a", "pcm_s16le", str(out)], what=f"reading {path.name}")
        except RenderError as exc:
            raise InputError(f"{path} could not be read as sound: {exc}") from None
        with wave.open(str(out), "rb") as w:
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


def speak(text: str, voice: Voice, recorded: Path | None = None, work: Path | None = None,
          cache: Cache | None = None) -> np.ndarray:
    """One description line as mono int16 samples at :data:`VOICE_RATE`, trimmed of silence at its ends:
    the recording where there is one, else the voice's synthesis."""
    if recorded is not None and recorded.is_file():
        return _trim(read_any(recorded), VOICE_RATE)
    if voice.command:
        if work is None:
            raise RenderError("a command voice needs a work folder")
        out = work / f"voice-{abs(hash(text))}.wav"
        args = [a.replace("{text}", text).replace("{out}", str(out)) for a in shlex.split(voice.command)]
        ff.run(args, what=f"the voice command {args[0]}", writes=[out])
        if not out.is_file():
            raise RenderError(f"the voice command {args[0]} wrote no {out.name}")
        return _trim(read_any(out), VOICE_RATE)
    return espeak_line(text, voice.name, voice.rate, cache)


#: eSpeak NG's speech of one text varies by a few samples from call to call (measured: one sentence
#: three times in a row gave 41,736, 41,739 and 41,737 samples), which moved the lines' places by a
#: millisecond and made every described version again on an unchanged re-render. So each line is
#: synthesized once and kept: in the cache (by engine, voice, rate and text) and in this process.
_spoken: dict[tuple[str, str, int], np.ndarray] = {}
VOICE_VERSION = 1


def espeak_line(text: str, voice: str = "nb", rate: int = 175, cache: Cache | None = None) -> np.ndarray:
    """One line in eSpeak NG's voice, trimmed, at :data:`VOICE_RATE`: the same samples each time."""
    import numpy as np
    memo = (text, voice, int(rate))
    if memo in _spoken and cache is None:
        return _spoken[memo]

    def synthesize() -> np.ndarray:
        if memo in _spoken:  # spoken in this process already: the cache gets the very samples used
            return _spoken[memo]
        samples, got = espeak_samples(text, voice, rate)
        if got != VOICE_RATE:
            raise RenderError(f"eSpeak NG speaks at {got} Hz, not {VOICE_RATE}")
        return _trim(samples, got)

    if cache is None:
        samples = synthesize()
    else:
        with wave.open(str(_cached_line(text, voice, rate, cache, synthesize)), "rb") as w:
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()
    _spoken[memo] = samples
    return samples


def _cached_line(text: str, voice: str, rate: int, cache: Cache, synthesize: Callable[[], np.ndarray]) -> Path:
    """The line's WAV in the cache (by engine, voice, rate and text), synthesized where there is none."""
    import espeakng_loader  # the wheel's version is the engine's

    key = key_of("voice", VOICE_VERSION, getattr(espeakng_loader, "__version__", "?"), voice, int(rate), text)
    path, _, _ = cache.file("voice", key, ".wav", lambda tmp: (write_wav(tmp, synthesize()), {})[1])
    return path


def length(samples: np.ndarray) -> Fraction:
    """Seconds of a line's samples (to the millisecond)."""
    return Fraction(round(1000 * len(samples) / VOICE_RATE), 1000)


def spoken_length(text: str, voice: Voice, recorded: Path | None = None, work: Path | None = None,
                  cache: Cache | None = None) -> Fraction:
    """:func:`length` of :func:`speak`'s samples; for a synthetic line in the cache, read from its WAV's header
    (placing the lines needs their lengths only: an unchanged re-render reads no samples, issue 25)."""
    if (recorded is None or not recorded.is_file()) and not voice.command and cache is not None:
        memo = (text, voice.name, int(voice.rate), str(cache.root))  # every output says the same lines: once
        if memo not in _lengths:
            with wave.open(str(_cached_line(text, voice.name, voice.rate, cache,
                                            lambda: espeak_line(text, voice.name, voice.rate))), "rb") as w:
                _lengths[memo] = Fraction(round(1000 * w.getnframes() / VOICE_RATE), 1000)
        return _lengths[memo]
    return length(speak(text, voice, recorded, work, cache))


#: Synthetic lines' lengths read in this process, by text, voice, rate and cache folder.
_lengths: dict[tuple[str, str, int, str], Fraction] = {}


class Spoken(Mapping):
    """Lines' samples by id, each spoken when first read (:func:`speak` through ``make``)."""

    def __init__(self, ids: list[str], make: Callable[[str], np.ndarray]):
        self._ids, self._make, self._done = list(dict.fromkeys(ids)), make, {}

    def __getitem__(self, line_id: str) -> np.ndarray:
        if line_id not in self._ids:
            raise KeyError(line_id)
        if line_id not in self._done:
            self._done[line_id] = self._make(line_id)
        return self._done[line_id]

    def __iter__(self):
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
