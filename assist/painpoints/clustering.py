"""Clustering problem statements without being told how many clusters there are."""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AssistError
from .labels import painpoint_labels
from .options import NOISE, PainPointOptions
from .text import is_problem, problem_statement

if TYPE_CHECKING:
    from ..call import Embedder

METHODS = ("spectral", "agglomerative", "hdbscan", "community")


def embed(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Normalised float32 sentence embeddings."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    vectors = embedder.encode(list(texts), batch_size=64, normalize_embeddings=True,
                              show_progress_bar=False, convert_to_numpy=True)
    return np.asarray(vectors, dtype=np.float32)


def cluster_embeddings(vectors: np.ndarray, options: PainPointOptions | None = None) -> np.ndarray:
    """Cluster labels (0..k-1, biggest first; -1 noise), k found from the data."""
    options = options or PainPointOptions()
    n = len(vectors)
    if n < max(2, options.min_cluster_size):
        return np.full(n, -1)
    if options.method == "spectral":
        return _spectral_refine(vectors, options)
    if options.method == "agglomerative":
        from sklearn.cluster import AgglomerativeClustering

        raw = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                      distance_threshold=options.distance_threshold
                                      ).fit_predict(vectors)
    elif options.method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        raw = HDBSCAN(min_cluster_size=max(2, options.min_cluster_size), copy=True
                     ).fit_predict(vectors)
    elif options.method == "community":
        raw = _communities(vectors, 1.0 - options.distance_threshold, options.min_cluster_size)
    else:
        raise AssistError(f"unknown clustering method '{options.method}': use one of "
                          + ", ".join(METHODS))
    labels = _relabel(raw, options.min_cluster_size)
    fragment = round(options.merge_fraction * n)
    if fragment > options.min_cluster_size:
        labels = _relabel(merge_fragments(vectors, labels, fragment, options.merge_similarity),
                          options.min_cluster_size)
    return _reassign_noise(vectors, labels, options.assign_threshold) if options.reassign_noise \
        else labels


def _spectral_refine(vectors: np.ndarray, options: PainPointOptions) -> np.ndarray:
    """Agglomerative clusters give k; spectral clustering of the kNN graph redraws them.

    On banking77 the agglomerative cut finds about the right number of intents but
    average linkage draws their borders poorly (ACC 59 against 67 redrawn).  Only the
    graph's biggest connected piece is redrawn (into as many clusters as the cut put
    there): pieces repeat the top eigenvalue, which Lanczos cannot resolve, and a
    stray piece is a cluster already.  A graph with under 90% in one piece is left to
    the agglomerative clusters.
    """
    from dataclasses import replace

    from scipy.sparse.csgraph import connected_components

    labels = cluster_embeddings(vectors, replace(options, method="agglomerative"))
    n, k = len(vectors), int(labels.max(initial=-1)) + 1
    if n < options.spectral_min_items or k < 2 or k >= n // 5:
        return labels
    graph = _knn_graph(vectors, max(5, round(options.spectral_neighbours * math.sqrt(n))))
    _, piece = connected_components(graph, directed=False)
    main = piece == np.bincount(piece).argmax()  # a few stray pairs may sit apart
    inside = np.unique(labels[main & (labels >= 0)])
    if main.sum() < 0.9 * n or len(inside) < 2:
        return labels
    raw = np.where(labels >= 0, labels + len(inside), -1)  # outside: as they were
    raw[main] = _spectral(graph[main][:, main], len(inside))
    raw = average_merge(vectors, raw, options.spectral_merge)
    labels = _relabel(raw, options.min_cluster_size)
    return _reassign_noise(vectors, labels, options.assign_threshold) if options.reassign_noise \
        else labels


def _knn_graph(vectors: np.ndarray, neighbours: int) -> Any:
    """Each vector linked to its nearest ``neighbours`` by cosine similarity, symmetric."""
    import scipy.sparse as sp

    n = len(vectors)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    near = np.argpartition(-sims, neighbours, axis=1)[:, :neighbours]
    weights = np.take_along_axis(sims, near, 1).ravel().clip(1e-6)
    del sims
    graph = sp.csr_matrix((weights, (np.repeat(np.arange(n), neighbours), near.ravel())),
                          shape=(n, n))
    return graph.maximum(graph.T).tocsr()


def _spectral(graph: Any, k: int, seed: int = 0) -> np.ndarray:
    """KMeans on the top-k eigenvectors of the normalised graph, rows scaled to unit length."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import eigsh
    from sklearn.cluster import KMeans

    scale = sp.diags(1.0 / np.sqrt(np.asarray(graph.sum(axis=1)).ravel()))
    start = np.random.RandomState(seed).uniform(-1, 1, graph.shape[0])  # else eigsh is random
    _, embedding = eigsh(scale @ graph @ scale, k, which="LA", tol=1e-4, v0=start)
    embedding /= np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-12)
    return KMeans(k, n_init=3, random_state=seed).fit_predict(embedding)


def average_merge(vectors: np.ndarray, labels: np.ndarray, distance: float) -> np.ndarray:
    """Average linkage carried on from ``labels``: the two clusters with the highest mean
    pairwise cosine similarity merge while it is at least 1 - ``distance``."""
    ids = np.unique(labels[labels >= 0])
    if len(ids) < 2:
        return labels
    sums = np.stack([vectors[labels == c].sum(axis=0) for c in ids]).astype(np.float64)
    sizes = np.array([(labels == c).sum() for c in ids], dtype=np.float64)
    into = np.arange(len(ids))
    sims = (sums @ sums.T) / np.outer(sizes, sizes)
    np.fill_diagonal(sims, -np.inf)
    while True:
        i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if sims[i, j] < 1.0 - distance:
            break
        sums[i] += sums[j]
        sizes[i] += sizes[j]
        into[j] = i
        row = (sums @ sums[i]) / (sizes * sizes[i])
        row[into != np.arange(len(ids))] = -np.inf
        row[i] = -np.inf
        sims[i, :] = sims[:, i] = row
        sims[j, :] = sims[:, j] = -np.inf
    return _follow(ids, into, labels)


def _follow(ids: np.ndarray, into: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels after merges: cluster ``ids[i]`` went into ``ids[into[i]]`` (chains followed)."""
    for i in range(len(ids)):
        while into[into[i]] != into[i]:
            into[i] = into[into[i]]
    mapping = dict(zip(ids.tolist(), ids[into].tolist(), strict=True))
    return np.array([mapping.get(int(x), -1) for x in labels])


