"""Caption delivery: transcripts for a campaign, and per-channel caption files.

:class:`CaptionMaker` gets each clip's transcript once (the corrected file if
staff made one, re-timed by forced alignment; else Whisper's, from the cache),
then for each output builds the cues on that output's timeline and writes them
as a burn-in ASS file (styled for the frame, inside the safe area) and/or
sidecar SRT and WebVTT files, through pysubs2's writers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import logging
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import pysubs2
from PIL import ImageColor

from .brand import ACCENT
from .cache import Cache
from .campaign import Campaign
from .captions import CaptionRules, Cue, check, cues_for_timeline
from .channels import Preset
from .files import write_text_atomic
from .fonts import find_font
from .job import OutputSpec
from .languages import whisper_language
from .placement import Box, held_spots, picture_spans, text_area
from .spec import ClipItem
from .timeline import Timeline
from .transcribe import Transcriber, Transcript
from .transcripts import clip_transcript

log = logging.getLogger("rekrutt")

#: How an output's notes about its captions begin: a cue that reads too fast, a burned cue with no room off a face.
#: The notes stay with the output (manifest, review page); the runner counts them in one line per rendered output.
FAST_CAPTION = "caption reads fast"
COVERS_FACE = "covers the face"

#: Formats by name: file extension and pysubs2 format id (one registry, as for presets).
FORMATS = {"srt": "srt", "vtt": "vtt", "ass": "ass"}


def file_language(code: str) -> str:
    """Language tag used in caption file names and HTML (Norwegian bokmål is ``nb``)."""
    return {"no": "nb", "nb": "nb", "nn": "nn"}.get(whisper_language(code), whisper_language(code))


def to_ssa(cues: list[Cue], style: str = "Default") -> pysubs2.SSAFile:
    subs = pysubs2.SSAFile()
    for cue in cues:
        start = int(round(float(cue.start) * 1000))
        end = int(round(float(cue.end) * 1000))
        text = "\\N".join(line.replace("{", "(").replace("}", ")") for line in cue.lines)
        subs.append(pysubs2.SSAEvent(start=start, end=end, text=text, style=style))
    return subs


def write_format(cues: list[Cue], fmt: str, path: Path) -> None:
    """Write cues as SRT or WebVTT (atomically)."""
    write_text_atomic(path, to_ssa(cues).to_string(FORMATS[fmt]))


#: the lit-up word of highlight captions (ASS colours are written by pysubs2)
HIGHLIGHT_COLOR = ImageColor.getrgb(ACCENT)


@dataclass(frozen=True)
class CaptionStyle:
    """How burned-in captions look on one frame."""

    font: str
    size: int  #: font size in pixels (PlayResY = frame height)
    margin_v: int  #: bottom margin in pixels (the safe area's bottom and some air)
    margin_h: int
    boxed: bool  #: opaque box behind the text (vertical video) or an outline
    max_chars: int  #: characters per line so that a line fits ~68% of the frame width
    text: tuple[int, int, int] = (255, 255, 255)  #: the text's colour
    accent: tuple[int, int, int] = HIGHLIGHT_COLOR  #: the lit word of highlight captions
    box_alpha: int = 0  #: the box's transparency in ASS terms (0: opaque, 255: invisible)


@dataclass(frozen=True)
class CaptionLook:
    """A brand's say over burned captions."""

    text: str = "#FFFFFF"
    accent: str = ACCENT
    box: bool | None = None  #: None: a box on vertical video, an outline on wide
    box_opacity: float = 1.0

    @classmethod
    def of(cls, brand) -> CaptionLook:
        spec = brand.spec
        return cls(spec.colors.text, spec.colors.accent, spec.captions.box if brand.path else None,
                   spec.captions.box_opacity)


