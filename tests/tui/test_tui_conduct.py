"""The live screen's checklist panel, customer-mood bar, overtalk and wrap-up notes,
on the recorded call with how-the-call-went events added, headless."""

from __future__ import annotations

import pytest

from assist.events import (
    ChecklistStatus,
    End,
    Overtalk,
    Repeat,
    Sentiment,
    Utterance,
    WrapUp,
)
from assist.tui import AssistApp
from helpers import text_of, until
from tui_fakes import FakeFactory, FakeSource, frozen_clock, load_events

anyio = pytest.mark.anyio
ITEMS = [("greeting", "Greet and name the company"), ("verify-identity", "Verify the caller's identity"),
         ("anything-else", "Offer more help"), ("closing", "Close the call")]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def with_conduct() -> list:
    events = load_events()
    end = next(i for i, e in enumerate(events) if isinstance(e, End))
    first_utterance = next(i for i, e in enumerate(events) if isinstance(e, Utterance))
    pending = [ChecklistStatus(item=i, status="pending", title=t, hint="Say it.") for i, t in ITEMS]
    middle = [ChecklistStatus(item="greeting", status="done", at=5.0, title=ITEMS[0][1]),
              ChecklistStatus(item="verify-identity", status="order", at=30.0, title=ITEMS[1][1],
                              hint="Let me verify your identity first."),
              Overtalk(speaker="agent", start=40.0, duration=1.4),
              Sentiment(score=-0.45, label="frustrated", suggestion="Acknowledge it first."),
              Repeat(count=2, text="my new card never came")]
    closing = [ChecklistStatus(item="anything-else", status="done", at=90.0, title=ITEMS[2][1]),
               ChecklistStatus(item="closing", status="missed", at=99.0, title=ITEMS[3][1],
                               hint="Thank you for calling."),
               WrapUp(reason="card-arrival", reason_title="Card hasn't arrived",
                      summary="Customer: my card has not arrived. Agent: sent a new one.",
                      talk_agent=0.55, overtalk=1, dead_air=10.0,
                      checklist_missed=["verify-identity", "closing"],
                      sentiment_start=0.0, sentiment_end=-0.4)]
    return (events[:first_utterance] + pending + events[first_utterance:end - 3] + middle
            + events[end - 3:end] + closing)  # the call's end held back: the screen as it ends


@anyio
async def test_checklist_mood_and_wrapup_on_the_live_screen():
    app = AssistApp(FakeSource(), None,
                    pipeline_factory=FakeFactory(with_conduct(), hold_open=True),
                    clock=frozen_clock(), theme="ansi-dark")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: any(n.kind == "wrapup" for n in app.transcript.notes))
        await pilot.pause()
        panel = text_of(app.checklist)
        assert "✓ Greet and name the company" in panel
        assert "✗ out of order Verify the caller's identity" in panel
        assert "say: Let me verify your identity first." in panel
        assert "✓ Offer more help" in panel and "✗ missed Close the call" in panel
        mood = text_of(app.mood)
        assert app.mood.display and "Customer frustrated" in mood and "Acknowledge it first." in mood
        assert "Said 2 times" in mood
        notes = " ".join(" ".join(app.transcript.plain()).split())  # wrapped lines joined
        assert "You talked over the other side for 1.4 s" in notes
        assert "Wrap-up · reason: Card hasn't arrived" in notes
        assert "steps missed: verify-identity, closing" in notes
        assert "Customer: my card has not arrived." in notes
        await pilot.press("s")  # the call ends: its mood now lives in the wrap-up
        await app.workers.wait_for_complete()
        await until(pilot, lambda: not app.running)
        assert not app.mood.display


@anyio
async def test_the_mood_bar_hides_when_the_customer_calms_down():
    events = [e for e in load_events() if not isinstance(e, End | Repeat)]
    events += [Sentiment(score=-0.7, label="angry", suggestion="Let them finish."),
               Sentiment(score=0.0, label="neutral"), End(call="c", duration=99.0)]
    app = AssistApp(FakeSource(), None, pipeline_factory=FakeFactory(events),
                    clock=frozen_clock(), theme="ansi-dark")
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await until(pilot, lambda: not app.running)
        await pilot.pause()
        assert not app.mood.display
