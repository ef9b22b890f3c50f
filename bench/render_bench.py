"""Render benchmark: first render vs a plain-ffmpeg floor and MoviePy; re-render and end-card edit (issue 25).

The example campaign against a plain-ffmpeg floor and a MoviePy baseline, and what a producer waits for:
an unchanged re-render, an edit of the end card.

Measured in one run, on this machine, and summed up at the end as ratios against their targets:

(a) wall time of ``cli.py render`` (the main film, all channels, no captions) against the *floor*: the same
    output files made the plain way, one plain ffmpeg command each from a pre-cut master of the edit (the
    master is made before timing starts). The render makes, beside each output, its described version
    (``<channel>.synstolket.<ext>``: the picture held where a description line fits no pause, the described
    sound), so the *like-for-like floor* makes those too: each plain output (scale/crop or pad + the same
    encoder settings) and each described version (the same, the picture held at the render's holds in the
    one filter graph, with the render's own described sound track decoded to PCM beforehand, not timed;
    :mod:`bench.described_floor`), and checks that its files have the render's frame counts and durations.
    Two more figures: the render with synstolking off (a copy of the spec, ``synstolking: {mode: off}``)
    against the floor of the plain outputs alone, and, as before and NOT like for like, the render against
    the plain outputs' floor. Every timed first render starts with no rendered pieces in the cache
    (transcripts and loudness measurements stay cached);
(b) the same render after an edit of the end card (a new deadline), against the first render: only the
    card's piece of each output is encoded (the cinema master's too: ProRes is made in pieces);
(c) an unchanged re-render, the whole command, median of 5: of the example (all 17 outputs) and of a
    campaign of 13 outputs cut from minutes-long clips under a real face (``bench/real_campaign.py``);
    answered from the last render's stamp, and (for the record) the long way, the stamp removed;
(d) per channel, MoviePy doing the same edit against Rekrutt rendering that channel alone;
(e) peak memory: the largest resident set of any process of the render (ffmpeg children included).

Usage (the full run takes 15-25 minutes on 2 idle cores; run it on an idle machine):

    python bench/render_bench.py                  # everything, targets of issue 25
    python bench/render_bench.py --quick          # a short look: 3 channels, MoviePy on X, 30 s clips, 3 runs
    python bench/render_bench.py --channels youtube,x --moviepy-channels youtube --real-minutes 2 --skip-real

Targets: first render <= 0.7x the like-for-like floor, and with synstolking off <= 0.7x the plain outputs'
floor; end-card edit >= 8x faster than the first render; unchanged re-render < 1 s for both campaigns;
MoviePy >= 3.5x slower on every channel compared; peak memory of one process < 1 GB and of the whole
process tree < 1.5 GB with -j auto; --draft >= 5x faster.
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

from bench.described_floor import compare, described_command, extract_sound, floor_holds  # noqa: E402
from pipeline.cards import card_png  # noqa: E402
from pipeline.described import described_name  # noqa: E402
from pipeline.encoding import AAC_CODER  # noqa: E402
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
    """The sound's encoder arguments: those Rekrutt gives (its AAC coder too), so the floor encodes alike."""
    args = ["-c:a", preset.audio_codec, "-ar", str(preset.sample_rate), "-ac", str(preset.audio_channels)]
    args += ["-aac_coder", AAC_CODER] if preset.audio_codec == "aac" else []
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
    """The 9-output floor: each channel's plain output, one plain ffmpeg command each from the master."""
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


def described_floor(campaign, master: Path, channels: list[str], rendered: Path, out: Path, work: Path
                    ) -> tuple[float, int]:
    """The like-for-like floor's other half: each channel's described version, one plain ffmpeg command each
    from the master and the render's own described sound (``rendered``: the render's campaign folder), held
    where the render held it (:mod:`bench.described_floor`). The sound and the holds are prepared first,
    not timed. Channels whose render made no described version make none here either."""
    manifest = json.loads((rendered / "manifest.json").read_text(encoding="utf-8"))
    records = {o["channel"]: o for o in manifest["outputs"]}
    rate_in = source_rate(campaign)
    jobs = []
    for name in channels:
        preset = campaign.preset(name)
        made = rendered / described_name(preset)
        if name not in records or not made.is_file():
            continue
        sound = extract_sound(made, work / f"{name}.described-sound.mka")
        holds = floor_holds(campaign, name, records[name])
        rate = preset.rate_for(rate_in)
        jobs.append(described_command(master, sound, holds, fit_filter(preset, rate), rate, video_args(preset, rate),
                                      audio_args(preset), out / described_name(preset)))
    total, peak = 0.0, 0
    for argv in jobs:
        wall, rss = run_timed(argv)
        total += wall
        peak = max(peak, rss)
    return total, peak