#: social captions: one line of at most this many characters, type this much larger than standard
SOCIAL_MAX_CHARS = 26
SOCIAL_SCALE = Fraction(7, 5)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def caption_style(preset: Preset, social: bool = False, face=None, look: CaptionLook | None = None,
                  area: Box | None = None) -> CaptionStyle:
    """Style for a channel: size relative to the frame, margins from its safe area, line length to fit.

    ``social``: one line of at most :data:`SOCIAL_MAX_CHARS`, in type 1.4 times larger. ``area``: where text may
    go (:func:`pipeline.placement.text_area`: the safe area inside the picture, where a pad leaves bars).
    """
    from PIL import ImageFont

    look = look or CaptionLook()
    w, h = preset.width, preset.height
    size = max(16, round(min(h * 0.05, w * 0.04)))
    if social:
        size = round(size * SOCIAL_SCALE)
    x0, y0, x1, y1 = area or preset.safe_area.box(w, h)
    margin_v = round(h - y1) + round(h * 0.03)
    margin_h = round(max(x0, w - x1)) + round(w * 0.03)
    sample = "Jeg er sykepleier og jobber på Tunet"
    path = find_font(True, face)
    if path:
        font = ImageFont.truetype(path, size)
        per_char = font.getlength(sample) / len(sample)
        family = font.getname()[0]
    else:
        per_char, family = size * 0.6, "Sans"
    room = x1 - x0 - 2 * round(w * 0.03)
    fit = int(room / per_char) if social else int(min(0.68 * w, room) / per_char)
    limit = min(SOCIAL_MAX_CHARS, preset.caption_line_chars) if social else preset.caption_line_chars
    boxed = h > w if look.box is None else look.box
    return CaptionStyle(family, size, margin_v, margin_h, boxed=boxed, max_chars=max(16, min(limit, fit)),
                        text=_rgb(look.text), accent=_rgb(look.accent),
                        box_alpha=round(255 * (1 - look.box_opacity)))


def social_rules(rate: Fraction, max_chars: int) -> CaptionRules:
    """Rules for social captions: one line; a cue that would read too fast costs six times as much
    (one short line has less room to absorb a quick phrase)."""
    return dataclasses.replace(CaptionRules.for_rate(rate, max_chars), max_lines=1, speed_weight=3.0)


def _lit_line(tokens: list[list[str]], k: int | None, lit: str) -> str:
    """The cue's lines with word number ``k`` (counted over all lines) in the lit colour."""
    out, i = [], 0
    for line in tokens:
        words = []
        for token in line:
            safe = token.replace("{", "(").replace("}", ")")
            words.append(f"{lit}{safe}{{\\r}}" if i == k else safe)
            i += 1
        out.append(" ".join(words))
    return "\\N".join(out)


def highlight_events(cues: list[Cue], style: str = "Default",
                     accent: tuple[int, int, int] = HIGHLIGHT_COLOR) -> pysubs2.SSAFile:
    """Each cue as a run of events with the word being said lit up (its colour), from the word timings.

    Between words the line shows unlit, so no two words are ever lit at once; times are the
    words' own (aligned where a corrected transcript exists), on the output timeline.
    """
    subs = pysubs2.SSAFile()
    r, g, b = accent
    lit = f"{{\\1c&H{b:02X}{g:02X}{r:02X}&}}"

    def ms(t) -> int:
        return int(round(float(t) * 1000))

    for cue in cues:
        tokens = [line.split(" ") for line in cue.lines]
        if [w.text for w in cue.words] != [t for line in tokens for t in line]:
            subs.events.extend(to_ssa([cue], style).events)  # words and lines disagree: the cue unlit
            continue
        edges: list[tuple[int, int | None]] = [(ms(cue.start), None)]
        t = ms(cue.start)
        for k, word in enumerate(cue.words):  # never back in time: one word lit at a time
            start = min(max(ms(word.start), t), ms(cue.end))
            t = max(min(ms(word.end), ms(cue.end)), start)
            edges += [(start, k), (t, None)]
        edges.append((ms(cue.end), None))
        for (start, k), (end, _) in zip(edges, edges[1:], strict=False):
            if end > start:
                subs.append(pysubs2.SSAEvent(start=start, end=end, text=_lit_line(tokens, k, lit), style=style))
    return subs


