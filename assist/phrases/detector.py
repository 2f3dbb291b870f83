"""The banned-phrase detector: three matchers over each agent utterance and partial."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..call import Analyzer
from ..errors import AssistError
from ..events import AGENT, Flag, Partial, Utterance, Word
from .fuzzy import _fuzzy_possible, fuzzy_find
from .normalize import _contains, normalize, script_of
from .options import DetectorOptions
from .packs import MATCHERS, load_packs
from .pattern import _near, graph_spans, match_pattern
from .semantic import CharGramEncoder, SoftmaxClassifier, _Lexicon

if TYPE_CHECKING:
    import regex

    from ..call import Embedder
    from .fuzzy import FuzzyHit
    from .normalize import Normalized
    from .packs import Entry, Pack
    from .pattern import Pattern, PatternGraph

log = logging.getLogger(__name__)


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
    plain: Any = None  # the pack's neutral (and, with the evidence gate, ordinary) lines
    words: _Lexicon | None = None  # the word evidence gate's n-gram view of the same lines
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
        embedder: Embedder | None = None,
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
    def from_packs(cls, packs: list[Pack], semantic: bool = False, embedder: Embedder | None = None,
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
        self._heard: dict[str, list[tuple[float, bool]]] = {}  # per speaker: (end, clear)
        self._audible = {e.id for pack in packs for e in pack.entries if e.extra.get("audible")}
        self._slow: set[tuple[str, str]] = set()  # (pack file, phrase) whose regex timed out

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
    def embedder(self) -> Embedder | None:
        if self._embedder is None and self.semantic:
            from ..models import load_embedder

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
                plain = self._plain_lines(index.pack)
                index.plain = self._encode(plain, index.encoder) if plain else None
                index.classifier = self._fit(index)
                index.words = self._lexicon(index, plain)
        return index.semantic_ok

    def _lexicon(self, index: _PackIndex, plain: list[str]) -> _Lexicon | None:
        """The word evidence gate's view of a pack the embedding model reads: n-grams of its
        own lines, so a paraphrase must share some words (after normalisation, so numbers
        and sound-alike spellings are folded) with an example more than with everyday talk."""
        if (self.options.word_evidence is None or not self.options.semantic_evidence
                or not plain or isinstance(index.encoder, CharGramEncoder)):
            return None
        entries = index.pack.entries
        examples = [t for e in entries for t in e.examples]
        encoder = CharGramEncoder.fit(examples + [t for e in entries for t in e.not_] + plain)
        return _Lexicon(encoder, self._encode(examples, encoder), self._encode(plain, encoder))

    def _plain_lines(self, pack: Pack) -> list[str]:
        """What the classifier's 'none' learns from besides ``not``; the evidence gate's yardstick."""
        ordinary = pack.ordinary if self.options.semantic_evidence else ()
        return list(pack.neutral) + list(ordinary)

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
        if index.plain is not None:
            parts.append(index.plain)
            labels += [none] * len(index.plain)
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
        spans += self._regex_spans(entry, norm)
        if not spans:
            return None
        first, last = min(spans, key=lambda s: (s[0], -s[1]))  # earliest, then longest
        return Hit(entry, "exact", norm.span(first, last))

    def _regex_spans(self, entry: Entry, norm: Normalized) -> list[tuple[int, int]]:
        """Word spans of the entry's regexes; a match over the time limit is no match."""
        if not entry.regexes:
            return []
        text, starts = _regex_text(norm)
        spans = []
        for pattern in entry.regexes:
            try:
                found = pattern.search(text, timeout=self.options.regex_timeout)
            except TimeoutError:
                self._slow_regex(entry, pattern)
                continue
            span = _regex_span(found, starts, norm) if found else None
            if span:
                spans.append(span)
        return spans

    def _slow_regex(self, entry: Entry, pattern: regex.Pattern[str]) -> None:
        key = (entry.file, entry.id)
        if key not in self._slow:
            self._slow.add(key)
            log.warning("%s:%d: regex %r of '%s' took over %.0f ms on one utterance and "
                        "counts as no match; it backtracks catastrophically (see "
                        "'assist phrases lint')", entry.file, entry.line, pattern.pattern,
                        entry.id, self.options.regex_timeout * 1000)

    def _fuzzy(self, index: _PackIndex, entry: Entry, norm: Normalized) -> Hit | None:
        words = norm.words
        present = set(words)
        best: tuple[int, int, float] | None = None
        for pattern, graph, near in index.graphs.get(entry.id, ()):
            if not _fuzzy_possible(graph, present) or (near and not near.literals & present):
                continue
            span = self._fuzzy_pattern(index, entry, pattern, graph, near, words, norm.starts)
            if span and (best is None or span < best):
                best = span
        return Hit(entry, "fuzzy", norm.span(*best[:2]), best[2]) if best else None

    def _fuzzy_pattern(self, index: _PackIndex, entry: Entry, pattern: Pattern,
                       graph: PatternGraph, near: PatternGraph | None, words: Sequence[str],
                       starts: frozenset[int]) -> tuple[int, int, float] | None:
        """(first, last, confidence) of the pattern heard with errors; confidence falls
        from 1 with the alignment's cost per pattern word."""
        found = [h for h in [fuzzy_find(graph, words, self.options, starts)]
                 if h and not self._literal_sense(index, entry, words, h)]
        if near is None:
            return (found[0].first, found[0].last, self._fuzzy_confidence(graph, found[0])
                    ) if found else None
        # "A within N words of B": one side heard with errors, the other as it is or also so
        other = [h for h in [fuzzy_find(near, words, self.options, starts)]
                 if h and not self._literal_sense(index, entry, words, h)]
        if not found and not other:
            return None
        side_a = graph_spans(graph, words, starts) + [(h.first, h.last) for h in found]
        side_b = graph_spans(near, words, starts) + [(h.first, h.last) for h in other]
        span = _near(side_a, side_b, pattern.distance + 1) if side_a and side_b else None
        if span is None:
            return None
        heard = [self._fuzzy_confidence(graph, h) for h in found]
        heard += [self._fuzzy_confidence(near, h) for h in other]
        return span[0], span[1], min(heard)

    def _fuzzy_confidence(self, graph: PatternGraph, hit: FuzzyHit) -> float:
        words = max(1, hit.last - hit.first + 1)
        return round(max(0.0, 1.0 - hit.cost / words), 3)

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
            hits.extend(self._semantic_pack(index, vectors[key], windows, texts, norm, speaker, done))
        return hits

    def _semantic_pack(self, index: _PackIndex, vectors, windows, texts: list[str],
                       norm: Normalized, speaker: str, done: set[str]) -> list[Hit]:
        import numpy as np

        opts = self.options
        scale, threshold, floor = self._knobs(index)
        entries = index.pack.entries
        # _semantic passes only packs that _ensure_semantic fitted
        assert index.classifier is not None
        probs = index.classifier.predict(vectors * scale)  # windows x classes
        sims = vectors @ index.examples.T  # windows x examples
        nsims = vectors @ index.nots.T if index.nots is not None else None
        plain = self._plain_near(index, vectors)
        words = index.words.margins(texts, index.example_owner, len(entries)) if index.words else None
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
                  & (near >= floor) & (near - held >= opts.semantic_margin)
                  & (near - plain >= opts.evidence_margin))
            if words is not None:
                ok &= words[:, e_idx] >= opts.word_evidence
            if ok.any():
                w = int(np.argmax(np.where(ok, prob, -1.0)))
                hits.append(Hit(entry, "semantic", norm.span(*windows[w]), float(prob[w])))
        return hits

    def _plain_near(self, index: _PackIndex, vectors):
        """Per window, the similarity of the nearest ordinary line; -1 where the gate is off.

        The evidence gate: a linear classifier is confident far from anything it was
        fitted on, so ordinary talk about cash machines or working days can land on
        a phrase's side of its boundary.  A window must also be nearer one of the
        phrase's examples than any line of everyday agent talk (by ``evidence_margin``).
        The n-gram fallback is lexical already: it sees only the pack's own words.
        """
        import numpy as np

        if (not self.options.semantic_evidence or index.plain is None
                or isinstance(index.encoder, CharGramEncoder)):
            return np.full(len(vectors), -1.0)
        return (vectors @ index.plain.T).max(axis=1)

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
                span=hit.span, confidence=round(hit.score, 3),
            ))
        return flags

    def start(self, call_id: str | None = None) -> list[Flag]:
        self._early.clear()
        self._heard.clear()
        return []

    def feed(self, utterance: Utterance) -> list[Flag]:
        """Final flags; they also settle the speaker's early flags (see module docstring)."""
        self._early.pop(utterance.speaker, None)
        if not utterance.text.strip():
            return []
        self._heard.setdefault(utterance.speaker, []).append((utterance.end, _clear(utterance)))
        flags = self._flags(utterance.text, utterance.speaker, utterance.words, MATCHERS,
                            utterance.start, utterance.end)
        for flag in flags:
            if flag.phrase in self._audible:
                flag.audible = self._other_side_clear(utterance)
        return flags

    def _other_side_clear(self, utterance: Utterance) -> bool | None:
        """Was anyone else clearly heard in the ``AUDIBLE_WINDOW`` seconds before this?"""
        recent = [clear for speaker, said in self._heard.items() if speaker != utterance.speaker
                  for end, clear in said if utterance.start - AUDIBLE_WINDOW <= end <= utterance.end]
        return any(recent) if recent else None

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


AUDIBLE_WINDOW = 20.0  # seconds before a "the line is bad" that the other side's speech counts
CLEAR_WORDS = 0.6  # mean word probability of a clearly heard utterance


def _clear(utterance: Utterance) -> bool:
    """Heard clearly: words the recogniser was sure of (a transcript's words count as sure)."""
    words = [w.probability for w in utterance.words] or [1.0]
    return sum(words) / len(words) >= CLEAR_WORDS and len(utterance.text.split()) >= 3


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _regex_text(norm: Normalized) -> tuple[str, list[int]]:
    """Regexes run over the normalised words joined by spaces (Chinese characters unspaced);
    also where each word starts in that text."""
    parts, starts = [], []
    pos = 0
    for i, token in enumerate(norm.tokens):
        sep = "" if i == 0 or (token.han and norm.tokens[i - 1].han) else " "
        pos += len(sep)
        starts.append(pos)
        parts.append(sep + token.text)
        pos += len(token.text)
    return "".join(parts), starts


def _regex_span(m: regex.Match[str], starts: list[int], norm: Normalized) -> tuple[int, int] | None:
    """The words a regex match covers (first, last), None for an empty match."""
    if m.end() == m.start():
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
