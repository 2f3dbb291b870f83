"""Pack regexes: compiled with the ``regex`` module, whose matches take a time limit, and
checked for the shapes that backtrack catastrophically.

A backtracking engine given ``(\\w+\\s?)*!`` and a 60-character line tries every way of
cutting the line into words: minutes, during which the call's phrase check hangs.  Two
defences: pack checks refuse the shapes known to do it (``catastrophic``: a repeat whose
body can match one text in more than one way, e.g. ``(a+)+``, ``(\\w+\\s?)*``,
``(a|aa)*``), lint also times each regex on adversarial lines (``slow_probe``), and the
detector gives every match a time limit, so what slips through still cannot freeze a call.
"""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parse
import string
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import regex

# the characters first-sets are computed over; each pattern adds its own literals
_ALPHABET = frozenset(string.ascii_letters + string.digits + " \t\n_'.,!?-" + "中文é")
_CATEGORIES = {
    sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s", sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W",
    sre.CATEGORY_LINEBREAK: r"\n", sre.CATEGORY_NOT_LINEBREAK: r"[^\n]",
}
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
_MIN_OUTER = 3  # a repeat of at most two rounds only squares the work: not catastrophic

RegexError = regex.error  # what compile_regex raises for a pattern that does not compile

Items = Sequence[tuple[Any, Any]]


def compile_regex(source: str) -> regex.Pattern[str]:
    """``VERSION0``: the syntax and meaning of ``re``, plus a ``timeout=`` on every match."""
    return regex.compile(source, flags=regex.VERSION0)


def catastrophic(source: str) -> str | None:
    """Why the pattern can backtrack exponentially, or None when its shape is safe.

    Structural, on the parse tree: a repeat (of three rounds or more) whose body holds a
    choice, such as an inner repeat deciding whether to go on or stop, or alternatives,
    that can begin on the same character as what follows it, the next round included.
    Atomic groups and possessive repeats never backtrack and are left alone.  A pattern
    only the ``regex`` module reads is judged on what the standard parser can read, or
    not at all (``slow_probe`` still times it).
    """
    parsed = _parse(source)
    if parsed is None:
        return None
    shape = _Shape(parsed)
    try:
        for _, hi, body in shape.repeats(parsed):
            if hi != sre.MAXREPEAT and hi < _MIN_OUTER:
                continue
            first, _ = shape.first(body)
            reason = shape.ambiguous(body, first)
            if reason:
                return reason
    except RecursionError:
        return "its groups are nested too deeply to check"
    return None


def slow_probe(pattern: regex.Pattern[str], source: str, timeout: float) -> str | None:
    """A line (of the normalised kind: lower-case words, spaces) on which ``pattern`` takes
    longer than ``timeout`` seconds, or None when it stays quick on every probe."""
    for text in _probes(source):
        try:
            pattern.search(text, timeout=timeout)
        except TimeoutError:
            return text
    return None


def _parse(source: str) -> Any:
    # \p{..} is regex-only syntax; for the shape, a letter class is as good as \w
    plain = re.sub(r"\\p\{[^}]*\}|\\p[A-Za-z]", r"\\w", source)
    plain = re.sub(r"\\P\{[^}]*\}|\\P[A-Za-z]", r"\\W", plain)
    try:
        return sre_parse.parse(plain)
    except (re.error, RecursionError, OverflowError):
        return None


