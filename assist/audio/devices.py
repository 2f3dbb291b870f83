"""Live capture from an input device (sounddevice)."""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AssistError
from .frames import SAMPLE_RATE, _Chunker, _Resampler, parse_channels

if TYPE_CHECKING:
    from .frames import Frame
import shutil
import subprocess

from .frames import Frame

PULSE_PREFIX = "pulse:"


def pulse_sources() -> list[str]:
    """Names of PulseAudio/PipeWire sources (monitors included); [] without a server."""
    if not shutil.which("pactl"):
        return []
    try:
        out = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True,
                             text=True, timeout=3, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    return [line.split("\t")[1] for line in out.splitlines() if line.count("\t") >= 1]


def list_inputs() -> list[DeviceInfo]:
    """PortAudio inputs plus PulseAudio/PipeWire sources (index -1, name ``pulse:SOURCE``);
    no PortAudio is an ``AssistError`` that says so, not an empty list."""
    found = list_devices()
    pulse_index = next((d.index for d in found if d.name == "pulse"), None)
    if pulse_index is not None:
        found += [DeviceInfo(-1, PULSE_PREFIX + name, 2, 48000.0, "PulseAudio", False)
                  for name in pulse_sources()]
    return found


@dataclass(frozen=True)
class DeviceSpec:
    """How to open one side: a PortAudio device, optionally pinned to a Pulse source."""

    label: str
    device: int | str
    channels: int
    samplerate: int
    pulse_source: str | None = None


def resolve(spec: str | int) -> DeviceSpec:
    """``pulse:NAME`` or a Pulse source name → ALSA ``pulse`` + PULSE_SOURCE; else PortAudio."""
    text = str(spec).strip()
    name = text[len(PULSE_PREFIX):] if text.startswith(PULSE_PREFIX) else None
    if name is None and not text.isdigit() and text in pulse_sources():
        name = text
    if name is not None:
        return DeviceSpec(text, "pulse", 1, 48000, name)
    info = find_device(text)
    return DeviceSpec(info.name, info.name, min(info.channels, 2), int(info.samplerate))


def _sounddevice():
    try:
        import sounddevice
    except OSError:
        raise AssistError(
            "PortAudio is not installed, so live capture is unavailable "
            "(Debian/Ubuntu: apt-get install libportaudio2); replaying files still works"
        ) from None
    return sounddevice


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    channels: int
    samplerate: float
    hostapi: str
    is_default: bool

    @property
    def looks_like_loopback(self) -> bool:
        lowered = self.name.lower()
        return any(w in lowered for w in ("monitor", "loopback", "blackhole", "stereo mix"))


def list_devices() -> list[DeviceInfo]:
    """Input devices PortAudio can open."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except Exception as exc:
        raise AssistError(f"cannot list audio devices: {exc}") from None
    return [
        DeviceInfo(i, d["name"], d["max_input_channels"], d["default_samplerate"],
                   hostapis[d["hostapi"]]["name"], i == default_in)
        for i, d in enumerate(devices)
        if d["max_input_channels"] > 0
    ]


def find_device(spec: str | int | None) -> DeviceInfo:
    """A device by index or by (part of) its name; None is the default input."""
    devices = list_devices()
    if not devices:
        raise AssistError("no audio input device found")
    if spec is None or spec == "":
        return next((d for d in devices if d.is_default), devices[0])
    text = str(spec).strip()
    if text.isdigit():
        match = [d for d in devices if d.index == int(text)]
    else:
        match = [d for d in devices if text.lower() in d.name.lower()]
    if not match:
        names = ", ".join(f"{d.index}: {d.name}" for d in devices)
        raise AssistError(f"unknown audio input device '{spec}' (inputs: {names})")
    return match[0]


@dataclass
class MicSource:
    """Live capture from one input device; channel 0 → agent, 1 → customer by default.

    Attributes:
        device: index or name of the input device; None for the default.
        channels: channel-to-speaker map, see ``parse_channels``.
        chunk_seconds: size of each delivered chunk.
    """

    device: str | int | None = None
    channels: str | None = None
    chunk_seconds: float = 0.1
    realtime: bool = True
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        self.info = find_device(self.device)
        self.n_channels = min(self.info.channels, 2) if not self.channels else self.info.channels
        self.mapping = parse_channels(self.channels, self.n_channels)
        self.speakers = [s for s in self.mapping if s]
        self.rate = int(self.info.samplerate)

    def describe(self) -> str:
        return f"{self.info.name} ({self.n_channels} ch, {self.rate} Hz)"

    def stop(self) -> None:
        self._stop.set()

    def reopen(self) -> MicSource:
        """The same device, ready for the next call."""
        return dataclasses.replace(self, _stop=threading.Event())

    def frames_iter(self) -> Iterator[Frame]:
        sd = _sounddevice()
        blocks: queue.Queue[np.ndarray] = queue.Queue()
        chunker = _Chunker(self.mapping, int(self.chunk_seconds * SAMPLE_RATE))
        resample = _Resampler(self.rate, self.n_channels)

        def callback(indata, _frames, _time, _status):
            blocks.put(indata.copy())

        try:
            stream = sd.InputStream(
                device=self.info.index, channels=self.n_channels, samplerate=self.rate,
                dtype="float32", blocksize=int(self.rate * self.chunk_seconds), callback=callback,
            )
        except Exception as exc:
            raise AssistError(f"cannot open audio device '{self.info.name}': {exc}") from None
        with stream:
            while not self._stop.is_set():
                try:
                    block = blocks.get(timeout=0.5)
                except queue.Empty:
                    if not stream.active:
                        raise AssistError(f"audio device '{self.info.name}' stopped delivering audio") from None
                    continue
                yield from chunker.push(resample(block))

    __iter__ = frames_iter
