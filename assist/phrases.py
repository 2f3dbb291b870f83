"""Banned-phrase detection: flag what an agent should not say, robust to ASR errors and paraphrase.

A phrase pack (``phrases/<language>.toml``) lists entries; each entry has
patterns in a small Contact-Lens-like syntax (see ``phrases/README.md``),
``examples`` for the semantic matcher and ``not`` lines that must never fire.
Three matchers run in order of trust and the first one that fires wins for an
entry, so an utterance gets at most one flag per phrase:

- **exact**: the patterns over normalised words (Chinese: characters);
- **fuzzy**: the same patterns aligned word by word with sound-alike and
  spelling-alike words allowed (metaphone for English, pinyin for Chinese), so
  "please come down" still means "please calm down";
- **semantic**: each sentence of the utterance (long ones as sliding windows) is
  embedded in one batch and scored by a small classifier fitted at load on the
  pack's ``examples`` (against its ``not`` and ``neutral`` lines); a window must
  also resemble an example more than any ``not`` line.  It only looks where the
  patterns found nothing.

Pattern and fuzzy matching run a compiled automaton of each pattern over the
normalised words; only the stretch around the pattern's own words is searched.

Partial text may raise an early flag (``final=False``, exact and fuzzy only).
The next utterance from the same speaker settles it: a final flag for the same
phrase confirms it; no final flag means it is withdrawn.  Consumers therefore
drop unconfirmed early flags when that speaker's utterance arrives.  An early
flag's start and end are both the partial's start: word times come with the
final utterance.
"""

from __future__ import annotations

import difflib
import heapq
import itertools
import math
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any

from .analyzer import Analyzer
from .errors import AssistError
from .events import AGENT, CUSTOMER, Flag, Partial, Utterance, Word
from .resources import shipped

MATCHERS = ("exact", "fuzzy", "semantic")
SEVERITIES = ("low", "medium", "high")
ENTRY_SPEAKERS = (AGENT, CUSTOMER, "any")
PACK_KEYS = {"language", "description", "neutral", "phrase"}
ENTRY_KEYS = {
    "id", "severity", "speaker", "why", "say_instead", "patterns", "regex", "examples", "not",
    "allow",
    "threshold",
}
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# --------------------------------------------------------------------------- normalisation

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(
    rf"(?P<han>[{_HAN}])"
    r"|(?P<num>\d+(?:[.,]\d+)*)"
    rf"|(?P<word>[^\W\d_{_HAN}]+(?:'[^\W\d_{_HAN}]+)*)"
    r"|(?P<stop>[.!?;。！？；…]+)"
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'"})

# Fillers carry no meaning and recognisers insert them freely; dropping them lets
# "calm, um, down" match "calm down".
_FILLERS = frozenset(["um", "umm", "uh", "uhh", "uhm", "er", "erm", "hmm", "mm", "mhm", "ah"])
_SLANG = {
    "gonna": "going to", "wanna": "want to", "gotta": "got to", "okay": "ok", "cannot": "can not",
    "can't": "can not", "won't": "will not", "shan't": "shall not", "ain't": "is not",
    "let's": "let us", "ma'am": "maam", "y'all": "you all",
    # Recognisers and hurried typists drop the apostrophe; only forms that are not
    # themselves words are listed ("its", "were", "well", "lets" stay as they are).
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "cant": "can not",
    "couldnt": "could not", "shouldnt": "should not", "wouldnt": "would not",
    "isnt": "is not", "arent": "are not", "wasnt": "was not", "werent": "were not",
    "havent": "have not", "hasnt": "has not", "hadnt": "had not", "wont": "will not",
    "youve": "you have", "youre": "you are", "theyre": "they are", "ive": "i have",
    "im": "i am", "thats": "that is", "whats": "what is", "weve": "we have",
    "youll": "you will", "theyll": "they will", "shes": "she is", "hes": "he is",
}
_SUFFIXES = (("n't", " not"), ("'re", " are"), ("'ve", " have"), ("'ll", " will"),
             ("'d", " would"), ("'m", " am"))
_S_IS = frozenset(["it", "that", "what", "there", "here", "he", "she", "who", "where", "how", "this"])

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ZH_DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True)
class Token:
    """One normalised word (or one Han character) and where it came from.

    Attributes:
        text: the normalised form (lower case, contractions expanded, numbers in words).
        start: offset of the first source character in the original text.
        end: offset just past the last source character.
        sentence: index of the sentence it belongs to (split at . ! ? ; and 。！？；).
        han: True for a Chinese character; those have no word boundaries.
    """

    text: str
    start: int
    end: int
    sentence: int = 0
    han: bool = False


