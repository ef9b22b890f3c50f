"""Shared fixtures: tiny media made with the real ffmpeg, one cache for the real Whisper model."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

from pipeline.ffmpeg import ffmpeg_exe

ROOT = Path(__file__).resolve().parent.parent
#: The reference recordings; REKRUTT_SHARED_MEDIA points elsewhere (a worktree whose parent has no shared/).
SHARED_MEDIA = Path(os.environ.get("REKRUTT_SHARED_MEDIA") or ROOT.parent / "shared" / "media")


def ff(*args: str) -> None:
    """Run ffmpeg for fixture making (quietly, failing loudly)."""
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


def make_clip(path: Path, *, size: str = "320x180", rate: int = 25, seconds: float = 3.0,
              audio: str | None = "sine=frequency=440:sample_rate=44100", audio_file: Path | None = None,
              channels: int = 2, rotate: int | None = None, sar: str | None = None) -> Path:
    """A small H.264 clip: testsrc2 picture, and a tone, a given audio file, or no audio."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio_file is not None:
        args += ["-i", str(audio_file)]
    elif audio is not None:
        args += ["-f", "lavfi", "-i", f"{audio}:duration={seconds}"]
    vf = "format=yuv420p" + (f",setsar={sar}" if sar else "")
    args += ["-vf", vf, "-c:v", "libx264", "-preset", "ultrafast", "-g", str(rate)]
    if audio_file is not None or audio is not None:
        args += ["-map", "0:v", "-map", "1:a", "-c:a", "aac", "-ac", str(channels), "-t", str(seconds)]
    tmp = path.with_suffix(".plain.mp4")
    ff(*args, str(tmp))
    if rotate is not None:
        ff("-display_rotation", str(rotate), "-i", str(tmp), "-c", "copy", str(path))
        tmp.unlink()
    else:
        tmp.replace(path)
    return path


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One cache (model, transcripts) for the whole test session."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def model_dir(cache_dir) -> Path:
    """The bundled Whisper model, assembled once into the session's cache."""
    from pipeline.cache import Cache
    from pipeline.transcribe import assemble_base_model

    assemble_base_model(Cache(cache_dir))
    return cache_dir / "models"


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def jfk() -> Path:
    path = SHARED_MEDIA / "jfk.flac"
    if not path.is_file():
        pytest.skip(f"reference recording missing: {path} (the shared/ folder beside the project)")
    return path


@pytest.fixture(scope="session")
def erna() -> Path:
    path = SHARED_MEDIA / "erna.mp3"
    if not path.is_file():
        pytest.skip(f"reference recording missing: {path} (the shared/ folder beside the project)")
    return path


@pytest.fixture(scope="session")
def speech_clip(media_dir, jfk) -> Path:
    """11 s of 320x180 picture with J. F. Kennedy's real speech (known text and word times)."""
    return make_clip(media_dir / "jfk.mp4", seconds=11.0, audio_file=jfk, channels=1)


@pytest.fixture(autouse=True)
def _no_unexpected_errors(caplog):
    """Fail a test that logs an ERROR it did not expect (tests that expect one clear caplog)."""
    caplog.set_level(logging.WARNING, logger="rekrutt")
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR and r.name.startswith("rekrutt")]
    if errors and not getattr(caplog, "expected_errors", False):
        pytest.fail("unexpected ERROR log: " + "; ".join(r.getMessage() for r in errors))


# --------------------------------------------------------------------------- portable speech oracles
#
# What Whisper hears differs by a word or a few hundredths of a second between CPUs (AVX-512 / AVX2,
# MKL / OpenBLAS). Tests of logic that consumes a transcript read the pinned reference transcript
# below; tests of rendered cuts compare cut points with its word times and the sound with the source.

JFK_REFERENCE = ROOT / "tests" / "fixtures" / "jfk-transcript.json"


def jfk_reference() -> dict:
    """The pinned transcript of jfk.flac (Transcript JSON) with the recording's measured ``silences``."""
    import json

    return json.loads(JFK_REFERENCE.read_text(encoding="utf-8"))


def pinned_transcript():
    from pipeline.transcribe import Transcript

    return Transcript.from_json(jfk_reference())


def fresh_cache_with_model(root: Path, shared: Path) -> Path:
    """An empty cache folder that borrows the session's assembled Whisper model (no transcripts)."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    if not (root / "models" / "whisper-base").exists():
        (root / "models" / "whisper-base").symlink_to(shared / "models" / "whisper-base")
    return root


def pinned_run(media: Path, transcript):
    """A stand-in for ``Transcriber._run`` that "transcribes" ``media`` to ``transcript()`` (counted in
    ``model_calls`` as a real run is) and runs the real model on anything else."""
    import dataclasses

    from pipeline.cache import file_digest
    from pipeline.transcribe import Transcriber

    digest = file_digest(media)
    real_run = Transcriber._run

    def run(self, clip, options, *label):
        if file_digest(clip) != digest or options.task != "transcribe":
            return real_run(self, clip, options, *label)
        with self._lock:
            self.model_calls += 1
        return dataclasses.replace(transcript(), model=self.model_id)

    return run


@pytest.fixture
def pinned_cache(tmp_path, cache_dir, model_dir, speech_clip, monkeypatch) -> Path:
    """A fresh cache in which the jfk clip "transcribes" to the pinned reference transcript.

    The model run is replaced for that clip only (counted in ``model_calls`` as a real run is);
    everything else (other media, alignment, rendering) is real.
    """
    from pipeline.transcribe import Transcriber

    monkeypatch.setattr(Transcriber, "_run", pinned_run(speech_clip, pinned_transcript))
    return fresh_cache_with_model(tmp_path / "pinned-cache", cache_dir)


def mono16k(path: Path, work: Path):
    """A media file's sound as 16 kHz mono float32 samples (ffmpeg)."""
    import numpy as np

    raw = work / f"{path.stem}.{abs(hash(str(path)))}.f32"
    ff("-i", str(path), "-vn", "-ac", "1", "-ar", "16000", "-f", "f32le", str(raw))
    samples = np.fromfile(raw, dtype=np.float32)
    raw.unlink()
    return samples


def best_alignment(rendered, source, rendered_at: float, source_at: float, length: float,
                   search: float = 0.1, rate: int = 16000) -> tuple[float, float]:
    """(lag in seconds, normalised cross-correlation) of ``rendered[rendered_at:+length]`` against the
    source at ``source_at`` + lag, the lag searched within ±``search`` s: the rendered sound is the
    source's at the expected offset when the lag is near 0 and the correlation is high."""
    import numpy as np

    a = rendered[int(rendered_at * rate):int((rendered_at + length) * rate)].astype(np.float64)
    a = a - a.mean()
    best = (0.0, -1.0)
    step = rate // 1000  # 1 ms
    for lag in range(-int(search * rate), int(search * rate) + 1, step):
        s = int(source_at * rate) + lag
        if s < 0 or s + len(a) > len(source):
            continue
        b = source[s:s + len(a)].astype(np.float64)
        b = b - b.mean()
        ncc = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
        if ncc > best[1]:
            best = (lag / rate, ncc)
    return best
