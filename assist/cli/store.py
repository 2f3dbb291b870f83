"""Store and review commands: ``review`` (the screen), ``calls``, ``flags``, ``verdict``,
``export``, ``db upgrade``, ``db info``.

A thin Click front over ``assist.store`` and ``assist.review``; the ``assist``
group registers ``COMMANDS`` (``register(main)``).  Library errors are
``AssistError`` and become one line at the group's edge.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from ..errors import AssistError
from .edge import AssistGroup
from .options import db_option, kb_option

# flag numbers are stored as database integers (32 bits in PostgreSQL)
MAX_FLAG = 2**31 - 1


def _day(value: datetime | None):
    return value.date() if value is not None else None


DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command()
@db_option
@click.option("--agent", help="Only this agent's calls.")
@click.option("--team", help="Only calls of agents in this team.")
@click.option("--since", type=DATE, metavar="YYYY-MM-DD", help="Calls started on or after this day.")
@click.option("--until", type=DATE, metavar="YYYY-MM-DD", help="Calls started before this day.")
@click.option("--phrase", metavar="ID", help="Only calls flagged with this phrase id (e.g. calm-down).")
@click.option("--unreviewed", is_flag=True, help="Only calls with flags that have no verdict yet.")
@click.option("--incomplete", is_flag=True, help="Only calls cut off before their end (a crash).")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many calls.")
@click.option("--jsonl", is_flag=True, help="One JSON object per call instead of a table.")
def calls(db, agent, team, since, until, phrase, unreviewed, incomplete, limit, jsonl) -> None:
    """List stored calls, newest first: when, agent, source, length, flags, how many of them
    are reviewed and how many were false alarms.  Any unique start of a call id (4+
    characters) names the call in 'assist flags', 'verdict' and 'export'."""
    from ..review import clock_text, list_calls
    from ..store import open_for

    with open_for(db, write=False) as store:
        found = list_calls(store, agent=agent, team=team, since=since, until=until, phrase=phrase,
                           unreviewed=unreviewed, status="incomplete" if incomplete else None,
                           limit=limit)
    if jsonl:
        for c in found:
            click.echo(json.dumps({"id": c.id, "agent": c.agent, "started": c.started.isoformat(),
                                   "status": c.status,
                                   "duration": None if c.duration is None else round(c.duration, 2),
                                   "utterances": c.utterances, "flags": c.flags,
                                   "unreviewed": c.unreviewed, "confirmed": c.confirmed,
                                   "false_alarms": c.false_alarms, "source": c.source}))
        return
    if not found:
        click.echo("no calls")
        return
    click.echo(f"{'call':<12}  {'started (UTC)':<16}  {'agent':<10}  {'source':<20}  {'length':>7}  "
               f"{'flags':>5}  {'reviewed':>8}  {'false':>5}  status")
    for c in found:
        click.echo(f"{c.id:<12}  {c.started:%Y-%m-%d %H:%M}  {_cut(c.agent or '-', 10):<10}  "
                   f"{_cut(c.source_name or '-', 20):<20}  {clock_text(c.duration):>7}  "
                   f"{c.flags:>5}  {f'{c.reviewed}/{c.flags}':>8}  {c.false_alarms:>5}  {c.status}")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


@click.command()
@db_option
@click.argument("call")
@click.option("--context", type=int, default=2, show_default=True,
              help="Utterances shown before and after each flagged one.")
def flags(db, call, context) -> None:
    """Show the flags of CALL (its id, or any unique start of it of 4+ characters), numbered,
    each in its stretch of transcript."""
    from ..review import flag_contexts, get_call
    from ..store import open_for, resolve_call_id

    with open_for(db, write=False) as store:
        summary = get_call(store, resolve_call_id(store, call))
        found = flag_contexts(store, summary.id, before=context, after=context)
    click.echo(f"call {summary.id}  agent {summary.agent or '-'}  {summary.started:%Y-%m-%d %H:%M} "
               f"UTC  {summary.status}  {summary.flags} flags")
    for item in found:
        f = item.flag
        at = f"{f.start:.1f}s" if f.start is not None else "?"
        click.echo(f"\n#{f.seq} {f.phrase} at {at} [{f.verdict or 'unreviewed'}]"
                   + (f" note: {f.note}" if f.note else ""))
        for line in [*item.before, *([item.line] if item.line else []), *item.after]:
            mark = ">" if line is item.line else " "
            click.echo(f" {mark} {line.speaker:<8} {line.text}")


@click.command()
@db_option
@click.argument("call")
@click.argument("flag", type=int)
@click.argument("verdict", type=click.Choice(["confirmed", "false-alarm"]))
@click.option("--note", help="What the coach has to say about it.")
@click.option("--reviewer", help="Who reviewed (default: $ASSIST_AGENT or the login name).")
def verdict(db, call, flag, verdict, note, reviewer) -> None:
    """Record a coach's VERDICT on flag number FLAG of CALL (see 'assist flags CALL').

    A false alarm can later become a 'not' example of its phrase pack entry.
    """
    from ..review import record_verdict

    if not 0 < flag <= MAX_FLAG:  # no such flag; too large a number for the database
        raise AssistError(f"call '{call}' has no flag {flag} (see 'assist flags {call}')")
    from ..store import open_for, resolve_call_id

    with open_for(db, write=True) as store:
        call = resolve_call_id(store, call)
        record_verdict(store, call, flag, verdict, note=note, reviewer=reviewer)
    click.echo(f"{call} flag {flag}: {verdict}")


@click.command()
@db_option
@click.option("--call", "call_id", metavar="ID",
              help="Export this call (its id, or a unique start of it of 4+ characters).")
@click.option("--week", is_flag=True, help="Export a week of flags (default: the last 7 days).")
@click.option("--since", type=DATE, metavar="YYYY-MM-DD", help="With --week: the first day.")
@click.option("--team", help="With --week: only agents of this team.")
@click.option("--agent", help="With --week: only this agent.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "html"]), required=True,
              help="csv: one row per flag; json: everything; html: a self-contained report.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write ('-' for standard output).")
def export(db, call_id, week, since, team, agent, fmt, output) -> None:
    """Export one call or a team's week as CSV, JSON or an HTML report (redacted)."""
    from ..review import export_call, export_week, write_report

    if bool(call_id) == bool(week):
        raise AssistError("give either --call ID or --week")
    from ..store import open_for, resolve_call_id

    with open_for(db, write=False) as store:
        if call_id:
            content = export_call(store, resolve_call_id(store, call_id), fmt)
        else:
            content = export_week(store, fmt, since=_day(since), team=team, agent=agent)
    if str(output) == "-":
        click.echo(content, nl=False)
        return
    write_report(output, content)
    click.echo(f"wrote {output}")


