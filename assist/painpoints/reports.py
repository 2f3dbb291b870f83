"""Reading pain points back for reports and KB editors."""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AssistError
from ..resources import templates
from .alerts import rise
from .labels import central
from .options import PainPointOptions
from .tracker import call_times

if TYPE_CHECKING:
    import jinja2

    from ..charts import DayChart
    from ..store import Store


@dataclass
class PainPointRow:
    """One pain point as the reports show it.

    Attributes:
        id: its id; label: its label; count/calls: problems and distinct calls;
        first_seen/last_seen: times; daily: problems per day, oldest first, the last today;
        times: when each call first raised it, oldest first (what the early warning counts).
    """

    id: str
    label: str
    count: int
    calls: int
    first_seen: datetime | None
    last_seen: datetime | None
    daily: list[int]
    times: list[datetime] = field(default_factory=list)

    @property
    def trend(self) -> str:
        half = len(self.daily) // 2
        before, after = sum(self.daily[:half]), sum(self.daily[half:])
        if after > before * 1.5 and after >= 3:
            return "rising"
        if before > after * 1.5 and before >= 3:
            return "falling"
        return "steady"


def load_rows(store: Store, days: int = 14, now: datetime | None = None) -> list[PainPointRow]:
    """Every pain point with its counts (from its items) and a per-day series, biggest first."""
    from ..store import now as utc_now
    from ..store import painpoint_sightings

    now = now or utc_now()
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    labels, seen = painpoint_sightings(store)
    rows: dict[str, PainPointRow] = {}
    mentions: dict[str, list[tuple[str | None, datetime]]] = {}
    for pid, call_id, when in seen:
        row = rows.setdefault(pid, PainPointRow(pid, labels.get(pid) or "", 0, 0, when, when,
                                                [0] * days))
        row.count += 1
        mentions.setdefault(pid, []).append((call_id, when))
        row.first_seen = min(row.first_seen or when, when)
        row.last_seen = max(row.last_seen or when, when)
        day = (when - start).days
        if 0 <= day < days:
            row.daily[day] += 1
    for pid, row in rows.items():
        row.calls = len({call for call, _when in mentions[pid]} - {None})
        row.times = call_times(mentions[pid])
    return sorted(rows.values(), key=lambda r: (-r.count, r.id))


def examples(store: Store, pid: str, limit: int = 10) -> list[tuple[str, str | None, datetime]]:
    """The latest (text, call, seen) of a pain point."""
    from ..store import painpoint_examples

    return painpoint_examples(store, pid, limit)


def central_examples(store: Store, pid: str, limit: int = 5) -> list[str]:
    """A pain point's distinct problem statements nearest its centroid, nearest first: the
    ones its label is cut from, a KB gap is scored on and an article draft asks."""
    return _labelled_central(store, pid, limit)[1]


def _labelled_central(store: Store, pid: str, limit: int) -> tuple[str, list[str]]:
    from ..store import painpoint_members

    label, rows = painpoint_members(store, pid)
    if label is None:
        raise AssistError(f"no pain point '{pid}' (see 'assist painpoints list')")
    if not rows:
        return label, []
    vectors = np.stack([np.frombuffer(embedding, dtype=np.float32) for _text, embedding in rows])
    return label, [text for _sim, text in central([text for text, _ in rows], vectors, limit)]


@dataclass
class KbGap:
    """A pain point no KB article answers well.

    Attributes:
        painpoint: the pain point.
        score: the median, over its central examples, of the best article's score.
        nearest: the best article for its most central example (a ``kb.SearchResult``), if any.
        examples: its most central problem statements, nearest the centroid first.
        found: per example, the best article as ``assist kb search`` finds it (None: none).
    """

    painpoint: PainPointRow
    score: float
    nearest: Any
    examples: list[str]
    found: list[Any]


def kb_gaps(store: Store, kb: Any, threshold: float | None = None, min_count: int = 3,
            limit: int = 3, sample: int = 5) -> list[KbGap]:
    """Pain points whose best article scores below ``threshold`` (default: the KB's
    suggestion threshold), scored as ``assist kb search`` scores each of the pain point's
    ``sample`` most central problem statements (not its latest ones, which are often a
    customer's follow-ups that lean on what was said before: "it never came in the post").
    The first ``limit`` of them are shown with their scores."""
    import statistics

    bar = kb.threshold if threshold is None else threshold
    gaps = []
    for row in load_rows(store):
        if row.count < min_count:
            continue
        texts = central_examples(store, row.id, max(limit, sample))
        found = [results[0] if results else None
                 for results in (kb.search_many(texts, top=1) if texts else [])]
        score = statistics.median(f.score if f else 0.0 for f in found) if found else 0.0
        if score < bar:
            gaps.append(KbGap(row, score, found[0] if found else None, texts[:limit],
                              found[:limit]))
    return gaps


# ---------------------------------------------------------------- KB editors


