"""One decode at a time across speakers, in the order audio arrived."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..events import Partial, Utterance

if TYPE_CHECKING:
    from .streaming import DecodeJob, StreamingTranscriber


class DecodeScheduler:
    """Picks the next decode across speakers: finals first (oldest first), then the
    partial that has waited longest.  Partials are rebuilt from the newest audio
    each time, so a slow machine skips partials rather than building a backlog."""

    def __init__(self, transcribers: dict[str, StreamingTranscriber]):
        self.transcribers = transcribers
        self._served = itertools.count(1)
        self._last_partial: dict[str, int] = dict.fromkeys(transcribers, 0)

    def next_job(self) -> DecodeJob | None:
        finals = [t.finals[0] for t in self.transcribers.values() if t.finals]
        if finals:
            job = min(finals, key=lambda j: (j.ready_at, j.seq))
            return self.transcribers[job.speaker].next_final()
        partials = [j for t in self.transcribers.values() if (j := t.partial_due())]
        if not partials:
            return None
        job = min(partials, key=lambda j: self._last_partial[j.speaker])
        self._last_partial[job.speaker] = next(self._served)  # least recently served goes next
        return job

    def run(self, job: DecodeJob) -> Sequence[Partial | Utterance]:
        return self.transcribers[job.speaker].decode(job)

    def has_work(self) -> bool:
        return any(t.finals or t.partial_ready() for t in self.transcribers.values())

    def pending_finals(self) -> int:
        return sum(len(t.finals) for t in self.transcribers.values())
