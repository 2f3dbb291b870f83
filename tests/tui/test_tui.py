"""The live screen, headless: each key and each panel on a recorded event stream,
one run of the real pipeline on the sample call, and snapshots."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import threading

import pytest

from assist.audio import FileSource, MeteredSource
from assist.errors import AssistError
from assist.events import AGENT, CUSTOMER, DeadAir, Flag, Partial, Ready, Suggestion, Utterance
from assist.resources import sample_call
from assist.session import PREPARATION, Session
from assist.tui import (
    ArticleScreen,
    AssistApp,
    Banner,
    CallHeader,
    CoachPanel,
    KbPanel,
    KeyBar,
    LevelMeter,
    Levels,
    PainTicker,
    PartialText,
    Transcript,
    flag_span,
    fresh_source,
    load_article,
    tail_start,
)
from assist.tui.widgets import fit_cards, fit_text, share_rows
from helpers import FirstSeconds, text_of, until
from tui_fakes import FakeFactory, FakeSource, frozen_clock, load_events

SIZE = (120, 40)
anyio = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def recorded():
    return load_events()


def opening(events, utterances: int = 2):
    """The stream up to its ``utterances``-th utterance (the call then goes on, silent)."""
    seen = 0
    for n, event in enumerate(events):
        seen += isinstance(event, Utterance)
        if seen == utterances:
            return events[:n + 1]
    raise ValueError("not enough utterances")


def make_app(events, source=None, **options) -> tuple[AssistApp, FakeFactory]:
    factory_options = {k: options.pop(k) for k in ("gate", "gate_after", "hold_open", "error")
                       if k in options}
    factory = FakeFactory(events, **factory_options)
    options.setdefault("clock", frozen_clock())
    options.setdefault("theme", "ansi-dark")
    app = AssistApp(source or FakeSource(), None, pipeline_factory=factory, **options)
    return app, factory


def state(app: AssistApp) -> str:
    return text_of(app.header.query_one("#call-state"))


def said(app: AssistApp) -> list[tuple[str, str]]:
    return [(line.utterance.speaker, line.utterance.text) for line in app.transcript.lines]


def shown(app: AssistApp) -> str:
    """The transcript as the screen draws it, plain text."""
    return "\n".join(app.transcript.plain())


async def call_over(pilot) -> None:
    """Wait for the call's worker and for the screen to show everything it sent."""
    app = pilot.app
    await app.workers.wait_for_complete()
    await until(pilot, lambda: not app.running)
    await pilot.pause()


# ---------------------------------------------------------------- the stream


@anyio
async def test_getting_ready_shows_until_ready(recorded):
    gate = threading.Event()
    app, _ = make_app(recorded, gate=gate)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "getting ready" in state(app)
        assert "Getting the call ready" in app.transcript.placeholder_text
        assert "Getting the call ready" in shown(app)
        gate.set()
        await call_over(pilot)
        assert "call ended" in state(app)
        assert not app.transcript.placeholder_text
        assert "Getting the call ready" not in shown(app) and "Listening" not in shown(app)


@anyio
async def test_transcript_tells_speakers_apart(recorded):
    app, _ = make_app(recorded)
    async with app.run_test(size=SIZE) as pilot:
        await call_over(pilot)
        utterances = [e for e in recorded if isinstance(e, Utterance)]
        assert said(app) == [(u.speaker, u.text) for u in utterances]
        lines = app.transcript.lines
        assert {line.utterance.speaker for line in lines} == {AGENT, CUSTOMER}
        assert "Customer" in str(lines[1].who()) and "Agent" in str(lines[0].who())
        # the speakers' labels are drawn in different colours
        assert lines[0].who().spans[-1].style != lines[1].who().spans[-1].style
        rows = app.transcript.plain()
        first = next(i for i, row in enumerate(rows) if "Good morning" in row)
        assert rows[first].startswith("00:00 Agent")
        assert not any(p.display for p in app.transcript.partials.values())  # the call ended
        ends = [n.text for n in app.transcript.notes if n.kind == "end"]
        assert len(ends) == 1 and "Call ended" in ends[0] and "01:39" in ends[0]
        assert ends[0] in shown(app)


