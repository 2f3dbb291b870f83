"""Two passes: tiny.en shows the partials, base re-decodes each final (real models)."""

from __future__ import annotations

import pytest

from assist.asr import AsrOptions
from assist.audio import FileSource
from assist.call import Pipeline
from helpers import of_type


class Recording:
    """A real model that notes which decodes it was asked for."""

    def __init__(self, model):
        self.model = model
        self.calls: list[str] = []

    def transcribe(self, audio, **options):
        self.calls.append("final" if options.get("word_timestamps") else "partial")
        return self.model.transcribe(audio, **options)


def _run(path, model, final_model=None):
    events: list = []
    source = FileSource(path, channels="agent")
    Pipeline(model, source.speakers, AsrOptions(), sinks=[events.append], final_model=final_model).run(source)
    return events


@pytest.fixture(scope="module")
def jfk(shared_data):
    return shared_data / "speech-samples" / "jfk.flac"


@pytest.fixture(scope="module")
def two_pass(whisper_model, whisper_base, jfk):
    fast, big = Recording(whisper_model), Recording(whisper_base)
    return _run(jfk, fast, final_model=big), fast, big


def test_partials_come_from_the_fast_model_and_finals_from_the_bigger_one(two_pass):
    events, fast, big = two_pass
    assert of_type(events, "partial") and of_type(events, "utterance")
    assert fast.calls and set(fast.calls) == {"partial"}
    assert big.calls and set(big.calls) == {"final"}


def test_the_final_is_the_bigger_models_text(two_pass, whisper_base, jfk):
    events, _, _ = two_pass
    alone = _run(jfk, whisper_base)
    assert [u.text for u in of_type(events, "utterance")] == [u.text for u in of_type(alone, "utterance")]
    text = " ".join(u.text for u in of_type(events, "utterance")).lower()
    assert "ask not what your country can do for you" in text
