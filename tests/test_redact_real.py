"""Real people reading a card number and a code, through real recognition, then redaction."""

from __future__ import annotations

import importlib.util
import random

import pytest

from assist.redact import Redactor
from helpers import REPO


def _bench():
    spec = importlib.util.spec_from_file_location("redaction_real", REPO / "bench" / "redaction_real.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", ["card", "cvv"])
def test_a_real_read_out_after_the_agents_question_keeps_no_digit(kind, whisper_model, shared_data,
                                                                  tmp_path):
    bench = _bench()
    rng = random.Random(7)
    digits = bench.card_number(rng) if kind == "card" else "619"
    audio = bench.read_out("theo", digits, bench.GROUPS[kind], rng)
    heard = bench.transcribe(whisper_model, audio, tmp_path)
    assert sum(len(bench.SPOKEN.findall(t)) for t in heard) >= len(digits) - 1  # recognised
    redactor = Redactor()
    redactor(bench.QUESTIONS[kind])
    kept = [redactor(t).text for t in heard]
    assert not any(bench.SPOKEN.search(t) for t in kept), (heard, kept)
    alone = Redactor()
    assert kind == "card" or any(bench.SPOKEN.search(alone(t).text) for t in heard)  # needs the question
