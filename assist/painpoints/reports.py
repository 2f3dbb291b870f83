"""Reading pain points back for reports and KB editors."""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AssistError
from ..resources import templates
from .labels import central

if TYPE_CHECKING:
    import jinja2

    from ..store import Store


@dataclass
class PainPointRow:
    """One pain point as the reports show it.

    Attributes:
        id: its id; label: its c-TF-IDF label; count/calls: problems and distinct calls;
        first_seen/last_seen: times; daily: counts per day, oldest first.
    """

    id: str
    label: str
    count: int
    calls: int
    first_seen: datetime | None
    last_seen: datetime | None
    daily: list[int]

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
    calls: dict[str, set] = {}
    for pid, call_id, when in seen:
        row = rows.setdefault(pid, PainPointRow(pid, labels.get(pid) or "", 0, 0, when, when,
                                                [0] * days))
        row.count += 1
        calls.setdefault(pid, set()).add(call_id)
        row.first_seen = min(row.first_seen or when, when)
        row.last_seen = max(row.last_seen or when, when)
        day = (when - start).days
        if 0 <= day < days:
            row.daily[day] += 1
    for pid, row in rows.items():
        row.calls = len(calls[pid] - {None})
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


def _bars(values: list[int], width: int = 280, height: int = 60) -> dict[str, Any]:
    """Where ``svg_chart`` draws what."""
    top = max(values, default=0) or 1
    bar = width / max(len(values), 1)
    bars = []
    for i, v in enumerate(values):
        h = (height - 12) * v / top
        bars.append({"n": v, "x": f"{i * bar + 1:.1f}", "y": f"{height - h:.1f}",
                     "w": f"{bar - 2:.1f}", "h": f"{h:.1f}"})
    return {"width": width, "height": height, "top": top, "bars": bars}


def svg_chart(values: list[int], width: int = 280, height: int = 60) -> str:
    """An inline SVG bar chart of per-day counts."""
    parts = _templates().get_template("_chart.html.j2").module
    return str(parts.chart(_bars(values, width, height)))  # type: ignore[attr-defined]


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


def render_html(rows: list[PainPointRow], samples: dict[str, list], days: int) -> str:
    """The weekly-review report in HTML: inline SVG charts and examples."""
    return _templates().get_template("report.html.j2").render(
        rows=rows, samples=samples, days=days, when_text=when_text, bars=_bars)


@functools.cache
def _templates() -> jinja2.Environment:
    return templates(__package__ or "assist.painpoints")
