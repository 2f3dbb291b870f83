"""``assist painpoints``: recurring customer problems, for coaches and KB editors.

A thin Click front over ``assist.painpoints``; ``kb_gaps`` is registered by the
KB module as ``assist kb gaps``.
"""

from __future__ import annotations

import html
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import AssistError

if TYPE_CHECKING:
    from .painpoints import PainPointRow

RULE_HELP = """
\b
Early warning (live calls): for each pain point, RECENT is the number of
calls that raised it in the last --window (default 1 h; a customer who says
it five times is one call); BASELINE is its average per window over the
--baseline period before that (default 7 days; at least 1, and 1 while the
history is shorter than a window). A 'painpoint' event is raised when
RECENT >= --min-count (default 5) and RECENT >= --factor (default 3) x
BASELINE, once per rise: not again until the rise has subsided and
--cooldown (default 1 h) has passed. 'assist painpoints rising' applies the
rule to the store now; the commands that run calls take the same thresholds
as --alert-window, --alert-baseline, ...
"""


def _hours(value: float) -> float:
    return value * 3600.0


def alert_flags(prefix: str = ""):
    """The early-warning thresholds as options named --{prefix}window, ...: bare for
    'painpoints rising', with 'alert-' on the commands that run calls."""
    def decorate(func):
        options = [
            click.option(f"--{prefix}window", "pp_window", type=float, default=1.0,
                         show_default=True, metavar="HOURS", help="Early warning: the recent window."),
            click.option(f"--{prefix}baseline", "pp_baseline", type=float, default=7 * 24.0,
                         show_default=True, metavar="HOURS",
                         help="Early warning: history before the window that sets the usual rate."),
            click.option(f"--{prefix}factor", "pp_factor", type=float, default=3.0,
                         show_default=True,
                         help="Early warning: how many times the usual rate counts as a rise."),
            click.option(f"--{prefix}min-count", "pp_min_count", type=int, default=5,
                         show_default=True,
                         help="Early warning: the fewest calls in the window that can warn."),
            click.option(f"--{prefix}cooldown", "pp_cooldown", type=float, default=1.0,
                         show_default=True, metavar="HOURS",
                         help="Early warning: quiet time after a warning."),
        ]
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


alert_options = alert_flags()


def options_from(pp_window: float = 1.0, pp_baseline: float = 168.0, pp_factor: float = 3.0,
                 pp_min_count: int = 5, pp_cooldown: float = 1.0, **_ignored):
    """PainPointOptions from the alert_options flags."""
    from .painpoints import PainPointOptions

    return PainPointOptions(window=_hours(pp_window), baseline=_hours(pp_baseline),
                            rise_factor=pp_factor, min_count=pp_min_count,
                            cooldown=_hours(pp_cooldown))

db_option = click.option("--db", metavar="URL|PATH",
                         help="The store (SQLite path or postgresql://...). Default: $ASSIST_DB, "
                              "else assist.db in the user data folder.")


@click.group("painpoints", help="Recurring customer problems: cluster, list, show, report.\n"
             + RULE_HELP)
def painpoints() -> None:
    pass


# ---------------------------------------------------------------- cluster


@painpoints.command("cluster")
@click.option("--jsonl", is_flag=True,
              help='Read {"id": .., "text": ..} lines on stdin; print {"id": .., "cluster": .., '
                   '"label": ..} per line, in order, one per input line.')
@click.option("--method", type=click.Choice(["spectral", "agglomerative", "hdbscan", "community"]),
              default="spectral", show_default=True,
              help="Clustering method (spectral: agglomerative clustering finds how many, "
                   "spectral clustering of the neighbour graph draws them).")
@click.option("--threshold", type=float, default=None,
              help="Cosine distance at which clusters stop merging (default 0.45).")
@click.option("--min-size", type=int, default=3, show_default=True,
              help="Smaller clusters are noise.")
