"""Pain-point labels: class-based TF-IDF terms (BERTopic's c-TF-IDF)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .options import NOISE

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
