"""The review and knowledge-base screens, headless, and the keys that switch screens.

The store is a real SQLite file written through the store's own sink: the
recorded stream of the sample call (the real pipeline's events) as one call,
its opening as another, and one call the real pipeline runs from the live
screen.  The KB screen reads real articles with the real embedding model.
"""

from __future__ import annotations

import asyncio
import csv
import shutil
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import Input

from assist.events import End, Utterance
from assist.resources import sample_call, shipped
from assist.review import call_flags, call_review, list_calls
from assist.store import Store, StoreSink
from assist.tui import (
    ArticleScreen,
    AssistApp,
    BackOfficeApp,
    CallScreen,
    ExportScreen,
    KbScreen,
    NoteScreen,
    ReviewScreen,
    StoreHandle,
    Transcript,
)
from helpers import FirstSeconds, text_of, until
from tui_fakes import FakeFactory, FakeSource, frozen_clock, load_events

anyio = pytest.mark.anyio
SIZE = (120, 40)
ARTICLES = ("card-arrival", "transaction-charged-twice", "change-pin", "exchange-rates",
            "lost-or-stolen-card")
CARD = ["my new card has not arrived yet", "I am still waiting for my card to arrive",
        "when will my card be delivered", "my card hasn't come in the post",
        "the card you sent never arrived"]
BRANCH = ["the staff at the branch were rude to me", "the branch manager was very rude to me",
          "I was treated badly by the staff in your branch", "your branch staff were rude and "
          "unhelpful", "the people at the branch were so rude"]


@pytest.fixture
def anyio_backend():
    return "asyncio"


# ---------------------------------------------------------------- a real store


def store_call(store: Store, call_id: str, events, agent: str, started: datetime) -> None:
    """Write a call's events through the sink a live call writes with."""
    sink = StoreSink(store, agent=agent, source="sample_call.wav")
    sink.start_call(call_id, started=started)
    for event in events:
        sink(event)
    sink.close()


def opening(events, utterances: int):
    seen = 0
    for n, event in enumerate(events):
        seen += isinstance(event, Utterance)
        if seen == utterances:
            return [*events[:n + 1], End(call="short-call", duration=event.end)]
    raise ValueError("not enough utterances")


def fill_store(path: Path) -> str:
    """Two calls: the whole sample call (3 flags) by dan, its opening (none) by eve a day later."""
    events = load_events()
    url = str(path)
    with Store(url, spool_dir=path.parent / "spool") as store:
        store_call(store, "recorded-call", events, "dan", datetime(2026, 1, 5, 9, 0))
        store_call(store, "short-call", opening(events, 4), "eve", datetime(2026, 1, 6, 14, 30))
    return url


