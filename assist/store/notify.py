"""PostgreSQL LISTEN/NOTIFY for a floor sharing one store, and the worker's lock.

A team's machines share one PostgreSQL store.  ``assist worker`` re-clusters its pain
points and computes the rising alerts once for the whole floor: agents' machines
``notify`` it of each problem they save, and it ``notify``-s them of each rising pain
point.  Channel names and the worker's lock carry the store's schema, so two stores
in one database (as the tests have) never hear each other.  SQLite has none of this:
there, each machine re-clusters for itself as before.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ..errors import AssistError
from .engine import _reason, safe_url

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger(__name__)

ITEMS = "items"  # an agent's machine saved a customer problem
RISING = "rising"  # the worker: a pain point is rising (payload: the event as JSON)
CLUSTERED = "clustered"  # the worker committed a re-clustering


def _schema(conn: Any) -> str:
    return str(conn.execute(text("SELECT current_schema()")).scalar_one())


def channel_name(schema: str, channel: str) -> str:
    """``assist_<channel>_<schema>``, cut to PostgreSQL's 63-character identifiers."""
    return f"assist_{channel}_{schema}"[:63]


def _lock_key(schema: str) -> str:
    return f"assist-worker:{schema}"


def notify(store: Store, channel: str, payload: str = "") -> None:
    """Tell the floor's listeners (PostgreSQL only; nothing on SQLite).  Never raises:
    a lost notification only delays what a poll finds anyway."""
    if store.backend != "postgresql":
        return
    try:
        with store.engine.begin() as conn:
            notify_in(conn, channel, payload)
    except DBAPIError as exc:
        log.warning("could not notify the floor (%s)", _reason(exc))


def notify_in(conn: Connection, channel: str, payload: str = "") -> None:
    """Notify as part of ``conn``'s transaction: delivered when it commits (PostgreSQL)."""
    conn.execute(text("SELECT pg_notify(:c, :p)"),
                 {"c": channel_name(_schema(conn), channel), "p": payload})


def worker_running(store: Store) -> bool:
    """Does an ``assist worker`` hold this store (PostgreSQL only)?"""
    if store.backend != "postgresql":
        return False
    try:
        with store.engine.begin() as conn:
            key = _lock_key(_schema(conn))
            free = conn.execute(text("SELECT pg_try_advisory_xact_lock_shared(hashtext(:k))"),
                                {"k": key}).scalar_one()
    except DBAPIError:
        return False
    return not free


class Listener:
    """A connection of its own that LISTENs on some channels of the store.

    ``wait(timeout)`` returns the (channel, payload) pairs that arrived, waiting up to
    ``timeout`` seconds for the first one; ``close()`` ends it.  With ``lock`` the
    connection also holds the worker's lock for as long as it is open (an
    ``AssistError`` if another worker has it).
    """

    def __init__(self, store: Store, channels: list[str], lock: bool = False):
        if store.backend != "postgresql":
            raise AssistError(f"{safe_url(store.url)} is not PostgreSQL: notifications need "
                              "the team's PostgreSQL store")
        try:
            self._raw = store.engine.raw_connection()
        except DBAPIError as exc:
            raise AssistError(f"cannot reach the database {safe_url(store.url)}: "
                              f"{_reason(exc)}") from None
        conn: Any = self._raw.driver_connection
        assert conn is not None  # a live pooled connection has its driver's
        conn.autocommit = True
        self._conn = conn
        try:
            schema = str(self._conn.execute("SELECT current_schema()").fetchone()[0])
            if lock:
                held = self._conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))",
                                          (_lock_key(schema),)).fetchone()[0]
                if not held:
                    raise AssistError(f"another assist worker already serves "
                                      f"{safe_url(store.url)}")
            self._names = {channel_name(schema, c): c for c in channels}
            for name in self._names:
                self._conn.execute(f'LISTEN "{name}"')
        except BaseException:
            self.close()
            raise

    def wait(self, timeout: float) -> list[tuple[str, str]]:
        """The notifications that arrived, after waiting up to ``timeout`` s for one."""
        try:
            notes = list(self._conn.notifies(timeout=timeout, stop_after=1))
            if notes:  # and the rest of a burst, without waiting long again
                notes += list(self._conn.notifies(timeout=0.05))
        except Exception as exc:  # the server went away: the caller polls meanwhile
            raise AssistError(f"lost the database connection: {_reason(exc)}") from None
        return [(self._names.get(n.channel, n.channel), n.payload) for n in notes]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._raw.invalidate()  # a LISTENing, locked connection never goes back to the pool


@contextlib.contextmanager
def listening(store: Store, channels: list[str], lock: bool = False) -> Iterator[Listener]:
    listener = Listener(store, channels, lock=lock)
    try:
        yield listener
    finally:
        listener.close()
