"""Cutaways (B-roll) and split edits: checked against the spec and the media, placed by the words they cover.

``cutaways:`` on a sequence item shows other clips' pictures over its sound. A cutaway ``during:`` words is
found in the item's clip transcript as a quote is (the corrected one where it exists, else Whisper's; a
wording of Whisper's is carried through the correction's word mapping), so it covers the same words after
a caption correction and moves with the cut. :func:`resolve_cutaways` fills each one's ``at``/``for`` (the
first word's start and the covered words' length, in the item's own time); :mod:`pipeline.cutaway` puts
them on each output's frame grid and :mod:`pipeline.render` lays the picture over the item's.

Every problem is a spec problem with the key's file:line: an unknown clip, a cutaway longer than its
source, words that are not said inside the item, a split edit with nothing to split from.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from .edit import ClipText, closest, find, find_through
from .errors import SpecProblem
from .problems import did_you_mean
from .reframe import analyse, crop_path, crop_x_expression, cut_crop_keys, needs_reframing, vertical_window
from .spec import ClipItem
from .yamlpos import Loc

__all__ = ["check_item", "clips_of", "cutaway_crops", "resolve_cutaways", "sequences", "straps_off_cutaways"]

#: Slack allowed past a source's end (a probe's duration is rounded).
_SLACK = Fraction(1, 100)


def clips_of(item: object) -> list[str]:
    """The clips an item shows: its own and its cutaways'."""
    if not isinstance(item, ClipItem):
        return []
    return [item.clip, *(c.clip for c in item.cutaways)]


def sequences(spec) -> list[tuple[Loc, list]]:
    """(key path, items) of the main sequence and of every version's own."""
    out: list[tuple[Loc, list]] = [(("sequence",), list(spec.sequence))]
    out += [(("versions", name, "sequence"), list(v.sequence)) for name, v in spec.versions.items() if v.sequence]
    return out


def check_item(c, at: Loc, item: ClipItem, spec, media: dict) -> None:
    """What can be checked of an item's cutaways before the words are found: their clips, and times against
    the cutaway's source (``c`` collects problems: ``c.add(loc, message, hint)``)."""
    for k, cut in enumerate(item.cutaways):
        where = at + ("cutaways", k)
        if cut.clip not in spec.clips:
            c.add(where + ("clip",), f"unknown clip '{cut.clip}' for a cutaway",
                  did_you_mean(cut.clip, list(spec.clips)) or "add it under 'clips:' (a file, or a library clip)")
            continue
        info = media.get(cut.clip)
        if info is None:
            continue
        if cut.start >= info.duration:
            c.add(where + ("from",), f"'from' ({float(cut.start):g} s) is past the end of clip '{cut.clip}' "
                  f"({float(info.duration):.3f} s long)", "use a time inside the cutaway's clip")
        elif cut.length is not None and cut.start + cut.length > info.duration + _SLACK:
            c.add(where + ("for",), _too_long(cut, cut.length, info.duration), _shorter(cut, cut.length,
                                                                                         info.duration))


def _too_long(cut, length: Fraction, duration: Fraction) -> str:
    return (f"the cutaway lasts {float(length):.2f} s from {float(cut.start):g} s, longer than its clip "
            f"'{cut.clip}' ({float(duration):.3f} s long) has from there")


def _shorter(cut, length: Fraction, duration: Fraction) -> str:
    latest = max(Fraction(0), duration - length)
    return f"cover fewer words, or start it earlier in its clip (from: {float(latest):.2f} or less); a cutaway " \
           "is never stretched or looped"


