"""The store: the one place calls, flags and pain points are written."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import (
    Table,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
)

from ..config import private_file
from ..errors import AssistError
from ..redact import Redacted, RedactionOptions, Redactor, redact
from .engine import (
    _check_exists,
    _dt,
    _is_outage,
    _iso,
    _make_engine,
    _reason,
    default_data_dir,
    now,
    resolve_url,
    safe_url,
)
from .schema import (
    COMPLETE,
    INCOMPLETE,
    MIGRATIONS,
    SCHEMA_VERSION,
    agents,
    call_events,
    calls,
    flags,
    metadata,
    painpoint_items,
    painpoint_mentions,
    painpoints,
    reviews,
    schema_version,
    suggestions,
    utterances,
)

log = logging.getLogger(__name__)


class Store:
    """A connection to the assist database.

    Attributes:
        url: the resolved SQLAlchemy URL.
        engine: the SQLAlchemy engine.
        spool_dir: where sinks keep events while the database is unreachable.
        redaction: what is redacted before anything is written or exported.

    ``create=False`` refuses a SQLite file that does not exist yet (reading a
    store that is not there is a mistaken path, not a new database).
    ``read_only=True`` only reads (a SQLite file in a folder this user cannot write):
    the file must exist, and there is no upgrade and no spool flush.
    """

    def __init__(self, url: str | None = None, *, spool_dir: Path | str | None = None,
                 redaction: RedactionOptions | None = None, upgrade: bool = True,
                 check_version: bool = True, flush_spool: bool = True, create: bool = True,
                 read_only: bool = False):
        self.url = resolve_url(url)
        if not create or read_only:
            _check_exists(self.url)
        self.spool_dir = Path(spool_dir) if spool_dir else default_data_dir() / "spool"
        self.redaction = redaction or RedactionOptions()
        self._redactors: dict[str, Redactor] = {}  # each open call's turns so far
        self._redactors_lock = threading.Lock()
        self.engine = _make_engine(_read_only_url(self.url) if read_only else self.url)
        self.ping(raise_error=True)
        if upgrade and not read_only:
            self.upgrade()
        elif check_version:
            self._check_version()
        if flush_spool and not read_only:
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

    def call_redactor(self, call_id: str | None) -> Redactor:
        """The redaction context of a call (its turns so far, both speakers): whatever the
        store keeps of the call (an utterance, a flag, a pain-point item) is redacted with
        it.  Forgotten when the call's sink closes (``forget_call``)."""
        if call_id is None:  # no call to remember: no context
            return Redactor(self.redaction)
        with self._redactors_lock:
            if call_id not in self._redactors:
                self._redactors[call_id] = Redactor(self.redaction)
            return self._redactors[call_id]

    def forget_call(self, call_id: str | None) -> None:
        with self._redactors_lock:
            self._redactors.pop(call_id or "", None)

    def _apply(self, conn: Connection, op: dict[str, Any]) -> None:
        # every operation is redacted here, whoever made it and whatever it says of itself
        # (a spooled line marked "redacted" is redacted again: a no-op on redacted text)
        op = self._redact_op(op)
        handler = _HANDLERS.get(op.get("op", ""))
        if handler is None:
            raise AssistError(f"unknown store operation: {op.get('op')!r}")
        handler(self, conn, op)

    def _redact_op(self, op: dict[str, Any]) -> dict[str, Any]:
        op = dict(op)
        for key in ("text", "title", "note", "label"):
            if isinstance(op.get(key), str):
                op[key] = redact(op[key], self.redaction).text
        if isinstance(op.get("data"), dict):
            op["data"] = redact_strings(op["data"], lambda text: redact(text, self.redaction))
        return op

    def _insert_ignore(self, conn: Connection, table: Table, values: dict[str, Any],
                       keys: list[str]) -> int:
        if self.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            # same call shape; the stubs type each dialect's Insert apart
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
        # rowcount is not reliable across drivers (psycopg reports -1 here): count RETURNING rows
        return len(conn.execute(statement.returning(table.c[keys[0]])).all())

    def _op_agent(self, conn: Connection, op: dict[str, Any]) -> None:
        self._insert_ignore(conn, agents, {"id": op["id"], "name": op.get("name") or op["id"],
                                           "team": op.get("team"), "created": now()}, ["id"])
        changes = {k: op[k] for k in ("name", "team") if op.get(k) is not None}
        if op.get("team") == "":  # no team any more
            changes["team"] = None
        if changes:
            conn.execute(update(agents).where(agents.c.id == op["id"]).values(**changes))

    def _op_call(self, conn: Connection, op: dict[str, Any]) -> None:
        if op.get("agent"):
            self._op_agent(conn, {"id": op["agent"], "team": op.get("team")})
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

    def _op_painpoint_item(self, conn: Connection, op: dict[str, Any]) -> None:
        conn.execute(painpoint_items.insert().values(
            painpoint_id=op.get("painpoint_id"), call_id=op.get("call_id"), text=op["text"],
            embedding=base64.b64decode(op["embedding"]), seen=_dt(op["seen"])))

    def _op_event(self, conn: Connection, op: dict[str, Any]) -> None:
        self._insert_ignore(conn, call_events, {
            "call_id": op["call_id"], "seq": op["seq"], "type": op["type"], "t": op.get("t"),
            "data": json.dumps(op["data"], ensure_ascii=False)}, ["call_id", "seq"])

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
        """Add or change an agent; None leaves a value as it is, a team of '' clears it."""
        self.apply({"op": "agent", "id": agent, "name": name, "team": team})

    def set_feedback(self, call_id: str, article: str, useful: bool) -> None:
        """The agent marked a KB suggestion useful or not (the latest one of that article)."""
        self.apply({"op": "feedback", "call_id": call_id, "article": article, "useful": useful,
                    "at": _iso(now())})

    # ------------------------------------------------------------ spool

    def spool(self, op: dict[str, Any]) -> None:
        """Keep one operation for later, in a file of its own (written whole, then renamed:
        a flush in another process never reads half of it); redacted again when applied."""
        self.spool_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"op-{now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:12]}"
        temp = self.spool_dir / f"{name}.tmp"
        private_file(temp)
        with open(temp, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(op, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        temp.rename(self.spool_dir / f"{name}.jsonl")

    def flush_spool(self) -> int:
        """Write the events other runs spooled while the database was away; returns how many."""
        if not self.spool_dir.exists():
            return 0
        written = 0
        for path in sorted(self.spool_dir.glob("*.jsonl")):
            try:
                # "r+", not "a+": a file another run flushed meanwhile is not made again
                handle = open(path, "r+", encoding="utf-8")  # noqa: SIM115
            except FileNotFoundError:
                continue
            except OSError as exc:  # not a file, or not ours: the other spool files still go
                log.warning("cannot read the spool file %s: %s", path, exc.strerror or exc)
                continue
            with handle:
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


def _read_only_url(url: URL) -> URL:
    """SQLite opened read-only; immutable when no one can be writing it (no ``-wal`` file,
    and a folder in which none could be made), since a WAL database otherwise needs a
    ``-shm`` file next to it even to be read."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return url
    path = Path(url.database)
    query = {"mode": "ro", "uri": "true"}
    if not Path(f"{path}-wal").exists() and not os.access(path.parent, os.W_OK):
        query["immutable"] = "1"
    return url.set(database="file:" + quote(str(path)), query=query)


def _read_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(select(func.max(schema_version.c.version))).scalar() or 0


def redact_strings(value: Any, redactor: Callable[[str], Redacted]) -> Any:
    """``value`` with every string inside it, however nested, redacted by ``redactor``."""
    if isinstance(value, str):
        return redactor(value).text
    if isinstance(value, dict):
        return {k: redact_strings(v, redactor) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_strings(v, redactor) for v in value]
    return value


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
    "painpoint_item": Store._op_painpoint_item,
    "event": Store._op_event,
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
