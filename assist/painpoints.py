"""Recurring pain points: the problems customers keep calling about, and an early warning.

Customer utterances that carry a problem (greetings, "yes", "thank you" and
verification chatter are dropped) are cut down to their problem statement,
embedded, and clustered without being told how many clusters there are.
Agglomerative clustering (average linkage, cosine distance) cut at a distance
threshold, clusters below a minimum size dissolved and small fragments merged
into the nearest bigger cluster, finds how many there are; spectral clustering
of the nearest-neighbour graph into that many then draws the borders again
(average linkage carries on over its clusters to a distance), and the
dissolved members join the nearest centroid when close enough (else noise).
That method won the measurement in ``bench/painpoints.py`` against the
agglomerative clusters alone, HDBSCAN and community detection.
Each pain point is labelled with its top class-based TF-IDF terms (BERTopic's
c-TF-IDF).

``PainPointTracker`` does this across calls as they happen: a new problem joins
the pain point whose centroid it is close to, or waits as a candidate; every
``recluster_every`` new problems (sooner while there are few) all of them are
clustered again (in a background thread) and the new clusters are matched to
the old ones by their members, so a pain point keeps its id and history.  With a
store shared by several machines, re-clusterings take turns through the store
(see ``PainPointTracker``).  When the number of calls that raised a pain point in
the last window rises above its own baseline (see ``PainPointOptions``), the
tracker emits a ``PainPoint`` event, once per rise.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from .analyzer import Analyzer
from .errors import AssistError
from .events import CUSTOMER, Event, PainPoint, Utterance

log = logging.getLogger(__name__)

NOISE = "-1"

# ---------------------------------------------------------------- filtering and extraction

_FILLER = {
    "yes", "yeah", "yep", "yup", "no", "nope", "nah", "ok", "okay", "sure", "right", "alright",
    "all", "fine", "great", "good", "perfect", "cool", "thanks", "thank", "you", "so", "much",
    "very", "hi", "hello", "hey", "morning", "afternoon", "evening", "bye", "goodbye", "uh", "um",
    "uhm", "hmm", "mm", "mhm", "ah", "oh", "please", "sorry", "that's", "thats", "it", "is", "i",
    "see", "got", "understood", "correct", "exactly", "true", "well", "and", "a", "the", "have",
    "nice", "day", "wonderful", "awesome", "cheers", "there", "hold", "on", "one", "moment", "sec",
    "second", "just", "was", "be", "that", "this", "do", "go", "ahead", "me", "for", "helping",
    "your", "help", "appreciate", "welcome", "bad", "not", "too", "yes,", "am", "still",
    "here", "speaking", "can", "hear", "now", "wait", "let", "check", "minute",
}
_PROBLEM_CUES = re.compile(
    r"\b(can'?t|cannot|can not|won'?t|couldn'?t|didn'?t|doesn'?t|don'?t|isn'?t|wasn'?t|haven'?t|"
    r"hasn'?t|not|never|no longer|problem|issue|error|wrong|fail\w*|declin\w*|reject\w*|charg\w*|"
    r"fee|lost|stolen|missing|broke\w*|block\w*|locked|frozen|refund\w*|cancel\w*|dispute|fraud\w*|"
    r"still|again|why|how|where|when|what|unable|need|want|trying|tried|help|change|update|"
    r"close|open|transfer\w*|pending|late|delay\w*|twice|double|owe|bill\w*|pay\w*|quote|claim|"
    r"report|complain\w*|stuck|crash\w*|expired?|received?|arriv\w*|activat\w*|verify|reset)\b",
    re.I)
_VERIFICATION = re.compile(
    r"^\W*(my name is|my name's|this is|it'?s|i am|i'm|name'?s)\s+[a-z]+(\s+[a-z]+)?\W*$"
    r"|\b(date of birth|d\.?o\.?b|born on|birthday|postcode|post code|zip code|zip|"
    r"social security|last four|last 4|account number|card number|policy number|member id|"
    r"phone number|email address|spelled|spell)\b"
    r"|^[\W\d]+$"
    r"|\b(january|february|march|april|may|june|july|august|september|october|november|"
    r"december)\s+\d{1,2}(st|nd|rd|th)?,?\s+\d{2,4}\b"
    r"|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b",
    re.I)
_WORD = re.compile(r"[a-z']+", re.I)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\s*,?\s+\bbut\b\s+|\s*,\s*(?:and\s+)?(?=(?:i|my)\b)",
                       re.I)
_CHATTER = re.compile(
    r"^\W*(hi|hello|hey|good (morning|afternoon|evening)|thanks?( you)?|yes|yeah|okay|ok|so|um|"
    r"uh|well)\W*$"
    r"|\b(my name is|my name's|i'?ve been a (customer|member)|calling (from|about my account)|"
    r"how are you|hope you'?re)\b",
    re.I)


def is_problem(text: str) -> bool:
    """Does this customer utterance carry a problem (not a greeting, a yes, thanks, an ID check)?"""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return False
    cue = bool(_PROBLEM_CUES.search(text)) or "?" in text
    if all(w in _FILLER for w in words):
        return False
    if _VERIFICATION.search(text) and (len(words) < 12 or not cue):
        return False
    if len(words) < 3:
        return False
    return cue or len(words) >= 6


def problem_statement(text: str, max_words: int = 30) -> str:
    """The part of a turn that states the problem: greetings, names and small talk dropped;
    of a long turn, the clauses with the most problem cues (in their order)."""
    clauses = [c.strip(" ,") for c in _SENTENCE.split(text.strip()) if c and c.strip(" ,")]
    kept = [c for c in clauses if not _CHATTER.search(c) and not _VERIFICATION.search(c)]
    kept = [c for c in kept if any(w.lower() not in _FILLER for w in _WORD.findall(c))]
    if not kept:
        return text.strip()
    if sum(len(_WORD.findall(c)) for c in kept) <= max_words:
        return " ".join(kept)
    scored = sorted(range(len(kept)), key=lambda i: (-len(_PROBLEM_CUES.findall(kept[i])), i))
    chosen: list[int] = []
    words = 0
    for i in scored:
        n = len(_WORD.findall(kept[i]))
        if chosen and words + n > max_words:
            continue
        chosen.append(i)
        words += n
    return " ".join(kept[i] for i in sorted(chosen))


# ---------------------------------------------------------------- clustering and labels


@dataclass
class PainPointOptions:
    """How pain points are found, followed and raised.

    Attributes:
        method: clustering method: "spectral" (default: agglomerative finds how many,
            spectral clustering draws them), "agglomerative", "hdbscan" or "community".
        distance_threshold: agglomerative: cosine distance at which the tree is cut
            (average linkage); community: 1 - similarity threshold.
        min_cluster_size: clusters smaller than this are noise (candidates).
        merge_fraction: a cluster smaller than this share of the problems (and at least
            ``min_cluster_size``) is a fragment: smallest first, each joins the nearest
            cluster at least as big whose centroid is ``merge_similarity`` close.  Average
            linkage leaves an intent in several fragments; this halves the clusters found
            on banking77 and lifts its ACC (see bench/painpoints.py).  0 turns it off.
        merge_similarity: centroid cosine similarity at which a fragment merges.
        spectral_neighbours: spectral: each problem's neighbours in the graph, as a
            multiple of the square root of the number of problems (at least 5).
        spectral_merge: spectral: average linkage carries on over the spectral clusters
            until they are this cosine distance apart (it rejoins an intent cut in two).
        spectral_min_items: spectral: below this many problems the agglomerative
            clusters stand as they are.
        reassign_noise: after clustering, noise joins the nearest cluster when its
            centroid similarity reaches ``assign_threshold`` (as online assignment).
        assign_threshold: cosine similarity to a pain point's centroid at which a new
            problem joins it online; below it the problem waits as a candidate.
        recluster_every: re-cluster everything after this many new problems.
        recluster_fraction: ... or sooner while few problems are held: after this fraction
            of them (at least ``min_cluster_size`` new ones), so a new store shows its first
            pain points within a few calls, not after ``recluster_every`` problems
            (clustering a few hundred takes milliseconds).  0 turns it off.
        background: re-cluster in a background thread (False: inline, as tests want).
        max_items: re-cluster (and keep in memory) at most this many of the latest
            problems: agglomerative clustering needs n² memory (10,000 take ~20 s, 0.4 GB).
        window: the early-warning window (seconds): the recent count of calls is taken
            over it (a call that raises a pain point five times counts once).
        baseline: the history (seconds, before the window) whose average rate per
            window is the pain point's baseline.
        rise_factor: warn when the recent count is at least this many times the baseline.
        min_count: ... and at least this many problems in the window.
        baseline_floor: the smallest baseline per window (a new pain point has none).
        cooldown: seconds after a warning before the same pain point may warn again.
        label_terms: how many c-TF-IDF terms make a label.
        filter: drop utterances that carry no problem.
    """

    method: str = "spectral"
    distance_threshold: float = 0.45
    min_cluster_size: int = 3
    merge_fraction: float = 0.005
    merge_similarity: float = 0.55
    spectral_neighbours: float = 0.35
    spectral_merge: float = 0.40
    spectral_min_items: int = 100
    reassign_noise: bool = True
    assign_threshold: float = 0.5
    recluster_every: int = 50
    recluster_fraction: float = 0.1
    background: bool = True
    max_items: int = 5000
    window: float = 3600.0
    baseline: float = 7 * 24 * 3600.0
    rise_factor: float = 3.0
    min_count: int = 5
    baseline_floor: float = 1.0
    cooldown: float = 3600.0
    label_terms: int = 3
    filter: bool = True


METHODS = ("spectral", "agglomerative", "hdbscan", "community")


def embed(embedder: Any, texts: Sequence[str]) -> np.ndarray:
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
        labels = _relabel(_merge_fragments(vectors, labels, fragment, options.merge_similarity),
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
    raw = _average_merge(vectors, raw, options.spectral_merge)
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


def _average_merge(vectors: np.ndarray, labels: np.ndarray, distance: float) -> np.ndarray:
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


def _merge_fragments(vectors: np.ndarray, labels: np.ndarray, fragment: int,
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


_LABEL_STOP = {
    "hi", "hello", "hey", "thanks", "thank", "please", "need", "want", "like", "just", "know",
    "yes", "yeah", "im", "ive", "id", "dont", "didnt", "does", "did", "help", "wondering", "hoping",
    "able", "tell", "way", "get", "got", "going", "really", "ok", "okay", "um", "uh", "wanna",
    "gonna", "today", "possible", "could", "would", "can", "also", "still", "ago", "sure", "let",
    "wanted", "trying", "try", "lot", "thing", "things",
    # contractions, apostrophe dropped
    "youre", "youve", "weve", "theyre", "thats", "theres", "whats", "ill", "hes", "shes",
    "isnt", "wasnt", "arent", "havent", "hasnt", "doesnt", "wont", "cant", "couldnt", "wouldnt",
}


def _without_apostrophes(text: str) -> str:
    """Lower case, contractions whole: "I've" is "ive" (a stop word), not "ve" (seen in a label)."""
    return re.sub(r"['’]", "", text.lower())


def ctfidf_labels(texts: Sequence[str], labels: Sequence[int | str], terms: int = 3
                  ) -> dict[Any, str]:
    """A short label per cluster from its top class-based TF-IDF terms (BERTopic's c-TF-IDF:
    term frequency in the class, weighted by log(1 + average class size / term frequency))."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    classes = sorted({c for c in labels if str(c) != NOISE}, key=str)
    if not classes:
        return {}
    docs = [" ".join(t for t, c in zip(texts, labels, strict=True) if c == k) for k in classes]
    stop = list(ENGLISH_STOP_WORDS | _LABEL_STOP)
    vectorizer = CountVectorizer(stop_words=stop, ngram_range=(1, 2), min_df=1,
                                 preprocessor=_without_apostrophes,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    try:
        counts = vectorizer.fit_transform(docs).toarray().astype(float)
    except ValueError:  # nothing but stop words
        return {k: "" for k in classes}
    vocab = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average = counts.sum() / len(classes)
    idf = np.log(1 + average / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    out: dict[Any, str] = {}
    for row, k in enumerate(classes):
        picked: list[str] = []
        for j in np.argsort(-scores[row]):
            if scores[row, j] <= 0 or len(picked) >= terms:
                break
            term = vocab[j]
            words = {w for p in picked for w in p.split()}
            if any(p in term for p in picked) or set(term.split()) <= words:
                continue
            picked.append(term)
        out[k] = ", ".join(picked)
    return out


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


def cluster_texts(texts: Sequence[str], embedder: Any = None,
                  options: PainPointOptions | None = None) -> ClusterResult:
    """Cluster texts into pain points; the number of clusters is found, never given."""
    options = options or PainPointOptions()
    if embedder is None:
        from .models import load_embedder

        embedder = load_embedder()
    problems = [problem_statement(t) if not options.filter or is_problem(t) else "" for t in texts]
    keep = [i for i, p in enumerate(problems) if p]
    clusters = [NOISE] * len(texts)
    raw = cluster_embeddings(embed(embedder, [problems[i] for i in keep]), options)
    for i, c in zip(keep, raw, strict=True):
        clusters[i] = str(int(c))
    labels = ctfidf_labels([problems[i] for i in keep], [clusters[i] for i in keep],
                           options.label_terms)
    return ClusterResult(clusters, labels, problems)


# ---------------------------------------------------------------- the tracker


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class _Item:
    text: str
    vector: np.ndarray
    seen: datetime
    call_id: str | None
    point: str | None = None
    row: int | None = None  # id in painpoint_items


@dataclass
class _Point:
    id: str
    label: str
    centroid: np.ndarray
    times: list[datetime] = field(default_factory=list)  # sorted: when each call first raised it
    calls: set[str] = field(default_factory=set)
    alerted: datetime | None = None
    armed: bool = True

    def add(self, call_id: str | None, when: datetime) -> None:
        """Count a call once, at its first problem of this pain point (no call: each counts)."""
        if call_id is not None:
            if call_id in self.calls:
                return
            self.calls.add(call_id)
        bisect.insort(self.times, when)


def call_times(mentions: Iterable[tuple[str | None, datetime]]) -> list[datetime]:
    """When each call first raised a pain point, sorted, from (call, seen) mentions: the
    early-warning rule counts calls, so a customer who says it five times is one."""
    point = _Point("", "", np.zeros(0, dtype=np.float32))
    for call_id, seen in sorted(mentions, key=lambda m: m[1]):
        point.add(call_id, seen)
    return point.times


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) or 1.0)


