"""The pipeline: source → transcribers → analyzers → sinks.

The same object serves ``live``, ``replay``, the UI, the tests and the
benchmarks; only the source and the sinks change.  It runs in the calling
thread (the UI calls it from a thread worker); a realtime source is read on a
small reader thread so decoding never makes the capture drop audio.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..asr import AsrOptions, DecodeScheduler, StreamingTranscriber
from ..audio import Frame
from ..errors import AssistError
from ..events import End
from .analyzer import AnalyzedCall, Analyzer, Sink, Source


@dataclass
class PipelineStats:
    """What the run did, for benchmarks and the UI header."""

    audio_seconds: float = 0.0
    decode_seconds: float = 0.0
    decodes: dict[str, int] = field(default_factory=lambda: {"partial": 0, "final": 0})
    decode_time: dict[str, float] = field(default_factory=lambda: {"partial": 0.0, "final": 0.0})
    max_backlog: float = 0.0  # seconds of audio read but not yet fed, at worst
    max_backlog_at: float = 0.0  # audio time of that worst moment
    backlog: list[tuple[float, float]] = field(default_factory=list)  # (audio s, backlog s), each s
    levels: dict[str, float] = field(default_factory=dict)


_DONE = object()


class Pipeline(AnalyzedCall):
    """Wire one call: feed a source's frames through per-speaker transcribers
    (``final_model``, when given, re-decodes each final utterance; ``model`` the partials)."""

    def __init__(
        self,
        model: Any,
        speakers: Iterable[str],
        asr_options: AsrOptions | None = None,
        analyzers: Iterable[Analyzer] = (),
        sinks: Iterable[Sink] = (),
        model_name: str = "",
        call_id: str | None = None,
        final_model: Any | None = None,
    ):
        options = asr_options or AsrOptions()
        self.transcribers = {s: StreamingTranscriber(s, model, options, final_model) for s in speakers}
        self.scheduler = DecodeScheduler(self.transcribers)
        super().__init__(analyzers, sinks, call_id or uuid.uuid4().hex[:12])
        self.model_name = model_name
        self.language = options.language
        self.stats = PipelineStats()
        self._t0: float | None = None
        self._stop = threading.Event()
        self._audio_time = 0.0

    # ------------------------------------------------------------ emitting

    def now(self) -> float:
        return 0.0 if self._t0 is None else time.monotonic() - self._t0

    # ------------------------------------------------------------ running

    def stop(self) -> None:
        """Ask a running ``run`` to finish the call (thread-safe)."""
        self._stop.set()

    def run(self, source: Source) -> End:
        """Run a whole call from ``source``; returns the ``end`` event."""
        self._begin(self.model_name, self.language)
        try:
            if source.realtime:
                self._run_realtime(source)
            else:
                self._run_fast(source)
        finally:
            source.stop()
        for transcriber in self.transcribers.values():
            transcriber.flush()
            self._emit_all(transcriber.take_ready())
        self._drain_finals()
        return self._end(self._audio_time)

    def _run_fast(self, source: Source) -> None:
        for frame in source:
            if self._stop.is_set():
                break
            self._feed(frame)
            while (job := self.scheduler.next_job()) is not None:
                self._decode(job)

    def _run_realtime(self, source: Source) -> None:
        frames: queue.Queue[Any] = queue.Queue()

        def read() -> None:
            try:
                for frame in source:
                    frames.put(frame)
                    if self._stop.is_set():
                        break
            except BaseException as exc:  # handed to the main loop, re-raised there
                frames.put(exc)
            frames.put(_DONE)

        reader = threading.Thread(target=read, name="assist-audio", daemon=True)
        reader.start()
        done = False
        while not done and not self._stop.is_set():
            idle = not self.scheduler.has_work()
            try:
                # wait for audio only when there is nothing to decode
                item = frames.get(timeout=0.05) if idle else frames.get_nowait()
            except queue.Empty:
                item = None
            while item is not None:
                if item is _DONE:
                    done = True
                    break
                if isinstance(item, BaseException):
                    raise item
                self._feed(item)
                backlog = frames.qsize() * item.duration
                if backlog > self.stats.max_backlog:
                    self.stats.max_backlog, self.stats.max_backlog_at = backlog, item.start
                if not self.stats.backlog or item.start >= self.stats.backlog[-1][0] + 1.0:
                    self.stats.backlog.append((item.start, backlog))
                try:
                    item = frames.get_nowait()
                except queue.Empty:
                    item = None
            job = self.scheduler.next_job()
            if job is not None:
                self._decode(job)
        source.stop()
        reader.join(timeout=2.0)

    def _feed(self, frame: Frame) -> None:
        if self._t0 is None:
            self._t0 = time.monotonic()
        for speaker, audio in frame.audio.items():
            transcriber = self.transcribers.get(speaker)
            if transcriber is not None:
                transcriber.insert_audio(audio)
                self.stats.levels[speaker] = float(abs(audio).max()) if len(audio) else 0.0
        for transcriber in self.transcribers.values():
            self._emit_all(transcriber.take_ready())
        self._audio_time = frame.start + frame.duration
        self.stats.audio_seconds = self._audio_time
        self._tick(self._audio_time, {s: t.speaking for s, t in self.transcribers.items()})
        self._hear(self._audio_time, {s: t.voiced for s, t in self.transcribers.items()})

    def _decode(self, job) -> None:
        began = time.monotonic()
        try:
            events = self.scheduler.run(job)
        except RuntimeError as exc:
            raise AssistError(f"speech recognition failed: {exc}") from None
        spent = time.monotonic() - began
        self.stats.decode_seconds += spent
        self.stats.decode_time[job.kind] += spent
        self.stats.decodes[job.kind] += 1
        self._emit_all(events)

    def _drain_finals(self) -> None:
        while self.scheduler.pending_finals():
            job = self.scheduler.next_job()
            if job is None:
                break
            self._decode(job)
