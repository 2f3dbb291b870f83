"""Two devices as one call: the agent's microphone and the softphone's loopback, with drift correction and echo detection."""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import AssistError
from ..events import AGENT, CUSTOMER
from .devices import _sounddevice, pulse_sources, resolve
from .frames import SAMPLE_RATE, Frame, _Resampler

if TYPE_CHECKING:
    from .devices import DeviceSpec


log = logging.getLogger("assist.capture")


_ENV_LOCK = threading.Lock()  # PULSE_SOURCE is process-wide: one stream opens at a time


class DriftCorrector:
    """Keeps one stream on the monotonic clock by dropping or repeating samples.

    ``arrived(t, n)`` records that ``n`` device samples had arrived by time ``t``;
    a running least-squares fit gives the stream's true rate.  ``correct(block)``
    takes a 16 kHz block and returns it with the correction still owed applied.
    """

    def __init__(self, nominal_rate: float, max_correction: int = 2, settle_seconds: float = 60.0,
                 skip_seconds: float = 2.0, max_ppm: float = 300.0):
        self.nominal = nominal_rate
        self.skip = skip_seconds
        self.max_ppm = max_ppm
        self._first: float | None = None
        self._c0: int | None = None
        self._next_adc: float | None = None
        self.gap_seconds = 0.01
        self.lost = 0  # device samples lost to overflows, filled with silence
        self.gained = 0.0
        self.use_adc = False
        self.max_correction = max_correction
        self.settle = settle_seconds
        self._n = 0
        self._st = self._sc = self._stt = self._stc = self._scc = 0.0
        self._t0: float | None = None
        self._span = 0.0  # seconds covered by the fit
        self.received = 0  # device samples
        self.produced = 0  # 16 kHz samples before correction
        self.applied = 0  # samples inserted (+) or dropped (-)

    def arrived(self, t: float, adc: float, n: int, overflow: bool = False) -> int:
        """A block of ``n`` samples arrived at ``t``; ``adc`` is its capture time, if known.

        Returns how many device samples were lost just before this block: when
        PortAudio flags an input overflow (a busy machine), the jump in capture
        time says how much is missing, and the caller fills it with silence so the
        stream keeps its place on the clock.  Capture times jitter by tens of ms
        on some systems (ALSA's pulse plugin), so a jump alone is never a loss.
        """
        if self._first is None:
            self._first = t
            self.use_adc = adc > 0
        lost = 0
        if overflow and self.use_adc and self._next_adc is not None:
            gap = adc - self._next_adc
            if gap > self.gap_seconds:
                lost = int(round(gap * self.nominal))
                self.received += lost
                self.lost += lost
        if self.use_adc:
            self._next_adc = adc + n / self.nominal
        before = self.received
        self.received += n
        if t - self._first < self.skip:  # start-up bursts say nothing about the rate
            return lost
        if self.use_adc:
            # the capture time belongs to the block's first sample
            t, n_at_t = adc, before
        else:
            n_at_t = self.received
        if self._t0 is None:
            self._t0 = t
        if self._c0 is None:
            self._c0 = n_at_t
        # fit the samples gained on the nominal rate: small numbers keep float64 exact
        x = t - self._t0
        y = (n_at_t - self._c0) - self.nominal * x
        self.gained = y / self.nominal  # seconds the device ran ahead of the clock
        self._span = x
        self._n += 1
        self._st += x
        self._sc += y
        self._stt += x * x
        self._stc += x * y
        self._scc += y * y
        return lost

    def measured_rate(self) -> float | None:
        if self._n < 3:
            return None
        den = self._n * self._stt - self._st * self._st
        if den <= 0:
            return None
        return self.nominal + (self._n * self._stc - self._st * self._sc) / den

    def ppm(self) -> float:
        """Measured rate error of the device against the clock, parts per million."""
        rate = self.measured_rate()
        return 0.0 if rate is None else (rate / self.nominal - 1.0) * 1e6

    def ppm_error(self) -> float:
        """Standard error of ``ppm()`` (the fit's scatter: capture-time jitter)."""
        if self._n < 4:
            return float("inf")
        sxx = self._stt - self._st * self._st / self._n
        sxy = self._stc - self._st * self._sc / self._n
        syy = self._scc - self._sc * self._sc / self._n
        if sxx <= 0:
            return float("inf")
        scatter = max(syy - sxy * sxy / sxx, 0.0) / (self._n - 2)
        return (scatter / sxx) ** 0.5 / self.nominal * 1e6

    def correction_ppm(self) -> float:
        """The rate error acted on: none until it stands clear of the fit's noise."""
        if self._n < 3 or self._span < self.settle:
            return 0.0
        ppm, error = self.ppm(), self.ppm_error()
        # the samples of a stream are not independent (jitter is correlated), so demand a margin
        if abs(ppm) < 10 * error:
            return 0.0
        # crystals are within ~100 ppm: more is a stall or a burst, not a clock
        return ppm if abs(ppm) <= self.max_ppm else 0.0

    def owed(self) -> int:
        """Samples to insert (+) or drop (-) so far, for the rate measured now."""
        ppm = self.correction_ppm()
        return int(round(-self.produced * ppm * 1e-6)) - self.applied

    def correct(self, block: np.ndarray) -> np.ndarray:
        self.produced += len(block)
        owed = self.owed()
        if owed == 0 or len(block) < 32:
            return block
        step = max(-self.max_correction, min(self.max_correction, owed))
        # the quietest point of the block hides the edit best
        env = np.convolve(np.abs(block), np.ones(16, np.float32), mode="same")
        at = int(env[8:-8].argmin()) + 8
        if step > 0:
            block = np.concatenate([block[:at], np.repeat(block[at:at + 1], step), block[at:]])
        else:
            block = np.concatenate([block[:at], block[at - step:]])
        self.applied += step
        return block


