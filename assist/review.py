"""The coach's review workflow over the store: find calls, read each flag in its
transcript, record a verdict and a note, export a call or a team's week.

The review screen (``assist review``) and the CLI (``assist calls``,
``assist verdict``, ``assist export``) are thin fronts over these functions.
Everything a coach sees or exports is redacted again on the way out, so a row
written before redaction was switched on (or imported) never leaks.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, func, select

from .errors import AssistError
from .redact import redact_text
from .store import (
    CALL_REVIEW,
    VERDICTS,
    Store,
    agents,
    calls,
    flags,
    now,
    reviews,
    suggestions,
    utterances,
)

FORMATS = ("csv", "json", "html")


# ---------------------------------------------------------------- typed results


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
class CallDetail:
    """One call as the review screen shows it.

    Attributes:
        call: the call's summary (counts included).
        lines: its whole transcript, in order.
        flags: its flags with their verdicts and notes.
        flag_lines: flag seq -> index in ``lines`` of the utterance it was heard in.
        note: the note about the call as a whole, if any.
    """

    call: CallSummary
    lines: list[Line]
    flags: list[FlagView]
    flag_lines: dict[int, int]
    note: FlagView | None = None


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


# ---------------------------------------------------------------- queries


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
    f, r = flags.c, reviews.c
    reviewed_join = and_(r.call_id == f.call_id, r.flag_seq == f.seq, r.verdict.is_not(None))

    def flag_count(*where):
        return (select(func.count()).select_from(flags.join(reviews, reviewed_join) if where else flags)
                .where(f.call_id == calls.c.id, *where).scalar_subquery())

    query = select(
        calls,
        select(func.count()).where(utterances.c.call_id == calls.c.id).scalar_subquery().label("n_utt"),
        select(func.count()).where(f.call_id == calls.c.id).scalar_subquery().label("n_flags"),
        flag_count(r.verdict.is_not(None)).label("n_reviewed"),
        flag_count(r.verdict == "confirmed").label("n_confirmed"),
        flag_count(r.verdict == "false-alarm").label("n_false"),
    ).order_by(calls.c.started.desc(), calls.c.id)
    if ids is not None:
        query = query.where(calls.c.id.in_(ids))
    if agent:
        query = query.where(calls.c.agent == agent)
    if team:
        query = query.where(calls.c.agent.in_(select(agents.c.id).where(agents.c.team == team)))
    if since:
        query = query.where(calls.c.started >= _as_datetime(since))
    if until:
        query = query.where(calls.c.started < _as_datetime(until))
    if status:
        query = query.where(calls.c.status == status)
    if phrase:
        query = query.where(exists().where(f.call_id == calls.c.id, f.phrase == phrase))
    if unreviewed:
        no_verdict = ~exists().where(reviewed_join)
        query = query.where(exists().where(f.call_id == calls.c.id, no_verdict))
    if limit:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
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
    u = utterances.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(u.seq, u.speaker, u.start, u.end, u.text)
                            .where(u.call_id == call_id).order_by(u.seq)).all()
    return [Line(row.seq, row.speaker, row.start, row.end, _scrub(store, row.text) or "")
            for row in rows]


def call_flags(store: Store, call_id: str | None = None, call_ids: list[str] | None = None
               ) -> list[FlagView]:
    """A call's flags (or several calls'), with their verdicts and notes."""
    f, r = flags.c, reviews.c
    query = (select(f.call_id, f.seq, f.phrase, f.speaker, f.text, f.start, f.end, f.severity,
                    f.suggestion, f.utterance_seq, r.verdict, r.note, r.reviewer, f.span_start,
                    f.span_end)
             .select_from(flags.outerjoin(reviews, and_(r.call_id == f.call_id, r.flag_seq == f.seq)))
             .order_by(f.call_id, f.seq))
    if call_id is not None:
        query = query.where(f.call_id == call_id)
    if call_ids is not None:
        query = query.where(f.call_id.in_(call_ids))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [FlagView(row.call_id, row.seq, row.phrase, row.speaker, _scrub(store, row.text),
                     row.start, row.end, row.severity, row.suggestion, row.utterance_seq,
                     row.verdict, _scrub(store, row.note), row.reviewer, row.span_start,
                     row.span_end) for row in rows]


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
    return CallDetail(call, lines, views, _flag_lines(lines, views), call_review(store, call_id))


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
    r = reviews.c
    with store.engine.connect() as conn:
        row = conn.execute(select(r.verdict, r.note, r.reviewer).where(
            r.call_id == call_id, r.flag_seq == CALL_REVIEW)).first()
    if row is None:
        return None
    return FlagView(call_id, CALL_REVIEW, "", None, None, None, None, None, None, None,
                    row.verdict, _scrub(store, row.note), row.reviewer)


# ---------------------------------------------------------------- verdicts


def record_verdict(store: Store, call_id: str, flag_seq: int, verdict: str,
                   note: str | None = None, reviewer: str | None = None) -> None:
    """Confirm a flag or dismiss it as a false alarm; a later verdict replaces the earlier one."""
    if verdict not in VERDICTS:
        raise AssistError(f"verdict must be one of {', '.join(VERDICTS)}, not '{verdict}'")
    _check_flag(store, call_id, flag_seq)
    store.apply({"op": "review", "call_id": call_id, "flag_seq": flag_seq, "verdict": verdict,
                 "note": note, "reviewer": reviewer or _reviewer()})


def record_note(store: Store, call_id: str, flag_seq: int, note: str,
                reviewer: str | None = None) -> None:
    """A note on one flag that keeps its verdict (or none yet); ``CALL_REVIEW`` notes the call."""
    if flag_seq == CALL_REVIEW:
        record_call_note(store, call_id, note, reviewer)
        return
    _check_flag(store, call_id, flag_seq)
    store.apply({"op": "review", "call_id": call_id, "flag_seq": flag_seq, "note": note,
                 "reviewer": reviewer or _reviewer()})


def _check_flag(store: Store, call_id: str, flag_seq: int) -> None:
    with store.engine.connect() as conn:
        found = conn.execute(select(flags.c.id).where(
            flags.c.call_id == call_id, flags.c.seq == flag_seq)).first()
    if found is None:
        raise AssistError(f"call '{call_id}' has no flag {flag_seq}")


def record_call_note(store: Store, call_id: str, note: str, reviewer: str | None = None) -> None:
    """A note about the call as a whole."""
    get_call(store, call_id)
    store.apply({"op": "review", "call_id": call_id, "flag_seq": CALL_REVIEW, "verdict": None,
                 "note": note, "reviewer": reviewer or _reviewer()})


def _reviewer() -> str:
    from .store import default_agent

    return default_agent()


def false_alarms(store: Store, phrase: str | None = None, since: datetime | date | None = None
                 ) -> list[FalseAlarm]:
    """Flags dismissed as false alarms, with what was said: for ``assist phrases learn``."""
    f, r, u = flags.c, reviews.c, utterances.c
    query = (select(f.call_id, f.seq, f.phrase, f.text, u.text.label("utterance"), r.note)
             .select_from(flags.join(reviews, and_(r.call_id == f.call_id, r.flag_seq == f.seq))
                          .outerjoin(utterances, and_(u.call_id == f.call_id, u.seq == f.utterance_seq)))
             .where(r.verdict == "false-alarm").order_by(f.phrase, f.call_id, f.seq))
    if phrase:
        query = query.where(f.phrase == phrase)
    if since:
        query = query.where(r.updated >= _as_datetime(since))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return [FalseAlarm(row.call_id, row.seq, row.phrase, _scrub(store, row.text),
                       _scrub(store, row.utterance), _scrub(store, row.note)) for row in rows]


# ---------------------------------------------------------------- the week


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
    lines: dict[tuple[str, int], str] = {}
    u = utterances.c
    for chunk in _chunks(call_ids, 500):
        with store.engine.connect() as conn:
            for row in conn.execute(select(u.call_id, u.seq, u.text).where(
                    u.call_id.in_(chunk), u.seq.in_(
                        select(flags.c.utterance_seq).where(flags.c.call_id == u.call_id)))):
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


def _as_datetime(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


# ---------------------------------------------------------------- exports

CSV_FIELDS = ["call", "agent", "started", "flag", "phrase", "severity", "speaker", "start", "end",
              "text", "utterance", "suggestion", "verdict", "note", "reviewer"]


def call_record(store: Store, call_id: str) -> dict[str, Any]:
    """Everything about one call, JSON-ready (and what ``import_call`` reads back)."""
    call = get_call(store, call_id)
    s = suggestions.c
    with store.engine.connect() as conn:
        sugg = conn.execute(select(s.seq, s.article, s.title, s.score, s.t, s.feedback)
                            .where(s.call_id == call_id).order_by(s.seq)).mappings().all()
    note = call_review(store, call_id)
    return {
        "call": {"id": call.id, "agent": call.agent, "started": call.started.isoformat(),
                 "ended": call.ended.isoformat() if call.ended else None, "status": call.status,
                 "source": call.source, "duration": call.duration},
        "utterances": [asdict(line) for line in transcript(store, call_id)],
        "flags": [{k: v for k, v in asdict(f).items() if k != "call_id"}
                  for f in call_flags(store, call_id)],
        "suggestions": [dict(row) for row in sugg],
        "note": note.note if note else None,
    }


def import_call(store: Store, record: dict[str, Any]) -> str:
    """Load a call exported by ``call_record`` (e.g. into a team database); returns its id."""
    call = record["call"]
    ops: list[dict[str, Any]] = [{"op": "call", **call}]
    for line in record.get("utterances", []):
        ops.append({"op": "utterance", "call_id": call["id"], **line})
    for flag in record.get("flags", []):
        review = {k: flag.pop(k, None) for k in ("verdict", "note", "reviewer")}
        ops.append({"op": "flag", "call_id": call["id"], **flag})
        if review["verdict"] or review["note"]:
            ops.append({"op": "review", "call_id": call["id"], "flag_seq": flag["seq"], **review})
    for sugg in record.get("suggestions", []):
        feedback = sugg.pop("feedback", None)
        ops.append({"op": "suggestion", "call_id": call["id"], **sugg})
        if feedback:
            ops.append({"op": "feedback", "call_id": call["id"], "article": sugg["article"],
                        "useful": feedback == "useful"})
    if record.get("note"):
        ops.append({"op": "review", "call_id": call["id"], "flag_seq": CALL_REVIEW,
                    "note": record["note"]})
    store.apply_many(ops)
    return call["id"]


def export_call(store: Store, call_id: str, fmt: str) -> str:
    """One call as CSV (one row per flag), JSON (everything) or a self-contained HTML page."""
    _check_format(fmt)
    if fmt == "json":
        return json.dumps(call_record(store, call_id), indent=2, ensure_ascii=False)
    call = get_call(store, call_id)
    if fmt == "csv":
        return _csv(_flag_rows(store, [call_id], {call_id: call}))
    return _call_html(store, call)


def export_call_to(store: Store, call_id: str, path: Path, fmt: str | None = None) -> str:
    """Write one call's export to ``path``; the format is ``fmt`` or the file's extension.
    Returns the format written."""
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise AssistError(f"cannot tell the format of {path.name}: end it in "
                          f"{', '.join('.' + f for f in FORMATS)}")
    write_report(path, export_call(store, call_id, fmt))
    return fmt


def write_report(path: Path, content: str) -> None:
    """Write an export, a missing folder or a read-only place being one clear error."""
    try:
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise AssistError(f"cannot write {path}: {exc.strerror or exc}") from None


def export_week(store: Store, fmt: str, since: date | None = None, team: str | None = None,
                agent: str | None = None, days: int = 7) -> str:
    """A team's week as CSV (one row per flag), JSON (summary + rows) or an HTML report."""
    _check_format(fmt)
    report = week_report(store, since=since, days=days, team=team, agent=agent)
    if fmt == "csv":
        return _csv(report.rows)
    if fmt == "json":
        return json.dumps(_week_json(report), indent=2, ensure_ascii=False)
    return _week_html(report)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise AssistError(f"format must be one of {', '.join(FORMATS)}, not '{fmt}'")


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_FIELDS})
    return out.getvalue()