@pytest.fixture
def review_db(tmp_path) -> str:
    return fill_store(tmp_path / "assist.db")


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kb")
    for name in ARTICLES:
        shutil.copy(shipped("kb") / f"{name}.md", folder)
    return folder


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    """Embedding caches of the test KBs stay out of the user's cache folder."""
    monkeypatch.setenv("ASSIST_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def painpoint_db(tmp_path_factory, embedder) -> str:
    """Pain points in the store: cards that never came (the KB answers) and rude branch
    staff (it does not: a gap)."""
    from assist.painpoints import PainPointOptions, PainPointTracker

    path = tmp_path_factory.mktemp("pp") / "assist.db"
    with Store(str(path), spool_dir=path.parent / "spool") as store:
        tracker = PainPointTracker(store=store, embedder=embedder, options=PainPointOptions(
            background=False, recluster_every=10**6))
        now = datetime.utcnow()
        for i, text in enumerate(CARD + BRANCH):
            tracker.observe(text, when=now - timedelta(hours=20 - i), call_id=f"c{i % 3}")
        tracker.recluster()
    return str(path)


def back_office(mode: str, db: str | None = None, kb_dir: Path | None = None) -> BackOfficeApp:
    return BackOfficeApp(store=StoreHandle(db), kb_dir=kb_dir, mode=mode, theme="ansi-dark")


async def settled(pilot) -> None:
    """The first screen up, every worker done and every message it posted handled."""
    for _ in range(200):  # a loaded machine may not have pushed the first screen yet
        if pilot.app.screen_stack:
            break
        await pilot.pause(0.05)
    for _ in range(2):
        await workers_done(pilot)
        await pilot.pause()


async def workers_done(pilot) -> None:
    """Wait for the workers; one superseded by a newer exclusive load ends cancelled."""
    from textual.worker import WorkerCancelled

    for _ in range(20):
        try:
            await pilot.app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            await pilot.pause()
    raise AssertionError("workers kept being cancelled")


def rows(app) -> list[list[str]]:
    table = app.screen.query_one("#calls")
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def type_into(pilot, selector: str, text: str) -> None:
    box = pilot.app.screen.query_one(selector)
    box.value = ""
    box.focus()
    await pilot.press(*text)
    await settled(pilot)


# ---------------------------------------------------------------- the call list


@anyio
async def test_review_lists_calls_with_flag_counts(review_db):
    app = back_office("review", review_db)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert isinstance(app.screen, ReviewScreen)
        found = rows(app)
        assert [r[-1] for r in found] == ["short-call", "recorded-call"]  # newest first
        assert found[1][:8] == ["2026-01-05 09:00", "dan", "complete", "01:39", "3", "3", "0", "0"]
        assert found[0][1] == "eve" and found[0][4] == "0"
        title = text_of(app.screen.query_one("#review-title"))
        assert "2 calls · 3 flags to review" in title and title.endswith("assist.db")
        assert not app.check_action("switch", ("live",))  # no call in this app


@anyio
async def test_review_filters(review_db):
    app = back_office("review", review_db)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("slash")
        assert app.focused.id == "filter-agent"
        await type_into(pilot, "#filter-agent", "dan")
        assert [r[-1] for r in rows(app)] == ["recorded-call"]
        await type_into(pilot, "#filter-agent", "")
        await type_into(pilot, "#filter-phrase", "calm-down")
        assert [r[-1] for r in rows(app)] == ["recorded-call"]
        await type_into(pilot, "#filter-phrase", "hiring-excuse")
        assert rows(app) == []
        assert "No calls match" in text_of(app.screen.query_one("#review-status"))
        await type_into(pilot, "#filter-phrase", "")
        await type_into(pilot, "#filter-since", "2026-01-06")
        assert [r[-1] for r in rows(app)] == ["short-call"]
        await type_into(pilot, "#filter-until", "2026-01")  # half typed: marked, list kept
        assert app.screen.query_one("#filter-until").has_class("-invalid")
        assert "not a day" in text_of(app.screen.query_one("#review-status"))
        assert [r[-1] for r in rows(app)] == ["short-call"]
        await type_into(pilot, "#filter-until", "")
        await type_into(pilot, "#filter-since", "")
        await pilot.press("escape")
        assert app.focused.id == "calls"
        await pilot.press("u")  # calls with a flag still to review
        await settled(pilot)
        assert [r[-1] for r in rows(app)] == ["recorded-call"]
        await pilot.press("u")
        await settled(pilot)
        assert len(rows(app)) == 2


@anyio
async def test_review_without_a_store_says_why(tmp_path):
    app = back_office("review", str(tmp_path / "missing.db"))
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        status = app.screen.query_one("#review-status")
        assert "no database at" in text_of(status) and status.has_class("-error")
        assert rows(app) == [] and app.is_running
    assert not (tmp_path / "missing.db").exists()


# ---------------------------------------------------------------- one call


async def open_recorded_call(pilot) -> CallScreen:
    app = pilot.app
    await settled(pilot)
    await pilot.press("down", "enter")  # the second row: the sample call
    await until(pilot, lambda: isinstance(app.screen, CallScreen))
    await settled(pilot)
    return app.screen


def card(screen) -> str:
    return text_of(screen.query_one("#review-card"))


def stored(db: str, call: str = "recorded-call"):
    with Store(db) as store:
        return [(f.seq, f.phrase, f.verdict, f.note) for f in call_flags(store, call)]


@anyio
async def test_call_screen_walks_flags_and_records_verdicts_and_notes(review_db):
    app = back_office("review", review_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_recorded_call(pilot)
        assert screen.call_id == "recorded-call"
        said = [line.utterance.text for line in screen.lines]
        assert len(said) == 17 and said[0].startswith("Good morning. Thank you for calling")
        flagged = [line.utterance.text for line in screen.lines if line.flagged]
        assert flagged[0] == "Please calm down, madam." and len(flagged) == 3
        assert "Please calm down" in card(screen) and "I can hear how frustrating" in card(screen)
        assert "No customer in history has calmed down" in card(screen)  # why, from the pack
        assert "to review" in card(screen)
        assert screen.query_one("#review-card").border_title == "1 of 3 · calm-down"
        current = [line for line in screen.lines if line.current]
        assert [line.utterance.text for line in current] == ["Please calm down, madam."]

        await pilot.press("n")
        assert screen.query_one("#review-card").border_title == "2 of 3 · already-said"
        assert [line.current for line in screen.lines].count(True) == 1
        await pilot.press("p", "p")  # wraps round to the last
        assert screen.query_one("#review-card").border_title == "3 of 3 · company-policy"
        await pilot.press("n")

        await pilot.press("c")
        assert "✓ confirmed" in card(screen)  # at once, before the store answers
        await settled(pilot)
        assert stored(review_db)[0] == (1, "calm-down", "confirmed", None)
        await pilot.press("n", "x")
        await settled(pilot)
        assert stored(review_db)[1][2] == "false-alarm"
        assert "✗ false alarm" in text_of(screen.query_one("#review-flags"))

        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, NoteScreen))
        await pilot.press(*"Quoted the wait time, fine", "enter")
        await until(pilot, lambda: app.screen is screen)
        await settled(pilot)
        assert stored(review_db)[1] == (2, "already-said", "false-alarm", "Quoted the wait time, fine")
        assert "Quoted the wait time" in card(screen)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, NoteScreen))
        await pilot.press("x", "escape")  # cancelled: nothing written
        await settled(pilot)
        assert stored(review_db)[1][3] == "Quoted the wait time, fine"
        await pilot.press("a")  # the note again: typing adds to it, nothing is selected
        await until(pilot, lambda: isinstance(app.screen, NoteScreen))
        note = app.screen.query_one("#note-text", Input)
        assert note.has_focus and note.selection.is_empty
        assert note.cursor_position == len("Quoted the wait time, fine")
        await pilot.press(*" and polite", "enter")
        await until(pilot, lambda: app.screen is screen)
        await settled(pilot)
        assert stored(review_db)[1][3] == "Quoted the wait time, fine and polite"

        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await settled(pilot)
        assert rows(app)[1][4:8] == ["3", "1", "1", "1"]  # flags, to review, confirmed, false


