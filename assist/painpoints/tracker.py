"""The pain-point tracker: problems across calls, re-clustered as they come."""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from ..call import Analyzer
from ..errors import AssistError
from ..events import CUSTOMER, Event, PainPoint, Utterance
from .alerts import rise, rises
from .clustering import cluster_embeddings, embed
from .labels import painpoint_labels
from .options import PainPointOptions
from .text import is_problem, problem_statement

if TYPE_CHECKING:
    from ..call import Embedder
    from ..store import Listener, Store

log = logging.getLogger(__name__)

_FINISH_WAIT = 2.0  # seconds a call's end waits for its running re-clustering


@dataclass
class _Item:
    text: str
    vector: np.ndarray
    seen: datetime
    call_id: str | None
    point: str | None = None
    row: int | None = None  # id in painpoint_items


@dataclass
class _Point:
    id: str
    label: str
    centroid: np.ndarray
    times: list[datetime] = field(default_factory=list)  # sorted: when each call first raised it
    calls: set[str] = field(default_factory=set)
    alerted: datetime | None = None
    armed: bool = True

    def add(self, call_id: str | None, when: datetime) -> None:
        """Count a call once, at its first problem of this pain point (no call: each counts)."""
        if call_id is not None:
            if call_id in self.calls:
                return
            self.calls.add(call_id)
        bisect.insort(self.times, when)


def call_times(mentions: Iterable[tuple[str | None, datetime]]) -> list[datetime]:
    """When each call first raised a pain point, sorted, from (call, seen) mentions: the
    early-warning rule counts calls, so a customer who says it five times is one."""
    point = _Point("", "", np.zeros(0, dtype=np.float32))
    for call_id, seen in sorted(mentions, key=lambda m: m[1]):
        point.add(call_id, seen)
    return point.times


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) or 1.0)


def _build_points(items: Sequence[_Item], labels: dict[str, str]) -> dict[str, _Point]:
    """The pain points the items' assignments make: centroid and call times of each."""
    groups: dict[str, list[_Item]] = {}
    for item in sorted(items, key=lambda i: i.seen):
        if item.point:
            groups.setdefault(item.point, []).append(item)
    points = {}
    for pid, group in groups.items():
        point = _Point(pid, labels.get(pid) or "",
                       _unit(np.stack([i.vector for i in group]).mean(axis=0)))
        for item in group:
            point.add(item.call_id, item.seen)
        points[pid] = point
    return points


def _nearest(points: dict[str, _Point], vector: np.ndarray, threshold: float) -> str | None:
    """The pain point whose centroid is closest, when at least ``threshold`` close."""
    if not points:
        return None
    ids = list(points)
    sims = np.stack([points[i].centroid for i in ids]) @ vector
    best = int(np.argmax(sims))
    return ids[best] if sims[best] >= threshold else None


