"""Quote resolution benchmark: how long `says:` takes on a 10-minute interview, cold and cached.

Measured in one run, on this machine:

(a) cold: transcribing the interview (Whisper base, int8, through the cache) and its level envelope,
    then finding the quote: what the first `validate` of a spec with a new clip costs;
(b) cached: `validate` (load_campaign) of the same spec again, everything from the cache;
(c) both as a share of the interview's length (real-time factor).

The interview is 10 minutes of real Norwegian speech (../shared/media/erna.mp3, looped) under a
still picture. Usage: python bench/quote_bench.py [--minutes 10]
Target: cached resolution under 1 s for a 10-minute interview.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.cache import Cache  # noqa: E402
from pipeline.edit import find, sentences  # noqa: E402
from pipeline.ffmpeg import ffmpeg_exe  # noqa: E402
from pipeline.load import load_campaign  # noqa: E402
from pipeline.pauses import envelope  # noqa: E402
from pipeline.transcribe import Transcriber, assemble_base_model  # noqa: E402

SPEC = """\
campaign: bench
title: Bench
clips:
  erna: {{source: {clip}}}
sequence:
  - clip: erna
    says: "{quote}"
channels: [web]
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    erna = ROOT.parent / "shared" / "media" / "erna.mp3"
    if not erna.is_file():
        sys.exit(f"needs {erna}")
    seconds = int(args.minutes * 60)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = tmp / "interview.mp4"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=320x180:r=25",
                        "-stream_loop", "-1", "-i", str(erna), "-t", str(seconds), "-c:v", "libx264",
                        "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(clip)], check=True)
        cache = Cache(tmp / "cache")
        assemble_base_model(cache)
        transcriber = Transcriber(cache)
        started = time.perf_counter()
        transcript = transcriber.transcribe(clip, "no")
        levels = envelope(clip, cache)
        cold = time.perf_counter() - started
        middle = [s for s in sentences(transcript) if len(s.text.split()) >= 6]
        quote = middle[len(middle) // 2].text.replace('"', "")
        spec = tmp / "spec.yml"
        spec.write_text(SPEC.format(clip=clip, quote=quote), encoding="utf-8")
        cached = []
        for _ in range(3):
            started = time.perf_counter()
            load_campaign(spec, cache_dir=tmp / "cache")
            cached.append(time.perf_counter() - started)
        cached.sort()
        found = find(transcript, quote)
    print(f"interview: {seconds} s of Norwegian speech, {len(transcript.words)} words, {len(levels)} envelope values")
    print(f"cold (transcription + envelope + match): {cold:.1f} s = {seconds / cold:.1f}x real time")
    print(f"cached (validate of the spec, median of 3): {cached[1]:.3f} s "
          f"({cold / cached[1]:.0f}x faster than cold); quote found {len(found)} time(s)")


if __name__ == "__main__":
    main()
