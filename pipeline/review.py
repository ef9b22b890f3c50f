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
import difflib
import functools
import hashlib
import io
import json
import logging
import math
import unicodedata
from collections.abc import Mapping, Sequence
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from markupsafe import Markup
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from . import manifest, yamlpos
from .cache import Cache
from .campaign import Campaign, OutputKey
from .cta import qr_image
from .desk import LOW_CONFIDENCE, desk_script, desk_transcripts, script_corrections
from .errors import InputError, SpecError, SpecProblem
from .files import refuse_links, write_text_atomic
from .job import output_spec
from .library import consent_problems
from .reviewwords import WORDS, page_language, warning_text
from .scriptfile import SCRIPT_FILE
from .sheet import Row, write_sheet
from .spec import ClipItem
from .timecode import Time, parse_time, seconds, short_clock

log = logging.getLogger("rekrutt")

_LANGUAGE_LABELS = {"nb": "Norsk (bokmål)", "nn": "Norsk (nynorsk)", "en": "English", "se": "Davvisámegiella"}

#: Consent that ends within this many days is flagged on the page.
CONSENT_WARNING_DAYS = 30

def _asset(name: str) -> str:
    return resources.files("pipeline").joinpath("review_assets", name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


@functools.lru_cache(maxsize=256)
def _qr_data_uri(url: str) -> str:
    buf = io.BytesIO()
    qr_image(url, 180).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def consent_lapsed(edition: Campaign, record: manifest.OutputRecord, today: dt.date) -> list[str]:
    """Why an output on disk may not be shown for publishing today (empty when it may).

    The clips it was cut from (its manifest's items) and the clips its edit plays now, against
    their consent on its channel: an output made while the consent held is not listed after it
    lapsed, even when this run did not render it (``-V``, ``-c``).
    """
    key = OutputKey(edition.version, record.channel)
    clips = [i["clip"] for i in record.items if isinstance(i, dict) and "clip" in i]
    clips += [i.clip for i in edition.spec.sequence if isinstance(i, ClipItem)]
    return [problem for cid in dict.fromkeys(clips) if cid in edition.library
            for problem in consent_problems(edition.library[cid], [(key.where, key.channel)], today)]


def _listed(edition: Campaign, today: dt.date, say: bool = True) -> dict[str, manifest.OutputRecord]:
    """The outputs of an edition the page and the contact sheet show: those its manifest lists and the
    spec still names, whose consent holds today (the others are logged as left off)."""
    records = manifest.previous_records(edition.out_dir)
    out = {}
    for channel in edition.spec.channels:
        record = records.get(channel)
        if record is None:
            continue
        lapsed = consent_lapsed(edition, record, today)
        if lapsed:
            if say:
                log.warning("%s/%s is left off the review page and the contact sheet: %s", edition.label,
                            channel, "; ".join(lapsed))
            continue
        out[channel] = record
    return out


def _outputs(edition: Campaign, today: dt.date, lang: str) -> list[dict]:
    """Each output of an edition as the page shows it (from its manifest)."""
    prefix = f"{edition.version}/" if edition.version else ""
    out = []
    for channel, record in _listed(edition, today).items():
        preset = output_spec(edition, OutputKey(edition.version, channel)).preset
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
            "warnings": [warning_text(w, lang) for w in record.warnings], "names_left_out": list(record.names_left_out),
            "fingerprint": record.fingerprint, "items": record.items,
            "safe": {"top": preset.safe_area.top, "bottom": preset.safe_area.bottom,
                     "left": preset.safe_area.left, "right": preset.safe_area.right},
            "publish": {"title": edition.spec.title, "description": edition.spec.description or edition.spec.title,
                        "hashtags": " ".join(f"#{h.lstrip('#')}" for h in edition.spec.hashtags), "link": link},
            "qr": _qr_data_uri(link) if link else "",
            "approved": record.approved,
            # synstolking: the described version and its lines (id, start, end, text, hold), where it has one
            "described": prefix + record.extras["described"] if "described" in record.extras else "",
            "descriptions": list(record.descriptions) if "described" in record.extras else [],
        })
    return out


