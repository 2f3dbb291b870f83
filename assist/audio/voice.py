"""How a stretch of speech sounds: loudness and pitch, for the customer-frustration score.

Both are compared with the same caller's own start of call, never with a fixed
norm: a loud line or a deep voice is not anger; getting louder and higher is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import SAMPLE_RATE

_FRAME = 640  # 40 ms
_HOP = 320  # 20 ms
_LAGS = (SAMPLE_RATE // 400, SAMPLE_RATE // 70)  # voices between 70 and 400 Hz
_VOICED_DB = -35.0  # frames this far below the loudest one are not voice
_PERIODIC = 0.5  # normalised autocorrelation a voiced frame reaches at its period


@dataclass(frozen=True)
class VoiceFeatures:
    """Loudness (dBFS, RMS over the voiced frames) and median pitch (Hz; None: no voiced frame)."""

    loudness: float
    pitch: float | None


def voice_features(audio: np.ndarray) -> VoiceFeatures | None:
    """Loudness and pitch of one utterance's audio (16 kHz mono float32); None if too short."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) < _FRAME:
        return None
    count = 1 + (len(audio) - _FRAME) // _HOP
    frames = np.lib.stride_tricks.sliding_window_view(audio, _FRAME)[::_HOP][:count]
    energy = (frames.astype(np.float64) ** 2).mean(axis=1)
    db = 10 * np.log10(energy + 1e-12)
    loud = db >= db.max() + _VOICED_DB
    loudness = float(10 * np.log10(energy[loud].mean() + 1e-12))
    frames = frames[loud] - frames[loud].mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(frames, n=2 * _FRAME, axis=1)
    corr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, : _LAGS[1] + 1]
    corr /= corr[:, :1] + 1e-12
    lag = _LAGS[0] + corr[:, _LAGS[0]:].argmax(axis=1)
    periodic = corr[np.arange(len(corr)), lag] >= _PERIODIC
    pitch = float(np.median(SAMPLE_RATE / lag[periodic])) if periodic.any() else None
    return VoiceFeatures(round(loudness, 2), None if pitch is None else round(pitch, 1))
