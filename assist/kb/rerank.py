"""The tuned path's fusion weights, calibration and MLP re-ranker."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..resources import PACKAGE_DIR

FEATURES = (
    "qmax", "qtop2", "qcen", "title", "wmax", "wcen", "passage", "bm25w", "bm25c", "bm25p",
)
DENSE = frozenset({"qmax", "qtop2", "qcen", "title", "wmax", "wcen", "passage"})
LEXICAL = frozenset({"bm25w", "bm25c", "bm25p"})

# Fitted with `python bench/kb.py --tune` (listwise softmax on banking77 train:
# first 10 questions per intent as the KB, the rest of train as questions).
# `passage`/`bm25p` cannot be fitted there (imported articles have no body) and
# are set by hand, at about the title's weight.
TUNED_WEIGHTS = {
    "qmax": 3.93, "qtop2": 2.66, "qcen": 2.83, "title": 0.96, "wmax": 2.82, "wcen": 6.06,
    "passage": 1.2, "bm25w": 4.29, "bm25c": 3.74, "bm25p": 1.0,
}

# With a KB-tuned embedder (`assist kb tune`) scores run higher, so the same
# fusion (plus the MLP re-ranker) needs its own calibration, fitted with
# `python bench/kb.py --tune --tuned`; its bias is set so that the
# out-of-domain tuning sentences get no suggestion as often as with the base
# model (0.95).
TUNED_CALIBRATION = (-7.898, 0.551, 0.674)


RERANK_FILE = "kb_rerank_tuned.npz"


@dataclass(frozen=True)
class MlpReranker:
    """A small listwise re-ranker over the fused score's ``depth`` best articles.

    For each candidate it sees every feature, the feature's gap to the best
    candidate's, its z-score among the candidates, the rank and the fused
    score's gap to the best; one tanh layer adds a correction to the fused
    score.  Fitted with a softmax over the candidates (``python bench/kb.py
    --tune --tuned``).  Near-duplicate articles are told apart by how the
    features *relate* (the best question close, the centroid not), which one
    linear weight per feature cannot express.
    """

    w1: np.ndarray  # inputs x hidden
    b1: np.ndarray
    w2: np.ndarray  # hidden
    b2: float
    depth: int = 10

    @classmethod
    def load(cls, path: Path) -> MlpReranker:
        data = np.load(path)
        return cls(data["w1"], data["b1"], data["w2"], float(data["b2"]), int(data["depth"]))

    def save(self, path: Path) -> None:
        np.savez(path, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2, depth=self.depth)

    @staticmethod
    def inputs(feats: np.ndarray, fused: np.ndarray) -> np.ndarray:
        """queries x candidates x features (+ fused score) -> the network's inputs."""
        depth = feats.shape[1]
        sd = feats.std(1, keepdims=True) + 1e-6
        rank = np.broadcast_to(np.arange(depth, dtype=np.float32)[None, :, None] / depth,
                               (len(feats), depth, 1))
        return np.concatenate([
            feats, feats - feats.max(1, keepdims=True), (feats - feats.mean(1, keepdims=True)) / sd,
            rank, (fused - fused.max(1, keepdims=True))[..., None],
        ], axis=-1).astype(np.float32)

    def correction(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x @ self.w1 + self.b1) @ self.w2 + self.b2

    @classmethod
    def candidates(
        cls, fused: np.ndarray, feats: dict[str, np.ndarray], depth: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each query's ``depth`` best articles by the fused score, and the network's inputs for them."""
        top = np.argsort(-fused, axis=1, kind="stable")[:, :depth]
        rows = np.arange(len(fused))[:, None]
        stacked = np.stack([feats[name][rows, top] for name in FEATURES], axis=-1)
        return top, cls.inputs(stacked, fused[rows, top])

    def apply(self, fused: np.ndarray, feats: dict[str, np.ndarray]) -> None:
        """Re-score each query's best candidates in place (the best score never rises)."""
        depth = min(self.depth, fused.shape[1])
        if depth < 2:
            return
        top, x = self.candidates(fused, feats, depth)
        delta = self.correction(x)
        fused[np.arange(len(fused))[:, None], top] += delta - delta.max(1, keepdims=True)


@functools.lru_cache(maxsize=1)
def tuned_reranker() -> MlpReranker | None:
    """The re-ranker fitted for KB-tuned embedders (None if the package lacks it)."""
    path = PACKAGE_DIR / "data" / RERANK_FILE
    return MlpReranker.load(path) if path.exists() else None


def tuned_options() -> RetrievalOptions:
    """Retrieval options for a KB whose embedder was tuned on it."""
    return RetrievalOptions(calibration=TUNED_CALIBRATION, reranker=tuned_reranker())


@dataclass
class RetrievalOptions:
    """How articles are scored.

    Attributes:
        weights: linear fusion weight of each feature in ``FEATURES``.
        lda_shrinkage: shrinkage of the within-article scatter towards a
            multiple of the identity for the whitened (LDA) space.
        rerank_depth: how many top articles the local LDA re-ranks.
        rerank_shrinkage: shrinkage of the local LDA's scatter.
        rerank_weight: weight of the local LDA log-posterior in the score.
        bm25_words_k, bm25_chars_k: BM25 saturation ``s / (s + k)``, so scores
            are comparable between queries (needed for the threshold); the
            char scale is per query n-gram.
        calibration: (bias, score weight, margin weight) of the logistic that
            turns the fused score and its margin over the runner-up into a
            confidence in [0, 1].
        threshold: confidence below which the advisor shows nothing.
        reranker: an MLP re-ranker of the best few (hybrid only), after the
            local LDA.
    """

    weights: dict[str, float] = field(default_factory=lambda: dict(TUNED_WEIGHTS))
    lda_shrinkage: float = 0.6
    rerank_depth: int = 5
    rerank_shrinkage: float = 0.5
    rerank_weight: float = 0.02
    bm25_words_k: float = 8.0
    bm25_chars_k: float = 1.0
    calibration: tuple[float, float, float] = (-6.478, 0.443, 0.434)
    threshold: float = 0.5
    reranker: MlpReranker | None = None