def _people(campaign: Campaign, today: dt.date) -> list[dict]:
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


def review_data(campaign: Campaign, transcriber=None, lang: str = "nb", today: dt.date | None = None,
                served: bool = False) -> dict:
    """Everything the page shows, as JSON-able data (all text as data, never markup); ``served``: the
    page is served by ``review --serve`` (it saves and renders drafts through the server)."""
    today = today or dt.date.today()
    corrections = script_corrections(campaign)
    editions = []
    main_dir = campaign.out_dir
    for e in campaign.editions(every=True):
        editions.append({"version": e.version or "", "title": e.spec.title, "outputs": _outputs(e, today, lang)})
    glossary = list(campaign.spec.subtitles.glossary) + [p for cid in campaign.spec.clips
                                                         for p in [campaign.clip_person(cid)[0]] if p]
    transcripts_dir = campaign.base_dir / "transcripts"
    return {
        "lang": lang, "words": WORDS[lang], "campaign": campaign.spec.campaign, "title": campaign.spec.title,
        "editions": editions, "people": _people(campaign, today), "glossary": glossary,
        "transcripts": desk_transcripts(campaign, transcriber), "low_confidence": LOW_CONFIDENCE,
        "script": desk_script(editions, corrections), "script_corrections": corrections,
        "script_file": str(campaign.base_dir / SCRIPT_FILE),
        "transcripts_folder": str(transcripts_dir), "generated": today.isoformat(), "served": served,
        "contact_sheet": "contact-sheet.png" if (main_dir / "contact-sheet.png").exists() else "",
    }


def review_language(campaign: Campaign) -> str:
    """The page's one language: ``review_language`` where the spec sets it, else the campaign's (nb, en)."""
    own = campaign.spec.review_language if "review_language" in campaign.spec.model_fields_set else None
    return page_language(own, campaign.spec.language)


