"""The semantic matcher's parts: the softmax classifier and the character n-gram encoder."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .normalize import normalize

_CLAUSE = re.compile(r"[,;:]|\s[-\u2013\u2014]\s|[\uff0c\uff1b\uff1a\u3001]")


@dataclass
class SoftmaxClassifier:
    """Multinomial logistic regression in numpy; a few hundred rows train in well under a second."""

    weights: Any
    bias: Any

    @classmethod
    def fit(cls, x, y, classes: int, epochs: int, l2: float) -> SoftmaxClassifier:
        import numpy as np

        x = np.asarray(x, dtype=np.float32)
        target = np.eye(classes, dtype=np.float32)[y]
        # balance classes: a phrase with few examples must not drown in 'none'
        weight = (len(y) / (classes * np.bincount(y, minlength=classes).clip(min=1)))[y]
        weight = (weight / weight.mean()).astype(np.float32)[:, None]
        model = cls(np.zeros((x.shape[1], classes), np.float32), np.zeros(classes, np.float32))
        with _one_blas_thread():  # tiny matrices: threads only fight over the cores
            for _ in range(epochs):  # full-batch gradient descent: deterministic
                grad = (model.predict(x) - target) * weight / len(x)
                model.weights -= x.T @ grad + l2 * model.weights
                model.bias -= grad.sum(axis=0)
        return model

    def predict(self, x):
        import numpy as np

        z = np.asarray(x, dtype=np.float32) @ self.weights + self.bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1)


@dataclass
class CharGramEncoder:
    """Sentence vectors from the pack's own word (Chinese: character) uni- and bigrams.

    The paraphrase matcher's stand-in for a pack the embedding model cannot read
    (all-MiniLM-L6-v2 and Chinese): TF-IDF over the n-grams of the pack's lines,
    L2-normalised, so the same classifier can learn that 情绪 and 发火 point to
    calm-down.  It knows only what the pack says; n-grams it never saw are ignored.
    """

    vocab: dict[str, int]
    idf: Any
    tokenizer: Any = None  # nothing to inspect: it reads whatever the pack is written in

    @staticmethod
    def grams(text: str) -> list[str]:
        words = normalize(text).words
        return words + [a + " " + b for a, b in zip(words, words[1:], strict=False)]

    @classmethod
    def fit(cls, texts: Sequence[str]) -> CharGramEncoder:
        import numpy as np

        seen: dict[str, int] = {}
        for text in texts:
            for gram in set(cls.grams(text)):
                seen[gram] = seen.get(gram, 0) + 1
        grams = sorted(seen)
        df = np.asarray([seen[g] for g in grams], dtype=np.float32)
        return cls({g: i for i, g in enumerate(grams)}, np.log((1 + len(texts)) / (1 + df)) + 1)

    def encode(self, texts: Sequence[str], **_: Any):
        import numpy as np

        out = np.zeros((len(texts), len(self.vocab)), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram in self.grams(text):
                col = self.vocab.get(gram)
                if col is not None:
                    out[row, col] += 1.0
        out = np.log1p(out) * self.idf
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


@dataclass
class _Lexicon:
    """The word evidence of a window: word n-gram similarity to each phrase's examples
    minus that to the nearest everyday line (``neutral`` and ``ordinary``).

    An embedding classifier is confident far from anything it was fitted on; a window
    about cash machines or card numbers can land on a phrase's side of its boundary
    while sharing no words with any way of saying the phrase.  This is the second,
    independent matcher a semantic flag must agree with.
    """

    encoder: CharGramEncoder
    examples: Any  # examples x n-grams
    plain: Any  # everyday lines x n-grams

    def margins(self, texts: Sequence[str], owner: Sequence[int], phrases: int):
        """windows x phrases: best example similarity of each phrase minus the plain one.

        A window is also read clause by clause (cut at commas, semicolons, colons and
        dashes), best clause kept: in "Relax, it's not the end of the world" the word
        that says the phrase is one clause, and the rest ("the end of") is near an
        everyday line about the end of the month.
        """
        import numpy as np

        pieces: list[str] = []
        row: list[int] = []
        for w, text in enumerate(texts):
            parts = [p for p in _CLAUSE.split(text) if p.strip()]
            for piece in [text] + (parts if len(parts) > 1 else []):
                pieces.append(piece)
                row.append(w)
        vectors = self.encoder.encode(pieces)
        sims = vectors @ self.examples.T
        each = np.full((len(pieces), phrases), -1.0, dtype=np.float32)
        owners = np.asarray(owner)
        for phrase in np.unique(owners):
            each[:, phrase] = sims[:, owners == phrase].max(axis=1)
        each -= (vectors @ self.plain.T).max(axis=1, keepdims=True)
        out = np.full((len(texts), phrases), -np.inf, dtype=np.float32)
        np.maximum.at(out, np.asarray(row), each)
        return out
