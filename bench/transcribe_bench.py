"""Transcription benchmark: real-time factor, model calls on a re-render, caption rule compliance.

Measured in one run, on this machine, with a fresh cache:

(a) real-time factor of the default model (Whisper base, int8, CPU) on jfk.flac and a 60 s
    excerpt of erna.mp3 (audio seconds per wall second; target >= 5x);
(b) model calls when the example campaign is rendered a second time (target 0);
(c) every channel's captions of the example against the rules (line length, lines, duration, gaps),
    with the cues that read faster than 17 characters a second listed.

Usage: python bench/transcribe_bench.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.cache import Cache  # noqa: E402
from pipeline.campaign import OutputKey  # noqa: E402
from pipeline.captions import check  # noqa: E402
from pipeline.ffmpeg import ffmpeg_exe  # noqa: E402
from pipeline.job import output_spec  # noqa: E402
from pipeline.jobs import RenderOptions, render_campaign  # noqa: E402
from pipeline.load import load_campaign  # noqa: E402
from pipeline.subtitles import CaptionMaker  # noqa: E402
from pipeline.transcribe import Transcriber  # noqa: E402

MEDIA = ROOT.parent / "shared" / "media"
SPEC = ROOT / "campaigns" / "fjordvik-2026.yml"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="rekrutt-tbench-") as tmp:
        work = Path(tmp)
        cache = Cache(work / "cache")
        transcriber = Transcriber(cache)
        print(f"model: {transcriber.model_id}")  # assembles it outside the timing
        t = time.perf_counter()
        transcriber._whisper()
        print(f"model load: {time.perf_counter() - t:.2f} s")
        excerpt = work / "erna-60s.wav"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-ss", "30", "-t", "60", "-i", str(MEDIA / "erna.mp3"),
                        str(excerpt)], check=True)
        for path, lang in ((MEDIA / "jfk.flac", "en"), (excerpt, "no")):
            t = time.perf_counter()
            result = transcriber.transcribe(path, lang)
            wall = time.perf_counter() - t
            seconds = float(result.duration)
            print(f"{path.name}: {seconds:.1f} s audio in {wall:.2f} s = {seconds / wall:.1f}x "
                  f"real time (target >= 5x), {len(result.words)} words")

        campaign = load_campaign(SPEC)
        options = RenderOptions(channels=("x",), cache_dir=cache.root)
        first = render_campaign(campaign, options)
        second = render_campaign(campaign, options)
        print(f"example campaign: model calls {first.model_calls} on the first render, "
              f"{second.model_calls} on the second (target 0)")

        maker = CaptionMaker(campaign, work, transcriber=Transcriber(cache))
        maker.prepare()
        print("caption rules on the example, per channel:")
        fast_all = set()
        for name in campaign.spec.channels:
            track = maker.for_output(output_spec(campaign, OutputKey(None, name)))
            cues = next(iter(track.tracks.values()))
            report = check(cues, track.rules)
            fast_all.update(report.fast)
            print(f"  {name:16s} {report.cues:2d} cues, longest line "
                  f"{report.max_line_chars:2d}/{track.rules.max_chars} chars, "
                  f"over-long lines {report.too_long_lines}, >2 lines {report.too_many_lines}, "
                  f"too short {report.too_short}, too long {report.too_long}, small gaps {report.small_gaps}, "
                  f"fast {len(report.fast)} -> {'OK' if report.ok else 'BREAKS RULES'}")
        for text, cps in sorted(fast_all, key=lambda x: -x[1]):
            print(f"  reads fast ({cps} chars/s > 17): {text}")


if __name__ == "__main__":
    main()
