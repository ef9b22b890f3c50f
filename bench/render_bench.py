"""Render benchmark: the example campaign against a plain-ffmpeg floor and a MoviePy baseline.

Measured in one run, on this machine:

(a) wall time of ``cli.py render`` (all channels) against the *floor*: the same output files made by
    one plain ffmpeg command each (scale/crop or pad + the same encoder settings) from a pre-cut
    master of the edit (the master is made before timing starts). Every timed render starts with
    no rendered pieces in the cache (transcripts and loudness measurements stay cached); a last
    line times the render after an edit of the end card, which reuses the other pieces;
(b) on a few channels, against MoviePy doing the same edit (the design card's library, kept as the
    baseline);
(c) peak memory: the largest resident set of any process of the render (ffmpeg children included).

Usage: python bench/render_bench.py [--channels youtube,x,...] [--moviepy-channels youtube,x]
Prints ratios and each output's seconds per pass over the media (from the manifest); targets
(issue 11): render <= 1.0x the floor, MoviePy >= 3.5x slower, peak memory of one process < 1 GB
and of the whole process tree < 1.5 GB with -j auto, an unchanged re-render < 1 s, --draft >= 5x faster.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.cards import card_png  # noqa: E402
from pipeline.ffmpeg import ffmpeg_exe  # noqa: E402
from pipeline.jobs import source_rate  # noqa: E402
from pipeline.load import load_campaign  # noqa: E402
from pipeline.spec import ClipItem  # noqa: E402
from pipeline.timeline import CardSegment, build_timeline  # noqa: E402

SPEC = ROOT / "campaigns" / "fjordvik-2026.yml"


def run_timed(argv: list[str], env: dict | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of the largest process in the tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    return wall, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def run_tree_sampled(argv: list[str], env: dict | None = None) -> tuple[float, int]:
    """Wall seconds and the peak of the whole process tree's resident memory (bytes), sampled every 50 ms."""
    import psutil

    t = time.perf_counter()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        time.sleep(0.05)
    if proc.returncode:
        log.seek(0)
        sys.stderr.write(log.read().decode(errors="replace")[-4000:])
        raise subprocess.CalledProcessError(proc.returncode, argv)
    return time.perf_counter() - t, peak


def video_args(preset, rate: Fraction) -> list[str]:
    if preset.video_codec == "libx264":
        gop = str(max(1, int(preset.gop_seconds * rate + Fraction(1, 2))))
        args = ["-c:v", "libx264", "-preset", preset.x264_preset, "-crf", str(preset.crf), "-profile:v",
                preset.profile, "-pix_fmt", preset.pix_fmt, "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
                "-flags", "+cgop"]
        if preset.max_video_kbps:
            args += ["-maxrate", f"{preset.max_video_kbps}k", "-bufsize", f"{preset.max_video_kbps * 2}k"]
        return args
    return ["-c:v", preset.video_codec, "-profile:v", preset.profile, "-pix_fmt", preset.pix_fmt, "-vendor", "apl0"]


def audio_args(preset) -> list[str]:
    args = ["-c:a", preset.audio_codec, "-ar", str(preset.sample_rate), "-ac", str(preset.audio_channels)]
    return args + (["-b:a", f"{preset.audio_kbps}k"] if preset.audio_kbps else [])


def fit_filter(preset, rate: Fraction) -> str:
    w, h = preset.width, preset.height
    if preset.fit == "crop":
        f = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
    else:
        f = f"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2"
    return f"{f},setsar=1,fps={rate}"


def make_master(campaign, work: Path) -> Path:
    """The edit cut once into a lossless-ish 1920x1080 master (not timed: the floor starts from it)."""
    rate = source_rate(campaign)
    timeline = build_timeline(campaign, rate)
    preset = campaign.preset("youtube")
    parts = []
    for i, seg in enumerate(timeline.segments):
        part = work / f"part{i}.mkv"
        if isinstance(seg, CardSegment):
            png = card_png(campaign, seg.card_id, preset, work)
            src = ["-loop", "1", "-framerate", str(rate), "-t", str(float(seg.duration)), "-i", str(png),
                   "-f", "lavfi", "-t", str(float(seg.duration)), "-i", "anullsrc=r=48000:cl=stereo"]
        else:
            clip = campaign.clip_source(seg.clip_id)
            src = ["-ss", str(float(seg.source_in)), "-t", str(float(seg.duration)), "-i", str(clip)]
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *src, "-vf", fit_filter(preset, rate) + ",format=yuv420p",
                        "-af", "aresample=48000,aformat=channel_layouts=stereo", "-frames:v", str(seg.frame_count),
                        "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-c:a", "pcm_s16le", str(part)],
                       check=True)
        parts.append(part)
    listing = work / "parts.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    master = work / "master.mkv"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(master)], check=True)
    return master


