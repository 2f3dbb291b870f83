"""``assist redact``: what the store would keep of a text, or of a call's turns."""

from __future__ import annotations

import json
from typing import Any

import click


@click.command()
@click.argument("text", required=False)
@click.option("--jsonl", is_flag=True,
              help='Read {"text": ..} or {"utterances": [{"speaker": .., "text": ..}, ..]} lines '
                   "on stdin (one call's turns in order, redacted with that context); print one "
                   "JSON line per input line with the redacted text and its spans.")
def redact(text: str | None, jsonl: bool) -> None:
    """Print TEXT with card numbers, security codes, expiry dates, account numbers, sort
    codes, phone numbers and e-mail addresses replaced by [CARD], [CVV], [EXPIRY],
    [ACCOUNT], [SORTCODE], [PHONE] and [EMAIL]: exactly what the store keeps.

    With --jsonl, start and end index the redacted text; context never carries from one
    input line to the next, and a line that cannot be read gets {"error": ..} in its
    place (exit 1 at the end).
    """
    from ..redact import redact as redact_one

    if jsonl == (text is not None):
        raise click.UsageError("give TEXT or --jsonl (lines on stdin), not both or neither")
    if text is not None:
        click.echo(redact_one(text).text)
        return
    from .stdin import stdin_lines

    failed = False
    for number, line, problem in stdin_lines():
        if line is not None and not line.strip():
            continue
        try:
            if problem is not None:
                raise ValueError(problem)
            out = _redact_line(line or "")
        except ValueError as exc:
            failed = True
            out = {"error": f"stdin line {number}: {exc}"}
        click.echo(json.dumps(out, ensure_ascii=False))
    if failed:
        raise SystemExit(1)


def _redact_line(line: str) -> dict[str, Any]:
    from ..redact import Redacted, redact_call
    from ..redact import redact as redact_one
    from .stdin import json_line

    def spans(result: Redacted) -> list[dict[str, Any]]:
        return [{"type": r.kind.upper(), "start": r.out_start, "end": r.out_end}
                for r in result.redactions]

    record, problem = json_line(line)
    if problem is not None:
        raise ValueError(problem)
    if not isinstance(record, dict):
        raise ValueError("expected a JSON object")
    if "utterances" in record:
        turns = record["utterances"]
        if not isinstance(turns, list) or not all(
                isinstance(t, dict) and isinstance(t.get("text"), str) for t in turns):
            raise ValueError("'utterances' must be a list of {\"speaker\": .., \"text\": ..}")
        results = redact_call([t["text"] for t in turns])
        return {"utterances": [{"speaker": t.get("speaker"), "text": r.text,
                                "redactions": spans(r)} for t, r in zip(turns, results, strict=True)]}
    if not isinstance(record.get("text"), str):
        raise ValueError("expected 'text' (a string) or 'utterances'")
    result = redact_one(record["text"])
    return {"text": result.text, "redactions": spans(result)}
