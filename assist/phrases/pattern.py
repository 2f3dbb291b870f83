"""The phrase-pattern language: parsing and exact matching over normalised words."""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from .normalize import normalize


class PatternError(ValueError):
    """A pattern that does not parse; the message says why."""


@dataclass(frozen=True)
class Lit:
    word: str


@dataclass(frozen=True)
class Prefix:
    stem: str


@dataclass(frozen=True)
class AnyWord:
    pass


@dataclass(frozen=True)
class Start:
    """``^``: the start of a sentence."""


@dataclass(frozen=True)
class Gap:
    """``**``: zero to ``size`` words."""

    size: int = 3


@dataclass(frozen=True)
class Alt:
    options: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Pattern:
    """A parsed pattern: a sequence, or two sequences ``within`` a distance of each other."""

    source: str
    seq: tuple[Any, ...]
    near: tuple[Any, ...] | None = None
    distance: int = 0

    @cached_property
    def graph(self) -> PatternGraph:
        return compile_graph(self.seq)

    @cached_property
    def near_graph(self) -> PatternGraph | None:
        return compile_graph(self.near) if self.near else None


_SYNTAX_RE = re.compile(r"\*\*|\*|\^|[()|\[\]]")
_WITHIN_RE = re.compile(
    r"(?:^|\s+)within\s+(\d+)\s+(?:words?|chars?|characters?|字)\s+of(?:\s+|$)", re.IGNORECASE)


