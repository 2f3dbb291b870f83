"""Hybrid KB search: dense and lexical features fused and calibrated."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AssistError
from ..models import ModelSpec
from ..resources import shipped
from .articles import load_articles
from .cache import (
    EmbeddingCache,
    _normalize,
    _single_threaded,
    cache_path_for,
    encode_texts,
    text_key,
)
from .lexical import _Bm25, char_tokens, word_tokens
from .rerank import DENSE, FEATURES, LEXICAL, RetrievalOptions, tuned_options

if TYPE_CHECKING:
    from ..call import Embedder
    from .articles import Article, Progress
    from .tune import TunedModel


@dataclass(frozen=True)
class SearchResult:
    """One article found for a question; ``score`` is a confidence in [0, 1]."""

    article: str
    title: str
    score: float
    snippet: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"article": self.article, "title": self.title, "score": round(self.score, 3)}


class _Index:
    """Everything ``search`` needs, derived from the articles and their vectors."""

    def __init__(self, articles: list[Article], vectors: dict[str, np.ndarray], opts: RetrievalOptions):
        n = len(articles)
        self.n = n
        pool_owner, pool_vecs, pass_owner, pass_vecs = [], [], [], []
        for a, art in enumerate(articles):
            # An article without questions still has its title to be found by.
            for q in art.questions or [art.title]:
                pool_owner.append(a)
                pool_vecs.append(vectors[q])
            for p in art.passages():
                pass_owner.append(a)
                pass_vecs.append(vectors[p])
        dim = len(next(iter(vectors.values()))) if vectors else 1
        self.q = np.array(pool_vecs, dtype=np.float32).reshape(-1, dim)
        self.q_owner = np.array(pool_owner, dtype=np.int64)
        self.q_pad = _pad_groups(self.q_owner, n)
        self.q_count = np.bincount(self.q_owner, minlength=n)
        self.p = np.array(pass_vecs, dtype=np.float32).reshape(-1, dim)
        self.p_pad = _pad_groups(np.array(pass_owner, dtype=np.int64), n)
        self.titles = np.array([vectors[a.title] for a in articles], dtype=np.float32).reshape(-1, dim)
        self.centroids = _normalize(_group_means(self.q, self.q_owner, n))
        self.mean, self.whiten = _lda_whitening(self.q, self.q_owner, n, opts.lda_shrinkage)
        self.qw = self._to_white(self.q)
        self.wcentroids = _normalize(_group_means(self.qw, self.q_owner, n))
        self.bm25w = _Bm25([word_tokens(_lexical_doc(a)) for a in articles])
        self.bm25c = _Bm25([char_tokens(_lexical_doc(a)) for a in articles])
        self.bm25p = _Bm25([word_tokens(p) for art in articles for p in art.passages()])

    def _to_white(self, x: np.ndarray) -> np.ndarray:
        return _normalize((x - self.mean) @ self.whiten)


def _lexical_doc(article: Article) -> str:
    # The body is left out: long answers would drown the questions in BM25's
    # length normalisation; it gets its own passage-level BM25 instead.
    return " ".join([article.title, " ".join(article.tags), *article.questions])


def _pad_groups(owner: np.ndarray, n: int) -> np.ndarray:
    """Row indices per group as an ``n x width`` matrix, padded with -1."""
    counts = np.bincount(owner, minlength=n) if len(owner) else np.zeros(n, dtype=np.int64)
    pad = np.full((n, max(1, int(counts.max(initial=0)))), -1, dtype=np.int64)
    fill = np.zeros(n, dtype=np.int64)
    for row, g in enumerate(owner):
        pad[g, fill[g]] = row
        fill[g] += 1
    return pad


def _group_means(x: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Mean row per group (zeros for an empty group)."""
    sums = np.zeros((n, x.shape[1]), dtype=np.float32)
    counts = np.bincount(owner, minlength=n)
    if len(x):
        order = np.argsort(owner, kind="stable")
        starts = np.searchsorted(owner[order], np.arange(n))
        full = counts > 0
        sums[full] = np.add.reduceat(x[order], starts[full], axis=0)
    return sums / np.maximum(counts, 1)[:, None]


