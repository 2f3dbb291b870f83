"""Real human speech for the benchmarks and tests: clips, phone-line versions, calls.

Nothing here is synthetic speech.  Three sources:
- the Free Spoken Digit Dataset (``../shared/data/real-speech/fsdd-digits``: six real
  speakers, 8 kHz), joined into numbers read aloud the way customers read them:
  digits a short gap apart, groups a breath apart;
- the telephone prompts of the Debian package ``asterisk-core-sounds-en-wav`` (and
  ``-g722`` for the 16 kHz originals), with their texts in ``core-sounds-en.txt``:
  one professional voice, so never the only thing a choice rests on;
- ``../shared/data/speech-samples``: jfk.flac and the two speakers of
  stereo_diarization.wav.

A phone-line version of any clip: 300-3400 Hz, 8 kHz, G.711 mu-law round trip.
Sessions put clips one after another with the pauses of a call (mostly a few
seconds, sometimes half a minute on hold) over a low noise floor or digital
silence (exact zeros, as VoIP sends); a stereo call puts one real speaker on
each channel, taking turns, the idle channel silent.
"""

from __future__ import annotations

import gzip
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DIGITS = SHARED / "real-speech" / "fsdd-digits"
SAMPLES = SHARED / "speech-samples"
ASTERISK = Path("/usr/share/asterisk/sounds/en")
ASTERISK_TEXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
RATE = 16000  # wide band
PHONE_RATE = 8000
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

# How customers read numbers: (kind, groups)
NUMBERS = [("card", [4, 4, 4, 4]), ("account", [4, 4]), ("sort code", [2, 2, 2]),
           ("phone", [5, 3, 3]), ("pin", [4]), ("code", [3]), ("reference", [3, 3]),
           ("postcode digits", [2, 3])]


@dataclass
class Clip:
    """One real utterance: its reference text and its audio at 16 kHz."""

    name: str
    source: str  # "digits", "prompt" or "sample"
    speaker: str
    text: str
    audio: np.ndarray  # 16 kHz float32, wide band (FSDD: its 8 kHz original, upsampled)

    @property
    def seconds(self) -> float:
        return len(self.audio) / RATE

    def phone(self) -> np.ndarray:
        """The clip through a phone line, back at 16 kHz."""
        return upsample(phone_line(downsample(self.audio)))


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    import soxr

    if rate_in == rate_out:
        return audio.astype(np.float32)
    return soxr.resample(audio.astype(np.float32), rate_in, rate_out, quality="HQ").astype(np.float32)


def downsample(audio: np.ndarray) -> np.ndarray:
    return resample(audio, RATE, PHONE_RATE)


def upsample(audio: np.ndarray) -> np.ndarray:
    return resample(audio, PHONE_RATE, RATE)


def phone_line(audio: np.ndarray, rate: int = PHONE_RATE) -> np.ndarray:
    """300-3400 Hz and a G.711 mu-law round trip (8 kHz in, 8 kHz out)."""
    spectrum = np.fft.rfft(audio)
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    band = np.clip(np.fft.irfft(spectrum, len(audio)), -1, 1)
    mu = 255.0
    coded = np.round(np.sign(band) * np.log1p(mu * np.abs(band)) / np.log1p(mu) * 127) / 127
    return (np.sign(coded) * ((1 + mu) ** np.abs(coded) - 1) / mu).astype(np.float32)


# ---------------------------------------------------------------- numbers read aloud


def digit_speakers() -> list[str]:
    return sorted({p.name.split("_")[1] for p in DIGITS.glob("*.wav")})


