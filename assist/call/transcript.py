"""A call transcribed elsewhere (another system's recording platform), fed through the same
analyzers and sinks as a live call: utterances in order, the audio clock from their times."""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import AssistError
from ..events import AGENT, CUSTOMER, End, Utterance
from .analyzer import AnalyzedCall, Analyzer, Sink


class TranscriptCall(AnalyzedCall):
    """One transcribed call: ``run()`` sends every utterance and what the analyzers say of it
    to the sinks, then ``end``, as ``Pipeline.run`` does for audio.

    The analyzers' clock ticks at each utterance's start (nobody speaking: dead air is
    the gap since the last one ended) and end (its speaker speaking).  Voice activity
    (``hear``) is each speaker's utterances from start to end, told at every boundary
    up to the utterance about to be sent, so overlapping turns overlap.
    """

    def __init__(self, utterances: Sequence[Utterance], analyzers: Iterable[Analyzer] = (),
                 sinks: Iterable[Sink] = (), call_id: str | None = None):
        super().__init__(analyzers, sinks, call_id or uuid.uuid4().hex[:12])
        self.utterances = list(utterances)

    def run(self) -> End:
        self._begin("transcript")
        quiet = dict.fromkeys({u.speaker for u in self.utterances}, False)
        marks = sorted({t for u in self.utterances for t in (u.start, u.end)})
        clock, heard = 0.0, 0.0
        for utterance in self.utterances:
            clock = max(clock, utterance.start)
            self._tick(clock, quiet)
            while marks and marks[0] <= utterance.end:
                mark = marks.pop(0)
                self._hear(mark, self._voiced(quiet, (heard + mark) / 2))
                heard = mark
            self._emit_all([utterance])
            clock = max(clock, utterance.end)
            self._tick(clock, {**quiet, utterance.speaker: True})
        return self._end(clock)

    def _voiced(self, quiet: dict[str, bool], at: float) -> dict[str, bool]:
        """Who is inside one of their utterances at audio second ``at``."""
        return {**quiet, **{u.speaker: True for u in self.utterances if u.start <= at <= u.end}}


# ---------------------------------------------------------------- transcripts from elsewhere


@dataclass
class ImportedCall:
    """One call of an import file: its id in the other system, when it started, who took it.

    Attributes:
        id: the call's id in the system it came from (kept as the stored call's source).
        started: when the call started (None: now).
        agent: who took it (None: the import's default agent).
        utterances: the call's turns in order.
        line: where the call starts in the file, for messages.
        given: the id exactly as the file gave it (a number stays a number when printed).
    """

    id: str
    started: datetime | None
    agent: str | None
    utterances: list[Utterance] = field(default_factory=list)
    line: int = 0
    given: str | int | None = None


SPEAKER_NAMES = {AGENT: AGENT, CUSTOMER: CUSTOMER, "caller": CUSTOMER, "client": CUSTOMER,
                 "rep": AGENT, "representative": AGENT}


def read_import(path: Path) -> Iterator[ImportedCall]:
    """The calls of an import file: JSON lines (one call a line, as DESIGN.md's ``assist
    import``) or CSV (one utterance a row: call, started, agent, speaker, start, end, text)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AssistError(f"no such file: {path}") from None
    except OSError as exc:
        raise AssistError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = raw[:exc.start].count(b"\n") + 1
        raise AssistError(f"{path}:{at}: not UTF-8 text") from None
    if path.suffix.lower() == ".csv":
        yield from _csv_calls(path, text)
        return
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield _json_call(path, number, line)


def _json_call(path: Path, number: int, line: str) -> ImportedCall:
    where = f"{path}:{number}"
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep"
        raise AssistError(f"{where}: not valid JSON ({detail})") from None
    if not isinstance(record, dict):
        raise AssistError(f"{where}: expected a JSON object (one call a line)")
    turns = record.get("utterances")
    if not isinstance(turns, list):
        raise AssistError(f"{where}: 'utterances' must be a list")
    call = ImportedCall(_call_id(record.get("id"), where), _started(record.get("started"), where),
                        _agent(record.get("agent"), where), line=number, given=record.get("id"))
    for k, turn in enumerate(turns, 1):
        if not isinstance(turn, dict):
            raise AssistError(f"{where}: utterance {k} must be an object")
        call.utterances.append(_utterance(turn, f"{where}: utterance {k}"))
    return call


def _csv_calls(path: Path, text: str) -> Iterator[ImportedCall]:
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower() for f in reader.fieldnames or []}
    missing = {"speaker", "text"} - fields
    if not ({"call", "id"} & fields) or missing:
        raise AssistError(f"{path}:1: a CSV import needs the columns call (or id), speaker, "
                          "text (and may have started, agent, start, end)")
    current: ImportedCall | None = None
    for row in reader:
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        where = f"{path}:{reader.line_num}"
        ident = _call_id(row.get("call") or row.get("id"), where)
        if current is None or current.id != ident:
            if current is not None:
                yield current
            current = ImportedCall(ident, _started(row.get("started") or None, where),
                                   _agent(row.get("agent") or None, where), line=reader.line_num)
        current.utterances.append(_utterance(row, where))
    if current is not None:
        yield current


def _call_id(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise AssistError(f"{where}: every call needs an 'id' (a string or a number)")
    return str(value).strip()


def _started(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise AssistError(f"{where}: 'started' must be an ISO-8601 time, e.g. 2026-12-04T09:30:00Z")
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise AssistError(f"{where}: 'started' is not an ISO-8601 time: {value!r}") from None
    if when.tzinfo is not None:  # the store keeps UTC without a zone
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def _agent(value: object, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AssistError(f"{where}: 'agent' must be a string")
    return value.strip() or None


def _utterance(turn: dict, where: str) -> Utterance:
    speaker = SPEAKER_NAMES.get(str(turn.get("speaker", "")).strip().lower())
    if speaker is None:
        raise AssistError(f"{where}: 'speaker' must be 'agent' or 'customer', "
                          f"not {turn.get('speaker')!r}")
    text = turn.get("text")
    if not isinstance(text, str):
        raise AssistError(f"{where}: 'text' must be a string")
    times = []
    for key in ("start", "end"):
        value = turn.get(key)
        try:
            times.append(None if value in (None, "") else float(value))
        except (TypeError, ValueError):
            raise AssistError(f"{where}: '{key}' must be seconds (a number)") from None
        if times[-1] is not None and not math.isfinite(times[-1]):
            raise AssistError(f"{where}: '{key}' must be a finite number of seconds")
    start, end = times
    start = start if start is not None else 0.0
    return Utterance(speaker=speaker, start=start, end=end if end is not None else start,
                     text=text.strip())
