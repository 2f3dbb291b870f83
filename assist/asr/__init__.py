"""Streaming transcription: one ``StreamingTranscriber`` per speaker over faster-whisper.

Each transcriber runs the Silero VAD bundled with faster-whisper on its audio as
it arrives.  While someone speaks it asks for *partial* decodes of the speech so
far; text two consecutive decodes agree on is committed (LocalAgreement, as in
whisper_streaming) and the newest decode's remaining words are shown after it
as a tentative tail, so a word is on screen after one decode, not two.  When they stop it asks for one *final* decode with word
timestamps.  Decoding itself is not done here on arrival: the transcribers
hand out ``DecodeJob``s and a scheduler (``DecodeScheduler``) decides which runs
next, so two speakers share one loaded model and neither starves.
"""

from .scheduler import DecodeScheduler
from .streaming import AsrOptions, StreamingTranscriber, agreed_prefix, context_frames, looks_looped

__all__ = [
    "agreed_prefix",
    "AsrOptions",
    "context_frames",
    "DecodeScheduler",
    "looks_looped",
    "StreamingTranscriber",
]