class _Shape:
    """First-character sets and choices over one parsed pattern."""

    def __init__(self, parsed: Any):
        self.ignorecase = bool(parsed.state.flags & re.IGNORECASE)
        self.alphabet = _ALPHABET | frozenset(chr(c) for c in _literals(parsed))
        self.dot = self.alphabet if parsed.state.flags & re.DOTALL else self.alphabet - {"\n"}

    def repeats(self, items: Items) -> Iterator[tuple[int, int, Items]]:
        """Every backtracking repeat in the tree, outermost first."""
        for op, av in items:
            if op in _REPEATS:
                yield av
            yield from (r for sub in _children(op, av) for r in self.repeats(sub))

    def first(self, items: Items) -> tuple[frozenset[str], bool]:
        """The characters a match of ``items`` can begin with, and whether it can be empty."""
        chars: set[str] = set()
        for op, av in items:
            more, empty = self._first_item(op, av)
            chars |= more
            if not empty:
                return frozenset(chars), False
        return frozenset(chars), True

    def _first_item(self, op: Any, av: Any) -> tuple[frozenset[str], bool]:
        if op is sre.LITERAL:
            return self._literal(av), False
        if op is sre.NOT_LITERAL:
            return self.alphabet - self._literal(av), False
        if op is sre.ANY:
            return self.dot, False
        if op is sre.IN:
            return self._in(av), False
        if op in (*_REPEATS, sre.POSSESSIVE_REPEAT):
            chars, empty = self.first(av[2])
            return chars, empty or av[0] == 0
        if op in (sre.BRANCH, sre.GROUPREF_EXISTS):
            alts = [self.first(alt) for alt in _children(op, av)]
            return frozenset().union(*(c for c, _ in alts)), any(e for _, e in alts)
        if op in (sre.SUBPATTERN, sre.ATOMIC_GROUP):
            return self.first(next(iter(_children(op, av))))
        return frozenset(), True  # anchors, lookarounds, back-references: nothing certain

    def ambiguous(self, items: Items, follow: frozenset[str]) -> str | None:
        """A choice in ``items`` (followed by text starting with ``follow``) that can go
        either way on the same character; the reason, for the message."""
        for i, (op, av) in enumerate(items):
            rest, empty = self.first(items[i + 1:])
            reason = self._ambiguous_item(op, av, rest | follow if empty else rest)
            if reason:
                return reason
        return None

    def _ambiguous_item(self, op: Any, av: Any, follow: frozenset[str]) -> str | None:
        if op in _REPEATS:
            lo, hi, body = av
            first, _ = self.first(body)
            if lo != hi and first & follow:
                return ("a repeat inside a repeat can match the same text in many ways "
                        r"(as in (a+)+ or (\w+\s?)*)")
            return self.ambiguous(body, first | follow if hi != 1 else follow)
        if op in (sre.BRANCH, sre.GROUPREF_EXISTS):
            alts = [self.first(alt) for alt in _children(op, av)]
            starts = [c for c, _ in alts]
            if any(a & b for i, a in enumerate(starts) for b in starts[i + 1:]) or (
                    any(e for _, e in alts) and frozenset().union(*starts) & follow):
                return ("alternatives inside a repeat can match the same text in many ways "
                        "(as in (a|aa)*)")
            return next((r for alt in _children(op, av) if (r := self.ambiguous(alt, follow))),
                        None)
        if op is sre.SUBPATTERN:
            return self.ambiguous(av[-1], follow)
        return None  # atomic groups and possessive repeats never give back what they took

    def _literal(self, code: int) -> frozenset[str]:
        char = chr(code)
        if self.ignorecase:
            return frozenset(c for c in self.alphabet if c.lower() == char.lower())
        return frozenset({char})

    def _in(self, items: Items) -> frozenset[str]:
        negate = bool(items) and items[0][0] is sre.NEGATE
        found = set()
        for char in self.alphabet:
            forms = {char, char.lower(), char.upper()} if self.ignorecase else {char}
            hit = any(_in_item(op, av, c) for c in forms for op, av in items)
            if hit != negate:
                found.add(char)
        return frozenset(found)


def _in_item(op: Any, av: Any, char: str) -> bool:
    if op is sre.LITERAL:
        return char == chr(av)
    if op is sre.RANGE:
        return av[0] <= ord(char) <= av[1]
    if op is sre.CATEGORY:
        return re.fullmatch(_CATEGORIES.get(av, r"(?!)"), char) is not None
    return False


def _children(op: Any, av: Any) -> Iterable[Items]:
    """The item lists directly inside one parsed item."""
    if op in (*_REPEATS, sre.POSSESSIVE_REPEAT):
        return [av[2]]
    if op is sre.SUBPATTERN:
        return [av[-1]]
    if op is sre.BRANCH:
        return av[1]
    if op is sre.GROUPREF_EXISTS:
        return [av[1], av[2] or []]
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [av[1]]
    if op is sre.ATOMIC_GROUP:
        return [av]
    return []


def _literals(items: Items) -> Iterator[int]:
    for op, av in items:
        if op in (sre.LITERAL, sre.NOT_LITERAL):
            yield av
        elif op is sre.IN:
            yield from (v for o, v in av if o is sre.LITERAL)
        for sub in _children(op, av):
            yield from _literals(sub)


def _runs(items: Items) -> Iterator[str]:
    """Runs of literal characters, the words a pattern is looking for."""
    run = ""
    for op, av in items:
        if op is sre.LITERAL:
            run += chr(av)
            continue
        if run:
            yield run
        run = ""
        for sub in _children(op, av):
            yield from _runs(sub)
    if run:
        yield run


def _probes(source: str, length: int = 120) -> Iterator[str]:
    """Lines that make a backtracking pattern try many ways before failing: one piece
    repeated (a letter, a word and a space, the pattern's own words) and a bad ending."""
    parsed = _parse(source)
    own = sorted(set(_runs(parsed)), key=len, reverse=True)[:6] if parsed is not None else []
    pieces = dict.fromkeys(["a", "a ", "ab ", "1", "中", *own, *(w + " " for w in own)])
    for piece in pieces:
        body = piece * max(1, length // len(piece))
        for ending in ("", "!", " !"):
            yield body + ending