def painpoint_article_draft(store: Store, pid: str, questions: int = 8) -> tuple[str, list[str]]:
    """A title and seed questions for a new KB article about a pain point
    (``assist kb new --from-painpoint ID``): the title is its label, the questions its
    distinct problem statements nearest its centroid."""
    label, picked = _labelled_central(store, pid, questions)
    if not picked:
        raise AssistError(f"pain point '{pid}' has no problems left to draft an article from")
    title = label or picked[0]
    return title[:1].upper() + title[1:], picked


# ---------------------------------------------------------------- rendering

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """Per-day counts as block characters, scaled to the biggest."""
    top = max(values, default=0)
    if top == 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, round(v / top * (len(SPARKS) - 1)))]
                   for v in values)


def painpoint_chart(row: PainPointRow, days: int, now: datetime,
                    options: PainPointOptions | None = None, history_start: datetime | None = None,
                    warnings: list[datetime] | None = None) -> DayChart:
    """A pain point's last ``days`` days (the last is ``now``'s): the calls that raised it
    each day; its usual calls per day as the early warning reckons them (``rise`` at the
    day's end: the calls of the ``baseline`` period before its last window, per day, without
    the rule's floor, and none until a day of history is known); and the days an early
    warning was raised."""
    from ..charts import DayChart

    options = replace(options or PainPointOptions(), baseline_floor=0.0)
    first = now.date() - timedelta(days=days - 1)
    dates = [first + timedelta(days=i) for i in range(days)]
    calls = [0] * days
    for when in row.times:
        if 0 <= (when.date() - first).days < days:
            calls[(when.date() - first).days] += 1
    per_day = 24 * 3600 / options.window
    usual = []
    for d in dates:
        end = min(now, datetime.combine(d, time.max))
        known = history_start is not None and end - history_start >= timedelta(days=1)
        # under a day of history says little about a usual day: no line there
        usual.append(round(rise(row.times, end, options, history_start)[1] * per_day, 2)
                     if known else float("nan"))
    return DayChart(dates, {"calls": calls}, "calls", baseline=usual,
                    baseline_label=f"usual calls per day (the {_span(options.baseline)} before)",
                    marks=sorted({w.date() for w in warnings or []}), mark_label="early warning")


def _span(seconds: float) -> str:
    """7 days, 1 hour, 90 minutes."""
    unit, size = next(((unit, size) for unit, size in (("day", 86400), ("hour", 3600))
                       if seconds >= size and (seconds / size).is_integer()), ("minute", 60))
    n = seconds / size
    return f"{n:g} {unit}{'' if n == 1 else 's'}"


def report_charts(store: Store, rows: list[PainPointRow], days: int,
                  options: PainPointOptions | None = None, now: datetime | None = None
                  ) -> dict[str, str]:
    """Pain point id → its chart (``painpoint_chart``) as inline SVG."""
    from ..charts import day_chart_svg
    from ..store import first_item_seen, painpoint_warnings
    from ..store import now as utc_now

    now = now or utc_now()
    start, warned = first_item_seen(store), painpoint_warnings(store)
    return {r.id: day_chart_svg(painpoint_chart(r, days, now, options, start, warned.get(r.id)))
            for r in rows}


def when_text(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def render_md(rows: list[PainPointRow], samples: dict[str, list], days: int) -> str:
    """The weekly-review report in Markdown: text sparklines and examples (their text
    never passes as HTML or as more Markdown lines)."""
    out = [f"# Pain points — last {days} days", ""]
    if not rows:
        out.append("No pain points yet.")
    for r in rows:
        out += [f"## {_md_text(r.label or r.id)} (`{r.id}`)", "",
                f"{r.count} problems in {r.calls} calls · {r.trend} · "
                f"last seen {when_text(r.last_seen)}",
                "", f"`{sparkline(r.daily)}` per day, oldest first", ""]
        out += [f"- {_md_text(text)}" for text, _call, _seen in samples.get(r.id, [])]
        out.append("")
    return "\n".join(out)


def _md_text(text: str) -> str:
    """Said or derived text for Markdown: on one line, with ``<``, ``>`` and ``&`` escaped."""
    return html.escape(" ".join(str(text).split()), quote=False)


def render_html(rows: list[PainPointRow], samples: dict[str, list], days: int,
                charts: dict[str, str], options: PainPointOptions | None = None,
                made: datetime | None = None) -> str:
    """The weekly-review report in HTML: a summary table, then each pain point with its
    chart (``report_charts``) and examples; what the early warning counts is said once."""
    from markupsafe import Markup

    from ..store import now as utc_now

    return _templates().get_template("report.html.j2").render(
        rows=rows, samples=samples, days=days, when_text=when_text, o=options or PainPointOptions(),
        charts={pid: Markup(svg) for pid, svg in charts.items()}, span=_span,  # noqa: S704 (ours)
        made=made or utc_now())


@functools.cache
def _templates() -> jinja2.Environment:
    return templates(__package__ or "assist.painpoints")
