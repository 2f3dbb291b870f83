"""The store: schema and migrations, the sink, the review workflow, exports, redaction.

Every test here runs on a fresh database from the ``db_url`` fixture: a SQLite
file here; ``test_postgres.py`` re-runs this whole module against PostgreSQL by
overriding that one fixture.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import OperationalError

from assist.errors import AssistError
from assist.events import End, Flag, PainPoint, Partial, Ready, Suggestion, Utterance
from assist.redact import RedactionOptions
from assist.review import (
    call_flags,
    call_record,
    export_call,
    export_week,
    false_alarms,
    flag_contexts,
    get_call,
    import_call,
    list_calls,
    record_call_note,
    record_verdict,
    transcript,
    week_report,
)
from assist.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Store,
    StoreSink,
    calls,
    metadata,
    now,
    resolve_url,
    utterances,
)
from helpers import REPO

CARD = "4539 5260 1815 9083"


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'assist.db'}"


@pytest.fixture
def spool_dir(tmp_path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def store(db_url, spool_dir):
    with Store(db_url, spool_dir=spool_dir) as opened:
        yield opened


class _BatchSink(StoreSink):
    """A sink that collects its operations to write them in one transaction (fast fixtures)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ops: list[dict] = []

    def _write(self, op):
        self.ops.append(op)


def _call(store: Store, call_id: str, agent: str = "dan", started: datetime | None = None,
          lines: list[tuple[str, str]] | None = None, flag_at: dict[int, str] | None = None,
          end: bool = True, batch: bool = False) -> StoreSink:
    """Write a call through the sink: ``lines`` of (speaker, text); ``flag_at`` line → phrase."""
    sink = (_BatchSink if batch else StoreSink)(store, agent=agent, source="test")
    sink.start_call(call_id, started=started)
    t = 0.0
    for i, (speaker, said) in enumerate(lines or SCRIPT):
        sink(Utterance(speaker=speaker, text=said, start=t, end=t + 2.0))
        phrase = (FLAGS if flag_at is None else flag_at).get(i)
        if phrase:
            sink(Flag(phrase=phrase, speaker=speaker, text=phrase.replace("-", " "),
                      start=t + 0.5, end=t + 1.0, suggestion="say it kindly"))
        t += 3.0
    if end:
        sink(End(call=call_id, duration=t))
    if batch:
        store.apply_many(sink.ops)
    return sink


SCRIPT = [
    ("agent", "Good morning, Riverside Bank, how can I help?"),
    ("customer", "My card never arrived."),
    ("agent", "Please calm down, madam."),
    ("customer", "I am calm, I just need a card."),
    ("agent", "As I already said, it takes ten days."),
    ("customer", "It has been more than ten days."),
    ("agent", "It's company policy, I'm afraid."),
]
FLAGS = {2: "calm-down", 4: "already-said", 6: "company-policy"}


def _reflect(url_store: Store) -> dict[str, tuple[set[str], set[tuple[str, ...]]]]:
    with url_store.engine.connect() as conn:
        inspector = inspect(conn)
        return {
            name: ({c["name"] for c in inspector.get_columns(name)},
                   {tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)})
            for name in inspector.get_table_names()
        }


# ---------------------------------------------------------------- schema and migrations


def test_fresh_database_has_the_latest_schema(store):
    assert store.version() == SCHEMA_VERSION == MIGRATIONS[-1].version
    reflected = _reflect(store)
    for table in metadata.sorted_tables:
        columns, uniques = reflected[table.name]
        assert columns == {c.name for c in table.columns}, table.name
        expected = {tuple(c.name for c in u.columns) for u in table.constraints
                    if u.__class__.__name__ == "UniqueConstraint"}
        assert expected <= uniques, table.name