def visible(screen) -> list[str]:
    """The transcript rows on screen now."""
    transcript = screen.query_one("#call-transcript", Transcript)
    top = int(transcript.scroll_y)
    return transcript.plain()[top:top + transcript.scrollable_content_region.height]


@anyio
async def test_a_long_call_opens_with_the_current_flag_in_view(tmp_path):
    events = [e for e in load_events() if not isinstance(e, End)]
    span = max(e.end for e in events if hasattr(e, "end")) + 5
    long_call = [replace(e, start=e.start + k * span, end=e.end + k * span)
                 if hasattr(e, "start") and hasattr(e, "end") else e
                 for k in range(12) for e in events]
    db = tmp_path / "assist.db"
    with Store(str(db), spool_dir=tmp_path / "spool") as store:
        store_call(store, "long-call", [*long_call, End(call="long-call", duration=12 * span)],
                   "dan", datetime(2026, 1, 5, 9, 0))
    app = back_office("review", str(db))
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CallScreen))
        await settled(pilot)
        screen = app.screen
        assert len(screen.lines) == 12 * 17 and len(screen.flags) == 36
        for step in range(20):  # well past the first screenful
            current = [line for line in screen.lines if line.current]
            assert len(current) == 1
            await settled(pilot)
            shown = " ".join(visible(screen))
            assert " ".join(current[0].utterance.text.split()[:4]) in shown, step
            await pilot.press("n")
        assert screen.query_one("#review-card").border_title.startswith("21 of 36")


