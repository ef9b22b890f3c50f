"""``manifest.json``: what each campaign's output folder holds, kept true after every output.

The manifest is updated (atomically, under a file lock, since threads and cluster
workers finish outputs at once) as each output is replaced and again when it is
finished, so an interrupted run leaves a manifest that describes exactly the files
that are there: never an old checksum beside a new file. Paths in it are relative
to the manifest, so the folder can be shared or moved.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from filelock import FileLock

from . import __version__
from .campaign import Campaign
from .files import write_text_if_changed

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class OutputRecord:
    """One finished output, as the manifest lists it."""

    channel: str
    path: str  #: relative to the campaign's output folder
    width: int
    height: int
    fps: str  #: exact rate, e.g. "25" or "30000/1001"
    duration: float  #: seconds of picture (the video stream's length)
    size: int  #: bytes
    sha256: str
    #: measured integrated loudness of the file's sound (ebur128 on the sound piece it was joined from, the
    #: same packets, or on the file when it was rendered whole)
    loudness_lufs: float
    true_peak_dbtp: float  #: measured true peak (measured as loudness_lufs)
    loudness_target_lufs: float
    video_codec: str
    audio_codec: str
    audio_channels: int
    extras: dict[str, str] = field(default_factory=dict)  #: other files made for this channel (poster, captions)
    captions_burned: str = ""  #: language tag of the captions burned into the picture ('' for none)
    fingerprint: str = ""  #: hash of everything the output was made from (its RenderPlan)
    audio_duration: float = 0.0  #: seconds of sound (the audio stream's length)
    true_peak_limit_dbtp: float = -1.0  #: the ceiling the true peak was held under
    warnings: list[str] = field(default_factory=list)  #: things to look at (fast cues, size)
    #: people whose name strap found no room off their face in any of their shots, so it is not in the picture
    names_left_out: list[str] = field(default_factory=list)
    #: what plays, in order: each cut's clip and source in/out (and the quote it was cut by), each card
    items: list[dict] = field(default_factory=list)
    version: str = ""  #: the version this output belongs to ('' for the main film)
    #: who approved this output and when, with the fingerprint they saw (kept while it is unchanged)
    approved: dict[str, str] = field(default_factory=dict)
    #: per clip, what the sound clean-up measured and did (SNR before and after, what was applied, gain)
    sound: dict[str, dict] = field(default_factory=dict)
    #: seconds spent in each pass over the media when it was made (cards, loudness measurement, render, ...)
    passes: dict[str, float] = field(default_factory=dict)
    #: pieces encoded for it ("made") and taken from the cache ("reused"), when it was made in pieces
    pieces: dict[str, int] = field(default_factory=dict)
    #: the picture's pieces in order, when it was made in pieces: each one's start and end (seconds of the
    #: output) and its cache key (what it shows: the contact sheet keeps its frames under it)
    picture_pieces: list[dict] = field(default_factory=list)
    #: synstolking: the described version's lines (id, start, end, text) on this output's timeline
    descriptions: list[dict] = field(default_factory=list)
    described_loudness_lufs: float | None = None  #: measured loudness of the described version's sound
    #: what the described version was made from (its lines, voices and the output's checksum): unchanged, kept
    described_key: str | None = None


def _entry(record: OutputRecord) -> dict:
    """A record as the manifest writes it: its fields as they are (plain JSON values already; ``asdict``'s
    deep copy of them took half of each of the ~3 writes an output makes, issue 25)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def path(out_dir: Path) -> Path:
    return out_dir / MANIFEST


def _read(out_dir: Path) -> dict:
    try:
        data = json.loads(path(out_dir).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def previous_records(out_dir: Path) -> dict[str, OutputRecord]:
    """The outputs the manifest lists, by channel (empty when there is none or it cannot be read)."""
    out: dict[str, OutputRecord] = {}
    for o in _read(out_dir).get("outputs", []):
        try:
            out[o["channel"]] = OutputRecord(**o)
        except (TypeError, KeyError):
            continue  # written by another version: treated as not there, so the output is made again
    return out


def _lock(out_dir: Path) -> FileLock:
    out_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(out_dir / f".{MANIFEST}.lock"))


def update(campaign: Campaign, *, record: OutputRecord | None = None, forget: str | None = None,
           failures: dict[str, str] | None = None, records: list[OutputRecord] = ()) -> Path:
    """Change the manifest atomically, in one write: add or replace ``record`` (and ``records``), drop
    ``forget``'s entry, set ``failures``.

    Entries whose files are gone, or whose channel the spec no longer lists, are dropped.
    """
    out_dir = campaign.out_dir
    with _lock(out_dir):
        data = _read(out_dir)
        current = previous_records(out_dir)
        if forget is not None:
            current.pop(forget, None)
        new = [*records, *([record] if record is not None else [])]
        for rec in new:
            old = current.get(rec.channel)
            if old is not None and old.approved and not rec.approved and \
                    old.approved.get("fingerprint") == rec.fingerprint:
                rec = dataclasses.replace(rec, approved=old.approved)  # the same output: still approved
            current[rec.channel] = rec
        order = [c for c in campaign.spec.channels if c in current and (out_dir / current[c].path).is_file()]
        failed = dict(data.get("failed", {})) if failures is None else dict(failures)
        for rec in new:
            failed.pop(rec.channel, None)
        manifest = {
            "campaign": campaign.spec.campaign,
            "version": campaign.version or "",
            "draft": campaign.draft,  # drafts are quick looks, never final outputs
            "title": campaign.spec.title,
            "spec": Path(os.path.relpath(campaign.path, out_dir.resolve())).as_posix(),
            "rekrutt_version": __version__,
            "outputs": [_entry(current[c]) for c in order],
            "failed": failed,
        }
        if data.get("versions"):
            manifest["versions"] = data["versions"]
        target = path(out_dir)
        _write(target, manifest, data)
    return target


def _write(target: Path, manifest: dict, read: dict) -> None:
    """Write ``manifest`` unless it equals what the file held (``read``): then nothing is dumped (the indented
    dump is pure Python; issue 25) nor written."""
    if manifest != read:
        write_text_if_changed(target, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def link_version(version: Campaign, version_manifest: Path) -> None:
    """List a version's outputs in the main manifest (``versions``), beside the main film's."""
    main_dir = version.out_dir.parent
    with _lock(main_dir):
        data = _read(main_dir)
        if not data:
            data = {"campaign": version.spec.campaign, "version": "", "title": "",
                    "spec": Path(os.path.relpath(version.path, main_dir.resolve())).as_posix(),
                    "rekrutt_version": __version__, "outputs": [], "failed": {}}
        records = previous_records(version.out_dir)
        before = data.get("versions")
        versions = dict(before or {})
        versions[version.version] = {
            "title": version.spec.title,
            "manifest": Path(os.path.relpath(version_manifest, main_dir)).as_posix(),
            "outputs": {ch: f"{version.version}/{r.path}" for ch, r in records.items()},
            "duration": max((r.duration for r in records.values()), default=0.0),
        }
        data["versions"] = {k: versions[k] for k in sorted(versions)}
        _write(path(main_dir), data, {**data, "versions": before})


def approve(campaign: Campaign, channel: str, approval: dict[str, str]) -> None:
    """Record an approval on an output's manifest entry (the caller checked its fingerprint)."""
    records = previous_records(campaign.out_dir)
    if channel in records:
        update(campaign, record=dataclasses.replace(records[channel], approved=dict(approval)))
