"""One call, assembled: settings → model → pipeline with its analyzers → a sink.

The CLI builds ``CallSettings`` and hands them here; the UI does the same from
its worker thread.  Analyzers from other modules (phrases, KB) join when they
are installed, without the pipeline knowing them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .analyzer import Analyzer
from .asr import AsrOptions
from .deadair import DeadAirMonitor
from .events import Event
from .models import ModelSpec, load_specs, load_whisper
from .pipeline import Pipeline, Sink


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
    """

    asr: ModelSpec
    embeddings: ModelSpec
    asr_options: AsrOptions = field(default_factory=AsrOptions)
    deadair_seconds: float = 10.0
    phrases_dir: Path | None = None
    kb_dir: Path | None = None
    cpu_threads: int = field(default_factory=lambda: os.cpu_count() or 1)

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


def default_analyzers(settings: CallSettings) -> list[Analyzer]:
    """Dead air always; the phrase detector and KB advisor when their modules exist."""
    analyzers: list[Analyzer] = [DeadAirMonitor(settings.deadair_seconds)]
    for factory in _optional_factories():
        analyzers.append(factory(settings))
    return analyzers


def _optional_factories() -> Iterable[Callable[[CallSettings], Analyzer]]:
    try:
        from .phrases import PhraseDetector
    except ModuleNotFoundError:
        pass
    else:
        yield lambda s: PhraseDetector(s.phrases_dir, language=s.asr_options.language)
    try:
        from .kb import KbAdvisor
    except ModuleNotFoundError:
        pass
    else:
        yield lambda s: KbAdvisor(kb_dir=s.kb_dir)


def build_pipeline(settings: CallSettings, speakers: Iterable[str], sinks: Iterable[Sink],
                   analyzers: Iterable[Analyzer] | None = None) -> Pipeline:
    """Load the model (once per process) and wire a pipeline for one call."""
    model = load_whisper(settings.asr, cpu_threads=settings.cpu_threads)
    return Pipeline(
        model, speakers, settings.asr_options,
        analyzers=default_analyzers(settings) if analyzers is None else analyzers,
        sinks=sinks, model_name=settings.asr.name,
    )


def jsonl_sink(stream=None) -> Sink:
    out = stream or sys.stdout

    def write(event: Event) -> None:
        out.write(event.to_json() + "\n")
        out.flush()

    return write


def run_jsonl(source: Any, settings: CallSettings, stream=None) -> None:
    """Run a call and print the event stream as JSON lines."""
    pipeline = build_pipeline(settings, source.speakers, [jsonl_sink(stream)])
    pipeline.run(source)


def run_ui(source: Any, settings: CallSettings) -> None:
    """Open the live screen on a call."""
    try:
        from .tui.app import run_app
    except ModuleNotFoundError:
        # no UI yet: fall back to a readable stream
        pipeline = build_pipeline(settings, source.speakers, [_text_sink])
        pipeline.run(source)
        return
    run_app(source, settings)


def _text_sink(event: Event) -> None:
    data = event.to_dict()
    if data["type"] in ("partial",):
        return
    data.pop("words", None)
    print(json.dumps(data, ensure_ascii=False))
