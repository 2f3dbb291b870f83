"""Who talks, and over whom: overtalk events, talk share and the longest agent monologue."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..call import Analyzer
from ..events import AGENT, CUSTOMER, Event, Overtalk


@dataclass
class TalkFigures:
    """Voice time per speaker, overtalk count and the longest agent monologue, so far."""

    voice: dict[str, float] = field(default_factory=lambda: {AGENT: 0.0, CUSTOMER: 0.0})
    overtalk: int = 0
    longest_monologue: float = 0.0

    @property
    def talk_agent(self) -> float:
        """The agent's share of both voices' time (0 when nobody spoke)."""
        both = self.voice[AGENT] + self.voice[CUSTOMER]
        return self.voice[AGENT] / both if both else 0.0


class TalkMonitor(Analyzer):
    """Overtalk from both channels' voice activity (not from recognised words).

    One continuous stretch with both voices of at least ``min_overlap`` seconds is one
    ``overtalk`` event, sent as the stretch ends; ``speaker`` is whose voice started
    while the other's was under way.  A backchannel ("mhm") is shorter and never one.
    A monologue is the agent's voice from its first word after the customer last spoke
    to its last word before the customer speaks again (pauses included).  A voice goes
    on through pauses shorter than ``bridge`` (between words and phrases of one turn), so
    one overlap with a breath in it is one overtalk, not two, and an agent who starts in
    the customer's half-second pause has cut in.

    The event does not wait for the bridge: once one voice has been quiet for ``settle``
    seconds and the overlap so far is long enough, it goes out (within 1 s of the
    overlap's end, as the event contract asks).  If both voices sound again within the
    bridge, that is the same overlap still, and it is not sent twice.
    """

    name = "talk"

    def __init__(self, min_overlap: float = 0.5, bridge: float = 0.5, settle: float = 0.25):
        self.min_overlap = min_overlap
        self.bridge = bridge
        self.settle = settle
        self.start()

    def start(self, call_id: str | None = None) -> list[Event]:
        self.figures = TalkFigures()
        self._clock = 0.0
        self._since: dict[str, float | None] = {AGENT: None, CUSTOMER: None}
        self._last: dict[str, float] = {AGENT: 0.0, CUSTOMER: 0.0}  # each voice's latest sound
        self._both = 0.0  # the latest moment both voices sounded
        self._overlap: tuple[str, float] | None = None  # (who started it, when)
        self._reported = False  # the open overlap's event is out
        self._monologue: tuple[float, float] | None = None  # agent voice (first, last)
        return []

    def hear(self, audio_time: float, voiced: dict[str, bool]) -> list[Event]:
        began, self._clock = self._clock, audio_time
        if audio_time <= began:
            return []
        events: list[Event] = []
        for speaker in (AGENT, CUSTOMER):
            if voiced.get(speaker):
                self.figures.voice[speaker] += audio_time - began
                if self._since[speaker] is None:
                    self._since[speaker] = began
                self._last[speaker] = audio_time
            elif audio_time - self._last[speaker] >= self.bridge:
                self._since[speaker] = None
        agent, customer = self._since[AGENT], self._since[CUSTOMER]
        if agent is not None and customer is not None:
            if voiced.get(AGENT) and voiced.get(CUSTOMER):
                self._both = audio_time
                if self._overlap is None:
                    self._overlap = (AGENT, agent) if agent > customer else (CUSTOMER, customer)
                    self._reported = False
            elif self._overlap is not None and audio_time - self._both >= self.settle:
                events += self._report_overlap()
        elif self._overlap is not None:
            events += self._close_overlap(self._both)
        if voiced.get(CUSTOMER):
            self._close_monologue()
        elif voiced.get(AGENT):
            first = self._monologue[0] if self._monologue else began
            self._monologue = (first, audio_time)
        return events

    def _report_overlap(self) -> list[Event]:
        """The open overlap's event, once, when it has lasted long enough."""
        assert self._overlap is not None
        speaker, start = self._overlap
        if self._reported or self._both - start < self.min_overlap:
            return []
        self._reported = True
        self.figures.overtalk += 1
        return [Overtalk(speaker=speaker, start=start, duration=self._both - start)]

    def _close_overlap(self, until: float) -> list[Event]:
        assert self._overlap is not None
        self._both = until
        events = self._report_overlap()
        self._overlap = None
        return events

    def _close_monologue(self) -> None:
        if self._monologue is not None:
            first, last = self._monologue
            self.figures.longest_monologue = max(self.figures.longest_monologue, last - first)
            self._monologue = None

    def finish(self, audio_time: float) -> list[Event]:
        events = self._close_overlap(self._both) if self._overlap is not None else []
        self._close_monologue()
        return events
