"""One call, assembled: settings → model → pipeline with its analyzers → a sink.

The CLI builds ``CallSettings`` and hands them here; the UI does the same from
its worker thread.  Analyzers from other modules (phrases, KB) join when they
are installed, without the pipeline knowing them.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .analyzer import Analyzer
from .asr import AsrOptions
from .deadair import DeadAirMonitor
from .events import Event, Flag
from .models import ModelSpec, load_embedder, load_specs, load_whisper
from .pipeline import Pipeline, Sink

if TYPE_CHECKING:
    from .painpoints import PainPointOptions


@dataclass
class CallSettings:
    """Everything one call needs, typed, built once by the CLI.

    Attributes:
        asr: the ASR model spec.
        embeddings: the sentence-embedding model spec.
        asr_options: streaming options (language among them).
        deadair_seconds: silence that raises a dead-air warning.
        phrases_dir: banned-phrase packs (None: the shipped ones).
        kb_dir: knowledge base (None: the shipped one).
        cpu_threads: threads for the ASR model.
        store: keep the call in the store (assist.store).
        db: the store's URL or SQLite path (None: $ASSIST_DB, else the user data folder).
        agent: who takes the call (None: $ASSIST_AGENT, else the login name).
        painpoints: pain-point options, the early-warning thresholds among them
            (None: the defaults).
    """

    asr: ModelSpec
    embeddings: ModelSpec
    asr_options: AsrOptions = field(default_factory=AsrOptions)
    deadair_seconds: float = 10.0
    phrases_dir: Path | None = None
    kb_dir: Path | None = None
    cpu_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    store: bool = False
    db: str | None = None
    agent: str | None = None
    painpoints: PainPointOptions | None = None

    @classmethod
    def build(cls, model: str | None = None, models_toml: Path | None = None,
              language: str | None = None, deadair_seconds: float = 10.0,
              language_rule: Callable[[str, str | None], str | None] | None = None,
              **extra: Any) -> CallSettings:
        specs = load_specs(models_toml, asr=model)
        if language_rule is not None:
            language = language_rule(specs["asr"].name, language)
        options = replace(AsrOptions(), language=language)
        return cls(specs["asr"], specs["embeddings"], options, deadair_seconds, **extra)


def default_analyzers(settings: CallSettings, store: Any = None) -> list[Analyzer]:
    """Dead air, the phrase detector, the KB advisor and the pain-point tracker (which
    keeps its state in ``store`` when there is one, shared by consecutive calls)."""
    from .kb import KbAdvisor
    from .painpoints import shared_tracker
    from .phrases import PhraseDetector

    return [
        DeadAirMonitor(settings.deadair_seconds),
        PhraseDetector(settings.phrases_dir, language=settings.asr_options.language),
        KbAdvisor(kb_dir=settings.kb_dir),
        shared_tracker(store, load_embedder(settings.embeddings), settings.painpoints),
    ]


def build_pipeline(settings: CallSettings, speakers: Iterable[str], sinks: Iterable[Sink],
                   analyzers: Iterable[Analyzer] | None = None, store: Any = None) -> Pipeline:
    """Load the model (once per process) and wire a pipeline for one call."""
    model = load_whisper(settings.asr, cpu_threads=settings.cpu_threads)
    _one_torch_thread()
    pipeline = Pipeline(
        model, speakers, settings.asr_options,
        analyzers=default_analyzers(settings, store) if analyzers is None else analyzers,
        sinks=sinks, model_name=settings.asr.name,
    )
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


def jsonl_sink(stream=None) -> Sink:
    """Print events as JSON lines.  Early flags (raised on partial text, ``final`` false)
    are for the live screen; the stream carries the one final flag per phrase and utterance."""
    out = stream or sys.stdout

    def write(event: Event) -> None:
        if isinstance(event, Flag) and not event.final:
            return
        out.write(event.to_json() + "\n")
        out.flush()

    return write


def open_store(settings: CallSettings):
    """The store, opened before the models load so an unreachable database fails at once."""
    if not settings.store:
        return None
    from .store import Store

    return Store(settings.db)


def attach_store(pipeline: Pipeline, store, settings: CallSettings, source: Any):
    """Put a StoreSink first in the pipeline's sinks; returns it (None without a store)."""
    if store is None:
        return None
    from .store import StoreSink

    describe = getattr(source, "describe", None)
    sink = StoreSink(store, agent=settings.agent, source=describe() if describe else "")
    sink.start_call(pipeline.call_id)
    pipeline.sinks.insert(0, sink)  # stored before shown: whatever is printed is committed
    return sink


def run_jsonl(source: Any, settings: CallSettings, stream=None) -> None:
    """Run a call and print the event stream as JSON lines."""
    store = open_store(settings)
    pipeline = build_pipeline(settings, source.speakers, [jsonl_sink(stream)], store=store)
    sink = attach_store(pipeline, store, settings, source)
    try:
        pipeline.run(source)
    finally:
        _wait_painpoints()
        if sink is not None:
            sink.close()
            store.close()


def _wait_painpoints() -> None:
    """A re-clustering still running in the background finishes before the store closes."""
    painpoints = sys.modules.get(f"{__package__}.painpoints")  # not loaded: nothing runs
    if painpoints is not None:
        painpoints.wait_shared()


class StoredCalls:
    """What the live screen needs from the store: a pipeline factory that stores every call
    it runs (one StoreSink per call) and the agent's ratings of suggested articles.

    Attributes:
        store: the open store, or None (then nothing is stored).
        sinks: the StoreSink of each call so far.
    """

    def __init__(self, source: Any, store: Any = None):
        self.source = source
        self.store = store
        self.sinks: list[Any] = []

    def pipeline_factory(self, settings: CallSettings, speakers: list[str], sinks: list) -> Pipeline:
        pipeline = build_pipeline(settings, speakers, sinks, store=self.store)
        sink = attach_store(pipeline, self.store, settings, self.source)
        if sink is not None:
            self.sinks.append(sink)
        return pipeline

    def on_feedback(self, feedback: Any) -> None:
        """The agent rated a KB article (y / n): it belongs to the latest call."""
        if self.sinks:
            self.sinks[-1].feedback(feedback.article, feedback.useful)

    def close(self) -> None:
        _wait_painpoints()
        for sink in self.sinks:
            sink.close()
        if self.store is not None:
            self.store.close()


def run_ui(source: Any, settings: CallSettings) -> None:
    """Open the live screen on a call; each call it runs is stored, and the review screen
    reads the same store (``settings.db`` when calls are not stored)."""
    from .tui.app import run_app
    from .tui.shared import StoreHandle

    stored = StoredCalls(source, open_store(settings))
    try:
        run_app(source, settings, pipeline_factory=stored.pipeline_factory,
                on_feedback=stored.on_feedback, store=StoreHandle(settings.db, stored.store))
    finally:
        stored.close()
