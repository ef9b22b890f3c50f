"""Reading and checking a campaign spec: :func:`load_campaign`.

It reads the YAML, validates its shape with pydantic (types, unknown keys), then checks
everything that needs the file system (media exist and can be read, cuts lie inside their
clips, ids and channels are known, consent holds), and returns a :class:`Campaign` with the
probes it made. Every problem is collected with its file, line, column and key path, and
raised together as one :class:`SpecError` before any work starts. The prober and the
transcriber (for quotes) are the caller's, passed in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import logging
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from pydantic import ValidationError

from . import __version__, channels, describe
from .brand import apply_brand, load_brand
from .cache import Cache, key_of
from .campaign import Campaign
from .cuefile import read_cue_file
from .cutaways import check_item, clips_of, resolve_cutaways
from .edit import cut_down, quote_items, quote_warnings, resolve_quotes
from .errors import CacheError, ClipNotFound, SpecError, SpecProblem
from .images import image_problem
from .images import verify as verify_image
from .library import LibraryClip, consent_problems, library_dir, load_clip
from .probe import MediaInfo, probe_as
from .problems import Problems, did_you_mean, read_located, shape_problems, strip_tags
from .reframe import clip_fit
from .spec import CampaignSpec, ClipItem
from .spectypes import COLOR_PATTERN
from .stamp import note
from .textcheck import check_card_text, link_warnings, text_warnings
from .timecode import seconds
from .transcribe import Transcriber, model_for, shared_transcriber
from .yamlpos import Loc

log = logging.getLogger("rekrutt")

#: Probes a file that must be a video or a sound: (info, None), or (None, (message, what to do)).
Prober = Callable[[Path, str], tuple[MediaInfo | None, tuple[str, str] | None]]
#: The transcriber for a cache and a Whisper model (None: the default), for quotes.
TranscriberFor = Callable[[Cache, str | None], Transcriber]


#: Placeholders that let reference checks run on a spec whose top-level values failed the shape check.
_PLACEHOLDERS: dict[str, object] = {"campaign": "x", "title": "x", "clips": {}, "sequence": [{"card": "_"}],
                                    "channels": ["youtube"]}


def _salvage(data: dict, error: ValidationError) -> tuple[CampaignSpec | None, set[tuple]]:
    """The spec without the entries that failed the shape check (so the reference checks can still run).

    Returns the salvaged spec (None when nothing sensible is left) and the (collection, id) pairs
    that were dropped, so that references to them are not reported as unknown.
    """
    data = dict(data)
    dropped: set[tuple] = set()
    for _ in range(4):
        for err in error.errors():
            loc = strip_tags(tuple(err["loc"]))
            if not loc:
                return None, dropped
            top = loc[0]
            if len(loc) >= 2 and top in ("clips", "cards", "overrides") and isinstance(data.get(top), dict):
                data[top] = {k: v for k, v in data[top].items() if k != loc[1]}
                dropped.add((top, loc[1]))
            elif len(loc) >= 2 and top in ("sequence", "channels", "hashtags") and isinstance(data.get(top), list) \
                    and isinstance(loc[1], int):
                items = list(data[top])
                if loc[1] < len(items):
                    items[loc[1]] = None
                data[top] = items
                dropped.add((top, loc[1]))
            elif top in _PLACEHOLDERS:
                data[top] = _PLACEHOLDERS[top]
                dropped.add((top, None))
                dropped.add(("placeholder", "_"))
            else:
                data.pop(top, None)
                dropped.add((top, None))
        for top in ("sequence", "channels", "hashtags"):
            if isinstance(data.get(top), list):
                data[top] = [x for x in data[top] if x is not None]
                if not data[top] and top in _PLACEHOLDERS:
                    data[top] = _PLACEHOLDERS[top]
                    dropped.add(("placeholder", "_"))
        try:
            return CampaignSpec.model_validate(data), dropped
        except ValidationError as again:
            error = again
    return None, dropped


def load_campaign(path: str | Path, *, output: Path | None = None, check_media: bool = True,
                  today: dt.date | None = None, channels: tuple[str, ...] | list[str] | None = None,
                  versions: tuple[str, ...] | list[str] | None = None, cache_dir: Path | None = None,
                  model: str | None = None, brand: Path | None = None, prober: Prober = probe_as,
                  transcriber: TranscriberFor = shared_transcriber, cache: Cache | None = None) -> Campaign:
    """Read and validate a campaign spec; raise :class:`SpecError` listing every problem.

    ``output`` overrides the spec's output folder. With ``check_media`` (the default)
    every media file is probed and cuts are checked against clip lengths. ``channels``
    selects some of the spec's channels (``render -c``): unknown ones are problems, and
    only the selected channels' limits are checked; ``versions`` selects versions (``render -V``;
    "main" is the main film). Media are probed with ``prober``. Quotes (``says:``) are found in the
    clips' transcripts, transcribing with ``transcriber(cache, model)`` where needed, through ``cache``
    (default: the cache in ``cache_dir``). Problems of the shape (types,
    keys) and of the references (files, ids, cuts) are reported together where the rest of the
    spec allows it. Things worth a look that do not stop a render are in ``warnings``.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError([SpecProblem(str(path), None, None, "", "spec file not found",
                                     "check the path (python cli.py validate campaigns/<name>.yml)")])
    located, collector = read_located(path)
    if not isinstance(located.data, dict):
        collector.add((), "the spec must be a mapping of keys (campaign:, title:, clips:, ...)",
                      "see campaigns/ for an example, or python cli.py schema")
        raise SpecError(collector.problems)
    try:
        spec = CampaignSpec.model_validate(located.data)
        dropped: set[tuple] = set()
    except ValidationError as exc:
        shape_problems(collector, exc)
        spec, dropped = _salvage(located.data, exc)
        if spec is None:
            raise SpecError(collector.problems) from None

    selected = tuple(channels) if channels else None
    campaign = Campaign(spec=spec, path=path.resolve(), selected=selected, located=located,
                        selected_versions=tuple(versions) if versions else None,
                        output_root=output if output is not None else (path.parent / spec.output))
    if selected and not any(top == "channels" for top, _ in dropped):
        _check_selected(collector, campaign)
    if versions:
        for name in versions:
            if name != "main" and name not in spec.versions:
                collector.add(("versions",), f"unknown version '{name}' (asked for with -V)",
                              did_you_mean(name, ["main", *spec.versions]))
    library = _check_library(collector, campaign)
    campaign = dataclasses.replace(campaign, library=library)
    _check_consent(collector, campaign, today or dt.date.today())
    brand_path = brand if brand is not None else (campaign.resolve(spec.brand) if spec.brand else None)
    if brand_path is not None:
        loaded = load_brand(Path(brand_path), collector, () if brand is not None else ("brand",))
        if loaded is not None:
            campaign = dataclasses.replace(campaign, brand=loaded, spec=apply_brand(spec, loaded))
            spec = campaign.spec
    shape_failed = bool(collector.problems) or bool(dropped)
    before = len(collector.problems)
    if prober is probe_as:  # the real prober's findings are kept by the file's stamp (a test's own is not)
        prober = _remembered_probe(cache if cache is not None else Cache(cache_dir))
    media = _check_references(collector, campaign, check_media, prober, dropped)
    corrected = _check_transcripts(collector, campaign, media) if check_media else {}
    if dropped:
        # a reference to an entry that failed its shape check is not a second problem
        collector.problems[before:] = [p for p in collector.problems[before:]
                                       if not any(f"'{ident}'" in p.message for _, ident in dropped if ident)]
    if collector.problems or shape_failed:
        raise SpecError(collector.problems)
    warnings = Problems(path, located)
    warnings.problems += [w for cue_file in corrected.values() for w in cue_file.warnings]
    campaign = dataclasses.replace(campaign, media=media, corrected=corrected)
    if check_media:
        cache = cache if cache is not None else Cache(cache_dir)
        try:
            campaign = _check_with_media(collector, warnings, campaign, cache,
                                         transcriber(cache, model_for(spec.subtitles, model)))
        except OSError as exc:  # the model or a transcript written on a full (or read-only) cache disk
            if exc.errno not in (errno.ENOSPC, errno.EROFS, errno.EACCES):
                raise
            raise cache.unusable(exc, "preparing the transcripts") from exc
    text_warnings(warnings, campaign, cache)
    link_warnings(warnings, campaign)
    return dataclasses.replace(campaign, warnings=tuple(warnings.problems))