def test_sqlite_file_is_in_wal_mode(store):
    if store.backend != "sqlite":
        pytest.skip("SQLite only")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_upgrade_from_v1_keeps_the_data(db_url, spool_dir):
    with Store(db_url, upgrade=False, check_version=False, flush_spool=False) as old:
        assert old.upgrade(target=1) == [1]
        assert old.version() == 1
        with old.engine.begin() as conn:  # what a v1 assist wrote
            conn.execute(text("INSERT INTO agents (id, name) VALUES ('dan', 'Dan')"))
            conn.execute(text("INSERT INTO calls (id, agent, started, status, source) "
                              "VALUES ('old1', 'dan', '2024-06-03 10:00:00', 'complete', 'x')"))
            conn.execute(text('INSERT INTO utterances (call_id, seq, speaker, start, "end", text) '
                              "VALUES ('old1', 1, 'agent', 0.0, 1.0, 'Please calm down.')"))
            conn.execute(text("INSERT INTO flags (call_id, seq, utterance_seq, phrase, text) "
                              "VALUES ('old1', 1, 1, 'calm-down', 'calm down')"))
            conn.execute(text("INSERT INTO suggestions (call_id, seq, article, score) "
                              "VALUES ('old1', 1, 'card-not-arrived', 0.7)"))
        with pytest.raises(AssistError, match="db upgrade"):
            Store(db_url, upgrade=False, spool_dir=spool_dir)
    with Store(db_url, spool_dir=spool_dir) as new:
        assert new.version() == SCHEMA_VERSION
        assert _reflect(new).keys() >= {t.name for t in metadata.sorted_tables}
        (call,) = list_calls(new)
        assert (call.id, call.agent, call.flags, call.utterances) == ("old1", "dan", 1, 1)
        assert transcript(new, "old1")[0].text == "Please calm down."
        new.set_feedback("old1", "card-not-arrived", useful=True)  # a v2 column
        new.apply({"op": "painpoint", "call_id": "old1", "seq": 1, "cluster": "c1",
                   "label": "card never arrived", "count": 1})
        with new.engine.connect() as conn:
            assert conn.execute(text("SELECT feedback FROM suggestions")).scalar() == "useful"
            assert conn.execute(text("SELECT count FROM painpoints")).scalar() == 1
    fresh = _reflect(Store(db_url, spool_dir=spool_dir))
    for table in metadata.sorted_tables:
        assert fresh[table.name][0] == {c.name for c in table.columns}


def test_reopening_applies_nothing_twice(db_url, spool_dir):
    with Store(db_url, spool_dir=spool_dir) as first:
        assert first.upgrade() == []
    with Store(db_url, spool_dir=spool_dir) as second, second.engine.connect() as conn:
        versions = conn.execute(text("SELECT version FROM schema_version ORDER BY version"))
        assert list(versions.scalars()) == [m.version for m in MIGRATIONS]


def test_a_newer_schema_is_refused(store, db_url, spool_dir):
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_version (version, description) VALUES (99, 'future')"))
    with pytest.raises(AssistError, match="newer than this assist"):
        Store(db_url, spool_dir=spool_dir)


def test_unreachable_database_at_start_is_one_clear_error(tmp_path):
    with pytest.raises(AssistError) as caught:
        Store("postgresql://assist:secret@127.0.0.1:1/assist", spool_dir=tmp_path)
    message = str(caught.value)
    assert "cannot reach the database" in message and "\n" not in message
    assert "secret" not in message
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AssistError):
        Store(str(blocker / "sub" / "assist.db"), spool_dir=tmp_path)


def test_url_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSIST_DB", str(tmp_path / "env.db"))
    assert resolve_url(None).database == str(tmp_path / "env.db")
    assert resolve_url(str(tmp_path / "x.db")).get_backend_name() == "sqlite"
    assert resolve_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert resolve_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    monkeypatch.delenv("ASSIST_DB")
    assert resolve_url(None).database.endswith("assist.db")
    with pytest.raises(AssistError, match="unsupported"):
        resolve_url("mysql://u@h/db")


# ---------------------------------------------------------------- the sink


def test_each_final_event_is_committed_as_it_happens(store, db_url, spool_dir):
    reader = Store(db_url, spool_dir=spool_dir)  # another connection: sees only commits
    sink = StoreSink(store, agent="dan", source="test")
    sink(Ready(model="tiny.en"))
    call_id = sink.start_call("c1")
    assert get_call(reader, call_id).status == "incomplete"
    sink(Partial(speaker="agent", text="please calm"))
    assert transcript(reader, "c1") == []
    sink(Utterance(speaker="agent", text="Please calm down.", start=1.0, end=2.0))
    assert [line.text for line in transcript(reader, "c1")] == ["Please calm down."]
    sink(Flag(phrase="calm-down", text="calm down", final=False))
    assert call_flags(reader, "c1") == []
    sink(Flag(phrase="calm-down", text="calm down", start=1.2, end=1.8, span=(7, 16)))
    (flag,) = call_flags(reader, "c1")
    assert (flag.phrase, flag.utterance_seq) == ("calm-down", 1)
    sink(End(call="c1", duration=2.0))
    call = get_call(reader, "c1")
    assert call.status == "complete" and call.duration == 2.0 and call.ended is not None
    assert sink.close()
    reader.close()


