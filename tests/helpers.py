"""Small helpers shared by the tests: run a call through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from assist.audio import FileSource
from assist.call import DeadAirMonitor, Pipeline
from assist.events import Event

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"  # the tests' own fixtures
REPO = TESTS.parent


def run_file(model, path: Path, channels: str | None = None, analyzers=None, **asr) -> list[Event]:
    """Replay a file as fast as possible and return every event."""
    from assist.asr import AsrOptions

    events: list[Event] = []
    source = FileSource(path, channels=channels)
    pipeline = Pipeline(model, source.speakers, AsrOptions(**asr),
                        analyzers=[DeadAirMonitor()] if analyzers is None else analyzers,
                        sinks=[events.append], model_name="tiny.en")
    pipeline.run(source)
    return events


def of_type(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.type == kind]


def load_mono(path: Path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return data[:, 0], rate


class FirstSeconds:
    """The sample call's first ``seconds``, fed as fast as possible (keeps the test short)."""

    realtime = False

    def __init__(self, path, seconds: float):
        self.file = FileSource(path)
        self.speakers = self.file.speakers
        self.seconds = seconds

    def __iter__(self):
        for frame in self.file:
            if frame.start >= self.seconds:
                return
            yield frame

    def stop(self) -> None:
        self.file.stop()

    def describe(self) -> str:
        return f"{self.file.describe()}, first {self.seconds:.0f} s"


def text_of(widget) -> str:
    """What a widget shows, as plain text."""
    return str(widget.render())


async def until(pilot, condition, timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds (events cross from a thread)."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")
