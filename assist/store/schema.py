"""The store's schema (latest) and the migrations that reach it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Connection

INCOMPLETE = "incomplete"
COMPLETE = "complete"
VERDICTS = ("confirmed", "false-alarm")
CALL_REVIEW = 0  # reviews.flag_seq of a note about the call as a whole


metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", String(200)),
    Column("applied", DateTime),
)
agents = Table(
    "agents", metadata,
    Column("id", String(100), primary_key=True),
    Column("name", String(200)),
    Column("created", DateTime),
    Column("team", String(100)),  # v2
)
calls = Table(
    "calls", metadata,
    Column("id", String(64), primary_key=True),
    Column("agent", String(100), ForeignKey("agents.id")),
    Column("started", DateTime, nullable=False),
    Column("ended", DateTime),
    Column("status", String(16), nullable=False),
    Column("source", Text),
    Column("duration", Float),  # v2
    Column("host", String(200)),  # v2
    Index("ix_calls_started", "started"),
    Index("ix_calls_agent", "agent"),  # v2
)
utterances = Table(
    "utterances", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("speaker", String(16), nullable=False),
    Column("start", Float),
    Column("end", Float),
    Column("text", Text, nullable=False),
    Column("language", String(16)),
    Column("t", Float),
    Column("redactions", String(200)),
    UniqueConstraint("call_id", "seq", name="uq_utterances_call_seq"),
)
flags = Table(
    "flags", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("utterance_seq", Integer),
    Column("phrase", String(100), nullable=False),
    Column("speaker", String(16)),
    Column("text", Text),
    Column("start", Float),
    Column("end", Float),
    Column("severity", String(16)),
    Column("suggestion", Text),
    Column("matcher", String(32)),
    Column("span_start", Integer),
    Column("span_end", Integer),
    Column("t", Float),
    Column("confidence", Float),  # v5
    Column("audible", Boolean),  # v6: a "the line is bad" flag: was the customer heard clearly
    UniqueConstraint("call_id", "seq", name="uq_flags_call_seq"),
    Index("ix_flags_phrase", "phrase"),  # v2
)
suggestions = Table(
    "suggestions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("article", String(200), nullable=False),
    Column("title", Text),
    Column("score", Float),
    Column("t", Float),
    Column("feedback", String(16)),  # v2: useful / not-useful
    Column("feedback_at", DateTime),  # v2
    UniqueConstraint("call_id", "seq", name="uq_suggestions_call_seq"),
)
call_events = Table(  # v6: how the call went (overtalk, checklist, sentiment, repeat, wrapup)
    "call_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(32), nullable=False),
    Column("t", Float),
    Column("data", Text, nullable=False),  # the event's keys as JSON, every string redacted
    UniqueConstraint("call_id", "seq", name="uq_call_events_call_seq"),
    Index("ix_call_events_type", "type"),
)
painpoints = Table(  # v2
    "painpoints", metadata,
    Column("id", String(100), primary_key=True),
    Column("label", Text),
    Column("count", Integer, nullable=False),
    Column("calls", Integer, nullable=False),
    Column("first_seen", DateTime),
    Column("last_seen", DateTime),
)
painpoint_mentions = Table(  # v2
    "painpoint_mentions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("painpoint_id", String(100), ForeignKey("painpoints.id"), nullable=False),
    Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("t", Float),
    Column("seen", DateTime),
    UniqueConstraint("call_id", "seq", name="uq_painpoint_mentions_call_seq"),
)
painpoint_items = Table(  # v3: what the pain-point tracker clusters
    "painpoint_items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("painpoint_id", String(100)),  # NULL: a candidate not (yet) in a pain point
    Column("call_id", String(64)),
    Column("text", Text, nullable=False),  # the problem statement, redacted
    Column("embedding", LargeBinary),  # float32 sentence embedding, normalised
    Column("seen", DateTime, nullable=False),
    Index("ix_painpoint_items_seen", "seen"),
    Index("ix_painpoint_items_painpoint", "painpoint_id"),
)
painpoint_runs = Table(  # v4: one row per committed re-clustering of the pain points
    "painpoint_runs", metadata,
    # unique: of two machines that re-clustered the same state, only one commits
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime, nullable=False),
    Column("host", String(200)),
    Column("items", Integer),
    Column("clusters", Integer),
)
reviews = Table(
    "reviews", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
    Column("flag_seq", Integer, nullable=False),  # CALL_REVIEW (0) for the call as a whole
    Column("verdict", String(16)),
    Column("note", Text),
    Column("reviewer", String(100)),
    Column("created", DateTime),
    Column("updated", DateTime),
    UniqueConstraint("call_id", "flag_seq", name="uq_reviews_call_flag"),
)


def _v1(conn: Connection) -> None:
    """Calls, agents, utterances, flags, suggestions and reviews."""
    md = MetaData()
    Table("schema_version", md, Column("version", Integer, primary_key=True, autoincrement=False),
          Column("description", String(200)), Column("applied", DateTime))
    Table("agents", md, Column("id", String(100), primary_key=True), Column("name", String(200)),
          Column("created", DateTime))
    Table("calls", md, Column("id", String(64), primary_key=True),
          Column("agent", String(100), ForeignKey("agents.id")),
          Column("started", DateTime, nullable=False), Column("ended", DateTime),
          Column("status", String(16), nullable=False), Column("source", Text),
          Index("ix_calls_started", "started"))
    Table("utterances", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
          Column("seq", Integer, nullable=False), Column("speaker", String(16), nullable=False),
          Column("start", Float), Column("end", Float), Column("text", Text, nullable=False),
          Column("language", String(16)), Column("t", Float), Column("redactions", String(200)),
          UniqueConstraint("call_id", "seq", name="uq_utterances_call_seq"))
    Table("flags", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
          Column("seq", Integer, nullable=False), Column("utterance_seq", Integer),
          Column("phrase", String(100), nullable=False), Column("speaker", String(16)),
          Column("text", Text), Column("start", Float), Column("end", Float),
          Column("severity", String(16)), Column("suggestion", Text), Column("matcher", String(32)),
          Column("span_start", Integer), Column("span_end", Integer), Column("t", Float),
          UniqueConstraint("call_id", "seq", name="uq_flags_call_seq"))
    Table("suggestions", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
          Column("seq", Integer, nullable=False), Column("article", String(200), nullable=False),
          Column("title", Text), Column("score", Float), Column("t", Float),
          UniqueConstraint("call_id", "seq", name="uq_suggestions_call_seq"))
    Table("reviews", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
          Column("flag_seq", Integer, nullable=False), Column("verdict", String(16)),
          Column("note", Text), Column("reviewer", String(100)), Column("created", DateTime),
          Column("updated", DateTime),
          UniqueConstraint("call_id", "flag_seq", name="uq_reviews_call_flag"))
    md.create_all(conn)


def _v2(conn: Connection) -> None:
    """Suggestion feedback, teams, call duration and host, pain points, review indexes."""
    _add_column(conn, "agents", Column("team", String(100)))
    _add_column(conn, "calls", Column("duration", Float))
    _add_column(conn, "calls", Column("host", String(200)))
    _add_column(conn, "suggestions", Column("feedback", String(16)))
    _add_column(conn, "suggestions", Column("feedback_at", DateTime))
    md = MetaData()
    md.reflect(conn, only=["calls", "flags"])
    Index("ix_calls_agent", md.tables["calls"].c.agent).create(conn)
    Index("ix_flags_phrase", md.tables["flags"].c.phrase).create(conn)
    Table("painpoints", md, Column("id", String(100), primary_key=True), Column("label", Text),
          Column("count", Integer, nullable=False), Column("calls", Integer, nullable=False),
          Column("first_seen", DateTime), Column("last_seen", DateTime))
    Table("painpoint_mentions", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("painpoint_id", String(100), ForeignKey("painpoints.id"), nullable=False),
          Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
          Column("seq", Integer, nullable=False), Column("t", Float), Column("seen", DateTime),
          UniqueConstraint("call_id", "seq", name="uq_painpoint_mentions_call_seq"))
    md.create_all(conn, tables=[md.tables["painpoints"], md.tables["painpoint_mentions"]])


def _v3(conn: Connection) -> None:
    """Pain-point items: the customer problem statements the tracker clusters."""
    md = MetaData()
    Table("painpoint_items", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("painpoint_id", String(100)), Column("call_id", String(64)),
          Column("text", Text, nullable=False), Column("embedding", LargeBinary),
          Column("seen", DateTime, nullable=False),
          Index("ix_painpoint_items_seen", "seen"),
          Index("ix_painpoint_items_painpoint", "painpoint_id"))
    md.create_all(conn)


def _v4(conn: Connection) -> None:
    """Pain-point runs: each committed re-clustering, so machines sharing the store take turns."""
    md = MetaData()
    Table("painpoint_runs", md, Column("generation", Integer, primary_key=True,
                                       autoincrement=False),
          Column("at", DateTime, nullable=False), Column("host", String(200)),
          Column("items", Integer), Column("clusters", Integer))
    md.create_all(conn)


def _v5(conn: Connection) -> None:
    """Flag confidence: how sure the matcher was (older flags: NULL)."""
    _add_column(conn, "flags", Column("confidence", Float))


def _v6(conn: Connection) -> None:
    """How the call went: one row per overtalk, checklist, sentiment, repeat and wrapup event;
    whether the customer was heard clearly when the agent said the line was bad."""
    md = MetaData()
    Table("calls", md, Column("id", String(64), primary_key=True))
    Table("call_events", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("call_id", String(64), ForeignKey("calls.id"), nullable=False),
          Column("seq", Integer, nullable=False), Column("type", String(32), nullable=False),
          Column("t", Float), Column("data", Text, nullable=False),
          UniqueConstraint("call_id", "seq", name="uq_call_events_call_seq"),
          Index("ix_call_events_type", "type"))
    md.tables["call_events"].create(conn)
    _add_column(conn, "flags", Column("audible", Boolean))


def _add_column(conn: Connection, table: str, column: Column) -> None:
    quote = conn.dialect.identifier_preparer.quote
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column.name)} {kind}"))


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS: list[Migration] = [
    Migration(1, "calls, agents, utterances, flags, suggestions, reviews", _v1),
    Migration(2, "suggestion feedback, teams, call duration/host, pain points, indexes", _v2),
    Migration(3, "pain-point items (tracker state)", _v3),
    Migration(4, "pain-point runs (re-clustering across machines)", _v4),
    Migration(5, "flag confidence", _v5),
    Migration(6, "call events (overtalk, checklist, sentiment, repeat, wrapup), flag audible", _v6),
]
SCHEMA_VERSION = MIGRATIONS[-1].version
