"""LISTEN/NOTIFY and the worker's lock on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from assist.errors import AssistError
from assist.store import Store
from assist.store.notify import ITEMS, RISING, Listener, notify, worker_running


def test_a_notification_reaches_listeners_of_the_same_store_only(pg_url, pg_server):
    other_url = pg_url.replace("search_path%3D", "search_path%3Dx")  # another schema
    pg_server.admin(f"CREATE SCHEMA {other_url.split('search_path%3D')[1]}")
    with Store(pg_url) as store, Store(other_url) as other:
        ours, theirs = Listener(store, [RISING]), Listener(other, [RISING])
        try:
            notify(store, RISING, '{"cluster": "pp1"}')
            notify(store, ITEMS, "")  # nobody listens to this one here
            assert ours.wait(timeout=5.0) == [(RISING, '{"cluster": "pp1"}')]
            assert theirs.wait(timeout=0.5) == []
        finally:
            ours.close()
            theirs.close()


def test_one_worker_per_store(pg_url):
    with Store(pg_url) as store:
        assert not worker_running(store)
        first = Listener(store, [ITEMS], lock=True)
        try:
            assert worker_running(store)
            with pytest.raises(AssistError, match="another assist worker"):
                Listener(store, [ITEMS], lock=True)
        finally:
            first.close()
        assert not worker_running(store)


def test_sqlite_has_no_notifications(tmp_path):
    with Store(str(tmp_path / "one.db")) as store:
        notify(store, ITEMS)  # nothing, and no error
        assert not worker_running(store)
        with pytest.raises(AssistError, match="PostgreSQL"):
            Listener(store, [ITEMS])
