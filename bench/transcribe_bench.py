"""Transcription benchmark: today's faster-whisper settings against the chosen ones, side by side in one run.

For erna.mp3 (408.8 s of Norwegian) and the NPSC clips (with reference texts), each transcribed with
Whisper base (int8, CPU) twice, in the same process and cache-cold: once with the settings before the
batched pipeline (``SEQUENTIAL``: beam search of 5, one 30 s window after another) and once with
Rekrutt's defaults (``WhisperOptions()``: beam search of 5, long audio cut in pauses into parts decoded at
once), and greedy decoding (beam 1) beside them. Printed:

(a) real-time factor of both (audio seconds per wall second), and per CPU second of the process
    (all its threads): on a machine shared with other work the wall clock says little, the CPU time
    does; on an idle 2-core machine the wall figure is the one the target (>= 10x on erna.mp3) is about;
(b) WER of both on the NPSC references and the difference (bound: the chosen ones at most 0.02 worse);
(c) how far the chosen settings' word times are from today's on the words both hear (mean absolute
    difference of starts and ends: the pipeline cuts on word times), and how much of erna's text differs;
(d) with ``--campaign``: model calls when the example campaign is rendered a second time (target 0), and
    every channel's captions of the example against the rules.

Usage: python bench/transcribe_bench.py [--media DIR] [--campaign]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz.distance import Levenshtein  # noqa: E402

from pipeline.cache import Cache  # noqa: E402
from pipeline.edit import normalise  # noqa: E402
from pipeline.transcribe import Transcriber, Transcript  # noqa: E402
from pipeline.whisperrun import SEQUENTIAL, WhisperOptions  # noqa: E402

MEDIA = Path(os.environ.get("REKRUTT_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
SPEC = ROOT / "campaigns" / "fjordvik-2026.yml"

#: The NPSC clips' reference texts (the media folder's README).
REFERENCES = {
    "npsc-short.mp3": "Stortingets møte er lovlig satt.",
    "npsc-medium.mp3": "Representantene Fredric Helen, Fredric Holen Bjordal, og Trond Giske, som har vært "
                       "permitterte, har igjen tatt sete.",
}
WER_BOUND = 0.02
SETTINGS = {"today": SEQUENTIAL, "chosen": {}, "greedy": {"beam_size": 1}}


def tokens(text: str) -> list[str]:
    return normalise(text)


def word_tokens(t: Transcript) -> list[str]:
    return [x for w in t.words for x in normalise(w.text)]


def timing_diffs(a: Transcript, b: Transcript) -> list[float]:
    """|start| and |end| differences of the words both transcripts have, paired in order."""
    wa = [w for w in a.words if normalise(w.text)]
    wb = [w for w in b.words if normalise(w.text)]
    ka, kb = [" ".join(normalise(w.text)) for w in wa], [" ".join(normalise(w.text)) for w in wb]
    out = []
    for op in Levenshtein.opcodes(ka, kb):
        if op.tag == "equal":
            for i, j in zip(range(op.src_start, op.src_end), range(op.dest_start, op.dest_end), strict=True):
                out += [abs(float(wa[i].start - wb[j].start)), abs(float(wa[i].end - wb[j].end))]
    return out


def transcription(media: Path) -> None:
    files = [media / "erna.mp3", *(media / n for n in REFERENCES)]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        sys.exit(f"missing reference media: {', '.join(missing)} (--media DIR or REKRUTT_SHARED_MEDIA)")
    with tempfile.TemporaryDirectory(prefix="rekrutt-tbench-") as tmp:
        transcriber = Transcriber(Cache(Path(tmp) / "cache"))
        print(f"model: {transcriber.model_id}, {transcriber.threads} threads, {os.cpu_count()} CPUs")
        t = time.perf_counter()
        transcriber._whisper()  # assembled and loaded outside the timing
        print(f"model load: {time.perf_counter() - t:.2f} s")
        got: dict[str, dict[str, Transcript]] = {name: {} for name in SETTINGS}
        clock = {name: [0.0, 0.0, 0.0] for name in SETTINGS}  # audio, wall, cpu
        for path in files:
            for name, settings in SETTINGS.items():  # side by side: the same file, one after the other
                options = WhisperOptions.make("no", **settings)
                wall, cpu = time.perf_counter(), time.process_time()
                result = transcriber.transcribe_with(path, options)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                got[name][path.name] = result
                audio = float(result.duration)
                for i, v in enumerate((audio, wall, cpu)):
                    clock[name][i] += v
                print(f"  {path.name:16s} {name:6s} {audio:6.1f} s audio: wall {wall:6.1f} s = {audio / wall:5.1f}x, "
                      f"CPU {cpu:6.1f} s = {audio / cpu:5.1f}x per CPU second, {len(result.words)} words")
        print("(a) real-time factor, all files")
        for name, (audio, wall, cpu) in clock.items():
            print(f"  {name:6s} {SETTINGS[name] or 'defaults'}: {audio / wall:5.1f}x wall, "
                  f"{audio / cpu:5.1f}x per CPU second")
        erna = {name: got[name]["erna.mp3"] for name in SETTINGS}
        cpu_speedup = clock["today"][2] / clock["chosen"][2]
        wall_speedup = clock["today"][1] / clock["chosen"][1]
        print(f"  chosen / today: {wall_speedup:.2f}x less wall time, {cpu_speedup:.2f}x less CPU time")

        print("(b) WER on the NPSC references")
        wer = {}
        for name in SETTINGS:
            errors = sum(Levenshtein.distance(word_tokens(got[name][n]), tokens(ref)) for n, ref in REFERENCES.items())
            words = sum(len(tokens(ref)) for ref in REFERENCES.values())
            wer[name] = errors / words
            heard = " | ".join(got[name][n].text for n in REFERENCES)
            print(f"  {name:6s} {errors}/{words} = {wer[name]:.3f}  ({heard})")
        diff = wer["chosen"] - wer["today"]
        print(f"  difference {diff:+.3f} -> {'within' if diff <= WER_BOUND else 'OVER'} the bound of {WER_BOUND}")

        print("(c) word times, chosen against today, on the words both hear")
        for label, names in (("npsc", list(REFERENCES)), ("erna.mp3", ["erna.mp3"])):
            d = [x for n in names for x in timing_diffs(got["today"][n], got["chosen"][n])]
            d.sort()
            print(f"  {label:8s} {len(d) // 2} words: mean |difference| {sum(d) / max(1, len(d)):.3f} s, "
                  f"median {d[len(d) // 2] if d else 0:.3f} s, p90 {d[int(len(d) * 0.9)] if d else 0:.3f} s")
        a, b = word_tokens(erna["today"]), word_tokens(erna["chosen"])
        print(f"  erna.mp3 text: chosen differs from today in {Levenshtein.distance(a, b) / max(1, len(a)):.3f} "
              f"of today's {len(a)} words (no reference: a measure of change, not of error)")


def campaign() -> None:
    from pipeline.campaign import OutputKey
    from pipeline.captions import check
    from pipeline.job import output_spec
    from pipeline.jobs import RenderOptions, render_campaign
    from pipeline.load import load_campaign
    from pipeline.subtitles import CaptionMaker

    with tempfile.TemporaryDirectory(prefix="rekrutt-tbench-") as tmp:
        work = Path(tmp)
        cache = Cache(work / "cache")
        spec = load_campaign(SPEC)
        options = RenderOptions(channels=("x",), cache_dir=cache.root)
        first = render_campaign(spec, options)
        second = render_campaign(spec, options)
        print(f"(d) example campaign: model calls {first.model_calls} on the first render, "
              f"{second.model_calls} on the second (target 0)")
        maker = CaptionMaker(spec, work, transcriber=Transcriber(cache))
        maker.prepare()
        print("  caption rules on the example, per channel:")
        fast_all = set()
        for name in spec.spec.channels:
            track = maker.for_output(output_spec(spec, OutputKey(None, name)))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=MEDIA, help="the shared reference recordings")
    parser.add_argument("--campaign", action="store_true", help="also render the example (model calls, caption rules)")
    args = parser.parse_args()
    transcription(args.media)
    if args.campaign:
        campaign()


if __name__ == "__main__":
    main()
