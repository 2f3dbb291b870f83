"""Banned-phrase detection: precision, recall, F1 and latency on the labelled evaluation sets.

    PYTHONPATH=. python bench/phrases.py [--errors] [--json out.json] [--repeat 1]

One run scores three matcher configurations on tests/data/phrases_eval_{en,zh}.tsv:
exact only, exact + fuzzy, exact + fuzzy + semantic.  Per phrase and overall it
prints precision, recall and F1, and the p50/p95 milliseconds per utterance of
each configuration (timed after a warm-up, on this machine's cores).  A line is
one utterance; a flag for the expected phrase is a true positive, any other flag
a false positive.  The table goes to stdout, then the same figures as one JSON
object (also written to --json if given).

The semantic matcher embeds with the configured runtime: ONNX Runtime on one
thread by default; `--runtime torch` measures sentence-transformers on PyTorch
(one intra-op thread, as the live pipeline runs it) for comparison.  `--repeat 3`
keeps each line's fastest run, i.e. the CPU cost without interference.
The Chinese pack, which the model cannot read, is matched on its own character
n-grams (assist.phrases.CharGramEncoder) in the "+semantic" configuration.

`--tune` chooses the English semantic threshold and the Chinese n-gram knobs on
tests/data/phrases_dev_{en,zh}.tsv only (see tune()).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assist.models import RUNTIMES, load_embedder, load_specs  # noqa: E402
from assist.phrases import MATCHERS, PhraseDetector  # noqa: E402

DATA = ROOT / "tests" / "data"
CONFIGS = {"exact": ("exact",), "+fuzzy": ("exact", "fuzzy"), "+semantic": MATCHERS}


@dataclass(frozen=True)
class Line:
    language: str
    speaker: str
    text: str
    expected: str | None
    category: str


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass
class Result:
    config: str
    per_category: dict[str, list[int]] = field(default_factory=dict)  # right, total
    per_phrase: dict[str, Score] = field(default_factory=dict)
    per_language: dict[str, Score] = field(default_factory=dict)
    overall: Score = field(default_factory=Score)
    times_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def load_lines(split: str = "eval", languages: tuple[str, ...] = ("en", "zh")) -> list[Line]:
    """The labelled lines of a split: "eval" (the reported figures) or "dev" (tuning only)."""
    lines = []
    for language in languages:
        path = DATA / f"phrases_{split}_{language}.tsv"
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                expected = row["expected"].strip()
                lines.append(Line(language, row["speaker"], row["text"],
                                  None if expected == "-" else expected, row.get("category", "")))
    return lines


def score(detector: PhraseDetector, lines: list[Line], config: str, repeat: int) -> Result:
    result = Result(config)
    matchers = CONFIGS[config]
    for line in lines:
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            flags = detector.check(line.text, line.speaker, matchers=matchers)
            best = min(best, (time.perf_counter() - t0) * 1000)
        result.times_ms.append(best)
        found = {f.phrase for f in flags}
        for phrase in found | ({line.expected} if line.expected else set()):
            cell = result.per_phrase.setdefault(phrase, Score())
            lang = result.per_language.setdefault(line.language, Score())
            for target in (cell, lang, result.overall):
                if phrase == line.expected and phrase in found:
                    target.tp += 1
                elif phrase in found:
                    target.fp += 1
                else:
                    target.fn += 1
        right = found == ({line.expected} if line.expected else set())
        tally = result.per_category.setdefault(line.category or "-", [0, 0])
        tally[0] += right
        tally[1] += 1
        if not right:
            result.errors.append(
                f"[{config}] {line.language} {line.category:13} expected={line.expected or '-'} "
                f"got={','.join(sorted(found)) or '-'} | {line.speaker}: {line.text}")
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def table(results: list[Result], phrases: list[str]) -> str:
    head = f"{'phrase':22}" + "".join(f" | {r.config:^20}" for r in results)
    sub = f"{'':22}" + " | P     R     F1    " * len(results)
    rows = [head, sub, "-" * len(head)]

    def fmt(s: Score) -> str:
        return f" | {s.precision:.2f}  {s.recall:.2f}  {s.f1:.2f}  "

    for phrase in phrases:
        rows.append(f"{phrase:22}" + "".join(fmt(r.per_phrase.get(phrase, Score())) for r in results))
    rows.append("-" * len(head))
    for language in ("en", "zh"):
        rows.append(f"{'all ' + language:22}" + "".join(
            fmt(r.per_language.get(language, Score())) for r in results))
    rows.append(f"{'ALL':22}" + "".join(fmt(r.overall) for r in results))
    categories = sorted({c for r in results for c in r.per_category})
    rows.append("-" * len(head))
    rows.append("lines handled right, by category (positives: flagged as expected; "
                "others: not flagged)")
    for category in categories:
        rows.append(f"{'  ' + category:22}" + "".join(
            f" | {r.per_category.get(category, [0, 0])[0]:>3}/{r.per_category.get(category, [0, 0])[1]:<16}"
            for r in results))
    rows.append("-" * len(head))
    rows.append(f"{'p50 ms / utterance':22}" + "".join(
        f" | {statistics.median(r.times_ms):<20.2f}" for r in results))
    rows.append(f"{'p95 ms / utterance':22}" + "".join(
        f" | {percentile(r.times_ms, 0.95):<20.2f}" for r in results))
    return "\n".join(rows)


TUNE_GRID = [round(0.3 + 0.05 * i, 2) for i in range(13)]  # 0.30 .. 0.90
TUNE_MIN_PRECISION = 0.95  # the precision target
LEXICAL_GRID = [(scale, threshold, floor) for scale in (5.0, 10.0, 20.0)
                for threshold in (0.4, 0.5, 0.6, 0.7) for floor in (0.1, 0.2, 0.3)]


def _choose(rows: list[tuple[Any, Score]]) -> Any:
    """Best dev F1 among settings with dev precision >= TUNE_MIN_PRECISION; ties: the later row.

    Rows run from the loosest to the most careful setting, so a tie goes to care.
    """
    ok = [(s.f1, i) for i, (_, s) in enumerate(rows) if s.precision >= TUNE_MIN_PRECISION]
    return rows[max(ok)[1]][0] if ok else rows[-1][0]


def tune(runtime: str) -> None:
    """Choose the paraphrase matcher's knobs on the dev lines only, never on the evaluation set.

    The dev sets (tests/data/phrases_dev_{en,zh}.tsv) were written separately from
    the evaluation set.  English: ``semantic_threshold`` (the sentence-embedding
    classifier).  Chinese, which the default model cannot read: the character
    n-gram fallback's ``lexical_scale``, ``lexical_threshold`` and ``lexical_floor``.
    The rule: the best dev F1 among settings whose dev precision is at least
    TUNE_MIN_PRECISION; a tie goes to the more careful setting.
    """
    from assist.phrases import DetectorOptions

    embedder = load_embedder(replace(load_specs()["embeddings"], runtime=runtime))
    report: dict[str, Any] = {"cpu_count": os.cpu_count(), "min_precision": TUNE_MIN_PRECISION}

    def sweep(language: str, settings: list[Any], options) -> tuple[list[tuple[Any, Score]], int]:
        lines = load_lines("dev", (language,))
        rows = [(setting, score(PhraseDetector(embedder=embedder, options=options(setting)),
                                lines, "+semantic", 1).overall) for setting in settings]
        return rows, len(lines)

    def show(title: str, head: str, rows: list[tuple[Any, Score]], fmt) -> Any:
        chosen = _choose(rows)
        print(title)
        print(f"{head} | {'P':>5} {'R':>5} {'F1':>5} | tp  fp  fn")
        for setting, s in rows:
            mark = "  <- chosen" if setting == chosen else ""
            print(f"{fmt(setting)} | {s.precision:5.2f} {s.recall:5.2f} {s.f1:5.2f} | "
                  f"{s.tp:<3} {s.fp:<3} {s.fn:<3}{mark}")
        print()
        return chosen

    rows, n = sweep("en", TUNE_GRID, lambda t: DetectorOptions(semantic_threshold=t))
    chosen = show(f"en: semantic_threshold on {n} dev lines (cpu_count={os.cpu_count()})",
                  f"{'threshold':>9}", rows, lambda t: f"{t:9.2f}")
    report["en"] = {"lines": n, "chosen": {"semantic_threshold": chosen},
                    "grid": {str(t): s.as_dict() for t, s in rows}}
    rows, n = sweep("zh", LEXICAL_GRID, lambda k: DetectorOptions(
        lexical_scale=k[0], lexical_threshold=k[1], lexical_floor=k[2]))
    chosen = show(f"zh: character n-gram fallback on {n} dev lines",
                  f"{'scale thr floor':>15}", rows, lambda k: f"{k[0]:5.0f} {k[1]:3.1f} {k[2]:5.1f}")
    report["zh"] = {"lines": n, "chosen": dict(zip(("lexical_scale", "lexical_threshold",
                                                    "lexical_floor"), chosen, strict=True)),
                    "grid": {" ".join(map(str, k)): s.as_dict() for k, s in rows}}
    print(json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list every wrong line")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--repeat", type=int, default=1, help="time each line N times, keep the best")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of "
                        + ", ".join(CONFIGS))
    parser.add_argument("--runtime", choices=RUNTIMES, default="onnx",
                        help="embedding runtime of the semantic matcher (default: onnx)")
    parser.add_argument("--tune", action="store_true",
                        help="choose the paraphrase matcher's thresholds on the dev lines instead")
    args = parser.parse_args()
    if args.tune:
        tune(args.runtime)
        return

    import torch

    torch.set_num_threads(1)  # as the live pipeline does (session.build_pipeline)
    spec = replace(load_specs()["embeddings"], runtime=args.runtime)
    configs = [c for c in args.configs.split(",") if c]
    lines = load_lines()
    t0 = time.perf_counter()
    detector = PhraseDetector(semantic="+semantic" in configs,
                              embedder=load_embedder(spec) if "+semantic" in configs else None)
    detector.check("warm up the embedder and the example vectors", "agent")
    detector.check("预热", "agent")
    load_s = time.perf_counter() - t0
    results = [score(detector, lines, config, args.repeat) for config in configs]
    phrases = sorted({p for r in results for p in r.per_phrase})

    print(f"{len(lines)} lines ({sum(x.language == 'en' for x in lines)} en, "
          f"{sum(x.language == 'zh' for x in lines)} zh); cpu_count={os.cpu_count()}, "
          f"embedding runtime={args.runtime}, load+warm-up {load_s:.1f} s\n")
    print(table(results, phrases))
    if args.errors:
        print()
        for r in results:
            print("\n".join(r.errors))
    report = {
        "lines": len(lines),
        "cpu_count": os.cpu_count(),
        "embedding_runtime": args.runtime,
        "python": platform.python_version(),
        "configs": {
            r.config: {
                "matchers": list(CONFIGS[r.config]),
                "overall": r.overall.as_dict(),
                "per_language": {k: v.as_dict() for k, v in r.per_language.items()},
                "per_phrase": {k: v.as_dict() for k, v in sorted(r.per_phrase.items())},
                "per_category": {k: {"right": v[0], "lines": v[1]}
                                 for k, v in sorted(r.per_category.items())},
                "p50_ms": round(statistics.median(r.times_ms), 3),
                "p95_ms": round(percentile(r.times_ms, 0.95), 3),
            }
            for r in results
        },
    }
    print()
    print(json.dumps(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