def check_floor(campaign, channels: list[str], floor_dir: Path, rendered: Path) -> tuple[int, list[str]]:
    """Each floor file against the render's of the same name (its plain output, its described version):
    the files compared, and a line for each whose frame count or duration (within a frame) differs."""
    rate_in = source_rate(campaign)
    compared, differ = 0, []
    for name in channels:
        preset = campaign.preset(name)
        rate = preset.rate_for(rate_in)
        for file in (f"{name}.{preset.extension}", described_name(preset)):
            ours, theirs = floor_dir / file, rendered / file
            if not ours.is_file() and not theirs.is_file():
                continue
            if not ours.is_file() or not theirs.is_file():
                differ.append(f"{file}: made by {'the render' if theirs.is_file() else 'the floor'} only")
                continue
            compared += 1
            line = compare(ours, theirs, rate)
            if line:
                differ.append(line)
    return compared, differ


def without_description(spec_text: str) -> str:
    """The spec's text with synstolking switched off (``mode: off``: no described version; the
    accessibility report flags it): its ``synstolking:`` block, if any, replaced."""
    lines = spec_text.splitlines(keepends=True)
    kept, skipping = [], False
    for line in lines:
        if line.startswith("synstolking:"):
            skipping = True
            continue
        if skipping and (line[:1] in (" ", "\t") or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    text = "".join(kept)
    return text + ("" if text.endswith("\n") else "\n") + 'synstolking: {mode: "off"}\n'


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
                             ffmpeg_params=["-crf", str(preset.crf), "-pix_fmt", preset.pix_fmt,
                                            "-aac_coder", AAC_CODER],
                             logger=None, threads=os.cpu_count())
        for s in sources:
            s.close()
    return time.perf_counter() - t0


