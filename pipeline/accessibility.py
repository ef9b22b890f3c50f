"""The accessibility report of a campaign (``accessibility.md`` and ``accessibility.json``).

For every output: WCAG 2.1 **1.2.2** (captions, burned into the picture or as a file), **1.2.5**
(synstolking: every text on screen, the cards, the name straps and the link, and where it is
spoken: in the film's own sound or in the description), **1.4.3** (contrast of the burned captions
and of the cards' text), and a paragraph for the body's accessibility statement
(tilgjengelighetserklæring). :func:`failures` is what ``validate --accessibility`` stops on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import describe
from .brand import caption_contrast, contrast_ratio
from .campaign import Campaign, OutputKey
from .captions import words_in_cut
from .files import write_text_atomic
from .job import OutputSpec, output_spec
from .spectypes import COLOR_PATTERN
from .timeline import CardSegment, ClipSegment
from .transcribe import Transcript

#: The least contrast of text (WCAG 2.1 1.4.3, AA).
MIN_CONTRAST = 4.5


@dataclass(frozen=True)
class ScreenText:
    """A text on screen and where it is spoken ("film", "description" or "" for nowhere)."""

    text: str
    what: str  #: "card intro", "name strap anne", "link"
    spoken: str

    @property
    def ok(self) -> bool:
        return bool(self.spoken)


@dataclass
class OutputCheck:
    """One output's three criteria."""

    output: str  #: "main/youtube", "anne/tiktok"
    mode: str
    captions: str  #: "burned", "file (srt, vtt)", "" for none
    texts: list[ScreenText] = field(default_factory=list)
    contrast: dict[str, float] = field(default_factory=dict)
    #: the producer's ``describe:`` lines (what a shot or a cutaway shows) and whether the description says them
    pictures: list[ScreenText] = field(default_factory=list)

    @property
    def captions_ok(self) -> bool:
        return bool(self.captions)

    @property
    def unspoken(self) -> list[ScreenText]:
        return [t for t in self.texts if not t.ok]

    @property
    def contrast_ok(self) -> bool:
        return all(v >= MIN_CONTRAST for v in self.contrast.values())

    def as_dict(self) -> dict:
        return {"output": self.output, "synstolking": self.mode,
                "1.2.2": {"ok": self.captions_ok, "captions": self.captions or "none"},
                "1.2.5": {"ok": not self.unspoken, "texts": [{**asdict(t), "ok": t.ok} for t in self.texts],
                          "pictures": [{**asdict(t), "ok": t.ok} for t in self.pictures]},
                "1.4.3": {"ok": self.contrast_ok, "contrast": {k: round(v, 2) for k, v in self.contrast.items()}}}


def _captions(output: OutputSpec) -> str:
    options, preset = output.edition.spec.subtitles, output.preset
    if not options.enabled:
        return ""
    burn, sidecar = options.delivery(preset.captions)
    parts = (["burned"] if burn else []) + ([f"file ({', '.join(options.sidecar)})"] if sidecar and options.sidecar
                                            else [])
    return " and ".join(parts)


def check_output(output: OutputSpec, transcripts: dict[str, Transcript]) -> OutputCheck:
    """1.2.2, 1.2.5 and 1.4.3 for one output."""
    edition, channel, timeline = output.edition, output.channel, output.timeline
    mode = edition.spec.synstolking.mode_for(channel)
    film_words = [w.text for seg in timeline.clip_segments() if seg.clip_id in transcripts
                  for w in words_in_cut(transcripts[seg.clip_id], seg)]
    described: set[str] = set()
    if mode == "version":
        placed, _ = describe.described_lines(edition, timeline, transcripts, channel)
        described = {p.line.text for p in placed if p.fits}
    script = describe.script(edition, timeline, transcripts, channel)
    lines = {line.text for line in script}

    def where(text: str, line: str | None) -> str:
        if describe.said(film_words, text):
            return "film"
        return "description" if line is not None and line in described else ""

    out = OutputCheck(f"{edition.version or 'main'}/{channel}", mode, _captions(output))
    out.pictures = [ScreenText(ln.text, f"{'cutaway' if ln.kind == 'cutaway' else 'shot'} {ln.id}",
                               "description" if ln.text in described else "")
                    for ln in script if ln.kind in ("describe", "cutaway") and not ln.card]
    people: set[str] = set()
    for seg in timeline.segments:
        if isinstance(seg, CardSegment):
            line = describe.card_text(seg.card)
            line = line if line in lines else None
            for text in [*seg.card.lines, *([seg.card.subline] if seg.card.subline else [])]:
                out.texts.append(ScreenText(text, f"card {seg.card_id}", where(text, line)))
            if seg.card.url:
                link = describe.speakable_link(seg.card.url)
                out.texts.append(ScreenText(link, f"card {seg.card_id} (link)", where(link, line)))
            if COLOR_PATTERN.match(seg.card.background):
                out.contrast[f"card {seg.card_id}"] = contrast_ratio(seg.card.color, seg.card.background)
        elif isinstance(seg, ClipSegment) and edition.spec.lower_thirds:
            person, role = edition.clip_person(seg.clip_id)
            if not person or person in people:
                continue
            people.add(person)
            strap = next((ln.text for ln in script
                          if ln.id == f"{describe.slugify(seg.clip_id)}-navn"), None)
            words = [w.text for w in words_in_cut(transcripts[seg.clip_id], seg)] if seg.clip_id in transcripts \
                else []
            for text in [person, *[p.strip() for p in (role or "").split(",") if p.strip()]]:
                said = describe.said(words, text.split()[0] if text == person else text)
                spoken = "film" if said else ("description" if strap in described else "")
                out.texts.append(ScreenText(text, f"name strap {seg.clip_id}", spoken))
    if "burned" in out.captions:
        out.contrast["burned captions"] = caption_contrast(edition.brand.spec)
    return out


