"""Redaction on the labelled sets: per-type recall, secrets left, look-alikes wrongly redacted.

    python bench/redaction.py [--json-only]

Three sets, all in tests/data: ``redaction.tsv`` (written lines), ``redaction_speech.tsv``
(336 lines, English and Chinese, as a recogniser writes speech: digit words, mixtures,
fillers, sound-alikes, 中文数字 and full-width digits) and ``redaction_calls.jsonl`` (43
read-outs over several turns).  Recall of a type counts the placeholders the labelled
output expects (``[CARD]`` ...) that the redactor produced; "secret left" counts the
lines where a digit of a card, security code, expiry, account or sort code survived; a
look-alike (amount, date, time, order number, quantity, year) is wrongly redacted when
its text changed at all.  Each set is run twice in the same run: with the call's
context (the shipped ``Redactor``) and, as the baseline, each utterance alone.  Prints
a table, then one JSON line with the figures and ``os.cpu_count()``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

from assist.redact import KINDS, RedactionOptions, redact_call, redact_text

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
LABEL = re.compile(r"\[(CARD|CVV|EXPIRY|ACCOUNT|SORTCODE|PHONE|EMAIL)\]")
SECRET = re.compile(r"\[(CARD|CVV|EXPIRY|ACCOUNT|SORTCODE)\]")
LOOKALIKES = {"lookalike", "amount", "date", "time", "order", "quantity", "year"}
DIGIT = re.compile(r"[0-9零〇一二三四五六七八九幺两０-９]|\b(?:zero|oh|one|two|three|four|five|six|"
                   r"seven|eight|nine)\b", re.I)
ALONE = RedactionOptions(turns=0, memory=0)


def load_tsv(path: Path) -> list[dict]:
    lines = [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def as_calls(rows: list[dict]) -> list[dict]:
    """A labelled line is a call of one or two turns: what was said before, then it."""
    calls = []
    for row in rows:
        turns = ([row["context"]] if row["context"] else []) + [row["text"]]
        expected = ([None] if row["context"] else []) + [row["expected"]]
        calls.append({"category": row["category"], "utterances": turns, "expected": expected})
    return calls


def load_calls(path: Path) -> list[dict]:
    calls = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            call = json.loads(line)
            call["utterances"] = [u["text"] for u in call["utterances"]]
            calls.append(call)
    return calls


def evaluate(calls: list[dict], options: RedactionOptions | None) -> dict:
    expected: Counter[str] = Counter()
    found: Counter[str] = Counter()
    lines = exact = secrets_left = lookalikes = 0
    wrongly, left = [], []
    began = time.perf_counter()
    for call in calls:
        if options is None:
            outs = [r.text for r in redact_call(call["utterances"])]
        else:
            outs = [redact_text(t, options) for t in call["utterances"]]
        for text, out, want in zip(call["utterances"], outs, call["expected"], strict=True):
            if want is None:  # context only
                continue
            lines += 1
            exact += out == want
            got = Counter(LABEL.findall(out))
            for kind, count in Counter(LABEL.findall(want)).items():
                expected[kind] += count
                found[kind] += min(count, got[kind])
            if SECRET.search(want) and len(DIGIT.findall(out)) > len(DIGIT.findall(want)):
                secrets_left += 1
                left.append({"text": text, "output": out})
            if call["category"] in LOOKALIKES or call["category"] == "control":
                lookalikes += want == text
                if want == text and out != text:
                    wrongly.append({"text": text, "output": out})
    elapsed = time.perf_counter() - began
    kinds = [k.upper() for k in KINDS]
    return {"lines": lines, "exact": round(exact / max(1, lines), 3),
            "recall": {k: round(found[k] / expected[k], 3) for k in kinds if expected[k]},
            "expected": {k: expected[k] for k in kinds if expected[k]},
            "secret_lines_left": secrets_left, "left": left,
            "lookalikes": lookalikes, "lookalikes_wrongly_redacted": wrongly,
            "ms_per_line": round(1000 * elapsed / max(1, lines), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the three sets")
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()
    sets = {"written": as_calls(load_tsv(args.data / "redaction.tsv")),
            "speech": as_calls(load_tsv(args.data / "redaction_speech.tsv")),
            "calls": load_calls(args.data / "redaction_calls.jsonl")}
    result: dict = {"cpu_count": os.cpu_count(), "sets": {}}
    for name, calls in sets.items():
        result["sets"][name] = {"with context": evaluate(calls, None),
                                "alone (baseline)": evaluate(calls, ALONE)}
    if not args.json_only:
        kinds = [k.upper() for k in KINDS]
        print(f"{'set':<8} {'mode':<17} {'lines':>5} " + " ".join(f"{k:>8}" for k in kinds)
              + f" {'secrets':>7} {'wrong':>7} {'exact':>6} {'ms':>6}")
        for name, modes in result["sets"].items():
            for mode, r in modes.items():
                recalls = " ".join(f"{r['recall'][k]:>8.3f}" if k in r["recall"] else f"{'-':>8}"
                                   for k in kinds)
                print(f"{name:<8} {mode:<17} {r['lines']:>5} {recalls} {r['secret_lines_left']:>7} "
                      f"{len(r['lookalikes_wrongly_redacted']):>3}/{r['lookalikes']:<3} "
                      f"{r['exact']:>6.3f} {r['ms_per_line']:>6.2f}")
        print("\nsecrets = lines where a digit of a card, code, expiry, account or sort code "
              "survived; wrong = look-alikes changed / look-alikes")
        for name, modes in result["sets"].items():
            for item in modes["with context"]["left"]:
                print(f"  {name}: left {item['text']!r} -> {item['output']!r}")
            for item in modes["with context"]["lookalikes_wrongly_redacted"]:
                print(f"  {name}: wrongly {item['text']!r} -> {item['output']!r}")
        print(f"\n{result['cpu_count']} CPUs")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
