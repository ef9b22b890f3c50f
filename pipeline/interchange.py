"""Handing the edit to an editor: OpenTimelineIO, and through its adapters FCPXML, FCP7 XML and EDL.

The edit of one campaign (or version), as one channel plays it, becomes an OTIO timeline:
a video and an audio track with each cut as a clip that references its source file, its in
and out on the source's own frame rate; cards as still-image clips (the card's picture is
written beside the file) on the video track and gaps on the audio track; captions as
markers on the video track; who appears and their consent in the clips' metadata.
The other formats are written by OpenTimelineIO's maintained adapters, never by hand; what
those adapters leave out or get wrong is filled in on their output as data (see
:func:`_fcpxml_completed` and :func:`_edl_completed`), so an editor opens the file as it is.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

from .cache import Cache
from .campaign import Campaign
from .cards import card_png
from .cutaway import placed
from .errors import InputError
from .files import atomic_path, refuse_links
from .job import OutputSpec
from .timeline import CardSegment, ClipSegment, Timeline

#: Formats by name: (OTIO adapter, file extension).
FORMATS = {
    "otio": ("otio_json", "otio"),
    "fcpxml": ("fcpx_xml", "fcpxml"),
    "xml": ("fcp_xml", "xml"),
    "edl": ("cmx_3600", "edl"),
}


def default_path(version: str, fmt: str) -> Path:
    """Where an edit is written when no file is named: ``<version>.<the format's extension>`` here."""
    return Path(f"{version}.{FORMATS[fmt][1]}")


def _rt(seconds: Fraction, rate: Fraction):
    import opentimelineio as otio

    return otio.opentime.RationalTime(float(seconds * rate), float(rate))


def _range(start: Fraction, duration: Fraction, rate: Fraction):
    import opentimelineio as otio

    return otio.opentime.TimeRange(_rt(start, rate), _rt(duration, rate))


def build(campaign: Campaign, timeline: Timeline, cues=(), card_pictures: dict[str, Path] | None = None,
          size: tuple[int, int] | None = None):
    """The edit as an ``opentimelineio.schema.Timeline`` at the output's frame rate (``size``: the
    output's width and height, for the editors' sequence settings)."""
    import opentimelineio as otio

    rate = timeline.rate
    name = campaign.label
    result = otio.schema.Timeline(name=name, global_start_time=_rt(Fraction(0), rate))
    result.metadata["rekrutt"] = {"campaign": campaign.spec.campaign, "version": campaign.version or "",
                                  "title": campaign.spec.title, "rate": str(rate)}
    if size is not None:
        result.metadata["rekrutt"].update(width=size[0], height=size[1])
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    for seg in timeline.segments:
        if isinstance(seg, ClipSegment):
            info = campaign.media[seg.clip_id]
            source_rate = info.fps or rate
            source = campaign.clip_source(seg.clip_id).resolve()
            person, role = campaign.clip_person(seg.clip_id)
            library = campaign.library.get(seg.clip_id)
            meta = {"clip": seg.clip_id, "person": person or "", "role": role or "",
                    "library_id": library.id if library else "",
                    "consent_expires": (library.meta.consent.expires.isoformat()
                                        if library and library.meta.consent else ""),
                    # the source's sound, for the editors' asset entries (FCPXML hasAudio, channels, rate)
                    "has_audio": bool(info.has_audio), "audio_channels": info.channels or 0,
                    "audio_rate": info.sample_rate or 0}
            for track in (video, audio):
                ref = otio.schema.ExternalReference(
                    target_url=source.as_uri(), available_range=_range(Fraction(0), info.duration, source_rate))
                # the cut's in/out on the source's own rate; its length is the output's frames
                clip = otio.schema.Clip(name=seg.clip_id, media_reference=ref,
                                        source_range=_range(seg.source_in, seg.duration, source_rate))
                clip.metadata["rekrutt"] = dict(meta)
                track.append(clip)
        else:
            assert isinstance(seg, CardSegment)
            picture = (card_pictures or {}).get(seg.card_id)
            if picture is not None:
                ref = otio.schema.ExternalReference(target_url=picture.resolve().as_uri(),
                                                    available_range=_range(Fraction(0), seg.duration, rate))
            else:
                ref = otio.schema.GeneratorReference(generator_kind="SolidColor",
                                                     available_range=_range(Fraction(0), seg.duration, rate),
                                                     parameters={"color": seg.card.background})
            card = otio.schema.Clip(name=f"card {seg.card_id}", media_reference=ref,
                                    source_range=_range(Fraction(0), seg.duration, rate))
            card.metadata["rekrutt"] = {"card": seg.card_id, "lines": list(seg.card.lines),
                                        "subline": seg.card.subline or "", "url": seg.card.url or ""}
            video.append(card)
            audio.append(otio.schema.Gap(source_range=_range(Fraction(0), seg.duration, rate)))
    for cue in cues:
        marker = otio.schema.Marker(name=cue.text, marked_range=_range(cue.start, cue.end - cue.start, rate),
                                    color=otio.schema.MarkerColor.YELLOW)
        marker.metadata["rekrutt"] = {"caption": list(cue.lines)}
        video.markers.append(marker)
    result.tracks.append(video)
    cutaways = _cutaway_track(campaign, timeline)
    if cutaways is not None:
        result.tracks.append(cutaways)
    result.tracks.append(audio)
    return result