@anyio
async def test_a_call_without_flags_takes_a_call_note(review_db):
    app = back_office("review", review_db)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("enter")  # the first row: the short call
        await until(pilot, lambda: isinstance(app.screen, CallScreen))
        await settled(pilot)
        screen = app.screen
        assert "no flags" in card(screen) and len(screen.lines) == 4
        await pilot.press("n", "c")
        assert sum("no flags" in n.message for n in app._notifications) == 2
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, NoteScreen))
        await pilot.press(*"Good opening", "enter")
        await settled(pilot)
        with Store(review_db) as store:
            assert call_review(store, "short-call").note == "Good opening"
        assert "Good opening" in text_of(screen.query_one("#review-note"))


@anyio
async def test_export_a_call(review_db, tmp_path):
    app = back_office("review", review_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_recorded_call(pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen))
        box = app.screen.query_one("#export-path")
        assert box.value.endswith("call-recorded-call.html")
        await type_into(pilot, "#export-path", str(tmp_path / "call.txt"))
        await pilot.press("enter")
        await settled(pilot)
        note = app.screen.query_one("#export-note")
        assert "cannot tell the format of call.txt" in text_of(note) and note.has_class("-error")
        await type_into(pilot, "#export-path", str(tmp_path / "call.csv"))
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        exported = list(csv.DictReader((tmp_path / "call.csv").open(encoding="utf-8")))
        assert [r["phrase"] for r in exported] == ["calm-down", "already-said", "company-policy"]
        assert any(str(tmp_path / "call.csv") in n.message for n in app._notifications)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        await settled(pilot)
        await pilot.press("up", "e")  # from the list: the highlighted call
        await until(pilot, lambda: isinstance(app.screen, ExportScreen))
        await type_into(pilot, "#export-path", str(tmp_path / "short.json"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert '"id": "short-call"' in (tmp_path / "short.json").read_text(encoding="utf-8")


# ---------------------------------------------------------------- the knowledge base


@anyio
async def test_kb_screen_loads_in_a_worker_then_searches(small_kb, embedder):
    app = back_office("kb", kb_dir=small_kb)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, KbScreen)
        assert screen.kb is None and "loading models" in text_of(screen.query_one("#kb-title"))
        await settled(pilot)
        assert "5 articles" in text_of(screen.query_one("#kb-title"))
        listing = screen.query_one("#kb-list")
        assert listing.option_count == 5
        assert screen.shown_id == "card-arrival"  # alphabetically first, shown at once
        await pilot.press("slash")
        await pilot.press(*"my card never came in the post")
        await settled(pilot)
        assert listing.get_option_at_index(0).id == "card-arrival"
        assert "●" in str(listing.get_option_at_index(0).prompt)
        assert "reach" in text_of(screen.query_one("#kb-hint"))
        await pilot.press("enter", "down")
        await settled(pilot)
        assert app.focused is listing and screen.shown_id == listing.get_option_at_index(1).id
        markdown = screen.query_one("#kb-article")
        assert "Customers ask" in markdown.source
        await type_into(pilot, "#kb-query", "")
        assert listing.option_count == 5


@anyio
async def test_kb_gaps(small_kb, painpoint_db, embedder):
    app = back_office("kb", painpoint_db, small_kb)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await settled(pilot)
        await pilot.press("g")
        await settled(pilot)
        gaps = screen.query_one("#kb-gaps")
        assert screen.showing_gaps and gaps.display and not screen.query_one("#kb-list").display
        assert gaps.option_count == 1  # the card problems have their article
        assert "rude" in str(gaps.get_option_at_index(0).prompt)
        assert screen.query_one("#kb-article").source.startswith("# Gap: ")
        assert "the branch" in screen.query_one("#kb-article").source
        assert screen.query_one("#kb-left").border_title == "Gaps"
        assert not screen.check_action("gaps", (True,)) and screen.check_action("gaps", (False,))
        await pilot.press("g")
        await settled(pilot)
        assert not screen.showing_gaps and screen.query_one("#kb-list").display


@anyio
async def test_kb_gaps_without_a_store_say_why(small_kb, tmp_path, embedder):
    app = back_office("kb", str(tmp_path / "none.db"), small_kb)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("escape", "g")
        await settled(pilot)
        hint = app.screen.query_one("#kb-hint")
        assert "no database at" in text_of(hint) and hint.has_class("-error")


@pytest.fixture
def editable_kb(tmp_path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    for name in ARTICLES[:2]:
        shutil.copy(shipped("kb") / f"{name}.md", folder)
    return folder


def editor_script(tmp_path: Path) -> tuple[Path, Path]:
    """An $EDITOR that records the file it was given and retitles the article."""
    log = tmp_path / "editor.log"
    script = tmp_path / "editor.py"
    script.write_text(
        "import pathlib, sys\n"
        f"pathlib.Path({str(log)!r}).open('a').write(sys.argv[1] + '\\n')\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('title: Card', 'title: Edited card', 1))\n")
    return script, log


@anyio
async def test_kb_opens_an_article_in_the_editor(editable_kb, tmp_path, monkeypatch, embedder):
    script, log = editor_script(tmp_path)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    app = back_office("kb", kb_dir=editable_kb)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await settled(pilot)
        await pilot.press("escape")
        assert screen.shown_id == "card-arrival"
        await pilot.press("e")
        await settled(pilot)
        assert log.read_text().splitlines() == [str(editable_kb / "card-arrival.md")]
        assert screen.edited == [editable_kb / "card-arrival.md"]
        assert screen.kb.get("card-arrival").title.startswith("Edited card")  # read again
        listing = screen.query_one("#kb-list")
        assert "Edited card" in str(listing.get_option("card-arrival").prompt)
        assert screen.shown_id == "card-arrival"  # still the one in the reader, now edited
        assert screen.query_one("#kb-article").source.startswith("# Edited card")


@anyio
async def test_kb_edit_without_an_editor_says_so(editable_kb, monkeypatch, embedder):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    app = back_office("kb", kb_dir=editable_kb)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("escape", "e")
        await pilot.pause()
        assert any("Set $EDITOR" in n.message for n in app._notifications)
        monkeypatch.setenv("EDITOR", "no-such-editor-here")
        await pilot.press("e")
        await pilot.pause()
        assert any("Cannot run the editor no-such-editor-here" in n.message
                   for n in app._notifications)


# ---------------------------------------------------------------- switching screens


def live_app(db: str, kb_dir: Path) -> tuple[AssistApp, FakeFactory]:
    factory = FakeFactory(load_events(), hold_open=True)
    app = AssistApp(FakeSource(), None, pipeline_factory=factory, clock=frozen_clock(),
                    theme="ansi-dark", store=StoreHandle(db))
    app.kb_dir = kb_dir
    return app, factory


@anyio
async def test_keys_switch_screens_and_the_call_goes_on(review_db, small_kb, embedder):
    app, factory = live_app(review_db, small_kb)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.kb.shown) == 2)  # the call has run its events
        assert app.check_action("switch", ("review",)) and not app.check_action("switch", ("live",))
        await pilot.press("r")
        assert app.current_mode == "review" and isinstance(app.screen, ReviewScreen)
        assert not app.check_action("mark", ()) and not app.check_action("stop_call", ())
        await pilot.press("m", "s", "p")  # the live screen's keys do nothing here
        assert app.marks == [] and not app.paused and not factory.built[0].stopped.is_set()
        await settled(pilot)
        assert len(rows(app)) == 2
        await pilot.press("k")
        assert app.current_mode == "kb" and isinstance(app.screen, KbScreen)
        await settled(pilot)
        await pilot.press("slash", "f2")  # F-keys work while typing in the search box
        assert app.current_mode == "review"
        await pilot.press("f3")
        assert app.current_mode == "kb" and app.focused.id == "kb-query"
        await pilot.press("f1")
        assert app.current_mode == "live" and not factory.built[0].stopped.is_set()
        await pilot.press("1")  # an article over the live screen ...
        await until(pilot, lambda: isinstance(app.screen, ArticleScreen))
        await pilot.press("r", "l")  # ... is still there on the way back
        assert isinstance(app.screen, ArticleScreen)
        await pilot.press("escape", "p")  # the live keys work again
        assert app.paused
        await pilot.press("q")
    assert app.return_code == 0


