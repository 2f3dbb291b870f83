"""Lexical analysis for KB search: tokens, stems, character grams, BM25."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

_STOPWORDS = frozenset(
    ["a", "an", "the", "i", "i'm", "im", "me", "my", "mine", "we", "our", "you", "your", "he", "she", "it", "its", "they", "them", "their", "this", "that", "these", "those", "is", "am", "are", "was", "were", "be", "been", "being", "do", "does", "did", "doing", "have", "has", "had", "having", "to", "of", "in", "on", "at", "by", "for", "from", "with", "about", "as", "into", "and", "or", "but", "if", "so", "than", "then", "there", "here", "what", "which", "who", "whom", "why", "how", "when", "where", "can", "could", "would", "should", "will", "shall", "may", "might", "must", "just", "please", "hi", "hello", "hey", "thanks", "thank", "ok", "okay", "yes", "no", "not", "any", "some", "all", "up", "out", "over", "again", "very", "too", "also", "get", "got"]
)
_WORD_RE = re.compile(r"[a-z0-9]+")


def _fold(text: str) -> str:
    """Lower case without accents, so 'café' and 'cafe' meet."""
    if text.isascii():
        return text.lower().replace("'", "")
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c)).replace("'", "")


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A light suffix stripper: arrive/arrived/arriving and top/topped meet; no dictionary."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # topped -> top
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def word_tokens(text: str) -> list[str]:
    """Stemmed content words."""
    return [_stem(w) for w in _WORD_RE.findall(_fold(text)) if w not in _STOPWORDS]


def char_tokens(text: str) -> list[str]:
    """Character 3- to 5-grams inside word boundaries: robust to typos and word forms."""
    grams: list[str] = []
    for word in _WORD_RE.findall(_fold(text)):
        grams.extend(_word_grams(word))
    return grams


@functools.lru_cache(maxsize=65536)
def _word_grams(word: str) -> tuple[str, ...]:
    padded = f" {word} "
    return tuple(
        padded[i : i + n] for n in (3, 4, 5) for i in range(max(1, len(padded) - n + 1))
    )


class _Bm25:
    """bm25s over token lists; empty corpora and empty queries score 0."""

    def __init__(self, docs: Sequence[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.n = len(docs)
        self._ret: Any = None
        self._vocab: dict[str, int] = {}
        if any(docs):
            import bm25s

            self._ret = bm25s.BM25(k1=k1, b=b)
            self._ret.index([d or [""] for d in docs], show_progress=False)
            self._vocab = self._ret.vocab_dict

    def scores(self, tokens: list[str]) -> np.ndarray:
        # bm25s fails on an empty query; unknown tokens add nothing anyway.
        tokens = [t for t in tokens if t in self._vocab]
        if not tokens:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._ret.get_scores(tokens), dtype=np.float32)
