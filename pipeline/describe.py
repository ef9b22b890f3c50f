"""Synstolking (audio description, WCAG 2.1 1.2.5): the description script, placed in the pauses of speech.

The script is drafted from what the spec already knows: each person's name and role at their first
appearance (left out where the words of their cut say it themselves), every card's text in speakable
form (an address without ``https://www.``), and the producer's own ``describe:`` text on a sequence item.
Each line goes into a pause of the output's speech (the transcript's word times on its timeline), at
least :data:`CLEAR` seconds clear of speech at both ends, within its item's time (a card line: within the
card's time, and the pauses around it). A line that fits no pause is reported with the time it needs.

:mod:`pipeline.voice` speaks the lines; :func:`described_output` makes ``<channel>.synstolket.<ext>``
from a finished output: the same picture stream copied (not encoded again: same pictures, captions
burned in, no generation loss, and seconds instead of a render), and a new sound track (the original
mix ducked under the description voice, brought to the channel's loudness target again and checked).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pysubs2

from . import voice as tts
from .campaign import Campaign, OutputKey
from .captions import words_in_cut
from .channels import Preset
from .errors import RenderError
from .ffmpeg import FfmpegCommand, run_command
from .files import atomic_path, sha256_file, write_text_atomic
from .job import OutputSpec, output_spec
from .loudness import parse_ebur128, verify_command
from .spec import ClipItem
from .timecode import Time
from .timeline import CardSegment, ClipSegment, Timeline
from .transcribe import Transcript, whisper_language
from .transcripts import clip_transcript
from .yamlpos import Loc

log = logging.getLogger("rekrutt")

#: Seconds a description keeps clear of speech at both ends.
CLEAR = Fraction(1, 4)
#: Seconds between two description lines.
BETWEEN = Fraction(3, 10)
#: Seconds over which the original sound goes down under a line, and up after it.
RAMP = 0.2
#: Folder beside the spec whose ``<line id>.wav`` recordings replace the synthetic voice.
RECORDINGS = "descriptions"


@dataclass(frozen=True)
class Line:
    """One line of the description script, before it is placed."""

    id: str  #: a slug, the name of its recording (descriptions/<id>.wav)
    text: str
    kind: str  #: "person", "card" or "describe"
    loc: Loc  #: where the spec says it (for file:line)
    window: tuple[Time, Time]  #: the time of its item on the output timeline
    card: bool = False  #: over a card (no speech): may use the pauses around the card


@dataclass(frozen=True)
class Placed:
    """A line in its pause: where it starts and ends, the slot it may use, and whether it fits."""

    line: Line
    start: Time
    length: Time  #: seconds of its voice (0 when not spoken yet)
    slot: Time  #: the longest it may be where it goes
    fits: bool
    recorded: bool = False

    @property
    def end(self) -> Time:
        return self.start + self.length

    def as_dict(self) -> dict:
        return {"id": self.line.id, "start": round(float(self.start), 3), "end": round(float(self.end), 3),
                "text": self.line.text, "kind": self.line.kind, "recorded": self.recorded}


# --------------------------------------------------------------------------- the script

def speakable_link(url: str) -> str:
    """An address as it is said: ``https://www.fjordvik.kommune.no/jobb/`` -> ``fjordvik.kommune.no/jobb``."""
    text = re.sub(r"^[a-z]+://", "", url.strip(), flags=re.I)
    text = re.sub(r"^www\.", "", text, flags=re.I)
    return text.split("?")[0].split("#")[0].rstrip("/")


def card_text(card) -> str:
    """Everything a card shows, as one spoken line: its lines, subline and address."""
    parts = [*card.lines, *([card.subline] if card.subline else []), *([speakable_link(card.url)] if card.url else [])]
    return " ".join(p if re.search(r"[.!?…:]$", p) else p + "." for p in parts)


def slugify(text: str) -> str:
    """A line id's part: lower case a-z, 0-9 and dashes (æ, ø, å as ae, o, a)."""
    text = text.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "x"


def _norm(word: str) -> str:
    return re.sub(r"[^\w]", "", word.lower())


def said(words: list[str], phrase: str) -> bool:
    """Whether every word of ``phrase`` is among ``words`` (case and punctuation ignored)."""
    spoken = {_norm(w) for w in words}
    wanted = [_norm(w) for w in phrase.split() if _norm(w)]
    return bool(wanted) and all(w in spoken for w in wanted)