@anyio
async def test_partial_text_is_dimmed_and_replaced():
    events = [Ready(model="tiny.en"), Partial(speaker=AGENT, text="Good"),
              Partial(speaker=AGENT, text="Good morning, thank", stable=2),
              Partial(speaker=CUSTOMER, text="Hello")]
    app, factory = make_app(events, hold_open=True)
    async with app.run_test(size=SIZE) as pilot:
        agent = app.transcript.partials[AGENT]
        await until(pilot, lambda: app.transcript.partials[CUSTOMER].display)
        assert agent.display and agent.text == "Good morning, thank"
        assert any(row.endswith("Agent  Good morning, thank") or
                   ("Agent" in row and "Good morning, thank" in row) for row in app.transcript.plain())
        # partial text is dimmed; its tentative tail ("thank") dimmer than the agreed words
        content = agent.said()
        assert all("$text-muted" in str(s.style) for s in content.spans if s.start == 0)
        dim = [(s.start, s.end) for s in content.spans if str(s.style) == "dim"]
        assert dim == [(len("Good morning, "), len("Good morning, thank"))]
        assert tail_start("Good morning, thank", 2) == len("Good morning, ")
        rows = app.transcript.plain()
        assert not any(a == b == "" for a, b in zip(rows, rows[1:], strict=False))  # no stray gaps
        assert said(app) == []
        await pilot.press("s")
        await call_over(pilot)
        assert not agent.display and "Good morning, thank" not in shown(app)


def test_partial_and_level_messages_coalesce():
    a1, a2 = (PartialText(Partial(speaker=AGENT, text=t)) for t in ("a", "a b"))
    c1 = PartialText(Partial(speaker=CUSTOMER, text="c"))
    assert a1.can_replace(a2) and not a1.can_replace(c1)
    assert Levels({"agent": 0.1}).can_replace(Levels({"agent": 0.2}))
    assert not Levels({"agent": 0.1}).can_replace(a1)


@anyio
async def test_flag_is_highlighted_and_coached(recorded):
    app, _ = make_app(recorded, flag_hold=60)
    async with app.run_test(size=SIZE) as pilot:
        await call_over(pilot)
        flagged = [line for line in app.transcript.lines if line.flagged]
        assert [line.utterance.text for line in flagged] == [
            "Please calm down, madam.",
            "As I already said, cards take up to 10 working days to arrive.",
            "I understand. It's company policy to wait 10 working days and that time has "
            "passed. So I can cancel the old car now and send you a new one by Express Delivery.",
        ]
        calm = flagged[0]
        assert flag_span(calm.utterance.text, calm.flags[0]) == (0, 16)
        rendered = calm.said()
        assert any(span.start == 2 and span.end == 18 and "reverse" in str(span.style)
                   for span in rendered.spans)  # after "⚑ "
        assert "00:52 Agent    ⚑ Please calm down, madam." in app.transcript.plain()
        coach = app.query_one(CoachPanel)
        card = text_of(coach.query_one("#flag-card"))
        assert "Please calm down" in card
        assert "No customer in history has calmed down" in card  # why
        assert "I can hear how frustrating this is" in card  # what to say instead
        assert coach.query_one("#flag-card").border_title == "calm-down"
        # the early flag from partial text was settled by the final one: 3 flags, not 4
        assert [e.flag.phrase for e in coach.entries] == ["calm-down", "already-said",
                                                         "company-policy"]
        assert all(e.flag.final for e in coach.entries)
        assert coach.query_one("#flag-card").border_subtitle == "+2 next · 00:52"
        history = text_of(coach.query_one("#flag-history"))
        assert history.count("\n") == 2 and "already-said" in history