#: A probe is remembered only for a file unchanged this long (seconds; as for file digests).
PROBE_SETTLED = 2.0


def _remembered_probe(cache: Cache) -> Prober:
    """:func:`~pipeline.probe.probe_as`, its findings kept in the cache by the file's path, size, modification
    time and inode: an unchanged clip is not opened again on the next run (issue 25: freshness by size and
    time first). A cache that cannot be written only loses the shortcut."""

    def probe_remembered(src: Path, want: str):
        note(src)  # what the probe found is kept by the file's size and time: a render's stamp keeps them too
        try:
            st = src.stat()
        except OSError:
            return probe_as(src, want)
        key = key_of("probe", want, str(src.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, __version__)
        found = cache.get("probes", key)
        if isinstance(found, dict) and {"info", "problem"} <= found.keys():
            info = _info_from(found["info"]) if found["info"] is not None else None
            return info, tuple(found["problem"]) if found["problem"] is not None else None
        info, problem = probe_as(src, want)
        if time.time() - st.st_mtime_ns / 1e9 > PROBE_SETTLED:
            with contextlib.suppress(CacheError):
                cache.put("probes", key, {"info": _info_to(info) if info is not None else None,
                                          "problem": list(problem) if problem is not None else None})
        return info, problem

    return probe_remembered


def _info_to(info: MediaInfo) -> dict:
    def value(v):
        return {"fraction": str(v)} if isinstance(v, Fraction) else {"path": str(v)} if isinstance(v, Path) else v
    return {f.name: value(getattr(info, f.name)) for f in dataclasses.fields(info)}


def _info_from(data: dict) -> MediaInfo:
    def value(v):
        if isinstance(v, dict):
            return Fraction(v["fraction"]) if "fraction" in v else Path(v["path"])
        return v
    return MediaInfo(**{k: value(v) for k, v in data.items()})


def _check_with_media(collector: Problems, warnings: Problems, campaign: Campaign, cache: Cache,
                      transcriber: Transcriber) -> Campaign:
    """The checks that read the media and the clips' speech: quotes, cut-downs, lengths, card text, the
    description's places; problems raise SpecError, warnings are added to ``warnings``."""
    spec = campaign.spec
    if quote_items(spec):
        log.info("finding the quoted passages in the clips' transcripts (cached after the first time)")
        campaign, problems = resolve_quotes(campaign, transcriber)
        if problems:
            raise SpecError(problems)
        warnings.problems += quote_warnings(campaign)
    campaign, problems = resolve_cutaways(campaign, transcriber)
    if problems:
        raise SpecError(problems)
    campaign = _cut_versions(collector, campaign, cache)
    if collector.problems:
        raise SpecError(collector.problems)
    _check_lengths(collector, campaign)
    for name in campaign.version_names():
        _check_lengths(collector, campaign.for_version(name), ("versions", name))
    if collector.problems:
        raise SpecError(collector.problems)
    check_card_text(collector, warnings, campaign, cache)
    if collector.problems:
        raise SpecError(collector.problems)
    _media_warnings(warnings, campaign)
    _check_synstolking(collector, warnings, campaign, transcriber, cache)
    if collector.problems:
        raise SpecError(collector.problems)
    return campaign


def _check_selected(c: Problems, campaign: Campaign) -> None:
    """Channels asked for on the command line: each must be one of the spec's channels."""
    listed = list(campaign.spec.channels)
    for name in campaign.selected or ():
        if name in listed:
            continue
        if name in channels.PRESETS:
            c.add(("channels",), f"channel '{name}' (asked for with -c) is not one of this campaign's channels",
                  f"add it to 'channels', or choose from: {', '.join(listed)}")
        else:
            c.add(("channels",), f"unknown channel '{name}' (asked for with -c)",
                  did_you_mean(name, list(channels.PRESETS)))


def _check_library(c: Problems, campaign: Campaign) -> dict[str, LibraryClip]:
    """Resolve library clips (their consent is checked by _check_consent)."""
    spec = campaign.spec
    wanted = {cid: clip for cid, clip in spec.clips.items() if clip.library is not None}
    if not wanted:
        return {}
    folder = library_dir(spec.library, campaign.base_dir)
    if folder is None:
        for cid in wanted:
            c.add(("clips", cid, "library"), "no clip library is set",
                  "add 'library: path/to/library' to the spec, or set REKRUTT_LIBRARY")
        return {}
    found: dict[str, LibraryClip] = {}
    for cid, clip in wanted.items():
        if clip.source is not None:
            c.add(("clips", cid, "source"), "give either 'source' or 'library', not both", "remove one")
            continue
        try:
            entry = load_clip(folder, clip.library)
        except ClipNotFound:
            known = [p.stem for p in folder.glob("*.yml")] if folder.is_dir() else []
            c.add(("clips", cid, "library"), f"no clip '{clip.library}' in the library {folder}",
                  did_you_mean(clip.library, known) or "add it with: python cli.py clips add FILE --id ID")
            continue
        except SpecError as exc:
            c.problems.extend(exc.problems)
            continue
        if entry.video is None:
            c.add(("clips", cid, "library"), f"library clip '{clip.library}' has no video file beside "
                  f"{entry.meta_path}", "put the video there, or fix 'file:' in the metadata")
            continue
        found[cid] = entry
    return found


def _check_consent(c: Problems, campaign: Campaign, today: dt.date) -> None:
    """The consent of everyone in a library clip, for every output of the run that may show them.

    Iterates over :meth:`Campaign.outputs` (what the run renders), each with the clips of the
    sequence it is made from: a version's own, or the main one. A cut-down or a shortened channel
    plays a subset of those, so a clip is checked wherever it may play, whatever the cut keeps.
    """
    spec = campaign.spec
    uses: dict[str, list[tuple[str, str]]] = {}  # clip id -> (which version, channel) that may show it
    for key in campaign.outputs():
        if key.channel not in channels.PRESETS:
            continue  # an unknown channel is reported by _check_references
        version = spec.versions.get(key.version) if key.version else None
        items = (version.sequence if version is not None else None) or spec.sequence
        for cid in dict.fromkeys(cid for item in items for cid in clips_of(item)):  # cutaways' people too
            if cid in campaign.library:
                uses.setdefault(cid, []).append((key.where, key.channel))
    for cid, where in uses.items():
        for problem in consent_problems(campaign.library[cid], where, today):
            c.add(("clips", cid, "library"), problem,
                  "renew the consent, or leave the clip, the version or the channel out of this campaign")


def _check_references(c: Problems, campaign: Campaign, check_media: bool, prober: Prober,
                      dropped: set[tuple] = frozenset()) -> dict[str, MediaInfo]:
    spec = campaign.spec
    media: dict[str, MediaInfo] = {}
    sequences: list[tuple[Loc, list, dict]] = [(("sequence",), spec.sequence, spec.cards)]
    for name, version in spec.versions.items():
        if version.sequence:
            sequences.append((("versions", name, "sequence"), version.sequence, {**spec.cards, **version.cards}))
    used_clips = {cid for _, items, _ in sequences for item in items for cid in clips_of(item)}
    for clip_id, clip in spec.clips.items():
        if clip.library is not None:
            if clip_id not in campaign.library:
                continue  # reported by _check_library
            src = campaign.clip_source(clip_id)
        elif clip.source is None:
            c.add(("clips", clip_id), "a clip needs 'source' (a file) or 'library' (a library clip id)",
                  "add source: path/to/clip.mp4")
            continue
        else:
            src = campaign.resolve(clip.source)
        if not src.is_file():
            c.add(("clips", clip_id, "source"), f"file not found: {src}",
                  "check the path; it is relative to the spec file")
            continue
        if check_media and clip_id in used_clips:
            info, problem = prober(src, "video")
            if problem:
                c.add(("clips", clip_id, "library" if clip.library is not None else "source"), *problem)
                continue
            media[clip_id] = info
        if clip.transcript is not None and not campaign.resolve(clip.transcript).is_file():
            c.add(("clips", clip_id, "transcript"), f"file not found: {campaign.resolve(clip.transcript)}",
                  "export one with: python cli.py transcripts export SPEC")

    for prefix, items, cards in sequences:
        _check_sequence(c, prefix, items, cards, spec, media)

    if spec.music is not None:
        src = campaign.resolve(spec.music.source)
        if not src.is_file():
            c.add(("music", "source"), f"file not found: {src}", "check the path; it is relative to the spec file")
        elif check_media:
            _, problem = prober(src, "sound")
            if problem:
                c.add(("music", "source"), *problem)
    all_cards = [(("cards", card_id), card) for card_id, card in spec.cards.items()]
    all_cards += [(("versions", name, "cards", card_id), card) for name, version in spec.versions.items()
                  for card_id, card in version.cards.items()]
    for loc, card in all_cards:
        # the brand's logo is the brand file's: load_brand checked it, at its own line
        if card.logo is not None and card.logo != campaign.brand.logo:
            _check_image(c, campaign, loc + ("logo",), card.logo, check_media, "logo")
        if not COLOR_PATTERN.match(card.background):
            _check_image(c, campaign, loc + ("background",), Path(card.background), check_media, "background",
                         "use #RRGGBB or an image file relative to the spec")

    known = list(channels.PRESETS)
    seen: set[str] = set()
    if any(top == "channels" for top, _ in dropped):
        return media
    for i, name in enumerate(spec.channels):
        if name not in channels.PRESETS:
            c.add(("channels", i), f"unknown channel '{name}'", did_you_mean(name, known))
        elif name in seen:
            c.add(("channels", i), f"channel '{name}' is listed twice", "list each channel once")
        seen.add(name)
    all_channels = set(spec.channels) | {ch for v in spec.versions.values() for ch in (v.channels or ())}
    for vname, version in spec.versions.items():
        for i, name in enumerate(version.channels or ()):
            if name not in channels.PRESETS:
                c.add(("versions", vname, "channels", i), f"unknown channel '{name}'", did_you_mean(name, known))
        if version.sequence is None and version.max_duration is None and not version.cards:
            c.add(("versions", vname), f"version '{vname}' changes nothing",
                  "give it a sequence, a max_duration or cards of its own")
    for name in spec.overrides:
        if name not in channels.PRESETS:
            c.add(("overrides", name), f"unknown channel '{name}'", did_you_mean(name, known))
        elif name not in all_channels:
            c.add(("overrides", name), f"channel '{name}' is overridden but not in 'channels'",
                  "add it to channels or remove the override")
    return media


def _check_sequence(c: Problems, prefix: Loc, items: list, cards: dict, spec: CampaignSpec,
                    media: dict[str, MediaInfo]) -> None:
    """Ids and cut times of one sequence (the main one, or a version's)."""
    for i, item in enumerate(items):
        at = prefix + (i,)
        if isinstance(item, ClipItem):
            if item.clip not in spec.clips:
                c.add(at + ("clip",), f"unknown clip '{item.clip}'", did_you_mean(item.clip, list(spec.clips)))
                continue
            check_item(c, at, item, spec, media)
            if item.end is not None and item.end <= item.start:
                c.add(at + ("to",), f"'to' ({float(item.end):g} s) must be after 'from' "
                      f"({float(item.start):g} s)", "swap them or fix the times")
                continue
            info = media.get(item.clip)
            if info is None or item.says is not None:
                continue
            if item.start >= info.duration:
                c.add(at + ("from",), f"'from' ({float(item.start):g} s) is past the end of clip "
                      f"'{item.clip}' ({float(info.duration):.3f} s long)", "use a time inside the clip")
            elif item.end is not None and item.end > info.duration + Fraction(1, 100):
                c.add(at + ("to",), f"'to' ({float(item.end):g} s) is past the end of clip "
                      f"'{item.clip}' ({float(info.duration):.3f} s long)",
                      f"use {float(info.duration):.2f} or less, or leave 'to' out to play to the end")
        elif item.card not in cards:
            c.add(at + ("card",), f"unknown card '{item.card}'",
                  did_you_mean(item.card, list(cards)) or "define it under 'cards:'")


def _check_image(c: Problems, campaign: Campaign, loc: Loc, rel: Path, check_media: bool, kind: str,
                 hint: str = "") -> None:
    """A logo or background the spec names: there, a picture, and small enough to decode (header only)."""
    p = campaign.resolve(rel)
    if not p.is_file():
        c.add(loc, f"file not found: {p}", hint or "check the path; it is relative to the spec file")
        return
    if check_media:
        problem = image_problem(p, kind) or (verify_image(p), "save it again as PNG or JPEG")
        if problem[0]:
            c.add(loc, *problem)


def _check_transcripts(c: Problems, campaign: Campaign, media: dict[str, MediaInfo]) -> dict:
    """Read and check the corrected transcript of each clip the sequences use, against the clip's length,
    before anything is aligned or rendered; every problem carries the transcript's own file:line."""
    out = {}
    for clip_id, info in media.items():
        path = campaign.transcript_path(clip_id)
        if path is None or not path.is_file():
            continue  # none, or a missing 'transcript:' file (reported by _check_references)
        try:
            out[clip_id] = read_cue_file(path, info.duration)
        except SpecError as exc:
            c.problems += exc.problems
    return out


def _cut_versions(c: Problems, campaign: Campaign, cache: Cache) -> Campaign:
    """Each version's sequence: its own or the main one, cut down to its max_duration."""
    cuts: dict[str, tuple] = {}
    for name, version in campaign.spec.versions.items():
        items = list(version.sequence or campaign.spec.sequence)
        length = sum((campaign.item_length(it) for it in items), Fraction(0))
        if version.max_duration is not None and length > version.max_duration:
            made = cut_down(campaign, items, version.max_duration, cache)
            if isinstance(made, str):
                c.add(("versions", name, "max_duration"), made,
                      "raise max_duration, shorten the kept cards, or set keep: false on one")
                continue
            items, length = made
            log.info("version %s: %.2f s (of at most %g s), %d item(s)", name, float(length),
                     float(version.max_duration), len(items))
        cuts[name] = (tuple(items), length)
    return dataclasses.replace(campaign, version_cuts=cuts)


def _check_lengths(c: Problems, campaign: Campaign, prefix: Loc = ()) -> None:
    """Each channel's length limits, against the campaign's (or a version's) length, before any rendering."""
    for i, name in enumerate(campaign.spec.channels):
        if name not in campaign.channels:
            continue  # not asked for in this run (render -c)
        preset = campaign.preset(name)
        what = f"version '{campaign.version}'" if campaign.version else "campaign"
        total = sum((campaign.item_length(it) for it in campaign.sequence_for(name)), Fraction(0))
        if preset.max_duration is not None and total > seconds(preset.max_duration):
            how = ("mark more sequence items 'optional: true'" if preset.shorten else
                   f"shorten the sequence, or set overrides: {{{name}: {{shorten: true}}}} and mark items "
                   "'optional: true'")
            c.add(prefix + ("channels", i), f"the {what} is {float(total):.1f} s long; {preset.label} takes at most "
                  f"{preset.max_duration:g} s", how)
        if preset.min_duration is not None and total < seconds(preset.min_duration):
            c.add(prefix + ("channels", i), f"the {what} is {float(total):.1f} s long; {preset.label} needs at least "
                  f"{preset.min_duration:g} s", "lengthen the sequence or hold the end card longer")


def _all_channels(campaign: Campaign) -> list[str]:
    """The channels made in this run, the main film's and the versions'."""
    return list(dict.fromkeys(key.channel for key in campaign.outputs()))


#: A fill-crop that enlarges the picture more than this looks soft and blocky.
MAX_UPSCALE = 2.5


#: A fill-crop that keeps less than this share of the source's height (a square or portrait clip
#: in a wide frame) turns a talking head into a forehead-to-chin close-up. Narrowing the width
#: (16:9 to 9:16) is the normal case the face-following crop is made for, and is not warned about.
MIN_KEPT_HEIGHT = 0.7


def _media_warnings(w: Problems, campaign: Campaign) -> None:
    """Things that render, but that a user should hear about before publishing."""
    used = dict.fromkeys(item.clip for item in campaign.spec.sequence if isinstance(item, ClipItem))
    for clip_id in used:
        info = campaign.media.get(clip_id)
        if info is None:
            continue
        loc = ("clips", clip_id)
        if not info.has_audio:
            w.add(loc, f"clip '{clip_id}' has no sound: its cuts play silence and get no captions",
                  "use the recording with its sound, or mark the speech in the cards")
        if info.streams_disagree:
            w.add(loc, f"{info.path.name}: the picture ends at {float(info.video_end or 0):.2f} s but the sound "
                  f"at {float(info.audio_end or 0):.2f} s (a damaged or cut-off file?); the clip is treated as "
                  f"{float(info.duration):.2f} s long", "re-export or copy the file again")
        enlarged: dict[str, tuple[float, float]] = {}
        for name in _all_channels(campaign):
            preset = campaign.preset(name)
            choice = clip_fit(info, preset.fit, preset.width, preset.height)
            if choice.fit != "crop" or not info.width or not info.height:
                continue
            if choice.enlarge > MAX_UPSCALE or choice.kept_height < MIN_KEPT_HEIGHT:
                enlarged[name] = (choice.enlarge, choice.kept_height)
        if enlarged:
            worst = max(s for s, _ in enlarged.values())
            least = min(k for _, k in enlarged.values())
            names = ", ".join(enlarged)
            w.add(loc, f"clip '{clip_id}' ({info.width}x{info.height}) is enlarged up to {float(worst):.1f}x and keeps "
                  f"{float(least) * 100:.0f}% of its height on {names}",
                  "use a sharper recording, or show all of it with overrides: {CHANNEL: {fit: pad-blur}} for "
                  f"{names}")


def _check_synstolking(c: Problems, w: Problems, campaign: Campaign, transcriber: Transcriber,
                       cache: Cache) -> None:
    """The description (synstolking): every line placed in a pause of every described output; a line that
    fits none is a warning at its line, with the time it needs (see :func:`pipeline.describe.check`)."""
    if not any(True for _ in describe.outputs_described(campaign)):
        return
    transcripts = describe.all_transcripts(campaign, transcriber)
    for f in describe.check(campaign, transcripts, describe.timeline_for, cache):
        (c if f.problem else w).add(f.loc, f.message, f.hint)
