"""The live KB advisor: suggestions from the customer's rolling context."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..call import Analyzer
from ..events import CUSTOMER, Event, Suggestion, Utterance
from .lexical import word_tokens
from .search import KnowledgeBase

if TYPE_CHECKING:
    from ..call import Embedder


@dataclass
class AdvisorOptions:
    """How the advisor turns customer speech into suggestions.

    Attributes:
        context_turns: how many recent customer turns are searched together.
        context_seconds: older turns than this (before the latest end) drop out.
        cooldown: seconds before the same article may be suggested again.
        short_words: a query with fewer content words than this is a
            fragment ("my debit card", "the app"): it names a topic, not a
            problem, and needs ``short_threshold`` to be shown.
        short_threshold: confidence a fragment needs.
    """

    context_turns: int = 3
    context_seconds: float = 30.0
    cooldown: float = 90.0
    short_words: int = 3
    short_threshold: float = 0.9


class KbAdvisor(Analyzer):
    """Suggests the article that answers what the customer is asking.

    Each customer utterance is searched alone and together with the previous
    one or two (a question spread over two turns still finds its article); the
    most confident hit above the threshold becomes a ``Suggestion``, unless the
    same article was suggested less than ``cooldown`` seconds ago.  Fragments
    of one or two content words need a much higher confidence.
    """

    name = "kb"

    def __init__(
        self,
        kb: KnowledgeBase | None = None,
        kb_dir: Path | None = None,
        embedder: Embedder | None = None,
        threshold: float | None = None,
        options: AdvisorOptions | None = None,
    ) -> None:
        self.kb = kb or KnowledgeBase.open(kb_dir, embedder=embedder)
        self.threshold = self.kb.threshold if threshold is None else threshold
        self.options = options or AdvisorOptions()
        self._turns: deque[Utterance] = deque(maxlen=self.options.context_turns)
        self._last_shown: dict[str, float] = {}

    def start(self, call_id: str | None = None) -> list[Event]:
        self._turns.clear()
        self._last_shown.clear()
        return []

    def feed(self, utterance: Utterance) -> list[Event]:
        if utterance.speaker != CUSTOMER or not utterance.text.strip():
            return []
        self._turns.append(utterance)
        if not word_tokens(utterance.text):
            return []  # "yes", "okay": nothing new to search for
        queries = self._queries(utterance.end)
        hits = [
            r[0] for q, r in zip(queries, self.kb.search_many(queries, top=1), strict=True)
            if r and r[0].score >= self._needed(q)
        ]
        best = max(hits, key=lambda r: r.score, default=None)
        if best is None:
            return []
        last = self._last_shown.get(best.article)
        if last is not None and utterance.end - last < self.options.cooldown:
            return []
        self._last_shown[best.article] = utterance.end
        return [Suggestion(article=best.article, title=best.title, score=best.score, snippet=best.snippet)]

    def _needed(self, query: str) -> float:
        # The calibration was fitted on whole questions; a bare topic
        # ("my debit card") matches its article's words without saying what
        # is wrong, so it must be far more certain to reach the agent.
        if len(word_tokens(query)) < self.options.short_words:
            return max(self.threshold, self.options.short_threshold)
        return self.threshold

    def _queries(self, now: float) -> list[str]:
        """The latest turn alone, then with one and two turns before it (within the window)."""
        recent = [u.text.strip() for u in self._turns if now - u.end <= self.options.context_seconds]
        if not recent:
            recent = [self._turns[-1].text.strip()]
        return [" ".join(recent[-k:]) for k in range(1, len(recent) + 1)]