def render_page(data: dict) -> str:
    """The page's HTML (Jinja2, autoescaped; the data as escaped JSON; script and style allowed by hash).

    A served page (``data["served"]``) may also talk to the server it came from (``connect-src 'self'``)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    css, js = _asset("review.css"), _asset("review.js")
    csp = ("default-src 'none'; "
           f"script-src {_csp_hash(js)}; style-src {_csp_hash(css)}; "
           "img-src 'self' data: file:; media-src 'self' data: file:; base-uri 'none'; form-action 'none'"
           + ("; connect-src 'self'" if data.get("served") else ""))
    template = env.from_string(_asset("review.html"))
    # the page's own style and script (not user text) go in as they are; their hashes are in the CSP
    return template.render(data=data, css=Markup(css), js=Markup(js), csp=csp, lang=data["lang"],
                           title=data["title"], words=data["words"])


def contact_sheet(campaign: Campaign, work: Path, frames: int = 6, height: int = 120,
                  today: dt.date | None = None, cache: Cache | None = None) -> Path | None:
    """``contact-sheet.png``: a row of frames per output the page lists, labelled, for e-mail or chat.

    Written only when a frame or label on it changed; each frame comes from the cache by what it shows
    (see :mod:`pipeline.sheet`), so after an edit only the frames it changed are decoded.
    """
    rows = []
    for e in campaign.editions(every=True):
        for channel, record in _listed(e, today or dt.date.today(), say=False).items():
            video = e.out_dir / record.path
            if video.is_file() and record.duration > 0:
                rows.append(Row(f"{e.version or 'main'} / {channel}", video, record))
    target = campaign.out_dir / "contact-sheet.png"
    if not rows:
        target.unlink(missing_ok=True)  # an older sheet may show an output that is no longer listed
        return None
    write_sheet(rows, target, cache or Cache(), work, frames, height)
    return target


def write_review(campaign: Campaign, transcriber=None, lang: str | None = None, sheet: bool = True,
                 today: dt.date | None = None, cache: Cache | None = None) -> Path:
    """Write ``index.html`` (and ``contact-sheet.png``, its frames kept in ``cache``, default: the
    default cache folder) in the campaign's output folder; return the page.

    Outputs whose consent does not hold ``today`` are left off both (and logged)."""
    import tempfile

    lang = lang or review_language(campaign)
    if lang not in WORDS:
        raise InputError(f"review language '{lang}': use one of {', '.join(WORDS)}")
    refuse_links(campaign.out_dir)
    if sheet:
        with tempfile.TemporaryDirectory(prefix="rekrutt-sheet-") as tmp:
            contact_sheet(campaign, Path(tmp), today=today, cache=cache)
    page = campaign.out_dir / "index.html"
    write_text_atomic(page, review_html(campaign, transcriber, lang, today))
    return page


def review_html(campaign: Campaign, transcriber=None, lang: str | None = None, today: dt.date | None = None,
                served: bool = False) -> str:
    """The review page's HTML in the page's language (see :func:`review_language`); ``served``: as
    ``review --serve`` serves it, with saving and draft renders."""
    lang = lang or review_language(campaign)
    if lang not in WORDS:
        raise InputError(f"review language '{lang}': use one of {', '.join(WORDS)}")
    return render_page(review_data(campaign, transcriber, lang, today, served))


# --------------------------------------------------------------------------- notes and approvals

#: How far past an output's recorded end a note may lie and still be "at the end": the browser's
#: end of the file is the longer of picture and sound, which can pass the manifest's duration by a frame.
END_TOLERANCE = Fraction(1, 10)


def _note_time(value: object) -> Time:
    if value is None:  # what the browser's JSON.stringify writes for a time that was NaN
        raise ValueError("no time (null): write the second the note is about, e.g. 12.5")
    if isinstance(value, float) and not math.isfinite(value):  # JSON's NaN, Infinity, 1e999
        raise ValueError(f"{value} is not a time: write the second the note is about, e.g. 12.5")
    t = parse_time(value)  # refuses booleans, "nan" and other text that is not a time
    if t < 0:
        raise ValueError(f"a time cannot be negative ({float(t):g} s): it counts from the start of the output")
    return t


#: A note's time: seconds (the page writes 12.5) or "MM:SS.mmm"; exact, never negative or NaN.
NoteTime = Annotated[Time, BeforeValidator(_note_time)]


class _NotesModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Note(_NotesModel):
    """One reviewer's note: which output, which second, what to change."""

    version: str = Field("main", description="the version's name, 'main' for the main film")
    channel: str = Field(description="the channel of the output the note is about, e.g. web")
    at: NoteTime = Field(description="the second into the output the note is about, e.g. 12.5")
    text: str = Field(description="what to change")
    author: str = Field("", description="who wrote the note")

    @property
    def output_id(self) -> str:
        """The output's id on the page and in ``approvals``: ``<version>--<channel>``."""
        return f"{self.version or 'main'}--{self.channel}"


class Approval(_NotesModel):
    """One output approved on the page, for the output with this fingerprint."""

    by: str = Field(min_length=1, description="who approved it")
    date: str = Field("", description="when (YYYY-MM-DD)")
    fingerprint: str = Field(description="the approved output's fingerprint, from the page")
    channel: str = Field("", description="the output's channel")
    version: str = Field("", description="the output's version, 'main' for the main film")


class ReviewNotes(_NotesModel):
    """A ``review-notes.json`` as the review page downloads it."""

    campaign: str = Field("", description="the campaign the page was made for")
    generated: str = Field("", description="when the file was downloaded")
    notes: tuple[Note, ...] = Field(description="the notes, a list")
    approvals: dict[str, Approval] = Field(default_factory=dict, description="approvals by output id, e.g. main--web")


_EXAMPLES = {
    ReviewNotes: 'an object: {"notes": [...], "approvals": {...}}',
    Note: 'a note: {"version": "main", "channel": "web", "at": 12.5, "text": "..."}',
    Approval: 'an approval: {"by": "...", "date": "2026-03-01", "fingerprint": "..."}',
    "notes": 'a list of notes: [{"channel": "web", "at": 12.5, "text": "..."}, ...]',
    "approvals": 'an object of approvals by output: {"main--web": {"by": "...", "fingerprint": "..."}}',
}