@anyio
async def test_flag_stays_on_the_card_for_the_hold_time():
    def flag(phrase, start):
        return Flag(phrase=phrase, text=phrase, start=start, end=start + 1, why="w", suggestion="s")

    events = [Ready(), flag("calm-down", 1.0), flag("already-said", 2.0)]
    app, _ = make_app(events, flag_hold=0.4, hold_open=True)
    async with app.run_test(size=SIZE) as pilot:
        coach = app.query_one(CoachPanel)
        await until(pilot, lambda: len(coach.entries) == 2)
        assert coach.current.flag.phrase == "calm-down"
        await pilot.pause(0.2)
        assert coach.current.flag.phrase == "calm-down"  # not wiped before it is read
        await until(pilot, lambda: coach.current.flag.phrase == "already-said")
        await pilot.press("s")


@anyio
async def test_kb_panel_pain_ticker_and_dead_air(recorded):
    upto = next(i for i, e in enumerate(recorded) if isinstance(e, DeadAir)) + 1
    app, _ = make_app(recorded[:upto], hold_open=True)
    async with app.run_test(size=SIZE) as pilot:
        banner = app.query_one(Banner)
        await until(pilot, lambda: banner.display)
        assert "Dead air: 10 s" in text_of(banner)
        kb = app.query_one(KbPanel)
        assert [s.article for s in kb.shown] == ["card-not-arrived", "lost-or-stolen-card"]
        assert "Card not arrived" in text_of(kb.query_one("#kb-1"))
        assert "within 10 working days" in text_of(kb.query_one("#kb-1"))
        assert not kb.query_one("#kb-3").display
        await pilot.press("s")
    app, _ = make_app(recorded)
    async with app.run_test(size=SIZE) as pilot:
        await call_over(pilot)
        assert not app.query_one(Banner).display  # the next speech cleared it
        ticker = text_of(app.query_one(PainTicker))
        assert "card not arrived ×15" in ticker and "app login fails ×6" in ticker
        assert ticker.index("card not arrived") < ticker.index("app login fails")


def test_kb_batches_replace_older_suggestions():
    panel = KbPanel()
    panel._render_all = lambda: None  # no DOM needed for the ordering rules

    def suggest(article, score, t):
        panel.add(Suggestion(article=article, title=article, score=score, t=t))

    suggest("a", 0.5, 1.0)
    suggest("b", 0.9, 1.0)
    assert [s.article for s in panel.shown] == ["b", "a"]
    suggest("c", 0.7, 5.0)  # a new batch goes on top
    assert [s.article for s in panel.shown] == ["c", "b", "a"]
    suggest("d", 0.6, 9.0)
    suggest("e", 0.8, 9.0)
    assert [s.article for s in panel.shown] == ["e", "d", "c"]


# ---------------------------------------------------------------- keys


@anyio
async def test_article_modal_and_feedback(recorded):
    seen = []
    loaded = []

    def loader(article, kb_dir):
        loaded.append(article)
        return f"# {article}\n\nThe full article text."

    app, _ = make_app(recorded, article_loader=loader, on_feedback=seen.append)
    async with app.run_test(size=SIZE) as pilot:
        await call_over(pilot)
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, ArticleScreen))
        await until(pilot, lambda: "full article text" in app.screen.query_one("#article-body")
                    .query("MarkdownParagraph").first().render().plain
                    if app.screen.query("MarkdownParagraph") else False)
        assert loaded == ["card-not-arrived"]
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(app.screen, ArticleScreen)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ArticleScreen))
        await pilot.press("n")
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, ArticleScreen))
        await pilot.press("escape")  # closed without a verdict
        await pilot.press("3")  # only two suggestions
        await pilot.pause()
        assert [(f.article, f.useful) for f in app.kb_feedback] == [
            ("card-not-arrived", True), ("lost-or-stolen-card", False)]
        assert seen == app.kb_feedback
        assert app.kb_feedback[0].call == "recorded-call"
        assert any("No suggestion 3" in n.message for n in app._notifications)


