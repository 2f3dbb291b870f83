"""The one small interface every analyzer shares.

The pipeline hands each analyzer the transcriber's output and the audio clock;
an analyzer answers with zero or more events.  The phrase detector, the KB
advisor, the pain-point tracker and the dead-air monitor all plug in here
without the pipeline knowing what they do.
"""

from __future__ import annotations

from .events import Event, Partial, Utterance


class Analyzer:
    """Base analyzer: override what you need; every hook returns new events."""

    name = "analyzer"

    def warm_up(self) -> None:
        """Load models and build indexes now, before the call's ``ready`` event."""

    def start(self, call_id: str | None = None) -> list[Event]:
        """A call begins."""
        return []

    def feed(self, utterance: Utterance) -> list[Event]:
        """A final utterance from either speaker."""
        return []

    def feed_partial(self, partial: Partial) -> list[Event]:
        """Committed partial text while someone is still speaking."""
        return []

    def tick(self, audio_time: float, speaking: dict[str, bool]) -> list[Event]:
        """The audio clock moved to ``audio_time``; ``speaking`` says who is talking now."""
        return []

    def finish(self, audio_time: float) -> list[Event]:
        """The call is over."""
        return []
