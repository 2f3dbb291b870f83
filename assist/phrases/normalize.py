"""Text normalisation for matching: words, numbers, contractions, Chinese characters."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ..asr.script import simplified

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
        # the recogniser's own converter: text typed or imported in traditional characters
        # reads as the live transcript does (轉帳 -> 转账, as the packs write it)
        simple = simplified(folded)
        # t2s is character for character almost always; when a phrase rule changes
        # the length, fall back to per-character conversion to keep offsets right.
        if len(simple) != len(folded):
            simple = "".join(simplified(c) if len(simplified(c)) == 1 else c for c in folded)
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


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))
