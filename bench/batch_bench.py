"""Batch benchmark: 10 campaigns sharing 6 library clips, 4 channels each.

Measured in one run, on this machine, with a fresh cache (the model assembled beforehand):

- model calls for the cold batch (target: 6, one per distinct clip);
- wall time cold; of an unchanged re-run (target: under 2 s in all, nothing rendered); after one
  card edit (only that campaign's 4 outputs rendered);
- throughput (outputs per minute) with --jobs 1, --jobs 2 and a 2-worker Dask LocalCluster.

Usage: python bench/batch_bench.py [--clip-seconds 4] [--size 640x360]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.cache import Cache  # noqa: E402
from pipeline.ffmpeg import ffmpeg_exe  # noqa: E402
from pipeline.transcribe import assemble_base_model  # noqa: E402

SPEECH = ROOT.parent / "shared" / "media" / "jfk.flac"
CHANNELS = ["youtube", "instagram-reels", "x", "web"]


def make_library(lib: Path, seconds: float, size: str) -> list[str]:
    lib.mkdir(parents=True)
    today = dt.date.today()
    ids = []
    for i in range(6):
        cid = f"ansatt-{i + 1}"
        audio = ["-ss", str(i), "-t", str(seconds), "-i", str(SPEECH)] if SPEECH.is_file() else \
            ["-f", "lavfi", "-t", str(seconds), "-i", f"sine=frequency={300 + 50 * i}"]
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-t", str(seconds), "-i",
                        f"testsrc2=size={size}:rate=25", *audio, "-map", "0:v", "-map", "1:a", "-shortest",
                        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(lib / f"{cid}.mp4")], check=True)
        (lib / f"{cid}.yml").write_text(yaml.safe_dump({
            "person": f"Ansatt {i + 1}", "role": "Sykepleier", "language": "en",
            "consent": {"signed": (today - dt.timedelta(days=10)).isoformat(),
                        "expires": (today + dt.timedelta(days=365)).isoformat(), "channels": ["all"]}}))
        ids.append(cid)
    return ids


def write_campaigns(folder: Path, ids: list[str], size: str, seconds: float) -> list[Path]:
    folder.mkdir(parents=True)
    w, h = (int(v) for v in size.split("x"))
    specs = []
    for n in range(10):
        a, b, c = ids[n % 6], ids[(n + 1) % 6], ids[(n + 3) % 6]
        spec = {
            "campaign": f"kampanje-{n + 1:02d}", "title": f"Kampanje {n + 1}", "language": "en",
            "library": "../library",
            "clips": {"a": {"library": a}, "b": {"library": b}, "c": {"library": c}},
            "sequence": [{"clip": "a", "to": seconds - 0.5}, {"clip": "b", "from": 0.5},
                         {"clip": "c", "from": 1, "to": seconds}, {"card": "end"}],
            "cards": {"end": {"lines": ["Vi trenger deg!"], "subline": f"Kampanje {n + 1}", "duration": 2}},
            "channels": CHANNELS,
            # smaller frames keep the benchmark about the pipeline, not x264 at 1080p
            "overrides": {ch: {"width": w if ch in ("youtube", "x", "web") else h * 9 // 16 // 2 * 2,
                               "height": h if ch in ("youtube", "x", "web") else h} for ch in CHANNELS},
            "output": "../out",
        }
        path = folder / f"kampanje-{n + 1:02d}.yml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False))
        specs.append(path)
    return specs


def render(specs: list[Path], cache: Path, *extra: str) -> tuple[float, dict]:
    report = cache.parent / "report.json"
    t = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "render", *map(str, specs), "--cache-dir", str(cache),
                    "--report", str(report), *extra], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=dict(os.environ))
    return time.perf_counter() - t, json.loads(report.read_text())


def count(report: dict, status: str) -> int:
    return sum(o["status"] == status for o in report["outputs"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip-seconds", type=float, default=4.0)
    parser.add_argument("--size", default="640x360")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rekrutt-batch-") as tmp:
        root = Path(tmp)
        ids = make_library(root / "library", args.clip_seconds, args.size)
        specs = write_campaigns(root / "campaigns", ids, args.size, args.clip_seconds)
        cache = root / "cache"
        assemble_base_model(Cache(cache))
        n = len(specs) * len(CHANNELS)
        print(f"{len(specs)} campaigns x {len(CHANNELS)} channels = {n} outputs; 6 shared clips of "
              f"{args.clip_seconds:g} s; frames {args.size}; cpus={os.cpu_count()}")

        cold, report = render(specs, cache, "--jobs", "2")
        print(f"cold batch (--jobs 2): {cold:.1f} s, {count(report, 'rendered')} rendered, "
              f"model calls {report['model_calls']} (target 6)")
        again, report = render(specs, cache)
        print(f"unchanged re-run: {again:.2f} s wall for the whole command (target < 2 s), "
              f"{count(report, 'rendered')} rendered, model calls {report['model_calls']}")
        spec = specs[3]
        spec.write_text(spec.read_text().replace("Vi trenger deg!", "Søk i dag!"))
        edited, report = render(specs, cache, "--jobs", "2")
        changed = sorted({o["campaign"] for o in report["outputs"] if o["status"] == "rendered"})
        print(f"after one card edit: {edited:.1f} s, {count(report, 'rendered')} rendered ({', '.join(changed)}), "
              f"model calls {report['model_calls']}")

        results = {}
        for label, extra in (("--jobs 1", ["--jobs", "1"]), ("--jobs 2", ["--jobs", "2"])):
            wall, report = render(specs, cache, "--force", *extra)
            results[label] = wall
            print(f"throughput {label}: {wall:.1f} s = {n / wall * 60:.1f} outputs/min")
        try:
            from distributed import LocalCluster
        except ImportError:
            print("Dask not installed (pip install 'dask[distributed]'): cluster figure skipped")
        else:
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                wall, report = render(specs, cache, "--force", "--scheduler", cluster.scheduler_address)
            results["dask 2 workers"] = wall
            print(f"throughput Dask LocalCluster, 2 workers: {wall:.1f} s = {n / wall * 60:.1f} outputs/min")
        base = results["--jobs 1"]
        print("relative to --jobs 1: " + ", ".join(f"{k} {base / v:.2f}x" for k, v in results.items()))


if __name__ == "__main__":
    main()
