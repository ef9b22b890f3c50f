"""Synstolking, what issue 23 still asked (issue 23): Whisper hears the description in a described
output, and the career page's descriptions track on each video's own timeline, in a real browser."""

from __future__ import annotations

import functools
import json
import subprocess
import threading
from fractions import Fraction
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pysubs2
import pytest
from click.testing import CliRunner
from rapidfuzz import fuzz

from cli import main
from pipeline import describe
from tests.test_describe import _spec, describe_cache, erna_clip  # noqa: F401  (the fixture: real Norwegian speech)
from tests.test_describe_holds import held  # noqa: F401  (the fixture: a render whose picture holds twice)
from tests.test_review import browser  # noqa: F401  (the fixture: Debian's headless Chromium)

RATE = 16000


def _words(text: str) -> list[str]:
    return [w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if w]


def heard(phrase: str, text: str, allow: int = 1, score: float = 80) -> bool:
    """Whether ``phrase``'s words are in ``text``, each by a fuzzy match (Whisper spells a name its way),
    ``allow`` of them missing at most."""
    got = _words(text)
    missing = [w for w in _words(phrase) if not any(fuzz.ratio(w, g) >= score for g in got)]
    return len(missing) <= allow


@pytest.mark.slow
def test_whisper_hears_the_name_and_the_end_card_in_the_described_version(tmp_path, cache_dir, model_dir,
                                                                         erna_clip):  # noqa: F811
    from pipeline.ffmpeg import ffmpeg_exe
    from pipeline.transcribe import shared_transcriber

    spec = _spec(tmp_path, erna_clip, lang="no")
    result = CliRunner().invoke(main, ["render", str(spec), "--cache-dir", str(cache_dir)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "syn-test"
    record = json.loads((out / "manifest.json").read_text())["outputs"][0]
    lines = {x["id"]: x for x in record["descriptions"]}
    assert {"tale-navn", "kort-end"} <= set(lines), lines
    transcriber = shared_transcriber(describe_cache(cache_dir), None)
    # Whisper is given the person's name as a producer gives names for the captions (a glossary); without
    # it, Whisper base hears eSpeak's "Kari Nordmann" as "Kan vi notme" (and a name in the prompt of the
    # card's line comes back in its text: each line gets its own)
    glossary = {"tale-navn": ("Kari Nordmann",), "kort-end": ()}
    texts = {}
    for ident in ("tale-navn", "kort-end"):
        line = lines[ident]
        # the line's own time in the described version (the original sound ducked under it), as Whisper hears it
        piece = tmp_path / f"{ident}.wav"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-ss", f"{max(0, line['start'] - 0.1):.3f}",
                        "-to", f"{line['end'] + 0.1:.3f}", "-i", str(out / "web.synstolket.mp4"), "-vn", "-ac", "1",
                        "-ar", str(RATE), str(piece)], check=True)
        texts[ident] = transcriber.transcribe(piece, "no", glossary=glossary[ident]).text
    print("Whisper heard:", texts)
    # the name, as Whisper spells it, a word allowed to slip (Whisper base heard eSpeak's "Kari" as "Kiki" in
    # one run of the suite and not in another); the line itself is checked by correlation below, which is portable
    assert heard("Kari Nordmann", texts["tale-navn"], allow=1, score=70), texts
    assert heard("Vi trenger deg", texts["kort-end"]), texts  # the end card's words, a word may slip
    # its subline is in the line the pipeline spoke (what it decided), and that spoken line is what plays
    # at the line's place in the described version: by correlation with the voice the pipeline synthesized
    # (Whisper base's words for eSpeak's "Søk innen mars" vary from run to run: "Søkinden marshtjort" with a
    # hallucinated tail, "Så kinden" on a fresh clone; it is not asked for them)
    assert "Søk innen" in lines["kort-end"]["text"], lines["kort-end"]
    described = out / "web.synstolket.mp4"
    for ident, other in (("kort-end", "tale-navn"), ("tale-navn", "kort-end")):
        elsewhere = dict(lines[ident], start=lines[other]["start"])  # the oracle tells a wrong place
        here, there = (correlation_at(described, spec, x, cache_dir) for x in (lines[ident], elsewhere))
        print(f"the voice of {ident} at its place, and elsewhere:", here, there)
        assert here > 0.9 and there < 0.5, (ident, here, there)
    # (its address is spoken too, "fjordvik punktum kommune punktum no skråstrek jobb", which Whisper base
    # does not hear as words: not asserted; the correlation above covers the whole line, address included)
    # (that the original speech is still there outside the lines, by correlation with the undescribed
    # output: tests/test_describe.py::test_a_described_version_keeps_the_picture_and_the_speech)


