"""Handing the edit to an editor: OpenTimelineIO, and through its adapters FCPXML, FCP7 XML and EDL.

The edit of one campaign (or version), as one channel plays it, becomes an OTIO timeline:
a video and an audio track with each cut as a clip that references its source file, its in
and out on the source's own frame rate; cards as still-image clips (the card's picture is
written beside the file) on the video track and gaps on the audio track; captions as
markers on the video track; who appears and their consent in the clips' metadata.
The other formats are written by OpenTimelineIO's maintained adapters, never by hand.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from .campaign import Campaign
from .cards import card_png
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


def build(campaign: Campaign, timeline: Timeline, cues=(), card_pictures: dict[str, Path] | None = None):
    """The edit as an ``opentimelineio.schema.Timeline`` at the output's frame rate."""
    import opentimelineio as otio

    rate = timeline.rate
    name = campaign.label
    result = otio.schema.Timeline(name=name, global_start_time=_rt(Fraction(0), rate))
    result.metadata["rekrutt"] = {"campaign": campaign.spec.campaign, "version": campaign.version or "",
                                  "title": campaign.spec.title, "rate": str(rate)}
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
                                        if library and library.meta.consent else "")}
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
    result.tracks.append(audio)
    return result


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
    elif fmt != "otio":
        timeline = _conformed(otio_timeline)
    if any(isinstance(getattr(c, "media_reference", None), otio.schema.GeneratorReference)
             for c in otio_timeline.find_clips()):
        raise InputError(f"{fmt}: cards need their pictures for this format (build with card_pictures)")
    with atomic_path(path, suffix=f".partial.{FORMATS[fmt][1]}") as tmp:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name=adapter)


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
        return keep
    return t


def read(path: Path, fmt: str, rate: Fraction = Fraction(25)):
    """Read a written file back with OpenTimelineIO (for checks and round trips; an EDL needs its rate)."""
    import opentimelineio as otio

    adapter, _ = FORMATS[fmt]
    kwargs = {"rate": float(rate)} if fmt == "edl" else {}
    return otio.adapters.read_from_file(str(path), adapter_name=adapter, **kwargs)


def export(job: OutputSpec, path: Path, fmt: str, cues=()) -> Path:
    """Write the edit (as ``job``'s channel plays it) to ``path`` in ``fmt``, with the cards' pictures
    in ``<path stem>.cards/`` beside it."""
    campaign, timeline, preset = job.edition, job.timeline, job.preset
    folder = path.with_name(f"{path.stem}.cards")
    refuse_links(folder)
    pictures = {}
    for seg in timeline.segments:
        if isinstance(seg, CardSegment) and seg.card_id not in pictures:
            pictures[seg.card_id] = card_png(campaign, seg.card_id, preset, folder)
    write(build(campaign, timeline, cues, pictures), path, fmt)
    return path
