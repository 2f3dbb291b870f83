"""Several machines share one store and each runs a pain-point tracker: their
re-clusterings race, and still no pain-point id is handed out twice and no machine
overwrites another's assignments.  On SQLite (one file) and on a real PostgreSQL
server, with two forked processes (they share the session's embedding model)."""

from __future__ import annotations

import multiprocessing
from collections import Counter, defaultdict

import numpy as np
import pytest
from sqlalchemy import select

from assist.painpoints import PainPointOptions, PainPointTracker, cluster_embeddings
from assist.store import Store, painpoint_items, painpoint_runs, painpoints

TOPICS = {
    "card": ["my new card has not arrived yet", "I am still waiting for my card to arrive",
             "when will my card be delivered", "my card hasn't come in the post",
             "the card you sent never arrived", "my replacement card is still not here"],
    "charge": ["I was charged twice for the same purchase", "there is a double charge on my account",
               "you took the payment two times", "why was my card charged twice",
               "a duplicate transaction shows on my statement", "the same payment went out twice"],
    "login": ["I can't log in to the app", "the app will not let me sign in",
              "login fails on my phone", "I am locked out of the mobile app",
              "the banking app rejects my password", "I cannot sign in to online banking"],
}
ROUNDS = 4


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request, tmp_path):
    """One store two machines share."""
    if request.param == "sqlite":
        return str(tmp_path / "team.db")
    return request.getfixturevalue("pg_url")


def _options() -> PainPointOptions:
    # re-cluster only when told: the test makes both machines do it at the same moment
    return PainPointOptions(background=False, recluster_every=10**6, recluster_fraction=0)


def _machine(url: str, name: str, spool: str, barrier, results) -> None:
    """One agent machine: each round, take a few calls, then re-cluster at the same moment
    as the other machine."""
    import torch

    from assist.models import load_embedder

    torch.set_num_threads(1)  # forked: no OpenMP pool to inherit
    store = Store(url, spool_dir=spool)
    tracker = PainPointTracker(store, load_embedder(), _options())
    won = lost = 0
    for n in range(ROUNDS):
        for topic, texts in TOPICS.items():
            text = texts[(n * 2 + (name == "b")) % len(texts)]
            tracker.start(f"{name}-{n}-{topic}")
            tracker.observe(text, call_id=tracker.call_id)
        barrier.wait(120)
        if tracker.recluster():
            won += 1
        else:
            lost += 1
    barrier.wait(120)
    tracker.refresh()  # the other machine's last re-clustering
    results.put((name, won, lost, tracker.points))
    store.close()


def test_two_machines_recluster_at_once(shared_url, embedder, tmp_path):
    context = multiprocessing.get_context("fork")
    with Store(shared_url, spool_dir=tmp_path / "s"):
        pass  # the schema exists before the machines start
    barrier, results = context.Barrier(2), context.Queue()
    procs = [context.Process(target=_machine,
                             args=(shared_url, name, str(tmp_path / name), barrier, results))
             for name in ("a", "b")]
    for proc in procs:
        proc.start()
    found = [results.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0, 0]
    won = sum(w for _n, w, _l, _p in found)
    lost = sum(losses for _n, _w, losses, _p in found)
    assert won + lost == 2 * ROUNDS and lost >= 1, found  # they did race

    with Store(shared_url, spool_dir=tmp_path / "coach") as coach, coach.engine.connect() as conn:
        generations = conn.execute(select(painpoint_runs.c.generation)).scalars().all()
        rows = conn.execute(select(painpoint_items.c.call_id,
                                   painpoint_items.c.painpoint_id)).all()
        stored = dict(conn.execute(select(painpoints.c.id, painpoints.c.label)).all())
    # every committed re-clustering has its own generation, one after another
    assert sorted(generations) == list(range(1, won + 1))
    # no problem lost, every one in a pain point; one pain point per topic, one topic per id
    assert len(rows) == 2 * ROUNDS * len(TOPICS)
    by_topic: dict[str, Counter] = defaultdict(Counter)
    for call_id, pid in rows:
        by_topic[call_id.split("-")[2]][pid] += 1
    ids = {topic: next(iter(counts)) for topic, counts in by_topic.items()}
    assert all(len(counts) == 1 for counts in by_topic.values()), by_topic
    assert None not in ids.values() and len(set(ids.values())) == len(TOPICS)
    assert set(stored) >= set(ids.values())
    for topic, pid in ids.items():
        assert topic in stored[pid] or topic == "login" and "app" in stored[pid], stored
    # both machines end with the store's pain points
    live = {pid: stored[pid] for pid in ids.values()}
    assert [points for _n, _w, _l, points in found] == [live, live]


def test_the_later_commit_loses_and_takes_the_winners_ids(shared_url, embedder, tmp_path):
    """The race, step by step: both machines read the same state and cluster it; the first
    to commit wins, the second is refused and loads the winner's pain points."""
    a = PainPointTracker(Store(shared_url, spool_dir=tmp_path / "a"), embedder, _options())
    b = PainPointTracker(Store(shared_url, spool_dir=tmp_path / "b"), embedder, _options())
    for n in range(3):
        a.observe(TOPICS["card"][n], call_id=f"a{n}")
        b.observe(TOPICS["charge"][n], call_id=f"b{n}")
    # recluster() in two phases: read the store, cluster; then commit
    read_a, read_b = a._read_store(), b._read_store()
    assert read_a[0] == read_b[0] == 0 and len(read_a[1]) == len(read_b[1]) == 6
    clusters = [cluster_embeddings(np.stack([i.vector for i in r[1]]), a.options)
                for r in (read_a, read_b)]
    assert a._commit_clusters(read_a[0], read_a[1], clusters[0])
    assert not b._commit_clusters(read_b[0], read_b[1], clusters[1])
    a.refresh()
    b.refresh()
    assert sorted(a.points) == ["pp1", "pp2"] and b.points == a.points
    # the loser's next re-clustering builds on the winner's: the ids stay
    before = a.points
    b.observe(TOPICS["card"][4], call_id="b9")
    assert b.recluster()
    a.refresh()
    assert a.points.keys() == b.points.keys() == before.keys()
    for tracker in (a, b):
        tracker.store.close()
