"""Streaming voice activity detection (Silero VAD) over 16 kHz audio."""

from __future__ import annotations

import threading

import numpy as np

VAD_WINDOW = 512  # samples per Silero VAD step at 16 kHz (32 ms)
VAD_CONTEXT = 64


class StreamingVad:
    """Silero VAD (faster-whisper's ONNX asset) run window by window with its state kept."""

    _session = None
    _session_lock = threading.Lock()

    def __init__(self) -> None:
        self.session = self._shared_session()
        self.h = np.zeros((1, 1, 128), dtype=np.float32)
        self.c = np.zeros((1, 1, 128), dtype=np.float32)
        self.context = np.zeros(VAD_CONTEXT, dtype=np.float32)
        self.pending = np.zeros(0, dtype=np.float32)

    @classmethod
    def _shared_session(cls):
        with cls._session_lock:
            if cls._session is None:
                from faster_whisper.vad import get_vad_model

                cls._session = get_vad_model().session
            return cls._session

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        """Speech probability for each complete 32 ms window the new audio completes."""
        self.pending = np.concatenate([self.pending, audio])
        n = len(self.pending) // VAD_WINDOW
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        windows = self.pending[: n * VAD_WINDOW].reshape(n, VAD_WINDOW)
        self.pending = self.pending[n * VAD_WINDOW :]
        contexts = np.concatenate([self.context[None, :], windows[:-1, -VAD_CONTEXT:]])
        self.context = windows[-1, -VAD_CONTEXT:].copy()
        batch = np.concatenate([contexts, windows], axis=1).astype(np.float32)
        out, self.h, self.c = self.session.run(None, {"input": batch, "h": self.h, "c": self.c})
        return np.asarray(out, dtype=np.float32).reshape(-1)
