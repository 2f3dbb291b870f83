"""Which plotting library draws the report charts: matplotlib (Agg, SVG) against pygal.

    python bench/charts.py

For a 14-day bar chart with a baseline (a pain point of the report): the import and
first chart in a fresh interpreter, then the mean time of 30 more charts, and the SVG
bytes of one chart.  Both draw SVG with text as text; pygal's output also carries a
script for tooltips (left out with ``js=[]``).

Chosen (2026-12): matplotlib.  pygal draws ten times faster, but a report of 30 pain
points costs matplotlib about 3 s once a week, and out of the box pygal's chart had
no axis title, a legend eating a fifth of the width, a monospace font and the
baseline as a second set of bars; matplotlib gave axes, dated ticks, a dashed step
baseline and markers with a few lines, cropped to what it draws.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DRAW = {
    "matplotlib": """
from datetime import date, timedelta
from assist.charts import DayChart, day_chart_svg
days = [date(2026, 12, 1) + timedelta(days=i) for i in range(14)]
def draw(n):
    return day_chart_svg(DayChart(days, {"calls": [(i * n) % 7 for i in range(14)]}, "calls",
                                  baseline=[2.0] * 14, baseline_label="usual"))
""",
    "pygal": """
import pygal
def draw(n):
    chart = pygal.Bar(width=520, height=150, js=[], show_legend=True)
    chart.x_labels = [f"{d} Dec" for d in range(1, 15)]
    chart.add("calls", [(i * n) % 7 for i in range(14)])
    chart.add("usual", [2.0] * 14, stroke_style={"dasharray": "3,3"})
    return chart.render(is_unicode=True)
""",
}

RUN = """
import sys, time, json
sys.path.insert(0, {root!r})
started = time.perf_counter()
{code}
first = draw(1)
first_s = time.perf_counter() - started
started = time.perf_counter()
for n in range(2, 32):
    draw(n)
print(json.dumps({{"first_chart_s": round(first_s, 3),
                  "per_chart_ms": round((time.perf_counter() - started) / 30 * 1000, 1),
                  "svg_bytes": len(first)}}))
"""


def main() -> None:
    results = {}
    for name, code in DRAW.items():
        out = subprocess.run([sys.executable, "-c", RUN.format(root=str(ROOT), code=code)],
                             capture_output=True, text=True, check=True)
        results[name] = json.loads(out.stdout)
        print(f"{name:<11} {results[name]}")
    results["load_average"] = [round(x, 1) for x in os.getloadavg()]  # other work on the box
    print(json.dumps(results))


if __name__ == "__main__":
    main()