@dataclass
class EchoOptions:
    """Echo of the customer in the agent's microphone.

    Attributes:
        window_seconds: agent audio compared per check.
        max_lag_seconds: longest speaker → microphone delay searched.
        threshold: normalised cross-correlation above which a window is an echo.
        min_level: RMS below which a window is silence and not checked.
        hold: consecutive echo windows before the flag rises (and clean ones before it falls).
    """

    window_seconds: float = 0.5
    max_lag_seconds: float = 0.3
    threshold: float = 0.35
    min_level: float = 0.003
    hold: int = 2


class EchoDetector:
    """Flags the customer's voice in the agent's channel (``echo``, ``lag_ms``, ``score``)."""

    def __init__(self, options: EchoOptions | None = None):
        self.options = options or EchoOptions()
        self.win = int(self.options.window_seconds * SAMPLE_RATE)
        self.lag = int(self.options.max_lag_seconds * SAMPLE_RATE)
        self.history = np.zeros(self.win + self.lag, np.float32)  # customer audio
        self.agent = np.zeros(0, np.float32)
        self.cust_pending = np.zeros(0, np.float32)
        self.echo = False
        self.score = 0.0
        self.lag_ms = 0.0
        self._streak = 0

    def feed(self, agent: np.ndarray, customer: np.ndarray) -> bool | None:
        """Feed aligned audio; returns the new ``echo`` value when it changes, else None."""
        self.agent = np.concatenate([self.agent, agent])
        self.cust_pending = np.concatenate([self.cust_pending, customer])
        changed = None
        while len(self.agent) >= self.win:
            a, self.agent = self.agent[:self.win], self.agent[self.win:]
            c, self.cust_pending = self.cust_pending[:self.win], self.cust_pending[self.win:]
            self.history = np.concatenate([self.history, c])[-(self.win + self.lag):]
            result = self._check(a)
            changed = result if result is not None else changed
        return changed

    def _check(self, a: np.ndarray) -> bool | None:
        opts = self.options
        c = self.history
        if _rms(a) < opts.min_level or _rms(c) < opts.min_level:
            hit = False
            self.score = 0.0
        else:
            self.score, lag = _best_ncc(a, c, self.lag)
            self.lag_ms = 1000.0 * lag / SAMPLE_RATE
            hit = self.score >= opts.threshold
        if hit != self.echo:
            self._streak += 1
            if self._streak >= opts.hold:
                self.echo, self._streak = hit, 0
                return hit
        else:
            self._streak = 0
        return None


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0