def test_suggestions_feedback_and_painpoints(store):
    sink = StoreSink(store, agent="dan")
    sink.start_call("c1")
    sink(Suggestion(article="card-not-arrived", title="Card not arrived", score=0.8))
    sink(Suggestion(article="card-not-arrived", title="Card not arrived", score=0.9))
    sink(Suggestion(article="fees", title="Fees", score=0.5))
    sink(PainPoint(cluster="late-card", label="card not arrived", count=5))
    sink.feedback("card-not-arrived", useful=False)  # from the live screen
    store.set_feedback("c1", "fees", useful=True)
    record = call_record(store, "c1")
    assert [s["feedback"] for s in record["suggestions"]] == [None, "not-useful", "useful"]
    sink2 = StoreSink(store, agent="eve")
    sink2.start_call("c2")
    sink2(PainPoint(cluster="late-card", label="card still not here", count=6))
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT label, count, calls FROM painpoints")).one()
    assert tuple(row) == ("card still not here", 2, 2)
    with pytest.raises(AssistError):
        store.set_feedback("c1", "no-such-article", useful=True)


def test_operations_are_idempotent(store):
    ops = [{"op": "call", "id": "c1", "agent": "dan", "started": "2024-06-03T10:00:00"},
           {"op": "utterance", "call_id": "c1", "seq": 1, "speaker": "agent", "text": "hello"},
           {"op": "flag", "call_id": "c1", "seq": 1, "phrase": "calm-down", "text": "calm down"},
           {"op": "painpoint", "call_id": "c1", "seq": 1, "cluster": "x", "label": "x"},
           {"op": "end", "call_id": "c1", "duration": 3.0}]
    store.apply_many(ops)
    store.apply_many(ops)  # a spool replayed twice
    (call,) = list_calls(store)
    assert (call.utterances, call.flags, call.status) == (1, 1, "complete")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count FROM painpoints")).scalar() == 1


def test_calls_cut_off_stay_incomplete_and_keep_what_was_said(store, db_url, spool_dir):
    sink = _call(store, "cut", end=False)
    del sink  # the process died: no End
    with Store(db_url, spool_dir=spool_dir) as again:
        (call,) = list_calls(again, status="incomplete")
        assert call.id == "cut" and call.utterances == len(SCRIPT)
        StoreSink(again, agent="dan").start_call("next")
        assert get_call(again, "cut").status == "incomplete"


# ---------------------------------------------------------------- redaction before storage


def test_redaction_happens_before_storage(store, db_url, tmp_path):
    sink = StoreSink(store, agent="dan")
    sink.start_call("c1")
    sink(Utterance(speaker="agent", text="Can I take the security code on the back?"))
    sink(Utterance(speaker="customer", text="Seven eight nine."))
    sink(Utterance(speaker="customer", text=f"And the card number is {CARD}, email "
                                            "john dot smith at gmail dot com."))
    sink(Flag(phrase="x", speaker="customer", text=f"card number is {CARD}"))
    sink(End(call="c1"))
    lines = [line.text for line in transcript(store, "c1")]
    assert lines[1:] == ["[CVV].", "And the card number is [CARD], email [EMAIL]."]
    assert call_flags(store, "c1")[0].text == "card number is [CARD]"
    with store.engine.connect() as conn:
        kinds = conn.execute(select(utterances.c.redactions).order_by(utterances.c.seq)).scalars()
        assert list(kinds) == [None, "cvv", "card,email"]
    if store.backend == "sqlite":  # not even in the file's free pages or the WAL
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("assist.db*"))
        assert CARD.encode() not in raw and b"seven eight nine" not in raw.lower()


def test_redaction_can_be_switched_off_per_type_and_exports_redact_anyway(db_url, spool_dir):
    with Store(db_url, spool_dir=spool_dir, redaction=RedactionOptions(cards=False)) as raw:
        sink = StoreSink(raw, agent="dan")
        sink.start_call("c1")
        sink(Utterance(speaker="customer", text=f"card {CARD}, mail a.b@example.com"))
        sink(End(call="c1"))
        with raw.engine.connect() as conn:
            assert conn.execute(select(utterances.c.text)).scalar() == f"card {CARD}, mail [EMAIL]"
    with Store(db_url, spool_dir=spool_dir) as coach:
        for fmt in ("csv", "json", "html"):
            assert CARD not in export_call(coach, "c1", fmt)
        assert transcript(coach, "c1")[0].text == "card [CARD], mail [EMAIL]"


