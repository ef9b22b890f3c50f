"""The review page: every version and channel side by side in a browser, and the caption-correction desk.

:func:`write_review` writes ``<output>/<campaign>/index.html`` from the manifests (no server,
nothing to install, no network: it works from ``file://`` and from any static host) and
``contact-sheet.png``. Everything on the page that people typed (titles, names, roles, cue text)
is data: it goes into the page as JSON in a ``<script type="application/json">`` block (escaped
by Jinja2's ``tojson``) and into the DOM through ``textContent`` only; a Content-Security-Policy
allows the page's own script and style (by hash) and local media, nothing inline-handled and
nothing remote.

Reviewers correct captions in the page and download ``<clip>.srt`` (the format the correction
loop reads from ``transcripts/``), write notes against a channel, version and second, and approve
outputs; ``review-notes.json`` comes back through :func:`read_notes` and :func:`record_approvals`.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import io
import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from markupsafe import Markup

from . import manifest
from .errors import InputError
from .files import atomic_path, write_text_atomic
from .spec import Campaign

log = logging.getLogger("rekrutt")

_LANGUAGE_LABELS = {"nb": "Norsk (bokmål)", "nn": "Norsk (nynorsk)", "en": "English", "se": "Davvisámegiella"}

#: Consent that ends within this many days is flagged on the page.
CONSENT_WARNING_DAYS = 30

#: The page's own words, in Norwegian bokmål and English.
WORDS = {
    "nb": {
        "review": "Gjennomgang", "versions": "Versjoner", "main": "Hovedfilm", "duration": "Lengde",
        "size": "Størrelse", "limit": "grense", "loudness": "Lydstyrke", "target": "mål", "peak": "Topp",
        "pass": "OK", "fail": "UTENFOR", "captions": "Teksting", "burned": "brent inn i bildet",
        "sidecar": "egen tekstfil", "none": "ingen", "warnings": "Merknader", "shade": "Vis plattformens felt",
        "publish": "Til publisering", "copy": "Kopier", "copied": "Kopiert", "title": "Tittel",
        "description": "Beskrivelse", "hashtags": "Emneknagger", "link": "Sporet lenke", "people": "Hvem er med",
        "consent": "samtykke til", "consent_soon": "samtykket går ut snart",
        "consent_none": "intet samtykke registrert",
        "contact": "Kontaktark (bilde for e-post)", "transcripts": "Teksting: rett det som er feilhørt",
        "transcript_help": "Rett teksten, last ned filen og legg den i {folder}. Neste render tidsetter ordene "
                           "på nytt mot lyden.",
        "download_srt": "Last ned rettet tekst", "play": "Spill av", "not_in_edit": "ikke med i klippet",
        "notes": "Merknader til gjennomgang", "note": "Merknad ved", "add_note": "Legg til merknad",
        "approved_by": "Godkjent av", "date": "Dato", "approve": "Godkjenn", "download_notes": "Last ned merknader",
        "notes_help": "Send review-notes.json til den som lager kampanjen: python cli.py review SPEC --notes FIL",
        "unchanged_approval": "godkjent", "glossary": "Navn og ord å sjekke er uthevet.", "clip": "Klipp",
        "seconds": "s", "no_outputs": "Ingen filer ennå: kjør render.",
    },
    "en": {
        "review": "Review", "versions": "Versions", "main": "Main film", "duration": "Length",
        "size": "Size", "limit": "limit", "loudness": "Loudness", "target": "target", "peak": "Peak",
        "pass": "OK", "fail": "OUT OF RANGE", "captions": "Captions", "burned": "burned into the picture",
        "sidecar": "separate caption file", "none": "none", "warnings": "Notes", "shade": "Show the platform's zones",
        "publish": "For publishing", "copy": "Copy", "copied": "Copied", "title": "Title",
        "description": "Description", "hashtags": "Hashtags", "link": "Tracked link", "people": "Who appears",
        "consent": "consent until", "consent_soon": "consent ends soon", "consent_none": "no consent on record",
        "contact": "Contact sheet (picture for e-mail)", "transcripts": "Captions: correct what was misheard",
        "transcript_help": "Correct the text, download the file and put it in {folder}. The next render re-times "
                           "the words to the audio.",
        "download_srt": "Download corrected transcript", "play": "Play", "not_in_edit": "not in the edit",
        "notes": "Review notes", "note": "Note at", "add_note": "Add note",
        "approved_by": "Approved by", "date": "Date", "approve": "Approve", "download_notes": "Download notes",
        "notes_help": "Send review-notes.json to whoever makes the campaign: python cli.py review SPEC --notes FILE",
        "unchanged_approval": "approved", "glossary": "Names and words to check are highlighted.", "clip": "Clip",
        "seconds": "s", "no_outputs": "No files yet: run render.",
    },
}


def _asset(name: str) -> str:
    return resources.files("pipeline").joinpath("review_assets", name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


@functools.lru_cache(maxsize=256)
def _qr_data_uri(url: str) -> str:
    from .cta import qr_image

    buf = io.BytesIO()
    qr_image(url, 180).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _outputs(edition: Campaign) -> list[dict]:
    """Each output of an edition as the page shows it (from its manifest)."""
    records = manifest.previous_records(edition.out_dir)
    prefix = f"{edition.version}/" if edition.version else ""
    out = []
    for channel in edition.spec.channels:
        record = records.get(channel)
        if record is None:
            continue
        preset = edition.preset(channel)
        # the caption files go into the page as text too: a browser refuses <track> files from file://
        # (each local file is its own origin), but takes the same WebVTT as a data: address
        tracks = [{"src": prefix + file, "lang": key.split(".")[1], "label": _LANGUAGE_LABELS.get(key.split(".")[1],
                                                                                               key.split(".")[1]),
                   "vtt": (edition.out_dir / file).read_text(encoding="utf-8")}
                  for key, file in record.extras.items() if key.startswith("captions.") and key.endswith(".vtt")
                  and (edition.out_dir / file).is_file()]
        link = edition.link(channel) or ""
        out.append({
            "id": f"{edition.version or 'main'}--{channel}", "channel": channel, "label": preset.label,
            "version": edition.version or "", "video": prefix + record.path,
            "poster": prefix + record.extras["poster"] if "poster" in record.extras else "",
            "width": preset.width, "height": preset.height, "fps": record.fps, "duration": record.duration,
            "size": record.size, "max_bytes": preset.max_bytes, "loudness": record.loudness_lufs,
            "loudness_target": record.loudness_target_lufs, "true_peak": record.true_peak_dbtp,
            "true_peak_limit": record.true_peak_limit_dbtp, "burned": record.captions_burned, "tracks": tracks,
            "warnings": list(record.warnings), "fingerprint": record.fingerprint, "items": record.items,
            "safe": {"top": preset.safe_area.top, "bottom": preset.safe_area.bottom,
                     "left": preset.safe_area.left, "right": preset.safe_area.right},
            "publish": {"title": edition.spec.title, "description": edition.spec.description or edition.spec.title,
                        "hashtags": " ".join(f"#{h.lstrip('#')}" for h in edition.spec.hashtags), "link": link},
            "qr": _qr_data_uri(link) if link else "",
            "approved": record.approved,
        })
    return out


def _people(campaign: Campaign, today: dt.date) -> list[dict]:
    from .spec import ClipItem

    used = {item.clip for e in campaign.editions() for item in e.spec.sequence if isinstance(item, ClipItem)}
    out = []
    for cid in campaign.spec.clips:
        if cid not in used:
            continue
        person, role = campaign.clip_person(cid)
        entry = campaign.library.get(cid)
        consent = entry.meta.consent if entry else None
        expires = consent.expires.isoformat() if consent else ""
        soon = bool(consent) and (consent.expires - today).days <= CONSENT_WARNING_DAYS
        out.append({"clip": cid, "person": person or cid, "role": role or "", "consent_expires": expires,
                    "consent_soon": soon, "library": bool(entry)})
    return out


def _transcripts(campaign: Campaign, transcriber) -> list[dict]:
    """Each clip's cues on its own timeline, as staff would correct them (corrected text where it exists)."""
    from .export import transcript_cues
    from .spec import ClipItem
    from .subtitles import clip_transcript, corrected_cues

    clips = []
    for e in campaign.editions():
        clips += [i.clip for i in e.spec.sequence if isinstance(i, ClipItem) and i.clip not in clips]
    out = []
    for cid in clips:
        corrected = corrected_cues(campaign, cid)
        if corrected is not None:
            cues = [(float(a), float(b), text) for a, b, text in corrected.triples()]
        elif transcriber is not None:
            t = clip_transcript(campaign, cid, transcriber)
            cues = [(float(c.start), float(c.end), c.text) for c in transcript_cues(t)]
        else:
            cues = []
        person, _ = campaign.clip_person(cid)
        out.append({"clip": cid, "person": person or "", "corrected": corrected is not None,
                    "cues": [{"start": round(a, 3), "end": round(b, 3), "text": text} for a, b, text in cues]})
    return out


