"""Audio sources: a file replayed in fixed chunks, or live capture over sounddevice.

Every source yields ``Frame``s: one 16 kHz mono float32 array per speaker, all
of the same length.  Resampling is soxr (a proper band-limited resampler), run
as a stream so an hour-long file never sits in memory twice.  The file path
never imports sounddevice, so replay works on a machine without PortAudio.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import AssistError
from .events import AGENT, CUSTOMER, SPEAKERS

SAMPLE_RATE = 16000


@dataclass
class Frame:
    """One chunk of audio per speaker, 16 kHz float32, starting at ``start`` seconds."""

    start: float
    audio: dict[str, np.ndarray]

    @property
    def duration(self) -> float:
        first = next(iter(self.audio.values()))
        return len(first) / SAMPLE_RATE


def parse_channels(spec: str | None, n_channels: int) -> list[str | None]:
    """Map device/file channels to speakers.

    ``None`` gives the default: channel 0 is the agent and channel 1 the
    customer; a mono input is the agent alone.  ``"customer,agent"`` swaps them;
    ``-`` ignores a channel.
    """
    if not spec:
        return [AGENT, CUSTOMER, *([None] * (n_channels - 2))][:n_channels]
    names = [p.strip().lower() for p in spec.split(",")]
    mapping: list[str | None] = []
    for name in names:
        if name in ("-", "none", ""):
            mapping.append(None)
        elif name in SPEAKERS:
            if name in mapping:
                raise AssistError(f"--channels names '{name}' twice: {spec}")
            mapping.append(name)
        else:
            raise AssistError(f"--channels: unknown speaker '{name}' (use agent, customer or -)")
    if len(mapping) > n_channels:
        raise AssistError(f"--channels names {len(mapping)} channels but the input has {n_channels}")
    mapping += [None] * (n_channels - len(mapping))
    if not any(mapping):
        raise AssistError(f"--channels maps no channel to a speaker: {spec}")
    return mapping


class _Resampler:
    """Streaming per-channel resampler to 16 kHz."""

    def __init__(self, rate: int, channels: int):
        import soxr

        self.rate = rate
        self.streams = (
            [soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ") for _ in range(channels)]
            if rate != SAMPLE_RATE
            else None
        )

    def __call__(self, block: np.ndarray, last: bool = False) -> list[np.ndarray]:
        """``block`` is (samples, channels); returns one 16 kHz array per channel."""
        block = np.ascontiguousarray(block, dtype=np.float32)
        if self.streams is None:
            return [block[:, i].copy() for i in range(block.shape[1])]
        return [s.resample_chunk(block[:, i].copy(), last=last) for i, s in enumerate(self.streams)]


class _Chunker:
    """Turns resampled arrays of any length into equal chunks, per speaker."""

    def __init__(self, mapping: list[str | None], chunk_samples: int):
        self.mapping = mapping
        self.speakers = [s for s in mapping if s]
        self.chunk = chunk_samples
        self.pending = {s: np.zeros(0, np.float32) for s in self.speakers}
        self.emitted = 0

    def push(self, per_channel: list[np.ndarray], flush: bool = False) -> Iterator[Frame]:
        for speaker, data in zip(self.mapping, per_channel, strict=False):
            if speaker:
                self.pending[speaker] = np.concatenate([self.pending[speaker], data])
        while True:
            have = min(len(v) for v in self.pending.values())
            if have == 0 or (have < self.chunk and not flush):
                return
            take = min(have, self.chunk)
            frame = {s: v[:take] for s, v in self.pending.items()}
            self.pending = {s: v[take:] for s, v in self.pending.items()}
            yield Frame(self.emitted / SAMPLE_RATE, frame)
            self.emitted += take


@dataclass
class FileSource:
    """Replay an audio file (wav, flac, ogg, mp3, ...; any rate) in fixed chunks.

    Attributes:
        path: the audio file.
        realtime: feed at real-time pace (as a live call would) instead of as fast as possible.
        channels: channel-to-speaker map, see ``parse_channels``.
        chunk_seconds: size of each fed chunk.
        speed: with ``realtime``, how many seconds of audio per wall-clock second
            (benchmarks replay faster than life to prove a machine keeps up).
    """

    path: Path
    realtime: bool = False
    channels: str | None = None
    chunk_seconds: float = 0.1
    speed: float = 1.0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.rate, self.n_channels, self.frames = probe(self.path)
        self.mapping = parse_channels(self.channels, self.n_channels)
        self.speakers = [s for s in self.mapping if s]

    @property
    def duration(self) -> float:
        return self.frames / self.rate

    def describe(self) -> str:
        return f"{self.path.name} ({self.n_channels} ch, {self.rate} Hz, {self.duration:.1f} s)"

    def stop(self) -> None:
        self._stop.set()

    def reopen(self) -> FileSource:
        """The same file, ready to be replayed again (a stopped source stays stopped)."""
        return dataclasses.replace(self, _stop=threading.Event())

    def frames_iter(self) -> Iterator[Frame]:
        chunker = _Chunker(self.mapping, int(self.chunk_seconds * SAMPLE_RATE))
        resample = _Resampler(self.rate, self.n_channels)
        began = time.monotonic()
        for block, last in _read_blocks(self.path, int(self.chunk_seconds * self.rate)):
            for frame in chunker.push(resample(block, last=last), flush=last):
                if self._stop.is_set():
                    return
                if self.realtime:
                    # pace on the end of the chunk: a live source delivers it only then
                    wait = began + (frame.start + frame.duration) / self.speed - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                yield frame

    __iter__ = frames_iter


def probe(path: Path) -> tuple[int, int, int]:
    """(sample rate, channels, frames) of an audio file, or a one-line AssistError."""
    if not path.exists():
        raise AssistError(f"audio file not found: {path}")
    if path.is_dir():
        raise AssistError(f"not an audio file but a folder: {path}")
    if path.stat().st_size == 0:
        raise AssistError(f"audio file is empty: {path}")
    if not _use_soundfile(path):
        rate, channels, frames = _probe_av(path)
    else:
        import soundfile as sf

        try:
            info = sf.info(str(path))
            rate, channels, frames = info.samplerate, info.channels, info.frames
        except Exception:
            rate, channels, frames = _probe_av(path)
    if frames <= 0:
        raise AssistError(f"audio file has no samples: {path}")
    return rate, channels, frames


def _use_soundfile(path: Path) -> bool:
    # libsndfile's mp3 decoder floods stderr on some valid files; FFmpeg (PyAV) does better
    return path.suffix.lower() in {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au"}


def _probe_av(path: Path) -> tuple[int, int, int]:
    try:
        import av

        with av.open(str(path)) as container:
            stream = next(s for s in container.streams if s.type == "audio")
            rate, channels = stream.rate, stream.channels
            frames = int(stream.duration * stream.time_base * rate) if stream.duration else 0
            if frames <= 0:
                frames = sum(f.samples for f in container.decode(stream))
            return rate, channels, frames
    except StopIteration:
        raise AssistError(f"no audio stream in {path}") from None
    except Exception as exc:
        raise AssistError(f"cannot decode audio file {path}: unsupported or corrupt ({type(exc).__name__})") from None


def _read_blocks(path: Path, block: int) -> Iterator[tuple[np.ndarray, bool]]:
    """Blocks of (samples, channels) float32, the last one flagged."""
    import soundfile as sf

    if not _use_soundfile(path):
        yield from _read_blocks_av(path)
        return
    try:
        handle = sf.SoundFile(str(path))
    except Exception:
        yield from _read_blocks_av(path)
        return
    with handle:
        prev = None
        try:
            for data in handle.blocks(blocksize=block, dtype="float32", always_2d=True):
                if prev is not None:
                    yield prev, False
                prev = data
        except Exception as exc:
            raise AssistError(f"cannot decode audio file {path}: corrupt data ({exc})") from None
        if prev is not None:
            yield prev, True


def _read_blocks_av(path: Path) -> Iterator[tuple[np.ndarray, bool]]:
    import av

    try:
        with av.open(str(path)) as container:
            stream = next(s for s in container.streams if s.type == "audio")
            prev = None
            for frame in container.decode(stream):
                data = frame.to_ndarray()
                if data.dtype.kind == "i":
                    data = data.astype(np.float32) / np.iinfo(data.dtype).max
                data = data.astype(np.float32)
                # planar: (channels, n); packed: (1, n * channels)
                data = data.T if frame.format.is_planar else data.reshape(-1, stream.channels)
                if prev is not None:
                    yield prev, False
                prev = data
            if prev is not None:
                yield prev, True
    except Exception as exc:
        raise AssistError(f"cannot decode audio file {path}: {type(exc).__name__}") from None


# ---------------------------------------------------------------- live capture


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