def median_of(argv: list[str], env: dict, runs: int) -> float:
    """The median wall time of ``runs`` runs of a command (an unchanged re-render: nothing to do)."""
    return sorted(run_timed(argv, env)[0] for _ in range(runs))[runs // 2]


def the_long_way(argv: list[str], env: dict, cache: Path, runs: int) -> float:
    """The median wall time of an unchanged re-render that finds no stamp (removed before each run): it loads
    and checks the campaign and plans every output to find them unchanged, as the first run after an edit
    elsewhere does."""
    import shutil

    from pipeline.stamp import RUNS

    times = []
    for _ in range(runs):
        shutil.rmtree(cache / RUNS, ignore_errors=True)
        times.append(run_timed(argv, env)[0])
    return sorted(times)[runs // 2]


class Summary:
    """The run's figures against their targets, printed as one table at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, bool | None]] = []

    def add(self, figure: str, measured: str, target: str, ok: bool | None) -> None:
        self.rows.append((figure, measured, target, ok))
        print(f"{figure}: {measured} (target {target})", flush=True)

    def print(self) -> None:
        width = max(len(r[0]) for r in self.rows)
        print("\nSUMMARY (ratios from this run; compare ratios, not seconds across machines)")
        print(f"{'figure':{width}}  {'measured':>24}  {'target':>12}  result")
        for figure, measured, target, ok in self.rows:
            mark = "-" if ok is None else ("ok" if ok else "MISSED")
            print(f"{figure:{width}}  {measured:>24}  {target:>12}  {mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", help="comma-separated channels (default: all of the example's)")
    parser.add_argument("--moviepy-channels", default="youtube,instagram-reels,x",
                        help="channels for the MoviePy comparison, each on its own ('' to skip)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each unchanged re-render (the median counts)")
    parser.add_argument("--real-minutes", type=float, default=2.0,
                        help="length of each clip of the 13-output campaign (default 2 minutes)")
    parser.add_argument("--real-folder", type=Path, default=Path(tempfile.gettempdir()) / "rekrutt-bench-real",
                        help="where its clips are made once and kept")
    parser.add_argument("--skip-real", action="store_true", help="leave the 13-output campaign out")
    parser.add_argument("--quick", action="store_true",
                        help="a short look: x, instagram-reels and cinema; MoviePy on x; 30 s clips; 3 runs; "
                             "no memory sampling, no draft")
    args = parser.parse_args()
    if args.quick:
        args.channels = args.channels or "x,instagram-reels,cinema"
        args.moviepy_channels = "x" if args.moviepy_channels == parser.get_default("moviepy_channels") \
            else args.moviepy_channels
        args.runs = min(args.runs, 3)
        args.real_minutes = 0.5 if args.real_minutes == parser.get_default("real_minutes") else args.real_minutes
    campaign = load_campaign(SPEC)
    channels = args.channels.split(",") if args.channels else list(campaign.spec.channels)
    mp_channels = [c for c in args.moviepy_channels.split(",") if c]
    summary = Summary()
    with tempfile.TemporaryDirectory(prefix="rekrutt-bench-") as tmp:
        work = Path(tmp)
        cache = work / "cache"
        env = dict(os.environ, REKRUTT_CACHE_DIR=str(cache))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a run compiles what it imports once, as an installed copy does
        # the main film: what the floor makes
        cli = [sys.executable, str(ROOT / "cli.py"), "render", str(SPEC), "-V", "main"]
        chan_args = [a for c in channels for a in ("-c", c)]
        # warm the transcript cache so caption model time is not counted in the render
        subprocess.run(cli + ["--out", str(work / "warm"), "-c", "x"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def fresh() -> None:
            """Every timed render but the re-renders starts with nothing of the outputs in the cache: no
            pieces, described sound tracks, held pictures, posters or contact-sheet frames (before 2 Dec the
            described tracks and holds of one timed render were left to the next). What the warm-up learnt
            of the clips (transcripts, cleaned sound, faces, loudness) stays."""
            for kind in ("pieces", "described-sound", "described-chunk", "held", "posters", "sheet"):
                shutil.rmtree(cache / kind, ignore_errors=True)

        master = make_master(campaign, work)
        (work / "floor").mkdir()
        floor_wall, floor_rss = floor(campaign, master, channels, work / "floor")
        fresh()
        ours_plain, rss_plain = run_timed(cli + chan_args + ["--out", str(work / "plain"), "--no-captions"], env)
        # the like-for-like floor: the described versions too, from the render's own described sound
        rendered = work / "plain" / campaign.spec.campaign
        described_wall, _ = described_floor(campaign, master, channels, rendered, work / "floor", work)
        compared, differ = check_floor(campaign, channels, work / "floor", rendered)
        floor_files = sum(1 for _ in (work / "floor").iterdir())
        # the render with synstolking off (no described versions) against the 9-output floor
        plain_spec = SPEC.with_name(f".bench-nodesc-{os.getpid()}.yml")
        try:
            plain_spec.write_text(without_description(SPEC.read_text(encoding="utf-8")), "utf-8")
            fresh()
            ours_nodesc, _ = run_timed([sys.executable, str(ROOT / "cli.py"), "render", str(plain_spec), "-V", "main",
                                        *chan_args, "--out", str(work / "nodesc"), "--no-captions"], env)
        finally:
            plain_spec.unlink(missing_ok=True)
        nodesc_dir = work / "nodesc" / campaign.spec.campaign
        if any(nodesc_dir.glob("*.synstolket.*")):
            raise SystemExit(f"the render with synstolking off made described versions in {nodesc_dir}")
        nodesc_files = sum(1 for _ in _outputs(work / "nodesc"))
        tree = 0
        if not args.quick:  # the whole tree (Python and its ffmpeg children), -j auto, all versions (17 outputs)
            fresh()
            _, tree = run_tree_sampled([sys.executable, str(ROOT / "cli.py"), "render", str(SPEC), "--out",
                                        str(work / "tree")], env)
        fresh()
        ours_one, rss_one = run_timed(cli + chan_args + ["--out", str(work / "one"), "--no-captions", "-j", "1"], env)
        fresh()
        ours_capt, rss_capt = run_timed(cli + chan_args + ["--out", str(work / "ours")], env)
        # the passes of this render (the runs below rewrite the manifest)
        manifest = json.loads((work / "ours" / campaign.spec.campaign / "manifest.json").read_text())
        # an edit: the end card's deadline moves (the pieces of the clips and the sound are in the cache)
        edited = SPEC.with_name(f".bench-edit-{os.getpid()}.yml")
        try:
            edited.write_text(SPEC.read_text(encoding="utf-8").replace("subline: Søk innen 1. mars",
                                                                       "subline: Søk innen 15. mars"), "utf-8")
            edit, _ = run_timed([sys.executable, str(ROOT / "cli.py"), "render", str(edited), "-V", "main",
                                 *chan_args, "--out", str(work / "ours")], env)
        finally:
            edited.unlink(missing_ok=True)
        # unchanged: the whole example (every version, 17 outputs), rendered once, then again and again
        whole = [sys.executable, str(ROOT / "cli.py"), "render", str(SPEC), "--out", str(work / "whole")]
        run_timed(whole, env)
        again = median_of(whole, env, args.runs)
        long_way = the_long_way(whole, env, cache, args.runs)
        draft = None
        if not args.quick:
            fresh()
            draft, _ = run_timed(cli + chan_args + ["--out", str(work / "ours"), "--draft"], env)
        duration = manifest["outputs"][0]["duration"]
        print(f"example: {duration:.1f} s edit, {len(channels)} channels ({', '.join(channels)}); "
              f"cpus={os.cpu_count()}")
        like = floor_wall + described_wall
        rendered_files = sum(1 for f in rendered.iterdir() if f.suffix in (".mp4", ".mov", ".mkv", ".webm"))
        print(f"floor, 9-output kind (plain ffmpeg per plain output from a pre-cut master, {len(channels)} files): "
              f"{floor_wall:7.1f} s")
        print(f"floor, like for like ({floor_files} files: and each described version from the master and the "
              f"render's described sound, held at the render's holds): {like:7.1f} s "
              f"({described_wall:.1f} s of it the described versions); the render made {rendered_files} files")
        for line in differ:
            print(f"  floor file differs: {line}")
        if not differ:
            print(f"  the floor's {compared} files have the render's frame counts and durations (within a frame)")
        from pipeline.jobs import auto_jobs

        print(f"rekrutt render, no captions (-j auto = {auto_jobs()}, the default): {ours_plain:7.1f} s  "
              f"= {ours_plain / like:.2f}x the like-for-like floor, {ours_plain / floor_wall:.2f}x the 9-output "
              "floor (not like for like)")
        print(f"rekrutt render, synstolking off, no captions ({nodesc_files} outputs): {ours_nodesc:7.1f} s  "
              f"= {ours_nodesc / floor_wall:.2f}x the 9-output floor")
        print(f"rekrutt render, no captions, one output at a time (-j 1): {ours_one:7.1f} s  "
              f"= {ours_one / like:.2f}x the like-for-like floor")
        print(f"rekrutt render, with captions (transcripts cached):     {ours_capt:7.1f} s  "
              f"= {ours_capt / like:.2f}x the like-for-like floor")
        summary.add(f"first render vs the like-for-like floor ({floor_files} files each)",
                    f"{ours_plain / like:.2f}x ({ours_plain:.1f} s / {like:.1f} s)", "<= 0.70x",
                    ours_plain / like <= 0.7)
        summary.add(f"first render, synstolking off, vs the {len(channels)}-output floor",
                    f"{ours_nodesc / floor_wall:.2f}x ({ours_nodesc:.1f} s / {floor_wall:.1f} s)", "<= 0.70x",
                    ours_nodesc / floor_wall <= 0.7)
        summary.add(f"first render vs the {len(channels)}-output floor (NOT like for like: "
                    f"{rendered_files} files against {len(channels)})",
                    f"{ours_plain / floor_wall:.2f}x ({ours_plain:.1f} s / {floor_wall:.1f} s)", "-", None)
        summary.add("end-card edit vs the first render (with captions)",
                    f"{ours_capt / edit:.1f}x faster ({edit:.1f} s)", ">= 8x", ours_capt / edit >= 8)
        summary.add(f"unchanged re-render, example, {sum(1 for _ in _outputs(work / 'whole'))} outputs "
                    f"(median of {args.runs})", f"{again:.2f} s", "< 1 s", again < 1)
        summary.add("unchanged re-render, example, the long way (its stamp removed before each run)",
                    f"{long_way:.2f} s", "-", None)
        if draft is not None:
            summary.add("--draft vs the first render", f"{ours_capt / draft:.1f}x faster ({draft:.1f} s)", ">= 5x",
                        ours_capt / draft >= 5)
        peak = max(rss_plain, rss_one, rss_capt) / 1024
        summary.add("peak memory of one process", f"{peak:.0f} MiB", "< 1024 MiB", peak < 1024)
        if tree:
            summary.add("peak memory, process tree, -j auto, 17 outputs", f"{tree / 2**20:.0f} MiB", "< 1536 MiB",
                        tree / 2**20 < 1536)
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
        import importlib.util

        if mp_channels and importlib.util.find_spec("moviepy") is None:
            summary.add("MoviePy vs rekrutt", "skipped: MoviePy is not installed (pip install -e '.[bench]')",
                        ">= 3.5x", None)
            mp_channels = []
        for channel in mp_channels:  # each channel on its own: Rekrutt alone on it, MoviePy alone on it
            (work / f"mp-{channel}").mkdir()
            fresh()
            # like for like: MoviePy makes the film alone, so Rekrutt here makes no described version either
            # (before 2 Dec it made one, its sound track often left in the cache by the render before)
            sub_spec = SPEC.with_name(f".bench-sub-{os.getpid()}.yml")
            try:
                sub_spec.write_text(without_description(SPEC.read_text(encoding="utf-8")), "utf-8")
                ours_sub, _ = run_timed([sys.executable, str(ROOT / "cli.py"), "render", str(sub_spec), "-V", "main",
                                         "-c", channel, "--out", str(work / f"sub-{channel}"), "--no-captions"], env)
            finally:
                sub_spec.unlink(missing_ok=True)
            mp_wall = moviepy_render(campaign, [channel], work / f"mp-{channel}", work)
            summary.add(f"MoviePy vs rekrutt, {channel}",
                        f"{mp_wall / ours_sub:.2f}x slower ({mp_wall:.1f} s / {ours_sub:.1f} s)", ">= 3.5x",
                        mp_wall / ours_sub >= 3.5)
        if not args.skip_real:
            from bench.real_campaign import make_campaign

            spec = make_campaign(args.real_folder, args.real_minutes)
            real = [sys.executable, str(ROOT / "cli.py"), "render", str(spec), "--out", str(work / "real")]
            first, _ = run_timed(real, env)
            outputs = sum(1 for _ in _outputs(work / "real"))
            real_again = median_of(real, env, args.runs)
            real_long = the_long_way(real, env, cache, args.runs)
            print(f"real-length campaign ({args.real_minutes:g}-minute clips, {outputs} outputs): first render "
                  f"{first:.1f} s (transcription included)")
            summary.add(f"unchanged re-render, {outputs} outputs, {args.real_minutes:g}-min clips "
                        f"(median of {args.runs})", f"{real_again:.2f} s", "< 1 s", real_again < 1)
            summary.add(f"unchanged re-render, {outputs} outputs, the long way (no stamp)", f"{real_long:.2f} s",
                        "-", None)
    summary.print()


def _outputs(out: Path):
    """Every output recorded in the manifests under ``out`` (main film and versions)."""
    for path in out.rglob("manifest.json"):
        yield from json.loads(path.read_text(encoding="utf-8")).get("outputs", [])


if __name__ == "__main__":
    main()