@anyio
async def test_article_modal_falls_back_to_the_snippet(recorded):
    app, _ = make_app(recorded, article_loader=lambda article, kb_dir: None)
    async with app.run_test(size=SIZE) as pilot:
        await call_over(pilot)
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, ArticleScreen))
        await until(pilot, lambda: "not found" in text_of(app.screen.query_one("#article-note")))
        body = app.screen.query("MarkdownParagraph").first().render().plain
        assert "within 10 working days" in body
        await pilot.press("escape")
        assert app.kb_feedback == []


def test_load_article_reads_the_kb_folder(tmp_path):
    body = load_article("card-arrival")  # the shipped KB
    assert body and "working days" in body and not body.startswith("---")
    assert load_article("no-such-article") is None
    assert load_article("card-arrival", tmp_path / "missing") is None


@anyio
async def test_stop_and_start_a_call(recorded):
    app, factory = make_app(opening(recorded), hold_open=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(said(app)) == 2)
        source = app.source
        assert app.check_action("stop_call", ()) and not app.check_action("start_call", ())
        await pilot.press("s")
        await call_over(pilot)
        assert factory.built[0].stopped.is_set() and source.stopped.is_set()
        assert "call ended" in state(app) and not app.running
        assert app.check_action("start_call", ()) and not app.check_action("stop_call", ())
        await pilot.press("s")  # a new call on a fresh source, on a clean screen
        await until(pilot, lambda: len(factory.built) == 2 and len(said(app)) == 2)
        assert app.source is not source and not app.source.stopped.is_set()
        assert app.running and "live" in state(app)
        assert len(app.transcript.lines) == 2
        await pilot.press("s")
        await app.workers.wait_for_complete()


@anyio
async def test_pause_holds_the_screen_and_loses_nothing(recorded):
    gate = threading.Event()
    app, _ = make_app(recorded, gate=gate, gate_after=1)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "live" in state(app))
        await pilot.press("p")
        assert app.paused
        gate.set()
        await call_over(pilot)
        assert said(app) == []
        assert "paused" in state(app) and "held" in state(app)
        await pilot.press("p")
        await call_over(pilot)
        assert not app.paused
        assert len(said(app)) == sum(isinstance(e, Utterance) for e in recorded)
        assert "call ended" in state(app)


@anyio
async def test_transcript_follows_the_end_unless_scrolled_up(recorded):
    app, _ = make_app(opening(recorded), hold_open=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(said(app)) == 2)
        transcript = app.transcript
        for i in range(60):
            transcript.add_utterance(Utterance(speaker=AGENT, text=f"line number {i}",
                                               start=10.0 + i, end=10.5 + i))
        await pilot.pause()
        assert transcript.max_scroll_y > 0 and transcript.scroll_y == transcript.max_scroll_y
        assert transcript.virtual_size.height == len(transcript.plain())
        assert "line number 59" in [row for row in transcript.plain() if row][-1]
        # the last follow-the-end scroll may still be queued on a busy machine: let it land
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.1)
        transcript.scroll_home(animate=False)
        await until(pilot, lambda: transcript.scroll_y == 0)
        await pilot.pause(0.1)
        assert transcript.scroll_y == 0
        transcript.add_utterance(Utterance(speaker=CUSTOMER, text="while you read", start=80,
                                           end=81))
        await pilot.pause()
        assert transcript.scroll_y == 0  # the agent scrolled up to read: left there
        assert any("while you read" in row for row in transcript.plain())
        await pilot.press("s")
        await app.workers.wait_for_complete()


@anyio
async def test_footer_shows_the_keys_that_apply_now(recorded):
    app, _ = make_app(opening(recorded), hold_open=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(said(app)) == 2)
        bar = app.screen.query_one(KeyBar)
        assert "Pause" in text_of(bar) and "Stop call" in text_of(bar) and "Resume" not in text_of(bar)
        await pilot.press("p")
        await pilot.pause()
        assert "Resume" in text_of(bar) and "Pause" not in text_of(bar)
        await pilot.press("p", "s")
        await app.workers.wait_for_complete()
        await until(pilot, lambda: "Start call" in text_of(bar))


