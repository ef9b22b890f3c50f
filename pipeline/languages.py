"""Speech languages: campaign language codes as Whisper's, and which codes Whisper knows.

Plain data and lookups (no model is loaded here), so that the spec's checks and the CLI can
check a language code without importing the transcriber.
"""

from __future__ import annotations

import difflib

__all__ = ["LANGUAGE_CODES", "WHISPER_LANGUAGES", "language_problem", "whisper_language"]

#: Campaign language codes -> Whisper's. Whisper knows Norwegian as "no" (bokmål) and "nn" (nynorsk).
LANGUAGE_CODES = {"no": "no", "nb": "no", "nob": "no", "nn": "nn", "nno": "nn", "en": "en", "se": "no"}


#: Every language Whisper knows, by its code (faster_whisper.tokenizer._LANGUAGE_CODES; a test keeps them equal).
WHISPER_LANGUAGES = frozenset("""
af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu hy id
is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd si
sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo zh yue
""".split())


def whisper_language(code: str) -> str:
    """A campaign language code as Whisper's language code."""
    code = code.strip().lower()
    return LANGUAGE_CODES.get(code, code)


def language_problem(code: str) -> str | None:
    """Why ``code`` is not a speech language Whisper knows (None when it is), with a did-you-mean."""
    if whisper_language(code) in WHISPER_LANGUAGES:
        return None
    known = sorted(WHISPER_LANGUAGES | set(LANGUAGE_CODES))
    close = difflib.get_close_matches(code.strip().lower(), known, n=12, cutoff=0.5)
    # among equally close codes, the languages Norwegian municipalities recruit in come first
    common = ("no", "nb", "nn", "en", "sv", "da", "ar", "so", "pl", "uk", "de", "fr")
    close = sorted(close, key=lambda c: (c not in common, common.index(c) if c in common else 0))[:3]
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else "use a code such as no, nn, en, ar, so"
    return f"unknown speech language {code!r}: {hint}"
