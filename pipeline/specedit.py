"""Rewriting values in a spec file in place, keeping its comments, order, quoting and layout.

``validate --update-quotes`` writes the corrected transcript's wording into ``says:`` keys; the
file is read and written with ruamel.yaml's round-trip mode, so everything else stays as the
producer wrote it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from .errors import SpecError, SpecProblem
from .files import write_text_atomic

#: an indented ``key:`` line (not a sequence entry): how far the file indents a mapping
_NESTED_KEY = re.compile(r"^( +)[^\s#\-][^:\n]*:", re.MULTILINE)


def set_values(path: Path, changes: dict[tuple, str]) -> int:
    """Set each key path (("sequence", 2, "says"), ...) of the YAML file to its new string; returns how
    many changed. A value keeps its quoting style (plain, 'single', "double")."""
    # ruamel.yaml is imported here: only --update-quotes rewrites a spec (a render has no use for it)
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
    from ruamel.yaml.util import load_yaml_guess_indent

    text = path.read_text(encoding="utf-8")
    try:
        _, indent, offset = load_yaml_guess_indent(text)
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 4096  # never fold a long line the producer wrote on one
        nested = [len(m.group(1)) for m in _NESTED_KEY.finditer(text)]
        yaml.indent(mapping=min(nested, default=2), sequence=indent or 2, offset=offset or 0)
        data = yaml.load(text)
    except YAMLError as exc:
        raise SpecError([SpecProblem(str(path), None, None, "", f"cannot rewrite the spec ({exc})", "")]) from exc
    changed = 0
    for keys, value in changes.items():
        node = data
        for key in keys[:-1]:
            node = node[key]
        old = node[keys[-1]]
        if old == value:
            continue
        if isinstance(old, DoubleQuotedScalarString):
            value = DoubleQuotedScalarString(value)
        elif isinstance(old, SingleQuotedScalarString):
            value = SingleQuotedScalarString(value)
        elif any(ch in value for ch in ":#'\"") or value != value.strip():
            value = DoubleQuotedScalarString(value)
        node[keys[-1]] = value
        changed += 1
    if changed:
        out = io.StringIO()
        yaml.dump(data, out)
        write_text_atomic(path, out.getvalue())
    return changed


def quote_updates(campaign) -> dict[tuple, str]:
    """Key path of each ``says:`` matched through a correction -> the corrected transcript's wording."""
    return {loc + ("says",): r.corrected_says for loc, r in campaign.quotes.items() if r.corrected_says is not None}
