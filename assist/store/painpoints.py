"""The pain points' SQL: what the tracker writes and re-clusters, what the reports read.

Everything is redacted here before it is written, so no caller can forget it.  The
functions the live tracker calls raise ``StoreError`` (one line: why) for any
database error, so a call can log it and go on without knowing SQLAlchemy.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..errors import AssistError
from ..redact import redact
from .engine import _is_outage, _reason, now
from .notify import ITEMS, notify_in
from .schema import painpoint_items, painpoint_mentions, painpoint_runs, painpoints

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .store import Store

Assignment = dict[str | None, list[int]]
"""Pain point id (None: noise) → the ``painpoint_items`` ids it gets."""

Plan = Callable[[set[str], list[tuple[int, bytes]]], tuple[Assignment, dict[str, str]]]
"""``plan(taken_ids, newer_rows)`` → (assignment, label of each pain point to write)."""

_BATCH = 500  # ids per UPDATE ... WHERE id IN (...): under every driver's parameter limit


class StoreError(AssistError):
    """The store could not be read or written; the message says why, on one line."""


class ItemRow(NamedTuple):
    """One row of ``painpoint_items``: a customer problem and its embedding."""

    id: int
    painpoint_id: str | None
    call_id: str | None
    text: str
    embedding: bytes
    seen: datetime


@contextlib.contextmanager
def _reasoned() -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        raise StoreError(_reason(exc)) from exc


def _generation(conn: Connection) -> int:
    return conn.execute(
        select(func.coalesce(func.max(painpoint_runs.c.generation), 0))).scalar_one()


# ---------------------------------------------------------------- the tracker


def painpoint_generation(store: Store) -> int:
    """The last committed re-clustering (0: none yet)."""
    with _reasoned(), store.engine.connect() as conn:
        return _generation(conn)


def read_painpoint_items(store: Store, limit: int
                         ) -> tuple[int, dict[str, str], list[ItemRow]]:
    """(generation, pain point id → label, the latest ``limit`` items oldest first)."""
    items = painpoint_items.c
    with _reasoned(), store.engine.connect() as conn:
        # the generation first: a re-clustering committed after this read makes ours lose
        generation = _generation(conn)
        labels = dict(conn.execute(select(painpoints.c.id, painpoints.c.label)).all())
        rows = conn.execute(select(items.id, items.painpoint_id, items.call_id, items.text,
                                   items.embedding, items.seen)
                            .order_by(items.id.desc()).limit(limit)).all()
    return generation, labels, [ItemRow(*row) for row in reversed(rows)]


def save_painpoint_item(store: Store, painpoint_id: str | None, call_id: str | None,
                        text: str, embedding: bytes, seen: datetime) -> tuple[int | None, str]:
    """Add one problem, cut out of the call's latest utterance, redacted with the call's
    context (the three digits asked for a turn before stay out); returns its row id and
    the text as stored.  While the database is away the problem is spooled (row None) and
    written with the call's other spooled events."""
    kept = store.call_redactor(call_id).derived(text).text
    try:
        with _reasoned(), store.engine.begin() as conn:
            row = conn.execute(painpoint_items.insert().values(
                painpoint_id=painpoint_id, call_id=call_id, text=kept, embedding=embedding,
                seen=seen).returning(painpoint_items.c.id)).scalar_one()
            if store.backend == "postgresql":  # the floor's worker, if one runs, at commit
                notify_in(conn, ITEMS, str(row))
    except StoreError as exc:
        if not _is_outage(exc.__cause__ or exc):
            raise
        store.spool({"op": "painpoint_item", "painpoint_id": painpoint_id, "call_id": call_id,
                     "text": kept, "embedding": base64.b64encode(embedding).decode("ascii"),
                     "seen": seen.isoformat()})
        log.warning("pain points: the store is away (%s); the problem is spooled", exc)
        return None, kept
    return row, kept


