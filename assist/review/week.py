"""The week's report for a team."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from ..store import (
    Store,
    now,
    read_flagged_lines,
)
from .queries import _scrub, call_flags, list_calls
from .results import WeekReport

if TYPE_CHECKING:
    from .results import CallSummary


def week_report(store: Store, since: date | None = None, days: int = 7, team: str | None = None,
                agent: str | None = None) -> WeekReport:
    """Flags of ``days`` days from ``since`` (default: the last 7 days, today included)."""
    since = since or (now().date() - timedelta(days=days - 1))
    until = since + timedelta(days=days)
    call_list = list_calls(store, agent=agent, since=since, until=until, team=team, limit=None)
    by_id = {c.id: c for c in call_list}
    rows = _flag_rows(store, [c.id for c in call_list], by_id) if call_list else []
    per_agent = Counter(row["agent"] or "?" for row in rows)
    per_phrase = Counter(row["phrase"] for row in rows)
    per_agent_phrase: dict[str, dict[str, int]] = {}
    for row in rows:
        cell = per_agent_phrase.setdefault(row["agent"] or "?", {})
        cell[row["phrase"]] = cell.get(row["phrase"], 0) + 1
    per_day_count = Counter(datetime.fromisoformat(row["started"]).date() for row in rows)
    per_day = [(since + timedelta(days=i), per_day_count.get(since + timedelta(days=i), 0))
               for i in range(days)]
    verdicts = Counter(row["verdict"] for row in rows)
    return WeekReport(since, until, team, len(call_list), len(rows),
                      verdicts["confirmed"] + verdicts["false-alarm"], verdicts["confirmed"],
                      verdicts["false-alarm"], dict(per_agent.most_common()),
                      dict(per_phrase.most_common()), per_agent_phrase, per_day, call_list, rows)


def _flag_rows(store: Store, call_ids: list[str], by_id: dict[str, CallSummary]) -> list[dict]:
    """Flat rows, one per flag: what CSV exports hold."""
    rows = []
    # keyed as flags look lines up: a flag without an utterance (seq None) finds none
    lines: dict[tuple[str, int | None], str] = {}
    # in chunks: a long IN (...) list can pass the database's bound-parameter limit
    for chunk in _chunks(call_ids, 500):
        for row in read_flagged_lines(store, chunk):
            lines[(row.call_id, row.seq)] = _scrub(store, row.text) or ""
        for flag in call_flags(store, call_ids=chunk):
            call = by_id[flag.call_id]
            rows.append({
                "call": flag.call_id, "agent": call.agent, "started": call.started.isoformat(),
                "flag": flag.seq, "phrase": flag.phrase, "severity": flag.severity,
                "speaker": flag.speaker, "start": flag.start, "end": flag.end, "text": flag.text,
                "utterance": lines.get((flag.call_id, flag.utterance_seq), ""),
                "suggestion": flag.suggestion, "verdict": flag.verdict, "note": flag.note,
                "reviewer": flag.reviewer,
            })
    return rows


def _chunks(items: list[str], size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]
