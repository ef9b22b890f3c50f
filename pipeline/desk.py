"""The correction desk of the review page: each clip's cues once, what the films use first, and saving.

The desk shows every clip a film plays once (issue 22: two copies of a clip's desk did not share
edits and downloaded under one name). Its cues are ordered for a producer: the cues a version's cut
plays (with the versions that play them) first, the rest folded; the words Whisper was unsure of
(:data:`LOW_CONFIDENCE`) are marked, since that is where the mishearings are.

:func:`save_transcript` and :func:`save_script` are what the served page (``review SPEC --serve``)
calls: the same checks as the files get when the pipeline reads them, then an atomic write where
the pipeline reads them back (``transcripts/<clip>.srt``, ``descriptions/script.yml``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import tempfile
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

from .campaign import Campaign, OutputKey
from .cuefile import read_cue_file
from .errors import InputError, SpecError
from .export import transcript_cues
from .files import refuse_links, write_text_atomic
from .job import output_spec
from .scriptfile import SCRIPT_FILE, read_script, script_problems, script_text
from .spec import ClipItem
from .transcribe import Transcript
from .transcripts import clip_transcript, corrected_cues

log = logging.getLogger("rekrutt")

#: Whisper's word probability under which a word is marked for checking. faster-whisper's word
#: probabilities on this project's recordings sit above 0.6 for words heard right; the mishearings
#: fixed in transcripts/ were words under 0.5 (names, place names, mumbled ends).
LOW_CONFIDENCE = 0.5

#: The longest corrected transcript the served page may send (bytes); cuefile reads at most this much too.
MAX_POST = 4 * 1024 * 1024


def clip_order(campaign: Campaign) -> list[str]:
    """The clips any edition plays, each once, in the order the editions first play them."""
    seen: dict[str, None] = {}
    for e in campaign.editions(every=True):
        for item in e.spec.sequence:
            if isinstance(item, ClipItem):
                seen.setdefault(item.clip, None)
    return list(seen)


def cuts(campaign: Campaign) -> dict[str, list[tuple[str, str, Fraction, Fraction]]]:
    """Per clip, every cut an output plays: (version, channel, start, end) on the clip's own timeline
    (``main`` for the main film), from each output's timeline as the render lays it out."""
    out: dict[str, list[tuple[str, str, Fraction, Fraction]]] = {}
    for e in campaign.editions(every=True):
        for channel in e.spec.channels:
            try:
                timeline = output_spec(e, OutputKey(e.version, channel)).timeline
            except Exception as exc:  # an output that cannot be laid out now shows its cues as unused
                log.info("%s/%s: no timeline for the desk (%s)", e.label, channel, exc)
                continue
            for seg in timeline.clip_segments():
                out.setdefault(seg.clip_id, []).append((e.version or "main", channel, seg.source_in,
                                                        seg.source_out))
    return out


def outputs_of_clip(campaign: Campaign, clip_id: str) -> dict[str, list[str]]:
    """The outputs a correction of ``clip_id`` changes: version (``main``) -> its channels that play it."""
    out: dict[str, list[str]] = {}
    for version, channel, _, _ in cuts(campaign).get(clip_id, []):
        if channel not in out.setdefault(version, []):
            out[version].append(channel)
    return out


def _low_words(transcript: Transcript | None, start: float, end: float) -> list[str]:
    if transcript is None:
        return []
    return [w.text.strip() for w in transcript.words
            if w.probability < LOW_CONFIDENCE and float(w.start) < end and float(w.end) > start and w.text.strip()]