def _week_json(report: WeekReport) -> dict[str, Any]:
    return {
        "since": report.since.isoformat(), "until": report.until.isoformat(), "team": report.team,
        "calls": report.calls, "flags": report.flags, "reviewed": report.reviewed,
        "confirmed": report.confirmed, "false_alarms": report.false_alarms,
        "per_agent": report.per_agent, "per_phrase": report.per_phrase,
        "per_agent_phrase": report.per_agent_phrase,
        "per_day": [{"day": d.isoformat(), "flags": n} for d, n in report.per_day],
        "call_list": [{**asdict(c), "started": c.started.isoformat(),
                       "ended": c.ended.isoformat() if c.ended else None} for c in report.call_list],
        "rows": report.rows,
    }


# ---- HTML: one file, inline CSS and SVG, no script, nothing fetched

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}
.agent{color:#1f4e99}.customer{color:#7a3e00}.flagged{background:#fff1c2}
.confirmed{color:#a40000;font-weight:600}.false-alarm{color:#666;text-decoration:line-through}
.muted{color:#777}svg text{font-size:11px;fill:#444}
"""


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n"
            f"<body>\n{body}\n<p class=\"muted\">Made by assist on {now():%Y-%m-%d %H:%M} UTC. "
            f"Card numbers, security codes, account and phone numbers and e-mail addresses "
            f"are redacted.</p>\n</body></html>\n")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _flag_table(rows: list[dict[str, Any]], with_call: bool) -> str:
    head = ("<th>call</th><th>agent</th>" if with_call else "") + \
        "<th>#</th><th>time</th><th>phrase</th><th>severity</th><th>said</th><th>better</th>" \
        "<th>verdict</th><th>note</th>"
    body = []
    for row in rows:
        verdict = row.get("verdict") or "unreviewed"
        cells = (f"<td>{_e(row['call'])}</td><td>{_e(row['agent'])}</td>" if with_call else "")
        start = f"{row['start']:.1f}s" if isinstance(row.get("start"), float | int) else ""
        cells += (f"<td class=\"n\">{_e(row['flag'])}</td><td class=\"n\">{start}</td>"
                  f"<td class=\"phrase\">{_e(row['phrase'])}</td><td>{_e(row['severity'])}</td>"
                  f"<td class=\"said\">{_e(row['text'])}</td><td>{_e(row['suggestion'])}</td>"
                  f"<td class=\"{_e(verdict)}\">{_e(verdict)}</td><td>{_e(row['note'])}</td>")
        body.append(f"<tr class=\"flag\" data-phrase=\"{_e(row['phrase'])}\">{cells}</tr>")
    if not body:
        return "<p class=\"muted\">No flags.</p>"
    return f"<table class=\"flags\"><tr>{head}</tr>\n" + "\n".join(body) + "\n</table>"


def _call_html(store: Store, call: CallSummary) -> str:
    rows = _flag_rows(store, [call.id], {call.id: call})
    flagged_seq = {f.utterance_seq for f in call_flags(store, call.id)}
    lines = []
    for line in transcript(store, call.id):
        css = f"{line.speaker}{' flagged' if line.seq in flagged_seq else ''}"
        start = f"{line.start:6.1f}s" if line.start is not None else ""
        lines.append(f"<tr class=\"{css}\"><td class=\"n\">{start}</td><td>{_e(line.speaker)}</td>"
                     f"<td>{_e(line.text)}</td></tr>")
    note = call_review(store, call.id)
    meta = (f"<table><tr><th>call</th><td>{_e(call.id)}</td></tr>"
            f"<tr><th>agent</th><td>{_e(call.agent)}</td></tr>"
            f"<tr><th>started</th><td>{call.started:%Y-%m-%d %H:%M} UTC</td></tr>"
            f"<tr><th>status</th><td>{_e(call.status)}</td></tr>"
            f"<tr><th>source</th><td>{_e(call.source)}</td></tr>"
            f"<tr><th>flags</th><td>{call.flags} ({call.confirmed} confirmed, "
            f"{call.false_alarms} false alarms, {call.unreviewed} unreviewed)</td></tr>"
            + (f"<tr><th>note</th><td>{_e(note.note)}</td></tr>" if note and note.note else "")
            + "</table>")
    body = (f"<h1>Call {_e(call.id)}</h1>\n{meta}\n<h2>Flags</h2>\n{_flag_table(rows, False)}\n"
            f"<h2>Transcript</h2>\n<table class=\"transcript\">{''.join(lines)}</table>")
    return _page(f"assist call {call.id}", body)


def _count_table(title: str, counts: dict[str, int], css: str) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td class=\"n\">{v}</td></tr>" for k, v in counts.items())
    return (f"<table class=\"{css}\"><tr><th>{_e(title)}</th><th>flags</th></tr>{rows}</table>"
            if rows else "<p class=\"muted\">No flags.</p>")


def _matrix(report: WeekReport) -> str:
    phrases = list(report.per_phrase)
    if not phrases:
        return ""
    head = "".join(f"<th>{_e(p)}</th>" for p in phrases)
    rows = []
    for agent, cells in report.per_agent_phrase.items():
        tds = "".join(f"<td class=\"n\">{cells.get(p, '') or ''}</td>" for p in phrases)
        rows.append(f"<tr><td>{_e(agent)}</td>{tds}</tr>")
    return f"<table class=\"matrix\"><tr><th>agent</th>{head}</tr>{''.join(rows)}</table>"


def trend_svg(points: list[tuple[date, int]], width: int = 560, height: int = 140) -> str:
    """A small inline SVG line chart of flags per day."""
    pad_l, pad_r, pad_t, pad_b = 30, 10, 10, 24
    top = max([n for _, n in points] + [1])
    step = (width - pad_l - pad_r) / max(1, len(points) - 1)

    def xy(i: int, n: int) -> tuple[float, float]:
        return pad_l + i * step, pad_t + (height - pad_t - pad_b) * (1 - n / top)

    coords = [xy(i, n) for i, (_, n) in enumerate(points)]
    parts = [f"<svg class=\"trend\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" "
             f"height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" "
             f"aria-label=\"flags per day\">",
             f"<line x1=\"{pad_l}\" y1=\"{height - pad_b}\" x2=\"{width - pad_r}\" "
             f"y2=\"{height - pad_b}\" stroke=\"#bbb\"/>",
             f"<text x=\"2\" y=\"{pad_t + 8}\">{top}</text>",
             f"<text x=\"2\" y=\"{height - pad_b}\">0</text>",
             "<polyline fill=\"none\" stroke=\"#1f4e99\" stroke-width=\"2\" points=\""
             + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + "\"/>"]
    for (day, n), (x, y) in zip(points, coords, strict=True):
        parts.append(f"<circle cx=\"{x:.1f}\" cy=\"{y:.1f}\" r=\"3\" fill=\"#1f4e99\">"
                     f"<title>{day:%a %d %b}: {n}</title></circle>")
        parts.append(f"<text x=\"{x:.1f}\" y=\"{height - 6}\" text-anchor=\"middle\">"
                     f"{day:%a %d}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _week_html(report: WeekReport) -> str:
    last = report.until - timedelta(days=1)
    title = f"Flags {report.since:%d %b} - {last:%d %b %Y}" + (f", team {report.team}" if report.team else "")
    summary = (f"<p>{report.calls} calls, {report.flags} flags: {report.confirmed} confirmed, "
               f"{report.false_alarms} false alarms, {report.flags - report.reviewed} unreviewed.</p>")
    body = (f"<h1>{_e(title)}</h1>\n{summary}\n<h2>Trend</h2>\n{trend_svg(report.per_day)}\n"
            f"<h2>Flags per agent</h2>\n{_count_table('agent', report.per_agent, 'per-agent')}\n"
            f"<h2>Flags per phrase</h2>\n{_count_table('phrase', report.per_phrase, 'per-phrase')}\n"
            f"{_matrix(report)}\n<h2>All flags</h2>\n{_flag_table(report.rows, True)}")
    return _page(title, body)
