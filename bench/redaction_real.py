"""Redaction of numbers read aloud by real people, through real recognition.

    python bench/redaction_real.py [--speakers all] [--json-only]

Card numbers (16 digits in four breaths), security codes (3 digits) and account numbers
(8 digits in two breaths) are joined from the Free Spoken Digit Dataset
(../shared/data/real-speech/fsdd-digits: six real speakers, 8 kHz), once as recorded
and once through a phone line (300-3400 Hz, G.711 mu-law round trip).  Each read-out
is transcribed by the live pipeline (the packaged tiny.en, fast replay, customer
channel) and redacted as the store does: with the agent's question before it as the
call's context ("Can I take the long number on the card?"), and, as the baseline in the
same run, each utterance alone.  A read-out leaks when a digit of it, in any spelling,
is left in the redacted text; "heard" is how many of its digits recognition wrote at all.
Prints a table, then one JSON line with the figures and ``os.cpu_count()``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from assist.asr import AsrOptions
from assist.audio import FileSource
from assist.call import Pipeline
from assist.models import load_specs, load_whisper
from assist.redact import RedactionOptions, Redactor, luhn

DIGITS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-speech" / "fsdd-digits"
RATE = 8000
QUESTIONS = {
    "card": "Can I take the long number on the card, please?",
    "cvv": "And the three digits on the back of the card?",
    "account": "What's the account number the refund should go to?",
}
GROUPS = {"card": [4, 4, 4, 4], "cvv": [3], "account": [4, 4]}
SPOKEN = re.compile(r"\d|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b", re.I)


def card_number(rng: random.Random) -> str:
    while True:
        digits = "4" + "".join(rng.choice("0123456789") for _ in range(15))
        if luhn(digits):
            return digits


def read_out(speaker: str, digits: str, groups: list[int], rng: random.Random) -> np.ndarray:
    """The digits said by one real speaker, a short gap between digits, a breath between
    groups, half a second of silence before and after."""
    parts, at = [np.zeros(RATE // 2, np.float32)], 0
    for size in groups:
        for digit in digits[at:at + size]:
            take = rng.randint(25, 49)
            audio, rate = sf.read(DIGITS / f"{digit}_{speaker}_{take}.wav", dtype="float32")
            assert rate == RATE
            parts += [audio / (np.abs(audio).max() or 1.0) * 0.5, np.zeros(int(0.12 * RATE), np.float32)]
        at += size
        parts.append(np.zeros(int(0.6 * RATE), np.float32))
    parts.append(np.zeros(RATE // 2, np.float32))
    return np.concatenate(parts)


def phone_line(audio: np.ndarray) -> np.ndarray:
    """300-3400 Hz and a G.711 mu-law round trip."""
    spectrum = np.fft.rfft(audio)
    freqs = np.fft.rfftfreq(len(audio), 1 / RATE)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    band = np.clip(np.fft.irfft(spectrum, len(audio)), -1, 1)
    mu = 255.0
    coded = np.round(np.sign(band) * np.log1p(mu * np.abs(band)) / np.log1p(mu) * 127) / 127
    return (np.sign(coded) * ((1 + mu) ** np.abs(coded) - 1) / mu).astype(np.float32)


def transcribe(model, audio: np.ndarray, folder: Path) -> list[str]:
    path = folder / "read-out.wav"
    sf.write(path, audio, RATE)
    texts: list[str] = []
    source = FileSource(path, channels="customer")
    Pipeline(model, source.speakers, AsrOptions(language="en"), analyzers=[],
             sinks=[lambda e: texts.append(e.text) if e.type == "utterance" else None],
             model_name="tiny.en").run(source)
    return texts


def evaluate(model, speakers: list[str], seed: int = 0) -> dict:
    rng = random.Random(seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for speaker in speakers:
            for kind, groups in GROUPS.items():
                digits = card_number(rng) if kind == "card" else \
                    "".join(rng.choice("0123456789") for _ in range(sum(groups)))
                clean = read_out(speaker, digits, groups, rng)
                for line, audio in (("as recorded", clean), ("phone line", phone_line(clean))):
                    heard = transcribe(model, audio, Path(tmp))
                    with_context = Redactor()
                    with_context(QUESTIONS[kind])
                    kept = [with_context(t).text for t in heard]
                    alone = Redactor(RedactionOptions(turns=0, memory=0))
                    kept_alone = [alone(t).text for t in heard]
                    rows.append({
                        "speaker": speaker, "kind": kind, "line": line, "digits": digits,
                        "heard": heard, "kept": kept,
                        "digits_heard": sum(len(SPOKEN.findall(t)) for t in heard),
                        "leaks": sum(len(SPOKEN.findall(t)) for t in kept) > 0,
                        "leaks_alone": sum(len(SPOKEN.findall(t)) for t in kept_alone) > 0,
                    })
    return summarise(rows)


def summarise(rows: list[dict]) -> dict:
    table = {}
    for line in ("as recorded", "phone line"):
        for kind in GROUPS:
            sel = [r for r in rows if r["line"] == line and r["kind"] == kind]
            want = sum(len(r["digits"]) for r in sel)
            table[f"{line} / {kind}"] = {
                "read_outs": len(sel),
                "digits_heard": round(sum(min(r["digits_heard"], len(r["digits"])) for r in sel)
                                      / max(1, want), 3),
                "leaked_with_context": sum(r["leaks"] for r in sel),
                "leaked_alone": sum(r["leaks_alone"] for r in sel),
            }
    return {"table": table, "rows": rows, "cpu_count": os.cpu_count()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", default="all",
                        help="comma-separated FSDD speakers (default: all six)")
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()
    if not DIGITS.exists():
        print(f"no real speech at {DIGITS}", file=sys.stderr)
        return 1
    speakers = sorted({p.name.split("_")[1] for p in DIGITS.glob("*.wav")}) \
        if args.speakers == "all" else args.speakers.split(",")
    model = load_whisper(load_specs()["asr"], cpu_threads=os.cpu_count())
    began = time.perf_counter()
    result = evaluate(model, speakers)
    result["seconds"] = round(time.perf_counter() - began, 1)
    if not args.json_only:
        print(f"{'condition':<26} {'read-outs':>9} {'digits heard':>12} {'leaked (context)':>17} "
              f"{'leaked (alone)':>15}")
        for name, r in result["table"].items():
            print(f"{name:<26} {r['read_outs']:>9} {r['digits_heard']:>12.3f} "
                  f"{r['leaked_with_context']:>17} {r['leaked_alone']:>15}")
        for r in result["rows"]:
            if r["leaks"]:
                print(f"  leaked: {r['speaker']} {r['kind']} {r['line']}: {r['heard']} -> {r['kept']}")
        print(f"\n{len(speakers)} speakers, {result['seconds']} s, {result['cpu_count']} CPUs")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
