"""The text a campaign shows, checked before anything is drawn: card text that must fit each
channel's frame, letters the fonts can show, and links that go out unencrypted.

Split from loading (which calls these) so that each stays one stage of a readable size.
"""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

from .cache import Cache, file_digest, key_of
from .campaign import Campaign
from .cards import TextFit, card_texts, drawing_code, lines_that_fit, most_that_fits, text_fit
from .fonts import cannot_show, character_map, find_font, font_for, remember_cmaps
from .names import insecure
from .problems import Problems
from .spec import CardItem, links
from .yamlpos import Loc


def _digest(path: Path | str | None) -> str | None:
    """A file's content digest (remembered by size and time), None for no file."""
    return file_digest(Path(path)) if path and Path(path).is_file() else None


def _fits_key(campaign: Campaign) -> str:
    """What every card's fit shares: the layout's code and the brand (each fit names its fonts itself)."""
    return key_of("card-fit", 2, drawing_code(), campaign.brand.spec.model_dump_json())


class _Fits:
    """Card fits remembered in the cache (issue 25: laying every card out on every channel took a tenth of an
    unchanged re-render), each by the card, the channel's frame, its tracked address, the logo and fonts."""

    def __init__(self, campaign: Campaign, cache: Cache | None):
        self.cache, self.face = cache, campaign.brand.typeface
        _remember_cmaps(campaign, cache)  # which font shows a text: without fontTools
        self.key = _fits_key(campaign) if cache is not None else ""
        found = cache.get("card-fit", self.key) if cache is not None else None
        self.known: dict[str, list] = dict(found) if isinstance(found, dict) else {}
        self.learnt = False

    def __call__(self, edition: Campaign, card, preset) -> TextFit:
        if self.cache is None:
            return text_fit(edition, card, preset)
        logo = _digest(edition.resolve(card.logo)) if card.logo is not None else None
        url = edition.tracked(card.url, preset.name) if card.url else None
        # the font each text is drawn in: the main one, or a fallback of the machine's for letters it lacks
        shown_in = [_digest(font_for(text, place[0] == "lines", self.face)) for place, text in card_texts(card)]
        one = hashlib.sha256(repr((card.model_dump_json(), repr(preset), url, logo, shown_in)).encode()).hexdigest()
        if one in self.known:
            fits, broken = self.known[one]
            return TextFit(bool(fits), tuple(broken))
        fit = text_fit(edition, card, preset)
        self.known[one], self.learnt = [fit.fits, list(fit.broken)], True
        return fit

    def keep(self) -> None:
        if self.learnt and self.cache is not None:
            self.cache.put("card-fit", self.key, self.known)


def check_card_text(c: Problems, w: Problems, campaign: Campaign, cache: Cache | None = None) -> None:
    """Card text that cannot be shown whole on a channel's frame is a problem at its line, with the most
    of it that fits on each frame; a word broken between letters to fit a line is a warning, once.
    With ``cache``, each card's fit on each frame is remembered (the layout is drawn again only for what
    changed)."""
    fit_of = _Fits(campaign, cache)
    too_long: dict[Loc, tuple[str, dict[str, tuple[int, str]]]] = {}  # loc -> (text, channel -> (most, size))
    broken: dict[Loc, dict[str, list[str]]] = {}  # loc -> word -> channels
    done: set[tuple[str, str]] = set()
    for edition in campaign.editions():
        own = campaign.spec.versions[edition.version].cards if edition.version else {}
        for card_id in dict.fromkeys(i.card for i in edition.spec.sequence if isinstance(i, CardItem)):
            card = edition.spec.cards.get(card_id)
            if card is None:
                continue
            prefix = ("versions", edition.version, "cards", card_id) if card_id in own else ("cards", card_id)
            for name in edition.channels:
                if (card.model_dump_json(), name) in done:
                    continue  # the same card on the same channel in another version
                done.add((card.model_dump_json(), name))
                preset = edition.preset(name)
                fit = fit_of(edition, card, preset)
                texts = card_texts(card)
                if fit.fits:
                    for word in fit.broken:
                        place = next((p for p, t in texts if word in t.split()), ("lines", 0))
                        broken.setdefault(card_loc(campaign, prefix, place), {}).setdefault(word, []).append(name)
                    continue
                # blame the longest text: the most of it that fits beside the rest of the card; where
                # even none of it would fit, the card has more lines than fit
                size = f"{preset.width}x{preset.height}"
                place, text = max(texts, key=lambda pt: len(pt[1]))
                most = most_that_fits(edition, card, preset, place)
                if most:
                    too_long.setdefault(card_loc(campaign, prefix, place), (text, {}))[1][name] = (most, size)
                else:
                    too_long.setdefault(prefix + ("lines",), ("\n".join(card.lines), {}))[1][name] = \
                        (lines_that_fit(edition, card, preset), size)
    fit_of.keep()
    for loc, (text, per_channel) in too_long.items():
        groups: dict[tuple[int, str], list[str]] = {}
        for name, key in per_channel.items():
            groups.setdefault(key, []).append(name)
        fits = [f"{most:,} on {', '.join(names)} ({size})" for (most, size), names in sorted(groups.items())]
        if loc[-1] == "lines":  # too many lines
            fits[0] = fits[0].replace(" on ", " fit on ", 1)
            c.add(loc, f"the card's {len(text.splitlines())} lines cannot be shown together: at most "
                  f"{', '.join(fits)}", "put fewer lines on the card, or spread them over two cards")
            continue
        what = {"subline": "the subline", "url": "the address"}.get(str(loc[-1]), "this line")
        one_word = len(text.split()) == 1
        fits[0] = fits[0].replace(" on ", " characters fit on ", 1)
        c.add(loc, f"{what} ({len(text):,} characters{', one word' if one_word else ''}) cannot be shown whole "
              f"on the card: at most {', '.join(fits)}", "break the word with spaces or hyphens, or shorten it"
              if one_word else "shorten it, or put the rest on another card")
    for loc, words in broken.items():
        for word, names in words.items():
            w.add(loc, f"a word of {len(word)} letters ({word[:20]}{'...' if len(word) > 20 else ''}) is too long "
                  f"for a line of the card on {', '.join(names)}; it is broken between letters with a hyphen",
                  "shorten it, or write a hyphen where it may break")