def real_settings(db: Path):
    from assist.call import CallSettings

    settings = CallSettings.build(language="en", store=True, db=str(db))
    settings.cpu_threads = 2
    return settings


@anyio
async def test_a_live_call_is_stored_and_reviewed(tmp_path, whisper_model):
    """The real pipeline on the sample call's first seconds, stored as the CLI stores it,
    then read back on the review screen of the same app."""
    from assist.session import Session as StoredCalls
    from assist.session import open_store

    settings = real_settings(tmp_path / "live.db")
    calls = StoredCalls(FirstSeconds(sample_call(), 12.5), open_store(settings))
    app = AssistApp(calls.source, settings, pipeline_factory=calls.pipeline_factory,
                    on_feedback=calls.on_feedback, theme="ansi-dark",
                    store=StoreHandle(settings.db, calls.store))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.wait_for(app.workers.wait_for_complete(), 180)
            await until(pilot, lambda: not app.running)
            await pilot.press("r")
            await settled(pilot)
            found = rows(app)
            assert len(found) == 1 and found[0][2] == "complete"
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, CallScreen))
            await settled(pilot)
            lines = [line.utterance for line in app.screen.lines]
            assert "riverside bank" in " ".join(u.text for u in lines).lower()
            assert {u.speaker for u in lines} == {"agent", "customer"}
        with Store(settings.db) as store:
            assert list_calls(store)[0].utterances == len(lines)
    finally:
        calls.close()


