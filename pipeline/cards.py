"""Cards (title and end cards) drawn as still pictures with Pillow.

Text never enters an ffmpeg filter graph: the card is a PNG the graph loops for
the card's duration, so quotes, colons, percent signs, backslashes and emoji in
campaign text cannot break or change a render. Text is centred and sized to the
frame, and kept inside the channel's safe area.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageOps

from . import fonts
from .channels import Preset
from .spec import Campaign, CardSpec

log = logging.getLogger("rekrutt")

def _font(size: int, bold: bool, text: str = "", face: fonts.Typeface | None = None):
    return fonts.load(size, bold, text, face)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, max_width: int, break_words: bool = False) -> list[str]:
    """Greedy word wrap. A word wider than the line stays whole (the caller shrinks the font),
    unless ``break_words``: then it is broken between letters, with a hyphen."""
    words: list[str] = []
    for word in text.split():
        if break_words and draw.textlength(word, font=font) > max_width:
            words += _break_word(draw, word, font, max_width)
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
    log.warning("a word of %d letters is too long for a line of the card; it was broken: %s...", len(word), word[:20])
    return pieces


def _layout(draw, card: CardSpec, box_w: int, box_h: int, frame_w: int, frame_h: int,
            face: fonts.Typeface | None = None):
    """Choose font sizes so that every line fits the safe box; returns (rows, block height).

    A line is kept whole while shrinking it to 70% keeps it inside the box; only
    then is it wrapped at word boundaries.
    """
    base = min(frame_h * 0.085, frame_w * 0.11)
    for wrap, break_words in ((False, False), (True, False), (True, True)):
        scale = 1.0
        while True:
            main = _font(max(12, int(base * scale)), True, face=face)
            sub = _font(max(10, int(base * 0.53 * scale)), False, face=face)
            small = _font(max(9, int(base * 0.38 * scale)), False, face=face)
            rows: list[tuple[str, object, float]] = []
            for line in card.lines:
                font = _shows(main, line, True, face)
                parts = _wrap(draw, line, font, box_w, break_words) if wrap else [line]
                rows += [(t, font, 0.15) for t in parts]
            if card.subline:
                font = _shows(sub, card.subline, False, face)
                parts = _wrap(draw, card.subline, font, box_w, break_words) if wrap else [card.subline]
                rows += [(t, font, 0.5 if i == 0 else 0.15) for i, t in enumerate(parts)]
            if card.url:
                parts = _wrap(draw, card.url, small, box_w, True) if break_words else [card.url]
                rows += [(t, small, 0.9 if i == 0 else 0.1) for i, t in enumerate(parts)]
            widest = max(draw.textlength(t, font=f) for t, f, _ in rows)
            height = sum(_line_height(f) * (1 + g) for _, f, g in rows)
            if widest <= box_w and height <= box_h:
                return rows, height
            if (not wrap and scale < 0.7) or (not break_words and scale < 0.2) or scale < 0.35:
                break
            scale *= 0.92
    return rows, height


def _shows(font, text: str, bold: bool, face: fonts.Typeface | None = None):
    """``font``, or a font of the same size that has every character of ``text`` (Arabic, Ethiopic, ...)."""
    path = fonts.font_for(text, bold, face)
    if path is None or path == getattr(font, "path", None):
        return font
    return _font(font.size, bold, text, face)


def _line_height(font) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent


def _background(campaign: Campaign, card: CardSpec, size: tuple[int, int]) -> Image.Image:
    if card.background.startswith("#"):
        return Image.new("RGB", size, ImageColor.getrgb(card.background))
    with Image.open(campaign.resolve(Path(card.background))) as im:
        return ImageOps.fit(ImageOps.exif_transpose(im).convert("RGB"), size, Image.Resampling.LANCZOS)


def draw_card(campaign: Campaign, card: CardSpec, preset: Preset) -> Image.Image:
    """The card as an RGB picture at the preset's frame size, text (and QR code) inside its safe area."""
    size = (preset.width, preset.height)
    image = _background(campaign, card, size)
    draw = ImageDraw.Draw(image)
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
        from .cta import qr_image, tracked_url

        qr = qr_image(tracked_url(card.url, preset.name, campaign.spec.campaign),
                      int(min(x1 - x0, y1 - y0) * 0.3))
        qr_h = qr.height + int(preset.height * 0.03)
    rows, height = _layout(draw, card, x1 - x0, (y1 - y0) - logo_h - qr_h, preset.width, preset.height,
                           campaign.brand.typeface)
    # the logo, the text and the QR code are centred together in the safe area
    block_top = y0 + ((y1 - y0) - (logo_h + height + qr_h)) / 2
    if logo is not None:
        image.paste(logo, ((x0 + x1 - logo.width) // 2, int(block_top)), logo)
    color = ImageColor.getrgb(card.color)
    y = block_top + logo_h
    for i, (text, font, gap) in enumerate(rows):
        if i:
            y += _line_height(font) * gap
        width = draw.textlength(text, font=font)
        draw.text(((x0 + x1 - width) / 2, y), text, font=font, fill=color)
        y += _line_height(font)
    if qr is not None:
        image.paste(qr, ((x0 + x1 - qr.width) // 2, int(y + preset.height * 0.03)))
    return image


def card_inputs(campaign: Campaign, card_id: str, preset: Preset) -> str:
    """A digest of everything a card's picture for one channel is drawn from, files by content.

    Cheap (nothing is drawn): it goes into the output's fingerprint and names the PNG.
    """
    from .cache import file_digest

    card = campaign.spec.cards[card_id]
    face = campaign.brand.typeface
    images = [campaign.resolve(p) for p in (card.logo, Path(card.background))
              if p is not None and not str(p).startswith("#")]
    key = json.dumps({
        "card": card.model_dump(mode="json"),
        "size": [preset.width, preset.height],
        "channel": preset.name,
        "campaign": campaign.spec.campaign,
        "safe": [preset.safe_area.top, preset.safe_area.bottom, preset.safe_area.left, preset.safe_area.right],
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


def card_png(campaign: Campaign, card_id: str, preset: Preset, work_dir: Path) -> Path:
    """Write the card for one channel as PNG in ``work_dir`` (named by content) and return its path."""
    card = campaign.spec.cards[card_id]
    out = work_dir / card_name(campaign, card_id, preset)
    if not out.exists():
        work_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp.png")
        draw_card(campaign, card, preset).save(tmp, format="PNG")
        os.replace(tmp, out)
    return out


def lower_third(person: str, role: str | None, preset: Preset, work_dir: Path,
                above: int, face: fonts.Typeface | None = None,
                colors: tuple[str | None, str, str] = (None, "#FFFFFF", "#FFCC00")) -> tuple[Path, int, int]:
    """A name strap (name, and role under it) as an RGBA PNG; returns (path, x, y).

    It sits at the left edge of the channel's safe area, its bottom ``above`` pixels
    from the frame's bottom (above where burned captions go).
    """
    w, h = preset.width, preset.height
    x0, y0, x1, y1 = preset.safe_area.box(w, h)
    base = min(h * 0.042, w * 0.05)
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
    box_h = _line_height(name_font) + (_line_height(role_font) + pad // 3 if role else 0) + 2 * pad
    image = Image.new("RGBA", (box_w + pad // 2, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    background, text, accent = colors
    draw.rectangle((0, 0, pad // 3, box_h), fill=(*ImageColor.getrgb(accent), 255))  # accent bar
    draw.rectangle((pad // 3, 0, image.width, box_h),
                   fill=(*ImageColor.getrgb(background), 235) if background else (0, 0, 0, 170))
    draw.text((pad, pad), person, font=name_font, fill=(*ImageColor.getrgb(text), 255))
    if role:
        draw.text((pad, pad + _line_height(name_font) + pad // 3), role, font=role_font,
                  fill=(*ImageColor.getrgb(text), 230))
    key = hashlib.sha256(json.dumps([person, role, w, h, above, list(colors),
                                     [str(p) for p in fonts.font_files(face)]]).encode()).hexdigest()[:16]
    out = work_dir / f"lower-third-{key}.png"
    if not out.exists():
        work_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp.png")
        image.save(tmp, format="PNG")
        os.replace(tmp, out)
    y = min(y1, h - above) - image.height
    return out, x0 + int((x1 - x0) * 0.02), max(y0, y)


def draft_mark(preset: Preset, work_dir: Path) -> tuple[Path, int, int]:
    """The draft watermark: "UTKAST" (draft) on a red box, for the top-left of the safe area; (path, x, y)."""
    w, h = preset.width, preset.height
    x0, y0, _, _ = preset.safe_area.box(w, h)
    font = _font(max(10, int(min(w, h) * 0.07)), True)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    text_w = int(probe.textlength("UTKAST", font=font))
    pad = max(2, font.size // 4)
    image = Image.new("RGBA", (text_w + 2 * pad, _line_height(font) + 2 * pad), (200, 0, 0, 220))
    ImageDraw.Draw(image).text((pad, pad), "UTKAST", font=font, fill=(255, 255, 255, 255))
    out = work_dir / f"draft-{w}x{h}.png"
    work_dir.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG")
    return out, x0 + pad, y0 + pad
