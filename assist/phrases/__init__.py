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
  also resemble an example more than any ``not`` line, and (the evidence gate) be
  nearer an example than any line of the pack's ``neutral`` and ``ordinary`` everyday
  agent talk, so "it's been twelve working days" is not "as I already said".  It only
  looks where the patterns found nothing.  Every flag carries a ``confidence``.

Pattern and fuzzy matching run a compiled automaton of each pattern over the
normalised words; only the stretch around the pattern's own words is searched.

Partial text may raise an early flag (``final=False``, exact and fuzzy only).
The next utterance from the same speaker settles it: a final flag for the same
phrase confirms it; no final flag means it is withdrawn.  Consumers therefore
drop unconfirmed early flags when that speaker's utterance arrives.  An early
flag's start and end are both the partial's start: word times come with the
final utterance.
"""

from .detector import PhraseDetector
from .lint import lint
from .normalize import normalize, script_of
from .options import DetectorOptions
from .packs import MATCHERS, Entry, Pack, PackKind, add_allow_lines, load_packs, pack_files
from .pattern import PatternError, match_pattern, parse_pattern
from .semantic import CharGramEncoder, SoftmaxClassifier

__all__ = [
    "add_allow_lines",
    "CharGramEncoder",
    "DetectorOptions",
    "Entry",
    "Pack",
    "PackKind",
    "lint",
    "load_packs",
    "match_pattern",
    "MATCHERS",
    "normalize",
    "pack_files",
    "parse_pattern",
    "PatternError",
    "PhraseDetector",
    "script_of",
    "SoftmaxClassifier",
]
