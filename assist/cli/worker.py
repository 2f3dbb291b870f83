"""``assist worker``: the floor's pain points re-clustered and warned about in one place."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime

import click

from .options import RULE_HELP, alert_options, db_option, options_from


@click.command("worker", epilog=RULE_HELP)
@db_option
@click.option("--every", type=click.FloatRange(min=1.0), default=30.0, show_default=True,
              metavar="SECONDS", help="Look at the store at least this often, notified or not.")
@alert_options
def worker(db: str | None, every: float, **alerts) -> None:
    """Re-cluster a team's pain points and send rising ones to every agent's screen at once.

    Runs against the team's PostgreSQL store (--db or $ASSIST_DB) until stopped
    (Ctrl-C). While it runs, agents' machines only assign each customer problem to a
    pain point; the worker re-clusters the latest problems of the whole floor,
    applies the early-warning rule, and notifies every agent's live screen of a
    rising pain point (PostgreSQL LISTEN/NOTIFY). One worker per store. Without a
    worker, each machine re-clusters by itself, as on SQLite.
    """
    from ..errors import AssistError
    from ..painpoints import serve_floor
    from ..store import Store, safe_url

    with Store(db) as store:
        if store.backend != "postgresql":
            raise AssistError(f"{safe_url(store.url)} is SQLite: the worker serves a team's "
                              "PostgreSQL store (--db postgresql://...); on one machine, "
                              "assist re-clusters by itself")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        click.echo(f"serving {safe_url(store.url)}; Ctrl-C stops", err=True)

        def said(event) -> None:
            click.echo(f"{datetime.now():%H:%M:%S} rising: {event.cluster} {event.label!r} "
                       f"({event.count} calls in the window)")
            sys.stdout.flush()

        def passed(problems: int, points: int) -> None:
            click.echo(f"{datetime.now():%H:%M:%S} {problems} problems, {points} pain points",
                       err=True)

        try:
            serve_floor(store, options_from(**alerts), every=every, on_event=said,
                        on_pass=passed, stop=stop)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
