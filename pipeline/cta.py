"""Tracked call to action and publish sheets.

Each channel's end card carries the campaign address tagged with
``utm_source=<channel>``, ``utm_campaign=<slug>`` and ``utm_content=<version>`` (``main`` for
the main film), and a QR code of it, so the municipality's web statistics show which channel
and which version (the teaser, Anne's episode) brought each applicant. Each
channel also gets a publish sheet (title, description, hashtags, the tracked link,
the files to upload) as Markdown and JSON, for whoever posts the video.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from PIL import Image

from .cache import key_of, recall, remember
from .channels import Preset

#: What the main film (no version) is called in ``utm_content``: the name ``render -V`` knows it by.
MAIN = "main"

#: Bump when the QR codes are made otherwise (their remembered masks are then chosen again).
QR_VERSION = "1"

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content")


def tracked_url(url: str, channel: str, campaign: str, version: str | None = None) -> str:
    """``url`` with utm_source, utm_medium, utm_campaign and utm_content (the version; ``main``
    for the main film) set, other query parameters kept."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in UTM]
    query += [("utm_source", channel), ("utm_medium", "video"), ("utm_campaign", campaign),
              ("utm_content", version or MAIN)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment))


def _qr_code(data: str):
    """The QR code of ``data`` as the cards draw it (error correction M, a quiet zone of 4, a pixel a module)."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET, box_size=1)
    qr.add_data(data)
    return qr


#: Modules of white around a QR code.
QUIET = 4


def _scale(modules: int, size: int) -> int:
    """Pixels a module for a code of ``modules`` modules (quiet zone included) of about ``size`` pixels."""
    return max(2, size // modules)


def qr_image(data: str, size: int) -> Image.Image:
    """A QR code of ``data`` as a black-on-white RGB picture of about ``size`` pixels, quiet zone included."""
    from qrcode.constants import ERROR_CORRECT_M

    qr = _qr_code(data)
    # Choosing the mask (8 trial codes, each scored) is most of the time a QR code takes, and every load of a
    # spec draws one per channel to size its end card: the choice is remembered across runs (issue 25), so
    # the code is the very one the full search makes.
    key = key_of("qr-mask", data, ERROR_CORRECT_M, 4, QR_VERSION)
    mask = recall("qr", key)
    if not isinstance(mask, int) or not 0 <= mask < 8:
        qr.best_fit()
        mask = qr.best_mask_pattern()
        remember("qr", key, mask)
    qr.mask_pattern = mask
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    modules = img.width
    scale = _scale(modules, size)
    return img.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)


def qr_side(data: str, size: int) -> int:
    """The side in pixels of :func:`qr_image` of the same ``data`` and ``size``, without making the code: sizing a
    card's text (every load of a spec, every channel) needs only that (issue 25)."""
    modules = 17 + 4 * _qr_code(data).best_fit() + 2 * QUIET  # the version's modules and the quiet zone's
    return modules * _scale(modules, size)


def publish_sheet(*, title: str, description: str, hashtags: list[str], link: str | None, preset: Preset,
                  video: str, captions: list[str], duration: float, burned: bool) -> tuple[str, str]:
    """(Markdown, JSON) of what to post on one channel."""
    data = {
        "channel": preset.name, "platform": preset.label, "title": title, "description": description,
        "hashtags": hashtags, "link": link, "video": video, "duration_s": round(duration, 2),
        "captions_to_upload": captions, "captions_burned_in": burned,
    }
    tags = " ".join(f"#{t.lstrip('#')}" for t in hashtags)
    lines = [f"# {title} — {preset.label}", "", f"- Video: `{video}` ({duration:.1f} s)"]
    if captions:
        lines.append("- Caption files to upload: " + ", ".join(f"`{c}`" for c in captions))
    if burned:
        lines.append("- Captions are burned into the picture (this platform takes no caption upload).")
    if link:
        lines.append(f"- Link: {link}")
    lines += ["", "## Description", "", description.strip()]
    if tags:
        lines += ["", tags]
    if link:
        lines += ["", link]
    return "\n".join(lines) + "\n", json.dumps(data, indent=2, ensure_ascii=False) + "\n"