def card_loc(campaign: Campaign, prefix: Loc, place: tuple) -> Loc:
    """Where a card's text was written: a line of ``lines`` after splitting is the entry it came from."""
    if place[0] != "lines":
        return prefix + place
    data: object = campaign.located.data if campaign.located else None
    for part in prefix + ("lines",):
        data = data.get(part) if isinstance(data, dict) else None
    if not isinstance(data, list):
        return prefix + place
    n = 0
    for entry, value in enumerate(data):
        n += len([p for p in str(value).splitlines() if p.strip()])
        if place[1] < n:
            return prefix + ("lines", entry)
    return prefix + ("lines",)




def text_warnings(w: Problems, campaign: Campaign, cache: Cache | None = None) -> None:
    """Text that no font here can show (it would be drawn as empty boxes): emoji, scripts without a font.
    With ``cache``, the fonts' character maps are kept there, by content (reading one takes fontTools)."""
    _remember_cmaps(campaign, cache)
    _text_warnings(w, campaign)


def _remember_cmaps(campaign: Campaign, cache: Cache | None) -> None:
    """The brand's fonts' character maps from ``cache`` (by the file's content) for :mod:`~pipeline.fonts`, or
    read from the font and kept there for the next run (reading one takes fontTools)."""
    for bold in (True, False) if cache is not None else ():
        path = find_font(bold, campaign.brand.typeface)
        digest = _digest(path)
        if digest is None:
            continue
        key = key_of("font-cmap", 2, digest)
        found = cache.get("font-cmaps", key)
        if isinstance(found, list):
            remember_cmaps({path: frozenset(found)})
        else:
            cache.put("font-cmaps", key, sorted(character_map(path)))


def _text_warnings(w: Problems, campaign: Campaign) -> None:
    spec = campaign.spec
    texts: list[tuple[Loc, str, bool]] = [(("title",), spec.title, True)]
    for card_id, card in {**spec.cards, **{k: c for v in spec.versions.values() for k, c in v.cards.items()}}.items():
        texts += [(("cards", card_id, "lines", i), line, True) for i, line in enumerate(card.lines)]
        if card.subline:
            texts.append((("cards", card_id, "subline"), card.subline, False))
    for clip_id, clip in spec.clips.items():
        texts += [(("clips", clip_id, key), value, key == "person") for key, value in
                  (("person", clip.person), ("role", clip.role)) if value]
    for loc, text, bold in texts:
        missing = cannot_show(text, bold, campaign.brand.typeface)
        if missing:
            emoji = any(unicodedata.category(ch) == "So" for ch in missing)
            w.add(loc, f"no font here can show {' '.join(missing)} (it would be drawn as an empty box)",
                  "leave the emoji out" if emoji else
                  "give a font that has these letters (REKRUTT_FONT / REKRUTT_FONT_BOLD, or the brand kit)")


def link_warnings(w: Problems, campaign: Campaign) -> None:
    """Plain http links: they work, but a phone's camera app warns about them and they can be altered on the way."""
    for loc, link in links(campaign.spec):
        if insecure(link):
            w.add(loc, f"'{link}' is not encrypted (http://): phones warn about such links and networks can "
                  "alter the page on the way", "write https:// if the site has it")

