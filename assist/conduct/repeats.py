"""The customer restating a problem already stated in this call, in other words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..call import Analyzer
from ..events import AGENT, CUSTOMER, Event, Repeat, Utterance
from ..kb import encode_texts, word_tokens
from ..painpoints import is_problem, problem_statement

if TYPE_CHECKING:
    from ..models import Embedder


class RepeatMonitor(Analyzer):
    """``repeat`` events: the n-th statement (n >= 2) of one problem.

    Each customer utterance that carries a problem (not a greeting, a yes, thanks or an
    ID check) is cut to its problem statement and embedded; it restates an earlier one
    when their cosine similarity plus the share of content words (stemmed) they have in
    common reaches ``threshold``, and the agent has spoken since that problem was last
    stated (a turn the recogniser split in two is one statement).  Sentence embeddings
    alone put "but it hasn't arrived, my sister checked three times" no nearer "I sent
    my sister two hundred pounds and she hasn't received it" (0.53) than a new question
    about the same trip is to its first (0.47): the shared words tell them apart.
    """

    name = "repeats"

    def __init__(self, embedder: Embedder, threshold: float = 0.6):
        self.embedder = embedder
        self.threshold = threshold
        self.start()

    def warm_up(self) -> None:
        encode_texts(self.embedder, ["warm up"])

    def start(self, call_id: str | None = None) -> list[Event]:
        # per problem: its statements (vector, content words), count, the agent turn it was last said at
        self.problems: list[dict[str, Any]] = []
        self.turn = 0  # agent turns so far
        return []

    def feed(self, utterance: Utterance) -> list[Event]:
        if utterance.speaker == AGENT:
            self.turn += 1
            return []
        if utterance.speaker != CUSTOMER or not is_problem(utterance.text):
            return []
        statement = problem_statement(utterance.text)
        (vector,) = encode_texts(self.embedder, [statement])
        words = set(word_tokens(utterance.text))
        best, similarity = None, self.threshold
        for problem in self.problems:
            for said, heard in problem["statements"]:
                score = float(vector @ said) + len(words & heard) / max(1, min(len(words),
                                                                                len(heard)))
                if score >= similarity:
                    best, similarity = problem, score
        if best is None:
            self.problems.append({"statements": [(vector, words)], "count": 1, "turn": self.turn})
            return []
        best["statements"].append((vector, words))
        if best["turn"] == self.turn:  # no agent turn in between: the same statement going on
            return []
        best["count"] += 1
        best["turn"] = self.turn
        return [Repeat(speaker=CUSTOMER, count=best["count"], text=statement)]