def failures(checks: list[OutputCheck]) -> list[str]:
    """The outputs that would break 1.2.2 or 1.2.5, in words: the output and what is missing."""
    out = []
    for c in checks:
        if not c.captions_ok:
            out.append(f"{c.output}: no captions (1.2.2): turn subtitles on (subtitles: enabled: true)")
        for t in c.unspoken:
            how = {"off": "synstolking is off", "integrated": "synstolking is integrated, and the film does not say "
                   "it"}.get(c.mode, "the description could not place it in a pause")
            out.append(f"{c.output}: \"{t.text}\" ({t.what}) is on screen and never spoken (1.2.5): {how}")
    return out


def statement(campaign: Campaign, checks: list[OutputCheck]) -> str:
    """A paragraph for the tilgjengelighetserklæring (Norwegian)."""
    title = campaign.spec.title
    described = sorted({c.output for c in checks if c.mode == "version"})
    bad = failures(checks)
    text = (f"Filmene i kampanjen «{title}» er tekstet (WCAG 2.1, 1.2.2). ")
    if described:
        text += ("Hver film finnes også i en synstolket versjon, der en stemme leser navn, titler og teksten på "
                 "skjermen i pausene i talen, og originallyden dempes under stemmen (1.2.5). ")
    if all(c.mode == "integrated" for c in checks):
        text += "Det filmene viser av tekst, blir sagt i filmens egen lyd (integrert synstolking, 1.2.5). "
    if bad:
        text += ("Følgende oppfyller ikke kravene ennå: " + "; ".join(bad) + ". ")
    else:
        text += "Vi kjenner ikke til avvik fra kravene for disse filmene. "
    low = [f"{c.output} ({k})" for c in checks for k, v in c.contrast.items() if v < MIN_CONTRAST]
    if low:
        text += f"Kontrasten er under 4,5:1 for: {', '.join(sorted(set(low)))} (1.4.3). "
    return text.strip()


def write_report(campaign: Campaign, checks: list[OutputCheck], out_dir: Path | None = None) -> tuple[Path, Path]:
    """``accessibility.md`` and ``accessibility.json`` in the campaign's output folder."""
    out_dir = out_dir or campaign.out_dir
    yes = {True: "yes", False: "**NO**"}
    md = [f"# Accessibility — {campaign.spec.title}", "",
          "WCAG 2.1 as the Norwegian regulation asks it of public bodies' prerecorded video (1.2.5 synstolking "
          "since 1 Feb 2024).", "",
          "| output | 1.2.2 captions | 1.2.5 synstolking | 1.4.3 contrast |", "| --- | --- | --- | --- |"]
    for c in checks:
        spoken = yes[not c.unspoken] + f" ({c.mode})"
        low = min(c.contrast.values()) if c.contrast else None
        md.append(f"| {c.output} | {yes[c.captions_ok]} ({c.captions or 'none'}) | {spoken} | "
                  f"{yes[c.contrast_ok]}{f' (lowest {low:.1f}:1)' if low else ''} |")
    md += ["", "## Text on screen, and where it is spoken", ""]
    said = {"film": "in the film", "description": "in the description"}
    for c in checks:
        md.append(f"- **{c.output}**: " + "; ".join(
            f"{t.what}: \"{t.text}\" — {said.get(t.spoken, '**never spoken**')}" for t in c.texts))
    if any(c.pictures for c in checks):
        md += ["", "## What the pictures show (describe:), and whether the description says it", ""]
        for c in checks:
            if c.pictures:
                told = sum(t.ok for t in c.pictures)
                md.append(f"- **{c.output}**: {told} of {len(c.pictures)} described: " + "; ".join(
                    f"{t.what}: \"{t.text}\" — {said.get(t.spoken, '**left out**')}" for t in c.pictures))
    md += ["", "## For the accessibility statement (tilgjengelighetserklæring)", "", statement(campaign, checks), ""]
    bad = failures(checks)
    data = {"campaign": campaign.spec.campaign, "ok": not bad, "failures": bad,
            "statement": statement(campaign, checks), "outputs": [c.as_dict() for c in checks]}
    mdp, jsp = out_dir / "accessibility.md", out_dir / "accessibility.json"
    write_text_atomic(mdp, "\n".join(md) + "\n")
    write_text_atomic(jsp, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return mdp, jsp


def report(campaign: Campaign, transcripts: dict[str, Transcript]) -> list[OutputCheck]:
    """Every output of the campaign's editions checked, each laid out by its job (as the render lays it out)."""
    return [check_output(output_spec(edition, OutputKey(edition.version, channel)), transcripts)
            for edition in campaign.editions() for channel in edition.channels]
