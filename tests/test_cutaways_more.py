"""Cutaways, continued (issue 26): in the edit for editors, the paper edit and the review page, captions
off the cutaway's faces, the L-cut on a rendered output, consent of a library cutaway's people, and
synstolking of a cutaway.

Real speech (jfk.flac with the pinned reference transcript's word times) and real footage (a pan over
scikit-image's coffee photograph, or the astronaut's face), as in tests/test_cutaways.py.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.test_cutaways import CUTAWAY, run, words, work_clip, write  # noqa: F401 (work_clip: a fixture)

RATE = 25


def _edit(spec, cache):
    """(timeline, the second item's segment) of the spec's edit as its first channel plays it."""
    from pipeline.campaign import OutputKey
    from pipeline.job import output_spec
    from pipeline.load import load_campaign

    campaign = load_campaign(spec, cache_dir=cache)
    job = output_spec(campaign, OutputKey(None, campaign.spec.channels[0]))
    return job.timeline, job.timeline.segments[1]


@pytest.mark.parametrize("fmt", ["otio", "fcpxml", "xml", "edl"])
def test_the_edit_for_editors_has_the_cutaway_on_a_second_video_track(tmp_path, speech_clip, work_clip,
                                                                      pinned_cache, fmt):
    import opentimelineio as otio

    from pipeline.interchange import FORMATS, read

    spec = write(tmp_path, speech_clip, work_clip, CUTAWAY.format(sound=-18))
    from pipeline.cutaway import placed

    timeline, seg = _edit(spec, pinned_cache)
    path = tmp_path / f"edit.{FORMATS[fmt][1]}"
    result = run("export", str(spec), "-f", fmt, "-o", str(path), "--cache-dir", str(pinned_cache))
    assert result.exit_code == 0, result.output
    # where the cutaway must be, from the words it covers (the pinned transcript) and the cut's place
    first, last = words("what", "your", "country")
    rec_in = float(seg.start) + int((first - float(seg.source_in)) * RATE) / RATE
    rec_out = float(seg.start) + -(-(last - float(seg.source_in)) * RATE // 1) / RATE
    frame = 1 / RATE
    back = read(path, fmt, Fraction(RATE))
    if fmt == "edl":  # one video track: the cutaway is a note on the event it lies over
        events = [c for c in back.tracks[0].find_clips()]
        notes = [(c, n) for c in events for n in c.metadata.get("cmx_3600", {}).get("comments", [])
                 if n.startswith("CUTAWAY")]
        assert len(notes) == 1, [c.metadata for c in events]
        host, note = notes[0]
        assert host.range_in_parent().start_time.to_seconds() == pytest.approx(float(seg.start), abs=frame / 2)
        parts = note.split()
        assert parts[:3] == ["CUTAWAY", "V2", "work"] and parts[3] == "SRC" and parts[6] == "REC", note
        tc = [otio.opentime.from_timecode(t, RATE).to_seconds() for t in (parts[4], parts[5], parts[7], parts[8])]
        assert tc[0] == pytest.approx(1.0, abs=frame / 2)  # from: 1.0 in the cutaway's clip
        assert abs(tc[2] - rec_in) <= frame + 1e-6 and abs(tc[3] - rec_out) <= frame + 1e-6, (tc, rec_in, rec_out)
        assert tc[1] - tc[0] == pytest.approx(tc[3] - tc[2], abs=1e-6)
        assert parts[9] == "FILE" and parts[10].endswith("work.mp4")
        return
    videos = [t for t in back.tracks if t.kind == otio.schema.TrackKind.Video]
    assert len(videos) == 2, [t.name for t in back.tracks]
    clips = list(videos[1].find_clips())
    assert [c.name for c in clips] == ["work"]
    clip = clips[0]
    got = clip.range_in_parent()
    start, end = got.start_time.to_seconds(), got.end_time_exclusive().to_seconds()
    assert abs(start - rec_in) <= frame + 1e-6 and abs(end - rec_out) <= frame + 1e-6, (start, end, rec_in, rec_out)
    assert clip.source_range.start_time.to_seconds() == pytest.approx(1.0, abs=frame / 2)
    assert clip.source_range.duration.to_seconds() == pytest.approx(end - start, abs=frame / 2 + 1e-6)
    assert clip.media_reference.target_url.endswith("work.mp4")
    # the speaker's track is whole under it: the cut it covers is still there, its picture and sound
    assert [c.name for c in videos[0].find_clips() if not c.name.startswith("card")] == ["jfk", "jfk"]
    if fmt == "fcpxml":
        # the file itself is exact: a connected clip's offset is in its parent's time (the reader rounds
        # down as the adapter's writer did, so reading back alone would not show a frame's error)
        import xml.etree.ElementTree as ET

        root = ET.parse(path).getroot()
        parent = next(e for e in root.iter("clip") if any(c.get("lane") for c in e))
        lane = next(c for c in parent if c.get("lane"))
        sec = [Fraction((v or "0s").rstrip("s")) for v in (parent.get("offset"), parent.get("start"),
                                                            lane.get("offset"), lane.get("duration"))]
        decided = placed(timeline)[0]  # where the pipeline put it, on the frame grid
        assert sec[0] + sec[2] - sec[1] == decided.record_in, (sec, decided)
        assert sec[3] == decided.cutaway.duration(timeline.rate)
    if fmt == "otio":
        assert clip.metadata["rekrutt"]["cutaway"] is True and clip.metadata["rekrutt"]["over"] == "jfk"
        assert [t.name for t in back.tracks] == ["V1", "V2", "A1"]


def test_an_edit_without_cutaways_has_one_video_track(tmp_path, speech_clip, work_clip, pinned_cache):
    import opentimelineio as otio

    from pipeline.interchange import read

    spec = write(tmp_path, speech_clip, work_clip, "")
    path = tmp_path / "edit.otio"
    result = run("export", str(spec), "-f", "otio", "-o", str(path), "--cache-dir", str(pinned_cache))
    assert result.exit_code == 0, result.output
    back = read(path, "otio")
    assert [t.kind for t in back.tracks] == [otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio]
