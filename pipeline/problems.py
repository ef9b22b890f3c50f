"""Problems of a spec file: collected with file, line, column and key path, in the producer's words.

:class:`Problems` collects them from a located YAML document (:func:`read_located`);
:func:`shape_problems` turns pydantic's validation errors into them, with a did-you-mean
(:func:`did_you_mean`) for a misspelt key or id.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Annotated, Union

import yaml
from pydantic import BaseModel, ValidationError

from .errors import SpecError, SpecProblem
from .spec import CampaignSpec, CardItem, ClipItem
from .yamlpos import Loc, Located, YamlLimitError, load_file

_HINTS = {
    "missing": "add this key",
    "extra_forbidden": "remove it or fix its spelling",
    "string_type": "write it as text",
    "int_parsing": "write a whole number",
    "float_parsing": "write a number",
    "list_type": "write a list, e.g. [a, b]",
    "dict_type": "write a mapping of key: value lines",
    "too_short": "add at least one entry",
}


def _unwrap(annotation: object) -> object:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def known_keys(loc: Loc, root: type[BaseModel] | None = None) -> list[str]:
    """Field names (aliases) allowed at the mapping that holds ``loc[-1]`` (in a campaign spec, or ``root``)."""
    current: object = root or CampaignSpec
    for part in loc[:-1]:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            if part not in fields:
                return []
            current = fields[part].annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is list:
            current = typing.get_args(current)[0]
        elif typing.get_origin(current) in (Union, types.UnionType):
            options = {
                "clip": ClipItem, "card": CardItem,
            }
            if part in options:
                current = options[part]
            else:
                return []
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def display_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class Problems:
    """Collects problems with positions from a located document."""

    def __init__(self, file: Path, located: Located | None):
        self.file = str(file)
        self.located = located
        self.problems: list[SpecProblem] = []

    def add(self, loc: Loc, message: str, hint: str = "", at_key: bool = False) -> None:
        mark = self.located.mark(loc, at_key) if self.located else None
        self.problems.append(
            SpecProblem(self.file, mark.line if mark else None, mark.column if mark else None,
                        display_path(loc), message, hint)
        )


def did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "expected one of: " + ", ".join(sorted(options)) if options else ""


def shape_problems(collector: Problems, error: ValidationError, root: type[BaseModel] | None = None) -> None:
    """Pydantic's errors as problems in the spec's words: the key path as written, one message a place.

    A value that may take several forms (``focus: 0.3`` or ``left``) fails once per form, each with
    pydantic's name for the form in its loc (``function-before[...]``, ``literal[...]``): those are
    dropped, and a place keeps the project's own message where one of the forms gave one.
    """
    data = collector.located.data if collector.located is not None else None
    found: dict[tuple, list[dict]] = {}
    for err in error.errors():
        # The discriminated union adds its tag ('clip'/'card') to the loc: drop it.
        raw = tuple(err["loc"])
        loc = _user_loc(strip_tags(raw), data, err["type"])
        found.setdefault(loc, []).append({**err, "raw": raw})
    for loc, errs in found.items():
        own = [e for e in errs if e["type"] in ("spec_time", "value_error")]
        if own:
            errs = own[:1]
        elif len(errs) > 1:  # every form failed on pydantic's own words: say them together
            first = errs[0]
            errs = [{**first, "msg": "; or ".join(dict.fromkeys(e["msg"] for e in errs))}]
        err = errs[0]
        kind = err["type"]
        if loc[-1:] == ("[key]",):  # a mapping's key (a clip, card or version id) failed its rule: point at it
            collector.add(loc[:-1], err["msg"].removeprefix("Value error, "), _HINTS.get(kind, ""), at_key=True)
        elif kind == "extra_forbidden":
            known = known_keys(err["raw"], root)
            collector.add(loc, f"unknown key '{loc[-1]}'", did_you_mean(str(loc[-1]), known), at_key=True)
        elif kind == "missing":
            collector.add(loc, "this key is required", _HINTS["missing"])
        else:
            message = err["msg"].removeprefix("Value error, ")
            hint = (err.get("ctx") or {}).get("hint") or _HINTS.get(kind, "")
            if collector.located is not None and loc + ("says",) in collector.located.values:
                loc = loc + ("says",)  # an item-level rule about a quote: point at the quote
            collector.add(loc, message, hint)


def _user_loc(loc: tuple, data: object, kind: str) -> tuple:
    """The part of a pydantic loc that the user wrote: keys and list positions found in ``data``.

    Anything else in it names one of pydantic's forms of a value (``function-before[_time(), fraction]``,
    ``list[...]``, ``literal['left','right']``) and is dropped; a missing key stays (it is not there yet).
    """
    out: list = []
    current = data
    for i, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            current = current[part]
            out.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            out.append(part)
        elif isinstance(current, dict) and i == len(loc) - 1 and kind == "missing":
            out.append(part)
        elif data is None:
            out.append(part)
    return tuple(out)


def strip_tags(loc: tuple) -> tuple:
    """Drop the union tag pydantic puts after ``sequence[i]`` (it is not a key the user wrote),
    in the main sequence and in versions' sequences."""
    for at in range(len(loc) - 2):
        if loc[at] == "sequence" and isinstance(loc[at + 1], int) and loc[at + 2] in ("clip", "card"):
            return loc[:at + 2] + loc[at + 3:]
    return loc


def read_located(path: Path) -> tuple[Located, Problems]:
    """The spec's YAML with positions; syntax errors, alias bombs and duplicate keys as problems."""
    try:
        located = load_file(path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError([SpecProblem(
            str(path), mark.line + 1 if mark else None, mark.column + 1 if mark else None, "",
            f"YAML syntax error: {exc.problem or exc}", "fix the indentation or quoting at this place")]) from None
    except YamlLimitError as exc:
        raise SpecError([SpecProblem(
            str(path), exc.mark.line if exc.mark else None, exc.mark.column if exc.mark else None, "", str(exc),
            "write the values out, or use fewer nested aliases (&name / *name)")]) from None
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        raise SpecError([SpecProblem(str(path), None, None, "", f"cannot read YAML: {exc}",
                                     "save the file as UTF-8 YAML")]) from None
    collector = Problems(path, located)
    for dup in located.duplicates:
        what = "clip id" if dup.loc[:1] == ("clips",) and len(dup.loc) == 2 else \
            "card id" if dup.loc[:1] == ("cards",) and len(dup.loc) == 2 else "key"
        collector.problems.append(SpecProblem(
            str(path), dup.again.line, dup.again.column, display_path(dup.loc),
            f"{what} '{dup.loc[-1]}' is given twice (line {dup.first.line} and line {dup.again.line}); "
            "only one can count", "remove one, or give the second another name"))
    return located, collector