@dataclass(frozen=True)
class Normalized:
    """A text and its normalised tokens."""

    text: str
    tokens: tuple[Token, ...]

    @property
    def words(self) -> list[str]:
        return [t.text for t in self.tokens]

    @property
    def starts(self) -> frozenset[int]:
        """Indexes of tokens that begin a sentence (what ``^`` in a pattern matches)."""
        toks = self.tokens
        return frozenset(i for i in range(len(toks)) if i == 0 or toks[i - 1].sentence != toks[i].sentence)

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Character span of tokens ``first..last`` (inclusive) in the original text."""
        return self.tokens[first].start, self.tokens[last].end


def _en_number(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            rest = n % size
            return f"{_en_number(n // size)} {name}" + (f" {_en_number(rest)}" if rest else "")
    return str(n)  # unreachable


def _zh_number(n: int) -> str:
    if n < 10:
        return _ZH_DIGITS[n]
    if n >= 100000:
        return "".join(_ZH_DIGITS[int(d)] for d in str(n))
    out, zero = "", False
    for value, unit in ((10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = (n // value) % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += ("" if (unit == "十" and digit == 1 and not out) else _ZH_DIGITS[digit]) + unit
    return out


def _number_words(raw: str, chinese: bool) -> list[str]:
    """Spell a number the way a recogniser might have: '5' and 'five' must meet."""
    raw = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", raw)  # 1,000.50 → 1000.50
    if "." in raw or "," in raw:
        whole, _, frac = raw.replace(",", ".").partition(".")
        point = "点" if chinese else "point"
        digits = [_ZH_DIGITS[int(d)] if chinese else _ONES[int(d)] for d in frac if d.isdigit()]
        return _number_words(whole, chinese) + [point, *digits]
    if len(raw) > 9 or (len(raw) > 1 and raw.startswith("0")):
        # account and phone numbers are read digit by digit
        return [_ZH_DIGITS[int(d)] if chinese else _ONES[int(d)] for d in raw]
    n = int(raw)
    return list(_zh_number(n)) if chinese else _en_number(n).split()


def _expand_word(word: str) -> list[str]:
    if word in _FILLERS:
        return []
    if word in _SLANG:
        return _SLANG[word].split()
    if word.endswith("'s"):
        stem = word[:-2]
        return [stem, "is"] if stem in _S_IS else [stem]  # possessive 's carries nothing
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            return (word[: -len(suffix)] + repl).split()
    return [word.strip("'")] if word.strip("'") else []


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


def _fold(text: str) -> tuple[str, list[int]]:
    """NFKC, lower case and traditional→simplified, keeping a map back to the original."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for out in unicodedata.normalize("NFKC", ch).lower().translate(_APOSTROPHES):
            chars.append(out)
            origin.append(i)
    folded = "".join(chars)
    if re.search(f"[{_HAN}]", folded):
        simple = _t2s().convert(folded)
        # t2s is character for character almost always; when a phrase rule changes
        # the length, fall back to per-character conversion to keep offsets right.
        if len(simple) != len(folded):
            simple = "".join(_t2s().convert(c) if len(_t2s().convert(c)) == 1 else c for c in folded)
        folded = simple
    return folded, origin


@lru_cache(maxsize=4096)
def normalize(text: str) -> Normalized:
    """Tokenise ``text`` into normalised words (Chinese: characters) with source offsets."""
    folded, origin = _fold(text)
    tokens: list[Token] = []
    sentence = 0
    for m in _TOKEN_RE.finditer(folded):
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        kind = m.lastgroup
        if kind == "stop":
            sentence += 1
            continue
        if kind == "han":
            tokens.append(Token(m.group(), start, end, sentence, han=True))
            continue
        if kind == "num":
            near_han = bool(re.match(f"[{_HAN}]", folded[m.end():m.end() + 1])) or bool(
                re.match(f"[{_HAN}]", folded[max(0, m.start() - 1):m.start()]))
            words = _number_words(m.group(), near_han)
            tokens.extend(Token(w, start, end, sentence, han=near_han) for w in words)
            continue
        tokens.extend(Token(w, start, end, sentence) for w in _expand_word(m.group()))
    return Normalized(text, tuple(_should_of(tokens)))


_MODALS = frozenset({"should", "could", "would", "must", "might"})


def _should_of(tokens: list[Token]) -> list[Token]:
    """'should of' is how people and recognisers write 'should have' ('should've')."""
    out = list(tokens)
    for i, tok in enumerate(out):
        if tok.text != "of" or i == 0:
            continue
        prev = out[i - 1].text
        if prev in _MODALS or (prev == "not" and i > 1 and out[i - 2].text in _MODALS):
            out[i] = Token("have", tok.start, tok.end, tok.sentence, tok.han)
    return out