@anyio
@pytest.mark.parametrize("after", [0.0, 0.18, 0.2, 0.22, 0.25, 0.3, 0.4])
async def test_quit_while_the_other_screens_are_built(recorded, after):
    """The review and KB screens are built 0.2 s after start; quitting then is clean."""
    app, _ = make_app(recorded)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.sleep(after)
        await pilot.press("q")
    assert app.return_code == 0


@anyio
async def test_mark_a_moment(recorded):
    now = {"t": 100.0}

    def clock():
        return now["t"]

    app, _ = make_app(opening(recorded), clock=clock, hold_open=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(said(app)) == 2)
        now["t"] = 163.5
        await pilot.press("m")
        await until(pilot, lambda: app.transcript.notes)
        notes = [n.text for n in app.transcript.notes if n.kind == "mark"]
        assert notes == ["⚑ marked at 01:03"]
        assert "⚑ marked at 01:03" in shown(app)
        assert [round(m.call_time, 1) for m in app.marks] == [63.5]
        assert app.marks[0].call == "fake-call"
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.press("m")  # no call: nothing marked
        await pilot.pause()
        assert len(app.marks) == 1


@anyio
async def test_quit_stops_the_call(recorded):
    app, factory = make_app(opening(recorded), hold_open=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(said(app)) == 2)
        source = app.source
        await pilot.press("q")
        await pilot.pause()
    assert factory.built[0].stopped.is_set() and source.stopped.is_set()
    assert app.return_code == 0


@anyio
@pytest.mark.parametrize("error, shown", [
    (AssistError("cannot load ASR model from /nowhere: bad file"), "cannot load ASR model"),
    (RuntimeError("boom"), "unexpected error: RuntimeError: boom"),
])
async def test_errors_become_notifications(recorded, error, shown):
    app, _ = make_app(recorded, error=error)
    async with app.run_test(size=SIZE) as pilot:
        await call_over(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1 and shown in errors[0].message
        assert "call failed" in state(app) and not app.running
        assert app.is_running  # the screen stays up


# ---------------------------------------------------------------- levels and sources


@anyio
async def test_level_meters(recorded):
    app, _ = make_app(recorded[:1], hold_open=True)
    async with app.run_test(size=SIZE) as pilot:
        header = app.query_one(CallHeader)
        await until(pilot, lambda: "live" in state(app))  # the source's own levels are in
        await pilot.pause()
        header.post_message(Levels({"agent": 1.0, "customer": 0.001}))
        await pilot.pause()
        agent = app.query_one("#meter-agent", LevelMeter)
        customer = app.query_one("#meter-customer", LevelMeter)
        assert text_of(agent).endswith("█" * 8)
        assert text_of(customer).endswith("░" * 8)  # -60 dB
        await pilot.press("s")
        await call_over(pilot)
        assert agent.level == 0.0


def test_metered_source_passes_frames_and_posts_peaks():
    posted = []
    source = FakeSource(frames=5)
    metered = MeteredSource(source, posted.append, interval=0)
    frames = list(metered)
    assert len(frames) == 5 and metered.speakers == ["agent", "customer"]
    assert posted[0] == {"agent": 0.5, "customer": 0.5}
    assert posted[-1] == {"agent": 0.0, "customer": 0.0}  # the call is over
    metered.stop()
    assert source.stopped.is_set()


def test_fresh_source_reopens_a_stopped_file_source():
    source = FileSource(sample_call())
    source.stop()
    again = fresh_source(source)
    assert again.path == source.path and not again._stop.is_set()
    with pytest.raises(AssistError):
        fresh_source(object())


# ---------------------------------------------------------------- the real pipeline


def real_settings():
    from assist.call import CallSettings

    settings = CallSettings.build(language="en")
    settings.cpu_threads = 2
    return settings


@anyio
async def test_real_pipeline_on_the_sample_call():
    source = FirstSeconds(sample_call(), 12.5)
    app = AssistApp(source, real_settings(), pipeline_factory=Session(source).pipeline_factory,
                    theme="ansi-dark")
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.workers.wait_for_complete(), 120)
        await call_over(pilot)
        assert not [n for n in app._notifications if n.severity == "error"]
        lines = said(app)
        assert {speaker for speaker, _ in lines} == {AGENT, CUSTOMER}
        text = " ".join(t for _, t in lines).lower()
        assert "riverside bank" in text and "still hasn't arrived" in text
        assert "tiny.en" in text_of(app.query_one("#model-name"))
        assert "call ended" in state(app)


