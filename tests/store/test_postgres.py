"""The store against a real PostgreSQL server: the whole of ``test_store.py`` again,
many agent machines writing to one database, and the spool when the server
goes away mid-call.

A throw-away server (``pg_server`` in conftest.py) is started on a loopback port
in a temporary folder with the Debian binaries (``apt-get install postgresql``:
/usr/lib/postgresql/*/bin); as root it runs as the ``postgres`` user.  Without the
binaries these tests skip with the reason.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time

import pytest
from sqlalchemy import func, select

# The whole store suite runs again here with ``db_url`` pointing at PostgreSQL.
from test_store import *  # noqa: F403
from test_store import SCRIPT, _call

from assist.errors import AssistError
from assist.events import End, Flag, Utterance
from assist.review import call_flags, get_call, list_calls, transcript, week_report
from assist.store import MIGRATIONS, Store, StoreSink, calls, flags, utterances
from helpers import REPO

# not about the database back end: run once, in test_store.py
del test_sigkill_mid_call_loses_no_finished_utterance  # noqa: F405, F821
del test_every_store_command_has_help  # noqa: F405, F821
del test_store_modules_do_not_import_textual  # noqa: F405, F821
del test_url_resolution  # noqa: F405, F821
del test_sqlite_file_is_in_wal_mode  # noqa: F405, F821

SAMPLE = REPO / "assist" / "data" / "sample_call.json"


@pytest.fixture
def db_url(pg_url):
    """A fresh, empty schema per test on the throw-away server (overrides test_store's)."""
    return pg_url


def _count(store: Store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# ---------------------------------------------------------------- team scale


def test_it_really_is_postgres(store):
    assert store.backend == "postgresql"
    with store.engine.connect() as conn:
        assert "PostgreSQL" in conn.exec_driver_sql("SELECT version()").scalar()


def test_two_agent_machines_write_to_one_database(db_url, tmp_path):
    machines = [Store(db_url, spool_dir=tmp_path / f"m{i}") for i in range(2)]
    errors: list[BaseException] = []

    def take_calls(store: Store, agent: str) -> None:
        try:
            for n in range(3):
                _call(store, f"{agent}-{n}", agent)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=take_calls, args=(m, a))
               for m, a in zip(machines, ("dan", "eve"), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    coach = machines[0]
    found = list_calls(coach)
    assert len(found) == 6 and {c.status for c in found} == {"complete"}
    assert _count(coach, utterances) == 6 * len(SCRIPT) and _count(coach, flags) == 6 * 3
    assert week_report(coach).per_agent == {"dan": 9, "eve": 9}
    for machine in machines:
        machine.close()


def _replay_sample(url: str, spool: str, agent: str) -> None:
    """One agent machine: open the store (all twenty race to create the schema), replay the
    sample call's events, end the call."""
    script = json.loads(SAMPLE.read_text())
    banned = {b["turn"]: b["phrase"] for b in script["banned"]}
    store = Store(url, spool_dir=spool)
    sink = StoreSink(store, agent=agent, source="sample_call.json")
    sink.start_call(f"call-{agent}")
    for i, turn in enumerate(script["turns"]):
        sink(Utterance(speaker=turn["speaker"], text=turn["text"], start=turn["start"],
                       end=turn["end"]))
        if i in banned:
            sink(Flag(phrase=banned[i], text=turn["text"], start=turn["start"], end=turn["end"]))
    sink(End(duration=script["duration"]))
    if not sink.close() or sink.spooling:
        raise SystemExit(3)
    store.close()


def test_twenty_concurrent_writer_processes(db_url, tmp_path):
    """Twenty processes replay the sample call's events into one fresh database at once.

    Forked, so each child starts with the modules already imported: on a shared two-core
    machine twenty cold Python start-ups would cost more than the writing itself.
    """
    sample = json.loads(SAMPLE.read_text())
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_replay_sample,
                             args=(db_url, str(tmp_path / f"s{i}"), f"agent{i:02d}"))
             for i in range(20)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0] * 20
    with Store(db_url, spool_dir=tmp_path / "coach") as coach:
        found = list_calls(coach)
        assert len(found) == 20 and {c.status for c in found} == {"complete"}
        assert {c.utterances for c in found} == {len(sample["turns"])}
        assert {c.flags for c in found} == {len(sample["banned"])}
        assert _count(coach, utterances) == 20 * len(sample["turns"])
        assert _count(coach, flags) == 20 * len(sample["banned"])
        assert _count(coach, calls) == 20
        with coach.engine.connect() as conn:
            versions = conn.exec_driver_sql("SELECT version FROM schema_version").scalars().all()
        assert sorted(versions) == [m.version for m in MIGRATIONS]  # migrated exactly once


