"""E-mail addresses: written ("josé.garcía@correo.es") or said ("john dot smith at gmail dot
com", "j o h n at gmail dot com")."""

from __future__ import annotations

from .tokens import Token, is_word
from .vocab import EMAIL_CONNECTORS, EMAIL_CUE, TEENS, TENS, TLDS, UNITS

STOP_WORDS = {"is", "it's", "its", "email", "email's", "e-mail", "mail", "address", "me", "at",
              "on", "to", "was",
              "my", "the", "and", "that's", "try", "use", "send", "it", "please", "yes", "so"}


def spoken_emails(tokens: list[Token], taken: list[bool], text: str) -> list[tuple[int, int]]:
    """(first, last) token index of each address said aloud; commas between its parts
    ("s, m, i, t, h, dot, j, at, gmail, dot, com") do not break it."""
    keep = [i for i, t in enumerate(tokens) if t.text not in (",", "，")]
    found = _spoken(tokens=[tokens[i] for i in keep], taken=[taken[i] for i in keep], text=text)
    return [(keep[a], keep[b]) for a, b in found]


def _spoken(tokens: list[Token], taken: list[bool], text: str) -> list[tuple[int, int]]:
    found = []
    for i, tok in enumerate(tokens):
        if taken[i] or tok.low not in ("at", "@"):
            continue
        end = _domain_end(tokens, i + 1)
        start = _local_start(tokens, i, text)
        if end is not None and start is not None and not any(taken[start:end + 1]):
            found.append((start, end))
    return found


def _domain_end(tokens: list[Token], i: int) -> int | None:
    """Index of the TLD token of ``gmail dot co dot uk`` starting at ``i``, or None."""
    while i < len(tokens) and tokens[i].low in ("sign", "symbol", ","):
        i += 1
    if i >= len(tokens) or not is_word(tokens[i]):
        return None
    end = None
    j = i + 1
    while j + 1 < len(tokens) and tokens[j].low in ("dot", ".", "-", "dash", "hyphen"):
        if not is_word(tokens[j + 1]):
            break
        if tokens[j].low in ("dot", ".") and tokens[j + 1].low in TLDS:
            end = j + 1
        j += 2
    return end


def _local_start(tokens: list[Token], at: int, text: str) -> int | None:
    """Start of the local part before ``at``: words joined by dot/underscore/dash,
    spelled letters and numbers said after a word ("smith eighty five")."""
    start = at - 1
    if start > 0 and tokens[start].text == ",":
        start -= 1
    if start < 0 or not is_word(tokens[start]):
        return None
    while start > 0:
        k = start - 1
        if k >= 1 and tokens[k].low in EMAIL_CONNECTORS and is_word(tokens[k - 1]):
            start = k - 1
        elif is_word(tokens[k]) and (_loose(tokens[start]) or _loose(tokens[k])) \
                and tokens[k].low not in STOP_WORDS:
            start = k
        else:
            break
    # after "my email is", a local part said in two words ("john smith") is one address
    before = text[max(0, tokens[start].start - 80):tokens[start].start].lower()
    if EMAIL_CUE.search(before):
        k = start - 1
        while k >= 0 and start - k <= 2 and is_word(tokens[k]) and tokens[k].low not in STOP_WORDS:
            k -= 1
        start = k + 1
    return start


def _loose(token: Token) -> bool:
    """A spelled letter or a number: joins the word before it without a connector."""
    low = token.low
    return (len(low) == 1 and low.isalnum()) or low.isdigit() or low in UNITS or low in TEENS \
        or low in TENS
