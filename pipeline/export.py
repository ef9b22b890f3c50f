"""Transcripts as files people read and edit: JSON, SRT and WebVTT on a clip's own timeline."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

from .campaign import Campaign
from .captions import CaptionRules, TimedWord, enforce_gaps, segment_words
from .files import write_text_atomic
from .spec import ClipItem
from .subtitles import to_ssa
from .transcribe import Transcriber, Transcript


def transcript_cues(t: Transcript, rules: CaptionRules = CaptionRules()):
    """Readable cues over a whole file, on its own timeline, by the caption rules."""
    words = [TimedWord(w.text, w.start, w.end) for w in t.words]
    end = max([t.duration] + [w.end for w in words])
    return enforce_gaps(segment_words(words, rules, (Fraction(0), end)), rules)


def transcript_text(t: Transcript, fmt: str, source: Path | None = None) -> str:
    """A transcript as JSON (language, segments, words with start/end seconds), SRT or WebVTT."""
    if fmt == "json":
        data = {"file": str(source) if source else None, **t.to_json()}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return to_ssa(transcript_cues(t)).to_string(fmt)


def transcribe_files(transcriber: Transcriber, media: Iterable[Path], language: str | None, *,
                     translate: bool = False, glossary: tuple[str, ...] = (), fmt: str = "json") -> str:
    """Transcribe (or translate) media files, each on its own timeline, as one text: a JSON transcript
    (a JSON list of them for several files), or SRT/WebVTT cues one file after another."""
    texts = []
    for path in media:
        t = transcriber.transcribe(path, language, task="translate" if translate else "transcribe",
                                   glossary=tuple(glossary))
        texts.append(transcript_text(t, fmt, path))
    if fmt == "json":
        return texts[0] if len(texts) == 1 else "[\n" + ",\n".join(t.rstrip() for t in texts) + "\n]\n"
    return "".join(texts)


def export_transcripts(campaign: Campaign, transcriber: Transcriber, *, force: bool = False
                       ) -> Iterator[tuple[str, Path, bool]]:
    """Write ``transcripts/<clip>.srt`` beside the spec for each clip in the sequence.

    Yields (clip id, path, written). An existing file is kept unless ``force``: it may hold corrections.
    """
    spec = campaign.spec
    done: set[str] = set()
    for item in spec.sequence:
        if not isinstance(item, ClipItem) or item.clip in done:
            continue
        done.add(item.clip)
        clip = spec.clips[item.clip]
        path = campaign.transcript_path(item.clip) or campaign.base_dir / "transcripts" / f"{item.clip}.srt"
        if path.exists() and not force:
            yield item.clip, path, False
            continue
        t = transcriber.transcribe(campaign.clip_source(item.clip), clip.language or spec.language,
                                   glossary=tuple(spec.subtitles.glossary))
        write_text_atomic(path, transcript_text(t, "srt"))
        yield item.clip, path, True