def _cutaway_track(campaign: Campaign, timeline: Timeline):
    """V2: each cutaway as a clip of its own source over the cut it covers (gaps between), or None where the
    edit has none. Its own sound is mixed under the voice in the renders; an editor takes it from the clip."""
    import opentimelineio as otio

    rate, at = timeline.rate, Fraction(0)
    track = otio.schema.Track(name="V2", kind=otio.schema.TrackKind.Video)
    for p in placed(timeline):
        cut, seg = p.cutaway, timeline.segments[p.segment]
        if p.record_in > at:
            track.append(otio.schema.Gap(source_range=_range(Fraction(0), p.record_in - at, rate)))
        info = campaign.media[cut.clip_id]
        source_rate = info.fps or rate
        ref = otio.schema.ExternalReference(target_url=campaign.clip_source(cut.clip_id).resolve().as_uri(),
                                            available_range=_range(Fraction(0), info.duration, source_rate))
        clip = otio.schema.Clip(name=cut.clip_id, media_reference=ref,
                                source_range=_range(cut.source_in, cut.duration(rate), source_rate))
        person, role = campaign.clip_person(cut.clip_id)
        library = campaign.library.get(cut.clip_id)
        clip.metadata["rekrutt"] = {
            "clip": cut.clip_id, "cutaway": True, "over": seg.clip_id, "person": person or "", "role": role or "",
            "sound_db": cut.gain_db if cut.gain_db is not None else "off",
            "library_id": library.id if library else "",
            "consent_expires": (library.meta.consent.expires.isoformat() if library and library.meta.consent
                                else "")}
        track.append(clip)
        at = p.record_out(rate)
    return track if len(track) else None


def write(otio_timeline, path: Path, fmt: str) -> None:
    """Write the timeline in a format of :data:`FORMATS`, through OpenTimelineIO's adapter for it."""
    import opentimelineio as otio

    if fmt not in FORMATS:
        raise InputError(f"unknown export format '{fmt}': use one of {', '.join(FORMATS)}")
    adapter, _ = FORMATS[fmt]
    timeline = otio_timeline
    if fmt in ("edl", "fcpxml"):
        # an EDL holds one video track; in Final Cut the clips carry their own sound (a second,
        # connected audio lane reads back a frame short through the adapter)
        timeline = _conformed(otio_timeline, video_only=True)
        if fmt == "edl":
            timeline = _cutaway_notes(timeline)
    elif fmt != "otio":
        timeline = _conformed(otio_timeline)
    if any(isinstance(getattr(c, "media_reference", None), otio.schema.GeneratorReference)
             for c in otio_timeline.find_clips()):
        raise InputError(f"{fmt}: cards need their pictures for this format (build with card_pictures)")
    if fmt == "edl":
        timeline = _with_reels(timeline)
    text = otio.adapters.write_to_string(timeline, adapter_name=adapter)
    if fmt == "fcpxml":
        text = _fcpxml_completed(text, otio_timeline)
    elif fmt == "edl":
        text = _edl_completed(text, timeline)
    with atomic_path(path, suffix=f".partial.{FORMATS[fmt][1]}") as tmp:
        tmp.write_text(text, encoding="utf-8")
        if fmt == "fcpxml":
            _exact_lanes(tmp, timeline)


