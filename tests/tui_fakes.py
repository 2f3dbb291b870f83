"""Fakes for the UI tests: a recorded event stream replayed by a fake pipeline on a
fake source that ends, so every test is deterministic and takes milliseconds."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from assist.audio import Frame
from assist.events import EVENT_TYPES, End, Event

RECORDED = Path(__file__).parent / "data" / "recorded_call.jsonl"


def load_events(path: Path = RECORDED) -> list[Event]:
    """The recorded stream: the real pipeline's events on the sample call (words
    dropped), with the flags, suggestions and pain points the analyzers would add, and the
    checklist, mood, repeat and wrap-up events of a real replay of it."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        kind = data.pop("type")
        if data.get("span") is not None:
            data["span"] = tuple(data["span"])
        events.append(EVENT_TYPES[kind](**data))
    return events


class FakeSource:
    """A two-channel source of ``frames`` short frames that then ends."""

    realtime = False

    def __init__(self, frames: int = 3, speakers=("agent", "customer")):
        self.frames = frames
        self.speakers = list(speakers)
        self.stopped = threading.Event()

    def __iter__(self) -> Iterator[Frame]:
        for i in range(self.frames):
            if self.stopped.is_set():
                return
            level = 0.5 / (i + 1)
            yield Frame(i * 0.1, {s: np.full(1600, level, np.float32) for s in self.speakers})

    def stop(self) -> None:
        self.stopped.set()

    def reopen(self) -> FakeSource:
        return FakeSource(self.frames, self.speakers)

    def describe(self) -> str:
        return "recorded call"


class FakePipeline:
    """Replays events to its sinks; stops early when asked.

    ``gate``: wait for it after the first ``gate_after`` events (0: before ``ready``,
    to see the loading state); ``hold_open``: after the events, stay in the call
    until ``stop()``.
    """

    def __init__(self, events: list[Event], sinks, gate: threading.Event | None = None,
                 gate_after: int = 0, hold_open: bool = False):
        self.events = events
        self.sinks = list(sinks)
        self.gate = gate
        self.gate_after = gate_after
        self.hold_open = hold_open
        self.stopped = threading.Event()
        self.call_id = "fake-call"

    def emit(self, event: Event) -> None:
        for sink in self.sinks:
            sink(event)

    def run(self, source) -> End:
        for _frame in source:
            pass
        end = None
        for n, event in enumerate(self.events):
            if n == self.gate_after and self.gate is not None:
                self.gate.wait(10)
            if self.stopped.is_set():
                break
            if isinstance(event, End):
                end = event
                continue
            self.emit(event)
        if self.hold_open:
            self.stopped.wait(10)
        end = end or End(call=self.call_id, duration=1.0)
        self.emit(end)
        return end

    def stop(self) -> None:
        self.stopped.set()


class FakeFactory:
    """A ``pipeline_factory`` that records every pipeline it builds."""

    def __init__(self, events: list[Event], error: Exception | None = None, **options):
        self.events = events
        self.error = error
        self.options = options
        self.built: list[FakePipeline] = []

    def __call__(self, settings, speakers, sinks, progress=None) -> FakePipeline:
        if self.error is not None:
            raise self.error
        pipeline = FakePipeline(self.events, sinks, **self.options)
        self.built.append(pipeline)
        return pipeline


def frozen_clock(value: float = 1000.0) -> Callable[[], float]:
    return lambda: value
