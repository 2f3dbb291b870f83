"""Audio levels on the way through: a source wrapper that reports each speaker's peak."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..call import Source
    from .frames import Frame


class MeteredSource:
    """Wraps an audio source: frames pass through to the pipeline untouched, and the
    peak level per speaker goes to ``post`` at most every ``interval`` seconds."""

    def __init__(self, source: Source, post: Callable[[dict[str, float]], None],
                 interval: float = 0.08):
        self.source = source
        self.post = post
        self.interval = interval
        self.speakers = list(source.speakers)
        self.realtime = source.realtime

    def __iter__(self) -> Iterator[Frame]:
        peaks: dict[str, float] = {}
        last = 0.0
        for frame in self.source:
            for speaker, audio in frame.audio.items():
                peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
                peaks[speaker] = max(peaks.get(speaker, 0.0), peak)
            now = time.monotonic()
            if now - last >= self.interval:
                self.post(peaks)
                peaks, last = {}, now
            yield frame
        self.post(dict.fromkeys(self.speakers, 0.0))

    def stop(self) -> None:
        self.source.stop()