def merge_fragments(vectors: np.ndarray, labels: np.ndarray, fragment: int,
                     similarity: float) -> np.ndarray:
    """Clusters under ``fragment`` members, smallest first, join the nearest cluster at least
    as big when their centroids are ``similarity`` close (-1 stays noise)."""
    ids = np.unique(labels[labels >= 0])
    if len(ids) < 2:
        return labels
    sums = np.stack([vectors[labels == k].sum(axis=0) for k in ids]).astype(np.float64)
    counts = np.array([int((labels == k).sum()) for k in ids])
    into = np.arange(len(ids))  # where each cluster went
    heap = [(int(counts[i]), i) for i in range(len(ids)) if counts[i] < fragment]
    heapq.heapify(heap)
    while heap:
        count, j = heapq.heappop(heap)
        if into[j] != j or count != counts[j]:
            continue  # merged away, or grown since it was queued
        centroids = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        sims = centroids @ centroids[j]
        sims[(into != np.arange(len(ids))) | (counts < count)] = -1.0
        sims[j] = -1.0
        best = int(np.argmax(sims))
        if sims[best] < similarity:
            continue
        sums[best] += sums[j]
        counts[best] += counts[j]
        into[j] = best
        if counts[best] < fragment:
            heapq.heappush(heap, (int(counts[best]), best))
    return _follow(ids, into, labels)


def _reassign_noise(vectors: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Noise joins the cluster whose centroid it is closest to, as online assignment would."""
    noise = labels == -1
    if not noise.any() or noise.all():
        return labels
    ids = np.unique(labels[~noise])
    centroids = np.stack([vectors[labels == k].mean(axis=0) for k in ids])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    sims = vectors[noise] @ centroids.T
    out = labels.copy()
    out[noise] = np.where(sims.max(axis=1) >= threshold, ids[sims.argmax(axis=1)], -1)
    return out


def _communities(vectors: np.ndarray, threshold: float, min_size: int) -> np.ndarray:
    """Sentence-transformers style community detection (greedy, by neighbour count)."""
    sims = vectors @ vectors.T
    labels = np.full(len(vectors), -1)
    neighbours = sims >= threshold
    order = np.argsort(-neighbours.sum(axis=1), kind="stable")
    next_id = 0
    for i in order:
        if labels[i] != -1:
            continue
        members = np.flatnonzero(neighbours[i] & (labels == -1))
        if len(members) < min_size:
            continue
        labels[members] = next_id
        next_id += 1
    return labels


def _relabel(raw: np.ndarray, min_size: int) -> np.ndarray:
    counts = Counter(int(x) for x in raw if x >= 0)
    keep = [c for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_size]
    mapping = {c: i for i, c in enumerate(keep)}
    return np.array([mapping.get(int(x), -1) for x in raw])


@dataclass
class ClusterResult:
    """The batch clustering of some texts.

    Attributes:
        clusters: per input, its cluster ("0", "1", ... biggest first) or "-1" (noise or no problem).
        labels: per cluster id, its label.
        problems: per input, the problem statement clustered ("" when filtered out).
    """

    clusters: list[str]
    labels: dict[str, str]
    problems: list[str]

    def label_of(self, i: int) -> str:
        return self.labels.get(self.clusters[i], "")


def cluster_texts(texts: Sequence[str], embedder: Embedder | None = None,
                  options: PainPointOptions | None = None) -> ClusterResult:
    """Cluster texts into pain points; the number of clusters is found, never given."""
    options = options or PainPointOptions()
    if embedder is None:
        from ..models import load_embedder

        embedder = load_embedder()
    problems = [problem_statement(t) if not options.filter or is_problem(t) else "" for t in texts]
    keep = [i for i, p in enumerate(problems) if p]
    said = [problems[i] for i in keep]
    kept = cluster_problems(said, embed(embedder, said), options)
    clusters = [NOISE] * len(texts)
    for i, c in zip(keep, kept.clusters, strict=True):
        clusters[i] = c
    return ClusterResult(clusters, kept.labels, problems)


def cluster_problems(problems: Sequence[str], vectors: np.ndarray,
                     options: PainPointOptions | None = None) -> ClusterResult:
    """Cluster problem statements already embedded (e.g. the store's), and label them."""
    options = options or PainPointOptions()
    clusters = [str(int(c)) for c in cluster_embeddings(vectors, options)]
    return ClusterResult(clusters, painpoint_labels(problems, vectors, clusters,
                                                    options.label_words), list(problems))
