"""Pain-point labels before (c-TF-IDF keywords) and after (a short phrase): do they name the cluster?

    python bench/painpoint_labels.py [--data ../shared/data] [--before REV] [--json out.json]

Clusters two real sets with the default clustering (banking77 test, a 20-intent slice,
and DSTC11-NATCS finance: 1,130 real customer turns), labels each cluster both ways and
prints them side by side with the cluster's majority intent.  Two figures per labeller:

* own cluster: the label, embedded, is nearest its own cluster's centroid (of all the
  clusters found): the label tells this pain point from the others;
* intent: the label, embedded, is nearest the readable name of the cluster's majority
  intent ("card about to expire") of all the set's intent names: a reader of the label
  would name the problem as the data set's annotators did.

Both labellers see the same problem statements, clusters and embedder (all-MiniLM-L6-v2).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assist.painpoints import cluster_texts, embed  # noqa: E402


def sets(data: Path) -> dict[str, tuple[list[str], list[str]]]:
    with open(data / "banking77" / "test.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    intents = sorted({r["category"] for r in rows})
    random.Random(0).shuffle(intents)  # the slice bench/painpoints.py calls banking77-20
    keep = set(intents[:20])
    sub = [r for r in rows if r["category"] in keep]
    path = data / "dstc11-natcs" / "test-finance" / "test-utterances.jsonl"
    turns = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {"banking77-20": ([r["text"] for r in sub], [r["category"] for r in sub]),
            "dstc11-finance": ([t["utterance"] for t in turns], [t["intent"] for t in turns])}


def keyword_labeller(rev: str):
    """``ctfidf_labels`` as it was at ``rev`` (the keyword labels), loaded from git."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:assist/painpoints/labels.py"],
                            capture_output=True, text=True, check=True).stdout
    source = source.replace("from .options import NOISE", 'NOISE = "-1"')
    module = types.ModuleType(f"labels_{rev}")
    exec(compile(source, f"{rev}:assist/painpoints/labels.py", "exec"), module.__dict__)
    return module.ctfidf_labels


def readable(intent: str) -> str:
    """card_about_to_expire -> card about to expire; GetBranchHours -> get branch hours."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", intent).replace("_", " ").lower()


def nearest_rate(embedder, labels: list[str], targets: np.ndarray, truth: list[int]) -> float:
    found = (embed(embedder, labels) @ targets.T).argmax(axis=1)
    return float(np.mean(found == np.array(truth)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--before", default="cbd3201",
                        help="git revision of the keyword labels (the last with them)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from assist.models import load_embedder

    embedder = load_embedder()
    keywords = keyword_labeller(args.before)
    report: dict = {}
    for name, (texts, truth) in sets(args.data).items():
        result = cluster_texts(texts, embedder)
        kept = [i for i, c in enumerate(result.clusters) if c != "-1"]
        ids = sorted({result.clusters[i] for i in kept}, key=int)
        before = keywords([result.problems[i] for i in kept], [result.clusters[i] for i in kept])
        vectors = embed(embedder, [result.problems[i] for i in kept])
        centroids = np.stack([vectors[[j for j, i in enumerate(kept)
                                       if result.clusters[i] == c]].mean(axis=0) for c in ids])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        intents = sorted(set(truth))
        names = embed(embedder, [readable(i) for i in intents])
        majority = {c: Counter(truth[i] for i in kept if result.clusters[i] == c).most_common(1)[0][0]
                    for c in ids}
        rows = []
        for c in ids:
            rows.append({"cluster": c, "size": sum(result.clusters[i] == c for i in kept),
                         "intent": majority[c], "before": before.get(c, ""),
                         "after": result.labels.get(c, "")})
        figures = {}
        for side in ("before", "after"):
            labels = [r[side] for r in rows]
            figures[side] = {
                "own_cluster": round(nearest_rate(embedder, labels, centroids,
                                                  list(range(len(ids)))), 3),
                "intent": round(nearest_rate(embedder, labels, names,
                                             [intents.index(majority[c]) for c in ids]), 3),
                "words": round(float(np.mean([len(x.split()) for x in labels])), 1)}
        report[name] = {"clusters": len(ids), "figures": figures, "labels": rows}
        print(f"\n{name}: {len(ids)} clusters of {len(texts)} turns")
        print(f"{'size':>4}  {'majority intent':<34} {'before (keywords)':<34} after (phrase)")
        for r in rows:
            print(f"{r['size']:>4}  {r['intent'][:34]:<34} {r['before'][:34]:<34} {r['after']}")
        for side, f in figures.items():
            print(f"{side:<7} nearest its own cluster {f['own_cluster']:.3f}  nearest its intent "
                  f"{f['intent']:.3f}  words {f['words']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