@anyio
async def test_getting_ready_says_each_step_as_it_finishes_with_the_real_models():
    """A first run takes tens of seconds: the screen says which step, how far and how long,
    from the steps the real loading reports (held at the knowledge base to look)."""
    source = FirstSeconds(sample_call(), 3.0)
    session = Session(source)
    held = {False: threading.Event(), True: threading.Event()}  # at its start, once done
    go = {False: threading.Event(), True: threading.Event()}

    def factory(settings, speakers, sinks, progress=None):
        def report(step):
            progress(step)
            if step.what == "knowledge base":
                held[step.done].set()
                go[step.done].wait(60)
        return session.pipeline_factory(settings, speakers, sinks, progress=report)

    app = AssistApp(source, real_settings(), pipeline_factory=factory, theme="ansi-dark")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: held[False].is_set() and len(app.preparation) == 7, 120)
        assert "getting ready 4/7" in state(app)
        said = app.transcript.placeholder_text.splitlines()
        assert said[0].startswith("Getting the call ready: step 4 of 7, ")
        assert said[0].endswith("s so far.")
        assert [line[0] + line[7:] for line in said[1:]] == [
            "✓  speech recogniser (tiny.en)", "✓  sentence embedder (all-MiniLM-L6-v2)",
            "✓  pain points", "◌  knowledge base…"]
        assert all(line[2:7].strip().endswith("s") for line in said[1:4])  # how long each took
        on_screen = " ".join(shown(app).split())  # as drawn, wrapped at 80 columns
        assert "step 4 of 7" in on_screen and "◌ knowledge base…" in on_screen
        assert "s speech recogniser (tiny.en)" in on_screen
        go[False].set()  # the knowledge base done, the next step not begun: it is under way
        await until(pilot, lambda: held[True].is_set() and len(app.preparation) == 8, 60)
        assert "getting ready 5/7" in state(app)
        said = app.transcript.placeholder_text.splitlines()
        assert said[0].startswith("Getting the call ready: step 5 of 7, ")
        assert said[-1].startswith("✓ ") and said[-1].endswith("s  knowledge base")
        go[True].set()
        await asyncio.wait_for(app.workers.wait_for_complete(), 120)
        await call_over(pilot)
        steps = app.preparation
        assert [(s.number, s.done) for s in steps] == [(n, d) for n in range(1, 8) for d in (0, 1)]
        assert [s.what for s in steps[::2]] == list(PREPARATION) and steps[0].total == 7
        assert all(a.elapsed <= b.elapsed for a, b in itertools.pairwise(steps))
        assert steps[-1].elapsed >= sum(s.took for s in steps[1::2]) - 0.01
        assert "call ended" in state(app) and "getting ready" not in shown(app).lower()


@pytest.mark.slow
@anyio
async def test_real_pipeline_on_the_whole_sample_call():
    source = FileSource(sample_call())
    app = AssistApp(source, real_settings(), pipeline_factory=Session(source).pipeline_factory,
                    theme="ansi-dark")
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(app.workers.wait_for_complete(), 600)
        await call_over(pilot)
        speakers = [s for s, _ in said(app)]
        assert speakers.count(AGENT) >= 8 and speakers.count(CUSTOMER) >= 6