def correlation_at(path: Path, spec: Path, line: dict, cache_dir: Path) -> float:
    """How well the described output's sound at ``line``'s place matches the line's own voice (the samples
    the pipeline synthesized, read back from its cache): the best correlation within 50 ms of the place."""
    import numpy as np

    from pipeline.load import load_campaign
    from pipeline.voice import VOICE_RATE, read_any, speak

    voice = speak(line["text"], describe.voice_of(load_campaign(spec)), cache=describe_cache(cache_dir))
    sound = read_any(path, VOICE_RATE).astype(float)
    v = voice.astype(float)
    at, slack = round(line["start"] * VOICE_RATE), VOICE_RATE // 20
    lo = max(0, at - slack)
    window = sound[lo: at + slack + v.size]
    # every lag at once (numpy's FFT): the sum of products, over the two signals' norms at that lag
    n = 1 << (window.size + v.size).bit_length()
    dots = np.fft.irfft(np.fft.rfft(window, n) * np.conj(np.fft.rfft(v - v.mean(), n)), n)[: window.size - v.size + 1]
    sums = np.concatenate([[0.0], np.cumsum(window)])
    squares = np.concatenate([[0.0], np.cumsum(window ** 2)])
    mean = (sums[v.size:] - sums[: -v.size]) / v.size
    energy = squares[v.size:] - squares[: -v.size] - v.size * mean ** 2
    r = dots / np.sqrt(np.maximum(energy, 1e-9) * float(((v - v.mean()) ** 2).sum()))
    return float(r.max())


# --------------------------------------------------------------------------- the career page

class RangeHandler(SimpleHTTPRequestHandler):
    """http.server's file handler with byte ranges (``Range: bytes=a-b``), which a browser needs to seek a
    video; the standard library's answers every request whole, and the video cannot seek."""

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        spec = self.headers.get("Range", "")
        path = Path(self.translate_path(self.path))
        if not spec.startswith("bytes=") or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        first, _, last = spec[len("bytes="):].split(",")[0].partition("-")
        start = int(first) if first else max(0, size - int(last))
        end = min(int(last), size - 1) if first and last else size - 1
        f = path.open("rb")
        f.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self._left = end - start + 1
        return f

    def copyfile(self, source, outputfile) -> None:
        left = getattr(self, "_left", None)
        if left is None:
            return super().copyfile(source, outputfile)
        while left > 0:
            block = source.read(min(left, 1 << 16))
            if not block:
                break
            try:
                outputfile.write(block)
            except (BrokenPipeError, ConnectionResetError):  # the browser has what it wanted
                break
            left -= len(block)


