"""Streaming voice activity detection over 16 kHz audio, for wide-band and telephone lines.

Silero VAD (the ``silero-vad`` package's ONNX model, which takes 8 and 16 kHz)
runs twice on every 32 ms window: on the 16 kHz audio and on the same audio
decimated to 8 kHz; the window's probability is the higher of the two.  Speech
that went through a phone line (300-3400 Hz, mu-law) loses its fundamental, and
Silero then hears many real voices at 0.02-0.4, under any sensible onset (FSDD
speakers through a phone line: 72 % of the windows Silero finds in the same
speech wide band).  WebRTC's VAD, a GMM made for telephony, finds 90 % of them
but also calls hold music speech; so a window WebRTC calls speech counts as
speech (``VOICED``) unless Silero is sure it is no voice at all (under
``_VETO``): 92 % of the windows, hold music still silent.

Its recurrent state is reset where it cannot carry anything useful and where
carrying it was measured to hurt: on digital silence (a window of exact zeros,
as VoIP sends between turns, is not speech and is not fed to the model) and
whenever the transcriber says an utterance ended or a long pause began.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from ..errors import AssistError

log = logging.getLogger(__name__)

VAD_WINDOW = 512  # samples per step at 16 kHz (32 ms)
_CONTEXT = {16000: 64, 8000: 32}
_DIGITAL_SILENCE = 1e-5  # |sample| under this in a whole window: nothing was sent
VOICED = 0.6  # the probability of a window WebRTC hears as speech and Silero does not rule out
_VETO = 0.02  # under this Silero probability a window is no voice (music, tones), whatever WebRTC says
_WEBRTC_MODE = 3  # the strictest: fewest noise windows
_WEBRTC_FRAME = 240  # 30 ms at 8 kHz; a 32 ms window holds one
# A quiet line is brought up to a speaking level before the models hear it: the
# loudest recent window (decaying with a 10 s half-life) is lifted to _TARGET RMS,
# by at most _MAX_GAIN, never turned down.  Through a phone line at -30 dB Silero
# found 70 % of the speech windows it finds at full level.
_TARGET, _MAX_GAIN = 0.08, 20.0
_DECAY = 0.5 ** (VAD_WINDOW / 16000 / 10.0)


def _halfband(taps: int = 63) -> np.ndarray:
    """Low-pass FIR at 3.8 kHz for 16 -> 8 kHz decimation (Hamming-windowed sinc)."""
    n = np.arange(taps) - (taps - 1) / 2
    cutoff = 3800 / 16000
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    return (h / h.sum()).astype(np.float32)


def model_path() -> Path:
    """The Silero VAD ONNX model that takes both sample rates."""
    try:
        from importlib.resources import files

        path = Path(str(files("silero_vad") / "data" / "silero_vad.onnx"))
    except ModuleNotFoundError:
        raise AssistError("the silero-vad package is missing: pip install silero-vad") from None
    if not path.exists():
        raise AssistError(f"the silero-vad package has no model at {path}: reinstall it")
    return path


class _Model:
    """One ONNX session shared by every VAD (it is stateless; the state is passed in)."""

    _session = None
    _lock = threading.Lock()

    @classmethod
    def session(cls):
        with cls._lock:
            if cls._session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.inter_op_num_threads = 1
                options.intra_op_num_threads = 1
                cls._session = ort.InferenceSession(str(model_path()), sess_options=options,
                                                    providers=["CPUExecutionProvider"])
            return cls._session


class _Pass:
    """The model at one sample rate, window by window, with its state and context."""

    def __init__(self, session, rate: int):
        self.session = session
        self.rate = np.array(rate, dtype=np.int64)
        self.context_size = _CONTEXT[rate]
        self.reset()

    def reset(self) -> None:
        self.state = np.zeros((2, 1, 128), dtype=np.float32)
        self.context = np.zeros(self.context_size, dtype=np.float32)

    def __call__(self, window: np.ndarray) -> float:
        x = np.concatenate([self.context, window])[None, :]
        out, self.state = self.session.run(None, {"input": x, "state": self.state, "sr": self.rate})
        self.context = window[-self.context_size:]
        return float(out.reshape(-1)[0])


class StreamingVad:
    """Speech probability per 32 ms window of 16 kHz audio, state kept between calls."""

    def __init__(self) -> None:
        session = _Model.session()
        self.wide = _Pass(session, 16000)
        self.narrow = _Pass(session, 8000)
        import webrtcvad

        self.webrtc = webrtcvad.Vad(_WEBRTC_MODE)
        self.fir = _halfband()
        self.tail = np.zeros(len(self.fir) - 1, dtype=np.float32)
        self.pending = np.zeros(0, dtype=np.float32)
        self.peak = 0.0  # the loudest recent window's RMS

    def gain(self, window: np.ndarray) -> float:
        rms = float(np.sqrt(np.mean(window * window)))
        self.peak = max(rms, self.peak * _DECAY)
        return min(_MAX_GAIN, max(1.0, _TARGET / max(self.peak, 1e-9)))

    def reset(self) -> None:
        """Forget the recurrent state (the next window is judged on its own)."""
        self.wide.reset()
        self.narrow.reset()

    def _webrtc_hears(self, narrow: np.ndarray) -> bool:
        pcm = (np.clip(narrow[-_WEBRTC_FRAME:], -1.0, 1.0) * 32767).astype(np.int16)
        return bool(self.webrtc.is_speech(pcm.tobytes(), 8000))

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        """Speech probability for each complete window the new audio completes."""
        self.pending = np.concatenate([self.pending, np.asarray(audio, dtype=np.float32)])
        n = len(self.pending) // VAD_WINDOW
        probs = np.zeros(n, dtype=np.float32)
        for i in range(n):
            window = self.pending[i * VAD_WINDOW:(i + 1) * VAD_WINDOW]
            filtered = np.convolve(np.concatenate([self.tail, window]), self.fir, mode="valid")
            self.tail = window[-(len(self.fir) - 1):]
            if float(np.abs(window).max()) < _DIGITAL_SILENCE:
                self.reset()  # nothing was sent: no speech, and nothing worth remembering
                continue
            gain = self.gain(window)
            window, narrow = window * gain, (filtered[::2] * gain).astype(np.float32)
            prob = max(self.wide(window), self.narrow(narrow))
            if prob < VOICED and prob >= _VETO and self._webrtc_hears(narrow):
                prob = VOICED
            probs[i] = prob
        self.pending = self.pending[n * VAD_WINDOW:]
        return probs