def floor(campaign, master: Path, channels: list[str], out: Path) -> tuple[float, int]:
    total, peak = 0.0, 0
    rate_in = source_rate(campaign)
    for name in channels:
        preset = campaign.preset(name)
        rate = preset.rate_for(rate_in)
        target = out / f"{name}.{preset.extension}"
        af = "pan=5.1|FC=0.5*c0+0.5*c1" if preset.audio_channels == 6 else "anull"
        wall, rss = run_timed([ffmpeg_exe(), "-v", "error", "-y", "-i", str(master), "-vf", fit_filter(preset, rate),
                               "-af", af, *video_args(preset, rate), *audio_args(preset), "-r", str(rate),
                               str(target)])
        total += wall
        peak = max(peak, rss)
    return total, peak


def moviepy_render(campaign, channels: list[str], out: Path, work: Path) -> float:
    """The same edit with MoviePy 2: subclips and card images, concatenated, resized and cropped per channel."""
    from moviepy import AudioClip, ImageClip, VideoFileClip, concatenate_videoclips

    t0 = time.perf_counter()
    rate_in = source_rate(campaign)
    for name in channels:
        preset = campaign.preset(name)
        rate = preset.rate_for(rate_in)
        pieces = []
        sources = []
        for item in campaign.spec.sequence:
            if isinstance(item, ClipItem):
                start, end = campaign.cut_bounds(item)
                src = VideoFileClip(str(campaign.clip_source(item.clip)))
                sources.append(src)
                piece = src.subclipped(float(start), float(end))
                scale = max(preset.width / piece.w, preset.height / piece.h)
                piece = piece.resized(scale).cropped(x_center=piece.w * scale / 2, y_center=piece.h * scale / 2,
                                                     width=preset.width, height=preset.height)
            else:
                card = campaign.spec.cards[item.card]
                png = card_png(campaign, item.card, preset, work)
                duration = float(item.duration or card.duration)
                piece = ImageClip(str(png)).with_duration(duration)
                piece = piece.with_audio(AudioClip(lambda t: [0, 0], duration=duration, fps=48000))
            pieces.append(piece)
        edit = concatenate_videoclips(pieces, method="compose")
        edit.write_videofile(str(out / f"moviepy-{name}.mp4"), fps=float(rate), codec="libx264",
                             preset=preset.x264_preset, audio_codec="aac", audio_fps=48000,
                             audio_bitrate=f"{preset.audio_kbps}k",
                             ffmpeg_params=["-crf", str(preset.crf), "-pix_fmt", preset.pix_fmt],
                             logger=None, threads=os.cpu_count())
        for s in sources:
            s.close()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", help="comma-separated channels (default: all of the example's)")
    parser.add_argument("--moviepy-channels", default="youtube,instagram-reels,x",
                        help="channels for the MoviePy comparison ('' to skip)")
    args = parser.parse_args()
    campaign = load_campaign(SPEC)
    channels = args.channels.split(",") if args.channels else list(campaign.spec.channels)
    mp_channels = [c for c in args.moviepy_channels.split(",") if c]
    with tempfile.TemporaryDirectory(prefix="rekrutt-bench-") as tmp:
        work = Path(tmp)
        cache = work / "cache"
        env = dict(os.environ, REKRUTT_CACHE_DIR=str(cache))
        # the main film: what the floor makes
        cli = [sys.executable, str(ROOT / "cli.py"), "render", str(SPEC), "-V", "main"]
        chan_args = [a for c in channels for a in ("-c", c)]
        # warm the transcript cache so caption model time is not counted in the render
        subprocess.run(cli + ["--out", str(work / "warm"), "-c", "x"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def fresh() -> None:
            """Every timed render but the re-renders starts with no rendered pieces in the cache."""
            shutil.rmtree(cache / "pieces", ignore_errors=True)

        master = make_master(campaign, work)
        (work / "floor").mkdir()
        floor_wall, floor_rss = floor(campaign, master, channels, work / "floor")
        fresh()
        ours_plain, rss_plain = run_timed(cli + chan_args + ["--out", str(work / "plain"), "--no-captions"], env)
        # the whole tree (Python and its ffmpeg children) with the default -j auto, all versions (17 outputs)
        fresh()
        _, tree = run_tree_sampled([sys.executable, str(ROOT / "cli.py"), "render", str(SPEC), "--out",
                                    str(work / "tree")], env)
        fresh()
        ours_one, rss_one = run_timed(cli + chan_args + ["--out", str(work / "one"), "--no-captions", "-j", "1"], env)
        fresh()
        ours_capt, rss_capt = run_timed(cli + chan_args + ["--out", str(work / "ours")], env)
        # the passes of this render (the runs below rewrite the manifest)
        manifest = json.loads((work / "ours" / campaign.spec.campaign / "manifest.json").read_text())
        again = sorted(run_timed(cli + chan_args + ["--out", str(work / "ours")], env)[0] for _ in range(5))
        # an edit: the end card's deadline moves (the pieces of the clips and the sound are in the cache)
        edited = SPEC.with_name(f".bench-edit-{os.getpid()}.yml")
        try:
            edited.write_text(SPEC.read_text(encoding="utf-8").replace("subline: Søk innen 1. mars",
                                                                       "subline: Søk innen 15. mars"), "utf-8")
            edit, _ = run_timed([sys.executable, str(ROOT / "cli.py"), "render", str(edited), "-V", "main",
                                 *chan_args, "--out", str(work / "ours")], env)
        finally:
            edited.unlink(missing_ok=True)
        fresh()
        draft, _ = run_timed(cli + chan_args + ["--out", str(work / "ours"), "--draft"], env)
        duration = manifest["outputs"][0]["duration"]
        print(f"example: {duration:.1f} s edit, {len(channels)} channels ({', '.join(channels)}); "
              f"cpus={os.cpu_count()}")
        print(f"floor (plain ffmpeg per output from a pre-cut master): {floor_wall:7.1f} s")
        from pipeline.jobs import auto_jobs

        print(f"rekrutt render, no captions (-j auto = {auto_jobs()}, the default): {ours_plain:7.1f} s  "
              f"= {ours_plain / floor_wall:.2f}x the floor (target <= 1.0x)")
        print(f"rekrutt render, no captions, one output at a time (-j 1): {ours_one:7.1f} s  "
              f"= {ours_one / floor_wall:.2f}x the floor")
        print(f"rekrutt render, with captions (transcripts cached):     {ours_capt:7.1f} s  "
              f"= {ours_capt / floor_wall:.2f}x the floor")
        print(f"unchanged re-render, the whole command: {again[2]:.2f} s (median of 5; target < 1 s)")
        print(f"--draft of the same channels: {draft:.1f} s = {ours_capt / draft:.1f}x faster than the final "
              f"render (target >= 5x)")
        print(f"after an edit of the end card (new deadline), the same channels: {edit:.1f} s = "
              f"{ours_capt / edit:.1f}x faster than the first render (pieces of the clips and the sound reused; "
              f"cinema is rendered whole)")
        print(f"peak memory of one process: render {max(rss_plain, rss_one, rss_capt) / 1024:.0f} MiB, "
              f"floor {floor_rss / 1024:.0f} MiB (target < 1024 MiB); whole process tree with -j auto, all "
              f"versions: {tree / 2**20:.0f} MiB (target < 1536 MiB)")
        print("seconds per pass over the media, per output (with captions):")
        totals: dict[str, float] = {}
        for o in manifest["outputs"]:
            passes = o.get("passes", {})
            for k, v in passes.items():
                totals[k] = totals.get(k, 0.0) + v
            print(f"  {o['channel']:18s} " + ", ".join(f"{k} {v:.2f}" for k, v in passes.items()))
        print("  all outputs        " + ", ".join(f"{k} {v:.1f}" for k, v in totals.items()))
        # reframing: face analysis of every clip, cold and from the cache, against the render
        from pipeline.cache import Cache
        from pipeline.reframe import analyse

        clips = {item.clip for item in campaign.spec.sequence if isinstance(item, ClipItem)}
        faces = Cache(work / "faces-cache")
        t = time.perf_counter()
        for clip in clips:
            analyse(campaign.clip_source(clip), campaign.media[clip], faces)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        for clip in clips:
            analyse(campaign.clip_source(clip), campaign.media[clip], faces)
        warm = time.perf_counter() - t
        print(f"reframing analysis ({len(clips)} clips): {cold:.2f} s cold = {cold / ours_plain * 100:.1f}% of the "
              f"render (target <= 10%), {warm:.3f} s cached = {warm / ours_plain * 100:.2f}%")
        if mp_channels:
            (work / "mp").mkdir()
            fresh()
            ours_sub, _ = run_timed(cli + [a for c in mp_channels for a in ("-c", c)] +
                                    ["--out", str(work / "sub"), "--no-captions"], env)
            mp_wall = moviepy_render(campaign, mp_channels, work / "mp", work)
            print(f"MoviePy, same edit on {', '.join(mp_channels)}: {mp_wall:7.1f} s vs rekrutt {ours_sub:.1f} s "
                  f"= MoviePy {mp_wall / ours_sub:.2f}x slower (target >= 3.5x)")


if __name__ == "__main__":
    main()
