"""The store: calls, utterances, flags, suggestions, pain points and reviews.

One SQLite file in the user data folder by default (WAL, so the review screen
reads while a call writes); a PostgreSQL server when the URL says
``postgresql://`` so a whole floor writes to one database.  The same SQLAlchemy
Core code serves both.  The schema is versioned: ``MIGRATIONS`` is an ordered
list, applied under a lock so twenty agent machines starting at once upgrade
it exactly once.

Writes are *operations* (plain dicts: ``{"op": "utterance", ...}``) that are
idempotent: every row a call writes has a natural key (call, sequence number)
and is inserted with ON CONFLICT DO NOTHING.  That is what makes the spool
safe: when the database goes away mid-call, ``StoreSink`` appends the
operations to a JSON-lines file and replays them, possibly twice, when it
returns; nothing is lost and nothing doubled.

Everything is redacted (``assist.redact``) before it is written, spooled or
read back for export.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
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
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)

from .errors import AssistError
from .events import End, Event, Flag, PainPoint, Suggestion, Utterance
from .redact import Redacted, RedactionOptions, Redactor, redact

log = logging.getLogger(__name__)

INCOMPLETE = "incomplete"
COMPLETE = "complete"
VERDICTS = ("confirmed", "false-alarm")
CALL_REVIEW = 0  # reviews.flag_seq of a note about the call as a whole

# ---------------------------------------------------------------- the schema (latest)

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

# ---------------------------------------------------------------- migrations
# Each migration builds on the one before with its own frozen table definitions,
# so a later change to the tables above never rewrites history.


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
]
SCHEMA_VERSION = MIGRATIONS[-1].version

# ---------------------------------------------------------------- URLs and engines


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("assist"))


def resolve_url(url: str | None = None) -> URL:
    """An explicit URL or path, else ``$ASSIST_DB``, else ``assist.db`` in the user data folder."""
    raw = url or os.environ.get("ASSIST_DB") or str(default_data_dir() / "assist.db")
    if "://" not in raw:
        return URL.create("sqlite", database=str(Path(raw).expanduser().resolve()))
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise AssistError(f"not a database URL: {raw}") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise AssistError(f"unsupported database '{backend}': use a SQLite path or postgresql://...")


def safe_url(url: URL) -> str:
    if url.drivername == "postgresql+psycopg":
        url = url.set(drivername="postgresql")
    return url.render_as_string(hide_password=True)


def _check_exists(url: URL) -> None:
    database = url.database if url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:" and not Path(database).is_file():
        raise AssistError(f"no database at {database} (give --db, or run a call with the store "
                          "first)")


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            try:
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise AssistError(f"cannot create the database folder: {exc}") from None
        engine = create_engine(url, connect_args={"timeout": 5})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4,
                         connect_args={"connect_timeout": 3})


def _sqlite_connect(dbapi_conn, _record) -> None:
    # let SQLAlchemy's "begin" event issue BEGIN, so DDL is transactional too
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before the utterance reaches the screen
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")  # then spool: a live call never waits long
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


OUTAGE = (OperationalError, InterfaceError)


def _is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OUTAGE) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


def now() -> datetime:
    """UTC, without tzinfo: both back ends store it the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ---------------------------------------------------------------- the store