def _item_loc(campaign: Campaign, item, index: int) -> Loc:
    """The key path of a sequence item with a ``describe:``: in the version's own sequence, else the main one."""
    data = campaign.located.data if campaign.located is not None else {}
    places: list[tuple[Loc, list]] = []
    if campaign.version and isinstance(data.get("versions", {}).get(campaign.version), dict):
        places.append((("versions", campaign.version, "sequence"),
                       data["versions"][campaign.version].get("sequence") or []))
    places.append((("sequence",), data.get("sequence") or []))
    for prefix, seq in places:
        for i, raw in enumerate(seq):
            if isinstance(raw, dict) and raw.get("describe") == item.describe:
                return prefix + (i, "describe")
    return ("sequence", index, "describe")


def script(campaign: Campaign, timeline: Timeline, transcripts: dict[str, Transcript],
           channel: str | None = None) -> list[Line]:
    """The description lines of one output, in playing order (see the module's note)."""
    items = campaign.sequence_for(channel)
    lines: list[Line] = []
    seen_people: set[str] = set()
    ids: set[str] = set()

    def add(ident: str, **kw) -> None:
        base, n = ident, 2
        while ident in ids:
            ident, n = f"{base}-{n}", n + 1
        ids.add(ident)
        lines.append(Line(ident, **kw))

    for index, (item, seg) in enumerate(zip(items, timeline.segments, strict=True)):
        window = (seg.start, seg.end)
        if isinstance(seg, ClipSegment) and isinstance(item, ClipItem):
            person, role = campaign.clip_person(seg.clip_id)
            if person and person not in seen_people and campaign.spec.lower_thirds:
                seen_people.add(person)
                transcript = transcripts.get(seg.clip_id)
                words = [w.text for w in words_in_cut(transcript, seg)] if transcript else []
                first = person.split()[0]
                parts = [] if said(words, first) else [person]
                parts += [p.strip() for p in (role or "").split(",") if p.strip() and not said(words, p)]
                if parts:
                    add(f"{slugify(seg.clip_id)}-navn", text=", ".join(parts) + ".", kind="person",
                        loc=("clips", seg.clip_id, "person"), window=window)
        elif isinstance(seg, CardSegment):
            add(f"kort-{slugify(seg.card_id)}", text=card_text(seg.card), kind="card",
                loc=_card_loc(campaign, seg.card_id), window=window, card=True)
        if getattr(item, "describe", None):
            add(f"{index + 1:02d}-{slugify(getattr(item, 'clip', None) or getattr(item, 'card', ''))}",
                text=item.describe.strip(), kind="describe", loc=_item_loc(campaign, item, index),
                window=window, card=isinstance(seg, CardSegment))
    return lines


def _card_loc(campaign: Campaign, card_id: str) -> Loc:
    data = campaign.located.data if campaign.located is not None else {}
    if campaign.version and card_id in ((data.get("versions") or {}).get(campaign.version) or {}).get("cards", {}):
        return ("versions", campaign.version, "cards", card_id, "lines")
    return ("cards", card_id, "lines")


# --------------------------------------------------------------------------- the pauses

def speech(timeline: Timeline, transcripts: dict[str, Transcript]) -> list[tuple[Time, Time]]:
    """Where words are spoken on the output timeline, in order."""
    out = []
    for seg in timeline.clip_segments():
        transcript = transcripts.get(seg.clip_id)
        if transcript is None:
            out.append((seg.start, seg.end))  # no transcript: the whole cut counts as speech
            continue
        out += [(w.start, w.end) for w in words_in_cut(transcript, seg)]
    return sorted(out)


def pauses(duration: Time, busy: list[tuple[Time, Time]], clear: Time = CLEAR) -> list[tuple[Time, Time]]:
    """The stretches of ``[0, duration]`` at least ``clear`` away from every busy interval."""
    free: list[tuple[Time, Time]] = []
    at = Fraction(0)
    for s, e in sorted(busy):
        lo, hi = s - clear, e + clear
        if lo > at:
            free.append((at, lo))
        at = max(at, hi)
    if at < duration:
        free.append((at, duration))
    return [(a, b) for a, b in free if b > a]


