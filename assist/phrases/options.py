"""Options of the banned-phrase detector."""

from __future__ import annotations

from dataclasses import dataclass


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
        semantic_evidence: the evidence gate: the pack's ``ordinary`` lines (everyday agent
            talk) join the classifier's negatives, and a window must be nearer an example of
            the phrase than any ``neutral`` or ``ordinary`` line by ``evidence_margin``.
            False: the matcher as it was before the gate (a benchmark's "before").
        evidence_margin: how much nearer (cosine) the best example must be than the nearest
            ordinary line (negative: it may be a little farther).
        word_evidence: the word evidence gate: a window's word (n-gram) similarity to the
            phrase's nearest example, minus that to the nearest ``neutral`` or ``ordinary``
            line, must be at least this (negative: the words may lean a little to everyday
            talk); None: no word gate.  Needs the evidence gate's lines.
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
        regex_timeout: seconds one pack regex may take on one utterance; a match that takes
            longer counts as no match (logged once per phrase), so a catastrophic pattern
            cannot hold up the call. Lint times regexes on adversarial lines with it too.
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
    semantic_evidence: bool = True
    evidence_margin: float = -0.05  # bench/phrases.py --tune, on dev lines and dev calls
    word_evidence: float | None = -0.05  # bench/phrases.py --tune, on dev lines and dev calls
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
    regex_timeout: float = 0.05