def _lda_whitening(
    x: np.ndarray, owner: np.ndarray, n: int, shrinkage: float
) -> tuple[np.ndarray, np.ndarray]:
    """Centre and whiten by the shrunk within-article scatter of the questions.

    Directions in which questions of one article vary (wording) shrink;
    directions that separate articles stretch.  Shrinkage keeps it sane when
    articles have few questions.
    """
    dim = x.shape[1]
    if len(x) == 0:
        return np.zeros(dim, dtype=np.float32), np.eye(dim, dtype=np.float32)
    mean = x.mean(0)
    resid = (x - mean) - (_group_means(x, owner, n) - mean)[owner]
    scatter = resid.T @ resid / len(x)
    scale = np.trace(scatter) / dim
    if scale <= 1e-12:
        return mean.astype(np.float32), np.eye(dim, dtype=np.float32)
    scatter = (1 - shrinkage) * scatter + shrinkage * scale * np.eye(dim, dtype=scatter.dtype)
    # Any W with W W^T = scatter^-1 gives the same cosines after the transform;
    # the Cholesky factor is several times cheaper than an eigendecomposition.
    chol = np.linalg.cholesky(scatter.astype(np.float64))
    whiten = np.linalg.inv(chol).T
    return mean.astype(np.float32), whiten.astype(np.float32)


def _group_top(sims: np.ndarray, pad: np.ndarray, k: int) -> np.ndarray:
    """Mean of the k best similarities per group (fewer if a group is smaller); -1 if empty."""
    ext = np.concatenate([sims, np.full((len(sims), 1), -np.inf, dtype=sims.dtype)], axis=1)
    grouped = ext[:, pad]  # queries x groups x width; -1 pads index the -inf column
    if k == 1 or grouped.shape[2] == 1:
        best = grouped.max(axis=2)
        return np.where(np.isfinite(best), best, -1.0)
    part = -np.partition(-grouped, k - 1, axis=2)[:, :, :k]
    finite = np.isfinite(part)
    mean = np.where(finite, part, 0).sum(2) / np.maximum(finite.sum(2), 1)
    return np.where(finite.any(2), mean, -1.0)