@pytest.fixture
def served(held):  # noqa: F811
    """The held render's output folder on http://127.0.0.1 (a browser loads <track> files from http only)."""
    out = held[1]
    handler = functools.partial(RangeHandler, directory=str(out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _cues(page) -> dict:
    return page.evaluate("""() => { const v = document.querySelector('video');
        const el = v.querySelector('track[kind=descriptions]'), t = el.track;
        return {src: el.src.split('/').pop(), mode: t.mode, t: v.currentTime, duration: v.duration,
                cues: t.cues ? [...t.cues].map(c => [c.startTime, c.endTime, c.text]) : [],
                active: t.activeCues ? [...t.activeCues].map(c => c.text) : []}; }""")


def _loaded(page, name: str) -> None:
    page.wait_for_function(f"""() => {{ const v = document.querySelector('video');
        const el = v.querySelector('track[kind=descriptions]');
        return v.currentSrc.endsWith('/{name}') && v.readyState >= 1 && el.readyState === 2; }}""", timeout=20000)


@pytest.mark.slow
def test_each_video_has_its_descriptions_track_and_the_switch_changes_it(held, served, browser, tmp_path):  # noqa: F811
    spec, out, record, placed, voices, timeline, transcripts = held
    holds = describe.holds_of(placed)
    assert holds
    html = (out / "web.html").read_text(encoding="utf-8")
    assert ('<track kind="descriptions" src="web.en.descriptions.vtt" srclang="en" label="Synstolking" '
            'data-original="web.en.descriptions.vtt" data-described="web.synstolket.en.descriptions.vtt">') in html
    spoken = [p for p in placed if p.fits]
    original = pysubs2.load(str(out / "web.en.descriptions.vtt")).events
    described = pysubs2.load(str(out / "web.synstolket.en.descriptions.vtt")).events
    # one cue per spoken line on each timeline, in the lines' order
    assert [e.text for e in original] == [e.text for e in described] == [p.line.text for p in spoken]
    end = float(timeline.duration)
    for cue, p in zip(original, spoken, strict=True):
        start = Fraction(cue.start, 1000)
        assert 0 <= cue.start < cue.end <= end * 1000 + 1, (cue, end)  # on the original, within it
        if p.hold is None:  # where nothing holds, the original time is the described one less the holds before
            assert abs(describe.shift(start, holds) - p.start) <= Fraction(1, 1000) * 2, (cue, p.as_dict())
        else:  # a held line: where its picture holds, within what it describes
            lo, hi = p.line.window
            assert lo - Fraction(1, 1000) <= start <= p.hold.at + Fraction(1, 1000) and cue.end <= hi * 1000 + 1
    for cue, p in zip(described, spoken, strict=True):
        assert abs(cue.start - float(p.start) * 1000) <= 1
    print("original:", [(e.start, e.end, e.text[:20]) for e in original])
    print("described:", [(e.start, e.end, e.text[:20]) for e in described])

    context = browser.new_context(viewport={"width": 900, "height": 600})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{served}/web.html")
    page.evaluate("document.querySelector('track[kind=descriptions]').track.mode = 'hidden'")  # as a screen reader
    _loaded(page, "web.mp4")
    first = _cues(page)
    assert first["src"] == "web.en.descriptions.vtt" and first["mode"] == "hidden"
    assert [c[2] for c in first["cues"]] == [e.text for e in original]
    assert all(c[1] <= first["duration"] + 0.001 for c in first["cues"]), first  # no cue after the film's end
    # at the end card's cue on the original, its line is the active one
    card = next(c for c in first["cues"] if c[2].startswith("Vi trenger deg!"))
    at = (card[0] + card[1]) / 2
    page.evaluate(f"document.querySelector('video').currentTime = {at}")
    page.wait_for_function("""() => { const t = document.querySelector('track[kind=descriptions]').track;
        return t.activeCues && [...t.activeCues].some(c => c.text.startsWith('Vi trenger deg!')); }""", timeout=10000)
    page.screenshot(path=str(tmp_path / "original.png"))
    # the switch: the described version at the same moment, with its own track, still hidden
    page.click("button[aria-pressed]")
    _loaded(page, "web.synstolket.mp4")
    page.wait_for_timeout(300)
    on = _cues(page)
    expected = float(describe.shift(Fraction(at).limit_denominator(10000), holds))
    assert on["src"] == "web.synstolket.en.descriptions.vtt" and on["mode"] == "hidden", on
    assert on["t"] == pytest.approx(expected, abs=1 / 25 + 0.005), (on["t"], expected)
    assert [round(c[0], 3) for c in on["cues"]] == [round(e.start / 1000, 3) for e in described]
    assert all(c[1] <= on["duration"] + 0.001 for c in on["cues"])
    # playing on from there, the card's line is spoken in the described version: its cue comes active
    page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; return v.play(); }")
    page.wait_for_function("""() => { const t = document.querySelector('track[kind=descriptions]').track;
        return t.activeCues && [...t.activeCues].some(c => c.text.startsWith('Vi trenger deg!')); }""", timeout=20000)
    page.evaluate("document.querySelector('video').pause()")
    page.screenshot(path=str(tmp_path / "described.png"))
    # and back: the original's track again
    page.click("button[aria-pressed]")
    _loaded(page, "web.mp4")
    back = _cues(page)
    assert back["src"] == "web.en.descriptions.vtt" and back["mode"] == "hidden"
    assert [c[2] for c in back["cues"]] == [e.text for e in original]
    assert not errors, errors
    context.close()
    Path("/tmp/export/shots").mkdir(parents=True, exist_ok=True)
    for name in ("original.png", "described.png"):
        (tmp_path / name).replace(f"/tmp/export/shots/{name}")
