"""``assist painpoints``: recurring customer problems, for coaches and KB editors.

A thin Click front over ``assist.painpoints``; ``kb_gaps`` is registered by the
KB module as ``assist kb gaps``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import AssistError
from .edge import AssistGroup
from .options import RULE_HELP, alert_options, db_option, kb_option, options_from

if TYPE_CHECKING:
    from ..painpoints import PainPointRow

@click.group("painpoints", cls=AssistGroup, help="Recurring customer problems: cluster, list, show, report.\n"
             + RULE_HELP)
def painpoints() -> None:
    pass


# ---------------------------------------------------------------- cluster


@painpoints.command("cluster")
@click.option("--jsonl", is_flag=True,
              help='Read {"id": .., "text": ..} lines on stdin; print {"id": .., "cluster": .., '
                   '"label": ..} per line, in order, one per input line.')
@db_option
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
@click.pass_context
def cluster(ctx: click.Context, jsonl: bool, db: str | None, method: str,
            threshold: float | None, min_size: int, no_filter: bool) -> None:
    """Cluster customer utterances into pain points; the number of clusters is found.

    Noise, and lines that carry no problem (greetings, yes/no, thanks,
    verification chatter), get cluster "-1" and label "".  Cluster ids are
    "0", "1", ... biggest first.  With --jsonl, a line that cannot be read (or is
    blank) gets id null and cluster "-1", with an "error" naming the line when it is
    bad.  Without --jsonl, one text per stdin line and a table of the clusters is
    printed.

    With --db on the command line, the problems stored there (the latest the live
    tracker keeps) are clustered instead of stdin lines, e.g. to try --method or
    --threshold on a team's own calls; with --jsonl each prints as {"id": its row,
    "cluster", "label", "text"}.  Nothing is written: the stored pain points stay.
    """
    from ..painpoints import PainPointOptions, cluster_problems, cluster_texts

    options = PainPointOptions(method=method, min_cluster_size=min_size, filter=not no_filter)
    if threshold is not None:
        options.distance_threshold = threshold
    stored = ctx.get_parameter_source("db") == click.core.ParameterSource.COMMANDLINE
    if stored:
        records, problems, vectors = _stored(db, options.max_items)
        result = cluster_problems(problems, vectors, options)
    else:
        records = _read_jsonl() if jsonl else _read_texts()
        result = cluster_texts([str(r.get("text") or "") for r in records], options=options)
    if jsonl:
        for i, record in enumerate(records):
            out = {"id": record.get("id"), "cluster": result.clusters[i],
                   "label": result.label_of(i)}
            out.update({k: record[k] for k in (("text",) if stored else ("error",))
                        if k in record})
            click.echo(json.dumps(out, ensure_ascii=False))
        return
    sizes: dict[str, int] = {}
    for c in result.clusters:
        sizes[c] = sizes.get(c, 0) + 1
    click.echo(f"{'cluster':>7}  {'size':>5}  label")
    for c in sorted(sizes, key=lambda c: (c == "-1", -sizes[c])):
        click.echo(f"{c:>7}  {sizes[c]:>5}  {result.labels.get(c, '(noise / no problem)')}")


def _stored(db: str | None, limit: int) -> tuple[list[dict[str, Any]], list[str], Any]:
    """The store's latest problems: records ({"id": row, "text"}), texts and embeddings."""
    import numpy as np

    from ..store import read_painpoint_items

    with _open(db) as store:
        _generation, _labels, rows = read_painpoint_items(store, limit)
    vectors = np.stack([np.frombuffer(r.embedding, dtype=np.float32) for r in rows]) if rows \
        else np.zeros((0, 384), dtype=np.float32)
    return [{"id": r.id, "text": r.text} for r in rows], [r.text for r in rows], vectors


def _read_jsonl() -> list[dict[str, Any]]:
    """One record per stdin line, blank and bad ones included: one output line each."""
    from .stdin import json_line, stdin_lines

    records: list[dict[str, Any]] = []
    for number, line, problem in stdin_lines():
        record: Any = {"id": None, "text": ""}
        if line is not None and line.strip():
            record, problem = json_line(line)
            if problem is None and not isinstance(record, dict):
                problem = "expected a JSON object"
        if problem:
            record = {"id": None, "text": "", "error": f"stdin line {number}: {problem}"}
        records.append(record)
    return records


def _read_texts() -> list[dict[str, Any]]:
    """One record per non-blank stdin line; a line that is not UTF-8 stops with one line."""
    from .stdin import stdin_lines

    records: list[dict[str, Any]] = []
    for number, line, problem in stdin_lines():
        if line is None:
            raise AssistError(f"stdin line {number}: {problem}")
        if line.strip():
            records.append({"id": None, "text": line.rstrip("\r\n")})
    return records


# ---------------------------------------------------------------- reading the store


def _open(db: str | None):
    from ..store import open_for

    return open_for(db, write=False)  # these commands only read: a read-only store will do


def _find(store, pid: str, days: int = 14) -> PainPointRow:
    from ..painpoints import load_rows

    for row in load_rows(store, days):
        if row.id == pid:
            return row
    raise AssistError(f"no pain point '{pid}' (see 'assist painpoints list')")


def _cut(text: str, width: int) -> str:
    """A label in a column: whole, or cut with an ellipsis."""
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


# ---------------------------------------------------------------- list, show, report


