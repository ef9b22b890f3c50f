"""The review page's own words, in Norwegian bokmål and English, and its notes in the page's language.

The page is in one language (:func:`page_language`: ``review_language`` where the spec sets it, else
the campaign's speech language: English for ``en``, bokmål otherwise). The warnings the outputs carry
are the pipeline's English log lines; :func:`warning_text` says the known ones in the page's language.
"""

from __future__ import annotations

import re

#: The page's own words, in Norwegian bokmål and English.
WORDS = {
    "nb": {
        "review": "Gjennomgang", "versions": "Versjoner", "main": "Hovedfilm", "duration": "Lengde",
        "size": "Størrelse", "limit": "grense", "loudness": "Lydstyrke", "target": "mål", "peak": "Topp",
        "pass": "OK", "fail": "UTENFOR", "captions": "Teksting", "burned": "brent inn i bildet",
        "sidecar": "egen tekstfil", "none": "ingen", "warnings": "Merknader", "shade": "Vis plattformens felt",
        "publish": "Til publisering", "copy": "Kopier", "copied": "Kopiert", "title": "Tittel",
        "description": "Beskrivelse", "hashtags": "Emneknagger", "link": "Sporet lenke", "people": "Hvem er med",
        "consent": "samtykke til", "consent_soon": "samtykket går ut snart",
        "consent_none": "intet samtykke registrert",
        "contact": "Kontaktark (bilde for e-post)", "transcripts": "Teksting: rett det som er feilhørt",
        "transcript_help": "Rett teksten, last ned filen og legg den i {folder}. Neste render tidsetter ordene "
                           "på nytt mot lyden.",
        "download_srt": "Last ned rettet tekst", "play": "Spill av", "not_in_edit": "ikke med i klippet",
        "notes": "Merknader til gjennomgang", "note": "Merknad ved", "add_note": "Legg til merknad",
        "approved_by": "Godkjent av", "date": "Dato", "approve": "Godkjenn", "download_notes": "Last ned merknader",
        "notes_help": "Send review-notes.json til den som lager kampanjen: python cli.py review SPEC --notes FIL",
        "unchanged_approval": "godkjent", "glossary": "{mark} er uthevet.", "glossary_mark": "Navn og ord å sjekke",
        "clip": "Klipp",
        "seconds": "s", "no_outputs": "Ingen filer ennå: kjør render.", "name_strap": "Navneskilt",
        "name_missing": "VISES IKKE for {person}: ingen plass utenfor ansiktet og tekstingen",
        "described": "Synstolket versjon", "description_lines": "Synstolkingsmanus", "held": "bildet holdt",
        "download_descriptions": "Last ned synstolkingsmanus",
        "cutaways": "Innklipp", "over_words": "over", "over_clip": "over klipp",
        "used_by": "Brukes i", "unused_cues": "Replikker ingen film bruker ({n})",
        "legend_low": "{mark}: ord Whisper var usikker på (sannsynlighet under {pct} %). Der er feilene oftest.",
        "legend_low_mark": "Understreket med rødt",
        "low_title": "Whisper var usikker på dette ordet (sannsynlighet under {pct} %)",
        "legend_used": "Replikkene filmene bruker står først, med hvilke versjoner som bruker dem; resten er "
                       "lagt sammen nederst.",
        "save": "Lagre", "saved": "Lagret: {file}", "not_saved": "Ikke lagret",
        "reloading": "Lagret: {file}. Kampanjen lastes med den (rettet tekst tidsettes mot lyden) …",
        "reloaded": "Lagret og kontrollert: {file}",
        "reload_failed": "Lagret: {file}, men kampanjen kan ikke lastes med den",
        "render_drafts": "Lag utkast av filmene som endres", "drafts_running": "Lager utkast",
        "drafts_done": "Utkastene er ferdige i {folder}", "drafts_failed": "Utkastene feilet",
        "served_help": "Siden kjøres av Rekrutt: «Lagre» skriver filen rett i {folder}.",
        "script_title": "Synstolkingsmanus: rett det stemmen sier",
        "script_help": "Rett linjene, last ned filen og legg den som {file}. Neste render leser den.",
        "download_script": "Last ned synstolkingsmanus", "edit_in_script": "Rett linjene i synstolkingsmanuset",
        "line": "Linje",
    },
    "en": {
        "review": "Review", "versions": "Versions", "main": "Main film", "duration": "Length",
        "size": "Size", "limit": "limit", "loudness": "Loudness", "target": "target", "peak": "Peak",
        "pass": "OK", "fail": "OUT OF RANGE", "captions": "Captions", "burned": "burned into the picture",
        "sidecar": "separate caption file", "none": "none", "warnings": "Notes", "shade": "Show the platform's zones",
        "publish": "For publishing", "copy": "Copy", "copied": "Copied", "title": "Title",
        "description": "Description", "hashtags": "Hashtags", "link": "Tracked link", "people": "Who appears",
        "consent": "consent until", "consent_soon": "consent ends soon", "consent_none": "no consent on record",
        "contact": "Contact sheet (picture for e-mail)", "transcripts": "Captions: correct what was misheard",
        "transcript_help": "Correct the text, download the file and put it in {folder}. The next render re-times "
                           "the words to the audio.",
        "download_srt": "Download corrected transcript", "play": "Play", "not_in_edit": "not in the edit",
        "notes": "Review notes", "note": "Note at", "add_note": "Add note",
        "approved_by": "Approved by", "date": "Date", "approve": "Approve", "download_notes": "Download notes",
        "notes_help": "Send review-notes.json to whoever makes the campaign: python cli.py review SPEC --notes FILE",
        "unchanged_approval": "approved", "glossary": "{mark} are highlighted.",
        "glossary_mark": "Names and words to check", "clip": "Clip",
        "seconds": "s", "no_outputs": "No files yet: run render.", "name_strap": "Name strap",
        "name_missing": "NOT SHOWN for {person}: no room off the face and the captions",
        "described": "Described version", "description_lines": "Description script", "held": "picture held",
        "download_descriptions": "Download the description script",
        "cutaways": "Cutaways", "over_words": "over", "over_clip": "over clip",
        "used_by": "Used in", "unused_cues": "Cues no film uses ({n})",
        "legend_low": "{mark}: words Whisper was unsure of (probability under {pct} %). "
                      "That is where the errors usually are.",
        "legend_low_mark": "Underlined in red",
        "low_title": "Whisper was unsure of this word (probability under {pct} %)",
        "legend_used": "The cues the films use come first, with the versions that use them; the rest are "
                       "folded at the end.",
        "save": "Save", "saved": "Saved: {file}", "not_saved": "Not saved",
        "reloading": "Saved: {file}. Loading the campaign with it (a corrected transcript is re-timed to the "
                     "sound) …",
        "reloaded": "Saved and checked: {file}",
        "reload_failed": "Saved: {file}, but the campaign does not load with it",
        "render_drafts": "Render drafts of the outputs this changes", "drafts_running": "Rendering drafts",
        "drafts_done": "The drafts are done in {folder}", "drafts_failed": "The drafts failed",
        "served_help": "This page is served by Rekrutt: \"Save\" writes the file into {folder}.",
        "script_title": "Description script: correct what the voice says",
        "script_help": "Correct the lines, download the file and put it at {file}. The next render reads it.",
        "download_script": "Download the description script", "edit_in_script": "Correct the lines in the "
                                                                               "description script",
        "line": "Line",
    },
}


