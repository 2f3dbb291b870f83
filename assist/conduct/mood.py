"""The words' part of the customer-frustration score: a small classifier over the
sentence embeddings, fitted at load on labelled customer turns.

No registry package carries a sentiment model with its weights that reads customer
speech well (``bench/conduct.py`` compares VADER, the one rule-based model that ships
its lexicon: AUC 0.65 against 0.95 for this), so the model is fitted here on
``assist/data/moods_train.tsv``: customer turns labelled positive, neutral, frustrated
or angry, calm problem statements among the neutral ones (every customer with a
problem uses negative words).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AssistError
from ..kb import encode_texts, model_key
from ..models import cache_root
from ..phrases import SoftmaxClassifier
from ..resources import PACKAGE_DIR

if TYPE_CHECKING:
    from ..models import Embedder

MOODS = ("positive", "neutral", "frustrated", "angry")
VALUES = np.asarray([0.8, 0.0, -0.5, -0.9], dtype=np.float32)  # each mood's place on -1 .. +1
TRAINING = PACKAGE_DIR / "data" / "moods_train.tsv"


def read_moods(path: Path) -> tuple[list[str], list[str]]:
    """Texts and labels of a ``text<TAB>label`` file (``#`` lines are comments)."""
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
    except OSError as exc:
        raise AssistError(f"{path}: cannot read the mood examples ({exc})") from None
    texts, labels = [], []
    for number, row in enumerate(csv.DictReader(lines, delimiter="\t"), 2):
        if row.get("label") not in MOODS or not (row.get("text") or "").strip():
            raise AssistError(f"{path}:{number}: a mood example needs text and a label "
                              f"({', '.join(MOODS)})")
        texts.append(row["text"])
        labels.append(row["label"])
    return texts, labels


class EmbeddingMood:
    """Scores utterances -1 (angry) .. +1 (positive): the expected value of the moods'
    places under a softmax classifier over the embedder's sentence vectors."""

    def __init__(self, embedder: Embedder, training: Path = TRAINING, scale: float = 5.0,
                 epochs: int = 300, l2: float = 1e-3):
        self.embedder = embedder
        self.training = training
        self.scale, self.epochs, self.l2 = scale, epochs, l2
        self._model: SoftmaxClassifier | None = None
        self._lock = threading.Lock()

    def fit(self) -> SoftmaxClassifier:
        """The classifier: from the user cache when the examples and the model are the
        ones it was fitted on, else fitted now (3 s on 2 cores) and cached."""
        with self._lock:
            if self._model is None:
                path = self._cache_file()
                self._model = self._cached(path) or self._fit_now(path)
            return self._model

    def _cache_file(self) -> Path:
        digest = hashlib.sha1(self.training.read_bytes())
        digest.update(f"{model_key(self.embedder)}|{self.scale}|{self.epochs}|{self.l2}".encode())
        return cache_root() / "moods" / f"{digest.hexdigest()[:20]}.npz"

    @staticmethod
    def _cached(path: Path) -> SoftmaxClassifier | None:
        try:
            with np.load(path) as data:
                return SoftmaxClassifier(data["weights"], data["bias"])
        except (OSError, KeyError, ValueError):
            return None

    def _fit_now(self, path: Path) -> SoftmaxClassifier:
        texts, labels = read_moods(self.training)
        x = encode_texts(self.embedder, texts) * self.scale
        y = np.asarray([MOODS.index(label) for label in labels])
        model = SoftmaxClassifier.fit(x, y, len(MOODS), self.epochs, self.l2)
        with contextlib.suppress(OSError):  # a read-only cache only costs the next start 3 s
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, weights=model.weights, bias=model.bias)
        return model

    def probabilities(self, texts: list[str]) -> Any:
        """texts x MOODS."""
        return self.fit().predict(encode_texts(self.embedder, texts) * self.scale)

    def score(self, texts: list[str]) -> Any:
        return self.probabilities(texts) @ VALUES
