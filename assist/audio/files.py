"""Recorded calls replayed from files (wav, flac, ogg, mp3; any rate)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AssistError
from .frames import SAMPLE_RATE, _Chunker, _Resampler, parse_channels

if TYPE_CHECKING:
    from .frames import Frame


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
            stream = next(iter(container.streams.audio))  # the streams whose type is "audio"
            rate, channels = stream.rate, stream.channels
            base = stream.time_base
            frames = int(stream.duration * base * rate) if stream.duration and base else 0
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
            stream = next(iter(container.streams.audio))  # the streams whose type is "audio"
            prev = None
            for frame in container.decode(stream):
                data: np.ndarray = frame.to_ndarray()  # int or float samples, by the codec
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