# ---------------------------------------------------------------- the spool


def test_spool_while_the_database_is_away_then_written(store, monkeypatch):
    sink = StoreSink(store, agent="dan", retry_seconds=0.05)
    sink.start_call("c1")
    sink(Utterance(speaker="agent", text="one", start=0, end=1))
    real_apply, real_ping = store.apply, store.ping
    down = {"now": True}

    def apply(op):
        if down["now"]:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real_apply(op)

    monkeypatch.setattr(store, "apply", apply)
    monkeypatch.setattr(store, "ping", lambda raise_error=False: not down["now"] and real_ping())
    sink(Utterance(speaker="customer", text=f"my card is {CARD}", start=1, end=2))
    sink(Flag(phrase="calm-down", speaker="customer", text="calm down"))
    assert sink.spooling
    spooled = (store.spool_dir / "c1.jsonl").read_text()
    assert CARD not in spooled and "[CARD]" in spooled  # redacted before it touches the disk
    sink(Utterance(speaker="agent", text="three", start=2, end=3))
    down["now"] = False
    deadline = time.monotonic() + 5
    while sink.spooling and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not sink.spooling
    sink(End(call="c1", duration=3))
    assert sink.close()
    assert [line.text for line in transcript(store, "c1")] == ["one", "my card is [CARD]", "three"]
    assert len(call_flags(store, "c1")) == 1 and get_call(store, "c1").status == "complete"
    assert not (store.spool_dir / "c1.jsonl").exists()


def test_spool_left_by_a_dead_run_is_written_at_the_next_start(store, db_url, spool_dir):
    _call(store, "c1", end=False, lines=SCRIPT[:2], flag_at={})
    spool_dir.mkdir(parents=True, exist_ok=True)
    lines = [{"op": "utterance", "call_id": "c1", "seq": 3, "speaker": "agent", "text": "later",
              "redacted": True},
             {"op": "end", "call_id": "c1", "duration": 9.0}]
    (spool_dir / "c1.jsonl").write_text("\n".join(json.dumps(op) for op in lines) + "\n{\"op\": \"ut")
    with Store(db_url, spool_dir=spool_dir) as again:
        assert [line.text for line in transcript(again, "c1")][-1] == "later"
        assert get_call(again, "c1").status == "complete"
    assert not (spool_dir / "c1.jsonl").exists()


# ---------------------------------------------------------------- the review workflow


@pytest.fixture
def week(store):
    """Three agents' calls over a week; dan's Monday call flagged calm-down and already-said."""
    monday = datetime(2024, 6, 3, 9, 0)
    store.set_agent("dan", name="Dan", team="blue")
    store.set_agent("eve", name="Eve", team="blue")
    store.set_agent("raj", name="Raj", team="red")
    for call_id, agent, day, flag_at in [
            ("mon-dan", "dan", 0, {2: "calm-down", 4: "already-said"}),
            ("tue-eve", "eve", 1, {6: "company-policy"}),
            ("wed-dan", "dan", 2, {}),
            ("thu-raj", "raj", 3, {2: "calm-down"}),
            ("next-week", "dan", 8, {2: "calm-down"})]:
        _call(store, call_id, agent, monday + timedelta(days=day), flag_at=flag_at, batch=True)
    return monday.date()