def place(lines: list[Line], lengths: dict[str, Time], timeline: Timeline, transcripts: dict[str, Transcript],
          recorded: set[str] = frozenset()) -> list[Placed]:
    """Each line in the first pause of its item's time that holds it (in order; lines do not overlap)."""
    talk = speech(timeline, transcripts)
    placed: list[Placed] = []
    taken: list[tuple[Time, Time]] = []
    for line in lines:
        length = lengths.get(line.id, Fraction(0))
        lo, hi = line.window
        free = pauses(timeline.duration, talk + [(a - BETWEEN + CLEAR, b + BETWEEN - CLEAR) for a, b in taken])
        best: Placed | None = None
        biggest = (Fraction(0), lo)
        for a, b in free:
            if b <= lo or a >= hi:  # not within the item's time
                continue
            start = max(a, lo)
            end = b if line.card else min(b, hi)
            slot = end - start
            if slot > biggest[0]:
                biggest = (slot, start)
            if length and slot >= length:
                best = Placed(line, start, length, slot, True, line.id in recorded)
                break
        if best is None:
            best = Placed(line, biggest[1], length, biggest[0], not length and biggest[0] > 0, line.id in recorded)
        placed.append(best)
        if best.fits and length:
            taken.append((best.start, best.end))
    return placed


# --------------------------------------------------------------------------- the voice

def voice_of(campaign: Campaign) -> tts.Voice:
    """The description voice: the spec's, else the brand's."""
    s, b = campaign.spec.synstolking, campaign.brand.spec.synstolking
    if s.voice is not None and not isinstance(s.voice, str):
        return tts.Voice(command=s.voice.command, rate=s.rate or b.rate)
    return tts.Voice(name=s.voice or b.voice, rate=s.rate or b.rate)


def recording(campaign: Campaign, line_id: str) -> Path:
    return campaign.base_dir / RECORDINGS / f"{line_id}.wav"


def spoken(campaign: Campaign, lines: list[Line], work: Path | None = None) -> dict[str, np.ndarray]:
    """Each line's voice: its recording where there is one, else the synthetic voice."""
    v = voice_of(campaign)
    return {line.id: tts.speak(line.text, v, recording(campaign, line.id), work) for line in lines}


def described_lines(campaign: Campaign, timeline: Timeline, transcripts: dict[str, Transcript],
                    channel: str | None, work: Path | None = None) -> tuple[list[Placed], dict[str, np.ndarray]]:
    """The output's script, spoken and placed: (placed lines, each line's samples)."""
    lines = script(campaign, timeline, transcripts, channel)
    voices = spoken(campaign, lines, work)
    recorded = {line.id for line in lines if recording(campaign, line.id).is_file()}
    return place(lines, {k: tts.length(v) for k, v in voices.items()}, timeline, transcripts, recorded), voices


def stem(placed: list[Placed], voices: dict[str, np.ndarray], duration: Time, path: Path) -> Path:
    """The description alone (mono, :data:`voice.VOICE_RATE`), each line at its start, silence elsewhere."""
    rate = tts.VOICE_RATE
    out = np.zeros(int(float(duration) * rate) + 1, dtype=np.int16)
    for p in placed:
        if not p.fits:
            continue
        samples = voices[p.line.id]
        at = int(float(p.start) * rate)
        n = max(0, min(samples.size, out.size - at))
        out[at:at + n] = samples[:n]
    return tts.write_wav(path, out, rate)


# --------------------------------------------------------------------------- the described output

def described_name(preset: Preset) -> str:
    return f"{preset.name}.synstolket.{preset.extension}"


def _duck_expression(placed: list[Placed], duck_db: float) -> str:
    """A volume expression: 0 dB, down by ``duck_db`` under each line (with ramps of :data:`RAMP` s)."""
    if not placed:
        return "1"
    terms = []
    for p in placed:
        a, b = float(p.start), float(p.end)
        terms.append(f"clip(min((t-{a - RAMP:.3f})/{RAMP},({b + RAMP:.3f}-t)/{RAMP}),0,1)")
    env = terms[0]
    for t in terms[1:]:
        env = f"max({env},{t})"
    return f"pow(10,{duck_db / 20:.4f}*{env})"


def _layout(preset: Preset) -> str:
    return "pan=5.1|FC=c0" if preset.audio_channels == 6 else "pan=stereo|FL=c0|FR=c0"


def _mix_command(original: Path, stem_wav: Path, placed: list[Placed], duck_db: float, voice_gain_db: float,
                 preset: Preset, out: Path) -> FfmpegCommand:
    layout = "5.1" if preset.audio_channels == 6 else "stereo"
    graph = (f"[0:a]aformat=sample_fmts=fltp:sample_rates={preset.sample_rate}:channel_layouts={layout},"
             f"volume='{_duck_expression([p for p in placed if p.fits], duck_db)}':eval=frame[orig];"
             f"[1:a]aresample={preset.sample_rate},{_layout(preset)},aformat=sample_fmts=fltp:channel_layouts="
             f"{layout},volume={voice_gain_db:.2f}dB[voice];"
             "[orig][voice]amix=inputs=2:duration=first:normalize=0[mix]")
    return FfmpegCommand(["-y", "-i", str(original), "-i", str(stem_wav), "-/filter_complex",
                          FfmpegCommand.SCRIPT, "-map", "[mix]", "-c:a", "pcm_f32le", str(out)],
                         filter_script=graph, outputs=[out])


