"""The steps of getting a call ready, as whoever waits hears them."""

from __future__ import annotations

import itertools

import pytest

from assist.models import Preparation, Step


def test_each_step_is_told_as_it_starts_and_as_it_ends():
    heard: list[Step] = []
    ticks = itertools.count(10.0, 0.5)
    prep = Preparation(["speech recogniser", "knowledge base"], heard.append, lambda: next(ticks))
    with prep.step("speech recogniser", "tiny.en"):
        pass
    with prep.step("knowledge base"):
        pass
    assert [(s.number, s.total, s.label, s.done) for s in heard] == [
        (1, 2, "speech recogniser (tiny.en)", False), (1, 2, "speech recogniser (tiny.en)", True),
        (2, 2, "knowledge base", False), (2, 2, "knowledge base", True)]
    assert [s.elapsed for s in heard] == [0.0, 0.5, 1.0, 1.5]
    assert [s.took for s in heard if s.done] == [0.5, 0.5]


def test_a_failed_step_is_told_only_as_it_started():
    heard: list[Step] = []
    prep = Preparation(["mood model", "checklists"], heard.append)
    with pytest.raises(OSError), prep.step("mood model"):
        raise OSError("disk full")
    assert [(s.what, s.done) for s in heard] == [("mood model", False)]


def test_a_step_outside_the_plan_is_a_bug():
    with pytest.raises(ValueError), Preparation(["speech recogniser"]).step("mood model"):
        pass