def _best_ncc(a: np.ndarray, history: np.ndarray, max_lag: int) -> tuple[float, int]:
    """Peak normalised cross-correlation of ``a`` (the newest audio) against ``history``.

    ``history`` ends where ``a`` ends; lag L compares ``a`` with the history window
    ending L samples earlier (the customer spoke, the microphone heard it L later).
    """
    n = len(a)
    a = (a - a.mean()).astype(np.float64)
    h = history.astype(np.float64)
    size = 1 << int(np.ceil(np.log2(len(h) + n)))
    corr = np.fft.irfft(np.fft.rfft(h, size) * np.conj(np.fft.rfft(a, size)), size)
    # corr[k] = sum a[i] * h[i + k]; a window ending L earlier starts at len(h) - n - L
    starts = len(h) - n - np.arange(max_lag + 1)
    valid = starts >= 0
    starts = starts[valid]
    cs = np.concatenate([[0.0], np.cumsum(h * h)])
    energy = cs[starts + n] - cs[starts]
    denom = np.sqrt(np.maximum(energy, 1e-12) * float(a @ a))
    ncc = np.abs(corr[starts]) / np.maximum(denom, 1e-12)
    best = int(ncc.argmax())
    return float(ncc[best]), best


@dataclass
class SideStatus:
    """One side of the capture, as the UI shows it.

    Attributes:
        speaker: agent or customer.
        device: what the user asked for.
        state: ``starting``, ``open``, ``gone`` (silence is fed) or ``closed`` (stopped).
        drift_ppm: the device clock against the monotonic clock.
        corrected_ms: samples inserted (+) or dropped (-) so far, in ms.
        level: peak of the last block (0-1).
        error: why the device was lost, when ``gone``.
    """

    speaker: str
    device: str
    state: str = "starting"
    drift_ppm: float = 0.0
    corrected_ms: float = 0.0
    level: float = 0.0
    error: str = ""


@dataclass
class CaptureStatus:
    """Both sides and the echo flag; ``message`` is one line for the screen."""

    sides: dict[str, SideStatus]
    echo: bool = False
    echo_score: float = 0.0
    echo_lag_ms: float = 0.0

    @property
    def message(self) -> str:
        parts = []
        for side in self.sides.values():
            if side.state == "gone":
                parts.append(f"{side.speaker} device '{side.device}' is gone ({side.error}); "
                             "feeding silence, will resume when it returns")
        if self.echo:
            parts.append(f"echo: the customer is heard in the agent's microphone "
                         f"({self.echo_lag_ms:.0f} ms); use a headset")
        return "; ".join(parts) or "capturing"


class _Stream(Protocol):
    """What a side uses of an open input stream (a sounddevice ``InputStream``, or a fake)."""

    def abort(self) -> None: ...

    def close(self) -> None: ...