def _final_command(original: Path, mix: Path, gain_db: float, preset: Preset, duration: Time,
                   out: Path, margin: float = 0.5) -> FfmpegCommand:
    ceiling = 10 ** ((preset.true_peak_dbtp - margin) / 20)
    samples = int(duration * preset.sample_rate + Fraction(1, 2))
    graph = (f"[1:a]volume={gain_db:.2f}dB,aresample=192000,alimiter=limit={ceiling:.5f}:attack=1:release=60:"
             f"level=0:latency=1,aresample={preset.sample_rate},asetpts=N/SR/TB,apad,atrim=end_sample={samples}[a]")
    args = ["-y", "-i", str(original), "-i", str(mix), "-/filter_complex", FfmpegCommand.SCRIPT,
            "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", preset.audio_codec, "-ar", str(preset.sample_rate),
            "-ac", str(preset.audio_channels)]
    if preset.audio_kbps:
        args += ["-b:a", f"{preset.audio_kbps}k"]
    args += ["-metadata", "title=Synstolket versjon", "-metadata:s:a:0", "language=nor",
             "-metadata:s:a:0", "title=Lyd med synstolking"]
    if preset.extension == "mp4":
        args += ["-movflags", "+faststart"]
    args += ["-f", {"mp4": "mp4", "mov": "mov"}.get(preset.extension, preset.extension), str(out)]
    return FfmpegCommand(args, filter_script=graph, outputs=[out])


def _loudness(path: Path, work: Path, what: str):
    return parse_ebur128(run_command(verify_command(path), work, what=what))


def write_vtt(placed: list[Placed], path: Path) -> Path:
    """A WebVTT ``kind="descriptions"`` track: one cue per spoken line."""
    subs = pysubs2.SSAFile()
    for p in placed:
        if p.fits:
            subs.append(pysubs2.SSAEvent(start=int(float(p.start) * 1000), end=int(float(p.end) * 1000),
                                         text=p.line.text))
    write_text_atomic(path, subs.to_string("vtt"))
    return path


def key_of(campaign: Campaign, placed: list[Placed], source_sha: str, preset: Preset) -> str:
    """What a described version is made from: the output, the placed lines, the voice and its recordings."""
    recs = {p.line.id: sha256_file(recording(campaign, p.line.id)) for p in placed if p.recorded}
    data = {"source": source_sha, "lines": [p.as_dict() for p in placed if p.fits], "voice": str(voice_of(campaign)),
            "duck": campaign.spec.synstolking.duck, "recorded": recs, "preset": preset.name, "v": 1}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def described_output(campaign: Campaign, preset: Preset, timeline: Timeline, record, transcripts: dict,
                     work: Path, *, force: bool = False):
    """The described version of a finished output (see the module's note), with its VTT on web; returns the
    output's record with the described files and the description lines (on the output's timeline) added.
    Left as it is where the channel's mode is not ``version`` or the file is a draft."""
    mode = campaign.spec.synstolking.mode_for(preset.name)
    if mode != "version" or campaign.draft:
        return record
    out_dir = campaign.out_dir
    placed, voices = described_lines(campaign, timeline, transcripts, preset.name, work)
    for p in placed:
        if not p.fits:
            log.warning("%s: the description line '%s' (%.1f s) fits no pause (the longest there is %.1f s); "
                        "it is left out of the described version", preset.name, p.line.id, float(p.length),
                        float(p.slot))
    key = key_of(campaign, placed, record.sha256, preset)
    final = out_dir / described_name(preset)
    extras = dict(record.extras)
    lines = [p.as_dict() for p in placed if p.fits]
    if not force and record.extras.get("described_key") == key and final.is_file():
        return record
    stem_wav = stem(placed, voices, timeline.duration, work / "description-stem.wav")
    original = out_dir / record.path
    voice_level = _loudness(stem_wav, work, f"description voice ({preset.name})").integrated
    voice_gain = (record.loudness_lufs - voice_level) if lines and voice_level > -70 else 0.0
    mix = work / "described-mix.wav"
    run_command(_mix_command(original, stem_wav, placed, campaign.spec.synstolking.duck, voice_gain, preset, mix),
                work, what=f"described sound ({preset.name})")
    measured = _loudness(mix, work, f"described sound loudness ({preset.name})")
    gain = preset.loudness_lufs - measured.integrated
    with atomic_path(final) as tmp:
        for margin in (0.5, 1.5):
            run_command(_final_command(original, mix, gain, preset, timeline.duration, tmp, margin), work,
                        what=f"described version ({preset.name})")
            verified = _loudness(tmp, work, f"described version loudness ({preset.name})")
            if verified.true_peak <= preset.true_peak_dbtp + 0.05:
                break
        else:
            raise RenderError(f"{preset.name}: the described version's true peak is {verified.true_peak:.2f} dBTP, "
                              f"over the {preset.true_peak_dbtp:g} dBTP ceiling")
    extras.update({"described": final.name, "described_key": key})
    if preset.name == "web":
        vtt = write_vtt(placed, out_dir / f"{preset.name}.{_tag(campaign.spec.language)}.descriptions.vtt")
        extras["descriptions_vtt"] = vtt.name
    _add_to_publish_sheet(out_dir, preset, final.name, extras.get("descriptions_vtt"))
    log.info("%s: described version %s (%d line(s), %.1f LUFS)", preset.name, final.name, len(lines),
             verified.integrated)
    return dataclasses.replace(record, extras=extras, descriptions=lines,
                               described_loudness_lufs=verified.integrated)


