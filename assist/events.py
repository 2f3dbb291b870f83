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
class End(Event):
    """The call is over."""

    type: ClassVar[str] = "end"
    call: str | None = None
    duration: float = 0.0


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (Ready, Partial, Utterance, Flag, Suggestion, PainPoint, DeadAir, End)
}
