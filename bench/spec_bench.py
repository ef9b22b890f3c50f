"""Spec loading benchmark: long specs stay linear, alias bombs are refused at once.

Measured in one run, on this machine, as ratios:

(a) ``validate`` of a spec with a 10,000-item sequence (no media to probe beyond one clip) against a
    baseline: PyYAML's own pure-Python ``safe_load`` of the same text (what any YAML reading costs);
(b) the same spec at 1,000 and 10,000 items: the time ratio should be near 10 (linear);
(c) a "billion laughs" document (nine levels of nine aliases): seconds until it is refused.

Usage: python bench/spec_bench.py
Targets: (a) under 1 s for 10,000 items; (b) ratio <= 12; (c) refused in under 1 s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.errors import SpecError  # noqa: E402
from pipeline.load import load_campaign  # noqa: E402

HEAD = """\
campaign: bench
title: Bench
clips:
  anne: {{source: {clip}}}
sequence:
  - clip: anne
    to: 1
"""
TAIL = """\
cards:
  end: {lines: ["Vi trenger deg!"], duration: 1}
channels: [web]
"""


def spec_text(items: int) -> str:
    clip = ROOT / "assets" / "clips" / "anne.mp4"
    return HEAD.format(clip=clip) + "".join("  - card: end\n" for _ in range(items)) + TAIL


def timed(fn) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for n in (1_000, 10_000):
            paths[n] = Path(tmp) / f"spec-{n}.yml"
            paths[n].write_text(spec_text(n), encoding="utf-8")
        t_small = timed(lambda: load_campaign(paths[1_000]))
        t_big = timed(lambda: load_campaign(paths[10_000]))
        text = paths[10_000].read_text(encoding="utf-8")
        t_base = timed(lambda: yaml.load(text, Loader=yaml.SafeLoader))
        bomb = Path(tmp) / "bomb.yml"
        body = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        for name, prev in zip("bcdefghi", "abcdefgh", strict=True):
            body += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        bomb.write_text(body, encoding="utf-8")

        def refuse() -> None:
            try:
                load_campaign(bomb)
            except SpecError:
                return
            raise AssertionError("the bomb was not refused")

        t_bomb = timed(refuse)
    print(f"validate, 10,000-item sequence: {t_big:.3f} s "
          f"({t_big / t_base:.2f}x PyYAML's own pure-Python safe_load of the same text, {t_base:.3f} s)")
    print(f"linearity, 10,000 vs 1,000 items: {t_big / t_small:.1f}x the time for 10x the items")
    print(f"billion-laughs spec refused in {t_bomb:.3f} s")


if __name__ == "__main__":
    main()