def resolve_cutaways(campaign, transcriber) -> tuple[object, list[SpecProblem]]:
    """The campaign with every ``during:`` cutaway placed (``at``/``for`` filled from the covered words), and
    the problems: words not said inside the item, a cutaway longer than its source, a split edit that has
    no clip before it or no picture to show."""
    spec = campaign.spec
    problems: list[SpecProblem] = []
    texts: dict[str, ClipText] = {}

    def problem(loc: Loc, message: str, hint: str) -> None:
        problems.append(campaign.problem(loc, message, hint))

    def resolved(loc: Loc, items: list) -> list:
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, ClipItem) or item.clip not in campaign.media:
                out.append(item)
                continue
            _check_split(campaign, loc + (i,), item, items[i - 1] if i else None, problem)
            cuts = []
            for k, cut in enumerate(item.cutaways):
                where = loc + (i, "cutaways", k)
                if cut.during is not None:
                    if item.clip not in texts:
                        texts[item.clip] = ClipText(campaign, item.clip, transcriber)
                    cut = _place_words(campaign, item, cut, texts[item.clip], where, problem)
                elif cut.at + cut.length > campaign.item_length(item) + _SLACK:
                    problem(where + ("for",), f"the cutaway runs to {float(cut.at + cut.length):g} s of an item "
                            f"{float(campaign.item_length(item)):.2f} s long", "end it inside its item (at + for)")
                cuts.append(cut)
            out.append(item.model_copy(update={"cutaways": cuts}) if item.cutaways else item)
        return out

    filled = {loc: resolved(loc, items) for loc, items in sequences(spec)}
    versions = {name: v.model_copy(update={"sequence": filled[("versions", name, "sequence")]})
                if v.sequence else v for name, v in spec.versions.items()}
    spec = spec.model_copy(update={"sequence": filled[("sequence",)], "versions": versions})
    transcripts = {**campaign.transcripts, **{cid: t.used for cid, t in texts.items()}}
    return dataclasses.replace(campaign, spec=spec, transcripts=transcripts), problems


def _place_words(campaign, item: ClipItem, cut, text: ClipText, where: Loc, problem):
    """The cutaway with ``at``/``for`` set from the words it covers (or as it was, with a problem added)."""
    transcript = text.used
    found = find(transcript, cut.during)
    if not found and text.corrected:
        whisper, mapping = text.through_correction()
        found = find_through(whisper, transcript, mapping, cut.during)
    start, end = campaign.cut_bounds(item)
    inside = [p for p in found if p.start >= start - _SLACK and p.end <= end + _SLACK]
    if not inside:
        if found:
            problem(where + ("during",), f"'{cut.during}' is said in clip '{item.clip}' at {found[0].label()}, "
                    f"outside this item ({float(start):.2f}–{float(end):.2f} s of the clip)",
                    "a cutaway covers words of its own item: quote words this item says")
        else:
            near = closest(transcript, cut.during)
            problem(where + ("during",), f"'{cut.during}' is not said in clip '{item.clip}'"
                    + (f"; the closest is {near.label()}" if near else ""),
                    "copy the words from: python cli.py transcripts show SPEC --clip " + item.clip)
        return cut
    passage = inside[0]
    at, length = max(Fraction(0), passage.start - start), passage.end - passage.start
    info = campaign.media.get(cut.clip)
    if info is not None and cut.start + length > info.duration + _SLACK:
        problem(where + ("during",), _too_long(cut, length, info.duration), _shorter(cut, length, info.duration))
    return cut.model_copy(update={"at": at, "length": length})


def _check_split(campaign, loc: Loc, item: ClipItem, previous, problem) -> None:
    """``lead``/``tail``: one of them, after a clip item, shorter than the pictures it takes from."""
    if item.lead is None and item.tail is None:
        return
    key = "lead" if item.lead is not None else "tail"
    if item.lead is not None and item.tail is not None:
        problem(loc + ("tail",), "give 'lead' (J-cut) or 'tail' (L-cut), not both", "remove one")
        return
    if not isinstance(previous, ClipItem) or previous.clip not in campaign.media:
        problem(loc + (key,), f"a split edit ('{key}') needs a clip item right before this one",
                "split edits join two clips; after a card, or first in the sequence, remove it")
        return
    start, end = campaign.cut_bounds(item)
    p_start, p_end = campaign.cut_bounds(previous)
    if item.lead is not None:
        room = campaign.media[previous.clip].duration - p_end
        if item.lead >= end - start or item.lead > room + _SLACK:
            problem(loc + ("lead",), f"lead {float(item.lead):g} s: the picture of clip '{previous.clip}' goes on "
                    f"that long after its cut, and it has {float(room):.2f} s more (this item is "
                    f"{float(end - start):.2f} s long)", f"use lead: {float(min(room, end - start) * 9 / 10):.2f} "
                    "or less")
    elif item.tail >= p_end - p_start or item.tail > start + _SLACK:
        problem(loc + ("tail",), f"tail {float(item.tail):g} s: this item's picture starts that long before its cut "
                f"({float(start):.2f} s into clip '{item.clip}'), over the previous item "
                f"({float(p_end - p_start):.2f} s long)",
                f"use tail: {float(min(start, p_end - p_start) * 9 / 10):.2f} or less")