# ---------------------------------------------------------------- the server goes away


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_spool_while_the_server_is_stopped_then_written_when_it_returns(db_url, pg_server,
                                                                       tmp_path):
    store = Store(db_url, spool_dir=tmp_path / "spool")
    sink = StoreSink(store, agent="dan", retry_seconds=0.2)
    sink.start_call("outage")
    for i, (speaker, said) in enumerate(SCRIPT[:3]):
        sink(Utterance(speaker=speaker, text=said, start=i, end=i + 0.5))
    pg_server.stop()
    try:
        began = time.monotonic()
        for i, (speaker, said) in enumerate(SCRIPT[3:], start=3):
            sink(Utterance(speaker=speaker, text=said, start=i, end=i + 0.5))
        sink(Flag(phrase="company-policy", speaker="agent", text="company policy"))
        assert time.monotonic() - began < 10  # the live pipeline is not held up
        assert sink.spooling and (tmp_path / "spool" / "outage.jsonl").exists()
        with pytest.raises(AssistError, match="cannot reach"):
            Store(db_url, spool_dir=tmp_path / "other")  # a new start fails cleanly meanwhile
    finally:
        pg_server.start()
    assert _wait(lambda: not sink.spooling, 30), "the spool was not written after the restart"
    sink(End(duration=9.0))
    assert sink.close()
    assert [line.text for line in transcript(store, "outage")] == [said for _, said in SCRIPT]
    assert len(call_flags(store, "outage")) == 1
    assert get_call(store, "outage").status == "complete"
    store.close()


def test_call_ending_during_an_outage_is_written_at_the_next_start(db_url, pg_server, tmp_path):
    spool = tmp_path / "spool"
    store = Store(db_url, spool_dir=spool)
    sink = StoreSink(store, agent="dan", retry_seconds=0.2)
    sink.start_call("late")
    sink(Utterance(speaker="agent", text="hello", start=0, end=1))
    pg_server.stop()
    try:
        sink(Utterance(speaker="customer", text="my number is 07700 900123", start=1, end=2))
        sink(End(duration=2.0))
        assert not sink.close(timeout=0.5)  # left in the spool: the process may exit now
        store.close()
        assert "[PHONE]" in (spool / "late.jsonl").read_text()
    finally:
        pg_server.start()
    with Store(db_url, spool_dir=spool) as again:
        assert [line.text for line in transcript(again, "late")] == ["hello", "my number is [PHONE]"]
        assert get_call(again, "late").status == "complete"
    assert not (spool / "late.jsonl").exists()


def test_a_pain_point_item_said_during_an_outage_is_spooled_redacted_and_written_later(
        db_url, pg_server, tmp_path, embedder):
    from assist.painpoints import PainPointOptions, PainPointTracker
    from assist.store import read_painpoint_items

    spool = tmp_path / "spool"
    store = Store(db_url, spool_dir=spool)
    tracker = PainPointTracker(store, embedder, PainPointOptions(background=False))
    tracker.start("away")
    store.call_redactor("away")("And the three digits on the back of the card?")
    pg_server.stop()
    try:
        # a code said alone is no problem statement; one inside the statement is kept in it
        said = "my new card still hasn't arrived, it's 737"
        store.call_redactor("away")(said)
        tracker.observe(said, call_id="away")  # the call goes on
        files = list(spool.glob("*.jsonl"))
        assert len(files) == 1 and "[CVV]" in files[0].read_text()
        assert "737" not in files[0].read_text()
    finally:
        pg_server.start()
    store.close()
    with Store(db_url, spool_dir=spool) as again:
        _generation, _labels, rows = read_painpoint_items(again, 10)
        assert [row.text for row in rows] == ["my new card still hasn't arrived, it's [CVV]"]
    assert not list(spool.glob("*.jsonl"))


def test_a_spool_that_cannot_be_written_keeps_the_call_in_memory_until_the_database_returns(
        db_url, pg_server, tmp_path):
    """As on a full disk: the call goes on, held in memory (a folder where the spool file
    should be makes every spool write fail; /dev/full cannot stand in, it reads forever)."""
    spool = tmp_path / "spool"
    (spool / "full.jsonl").mkdir(parents=True)
    store = Store(db_url, spool_dir=spool)
    sink = StoreSink(store, agent="dan", retry_seconds=0.2)
    sink.start_call("full")
    pg_server.stop()
    try:
        sink(Utterance(speaker="customer", text="my number is 07700 900123", start=0, end=1))
        sink(Utterance(speaker="agent", text="thank you", start=1, end=2))  # the call goes on
        assert sink.spooling and sink.held_in_memory == 2
    finally:
        pg_server.start()
    assert _wait(lambda: not sink.spooling, 30), "what was held was not written after the restart"
    assert sink.held_in_memory == 0
    sink(End(duration=2.0))
    assert sink.close()
    assert [line.text for line in transcript(store, "full")] == ["my number is [PHONE]", "thank you"]
    store.close()
