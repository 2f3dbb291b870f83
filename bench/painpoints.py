"""Pain-point clustering quality and speed: which method finds the intents without k.

    python bench/painpoints.py [--data ../shared/data] [--json out.json] [--speed]

On banking77 test (all 77 intents, and a 20-intent slice) and DSTC11-NATCS
development (22 intents): ACC (Hungarian), NMI, ARI, clusters found vs true,
noise share and clustering time per 1,000 utterances, for agglomerative
(average linkage, cosine distance threshold), HDBSCAN and community detection,
next to KMeans told the true k.  --speed also times 10,000 utterances and the
online assignment.  Embeddings: all-MiniLM-L6-v2 (problem statements).

    python bench/painpoints.py --realistic [--baseline-rev REV]

Realistic turns (see ``realistic_sets``): the default clustering of the whole
turn, of the problem statements at REV and of the current ones, in one run.

Last run (2 cores, otherwise idle, load average 1.2-2.4 from the run itself;
s/1k = clustering seconds per 1,000 utterances, embedding not included):

    dataset          method                      ACC   NMI   ARI    k true noise   s/1k
    banking77-test   kmeans-true-k              62.4  79.1  50.2   77   77   0.0  0.578
    banking77-test   spectral (default)         66.9  81.6  55.9   67   77   0.0  0.663
    banking77-test   agglo-0.45+merge+reassign  59.2  80.1  49.9   69   77 0.011  0.437
    banking77-test   agglo-0.45+reassign        54.1  80.5  48.0  146   77 0.008  0.451
    banking77-test   agglo-0.45                 53.2  79.2  44.8  146   77 0.044  0.465
    banking77-test   agglo-0.50                 48.6  77.6  38.7  101   77 0.026  0.443
    banking77-test   hdbscan-5                  38.1  58.9   2.7  113   77 0.469  3.871
    banking77-test   hdbscan-5+reassign         58.3  79.3  48.7  113   77 0.019  3.559
    banking77-test   community-0.70             40.6  69.9  15.7  217   77 0.158   0.04
    banking77-20     kmeans-true-k              86.1  89.1  80.1   20   20   0.0  0.182
    banking77-20     spectral (default)         69.4  85.7  68.3   33   20   0.0  0.419
    banking77-20     agglo-0.45+merge+reassign  71.6  85.1  68.4   36   20 0.011  0.108
    banking77-20     hdbscan-5+reassign         74.4  85.0  69.6   28   20 0.025  0.715
    dstc11-dev       kmeans-true-k              63.0  82.7  57.1   22   22   0.0  0.131
    dstc11-dev       spectral (default)         73.8  85.5  62.6   23   22   0.0  0.292
    dstc11-dev       agglo-0.45+merge+reassign  75.7  86.2  69.6   26   22 0.014  0.124
    dstc11-dev       hdbscan-5+reassign         61.6  82.9  46.2   37   22 0.013  0.807
    {"cluster_10000_s": 24.8, "online_ms_per_utterance_1_threads": 8.9,
     "online_ms_per_utterance_2_threads": 7.6}

Chosen (2026-12): "spectral".  The agglomerative clustering below finds how
many clusters there are (k); a kNN cosine graph (each problem's
max(5, 0.35 * sqrt(n)) nearest, symmetric) is split into k by spectral
clustering (top-k eigenvectors of the normalised graph, rows to unit length,
KMeans); average linkage then carries on over those clusters to cosine
distance 0.40 (it rejoins intents cut in two); small clusters are noise and
noise joins the nearest centroid at 0.5, as before.  Only the graph's biggest
connected piece is redrawn (stray pieces keep their clusters); under 100
problems, or under 90% of them in one piece, the agglomerative clusters stand.

Chosen on banking77 *train* splits, never on test: the old dev split below
could not be rebuilt (random.Random(0).sample(train, 3080) gives the old method
56.0 / 76.9, not 62.4 / 80.3), so: that draw (dev0), seed 1 (dev1), 40 per
intent with seeds 0 and 1 (bal0, bal1) and all 10,003 train questions.  ACC /
NMI / clusters; old method first:

    old agglo+merge       dev0 56.0/76.9/70  dev1 57.9/78.7/71  train 61.0/78.6/79  DSTC 75.7/86.2
    spectral, merge 0.40  dev0 66.3/79.0/70  dev1 64.4/79.5/69  train 65.1/79.2/78  DSTC 73.8/85.5
                          bal0 66.0/80.1/72  bal1 67.1/80.6/76; KMeans seeds 0-2: 63.4-66.9
    spectral, no merge    dev0 66.3/79.0/70  dev1 65.3/79.5/71  train 66.0/79.4/79  DSTC 64.2
    spectral, 1.2 x k     dev0 62.6  dev1 61.7  train 62.9  DSTC 81.2
    spectral told true k  dev0 64.0  bal0 65.3  DSTC 64.6

Tried and not taken (dev0 / dev1 ACC): the agglomerative cut at 0.40 (60.5 /
59.6); smoothing each vector with its 5-10 nearest neighbours before clustering
(<= 63.2 / 61.0, DSTC 71.6-78.4, unstable across cuts); removing the top 1-5
principal components (<= 58.4); TF-IDF or LSA-100 concatenated to the vectors
(<= 60.4); LDA self-training on the found clusters, 1-3 rounds (<= 58.7);
k-means passes from the found centroids (<= 58.5); Louvain on the kNN graph
(<= 51); choosing between agglomerative and spectral by silhouette (always
picked agglomerative).  Weak spot: where the cut finds far more clusters than
there are topics, spectral clustering splits real ones: the 20-intent slice
69.4 against 71.6 (three 20-intent train slices 60-67 against 60-72.5), DSTC11
73.8 against 75.7.  Giving spectral clustering only the clusters of at least
half the mean size fixes the 20-intent slices (78-81.5) but costs banking77 its
gain (60-61), so it is not taken.

The agglomerative step, as chosen in 2026-11: average linkage, cosine distance
0.45, clusters under 3 are noise; then fragments (clusters under 0.5% of the
utterances) join the nearest cluster at least as big when the centroids are
>= 0.55 similar; then noise joins the nearest centroid at similarity >= 0.5.

The fragment merge was chosen on a dev split, never on the test labels: 3,080
questions drawn from banking77 *train* (seed 0).  There, against the plain
agglomerative ACC 57.0 / NMI 80.6 (145 clusters): merging fragments under 0.3 /
0.5 / 0.7% of n at similarity 0.5-0.6 gave ACC 58.7-59.1 / 62.0-62.4 / 60.6-61.3
(NMI 79.3-80.3), best 0.5% at 0.55 (62.4 / 80.3, 74 clusters); on all 10,003
train questions the same setting gave 61.0 / 78.6 (79 clusters) against 54.8 /
79.1 (223), so the share carries across sizes.  Tried and not taken (dev ACC):
cut thresholds 0.40-0.60 without the merge (0.45 best, 57.0), 0.40/0.42/0.48
with it (<= 61.7), dissolving clusters under 5-15 into noise and reassigning
(<= 60.4, NMI down to 75.6), complete linkage (<= 51.8), Ward (<= 38.3), HDBSCAN
5 / 10 / 5 with min_samples 2, + reassign (57.2 / 3.4 / 50.3), and a few
k-means passes from the found centroids after the merge (62.2-61.9).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from assist.painpoints import (  # noqa: E402
    PainPointOptions,
    PainPointTracker,
    cluster_embeddings,
    embed,
    problem_statement,
)

NO_MERGE = {"merge_fraction": 0.0}
AGGLO = {"method": "agglomerative"}
METHODS = {
    "spectral (default)": PainPointOptions(),
    "agglo-0.45+merge+reassign": PainPointOptions(**AGGLO),  # the default until 2026-12
    "agglo-0.45+reassign": PainPointOptions(**AGGLO, **NO_MERGE),
    "agglo-0.45": PainPointOptions(reassign_noise=False, **AGGLO, **NO_MERGE),
    "agglo-0.50": PainPointOptions(distance_threshold=0.50, reassign_noise=False, **AGGLO,
                                   **NO_MERGE),
    "hdbscan-5": PainPointOptions(method="hdbscan", min_cluster_size=5, reassign_noise=False,
                                  **NO_MERGE),
    "hdbscan-5+reassign": PainPointOptions(method="hdbscan", min_cluster_size=5, **NO_MERGE),
    "community-0.70": PainPointOptions(method="community", distance_threshold=0.30,
                                       reassign_noise=False, **NO_MERGE),
}


def accuracy(truth: list[str], found: np.ndarray) -> float:
    from scipy.optimize import linear_sum_assignment

    t_ids = {v: i for i, v in enumerate(sorted(set(truth)))}
    f_ids = {v: i for i, v in enumerate(sorted(set(found.tolist())))}
    matrix = np.zeros((len(f_ids), len(t_ids)))
    for f, t in zip(found.tolist(), truth, strict=True):
        matrix[f_ids[f], t_ids[t]] += 1
    rows, cols = linear_sum_assignment(-matrix)
    return float(matrix[rows, cols].sum() / len(truth))


def score(truth: list[str], found: np.ndarray, seconds: float) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"acc": round(100 * accuracy(truth, found), 1),
            "nmi": round(100 * normalized_mutual_info_score(truth, found), 1),
            "ari": round(100 * adjusted_rand_score(truth, found), 1),
            "clusters": int(len(set(found.tolist()) - {-1})), "true": len(set(truth)),
            "noise": round(float(np.mean(found == -1)), 3),
            "s_per_1000": round(seconds * 1000 / len(truth), 3)}


def datasets(data: Path) -> dict[str, tuple[list[str], list[str]]]:
    with open(data / "banking77" / "test.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = {"banking77-test": ([r["text"] for r in rows], [r["category"] for r in rows])}
    intents = sorted({r["category"] for r in rows})
    random.Random(0).shuffle(intents)
    keep = set(intents[:20])
    sub = [r for r in rows if r["category"] in keep]
    out["banking77-20"] = ([r["text"] for r in sub], [r["category"] for r in sub])
    path = data / "dstc11-natcs" / "development" / "test-utterances.jsonl"
    turns = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    out["dstc11-dev"] = ([t["utterance"] for t in turns], [t["intent"] for t in turns])
    return out


def realistic_sets(data: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Turns the way calls read: DSTC11 finance (1,130 real customer turns, a domain the
    extraction was never written against) and long turns made by ``longturns.py`` around
    banking77 *train* questions (2,000, seed 1) and the DSTC11 insurance questions; a
    two-request turn is scored by the request it makes first."""
    from longturns import long_turns

    path = data / "dstc11-natcs" / "test-finance" / "test-utterances.jsonl"
    turns = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    out = {"dstc11-finance": ([t["utterance"] for t in turns], [t["intent"] for t in turns])}
    with open(data / "banking77" / "train.csv", encoding="utf-8") as handle:
        rows = random.Random(1).sample(list(csv.DictReader(handle)), 2000)
    made = long_turns([(r["text"], r["category"]) for r in rows], seed=0)
    out["long-banking77"] = ([t.text for t in made], [t.intents[0] for t in made])
    path = data / "dstc11-natcs" / "development" / "test-utterances.jsonl"
    dev = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    made = long_turns([(t["utterance"], t["intent"]) for t in dev], seed=0)
    out["long-insurance"] = ([t.text for t in made], [t.intents[0] for t in made])
    # the clean sets the clustering was chosen on: checks that nothing got worse
    checks = datasets(data)
    out["banking77-test"] = checks["banking77-test"]
    out["insurance-dev"] = checks["dstc11-dev"]
    return out


