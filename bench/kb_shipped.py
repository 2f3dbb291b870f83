"""The shipped KB, untuned and tuned, on held-out paraphrases: what `assist kb tune` changes for
the live advisor.

    PYTHONPATH=. python bench/kb_shipped.py [--json out.json]

tests/data/kb_shipped_heldout.tsv holds 30 customer-style questions written
for the shipped ``kb/`` (none is an article's question) and 8 off-topic ones.
The KB is tuned with ``assist kb tune`` in a temporary cache folder (the
user's own tuned model, if any, is not touched), then both are asked every
question: top-1, how many get a suggestion (confidence >= threshold), how many
of those are right, and how many off-topic questions get one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from click.testing import CliRunner  # noqa: E402

from assist.cli.kb import kb as kb_cli  # noqa: E402
from assist.kb import KnowledgeBase  # noqa: E402
from assist.resources import shipped  # noqa: E402

HELDOUT = REPO / "tests" / "data" / "kb_shipped_heldout.tsv"


def _questions() -> tuple[list[tuple[str, str]], list[str]]:
    rows = [line.split("\t", 1) for line in HELDOUT.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    return [(a, q) for a, q in rows if a != "-"], [q for a, q in rows if a == "-"]


def _measure(kb: KnowledgeBase, asked: list[tuple[str, str]], off: list[str]) -> dict:
    res = [r[0] for r in kb.search_many([q for _, q in asked], top=1)]
    shown = [r.score >= kb.threshold for r in res]
    right = [r.article == a for (a, _), r in zip(asked, res, strict=True)]
    return {
        "questions": len(asked),
        "top1": sum(right),
        "shown": sum(shown),
        "shown_right": sum(s and r for s, r in zip(shown, right, strict=True)),
        "off_topic": len(off),
        "off_topic_shown": sum(r[0].score >= kb.threshold for r in kb.search_many(off, top=1)),
        "misses": [{"want": a, "got": r.article, "score": round(r.score, 3), "text": q}
                   for (a, q), r, s, ok in zip(asked, res, shown, right, strict=True) if not (s and ok)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    asked, off = _questions()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ASSIST_CACHE_DIR"] = tmp
        out = {"cpu_count": os.cpu_count(), "untuned": _measure(KnowledgeBase.open(), asked, off)}
        t0 = time.perf_counter()
        result = CliRunner().invoke(kb_cli, ["tune", "--kb", str(shipped("kb"))])
        if result.exit_code != 0:
            sys.exit(f"kb tune failed: {result.output}")
        out["tune_s"] = time.perf_counter() - t0
        tuned = KnowledgeBase.open()
        assert tuned.tuned is not None
        out["tuned"] = _measure(tuned, asked, off)
    out["load_avg_1m"] = os.getloadavg()[0]
    print(f"shipped KB, {len(asked)} held-out questions, {len(off)} off-topic "
          f"({os.cpu_count()} CPUs; tune {out['tune_s']:.0f} s)")
    print(f"{'':<9} {'top-1':>6} {'shown':>6} {'shown right':>12} {'off-topic shown':>16}")
    for name in ("untuned", "tuned"):
        m = out[name]
        print(f"{name:<9} {m['top1']:>6} {m['shown']:>6} {m['shown_right']:>12} {m['off_topic_shown']:>16}")
    for name in ("untuned", "tuned"):
        print(f"\n{name}: not shown or wrong")
        for miss in out[name]["misses"]:
            print(f"  {miss['want']:<28} -> {miss['got']:<28} {miss['score']:.2f}  {miss['text']}")
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
