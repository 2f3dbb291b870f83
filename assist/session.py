"""One call, assembled: settings → model → pipeline with its analyzers → a sink.

The CLI builds ``CallSettings`` and hands them here; the UI does the same from
its worker thread.  Analyzers from other modules (phrases, KB) join when they
are installed, without the pipeline knowing them.
"""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TextIO

from .call import (
    Analyzer,
    CallSettings,
    DeadAirMonitor,
    Describable,
    ImportedCall,
    Pipeline,
    Sink,
    Source,
    TranscriptCall,
)
from .events import Event, Flag
from .models import Preparation, StepReport, load_embedder, load_whisper

if TYPE_CHECKING:
    from .painpoints import PainPointTracker
    from .store import Store, StoreSink


class ArticleFeedback(Protocol):
    """The agent's rating of a suggested article (the live screen sends one per y / n)."""

    article: str
    useful: bool


PREPARATION = ("speech recogniser", "sentence embedder", "pain points", "knowledge base",
               "phrase packs", "mood model", "checklists")
"""The steps of getting a call ready, in the order ``build_pipeline`` runs them."""


def default_analyzers(settings: CallSettings, tracker: Callable[[], Analyzer] | None = None,
                      prep: Preparation | None = None) -> list[Analyzer]:
    """Dead air, the phrase detector, the KB advisor, the pain-point tracker (``tracker``
    gives the one a session's calls share; None: a new one that keeps its pain points in
    memory), then how the call goes (talk, checklist, repeats, frustration) and the wrap-up.

    Their models and indexes are loaded and warmed here, one ``prep`` step each."""
    from .conduct import EmbeddingMood, conduct_analyzers
    from .kb import KbAdvisor
    from .painpoints import PainPointTracker
    from .phrases import PhraseDetector

    prep = prep or Preparation(PREPARATION)
    with prep.step("sentence embedder", settings.embeddings.name):
        embedder = load_embedder(settings.embeddings)
    with prep.step("pain points"):
        painpoints = tracker() if tracker else PainPointTracker(None, embedder, settings.painpoints)
    with prep.step("knowledge base"):
        kb = KbAdvisor(kb_dir=settings.kb_dir)
    language = settings.asr_options.language
    with prep.step("phrase packs"):
        phrases = PhraseDetector(settings.phrases_dir, language=language)
        phrases.warm_up()
    with prep.step("mood model"):
        mood = EmbeddingMood(embedder)
        mood.fit()
    with prep.step("checklists"):
        conduct = conduct_analyzers(embedder, mood, settings.checklists_dir, language,
                                    settings.company)
        for analyzer in conduct:
            analyzer.warm_up()
    return [DeadAirMonitor(settings.deadair_seconds), phrases, kb, painpoints, *conduct]


def build_pipeline(settings: CallSettings, speakers: Iterable[str], sinks: Iterable[Sink],
                   analyzers: Iterable[Analyzer] | None = None, *,
                   tracker: Callable[[], Analyzer] | None = None,
                   progress: StepReport | None = None) -> Pipeline:
    """Load the models (once per process) and wire a pipeline for one call: the given
    ``analyzers``, else ``default_analyzers`` (with ``tracker``).  ``progress`` hears each
    step of getting ready (``PREPARATION``) as it starts and as it finishes."""
    prep = Preparation(PREPARATION if analyzers is None else PREPARATION[:1], progress)
    final_spec = settings.asr.final_spec()
    with prep.step("speech recogniser", settings.asr.name + (f" + {final_spec.name}"
                                                             if final_spec else "")):
        model = load_whisper(settings.asr, cpu_threads=settings.cpu_threads)
        final = load_whisper(final_spec, cpu_threads=settings.cpu_threads) if final_spec else None
    if analyzers is None:
        analyzers = default_analyzers(settings, tracker, prep)
    _one_torch_thread()
    pipeline = Pipeline(model, speakers, settings.asr_options, analyzers=analyzers, sinks=sinks,
                        model_name=settings.asr.name + (f"+{final_spec.name}" if final_spec else ""),
                        final_model=final)
    freeze_heap()
    return pipeline


def freeze_heap() -> None:
    """Take what loading left on the heap (models, tokenizers, the KB: some 400,000
    objects) out of the garbage collector's sight.  Every full collection walks all of
    them otherwise, holding the GIL for about 0.4 s on this machine: decoding and the
    screen both stall.  Measured by ``bench/ui.py``; idempotent, cheap after the first call."""
    gc.collect()
    gc.freeze()


def _one_torch_thread() -> None:
    """Live embeddings are one short sentence at a time, between decodes: a second torch
    thread buys nothing there and, on a busy 2-core machine, made them 5-15x slower."""
    import torch

    torch.set_num_threads(1)


