"""Pain-point labels a person would write: a cluster's most central problem statement,
cut to a short phrase ("new card never came in post", not "card, new, post").

``painpoint_labels`` is the one place a label is decided: the batch clustering, the
tracker's re-clusterings (whose labels the store keeps and every report, the live
event and the ticker read) and the KB article draft all take theirs from it.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)

CANDIDATES = 5  # the most central distinct statements a label may come from

_STOP = {
    "hi", "hello", "hey", "thanks", "thank", "please", "need", "want", "like", "just", "know",
    "yes", "yeah", "im", "ive", "id", "dont", "didnt", "does", "did", "help", "wondering", "hoping",
    "able", "tell", "way", "get", "got", "going", "really", "ok", "okay", "um", "uh", "wanna",
    "gonna", "today", "possible", "could", "would", "can", "also", "still", "ago", "sure", "let",
    "wanted", "trying", "try", "lot", "thing", "things",
    # contractions, apostrophe dropped
    "youre", "youve", "weve", "theyre", "thats", "theres", "whats", "ill", "hes", "shes",
    "isnt", "wasnt", "arent", "havent", "hasnt", "doesnt", "wont", "cant", "couldnt", "wouldnt",
}
# How a request is put, at the start of a clause: the problem is what follows it.
_FRAME = re.compile(r"""^(?:
   (?:hi|hello|hey|so|well|and|but|or|also|um+|uh+|ok(?:ay)?|yes|yeah|please|sorry|hmm+|oh|
      basically|actually|anyway|since|because|as|then|though|however|although)\b[\s,]*
 | (?:i|we)\b\s*(?:would|'d|wd)\s+(?:really\s+)?(?:like|love)\s+
      (?:to\s+|some\s+help\s+(?:with\s+)?)?
 | (?:know|find\s+out|learn|understand|get\s+help\s+(?:with\s+)?|help\s+with)\s+
      (?:if\s+|whether\s+|how\s+(?:to\s+)?|why\s+|what\s+|about\s+)?
 | (?:i|we)\b\s*(?:'m|am|are|was|were)\s+(?:hoping|trying|looking|wanting|wondering|calling|ringing)
      \s+(?:to\s+|for\s+|about\s+|if\s+|whether\s+|because\s+)?
 | (?:i|we)\b(?:'ve\s+|\s+have\s+|\s+)(?:really\s+|badly\s+|urgently\s+|just\s+)?
      (?:want|wanna|need|needed|wanted|have|had|tried|hope|wish)\s+(?:to\s+)?
      (?:if\s+|whether\s+|how\s+(?:to\s+)?|why\s+|what\s+)?
 | (?:can|could|would|will)\s+(?:you|i|we|someone)\b\s+(?:please\s+)?
      (?:help\s+me\s+(?:to\s+|with\s+)?|tell\s+me\s+(?:how\s+(?:to\s+)?|why\s+|what\s+|if\s+)?|
         show\s+me\s+(?:how\s+(?:to\s+)?)?|explain\s+(?:how\s+|why\s+)?|give\s+me\s+)?
 | (?:please\s+)?(?:help\s+me|tell\s+me|show\s+me|explain|give\s+me|advise|let\s+me\s+know)
      \s+(?:to\s+|with\s+|how\s+(?:to\s+|i\s+can\s+)?|why\s+|what\s+(?:is\s+|are\s+)?|if\s+)?
 | (?:how|why|when|where|what)\s+(?:do|does|did|can|could|should|would|will|must|have|has|am|is|
      are|was|were)\s+(?:(?:i|we|you)\b)?\s*
      (?:been\s+|go\s+about\s+|have\s+to\s+|need\s+to\s+|do\s+to\s+|do\s+(?=when\s|if\s|now\s))?
 | how\s+(?:to|long\s+(?:does|will)\s+it\s+take\s+(?:for\s+)?)\s*
 | is\s+(?:it\s+possible|there\s+(?:a\s+way|any\s+way))\s+(?:to\s+|for\s+(?:me\s+)?(?:to\s+)?)?
 | do\s+you\s+(?:happen\s+to\s+)?(?:know\s+(?:if\s+|why\s+|how\s+)?)?
 | (?:when|if|now\s+that)\s+
 | (?:is|are)\s+there\s+(?:a\s+|an\s+|any\s+)?
 | there(?:'s|\s+is|\s+are)\s+
 | the\s+reason\s+i'?m\s+calling\s+is\s+(?:that\s+|because\s+)?
 | (?:i|we)\b\s*(?:'ve\s+|have\s+)?(?:was|were|am|are|'m|been)\s+
      (?=(?:still\s+|just\s+|really\s+|not\s+)?\w+(?:ed|ing|en)\b)
 | (?:i|we)\b\s+(?=\w)
)""", re.I | re.X)
_TIME = re.compile(
    r"\b(?:(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|couple\s+of|several)"
    r"\s+(?:days?|weeks?|months?|years?|hours?)\s+ago|(?:over|more\s+than|for)\s+"
    r"(?:a|\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:days?|weeks?|months?|years?)"
    r"|for\s+ages|yesterday|last\s+(?:week|month|night|year)|this\s+(?:morning|week|month)"
    r"|as\s+soon\s+as\s+possible|asap|right\s+away|immediately)\b",
    re.I)
# Clause ends: punctuation, and the conjunctions that start another thought.
_CLAUSE = re.compile(
    r"\s*(?:[.?!;:>。？！；：]+|[,，、]|\s(?:and|but|because|since|however|though)\s)\s*", re.I)
_WORD = re.compile(r"[^\W_][\w'’\-]*")
# Words a short phrase goes without; a phrase does not end on a word of _TAIL.
_DROP = {"my", "our", "your", "please", "just", "really", "actually", "some",
         "pls", "kindly", "currently", "basically", "today", "now", "again", "very", "so"}
_ARTICLES = {"a", "an", "the"}
_TAIL = {"a", "an", "the", "i", "we", "it", "to", "for", "of", "in", "on", "at", "with", "that",
         "which", "and", "or", "is", "are", "be", "me", "from", "by", "about", "can", "this", "if",
         "when"}
_CJK_CHARS = 20  # a phrase in a language without spaces: its first characters


def _key(text: str) -> str:
    return " ".join(re.sub(r"['’]", "", text.lower()).split())


def term_weights(texts: Sequence[str], clusters: Sequence[K]) -> dict[K, dict[str, float]]:
    """Per cluster, the class-based TF-IDF weight of each word (BERTopic's c-TF-IDF:
    frequency in the cluster, weighted by log(1 + average cluster size / frequency)):
    high for the words that set a cluster apart."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    classes = list(dict.fromkeys(clusters))
    docs = [" ".join(t for t, c in zip(texts, clusters, strict=True) if c == k) for k in classes]
    vectorizer = CountVectorizer(stop_words=list(ENGLISH_STOP_WORDS | _STOP), preprocessor=_key,
                                 token_pattern=r"(?u)\b[^\W\d_][^\W_]+\b")
    try:
        counts = vectorizer.fit_transform(docs).toarray().astype(float)
    except ValueError:  # nothing but stop words
        return {k: {} for k in classes}
    vocab = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    idf = np.log(1 + counts.sum() / len(classes) / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    return {k: {vocab[j]: float(scores[i, j]) for j in np.flatnonzero(scores[i] > 0)}
            for i, k in enumerate(classes)}


def _clauses(statement: str) -> list[list[str]]:
    """The statement's clauses as words, each without the way the request is put
    ("I would like to", "how do I"), times ("two weeks ago"), articles and fillers."""
    text = _TIME.sub(" ", re.sub(r"\[[A-Z]+\]", " ", statement))  # redacted spans say nothing
    out: list[list[str]] = []
    for clause in _CLAUSE.split(text):
        words = _content(clause.strip(" ,-"))
        while words:
            shorter = _content(_FRAME.sub("", " ".join(words)))
            if shorter == words:
                break
            if 0 < len([w for w in shorter if w.lower() not in _ARTICLES]) < 2:
                # "I need a loan": "need a loan", not "a loan"
                words = words[1:] if words[0].lower() in ("i", "we") else words
                break
            words = shorter
        # "I ordered a new card, and it never came": "..., never came"
        while len(words) > 1 and (words[0].lower() in _ARTICLES
                                  or out and words[0].lower() in ("it", "they", "this", "that")):
            words = words[1:]
        if words:
            out.append(words)
    return out


def _content(clause: str) -> list[str]:
    return [w for w in _WORD.findall(clause) if w.lower() not in _DROP]


def _case(word: str) -> str:
    if word.lower() == "i" or word.lower().startswith(("i'", "i’")):
        return "I" + word[1:]
    return word if word.isupper() and len(word) > 1 else word.lower()


def phrase(statement: str, weights: Mapping[str, float] | None = None, max_words: int = 8) -> str:
    """A problem statement as a short label: the clause that weighs most (by ``weights``,
    else the first), with the other clauses that weigh at least a third as much while they
    fit in ``max_words``, in the order said."""
    clauses = _clauses(statement)
    if not clauses:
        return ""
    weights = weights or {}
    weight = [sum(weights.get(_key(w), 0.0) for w in c) for c in clauses]
    best = int(np.argmax(weight)) if any(weight) else 0
    chosen, used = {best}, len(clauses[best])
    for i, clause in enumerate(clauses):
        if i != best and weight[i] >= weight[best] / 3 and weight[i] > 0 \
                and used + len(clause) <= max_words:
            chosen.add(i)
            used += len(clause)
    parts = [[_case(w) for w in clauses[i]] for i in sorted(chosen)]
    if sum(map(len, parts)) > max_words:  # a long clause goes without its articles first
        parts = [[w for w in part if w.lower() not in _ARTICLES] or part for part in parts]
    while sum(map(len, parts)) > max_words:
        parts[-1].pop()
        if not parts[-1]:
            parts.pop()
    while parts and len(parts[-1]) > (len(parts) == 1) and parts[-1][-1].lower() in _TAIL:
        parts[-1].pop()
    words = [w for part in parts for w in part]
    if len(words) == 1 and len(words[0]) > _CJK_CHARS and not words[0].isascii():
        return words[0][:_CJK_CHARS]
    return ", ".join(" ".join(part) for part in parts if part)


def central(texts: Sequence[str], vectors: np.ndarray, limit: int = CANDIDATES
            ) -> list[tuple[float, str]]:
    """The ``limit`` distinct texts nearest the centroid of their vectors, nearest first,
    each with its cosine similarity to it (texts differing only in case, spacing or
    apostrophes count once)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if not len(texts):
        return []
    centroid = vectors.mean(axis=0)
    sims = vectors @ (centroid / (np.linalg.norm(centroid) or 1.0))
    out: dict[str, tuple[float, str]] = {}
    for i in np.argsort(-sims, kind="stable"):
        out.setdefault(_key(texts[i]), (float(sims[i]), texts[i].strip()))
        if len(out) >= limit:
            break
    return list(out.values())


def painpoint_labels(texts: Sequence[str], vectors: np.ndarray, clusters: Sequence[K],
                     max_words: int = 8, keep: Mapping[K, str] | None = None) -> dict[K, str]:
    """A label per cluster (noise, "-1" or -1, has none): the phrase of its most central
    problem statement (the nearest its centroid); among the statements about as central
    (within 0.05), one whose phrase is whole (nothing cut) and of two words or more comes
    first.  ``keep``: a cluster's current label, which stays while one of its few most
    central statements still gives it and the best of them is no better a phrase (whole
    where it is cut, two words where it is one), so a pain point is not renamed by every
    re-clustering (the live event, the store and the reports name it alike)."""
    def worse(o: tuple[float, str, str]) -> tuple[bool, bool]:  # cut short, or one word
        return sum(map(len, _clauses(o[2]))) > max_words, len(o[1].split()) < 2

    weights = term_weights(texts, clusters)
    vectors = np.asarray(vectors, dtype=np.float32)
    out: dict[K, str] = {}
    for k in dict.fromkeys(clusters):
        if str(k) == "-1":
            continue
        rows = [i for i, c in enumerate(clusters) if c == k]
        options = [(sim, phrase(text, weights.get(k), max_words), text)
                   for sim, text in central([texts[i] for i in rows], vectors[rows])]
        options = [o for o in options if o[1]]
        if not options:
            out[k] = ""
            continue
        near = [o for o in options if o[0] >= options[0][0] - 0.05]
        best = min(near, key=lambda o: (*worse(o), -o[0]))
        held = next((o for o in options if o[1] == (keep or {}).get(k)), None)
        out[k] = (held if held is not None and worse(held) <= worse(best) else best)[1]
    return out
