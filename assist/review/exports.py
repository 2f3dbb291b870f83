"""Exports of a call or a week: CSV, JSON and one self-contained HTML file."""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AssistError
from ..resources import templates
from ..store import (
    CALL_REVIEW,
    Store,
    now,
    read_call_events,
    read_suggestions,
)
from .queries import call_conduct, call_flags, call_review, get_call, transcript
from .results import FORMATS
from .week import _flag_rows, week_report

if TYPE_CHECKING:
    import jinja2

    from ..charts import DayChart
    from .results import CallSummary, WeekReport


CSV_FIELDS = ["call", "agent", "started", "flag", "phrase", "severity", "speaker", "start", "end",
              "text", "utterance", "suggestion", "verdict", "note", "reviewer"]


def call_record(store: Store, call_id: str) -> dict[str, Any]:
    """Everything about one call, JSON-ready (and what ``import_call`` reads back)."""
    call = get_call(store, call_id)
    sugg = read_suggestions(store, call_id)
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
        "events": read_call_events(store, call_id),
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
    for seq, event in enumerate(record.get("events", []), 1):
        data = {k: v for k, v in event.items() if k not in ("type", "t")}
        ops.append({"op": "event", "call_id": call["id"], "seq": seq, "type": event["type"],
                    "t": event.get("t"), "data": data})
    store.apply_many(ops)
    return call["id"]


def export_call(store: Store, call_id: str, fmt: str) -> str:
    """One call as CSV (one row per flag), JSON (everything) or a self-contained HTML page."""
    _check_format(fmt)
    if fmt == "json":
        return json.dumps(rounded(call_record(store, call_id)), indent=2, ensure_ascii=False)
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
        return json.dumps(rounded(_week_json(report)), indent=2, ensure_ascii=False)
    return _week_html(report)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise AssistError(f"format must be one of {', '.join(FORMATS)}, not '{fmt}'")


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(k, row.get(k)) for k in CSV_FIELDS})
    return out.getvalue()


# a spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMERIC_FIELDS = frozenset({"flag", "start", "end", "score"})


def csv_cell(field: str, value: Any) -> str | int:
    """One CSV cell: text that a spreadsheet would run as a formula gets a leading ``'``;
    numbers stay numbers (seconds and scores to 3 decimals), in numeric columns even as text;
    every line break is written as LF."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return repr(rounded(value))
    text = str(value)
    if field in NUMERIC_FIELDS and _is_number(text):  # a number the database kept as text
        return repr(rounded(float(text))) if re.search(r"\.\d{4}", text) else text
    if text.startswith(FORMULA_START):
        text = "'" + text
    # the writer quotes a field with "\n" (its line end) but not one with a bare "\r",
    # which readers take for the end of the row
    return text.replace("\r\n", "\n").replace("\r", "\n")


def rounded(value: Any) -> Any:
    """Floats to 3 decimals (seconds to the millisecond, scores to a tenth of a percent),
    inside lists and dicts too: ``99.96``, not ``99.96000000000001``."""
    if isinstance(value, float):
        return round(value, 3) if math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def _is_number(text: str) -> bool:
    if text != text.strip():  # float() ignores the whitespace a spreadsheet may not
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


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


@functools.cache
def _templates() -> jinja2.Environment:
    return templates(__package__ or "assist.review", keep_trailing_newline=True)


def _render(name: str, **context: Any) -> str:
    return _templates().get_template(name).render(made=now(), **context)


def _call_html(store: Store, call: CallSummary) -> str:
    flagged_seq = {f.utterance_seq for f in call_flags(store, call.id)}
    lines = [{"speaker": line.speaker, "start": line.start, "text": line.text,
              "flagged": line.seq in flagged_seq} for line in transcript(store, call.id)]
    note = call_review(store, call.id)
    return _render("call.html.j2", title=f"assist call {call.id}", call=call,
                   rows=_flag_rows(store, [call.id], {call.id: call}), lines=lines,
                   note=note.note if note else None, conduct=call_conduct(store, call.id))


def week_chart(report: WeekReport) -> DayChart:
    """Flags per day of the week (by the day their call started), stacked by verdict."""
    from ..charts import DayChart

    days = [day for day, _n in report.per_day]
    index = {day: i for i, day in enumerate(days)}
    stacks: dict[str, list[float]] = {name: [0] * len(days) for name in _VERDICT_STACK.values()}
    for row in report.rows:
        i = index.get(datetime.fromisoformat(row["started"]).date())
        if i is not None:
            stacks[_VERDICT_STACK.get(row["verdict"], "unreviewed")][i] += 1
    return DayChart(days, stacks, "flags")


_VERDICT_STACK = {"confirmed": "confirmed", "false-alarm": "false alarm", None: "unreviewed"}


def _week_html(report: WeekReport) -> str:
    from markupsafe import Markup

    from ..charts import day_chart_svg

    last = report.until - timedelta(days=1)
    title = f"Flags {report.since:%d %b} - {last:%d %b %Y}" + (f", team {report.team}" if report.team else "")
    chart = Markup(day_chart_svg(week_chart(report)))  # noqa: S704 -- drawn here, labels ours
    return _render("week.html.j2", title=title, r=report, chart=chart)