@click.option("--no-filter", is_flag=True,
              help="Cluster every line, even greetings, yes/no, thanks and ID checks.")
def cluster(jsonl: bool, method: str, threshold: float | None, min_size: int,
            no_filter: bool) -> None:
    """Cluster customer utterances into pain points; the number of clusters is found.

    Noise, and lines that carry no problem (greetings, yes/no, thanks,
    verification chatter), get cluster "-1" and label "".  Cluster ids are
    "0", "1", ... biggest first.  Without --jsonl, one text per stdin line and a
    table of the clusters is printed.
    """
    from .painpoints import PainPointOptions, cluster_texts

    options = PainPointOptions(method=method, min_cluster_size=min_size, filter=not no_filter)
    if threshold is not None:
        options.distance_threshold = threshold
    lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
    records: list[dict[str, Any]] = []
    for line in lines:
        if not jsonl:
            records.append({"id": None, "text": line})
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        records.append(record if isinstance(record, dict) else {"id": None, "text": ""})
    result = cluster_texts([str(r.get("text") or "") for r in records], options=options)
    if jsonl:
        for i, record in enumerate(records):
            click.echo(json.dumps({"id": record.get("id"), "cluster": result.clusters[i],
                                   "label": result.label_of(i)}, ensure_ascii=False))
        return
    sizes: dict[str, int] = {}
    for c in result.clusters:
        sizes[c] = sizes.get(c, 0) + 1
    click.echo(f"{'cluster':>7}  {'size':>5}  label")
    for c in sorted(sizes, key=lambda c: (c == "-1", -sizes[c])):
        click.echo(f"{c:>7}  {sizes[c]:>5}  {result.labels.get(c, '(noise / no problem)')}")


# ---------------------------------------------------------------- reading the store


def _open(db: str | None):
    from .store import Store

    return Store(db)


def _find(store, pid: str, days: int = 14) -> PainPointRow:
    from .painpoints import load_rows

    for row in load_rows(store, days):
        if row.id == pid:
            return row
    raise AssistError(f"no pain point '{pid}' (see 'assist painpoints list')")


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    top = max(values, default=0)
    if top == 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, round(v / top * (len(SPARKS) - 1)))]
                   for v in values)


def svg_chart(values: list[int], width: int = 280, height: int = 60) -> str:
    """An inline SVG bar chart of per-day counts."""
    top = max(values, default=0) or 1
    bar = width / max(len(values), 1)
    bars = []
    for i, v in enumerate(values):
        h = (height - 12) * v / top
        bars.append(f'<rect x="{i * bar + 1:.1f}" y="{height - h:.1f}" width="{bar - 2:.1f}" '
                    f'height="{h:.1f}" fill="#d9534f"><title>{v}</title></rect>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="problems per day">'
            f'<text x="0" y="10" font-size="10">max {top}/day</text>{"".join(bars)}</svg>')


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


# ---------------------------------------------------------------- list, show, report


