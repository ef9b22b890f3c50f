"""The order the worker pool takes an example render's jobs in (issue 25): the first job of each described
sound goes ahead, so that two workers never start on outputs that share a described sound track (one would
wait for the other to make it); the rest follow largest first."""

from __future__ import annotations

from pathlib import Path

from pipeline import schedule
from pipeline.jobs import RenderOptions, plan
from pipeline.load import load_campaign

SPEC = Path(__file__).resolve().parent.parent / "campaigns" / "fjordvik-2026.yml"


def _order(jobs):
    return schedule.order([((j.spec, j.version), j.output) for j in jobs])


def _sound_group(job):
    return schedule.sound_group((job.spec, job.version), job.output)


def _work(job):
    return schedule.work(job.output)


def _jobs():
    campaign = load_campaign(SPEC)
    return [j for j in plan([campaign], RenderOptions(jobs=2)) if j.version is None]  # the main film


def test_each_sound_leads_once_then_largest_first():
    jobs = _jobs()
    order = _order(jobs)
    assert sorted(order) == list(range(len(jobs)))
    groups = [_sound_group(jobs[i]) for i in order]
    distinct = len(set(groups))
    assert distinct == 3  # the example: AAC 192k (YouTube, Reels …), X and web at 128k, cinema's 6-channel PCM
    lead, rest = order[:distinct], order[distinct:]
    assert len({_sound_group(jobs[i]) for i in lead}) == distinct  # the first two workers start on two sounds
    assert [_work(jobs[i]) for i in rest] == sorted((_work(jobs[i]) for i in rest), reverse=True)
    # each sound's lead is its largest output
    for i in lead:
        same = [j for j in range(len(jobs)) if _sound_group(jobs[j]) == _sound_group(jobs[i])]
        assert _work(jobs[i]) == max(_work(jobs[j]) for j in same)
    assert {jobs[i].channel for i in lead} == {"youtube", "x", "cinema"}


def test_every_film_has_its_own_sounds():
    campaign = load_campaign(SPEC)
    jobs = plan([campaign], RenderOptions(jobs=2))
    order = _order(jobs)
    films = {(j.version, _sound_group(j)) for j in jobs}
    assert len(films) == len({_sound_group(j) for j in jobs})  # a version's sound is its own
    assert len({_sound_group(jobs[i]) for i in order[:len(films)]}) == len(films)


def test_sound_group_follows_the_sound_settings():
    jobs = {j.channel: j for j in _jobs()}
    assert _sound_group(jobs["youtube"]) == _sound_group(jobs["instagram-reels"]) == _sound_group(jobs["linkedin"])
    assert _sound_group(jobs["x"]) == _sound_group(jobs["web"])
    assert _sound_group(jobs["x"]) != _sound_group(jobs["youtube"]) != _sound_group(jobs["cinema"])
