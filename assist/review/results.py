"""Typed results of the coach's review: calls, lines, flags, the week."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

FORMATS = ("csv", "json", "html")


def clock_text(seconds: float | None) -> str:
    """``MM:SS`` (``H:MM:SS`` past an hour); ``--:--`` when there is no time yet."""
    if seconds is None:
        return "--:--"
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@dataclass
class CallSummary:
    """One row of the call list."""

    id: str
    agent: str | None
    started: datetime
    ended: datetime | None
    status: str
    source: str | None
    duration: float | None
    utterances: int = 0
    flags: int = 0
    reviewed: int = 0
    confirmed: int = 0
    false_alarms: int = 0

    @property
    def unreviewed(self) -> int:
        return self.flags - self.reviewed

    @property
    def source_name(self) -> str:
        """What the audio was, short: a file's name without its format details."""
        return (self.source or "").split(" (", 1)[0]


@dataclass
class Line:
    """One utterance of a transcript."""

    seq: int
    speaker: str
    start: float | None
    end: float | None
    text: str


@dataclass
class FlagView:
    """A flag with its review, if any."""

    call_id: str
    seq: int
    phrase: str
    speaker: str | None
    text: str | None
    start: float | None
    end: float | None
    severity: str | None
    suggestion: str | None
    utterance_seq: int | None
    verdict: str | None = None
    note: str | None = None
    reviewer: str | None = None
    span_start: int | None = None
    span_end: int | None = None
    matcher: str | None = None
    confidence: float | None = None  # None: stored before flags had one

    @property
    def span(self) -> tuple[int, int] | None:
        """Where in its utterance's (redacted) text the flagged words are, if recorded."""
        if self.span_start is None or self.span_end is None:
            return None
        return self.span_start, self.span_end


@dataclass
class FlagContext:
    """A flag and the transcript around it."""

    flag: FlagView
    before: list[Line] = field(default_factory=list)
    line: Line | None = None
    after: list[Line] = field(default_factory=list)


@dataclass
class CallConduct:
    """How a call went, from its stored events: the wrap-up note (None: the call ended
    before it was written), each checklist item's last status, overtalk, the customer's
    mood over the call and the repeats."""

    wrapup: dict[str, Any] | None = None
    checklist: list[dict[str, Any]] = field(default_factory=list)
    overtalk: list[dict[str, Any]] = field(default_factory=list)
    sentiment: list[dict[str, Any]] = field(default_factory=list)
    repeats: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.wrapup or self.checklist or self.overtalk or self.sentiment
                    or self.repeats)


@dataclass
class CallDetail:
    """One call as the review screen shows it.

    Attributes:
        call: the call's summary (counts included).
        lines: its whole transcript, in order.
        flags: its flags with their verdicts and notes.
        flag_lines: flag seq -> index in ``lines`` of the utterance it was heard in.
        note: the note about the call as a whole, if any.
        conduct: how the call went (wrap-up, checklist, overtalk, mood, repeats).
    """

    call: CallSummary
    lines: list[Line]
    flags: list[FlagView]
    flag_lines: dict[int, int]
    note: FlagView | None = None
    conduct: CallConduct = field(default_factory=CallConduct)


@dataclass
class FalseAlarm:
    """A flag a coach dismissed: material for a ``not`` example of its phrase."""

    call_id: str
    flag_seq: int
    phrase: str
    text: str | None
    utterance: str | None
    note: str | None


@dataclass
class WeekReport:
    """Flags of a team's week: per agent, per phrase, per day."""

    since: date
    until: date
    team: str | None
    calls: int
    flags: int
    reviewed: int
    confirmed: int
    false_alarms: int
    per_agent: dict[str, int]
    per_phrase: dict[str, int]
    per_agent_phrase: dict[str, dict[str, int]]
    per_day: list[tuple[date, int]]
    call_list: list[CallSummary]
    rows: list[dict[str, Any]]
