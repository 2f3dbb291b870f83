"""The pipeline and its --jsonl contract, on the bundled sample call and edge cases."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf

from assist.call import DeadAirMonitor
from assist.events import EVENT_TYPES, DeadAir, Utterance
from assist.resources import sample_call
from helpers import of_type, run_file

REQUIRED = {
    "ready": set(),
    "partial": {"speaker", "text"},
    "utterance": {"speaker", "start", "end", "text"},
    "flag": {"phrase", "speaker", "text", "start", "end", "severity", "suggestion"},
    "suggestion": {"article", "title", "score"},
    "painpoint": {"cluster", "label", "count"},
    "deadair": {"speaker", "start", "duration"},
    "end": {"call"},
}


@pytest.fixture(scope="module")
def sample_events(whisper_model, embedder):
    from assist.kb import KbAdvisor
    from assist.phrases import PhraseDetector

    analyzers = [DeadAirMonitor(), PhraseDetector(embedder=embedder), KbAdvisor(embedder=embedder)]
    return run_file(whisper_model, sample_call(), analyzers=analyzers)


@pytest.fixture(scope="module")
def script():
    return json.loads(sample_call().with_suffix(".json").read_text())


def test_event_stream_schema(sample_events):
    lines = [json.loads(e.to_json()) for e in sample_events]
    assert lines[0]["type"] == "ready" and lines[-1]["type"] == "end"
    assert [line["type"] for line in lines].count("end") == 1
    for line in lines:
        assert line["type"] in EVENT_TYPES
        assert isinstance(line["t"], float | int) and line["t"] >= 0
        assert REQUIRED[line["type"]] <= line.keys(), line
    times = [line["t"] for line in lines]
    assert times == sorted(times), "t must not go backwards"


def test_sample_call_turns_land_on_the_right_speaker(sample_events, script):
    utterances = of_type(sample_events, "utterance")
    for turn in script["turns"]:
        # each scripted turn is covered by an utterance of the same speaker
        overlapping = [u for u in utterances
                       if u.start < turn["end"] and u.end > turn["start"]]
        assert overlapping, turn
        assert {u.speaker for u in overlapping} == {turn["speaker"]}, turn


def test_sample_call_words(sample_events):
    agent = " ".join(u.text.lower() for u in of_type(sample_events, "utterance") if u.speaker == "agent")
    customer = " ".join(u.text.lower() for u in of_type(sample_events, "utterance") if u.speaker == "customer")
    assert "calm down" in agent and "already said" in agent
    assert "card" in customer and "post" in customer
    assert "calm" not in customer


def test_sample_call_dead_air_is_reported_once(sample_events, script):
    dead = of_type(sample_events, "deadair")
    assert len(dead) == 1
    silence = script["silence"]
    assert silence["start"] - 0.2 <= dead[0].start <= silence["start"] + 1.0
    assert dead[0].duration >= 10.0


def test_dead_air_monitor_rule():
    monitor = DeadAirMonitor(threshold=5.0)
    out = []
    for step in range(0, 200):
        t = step * 0.1
        speaking = {"agent": t < 2.0 or 9.0 <= t < 10.0, "customer": False}
        out += monitor.tick(t, speaking)
    # silence 2.0 → 9.0 (7 s) raises one event; 10.0 → 19.9 raises another
    assert [type(e) for e in out] == [DeadAir, DeadAir]
    assert out[0].start == pytest.approx(1.9) and out[0].duration == pytest.approx(5.0, abs=0.11)
    assert out[1].start == pytest.approx(9.9)


def test_short_silences_are_not_dead_air(sample_events, script):
    gaps = [b["start"] - a["end"] for a, b in zip(script["turns"], script["turns"][1:], strict=False)]
    assert sorted(gaps)[-2] < 2.0  # only the hold is long
    assert len(of_type(sample_events, "deadair")) == 1


def test_utterance_json_words(sample_events):
    first = next(e for e in sample_events if isinstance(e, Utterance))
    data = json.loads(first.to_json())
    assert data["words"][0]["start"] == pytest.approx(first.start, abs=0.001)
    assert re.sub(r"\W", "", data["words"][0]["word"]).lower() == re.sub(r"\W", "", first.text.split()[0]).lower()


def test_dead_air_in_a_built_file(whisper_model, shared_data, tmp_path):
    speech, rate = sf.read(shared_data / "speech-samples" / "jfk.flac", dtype="float32", always_2d=True)
    speech = speech[: rate * 3, 0]
    audio = np.concatenate([speech, np.zeros(rate * 12, np.float32), speech])
    path = tmp_path / "gap.wav"
    sf.write(path, audio, rate)
    events = run_file(whisper_model, path, analyzers=[DeadAirMonitor(threshold=8.0)])
    dead = of_type(events, "deadair")
    assert len(dead) == 1 and 2.5 < dead[0].start < 4.0
    assert len(of_type(events, "utterance")) >= 2


def test_realtime_replay_reports_true_latency(whisper_model, shared_data):
    from assist.audio import FileSource
    from assist.call import Pipeline

    events = []
    source = FileSource(shared_data / "speech-samples" / "stereo_diarization.wav", realtime=True)
    Pipeline(whisper_model, source.speakers, sinks=[events.append]).run(source)
    utterances = of_type(events, "utterance")
    assert {u.speaker for u in utterances} == {"agent", "customer"}
    for u in utterances:
        # fed at real-time pace: an utterance cannot be out before its audio was fed
        assert u.t >= u.end - 0.15
    assert events[-1].t >= 4.9


def test_sample_call_flags_each_banned_phrase_of_the_agent(sample_events, script):
    finals = [f for f in of_type(sample_events, "flag") if f.final]
    assert all(f.speaker == "agent" for f in finals)
    expected = {b["phrase"] for b in script["banned"]}
    assert {f.phrase for f in finals} == expected
    for banned in script["banned"]:
        turn = script["turns"][banned["turn"]]
        flag = next(f for f in finals if f.phrase == banned["phrase"])
        assert turn["start"] - 0.5 <= flag.start <= flag.end <= turn["end"] + 0.5
        assert flag.suggestion and flag.why
    # one final flag per phrase per utterance
    assert len(finals) == len({(f.phrase, f.start) for f in finals})


def test_sample_call_suggests_the_card_arrival_article(sample_events, script):
    suggestions = of_type(sample_events, "suggestion")
    assert suggestions and suggestions[0].article == "card-arrival"
    assert suggestions[0].title and 0.5 <= suggestions[0].score <= 1.0
    # it comes while the customer is explaining, not after the call
    first_turn = next(t for t in script["turns"] if t["speaker"] == "customer")
    utterances = of_type(sample_events, "utterance")
    said = next(u for u in utterances if u.speaker == "customer" and u.start >= first_turn["start"] - 0.5)
    assert suggestions[0].t >= said.t
    assert len({s.article for s in suggestions}) == len(suggestions), "no repeats"