def statement_at(rev: str):
    """``problem_statement`` as it was at git revision ``rev`` (the baseline in the same run)."""
    import subprocess
    import types

    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:assist/painpoints/text.py"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"text_{rev}")
    exec(compile(source, f"{rev}:assist/painpoints/text.py", "exec"), module.__dict__)
    return module.problem_statement


def realistic(embedder, data: Path, baseline_rev: str) -> dict:
    """The problem statements of realistic turns, then the default clustering: the whole
    turn, the statement at ``baseline_rev`` and the current one, side by side."""
    extractors = {"whole turn": lambda text: text,
                  f"statement@{baseline_rev}": statement_at(baseline_rev),
                  "statement (current)": problem_statement}
    results: dict = {}
    print(f"\n{'realistic set':<16} {'extraction':<22} {'words':>5} {'ACC':>5} {'NMI':>5} "
          f"{'k':>4} {'true':>4} {'ms/turn':>7}")
    for name, (texts, truth) in realistic_sets(data).items():
        for label, extract in extractors.items():
            started = time.perf_counter()
            statements = [extract(t) for t in texts]
            ms = (time.perf_counter() - started) * 1000 / len(texts)
            vectors = embed(embedder, statements)
            started = time.perf_counter()
            found = cluster_embeddings(vectors, PainPointOptions())
            r = score(truth, found, time.perf_counter() - started)
            r["words"] = round(float(np.mean([len(s.split()) for s in statements])), 1)
            r["extract_ms_per_turn"] = round(ms, 3)
            results.setdefault(name, {})[label] = r
            print(f"{name:<16} {label:<22} {r['words']:>5} {r['acc']:>5} {r['nmi']:>5} "
                  f"{r['clusters']:>4} {r['true']:>4} {ms:>7.3f}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--realistic", action="store_true",
                        help="only the realistic turns (finance, long turns), baseline beside")
    parser.add_argument("--baseline-rev", default="dcf5d9d",
                        help="git revision whose problem statements are the baseline")
    args = parser.parse_args()
    from sklearn.cluster import KMeans

    from assist.models import load_embedder

    embedder = load_embedder()
    embed(embedder, ["warm up"] * 8)
    report: dict = {"cpu_count": os.cpu_count(), "model": "all-MiniLM-L6-v2", "results": {}}
    if args.realistic:
        report["realistic"] = realistic(embedder, args.data, args.baseline_rev)
        print(json.dumps(report, indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
        return
    vectors_all = []
    print(f"{'dataset':<16} {'method':<25} {'ACC':>5} {'NMI':>5} {'ARI':>5} {'k':>4} {'true':>4} "
          f"{'noise':>5} {'s/1k':>6}")
    for name, (texts, truth) in datasets(args.data).items():
        started = time.perf_counter()
        vectors = embed(embedder, [problem_statement(t) for t in texts])
        report.setdefault("embed_s_per_1000", {})[name] = round(
            (time.perf_counter() - started) * 1000 / len(texts), 2)
        if name != "banking77-20":
            vectors_all.append(vectors)
        runs = {}
        started = time.perf_counter()
        kmeans = KMeans(len(set(truth)), n_init=3, random_state=0).fit_predict(vectors)
        runs["kmeans-true-k"] = score(truth, kmeans, time.perf_counter() - started)
        for method, options in METHODS.items():
            started = time.perf_counter()
            found = cluster_embeddings(vectors, options)
            runs[method] = score(truth, found, time.perf_counter() - started)
        for method, r in runs.items():
            print(f"{name:<16} {method:<25} {r['acc']:>5} {r['nmi']:>5} {r['ari']:>5} "
                  f"{r['clusters']:>4} {r['true']:>4} {r['noise']:>5} {r['s_per_1000']:>6}",
                  flush=True)
        report["results"][name] = runs
    if args.speed:
        report["speed"] = speed(embedder, np.concatenate(vectors_all))
        report["load_average"] = os.getloadavg()
        print(json.dumps(report["speed"]))
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def speed(embedder, vectors: np.ndarray) -> dict:
    rng = np.random.default_rng(0)
    pick = vectors[rng.integers(0, len(vectors), 10_000)]
    pick = pick + rng.normal(0, 0.01, pick.shape).astype(np.float32)
    pick /= np.linalg.norm(pick, axis=1, keepdims=True)
    started = time.perf_counter()
    cluster_embeddings(pick, PainPointOptions())
    cluster_10k = time.perf_counter() - started
    tracker = PainPointTracker(embedder=embedder, options=PainPointOptions(
        recluster_every=10**9, recluster_fraction=0, background=False))
    texts = ["my card has not arrived yet", "I was charged twice for one purchase",
             "the app will not let me log in", "my transfer is still pending"] * 10
    for text in texts:
        tracker.observe(text)
    tracker.recluster()
    import torch

    out = {"cluster_10000_s": round(cluster_10k, 1)}
    default_threads = torch.get_num_threads()
    # one short sentence gains nothing from two threads, and loses a lot when the cores
    # are shared with other work (the ASR): measure both
    for threads in sorted({default_threads, 1}):
        torch.set_num_threads(threads)
        embed(embedder, texts)  # warm up
        started = time.perf_counter()
        for text in texts:
            tracker.observe(text + " again")
        out[f"online_ms_per_utterance_{threads}_threads"] = round(
            (time.perf_counter() - started) * 1000 / len(texts), 1)
    torch.set_num_threads(default_threads)
    return out


if __name__ == "__main__":
    main()
