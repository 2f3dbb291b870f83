"""How pain points are found, followed and raised."""

from __future__ import annotations

from dataclasses import dataclass

NOISE = "-1"


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
        label_words: the most words in a label (a short phrase cut from the pain point's
            most central problem statement, see ``labels.painpoint_labels``).
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
    label_words: int = 8
    filter: bool = True