def _lex(source: str) -> list[tuple[str, str]]:
    """Split a pattern into syntax marks and normalised words; 'calm*' becomes a prefix."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _SYNTAX_RE.finditer(source):
        chunk = source[pos:m.start()]
        words = normalize(chunk).words if chunk.strip() else []
        mark = m.group()
        glued = mark == "*" and chunk and not chunk[-1].isspace() and words
        out.extend(("word", w) for w in (words[:-1] if glued else words))
        out.append(("prefix", words[-1]) if glued else ("mark", mark))
        pos = m.end()
    out.extend(("word", w) for w in normalize(source[pos:]).words)
    return out


def _parse_seq(lexed: list[tuple[str, str]], i: int, closers: str) -> tuple[tuple[Any, ...], int]:
    items: list[Any] = []
    while i < len(lexed):
        kind, value = lexed[i]
        if kind == "word":
            items.append(Lit(value))
        elif kind == "prefix":
            items.append(Prefix(value))
        elif value == "*":
            items.append(AnyWord())
        elif value == "**":
            items.append(Gap())
        elif value == "^":
            items.append(Start())
        elif value in closers:
            return tuple(items), i
        elif value in "([":
            options, i = _parse_group(lexed, i + 1, ")" if value == "(" else "]")
            if value == "[":
                options = (*options, ())  # [optional words] or [a|b]: optional choice
            items.append(Alt(options))
        else:
            raise PatternError(f"unexpected '{value}'")
        i += 1
    if closers:
        raise PatternError(f"missing '{closers[-1]}'")
    return tuple(items), i


def _parse_group(lexed, i: int, closer: str) -> tuple[tuple[tuple[Any, ...], ...], int]:
    options = []
    while True:
        seq, i = _parse_seq(lexed, i, "|" + closer)
        options.append(seq)
        if lexed[i][1] == closer:
            break
        i += 1
    if not any(options):
        raise PatternError("empty group")
    return tuple(options), i


def _parse_side(text: str) -> tuple[Any, ...]:
    seq, _ = _parse_seq(_lex(text), 0, "")
    if not any(_has_literal(item) for item in seq):
        raise PatternError("a pattern needs at least one word that is not a wildcard")
    return seq


def _has_literal(item: Any) -> bool:
    if isinstance(item, Lit | Prefix):
        return True
    if isinstance(item, Alt):
        return all(any(_has_literal(x) for x in opt) for opt in item.options if opt)
    return False


def parse_pattern(source: str) -> Pattern:
    """Parse one pattern; raises PatternError with a short reason."""
    parts = _WITHIN_RE.split(source.strip())
    if len(parts) == 1:
        return Pattern(source, _parse_side(parts[0]))
    if len(parts) != 3:
        raise PatternError("only one 'within N words of' per pattern")
    if not parts[0].strip() or not parts[2].strip():
        raise PatternError("'within N words of' needs words on both sides")
    return Pattern(source, _parse_side(parts[0]), _parse_side(parts[2]), int(parts[1]))


def _near(a: list[tuple[int, int]], b: list[tuple[int, int]], distance: int):
    """First pair of spans at most ``distance`` words apart, in either order, as one span."""
    best = None
    for (a0, a1), (b0, b1) in itertools.product(a, b):
        gap = b0 - a1 - 1 if b0 > a1 else a0 - b1 - 1
        if a0 <= b1 and b0 <= a1:
            continue  # overlapping: the same words cannot be both sides
        if gap <= distance:
            span = (min(a0, b0), max(a1, b1))
            if best is None or span < best:
                best = span
    return best


def match_pattern(pattern: Pattern, words: Sequence[str],
                  starts: frozenset[int] = frozenset({0}),
                  present: frozenset[str] | None = None) -> tuple[int, int] | None:
    """The earliest (then longest) token span, inclusive, where ``pattern`` matches.

    ``starts`` are the token indexes that begin a sentence, for ``^``; ``present``
    (the set of ``words``) lets a pattern whose required words are absent bail out.
    """
    present = frozenset(words) if present is None else present
    graph = pattern.graph
    if not graph.possible(present):
        return None
    spans = graph_spans(graph, words, starts)
    if pattern.near is None or not spans:
        return min(spans, key=lambda s: (s[0], -s[1])) if spans else None
    near = pattern.near_graph
    if near is None or not near.possible(present):
        return None
    return _near(spans, graph_spans(near, words, starts), pattern.distance)


# Words too common to pick candidate patterns by; they still count when aligning.
_STOPWORDS = frozenset({
    "a", "an", "the", "i", "you", "we", "he", "she", "it", "they", "me", "my", "your", "our",
    "to", "of", "in", "on", "at", "for", "and", "or", "but", "is", "are", "am", "was", "were",
    "be", "been", "do", "does", "did", "not", "no", "so", "that", "this", "with", "have", "has",
    "had", "will", "would", "can", "could", "just", "please", "ok", "sir", "maam", "madam",
    "我", "你", "您", "的", "了", "是", "不", "们", "这", "那", "一", "个", "在", "有", "就", "吧",
})


@dataclass(frozen=True)
class Edge:
    """A step of a pattern graph: one pattern word (or wildcard), or nothing (``eps``)."""

    dst: int
    kind: str  # "lit", "pre", "any", "start" (^) or "eps"
    value: str = ""


@dataclass
class PatternGraph:
    """A pattern side as a small acyclic automaton, for alignment with recognition errors.

    Nodes are numbered so every edge goes to a higher number, which lets one pass
    in node order settle the steps that consume no heard word.
    """

    edges: list[list[Edge]]
    accept: int
    literals: frozenset[str]
    anchors: frozenset[str]
    initial: frozenset[int]  # nodes reached from the start without a word
    final: frozenset[int]  # nodes that reach the end without a word
    longest: int
    mandatory: frozenset[str]  # words on every path
    prefixes: bool = False  # has a word* step, so literals alone cannot locate a match
    free: list[list[Edge]] = field(default_factory=list)  # per node: eps and ^ edges
    steps: list[list[Edge]] = field(default_factory=list)  # per node: edges that take a word

    def __post_init__(self) -> None:
        self.free = [[e for e in out if e.kind in ("eps", "start")] for out in self.edges]
        self.steps = [[e for e in out if e.kind not in ("eps", "start")] for out in self.edges]
        self.prefixes = any(e.kind == "pre" for out in self.edges for e in out)

    @property
    def size(self) -> int:
        return len(self.edges)

    def possible(self, present: frozenset[str]) -> bool:
        """Cheap test: could the pattern match a text made of these words exactly?"""
        return self.mandatory <= present if self.mandatory else bool(self.literals & present)


def _build(seq: tuple[Any, ...], edges: list[list[Edge]], node: int) -> int:
    def new() -> int:
        edges.append([])
        return len(edges) - 1

    for item in seq:
        if isinstance(item, Start):
            target = new()
            edges[node].append(Edge(target, "start"))
            node = target
            continue
        if isinstance(item, Lit | Prefix | AnyWord):
            kind = "lit" if isinstance(item, Lit) else "pre" if isinstance(item, Prefix) else "any"
            value = getattr(item, "word", getattr(item, "stem", ""))
            target = new()
            edges[node].append(Edge(target, kind, value))
            node = target
            continue
        ends = []
        options = item.options if isinstance(item, Alt) else [
            (AnyWord(),) * n for n in range(item.size + 1)]
        for option in options:
            ends.append(_build(option, edges, node) if option else node)
        join = new()
        for end in ends:
            edges[end].append(Edge(join, "eps"))
        node = join
    return node


def _closure(edges: list[list[Edge]], nodes: set[int], forward: bool) -> frozenset[int]:
    seen = set(nodes)
    changed = True
    while changed:
        changed = False
        for u, out in enumerate(edges):
            for e in out:
                if e.kind not in ("eps", "start"):
                    continue
                a, b = (u, e.dst) if forward else (e.dst, u)
                if a in seen and b not in seen:
                    seen.add(b)
                    changed = True
    return frozenset(seen)


@cache
def compile_graph(seq: tuple[Any, ...]) -> PatternGraph:
    """The automaton of a pattern side (cached: packs compile once)."""
    edges: list[list[Edge]] = [[]]
    accept = _build(seq, edges, 0)
    lits = frozenset(e.value for out in edges for e in out if e.kind == "lit")
    longest = [0] * len(edges)
    must: list[frozenset[str] | None] = [frozenset()] + [None] * (len(edges) - 1)
    for u, out in enumerate(edges):
        for e in out:
            longest[e.dst] = max(longest[e.dst], longest[u] + (e.kind not in ("eps", "start")))
            before, after = must[u], must[e.dst]
            if before is not None:
                here = before | {e.value} if e.kind == "lit" else before
                must[e.dst] = here if after is None else after & here
    return PatternGraph(
        edges, accept, lits, frozenset(w for w in lits if w not in _STOPWORDS) or lits,
        _closure(edges, {0}, True), _closure(edges, {accept}, False), longest[accept],
        must[accept] or frozenset())


def _exact_step(edge: Edge, word: str) -> bool:
    if edge.kind == "lit":
        return edge.value == word
    if edge.kind == "pre":
        return word.startswith(edge.value)
    return edge.kind == "any"


def _in_order(heap: list[int]) -> Iterable[int]:
    """Pop nodes lowest first, including ones pushed while iterating.

    Every edge goes to a higher node, so when a node comes out all its
    word-free predecessors have been handled.
    """
    heapq.heapify(heap)
    seen: set[int] = set()
    while heap:
        u = heapq.heappop(heap)
        if u not in seen:
            seen.add(u)
            yield u


def graph_spans(graph: PatternGraph, words: Sequence[str],
                starts: frozenset[int] = frozenset({0})) -> list[tuple[int, int]]:
    """Every exact match of a pattern side as (first, last) token indexes.

    A set-of-states run of the automaton, each state remembering the positions its
    threads began at, so big alternations cost one pass instead of backtracking.
    Only the stretch around the pattern's words is scanned: a match contains one.
    """
    if graph.prefixes:
        return _spans_between(graph, words, starts, 0, len(words))
    # every match holds all the mandatory words (or, without any, one of the literals)
    needles = graph.mandatory & graph.anchors or graph.mandatory or graph.literals
    where = [i for i, w in enumerate(words) if w in needles]
    spans: list[tuple[int, int]] = []
    for lo, hi in _around(where, graph.longest, len(words)):
        spans.extend(_spans_between(graph, words, starts, lo, hi))
    return sorted(set(spans))


def _around(positions: list[int], reach: int, size: int) -> list[tuple[int, int]]:
    """Merged stretches [p - reach, p + reach] around positions: where a match can lie."""
    stretches: list[list[int]] = []
    for p in positions:
        lo, hi = max(0, p - reach), min(size, p + reach + 1)
        if stretches and lo <= stretches[-1][1]:
            stretches[-1][1] = max(stretches[-1][1], hi)
        else:
            stretches.append([lo, hi])
    return [(lo, hi) for lo, hi in stretches]


def _spans_between(graph: PatternGraph, words: Sequence[str], starts: frozenset[int],
                   lo: int, hi: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    active: dict[int, frozenset[int]] = {}
    for j in range(lo, hi + 1):
        begins = dict(active)
        begins[0] = begins.get(0, frozenset()) | {j}
        at_start = j in starts or j == 0
        heap = list(begins)
        for u in _in_order(heap):
            for e in graph.free[u]:
                if e.kind == "eps" or at_start:
                    begins[e.dst] = begins.get(e.dst, frozenset()) | begins[u]
                    heapq.heappush(heap, e.dst)
        spans.extend((b, j - 1) for b in sorted(begins.get(graph.accept, ())) if b < j)
        if j == hi:
            break
        active = {}
        word = words[j]
        for u, b in begins.items():
            for e in graph.steps[u]:
                if _exact_step(e, word):
                    active[e.dst] = active.get(e.dst, frozenset()) | b
    return spans
