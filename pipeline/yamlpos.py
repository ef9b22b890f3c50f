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


# libyaml's parser (C) composes ten times faster than PyYAML's own; both give node marks.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """SafeLoader with YAML 1.2 booleans (no yes/no/on/off)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


#: Most values an aliased document may expand to, as a multiple of the nodes actually written
#: (and never less than :data:`MIN_EXPANSION`): bounds "billion laughs" documents.
EXPANSION_FACTOR = 10
MIN_EXPANSION = 100_000


class YamlLimitError(ValueError):
    """The document is not one a person writes: aliases expand it past the budget, or refer to themselves."""

    def __init__(self, message: str, mark: Mark | None):
        self.mark = mark
        super().__init__(message)


@dataclass(frozen=True)
class Duplicate:
    """A mapping key given twice (YAML says keys are unique; PyYAML keeps the last silently)."""

    loc: tuple  #: key path of the repeated key
    first: Mark  #: where it was first given
    again: Mark  #: where it was given again


@dataclass(frozen=True)
class Located:
    """Data loaded from YAML with the position of every value and key."""

    data: object
    values: dict[Loc, Mark]  #: where each value starts
    keys: dict[Loc, Mark]  #: where each mapping key starts (for unknown-key errors)
    duplicates: tuple[Duplicate, ...] = ()  #: keys given twice in one mapping

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


def _count_nodes(root: yaml.Node | None) -> int:
    """Distinct nodes in the composed document (an alias points at a node already counted)."""
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack += [k, v]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return len(seen)


def load(text: str, name: str = "<spec>") -> Located:
    """Parse YAML text in one pass, linear in its size.

    Raises yaml.YAMLError (with marks) on syntax errors and :class:`YamlLimitError`
    when aliases would expand the document past a small multiple of its written size.
    """
    loader = _Loader(text)
    values: dict[Loc, Mark] = {}
    keys: dict[Loc, Mark] = {}
    duplicates: list[Duplicate] = []
    try:
        root = loader.get_single_node()
        budget = max(MIN_EXPANSION, EXPANSION_FACTOR * _count_nodes(root))
        built = [0]
        active: set[int] = set()

        def scalar(node: yaml.Node) -> object:
            # one constructor for the whole document (a new loader per scalar was the slow part)
            value = loader.construct_object(node, deep=True)
            return str(value) if isinstance(value, (dict, list)) else value

        def build(node: yaml.Node | None, loc: Loc) -> object:
            if node is None:
                return None
            built[0] += 1
            if built[0] > budget:
                raise YamlLimitError(
                    f"aliases (*name) expand this document past {budget:,} values", _mark(node))
            values[loc] = _mark(node)
            if isinstance(node, yaml.MappingNode):
                if id(node) in active:
                    raise YamlLimitError("an alias refers to the mapping that contains it", _mark(node))
                active.add(id(node))
                loader.flatten_mapping(node)
                out: dict[object, object] = {}
                first_seen: dict[object, Mark] = {}
                for key_node, value_node in node.value:
                    key = scalar(key_node)
                    key_mark = _mark(key_node)
                    if key in first_seen:
                        duplicates.append(Duplicate(loc + (key,), first_seen[key], key_mark))
                    first_seen.setdefault(key, key_mark)
                    keys[loc + (key,)] = key_mark
                    out[key] = build(value_node, loc + (key,))
                active.discard(id(node))
                return out
            if isinstance(node, yaml.SequenceNode):
                if id(node) in active:
                    raise YamlLimitError("an alias refers to the list that contains it", _mark(node))
                active.add(id(node))
                items = [build(child, loc + (i,)) for i, child in enumerate(node.value)]
                active.discard(id(node))
                return items
            return loader.construct_object(node, deep=True)

        data = build(root, ())
    finally:
        loader.dispose()
    return Located(data, values, keys, tuple(duplicates))


def load_plain(text: str) -> object:
    """Plain data from YAML text, with the same rules (YAML 1.2 booleans, bounded aliases)."""
    return load(text).data


def load_file(path: Path) -> Located:
    return load(path.read_text(encoding="utf-8"), str(path))