def read_out(speaker: str, digits: str, groups: list[int], rng: random.Random,
             rate: int = PHONE_RATE, edge: float = 0.5) -> np.ndarray:
    """The digits said by one real speaker (8 kHz): a short gap between digits, a
    breath between groups, ``edge`` seconds of silence before and after."""
    parts, at = [np.zeros(int(edge * rate), np.float32)], 0
    for size in groups:
        for digit in digits[at:at + size]:
            take = rng.randint(25, 49)
            audio, found = sf.read(DIGITS / f"{digit}_{speaker}_{take}.wav", dtype="float32")
            assert found == PHONE_RATE
            audio = resample(audio, PHONE_RATE, rate)
            parts += [audio / (np.abs(audio).max() or 1.0) * 0.5,
                      np.zeros(int(rng.uniform(0.06, 0.2) * rate), np.float32)]
        at += size
        parts.append(np.zeros(int(rng.uniform(0.35, 0.7) * rate), np.float32))
    parts.append(np.zeros(int(edge * rate), np.float32))
    return np.concatenate(parts)


def spelled(digits: str) -> str:
    return " ".join(DIGIT_WORDS[int(d)] for d in digits)


def digit_clips(rng: random.Random, per_speaker: int = 6) -> list[Clip]:
    """Numbers of 3-16 digits read by each FSDD speaker."""
    clips = []
    for speaker in digit_speakers():
        for i in range(per_speaker):
            kind, groups = NUMBERS[(i + len(clips)) % len(NUMBERS)]
            digits = "".join(rng.choice("0123456789") for _ in range(sum(groups)))
            audio = resample(read_out(speaker, digits, groups, rng, edge=0.05), PHONE_RATE, RATE)
            clips.append(Clip(f"digits:{speaker}:{kind}:{digits}", "digits", speaker, spelled(digits), audio))
    return clips


# ---------------------------------------------------------------- telephone prompts


def prompt_texts() -> dict[str, str]:
    """Prompt name -> text, from the package's transcript file (tones and noises left out)."""
    texts = {}
    with gzip.open(ASTERISK_TEXT, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            name, sep, text = line.partition(":")
            text = text.strip()
            if line.startswith(";") or not sep or not text or "[" in text or "<" in text:
                continue
            texts[name.strip()] = text
    return texts


def prompt_clips(rng: random.Random, limit: int | None = None, max_seconds: float = 14.0) -> list[Clip]:
    """Recorded telephone prompts, wide band (the G.722 originals, 16 kHz)."""
    import av

    clips = []
    names = sorted(prompt_texts().items())
    rng.shuffle(names)
    for name, text in names:
        path = ASTERISK / f"{name}.g722"
        if not path.exists():
            continue
        with av.open(str(path), format="g722") as container:
            stream = container.streams.audio[0]
            audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(stream)])
        audio = audio.astype(np.float32) / 32768.0
        if not 0.3 <= len(audio) / RATE <= max_seconds:
            continue
        clips.append(Clip(f"prompt:{name}", "prompt", "allison", text, audio))
        if limit and len(clips) >= limit:
            break
    return clips


def sample_clips() -> list[Clip]:
    import json

    refs = json.loads((SAMPLES / "REFERENCES.json").read_text())
    jfk, rate = sf.read(SAMPLES / "jfk.flac", dtype="float32", always_2d=True)
    jfk = jfk.mean(axis=1)
    clips = [Clip("sample:jfk", "sample", "jfk", refs["jfk.flac"], resample(jfk, rate, RATE))]
    stereo, rate = sf.read(SAMPLES / "stereo_diarization.wav", dtype="float32", always_2d=True)
    for i, side in enumerate(("left_channel", "right_channel")):
        clips.append(Clip(f"sample:stereo-{side}", "sample", f"stereo-{i}",
                          refs["stereo_diarization.wav"][side], trim(resample(stereo[:, i], rate, RATE))))
    return clips


def trim(audio: np.ndarray, floor: float = 0.01, keep: float = 0.2) -> np.ndarray:
    """Cut leading and trailing near-silence (keeping ``keep`` seconds)."""
    loud = np.flatnonzero(np.abs(audio) > floor)
    if not len(loud):
        return audio
    pad = int(keep * RATE)
    return audio[max(0, loud[0] - pad): loud[-1] + pad]


