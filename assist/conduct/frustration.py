"""Customer frustration: a score per customer utterance from the words and the voice,
smoothed over the call; a warning with a suggested move once per rise."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..call import Analyzer
from ..events import CUSTOMER, Event, Overtalk, Repeat, Sentiment, Utterance
from ..kb import word_tokens
from ..redact import NUMBER_WORDS

LABELS = (("positive", 0.3), ("neutral", -0.3), ("frustrated", -0.6))  # else angry
MOVES = {
    "frustrated": "Acknowledge it: \"I can hear this has been frustrating, let's sort it now.\" "
                  "Then say exactly what you will do next.",
    "angry": "Let them finish, don't talk over them. Apologise once, sum up their problem in "
             "their words, and give one concrete next step with a time.",
}


def _content_words(text: str) -> list[str]:
    """The words that carry meaning: no stop words, numbers or a recogniser's loops."""
    words = [w for w in word_tokens(text) if not w.isdigit() and w not in NUMBER_WORDS]
    return [w for i, w in enumerate(words) if len(set(w)) > 1 and w not in words[:i]]


def label_of(score: float) -> str:
    for label, floor in LABELS:
        if score >= floor:
            return label
    return "angry"


class TextMood(Protocol):
    """Scores customer utterances' words: -1 (angry) .. +1 (positive)."""

    def score(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class FrustrationOptions:
    """Weights of the voice and the call's events against the words' score.

    Attributes:
        falling: weight of the newest utterance in the running score (exponential) when
            it is below it: a customer getting upset shows at once...
        rising: ...and when it is above it: one polite "thanks" does not undo it.
        baseline_turns: the caller's first N voiced utterances are their own normal.
        loud_db: each dB louder than the caller's normal (past ``loud_free``) lowers the score.
        loud_free: dB of loudness change that means nothing.
        pitch_share: each 10 % higher than the caller's normal pitch (past ``pitch_free``).
        pitch_free: share of pitch change that means nothing.
        rate: each word per second faster than the caller's normal.
        overtalk: the customer talked over the agent in the last ``recent`` seconds.
        repeat: the customer restated a problem (per restatement past the first).
        full_words: an utterance with this many content words (not numbers) moves the running
            score with the full weight; shorter ones count in proportion: "uh, right", "four
            two seven one" or a recogniser's "Mmmmm" say little about a mood.
    """

    falling: float = 0.7
    rising: float = 0.4
    baseline_turns: int = 2
    loud_db: float = 0.04
    loud_free: float = 3.0
    pitch_share: float = 0.1
    pitch_free: float = 0.1
    rate: float = 0.05
    overtalk: float = 0.15
    repeat: float = 0.15
    recent: float = 15.0
    full_words: int = 6


class FrustrationMonitor(Analyzer):
    """``sentiment`` events for the customer: first at their first utterance, then whenever
    the smoothed label changes; a rise to frustrated or angry carries a suggested move
    (once per rise: back to neutral or better arms it again)."""

    name = "frustration"

    def __init__(self, text: TextMood, options: FrustrationOptions | None = None):
        self.text = text
        self.options = options or FrustrationOptions()
        self.start()

    def warm_up(self) -> None:
        self.text.score(["warm up"])  # fits a model that learns at load

    def start(self, call_id: str | None = None) -> list[Event]:
        self.score: float | None = None
        self.label: str | None = None
        self.warned = False
        self.voice: list[tuple[float, float | None, float]] = []  # loudness, pitch, words/s
        self.overtalk: deque[float] = deque()
        self.repeats = 0
        # per customer utterance: (its end, its own score, the smoothed score after it)
        self.history: list[tuple[float, float, float]] = []
        return []

    def notice(self, event: Event) -> None:
        if isinstance(event, Overtalk) and event.speaker == CUSTOMER:
            self.overtalk.append(event.start + event.duration)
        elif isinstance(event, Repeat) and event.speaker == CUSTOMER:
            self.repeats = max(self.repeats, event.count - 1)

    def utterance_score(self, utterance: Utterance) -> float:
        """The words' score, lowered by the voice against the caller's normal and by the
        call's overtalk and repeats."""
        o = self.options
        score = float(self.text.score([utterance.text])[0])
        rate = len(utterance.text.split()) / max(utterance.end - utterance.start, 0.5)
        if utterance.loudness is not None:
            normal = self.voice[: o.baseline_turns]
            if len(normal) == o.baseline_turns:
                loud = float(np.median([v[0] for v in normal]))
                score -= o.loud_db * max(0.0, utterance.loudness - loud - o.loud_free)
                pitches = [v[1] for v in normal if v[1]]
                if utterance.pitch and pitches:
                    rise = utterance.pitch / float(np.median(pitches)) - 1
                    score -= o.pitch_share * max(0.0, rise - o.pitch_free) * 10
                speed = float(np.median([v[2] for v in normal]))
                score -= o.rate * max(0.0, rate - speed - 0.5)
            self.voice.append((utterance.loudness, utterance.pitch, rate))
        while self.overtalk and self.overtalk[0] < utterance.end - o.recent:
            self.overtalk.popleft()
        score -= o.overtalk * min(len(self.overtalk), 2) + o.repeat * min(self.repeats, 3)
        return float(np.clip(score, -1.0, 1.0))

    def feed(self, utterance: Utterance) -> list[Event]:
        if utterance.speaker != CUSTOMER or not utterance.text.strip():
            return []
        value = self.utterance_score(utterance)
        weight = min(1.0, len(_content_words(utterance.text)) / self.options.full_words)
        if self.score is None:
            self.score = weight * value
        else:
            a = weight * (self.options.falling if value < self.score else self.options.rising)
            self.score = a * value + (1 - a) * self.score
        self.history.append((utterance.end, value, self.score))
        label = label_of(self.score)
        if label == self.label:
            return []
        rising = label in MOVES and (self.label is None or self.label not in MOVES
                                     or label == "angry" != self.label)
        self.label = label
        if label not in MOVES:
            self.warned = False
        suggestion = ""
        if rising and not (self.warned and label == "frustrated"):
            suggestion, self.warned = MOVES[label], True
        return [Sentiment(speaker=CUSTOMER, score=self.score, label=label, suggestion=suggestion)]
