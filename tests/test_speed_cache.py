"""Faster where a producer waits (issue 25): the cinema master in pieces, freshness by size and time before
any hash, a cache trimmed to the size its user sets, an unchanged re-render that imports and writes nothing
it does not need.

Behaviour only, never timings: what the pipeline decided (pieces made and reused, digests read or not,
entries removed), the frames of rendered files (framemd5), the modules a process imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from pipeline import cache as cache_mod
from pipeline.cache import Cache, file_digest, parse_size
from pipeline.ffmpeg import ffmpeg_exe
from tests.conftest import ROOT, make_clip
from tests.test_hostile import campaign, spec_text

#: The hostile campaign with a small cinema master (ProRes) beside X.
CINEMA = spec_text().replace("channels: [x, web]", "channels: [x, cinema]").replace(
    "  web: {width: 320, height: 180, poster: false}", "  cinema: {width: 320, height: 172, poster: false}")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("speed-media") / "anne.mp4", seconds=3.0)


def render(spec: Path, cache: Path, *extra: str) -> dict[str, dict]:
    result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(cache), *extra])
    assert result.exit_code == 0, result.output
    data = json.loads((spec.parent / "out" / "hostile" / "manifest.json").read_text("utf-8"))
    return {o["channel"]: o for o in data["outputs"]}


def framemd5(path: Path) -> list[str]:
    """Each decoded frame's (and sound packet's) checksum, without the header lines."""
    text = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "framemd5", "-"], check=True,
                          capture_output=True, text=True).stdout
    return [line for line in text.splitlines() if line and not line.startswith("#")]


# --------------------------------------------------------------------------- the cinema master in pieces

def test_an_end_card_edit_encodes_only_its_piece_of_the_cinema_master(tmp_path, clip):
    """ProRes is made in pieces like H.264: after an end-card edit only the card's piece is encoded, and the
    master is frame for frame (picture and sound) the file a full render of the edited spec makes."""
    edited = CINEMA.replace('["Vi trenger deg!"]', '["Vi trenger deg nå!"]')
    assert edited != CINEMA
    (tmp_path / "a").mkdir()
    spec = campaign(tmp_path / "a", clip, CINEMA)
    first = render(spec, tmp_path / "cache-a")["cinema"]
    assert first["pieces"] == {"made": 3, "reused": 0}, first  # the clip's picture, the card's, the sound
    assert first["video_codec"] == "prores" and first["audio_channels"] == 6
    before = framemd5(spec.parent / "out" / "hostile" / "cinema.mov")
    spec.write_text(edited, encoding="utf-8")
    again = render(spec, tmp_path / "cache-a")["cinema"]
    assert again["pieces"] == {"made": 1, "reused": 2}, again
    (tmp_path / "b").mkdir()
    full = campaign(tmp_path / "b", clip, edited)
    whole = render(full, tmp_path / "cache-b")["cinema"]
    assert whole["pieces"] == {"made": 3, "reused": 0}
    for channel in ("cinema.mov", "x.mp4"):
        incremental = framemd5(spec.parent / "out" / "hostile" / channel)
        fresh = framemd5(full.parent / "out" / "hostile" / channel)
        assert len(incremental) == len(fresh) > 60
        assert incremental == fresh, channel
    # the described versions: the same pictures, held frames included (their voice is each cache's own
    # eSpeak run, a few samples apart: the sound is not compared)
    for channel in ("cinema.synstolket.mov", "x.synstolket.mp4"):
        incremental = [x for x in framemd5(spec.parent / "out" / "hostile" / channel) if x.startswith("0,")]
        fresh = [x for x in framemd5(full.parent / "out" / "hostile" / channel) if x.startswith("0,")]
        assert len(incremental) == len(fresh) > 60
        assert incremental == fresh, channel
    after = framemd5(spec.parent / "out" / "hostile" / "cinema.mov")
    assert after != before  # the card did change: the comparison can fail
    # the clip's frames are the same in both, the card's are not
    video_before = [line for line in before if line.startswith("0,")]
    video_after = [line for line in after if line.startswith("0,")]
    assert len(video_before) == len(video_after)
    differ = [i for i, (a, b) in enumerate(zip(video_before, video_after, strict=True)) if a != b]
    assert differ and min(differ) >= 36  # 1.5 s of clip at 24 fps first: untouched


def test_an_end_card_edit_encodes_again_only_the_held_picture_of_the_end_card(tmp_path, clip):
    """(And takes the poster's frame from the cache.) The described version holds the picture where a line
    fits no pause (here: Anne's name, on her first frame, and the end card's text, on its last): after an
    end-card edit only the card's hold is encoded; the name's is the cached piece of the very frame it holds."""
    spec = campaign(tmp_path, clip)
    cache = tmp_path / "cache"
    record = render(spec, cache, "-c", "x")["x"]
    holds = [d for d in record["descriptions"] if d.get("hold")]
    assert len(holds) >= 2, record["descriptions"]
    held = lambda: {p.name for kind in ("pieces", "held") for p in (cache / kind).rglob("*.mp4")}  # noqa: E731
    before = held()
    spec.write_text(spec.read_text("utf-8").replace('["Vi trenger deg!"]', '["Vi trenger deg nå, Anne!"]'), "utf-8")
    again = render(spec, cache, "-c", "x")["x"]
    assert [d.get("hold") is not None for d in again["descriptions"]] == [d.get("hold") is not None for d in
                                                                          record["descriptions"]]
    new = held() - before

    def files(hold: dict) -> int:  # a hold is one GOP of its frame played again, and the frames left over
        n = round(hold["hold"]["seconds"] * 25)
        return int(n >= 13) + int(n % 13 > 0)

    card_hold = [d for d in again["descriptions"] if d.get("hold") and d["hold"]["at"] > 1]
    assert len(card_hold) == 1, again["descriptions"]
    # the card's picture piece and its hold's files: new; the name's hold and the clip's piece: none
    assert len(new) == 1 + files(card_hold[0]), new
    # the old card's hold is still there
    assert len(list((cache / "held").rglob("*.mp4"))) == sum(map(files, holds)) + files(card_hold[0])
    # the poster's frame (of the clip, without captions) was taken once: the edit of the card left it as it was
    assert len(list((cache / "posters").rglob("*.png"))) == 1
    assert (spec.parent / "out" / "hostile" / "x.poster.jpg").is_file()


# --------------------------------------------------------------------------- freshness before any hash

def test_a_large_files_digest_is_found_by_size_and_time_in_the_next_run(tmp_path, monkeypatch):
    Cache(tmp_path / "cache")  # the process's cache keeps the digests
    big = tmp_path / "clip.bin"
    big.write_bytes(b"a" * (cache_mod.DIGEST_MEMO_MIN + 10))
    settled = time.time() - 60
    os.utime(big, (settled, settled))
    first = file_digest(big)
    stat = big.stat()
    # the next run (a fresh process: no memory of its own) with the content changed behind its back
    # but size, time and inode kept: the digest comes from the stored stamp, the file is not read
    monkeypatch.setattr(cache_mod, "_digest_memo", {})
    with big.open("r+b") as f:
        f.write(b"b")
    os.utime(big, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_digest(big) == first
    # a real change moves its time: read again
    monkeypatch.setattr(cache_mod, "_digest_memo", {})
    os.utime(big, (settled + 1, settled + 1))
    assert file_digest(big) != first


def test_a_file_written_just_now_or_small_is_always_read(tmp_path, monkeypatch):
    Cache(tmp_path / "cache")
    fresh = tmp_path / "fresh.bin"
    fresh.write_bytes(b"a" * (cache_mod.DIGEST_MEMO_MIN + 10))  # its time: now (could change within the tick)
    small = tmp_path / "small.bin"
    small.write_bytes(b"a" * 100)
    settled = time.time() - 60
    os.utime(small, (settled, settled))
    digests = {p: file_digest(p) for p in (fresh, small)}
    for path in (fresh, small):
        stat = path.stat()
        monkeypatch.setattr(cache_mod, "_digest_memo", {})
        with path.open("r+b") as f:
            f.write(b"b")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert file_digest(path) != digests[path], path.name
    assert not list((tmp_path / "cache" / "digests").rglob("*.json"))


# --------------------------------------------------------------------------- a cache of the size its user sets

@pytest.mark.parametrize("text, size", [("123", 123), ("2K", 2048), ("1.5M", 1572864), ("20G", 20 << 30),
                                        ("3 GiB", 3 << 30), ("500mb", 500 << 20)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "G", "1X", "inf"])
def test_not_sizes(text):
    with pytest.raises(ValueError):
        parse_size(text)


def _piece(cache: Cache, key: str, suffix: str, size: int, used_at: float, kind: str = "pieces") -> Path:
    path, _, _ = cache.file(kind, key, suffix, lambda tmp: tmp.write_bytes(b"x" * size) and {})
    for p in (path, path.with_suffix(".json")):
        os.utime(p, (used_at, used_at))
    return path


def test_trim_removes_prores_pieces_first_then_the_least_recently_used(tmp_path):
    cache = Cache(tmp_path / "cache")
    now = time.time()
    cache.put("transcripts", "t" * 64, {"words": ["x" * 5000]})
    mp4_old = _piece(cache, "a" * 64, ".mp4", 10_000, now - 300)
    mp4_new = _piece(cache, "b" * 64, ".mp4", 10_000, now - 100)
    mov_new = _piece(cache, "c" * 64, ".mov", 30_000, now - 10)
    mov_old = _piece(cache, "d" * 64, ".mov", 30_000, now - 200)
    total = sum(f.stat().st_size for f in cache.root.rglob("*") if f.is_file())
    # room for all but about 35 kB: both ProRes pieces go, though an H.264 piece is older
    done = cache.trim(total - 35_000)
    assert not mov_old.exists() and not mov_new.exists() and mp4_old.exists() and mp4_new.exists()
    assert done.removed == 2
    # tighter: then the older H.264 piece; transcripts are never trimmed
    cache.trim(total - 65_000)
    assert not mp4_old.exists() and mp4_new.exists()
    assert cache.get("transcripts", "t" * 64) is not None
    assert cache.trim(10**12).removed == 0


def test_trim_removes_described_sound_chunks_as_it_removes_pieces(tmp_path):
    """The described tracks' chunks (the cinema's PCM ones about 12 MB each, two more after each end-card edit)
    are trimmed as pieces are: the .mov ones first, then by when they were last used."""
    cache = Cache(tmp_path / "cache")
    now = time.time()
    piece = _piece(cache, "a" * 64, ".mp4", 10_000, now - 300)
    pcm = _piece(cache, "b" * 64, ".mov", 30_000, now - 10, kind="described-chunk")
    aac = _piece(cache, "c" * 64, ".mp4", 10_000, now - 100, kind="described-chunk")
    total = sum(f.stat().st_size for f in cache.root.rglob("*") if f.is_file())
    assert cache.trim(total - 35_000).removed == 2
    assert not pcm.exists() and not piece.exists() and aac.exists()


def test_a_render_over_the_limit_trims_the_cache_but_keeps_what_it_used(tmp_path, clip, monkeypatch):
    spec = campaign(tmp_path, clip, CINEMA)
    cache = tmp_path / "cache"
    render(spec, cache)
    pieces = {p.name for p in (cache / "pieces").rglob("*") if p.suffix in (".mp4", ".mov")}
    spec.write_text(CINEMA.replace('["Vi trenger deg!"]', '["Ny frist"]'), encoding="utf-8")
    monkeypatch.setenv(cache_mod.CACHE_MAX_ENV, "1K")  # far under what the pieces take
    outputs = render(spec, cache)
    assert outputs["cinema"]["pieces"] == {"made": 1, "reused": 2}
    left = {p.name for p in (cache / "pieces").rglob("*") if p.suffix in (".mp4", ".mov")}
    # what the second render used is kept (its lease); the old end cards' pieces, used by no one, are gone
    assert len(left) == 6 and len(pieces - left) == 2, (pieces, left)  # 3 pieces an output, 2 outputs
    # and the next unchanged render finds every output in place
    again = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(cache)])
    assert again.exit_code == 0 and "unchanged" in again.output


def test_a_size_limit_that_is_not_a_size_stops_the_render_before_any_work(tmp_path, clip, monkeypatch):
    spec = campaign(tmp_path, clip)
    monkeypatch.setenv(cache_mod.CACHE_MAX_ENV, "lots")
    result = CliRunner().invoke(main, ["render", str(spec), "--no-captions", "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 2, result.output
    assert "REKRUTT_CACHE_MAX_SIZE='lots' is not a size" in result.output and "20G" in result.output
    assert "Traceback" not in result.output
    assert not list((tmp_path / "out").rglob("*.mp4"))


# --------------------------------------------------------------------------- an unchanged re-render

#: Libraries an unchanged re-render has no use for: Whisper, OpenCV, OpenTimelineIO, the page's templates, the
#: denoiser, PyAV (the probes are remembered), the spec rewriter, the cluster. (numpy and Pillow it needs: the
#: checks of cut points and card text run on every load.)
HEAVY = ("faster_whisper", "ctranslate2", "cv2", "opentimelineio", "jinja2", "df", "av", "ruamel", "psutil",
         "dask", "distributed", "skimage", "fontTools")

PROBE = """
import runpy, sys, json
sys.argv = ["cli.py", *sys.argv[1:]]
try:
    runpy.run_path("cli.py", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print("MODULES " + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def test_an_unchanged_re_render_imports_no_heavy_library_and_rewrites_nothing(tmp_path, clip):
    spec = campaign(tmp_path, clip, spec_text().replace("channels: [x, web]", "channels: [x, web, cinema]")
                    .replace("  web: {width: 320, height: 180, poster: false}",
                             "  web: {width: 320, height: 180, poster: false}\n  cinema: {width: 320, height: 172}"))
    cache = tmp_path / "cache"
    # a clip recorded a while ago, as a producer's is: one written in the last 2 s is probed every run
    settled = time.time() - 60
    os.utime(clip, (settled, settled))
    render(spec, cache)
    out = spec.parent / "out" / "hostile"
    written = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert out / "main.otio" in written and out / "manifest.json" in written and out / "index.html" in written
    time.sleep(0.05)
    env = dict(os.environ, PYTHONPATH=str(ROOT), REKRUTT_CACHE_DIR=str(cache))
    proc = subprocess.run([sys.executable, "-c", PROBE, "render", str(spec), "--no-captions"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "unchanged" in proc.stdout + proc.stderr
    modules = set(json.loads(proc.stdout.split("MODULES ", 1)[1]))
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    assert "pipeline" in modules and "pydantic" in modules  # the probe does see what the run imports
    rewritten = sorted(str(p.relative_to(out)) for p, t in written.items() if p.stat().st_mtime_ns != t)
    assert rewritten == [], rewritten


def test_cards_and_name_straps_drawn_once_are_read_from_the_cache_the_same(tmp_path, clip, monkeypatch):
    """Cards and name straps drawn once are kept in the cache by what they are drawn from (issue 25): outputs
    made again (here: their folder deleted) draw none of them anew, and come out the same, byte for byte."""
    import shutil

    import pipeline.cards as cards

    spec = campaign(tmp_path, clip, spec_text(start="0"))  # a shot long enough for Anne's name strap
    cache = tmp_path / "cache"
    cards._straps.clear()  # what this process drew for the tests before: this render draws its own
    first = render(spec, cache)
    drawn = []
    real_card, real_strap = cards.draw_card, cards._strap_png
    monkeypatch.setattr(cards, "draw_card", lambda *a, **k: drawn.append("card") or real_card(*a, **k))
    monkeypatch.setattr(cards, "_strap_png", lambda *a, **k: drawn.append("strap") or real_strap(*a, **k))
    cards._straps.clear()  # what this process drew: the next run finds it in the cache only
    shutil.rmtree(spec.parent / "out")
    again = render(spec, cache)
    assert drawn == [], drawn
    assert {ch: o["sha256"] for ch, o in again.items()} == {ch: o["sha256"] for ch, o in first.items()}
    assert len(list((cache / "cards").rglob("*.png"))) == 2 and list((cache / "straps").rglob("*.png"))


# --------------------------------------------------------------------------- an end card's QR code, remembered

def test_a_qr_codes_mask_is_remembered_and_the_code_is_the_one_the_full_search_makes(tmp_path):
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    from pipeline.cta import qr_image

    cache = Cache(tmp_path / "cache")
    url = "https://www.fjordvik.kommune.no/jobb?utm_source=tiktok&utm_medium=video&utm_campaign=x"
    first = qr_image(url, 200)
    searched = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=1)
    searched.add_data(url)
    searched.make(fit=True)
    full = searched.make_image().get_image().convert("RGB")
    assert first.tobytes() == full.resize(first.size, 0).tobytes()
    entries = list((cache.root / "qr").rglob("*.json"))
    assert len(entries) == 1
    assert qr_image(url, 200).tobytes() == first.tobytes()  # from the remembered mask: the same code
    # the next run reads the mask it remembered (another one stored: another picture)
    key = entries[0].stem
    mask = cache.get("qr", key)
    cache.put("qr", key, (mask + 1) % 8)
    assert qr_image(url, 200).tobytes() != first.tobytes()
