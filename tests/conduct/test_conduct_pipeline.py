"""Every analyzer of how the call goes, on real pipeline output: a two-voice call with an
interruption, a customer who gets upset and restates the problem, and every step taken,
replayed through recognition with all the default analyzers (bench/conduct.py's set)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assist.audio import FileSource
from assist.call import CallSettings, Pipeline
from assist.events import (
    CUSTOMER,
    ChecklistStatus,
    Flag,
    Overtalk,
    Repeat,
    Sentiment,
    Utterance,
    WrapUp,
)
from assist.session import default_analyzers

CALL = Path(__file__).parents[1] / "data" / "calls" / "conduct-escalating.flac"


@pytest.fixture(scope="module")
def labels():
    return json.loads(CALL.with_suffix(".json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def events(whisper_model, labels):
    settings = CallSettings.build(company=labels["company"])
    source = FileSource(CALL)
    out: list = []
    Pipeline(whisper_model, source.speakers, settings.asr_options,
             analyzers=default_analyzers(settings), sinks=[out.append],
             model_name="tiny.en").run(source)
    return out


def test_the_interruption_is_one_overtalk_of_the_agent(events, labels):
    (want,) = labels["overtalk"]
    (got,) = [e for e in events if isinstance(e, Overtalk)]
    assert got.speaker == want["speaker"] == "agent"
    assert abs(got.start - want["start"]) < 0.5 and abs(got.duration - want["duration"]) < 0.6
    # sent as it ended, not at the end of the call
    after = events.index(got)
    assert any(isinstance(e, Utterance) for e in events[after:])


def test_every_step_is_ticked(events, labels):
    last = {e.item: e.status for e in events if isinstance(e, ChecklistStatus)}
    assert last == labels["expect"]["checklist"]


def test_the_rise_is_flagged_within_two_turns_with_one_move(events, labels):
    customer = [t for t in labels["turns"] if t["speaker"] == CUSTOMER]
    first_upset = next(t for t in customer if t["mood"] in ("frustrated", "angry"))
    moods = [e for e in events if isinstance(e, Sentiment)]
    assert moods[0].label in ("neutral", "positive")
    rise = next(e for e in moods if e.label in ("frustrated", "angry"))
    assert rise.suggestion
    heard_before = [e for e in events[:events.index(rise)]
                    if isinstance(e, Utterance) and e.speaker == CUSTOMER]
    turn = next(i for i, t in enumerate(customer) if t["end"] >= heard_before[-1].start)
    assert customer.index(first_upset) <= turn <= customer.index(first_upset) + 2


def test_the_restated_problem_is_counted(events):
    counts = [e.count for e in events if isinstance(e, Repeat)]
    assert counts and counts[0] == 2


def test_the_wrapup_comes_last_with_the_calls_figures(events):
    wrapup = events[-2]
    assert isinstance(wrapup, WrapUp) and events[-1].type == "end"
    assert wrapup.overtalk == 1 and wrapup.checklist_missed == []
    assert wrapup.sentiment_end is not None and wrapup.sentiment_end < wrapup.sentiment_start
    assert 0.4 < wrapup.talk_agent < 0.8 and wrapup.summary.startswith("Customer: ")
    assert wrapup.flags == [e.phrase for e in events if isinstance(e, Flag) and e.final]
