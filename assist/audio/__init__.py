"""Audio sources: a file replayed in fixed chunks, or live capture over sounddevice.

Every source yields ``Frame``s: one 16 kHz mono float32 array per speaker, all
of the same length.  Resampling is soxr (a proper band-limited resampler), run
as a stream so an hour-long file never sits in memory twice.  The file path
never imports sounddevice, so replay works on a machine without PortAudio.
"""

from .capture import DriftCorrector, DualSource, EchoDetector
from .devices import DeviceSpec, MicSource, find_device, list_devices, list_inputs
from .files import FileSource
from .frames import SAMPLE_RATE, Frame, parse_channels
from .metered import MeteredSource
from .voice import VoiceFeatures, voice_features

__all__ = [
    "MeteredSource",
    "DeviceSpec",
    "DriftCorrector",
    "DualSource",
    "EchoDetector",
    "FileSource",
    "find_device",
    "Frame",
    "list_devices",
    "list_inputs",
    "MicSource",
    "parse_channels",
    "SAMPLE_RATE",
    "VoiceFeatures",
    "voice_features",
]