def available() -> list[str]:
    """What is missing to build the corpus (empty when everything is here)."""
    missing = []
    if not DIGITS.exists():
        missing.append(f"FSDD digits at {DIGITS}")
    if not ASTERISK_TEXT.exists() or not any(ASTERISK.glob("*.g722")):
        missing.append("apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en-g722")
    if not (SAMPLES / "REFERENCES.json").exists():
        missing.append(f"speech samples at {SAMPLES}")
    return missing


# ---------------------------------------------------------------- sessions and calls


@dataclass
class Placed:
    """A clip placed in a session: where its audio starts and ends (seconds)."""

    clip: Clip
    start: float
    end: float
    channel: int = 0


def noise_floor(samples: int, rng: np.random.Generator, level_db: float = -62.0) -> np.ndarray:
    """A low, line-like hiss (about ``level_db`` dBFS RMS)."""
    return (rng.standard_normal(samples) * 10 ** (level_db / 20)).astype(np.float32)


def pause_seconds(rng: random.Random) -> float:
    """A call's pauses: mostly a couple of seconds, sometimes long (a hold, a search)."""
    roll = rng.random()
    if roll < 0.08:
        return rng.uniform(15.0, 40.0)
    if roll < 0.3:
        return rng.uniform(4.0, 10.0)
    return rng.uniform(0.7, 3.5)


def session(clips: list[Clip], minutes: float, rng: random.Random, silence: str = "digital",
            phone: bool = True, channels: int = 1, idle: str = "digital") -> tuple[np.ndarray, list[Placed]]:
    """Clips one after another with a call's pauses, up to ``minutes``.

    ``silence``: "digital" (exact zeros between turns) or "noise" (a noise floor
    under everything).  With ``channels=2`` the clips alternate between the two
    channels (turn taking), the other channel ``idle`` ("digital" or "noise")
    while one speaks.  Returns (samples x channels at 16 kHz, placements).
    """
    nrng = np.random.default_rng(rng.randrange(2**32))
    pieces: list[list[np.ndarray]] = [[] for _ in range(channels)]
    placed, at, i = [], 0.0, 0
    while at < minutes * 60 and clips:
        clip = clips[i % len(clips)]
        i += 1
        gap = pause_seconds(rng) if channels == 1 else rng.uniform(0.3, 2.5)
        channel = (i - 1) % channels
        audio = clip.phone() if phone else clip.audio  # each turn alone: the gaps stay exact zeros
        for c in range(channels):
            pieces[c].append(np.zeros(int(gap * RATE), np.float32))
            pieces[c].append(audio if c == channel else np.zeros(len(audio), np.float32))
        start = at + gap
        placed.append(Placed(clip, start, start + len(audio) / RATE, channel))
        at = start + len(audio) / RATE
    data = np.stack([np.concatenate([*p, np.zeros(RATE, np.float32)]) for p in pieces], axis=1)
    if silence == "noise" or (channels > 1 and idle == "noise"):
        for c in range(channels):
            hiss = noise_floor(len(data), nrng)
            data[:, c] += upsample(phone_line(downsample(hiss)))[: len(data)] if phone else hiss
    return data.astype(np.float32), placed


def write(path: Path, data: np.ndarray, rate: int = RATE) -> Path:
    sf.write(path, data, rate, subtype="PCM_16")
    return path


_NUMBER = re.compile(r"\d")
_PUNCT = re.compile(r"[^\w' ]+")


def normalise(text: str) -> list[str]:
    """Words for WER: lower case, no punctuation, every digit spelled out."""
    text = text.lower().replace("-", " ").replace("&", " and ")
    text = _NUMBER.sub(lambda m: f" {DIGIT_WORDS[int(m.group())]} ", text)
    text = _PUNCT.sub(" ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]
