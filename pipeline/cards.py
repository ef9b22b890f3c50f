"""Cards (title and end cards) drawn as still pictures with Pillow.

Text never enters an ffmpeg filter graph: the card is a PNG the graph loops for
the card's duration, so quotes, colons, percent signs, backslashes and emoji in
campaign text cannot break or change a render. Text is centred and sized to the
frame, and kept inside the channel's safe area.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageOps

from . import fonts
from .brand import ACCENT
from .cache import Cache, file_digest, key_of
from .campaign import Campaign
from .channels import Preset
from .cta import qr_image, qr_side
from .spec import CardSpec

log = logging.getLogger("rekrutt")

def _font(size: int, bold: bool, text: str = "", face: fonts.Typeface | None = None):
    return fonts.load(size, bold, text, face)


def wrap_text(draw: ImageDraw.ImageDraw, text: str, font, max_width: int, break_words: bool = False,
              broken: set[str] | None = None) -> list[str]:
    """Greedy word wrap. A word wider than the line stays whole (the caller shrinks the font),
    unless ``break_words``: then it is broken between letters, with a hyphen (and added to ``broken``)."""
    words: list[str] = []
    for word in text.split():
        if break_words and draw.textlength(word, font=font) > max_width:
            words += _break_word(draw, word, font, max_width)
            if broken is not None:
                broken.add(word)
        else:
            words.append(word)
    lines: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}".strip()
        if current and draw.textlength(trial, font=font) > max_width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current or not lines:
        lines.append(current)
    return lines


def _break_word(draw: ImageDraw.ImageDraw, word: str, font, max_width: int) -> list[str]:
    """A word too long for any line, in pieces that fit (each but the last ends in a hyphen)."""
    pieces: list[str] = []
    current = ""
    for ch in word:
        if current and draw.textlength(current + ch + "-", font=font) > max_width:
            pieces.append(current + "-")
            current = ch
        else:
            current += ch
    pieces.append(current)
    return pieces  # validation warns about it once (text_fit), not each time a card is drawn


#: On a tall frame (9:16) the layout first tries type this much larger than the full size, to fill the safe area.
TALL_START = 1.25
#: The smallest share of the full type size the layout tries before it gives up (0.92 ** 13).
_SMALLEST = 0.92 ** 13


def _layout(draw, card: CardSpec, box_w: int, box_h: int, frame_w: int, frame_h: int,
            face: fonts.Typeface | None = None):
    """Choose font sizes so that every line fits the safe box; returns (rows, block height, fits, broken words).

    A line is kept whole while shrinking it to 70% keeps it inside the box; only
    then is it wrapped at word boundaries, and last a word too long for a line is broken.
    """
    base = min(frame_h * 0.085, frame_w * 0.11)
    for wrap, break_words in ((False, False), (True, False), (True, True)):
        # a tall frame's width caps the type: start larger there (the smallest size tried stays the same)
        scale = TALL_START if frame_h > frame_w else 1.0
        while True:
            rows, height, fits, broken = _try(draw, card, box_w, box_h, base * scale, wrap, break_words, face)
            if fits:
                return rows, height, True, broken
            if (not wrap and scale < 0.7) or (not break_words and scale < 0.2) or scale < 0.35:
                break
            scale *= 0.92
    return rows, height, False, broken


def _try(draw, card: CardSpec, box_w: int, box_h: int, size: float, wrap: bool, break_words: bool,
         face: fonts.Typeface | None):
    """The card's text at one type size (the main lines' size in pixels): (rows, height, fits, broken words)."""
    broken: set[str] = set()
    main = _font(max(12, int(size)), True, face=face)
    sub = _font(max(10, int(size * 0.53)), False, face=face)
    small = _font(max(9, int(size * 0.38)), False, face=face)
    rows: list[tuple[str, object, float]] = []
    for line in card.lines:
        font = _shows(main, line, True, face)
        parts = wrap_text(draw, line, font, box_w, break_words, broken) if wrap else [line]
        rows += [(t, font, 0.15) for t in parts]
    if card.subline:
        font = _shows(sub, card.subline, False, face)
        parts = wrap_text(draw, card.subline, font, box_w, break_words, broken) if wrap else [card.subline]
        rows += [(t, font, 0.5 if i == 0 else 0.15) for i, t in enumerate(parts)]
    if card.url:
        parts = wrap_text(draw, card.url, small, box_w, True) if break_words else [card.url]
        rows += [(t, small, 0.9 if i == 0 else 0.1) for i, t in enumerate(parts)]
    widest = max(draw.textlength(t, font=f) for t, f, _ in rows)
    height = sum(line_height(f) * (1 + g) for _, f, g in rows)
    return rows, height, widest <= box_w and height <= box_h, broken


def _shows(font, text: str, bold: bool, face: fonts.Typeface | None = None):
    """``font``, or a font of the same size that has every character of ``text`` (Arabic, Ethiopic, ...)."""
    path = fonts.font_for(text, bold, face)
    if path is None or path == getattr(font, "path", None):
        return font
    return _font(font.size, bold, text, face)


def line_height(font) -> int:
    """The height of one line of text in ``font`` (ascent and descent), for laying lines out."""
    ascent, descent = font.getmetrics()
    return ascent + descent


def _background(campaign: Campaign, card: CardSpec, size: tuple[int, int]) -> Image.Image:
    if card.background.startswith("#"):
        return Image.new("RGB", size, ImageColor.getrgb(card.background))
    with Image.open(campaign.resolve(Path(card.background))) as im:
        return ImageOps.fit(ImageOps.exif_transpose(im).convert("RGB"), size, Image.Resampling.LANCZOS)


def _frame(campaign: Campaign, card: CardSpec, preset: Preset, draw_qr: bool = True):
    """Where a card's parts go: the safe box (x0, y0, x1, y1), the logo and QR code (or None; without ``draw_qr``
    only its height) and the height each takes; the text gets the rest of the box."""
    size = (preset.width, preset.height)
    x0, y0, x1, y1 = preset.safe_area.box(*size)
    # keep a margin inside the safe area too
    pad_x, pad_y = int((x1 - x0) * 0.05), int((y1 - y0) * 0.05)
    x0, y0, x1, y1 = x0 + pad_x, y0 + pad_y, x1 - pad_x, y1 - pad_y
    logo = None
    logo_h = 0
    if card.logo is not None:
        with Image.open(campaign.resolve(card.logo)) as logo_file:
            logo = ImageOps.exif_transpose(logo_file).convert("RGBA")
        logo.thumbnail((int((x1 - x0) * 0.5), int(preset.height * 0.12)), Image.Resampling.LANCZOS)
        logo_h = logo.height + int(preset.height * 0.04)
    qr = None
    qr_h = 0
    if card.url and card.qr:
        side = min(x1 - x0, y1 - y0) * 0.3 if preset.width >= preset.height else min((x1 - x0) * 0.4, (y1 - y0) * 0.3)
        data = campaign.tracked(card.url, preset.name)
        qr = qr_image(data, int(side)) if draw_qr else None
        qr_h = (qr.height if qr is not None else qr_side(data, int(side))) + int(preset.height * 0.03)
    return (x0, y0, x1, y1), logo, logo_h, qr, qr_h


#: A box in pixels: (x0, y0, x1, y1).
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class CardLayout:
    """Where a card's parts go on one channel's frame, in pixels (what :func:`draw_card` draws)."""

    safe: Box  #: the box every part stays in: the safe area less a margin
    text: Box  #: the text block (lines, subline, address)
    rows: tuple  #: (text, font, top y) of each line of text, centred on the safe box
    logo: Box | None = None
    qr: Box | None = None

    @property
    def parts(self) -> list[Box]:
        return [b for b in (self.logo, self.text, self.qr) if b is not None]


def card_layout(campaign: Campaign, card: CardSpec, preset: Preset) -> tuple[CardLayout, Image.Image | None,
                                                                              Image.Image | None]:
    """The layout of a card on the channel's frame, with its logo and QR code pictures (or None).

    The text block is centred in the safe area. On a wide frame the logo sits just above it and the QR code just
    below, the three centred together. On a tall frame (9:16: the platform's buttons and captions cover the bottom
    and the right) the text keeps the safe area's middle and the logo and QR code each take the middle of the room
    left above and below it, so the card fills the part of the frame the viewer sees instead of crowding its top.
    """
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    (x0, y0, x1, y1), logo, logo_h, qr, qr_h = _frame(campaign, card, preset)
    rows, height, _, _ = _layout(draw, card, x1 - x0, (y1 - y0) - logo_h - qr_h, preset.width, preset.height,
                                 campaign.brand.typeface)
    if preset.height > preset.width:
        # the text in the middle, pushed down or up only as far as the logo and QR code need
        text_top = min(max((y0 + y1 - height) / 2, y0 + logo_h), y1 - qr_h - height)
        logo_top = y0 + (text_top - y0 - logo_h) / 2 if logo is not None else None
        qr_top = (text_top + height + (y1 - text_top - height - qr_h) / 2 + preset.height * 0.03
                  if qr is not None else None)
    else:  # the logo, the text and the QR code centred together
        text_top = y0 + ((y1 - y0) - (logo_h + height + qr_h)) / 2 + logo_h
        logo_top = text_top - logo_h if logo is not None else None
        qr_top = text_top + height + preset.height * 0.03 if qr is not None else None
    placed, y, widest = [], text_top, 0.0
    for i, (text, font, gap) in enumerate(rows):
        if i:
            y += line_height(font) * gap
        placed.append((text, font, y))
        widest = max(widest, draw.textlength(text, font=font))
        y += line_height(font)
    mid = (x0 + x1) / 2
    text_box = (mid - widest / 2, text_top, mid + widest / 2, text_top + height)
    logo_box = (None if logo is None else
                ((x0 + x1 - logo.width) // 2, int(logo_top), (x0 + x1 - logo.width) // 2 + logo.width,
                 int(logo_top) + logo.height))
    qr_box = (None if qr is None else
              ((x0 + x1 - qr.width) // 2, int(qr_top), (x0 + x1 - qr.width) // 2 + qr.width, int(qr_top) + qr.height))
    return CardLayout((x0, y0, x1, y1), text_box, tuple(placed), logo_box, qr_box), logo, qr


def draw_card(campaign: Campaign, card: CardSpec, preset: Preset) -> Image.Image:
    """The card as an RGB picture at the preset's frame size, laid out by :func:`card_layout`."""
    image = _background(campaign, card, (preset.width, preset.height))
    draw = ImageDraw.Draw(image)
    layout, logo, qr = card_layout(campaign, card, preset)
    x0, _, x1, _ = layout.safe
    if logo is not None:
        image.paste(logo, layout.logo[:2], logo)
    color = ImageColor.getrgb(card.color)
    for text, font, y in layout.rows:
        width = draw.textlength(text, font=font)
        draw.text(((x0 + x1 - width) / 2, y), text, font=font, fill=color)
    if qr is not None:
        image.paste(qr, layout.qr[:2])
    return image


