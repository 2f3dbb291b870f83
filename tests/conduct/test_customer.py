"""The customer's side: repeats of one problem, the frustration score and its warning,
and the wrap-up note, on transcripts through the real embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assist.call import TranscriptCall
from assist.conduct import (
    EmbeddingMood,
    FrustrationMonitor,
    RepeatMonitor,
    conduct_analyzers,
    label_of,
    read_moods,
)
from assist.events import AGENT, CUSTOMER, Repeat, Sentiment, Utterance, WrapUp
from assist.kb import KbAdvisor

EVAL = Path(__file__).parents[1] / "data" / "moods_eval.tsv"


def call(turns: list[tuple[str, str]], gap: float = 1.0) -> list[Utterance]:
    out, t = [], 0.0
    for speaker, text in turns:
        length = max(1.0, len(text.split()) / 2.5)
        out.append(Utterance(speaker=speaker, start=t, end=t + length, text=text))
        t += length + gap
    return out


def run(utterances, analyzers) -> list:
    events: list = []
    TranscriptCall(utterances, analyzers, [events.append]).run()
    return events


@pytest.fixture(scope="module")
def mood(embedder):
    scorer = EmbeddingMood(embedder)
    scorer.fit()
    return scorer


RESTATED = [
    (CUSTOMER, "Hi, my new card still hasn't arrived and it's been two weeks."),
    (AGENT, "Let me check the address we have for you."),
    (CUSTOMER, "The address is right, the card just never came in the post."),
    (AGENT, "Cards can take up to ten working days."),
    (CUSTOMER, "I'm telling you, I ordered it ages ago and I still don't have a card."),
]


def test_a_problem_restated_in_other_words_is_counted(embedder):
    events = run(call(RESTATED), [RepeatMonitor(embedder)])
    assert [(e.count, e.speaker) for e in events if isinstance(e, Repeat)] == [
        (2, CUSTOMER), (3, CUSTOMER)]


def test_two_different_problems_and_acknowledgements_are_no_repeat(embedder):
    calm = [(CUSTOMER, "Hi, I'd like to change the address on my account."),
            (AGENT, "Sure, what's the new address?"),
            (CUSTOMER, "Yes, okay, thank you."),
            (AGENT, "Done. Anything else?"),
            (CUSTOMER, "Also, my card was charged twice for the same coffee."),
            (AGENT, "I can see both payments, I'll refund one."),
            (CUSTOMER, "Okay, thanks.")]
    assert [e for e in run(call(calm), [RepeatMonitor(embedder)]) if isinstance(e, Repeat)] == []


def test_a_statement_split_in_two_by_a_pause_is_one_statement(embedder):
    split = [(CUSTOMER, "My new card still hasn't arrived."),
             (CUSTOMER, "It's been two weeks and the card hasn't come."),
             (AGENT, "Okay, let me look.")]
    assert [e for e in run(call(split), [RepeatMonitor(embedder)]) if isinstance(e, Repeat)] == []


def test_the_words_model_separates_upset_from_calm_customers(mood):
    texts, labels = read_moods(EVAL)  # the held-out half: never fitted on
    scores = mood.score(texts)
    upset = np.asarray([label in ("frustrated", "angry") for label in labels])
    pairs = scores[upset][:, None] < scores[~upset][None, :]
    assert pairs.mean() >= 0.85  # ROC AUC
    calm_problem = "My card was declined at the shop yesterday, can you check why?"
    assert label_of(float(mood.score([calm_problem])[0])) == "neutral"


def test_a_rise_warns_once_with_a_move_and_settles(mood):
    turns = [(CUSTOMER, "Hi, I'm calling about a payment I don't recognise."),
             (AGENT, "Okay, let me have a look."),
             (CUSTOMER, "This is the third time I've called about this, it's ridiculous!"),
             (AGENT, "I understand."),
             (CUSTOMER, "No you don't, I want this sorted right now or I'm closing my account!"),
             (AGENT, "I've refunded it now and blocked the merchant."),
             (CUSTOMER, "Oh, right, okay. Thank you, that's great."),
             (CUSTOMER, "Really, thanks a lot for sorting it.")]
    events = [e for e in run(call(turns), [FrustrationMonitor(mood)]) if isinstance(e, Sentiment)]
    labels = [e.label for e in events]
    assert labels[0] == "neutral"
    upset = [e for e in events if e.label in ("frustrated", "angry")]
    assert upset and upset[0].suggestion  # the rise says what to do
    assert sum(bool(e.suggestion) for e in events) <= 2  # once per rise (frustrated -> angry)
    assert labels[-1] in ("neutral", "positive")
    assert all(-1.0 <= e.score <= 1.0 for e in events)


def test_the_wrapup_names_the_reason_and_keeps_no_card_number(embedder, mood):
    turns = [(AGENT, "Good morning, thanks for calling, how can I help?"),
             (CUSTOMER, "Hi, my new debit card still hasn't arrived, I ordered it two weeks ago."),
             (AGENT, "Can I take the long number on the card you have now?"),
             (CUSTOMER, "It's four five three nine one four eight eight zero three four three six four six seven."),
             (AGENT, "Thanks. I've cancelled that card and sent a new one by express delivery."),
             (AGENT, "Is there anything else I can help with? Thanks for calling, bye.")]
    analyzers = [KbAdvisor(), *conduct_analyzers(embedder, mood)]
    events = run(call(turns), analyzers)
    (wrapup,) = [e for e in events if isinstance(e, WrapUp)]
    assert events[-2] is wrapup  # just before end
    assert wrapup.reason == "card-arrival" and wrapup.reason_title
    assert "hasn't arrived" in wrapup.summary and "express delivery" in wrapup.summary
    assert "4539" not in wrapup.summary and "four five three" not in wrapup.summary
    assert wrapup.checklist_missed == ["verify-identity"]
    assert 0.3 < wrapup.talk_agent < 0.8 and wrapup.sentiment_start is not None


def test_short_and_garbled_turns_hardly_move_the_mood(mood):
    # a recogniser's loop, an ID read out and a filler: nothing about how the customer feels
    turns = [(CUSTOMER, "Hi, I'd like to move my direct debit to the first of the month."),
             (AGENT, "Sure, can I take the last four digits of the card?"),
             (CUSTOMER, "Four, two, seven, one."),
             (AGENT, "Thanks."),
             (CUSTOMER, "Mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"),
             (CUSTOMER, "uh, right.")]
    events = [e for e in run(call(turns), [FrustrationMonitor(mood)]) if isinstance(e, Sentiment)]
    assert [e.label for e in events] == ["neutral"]