def _timeline_rate(otio_timeline) -> Fraction:
    """The edit's exact rate (``24000/1001``, not the float OTIO carries)."""
    meta = otio_timeline.metadata.get("rekrutt", {})
    if meta.get("rate"):
        return Fraction(meta["rate"])
    return Fraction(otio_timeline.global_start_time.rate).limit_denominator(1001)


def frame_duration(rate: Fraction) -> str:
    """An FCPXML frame duration: ``1001/24000s`` at 23.976, ``1001/30000s`` at 29.97, ``1/25s``."""
    d = 1 / rate
    return f"{d.numerator}/{d.denominator}s"


def _fcpxml_completed(text: str, otio_timeline) -> str:
    """The fcpx_xml adapter's output with what it leaves empty or wrong filled in.

    The adapter (otio-fcpx-xml-adapter 1.0) looks the frame duration up in a table keyed by
    ``int(rate)`` or ``float(rate)``, so at 23.976 and 29.97 it writes ``frameDuration=""`` and its
    own reader then fails on the file; it writes ``hasAudio="0"`` for every asset of a video track;
    and it names formats by running ``ffprobe`` from PATH (empty where there is none). Here each
    format gets the edit's exact frame duration and its frame size, each asset with sound says
    so (channels, sample rate), and each cut of a source with sound is an ``asset-clip`` (the asset's
    picture and sound) instead of a ``clip`` holding only its ``video``.
    """
    rate = _timeline_rate(otio_timeline)
    meta = otio_timeline.metadata.get("rekrutt", {})
    sound = {}
    for clip in otio_timeline.find_clips():
        ref = clip.media_reference
        m = clip.metadata.get("rekrutt", {})
        if getattr(ref, "target_url", None) and m.get("has_audio"):
            sound[ref.target_url] = m
    root = ET.fromstring(text)
    resources = root.find("resources")
    fmt_id = ""
    for fmt in resources.iter("format"):
        fmt_id = fmt_id or fmt.get("id")
        fmt.set("frameDuration", frame_duration(rate))
        if meta.get("width") and meta.get("height"):
            fmt.set("width", str(meta["width"]))
            fmt.set("height", str(meta["height"]))
        if not fmt.get("name"):
            fmt.attrib.pop("name", None)
    audio_assets = set()
    for asset in resources.iter("asset"):
        m = sound.get(asset.get("src"))
        if m is None:
            continue
        asset.set("hasAudio", "1")
        asset.set("audioSources", "1")
        if m.get("audio_channels"):
            asset.set("audioChannels", str(m["audio_channels"]))
        if m.get("audio_rate"):
            asset.set("audioRate", str(m["audio_rate"]))
        audio_assets.add(asset.get("id"))
    for sequence in root.iter("sequence"):
        sequence.set("tcFormat", "NDF")
        sequence.set("audioLayout", "stereo")
        sequence.set("audioRate", "48k")
    spine = next(root.iter("spine"), None)
    for i, clip in enumerate(list(spine) if spine is not None else []):
        video = clip.find("video")
        if clip.tag != "clip" or video is None or video.get("ref") not in audio_assets or len(clip) != 1:
            continue
        # a clip of a source with sound: an asset-clip, which plays the asset's picture and sound
        attrs = {k: clip.get(k) for k in ("name", "offset", "duration", "start") if clip.get(k)}
        spine[i] = ET.Element("asset-clip", {**attrs, "ref": video.get("ref"), "format": fmt_id,
                                             "audioRole": "dialogue"})
    ET.indent(root, space="    ")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def reel_names(files: list[str], length: int = 8) -> dict[str, str]:
    """A CMX 3600 reel name for each distinct file: at most ``length`` characters of A-Z, 0-9 and _,
    from the file's name, unique within the list (``INTERVJU``, ``INTERV02`` …)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for f in files:
        if f in names:
            continue
        stem = re.sub(r"[^A-Z0-9_]", "", Path(f).stem.upper().replace("-", "_").replace(" ", "_")) or "REEL"
        reel, n = stem[:length], 1
        while reel in taken:
            n += 1
            tail = f"{n:02d}"
            reel = stem[:length - len(tail)] + tail
        taken.add(reel)
        names[f] = reel
    return names


def _source_file(clip) -> str:
    from urllib.parse import unquote, urlsplit

    url = getattr(clip.media_reference, "target_url", None) or clip.name
    return unquote(urlsplit(url).path) if url.startswith("file:") else url


def _with_reels(otio_timeline):
    """A copy with each clip's reel set, unique per source file (the cmx_3600 adapter takes the
    file name's first 8 characters, so ``intervju-anne.mp4`` and ``intervju-jonas.mp4`` would share
    a reel and an editor would conform both to one file)."""
    import copy

    t = copy.deepcopy(otio_timeline)
    clips = list(t.find_clips())
    reels = reel_names([_source_file(c) for c in clips])
    for clip in clips:
        clip.metadata.setdefault("cmx_3600", {})["reel"] = reels[_source_file(clip)]
    return t


def _edl_completed(text: str, otio_timeline) -> str:
    """The EDL with a ``* SOURCE FILE:`` comment naming each event's file after its clip name (the
    adapter writes only a ``file://`` URL; comments before the first event would stop its reader)."""
    clips = {c.name: _source_file(c) for c in otio_timeline.find_clips()}
    out = []
    for line in text.splitlines():
        out.append(line)
        m = re.match(r"\* FROM CLIP NAME:\s+(.*)$", line)
        if m and m.group(1).strip() in clips:
            out.append(f"* SOURCE FILE: {Path(clips[m.group(1).strip()]).name}")
    return "\n".join(out) + "\n"