def test_list_calls_with_filters(store, week):
    assert [c.id for c in list_calls(store)] == ["next-week", "thu-raj", "wed-dan", "tue-eve",
                                                 "mon-dan"]
    assert {c.id for c in list_calls(store, agent="dan")} == {"mon-dan", "wed-dan", "next-week"}
    assert {c.id for c in list_calls(store, since=week, until=week + timedelta(days=2))} == \
        {"mon-dan", "tue-eve"}
    assert {c.id for c in list_calls(store, phrase="calm-down")} == {"mon-dan", "thu-raj",
                                                                      "next-week"}
    assert {c.id for c in list_calls(store, team="blue")} == {"mon-dan", "tue-eve", "wed-dan",
                                                              "next-week"}
    assert {c.id for c in list_calls(store, unreviewed=True)} == {"mon-dan", "tue-eve", "thu-raj",
                                                                  "next-week"}
    record_verdict(store, "mon-dan", 1, "confirmed")
    assert "mon-dan" in {c.id for c in list_calls(store, unreviewed=True)}  # flag 2 still open
    record_verdict(store, "mon-dan", 2, "false-alarm")
    assert "mon-dan" not in {c.id for c in list_calls(store, unreviewed=True)}
    (mon,) = list_calls(store, agent="dan", phrase="already-said")
    assert (mon.flags, mon.reviewed, mon.confirmed, mon.false_alarms, mon.unreviewed) == \
        (2, 2, 1, 1, 0)
    assert mon.utterances == len(SCRIPT) and mon.status == "complete"
    assert len(list_calls(store, limit=2)) == 2


def test_transcript_around_each_flag(store, week):
    contexts = flag_contexts(store, "mon-dan", before=1, after=1)
    assert [c.flag.phrase for c in contexts] == ["calm-down", "already-said"]
    first = contexts[0]
    assert first.line.text == SCRIPT[2][1]
    assert [line.text for line in first.before] == [SCRIPT[1][1]]
    assert [line.text for line in first.after] == [SCRIPT[3][1]]
    wide = flag_contexts(store, "mon-dan", before=5, after=5)[0]
    assert len(wide.before) == 2 and len(wide.after) == 4


def test_verdicts_replace_and_keep_notes(store, week):
    record_verdict(store, "mon-dan", 1, "confirmed", note="tone was sharp", reviewer="coach")
    record_verdict(store, "mon-dan", 1, "false-alarm", reviewer="lead")
    (flag, _) = call_flags(store, "mon-dan")
    assert (flag.verdict, flag.note, flag.reviewer) == ("false-alarm", "tone was sharp", "lead")
    with pytest.raises(AssistError, match="no flag 9"):
        record_verdict(store, "mon-dan", 9, "confirmed")
    with pytest.raises(AssistError, match="verdict must be"):
        record_verdict(store, "mon-dan", 1, "maybe")
    record_call_note(store, "mon-dan", f"good recovery; customer read {CARD} aloud")
    assert CARD not in json.dumps(call_record(store, "mon-dan"))
    assert call_record(store, "mon-dan")["note"].endswith("[CARD] aloud")
    with pytest.raises(AssistError, match="no call"):
        record_call_note(store, "nope", "x")


def test_false_alarms_for_phrase_learning(store, week):
    record_verdict(store, "mon-dan", 1, "false-alarm", note="she asked him to calm down")
    record_verdict(store, "thu-raj", 1, "false-alarm")
    record_verdict(store, "mon-dan", 2, "confirmed")
    found = false_alarms(store)
    assert [(f.call_id, f.phrase) for f in found] == [("mon-dan", "calm-down"),
                                                      ("thu-raj", "calm-down")]
    assert found[0].utterance == SCRIPT[2][1] and found[0].text == "calm down"
    assert found[0].note == "she asked him to calm down"
    assert false_alarms(store, phrase="already-said") == []


def test_week_report(store, week):
    record_verdict(store, "mon-dan", 1, "confirmed")
    report = week_report(store, since=week)
    assert (report.calls, report.flags, report.confirmed, report.reviewed) == (4, 4, 1, 1)
    assert report.per_agent == {"dan": 2, "eve": 1, "raj": 1}
    assert report.per_phrase == {"calm-down": 2, "already-said": 1, "company-policy": 1}
    assert report.per_agent_phrase["dan"] == {"calm-down": 1, "already-said": 1}
    assert [n for _, n in report.per_day] == [2, 1, 0, 1, 0, 0, 0]
    assert week_report(store, since=week, team="red").per_agent == {"raj": 1}


# ---------------------------------------------------------------- exports