def script_of(text: str) -> str:
    """'han' when Chinese characters dominate the text, else 'latin'."""
    han = len(re.findall(f"[{_HAN}]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "han" if han and han * 2 >= latin else "latin"


def _pack_script(language: str) -> str:
    return "han" if language.split("-")[0] in {"zh", "ja", "yue", "cmn"} else "latin"


# --------------------------------------------------------------------------- patterns


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


# --------------------------------------------------------------------------- fuzzy matching

# Words too common to pick candidate patterns by; they still count when aligning.
_STOPWORDS = frozenset({
    "a", "an", "the", "i", "you", "we", "he", "she", "it", "they", "me", "my", "your", "our",
    "to", "of", "in", "on", "at", "for", "and", "or", "but", "is", "are", "am", "was", "were",
    "be", "been", "do", "does", "did", "not", "no", "so", "that", "this", "with", "have", "has",
    "had", "will", "would", "can", "could", "just", "please", "ok", "sir", "maam", "madam",
    "我", "你", "您", "的", "了", "是", "不", "们", "这", "那", "一", "个", "在", "有", "就", "吧",
})


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
            if must[u] is not None:
                here = must[u] | {e.value} if e.kind == "lit" else must[u]
                must[e.dst] = here if must[e.dst] is None else must[e.dst] & here
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
        if acceptable and (best is None or (done.cost, done.begin) <= (best[0], best[2].begin)):
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


# --------------------------------------------------------------------------- packs


@dataclass(frozen=True)
class Entry:
    """One banned phrase of a pack.

    Attributes:
        id: stable id such as ``calm-down``.
        severity: low, medium or high.
        speaker: who it applies to: agent (default), customer or any.
        why: one line a coach would say.
        say_instead: better wordings; the first is the suggestion.
        patterns: pattern sources (see phrases/README.md).
        examples: paraphrases for the semantic matcher.
        not_: near misses that must never fire (``not`` in the TOML); lint checks the
            matchers already get them right.
        allow: heard lines a coach marked as false alarms (``assist phrases learn``):
            an utterance that contains one never raises this phrase.
        regex: optional Python regexes over the normalised text.
        threshold: semantic-classifier probability needed, overriding the detector default.
        file: the pack file, for messages.
        line: the line of the entry's ``[[phrase]]`` header.
    """

    id: str
    why: str
    say_instead: tuple[str, ...]
    severity: str = "medium"
    speaker: str = AGENT
    patterns: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    not_: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    threshold: float | None = None
    file: str = ""
    line: int = 0
    compiled: tuple[Pattern, ...] = field(default=(), repr=False, compare=False)
    regexes: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)
    allow: tuple[str, ...] = ()
    allow_words: tuple[tuple[str, ...], ...] = field(default=(), repr=False, compare=False)

    def allowed(self, words: Sequence[str]) -> bool:
        """True when the utterance contains a line a coach ruled a false alarm."""
        heard = tuple(words)
        return any(_contains(heard, line) for line in self.allow_words)

    def applies_to(self, speaker: str) -> bool:
        return self.speaker == "any" or self.speaker == speaker


@dataclass
class Pack:
    """The entries of one pack file."""

    path: Path
    language: str
    entries: list[Entry]
    description: str = ""
    neutral: tuple[str, ...] = ()  # ordinary lines: negatives for the semantic matcher

    @property
    def script(self) -> str:
        return _pack_script(self.language)


@dataclass(frozen=True)
class PackProblem:
    """One problem in a pack file, printed as ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class _Lines:
    """Finds the source line of entries, keys and list items; tomllib gives no positions."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.headers = [i for i, line in enumerate(self.lines)
                        if re.match(r"\s*\[\[\s*phrase\s*\]\]", line)]

    def block(self, entry: int | None) -> tuple[int, int]:
        if entry is None:
            return 0, self.headers[0] if self.headers else len(self.lines)
        start = self.headers[entry] if entry < len(self.headers) else 0
        later = [h for h in self.headers if h > start]
        return start, later[0] if later else len(self.lines)

    def entry(self, entry: int) -> int:
        return self.block(entry)[0] + 1

    def key(self, entry: int | None, key: str) -> int:
        start, stop = self.block(entry)
        pat = re.compile(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for i in range(start, stop):
            if pat.match(self.lines[i]):
                return i + 1
        return start + 1

    def item(self, entry: int, key: str, value: str) -> int:
        first = self.key(entry, key)
        stop = self.block(entry)[1]
        needle = value[:40]
        for i in range(first - 1, stop):
            if needle in self.lines[i] or needle.replace('"', '\\"') in self.lines[i]:
                return i + 1
        return first


def _str_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _check_entry(raw: Any, idx: int, lines: _Lines, file: str) -> tuple[Entry | None, list[PackProblem]]:
    """Validate one ``[[phrase]]`` table; returns the entry (None if unusable) and problems."""
    at = lines.entry(idx)
    if not isinstance(raw, dict):
        return None, [PackProblem(file, at, "each [[phrase]] must be a table")]
    problems = []

    def bad(key: str | None, message: str, value: str | None = None) -> None:
        line = at if key is None else (
            lines.item(idx, key, value) if value is not None else lines.key(idx, key))
        problems.append(PackProblem(file, line, message))

    for key in raw:
        if key not in ENTRY_KEYS:
            close = difflib.get_close_matches(key, sorted(ENTRY_KEYS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            bad(key, f"unknown key '{key}'{hint}")
    ident = raw.get("id")
    if not isinstance(ident, str) or not _ID_RE.match(ident):
        bad("id" if "id" in raw else None,
            "missing 'id'" if ident is None else f"bad id {ident!r}: use lower-case words joined by '-'")
    label = ident if isinstance(ident, str) else f"entry {idx + 1}"
    texts: dict[str, tuple[str, ...]] = {}
    for key in ("say_instead", "patterns", "regex", "examples", "not", "allow"):
        value = _str_list(raw.get(key, []))
        if value is None:
            bad(key, f"'{key}' of '{label}' must be a string or a list of strings")
            value = ()
        texts[key] = value
    for key in ("why", "severity", "speaker"):
        if key in raw and not isinstance(raw[key], str):
            bad(key, f"'{key}' of '{label}' must be a string")
    if not isinstance(raw.get("why"), str) or not raw["why"].strip():
        bad("why" if "why" in raw else None, f"'{label}' needs a 'why' line")
    if not texts["say_instead"]:
        bad("say_instead" if "say_instead" in raw else None,
            f"'{label}' needs at least one 'say_instead' wording")
    if not (texts["patterns"] or texts["examples"] or texts["regex"]):
        bad(None, f"'{label}' needs 'patterns', 'regex' or 'examples'")
    severity = raw.get("severity", "medium")
    if severity not in SEVERITIES:
        bad("severity", f"severity of '{label}' must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    speaker = raw.get("speaker", AGENT)
    if speaker not in ENTRY_SPEAKERS:
        bad("speaker", f"speaker of '{label}' must be one of {', '.join(ENTRY_SPEAKERS)}, not {speaker!r}")
    threshold = raw.get("threshold")
    if threshold is not None and (not isinstance(threshold, int | float) or not 0 < threshold <= 1):
        bad("threshold", f"threshold of '{label}' must be a number in (0, 1]")
    compiled = []
    for source in texts["patterns"]:
        try:
            compiled.append(parse_pattern(source))
        except PatternError as exc:
            bad("patterns", f"pattern {source!r} of '{label}': {exc}", source)
    regexes = []
    for source in texts["regex"]:
        try:
            regexes.append(re.compile(source))
        except re.error as exc:
            bad("regex", f"regex {source!r} of '{label}': {exc}", source)
    if problems:
        return None, problems
    entry = Entry(
        id=ident, why=raw["why"].strip(), say_instead=texts["say_instead"], severity=severity,
        speaker=speaker, patterns=texts["patterns"], examples=texts["examples"], not_=texts["not"],
        regex=texts["regex"], threshold=float(threshold) if threshold is not None else None,
        file=file, line=at, compiled=tuple(compiled), regexes=tuple(regexes),
        allow=texts["allow"],
        allow_words=tuple(w for w in (tuple(normalize(a).words) for a in texts["allow"]) if w),
    )
    return entry, []


def _check_pack_file(path: Path) -> tuple[Pack | None, list[PackProblem], _Lines | None]:
    file = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [PackProblem(file, 1, f"cannot read: {exc}")], None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        return None, [PackProblem(file, int(m.group(1)) if m else 1, reason)], None
    lines = _Lines(text)
    problems = []
    for key in data:
        if key not in PACK_KEYS:
            close = difflib.get_close_matches(key, sorted(PACK_KEYS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(PackProblem(file, lines.key(None, key), f"unknown key '{key}'{hint}"))
    raws = data.get("phrase", [])
    if not isinstance(raws, list) or not raws:
        problems.append(PackProblem(file, 1, "no [[phrase]] entries"))
        raws = []
    language = data.get("language", path.stem)
    if not isinstance(language, str):
        problems.append(PackProblem(file, lines.key(None, "language"), "'language' must be a string"))
        language = path.stem
    entries = []
    for idx, raw in enumerate(raws):
        entry, more = _check_entry(raw, idx, lines, file)
        problems.extend(more)
        if entry is not None:
            entries.append(entry)
    seen: dict[str, int] = {}
    for idx, raw in enumerate(raws):
        ident = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(ident, str):
            continue
        if ident in seen:
            problems.append(PackProblem(
                file, lines.entry(idx), f"duplicate id '{ident}' (first at line {seen[ident]})"))
        seen.setdefault(ident, lines.entry(idx))
    neutral = _str_list(data.get("neutral", []))
    if neutral is None:
        problems.append(PackProblem(file, lines.key(None, "neutral"),
                                    "'neutral' must be a list of strings"))
    pack = Pack(path, language, entries, str(data.get("description", "")), neutral or ())
    return pack, problems, lines


def pack_files(phrases_dir: Path | None = None) -> list[Path]:
    """The pack files of a folder (the shipped ``phrases/`` by default)."""
    folder = Path(phrases_dir) if phrases_dir else shipped("phrases")
    if not folder.is_dir():
        raise AssistError(f"phrase pack folder not found: {folder}")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise AssistError(f"no phrase packs (*.toml) in {folder}")
    return files


def load_packs(phrases_dir: Path | None = None, language: str | None = None) -> list[Pack]:
    """Load and validate packs; the first problem is raised as an AssistError 'file:line: msg'.

    With ``language`` only that language's packs ("zh-CN" finds "zh"); none may match.
    """
    packs = []
    for path in pack_files(phrases_dir):
        pack, problems, _ = _check_pack_file(path)
        if problems:
            raise AssistError(str(problems[0]))
        if language is None or _primary(pack.language) == _primary(language):
            packs.append(pack)
    return packs


def add_allow_lines(phrases_dir: Path | None, phrase_id: str, lines: Iterable[str]) -> tuple[Path, int]:
    """Append false alarms to a phrase's ``allow`` list in its pack file, keeping the file's
    layout and comments; returns the file and how many new lines went in.

    The edited pack is validated before it is written, so a bad line never
    leaves a broken pack behind.
    """
    for path in pack_files(phrases_dir):
        pack, _, _ = _check_pack_file(path)
        entry = next((e for e in pack.entries if e.id == phrase_id), None)
        if entry is None:
            continue
        known = {" ".join(line) for line in entry.allow_words}
        new = []
        for line in lines:
            key = " ".join(normalize(line).words)
            if key and key not in known:
                known.add(key)
                new.append(line.strip())
        if not new:
            return path, 0
        original = path.read_text(encoding="utf-8")
        edited = _insert_list_lines(original, phrase_id, "allow", new, path)
        path.write_text(edited, encoding="utf-8")
        _, problems, _ = _check_pack_file(path)
        if problems:
            path.write_text(original, encoding="utf-8")
            raise AssistError(f"not learned, the pack would break: {problems[0]}")
        return path, len(new)
    raise AssistError(f"no phrase '{phrase_id}' in the packs of {phrases_dir or shipped('phrases')}")


def _insert_list_lines(text: str, phrase_id: str, key: str, new: list[str], path: Path) -> str:
    """Add quoted lines to the ``key = [...]`` list of one ``[[phrase]]`` entry, as text."""
    import json

    rows = text.split("\n")
    start = next((i for i, row in enumerate(rows) if re.fullmatch(
        rf'\s*id\s*=\s*["\']{re.escape(phrase_id)}["\']\s*(#.*)?', row)), None)
    if start is None:
        raise AssistError(f"{path}: cannot find the entry '{phrase_id}' to edit")
    end = next((i for i in range(start + 1, len(rows)) if rows[i].strip().startswith("[[")),
               len(rows))
    quoted = [f"  {json.dumps(line, ensure_ascii=False)}," for line in new]
    for i in range(start, end):
        if re.match(rf"\s*{key}\s*=\s*\[", rows[i]):
            if rows[i].rstrip().endswith("]"):  # a one-line list: open it up
                head, items = rows[i].split("[", 1)
                items = items.rstrip().rstrip("]").strip().rstrip(",")
                body = [f"  {items}," for _ in [0] if items]
                rows[i:i + 1] = [head + "[", *body, *quoted, "]"]
            else:
                rows[i + 1:i + 1] = quoted
            return "\n".join(rows)
    insert_at = end
    while insert_at > start + 1 and not rows[insert_at - 1].strip():
        insert_at -= 1
    rows[insert_at:insert_at] = [f"{key} = [", *quoted, "]"]
    return "\n".join(rows)


def _primary(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()


# --------------------------------------------------------------------------- detector


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
class DetectorOptions:
    """Tuning of the three matchers.

    Attributes:
        fuzzy_min_words: a pattern form needs this many literal words before sound-alikes
            count (Latin script); shorter forms are matched exactly only.
        fuzzy_min_chars: ...or two pattern words with this many letters ("company policy").
        fuzzy_min_chars_han: the same for Chinese, in characters.
        fuzzy_max_cost: alignment cost allowed per pattern word (0 = exact).
        fuzzy_insert_cost: cost of one extra heard word inside a pattern.
        fuzzy_delete_cost: cost of one short function word of the pattern not heard.
        fuzzy_max_gaps: most extra or missing words in one fuzzy hit.
        fuzzy_edge_similarity: similarity needed for a sound-alike first or last word.
        fuzzy_join_similarity: similarity needed when one heard word stands for two or
            two for one ("all ready" / "already").
        semantic_threshold: probability the semantic classifier must give a phrase to fire.
        semantic_floor: cosine similarity to some example of the phrase also needed, so
            talk unlike anything in the pack never fires.
        semantic_margin: how much closer than the nearest ``not`` line the best example must be.
        semantic_scale: embedding scale fed to the classifier (its inverse temperature).
        semantic_epochs: gradient steps when fitting the classifier at load.
        semantic_l2: weight decay of the classifier.
        semantic_min_words: windows shorter than this are not embedded (too little meaning).
        window_words: sentences longer than this are cut into sliding windows of this size.
        window_stride: step between sliding windows.
        max_windows: most windows embedded per utterance (keeps the batch cheap).
        max_unknown: share of embedder [UNK] tokens in a pack's examples above which the
            model is taken not to read that pack (an English model cannot read Chinese).
        lexical_fallback: such a pack gets paraphrase matching over its own word (Chinese:
            character) n-grams instead (CharGramEncoder); False: no paraphrase matching.
        lexical_scale: the classifier's input scale for n-gram vectors.
        lexical_threshold: probability needed to fire on n-gram vectors.
        lexical_floor: n-gram cosine similarity to some example of the phrase also needed.
    """

    fuzzy_min_words: int = 3
    fuzzy_min_chars: int = 12
    fuzzy_min_chars_han: int = 3
    fuzzy_max_cost: float = 0.3
    fuzzy_insert_cost: float = 0.5
    fuzzy_delete_cost: float = 0.6
    fuzzy_max_gaps: int = 1
    fuzzy_edge_similarity: float = 0.8
    fuzzy_join_similarity: float = 0.85
    semantic_threshold: float = 0.7
    semantic_floor: float = 0.3
    semantic_margin: float = 0.0
    semantic_scale: float = 5.0
    semantic_epochs: int = 200
    semantic_l2: float = 1e-3
    semantic_min_words: int = 3
    window_words: int = 12
    window_stride: int = 6
    max_windows: int = 12
    max_unknown: float = 0.2
    lexical_fallback: bool = True
    lexical_scale: float = 5.0
    lexical_threshold: float = 0.6
    lexical_floor: float = 0.2


@dataclass(frozen=True)
class Hit:
    """A matcher's finding before it becomes a Flag."""

    entry: Entry
    matcher: str
    span: tuple[int, int]
    score: float = 1.0


@dataclass
class _PackIndex:
    """Everything precomputed for one pack: fuzzy forms and (lazily) example embeddings."""

    pack: Pack
    graphs: dict[str, list[tuple[Pattern, PatternGraph, PatternGraph | None]]]
    not_words: dict[str, list[tuple[str, ...]]]
    examples: Any = None
    example_owner: list[int] = field(default_factory=list)
    nots: Any = None
    not_owner: list[int] = field(default_factory=list)
    classifier: SoftmaxClassifier | None = None
    semantic_ok: bool | None = None
    encoder: Any = None  # the embedding model, or a CharGramEncoder when it cannot read the pack


class PhraseDetector(Analyzer):
    """Flags banned phrases in agent (or customer) speech; see the module docstring."""

    name = "phrases"

    def __init__(
        self,
        phrases_dir: Path | None = None,
        language: str | None = None,
        embedder: Any = None,
        semantic: bool = True,
        options: DetectorOptions | None = None,
    ):
        self.options = options or DetectorOptions()
        self.language = language
        self.semantic = semantic
        self._embedder = embedder
        # A call in a language without a pack (ASR set to "fr") flags nothing rather
        # than failing the call; `assist phrases list` shows which languages exist.
        self._use(load_packs(phrases_dir, language))

    @classmethod
    def from_packs(cls, packs: list[Pack], semantic: bool = False, embedder: Any = None,
                   options: DetectorOptions | None = None) -> PhraseDetector:
        """A detector over packs already loaded (lint, tests); packs are picked by script."""
        detector = cls.__new__(cls)
        detector.options = options or DetectorOptions()
        detector.language, detector.semantic, detector._embedder = None, semantic, embedder
        detector._use(packs)
        return detector

    def _use(self, packs: list[Pack]) -> None:
        self.packs = packs
        self._index = [self._build_index(pack) for pack in packs]
        self._early: dict[str, set[str]] = {}

    # ---- setup

    def _build_index(self, pack: Pack) -> _PackIndex:
        graphs = {
            entry.id: [
                (p, p.graph, p.near_graph)
                for p in entry.compiled
            ]
            for entry in pack.entries
        }  # compiling here, not on the first utterance, keeps the first check fast
        not_words = {e.id: [tuple(normalize(line).words) for line in e.not_] for e in pack.entries}
        return _PackIndex(pack, graphs, not_words)

    def warm_up(self) -> None:
        """Load the embedding model and embed the packs before the call starts."""
        if self.semantic:
            for index in self._index:
                self._ensure_semantic(index)

    @property
    def embedder(self) -> Any:
        if self._embedder is None and self.semantic:
            from .models import load_embedder

            self._embedder = load_embedder()
        return self._embedder

    def _ensure_semantic(self, index: _PackIndex) -> bool:
        """Embed a pack's examples and not lines once.

        A pack the model cannot read gets a CharGramEncoder fitted on its own lines
        (``lexical_fallback``), or no paraphrase matching at all when that is off.
        """
        if index.semantic_ok is None:
            entries = index.pack.entries
            examples = [(i, t) for i, e in enumerate(entries) for t in e.examples]
            nots = [(i, t) for i, e in enumerate(entries) for t in e.not_]
            if examples and self._readable([t for _, t in examples]):
                index.encoder = self.embedder
            elif examples and self.options.lexical_fallback:
                index.encoder = CharGramEncoder.fit(
                    [t for _, t in examples] + [t for _, t in nots] + list(index.pack.neutral))
            index.semantic_ok = index.encoder is not None
            if index.semantic_ok:
                index.example_owner = [i for i, _ in examples]
                index.not_owner = [i for i, _ in nots]
                index.examples = self._encode([t for _, t in examples], index.encoder)
                index.nots = self._encode([t for _, t in nots], index.encoder) if nots else None
                index.classifier = self._fit(index)
        return index.semantic_ok

    def _knobs(self, index: _PackIndex) -> tuple[float, float, float]:
        """Scale, threshold and floor for a pack: the model's, or the n-gram fallback's."""
        o = self.options
        if isinstance(index.encoder, CharGramEncoder):
            return o.lexical_scale, o.lexical_threshold, o.lexical_floor
        return o.semantic_scale, o.semantic_threshold, o.semantic_floor

    def _fit(self, index: _PackIndex) -> SoftmaxClassifier:
        """A linear classifier over the embeddings: each phrase's examples against the rest.

        Nearest-example similarity alone misses most paraphrases with a small model
        (what makes "stop yelling" like "calm down" is a direction, not a point);
        the last class, 'none', learns from the ``not`` and ``neutral`` lines.
        """
        import numpy as np

        none = len(index.pack.entries)
        parts = [index.examples]
        labels = list(index.example_owner)
        if index.nots is not None:
            parts.append(index.nots)
            labels += [none] * len(index.nots)
        if index.pack.neutral:
            parts.append(self._encode(list(index.pack.neutral), index.encoder))
            labels += [none] * len(index.pack.neutral)
        opts = self.options
        return SoftmaxClassifier.fit(np.concatenate(parts) * self._knobs(index)[0],
                                     np.asarray(labels), none + 1, opts.semantic_epochs,
                                     opts.semantic_l2)

    def _readable(self, texts: list[str]) -> bool:
        tokenizer = getattr(self.embedder, "tokenizer", None)
        if tokenizer is None or not hasattr(tokenizer, "tokenize"):
            return True  # a model we cannot inspect gets the benefit of the doubt
        unk = getattr(tokenizer, "unk_token", "[UNK]")
        pieces = [p for t in texts for p in tokenizer.tokenize(t)]
        return bool(pieces) and sum(p == unk for p in pieces) / len(pieces) <= self.options.max_unknown

    def _encode(self, texts: list[str], encoder: Any):
        import numpy as np

        vectors = encoder.encode(texts, batch_size=64, convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    # ---- matching

    def packs_for(self, text: str) -> list[_PackIndex]:
        if self.language is not None:
            return self._index
        script = script_of(text)
        return [ix for ix in self._index if ix.pack.script == script]

    def check(
        self,
        text: str,
        speaker: str = AGENT,
        words: list[Word] | None = None,
        matchers: Iterable[str] = MATCHERS,
    ) -> list[Flag]:
        """Flags for one utterance's text; pure: no state is kept between calls."""
        return self._flags(text, speaker, words, tuple(matchers), 0.0, 0.0)

    def hits(self, text: str, speaker: str = AGENT, matchers: Iterable[str] = MATCHERS) -> list[Hit]:
        """At most one hit per phrase, the most trusted matcher first."""
        matchers = tuple(matchers)
        unknown = set(matchers) - set(MATCHERS)
        if unknown:
            raise AssistError(f"unknown matcher(s): {', '.join(sorted(unknown))}")
        norm = normalize(text)
        if not norm.tokens:
            return []
        found: dict[str, Hit] = {}
        indexes = self.packs_for(text)
        for index in indexes:
            entries = [e for e in index.pack.entries if e.applies_to(speaker)]
            for entry in entries:
                hit = ("exact" in matchers and self._exact(entry, norm)) or (
                    "fuzzy" in matchers and self._fuzzy(index, entry, norm))
                if hit and entry.id not in found:
                    found[entry.id] = hit
        if "semantic" in matchers and self.semantic:
            for hit in self._semantic(indexes, norm, speaker, list(found.values())):
                found.setdefault(hit.entry.id, hit)
        words = norm.words
        kept = [h for h in found.values() if not h.entry.allowed(words)]
        return sorted(kept, key=lambda h: (h.span, h.entry.id))

    def _exact(self, entry: Entry, norm: Normalized) -> Hit | None:
        words, starts, present = norm.words, norm.starts, frozenset(norm.words)
        spans = [s for s in (match_pattern(p, words, starts, present) for p in entry.compiled) if s]
        spans += [s for s in (_regex_span(r, norm) for r in entry.regexes) if s]
        if not spans:
            return None
        first, last = min(spans, key=lambda s: (s[0], -s[1]))  # earliest, then longest
        return Hit(entry, "exact", norm.span(first, last))

    def _fuzzy(self, index: _PackIndex, entry: Entry, norm: Normalized) -> Hit | None:
        words = norm.words
        present = set(words)
        best = None
        for pattern, graph, near in index.graphs.get(entry.id, ()):
            if not _fuzzy_possible(graph, present) or (near and not near.literals & present):
                continue
            span = self._fuzzy_pattern(index, entry, pattern, graph, near, words, norm.starts)
            if span and (best is None or span < best):
                best = span
        return Hit(entry, "fuzzy", norm.span(*best)) if best else None

    def _fuzzy_pattern(self, index: _PackIndex, entry: Entry, pattern: Pattern,
                       graph: PatternGraph, near: PatternGraph | None, words: Sequence[str],
                       starts: frozenset[int]) -> tuple[int, int] | None:
        found = [h for h in [fuzzy_find(graph, words, self.options, starts)]
                 if h and not self._literal_sense(index, entry, words, h)]
        if near is None:
            return (found[0].first, found[0].last) if found else None
        # "A within N words of B": one side heard with errors, the other as it is or also so
        other = [h for h in [fuzzy_find(near, words, self.options, starts)]
                 if h and not self._literal_sense(index, entry, words, h)]
        if not found and not other:
            return None
        side_a = graph_spans(graph, words, starts) + [(h.first, h.last) for h in found]
        side_b = graph_spans(near, words, starts) + [(h.first, h.last) for h in other]
        return _near(side_a, side_b, pattern.distance + 1) if side_a and side_b else None

    def _literal_sense(self, index: _PackIndex, entry: Entry, words: Sequence[str],
                       found: FuzzyHit) -> bool:
        """True when the heard words, with the word after them, occur in a ``not`` line.

        A ``not`` line such as "you'll need to come down to the branch" teaches the
        fuzzy matcher that "come down to" is meant literally, not a misheard "calm down".
        """
        if not found.subs:
            return False
        # from the last sound-alike word to one word past the hit (or one before it, at the end)
        last, sub = found.last, max(found.subs)
        stop = min(len(words), last + 2)
        start = sub if stop > last + 1 else max(0, sub - 1)
        heard = tuple(words[start:stop])
        return any(_contains(line, heard) for line in index.not_words.get(entry.id, ()))

    def _windows(self, norm: Normalized) -> list[tuple[int, int]]:
        """Token ranges (inclusive) to embed: each sentence, long ones as sliding windows."""
        opts = self.options
        sentences: dict[int, list[int]] = {}
        for i, token in enumerate(norm.tokens):
            sentences.setdefault(token.sentence, []).append(i)
        windows = []
        for idx in sentences.values():
            if len(idx) <= opts.window_words:
                windows.append((idx[0], idx[-1]))
                continue
            for s in range(0, len(idx) - opts.window_words + opts.window_stride, opts.window_stride):
                part = idx[s:s + opts.window_words]
                windows.append((part[0], part[-1]))
        windows = [w for w in windows if w[1] - w[0] + 1 >= opts.semantic_min_words] or (
            [(0, len(norm.tokens) - 1)] if len(norm.tokens) >= opts.semantic_min_words else [])
        return windows[: opts.max_windows]

    def _semantic(self, indexes: list[_PackIndex], norm: Normalized, speaker: str,
                  found: list[Hit]) -> list[Hit]:
        """The fallback for what the patterns missed.

        Windows overlapping a pattern hit are not embedded: that stretch is already
        explained, and a paraphrase model reading "take that up with the retailer,
        not us" would happily call it a second, related phrase as well.
        """
        done = {h.entry.id for h in found}
        wanted = [ix for ix in indexes
                  if any(e.applies_to(speaker) and e.examples and e.id not in done
                         for e in ix.pack.entries)]
        wanted = [ix for ix in wanted if self._ensure_semantic(ix)]
        windows = [w for w in self._windows(norm)
                   if not any(_overlaps(norm.span(*w), h.span) for h in found)]
        if not wanted or not windows:
            return []
        texts = [norm.text[slice(*norm.span(a, b))] for a, b in windows]
        vectors: dict[int, Any] = {}  # one batch per encoder, shared by the packs using it
        hits = []
        for index in wanted:
            key = id(index.encoder)
            if key not in vectors:
                vectors[key] = self._encode(texts, index.encoder)
            hits.extend(self._semantic_pack(index, vectors[key], windows, norm, speaker, done))
        return hits

    def _semantic_pack(self, index: _PackIndex, vectors, windows, norm: Normalized, speaker: str,
                       done: set[str]) -> list[Hit]:
        import numpy as np

        opts = self.options
        scale, threshold, floor = self._knobs(index)
        entries = index.pack.entries
        probs = index.classifier.predict(vectors * scale)  # windows x classes
        sims = vectors @ index.examples.T  # windows x examples
        nsims = vectors @ index.nots.T if index.nots is not None else None
        owner = np.asarray(index.example_owner)
        not_owner = np.asarray(index.not_owner)
        hits = []
        for e_idx, entry in enumerate(entries):
            if entry.id in done or not entry.applies_to(speaker) or not entry.examples:
                continue
            near = sims[:, owner == e_idx].max(axis=1)
            if nsims is not None and (not_owner == e_idx).any():
                held = nsims[:, not_owner == e_idx].max(axis=1)
            else:
                held = np.full(len(windows), -1.0)
            prob = probs[:, e_idx]
            ok = ((prob >= (entry.threshold or threshold))
                  & (near >= floor) & (near - held >= opts.semantic_margin))
            if ok.any():
                w = int(np.argmax(np.where(ok, prob, -1.0)))
                hits.append(Hit(entry, "semantic", norm.span(*windows[w]), float(prob[w])))
        return hits

    # ---- flags and streaming

    def _flags(self, text: str, speaker: str, words: list[Word] | None, matchers: tuple[str, ...],
               start: float, end: float) -> list[Flag]:
        flags = []
        for hit in self.hits(text, speaker, matchers):
            times = _word_times(text, words or [], hit.span)
            first, last = times if times else (start, end)
            flags.append(Flag(
                phrase=hit.entry.id, speaker=speaker, text=text[hit.span[0]:hit.span[1]],
                start=first, end=last, severity=hit.entry.severity,
                suggestion=hit.entry.say_instead[0], why=hit.entry.why, matcher=hit.matcher,
                span=hit.span,
            ))
        return flags

    def start(self, call_id: str | None = None) -> list[Flag]:
        self._early.clear()
        return []

    def feed(self, utterance: Utterance) -> list[Flag]:
        """Final flags; they also settle the speaker's early flags (see module docstring)."""
        self._early.pop(utterance.speaker, None)
        if not utterance.text.strip():
            return []
        return self._flags(utterance.text, utterance.speaker, utterance.words, MATCHERS,
                           utterance.start, utterance.end)

    def feed_partial(self, partial: Partial) -> list[Flag]:
        """Early flags (final=False) from the cheap matchers, once per phrase per utterance."""
        text = partial.stable_text  # tentative words may still change: never flag on them
        if not text.strip():
            return []
        raised = self._early.setdefault(partial.speaker, set())
        flags = []
        # a partial has no word times yet: both ends are the utterance's start
        for flag in self._flags(text, partial.speaker, None, ("exact", "fuzzy"),
                                partial.start, partial.start):
            if flag.phrase not in raised:
                raised.add(flag.phrase)
                flag.final = False
                flags.append(flag)
        return flags


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def _regex_span(regex: re.Pattern[str], norm: Normalized) -> tuple[int, int] | None:
    """Regexes run over the normalised words joined by spaces (Chinese characters unspaced)."""
    parts, starts = [], []
    pos = 0
    for i, token in enumerate(norm.tokens):
        sep = "" if i == 0 or (token.han and norm.tokens[i - 1].han) else " "
        pos += len(sep)
        starts.append(pos)
        parts.append(sep + token.text)
        pos += len(token.text)
    m = regex.search("".join(parts))
    if not m or m.end() == m.start():
        return None
    covered = [i for i, s in enumerate(starts)
               if s < m.end() and s + len(norm.tokens[i].text) > m.start()]
    return (covered[0], covered[-1]) if covered else None


def _word_times(text: str, words: list[Word], span: tuple[int, int]) -> tuple[float, float] | None:
    """Audio start/end of the recognised words that overlap a character span of ``text``."""
    cursor, covering = 0, []
    lower = text.lower()
    for word in words:
        piece = word.word.strip().lower()
        if not piece:
            continue
        pos = lower.find(piece, cursor)
        if pos < 0:
            continue
        cursor = pos + len(piece)
        if pos < span[1] and cursor > span[0]:
            covering.append(word)
    if not covering:
        return None
    return min(w.start for w in covering), max(w.end for w in covering)


# --------------------------------------------------------------------------- lint


def lint(phrases_dir: Path | None = None, detector_options: DetectorOptions | None = None) -> list[PackProblem]:
    """Every problem in every pack: format, duplicates, and patterns vs their own lines.

    Behaviour checks run on packs whose format is sound: each pattern must match
    at least one of its entry's examples (else it is untested), and no ``not``
    line may be flagged by the exact or fuzzy matcher of any entry of the pack.
    """
    problems: list[PackProblem] = []
    ids: dict[tuple[str, str], str] = {}
    options = detector_options or DetectorOptions()
    for path in pack_files(phrases_dir):
        pack, found, lines = _check_pack_file(path)
        problems.extend(found)
        if pack is None or lines is None:
            continue
        for entry in pack.entries:
            key = (pack.language, entry.id)
            if key in ids and ids[key] != entry.file:
                problems.append(PackProblem(entry.file, entry.line,
                                            f"duplicate id '{entry.id}' (also in {ids[key]})"))
            ids.setdefault(key, entry.file)
        if found:
            continue
        problems.extend(_lint_behaviour(pack, lines, options))
    return problems


def _lint_behaviour(pack: Pack, lines: _Lines, options: DetectorOptions) -> list[PackProblem]:
    detector = PhraseDetector.from_packs([pack], options=options)
    problems = []
    for idx, entry in enumerate(pack.entries):
        examples = [normalize(x) for x in entry.examples]
        for pattern in entry.compiled:
            if not any(match_pattern(pattern, x.words, x.starts) for x in examples):
                problems.append(PackProblem(
                    entry.file, lines.item(idx, "patterns", pattern.source),
                    f"pattern {pattern.source!r} of '{entry.id}' matches none of its examples"))
        for line in entry.not_:
            for speaker in (AGENT, CUSTOMER):
                hits = detector.hits(line, speaker, ("exact", "fuzzy"))
                if hits:
                    hit = hits[0]
                    problems.append(PackProblem(
                        entry.file, lines.item(idx, "not", line),
                        f"not line {line!r} of '{entry.id}' is flagged as '{hit.entry.id}' "
                        f"by the {hit.matcher} matcher"))
                    break
    return problems