def desk_transcripts(campaign: Campaign, transcriber) -> list[dict]:
    """Each clip's cues on its own timeline, as staff correct them (corrected text where it exists):
    start, end, text, the versions whose cuts play it, and its low-confidence words."""
    played = cuts(campaign)
    out = []
    for cid in clip_order(campaign):
        corrected = corrected_cues(campaign, cid)
        whisper = None
        if corrected is not None:
            cues = [(float(a), float(b), text) for a, b, text in corrected.triples()]
        elif transcriber is not None:
            whisper = clip_transcript(campaign, cid, transcriber)
            cues = [(float(c.start), float(c.end), c.text) for c in transcript_cues(whisper)]
        else:
            cues = []
        person, _ = campaign.clip_person(cid)
        rows = []
        for a, b, text in cues:
            versions = list(dict.fromkeys(v for v, _, lo, hi in played.get(cid, []) if float(lo) < b and float(hi) > a))
            rows.append({"start": round(a, 3), "end": round(b, 3), "text": text, "used": versions,
                         "low": _low_words(whisper, a, b)})
        out.append({"clip": cid, "person": person or "", "corrected": corrected is not None,
                    "outputs": outputs_of_clip(campaign, cid), "cues": rows})
    return out


def desk_script(editions: list[dict], corrections: Mapping[str, str]) -> list[dict]:
    """The description script once (each line id once, with the outputs that speak it), from the page's
    outputs (their manifests' lines), with the producer's corrections where the file has newer ones."""
    lines: dict[str, dict] = {}
    for ed in editions:
        for o in ed["outputs"]:
            for d in o.get("descriptions") or []:
                line = lines.setdefault(d["id"], {"id": d["id"], "text": corrections.get(d["id"], d["text"]),
                                                  "kind": d.get("kind", ""), "start": d["start"], "outputs": []})
                line["outputs"].append(o["id"])
    return list(lines.values())


def script_corrections(campaign: Campaign) -> dict[str, str]:
    """The corrections in the campaign's ``descriptions/script.yml`` (empty where there are none)."""
    return read_script(campaign.base_dir / SCRIPT_FILE)


# --------------------------------------------------------------------------- saving (the served page)

def transcript_target(campaign: Campaign, clip_id: str) -> Path:
    """Where the pipeline reads a clip's corrected transcript: the spec's ``transcript:`` or
    ``transcripts/<clip>.srt``."""
    if clip_id not in campaign.spec.clips:
        raise InputError(f"no clip '{clip_id}' in the campaign: the desk saves the clips of {campaign.path}")
    return campaign.transcript_path(clip_id) or campaign.base_dir / "transcripts" / f"{clip_id}.srt"


def save_transcript(campaign: Campaign, clip_id: str, text: str) -> Path:
    """Check a corrected transcript as the pipeline will (:func:`~pipeline.cuefile.read_cue_file`
    against the clip's length) and write it atomically where the pipeline reads it; returns the file.

    Raises :class:`SpecError` naming the file and the line of every problem (nothing is written)."""
    target = transcript_target(campaign, clip_id)
    if len(text.encode("utf-8")) > MAX_POST:
        raise InputError(f"{target}: the transcript sent is larger than {MAX_POST // 2**20} MB; nothing was saved")
    info = campaign.media.get(clip_id)
    with tempfile.TemporaryDirectory(prefix="rekrutt-desk-") as tmp:
        trial = Path(tmp) / target.name
        trial.write_text(text, encoding="utf-8")
        try:
            read_cue_file(trial, info.duration if info is not None else None)
        except SpecError as exc:  # say the file it would have been, not the trial's
            raise SpecError([dataclasses.replace(p, file=str(target)) for p in exc.problems]) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    refuse_links(target.parent)
    write_text_atomic(target, text)
    log.info("%s: corrected transcript saved", target)
    return target


def save_script(campaign: Campaign, lines: Mapping[str, str]) -> Path:
    """Write the description script's corrections (line id -> text) to ``descriptions/script.yml``,
    checked as the pipeline reads it (:func:`~pipeline.scriptfile.read_script`); returns the file."""
    target = campaign.base_dir / SCRIPT_FILE
    if not isinstance(lines, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in lines.items()):
        raise InputError(f"{target}: the script sent is not line id -> text; nothing was saved")
    text = script_text({k: re.sub(r"\s+", " ", v).strip() for k, v in lines.items()})
    _, problems = script_problems(text, str(target))
    if problems:
        raise SpecError(problems)
    target.parent.mkdir(parents=True, exist_ok=True)
    refuse_links(target.parent)
    write_text_atomic(target, text)
    return target
