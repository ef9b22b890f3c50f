"""Synstolking on the web (issue 23): the career page's switch to the described version, in a real browser,
and the CI template's accessibility check."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from tests.test_describe_holds import held  # noqa: F401  (the fixture: a render whose picture holds twice)
from tests.test_review import browser  # noqa: F401  (the fixture: Debian's headless Chromium)

FRAME = 1 / 25 + 0.005


def _state(page):
    return page.evaluate("""() => { const v = document.querySelector('video');
        const b = document.querySelector('button[aria-pressed]');
        return {src: v.currentSrc.split('/').pop(), t: v.currentTime, paused: v.paused,
                pressed: b.getAttribute('aria-pressed'),
                captions: [...v.querySelectorAll('track[kind=captions]')].map(t => t.src.split('/').pop()),
                showing: [...v.textTracks].filter(t => t.mode === 'showing').map(t => t.language)}; }""")


@pytest.mark.slow
def test_the_career_page_switches_to_the_described_version_at_the_same_moment(held, browser, tmp_path):  # noqa: F811
    spec, out, record, placed, voices, timeline, transcripts = held
    page_html = (out / "web.html").read_text(encoding="utf-8")
    assert '<track kind="descriptions" src="web.en.descriptions.vtt"' in page_html, page_html
    assert '<button type="button" aria-pressed="false"' in page_html
    holds = sorted((h["hold"]["at"], h["hold"]["seconds"]) for h in record["descriptions"] if "hold" in h)
    assert holds, record["descriptions"]
    context = browser.new_context(viewport={"width": 900, "height": 600})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((out / "web.html").resolve().as_uri())
    page.wait_for_function("document.querySelector('video').readyState >= 1", timeout=20000)
    at = 5.0  # after the first hold (the shot's first frame, at 2 s): later by it in the described version
    page.evaluate(f"document.querySelector('video').currentTime = {at}")
    page.wait_for_function(f"Math.abs(document.querySelector('video').currentTime - {at}) < 0.01")
    before = _state(page)
    assert before["src"] == "web.mp4" and before["pressed"] == "false" and before["showing"] == ["en"]
    # by keyboard: the switch is a button in the tab order, pressed with the space bar
    page.focus("button[aria-pressed]")
    page.keyboard.press("Space")
    page.wait_for_function("document.querySelector('video').currentSrc.endsWith('web.synstolket.mp4') && "
                           "document.querySelector('video').readyState >= 1", timeout=20000)
    page.wait_for_timeout(300)
    on = _state(page)
    expected = at + sum(n for a, n in holds if a < at)
    assert on["pressed"] == "true" and on["paused"]
    assert on["t"] == pytest.approx(expected, abs=FRAME), (on, holds)
    assert on["captions"] == ["web.synstolket.en.vtt"] and on["showing"] == ["en"], on
    page.screenshot(path=str(tmp_path / "described.png"))
    # and back: the same moment of the original
    page.click("button[aria-pressed]")
    page.wait_for_function("document.querySelector('video').currentSrc.endsWith('/web.mp4') && "
                           "document.querySelector('video').readyState >= 1", timeout=20000)
    page.wait_for_timeout(300)
    off = _state(page)
    assert off["pressed"] == "false" and off["t"] == pytest.approx(at, abs=FRAME), off
    assert off["captions"] == ["web.en.vtt"] and off["showing"] == ["en"]
    # a moment inside a hold goes back to the hold's place; playing stays playing
    first_at, first_len = holds[0]
    page.click("button[aria-pressed]")
    page.wait_for_function("document.querySelector('video').currentSrc.endsWith('web.synstolket.mp4')")
    page.wait_for_timeout(300)
    inside = first_at + first_len / 2
    page.evaluate("t => { const v = document.querySelector('video'); v.muted = true; v.currentTime = t; "
                  "return v.play(); }", inside)
    page.click("button[aria-pressed]")
    page.wait_for_function("document.querySelector('video').currentSrc.endsWith('/web.mp4') && "
                           "!document.querySelector('video').paused", timeout=20000)
    back = _state(page)
    assert back["t"] == pytest.approx(first_at, abs=0.5) and not back["paused"], back
    assert not errors, errors
    context.close()
    Path("/tmp/s-web").mkdir(exist_ok=True)
    (tmp_path / "described.png").replace("/tmp/s-web/described.png")


def test_ci_fails_an_output_that_would_break_wcag(tmp_path):
    assert CliRunner().invoke(main, ["ci", "init", "--github", str(tmp_path)]).exit_code == 0
    script = (tmp_path / "ci" / "render.sh").read_text(encoding="utf-8")
    steps = [line for line in script.splitlines() if "$REKRUTT validate" in line]
    assert steps and all("--accessibility" in line for line in steps), steps
    assert script.index("validate --accessibility") < script.index("$REKRUTT render")


@pytest.mark.slow
def test_the_review_tile_plays_the_described_version_and_lists_its_lines(held, browser, tmp_path):  # noqa: F811
    from tests.test_review import Page

    spec, out, record, placed, voices, timeline, transcripts = held
    view = Page(browser, out / "index.html")
    page = view.page
    try:
        tile = page.locator("#tile-main--web")
        video = tile.locator("video.described")
        assert video.get_attribute("src").endswith("web.synstolket.mp4")
        duration = video.evaluate("v => v.duration")
        assert duration == pytest.approx(record["duration"] + sum(d["hold"]["seconds"] for d in record["descriptions"]
                                                                  if "hold" in d), abs=0.1)
        items = tile.locator("ol.description-lines li")
        assert items.count() == len(record["descriptions"]) > 0
        for i, d in enumerate(record["descriptions"]):
            li = items.nth(i)
            assert li.get_attribute("data-id") == d["id"] and d["text"] in li.inner_text()
            assert li.get_attribute("data-held") == ("true" if "hold" in d else "false")
        # the spec's language is en, so the page is in English (one language a page)
        assert "tale-navn" in tile.inner_text() and "picture held" in tile.inner_text()
        # the lines are corrected in the one description-script desk the tile links to, downloaded as script.yml
        assert tile.locator("a[href='#script']").count() == 1
        with page.expect_download() as info:
            page.locator("#download-script").click()
        download = info.value
        assert download.suggested_filename == "script.yml"
        assert not view.errors, view.errors
    finally:
        view.close()
