"""Redaction on the labelled set: per-type recall, exact matches, look-alikes wrongly redacted.

    python bench/redaction.py [--data tests/data/redaction.tsv] [--json-only]

Recall of a type counts the placeholders the labelled output expects (``[CARD]``
...) that the redactor produced in the same utterance; a look-alike (amount,
date, order number, time) is wrongly redacted when its text changed at all.
Prints a table, then one JSON line with the figures and ``os.cpu_count()``.
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

from assist.redact import KINDS, LABELS, redact_text

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "redaction.tsv"
LABEL = re.compile(r"\[(CARD|CVV|ACCOUNT|PHONE|EMAIL)\]")


def load(path: Path) -> list[dict[str, str]]:
    lines = [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def evaluate(rows: list[dict[str, str]]) -> dict:
    expected: Counter[str] = Counter()
    found: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    per_category: Counter[str] = Counter()
    wrongly_redacted, misses = [], []
    began = time.perf_counter()
    for row in rows:
        out = redact_text(row["text"], context=row["context"])
        category = row["category"]
        per_category[category] += 1
        exact[category] += out == row["expected"]
        want = Counter(m.lower() for m in LABEL.findall(row["expected"]))
        got = Counter(m.lower() for m in LABEL.findall(out))
        for kind, count in want.items():
            expected[kind] += count
            found[kind] += min(count, got[kind])
        if category == "lookalike" and out != row["text"]:
            wrongly_redacted.append({"text": row["text"], "output": out})
        elif category != "lookalike" and out != row["expected"]:
            misses.append({"text": row["text"], "output": out, "expected": row["expected"]})
    elapsed = time.perf_counter() - began
    return {
        "utterances": len(rows),
        "recall": {k: round(found[k] / expected[k], 3) for k in KINDS if expected[k]},
        "expected": {k: expected[k] for k in KINDS if expected[k]},
        "exact": {c: round(exact[c] / per_category[c], 3) for c in sorted(per_category)},
        "lookalikes": per_category["lookalike"],
        "lookalikes_wrongly_redacted": wrongly_redacted,
        "misses": misses,
        "ms_per_utterance": round(1000 * elapsed / max(1, len(rows)), 3),
        "cpu_count": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args()
    result = evaluate(load(args.data))
    if not args.json_only:
        print(f"{'type':<9} {'expected':>8} {'recall':>7}")
        for kind, recall in result["recall"].items():
            print(f"{LABELS[kind]:<9} {result['expected'][kind]:>8} {recall:>7.3f}")
        print(f"\n{'category':<10} {'exact':>6}")
        for category, rate in result["exact"].items():
            print(f"{category:<10} {rate:>6.3f}")
        wrong = result["lookalikes_wrongly_redacted"]
        print(f"\nlook-alikes wrongly redacted: {len(wrong)} of {result['lookalikes']}")
        for item in wrong:
            print(f"  {item['text']!r} -> {item['output']!r}")
        for item in result["misses"]:
            print(f"  missed: {item['text']!r} -> {item['output']!r}")
        print(f"{result['ms_per_utterance']} ms per utterance, {result['cpu_count']} CPUs\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
