"""The after-call note: why the customer called, what was missed, how it went, and a
short extractive summary, redacted."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from ..call import Analyzer
from ..events import (
    AGENT,
    CUSTOMER,
    ChecklistStatus,
    DeadAir,
    Event,
    Flag,
    PainPoint,
    Suggestion,
    Utterance,
    WrapUp,
)
from ..painpoints import is_problem, problem_statement
from ..redact import redact_text

if TYPE_CHECKING:
    from .frustration import FrustrationMonitor
    from .talk import TalkMonitor

_CONTEXT_TURNS = 6  # turns before a summary sentence that redaction reads for cues
_MIN_ACTION_WORDS = 6


class WrapUpWriter(Analyzer):
    """Watches every event of the call and sends one ``wrapup`` just before ``end``."""

    name = "wrapup"

    def __init__(self, talk: TalkMonitor, frustration: FrustrationMonitor):
        self.talk = talk
        self.frustration = frustration
        self.start()

    def start(self, call_id: str | None = None) -> list[Event]:
        self.utterances: list[Utterance] = []
        self.articles: Counter[str] = Counter()
        self.titles: dict[str, str] = {}
        self.painpoint: tuple[str, str] | None = None
        self.dead_air = 0.0
        self.checklist: dict[str, str] = {}
        self.flags: list[str] = []
        return []

    def notice(self, event: Event) -> None:
        if isinstance(event, Utterance):
            self.utterances.append(event)
        elif isinstance(event, Suggestion):
            self.articles[event.article] += 1
            self.titles[event.article] = event.title
        elif isinstance(event, PainPoint):
            self.painpoint = (event.cluster, event.label)
        elif isinstance(event, DeadAir):
            self.dead_air += event.duration
        elif isinstance(event, ChecklistStatus):
            self.checklist[event.item] = event.status
        elif isinstance(event, Flag) and event.final:
            self.flags.append(event.phrase)

    def finish(self, audio_time: float) -> list[Event]:
        reason, title = None, ""
        if self.articles:
            reason = self.articles.most_common(1)[0][0]
            title = self.titles[reason]
        elif self.painpoint:
            reason, title = self.painpoint
        figures = self.talk.figures
        smoothed = self.frustration.history  # (end, own score, smoothed score) per customer turn
        return [WrapUp(
            reason=reason, reason_title=title, summary=self.summary(),
            talk_agent=figures.talk_agent, overtalk=figures.overtalk,
            longest_monologue=figures.longest_monologue, dead_air=self.dead_air,
            checklist_missed=[item for item, status in self.checklist.items() if status != "done"],
            sentiment_start=smoothed[0][2] if smoothed else None,
            sentiment_end=smoothed[-1][2] if smoothed else None,
            flags=self.flags,
        )]

    def summary(self) -> str:
        """The customer's first problem statement and the agent's last substantial turn
        (what was done), each redacted with the turns before it."""
        said = self.utterances
        parts = []
        for i, u in enumerate(said):
            if u.speaker == CUSTOMER and is_problem(u.text):
                parts.append(("Customer", i, problem_statement(u.text)))
                break
        for i in range(len(said) - 1, -1, -1):
            if said[i].speaker != AGENT:
                continue
            kept = " ".join(s for s in _SENTENCE.split(said[i].text.strip()) if not _closing(s))
            if len(kept.split()) >= _MIN_ACTION_WORDS:
                parts.append(("Agent", i, kept))
                break
        lines = []
        for who, i, text in parts:
            context = [u.text for u in said[max(0, i - _CONTEXT_TURNS):i + 1]]
            text = redact_text(text, context=context[:-1]).strip()
            lines.append(f"{who}: {text}{'' if text[-1:] in '.!?。！？' else '.'}")
        return " ".join(lines)


def _closing(sentence: str) -> bool:
    """A sentence that only offers more help or says goodbye (not what was done)."""
    return bool(_CLOSING.search(sentence))


_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+")
_CLOSING = re.compile(r"anything else|is that everything|have a (nice|good|great|lovely)|"
                      r"thanks? (you )?for (calling|ringing)|good ?bye|\bbye\b|take care|"
                      r"you're welcome|还有|再见", re.I)