class _Html(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.flag_rows: list[list[str]] = []
        self._row: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tr" and attrs.get("class") == "flag":
            self._row = []

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.flag_rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._row is not None and data.strip():
            self._row.append(data.strip())


def _parse(page: str) -> _Html:
    parser = _Html()
    parser.feed(page)
    parser.close()
    return parser


def _self_contained(parser: _Html) -> None:
    tags = {tag for tag, _ in parser.tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags
    for _, attrs in parser.tags:
        assert not any(str(v).startswith(("http://", "https://", "//")) for k, v in attrs.items()
                       if k in ("src", "href"))


def test_html_report_of_one_call_shows_its_flags(store, week):
    record_verdict(store, "mon-dan", 1, "confirmed", note="<b>sharp</b>")
    parsed = _parse(export_call(store, "mon-dan", "html"))
    _self_contained(parsed)
    assert [row[2] for row in parsed.flag_rows] == ["calm-down", "already-said"]
    assert parsed.flag_rows[0][-2:] == ["confirmed", "<b>sharp</b>"]  # escaped, shown as text
    body = " ".join(parsed.text)
    assert all(said in body for _, said in SCRIPT)


def test_html_report_of_a_week(store, week):
    page = export_week(store, "html", since=week)
    parsed = _parse(page)
    _self_contained(parsed)
    assert sorted(row[4] for row in parsed.flag_rows) == ["already-said", "calm-down", "calm-down",
                                                          "company-policy"]
    assert any(tag == "svg" for tag, _ in parsed.tags)
    days = [t for t in parsed.text if t in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]
    assert len(days) == 7  # the chart of flags per day names each day
    per_agent = [attrs for tag, attrs in parsed.tags if tag == "table"
                 and attrs.get("class") == "per-agent"]
    assert per_agent and "raj" in " ".join(parsed.text)
    assert "next-week" not in page


def test_csv_round_trip(store, week):
    record_verdict(store, "mon-dan", 2, "false-alarm", note='he said "as I said", fine')
    rows = list(csv.DictReader(io.StringIO(export_call(store, "mon-dan", "csv"))))
    flags_ = call_flags(store, "mon-dan")
    assert [(int(r["flag"]), r["phrase"], r["text"], r["verdict"] or None, r["note"] or None)
            for r in rows] == [(f.seq, f.phrase, f.text, f.verdict, f.note) for f in flags_]
    assert rows[0]["utterance"] == SCRIPT[2][1]
    week_rows = list(csv.DictReader(io.StringIO(export_week(store, "csv", since=week))))
    assert len(week_rows) == 4 and {r["agent"] for r in week_rows} == {"dan", "eve", "raj"}


def test_json_round_trip(store, week, db_url, tmp_path):
    record_verdict(store, "mon-dan", 1, "confirmed", note="sharp")
    record_call_note(store, "mon-dan", "talk to Dan")
    store.apply({"op": "suggestion", "call_id": "mon-dan", "seq": 1, "article": "card-late",
                 "title": "Card late", "score": 0.5})
    store.set_feedback("mon-dan", "card-late", useful=True)
    exported = export_call(store, "mon-dan", "json")
    record = json.loads(exported)
    assert [f["phrase"] for f in record["flags"]] == ["calm-down", "already-said"]
    assert len(record["utterances"]) == len(SCRIPT)
    with Store(f"sqlite:///{tmp_path / 'other.db'}", spool_dir=tmp_path / "s2") as other:
        assert import_call(other, record) == "mon-dan"
        assert export_call(other, "mon-dan", "json") == exported
    week_json = json.loads(export_week(store, "json", since=week))
    assert week_json["per_phrase"]["calm-down"] == 2 and len(week_json["rows"]) == 4
    assert [d["flags"] for d in week_json["per_day"]] == [2, 1, 0, 1, 0, 0, 0]


def test_export_rejects_unknown_format_and_call(store, week):
    with pytest.raises(AssistError):
        export_call(store, "mon-dan", "pdf")
    with pytest.raises(AssistError, match="no call"):
        export_call(store, "nope", "json")


# ---------------------------------------------------------------- the CLI


def _cli():
    import click

    from assist.cli import AssistGroup
    from assist.cli.store import register

    @click.group(cls=AssistGroup)
    def main():
        """test group"""

    register(main)
    return main


def test_cli_commands(store, week, db_url, tmp_path):
    from click.testing import CliRunner

    main, runner = _cli(), CliRunner()

    def run(*args):
        return runner.invoke(main, [*args[:1], "--db", db_url, *args[1:]]
                             if args[0] != "db" else ["db", args[1], "--db", db_url, *args[2:]])

    listed = run("calls", "--agent", "dan", "--since", "2024-06-01", "--until", "2024-06-08")
    assert listed.exit_code == 0 and "mon-dan" in listed.output and "next-week" not in listed.output
    as_json = run("calls", "--unreviewed", "--jsonl")
    assert {json.loads(line)["id"] for line in as_json.output.splitlines()} == \
        {"mon-dan", "tue-eve", "thu-raj", "next-week"}
    assert run("verdict", "mon-dan", "1", "confirmed", "--note", "sharp").exit_code == 0
    shown = run("flags", "mon-dan", "--context", "1")
    assert shown.exit_code == 0 and "#1 calm-down at 6.5s [confirmed] note: sharp" in shown.output
    assert f" > agent    {SCRIPT[2][1]}" in shown.output and "#2 already-said" in shown.output
    bad = run("verdict", "mon-dan", "7", "confirmed")
    assert bad.exit_code == 1 and bad.output.strip() == "Error: call 'mon-dan' has no flag 7"
    out = tmp_path / "week.html"
    done = run("export", "--week", "--since", "2024-06-03", "--format", "html", "-o", str(out))
    assert done.exit_code == 0, done.output
    assert len(_parse(out.read_text()).flag_rows) == 4
    assert run("export", "--format", "csv", "-o", "-").exit_code == 1
    info = run("db", "info", "--json")
    assert info.exit_code == 0 and json.loads(info.output)["version"] == SCHEMA_VERSION
    assert json.loads(info.output)["rows"]["flags"] == 5
    assert "already at" in run("db", "upgrade").output
    down = runner.invoke(main, ["calls", "--db", "postgresql://x@127.0.0.1:1/none"])
    assert down.exit_code == 1 and len(down.output.strip().splitlines()) == 1


def test_every_store_command_has_help():
    import click
    from click.testing import CliRunner

    main = _cli()
    paths = [(name,) for name in main.commands]
    paths += [("db", name) for name in main.commands["db"].commands]
    for path in paths:
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, path
        cmd = main
        for name in path:
            cmd = cmd.commands[name] if isinstance(cmd, click.Group) else cmd
        assert (cmd.help or "").strip(), path


def test_store_modules_do_not_import_textual():
    code = ("import sys, assist.store, assist.review, assist.redact, assist.cli.store; "
            "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- crash


CRASH_DRIVER = """
import sys
from assist.audio import FileSource
from assist.resources import sample_call
from assist.call import CallSettings
from assist.session import build_pipeline, jsonl_sink
from assist.store import Store, StoreSink

store = Store(sys.argv[1], spool_dir=sys.argv[2])
source = FileSource(sample_call(), realtime=True, speed=2.0)
pipeline = build_pipeline(CallSettings.build(language="en"), source.speakers, [])
sink = StoreSink(store, agent="crash", source="sample_call.wav")
sink.start_call(pipeline.call_id)
pipeline.sinks[:] = [sink, jsonl_sink()]  # stored first: a printed utterance is committed
pipeline.run(source)
"""


def test_sigkill_mid_call_loses_no_finished_utterance(tmp_path):
    """Replay the sample call with the real model into SQLite, SIGKILL it, open the store again."""
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    child = subprocess.Popen(
        [sys.executable, "-c", CRASH_DRIVER, url, str(tmp_path / "spool")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"})
    printed, deadline = [], time.monotonic() + 120
    try:
        for line in child.stdout:
            event = json.loads(line)
            if event["type"] == "utterance":
                printed.append(event)
            if len(printed) == 2 or time.monotonic() > deadline:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert len(printed) == 2, "the child printed too few utterances before the deadline"
    with Store(url, spool_dir=tmp_path / "spool") as store:
        (call,) = list_calls(store)
        call_id = call.id
        assert call.status == "incomplete" and call.agent == "crash"
        stored = [(line.speaker, round(line.start, 2), line.text) for line in transcript(store, call_id)]
        for event in printed:
            assert (event["speaker"], round(event["start"], 2), event["text"]) in stored
        with store.engine.connect() as conn:
            assert conn.execute(select(calls.c.ended).where(calls.c.id == call_id)).scalar() is None


def test_week_report_defaults_to_the_last_seven_days(store):
    _call(store, "today", "dan", now() - timedelta(minutes=5), flag_at={2: "calm-down"})
    _call(store, "old", "dan", now() - timedelta(days=8), flag_at={2: "calm-down"})
    report = week_report(store)
    assert report.until == now().date() + timedelta(days=1)
    assert report.flags == 1 and report.per_day[-1][1] == 1
