"""Audio frames: 16 kHz mono float32 per speaker, and the channel map."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import AssistError
from ..events import AGENT, CUSTOMER, SPEAKERS

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