@dataclass(frozen=True)
class TextFit:
    """Whether a card's text can be shown whole on one channel's frame (at the smallest type the layout tries)."""

    fits: bool
    broken: tuple[str, ...] = ()  #: words too long for a line, broken between letters with a hyphen to fit


#: The three kinds of text on a card: (share of the full type size, smallest size in pixels, bold, gap).
_KINDS = {"lines": (1.0, 12, True, 0.15), "subline": (0.53, 10, False, 0.15), "url": (0.38, 9, False, 0.1)}


def _text_box(campaign: Campaign, card: CardSpec, preset: Preset) -> tuple[int, int]:
    (x0, y0, x1, y1), _, logo_h, _, qr_h = _frame(campaign, card, preset, draw_qr=False)
    return x1 - x0, (y1 - y0) - logo_h - qr_h


def card_texts(card: CardSpec) -> list[tuple[tuple, str]]:
    """Each text of a card with its place: ("lines", i), ("subline",), ("url",)."""
    out: list[tuple[tuple, str]] = [(("lines", i), line) for i, line in enumerate(card.lines)]
    out += [((key,), getattr(card, key)) for key in ("subline", "url") if getattr(card, key)]
    return out


def _capacity(draw, text: str, kind: str, box: tuple[int, int], preset: Preset, face) -> int:
    """An upper bound on how many characters of ``text`` can fit the box, at the smallest type tried.

    The letters of a text laid out in rows no wider than the box take at least their own widths
    (spaces where a line breaks are dropped), so a prefix whose letters are wider in all than every
    row together cannot fit. It spares the layout (seconds, for thousands of letters) where it must fail.
    """
    share, least, bold, gap = _KINDS[kind]
    base = min(preset.height * 0.085, preset.width * 0.11)
    font = _shows(_font(max(least, int(base * share * _SMALLEST)), bold, face=face), text, bold, face)
    rows = int(box[1] // (line_height(font) * (1 + gap))) + 1
    room = rows * box[0] / 0.95  # 5% for kerning, which can set letters closer than their own widths
    widths: dict[str, float] = {}
    used = 0.0
    for n, ch in enumerate(text):
        if not ch.isspace():
            if ch not in widths:
                widths[ch] = draw.textlength(ch, font=font)
            used += widths[ch]
        if used > room:
            return n
    return len(text)


def _with_text(card: CardSpec, place: tuple, text: str) -> CardSpec:
    if place[0] == "lines":
        lines = list(card.lines)
        lines[place[1]] = text
        return card.model_copy(update={"lines": lines})
    return card.model_copy(update={place[0]: text or None})


def _fits(draw, campaign: Campaign, card: CardSpec, preset: Preset, box: tuple[int, int]) -> TextFit:
    face = campaign.brand.typeface
    if box[0] <= 0 or box[1] <= 0:
        return TextFit(False)
    if any(_capacity(draw, text, place[0], box, preset, face) < len(text) for place, text in card_texts(card)):
        return TextFit(False)
    _, _, fits, broken = _layout(draw, card, box[0], box[1], preset.width, preset.height, face)
    return TextFit(fits, tuple(sorted(broken)))


def text_fit(campaign: Campaign, card: CardSpec, preset: Preset) -> TextFit:
    """Whether the card's text can be shown whole on the channel's frame, and which words must be broken.

    Nothing is drawn; the layout is the one :func:`draw_card` uses.
    """
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    return _fits(draw, campaign, card, preset, _text_box(campaign, card, preset))


def most_that_fits(campaign: Campaign, card: CardSpec, preset: Preset, place: tuple) -> int:
    """The most characters of one of the card's texts (("lines", i), ("subline",) or ("url",)) that can be
    shown with the rest of the card as it is: 0 when the rest alone fills the card."""
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    box = _text_box(campaign, card, preset)
    text = dict(card_texts(card))[place]
    face = campaign.brand.typeface
    smallest = min(preset.height * 0.085, preset.width * 0.11) * _SMALLEST

    def fits(n: int) -> bool:
        # the layout's last try (the smallest type, wrapped, words broken) is the one that fits the most
        return _try(draw, _with_text(card, place, text[:n]), box[0], box[1], smallest, True, True, face)[2]

    lo, hi = 0, _capacity(draw, text, place[0], box, preset, face)
    if box[0] <= 0 or box[1] <= 0 or not fits(0):
        return 0
    while lo < hi:  # the longest prefix that fits (a longer text never fits where a shorter one does not)
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def lines_that_fit(campaign: Campaign, card: CardSpec, preset: Preset) -> int:
    """How many of the card's lines (from the first) can be shown, with its subline and address."""
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    box = _text_box(campaign, card, preset)
    smallest = min(preset.height * 0.085, preset.width * 0.11) * _SMALLEST
    lo, hi = 0, len(card.lines)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lines = card.model_copy(update={"lines": card.lines[:mid]})
        if box[0] > 0 and box[1] > 0 and _try(draw, lines, box[0], box[1], smallest, True, True,
                                              campaign.brand.typeface)[2]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def card_inputs(campaign: Campaign, card_id: str, preset: Preset) -> str:
    """A digest of everything a card's picture for one channel is drawn from, files by content.

    Cheap (nothing is drawn): it goes into the output's fingerprint and names the PNG.
    """
    card = campaign.spec.cards[card_id]
    face = campaign.brand.typeface
    images = [campaign.resolve(p) for p in (card.logo, Path(card.background))
              if p is not None and not str(p).startswith("#")]
    key = json.dumps({
        "card": card.model_dump(mode="json"),
        "size": [preset.width, preset.height],
        "channel": preset.name,
        "campaign": campaign.spec.campaign,
        "link": campaign.tracked(card.url, preset.name) if card.url and card.qr else "",  # the QR code's text
        "safe": [preset.safe_area.top, preset.safe_area.bottom, preset.safe_area.left, preset.safe_area.right],
        "layout": 2,  # how the parts are laid out (2: tall frames spread over the safe area)
        "fonts": [file_digest(p) for p in fonts.font_files(face)] + [
            file_digest(Path(f)) for f in dict.fromkeys(
                fonts.font_for(t, b, face) for t, b in [*((x, True) for x in card.lines),
                                                         (card.subline or "", False)])
            if f],
        "files": [file_digest(p) for p in images if p.is_file()],
    }, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


def card_name(campaign: Campaign, card_id: str, preset: Preset) -> str:
    """The card's file name for one channel, named by what it is drawn from."""
    return f"card-{card_id}-{card_inputs(campaign, card_id, preset)[:16]}.png"


def card_png(campaign: Campaign, card_id: str, preset: Preset, work_dir: Path, cache: Cache | None = None) -> Path:
    """Write the card for one channel as PNG in ``work_dir`` (named by content) and return its path.

    With ``cache``, a card drawn before (the same inputs, this module's code) is copied from it, not drawn
    again (issue 25: an edit of the end card drew every other card of every channel anew)."""
    card = campaign.spec.cards[card_id]
    name = card_name(campaign, card_id, preset)
    out = work_dir / name
    if out.exists():
        return out
    work_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.png")

    def draw(path: Path) -> dict:
        # a work file ffmpeg reads once: the fastest deflate (compress_level 1) over the smallest file
        draw_card(campaign, card, preset).save(path, format="PNG", compress_level=1)
        return {}

    if cache is None:
        draw(tmp)
    else:
        kept, _, _ = cache.file("cards", key_of("card-png", 1, card_inputs(campaign, card_id, preset),
                                                drawing_code()), ".png", draw)
        shutil.copyfile(kept, tmp)
    os.replace(tmp, out)
    return out


def lower_third(person: str, role: str | None, preset: Preset, work_dir: Path,
                above: int, face: fonts.Typeface | None = None,
                colors: tuple[str | None, str, str] = (None, "#FFFFFF", ACCENT),
                scale: float = 1.0, area: Box | None = None, cache: Cache | None = None) -> tuple[Path, int, int]:
    """A name strap (name, and role under it) as an RGBA PNG; returns (path, x, y).

    It sits at the left edge of the channel's safe area (or of ``area``: the safe area inside the picture, where
    a pad leaves bars), its bottom ``above`` pixels from the frame's bottom (above where burned captions go);
    ``scale`` draws it smaller. With ``cache``, a strap drawn before is read from it (issue 25: drawing every
    output's straps was a third of planning an unchanged re-render).
    """
    w, h = preset.width, preset.height
    x0, y0, x1, y1 = (round(v) for v in area) if area else preset.safe_area.box(w, h)
    memo = (person, role, w, h, above, tuple(colors), scale, tuple(str(p) for p in fonts.font_files(face)),
            x0, y0, x1, y1)
    if memo not in _straps:  # every output of a run draws the same straps: drawn and encoded once a process
        _straps[memo] = _cached_strap(cache, memo, lambda: _strap_png(person, role, w, h, above, colors, scale, face,
                                                                       (x0, y0, x1, y1)))
    key, png, height = _straps[memo]
    out = work_dir / f"lower-third-{key}.png"
    if not out.exists():
        work_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp.png")
        tmp.write_bytes(png)
        os.replace(tmp, out)
    return out, x0 + int((x1 - x0) * 0.02), max(y0, min(y1, h - above) - height)


#: Name straps drawn in this process: what they are drawn from -> (file key, PNG, height).
_straps: dict[tuple, tuple[str, bytes, int]] = {}


def _cached_strap(cache: Cache | None, memo: tuple, draw) -> tuple[str, bytes, int]:
    """``draw()``'s strap, or the one the cache kept: by what it is drawn from, the font files by content and
    the code that draws it."""
    if cache is None:
        return draw()
    font_files = [file_digest(Path(p)) for p in memo[7] if os.path.isfile(p)]
    key = key_of("strap", 1, [str(v) for v in memo], font_files, drawing_code())
    drawn: list = []

    def make(tmp: Path) -> dict:
        drawn.append(draw())
        tmp.write_bytes(drawn[0][1])
        return {"key": drawn[0][0], "height": drawn[0][2]}

    path, facts, _ = cache.file("straps", key, ".png", make)
    return drawn[0] if drawn else (facts["key"], path.read_bytes(), facts["height"])


@functools.cache
def drawing_code() -> str:
    """A digest of the code that lays out and draws cards and straps (this module, fonts, the QR code): part
    of the key of every picture or fit kept in the cache, so that changed code draws them anew."""
    here = Path(__file__).parent
    return hashlib.sha256(b"".join((here / name).read_bytes() for name in ("cards.py", "fonts.py", "cta.py"))
                          ).hexdigest()


def _strap_png(person: str, role: str | None, w: int, h: int, above: int, colors, scale: float,
               face: fonts.Typeface | None, box: tuple[int, int, int, int]) -> tuple[str, bytes, int]:
    """:func:`lower_third`'s picture: (its file key, the PNG, its height)."""
    x0, y0, x1, y1 = box
    base = min(h * 0.042, w * 0.05) * scale
    name_font = _font(max(12, int(base)), True, person, face)
    role_font = _font(max(10, int(base * 0.72)), False, role or "", face)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    max_w = int((x1 - x0) * 0.9)
    while True:
        pad = int(base * 0.45)
        name_w = probe.textlength(person, font=name_font)
        role_w = probe.textlength(role, font=role_font) if role else 0
        box_w = int(max(name_w, role_w)) + 2 * pad
        if box_w <= max_w or name_font.size <= 12:
            break
        name_font = _font(int(name_font.size * 0.9), True, person, face)
        role_font = _font(max(10, int(role_font.size * 0.9)), False, role or "", face)
    box_h = line_height(name_font) + (line_height(role_font) + pad // 3 if role else 0) + 2 * pad
    image = Image.new("RGBA", (box_w + pad // 2, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    background, text, accent = colors
    draw.rectangle((0, 0, pad // 3, box_h), fill=(*ImageColor.getrgb(accent), 255))  # accent bar
    draw.rectangle((pad // 3, 0, image.width, box_h),
                   fill=(*ImageColor.getrgb(background), 235) if background else (0, 0, 0, 170))
    draw.text((pad, pad), person, font=name_font, fill=(*ImageColor.getrgb(text), 255))
    if role:
        draw.text((pad, pad + line_height(name_font) + pad // 3), role, font=role_font,
                  fill=(*ImageColor.getrgb(text), 230))
    key = hashlib.sha256(json.dumps([person, role, w, h, above, list(colors), scale,
                                     [str(p) for p in fonts.font_files(face)], list(box)]).encode()).hexdigest()[:16]
    encoded = io.BytesIO()
    image.save(encoded, format="PNG", compress_level=1)
    return key, encoded.getvalue(), image.height


def draft_mark(preset: Preset, work_dir: Path) -> tuple[Path, int, int]:
    """The draft watermark: "UTKAST" (draft) on a red box, for the top-left of the safe area; (path, x, y)."""
    w, h = preset.width, preset.height
    x0, y0, _, _ = preset.safe_area.box(w, h)
    font = _font(max(10, int(min(w, h) * 0.07)), True)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    text_w = int(probe.textlength("UTKAST", font=font))
    pad = max(2, font.size // 4)
    image = Image.new("RGBA", (text_w + 2 * pad, line_height(font) + 2 * pad), (200, 0, 0, 220))
    ImageDraw.Draw(image).text((pad, pad), "UTKAST", font=font, fill=(255, 255, 255, 255))
    out = work_dir / f"draft-{w}x{h}.png"
    work_dir.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG", compress_level=1)
    return out, x0 + pad, y0 + pad