def _conformed(otio_timeline, video_only: bool = False):
    """The timeline with every range in whole frames of the record rate, as editors' XML and EDLs want
    (a 30 fps source in a 25 fps edit: its in and out are given as 25 fps frames). ``video_only``
    keeps the video track alone."""
    import copy

    import opentimelineio as otio

    t = copy.deepcopy(otio_timeline)
    rate = t.global_start_time.rate

    def whole(r):
        return otio.opentime.TimeRange(r.start_time.rescaled_to(rate).round(), r.duration.rescaled_to(rate).round())

    for clip in t.find_clips():
        clip.source_range = whole(clip.source_range)
        ref = clip.media_reference
        if ref is not None and ref.available_range is not None:
            ref.available_range = whole(ref.available_range)
    if video_only:
        keep = otio.schema.Timeline(name=t.name, global_start_time=t.global_start_time)
        keep.tracks.append(copy.deepcopy(t.tracks[0]))
        keep.tracks.extend(copy.deepcopy(tr) for tr in t.tracks[1:] if tr.kind == otio.schema.TrackKind.Video)
        return keep
    return t


def read(path: Path, fmt: str, rate: Fraction = Fraction(25)):
    """Read a written file back with OpenTimelineIO (for checks and round trips; an EDL needs its rate)."""
    import opentimelineio as otio

    adapter, _ = FORMATS[fmt]
    kwargs = {"rate": float(rate)} if fmt == "edl" else {}
    # (the fcpx_xml reader takes int(24000/1001) = 23 as the rate of a 23.976 file and truncates
    # each time to its frames: read back, times are within a frame)
    return otio.adapters.read_from_file(str(path), adapter_name=adapter, **kwargs)


