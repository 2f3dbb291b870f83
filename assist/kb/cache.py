"""Embeddings of a KB's texts: the on-disk cache, its name, and single-threaded encoding."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..models import ModelSpec, cache_root
from .articles import slugify

if TYPE_CHECKING:
    from ..call import Embedder
    from .articles import Article, Progress


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by content hash of the text, in one ``.npz`` file per KB and model.

    Only texts whose hash is missing are embedded; ``save`` keeps just the texts
    still in use, so the file does not grow with every edit.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        self.embedded = 0  # texts embedded by the last ``embed`` call
        self._dirty = False
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vecs = data["keys"], data["vectors"]
            self.vectors = {k.decode(): v for k, v in zip(keys, vecs, strict=True)}
        except (OSError, ValueError, KeyError):
            self.vectors = {}  # unreadable cache: rebuild it rather than fail

    def embed(
        self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray], progress: Progress | None = None
    ) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.vectors))
        self.embedded = len(missing)
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            # Length order across all chunks: batches of similar length waste
            # no compute on padding.
            missing.sort(key=lambda k: len(by_key[k]))
            todo = [by_key[k] for k in missing]
            step = 256
            for start in range(0, len(todo), step):
                vecs = encode(todo[start : start + step])
                for key, vec in zip(missing[start : start + step], vecs, strict=True):
                    self.vectors[key] = vec.astype(np.float32)
                if progress:
                    progress(min(start + step, len(todo)), len(todo))
            self._dirty = True
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def save(self, keep: Iterable[str]) -> None:
        keep = set(keep)
        if self.path is None or not (self._dirty or keep != set(self.vectors)):
            return
        self.vectors = {k: v for k, v in self.vectors.items() if k in keep}
        keys = np.array(sorted(self.vectors), dtype="S40")
        vecs = np.stack([self.vectors[k.decode()] for k in keys]) if len(keys) else np.zeros((0, 1))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, keys=keys, vectors=vecs.astype(np.float32))
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            pass  # a read-only cache only costs time on the next start


def _normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def model_key(embedder: Embedder) -> str:
    explicit = getattr(embedder, "cache_key", None)
    if explicit:
        return str(explicit)
    tokenizer = getattr(embedder, "tokenizer", None)
    return str(getattr(tokenizer, "name_or_path", None) or type(embedder).__name__)


def _spec_model_key(spec: ModelSpec | None = None) -> str:
    """A model spec's key without loading it (a warm re-open stays fast); None: the default."""
    from ..models import load_specs, resolve

    resolved = resolve(spec or load_specs()["embeddings"])
    return str(resolved.path or resolved.name)


def cache_name(kb_dir: Path, *parts: str, digits: int = 16) -> str:
    """A cache entry's name for a KB folder (and whatever else keys it): readable and unique."""
    folder = Path(kb_dir).resolve()
    digest = hashlib.sha1("\0".join([str(folder), *parts]).encode()).hexdigest()[:digits]
    return f"{slugify(folder.name)[:30] or 'kb'}-{digest}"


def cache_path_for(kb_dir: Path, embedder: Embedder | None = None, spec: ModelSpec | None = None) -> Path:
    """The embedding cache file of a KB folder for an embedder, else for a model spec
    (None: the configured default)."""
    model = model_key(embedder) if embedder is not None else _spec_model_key(spec)
    return cache_root() / "kb" / f"{cache_name(kb_dir, model, digits=20)}.npz"


def questions_hash(articles: Sequence[Article]) -> str:
    """Fingerprint of what ``assist kb tune`` learns from: each article's id, title and questions."""
    h = hashlib.sha1()
    for art in sorted(articles, key=lambda a: a.id):
        h.update("\0".join([art.id, art.title, *art.questions]).encode())
        h.update(b"\1")
    return h.hexdigest()[:16]


_threads_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    try:  # comes with scikit-learn, which sentence-transformers needs
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()
    except Exception:  # optional: without it BLAS keeps its own threading
        return None


@contextlib.contextmanager
def _single_threaded(enabled: bool = True, torch_too: bool = True) -> Iterator[None]:
    """Run small work (one query's search, the index's 384 x 384 algebra) on one thread.

    It gains nothing from intra-op threads, and on a busy machine their
    synchronisation dominates: one query's encode took 17 ms on one thread and
    240 ms (median) on two with the cores shared; a 384 x 384 Cholesky 0.3 s.
    """
    if not enabled:
        yield
        return
    torch = sys.modules.get("torch") if torch_too else None
    blas = _blas_controller()
    with _threads_lock, contextlib.ExitStack() as stack:
        if blas is not None:
            stack.enter_context(blas.limit(limits=1, user_api="blas"))
        before = torch.get_num_threads() if torch else 1
        if torch:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch:
                torch.set_num_threads(before)


def encode_texts(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Unit-length float32 sentence vectors."""
    vecs = embedder.encode(
        texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vecs, dtype=np.float32)