class _Side:
    """One device: its stream, its resampler, its drift corrector, its silence fill."""

    def __init__(self, speaker: str, spec: str | int, blocksize_seconds: float,
                 opener: Callable[[DeviceSpec, Callable], _Stream] | None = None,
                 stall_seconds: float = 1.0):
        self.speaker = speaker
        self.stall_seconds = stall_seconds
        self.spec_text = str(spec)
        self.spec = resolve(spec)
        self.block_seconds = blocksize_seconds
        self.opener = opener or _open_stream
        self.status = SideStatus(speaker, self.spec_text)
        self.blocks: queue.Queue[tuple[float, float, bool, np.ndarray]] = queue.Queue()
        self.stream: _Stream | None = None
        self.pending = np.zeros(0, np.float32)
        self.out = 0  # 16 kHz samples handed to the chunker (real + silence)
        self.last_block = 0.0
        self.delivered = False
        self.resampler: _Resampler | None = None
        self.drift: DriftCorrector | None = None

    def open(self) -> None:
        spec = self.spec

        def callback(indata, _frames, stamp, status):
            # PortAudio's capture time of the first sample: less jitter than the arrival
            adc = float(getattr(stamp, "inputBufferAdcTime", 0.0) or 0.0)
            overflow = bool(getattr(status, "input_overflow", False))
            self.blocks.put((time.monotonic(), adc, overflow, indata.copy()))

        self.stream = self.opener(spec, callback)
        self.resampler = _Resampler(spec.samplerate, 1)
        self.drift = DriftCorrector(spec.samplerate)
        self.last_block = time.monotonic()
        self.delivered = False
        self.status.state = "open"
        self.status.error = ""

    def close(self, reason: str, state: str = "gone") -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:  # a vanished device may refuse even to close
                pass
        while not self.blocks.empty():
            self.blocks.get_nowait()
        self.status.state = state
        self.status.error = reason

    def health(self, now: float, pulse_names: list[str] | None) -> str | None:
        """Why this open side should be treated as gone, or None."""
        if self.stream is not None and not getattr(self.stream, "active", True):
            return "stream stopped"
        # a stream may take a few seconds to deliver its first block on a loaded machine
        if now - self.last_block > (self.stall_seconds if self.delivered else 5.0):
            return f"no audio for {self.stall_seconds:g} s" if self.delivered else "no audio after opening"
        if self.spec.pulse_source and pulse_names is not None and self.spec.pulse_source not in pulse_names:
            return "source removed"
        return None

    def pump(self) -> None:
        """Move arrived blocks through resampling and drift correction into ``pending``."""
        while True:
            try:
                t, adc, overflow, block = self.blocks.get_nowait()
            except queue.Empty:
                return
            # blocks come from the callback open() installs, after it made both of these
            assert self.drift is not None and self.resampler is not None
            self.last_block = t
            self.delivered = True
            mono = block.mean(axis=1, keepdims=True) if block.shape[1] > 1 else block
            self.status.level = float(np.abs(mono).max()) if len(mono) else 0.0
            lost = self.drift.arrived(t, adc, len(mono), overflow)
            if lost:
                mono = np.concatenate([np.zeros((lost, 1), np.float32), mono])
            audio = self.resampler(mono)[0]
            audio = self.drift.correct(audio)
            self.pending = np.concatenate([self.pending, audio])
            self.status.drift_ppm = self.drift.ppm()
            self.status.corrected_ms = 1000.0 * self.drift.applied / SAMPLE_RATE

    def fill_silence(self, upto: int) -> None:
        """While gone, keep this speaker on the clock with silence."""
        missing = upto - (self.out + len(self.pending))
        if missing > 0:
            self.pending = np.concatenate([self.pending, np.zeros(missing, np.float32)])
            self.status.level = 0.0


def _open_stream(spec: DeviceSpec, callback: Callable):
    sd = _sounddevice()
    kwargs = dict(device=spec.device, channels=spec.channels, samplerate=spec.samplerate,
                  dtype="float32", blocksize=int(spec.samplerate * 0.05), callback=callback)
    with _ENV_LOCK:
        saved = os.environ.get("PULSE_SOURCE")
        try:
            if spec.pulse_source:
                # libpulse reads PULSE_SOURCE when ALSA's pulse plugin opens its context
                os.environ["PULSE_SOURCE"] = spec.pulse_source
            stream = sd.InputStream(**kwargs)
            stream.start()
        except Exception as exc:
            raise AssistError(f"cannot open audio device '{spec.label}': {exc}") from None
        finally:
            if spec.pulse_source:
                if saved is None:
                    os.environ.pop("PULSE_SOURCE", None)
                else:
                    os.environ["PULSE_SOURCE"] = saved
    return stream


