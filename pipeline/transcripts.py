"""What is said in a campaign's clips: the corrected transcripts staff made, and each clip's transcript.

:func:`clip_transcript` is the one place that decides which transcript a clip has: its corrected
transcript (``transcripts/<clip>.srt``, as :func:`corrected_cues` reads it) re-timed by forced
alignment, else Whisper's; both through the transcriber's cache.
"""

from __future__ import annotations

import logging

from .campaign import Campaign
from .cuefile import CueFile, read_cue_file
from .transcribe import Transcriber, Transcript

log = logging.getLogger("rekrutt")


def corrected_cues(campaign: Campaign, clip_id: str) -> CueFile | None:
    """A clip's corrected transcript as checked when the campaign was loaded (read and checked
    against the clip's length here where the campaign was built without it); None if it has none."""
    path = campaign.transcript_path(clip_id)
    if path is None:
        return None
    done = campaign.corrected.get(clip_id)
    if done is not None and done.path == path:
        return done
    info = campaign.media.get(clip_id)
    return read_cue_file(path, info.duration if info is not None else None)


def clip_transcript(campaign: Campaign, clip_id: str, transcriber: Transcriber) -> Transcript:
    """What is said in a clip: the corrected transcript re-timed by forced alignment where staff made
    one (``transcripts/<clip>.srt``), else Whisper's (both cached)."""
    source = campaign.clip_source(clip_id)
    language = campaign.clip_language(clip_id)
    corrected = corrected_cues(campaign, clip_id)
    if corrected is not None:
        log.info("%s: using corrected transcript %s", clip_id, corrected.path)
        return transcriber.align(source, language, corrected.triples())
    return transcriber.transcribe(source, language, glossary=tuple(campaign.spec.subtitles.glossary))