def jsonl_sink(stream: TextIO | None = None) -> Sink:
    """Print events as JSON lines.  Early flags (raised on partial text, ``final`` false)
    are for the live screen; the stream carries the one final flag per phrase and utterance."""
    out = stream or sys.stdout

    def write(event: Event) -> None:
        if isinstance(event, Flag) and not event.final:
            return
        out.write(event.to_json() + "\n")
        out.flush()

    return write


def open_store(settings: CallSettings) -> Store | None:
    """The store, opened before the models load so an unreachable database fails at once."""
    if not settings.store:
        return None
    from .store import Store

    return Store(settings.db)


class Session:
    """One run of assist (a replay; the live screen and the calls it runs): the store, the
    pain-point tracker its calls share, and a pipeline per call, with a StoreSink first
    among its sinks when calls are stored.

    The session owns the tracker: consecutive calls share the pain points without
    reloading them, and ``close()`` lets a background re-clustering finish before the
    store closes.

    Attributes:
        source: the audio source of the first call (its ``describe()`` is stored), or None.
        store: the open store, or None (then nothing is stored).
        sinks: the StoreSink of each call so far.
    """

    def __init__(self, source: Source | None, store: Store | None = None):
        self.source = source
        self.store = store
        self.sinks: list[StoreSink] = []
        self.tracker: PainPointTracker | None = None

    def pipeline_factory(self, settings: CallSettings, speakers: Iterable[str],
                         sinks: Iterable[Sink], progress: StepReport | None = None) -> Pipeline:
        """A pipeline for the next call (what the live screen calls for each call);
        ``progress`` hears each step of getting it ready."""
        pipeline = build_pipeline(settings, speakers, sinks, progress=progress,
                                  tracker=lambda: self._tracker(settings))
        if self.store is not None:
            from .store import StoreSink

            source = self.source
            sink = StoreSink(self.store, agent=settings.agent, team=settings.team,
                             source=source.describe() if isinstance(source, Describable) else "")
            sink.start_call(pipeline.call_id)
            pipeline.sinks.insert(0, sink)  # stored before shown: whatever is printed is committed
            self.sinks.append(sink)
        return pipeline

    def _tracker(self, settings: CallSettings) -> PainPointTracker:
        from .painpoints import PainPointTracker

        if self.tracker is None:
            self.tracker = PainPointTracker(self.store, load_embedder(settings.embeddings),
                                            settings.painpoints)
        elif settings.painpoints is not None:
            self.tracker.options = settings.painpoints  # the latest call's thresholds win
        return self.tracker

    def on_feedback(self, feedback: ArticleFeedback) -> None:
        """The agent rated a KB article (y / n): it belongs to the latest call."""
        if self.sinks:
            self.sinks[-1].feedback(feedback.article, feedback.useful)

    def store_status(self) -> str | None:
        """What the agent should know about storing the call now, or None when all is well."""
        held = sum(sink.held_in_memory for sink in self.sinks)
        if held:
            return (f"Cannot write the database or its spool (disk full?): {held} events held in "
                    "memory until it can. Do not quit.")
        if any(sink.spooling for sink in self.sinks):
            return "The database is away: the call is kept in the spool and written when it is back."
        return None

    def close(self) -> None:
        if self.tracker is not None:
            self.tracker.wait()
            self.tracker.close()
        for sink in self.sinks:
            sink.close()
        if self.store is not None:
            self.store.close()


def import_calls(calls: Iterable[ImportedCall], settings: CallSettings, store: Store
                 ) -> Iterator[tuple[str | int, str]]:
    """Store calls transcribed elsewhere through the same analyzers and redaction as a live
    call; yields (source id, stored call id) as each one is written."""
    from .store import StoreSink

    session = Session(None, store)
    tracker = session._tracker(settings)
    clock = tracker.clock
    try:
        analyzers = default_analyzers(settings, lambda: tracker)
        for call in calls:
            # its problems were raised when it happened: the reports' days and the early
            # warning's windows go by that, not by the time of the import
            tracker.clock = clock if call.started is None else functools.partial(_same, call.started)
            sink = StoreSink(store, agent=call.agent or settings.agent, source=call.id)
            call_id = sink.start_call(started=call.started)
            try:
                TranscriptCall(call.utterances, analyzers, [sink], call_id=call_id).run()
            finally:
                sink.close()
            yield (call.given if call.given is not None else call.id), call_id
    finally:
        tracker.wait()
        tracker.clock = clock
        tracker.close()


def _same(when: datetime) -> datetime:
    return when


def run_jsonl(source: Source, settings: CallSettings, stream: TextIO | None = None) -> None:
    """Run a call and print the event stream as JSON lines."""
    session = Session(source, open_store(settings))
    try:
        session.pipeline_factory(settings, source.speakers, [jsonl_sink(stream)]).run(source)
    finally:
        session.close()
