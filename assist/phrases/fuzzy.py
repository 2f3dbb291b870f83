"""Fuzzy matching: patterns aligned word by word with sound-alike and spelling-alike words."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .pattern import _around, _in_order

if TYPE_CHECKING:
    from .options import DetectorOptions
    from .pattern import Edge, PatternGraph


# Words whose sound-alikes flip the meaning ("our mistake" / "your mistake", "the right
# team" / "not the right team"): the fuzzy matcher needs them heard as they are.
_EXACT_ONLY = frozenset({
    "i", "me", "my", "you", "your", "yours", "we", "our", "us", "they", "their", "he", "she",
    "his", "her", "it", "its", "not", "no", "never", "nothing", "this", "that", "right", "wrong",
    "can", "should", "would", "could", "did", "do", "does", "been", "have", "had", "has",
    "不", "没", "别", "我", "你", "您", "他", "她",
})


# ...except for what recognisers (and people) write for each other all the time.
_CONFUSABLE = frozenset({frozenset({"you", "your"}), frozenset({"they", "their"}),
                         frozenset({"its", "it"})})


# Short words a recogniser drops without changing the sense; "have" is not one of them
# ("you should have rung" / "you should ring").
_DELETABLE = frozenset({
    "a", "an", "the", "to", "of", "in", "on", "at", "for", "is", "are", "am", "be", "and",
    "up", "out", "with", "from", "by", "as", "了", "的", "一", "下",
})


# Heard words that cannot be skipped as noise: they change the sense ("have to wait").
_NO_INSERT = _EXACT_ONLY | {"to", "be"}


def _deletable(word: str) -> bool:
    return word in _DELETABLE


@lru_cache(maxsize=1 << 16)
def _metaphone(word: str) -> str:
    import jellyfish

    return jellyfish.metaphone(word) if word.isascii() and word.isalpha() else word


@lru_cache(maxsize=1 << 16)
def _pinyin(char: str) -> frozenset[str]:
    try:
        from pypinyin import Style, pinyin
    except ImportError:  # without pypinyin, Chinese fuzzy matching is by character only
        return frozenset()
    return frozenset(pinyin(char, style=Style.NORMAL, heteronym=True)[0])


_PINYIN_FOLDS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ng", "n"), ("l", "n"), ("r", "n"))


def _fold_pinyin(syllable: str) -> str:
    for a, b in _PINYIN_FOLDS:
        syllable = syllable.replace(a, b)
    return syllable


def _is_han(text: str) -> bool:
    return bool(text) and "\u3400" <= text[0] <= "\ufaff"


# Homophones a recogniser picks between by guesswork; metaphone misses some (two/to).
_HOMOPHONES = {
    word: group
    for group in map(frozenset, (
        ("to", "too", "two"), ("for", "four"), ("one", "won"), ("right", "write"),
        ("hear", "here"), ("there", "their"), ("wait", "weight"), ("by", "buy", "bye"),
        ("no", "know"), ("new", "knew"), ("our", "hour"), ("through", "threw"),
        ("whole", "hole"), ("allowed", "aloud"), ("tide", "tied"), ("mail", "male"),
    ))
    for word in group
}


@lru_cache(maxsize=1 << 16)
def word_similarity(a: str, b: str) -> float:
    """How likely a recogniser wrote ``b`` for ``a``: 1 same, 0.65-0.9 alike, else 0."""
    if a == b:
        return 1.0
    if b in _HOMOPHONES.get(a, ()):
        return 0.9
    if _is_han(a) or _is_han(b):
        if not (_is_han(a) and _is_han(b) and len(a) == len(b) == 1):
            return 0.0
        pa, pb = _pinyin(a), _pinyin(b)
        if pa & pb:
            return 0.85  # homophone: the commonest Chinese recognition error
        if {_fold_pinyin(p) for p in pa} & {_fold_pinyin(p) for p in pb}:
            return 0.7  # l/n, zh/z, -ng/-n: accents and 8 kHz audio blur these
        return 0.0
    from rapidfuzz.fuzz import ratio

    ma, mb = _metaphone(a), _metaphone(b)
    if min(len(a), len(b)) < 3:
        # short words only by sound ("to"/"too"), never by spelling ("is"/"it")
        return 0.85 if ma and ma == mb else 0.0
    # Spelling alone must be close (pollicy/policy, apartment/department): loose spelling
    # matches are chance (losing/saying). Sound may be looser (calm/come, hear/here).
    spelling = ratio(a, b) / 100
    sound = (0.9 if ma == mb else 0.85 * ratio(ma, mb) / 100) if ma and mb else 0.0
    score = max(spelling if spelling >= 0.8 else 0.0, sound if sound >= 0.65 else 0.0)
    return score


@dataclass(frozen=True, slots=True)
class _State:
    """Best way found to reach a graph node: cost first, then most exact words.

    ``lits``/``chars`` count the pattern words (and their letters) on the path,
    ``errors`` the sound-alike steps, ``gaps`` the missing or extra words.
    """

    cost: float
    begin: int
    exact: int = 0
    lits: int = 0
    chars: int = 0
    errors: int = 0
    gaps: int = 0
    subs: tuple[int, ...] = ()

    def better(self, other: _State | None) -> bool:
        return other is None or (self.cost, -self.exact) < (other.cost, -other.exact)

    def step(self, cost: float, words: Sequence[str] = (), exact: bool = False,
             subs: tuple[int, ...] = (), gaps: int = 0) -> _State:
        """Advance over pattern ``words`` (none for an extra heard word)."""
        return _State(
            self.cost + cost, self.begin, self.exact + (len(words) if exact else 0),
            self.lits + len(words), self.chars + sum(len(w) for w in words),
            self.errors + bool(subs), self.gaps + gaps, self.subs + subs)


@dataclass(frozen=True)
class FuzzyHit:
    """Where a pattern side was heard with recognition errors."""

    first: int
    last: int
    cost: float
    subs: tuple[int, ...]


def _edge_similarity(edge: Edge, word: str) -> float:
    if edge.kind == "any":
        return 1.0
    if edge.kind == "pre":
        return 1.0 if word.startswith(edge.value) else 0.0
    if edge.value == word:
        return 1.0
    if word in _EXACT_ONLY:
        return 0.8 if frozenset({edge.value, word}) in _CONFUSABLE else 0.0
    sim = word_similarity(edge.value, word)
    # a meaning-bearing pattern word takes only a near-identical sound ("rong" for "wrong")
    return sim if edge.value not in _EXACT_ONLY or sim >= 0.9 else 0.0


States = dict[int, "_State"]


def _relax(states: States, node: int, state: _State, limit: _Limit) -> None:
    if state.cost <= limit.cost and state.errors <= limit.errors and state.gaps <= limit.gaps \
            and state.better(states.get(node)):
        states[node] = state


@dataclass(frozen=True)
class _Limit:
    """Bounds no acceptable hit can exceed; states beyond them are dropped early."""

    cost: float
    errors: int
    gaps: int


def _settle(graph: PatternGraph, states: States, options: DetectorOptions, at_start: bool,
            limit: _Limit) -> None:
    """Steps that consume no heard word: epsilon edges and a missing interior word."""
    heap = list(states)
    for u in _in_order(heap):
        state = states[u]
        for e in graph.edges[u]:
            if e.kind == "eps" or (e.kind == "start" and at_start):
                before = states.get(e.dst)
                _relax(states, e.dst, state, limit)
            elif (e.kind == "lit" and _deletable(e.value) and u not in graph.initial
                  and e.dst not in graph.final):
                before = states.get(e.dst)
                _relax(states, e.dst, state.step(options.fuzzy_delete_cost, (e.value,), gaps=1),
                       limit)
            else:
                continue
            if states.get(e.dst) is not before:
                heapq.heappush(heap, e.dst)


def _consume(graph: PatternGraph, states: States, words: Sequence[str], j: int, nxt: States,
             ahead: Sequence[States], options: DetectorOptions, limit: _Limit) -> None:
    """Steps that consume heard word ``j``, or ``j`` and the next one or two joined.

    ``ahead[k]`` holds the states after heard word ``j + 1 + k``: a recogniser splits
    a long word in two or three short ones ("all ready", "to part mint").
    """
    word = words[j]
    for u, state in states.items():
        if u not in graph.initial and u != graph.accept and word not in _NO_INSERT:
            # an extra heard word, never one that changes the sense ("that is not your fault")
            _relax(nxt, u, state.step(options.fuzzy_insert_cost, gaps=1), limit)
        for e in graph.steps[u]:
            sim = _edge_similarity(e, word)
            if sim < options.fuzzy_edge_similarity and (u in graph.initial or e.dst in graph.final):
                sim = 0.0  # the first and last words anchor a phrase: only close sound-alikes
            if sim > 0:
                pattern = (e.value,) if e.kind != "any" else ()
                exact = sim == 1.0
                _relax(nxt, e.dst, state.step(1 - sim, pattern, exact, () if exact else (j,)),
                       limit)
            if e.kind != "lit" or e.value in _EXACT_ONLY or word in _EXACT_ONLY:
                continue
            joined = word
            for k, later in enumerate(ahead, start=1):  # "all ready" for "already"
                if words[j + k] in _EXACT_ONLY:
                    break
                joined += words[j + k]
                sim = word_similarity(e.value, joined)
                if sim >= options.fuzzy_join_similarity:
                    _relax(later, e.dst, state.step(1.1 - sim, (e.value,),
                                                    subs=tuple(range(j, j + k + 1))), limit)
            for e2 in graph.steps[e.dst]:  # "cancel" heard for "can sell"
                if e2.kind == "lit" and e2.value not in _EXACT_ONLY:
                    sim = word_similarity(e.value + e2.value, word)
                    if sim >= options.fuzzy_join_similarity:
                        _relax(nxt, e2.dst, state.step(1.1 - sim, (e.value, e2.value), subs=(j,)),
                               limit)


def fuzzy_search(graph: PatternGraph, words: Sequence[str], options: DetectorOptions,
                 lo: int = 0, hi: int | None = None,
                 starts: frozenset[int] = frozenset({0})) -> FuzzyHit | None:
    """Cheapest acceptable alignment of a pattern graph with a stretch of ``words[lo:hi]``.

    Word-level edit distance against every path of the pattern, free to start and
    end anywhere in the text: a sound-alike word costs 1 - similarity, a missing
    short function word ``fuzzy_delete_cost``, an extra heard word
    ``fuzzy_insert_cost``.  See ``_acceptable`` for what a hit needs.
    """
    hi = len(words) if hi is None else hi
    han = any(_is_han(w) for w in graph.literals)
    limit = _Limit(options.fuzzy_max_cost * graph.longest, max(1, graph.longest // 3),
                   options.fuzzy_max_gaps)
    pending: list[States] = [{} for _ in range(hi - lo + 3)]
    best: tuple[float, int, _State] | None = None
    for j in range(lo, hi + 1):
        states = pending[j - lo]
        _relax(states, 0, _State(0.0, j), limit)
        _settle(graph, states, options, j in starts, limit)
        done = states.get(graph.accept)
        acceptable = done is not None and done.begin < j and _acceptable(done, han, options)
        # cheapest first; among equals the earliest start, then the longest span
        if done is not None and acceptable and (
                best is None or (done.cost, done.begin) <= (best[0], best[2].begin)):
            best = (done.cost, j - 1, done)
        if j < hi:
            ahead = [pending[j - lo + k] for k in (2, 3) if j + k <= hi]
            _consume(graph, states, words, j, pending[j - lo + 1], ahead, options, limit)
    if best is None:
        return None
    cost, last, state = best
    return FuzzyHit(state.begin, last, cost, state.subs)


def _acceptable(state: _State, han: bool, options: DetectorOptions) -> bool:
    """Enough context, mostly heard exactly, few errors, something actually fuzzy.

    Context: ``fuzzy_min_words`` pattern words, or two long ones ("company policy",
    ``fuzzy_min_chars`` letters); Chinese ``fuzzy_min_chars_han`` characters.
    Half the pattern words (two from three on) must be heard exactly, and at most
    one word in three may be a sound-alike.
    """
    if han:
        enough = state.lits >= options.fuzzy_min_chars_han
    else:
        enough = state.lits >= options.fuzzy_min_words or (
            state.lits == 2 and state.chars >= options.fuzzy_min_chars)
    needed = max(2 if state.lits >= 3 else 1, math.ceil(state.lits / 2))
    return (
        enough
        and state.exact >= needed
        and state.cost <= options.fuzzy_max_cost * state.lits
        and state.gaps <= options.fuzzy_max_gaps
        and state.errors <= max(1, state.lits // 3)
        and (state.errors > 0 or state.gaps > 0)
    )


def _fuzzy_possible(graph: PatternGraph, present: frozenset[str] | set[str]) -> bool:
    """Cheap test: no hit unless most words every path needs are heard exactly."""
    if not graph.anchors & present:
        return False
    return len(graph.mandatory - present) <= max(1, len(graph.mandatory) // 3)


def fuzzy_find(graph: PatternGraph, words: Sequence[str], options: DetectorOptions,
               starts: frozenset[int] = frozenset({0})) -> FuzzyHit | None:
    """Search only where the pattern could be: around its exactly heard words."""
    where = [i for i, w in enumerate(words) if w in graph.anchors]
    best = None
    # a telling pattern word heard as such anchors the search; a long utterance is
    # searched only around those words
    for lo, hi in _around(where, graph.longest + 1, len(words)):
        hit = fuzzy_search(graph, words, options, lo, hi, starts)
        if hit and (best is None or (hit.cost, hit.first) < (best.cost, best.first)):
            best = hit
    return best
