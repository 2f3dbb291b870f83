"""Reading calls, transcripts and flags back for review."""

from __future__ import annotations

from datetime import date, datetime

from ..errors import AssistError
from ..redact import redact_text
from ..store import (
    CALL_REVIEW,
    Store,
    read_call_events,
    read_call_review,
    read_calls,
    read_flags,
    read_utterances,
)
from .results import CallConduct, CallDetail, CallSummary, FlagContext, FlagView, Line


def _scrub(store: Store, value: str | None) -> str | None:
    return redact_text(value, store.redaction) if value else value


def list_calls(store: Store, agent: str | None = None, since: datetime | date | None = None,
               until: datetime | date | None = None, phrase: str | None = None,
               unreviewed: bool = False, status: str | None = None, team: str | None = None,
               limit: int | None = 500, ids: list[str] | None = None) -> list[CallSummary]:
    """Calls, newest first, with flag and review counts.

    ``phrase`` keeps calls with at least one flag of that phrase id; ``unreviewed``
    keeps calls with at least one flag that has no verdict yet; ``until`` is exclusive.
    """
    rows = read_calls(store, agent=agent, since=since, until=until, phrase=phrase,
                      unreviewed=unreviewed, status=status, team=team, limit=limit, ids=ids)
    return [CallSummary(row["id"], row["agent"], row["started"], row["ended"], row["status"],
                        row["source"], row["duration"], row["n_utt"], row["n_flags"],
                        row["n_reviewed"], row["n_confirmed"], row["n_false"]) for row in rows]


def get_call(store: Store, call_id: str) -> CallSummary:
    found = list_calls(store, ids=[call_id], limit=None)
    if not found:
        raise AssistError(f"no call '{call_id}' in {store!r}")
    return found[0]


def transcript(store: Store, call_id: str) -> list[Line]:
    """Every stored utterance of a call, in order."""
    return [Line(row.seq, row.speaker, row.start, row.end, _scrub(store, row.text) or "")
            for row in read_utterances(store, call_id)]


def call_flags(store: Store, call_id: str | None = None, call_ids: list[str] | None = None
               ) -> list[FlagView]:
    """A call's flags (or several calls'), with their verdicts and notes."""
    rows = read_flags(store, call_id=call_id, call_ids=call_ids)
    return [FlagView(row.call_id, row.seq, row.phrase, row.speaker, _scrub(store, row.text),
                     row.start, row.end, row.severity, row.suggestion, row.utterance_seq,
                     row.verdict, _scrub(store, row.note), row.reviewer, row.span_start,
                     row.span_end, row.matcher, row.confidence) for row in rows]


def flag_contexts(store: Store, call_id: str, before: int = 2, after: int = 2) -> list[FlagContext]:
    """Each flag of a call with the ``before``/``after`` utterances around the one it was in."""
    lines = transcript(store, call_id)
    views = call_flags(store, call_id)
    where = _flag_lines(lines, views)
    contexts = []
    for flag in views:
        i = where.get(flag.seq)
        if i is None:
            contexts.append(FlagContext(flag))
            continue
        contexts.append(FlagContext(flag, lines[max(0, i - before):i], lines[i],
                                    lines[i + 1:i + 1 + after]))
    return contexts


def call_detail(store: Store, call_id: str) -> CallDetail:
    """A call's summary, whole transcript and flags, each flag placed on its utterance."""
    call = get_call(store, call_id)
    lines = transcript(store, call_id)
    views = call_flags(store, call_id)
    return CallDetail(call, lines, views, _flag_lines(lines, views), call_review(store, call_id),
                      call_conduct(store, call_id))


def _flag_lines(lines: list[Line], views: list[FlagView]) -> dict[int, int]:
    """Flag seq -> index of the utterance it was heard in: the one it recorded, else by time."""
    index = {line.seq: i for i, line in enumerate(lines)}
    found = {}
    for flag in views:
        i = index.get(flag.utterance_seq) if flag.utterance_seq is not None else None
        if i is None:
            i = _line_at(lines, flag)
        if i is not None:
            found[flag.seq] = i
    return found


def _line_at(lines: list[Line], flag: FlagView) -> int | None:
    """The utterance a flag falls in, by time, when the flag did not record it."""
    if flag.start is None:
        return None
    for i, line in enumerate(lines):
        if line.speaker == flag.speaker and line.start is not None and line.end is not None \
                and line.start - 0.5 <= flag.start <= line.end + 0.5:
            return i
    return None


def call_review(store: Store, call_id: str) -> FlagView | None:
    """The note about the call as a whole, as a FlagView with seq 0, or None."""
    row = read_call_review(store, call_id)
    if row is None:
        return None
    return FlagView(call_id, CALL_REVIEW, "", None, None, None, None, None, None, None,
                    row.verdict, _scrub(store, row.note), row.reviewer)



def call_conduct(store: Store, call_id: str) -> CallConduct:
    """The call's wrap-up, checklist, overtalk, mood and repeats (already redacted when stored)."""
    conduct = CallConduct()
    items: dict[str, dict] = {}
    for event in read_call_events(store, call_id):
        kind = event["type"]
        if kind == "wrapup":
            conduct.wrapup = event
        elif kind == "checklist":
            items[str(event["item"])] = event
        elif kind == "overtalk":
            conduct.overtalk.append(event)
        elif kind == "sentiment":
            conduct.sentiment.append(event)
        elif kind == "repeat":
            conduct.repeats.append(event)
    conduct.checklist = list(items.values())
    return conduct
