"""Exports of a call or a week: CSV, JSON and one self-contained HTML file."""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AssistError
from ..store import (
    CALL_REVIEW,
    Store,
    now,
    read_suggestions,
)
from .queries import call_flags, call_review, get_call, transcript
from .results import FORMATS
from .week import _flag_rows, week_report

if TYPE_CHECKING:
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