def export(job: OutputSpec, path: Path, fmt: str, cues=(), cache: Cache | None = None) -> Path:
    """Write the edit (as ``job``'s channel plays it) to ``path`` in ``fmt``, with the cards' pictures
    in ``<path stem>.cards/`` beside it (with ``cache``: copied from it where drawn before)."""
    campaign, timeline, preset = job.edition, job.timeline, job.preset
    folder = path.with_name(f"{path.stem}.cards")
    refuse_links(folder)
    pictures = {}
    for seg in timeline.segments:
        if isinstance(seg, CardSegment) and seg.card_id not in pictures:
            pictures[seg.card_id] = card_png(campaign, seg.card_id, preset, folder, cache)
    write(build(campaign, timeline, cues, pictures, size=(preset.width, preset.height)), path, fmt)
    return path


def _cutaway_notes(otio_timeline):
    """The timeline with its first video track alone, as an EDL holds one: each cutaway of the second
    becomes a ``* CUTAWAY`` note on the event it starts over (its clip, source and record in and out, file)."""
    import opentimelineio as otio

    rate = otio_timeline.global_start_time.rate
    tracks = list(otio_timeline.tracks)
    if len(tracks) < 2 or tracks[1].kind != otio.schema.TrackKind.Video:
        return otio_timeline
    main, over = tracks[0], tracks[1]

    def tc(t):
        return otio.opentime.to_timecode(t.rescaled_to(rate).round(), rate)

    for clip in over.find_clips():
        rec = clip.range_in_parent()
        host = next((c for c in main.find_clips() if c.range_in_parent().contains(rec.start_time)), None)
        if host is None:
            continue
        src = clip.source_range
        note = (f"CUTAWAY V2 {clip.name} SRC {tc(src.start_time)} {tc(src.end_time_exclusive())} "
                f"REC {tc(rec.start_time)} {tc(rec.end_time_exclusive())} FILE {clip.media_reference.target_url}")
        cmx = dict(host.metadata.get("cmx_3600", {}))
        cmx["comments"] = [*cmx.get("comments", []), note]
        host.metadata["cmx_3600"] = cmx
    del otio_timeline.tracks[1]
    return otio_timeline


def _seconds(value: str | None) -> Fraction:
    """An FCPXML time ("58/25s", "2s", "0s") exactly."""
    return Fraction(value.rstrip("s")) if value else Fraction(0)


def _exact_lanes(path: Path, otio_timeline) -> None:
    """Each connected clip's (cutaway's) offset in a written FCPXML set exactly: the adapter counts its
    parent's offset in frames rounded down from a float (58/25 s read as 57 frames), which put every
    cutaway one frame late. A connected clip's offset is in its parent's own time: the parent's start plus
    how far into the parent it lies on the timeline."""
    import re
    import xml.etree.ElementTree as ET

    import opentimelineio as otio

    over = [t for t in otio_timeline.tracks if t.kind == otio.schema.TrackKind.Video][1:]
    rate = _timeline_rate(otio_timeline)  # 30000/1001 exactly
    records = [Fraction(round(c.range_in_parent().start_time.rescaled_to(float(rate)).value)) / rate
               for t in over for c in t.find_clips()]
    root = ET.parse(path).getroot()
    parents = {child: parent for parent in root.iter() for child in parent}
    laned = [e for e in root.iter() if e.get("lane") is not None and e.tag != "audio"]
    if not records or len(laned) != len(records):
        return
    offsets = []
    for element, record in zip(laned, records, strict=True):
        parent = parents[element]
        offsets.append(_seconds(parent.get("start")) + record - _seconds(parent.get("offset")))
    text = path.read_text(encoding="utf-8")
    found = iter(offsets)

    def fixed(match: re.Match) -> str:
        if ' lane="' not in match.group(0) or match.group(1) == "audio":
            return match.group(0)
        value = next(found)
        return re.sub(r' offset="[^"]*"', f' offset="{value.numerator}/{value.denominator}s"', match.group(0), count=1)

    path.write_text(re.sub(r"<([\w-]+)\b[^>]*>", fixed, text), encoding="utf-8")