class PainPointTracker(Analyzer):
    """Follows customer problems across calls and warns when one rises (see module doc).

    The early-warning rule, for a pain point at time *now*: *recent* is the number of
    calls that raised it in the last ``window`` (a problem without a call counts as
    one); *baseline* is its average per window over the ``baseline`` before that (at
    least ``baseline_floor``; a young history counts as the floor).  It warns when
    recent >= ``min_count`` and recent >= ``rise_factor`` x baseline; then not again
    until the rise has subsided and ``cooldown`` has passed.

    With a store, the store holds the truth, and several machines may share it: a
    re-clustering reads the latest problems (every machine's), clusters them holding
    no lock, and commits only when no other re-clustering was committed since it read
    (it adds the next row of ``painpoint_runs``, whose generation is unique).  New
    pain-point ids are taken inside that transaction, so no two machines hand out the
    same id; the machine that loses the race loads the winner's pain points instead of
    overwriting them.  Problems that arrive meanwhile keep the pain point they were
    given online, and the winner re-assigns them to its new centroids.
    """

    name = "painpoints"

    def __init__(self, store: Store | None = None, embedder: Embedder | None = None,
                 options: PainPointOptions | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.store = store
        self.options = options or PainPointOptions()
        self._embedder = embedder
        from ..store import now

        self.clock = clock or now
        self.call_id: str | None = None
        self._items: list[_Item] = []
        self._points: dict[str, _Point] = {}
        self._since_recluster = 0
        self._next_id = 1
        self._generation = 0  # the store's last re-clustering this tracker has loaded
        self._lock = threading.RLock()
        self._worker: threading.Thread | None = None
        self._pending: list[Event] = []  # warnings a re-clustering raised, for the next hook
        self._follower: threading.Thread | None = None  # hears the floor's worker
        self._closing = threading.Event()
        self._last_row = 0  # the worker: the newest problem it has seen
        if store is not None:
            self._reload()

    # ------------------------------------------------------------ the analyzer hooks

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from ..models import load_embedder

            self._embedder = load_embedder()
        return self._embedder

    def start(self, call_id: str | None = None) -> list[Event]:
        self.call_id = call_id
        self.refresh()
        return []

    def _redacted(self, problem: str, call_id: str | None) -> str:
        """The problem as the store keeps it, redacted with the call's context, so neither
        its text nor its embedding (nor a label made of it) holds a number the call lost."""
        from ..redact import redact

        if self.store is None:
            return redact(problem).text
        return self.store.call_redactor(call_id).derived(problem).text

    def feed(self, utterance: Utterance) -> list[Event]:
        if utterance.speaker != CUSTOMER:
            return self._take_pending()
        return self._take_pending() + self.observe(utterance.text, call_id=self.call_id)

    def tick(self, audio_time: float, speaking: dict[str, bool]) -> list[Event]:
        return self._take_pending()

    def finish(self, audio_time: float) -> list[Event]:
        # a re-clustering this call started may be about to warn: give it a moment, so
        # the warning goes out (and is stored) with the call that raised it
        worker = self._worker
        if worker is not None and worker.is_alive():
            worker.join(timeout=_FINISH_WAIT)
        return self._take_pending()

    def _take_pending(self) -> list[Event]:
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    # ------------------------------------------------------------ the library

    @property
    def generation(self) -> int:
        """The store's re-clustering this tracker has loaded (0: none, or no store)."""
        return self._generation

    @property
    def item_count(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def points(self) -> dict[str, str]:
        """Pain point id → label."""
        with self._lock:
            return {p.id: p.label for p in self._points.values()}

    def observe(self, text: str, when: datetime | None = None,
                call_id: str | None = None) -> list[Event]:
        """One customer utterance: assign it (or hold it) and return any early warning."""
        if self.options.filter and not is_problem(text):
            return []
        problem = self._redacted(problem_statement(text), call_id)
        vector = embed(self.embedder, [problem])[0]
        when = when or self.clock()
        with self._lock:
            item = _Item(problem, vector, when, call_id)
            item.point = _nearest(self._points, vector, self.options.assign_threshold)
            self._items.append(item)
            point = self._points.get(item.point) if item.point else None
            if point is not None:
                point.add(call_id, when)
            self._save_item(item)
            if self.following:  # the worker re-clusters and warns for the whole floor
                return []
            self._since_recluster += 1
            due = self._recluster_due()
            events = self._check(point, when) if point is not None else []
        if due:
            self._schedule_recluster()
        return events

    def assign(self, text: str) -> str | None:
        """The pain point a problem would join now (None: it would wait as a candidate)."""
        vector = embed(self.embedder, [problem_statement(text)])[0]
        with self._lock:
            return _nearest(self._points, vector, self.options.assign_threshold)

    def recluster(self) -> bool:
        """Cluster the latest problems again; pain points keep their ids where their members
        agree.  With a store: every machine's latest problems, committed unless another
        re-clustering was committed first (then that one's pain points are loaded).
        Returns whether this re-clustering took effect."""
        with self._lock:
            self._since_recluster = 0
            items = self._items[-self.options.max_items:]
        generation = 0
        if self.store is not None:
            generation, items, labels = self._read_store()
        if len(items) < self.options.min_cluster_size:
            return False
        raw = cluster_embeddings(np.stack([i.vector for i in items]), self.options)
        if self.store is None:
            with self._lock:
                self._apply_clusters(items, raw)
            self._check_all()
            return True
        won = self._commit_clusters(generation, items, raw, labels)
        if not won:
            log.info("another machine re-clustered the pain points first; loading its result")
        self._reload()
        self._check_all()
        return won

    def refresh(self) -> None:
        """Take the pain points another machine sharing the store has re-clustered since
        (at the start of each call; cheap when nothing changed), and follow the floor's
        ``assist worker`` when one serves the store."""
        if self.store is None:
            return
        self._reload_if_newer()
        self._follow_worker()

    def _reload_if_newer(self) -> None:
        from ..store import StoreError, painpoint_generation

        assert self.store is not None  # only a tracker with a store reloads
        try:
            if painpoint_generation(self.store) != self._generation:
                self._reload()
        except StoreError as exc:  # the store is away: carry on with what is in memory
            log.warning("pain points: cannot read the store (%s)", exc)

    @property
    def following(self) -> bool:
        """A worker re-clusters and warns for the floor: this machine only assigns."""
        follower = self._follower
        return follower is not None and follower.is_alive()

    def close(self) -> None:
        """Stop following the worker (the session's end)."""
        self._closing.set()
        follower = self._follower
        if follower is not None:
            follower.join(timeout=3.0)

    def _follow_worker(self) -> None:
        from ..store import worker_running

        if self.following or self.store is None or not worker_running(self.store):
            return
        from ..store import CLUSTERED, RISING, Listener

        try:
            listener = Listener(self.store, [RISING, CLUSTERED])
        except AssistError as exc:
            log.warning("pain points: cannot follow the worker (%s)", exc)
            return
        self._follower = threading.Thread(target=self._hear_worker, args=(listener,),
                                          name="assist-painpoints-follow", daemon=True)
        self._follower.start()

    def _hear_worker(self, listener: Listener) -> None:
        """The worker's rising pain points, as they come, for the call's next hook; its
        new pain points, so this machine assigns problems to them."""
        from ..store import RISING

        try:
            while not self._closing.is_set():
                heard = listener.wait(timeout=0.5)
                for channel, payload in heard:
                    if channel == RISING:
                        event = PainPoint(**{k: v for k, v in json.loads(payload).items()
                                             if k in ("cluster", "label", "count")})
                        with self._lock:
                            self._pending.append(event)
                if heard:
                    self._reload_if_newer()
        except (AssistError, ValueError, TypeError) as exc:  # back to re-clustering here
            log.warning("pain points: stopped following the worker (%s)", exc)
        finally:
            listener.close()

    # ------------------------------------------------------------ the floor's worker

    def worker_pass(self) -> list[PainPoint]:
        """One round of ``assist worker``: take every machine's new problems from the
        store, re-cluster when enough have come, and return the pain points rising now
        (each once per rise), which the worker sends to every agent's screen."""
        self._reload()
        with self._lock:
            rows = [i.row for i in self._items if i.row is not None]
            newest = max(rows, default=0)
            self._since_recluster += sum(r > self._last_row for r in rows)
            self._last_row = max(self._last_row, newest)
            due = self._recluster_due()
        if due:
            self.recluster()  # reloads and checks every pain point
        else:
            self._check_all()
        return [e for e in self._take_pending() if isinstance(e, PainPoint)]

    def wait(self) -> None:
        """Wait for a background re-clustering to end."""
        worker = self._worker
        if worker is not None:
            worker.join()

    # ------------------------------------------------------------ internals

    def _recluster_due(self) -> bool:
        """Every ``recluster_every`` new problems; sooner while few are held, so a young
        store finds its first pain points within a few calls."""
        options = self.options
        young = max(options.min_cluster_size,
                    math.ceil(options.recluster_fraction * len(self._items)))
        every = min(options.recluster_every, young) if options.recluster_fraction > 0 \
            else options.recluster_every
        return self._since_recluster >= every

    def _schedule_recluster(self) -> None:
        if not self.options.background:
            self.recluster()
            return
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return
            # not a daemon: a replay that ends mid-clustering still saves the result
            self._worker = threading.Thread(target=self._recluster_safely,
                                            name="assist-painpoints")
            self._worker.start()

    def _recluster_safely(self) -> None:
        try:
            self.recluster()
        except Exception as exc:  # a failed re-clustering keeps the old pain points
            log.warning("pain-point re-clustering failed: %s", _first_line(exc))

    def _apply_clusters(self, items: list[_Item], raw: np.ndarray) -> None:
        """Without a store: the new clusters become the pain points in memory."""
        mapping = _match(items, raw, self._points, self._new_id)
        for item, c in zip(items, raw, strict=True):
            item.point = mapping.get(int(c)) if c >= 0 else None
        names = _names(items, raw, mapping, self.options.label_words,
                       {pid: p.label for pid, p in self._points.items()})
        # problems added while clustering ran join by centroid
        newer = self._items[len(self._items) - self._count_after(items):]
        fresh = _build_points(items, names)
        for item in newer:
            item.point = _nearest(fresh, item.vector, self.options.assign_threshold)
        self._items = items + newer
        self._points = _carry_alerts(self._points, _build_points(self._items, names))

    def _count_after(self, items: list[_Item]) -> int:
        if not items:
            return 0
        last = items[-1]
        for back, item in enumerate(reversed(self._items)):
            if item is last:
                return back
        return 0

    def _new_id(self) -> str:
        while f"pp{self._next_id}" in self._points:
            self._next_id += 1
        pid = f"pp{self._next_id}"
        self._next_id += 1
        return pid

    def _check(self, point: _Point, now: datetime) -> list[Event]:
        recent, baseline = rise(point.times, now, self.options, self._history_start())
        if not rises(recent, baseline, self.options):
            point.armed = True
            return []
        cooled = point.alerted is None or (now - point.alerted).total_seconds() >= self.options.cooldown
        if not (point.armed and cooled):
            return []
        point.armed = False
        point.alerted = now
        return [PainPoint(cluster=point.id, label=point.label, count=recent)]

    def _check_all(self) -> None:
        """After a re-clustering: a pain point the current call's problems are part of may
        be rising now (a young store finds its first pain points only by re-clustering, and
        the problem that made one rise may not be the one assigned last).  The warnings wait
        for the call's next hook."""
        now = self.clock()
        with self._lock:
            for point in self._points.values():
                if self.call_id is None or self.call_id in point.calls:
                    self._pending.extend(self._check(point, now))

    def _history_start(self) -> datetime | None:
        return min((i.seen for i in self._items), default=None)

    # ------------------------------------------------------------ the store

    def _read_store(self) -> tuple[int, list[_Item], dict[str, str]]:
        """(generation, the latest items, labels) as the store has them now."""
        from ..store import read_painpoint_items

        assert self.store is not None  # only a tracker with a store reads it
        generation, labels, rows = read_painpoint_items(self.store, self.options.max_items)
        return generation, [_Item(r.text, np.frombuffer(r.embedding, dtype=np.float32).copy(),
                                  r.seen, r.call_id, r.painpoint_id, r.id)
                            for r in rows], labels

    def _reload(self) -> None:
        """Take the store's pain points (the lock keeps this machine's new problems from
        slipping in between the read and the swap)."""
        with self._lock:
            self._generation, items, labels = self._read_store()
            self._items = items
            self._points = _carry_alerts(self._points, _build_points(items, labels))

    def _save_item(self, item: _Item) -> None:
        if self.store is None:
            return
        from ..store import StoreError, save_painpoint_item

        try:
            item.row, item.text = save_painpoint_item(
                self.store, item.point, item.call_id, item.text,
                item.vector.astype(np.float32).tobytes(), item.seen)
        except StoreError as exc:  # the call goes on; this problem is kept in memory only
            log.warning("pain points: cannot write to the store (%s)", exc)

    def _commit_clusters(self, generation: int, items: list[_Item], raw: np.ndarray,
                         labels: dict[str, str] | None = None) -> bool:
        """Write a re-clustering of ``items`` (read at ``generation``, with the pain points'
        ``labels`` then); False when another one was committed since."""
        from ..store import commit_clustering

        assert self.store is not None  # only a tracker with a store re-clusters through it
        plan = functools.partial(self._plan, items, raw, labels or {})
        last_row = max(i.row for i in items if i.row is not None)  # all were read from the store
        return commit_clustering(self.store, generation, len(items), int(raw.max(initial=-1)) + 1,
                                 last_row, plan)

    def _plan(self, items: list[_Item], raw: np.ndarray, labels: dict[str, str], taken: set[str],
              newer: list[tuple[int, bytes]]) -> tuple[dict[str | None, list[int]], dict[str, str]]:
        """Run inside the commit: (pain point id → item rows, label of each pain point of the
        new clustering).  ``taken``: the ids in the store, which no new pain point may reuse;
        ``newer``: (row, embedding) of the problems added since the read."""
        old = _build_points(items, {})
        taken = taken | set(old)
        numbers = itertools.count(max((int(p[2:]) for p in taken
                                       if re.fullmatch(r"pp\d+", p)), default=0) + 1)
        mapping = _match(items, raw, old, lambda: f"pp{next(numbers)}")
        assigned = [mapping.get(int(c)) if c >= 0 else None for c in raw]
        names = _names(items, raw, mapping, self.options.label_words, labels)
        fresh = _build_points([_Item(i.text, i.vector, i.seen, i.call_id, pid)
                               for i, pid in zip(items, assigned, strict=True)], names)
        rows: dict[str | None, list[int]] = {}
        for item, pid in zip(items, assigned, strict=True):
            if item.row is not None:  # always, for items read from the store
                rows.setdefault(pid, []).append(item.row)
        # problems any machine added since the read join the nearest new pain point
        for row_id, blob in newer:
            vector = np.frombuffer(blob, dtype=np.float32)
            rows.setdefault(_nearest(fresh, vector, self.options.assign_threshold),
                            []).append(row_id)
        return rows, {pid: point.label for pid, point in fresh.items()}


def _names(items: list[_Item], raw: np.ndarray, mapping: dict[int, str], words: int,
           held: dict[str, str]) -> dict[str, str]:
    """Pain point id → the label of its new cluster (``painpoint_labels``); a pain point
    that keeps its id keeps its ``held`` label while its central statements still give it."""
    ids = [mapping.get(int(c), "-1") if c >= 0 else "-1" for c in raw]
    return painpoint_labels([i.text for i in items], np.stack([i.vector for i in items]), ids,
                            words, held)


def _first_line(exc: BaseException) -> str:
    """One log line: the store's errors are one line already, others may run to many."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _carry_alerts(old: dict[str, _Point], new: dict[str, _Point]) -> dict[str, _Point]:
    """A pain point that keeps its id keeps its early-warning state."""
    for pid, point in new.items():
        if pid in old:
            point.alerted, point.armed = old[pid].alerted, old[pid].armed
    return new


def _match(items: list[_Item], raw: np.ndarray, old: dict[str, _Point],
           new_id: Callable[[], str]) -> dict[int, str]:
    """New cluster number → pain point id: the old id its members mostly had, else the old
    centroid it is closest to (cosine ≥ 0.8), else a new id."""
    overlap: Counter[tuple[int, str]] = Counter()
    sizes: Counter[int] = Counter()
    for item, c in zip(items, raw, strict=True):
        if c < 0:
            continue
        sizes[int(c)] += 1
        if item.point in old:
            overlap[(int(c), item.point)] += 1
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for (c, pid), n in sorted(overlap.items(), key=lambda kv: -kv[1]):
        if c in mapping or pid in taken or n < 0.3 * sizes[c]:
            continue
        mapping[c] = pid
        taken.add(pid)
    free = [pid for pid in old if pid not in taken]
    for c in sorted(sizes):
        if c in mapping:
            continue
        if free:
            centroid = _unit(np.stack([i.vector for i, r in zip(items, raw, strict=True)
                                       if r == c]).mean(axis=0))
            sims = [float(old[pid].centroid @ centroid) for pid in free]
            best = int(np.argmax(sims))
            if sims[best] >= 0.8:
                mapping[c] = free.pop(best)
                continue
        mapping[c] = new_id()
    return mapping