@click.command()
@db_option
@kb_option
def review(db, kb_dir) -> None:
    """Open the review screen: stored calls with their flag counts and filters; open a call
    to walk its flags, confirm or dismiss each, write notes and export it.

    Keys are in the footer; k switches to the knowledge-base screen, q quits.
    """
    from ..tui import StoreHandle, run_back_office

    # opened here so a wrong path or an unreachable server is one line, not a screen
    with _open_existing(db) as store:
        run_back_office("review", StoreHandle(db, store), kb_dir)


def _open_existing(db: str | None):
    from ..store import Store

    return Store(db, create=False)


@click.group(cls=AssistGroup, invoke_without_command=True)
@db_option
@click.option("--jsonl", is_flag=True, help="One JSON object per agent instead of a table.")
@click.pass_context
def agents(ctx: click.Context, db, jsonl) -> None:
    """List the agents the store knows (every agent who took a stored call): team, calls,
    last call.  'assist agents set NAME --team T' puts an agent in a team, which the
    --team filters of 'calls' and 'export --week' use."""
    if ctx.invoked_subcommand is not None:
        return
    from ..store import open_for, read_agents

    with open_for(db, write=False) as store:
        rows = read_agents(store)
    if jsonl:
        for row in rows:
            last = row["last_call"]
            click.echo(json.dumps({"id": row["id"], "name": row["name"], "team": row["team"],
                                   "calls": row["n_calls"],
                                   "last_call": last.isoformat() if last else None}))
        return
    if not rows:
        click.echo("no agents yet: an agent appears with their first stored call")
        return
    click.echo(f"{'agent':<16}  {'name':<20}  {'team':<14}  {'calls':>5}  last call (UTC)")
    for row in rows:
        last = row["last_call"]
        click.echo(f"{_cut(row['id'], 16):<16}  {_cut(row['name'] or '-', 20):<20}  "
                   f"{_cut(row['team'] or '-', 14):<14}  {row['n_calls']:>5}  "
                   f"{f'{last:%Y-%m-%d %H:%M}' if last else '-'}")


@agents.command("set")
@db_option
@click.argument("agent")
@click.option("--team", help="The agent's team ('' takes them out of any team).")
@click.option("--name", help="The agent's full name, as reports show it.")
def agents_set(db, agent: str, team: str | None, name: str | None) -> None:
    """Set AGENT's team or name (the agent is added if the store does not know them yet)."""
    from ..store import open_for

    if team is None and name is None:
        raise click.UsageError("give --team or --name")
    agent = agent.strip()
    if not agent:
        raise click.UsageError("AGENT cannot be empty")
    with open_for(db, write=True) as store:
        store.set_agent(agent, name=name or None, team=team.strip() if team is not None else None)
    click.echo(f"{agent}: " + ", ".join(
        part for part in (f"team {team or '(none)'}" if team is not None else "",
                          f"name {name}" if name else "") if part))


@click.group(cls=AssistGroup)
def db() -> None:
    """The database: schema version, upgrades, what it holds."""


@db.command()
@db_option
def upgrade(db) -> None:
    """Apply the schema migrations this database lacks."""
    from ..store import SCHEMA_VERSION, open_for

    with open_for(db, write=True, upgrade=False) as store:
        applied = store.upgrade()
    if applied:
        click.echo(f"upgraded to v{SCHEMA_VERSION} (applied {', '.join(f'v{v}' for v in applied)})")
    else:
        click.echo(f"already at v{SCHEMA_VERSION}")


@db.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(db, as_json) -> None:
    """Show the database URL, schema version, row counts and spooled calls."""
    from ..store import open_for

    with open_for(db, write=False, upgrade=False) as store:
        data = store.info()
    if as_json:
        click.echo(json.dumps(data))
        return
    click.echo(f"database  {data['url']} ({data['backend']})")
    click.echo(f"schema    v{data['version']} (this assist: v{data['latest']})")
    for table, count in data["rows"].items():
        click.echo(f"{table:<20} {count:>8}")
    click.echo(f"incomplete calls    {data['incomplete_calls']:>8}")
    if data["spooled"]:
        click.echo(f"spooled, not yet written: {', '.join(data['spooled'])}")


COMMANDS = [review, calls, flags, verdict, export, agents, db]


def register(group: click.Group) -> None:
    """Add the store commands to the ``assist`` group."""
    for command in COMMANDS:
        group.add_command(command)