def review_data(campaign: Campaign, transcriber=None, lang: str = "nb", today: dt.date | None = None) -> dict:
    """Everything the page shows, as JSON-able data (all text as data, never markup)."""
    today = today or dt.date.today()
    editions = []
    main_dir = campaign.out_dir
    for e in campaign.editions(every=True):
        editions.append({"version": e.version or "", "title": e.spec.title, "outputs": _outputs(e)})
    glossary = list(campaign.spec.subtitles.glossary) + [p for cid in campaign.spec.clips
                                                         for p in [campaign.clip_person(cid)[0]] if p]
    transcripts_dir = campaign.base_dir / "transcripts"
    return {
        "lang": lang, "words": WORDS[lang], "campaign": campaign.spec.campaign, "title": campaign.spec.title,
        "editions": editions, "people": _people(campaign, today), "glossary": glossary,
        "transcripts": _transcripts(campaign, transcriber),
        "transcripts_folder": str(transcripts_dir), "generated": today.isoformat(),
        "contact_sheet": "contact-sheet.png" if (main_dir / "contact-sheet.png").exists() else "",
    }


def render_page(data: dict) -> str:
    """The page's HTML (Jinja2, autoescaped; the data as escaped JSON; script and style allowed by hash)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    css, js = _asset("review.css"), _asset("review.js")
    csp = ("default-src 'none'; "
           f"script-src {_csp_hash(js)}; style-src {_csp_hash(css)}; "
           "img-src 'self' data: file:; media-src 'self' data: file:; base-uri 'none'; form-action 'none'")
    template = env.from_string(_asset("review.html"))
    # the page's own style and script (not user text) go in as they are; their hashes are in the CSP
    return template.render(data=data, css=Markup(css), js=Markup(js), csp=csp, lang=data["lang"],
                           title=data["title"], words=data["words"])


def contact_sheet(campaign: Campaign, work: Path, frames: int = 6, height: int = 120) -> Path | None:
    """``contact-sheet.png``: a row of frames per output, labelled, for e-mail or chat.

    Made again only when an output changed (the outputs' checksums are kept beside it); each
    frame is reached by seeking, so a long master is not decoded whole.
    """
    from PIL import Image, ImageDraw

    from . import ffmpeg as ff
    from . import fonts

    outputs = []
    for e in campaign.editions(every=True):
        for channel, record in manifest.previous_records(e.out_dir).items():
            video = e.out_dir / record.path
            if video.is_file() and record.duration > 0:
                outputs.append((f"{e.version or 'main'} / {channel}", video, record))
    if not outputs:
        return None
    target = campaign.out_dir / "contact-sheet.png"
    key = hashlib.sha256(json.dumps([[label, r.sha256] for label, _, r in outputs]).encode()).hexdigest()
    if target.is_file():
        try:
            with Image.open(target) as old:
                if old.text.get("rekrutt-outputs") == key:  # the outputs it shows did not change
                    return target
        except OSError:
            pass
    rows = []
    for i, (label, video, record) in enumerate(outputs):
        tile = work / f"row-{i}.png"
        args = [ff.ffmpeg_exe()]
        for k in range(frames):
            args += ["-ss", f"{record.duration * (k + 0.5) / frames:.3f}", "-i", str(video)]
        graph = ";".join(f"[{k}:v]scale=-2:{height},setsar=1,format=rgb24[f{k}]" for k in range(frames))
        graph += ";" + "".join(f"[f{k}]" for k in range(frames)) + f"hstack=inputs={frames}[row]"
        ff.run([*args, "-filter_complex", graph, "-map", "[row]", "-frames:v", "1", str(tile)],
               what=f"contact sheet ({label})")
        rows.append((label, tile))
    pictures = [(label, Image.open(p).convert("RGB")) for label, p in rows]
    label_w = 260
    width = label_w + max(im.width for _, im in pictures)
    sheet = Image.new("RGB", (width, sum(im.height + 8 for _, im in pictures) + 8), "white")
    draw = ImageDraw.Draw(sheet)
    font = fonts.load(18, True)
    y = 8
    for label, im in pictures:
        draw.text((10, y + im.height // 2 - 10), label, font=font, fill=(20, 20, 20))
        sheet.paste(im, (label_w, y))
        y += im.height + 8
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("rekrutt-outputs", key)
    with atomic_path(target, suffix=".partial.png") as tmp:
        sheet.save(tmp, format="PNG", optimize=True, pnginfo=info)
    return target


def write_review(campaign: Campaign, transcriber=None, lang: str | None = None, sheet: bool = True) -> Path:
    """Write ``index.html`` (and ``contact-sheet.png``) in the campaign's output folder; return the page."""
    import tempfile

    lang = lang or campaign.spec.review_language
    if lang not in WORDS:
        raise InputError(f"review language '{lang}': use one of {', '.join(WORDS)}")
    if sheet:
        with tempfile.TemporaryDirectory(prefix="rekrutt-sheet-") as tmp:
            contact_sheet(campaign, Path(tmp))
    page = campaign.out_dir / "index.html"
    write_text_atomic(page, render_page(review_data(campaign, transcriber, lang)))
    return page


# --------------------------------------------------------------------------- notes and approvals

@dataclass(frozen=True)
class Note:
    """One reviewer's note: which output, which second, what to change."""

    version: str
    channel: str
    at: float  #: seconds into the output
    text: str
    author: str = ""


def read_notes(path: Path) -> tuple[list[Note], dict[str, dict]]:
    """The notes and approvals of a downloaded ``review-notes.json`` (approvals by output id)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read review notes ({exc}); use the review-notes.json the page "
                         "downloaded") from None
    if not isinstance(data, dict) or "notes" not in data:
        raise InputError(f"{path}: not a review-notes.json (no 'notes' in it)")
    notes = []
    for n in data.get("notes", []):
        try:
            notes.append(Note(str(n.get("version", "")), str(n["channel"]), float(n.get("at", 0)),
                              str(n.get("text", "")), str(n.get("author", ""))))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: a note is missing its channel or time ({exc})") from None
    return notes, dict(data.get("approvals", {}))


def record_approvals(campaign: Campaign, approvals: dict[str, dict]) -> list[str]:
    """Put approvals into the manifests where the output is still the one that was approved (same
    fingerprint); returns the outputs approved."""
    done = []
    for e in campaign.editions(every=True):
        for channel, record in manifest.previous_records(e.out_dir).items():
            a = approvals.get(f"{e.version or 'main'}--{channel}")
            if not a or not a.get("by") or a.get("fingerprint") != record.fingerprint:
                continue
            manifest.approve(e, channel, {"by": str(a["by"]), "date": str(a.get("date", "")),
                                          "fingerprint": record.fingerprint})
            done.append(f"{e.label}/{channel}")
    return done


def notes_text(notes: list[Note], campaign: Campaign) -> str:
    """The notes as a list against the outputs: which output, which second, what to change."""
    from .timecode import clock

    lines = []
    for n in sorted(notes, key=lambda n: (n.version, n.channel, n.at)):
        where = f"{campaign.spec.campaign}/{n.version + '/' if n.version and n.version != 'main' else ''}{n.channel}"
        who = f" ({n.author})" if n.author else ""
        lines.append(f"{where} at {clock(_fraction(n.at))[3:]}{who}: {n.text}")
    return "\n".join(lines) + ("\n" if lines else "")


def _fraction(x: float):
    from .timecode import seconds

    return seconds(round(x, 3))
