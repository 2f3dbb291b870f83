"""The live screen: the call's transcript, the coach, the knowledge base, beside the softphone.

The pipeline (model loading and decoding) runs in a thread worker; every
event comes back as a message (``post_message`` is thread-safe), so the
screen never waits on the model.  Partial text and audio levels coalesce
(``can_replace``): a slow terminal drops stale ones instead of lagging.

Keys:
    s  stop the call; when none is running, start a new one on the same input.
    p  pause the screen: the call goes on being transcribed and analysed, but
       the transcript, coach and KB panels hold still (so a line can be read)
       until p again, when everything held is shown in order.  The audio of a
       live call cannot be paused, so nothing is lost; meters and the timer stay live.
    m  mark a moment: a line with the call time in the transcript (``app.marks``).
    1-3  open a suggested article; in it, y / n mark it useful / not useful.
    r / k  the review and knowledge-base screens (the call goes on); l comes back
       (see ``base.py``).
    q  quit (stops the call first).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from ..audio import MeteredSource
from ..call import Describable, Reopenable, Sink, Source
from ..conduct import TalkFigures
from ..errors import AssistError
from ..events import (
    ChecklistStatus,
    DeadAir,
    End,
    Event,
    Flag,
    Overtalk,
    PainPoint,
    Partial,
    Ready,
    Repeat,
    Sentiment,
    Suggestion,
    Utterance,
    WrapUp,
)
from .article import ArticleLoader, ArticleScreen, load_article
from .base import SWITCH_BINDINGS, ScreensApp
from .keybar import KeyBar
from .messages import Levels, PartialText, PipelineEvent, Preparing
from .shared import SteadyScreen, StoreHandle
from .transcript import Transcript
from .widgets import (
    Banner,
    CallHeader,
    ChecklistPanel,
    CoachPanel,
    KbPanel,
    MoodBar,
    PainTicker,
    SideColumn,
    clock_text,
    preparation_text,
    step_under_way,
    wrapup_text,
)

if TYPE_CHECKING:
    from ..call import CallSettings
    from ..kb import KnowledgeBase
    from ..models import Step, StepReport


class CallRunner(Protocol):
    """What the screen needs of a call's pipeline (``call.Pipeline``; tests pass a fake)."""

    call_id: str

    def run(self, source: Source) -> End: ...

    def stop(self) -> None: ...


class PipelineFactory(Protocol):
    """``(settings, speakers, sinks, progress=) -> pipeline``: one per call
    (``session.Session.pipeline_factory``); ``progress`` hears each step of getting ready."""

    def __call__(self, settings: Any, speakers: list[str], sinks: list[Sink], *,
                 progress: StepReport | None = None) -> CallRunner: ...


@dataclass
class KbFeedback:
    """The agent's verdict on a suggested article (for the store, once it lands)."""

    article: str
    title: str
    useful: bool
    call_time: float | None
    call: str | None


@dataclass
class Mark:
    """A moment the agent marked (key m), in seconds of call time."""

    call_time: float
    call: str | None


BACKGROUND_NICE = 5


def _behind_the_screen() -> None:
    """Lower this thread's CPU priority, and so that of every thread it starts (the
    decoder's own threads, the audio reader): on 2 cores, two decoder threads and the
    screen compete for the CPU, and a key press waited behind a decode (``bench/ui.py``).
    The screen's work is small, so decoding loses next to nothing."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: the default priority
        pass


def fresh_source(source: object) -> Source:
    """A new source on the same input for the next call (a stopped source stays stopped)."""
    if isinstance(source, Reopenable):
        return source.reopen()
    raise AssistError("this audio input cannot be restarted; quit and run assist again")


class LiveScreen(SteadyScreen):
    """The live mode's screen; ``AssistApp.compose`` fills it (the app drives the call)."""

    AUTO_FOCUS = ""  # nothing focused until the agent tabs: the panels look the same always