def commit_clustering(store: Store, generation: int, n_items: int, n_clusters: int,
                      last_row: int, plan: Plan) -> bool:
    """Commit a re-clustering of the items read at ``generation`` (up to row ``last_row``).

    One transaction: the run row ``generation + 1`` first, so a machine that committed
    since the read makes this one fail (False) before anything is written; then
    ``plan(taken_ids, newer_rows)`` runs with the pain-point ids in the store (none can be
    added until this commits) and the (id, embedding) of the items added since the read,
    and its assignment and labels are written with each pain point's counts.
    """
    with _reasoned():
        try:
            with store.engine.connect().execution_options(immediate=True) as conn, \
                    conn.begin():
                conn.execute(painpoint_runs.insert().values(
                    generation=generation + 1, at=now(), host=socket.gethostname(),
                    items=n_items, clusters=n_clusters))
                # the run row is ours: no other machine allocates ids until this commits
                taken = set(conn.execute(select(painpoints.c.id)).scalars())
                newer = [tuple(row) for row in conn.execute(
                    select(painpoint_items.c.id, painpoint_items.c.embedding)
                    .where(painpoint_items.c.id > last_row))]
                assignment, labels = plan(set(taken), newer)
                _assign(conn, assignment)
                for pid, label in labels.items():
                    _write_point(conn, pid, redact(label, store.redaction).text, pid in taken)
        except IntegrityError:  # another machine committed since the read
            return False
    return True


def _assign(conn: Connection, assignment: Assignment) -> None:
    items = painpoint_items.c
    for pid, ids in assignment.items():
        for start in range(0, len(ids), _BATCH):
            conn.execute(update(painpoint_items).where(
                items.id.in_(ids[start:start + _BATCH])).values(painpoint_id=pid))


def _write_point(conn: Connection, pid: str, label: str, exists: bool) -> None:
    """A pain point's label and its counts, from its items as they are assigned now."""
    items = painpoint_items.c
    if not exists:
        conn.execute(painpoints.insert().values(id=pid, label="", count=0, calls=0))
    count, calls, first, last = conn.execute(
        select(func.count(), func.count(items.call_id.distinct()), func.min(items.seen),
               func.max(items.seen)).where(items.painpoint_id == pid)).one()
    conn.execute(update(painpoints).where(painpoints.c.id == pid).values(
        label=label, count=count, calls=calls, first_seen=first, last_seen=last))


# ---------------------------------------------------------------- reports and KB editors


def painpoint_sightings(store: Store
                        ) -> tuple[dict[str, str], list[tuple[str, str | None, datetime]]]:
    """(pain point id → label, (pain point, call, seen) of every item in a pain point)."""
    items = painpoint_items.c
    with store.engine.connect() as conn:
        labels = dict(conn.execute(select(painpoints.c.id, painpoints.c.label)).all())
        seen = conn.execute(select(items.painpoint_id, items.call_id, items.seen)
                            .where(items.painpoint_id.is_not(None))).all()
    return labels, [tuple(row) for row in seen]


def painpoint_warnings(store: Store) -> dict[str, list[datetime]]:
    """Pain point id → when its early warnings were raised (its stored ``painpoint``
    events), oldest first."""
    mentions = painpoint_mentions.c
    out: dict[str, list[datetime]] = {}
    with store.engine.connect() as conn:
        for pid, seen in conn.execute(select(mentions.painpoint_id, mentions.seen)
                                      .where(mentions.seen.is_not(None))
                                      .order_by(mentions.seen)):
            out.setdefault(pid, []).append(seen)
    return out


def first_item_seen(store: Store) -> datetime | None:
    """When the oldest problem (in a pain point or not) was seen: where history starts."""
    with store.engine.connect() as conn:
        return conn.execute(select(func.min(painpoint_items.c.seen))).scalar()


def painpoint_examples(store: Store, pid: str, limit: int = 10
                       ) -> list[tuple[str, str | None, datetime]]:
    """The latest (text, call, seen) of a pain point, newest first."""
    items = painpoint_items.c
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(items.text, items.call_id, items.seen).where(items.painpoint_id == pid)
            .order_by(items.seen.desc()).limit(limit)).all()]


def painpoint_members(store: Store, pid: str) -> tuple[str | None, list[tuple[str, bytes]]]:
    """(label, (text, embedding) of every item) of a pain point (label None: no such row)."""
    items = painpoint_items.c
    with store.engine.connect() as conn:
        label = conn.execute(select(painpoints.c.label).where(painpoints.c.id == pid)).scalar()
        rows = conn.execute(select(items.text, items.embedding)
                            .where(items.painpoint_id == pid)).all()
    return label, [tuple(row) for row in rows]