def _tag(code: str) -> str:
    """The language tag of file names (as the captions' files: Norwegian bokmål is ``nb``)."""
    lang = whisper_language(code)
    return {"no": "nb"}.get(lang, lang)


def _add_to_publish_sheet(out_dir: Path, preset: Preset, video: str, vtt: str | None) -> None:
    sheet = out_dir / f"{preset.name}.publish.md"
    if not sheet.is_file():
        return
    text = sheet.read_text(encoding="utf-8")
    line = (f"- Synstolket versjon (WCAG 1.2.5): `{video}` — post it as well, as its own video titled "
            "\"… (synstolket)\", or as the platform's audio description track where it takes one; link to it from "
            "the original's description.")
    if vtt:
        line += f" On the web page, add `{vtt}` as `<track kind=\"descriptions\" srclang=\"nb\">`."
    if line not in text:
        head, sep, rest = text.partition("\n## Description")
        write_text_atomic(sheet, head.rstrip("\n") + "\n" + line + "\n" + sep + rest)


def transcripts_of(campaign: Campaign, captions=None) -> dict[str, Transcript]:
    """The clips' transcripts in the campaign's language: the caption maker's (every clip), else those
    the quotes were found in."""
    if captions is not None and captions.transcripts:
        return dict(next(iter(captions.transcripts.values())))
    return dict(campaign.transcripts)


def describe_output(output: OutputSpec, work: Path, record, captions=None, *, force: bool = False):
    """:func:`described_output` for one planned output, with the transcripts its captions were made from."""
    return described_output(output.edition, output.preset, output.timeline, record,
                            transcripts_of(output.edition, captions), work, force=force)


# --------------------------------------------------------------------------- checks (validate)

@dataclass(frozen=True)
class Finding:
    """Something about the description that validate reports: where, what, and what to do."""

    loc: Loc
    message: str
    hint: str = ""
    problem: bool = False  #: stops the render (else a warning)


def outputs_described(campaign: Campaign):
    """Every (edition, channel) of the run (:meth:`Campaign.outputs`, the one place that decides it)
    whose mode is ``version``."""
    for key in campaign.outputs():
        if campaign.spec.synstolking.mode_for(key.channel) == "version":
            yield (campaign.for_version(key.version) if key.version else campaign), key.channel