def _build_points(items: Sequence[_Item], labels: dict[str, str]) -> dict[str, _Point]:
    """The pain points the items' assignments make: centroid and call times of each."""
    groups: dict[str, list[_Item]] = {}
    for item in sorted(items, key=lambda i: i.seen):
        if item.point:
            groups.setdefault(item.point, []).append(item)
    points = {}
    for pid, group in groups.items():
        point = _Point(pid, labels.get(pid) or "",
                       _unit(np.stack([i.vector for i in group]).mean(axis=0)))
        for item in group:
            point.add(item.call_id, item.seen)
        points[pid] = point
    return points


def _nearest(points: dict[str, _Point], vector: np.ndarray, threshold: float) -> str | None:
    """The pain point whose centroid is closest, when at least ``threshold`` close."""
    if not points:
        return None
    ids = list(points)
    sims = np.stack([points[i].centroid for i in ids]) @ vector
    best = int(np.argmax(sims))
    return ids[best] if sims[best] >= threshold else None


class PainPointTracker(Analyzer):
    """Follows customer problems across calls and warns when one rises (see module doc).

    The early-warning rule, for a pain point at time *now*: *recent* is the number of
    calls that raised it in the last ``window`` (a problem without a call counts as
    one); *baseline* is its average per window over the ``baseline`` before that (at
    least ``baseline_floor``; a young history counts as the floor).  It warns when
    recent >= ``min_count`` and recent >= ``rise_factor`` x baseline; then not again
    until the rise has subsided and ``cooldown`` has passed.

    With a store, the store holds the truth, and several machines may share it: a
    re-clustering reads the latest problems (every machine's), clusters them holding
    no lock, and commits only when no other re-clustering was committed since it read
    (it adds the next row of ``painpoint_runs``, whose generation is unique).  New
    pain-point ids are taken inside that transaction, so no two machines hand out the
    same id; the machine that loses the race loads the winner's pain points instead of
    overwriting them.  Problems that arrive meanwhile keep the pain point they were
    given online, and the winner re-assigns them to its new centroids.
    """

    name = "painpoints"

    def __init__(self, store: Any = None, embedder: Any = None,
                 options: PainPointOptions | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.store = store
        self.options = options or PainPointOptions()
        self._embedder = embedder
        self.clock = clock or utcnow
        self.call_id: str | None = None
        self._items: list[_Item] = []
        self._points: dict[str, _Point] = {}
        self._since_recluster = 0
        self._next_id = 1
        self._generation = 0  # the store's last re-clustering this tracker has loaded
        self._lock = threading.RLock()
        self._worker: threading.Thread | None = None
        if store is not None:
            self._reload()

    # ------------------------------------------------------------ the analyzer hooks

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from .models import load_embedder

            self._embedder = load_embedder()
        return self._embedder

    def start(self, call_id: str | None = None) -> list[Event]:
        self.call_id = call_id
        self.refresh()
        return []

    def feed(self, utterance: Utterance) -> list[Event]:
        if utterance.speaker != CUSTOMER:
            return []
        return self.observe(utterance.text, call_id=self.call_id)

    # ------------------------------------------------------------ the library

    @property
    def points(self) -> dict[str, str]:
        """Pain point id → label."""
        with self._lock:
            return {p.id: p.label for p in self._points.values()}

    def observe(self, text: str, when: datetime | None = None,
                call_id: str | None = None) -> list[Event]:
        """One customer utterance: assign it (or hold it) and return any early warning."""
        if self.options.filter and not is_problem(text):
            return []
        problem = problem_statement(text)
        vector = embed(self.embedder, [problem])[0]
        when = when or self.clock()
        with self._lock:
            item = _Item(problem, vector, when, call_id)
            item.point = _nearest(self._points, vector, self.options.assign_threshold)
            self._items.append(item)
            point = self._points.get(item.point) if item.point else None
            if point is not None:
                point.add(call_id, when)
            self._save_item(item)
            self._since_recluster += 1
            due = self._recluster_due()
            events = self._check(point, when) if point is not None else []
        if due:
            self._schedule_recluster()
        return events

    def assign(self, text: str) -> str | None:
        """The pain point a problem would join now (None: it would wait as a candidate)."""
        vector = embed(self.embedder, [problem_statement(text)])[0]
        with self._lock:
            return _nearest(self._points, vector, self.options.assign_threshold)

    def recluster(self) -> bool:
        """Cluster the latest problems again; pain points keep their ids where their members
        agree.  With a store: every machine's latest problems, committed unless another
        re-clustering was committed first (then that one's pain points are loaded).
        Returns whether this re-clustering took effect."""
        with self._lock:
            self._since_recluster = 0
            items = self._items[-self.options.max_items:]
        generation = 0
        if self.store is not None:
            generation, items, _labels = self._read_store()
        if len(items) < self.options.min_cluster_size:
            return False
        raw = cluster_embeddings(np.stack([i.vector for i in items]), self.options)
        if self.store is None:
            with self._lock:
                self._apply_clusters(items, raw)
            return True
        won = self._commit_clusters(generation, items, raw)
        if not won:
            log.info("another machine re-clustered the pain points first; loading its result")
        self._reload()
        return won

    def refresh(self) -> None:
        """Take the pain points another machine sharing the store has re-clustered since
        (at the start of each call; cheap when nothing changed)."""
        if self.store is None:
            return
        from sqlalchemy import func, select
        from sqlalchemy.exc import DBAPIError

        from .store import _reason, painpoint_runs

        try:
            with self.store.engine.connect() as conn:
                generation = conn.execute(
                    select(func.coalesce(func.max(painpoint_runs.c.generation), 0))).scalar_one()
            if generation != self._generation:
                self._reload()
        except DBAPIError as exc:  # the store is away: carry on with what is in memory
            log.warning("pain points: cannot read the store (%s)", _reason(exc))

    def wait(self) -> None:
        """Wait for a background re-clustering to end."""
        worker = self._worker
        if worker is not None:
            worker.join()

    # ------------------------------------------------------------ internals

    def _recluster_due(self) -> bool:
        """Every ``recluster_every`` new problems; sooner while few are held, so a young
        store finds its first pain points within a few calls."""
        options = self.options
        young = max(options.min_cluster_size,
                    math.ceil(options.recluster_fraction * len(self._items)))
        every = min(options.recluster_every, young) if options.recluster_fraction > 0 \
            else options.recluster_every
        return self._since_recluster >= every

    def _schedule_recluster(self) -> None:
        if not self.options.background:
            self.recluster()
            return
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return
            # not a daemon: a replay that ends mid-clustering still saves the result
            self._worker = threading.Thread(target=self._recluster_safely,
                                            name="assist-painpoints")
            self._worker.start()

    def _recluster_safely(self) -> None:
        try:
            self.recluster()
        except Exception as exc:  # a failed re-clustering keeps the old pain points
            from .store import _reason

            log.warning("pain-point re-clustering failed: %s", _reason(exc))

    def _apply_clusters(self, items: list[_Item], raw: np.ndarray) -> None:
        """Without a store: the new clusters become the pain points in memory."""
        mapping = _match(items, raw, self._points, self._new_id)
        for item, c in zip(items, raw, strict=True):
            item.point = mapping.get(int(c)) if c >= 0 else None
        names = _names(items, raw, mapping, self.options.label_terms)
        # problems added while clustering ran join by centroid
        newer = self._items[len(self._items) - self._count_after(items):]
        fresh = _build_points(items, names)
        for item in newer:
            item.point = _nearest(fresh, item.vector, self.options.assign_threshold)
        self._items = items + newer
        self._points = _carry_alerts(self._points, _build_points(self._items, names))

    def _count_after(self, items: list[_Item]) -> int:
        if not items:
            return 0
        last = items[-1]
        for back, item in enumerate(reversed(self._items)):
            if item is last:
                return back
        return 0

    def _new_id(self) -> str:
        while f"pp{self._next_id}" in self._points:
            self._next_id += 1
        pid = f"pp{self._next_id}"
        self._next_id += 1
        return pid

    def _check(self, point: _Point, now: datetime) -> list[Event]:
        recent, baseline = rise(point.times, now, self.options, self._history_start())
        rising = recent >= self.options.min_count and recent >= self.options.rise_factor * baseline
        if not rising:
            point.armed = True
            return []
        cooled = point.alerted is None or (now - point.alerted).total_seconds() >= self.options.cooldown
        if not (point.armed and cooled):
            return []
        point.armed = False
        point.alerted = now
        return [PainPoint(cluster=point.id, label=point.label, count=recent)]

    def _history_start(self) -> datetime | None:
        return min((i.seen for i in self._items), default=None)

    # ------------------------------------------------------------ the store

    def _read_store(self) -> tuple[int, list[_Item], dict[str, str]]:
        """(generation, the latest items, labels) as the store has them now."""
        from sqlalchemy import func, select

        from .store import painpoint_items, painpoint_runs, painpoints

        items = painpoint_items.c
        with self.store.engine.connect() as conn:
            # the generation first: a re-clustering committed after this read makes ours lose
            generation = conn.execute(
                select(func.coalesce(func.max(painpoint_runs.c.generation), 0))).scalar_one()
            labels = dict(conn.execute(select(painpoints.c.id, painpoints.c.label)).all())
            rows = conn.execute(select(painpoint_items).order_by(items.id.desc())
                                .limit(self.options.max_items)).all()
        return generation, [_Item(r.text, np.frombuffer(r.embedding, dtype=np.float32).copy(),
                                  r.seen, r.call_id, r.painpoint_id, r.id)
                            for r in reversed(rows)], labels

    def _reload(self) -> None:
        """Take the store's pain points (the lock keeps this machine's new problems from
        slipping in between the read and the swap)."""
        with self._lock:
            self._generation, items, labels = self._read_store()
            self._items = items
            self._points = _carry_alerts(self._points, _build_points(items, labels))

    def _save_item(self, item: _Item) -> None:
        if self.store is None:
            return
        from sqlalchemy.exc import DBAPIError

        from .redact import redact
        from .store import _reason, painpoint_items

        try:
            with self.store.engine.begin() as conn:
                result = conn.execute(painpoint_items.insert().values(
                    painpoint_id=item.point, call_id=item.call_id,
                    text=redact(item.text, self.store.redaction).text,
                    embedding=item.vector.astype(np.float32).tobytes(), seen=item.seen))
                item.row = result.inserted_primary_key[0]
        except DBAPIError as exc:  # the call goes on; this problem is kept in memory only
            log.warning("pain points: cannot write to the store (%s)", _reason(exc))

    def _commit_clusters(self, generation: int, items: list[_Item], raw: np.ndarray) -> bool:
        """Write a re-clustering of ``items`` (read at ``generation``); False when another
        one was committed since."""
        import socket

        from sqlalchemy import select
        from sqlalchemy.exc import IntegrityError

        from .store import painpoint_runs, painpoints

        old = _build_points(items, {})
        try:
            with self.store.engine.connect().execution_options(immediate=True) as conn, \
                    conn.begin():
                conn.execute(painpoint_runs.insert().values(
                    generation=generation + 1, at=utcnow(), host=socket.gethostname(),
                    items=len(items), clusters=int(raw.max(initial=-1)) + 1))
                # the run row is ours: no other machine allocates ids until this commits
                taken = set(conn.execute(select(painpoints.c.id)).scalars()) | set(old)
                numbers = itertools.count(max((int(p[2:]) for p in taken
                                               if re.fullmatch(r"pp\d+", p)), default=0) + 1)
                mapping = _match(items, raw, old, lambda: f"pp{next(numbers)}")
                self._write_clusters(conn, items, raw, mapping, taken)
        except IntegrityError:
            return False
        return True

    def _write_clusters(self, conn: Any, items: list[_Item], raw: np.ndarray,
                        mapping: dict[int, str], taken: set[str]) -> None:
        from sqlalchemy import func, select, update

        from .redact import redact
        from .store import painpoint_items, painpoints

        assigned = [mapping.get(int(c)) if c >= 0 else None for c in raw]
        names = _names(items, raw, mapping, self.options.label_terms)
        fresh = _build_points([_Item(i.text, i.vector, i.seen, i.call_id, pid)
                               for i, pid in zip(items, assigned, strict=True)], names)
        rows: dict[str | None, list[int]] = {}
        for item, pid in zip(items, assigned, strict=True):
            rows.setdefault(pid, []).append(item.row)
        # problems any machine added since the read join the nearest new pain point
        columns = painpoint_items.c
        for row_id, blob in conn.execute(select(columns.id, columns.embedding)
                                         .where(columns.id > max(i.row for i in items))):
            vector = np.frombuffer(blob, dtype=np.float32)
            rows.setdefault(_nearest(fresh, vector, self.options.assign_threshold),
                            []).append(row_id)
        for pid, ids in rows.items():
            for start in range(0, len(ids), 500):
                conn.execute(update(painpoint_items).where(
                    columns.id.in_(ids[start:start + 500])).values(painpoint_id=pid))
        for pid, point in fresh.items():
            if pid not in taken:
                conn.execute(painpoints.insert().values(id=pid, label="", count=0, calls=0))
            stats = conn.execute(select(func.count(), func.count(columns.call_id.distinct()),
                                        func.min(columns.seen), func.max(columns.seen))
                                 .where(columns.painpoint_id == pid)).one()
            conn.execute(update(painpoints).where(painpoints.c.id == pid).values(
                label=redact(point.label, self.store.redaction).text, count=stats[0],
                calls=stats[1], first_seen=stats[2], last_seen=stats[3]))


def _names(items: list[_Item], raw: np.ndarray, mapping: dict[int, str], terms: int
           ) -> dict[str, str]:
    """Pain point id → c-TF-IDF label of its new cluster."""
    labels = ctfidf_labels([i.text for i in items], [int(c) for c in raw], terms)
    return {mapping[c]: label for c, label in labels.items() if c in mapping}


def _carry_alerts(old: dict[str, _Point], new: dict[str, _Point]) -> dict[str, _Point]:
    """A pain point that keeps its id keeps its early-warning state."""
    for pid, point in new.items():
        if pid in old:
            point.alerted, point.armed = old[pid].alerted, old[pid].armed
    return new


def rise(times: Sequence[datetime], now: datetime, options: PainPointOptions,
         history_start: datetime | None = None) -> tuple[int, float]:
    """(recent count in the window, baseline count per window) for sorted times."""
    window = timedelta(seconds=options.window)
    recent = bisect.bisect_right(times, now) - bisect.bisect_right(times, now - window)
    start = now - window - timedelta(seconds=options.baseline)
    if history_start is not None:
        start = max(start, history_start)
    span = (now - window - start).total_seconds()
    if span < options.window:  # too little history to know the usual rate
        return recent, options.baseline_floor
    before = bisect.bisect_right(times, now - window) - bisect.bisect_left(times, start)
    return recent, max(before * options.window / span, options.baseline_floor)


def _match(items: list[_Item], raw: np.ndarray, old: dict[str, _Point],
           new_id: Callable[[], str]) -> dict[int, str]:
    """New cluster number → pain point id: the old id its members mostly had, else the old
    centroid it is closest to (cosine ≥ 0.8), else a new id."""
    overlap: Counter[tuple[int, str]] = Counter()
    sizes: Counter[int] = Counter()
    for item, c in zip(items, raw, strict=True):
        if c < 0:
            continue
        sizes[int(c)] += 1
        if item.point in old:
            overlap[(int(c), item.point)] += 1
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for (c, pid), n in sorted(overlap.items(), key=lambda kv: -kv[1]):
        if c in mapping or pid in taken or n < 0.3 * sizes[c]:
            continue
        mapping[c] = pid
        taken.add(pid)
    free = [pid for pid in old if pid not in taken]
    for c in sorted(sizes):
        if c in mapping:
            continue
        if free:
            centroid = _unit(np.stack([i.vector for i, r in zip(items, raw, strict=True)
                                       if r == c]).mean(axis=0))
            sims = [float(old[pid].centroid @ centroid) for pid in free]
            best = int(np.argmax(sims))
            if sims[best] >= 0.8:
                mapping[c] = free.pop(best)
                continue
        mapping[c] = new_id()
    return mapping


_shared: dict[str, PainPointTracker] = {}
_shared_lock = threading.Lock()


def shared_tracker(store: Any = None, embedder: Any = None,
                   options: PainPointOptions | None = None) -> PainPointTracker:
    """One tracker per process and store, so consecutive calls share the pain points
    without reloading them from the store at every call (the latest options win)."""
    key = str(store.url) if store is not None else ""
    with _shared_lock:
        tracker = _shared.get(key)
        if tracker is None:
            tracker = _shared[key] = PainPointTracker(store, embedder, options)
        elif options is not None:
            tracker.options = options
        return tracker


def wait_shared() -> None:
    """Let every shared tracker's background re-clustering finish (before the store closes
    or the interpreter shuts down: a re-clustering still starting threads then fails)."""
    with _shared_lock:
        trackers = list(_shared.values())
    for tracker in trackers:
        tracker.wait()


# ---------------------------------------------------------------- reading the store


@dataclass
class PainPointRow:
    """One pain point as the reports show it.

    Attributes:
        id: its id; label: its c-TF-IDF label; count/calls: problems and distinct calls;
        first_seen/last_seen: times; daily: counts per day, oldest first.
    """

    id: str
    label: str
    count: int
    calls: int
    first_seen: datetime | None
    last_seen: datetime | None
    daily: list[int]

    @property
    def trend(self) -> str:
        half = len(self.daily) // 2
        before, after = sum(self.daily[:half]), sum(self.daily[half:])
        if after > before * 1.5 and after >= 3:
            return "rising"
        if before > after * 1.5 and before >= 3:
            return "falling"
        return "steady"


def load_rows(store: Any, days: int = 14, now: datetime | None = None) -> list[PainPointRow]:
    """Every pain point with its counts (from its items) and a per-day series, biggest first."""
    from sqlalchemy import select

    from .store import painpoint_items, painpoints

    now = now or utcnow()
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    items = painpoint_items.c
    with store.engine.connect() as conn:
        labels = dict(conn.execute(select(painpoints.c.id, painpoints.c.label)).all())
        seen = conn.execute(select(items.painpoint_id, items.call_id, items.seen)
                            .where(items.painpoint_id.is_not(None))).all()
    rows: dict[str, PainPointRow] = {}
    calls: dict[str, set] = {}
    for pid, call_id, when in seen:
        row = rows.setdefault(pid, PainPointRow(pid, labels.get(pid) or "", 0, 0, when, when,
                                                [0] * days))
        row.count += 1
        calls.setdefault(pid, set()).add(call_id)
        row.first_seen, row.last_seen = min(row.first_seen, when), max(row.last_seen, when)
        day = (when - start).days
        if 0 <= day < days:
            row.daily[day] += 1
    for pid, row in rows.items():
        row.calls = len(calls[pid] - {None})
    return sorted(rows.values(), key=lambda r: (-r.count, r.id))


def examples(store: Any, pid: str, limit: int = 10) -> list[tuple[str, str | None, datetime]]:
    """The latest (text, call, seen) of a pain point."""
    from sqlalchemy import select

    from .store import painpoint_items

    items = painpoint_items.c
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(items.text, items.call_id, items.seen).where(items.painpoint_id == pid)
            .order_by(items.seen.desc()).limit(limit)).all()]


@dataclass
class KbGap:
    """A pain point no KB article answers well.

    Attributes:
        painpoint: the pain point.
        score: the median, over its latest examples, of the best article's score.
        nearest: the best article for its latest example (a ``kb.SearchResult``), if any.
        examples: its latest problem statements.
    """

    painpoint: PainPointRow
    score: float
    nearest: Any
    examples: list[str]


def kb_gaps(store: Any, kb: Any, threshold: float | None = None, min_count: int = 3,
            limit: int = 3, sample: int = 5) -> list[KbGap]:
    """Pain points whose best article scores below ``threshold`` (default: the KB's
    suggestion threshold), each scored on its ``sample`` latest examples."""
    import statistics

    bar = kb.threshold if threshold is None else threshold
    gaps = []
    for row in load_rows(store):
        if row.count < min_count:
            continue
        texts = [text for text, _call, _seen in examples(store, row.id, max(limit, sample))]
        results = kb.search_many(texts, top=1) if texts else []
        best = [found[0].score if found else 0.0 for found in results]
        score = statistics.median(best) if best else 0.0
        if score < bar:
            nearest = next((found[0] for found in results if found), None)
            gaps.append(KbGap(row, score, nearest, texts[:limit]))
    return gaps
