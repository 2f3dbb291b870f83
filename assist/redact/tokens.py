"""Text cut into tokens for redaction, on a copy with full-width characters folded."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .vocab import TOKEN


@dataclass
class Token:
    text: str
    start: int
    end: int
    kind: str  # "decimal", "date", "mmyy", "time", "han", "digit", "word" or "punct"

    @property
    def low(self) -> str:
        return self.text.lower()


def fold(text: str) -> str:
    """Full-width digits and letters (４５３９) as ASCII, character for character, so every
    offset of the folded text is an offset of the original."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch) if ord(ch) > 0x2000 else ch
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    tokens = []
    for m in TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            first = m.group()[0]
            kind = "digit" if first.isdigit() and m.group().isdigit() else \
                "word" if first.isalpha() else "ordinal" if first.isdigit() else "punct"
        tokens.append(Token(m.group(), m.start(), m.end(), kind))
    return tokens


def is_word(token: Token) -> bool:
    return token.text[0].isalnum() and token.kind != "han"