@painpoints.command("list")
@db_option
@click.option("--days", type=int, default=14, show_default=True, help="Days the trend covers.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(db: str | None, days: int, as_json: bool) -> None:
    """Pain points, biggest first: label, count, calls, trend (per day), last seen.

    The trend compares the second half of the period with the first:
    rising / falling when it is half as much again, else steady.
    """
    from .painpoints import load_rows

    with _open(db) as store:
        rows = load_rows(store, days)
    if as_json:
        click.echo(json.dumps([{"id": r.id, "label": r.label, "count": r.count, "calls": r.calls,
                                "trend": r.trend, "daily": r.daily,
                                "last_seen": _when(r.last_seen)} for r in rows], indent=2))
        return
    if not rows:
        click.echo("no pain points yet")
        return
    click.echo(f"{'id':<8} {'label':<36} {'count':>5} {'calls':>5}  {'trend':<{days + 8}}  "
               "last seen")
    for r in rows:
        click.echo(f"{r.id:<8} {r.label[:36]:<36} {r.count:>5} {r.calls:>5}  "
                   f"{sparkline(r.daily)} {r.trend:<7}  {_when(r.last_seen)}")


@painpoints.command("show")
@click.argument("pid", metavar="ID")
@db_option
@click.option("--examples", "limit", type=int, default=10, show_default=True,
              help="How many of the latest examples to show.")
def show(pid: str, db: str | None, limit: int) -> None:
    """One pain point: counts, trend, the latest examples and their calls."""
    from .painpoints import examples

    with _open(db) as store:
        row = _find(store, pid)
        found = examples(store, pid, limit)
    click.echo(f"{row.id}: {row.label}")
    click.echo(f"  {row.count} problems in {row.calls} calls; first seen {_when(row.first_seen)}, "
               f"last seen {_when(row.last_seen)}")
    click.echo(f"  last {len(row.daily)} days: {sparkline(row.daily)} ({row.trend})")
    click.echo("  examples:")
    for text, call_id, seen in found:
        click.echo(f"    {_when(seen)}  [{call_id or '-'}]  {text}")


@painpoints.command("report")
@db_option
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md",
              show_default=True, help="Markdown (text sparklines) or HTML (inline SVG charts).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout.")
@click.option("--days", type=int, default=14, show_default=True, help="Days the charts cover.")
@click.option("--examples", "limit", type=int, default=3, show_default=True,
              help="Examples per pain point.")
def report(db: str | None, fmt: str, output: Path | None, days: int, limit: int) -> None:
    """A weekly-review report: each pain point with its trend chart and examples."""
    from .painpoints import examples, load_rows

    with _open(db) as store:
        rows = load_rows(store, days)
        samples = {r.id: examples(store, r.id, limit) for r in rows}
    text = render_md(rows, samples, days) if fmt == "md" else render_html(rows, samples, days)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def render_md(rows: list[PainPointRow], samples: dict[str, list], days: int) -> str:
    out = [f"# Pain points — last {days} days", ""]
    if not rows:
        out.append("No pain points yet.")
    for r in rows:
        out += [f"## {r.label or r.id} (`{r.id}`)", "",
                f"{r.count} problems in {r.calls} calls · {r.trend} · last seen {_when(r.last_seen)}",
                "", f"`{sparkline(r.daily)}` per day, oldest first", ""]
        out += [f"- {text}" for text, _call, _seen in samples.get(r.id, [])]
        out.append("")
    return "\n".join(out)


def render_html(rows: list[PainPointRow], samples: dict[str, list], days: int) -> str:
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Pain points</title>"
             "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
             "section{border-bottom:1px solid #ddd;padding:.5em 0}</style></head><body>",
             f"<h1>Pain points — last {days} days</h1>"]
    if not rows:
        parts.append("<p>No pain points yet.</p>")
    for r in rows:
        items = "".join(f"<li>{e(text)}</li>" for text, _c, _s in samples.get(r.id, []))
        parts.append(f"<section><h2>{e(r.label or r.id)} <small>{e(r.id)}</small></h2>"
                     f"<p>{r.count} problems in {r.calls} calls · {r.trend} · last seen "
                     f"{_when(r.last_seen)}</p>{svg_chart(r.daily)}<ul>{items}</ul></section>")
    parts.append("</body></html>")
    return "\n".join(parts)


@painpoints.command("rising", help="Apply the early-warning rule to the store now: each pain "
                   "point's recent calls, its usual calls per window, and whether it would "
                   "warn.\n" + RULE_HELP)