#: The pipeline's warnings as the page says them in bokmål: (pattern, bokmål with {1}, {2}... for its groups).
_WARNINGS_NB = [
    (r"caption reads fast \(([\d.]+) characters/s > ([\d.]+)\): (.*)", "teksten går fort ({1} tegn/s > {2}): {3}"),
    (r"caption at ([\d.]+) s covers the face: no free band in the safe area \((.*)\)",
     "teksten ved {1} s dekker ansiktet: ingen ledig plass innenfor plattformens felt ({2})"),
    (r"shortened for (.*): (\d+) optional item\(s\) left out", "forkortet for {1}: {2} valgfrie innslag utelatt"),
    (r"no name strap for (.*): no room off the face and the captions in any of their shots",
     "intet navneskilt for {1}: ingen plass utenfor ansiktet og tekstingen i noen av opptakene"),
    (r"(.*) is ([\d.]+) MB, over the platform's ([\d.]+) MB", "{1} er {2} MB, over plattformens {3} MB"),
    (r"draft: loudness applied from the measurement, not checked on the file",
     "utkast: lydstyrken er satt etter målingen, ikke kontrollert på filen"),
]


def page_language(review_language: str | None, speech_language: str) -> str:
    """The page's language: the spec's ``review_language`` where it sets one, else its speech language's."""
    if review_language:
        return review_language
    return "en" if speech_language.split("-")[0].lower() == "en" else "nb"


def warning_text(message: str, lang: str) -> tuple[str, str]:
    """(text, its language) of one of an output's warnings on a page in ``lang``: a known warning in the
    page's language; another stays as the pipeline wrote it, marked English (``lang="en"`` on the page)."""
    if lang == "en":
        return message, "en"
    for pattern, said in _WARNINGS_NB:
        m = re.fullmatch(pattern, message, flags=re.S)
        if m:
            return said.format(None, *m.groups()), lang
    return message, "en"
