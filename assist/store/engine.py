"""Database URLs and engines: SQLite by default, PostgreSQL for a team."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    create_engine,
    event,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    OperationalError,
)

from ..config import private_file
from ..errors import AssistError


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
        raise AssistError(f"not a database URL: {safe_url(raw)}") from None
    except ValueError:  # the one int() in SQLAlchemy's parser: the port
        raise AssistError(f"not a database URL: {safe_url(raw)} (the port must be a "
                          "number)") from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise AssistError(f"not a database URL: {safe_url(parsed)} (the port must be "
                              "1 to 65535)")
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise AssistError(f"unsupported database '{backend}': use a SQLite path or postgresql://...")


def safe_url(url: URL | str) -> str:
    """A database URL fit to print: its password as ``***``; a plain path as given."""
    if isinstance(url, str):
        raw = url
        if "://" not in raw:
            return raw
        try:
            url = make_url(raw)
        except (ArgumentError, ValueError):
            # unparsable: hide everything from the first ':' after the user to the last '@'
            return _PASSWORD.sub(r"\1:***@", raw)
    if url.drivername == "postgresql+psycopg":
        url = url.set(drivername="postgresql")
    return url.render_as_string(hide_password=True)


_PASSWORD = re.compile(r"^([\w+]+://[^:/@]*):.*@")


def _check_exists(url: URL) -> None:
    database = url.database if url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:" and not Path(database).is_file():
        raise AssistError(f"no database at {database} (give --db, or run a call with the store "
                          "first)")


def _make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.query.get("uri"):
            _create_private(Path(url.database))
        engine = create_engine(url, connect_args={"timeout": 5})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        engine = create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4,
                               connect_args={"connect_timeout": 3})
    except (ArgumentError, ImportError) as exc:  # a missing driver, a bad option
        raise AssistError(f"cannot use the database {safe_url(url)}: {_reason(exc)}") from None
    event.listen(engine, "do_connect", _pg_connect)
    return engine


def _pg_connect(dialect, _record, cargs, cparams):
    """Connect; a host name the resolver refuses to encode (a label over 63 characters)
    fails as an unreachable database does, not as a bare ValueError."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (ValueError, OSError) as exc:
        raise dialect.loaded_dbapi.OperationalError(
            f"bad host name or option: {_reason(exc)}") from None


def _create_private(database: Path) -> None:
    """The SQLite file, made empty and 0600 (in 0700 folders) before SQLite opens it:
    its -wal and -shm files take the main file's mode."""
    try:
        private_file(database)
    except OSError as exc:
        raise AssistError(f"cannot create the database {database}: "
                          f"{exc.strerror or exc}") from None


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