def write_ass(cues: list[Cue], preset: Preset, style: CaptionStyle, path: Path,
              second: list[Cue] | None = None, highlight: bool = False, faces=None,
              shots: list[tuple] = (), area: Box | None = None) -> tuple[list, list[str]]:
    """Burn-in captions for one frame size; ``second`` (a translation) goes smaller, under the first;
    ``highlight`` lights up the word being said. With ``faces`` (:func:`pipeline.placement.face_spans`)
    each cue goes where it covers no face: at the bottom, else at the top, else beside the face, inside ``area``
    (default: the safe area), and keeps that place for the rest of its shot (``shots``: (start, end) of each cut)
    unless the face moves into it (:func:`pipeline.placement.held_spots`).

    Returns (where each cue is: (start, end, box) in output pixels, warnings about cues that cover a face).
    """
    subs = pysubs2.SSAFile()
    boxes, warnings = [], []
    w, h = preset.width, preset.height
    pad = style.size / 6 if style.boxed else style.size / 12
    bands = []
    for cue in cues:
        cap_h = len(cue.lines) * style.size * 1.25 + 2 * pad
        cap_w = min(w - 2 * style.margin_h, max(len(line) for line in cue.lines) * style.size * 0.6 + 2 * pad)
        bands.append((cap_h, (w - cap_w) / 2, (w + cap_w) / 2, cue.start, cue.end))
    spots = held_spots(bands, faces, preset, list(shots), area) if faces and not second else [False] * len(cues)
    for cue, (cap_h, x0, x1, _, _), spot in zip(cues, bands, spots, strict=True):
        events = (highlight_events([cue], accent=style.accent) if highlight else to_ssa([cue])).events
        y = h - style.margin_v - cap_h
        if spot is None:
            warnings.append(f"caption at {float(cue.start):.1f} s {COVERS_FACE}: no free band in the safe "
                            f"area ({cue.text})")
        elif spot and spot[1] != y:
            end, y = spot
            for ev in events:
                if end == "top":
                    ev.text = "{\\an8}" + ev.text
                    ev.marginv = round(y)
                else:
                    ev.marginv = round(h - y - cap_h)
        boxes.append((cue.start, cue.end, (x0, y, x1, y + cap_h)))
        subs.events.extend(events)
    subs.info["PlayResX"] = str(preset.width)
    subs.info["PlayResY"] = str(preset.height)
    subs.info["WrapStyle"] = "2"  # we break lines ourselves
    subs.info["ScaledBorderAndShadow"] = "yes"
    base = pysubs2.SSAStyle(
        fontname=style.font, fontsize=style.size, bold=True,
        # with a box (border style 3) libass fills the box with the outline colour
        primarycolor=pysubs2.Color(*style.text, 0),
        outlinecolor=pysubs2.Color(0, 0, 0, style.box_alpha if style.boxed else 0),
        backcolor=pysubs2.Color(0, 0, 0, style.box_alpha),
        borderstyle=3 if style.boxed else 1, outline=max(2, style.size // 12) if not style.boxed else style.size // 6,
        shadow=0, alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginl=style.margin_h, marginr=style.margin_h, marginv=style.margin_v,
    )
    subs.styles["Default"] = base
    if second:
        lower = base.copy()
        lower.fontsize = round(style.size * 0.75)
        lower.bold = False
        lower.primarycolor = pysubs2.Color(255, 230, 120, 0)
        subs.styles["Translation"] = lower
        top = base.copy()
        top.marginv = style.margin_v + round(style.size * 0.75 * 2.6)
        subs.styles["Default"] = top
        for ev in to_ssa(second, "Translation").events:
            subs.append(ev)
    write_text_atomic(path, subs.to_string("ass"))
    return boxes, warnings


@dataclass
class CaptionTrack:
    """Captions made for one output."""

    preset: Preset
    tracks: dict[str, list[Cue]]  #: language tag -> cues (the first is the spoken language)
    burn_in: Path | None  #: ASS file to burn, if this channel burns captions
    sidecar_formats: tuple[str, ...]  #: formats to write beside the video
    rules: CaptionRules
    warnings: tuple[str, ...] = ()  #: cues that read too fast, burned cues that cover a face
    placed: tuple = ()  #: where each burned cue is: (start, end, box in output pixels)

    def signature(self) -> str:
        """What these captions are, for the output's plan: cue times and text of every track, and the formats.
        (The burned ASS file is in the plan by content.)"""
        cues = [[lang, [[str(c.start), str(c.end), list(c.lines)] for c in cues]] for lang, cues in self.tracks.items()]
        text = repr([cues, list(self.sidecar_formats)])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def burned_language(self) -> str:
        """Language tag of the captions burned into the picture ('' when none are)."""
        return next(iter(self.tracks)) if self.burn_in is not None else ""

    def write_sidecars(self, out_dir: Path) -> dict[str, str]:
        """Write ``<channel>.<lang>.<fmt>`` files (and the web HTML snippet); return the files as manifest extras."""
        extras: dict[str, str] = {}
        for lang, cues in self.tracks.items():
            if not cues:
                continue  # nothing said (a clip without sound): no empty caption files to upload
            for fmt in self.sidecar_formats:
                path = out_dir / f"{self.preset.name}.{lang}.{fmt}"
                write_format(cues, fmt, path)
                extras[f"captions.{lang}.{fmt}"] = path.name
        if self.preset.name == "web" and "vtt" in self.sidecar_formats and extras:
            page = out_dir / "web.html"
            write_text_atomic(page, web_snippet(self))
            extras["html"] = page.name
        return extras


def web_snippet(track: CaptionTrack) -> str:
    """A <video> element for the career page, with a captions <track> per language."""
    return web_page(track.preset, [lang for lang, cues in track.tracks.items() if cues] or list(track.tracks))


#: The career page's "Synstolking" switch: the described version at the same moment of the film (a time of
#: the original is later in the described version by the holds before it; in a hold, back at its place), its
#: playing state and caption language kept, each caption track moved to the described version's own.
SWITCH_SCRIPT = """(function () {
  var root = document.currentScript.parentNode, v = root.querySelector("video");
  var b = root.querySelector("button[aria-pressed]"), holds = JSON.parse(v.getAttribute("data-holds") || "[]");
  function described(t) { var d = t; holds.forEach(function (h) { if (h[0] < t) { d += h[1]; } }); return d; }
  function original(d) {
    var before = 0;
    for (var i = 0; i < holds.length; i++) {
      var start = holds[i][0] + before;
      if (d < start) { break; }
      if (d < start + holds[i][1]) { return holds[i][0]; }
      before += holds[i][1];
    }
    return d - before;
  }
  b.addEventListener("click", function () {
    var on = b.getAttribute("aria-pressed") !== "true", t = v.currentTime, playing = !v.paused && !v.ended;
    var tracks = Array.prototype.slice.call(v.querySelectorAll("track"));
    var modes = tracks.map(function (tr) { return tr.track.mode; });
    b.setAttribute("aria-pressed", on ? "true" : "false");
    v.addEventListener("loadedmetadata", function () {
      v.currentTime = on ? described(t) : original(t);
      tracks.forEach(function (tr, i) { tr.track.mode = modes[i]; });
      if (playing) { v.play(); }
    }, {once: true});
    v.src = v.getAttribute(on ? "data-described" : "data-original");
    tracks.forEach(function (tr) {
      var src = tr.getAttribute(on ? "data-described" : "data-original");
      if (src) { tr.src = src; }
    });
  });
})();
"""


def web_page(preset: Preset, langs: list[str], *, described: str | None = None,
             described_captions: dict[str, str] | None = None, descriptions: str | None = None,
             described_descriptions: str | None = None, holds: list[tuple[float, float]] = ()) -> str:
    """The career page's <video>: a captions <track> per language; where the output has a described version
    (synstolking, WCAG 1.2.5), a "Synstolking" switch to it (a <button aria-pressed>, :data:`SWITCH_SCRIPT`)
    and a ``kind="descriptions"`` track for each video on its own timeline (``descriptions`` for the original,
    ``described_descriptions`` for the described version; the switch changes one for the other, as it does
    the captions). ``holds`` are (at, seconds) on the original's timeline."""
    name = preset.name
    labels = {"nb": "Norsk", "nn": "Nynorsk", "en": "English"}
    video = f"{name}.{preset.extension}"
    rows = []
    for i, lang in enumerate(langs):
        default = " default" if i == 0 else ""
        src = f"{name}.{lang}.vtt"
        swap = ""
        if described:
            other = (described_captions or {}).get(lang, src)
            swap = f' data-original="{html.escape(src)}" data-described="{html.escape(other)}"'
        rows.append(f'  <track kind="captions" src="{html.escape(src)}" srclang="{html.escape(lang)}" '
                    f'label="{html.escape(labels.get(lang, lang))}"{default}{swap}>')
    if descriptions:
        lang = descriptions.split(".")[-3] if descriptions.count(".") >= 3 else "nb"
        swap = ""
        if described and described_descriptions:
            swap = (f' data-original="{html.escape(descriptions)}"'
                    f' data-described="{html.escape(described_descriptions)}"')
        rows.append(f'  <track kind="descriptions" src="{html.escape(descriptions)}" srclang="{html.escape(lang)}" '
                    f'label="Synstolking"{swap}>')
    poster = f' poster="{name}.poster.jpg"' if preset.poster else ""
    data = ""
    if described:
        spans = json.dumps([[round(float(a), 3), round(float(n), 3)] for a, n in sorted(holds)])
        data = (f' data-original="{html.escape(video)}" data-described="{html.escape(described)}"'
                f' data-holds="{html.escape(spans)}"')
    element = (f'<video controls preload="metadata" width="{preset.width}" height="{preset.height}"'
               f'{poster}{data}>\n  <source src="{html.escape(video)}" type="video/mp4">\n'
               + "\n".join(rows) + "\n</video>\n")
    if not described:
        return element
    return ('<div class="rekrutt-video">\n' + element
            + '<button type="button" aria-pressed="false" title="Synstolket versjon: en stemme leser det filmen '
              'viser av tekst">Synstolking</button>\n<script>\n' + SWITCH_SCRIPT + "</script>\n</div>\n")


class CaptionMaker:
    """Transcripts for a campaign's clips, and caption tracks for each of its outputs."""

    def __init__(self, campaign: Campaign, work: Path, transcriber: Transcriber | None = None,
                 cache: Cache | None = None):
        self.campaign = campaign
        self.work = work
        self.options = campaign.spec.subtitles
        self.transcriber = transcriber or Transcriber(cache or Cache(), self.options.model)
        self.transcripts: dict[str, dict[str, Transcript]] = {}  #: lang tag -> clip id -> transcript
        self._warn_lock = threading.Lock()
        self._cues: dict[tuple, dict[str, list[Cue]]] = {}

    def _clip_ids(self) -> list[str]:
        seen: list[str] = []
        for item in self.campaign.spec.sequence:
            if isinstance(item, ClipItem) and item.clip not in seen:
                seen.append(item.clip)
        return seen

    def prepare(self) -> PrepareResult:
        """Get every clip's transcript (and translations) once, from the cache where possible.

        Returns what it took; the runner decides what to announce.
        """
        spec = self.campaign.spec
        main_lang = file_language(spec.language)
        self.transcripts = {main_lang: {}}
        for lang in self.options.translate:
            self.transcripts.setdefault(file_language(lang), {})
        calls_before = self.transcriber.model_calls
        for clip_id in self._clip_ids():
            source = self.campaign.clip_source(clip_id)
            language = self.campaign.clip_language(clip_id)
            self.transcripts[main_lang][clip_id] = clip_transcript(self.campaign, clip_id, self.transcriber)
            for lang in self.options.translate:
                self.transcripts[file_language(lang)][clip_id] = self.transcriber.transcribe(
                    source, language, task="translate", glossary=tuple(self.options.glossary))
        return PrepareResult(len(self._clip_ids()), self.transcriber.model_calls - calls_before)

    def _tracks(self, timeline: Timeline, rules: CaptionRules, glossary: tuple[str, ...]) -> dict[str, list[Cue]]:
        # channels that share a frame rate and rules share their cues: made once
        key = (timeline.rate, tuple((s.clip_id, s.source_in, s.frame_count, s.start)
                                    for s in timeline.clip_segments()), rules, glossary)
        with self._warn_lock:
            tracks = self._cues.get(key)
        if tracks is None:
            tracks = {lang: cues_for_timeline(timeline, by_clip, rules, glossary)
                      for lang, by_clip in self.transcripts.items()}
            with self._warn_lock:
                self._cues[key] = tracks
        return tracks

    def for_output(self, job: OutputSpec, work: Path | None = None, faces=None) -> CaptionTrack:
        """Cues on the output's timeline, and the ASS file to burn if the channel burns captions.

        Sidecar files follow the standard rules; burned captions follow the channel's caption style
        (social and highlight: one short line, larger type, same reading-speed limit and word bonds).
        """
        preset, timeline = job.preset, job.timeline
        face, look = self.campaign.brand.typeface, CaptionLook.of(self.campaign.brand)
        area = text_area(preset, picture_spans(job.edition, timeline, preset, job.shown_fits()))
        style = caption_style(preset, face=face, look=look, area=area)
        rules = CaptionRules.for_rate(timeline.rate, style.max_chars)
        people = (self.campaign.clip_person(cid)[0] for cid in self.campaign.spec.clips)
        glossary = tuple(self.options.glossary) + tuple(p for p in people if p)
        tracks = self._tracks(timeline, rules, glossary)
        burned_tracks, burned_rules = tracks, rules
        if preset.caption_style != "standard":
            style = caption_style(preset, social=True, face=face, look=look, area=area)
            burned_rules = social_rules(timeline.rate, style.max_chars)
            burned_tracks = self._tracks(timeline, burned_rules, glossary)
        report = check(next(iter(burned_tracks.values())), burned_rules)
        # kept with the output (its manifest, the review page); the runner says how many, once per render
        warnings = [f"{FAST_CAPTION} ({cps:.1f} characters/s > {float(rules.max_cps):g}): {text}"
                    for text, cps in report.fast]
        burn, sidecar = self.options.delivery(preset.captions)
        ass = None
        if burn and any(burned_tracks.values()):
            ass = (work or self.work) / f"captions-{preset.name}.ass"
            langs = list(burned_tracks)
            second = burned_tracks[langs[1]] if self.options.burn_translation and len(langs) > 1 else None
            placed, moved = write_ass(burned_tracks[langs[0]], preset, style, ass, second,
                                      highlight=preset.caption_style == "highlight", faces=faces,
                                      shots=[(s.start, s.end) for s in timeline.clip_segments()], area=area)
            warnings += moved
        formats = tuple(self.options.sidecar) if sidecar else ()
        return CaptionTrack(preset, tracks, ass, formats, rules, tuple(warnings), tuple(placed) if ass else ())


@dataclass(frozen=True)
class PrepareResult:
    """What getting a campaign's transcripts took."""

    clips: int  #: clips with speech captions
    model_runs: int  #: times the speech model ran (0: everything came from the cache)
    notes: list[str] = field(default_factory=list)
