"""YAML loading that remembers where every value came from.

PyYAML's composer already records a start mark (line, column) on every node; we
build plain Python data from the node tree and keep a map from key path to mark,
so validation errors can name the line and column. Booleans follow YAML 1.2
(only true/false): ``language: no`` is the string "no" (Norwegian), not False.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    line: int  #: 1-based
    column: int  #: 1-based


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (no yes/no/on/off)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class Located:
    """Data loaded from YAML with the position of every value and key."""

    data: object
    values: dict[Loc, Mark]  #: where each value starts
    keys: dict[Loc, Mark]  #: where each mapping key starts (for unknown-key errors)

    def mark(self, loc: Loc, at_key: bool = False) -> Mark | None:
        """The closest known position for a key path (falls back to its parents).

        ``at_key`` points at the key itself rather than its value (for unknown keys).
        """
        loc = tuple(loc)
        if at_key and loc in self.keys:
            return self.keys[loc]
        while True:
            if loc in self.values:
                return self.values[loc]
            if not loc:
                return None
            loc = loc[:-1]


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def load(text: str, name: str = "<spec>") -> Located:
    """Parse YAML text. Raises yaml.YAMLError (with marks) on syntax errors."""
    loader = _Loader(text)
    loader.name = name
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    values: dict[Loc, Mark] = {}
    keys: dict[Loc, Mark] = {}

    def build(node: yaml.Node | None, loc: Loc) -> object:
        if node is None:
            return None
        values[loc] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[object, object] = {}
            constructor = _Loader("")
            constructor.flatten_mapping(node)
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                if isinstance(key, (dict, list)):
                    key = str(key)
                keys[loc + (key,)] = _mark(key_node)
                out[key] = build(value_node, loc + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(child, loc + (i,)) for i, child in enumerate(node.value)]
        return _Loader("").construct_object(node, deep=True)

    data = build(root, ())
    return Located(data, values, keys)


def load_file(path: Path) -> Located:
    return load(path.read_text(encoding="utf-8"), str(path))
