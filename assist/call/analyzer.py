"""The seams of a call: the analyzer interface, and the protocols of what plugs in.

The pipeline hands each analyzer the transcriber's output and the audio clock;
an analyzer answers with zero or more events.  The phrase detector, the KB
advisor, the pain-point tracker and the dead-air monitor all plug in here
without the pipeline knowing what they do.  Audio comes from a ``Source`` (a file,
a device, two devices, a test's fake), events leave through ``Sink`` callables, and
the matchers that compare sentences take any ``Embedder``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..events import End, Event, Partial, Ready, Utterance

if TYPE_CHECKING:

    from ..audio import Frame

Sink = Callable[[Event], None]
"""Where events go: the UI, JSON lines on stdout, the store."""


class Source(Protocol):
    """Audio for one call: frames of 16 kHz mono float32 per speaker, in order.

    Attributes:
        speakers: who the frames carry ("agent", "customer").
        realtime: frames come at the pace of the call (a device, a file at real-time
            pace): the pipeline then decodes on its own thread so audio never waits.
    """

    speakers: list[str]
    realtime: bool

    def __iter__(self) -> Iterator[Frame]: ...

    def stop(self) -> None:
        """End the iteration soon (another thread may call it)."""


@runtime_checkable
class Describable(Protocol):
    """A source that can say what it is (stored with the call)."""

    def describe(self) -> str: ...


@runtime_checkable
class Reopenable(Protocol):
    """A source that can give a new source on the same input for the next call."""

    def reopen(self) -> Source: ...


class Analyzer:
    """Base analyzer: override what you need; every hook returns new events.

    Hooks are typed ``Sequence[Event]`` so an override may return a list of one kind
    (the phrase detector's ``list[Flag]``).
    """

    name = "analyzer"

    def warm_up(self) -> None:
        """Load models and build indexes now, before the call's ``ready`` event."""

    def start(self, call_id: str | None = None) -> Sequence[Event]:
        """A call begins."""
        return []

    def feed(self, utterance: Utterance) -> Sequence[Event]:
        """A final utterance from either speaker."""
        return []

    def feed_partial(self, partial: Partial) -> Sequence[Event]:
        """Committed partial text while someone is still speaking."""
        return []

    def tick(self, audio_time: float, speaking: dict[str, bool]) -> Sequence[Event]:
        """The audio clock moved to ``audio_time``; ``speaking`` says who is talking now."""
        return []

    def hear(self, audio_time: float, voiced: dict[str, bool]) -> Sequence[Event]:
        """Voice activity up to ``audio_time``: who had voice in the audio just fed (finer
        than ``tick``'s ``speaking``, which holds through a speaker's pauses)."""
        return []

    def notice(self, event: Event) -> None:
        """Every event the call emits (other analyzers' too), after the sinks had it."""

    def finish(self, audio_time: float) -> Sequence[Event]:
        """The call is over."""
        return []


class AnalyzedCall:
    """What every call does with its analyzers and sinks, whatever feeds it: audio through
    the recogniser (``Pipeline``) or another system's transcript (``TranscriptCall``).

    Attributes:
        analyzers: the call's analyzers, in order.
        sinks: where every event goes, in order.
        call_id: the call's id (the stored call's).
    """

    def __init__(self, analyzers: Iterable[Analyzer], sinks: Iterable[Sink], call_id: str):
        self.analyzers = list(analyzers)
        self.sinks = list(sinks)
        self.call_id = call_id

    def now(self) -> float:
        """Seconds since the first audio was fed (``t`` of every event)."""
        return 0.0

    def emit(self, event: Event) -> None:
        event.t = self.now()
        for sink in self.sinks:
            sink(event)
        for analyzer in self.analyzers:
            analyzer.notice(event)

    def _emit_all(self, events: Iterable[Event]) -> None:
        """Send events on, each followed by what the analyzers make of it."""
        for event in events:
            self.emit(event)
            self._analyze(event)

    def _analyze(self, event: Event) -> None:
        for analyzer in self.analyzers:
            if isinstance(event, Utterance):
                produced = analyzer.feed(event)
            elif isinstance(event, Partial):
                produced = analyzer.feed_partial(event)
            else:
                continue
            for extra in produced:
                self.emit(extra)

    def _begin(self, model: str, language: str | None = None) -> None:
        for analyzer in self.analyzers:
            analyzer.warm_up()
        self.emit(Ready(model=model, language=language))
        for analyzer in self.analyzers:
            for event in analyzer.start(self.call_id):
                self.emit(event)

    def _tick(self, audio_time: float, speaking: dict[str, bool]) -> None:
        for analyzer in self.analyzers:
            for event in analyzer.tick(audio_time, speaking):
                self.emit(event)

    def _hear(self, audio_time: float, voiced: dict[str, bool]) -> None:
        for analyzer in self.analyzers:
            for event in analyzer.hear(audio_time, voiced):
                self.emit(event)

    def _end(self, audio_time: float) -> End:
        for analyzer in self.analyzers:
            for event in analyzer.finish(audio_time):
                self.emit(event)
        end = End(call=self.call_id, duration=audio_time)
        self.emit(end)
        return end
