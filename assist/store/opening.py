"""Opening the store for a command: read-only where the user cannot write, one line where
a writing command cannot."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import AssistError
from .engine import resolve_url
from .store import Store


def open_for(db: str | None, *, write: bool, upgrade: bool = True) -> Store:
    """Open the store; without ``upgrade`` the schema is left as it is (``db`` commands).

    A SQLite file this user cannot write (or in a folder they cannot write) is opened
    read-only for a reading command (``write=False``); a writing command there fails in
    one line, before SQLite does so less clearly.
    """
    locked = _unwritable(db)
    if locked is not None:
        if write:
            raise AssistError(f"cannot write the database {locked}: it or its folder is read-only")
        return Store(db, read_only=True, check_version=upgrade)
    if upgrade:
        return Store(db)
    return Store(db, upgrade=False, check_version=False, flush_spool=False)


def _unwritable(db: str | None) -> Path | None:
    """The SQLite file ``db`` resolves to, when it exists and cannot be written in place."""
    url = resolve_url(db)
    if url.get_backend_name() != "sqlite" or not url.database or url.query:
        return None
    path = Path(url.database)
    if not path.is_file() or (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return None
    return path