class AssistApp(ScreensApp):
    """The live screen on one audio source, with the review and KB screens a key away.

    Attributes:
        source: the audio source of the first call.
        settings: the ``CallSettings`` the pipeline is built from.
        pipeline_factory: ``(settings, speakers, sinks, progress=) -> pipeline`` with
            ``run(source)`` and ``stop()`` (``PipelineFactory``).  Tests pass a fake.
        clock: the clock of the call timer and marks (tests freeze it).
        flag_hold: seconds a flag stays on the coach card before the next replaces it.
        article_loader: ``(article_id, kb_dir) -> markdown | None`` for the article modal.
        on_feedback: called with each ``KbFeedback`` (the hook for the store).
        store: the store the review screen reads (default: ``settings.db``, opened when needed).
        store_status: what is wrong with storing the call now ("the database is away ..."),
            or None; checked every second and shown when it changes.
        autostart: start the call on mount.
        preparation: the steps of getting the current call ready, as they were reported
            (each step twice: as it starts and once done).
    """

    DEFAULT_MODE = "live"
    MODES = {"live": LiveScreen}
    LIVE_ACTIONS = frozenset({"stop_call", "start_call", "pause", "resume", "mark", "article"})
    BINDINGS = [
        Binding("s", "stop_call", "Stop call"),
        Binding("s", "start_call", "Start call"),
        Binding("p", "pause", "Pause"),
        Binding("p", "resume", "Resume"),
        Binding("m", "mark", "Mark moment"),
        Binding("1", "article(0)", "Article", key_display="1-3"),
        Binding("2", "article(1)", "Article", show=False),
        Binding("3", "article(2)", "Article", show=False),
        *SWITCH_BINDINGS,
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, source: Source, settings: CallSettings | None = None, *,
                 pipeline_factory: PipelineFactory,
                 clock: Callable[[], float] = time.monotonic,
                 flag_hold: float = 8.0,
                 article_loader: ArticleLoader = load_article,
                 on_feedback: Callable[[KbFeedback], None] | None = None,
                 theme: str | None = None,
                 store: StoreHandle | None = None,
                 store_status: Callable[[], str | None] | None = None,
                 autostart: bool = True):
        super().__init__(store=store or StoreHandle(settings.db if settings else None),
                         kb_dir=settings.kb_dir if settings else None,
                         phrases_dir=settings.phrases_dir if settings else None, theme=theme)
        self.source = source
        self.settings = settings
        self.pipeline_factory = pipeline_factory
        self.clock = clock
        self.flag_hold = flag_hold
        self.article_loader = article_loader
        self.on_feedback = on_feedback
        self.autostart = autostart
        self.store_status = store_status
        self._store_said: str | None = None
        self.pipeline: CallRunner | None = None
        self.running = False
        self.paused = False
        self.calls = 0
        self.kb_feedback: list[KbFeedback] = []
        self.marks: list[Mark] = []
        self._held: list[Message | _HeldMark] = []
        self._worker: Worker | None = None
        self._stop = threading.Event()
        self._t0: float | None = None
        self._outcome = ""  # "ended" / "failed" once the call is over
        self._t_end: float | None = None
        self._call_id: str | None = None
        self.preparation: list[Step] = []
        self._step_at = 0.0  # when the latest step was reported (the app's clock)

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # kept as attributes: a query would search the modal when an article is open
        source = self.source
        self.header = CallHeader(source.speakers, self._model_name(),
                                 source.describe() if isinstance(source, Describable) else "",
                                 id="header")
        self.banner = Banner(id="banner")
        self.transcript = Transcript(id="transcript")
        self.coach = CoachPanel(self.flag_hold, id="coach")
        self.kb = KbPanel(id="kb")
        self.ticker = PainTicker(id="ticker")
        self.checklist = ChecklistPanel(id="checklist")
        self.mood = MoodBar(id="mood")
        yield self.header
        yield self.banner
        yield self.mood
        with Horizontal(id="main"):
            with Vertical(id="call"):
                yield self.transcript
                yield self.checklist
            yield SideColumn(self.coach, self.kb, id="side")
        yield self.ticker
        yield KeyBar()

    def on_mount(self) -> None:
        self.transcript.border_title = "Transcript"
        self.set_interval(1.0, self._tick)
        if self.autostart:
            self.action_start_call()
        else:
            self.transcript.placeholder("No call. Press s to start.")

    def call_time(self) -> float | None:
        """Seconds since the call's audio began; frozen when it ended."""
        if self._t0 is None:
            return None
        return (self._t_end if self._t_end is not None else self.clock()) - self._t0

    def _tick(self) -> None:
        if not self.header.is_attached:
            return  # closing
        self.header.set_elapsed(self.call_time())
        self._show_preparation()
        self.banner.tick(self.clock())
        self.mood.tick(self.clock())
        talk = self._talk_figures()
        if talk is not None:
            self.header.set_talk(talk.talk_agent if sum(talk.voice.values()) else None,
                                 talk.overtalk, talk.longest_monologue)
        if self.store_status is not None:
            said = self.store_status()
            if said != self._store_said:
                if said:
                    self.notify(said, severity="warning", timeout=30)
                elif self._store_said:
                    self.notify("Storing the call again: everything held is written.", timeout=5)
                self._store_said = said

    def _talk_figures(self) -> TalkFigures | None:
        """The running call's talk figures, read from its talk monitor once a second."""
        for analyzer in getattr(self.pipeline, "analyzers", ()):
            figures = getattr(analyzer, "figures", None)
            if isinstance(figures, TalkFigures):
                return figures
        return None

    # ------------------------------------------------------------ the call

    def action_start_call(self) -> None:
        if self.running:
            return
        try:
            source = self.source if self.calls == 0 else fresh_source(self.source)
        except AssistError as exc:
            self.notify(str(exc), severity="error")
            return
        if self.calls:
            self._reset_view()
        self.source, self.calls, self.running = source, self.calls + 1, True
        self.paused, self._held = False, []
        self.pipeline, self._stop = None, threading.Event()
        self._t0 = self._t_end = self._call_id = None
        self._outcome = ""
        self.preparation = []
        self._update_state()
        self.header.set_elapsed(None)
        self.transcript.placeholder("Getting the call ready…")
        self.refresh_bindings()
        header = self.header
        self._worker = self._run_pipeline(source, self._stop,
                                          lambda levels: header.post_message(Levels(levels)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="pipeline")
    def _run_pipeline(self, source: Any, stop: threading.Event,
                      post_levels: Callable[[dict[str, float]], None]) -> None:
        worker = get_current_worker()
        _behind_the_screen()

        def sink(event: Event) -> None:
            if not worker.is_cancelled:
                self.post_message(PartialText(event) if isinstance(event, Partial)
                                  else PipelineEvent(event))

        def progress(step: Step) -> None:
            if not worker.is_cancelled:
                self.post_message(Preparing(step))

        pipeline = self.pipeline_factory(self.settings, list(source.speakers), [sink],
                                         progress=progress)
        self.pipeline = pipeline
        if stop.is_set() or worker.is_cancelled:  # stopped while the models loaded
            source.stop()
            return
        pipeline.run(MeteredSource(source, post_levels))

    def action_stop_call(self) -> None:
        if self.running:
            self._stop_call()
            self._update_state()

    def _stop_call(self) -> None:
        """Ask the pipeline and the source to finish (thread-safe, idempotent)."""
        self._stop.set()
        if self.pipeline is not None:
            self.pipeline.stop()
        self.source.stop()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker or event.state not in (
                WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        failed = event.state == WorkerState.ERROR
        if failed:
            error = event.worker.error
            if isinstance(error, AssistError):
                message = str(error)
            else:
                message = f"unexpected error: {type(error).__name__}: {error}"
                self.log.error("pipeline failed", error)
            self.notify(message, title="Call stopped", severity="error", timeout=20)
        self.running = False
        self._outcome = "failed" if failed else "ended"
        if self._t0 is not None and self._t_end is None:
            self._t_end = self.clock()
        self._update_state()
        self.header.set_levels(dict.fromkeys(self.header.speakers, 0.0))
        self.header.set_elapsed(self.call_time())
        if self._t0 is None:
            self.transcript.placeholder("No call. Press s to start." if not failed else
                                        "The call could not start. Press s to try again.")
        self.refresh_bindings()

    # ------------------------------------------------------------ events

    def on_preparing(self, message: Preparing) -> None:
        if not self.running or self._t0 is not None or not self.transcript.is_attached:
            return  # a step of a call that is over, reported late, or the app is closing
        self.preparation.append(message.step)
        self._step_at = self.clock()
        self._update_state()
        self._show_preparation()

    def _show_preparation(self) -> None:
        """What getting the call ready has done so far, in the empty transcript; the
        elapsed time goes on with the clock between steps."""
        if self.preparation and self.running and self._t0 is None:
            latest = self.preparation[-1]
            elapsed = latest.elapsed + max(0.0, self.clock() - self._step_at)
            self.transcript.placeholder(preparation_text(self.preparation, elapsed))

    def on_pipeline_event(self, message: PipelineEvent) -> None:
        self._receive(message)

    def on_partial_text(self, message: PartialText) -> None:
        self._receive(message)

    def _receive(self, message: Message | _HeldMark) -> None:
        if not self.transcript.is_attached:
            return  # the app is closing; the call's last events have nowhere to go
        if self.paused:
            self._held.append(message)
            self._update_state()
        else:
            self._apply(message)

    def _apply(self, message: Message | _HeldMark) -> None:
        if isinstance(message, _HeldMark):
            self.transcript.add_note(f"⚑ marked at {clock_text(message.call_time)}", "mark")
            return
        event = message.event  # type: ignore[attr-defined]
        handler = getattr(self, f"_show_{event.type}", None)
        if handler is not None:
            handler(event)

    def _show_ready(self, event: Ready) -> None:
        self._t0 = self.clock()
        self.header.set_model(event.model)
        self._update_state()
        self.header.set_elapsed(0.0)
        self.transcript.placeholder("Listening. The transcript appears here as people speak.")

    def _show_partial(self, event: Partial) -> None:
        self.banner.clear()
        self.transcript.show_partial(event.speaker, event.text, event.stable)

    def _show_utterance(self, event: Utterance) -> None:
        self.banner.clear()
        self.transcript.add_utterance(event)

    def _show_flag(self, event: Flag) -> None:
        self.transcript.add_flag(event)
        self.coach.add_flag(event)

    def _show_suggestion(self, event: Suggestion) -> None:
        self.kb.add(event)

    def _show_painpoint(self, event: PainPoint) -> None:
        self.ticker.add(event)

    def _show_deadair(self, event: DeadAir) -> None:
        self.banner.show_dead_air(event, self.clock())

    def _show_checklist(self, event: ChecklistStatus) -> None:
        self.checklist.set_status(event)

    def _show_sentiment(self, event: Sentiment) -> None:
        self.mood.set_mood(event)

    def _show_repeat(self, event: Repeat) -> None:
        self.mood.set_repeat(event, self.clock())
        self.transcript.add_note(f"↻ the customer restated the problem ({event.count}×)", "repeat")

    def _show_overtalk(self, event: Overtalk) -> None:
        who = "You" if event.speaker == "agent" else "The customer"
        self.transcript.add_note(f"⇄ {who} talked over the other side for {event.duration:.1f} s",
                                 "overtalk")

    def _show_wrapup(self, event: WrapUp) -> None:
        self.transcript.add_note(wrapup_text(event), "wrapup")

    def _show_end(self, event: End) -> None:
        self._call_id = event.call
        if self._t0 is not None and self._t_end is None:
            self._t_end = self.clock()
        self.banner.clear()
        self.mood.reset()  # the call is over: its mood is in the wrap-up
        for speaker in self.header.speakers:
            self.transcript.show_partial(speaker, "")
        self.transcript.add_note(f"Call ended · {clock_text(event.duration)} of audio", "end")
        self._outcome = self._outcome or "ended"
        self._update_state()

    def _reset_view(self) -> None:
        self.transcript.reset()
        self.coach.reset()
        self.kb.reset()
        self.banner.clear()
        self.checklist.reset()
        self.mood.reset()

    # ------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.LIVE_ACTIONS and self.current_mode != "live":
            return False  # the call's keys belong to the live screen
        if action == "stop_call":
            return self.running
        if action == "start_call":
            return not self.running
        if action == "pause":
            return not self.paused
        if action == "resume":
            return self.paused
        return super().check_action(action, parameters)

    def action_pause(self) -> None:
        self.paused = True
        self._update_state()
        self.refresh_bindings()

    def action_resume(self) -> None:
        self.paused = False
        self._release_held()
        self._update_state()
        self.refresh_bindings()

    def _update_state(self) -> None:
        """The header's call state, from what the call and the screen are doing."""
        if self.paused:
            self.header.set_state("paused", f"· {len(self._held)} held")
        elif self._outcome or not self.running:
            self.header.set_state(self._outcome or "idle")
        elif self._t0 is None:
            latest = self.preparation[-1] if self.preparation else None
            self.header.set_state("loading", f"{step_under_way(latest)}/{latest.total}"
                                  if latest else "")
        else:
            self.header.set_state("live", "· stopping…" if self._stop.is_set() else "")

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for message in held:
            self._apply(message)

    def action_mark(self) -> None:
        now = self.call_time()
        if now is None or not self.running:
            self.notify("No call is running to mark.", severity="warning")
            return
        mark = Mark(now, self.pipeline.call_id if self.pipeline else None)
        self.marks.append(mark)
        self._receive(_HeldMark(now))

    def action_article(self, index: int) -> None:
        shown = self.kb.shown
        if index >= len(shown):
            self.notify(f"No suggestion {index + 1} yet.", severity="warning", timeout=3)
            return
        suggestion = shown[index]
        kb_dir = self.settings.kb_dir if self.settings else None

        def rated(useful: bool | None) -> None:
            if useful is not None:
                self.record_feedback(suggestion, useful)

        self.push_screen(ArticleScreen(suggestion, self.article_loader, kb_dir), rated)

    def record_feedback(self, suggestion: Suggestion, useful: bool) -> None:
        """Keep the agent's verdict on an article; ``on_feedback`` passes it on."""
        call = self._call_id or (self.pipeline.call_id if self.pipeline else None)
        feedback = KbFeedback(suggestion.article, suggestion.title, useful, self.call_time(), call)
        self.kb_feedback.append(feedback)
        if self.on_feedback is not None:
            self.on_feedback(feedback)
        self.notify(f"Marked {'useful' if useful else 'not useful'}: "
                    f"{suggestion.title or suggestion.article}", timeout=3)

    def loaded_kb(self) -> KnowledgeBase | None:
        """The call's knowledge base, which its KB advisor loaded with the models."""
        from ..call import Pipeline
        from ..kb import KbAdvisor

        if isinstance(self.pipeline, Pipeline):
            for analyzer in self.pipeline.analyzers:
                if isinstance(analyzer, KbAdvisor):
                    return analyzer.kb
        return None

    def _model_name(self) -> str:
        return self.settings.asr.name if self.settings else ""

    async def action_quit(self) -> None:
        self._stop_call()
        self.exit()

    def on_unmount(self) -> None:
        self._stop_call()


@dataclass
class _HeldMark:
    """A mark, queued with the events so a paused screen shows it in order."""

    call_time: float


def run_app(source: Source, settings: CallSettings, **options: Any) -> None:
    """Open the live screen on a call from ``source`` (what ``assist demo/replay/live`` run);
    ``options`` go to ``AssistApp`` (``pipeline_factory``, ``on_feedback``)."""
    AssistApp(source, settings, **options).run()