class KnowledgeBase:
    """Hybrid (BM25 + dense) retrieval over a folder of articles.

    Build with ``KnowledgeBase.open(kb_dir)`` (cached embeddings) or directly
    from a list of articles (``cache_path=None`` means no disk cache).
    """

    _chunk = 128

    def __init__(
        self,
        articles: list[Article],
        embedder: Embedder | None = None,
        options: RetrievalOptions | None = None,
        cache_path: Path | None = None,
        progress: Progress | None = None,
        kb_dir: Path | None = None,
        model: ModelSpec | None = None,
        tuned: TunedModel | None = None,
    ) -> None:
        self.articles = list(articles)
        self.options = options or RetrievalOptions()
        self.kb_dir = kb_dir
        self.model = model
        self.tuned = tuned
        self._by_id = {a.id: i for i, a in enumerate(self.articles)}
        if len(self._by_id) != len(self.articles):
            raise AssistError("duplicate article ids; run 'assist kb lint'")
        self._embedder = embedder
        self._lock = threading.Lock()
        texts = self._texts()
        self.cache = EmbeddingCache(cache_path)
        vecs = self.cache.embed(texts, self._encode, progress) if texts else np.zeros((0, 1))
        self.cache.save(text_key(t) for t in texts)
        self.embedded = self.cache.embedded
        with _single_threaded(torch_too=False):
            self._index = _Index(self.articles, dict(zip(texts, vecs, strict=True)), self.options)

    @classmethod
    def open(
        cls,
        kb_dir: Path | None = None,
        embedder: Embedder | None = None,
        options: RetrievalOptions | None = None,
        progress: Progress | None = None,
        cache: bool = True,
        tuned: bool = True,
    ) -> KnowledgeBase:
        """Load a KB folder (default: the shipped ``kb/``), embedding only what the cache lacks.

        Without an explicit ``embedder``, the folder's tuned model (``assist kb
        tune``) is used when there is one and ``tuned`` is true; else the
        configured embedder.
        """
        from .tune import find_tuned

        kb_dir = Path(kb_dir) if kb_dir else shipped("kb")
        articles = load_articles(kb_dir)
        found = find_tuned(kb_dir) if tuned and embedder is None else None
        spec = found.spec() if found else None
        if found and options is None:
            options = tuned_options()
        cache_path = cache_path_for(kb_dir, embedder, spec) if cache else None
        return cls(articles, embedder, options, cache_path, progress, kb_dir, spec, found)

    # -- embedding ---------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The sentence embedder, loaded on first use (a warm open never needs it)."""
        with self._lock:
            if self._embedder is None:
                from ..models import load_embedder

                self._embedder = load_embedder(self.model)
            return self._embedder

    def _encode(self, texts: list[str]) -> np.ndarray:
        return encode_texts(self.embedder, texts)

    def _texts(self) -> list[str]:
        texts: dict[str, None] = {}
        for art in self.articles:
            for t in (art.title, *art.questions, *art.passages()):
                texts[t] = None
        return list(texts)

    # -- lookup ------------------------------------------------------------

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.articles]

    def __len__(self) -> int:
        return len(self.articles)

    def get(self, article_id: str) -> Article | None:
        i = self._by_id.get(article_id)
        return self.articles[i] if i is not None else None

    def question_centroids(self) -> np.ndarray:
        """Unit centroid of each article's question vectors (lint's 'competing' check)."""
        return self._index.centroids

    # -- scoring -----------------------------------------------------------

    def features(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every feature of ``FEATURES`` as a queries x articles matrix."""
        ix = self._index
        q = self._encode(list(texts)) if vectors is None else np.asarray(vectors, dtype=np.float32)
        sims = q @ ix.q.T
        qw = ix._to_white(q)
        wsims = qw @ ix.qw.T
        feats = {
            "qmax": _group_top(sims, ix.q_pad, 1),
            "qtop2": _group_top(sims, ix.q_pad, 2),
            "qcen": q @ ix.centroids.T,
            "title": q @ ix.titles.T,
            "wmax": _group_top(wsims, ix.q_pad, 1),
            "wcen": qw @ ix.wcentroids.T,
            "passage": np.maximum(_group_top(q @ ix.p.T, ix.p_pad, 1), 0.0),
        }
        feats.update(self._lexical(texts))
        return feats

    def _lexical(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        ix, opts = self._index, self.options
        words = np.zeros((len(texts), ix.n), dtype=np.float32)
        chars = np.zeros_like(words)
        body = np.zeros_like(words)
        for i, text in enumerate(texts):
            wt, ct = word_tokens(text), char_tokens(text)
            s = ix.bm25w.scores(wt)
            words[i] = s / (s + opts.bm25_words_k)
            # Char scores grow with query length: take them per query n-gram.
            s = ix.bm25c.scores(ct) / max(1, len(ct))
            chars[i] = s / (s + opts.bm25_chars_k)
            if ix.bm25p.n:  # passages are indexed in the same order as ix.p
                s = ix.bm25p.scores(wt)
                body[i] = np.maximum(_group_top((s / (s + opts.bm25_words_k))[None], ix.p_pad, 1), 0)
        return {"bm25w": words, "bm25c": chars, "bm25p": body}

    def score_all(
        self, texts: Sequence[str], mode: str = "hybrid", vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """Fused score of every article for every text (queries x articles), before calibration."""
        if mode not in ("hybrid", "dense", "lexical"):
            raise AssistError(f"unknown retrieval mode {mode!r}")
        if not texts or not self.articles:
            return np.zeros((len(texts), len(self.articles)), dtype=np.float32)
        if vectors is None and mode != "lexical":
            vectors = self._encode(list(texts))
        if len(texts) > self._chunk:  # bounds the queries x articles x questions gather
            return np.concatenate([
                self.score_all(texts[i : i + self._chunk], mode,
                               None if vectors is None else vectors[i : i + self._chunk])
                for i in range(0, len(texts), self._chunk)
            ])
        # Lexical only needs no vectors (and no model).
        feats = self._lexical(texts) if vectors is None else self.features(texts, vectors)
        fused = self.fuse(feats, vectors, mode)
        if mode == "hybrid" and self.options.reranker is not None:
            self.options.reranker.apply(fused, feats)
        return fused

    def fuse(self, feats: dict[str, np.ndarray], vectors: np.ndarray | None, mode: str) -> np.ndarray:
        """The weighted sum of a mode's features plus the local-LDA re-rank (no MLP re-ranker)."""
        keep = {"dense": DENSE, "lexical": LEXICAL}.get(mode, DENSE | LEXICAL)
        w = self.options.weights
        fused = sum(w.get(name, 0.0) * feats[name] for name in FEATURES if name in keep)
        fused = np.asarray(fused, dtype=np.float32)
        if mode != "lexical" and self.options.rerank_weight:
            # every mode but lexical scores with vectors (score_all encodes the texts first)
            assert vectors is not None
            self._rerank(fused, vectors)
        return fused

    def _rerank(self, fused: np.ndarray, vectors: np.ndarray) -> None:
        """Add a local LDA's log-posterior among the top few articles (in place).

        Near-duplicate articles (pending vs failed top-up) differ in a few
        directions a global metric blurs; an LDA fitted on just the candidates'
        questions sharpens exactly those.
        """
        opts = self.options
        depth = min(opts.rerank_depth, fused.shape[1])
        if depth < 2:
            return
        for i in range(len(fused)):
            top = np.argpartition(-fused[i], depth - 1)[:depth]
            post = _local_lda(vectors[i], top, self._index, opts.rerank_shrinkage)
            if post is not None:
                fused[i, top] += opts.rerank_weight * post

    def confidence(self, fused: np.ndarray) -> np.ndarray:
        """Calibrated confidence of each article from its fused score and its margin."""
        if fused.shape[1] == 0:
            return fused
        bias, w_score, w_margin = self.options.calibration
        order = np.sort(fused, axis=1)
        best, second = order[:, -1:], (order[:, -2:-1] if fused.shape[1] > 1 else order[:, -1:] - 1)
        # Margin over the best *other* article: positive only for the leader.
        other = np.where(fused >= best, second, best)
        z = bias + w_score * fused + w_margin * (fused - other)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def search_many(
        self, texts: Sequence[str], top: int = 3, mode: str = "hybrid"
    ) -> list[list[SearchResult]]:
        """Best articles for each text, most confident first."""
        texts = [t.strip() for t in texts]
        _ = self.embedder if mode != "lexical" else None  # load outside the thread limit
        with _single_threaded(len(texts) <= 8):
            fused = self.score_all(texts, mode)
        conf = self.confidence(fused)
        out: list[list[SearchResult]] = []
        for i, text in enumerate(texts):
            if not text:
                out.append([])
                continue
            order = np.argsort(-fused[i], kind="stable")[: max(0, top)]
            out.append([self._result(a, float(conf[i, a])) for a in order])
        return out

    def search(self, text: str, top: int = 3, mode: str = "hybrid") -> list[SearchResult]:
        """Best articles for one question, most confident first (compare ``score`` to the threshold)."""
        return self.search_many([text], top, mode)[0]

    def _result(self, a: int, score: float) -> SearchResult:
        art = self.articles[a]
        return SearchResult(art.id, art.title, score, art.snippet)

    @property
    def threshold(self) -> float:
        return self.options.threshold


LOCAL_LDA_QUESTIONS = 24


def _local_lda(q: np.ndarray, top: np.ndarray, ix: _Index, shrinkage: float) -> np.ndarray | None:
    """Log-posterior of a shrunk shared-covariance Gaussian over the candidates' questions.

    Solved in the span of the candidates' residuals (Woodbury), so it costs an
    n x n solve with n = their question count, not 384 x 384.
    """
    # A bounded sample per article keeps this a small solve when articles have
    # hundreds of questions; the first ones are the editor's own.
    rows = [ix.q_pad[a][ix.q_pad[a] >= 0][:LOCAL_LDA_QUESTIONS] for a in top]
    means = np.stack([ix.q[r].mean(0) for r in rows])
    resid = np.concatenate([ix.q[r] - means[j] for j, r in enumerate(rows)])
    n, dim = resid.shape
    s2 = float((resid * resid).sum()) / n / dim
    if s2 <= 1e-12:
        return None  # one question each: no scatter to learn from
    c = shrinkage * s2 * n / (1 - shrinkage)
    gram = resid @ resid.T + c * np.eye(n, dtype=resid.dtype)
    # (shrunk scatter)^-1 @ means.T, up to the common factor 1 / (shrinkage * s2)
    proj = means.T - resid.T @ np.linalg.solve(gram, resid @ means.T)
    proj /= shrinkage * s2
    g = q @ proj - 0.5 * np.sum(means.T * proj, axis=0)
    g -= g.max()
    return g - np.log(np.exp(g).sum())
