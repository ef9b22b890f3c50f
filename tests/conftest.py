"""Shared fixtures: tiny media made with the real ffmpeg, one cache for the real Whisper model."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from pipeline.ffmpeg import ffmpeg_exe

ROOT = Path(__file__).resolve().parent.parent
SHARED_MEDIA = ROOT.parent / "shared" / "media"


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
