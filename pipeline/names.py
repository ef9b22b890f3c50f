"""Names and links a user gives that reach a file system or a viewer: one rule for each.

A *slug* names a folder or a file: the campaign (``<output>/<campaign>/``), a version
(``<campaign>/<version>/``, ``<version>.otio``), a clip (``transcripts/<clip>.srt``), a card
(``card-<id>-….png``) and a library clip (``<id>.yml`` and its video). It is lowercase letters,
digits and dashes, starting with a letter or digit, and at most :data:`SLUG_MAX` characters, so
that the longest name made from it (a temporary ``.<name>.<ext>.<token>.partial`` beside an
output) stays far inside a file system's 255 bytes. It is matched whole (``re.fullmatch``: a
``$`` would let a final line break through).

A *link* goes into QR codes, publish sheets and the review page: only ``https://`` (or ``http://``,
which validation warns about) with a host name, no user name or password, no spaces.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, HttpUrl, TypeAdapter, ValidationError, WithJsonSchema

#: Longest slug: room for the longest name the pipeline makes from one within 255 bytes.
SLUG_MAX = 64

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")

#: One label of a host name, as the URL parser leaves it (an IDN already in its xn-- form).
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")

#: What a link starts with: the scheme and "//" and the host's first character (WHATWG parsers
#: also read "https:x.no" and "https:///x.no", which no one means to print on a card).
_LINK_START = re.compile(r"(?i)(https?)://[^/\\?#]")


def slug_problem(name: object, example: str = "sykepleiere-2026") -> str | None:
    """Why ``name`` is not a slug (None when it is one); ``example`` is a good name to show."""
    if not isinstance(name, str):
        return f"a name is text, not {type(name).__name__}"
    if len(name) > SLUG_MAX:
        return f"'{name[:20]}…' is {len(name)} characters long; a name has at most {SLUG_MAX}"
    if not _SLUG.fullmatch(name):
        return (f"{name!r} is not a name: use lowercase letters, digits and dashes (a-z, 0-9, -), starting "
                f"with a letter or digit, e.g. {example}")
    return None


def _slug(value: str) -> str:
    problem = slug_problem(value)
    if problem:
        raise ValueError(problem)
    return value


#: A name that becomes a folder or file name (campaign, version, clip, card and library ids).
Slug = Annotated[str, AfterValidator(_slug), WithJsonSchema({
    "type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*$", "maxLength": SLUG_MAX,
    "description": "lowercase letters, digits and dashes (a-z, 0-9, -)",
})]

_HTTP_URL = TypeAdapter(HttpUrl)

#: Schemes a link may have; ``http`` is accepted with a warning (see :func:`insecure`).
LINK_SCHEMES = ("https", "http")


def link_problem(value: object) -> str | None:
    """Why ``value`` is not a web address a viewer may open (None when it is one).

    The address is parsed as a browser does (pydantic's ``HttpUrl``: the WHATWG rules, IDNA); on top
    of that it must start with ``https://`` or ``http://``, carry no user name or password (a trick to
    make ``https://www.kommune.no@elsewhere.example`` look like the kommune's), and name a host with a
    dot (``www.kommune.no``, or an IPv4 address).
    """
    example = "e.g. https://www.kommune.no/jobb"
    if not isinstance(value, str):
        return f"write the address as text, {example}"
    if not value or any(ch.isspace() or not ch.isprintable() for ch in value):
        return f"an address has no spaces, line breaks or control characters, {example}"
    start = _LINK_START.match(value)
    if start is None:
        scheme = value.split(":", 1)[0] if ":" in value else ""
        if scheme and scheme.lower() not in LINK_SCHEMES:
            return f"'{scheme}:' addresses are not allowed here: only https:// (or http://), {example}"
        return f"'{value}' is not a web address starting with https:// and a host name, {example}"
    try:
        url = _HTTP_URL.validate_python(value)
    except ValidationError as exc:
        return f"'{value}' is not a web address ({exc.errors()[0]['msg']}), {example}"
    if url.username or url.password:
        return f"'{value}' has a user name or password before the host; give the address without it, {example}"
    labels = (url.host or "").rstrip(".").split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or \
            (labels[-1].isdigit() and not _is_ipv4(url.host or "")):
        return f"'{value}' has no host name (such as www.kommune.no) after {start.group(1)}://, {example}"
    return None


def _is_ipv4(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def insecure(link: str) -> bool:
    """Whether a (valid) link is plain http, which validation warns about."""
    return urlsplit(link).scheme.lower() == "http"


def _link(value: str) -> str:
    value = value.strip()
    problem = link_problem(value)
    if problem:
        raise ValueError(problem)
    return value


#: A web address that reaches a viewer (QR code, publish sheet, review page): https (or http) with a host.
SpecLink = Annotated[str, AfterValidator(_link), WithJsonSchema({
    "type": "string", "format": "uri", "pattern": r"^[hH][tT][tT][pP][sS]?://[^\s/?#@]+\.[^\s/?#@]+",
    "description": "web address, https:// (http:// is warned about), e.g. https://www.kommune.no/jobb",
})]
