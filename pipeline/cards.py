"""Cards (title and end cards) drawn as still pictures with Pillow.

Text never enters an ffmpeg filter graph: the card is a PNG the graph loops for
the card's duration, so quotes, colons, percent signs, backslashes and emoji in
campaign text cannot break or change a render. Text is centred and sized to the
frame, and kept inside the channel's safe area.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFont, ImageOps

from .channels import Preset
from .spec import Campaign, CardSpec

log = logging.getLogger("rekrutt")

#: Environment variables naming font files (a brand font) for cards and captions.
FONT_ENV = "REKRUTT_FONT"
FONT_BOLD_ENV = "REKRUTT_FONT_BOLD"


@functools.cache
def find_font(bold: bool = False) -> str | None:
    """Path of a TrueType font with Norwegian letters: the env override, else fontconfig's sans-serif."""
    env = os.environ.get(FONT_BOLD_ENV if bold else FONT_ENV)
    if env and Path(env).is_file():
        return env
    if shutil.which("fc-match"):
        pattern = "sans-serif:bold" if bold else "sans-serif"
        try:
            found = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True,
                                   timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        if found and Path(found).is_file():
            return found
    for candidate in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf" if bold
                      else "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",):
        if Path(candidate).is_file():
            return candidate
    return None


def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = find_font(bold)
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, max_width: int) -> list[str]:
    """Greedy word wrap; a single over-long word stays whole (the caller shrinks the font)."""
    words = text.split()
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


def _layout(draw, card: CardSpec, box_w: int, box_h: int, frame_w: int, frame_h: int):
    """Choose font sizes so that every line fits the safe box; returns (rows, block height).

    A line is kept whole while shrinking it to 70% keeps it inside the box; only
    then is it wrapped at word boundaries.
    """
    base = min(frame_h * 0.085, frame_w * 0.11)
    for wrap in (False, True):
        scale = 1.0
        while True:
            main = _font(max(12, int(base * scale)), True)
            sub = _font(max(10, int(base * 0.53 * scale)), False)
            small = _font(max(9, int(base * 0.38 * scale)), False)
            rows: list[tuple[str, object, float]] = []
            for line in card.lines:
                parts = _wrap(draw, line, main, box_w) if wrap else [line]
                rows += [(t, main, 0.15) for t in parts]
            if card.subline:
                parts = _wrap(draw, card.subline, sub, box_w) if wrap else [card.subline]
                rows += [(t, sub, 0.5 if i == 0 else 0.15) for i, t in enumerate(parts)]
            if card.url:
                rows += [(card.url, small, 0.9)]
            widest = max(draw.textlength(t, font=f) for t, f, _ in rows)
            height = sum(_line_height(f) * (1 + g) for _, f, g in rows)
            if widest <= box_w and height <= box_h:
                return rows, height
            if (not wrap and scale < 0.7) or scale < 0.2:
                break
            scale *= 0.92
    return rows, height


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
                      int(min(x1 - x0, y1 - y0) * 0.24))
        qr_h = qr.height + int(preset.height * 0.03)
    rows, height = _layout(draw, card, x1 - x0, (y1 - y0) - logo_h - qr_h, preset.width, preset.height)
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


def card_png(campaign: Campaign, card_id: str, preset: Preset, work_dir: Path) -> Path:
    """Write the card for one channel as PNG in ``work_dir`` (named by content) and return its path."""
    card = campaign.spec.cards[card_id]
    key = json.dumps({
        "card": card.model_dump(mode="json"),
        "size": [preset.width, preset.height],
        "channel": preset.name,
        "campaign": campaign.spec.campaign,
        "safe": [preset.safe_area.top, preset.safe_area.bottom, preset.safe_area.left, preset.safe_area.right],
        "fonts": [find_font(True), find_font(False)],
        "files": [_file_stamp(campaign.resolve(p)) for p in (card.logo, Path(card.background))
                  if p is not None and not str(p).startswith("#")],
    }, sort_keys=True)
    name = f"card-{card_id}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.png"
    out = work_dir / name
    if not out.exists():
        work_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp.png")
        draw_card(campaign, card, preset).save(tmp, format="PNG")
        os.replace(tmp, out)
    return out


def _file_stamp(p: Path) -> list:
    st = p.stat()
    return [str(p), st.st_size, st.st_mtime_ns]