@db_option
@alert_options
def rising(db: str | None, **flags) -> None:
    from sqlalchemy import func, select

    from .painpoints import call_times, load_rows, rise
    from .store import painpoint_items

    options = options_from(**flags)
    now = datetime.utcnow()
    items = painpoint_items.c
    with _open(db) as store:
        rows = load_rows(store)
        with store.engine.connect() as conn:
            start = conn.execute(select(func.min(items.seen))).scalar()
            mentions: dict[str, list[tuple[str | None, datetime]]] = {}
            for pid, call_id, seen in conn.execute(
                    select(items.painpoint_id, items.call_id, items.seen)
                    .where(items.painpoint_id.is_not(None))):
                mentions.setdefault(pid, []).append((call_id, seen))
    click.echo(f"{'id':<8} {'label':<36} {'recent':>6} {'usual':>6}  warns")
    for row in rows:
        recent, usual = rise(call_times(mentions.get(row.id, [])), now, options, start)
        warns = recent >= options.min_count and recent >= options.rise_factor * usual
        click.echo(f"{row.id:<8} {row.label[:36]:<36} {recent:>6} {usual:>6.1f}  "
                   f"{'YES' if warns else 'no'}")


# ---------------------------------------------------------------- KB editors


def painpoint_article_draft(store, pid: str, questions: int = 8) -> tuple[str, list[str]]:
    """A title and seed questions for a new KB article about a pain point
    (for ``assist kb new --from-painpoint ID``): the questions are the distinct examples
    closest to the pain point's centroid."""
    import numpy as np
    from sqlalchemy import select

    from .store import painpoint_items, painpoints

    items = painpoint_items.c
    with store.engine.connect() as conn:
        label = conn.execute(select(painpoints.c.label).where(painpoints.c.id == pid)).scalar()
        rows = conn.execute(select(items.text, items.embedding)
                            .where(items.painpoint_id == pid)).all()
    if not rows:
        raise AssistError(f"no pain point '{pid}' (see 'assist painpoints list')")
    vectors = np.stack([np.frombuffer(r.embedding, dtype=np.float32) for r in rows])
    centroid = vectors.mean(axis=0)
    order = np.argsort(-(vectors @ centroid))
    picked: list[str] = []
    for i in order:
        text = rows[int(i)].text.strip()
        if text.lower() not in {p.lower() for p in picked}:
            picked.append(text)
        if len(picked) >= questions:
            break
    terms = [t.strip() for t in (label or "").split(",") if t.strip()]
    title = (terms[0].capitalize() + (f" ({', '.join(terms[1:])})" if terms[1:] else "")
             if terms else picked[0])
    return title, picked


@click.command("gaps")
@db_option
@click.option("--kb", "kb_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Knowledge base folder (default: the shipped one).")
@click.option("--threshold", type=float, default=None,
              help="Best-article score below which a pain point is a gap "
                   "(default: the KB's suggestion threshold).")
@click.option("--min-count", type=int, default=3, show_default=True,
              help="Only pain points with at least this many problems.")
@click.option("--examples", "limit", type=int, default=3, show_default=True,
              help="Examples shown per gap.")
def kb_gaps(db: str | None, kb_dir: Path | None, threshold: float | None, min_count: int,
            limit: int) -> None:
    """Pain points no KB article answers well: their best article scores below the
    suggestion threshold.  Shown with examples, so an editor can write the missing
    article ('assist kb new --from-painpoint ID' pre-fills it).

    A pain point's score is the median, over its latest examples, of the best
    article's score for each example.
    """
    from .kb import KnowledgeBase
    from .painpoints import kb_gaps as find_gaps

    kb = KnowledgeBase.open(kb_dir)
    bar = kb.threshold if threshold is None else threshold
    with _open(db) as store:
        gaps = find_gaps(store, kb, bar, min_count, limit)
    if not gaps:
        click.echo(f"no gaps: every pain point has an article scoring >= {bar:.2f}")
        return
    for gap in gaps:
        row, article = gap.painpoint, gap.nearest
        nearest = f"{article.article} ({article.score:.2f})" if article else "none"
        click.echo(f"{row.id}  {row.label}  — {row.count} problems, {row.calls} calls; "
                   f"best score {gap.score:.2f} < {bar:.2f}; nearest article: {nearest}")
        for text in gap.examples:
            click.echo(f"    - {text}")
