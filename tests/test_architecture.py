"""The import contract (issue 24): layers, no cycles, no private names across modules, small modules.

Every ``import``/``from`` of a project module in pipeline/, cli.py and console.py counts, function-local
and TYPE_CHECKING ones included. A module imports only from lower layers, or from modules listed before
it in its own layer. README's "Layout" shows the same map.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Bottom to top; within a layer, a module may import those listed before it.
LAYERS = [
    ["timecode", "errors", "yamlpos", "names", "files", "fonts", "images", "languages", "progress", "reviewwords",
     "stamp"],
    ["channels", "encoding", "probe", "ffmpeg", "loudness", "cache", "cta", "voice"],
    ["spectypes", "spec", "problems", "brand", "library", "cuefile", "scriptfile"],
    ["campaign"],
    ["whisperrun", "transcribe", "transcripts"],
    ["cutaway", "timeline", "reframe", "job", "placement", "cards", "captions", "pauses", "edit"],
    ["subtitles", "posters", "sound", "interchange", "export", "plan", "render", "stills", "describe",
     "describedsound", "described", "accessibility", "cutaways"],
    ["textcheck", "load", "specedit"],
    ["outplan", "manifest", "output", "desk", "sheet", "review", "schedule"],
    ["jobs", "report", "ci", "serve"],
    ["console", "clirun", "cli"],
]
RANK = {name: (layer, i) for layer, names in enumerate(LAYERS) for i, name in enumerate(names)}
MAX_LINES = 600


def modules() -> dict[str, Path]:
    found = {p.stem: p for p in (ROOT / "pipeline").glob("*.py") if p.stem != "__init__"}
    return {**found, "cli": ROOT / "cli.py", "clirun": ROOT / "clirun.py", "console": ROOT / "console.py"}


def edges(path: Path) -> list[tuple[str, int, list[str]]]:
    """(module imported, line, names taken) for every import of a project module in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name.removeprefix("pipeline."), node.lineno, []) for a in node.names
                    if a.name.startswith("pipeline.") or a.name == "console"]
        elif isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "pipeline"):
            base = (node.module or "").removeprefix("pipeline").lstrip(".")
            if base:
                out.append((base, node.lineno, [a.name for a in node.names]))
            else:  # from . import x / from pipeline import x
                out += [(a.name, node.lineno, []) for a in node.names if a.name in modules()]
    return out


def test_the_import_contract():
    graph: dict[str, set[str]] = {}
    bad = []
    for name, path in modules().items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            bad.append(f"{path.name} has {lines} lines (at most {MAX_LINES}): split it by what it is")
        if name not in RANK:
            bad.append(f"{path.name} is in no layer of tests/test_architecture.py LAYERS")
            continue
        for target, line, names in edges(path):
            where = f"{path.name}:{line} imports {target}"
            if target == "__version__" or target not in modules():
                continue
            graph.setdefault(name, set()).add(target)
            if target in RANK and RANK[target] >= RANK[name]:
                bad.append(f"{where}, which is not below it (layer {RANK[target][0]} vs {RANK[name][0]})")
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if private:
                bad.append(f"{where}'s private {', '.join(private)}: make it public or keep it there")
            if path.parent.name == "pipeline" and target in ("console", "cli"):
                bad.append(f"{where}: the library never imports the command line's console")
        if path.parent.name == "pipeline" and any(e[0] == "click" for e in _plain_imports(path)):
            bad.append(f"{path.name} imports click: the library never does")
    bad += [f"import cycle: {' -> '.join(c)}" for c in _cycles(graph)]
    assert not bad, "the import contract (see tests/test_architecture.py and README's Layout):\n  " + \
        "\n  ".join(bad)


def _plain_imports(path: Path) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name.split(".")[0], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.append((node.module.split(".")[0], node.lineno))
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected part of the graph found by a depth-first walk."""
    found, done = [], set()

    def walk(node: str, path: list[str]) -> None:
        if node in path:
            found.append(path[path.index(node):] + [node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            walk(nxt, path + [node])
        done.add(node)

    for start in sorted(graph):
        walk(start, [])
    return found
