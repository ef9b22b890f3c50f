"""The described version's sound chain in fewer, cheaper ffmpeg runs (issue 25), its output unchanged.

Before, each sound group ran five ffmpeg: the stem's loudness, the mix, the mix's loudness, the track, and
its check (each loudness with ebur128's true peak, read only for the check). Now: the mix measures itself
(a branch of the same graph), the track is checked as it is encoded (a loopback decoder), the true peak is
measured only where it is read, and the stem's loudness is kept in the cache by its content.

The oracle is the old command sequence, kept below as it was: the new chain's track must hold the same
packets (:func:`~pipeline.probe.sound_identity`) and report the same loudness and true peak, on real speech
encoded as each of the example's sound groups (192k AAC, X/web's 128k AAC, the cinema's 6-channel PCM).
The AAC groups' tracks are made in chunks since (tests/test_sound_chunks.py): there the oracle is the old
chain's track decoded, sample for sample as long, the same sound within AAC's own noise, no click at a join.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import pipeline.describedsound as described
from pipeline.cache import Cache
from pipeline.channels import get_preset
from pipeline.describe import Line, Placed
from pipeline.describedsound import described_sound, sound_key
from pipeline.encoding import container_format
from pipeline.errors import RenderError
from pipeline.ffmpeg import FfmpegCommand, ffmpeg_exe, run_command
from pipeline.files import sha256_file
from pipeline.loudness import parse_ebur128, parse_integrated, verify_command
from pipeline.probe import probe, sound_identity
from pipeline.voice import read_any
from tests.conftest import SHARED_MEDIA

GROUPS = ("youtube", "x", "cinema")  # the example's three sound groups
DUCK_DB = -12.0


# --------------------------------------------------------------------------- the old chain (the oracle)

def old_mix_command(original: Path, stem_wav: Path, placed: list[Placed], duck_db: float, voice_gains_db: list[float],
                    preset, out: Path) -> FfmpegCommand:
    """The mix as it was made before issue 25's change (no holds: the test's lines all fit), each line at its
    own gain since (the stem's volume expression is the pipeline's)."""
    layout = "5.1" if preset.audio_channels == 6 else "stereo"
    pan = "pan=5.1|FC=c0" if preset.audio_channels == 6 else "pan=stereo|FL=c0|FR=c0"
    ramp = described.RAMP
    ducks = [f"clip(min((t-{float(p.start) - ramp:.3f})/{ramp},({float(p.end) + ramp:.3f}-t)/{ramp}),0,1)"
             for p in placed]
    env = ducks[0]
    for d in ducks[1:]:
        env = f"max({env},{d})"
    duck = f"pow(10,{duck_db / 20:.4f}*{env})"
    graph = (f"[0:a]aformat=sample_fmts=fltp:sample_rates={preset.sample_rate}:channel_layouts={layout}[orig];"
             f"[orig]volume='{duck}':eval=frame[ducked];"
             f"[1:a]aresample={preset.sample_rate},{pan},aformat=sample_fmts=fltp:channel_layouts="
             f"{layout},volume='{described._voice_expression(placed, voice_gains_db)}':eval=frame[voice];"
             "[ducked][voice]amix=inputs=2:duration=first:normalize=0[mix]")
    return FfmpegCommand(["-y", "-i", str(original), "-i", str(stem_wav), "-/filter_complex",
                          FfmpegCommand.SCRIPT, "-map", "[mix]", "-c:a", "pcm_f32le", str(out)],
                         filter_script=graph, outputs=[out])


def old_sound_command(mix: Path, gain_db: float, preset, duration, out: Path, margin: float = 0.5) -> FfmpegCommand:
    ceiling = 10 ** ((preset.true_peak_dbtp - margin) / 20)
    samples = int(duration * preset.sample_rate + Fraction(1, 2))
    graph = (f"[0:a]volume={gain_db:.2f}dB,aresample=192000,alimiter=limit={ceiling:.5f}:attack=1:release=60:"
             f"level=0:latency=1,aresample={preset.sample_rate},asetpts=N/SR/TB,apad,atrim=end_sample={samples}[a]")
    args = ["-y", "-i", str(mix), "-/filter_complex", FfmpegCommand.SCRIPT, "-map", "[a]",
            "-c:a", preset.audio_codec, "-ar", str(preset.sample_rate), "-ac", str(preset.audio_channels)]
    if preset.audio_kbps:
        args += ["-b:a", f"{preset.audio_kbps}k"]
    return FfmpegCommand(args + ["-f", container_format(preset), str(out)], filter_script=graph, outputs=[out])


def old_chain(original, stem_wav, placed, duck_db, source_lufs, preset, duration, work, out,
              sound_command=old_sound_command) -> tuple[dict, list[str]]:
    """The five-run sequence of before (each line's voice measured on its own since): its facts, and what it ran."""
    ran: list[str] = []

    def loudness(path: Path, what: str):
        ran.append(what)
        return parse_ebur128(run_command(verify_command(path), work, what=what))

    gains = []
    for p in sorted(placed, key=lambda p: p.start):
        line = work / "old-line.wav"
        at = int(float(p.start) * 22050)
        ffmpeg("-i", str(stem_wav), "-af", f"atrim=start_sample={at}:end_sample={at + round(float(p.length) * 22050)}",
               "-c:a", "pcm_s16le", str(line))
        level = loudness(line, "voice").integrated
        gains.append((source_lufs - level) if level > -70 else 0.0)
    mix = work / "old-mix.wav"
    ran.append("mix")
    run_command(old_mix_command(original, stem_wav, placed, duck_db, gains, preset, mix), work, what="mix")
    gain = preset.loudness_lufs - loudness(mix, "mix loudness").integrated
    for margin in (0.5, 1.5):
        ran.append("sound")
        run_command(sound_command(mix, gain, preset, duration, out, margin), work, what="sound")
        verified = loudness(out, "check")
        if verified.true_peak <= preset.true_peak_dbtp + 0.05:
            return {"integrated": verified.integrated, "true_peak": verified.true_peak}, ran
    raise AssertionError("the old chain's true peak stayed over")


# --------------------------------------------------------------------------- real speech as each group's sound

def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", "-y", *args], check=True)


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> dict:
    """jfk.flac (11 s of real speech) as each group's finished sound, and a description stem (mono, the
    voice's 22.05 kHz) with 2.5 s of real Norwegian speech from 3 s on."""
    jfk, npsc = SHARED_MEDIA / "jfk.flac", SHARED_MEDIA / "npsc-short.mp3"
    if not (jfk.is_file() and npsc.is_file()):
        pytest.skip(f"the shared recordings are not in {SHARED_MEDIA} (set REKRUTT_SHARED_MEDIA)")
    root = tmp_path_factory.mktemp("sound-chain")
    originals = {}
    for name in GROUPS:
        preset = get_preset(name)
        out = root / f"{name}.{preset.extension}"
        if preset.audio_channels == 6:
            sound = ["-af", "pan=5.1|FC=c0", "-c:a", preset.audio_codec]
        else:
            sound = ["-ac", "2", "-c:a", "aac", "-b:a", f"{preset.audio_kbps}k"]
        ffmpeg("-i", str(jfk), "-ar", "48000", *sound, "-f", container_format(preset), str(out))
        originals[name] = out
    stem = root / "stem.wav"
    ffmpeg("-ss", "1", "-t", "2.5", "-i", str(npsc), "-af", "adelay=3000,apad", "-t", "11", "-ar", "22050",
           "-ac", "1", "-c:a", "pcm_s16le", str(stem))
    line = Line("line", "Et bilde av talen", "describe", ("descriptions", 0), (Fraction(0), Fraction(11)))
    placed = [Placed(line, start=Fraction(3), length=Fraction(5, 2), slot=Fraction(3), fits=True)]
    return {"originals": originals, "stem": stem, "placed": placed, "duration": probe(originals["youtube"]).duration}


@pytest.fixture
def ran(monkeypatch) -> list[str]:
    """What the described sound ran, each ffmpeg by its ``what``."""
    whats: list[str] = []

    def counted(cmd, work, *, what, **kw):
        whats.append(what)
        return run_command(cmd, work, what=what, **kw)

    monkeypatch.setattr(described, "run_command", counted)
    return whats


def source_lufs(preset) -> float:
    return preset.loudness_lufs


def new_chain(speech, name: str, work: Path, cache: Cache) -> tuple[Path, dict]:
    """The described sound through the pipeline with a cache, and the facts the cache keeps for it."""
    preset = get_preset(name)
    args = (speech["originals"][name], speech["stem"], speech["placed"], DUCK_DB, source_lufs(preset), preset,
            speech["duration"])
    path, integrated = described_sound(*args, work, cache)
    key = sound_key(sound_identity(args[0]), sha256_file(args[1]), *args[2:])
    facts = cache.get("described-sound", key)["facts"]
    assert integrated == facts["integrated"]
    return path, facts


# --------------------------------------------------------------------------- the tests

def decoded(path: Path, preset) -> np.ndarray:
    """A track as a player decodes it (its edit list applied), mixed down to one channel at the channel's rate."""
    return read_any(path, preset.sample_rate).astype(np.float64)


@pytest.mark.parametrize("name", GROUPS)
def test_the_described_sound_is_the_old_chains(tmp_path, speech, ran, name):
    """Each group's track is the old five-run chain's, with the same measured loudness and true peak kept in the
    cache (what the manifest reports); five ffmpeg runs made it as well: the mix with its loudness, the limited
    mix's loudness without encoding (the gain corrected where the limiter takes more than 0.5 LU; not here),
    the track in chunks, checked once joined. Each is as long to the sample; the cinema's PCM plays the old
    track's samples, an AAC track differs from the old one by AAC's own noise only."""
    preset = get_preset(name)
    old = tmp_path / f"old.{preset.extension}"
    facts, old_ran = old_chain(speech["originals"][name], speech["stem"], speech["placed"], DUCK_DB,
                               source_lufs(preset), preset, speech["duration"], tmp_path, old)
    assert old_ran == ["voice", "mix", "mix loudness", "sound", "check"]
    ran.clear()
    path, new_facts = new_chain(speech, name, tmp_path, Cache(tmp_path / "cache"))
    assert new_facts["true_peak"] <= preset.true_peak_dbtp + 0.05
    assert abs(new_facts["integrated"] - preset.loudness_lufs) < 1
    done = [f"description voice ({name})", f"described sound ({name})", f"described sound's loudness ({name})",
            f"described version's sound ({name})", f"described version's check ({name})"]
    assert ran == done
    a, b = decoded(old, preset), decoded(path, preset)
    assert a.size == b.size == round(speech["duration"] * preset.sample_rate)  # one channel: read_any's mono
    if preset.audio_codec.startswith("pcm_"):  # PCM joins to the sample: the old track's samples
        assert np.array_equal(a, b)
        assert new_facts == facts
        return
    assert abs(new_facts["integrated"] - facts["integrated"]) <= 0.1
    assert np.corrcoef(a, b)[0, 1] > 0.999
    assert 20 * np.log10(np.linalg.norm(a) / np.linalg.norm(a - b)) > 25  # dB: AAC's noise, twice over


def test_groups_with_the_same_stem_measure_the_voice_once(tmp_path, speech, ran):
    """The line's loudness is kept by its samples: the second and third sound group do not measure it (each runs
    its mix, its limited mix's loudness, its chunks and its check)."""
    cache = Cache(tmp_path / "cache")
    for name in GROUPS:
        new_chain(speech, name, tmp_path, cache)
    assert len(ran) == 13, ran
    assert [w for w in ran if w.startswith("description voice")] == ["description voice (youtube)"]


def test_integrated_loudness_without_the_true_peak_is_the_same(tmp_path, speech):
    """ebur128 without its true peak measures the same integrated loudness (stereo and 5.1), and a summary
    without a true peak is no check: parse_ebur128 refuses it, parse_integrated reads it."""
    for name in ("youtube", "cinema"):
        path = speech["originals"][name]
        full = run_command(verify_command(path), tmp_path, what="with true peak")
        quick = run_command(verify_command(path, true_peak=False), tmp_path, what="without")
        assert "True peak" in full and "True peak" not in quick
        assert parse_integrated(quick) == parse_integrated(full) == parse_ebur128(full).integrated
        assert parse_integrated(quick) < -10
        with pytest.raises(RenderError, match="no summary"):
            parse_ebur128(quick)


def forced_over(make, tries: int = 1):
    """A sound command (the old chain's track, or the pipeline's chunks: ``(mix, gain_db, preset, a, b, margin)``)
    whose first ``tries`` tries go over the ceiling (20 dB louder, the limiter at 0 dBFS, 1 dB over it: the most
    alimiter takes)."""
    made = []

    def command(mix, gain_db, preset, a, b, margin=0.5):
        made.append(margin)
        if len(made) <= tries:
            return make(mix, gain_db + 20, preset, a, b, -1.0)
        return make(mix, gain_db, preset, a, b, margin)

    return command


@pytest.mark.parametrize("name", ("youtube", "cinema"))
def test_a_true_peak_over_the_ceiling_is_made_again_with_a_bigger_margin(tmp_path, speech, ran, monkeypatch, name):
    """Where the checked track is over the true-peak ceiling, it is encoded again with the bigger margin: the
    retry's track is the old chain's retry's (for the cinema's PCM, sample for sample), and under the ceiling."""
    preset = get_preset(name)
    old = tmp_path / f"old.{preset.extension}"
    facts, old_ran = old_chain(speech["originals"][name], speech["stem"], speech["placed"], DUCK_DB,
                               source_lufs(preset), preset, speech["duration"], tmp_path, old,
                               sound_command=forced_over(old_sound_command))
    assert old_ran.count("sound") == 2
    monkeypatch.setattr(described, "chunks_command", forced_over(described.chunks_command))
    ran.clear()
    path, new_facts = new_chain(speech, name, tmp_path, Cache(tmp_path / "cache"))
    assert ran.count(f"described version's sound ({name})") == 2, ran
    assert new_facts["true_peak"] <= preset.true_peak_dbtp + 0.05
    if preset.audio_codec.startswith("pcm_"):
        assert np.array_equal(decoded(path, preset), decoded(old, preset)) and new_facts == facts
    else:
        assert abs(new_facts["integrated"] - facts["integrated"]) <= 0.1


def test_a_track_over_the_ceiling_twice_stops_with_its_true_peak(tmp_path, speech, ran, monkeypatch):
    monkeypatch.setattr(described, "chunks_command", forced_over(described.chunks_command, tries=2))
    with pytest.raises(RenderError, match=r"true peak is [\d.-]+ dBTP, over the -1 dBTP ceiling"):
        new_chain(speech, "x", tmp_path, Cache(tmp_path / "cache"))
    assert ran.count("described version's sound (x)") == 2