def check(campaign: Campaign, transcripts: dict[str, Transcript], timeline_for) -> list[Finding]:
    """What ``validate`` says of the description: unknown channels and voice, a line that fits no pause
    (with the time it needs and the longest pause there is), a recording longer than its slot, and a
    recording in descriptions/ that no line has. ``timeline_for(edition, channel)`` lays an output out."""
    syn = campaign.spec.synstolking
    found: list[Finding] = []
    known = campaign.all_channels
    for name in syn.channels:
        if name not in known:
            found.append(Finding(("synstolking", "channels", name), f"'{name}' is not a channel of this campaign",
                                 "the spec's channels: " + ", ".join(sorted(known)), problem=True))
    if syn.voice is not None and isinstance(syn.voice, str):
        try:
            tts.espeak_samples("ja", syn.voice, 175)
        except Exception as exc:  # InputError: no such voice; RenderError: no engine
            found.append(Finding(("synstolking", "voice"), str(exc), "voice: nb", problem=True))
            return found
    seen: dict[tuple[str, str], list[str]] = {}
    ids: set[str] = set()
    facts: dict[tuple[str, str], tuple[Placed, str]] = {}
    for edition, channel in outputs_described(campaign):
        timeline = timeline_for(edition, channel)
        placed, _ = described_lines(edition, timeline, transcripts, channel)
        for p in placed:
            ids.add(p.line.id)
            if p.fits:
                continue
            what = (edition.label, p.line.id)
            seen.setdefault(what, []).append(channel)
            facts.setdefault(what, (p, edition.where if hasattr(edition, "where") else edition.label))
    for (label, line_id), chans in seen.items():
        p, _ = facts[(label, line_id)]
        kind = "recorded line" if p.recorded else "description line"
        where = "over the card" if p.line.card else "in this cut"
        found.append(Finding(
            p.line.loc, f"the {kind} '{line_id}' (\"{_short(p.line.text)}\") needs {float(p.length):.1f} s, and the "
            f"longest pause {where} is {float(p.slot):.1f} s ({label}: {', '.join(chans)}); it is left out of the "
            "described version",
            "shorten the text, leave a pause in the cut (pad:, from:/to:), make the card longer (duration:), "
            f"record it faster ({RECORDINGS}/{line_id}.wav), or speak faster (synstolking: rate)"))
    folder = campaign.base_dir / RECORDINGS
    if folder.is_dir():
        for wav in sorted(folder.glob("*.wav")):
            if wav.stem not in ids:
                found.append(Finding(("synstolking",), f"{RECORDINGS}/{wav.name} is the recording of no line",
                                     "name it after a line (python cli.py describe export SPEC lists them)"))
    return found


def _short(text: str, n: int = 50) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def export_rows(campaign: Campaign, transcripts: dict[str, Transcript], timeline_for) -> list[dict]:
    """The description script of every described output: each line's id, text, slot and longest length."""
    rows: list[dict] = []
    for edition, channel in outputs_described(campaign):
        timeline = timeline_for(edition, channel)
        placed, _ = described_lines(edition, timeline, transcripts, channel)
        for p in placed:
            rows.append({"version": edition.version or "main", "channel": channel, "id": p.line.id,
                         "kind": p.line.kind, "text": p.line.text, "start": round(float(p.start), 2),
                         "longest": round(float(p.slot), 2), "needs": round(float(p.length), 2),
                         "fits": p.fits, "recorded": p.recorded,
                         "recording": f"{RECORDINGS}/{p.line.id}.wav"})
    return rows


def all_transcripts(campaign: Campaign, transcriber) -> dict[str, Transcript]:
    """Every clip's transcript that any edition plays (those the quotes were found in, the rest through
    the transcriber and its cache)."""
    clip_ids = {s.clip for e in campaign.editions() for s in e.spec.sequence if isinstance(s, ClipItem)}
    found = dict(campaign.transcripts)
    for clip_id in sorted(clip_ids - set(found)):
        found[clip_id] = clip_transcript(campaign, clip_id, transcriber)
    return found


def timeline_for(edition: Campaign, channel: str) -> Timeline:
    """An output's timeline, as the render lays it out (the output's job, :func:`~pipeline.job.output_spec`)."""
    return output_spec(edition, OutputKey(edition.version, channel)).timeline


def script_markdown(rows: list[dict]) -> str:
    """The description script as a table to read, edit (in the spec) or record from."""
    out = ["# Synstolking: the description script", "",
           "Each line is spoken in a pause of the speech. Record a line as `descriptions/<id>.wav` beside the spec "
           "to replace the synthetic voice (no longer than its longest length). Change a card's or a person's text "
           "in the spec; add your own with `describe:` on a sequence item.", "",
           "| version | channel | id | starts at (s) | longest (s) | synthetic (s) | fits | text |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        out.append(f"| {r['version']} | {r['channel']} | `{r['id']}` | {r['start']:.2f} | {r['longest']:.2f} | "
                   f"{r['needs']:.2f} | {'yes' if r['fits'] else '**no**'}{' (recorded)' if r['recorded'] else ''} "
                   f"| {r['text']} |")
    return "\n".join(out) + "\n"
