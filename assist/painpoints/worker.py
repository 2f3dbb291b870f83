"""``assist worker``: one re-clustering and one early warning for a whole floor.

Without it, every agent's machine re-clusters the latest problems while it also runs
speech recognition, and hears of other agents' problems only at its next call.  With
it running against the team's PostgreSQL store, agents' machines only assign each
problem to the nearest pain point and save it; the store notifies the worker, which
re-clusters when enough have come, applies the early-warning rule to every pain
point, and notifies every agent's machine of a rising one at once (LISTEN/NOTIFY).
One worker per store: a second one refuses to start.  SQLite and a single machine
need no worker and keep working as before.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from ..events import PainPoint
from ..store import CLUSTERED, ITEMS, RISING, Store, listening, notify
from .options import PainPointOptions
from .tracker import PainPointTracker

log = logging.getLogger(__name__)


def serve_floor(store: Store, options: PainPointOptions | None = None, every: float = 30.0,
          on_event: Callable[[PainPoint], None] | None = None,
          on_pass: Callable[[int, int], None] | None = None,
          stop: threading.Event | None = None) -> None:
    """Serve ``store`` until ``stop`` is set: a pass at once, then one each time an
    agent's machine saves a problem (and every ``every`` seconds in any case).
    ``on_event`` gets each rising pain point as it is sent; ``on_pass`` the number of
    problems and pain points after each pass."""
    options = replace(options or PainPointOptions(), background=False)
    with listening(store, [ITEMS], lock=True) as listener:
        tracker = PainPointTracker(store, options=options)
        while stop is None or not stop.is_set():
            generation = tracker.generation
            for event in tracker.worker_pass():
                notify(store, RISING, json.dumps({"cluster": event.cluster, "label": event.label,
                                                  "count": event.count}, ensure_ascii=False))
                if on_event is not None:
                    on_event(event)
            if tracker.generation != generation:
                notify(store, CLUSTERED, str(tracker.generation))
            if on_pass is not None:
                on_pass(tracker.item_count, len(tracker.points))
            listener.wait(timeout=every)
