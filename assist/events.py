"""Typed events that flow from the transcribers through the analyzers to the sinks.

Every event has a ``type`` and ``t`` (seconds since the first audio sample was
fed).  ``to_json()`` gives exactly the ``--jsonl`` contract of DESIGN.md; extra
keys a consumer does not know are allowed by that contract and ignored.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

AGENT = "agent"
CUSTOMER = "customer"
SPEAKERS = (AGENT, CUSTOMER)


@dataclass(frozen=True)
class Word:
    """One recognised word with its audio times (seconds from call start)."""

    start: float
    end: float
    word: str
    probability: float = 1.0


@dataclass
class Event:
    """Base class: ``t`` is filled in by the pipeline when the event is emitted."""

    type: ClassVar[str] = "event"
    t: float = field(default=0.0, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        data = {"type": self.type, "t": round(self.t, 3)}
        for key, value in asdict(self).items():
            if key == "t" or key.startswith("_"):
                continue
            data[key] = round(value, 3) if isinstance(value, float) else value
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass
class Ready(Event):
    """Models are loaded; audio is about to start."""

    type: ClassVar[str] = "ready"
    model: str = ""
    language: str | None = None


@dataclass
class Partial(Event):
    """What the speaker is saying so far, while they are still talking.

    ``text`` is the newest hypothesis: its first ``stable`` words are the ones two
    consecutive decodes agreed on (LocalAgreement) and will not change before the
    final; the rest is tentative, shown at once and replaced as it firms up.
    """

    type: ClassVar[str] = "partial"
    speaker: str = AGENT
    text: str = ""
    start: float = 0.0
    stable: int = 0

    @property
    def stable_text(self) -> str:
        """The agreed words only: what analyzers act on."""
        return " ".join(self.text.split()[: self.stable])


@dataclass
class Utterance(Event):
    """A finished stretch of speech from one speaker."""

    type: ClassVar[str] = "utterance"
    speaker: str = AGENT
    start: float = 0.0
    end: float = 0.0
    text: str = ""
    words: list[Word] = field(default_factory=list)
    language: str | None = None
    loudness: float | None = None  # dBFS of the voiced audio (live recognition only)
    pitch: float | None = None  # median voice pitch in Hz (None: unvoiced or unknown)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["words"] = [
            {"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3)}
            for w in self.words
        ]
        return data


@dataclass
class Flag(Event):
    """The agent said a banned phrase."""

    type: ClassVar[str] = "flag"
    phrase: str = ""
    speaker: str = AGENT
    text: str = ""
    start: float = 0.0
    end: float = 0.0
    severity: str = "medium"
    suggestion: str = ""
    why: str = ""
    matcher: str = ""
    span: tuple[int, int] | None = None
    final: bool = True
    confidence: float = 1.0  # exact 1.0; fuzzy: the alignment's; semantic: the classifier's
    # entries marked ``audible`` ("the line is bad"): was the other side clearly heard in the
    # seconds before? None: they did not speak then
    audible: bool | None = None


@dataclass
class Suggestion(Event):
    """A knowledge-base article that answers what the customer is asking."""

    type: ClassVar[str] = "suggestion"
    article: str = ""
    title: str = ""
    score: float = 0.0
    snippet: str = ""


@dataclass
class PainPoint(Event):
    """A recurring customer problem that is rising across calls; ``count`` is the number
    of calls that raised it in the early-warning window."""

    type: ClassVar[str] = "painpoint"
    cluster: str = ""
    label: str = ""
    count: int = 0


@dataclass
class DeadAir(Event):
    """Neither side has spoken for a while."""

    type: ClassVar[str] = "deadair"
    speaker: str = "both"
    start: float = 0.0
    duration: float = 0.0


@dataclass
class Overtalk(Event):
    """Both sides' voices at once for ``duration`` seconds: ``speaker`` started while
    the other's speech was under way."""

    type: ClassVar[str] = "overtalk"
    speaker: str = AGENT
    start: float = 0.0
    duration: float = 0.0


@dataclass
class ChecklistStatus(Event):
    """A required step of the call was decided: ``status`` of checklist ``item`` at audio
    second ``at``; the last event for an item is its status."""

    type: ClassVar[str] = "checklist"
    item: str = ""
    status: str = ""
    at: float = 0.0
    title: str = ""  # what the agent sees in the checklist panel
    hint: str = ""  # what to say for it (shown while it is still open or was missed)


@dataclass
class Sentiment(Event):
    """The customer's mood, smoothed over the call: ``score`` -1 (angry) .. +1 (positive)."""

    type: ClassVar[str] = "sentiment"
    speaker: str = CUSTOMER
    score: float = 0.0
    label: str = "neutral"
    suggestion: str = ""  # a move for the agent, once per rise to frustrated or angry


@dataclass
class Repeat(Event):
    """The customer stated the same problem again in other words (``count``-th time)."""

    type: ClassVar[str] = "repeat"
    speaker: str = CUSTOMER
    count: int = 2
    text: str = ""


@dataclass
class WrapUp(Event):
    """The call's after-call note, sent once just before ``end``."""

    type: ClassVar[str] = "wrapup"
    reason: str | None = None
    summary: str = ""
    talk_agent: float = 0.0
    overtalk: int = 0
    dead_air: float = 0.0
    checklist_missed: list[str] = field(default_factory=list)
    sentiment_start: float | None = None
    sentiment_end: float | None = None
    flags: list[str] = field(default_factory=list)  # phrase ids flagged, in order
    reason_title: str = ""  # the article's title or the pain point's label
    longest_monologue: float = 0.0  # seconds of agent speech without the customer's


@dataclass
class End(Event):
    """The call is over."""

    type: ClassVar[str] = "end"
    call: str | None = None
    duration: float = 0.0


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (Ready, Partial, Utterance, Flag, Suggestion, PainPoint, DeadAir, Overtalk,
                ChecklistStatus, Sentiment, Repeat, WrapUp, End)
}
