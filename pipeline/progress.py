"""Progress of the long stages (transcription, alignment, sound clean-up, face analysis) as data.

The library reports; it never draws. A stage opens a task with its total (seconds of audio, frames) and
advances it; whoever runs the library installs a sink (the CLI draws a bar with ETA on a terminal and plain
lines in CI). With no sink installed, reports cost nothing and nothing is shown.

    with progress.task("transcribing anne", total=412.0, unit="s") as t:
        for segment in segments:
            t.update(segment.end)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Step:
    """One report of a task: where it is (``done`` of ``total`` in ``unit``) and how long it has run."""

    task: str
    kind: Literal["start", "update", "end"]
    done: float
    total: float
    unit: str
    elapsed: float

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the pace so far; None before there is a pace."""
        if self.kind != "update" or self.done <= 0 or self.elapsed <= 0 or self.total <= 0:
            return None
        return max(0.0, (self.total - self.done) * self.elapsed / self.done)


Sink = Callable[[Step], None]

_lock = threading.Lock()
_sink: Sink | None = None


def set_sink(sink: Sink | None) -> Sink | None:
    """Install ``sink`` for every thread; returns the one it replaces."""
    global _sink
    with _lock:
        previous, _sink = _sink, sink
    return previous


@contextmanager
def use(sink: Sink | None) -> Iterator[None]:
    previous = set_sink(sink)
    try:
        yield
    finally:
        set_sink(previous)


class Task:
    """A running task. ``update(done)`` sets the absolute amount done; reports are at most ``every`` s apart."""

    def __init__(self, name: str, total: float, unit: str, every: float = 0.25):
        self.name, self.total, self.unit, self.every = name, float(total), unit, every
        self.started = time.monotonic()
        self.done = 0.0
        self._last = -every

    def _emit(self, kind: Literal["start", "update", "end"]) -> None:
        sink = _sink
        if sink is not None:
            sink(Step(self.name, kind, self.done, self.total, self.unit, time.monotonic() - self.started))

    def update(self, done: float) -> None:
        self.done = min(max(float(done), self.done), self.total) if self.total > 0 else float(done)
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._emit("update")

    def advance(self, amount: float) -> None:
        self.update(self.done + amount)


@contextmanager
def task(name: str, total: float, unit: str = "s", every: float = 0.25) -> Iterator[Task]:
    """Report a stage's start, its progress and its end (the end also when it fails)."""
    t = Task(name, total, unit, every)
    t._emit("start")
    try:
        yield t
    finally:
        t._emit("end")