@painpoints.command("list")
@db_option
@click.option("--days", type=int, default=14, show_default=True, help="Days the trend covers.")
@click.option("--jsonl", is_flag=True,
              help='Print one JSON object per pain point: {"id", "label", "count", "calls", '
                   '"trend", "daily", "last_seen"}.')
@click.option("--json", "as_json", is_flag=True, hidden=True,
              help="Deprecated: the same objects as one JSON array (use --jsonl).")
def list_(db: str | None, days: int, jsonl: bool, as_json: bool) -> None:
    """Pain points, biggest first: label, count, calls, trend (per day), last seen.

    The trend compares the second half of the period with the first:
    rising / falling when it is half as much again, else steady.
    """
    from ..painpoints import load_rows, sparkline, when_text

    with _open(db) as store:
        rows = load_rows(store, days)
    records = [{"id": r.id, "label": r.label, "count": r.count, "calls": r.calls,
                "trend": r.trend, "daily": r.daily, "last_seen": when_text(r.last_seen)}
               for r in rows]
    if jsonl:
        for record in records:
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    if as_json:
        click.echo("--json is deprecated: use --jsonl (one object per line)", err=True)
        click.echo(json.dumps(records, indent=2))
        return
    if not rows:
        click.echo("no pain points yet")
        return
    click.echo(f"{'id':<8} {'label':<36} {'count':>5} {'calls':>5}  {'trend':<{days + 8}}  "
               "last seen")
    for r in rows:
        click.echo(f"{r.id:<8} {_cut(r.label, 36):<36} {r.count:>5} {r.calls:>5}  "
                   f"{sparkline(r.daily)} {r.trend:<7}  {when_text(r.last_seen)}")


@painpoints.command("show")
@click.argument("pid", metavar="ID")
@db_option
@click.option("--examples", "limit", type=int, default=10, show_default=True,
              help="How many of the latest examples to show.")
def show(pid: str, db: str | None, limit: int) -> None:
    """One pain point: counts, trend, the latest examples and their calls."""
    from ..painpoints import examples, sparkline, when_text

    with _open(db) as store:
        row = _find(store, pid)
        found = examples(store, pid, limit)
    click.echo(f"{row.id}: {row.label}")
    click.echo(f"  {row.count} problems in {row.calls} calls; first seen {when_text(row.first_seen)}, "
               f"last seen {when_text(row.last_seen)}")
    click.echo(f"  last {len(row.daily)} days: {sparkline(row.daily)} ({row.trend})")
    click.echo("  examples:")
    for text, call_id, seen in found:
        click.echo(f"    {when_text(seen)}  [{call_id or '-'}]  {text}")


@painpoints.command("report", help="A weekly-review report: each pain point with its chart "
                   "(calls per day, the early warning's baseline, the warnings raised) and "
                   "examples.\n" + RULE_HELP)
@db_option
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md",
              show_default=True, help="Markdown (text sparklines) or HTML (inline SVG charts).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout.")
@click.option("--days", type=click.IntRange(1, 366), default=14, show_default=True,
              help="Days the charts cover.")
@click.option("--examples", "limit", type=int, default=3, show_default=True,
              help="Examples per pain point.")
@alert_options
def report(db: str | None, fmt: str, output: Path | None, days: int, limit: int,
           **flags) -> None:
    from ..painpoints import examples, load_rows, render_html, render_md, report_charts

    if output is not None and not output.parent.is_dir():  # say so before the work
        raise AssistError(f"cannot write {output}: no such folder {output.parent}")
    options = options_from(**flags)
    with _open(db) as store:
        rows = load_rows(store, days)
        samples = {r.id: examples(store, r.id, limit) for r in rows}
        charts = report_charts(store, rows, days, options) if fmt == "html" else {}
    text = render_md(rows, samples, days) if fmt == "md" \
        else render_html(rows, samples, days, charts, options)
    if output is None:
        click.echo(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise AssistError(f"cannot write {output}: {exc.strerror or exc}") from None
        click.echo(f"wrote {output}", err=True)


@painpoints.command("rising", help="Apply the early-warning rule to the store now: each pain "
                   "point's recent calls, its usual calls per window, and whether it would "
                   "warn.\n" + RULE_HELP)
@db_option
@alert_options
def rising(db: str | None, **flags) -> None:
    from ..painpoints import load_rows, rise, rises
    from ..store import first_item_seen
    from ..store import now as utc_now

    options = options_from(**flags)
    now = utc_now()
    with _open(db) as store:
        rows = load_rows(store)
        start = first_item_seen(store)
    click.echo(f"{'id':<8} {'label':<36} {'recent':>6} {'usual':>6}  warns")
    for row in rows:
        recent, usual = rise(row.times, now, options, start)
        click.echo(f"{row.id:<8} {_cut(row.label, 36):<36} {recent:>6} {usual:>6.1f}  "
                   f"{'YES' if rises(recent, usual, options) else 'no'}")


# ---------------------------------------------------------------- KB editors


@click.command("gaps")
@db_option
@kb_option
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

    A pain point is scored on its five most central problem statements (those
    nearest its centroid, as its label is), each as 'assist kb search' scores it;
    its score is the median of their best articles' scores.  Each example shown
    carries its own best article and score.
    """
    from ..painpoints import kb_gaps as find_gaps
    from .kb import open_kb

    kb = open_kb(kb_dir)  # as 'assist kb search' opens it
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
        for text, found in zip(gap.examples, gap.found, strict=True):
            best = f"{found.score:.2f} {found.article}" if found else "no article"
            click.echo(f"    - {text}  ({best})")
