"""The progress reports of long stages (pure logic: the sink, throttling, ETA)."""

from __future__ import annotations

import pytest

from pipeline import progress


def test_a_task_reports_start_updates_and_end_to_the_sink():
    seen: list[progress.Step] = []
    with progress.use(seen.append):
        with progress.task("transcribing anne", total=10.0, every=0.0) as t:
            t.update(2.5)
            t.update(1.0)  # never goes back
            t.advance(2.5)
    assert [s.kind for s in seen] == ["start", "update", "update", "update", "end"]
    assert [s.done for s in seen[1:4]] == [2.5, 2.5, 5.0]
    assert seen[-1].fraction == 0.5 and seen[0].task == "transcribing anne" and seen[0].unit == "s"


def test_updates_are_throttled_and_the_end_comes_even_on_failure():
    seen: list[progress.Step] = []
    with progress.use(seen.append), pytest.raises(RuntimeError):
        with progress.task("aligning", total=100.0, every=60.0) as t:
            for i in range(100):
                t.update(i)
            raise RuntimeError("boom")
    assert [s.kind for s in seen] == ["start", "update", "end"]


def test_eta_follows_the_pace_and_no_sink_costs_nothing():
    step = progress.Step("x", "update", done=25.0, total=100.0, unit="s", elapsed=10.0)
    assert step.eta == pytest.approx(30.0)
    assert progress.Step("x", "start", 0, 100, "s", 0).eta is None
    with progress.use(None):
        with progress.task("quiet", total=1.0) as t:
            t.update(1.0)