@dataclass
class DualSource:
    """The agent's microphone and the customer's loopback as one live source.

    Attributes:
        agent_device: index, name, ``pulse:SOURCE`` or Pulse source name of the agent's input.
        customer_device: the same for the customer's side (a monitor / loopback).
        chunk_seconds: size of each delivered frame.
        poll_seconds: how often a lost device is looked for.
        stall_seconds: a device silent (no blocks at all) this long counts as gone.
        echo: options of the echo detector (None switches it off).
        on_status: called (on the capture thread) with a ``CaptureStatus`` whenever
            a device is lost or back, or the echo flag changes.
        opener: opens a stream for a ``DeviceSpec`` and a callback (tests inject fakes).
    """

    agent_device: str | int
    customer_device: str | int
    chunk_seconds: float = 0.1
    poll_seconds: float = 1.0
    stall_seconds: float = 1.0
    echo: EchoOptions | None = field(default_factory=EchoOptions)
    on_status: Callable[[CaptureStatus], None] | None = None
    opener: Callable | None = None
    realtime: bool = True
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        self.speakers = [AGENT, CUSTOMER]
        self.sides = {
            AGENT: _Side(AGENT, self.agent_device, self.chunk_seconds, self.opener, self.stall_seconds),
            CUSTOMER: _Side(CUSTOMER, self.customer_device, self.chunk_seconds, self.opener,
                            self.stall_seconds),
        }
        self.detector = EchoDetector(self.echo) if self.echo is not None else None
        self.status = CaptureStatus({s: side.status for s, side in self.sides.items()})

    def describe(self) -> str:
        return " + ".join(f"{s}: {side.spec.label} ({side.spec.samplerate} Hz)"
                          for s, side in self.sides.items())

    def stop(self) -> None:
        self._stop.set()

    def reopen(self) -> DualSource:
        """The same devices, ready for the next call."""
        return dataclasses.replace(self, _stop=threading.Event())

    def _report(self, why: str) -> None:
        log.warning("capture: %s", why)
        if self.on_status is not None:
            self.on_status(self.status)

    def frames_iter(self) -> Iterator[Frame]:
        for side in self.sides.values():
            try:
                side.open()
            except AssistError as exc:
                # at the start a missing device is the user's mistake, not an unplug
                for other in self.sides.values():
                    other.close("stopped", state="closed")
                raise exc
        chunk = int(self.chunk_seconds * SAMPLE_RATE)
        start = time.monotonic()
        emitted = 0
        next_poll = start + self.poll_seconds
        try:
            while not self._stop.is_set():
                time.sleep(self.chunk_seconds / 2)
                now = time.monotonic()
                poll = now >= next_poll
                if poll:
                    next_poll = now + self.poll_seconds
                self._check_sides(now, poll)
                clock = int((now - start) * SAMPLE_RATE)
                for side in self.sides.values():
                    if side.stream is not None:
                        side.pump()
                    if side.stream is None or not side.delivered:
                        # silence until a (re)opened device delivers: its first block
                        # then lands where the clock says it was captured
                        side.fill_silence(clock)
                while all(len(side.pending) >= chunk for side in self.sides.values()):
                    audio = {}
                    for s, side in self.sides.items():
                        audio[s], side.pending = side.pending[:chunk], side.pending[chunk:]
                        side.out += chunk
                    self._detect_echo(audio)
                    yield Frame(emitted / SAMPLE_RATE, audio)
                    emitted += chunk
        finally:
            for side in self.sides.values():
                if side.stream is not None:
                    side.close("stopped", state="closed")

    __iter__ = frames_iter

    def _check_sides(self, now: float, poll: bool) -> None:
        needs_pulse = poll and any(s.spec.pulse_source for s in self.sides.values())
        names = pulse_sources() if needs_pulse else None
        for side in self.sides.values():
            if side.stream is not None:
                why = side.health(now, names)
                if why:
                    side.pump()  # keep what arrived before it went
                    side.close(why)
                    self._report(f"{side.speaker} device '{side.spec_text}' gone: {why}")
            elif poll and (side.spec.pulse_source is None or names is None
                           or side.spec.pulse_source in names):
                try:
                    side.open()
                except AssistError as exc:
                    side.status.error = str(exc)
                    continue
                # its silence already reaches the clock: new audio joins right after it
                self._report(f"{side.speaker} device '{side.spec_text}' is back")

    def _detect_echo(self, audio: dict[str, np.ndarray]) -> None:
        if self.detector is None:
            return
        changed = self.detector.feed(audio[AGENT], audio[CUSTOMER])
        self.status.echo_score = self.detector.score
        self.status.echo_lag_ms = self.detector.lag_ms
        if changed is not None:
            self.status.echo = changed
            self._report("echo of the customer in the agent's microphone "
                         f"(score {self.detector.score:.2f}, {self.detector.lag_ms:.0f} ms)"
                         if changed else "echo gone")
