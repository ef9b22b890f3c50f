"""The producer's corrections of the description script: ``descriptions/script.yml`` beside the spec.

The synstolking script is drafted from the spec (names, cards, ``describe:``); a line whose drafted
text should be said otherwise (a name said more clearly, a card read in other words) is corrected
here, by its id (the ids ``describe export`` and the review page show)::

    # descriptions/script.yml: line id: what the voice says instead of the drafted text
    kort-slutt: "Søk nå på fjordvik.kommune.no/jobb. Søknadsfrist 1. mars."

It lives beside the recordings (``descriptions/<id>.wav``) because it is their text. The review page
downloads it, and saves it where it is served (``review SPEC --serve``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from . import yamlpos
from .errors import SpecError, SpecProblem

#: The file, relative to the spec's folder.
SCRIPT_FILE = Path("descriptions") / "script.yml"
#: The longest line of description the file may hold (characters): a line is spoken in a pause.
MAX_CHARS = 600
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_HINT = "write one line per description line: <line id>: \"what the voice says\" (python cli.py describe export SPEC)"


def script_problems(text: str, name: str) -> tuple[dict[str, str], list[SpecProblem]]:
    """The corrections in a script file's text and the problems with it (each with its line)."""
    try:
        located = yamlpos.load(text, name)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        return {}, [SpecProblem(name, mark.line + 1 if mark else None, mark.column + 1 if mark else None, "",
                                f"not YAML ({getattr(exc, 'problem', None) or exc})", _HINT)]
    data = located.data
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return {}, [SpecProblem(name, 1, None, "", "should be a list of <line id>: text", _HINT)]
    out: dict[str, str] = {}
    problems = []
    for key, value in data.items():
        mark = located.mark((key,))
        line = mark.line if mark else None
        if not isinstance(key, str) or not _ID.match(key):
            problems.append(SpecProblem(name, line, None, str(key), "is not a line id (a-z, 0-9, -)", _HINT))
        elif not isinstance(value, str) or not value.strip():
            problems.append(SpecProblem(name, line, None, key, "should be the line's text in quotes, not empty",
                                        _HINT))
        elif len(value) > MAX_CHARS or "\x00" in value:
            problems.append(SpecProblem(name, line, None, key, f"is not a line of description (at most "
                                        f"{MAX_CHARS} characters of text)", "shorten it"))
        else:
            out[key] = " ".join(value.split())
    return out, problems


def read_script(path: Path) -> dict[str, str]:
    """The corrections in ``path`` (empty when there is no file); raises :class:`SpecError` with the line."""
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise SpecError([SpecProblem(str(path), None, None, "", f"cannot read the file ({exc})",
                                     "save it as UTF-8 text")]) from None
    lines, problems = script_problems(text, str(path))
    if problems:
        raise SpecError(problems)
    return lines


def script_text(lines: Mapping[str, str]) -> str:
    """A script file's text for these corrections (ids in order, text quoted)."""
    head = "# Synstolking: line id: what the voice says (read by render; see python cli.py describe export SPEC)\n"
    # a JSON string is a YAML double-quoted scalar: one line, every character kept
    return head + "".join(f"{key}: {json.dumps(value, ensure_ascii=False)}\n" for key, value in lines.items())
