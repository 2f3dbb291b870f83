"""Dead air: neither side has spoken for too long (agents who go quiet or mute to
make a caller give up)."""

from __future__ import annotations

from ..events import DeadAir, Event
from .analyzer import Analyzer


class DeadAirMonitor(Analyzer):
    """Emits one ``deadair`` event per silent stretch, as soon as it passes ``threshold`` seconds.

    The event fires live (while the silence goes on) so the screen can warn the
    agent; ``duration`` is the silence so far at that moment.
    """

    name = "deadair"

    def __init__(self, threshold: float = 10.0):
        self.threshold = threshold
        self.silence_since = 0.0
        self.reported = False

    def start(self, call_id: str | None = None) -> list[Event]:
        self.silence_since, self.reported = 0.0, False
        return []

    def tick(self, audio_time: float, speaking: dict[str, bool]) -> list[Event]:
        if any(speaking.values()):
            self.silence_since, self.reported = audio_time, False
            return []
        duration = audio_time - self.silence_since
        if self.reported or duration < self.threshold:
            return []
        self.reported = True
        return [DeadAir(speaker="both", start=self.silence_since, duration=duration)]