def cutaway_crops(campaign, cache, timeline, preset, fit) -> tuple[tuple[int, int, str | None, str | None], ...]:
    """Each cutaway's fill-crop, reframed as any clip is (its faces followed, or its ``focus:``), where its
    ``fit(clip_id)`` is a crop: (segment index, cutaway index, crop x, crop y expression)."""
    out = []
    for i, seg in enumerate(timeline.segments):
        for k, cut in enumerate(getattr(seg, "cutaways", ())):
            if fit(cut.clip_id) != "crop":
                continue
            duration = cut.duration(timeline.rate)
            if cut.focus is None:
                xkeys, ykeys = cut_crop_keys(campaign, cache, cut.clip_id, cut.source_in, duration, preset.width,
                                             preset.height)
            else:
                info = campaign.media[cut.clip_id]
                xkeys = crop_path(None, cut.source_in, duration, cut.focus) \
                    if needs_reframing(info, preset.width, preset.height) else None
                ykeys = None
                window = vertical_window(info, preset.width, preset.height)
                if window is not None:
                    analysis = analyse(campaign.clip_source(cut.clip_id), info, cache)
                    ykeys = crop_path(analysis, cut.source_in, duration, None, "y", window)
            if xkeys is not None or ykeys is not None:
                out.append((i, k, crop_x_expression(xkeys) if xkeys is not None else None,
                            crop_x_expression(ykeys, "y") if ykeys is not None else None))
    return tuple(out)


def straps_off_cutaways(straps: tuple, timeline) -> tuple:
    """The name straps moved off the cutaways: a strap belongs to the speaker's own picture, so one that a
    cutaway would cover starts where the cutaway ends, shorter where the shot ends sooner (or ends where the
    cutaway starts, when the shot has no 1.5 s after it)."""
    rate = timeline.rate
    covered = [(seg.start + Fraction(c.offset) / rate, seg.start + Fraction(c.offset + c.frame_count) / rate,
                seg.end) for seg in timeline.clip_segments() for c in seg.cutaways]
    out = []
    for strap in straps:
        for a, b, shot_end in covered:
            if strap.start < b and a < strap.start + strap.duration:
                after = min(strap.duration, shot_end - b - Fraction(3, 10))
                if after >= Fraction(3, 2):
                    strap = dataclasses.replace(strap, start=b, duration=after)
                elif a - strap.start >= Fraction(3, 2):
                    strap = dataclasses.replace(strap, duration=a - strap.start)
        out.append(strap)
    return tuple(out)


def cutaway_entries(item, seg) -> dict:
    """The manifest's word of a cut's cutaways (clip, source in, output time and length, the words, sound)
    and split edit (``picture_shift``: seconds the picture's cut lies after the sound's; < 0 an L-cut)."""
    rate, out = seg.rate, {}
    if seg.picture_shift:
        out["picture_shift"] = round(float(Fraction(seg.picture_shift) / rate), 3)
    if seg.cutaways:
        words = {c.clip: c.during for c in getattr(item, "cutaways", ()) if c.during}
        out["cutaways"] = [{"clip": c.clip_id, "from": round(float(c.source_in), 3),
                            "at": round(float(seg.start + Fraction(c.offset) / rate), 3),
                            "duration": round(float(c.duration(rate)), 3), "during": words.get(c.clip_id),
                            "sound": c.gain_db if c.gain_db is not None else "off"} for c in seg.cutaways]
    return out