# ---------------------------------------------------------------- the screen at three sizes

CALL_TURNS = [
    (AGENT, 0.0, "Good morning. Thank you for calling Riverside Bank. How can I help you today?"),
    (CUSTOMER, 6.0, "Hi, I ordered a new debit card two weeks ago and it still hasn't arrived."),
    (CUSTOMER, 46.0, "Well, it never came in the post. This is ridiculous."),
    (AGENT, 52.0, "Please calm down, madam."),
]


@pytest.fixture(scope="module")
def analysed_call():
    """The sample call's turns through the real phrase detector and KB advisor (the real
    packs, articles and embedder), the customer frustrated and repeating herself."""
    from assist.events import Repeat, Sentiment
    from assist.kb import KbAdvisor
    from assist.phrases import PhraseDetector

    detector, advisor = PhraseDetector(language="en", semantic=False), KbAdvisor()
    events: list = [Ready(model="tiny.en")]
    for speaker, start, text in CALL_TURNS:
        said = Utterance(speaker=speaker, start=start, end=start + 3, text=text, t=start + 3)
        events += [said, *detector.feed(said), *advisor.feed(said)]
    events += [Sentiment(score=-0.45, label="frustrated",
                         suggestion="Acknowledge it first: \"I can hear this has been "
                                    "frustrating, let's sort it now.\""),
               Repeat(count=2, text="my new card never came in the post")]
    assert [e.phrase for e in events if isinstance(e, Flag)] == ["calm-down"]
    assert [e.article for e in events if isinstance(e, Suggestion)][0] == "card-arrival"
    return events


def region_rows(app, widget) -> list[str]:
    """What the terminal shows in a widget's region, row by row (as drawn, so clipped)."""
    region = widget.region
    strips = app.screen._compositor.render_strips()
    return [strip.crop(region.x, region.right).text for strip in strips[region.y:region.bottom]]


def joined(rows: list[str]) -> str:
    """Rows inside a panel's border as one line of words."""
    return " ".join(" ".join(row.strip("│╭╮╰╯─ ") for row in rows).split())


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (140, 42)])
@anyio
async def test_the_better_wording_and_the_first_steps_show_whole_at_each_size(analysed_call, size):
    app, _ = make_app(analysed_call, flag_hold=600, hold_open=True)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.coach.current is not None and app.mood.repeat is not None)
        await pilot.pause(0.3)
        flag = app.coach.current.flag
        coach = region_rows(app, app.coach)
        say = next(n for n, row in enumerate(coach) if "│ Say " in row)
        assert f"Say {flag.suggestion}" in joined(coach[say:])  # whole, above the fold
        assert "“Please calm down”" in joined(coach[:say])
        why = [n for n, row in enumerate(coach) if "│ Why " in row]
        assert not why or why[0] > say  # what to say comes before why
        if why:  # whole, or cut after a word with a mark that there is more
            shown = joined(coach[why[0]:]).split(" 00:52")[0]
            assert shown == f"Why {flag.why}" or (shown.endswith(" …")
                                                   and flag.why.startswith(shown[4:-2]))
        top = app.kb.shown[0]
        kb = joined(region_rows(app, app.kb))
        assert top.title in kb and " ".join(top.snippet.split()) in kb
        mood = joined(region_rows(app, app.mood))
        assert "Said 2 times: “my new card never came in the post”" in mood
        app.header.set_talk(0.52, 1, 12.0)  # the header's figures fit beside the meters
        await until(pilot, lambda: "agent 52% · overtalk 1 · mono 12s"
                    in region_rows(app, app.header)[0], timeout=3)
        await pilot.press("s")


