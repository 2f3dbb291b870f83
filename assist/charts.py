"""Charts for the HTML reports: per-day counts drawn by matplotlib (Agg) as inline SVG.

Each chart has axes, a date on every day (weekday above the date), a y axis of whole
numbers, optionally a baseline line and marked days, and is cropped to what it draws
(``bbox_inches="tight"``: no label is cut off).  Text stays text (``svg.fonttype:
none``), so a chart is a few kilobytes and each report file stays self-contained: no
script, nothing fetched.  matplotlib is imported on first use only.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

_COUNTER = itertools.count(1)
BAR, BASELINE, MARK = "#4f7fbf", "#444444", "#c0392b"
STACK = ("#c0392b", "#9aa5b1", "#e8a33d")  # e.g. confirmed, false alarm, unreviewed


@dataclass
class DayChart:
    """A chart of counts per day.

    Attributes:
        days: the days, oldest first.
        series: name -> a count per day; several are stacked, bottom first.
        ylabel: what is counted ("calls", "flags").
        baseline: a value per day drawn as a line (None: no line), named ``baseline_label``.
        marks: days marked with a triangle above their bar, named ``mark_label``.
        colours: a colour per series (default: the report palette).
    """

    days: Sequence[date]
    series: Mapping[str, Sequence[float]]
    ylabel: str
    baseline: Sequence[float] | None = None
    baseline_label: str = ""
    marks: Sequence[date] = ()
    mark_label: str = ""
    colours: Sequence[str] = field(default_factory=tuple)


def day_chart_svg(chart: DayChart, width: float = 7.2, height: float = 2.1) -> str:
    """The chart as an ``<svg>`` element to put in HTML (inches, at 72 points each)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    x = list(range(len(chart.days)))
    colours = list(chart.colours) or ([BAR] if len(chart.series) == 1 else list(STACK))
    bottom = [0.0] * len(x)
    for (name, values), colour in zip(chart.series.items(), itertools.cycle(colours)):
        ax.bar(x, values, 0.7, bottom=bottom, color=colour, label=name, zorder=2)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    top = max(bottom, default=0.0)
    if chart.baseline is not None:
        ax.step(x, chart.baseline, where="mid", color=BASELINE, linestyle="--",
                linewidth=1.2, label=chart.baseline_label, zorder=3)
        top = max([top, *(v for v in chart.baseline if v == v)])  # NaN: no line that day
    marked = [i for i, day in enumerate(chart.days) if day in set(chart.marks)]
    if marked:
        ax.plot(marked, [bottom[i] + max(top, 1) * 0.08 for i in marked], "v", markersize=7,
                color=MARK, label=chart.mark_label, zorder=4)
    ax.set_ylim(0, max(top, 1) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.set_ylabel(chart.ylabel)
    ax.set_xlim(-0.6, len(x) - 0.4)
    ax.set_xticks(x, _day_labels(chart.days))
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8, zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if len(chart.series) > 1 or chart.baseline is not None or marked:  # above the plot
        ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1),
                  ncols=4, borderaxespad=0.2)
    return _svg(fig)


def _day_labels(days: Sequence[date]) -> list[str]:
    """Weekday over day of the month, the month with the first day shown and each 1st;
    with more than 16 days, every few days."""
    step = max(1, -(-len(days) // 16))
    out = []
    for i, d in enumerate(days):
        shown = i % step == 0
        month = shown and (i == 0 or d.day <= step)
        out.append(f"{d:%a}\n{d.day} {d:%b}" if month else f"{d:%a}\n{d.day}" if shown else "")
    return out


def _svg(fig) -> str:
    """The figure as one ``<svg>`` element, its ids unique in the page and its size
    following the page's width."""
    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "assist",
                                "font.family": "sans-serif",
                                "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"]}):
        fig.savefig(out, format="svg", bbox_inches="tight", pad_inches=0.05,
                    metadata={"Date": None, "Creator": None})
    text = out.getvalue()
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)
    prefix = f"c{next(_COUNTER)}-"
    text = re.sub(r'\b(id="|href="#|url\(#)', lambda m: m.group(1) + prefix, text)
    # scale with the page: the viewBox keeps the proportions
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                  r'<svg\1 style="width:100%;max-width:42em;height:auto"', text, count=1)