# ---------------------------------------------------------------- the command line


def test_review_command_needs_a_store(tmp_path):
    from assist.cli import main

    result = CliRunner().invoke(main, ["review", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: no database at {tmp_path / 'none.db'} (give --db, or run a call with the "
        "store first)"]
    result = CliRunner().invoke(main, ["kb", "browse", "--kb", str(tmp_path / "none")])
    assert result.exit_code == 1 and "no knowledge base folder" in result.output


# ---------------------------------------------------------------- snapshots


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """Snapshots run in a folder of their own: the title bars show paths below it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_snapshot_review_list(snap_compare, here):
    app = back_office("review", fill_store(here / "assist.db"))
    assert snap_compare(app, terminal_size=(120, 40), run_before=settled)


def test_snapshot_review_call(snap_compare, here):
    async def open_call(pilot):
        await open_recorded_call(pilot)
        await pilot.press("n")
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.3)

    app = back_office("review", fill_store(here / "assist.db"))
    assert snap_compare(app, terminal_size=(100, 30), run_before=open_call)


def test_snapshot_kb_screen(snap_compare, here, small_kb, embedder):
    async def search(pilot):
        await settled(pilot)
        await pilot.press("slash", *"my card never came in the post", "enter")
        await settled(pilot)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.3)

    shutil.copytree(small_kb, here / "kb")
    assert snap_compare(back_office("kb", kb_dir=here / "kb"), terminal_size=(100, 30),
                        run_before=search)


@anyio
async def test_the_call_screen_ends_with_the_stored_wrapup(review_db):
    app = back_office("review", review_db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_recorded_call(pilot)
        notes = [n.text for n in screen.query_one("#call-transcript", Transcript).notes
                 if n.kind == "wrapup"]
        assert len(notes) == 1 and notes[0].startswith("Wrap-up · reason: Card hasn't arrived")
        assert "steps missed: none" in notes[0] and "Customer: " in notes[0]