def test_first_steps_are_cut_only_after_a_sentence_when_rows_run_out():
    steps = ("Check the delivery address first. If ten working days have passed, cancel the "
             "card; reissue it by express. Offer a virtual card.")
    assert fit_text(steps, 30, 5) == fit_text(steps, 30, None) == steps  # room: never cut
    assert fit_text(steps, 30, 4) == steps.removesuffix(" Offer a virtual card.") + " …"
    # no row for the next sentence: a row stays free rather than a sentence cut
    assert fit_text(steps, 30, 3) == fit_text(steps, 30, 2) == "Check the delivery address first. …"
    assert fit_text(steps, 30, 1) == "Check the delivery address …"  # no sentence fits: words
    assert fit_text("Supercalifragilistic expialidocious", 12, 1) == ""  # not even a word
    assert fit_text(steps, 30, 0) == ""
    cards = [Suggestion(article=a, title=a.title(), score=0.5, snippet=steps) for a in ("a", "b")]
    top_only = fit_cards(cards, 30, 7)  # the top card's steps before the second title
    assert len(top_only) == 1 and top_only[0].plain.endswith(steps)
    both = fit_cards(cards, 30, 10)
    assert [card.plain.splitlines()[0] for card in both] == [" 1  A  0.50", " 2  B  0.50"]
    assert both[0].plain.endswith(steps) and both[1].plain.endswith("first. …")


def test_the_side_column_shares_rows_in_order_of_need():
    # both fit: the coach takes its all, the KB the rest
    assert share_rows(40, (8, 12, 16), (6, 10)) == 16
    # the better wording, the top article, the rest of the card, then the other articles
    assert share_rows(20, (8, 12, 16), (6, 10)) == 12
    assert share_rows(16, (8, 12, 16), (6, 10)) == 10
    # too little for both essentials: the wording gets at most half first
    assert share_rows(12, (10, 12, 16), (8, 10)) == 6
    assert share_rows(12, (3, 3, 3), (8, 20)) == 3  # no flag: the KB has the rest


# ---------------------------------------------------------------- snapshots


def snapshot_app(recorded) -> AssistApp:
    app, _ = make_app(recorded, flag_hold=600)
    return app


async def _settled(pilot) -> None:
    await call_over(pilot)
    await pilot.app.workers.wait_for_complete()
    pilot.app.query_one(Transcript).scroll_end(animate=False)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.5)  # batched panels and coalesced messages settle on a loaded machine


@pytest.mark.parametrize("size", [(120, 40), (100, 30), (200, 60)])
def test_snapshot_live_screen(snap_compare, recorded, size):
    assert snap_compare(snapshot_app(recorded), terminal_size=size, run_before=_settled)


def test_snapshot_article_modal(snap_compare, recorded):
    app, _ = make_app(recorded, flag_hold=600,
                      article_loader=lambda a, d: "# Card not arrived\n\n1. Check the address.\n"
                                                  "2. Cancel the card and reorder by express.")

    async def open_article(pilot):
        await _settled(pilot)
        await pilot.press("1")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(120, 40), run_before=open_article)



def test_opening_the_ui_module_loads_no_model_library():
    """The screen must draw before the models load: their libraries come in the worker."""
    code = ("import sys, assist.tui.app; print(sorted(m for m in ('torch', 'faster_whisper', "
            "'ctranslate2', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@anyio
async def test_the_screen_says_when_the_call_cannot_be_stored_and_when_it_can_again(recorded):
    status = {"now": None}
    app, _ = make_app(recorded, store_status=lambda: status["now"], hold_open=True)
    async with app.run_test(size=SIZE) as pilot:
        status["now"] = "Cannot write the database or its spool (disk full?): 3 events held"
        await until(pilot, lambda: any("disk full" in n.message for n in app._notifications))
        warning = next(n for n in app._notifications if "disk full" in n.message)
        assert warning.severity == "warning"
        status["now"] = None
        await until(pilot, lambda: any("Storing the call again" in n.message
                                       for n in app._notifications))
        await pilot.press("s")
        await call_over(pilot)