class Store:
    """A connection to the assist database.

    Attributes:
        url: the resolved SQLAlchemy URL.
        engine: the SQLAlchemy engine.
        spool_dir: where sinks keep events while the database is unreachable.
        redaction: what is redacted before anything is written or exported.

    ``create=False`` refuses a SQLite file that does not exist yet (reading a
    store that is not there is a mistaken path, not a new database).
    """

    def __init__(self, url: str | None = None, *, spool_dir: Path | str | None = None,
                 redaction: RedactionOptions | None = None, upgrade: bool = True,
                 check_version: bool = True, flush_spool: bool = True, create: bool = True):
        self.url = resolve_url(url)
        if not create:
            _check_exists(self.url)
        self.spool_dir = Path(spool_dir) if spool_dir else default_data_dir() / "spool"
        self.redaction = redaction or RedactionOptions()
        self.engine = _make_engine(self.url)
        self.ping(raise_error=True)
        if upgrade:
            self.upgrade()
        elif check_version:
            self._check_version()
        if flush_spool:
            self.flush_spool()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({safe_url(self.url)!r})"

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    # ------------------------------------------------------------ health and schema

    def ping(self, raise_error: bool = False) -> bool:
        """Can the database be reached now?"""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except DBAPIError as exc:
            if raise_error:
                raise AssistError(f"cannot reach the database {safe_url(self.url)}: "
                                  f"{_reason(exc)}") from None
            return False

    def version(self) -> int:
        with self.engine.connect() as conn:
            return _read_version(conn)

    def _check_version(self) -> None:
        found = self.version()
        if found > SCHEMA_VERSION:
            raise AssistError(f"the database schema is v{found}, newer than this assist "
                              f"(v{SCHEMA_VERSION}): upgrade assist")
        if found < SCHEMA_VERSION:
            raise AssistError(f"the database schema is v{found}; run 'assist db upgrade' "
                              f"(this assist needs v{SCHEMA_VERSION})")

    def upgrade(self, target: int | None = None) -> list[int]:
        """Apply the migrations the database lacks, up to ``target``; returns those applied."""
        target = SCHEMA_VERSION if target is None else target
        applied: list[int] = []
        with self.engine.connect().execution_options(immediate=True) as conn, conn.begin():
            if self.backend == "postgresql":
                # many agent machines may start at once: one of them migrates
                conn.execute(text("SELECT pg_advisory_xact_lock(7271346)"))
            current = _read_version(conn)
            if current > SCHEMA_VERSION:
                raise AssistError(f"the database schema is v{current}, newer than this assist "
                                  f"(v{SCHEMA_VERSION}): upgrade assist")
            for migration in MIGRATIONS:
                if current < migration.version <= target:
                    migration.apply(conn)
                    conn.execute(schema_version.insert().values(
                        version=migration.version, description=migration.description,
                        applied=now()))
                    applied.append(migration.version)
        return applied

    def info(self) -> dict[str, Any]:
        """What ``assist db info`` shows."""
        version = self.version()
        counts = {}
        if version:
            with self.engine.connect() as conn:
                names = set(inspect(conn).get_table_names())
                for table in metadata.sorted_tables:
                    if table.name in names and table.name != "schema_version":
                        counts[table.name] = conn.execute(
                            select(func.count()).select_from(table)).scalar_one()
                incomplete = conn.execute(select(func.count()).select_from(calls).where(
                    calls.c.status == INCOMPLETE)).scalar_one()
        else:
            incomplete = 0
        spooled = sorted(p.name for p in self.spool_dir.glob("*.jsonl")) if self.spool_dir.exists() else []
        return {"url": safe_url(self.url), "backend": self.backend, "version": version,
                "latest": SCHEMA_VERSION, "rows": counts, "incomplete_calls": incomplete,
                "spooled": spooled}

    # ------------------------------------------------------------ writing

    def apply(self, op: dict[str, Any]) -> None:
        """Write one operation in its own transaction (idempotent)."""
        with self.engine.begin() as conn:
            self._apply(conn, op)

    def apply_many(self, ops: Iterable[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            for op in ops:
                self._apply(conn, op)

    def _apply(self, conn: Connection, op: dict[str, Any]) -> None:
        op = op if op.get("redacted") else self._redact_op(op)
        handler = _HANDLERS.get(op.get("op", ""))
        if handler is None:
            raise AssistError(f"unknown store operation: {op.get('op')!r}")
        handler(self, conn, op)

    def _redact_op(self, op: dict[str, Any]) -> dict[str, Any]:
        op = dict(op)
        for key in ("text", "title", "note", "label"):
            if isinstance(op.get(key), str):
                op[key] = redact(op[key], self.redaction).text
        return op

    def _insert_ignore(self, conn: Connection, table: Table, values: dict[str, Any],
                       keys: list[str]) -> int:
        if self.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
        # rowcount is not reliable across drivers (psycopg reports -1 here): count RETURNING rows
        return len(conn.execute(statement.returning(table.c[keys[0]])).all())

    def _op_agent(self, conn: Connection, op: dict[str, Any]) -> None:
        self._insert_ignore(conn, agents, {"id": op["id"], "name": op.get("name") or op["id"],
                                           "team": op.get("team"), "created": now()}, ["id"])
        changes = {k: op[k] for k in ("name", "team") if op.get(k) is not None}
        if changes:
            conn.execute(update(agents).where(agents.c.id == op["id"]).values(**changes))

    def _op_call(self, conn: Connection, op: dict[str, Any]) -> None:
        if op.get("agent"):
            self._insert_ignore(conn, agents, {"id": op["agent"], "name": op["agent"],
                                               "created": now()}, ["id"])
        self._insert_ignore(conn, calls, {
            "id": op["id"], "agent": op.get("agent"), "started": _dt(op["started"]),
            "status": op.get("status", INCOMPLETE), "source": op.get("source"),
            "host": op.get("host"), "ended": _dt(op.get("ended")), "duration": op.get("duration"),
        }, ["id"])

    def _op_utterance(self, conn: Connection, op: dict[str, Any]) -> None:
        self._insert_ignore(conn, utterances, _pick(op, utterances), ["call_id", "seq"])

    def _op_flag(self, conn: Connection, op: dict[str, Any]) -> None:
        self._insert_ignore(conn, flags, _pick(op, flags), ["call_id", "seq"])

    def _op_suggestion(self, conn: Connection, op: dict[str, Any]) -> None:
        values = _pick(op, suggestions)
        values["feedback_at"] = _dt(values.get("feedback_at"))
        self._insert_ignore(conn, suggestions, values, ["call_id", "seq"])

    def _op_feedback(self, conn: Connection, op: dict[str, Any]) -> None:
        latest = select(func.max(suggestions.c.seq)).where(
            suggestions.c.call_id == op["call_id"], suggestions.c.article == op["article"])
        seq = conn.execute(latest).scalar()
        if seq is None:
            raise AssistError(f"call {op['call_id']} has no suggestion of article {op['article']}")
        conn.execute(update(suggestions).where(
            suggestions.c.call_id == op["call_id"], suggestions.c.seq == seq).values(
            feedback="useful" if op["useful"] else "not-useful", feedback_at=_dt(op.get("at")) or now()))

    def _op_painpoint(self, conn: Connection, op: dict[str, Any]) -> None:
        seen = _dt(op.get("seen")) or now()
        self._insert_ignore(conn, painpoints, {"id": op["cluster"], "label": op.get("label"),
                                               "count": 0, "calls": 0, "first_seen": seen,
                                               "last_seen": seen}, ["id"])
        inserted = self._insert_ignore(conn, painpoint_mentions, {
            "painpoint_id": op["cluster"], "call_id": op["call_id"], "seq": op["seq"],
            "t": op.get("t"), "seen": seen}, ["call_id", "seq"])
        if not inserted:
            return
        mentions = painpoint_mentions.c
        conn.execute(update(painpoints).where(painpoints.c.id == op["cluster"]).values(
            label=op.get("label") or painpoints.c.label,
            last_seen=seen,
            count=select(func.count()).where(mentions.painpoint_id == op["cluster"]).scalar_subquery(),
            calls=select(func.count(mentions.call_id.distinct())).where(
                mentions.painpoint_id == op["cluster"]).scalar_subquery(),
        ))

    def _op_end(self, conn: Connection, op: dict[str, Any]) -> None:
        conn.execute(update(calls).where(calls.c.id == op["call_id"]).values(
            status=COMPLETE, ended=_dt(op.get("ended")) or now(), duration=op.get("duration")))

    def _op_review(self, conn: Connection, op: dict[str, Any]) -> None:
        stamp = now()
        values = {"verdict": op.get("verdict"), "note": op.get("note"),
                  "reviewer": op.get("reviewer"), "updated": stamp}
        inserted = self._insert_ignore(conn, reviews, {
            "call_id": op["call_id"], "flag_seq": op["flag_seq"], "created": stamp, **values},
            ["call_id", "flag_seq"])
        if not inserted:
            if op.get("note") is None:
                values.pop("note")  # a verdict without --note keeps the earlier note
            if "verdict" not in op:
                values.pop("verdict")  # a note alone keeps the earlier verdict
            conn.execute(update(reviews).where(
                reviews.c.call_id == op["call_id"], reviews.c.flag_seq == op["flag_seq"]).values(**values))

    # convenience wrappers used by the library and the UI

    def set_agent(self, agent: str, name: str | None = None, team: str | None = None) -> None:
        self.apply({"op": "agent", "id": agent, "name": name, "team": team})

    def set_feedback(self, call_id: str, article: str, useful: bool) -> None:
        """The agent marked a KB suggestion useful or not (the latest one of that article)."""
        self.apply({"op": "feedback", "call_id": call_id, "article": article, "useful": useful,
                    "at": _iso(now())})

    # ------------------------------------------------------------ spool

    def flush_spool(self) -> int:
        """Write the events other runs spooled while the database was away; returns how many."""
        if not self.spool_dir.exists():
            return 0
        written = 0
        for path in sorted(self.spool_dir.glob("*.jsonl")):
            with open(path, "a+", encoding="utf-8") as handle:
                if not _try_lock(handle):
                    continue  # a live sink still owns it
                handle.seek(0)
                ops = _read_spool(handle)
                try:
                    written += self._apply_spooled(ops)
                except DBAPIError as exc:
                    if _is_outage(exc):
                        return written
                    raise
                path.unlink()
        return written

    def _apply_spooled(self, ops: list[dict[str, Any]]) -> int:
        try:
            self.apply_many(ops)
            return len(ops)
        except IntegrityError:
            # one bad operation must not keep the others out: go one by one
            written = 0
            for op in ops:
                try:
                    self.apply(op)
                    written += 1
                except IntegrityError as exc:
                    log.warning("spooled %s dropped: %s", op.get("op"), _reason(exc))
            return written


def _read_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(select(func.max(schema_version.c.version))).scalar() or 0


def _pick(op: dict[str, Any], table: Table) -> dict[str, Any]:
    return {c.name: op[c.name] for c in table.columns if c.name in op and c.name != "id"}


_HANDLERS: dict[str, Callable[[Store, Connection, dict[str, Any]], None]] = {
    "agent": Store._op_agent,
    "call": Store._op_call,
    "utterance": Store._op_utterance,
    "flag": Store._op_flag,
    "suggestion": Store._op_suggestion,
    "feedback": Store._op_feedback,
    "painpoint": Store._op_painpoint,
    "end": Store._op_end,
    "review": Store._op_review,
}


def _try_lock(handle) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; a live sink's spool may be flushed early
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _read_spool(handle) -> list[dict[str, Any]]:
    ops = []
    for line in handle.read().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line cut by a crash
            ops.append(json.loads(line))
    return ops


# ---------------------------------------------------------------- the sink


def default_agent() -> str:
    return os.environ.get("ASSIST_AGENT") or getpass.getuser()


class StoreSink:
    """A pipeline sink that writes a call into the store as it happens.

    Each final utterance, flag, suggestion and pain point is committed when it
    arrives (partials are not stored), redacted first.  ``start_call`` writes
    the call as *incomplete*; only the ``end`` event completes it, so a call cut
    off by a crash stays incomplete and keeps what was said.  When a write fails
    because the database went away, the operation and those after it go to a
    spool file (``<spool_dir>/<call>.jsonl``) and a background thread writes them
    when the database is back; the pipeline never waits for the network.

    Attributes:
        store: the store written to.
        agent: who takes the call (default ``$ASSIST_AGENT`` or the login name).
        source: what the audio is (file name, device).
        call_id: the call's id (the pipeline's, given to ``start_call``).
        retry_seconds: how often the spool thread tries the database again.
    """

    def __init__(self, store: Store, agent: str | None = None, source: str = "",
                 call_id: str | None = None, retry_seconds: float = 2.0,
                 redactor: Redactor | None = None):
        self.store = store
        self.agent = agent or default_agent()
        self.source = source
        self.call_id = call_id
        self.retry_seconds = retry_seconds
        self.redactor = redactor or Redactor(store.redaction)
        self._seq = {"utterance": 0, "flag": 0, "suggestion": 0, "painpoint": 0}
        self._last_utterance: dict[str, tuple[int, str, Redacted]] = {}
        self._lock = threading.RLock()
        self._started = False
        self._spool_handle = None
        self._spooling = False
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None

    # ------------------------------------------------------------ public

    @property
    def spooling(self) -> bool:
        return self._spooling

    def start_call(self, call_id: str | None = None, started: datetime | None = None) -> str:
        """Write the call as incomplete; returns its id."""
        with self._lock:
            self.call_id = call_id or self.call_id or uuid.uuid4().hex[:12]
            self._started = True
            self._write({"op": "call", "id": self.call_id, "agent": self.agent,
                         "started": _iso(started or now()), "status": INCOMPLETE,
                         "source": self.source, "host": socket.gethostname()})
            return self.call_id

    def __call__(self, event: Event) -> None:
        op = self._op_for(event)
        if op is not None:
            with self._lock:
                if not self._started:
                    self.start_call()
                op["call_id"] = self.call_id
                self._write(op)

    def feedback(self, article: str, useful: bool) -> None:
        """The agent marked a KB suggestion of this call useful or not (spooled if need be)."""
        with self._lock:
            self._write({"op": "feedback", "call_id": self.call_id, "article": article,
                         "useful": useful, "at": _iso(now()), "redacted": True})

    def close(self, timeout: float = 5.0) -> bool:
        """Stop the spool thread after one last try; True when nothing is left unwritten."""
        if self._spooling:
            self._try_flush()
        self._closed.set()
        if self._flusher is not None:
            self._flusher.join(timeout)
        with self._lock:
            left = self._spooling
            if self._spool_handle is not None:
                # release the file (and its lock) either way: what is left is written at
                # the next start by Store.flush_spool
                self._spool_handle.close()
                self._spool_handle = None
                if not left:
                    with contextlib.suppress(FileNotFoundError):
                        self._spool_path().unlink()
        return not left

    # ------------------------------------------------------------ events → operations

    def _op_for(self, event: Event) -> dict[str, Any] | None:
        if isinstance(event, Utterance):
            return self._utterance_op(event)
        if isinstance(event, Flag):
            return self._flag_op(event) if event.final else None
        if isinstance(event, Suggestion):
            return {"op": "suggestion", "seq": self._next("suggestion"), "article": event.article,
                    "title": event.title, "score": event.score, "t": event.t, "redacted": True}
        if isinstance(event, PainPoint):
            return {"op": "painpoint", "seq": self._next("painpoint"), "cluster": event.cluster,
                    "label": redact(event.label, self.store.redaction).text, "count": event.count,
                    "t": event.t, "seen": _iso(now()), "redacted": True}
        if isinstance(event, End):
            return {"op": "end", "ended": _iso(now()), "duration": event.duration}
        return None

    def _utterance_op(self, event: Utterance) -> dict[str, Any]:
        seq = self._next("utterance")
        result = self.redactor(event.text)
        self._last_utterance[event.speaker] = (seq, event.text, result)
        return {"op": "utterance", "seq": seq, "speaker": event.speaker, "start": event.start,
                "end": event.end, "text": result.text, "language": event.language, "t": event.t,
                "redactions": ",".join(result.kinds) or None, "redacted": True}

    def _flag_op(self, event: Flag) -> dict[str, Any]:
        seq, said, result = self._last_utterance.get(event.speaker, (None, "", None))
        span = (None, None)
        if event.span and result is not None:
            span = (result.map_offset(event.span[0]), result.map_offset(event.span[1]))
        return {"op": "flag", "seq": self._next("flag"), "utterance_seq": seq,
                "phrase": event.phrase, "speaker": event.speaker,
                "text": redact(event.text, self.store.redaction, context=said).text,
                "start": event.start, "end": event.end, "severity": event.severity,
                "suggestion": event.suggestion, "matcher": event.matcher,
                "span_start": span[0], "span_end": span[1], "t": event.t, "redacted": True}

    def _next(self, kind: str) -> int:
        self._seq[kind] += 1
        return self._seq[kind]

    # ------------------------------------------------------------ writing and spooling

    def _write(self, op: dict[str, Any]) -> None:
        if self._spooling:
            self._spool(op)
            return
        try:
            self.store.apply(op)
        except DBAPIError as exc:
            if not _is_outage(exc):
                raise
            log.warning("database unreachable (%s): spooling call %s", _reason(exc), self.call_id)
            self._spooling = True
            self._spool(op)
            self._start_flusher()

    def _spool_path(self) -> Path:
        return self.store.spool_dir / f"{self.call_id}.jsonl"

    def _spool(self, op: dict[str, Any]) -> None:
        if self._spool_handle is None:
            self.store.spool_dir.mkdir(parents=True, exist_ok=True)
            self._spool_handle = open(self._spool_path(), "a", encoding="utf-8")  # noqa: SIM115
            _try_lock(self._spool_handle)
        self._spool_handle.write(json.dumps(op, ensure_ascii=False) + "\n")
        self._spool_handle.flush()
        os.fsync(self._spool_handle.fileno())

    def _start_flusher(self) -> None:
        if self._flusher is None or not self._flusher.is_alive():
            self._flusher = threading.Thread(target=self._flush_loop, name="assist-spool",
                                             daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._closed.wait(self.retry_seconds):
            if self._try_flush():
                return

    def _try_flush(self) -> bool:
        """Replay the spool if the database answers; True when it is empty again."""
        if not self.store.ping():  # outside the lock: connecting may take seconds
            return False
        with self._lock:
            if not self._spooling:
                return True
            with open(self._spool_path(), encoding="utf-8") as handle:
                ops = _read_spool(handle)
            try:
                self.store._apply_spooled(ops)
            except DBAPIError as exc:
                if _is_outage(exc):
                    return False
                raise
            if self._spool_handle is not None:
                self._spool_handle.truncate(0)
            else:
                self._spool_path().unlink(missing_ok=True)
            self._spooling = False
            log.warning("database back: %d spooled operations written for call %s",
                        len(ops), self.call_id)
            return True