def _model_of(loc: tuple) -> type[BaseModel] | None:
    """The model of the value at ``loc`` (the file, a note, an approval), if it is one."""
    if not loc:
        return ReviewNotes
    if len(loc) == 2:
        return {"notes": Note, "approvals": Approval}.get(loc[0])
    return None


def _json_type(value: object) -> str:
    for kind, name in ((bool, "true/false"), (str, "text"), ((int, float), "a number"), (list, "a list"),
                       (dict, "an object"), (type(None), "null")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _field(loc: tuple):
    """The model field at ``loc`` (for its description), if the key is one of a model."""
    model = _model_of(loc[:-1])
    return model.model_fields.get(str(loc[-1])) if model else None


def _notes_problem(path: Path, located: yamlpos.Located | None, err: dict) -> SpecProblem:
    """One pydantic error as a problem a producer can find: the file, the line, the key path, what to write."""
    loc = tuple(err["loc"])
    kind = err["type"]
    where = "".join(f"[{p}]" if isinstance(p, int) else ("." if i else "") + str(p) for i, p in enumerate(loc))
    if kind == "extra_forbidden":
        model = _model_of(loc[:-1])
        known = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        message = f"unknown key '{loc[-1]}'"
        hint = f"did you mean '{close[0]}'?" if close else "keys here: " + ", ".join(known)
    elif kind == "missing":
        field = _field(loc)
        message = "this key is missing"
        hint = f"add it: {field.description}" if field and field.description else "add it"
    elif kind in ("model_type", "model_attributes_type", "dict_type", "list_type", "tuple_type"):
        expected = _EXAMPLES.get(_model_of(loc) or (loc[0] if len(loc) == 1 else None), "another kind of value")
        message, hint = f"should be {expected}, not {_json_type(err.get('input'))}", ""
    elif kind == "string_type":
        message, hint = f"should be text in quotes, not {_json_type(err.get('input'))}", ""
    elif kind == "string_too_short":
        message, hint = "is empty", f"write {field.description}" if (field := _field(loc)) else ""
    else:
        message, hint = err["msg"].removeprefix("Value error, "), ""
    mark = located.mark(loc, at_key=kind == "extra_forbidden") if located is not None else None
    return SpecProblem(str(path), mark.line if mark else None, mark.column if mark else None,
                       printable(where), printable(message), printable(hint))


def read_notes(path: Path) -> ReviewNotes:
    """The notes and approvals of a downloaded ``review-notes.json``, validated.

    Raises :class:`SpecError` naming the file, the line and the key path of every item that is not
    what the page writes (so nothing is recorded from a file that is partly wrong), and
    :class:`InputError` when the file cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read review notes ({exc}); use the review-notes.json the page "
                         "downloaded") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        line, column = (exc.lineno, exc.colno) if isinstance(exc, json.JSONDecodeError) else (None, None)
        raise SpecError([SpecProblem(str(path), line, column, "", f"not JSON ({getattr(exc, 'msg', exc)})",
                                     "use the review-notes.json the page downloaded")]) from None
    try:
        return ReviewNotes.model_validate(data)
    except ValidationError as exc:
        try:  # JSON is YAML's flow style: the YAML reader gives every value's line
            located = yamlpos.load(text, str(path))
        except (yaml.YAMLError, ValueError):
            located = None
        raise SpecError([_notes_problem(path, located, e) for e in exc.errors()]) from None


def _rendered(campaign: Campaign) -> dict[str, tuple[str, manifest.OutputRecord]]:
    """Every output in the manifests, by its id on the page: (``campaign[/version]/channel``, record)."""
    return {f"{e.version or 'main'}--{channel}": (f"{e.label}/{channel}", record)
            for e in campaign.editions(every=True) for channel, record in manifest.previous_records(e.out_dir).items()}


def _label(campaign: Campaign, output_id: str) -> str:
    version, _, channel = output_id.partition("--")
    return printable(f"{campaign.spec.campaign}/{version + '/' if version and version != 'main' else ''}{channel}")


def _after_end(note: Note, record: manifest.OutputRecord) -> bool:
    return note.at > seconds(record.duration) + END_TOLERANCE


def notes_warnings(review: ReviewNotes, campaign: Campaign) -> list[str]:
    """What a producer should know before acting on the notes: notes and approvals for outputs the
    manifests do not list, notes timed after their output's end, approvals of outputs that changed,
    a file made for another campaign."""
    rendered = _rendered(campaign)
    warnings = []
    if review.campaign and review.campaign != campaign.spec.campaign:
        warnings.append(f"the notes were written on the page of campaign '{printable(review.campaign)}', "
                        f"not '{campaign.spec.campaign}': check that this is the right file")
    unknown: dict[str, int] = {}
    for n in review.notes:
        if n.output_id not in rendered:
            unknown[n.output_id] = unknown.get(n.output_id, 0) + 1
        elif _after_end(n, rendered[n.output_id][1]):
            label, record = rendered[n.output_id]
            warnings.append(f"a note on {label} is at {short_clock(n.at)}, after the output's end "
                            f"({short_clock(seconds(record.duration))}): it may be about an earlier, longer render")
    if unknown:
        listed = ", ".join(f"{_label(campaign, i)} ({k} note{'s' if k > 1 else ''})" for i, k in unknown.items())
        warnings.append(f"notes for outputs that are not in the manifest: {listed}; the outputs there: "
                        f"{', '.join(label for label, _ in rendered.values()) or 'none (run render)'}")
    for output_id, a in review.approvals.items():
        if output_id not in rendered:
            warnings.append(f"an approval for {_label(campaign, output_id)}, which is not in the manifest, "
                            "was not recorded")
        elif a.fingerprint != rendered[output_id][1].fingerprint:
            warnings.append(f"the approval of {rendered[output_id][0]} by {printable(a.by)} was not recorded: "
                            "the output changed after it was approved (approve the new one on the page)")
    return warnings


def record_approvals(campaign: Campaign, approvals: Mapping[str, Approval]) -> list[str]:
    """Put approvals into the manifests where the output is still the one that was approved (same
    fingerprint); returns the outputs approved."""
    done = []
    for e in campaign.editions(every=True):
        for channel, record in manifest.previous_records(e.out_dir).items():
            a = approvals.get(f"{e.version or 'main'}--{channel}")
            if a is None or a.fingerprint != record.fingerprint:
                continue
            manifest.approve(e, channel, {"by": a.by, "date": a.date, "fingerprint": record.fingerprint})
            done.append(f"{e.label}/{channel}")
    return done


def notes_text(notes: Sequence[Note], campaign: Campaign) -> str:
    """The notes as a list against the outputs: which output, which second, what to change.

    One note starts one line; the lines of a note's text follow it indented, and control
    characters in it are shown escaped (``\\x1b``), so no note can break the list or the terminal.
    """
    rendered = _rendered(campaign)
    lines = []
    for n in sorted(notes, key=lambda n: (n.version, n.channel, n.at)):
        who = f" ({printable(n.author)})" if n.author else ""
        flag = ""
        if n.output_id not in rendered:
            flag = " [not in the manifest]"
        elif _after_end(n, rendered[n.output_id][1]):
            flag = f" [after the end, {short_clock(seconds(rendered[n.output_id][1].duration))}]"
        first, *rest = printable_lines(n.text) or [""]
        lines.append(f"{_label(campaign, n.output_id)} at {short_clock(n.at)}{flag}{who}: {first}")
        lines += ["    " + line for line in rest]
    return "\n".join(lines) + ("\n" if lines else "")


#: Characters that reorder the text shown after them (Unicode's Bidi_Control): shown escaped,
#: so a note cannot make a terminal show its words in another order than they were written.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` safe to print on one line: control characters (line breaks included), lone
    surrogates and bidirectional controls escaped as Python writes them (``\\n``, ``\\x1b``)."""
    return "".join(ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                   if unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI_CONTROLS else ch for ch in text)


def printable_lines(text: str) -> list[str]:
    """``text``'s lines (split at every Unicode line break), each :func:`printable`."""
    return [printable(line) for line in text.splitlines()]
