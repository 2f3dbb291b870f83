"""Redaction: card numbers, security codes, account numbers, phone numbers and
e-mail addresses become a typed placeholder (``[CARD]``) before anything is
stored, exported or shown to a coach.

Customers read these aloud and recognisers write them either as digits
("4567 8901") or as words ("four five six seven, double oh ..."), so the text is
first cut into *number runs*: consecutive digit tokens, digit words, "double"/
"triple", teens and tens, with commas, dashes and fillers between them.  Each
run is then classified by the words just before it (the nearest cue wins:
"card number", "security code", "sort code", "order number", ...), by its shape
(13-19 digits passing the Luhn check, an 11-digit number starting with 0, a
``12-34-56`` sort code) and by what came just before it (the second half of a
card number read in two breaths).  The previous utterance of the call counts as
context too: the agent asks "and the three digits on the back?", the customer
answers "seven eight nine".  Amounts, times, dates and order numbers stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KINDS = ("card", "cvv", "account", "phone", "email")
LABELS = {kind: f"[{kind.upper()}]" for kind in KINDS}


@dataclass
class RedactionOptions:
    """What to redact; everything is on by default.

    Attributes:
        enabled: master switch; False returns the text unchanged.
        cards: card numbers (PAN) -> ``[CARD]``.
        security_codes: CVV/CVC, PINs and passcodes -> ``[CVV]``.
        accounts: bank account numbers and sort codes -> ``[ACCOUNT]``.
        phones: phone numbers -> ``[PHONE]``.
        emails: e-mail addresses, written or spoken ("john dot smith at gmail
            dot com") -> ``[EMAIL]``.
        luhn_only: without a card word nearby, treat a 13-19 digit run as a card
            only when it passes the Luhn check.  Off by default: a 15-16 digit run
            with no other explanation is taken for a card even when a
            misrecognised digit breaks the checksum (PCI DSS forbids keeping it).
        window: how many words before a number are searched for a cue.
    """

    enabled: bool = True
    cards: bool = True
    security_codes: bool = True
    accounts: bool = True
    phones: bool = True
    emails: bool = True
    luhn_only: bool = False
    window: int = 8

    def wants(self, kind: str) -> bool:
        return self.enabled and {
            "card": self.cards, "cvv": self.security_codes, "account": self.accounts,
            "phone": self.phones, "email": self.emails,
        }[kind]


@dataclass(frozen=True)
class Redaction:
    """One replaced span: where it was in the original and where its label is now."""

    kind: str
    start: int
    end: int
    out_start: int
    out_end: int


@dataclass
class Redacted:
    """The redacted text and what was replaced."""

    text: str
    redactions: list[Redaction] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return [r.kind for r in self.redactions]

    def map_offset(self, offset: int) -> int:
        """Where a character offset of the original text lands in the redacted text."""
        shift = 0
        for r in self.redactions:
            if offset < r.start:
                break
            if offset < r.end:
                return r.out_start
            shift = r.out_end - r.end
        return offset + shift


# ---------------------------------------------------------------- vocabulary

UNITS = {"zero": "0", "oh": "0", "o": "0", "nought": "0", "nil": "0", "one": "1",
         "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
         "eight": "8", "nine": "9"}
TEENS = {"ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
         "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19"}
TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6",
        "seventy": "7", "eighty": "8", "ninety": "9"}
REPEAT = {"double": 2, "triple": 3}
MAX_DIGITS = {"card": 19, "account": 10, "phone": 13}  # a number read in two breaths
SEPARATORS = {",", ".", "-", "–", "/", "(", ")", "uh", "um", "er", "erm", "hmm", "ah"}
CURRENCY = {"£", "$", "€", "¥"}
AMOUNT_AFTER = {"pounds", "pound", "quid", "p", "pence", "dollars", "dollar", "euros", "euro",
                "cents", "percent", "%", "hundred", "thousand", "million", "grand", "k",
                "am", "pm", "o'clock", "a.m", "p.m", "minutes", "hours", "days", "weeks",
                "months", "years", "kg", "miles", "gb", "mb"}
TLDS = {"com", "net", "org", "co", "uk", "io", "gov", "edu", "info", "biz", "me", "ac", "de",
        "fr", "ie", "us", "eu", "au", "ca", "nz", "in", "es", "it", "nl", "app", "dev", "tv"}
EMAIL_CONNECTORS = {".": ".", "dot": ".", "_": "_", "underscore": "_", "-": "-",
                    "dash": "-", "hyphen": "-", "+": "+", "plus": "+"}

# cue words; the rightmost cue before a run decides what the run is
CUES: list[tuple[str, re.Pattern[str]]] = [
    ("cvv", re.compile(r"security (code|number|digits)|\bcv[cv]2?\b|\bcv2\b|\bcsc\b|\bcid\b"
                       r"|\b(three|four|3|4)[- ]digit (security )?(code|number)"
                       r"|(digits|numbers|number|code) on the back|back of (the|your|my) card|\bthe back\b"
                       r"|verification (code|number|value)|\bpin\b|\bpasscode\b")),
    ("sort", re.compile(r"\bsort[- ]?code")),
    ("account", re.compile(r"\baccount\b|\bacct\b|\biban\b|roll number|building society")),
    ("card", re.compile(r"\bcard\b|\blong number\b|\bvisa\b|\bmastercard\b|\bamex\b|"
                        r"number on the front")),
    ("phone", re.compile(r"\bphone\b|\bmobile\b|\blandline\b|\btelephone\b|\bcall\b|\bring\b|"
                         r"\bcontact number\b|\breach (me|you|us)\b|\btext me\b|\bcell\b|\btel\b")),
    ("ref", re.compile(r"\border\b|\breference\b|\bref\b|\btracking\b|\binvoice\b|\bticket\b|"
                       r"\bcase\b|\bbooking\b|\bconfirmation\b|\bpolicy\b|\bparcel\b|\bclaim\b|"
                       r"\bcomplaint\b|\bextension\b|\broom\b|\bflight\b|\bmembership\b")),
]
EMAIL_CUE = re.compile(r"\be-?mail\b|\baddress\b")

WRITTEN_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
TOKEN = re.compile(r"\d+(?:st|nd|rd|th)\b|[A-Za-z]+(?:'[A-Za-z]+)?|\d+|\S")
US_PHONE_SHAPE = re.compile(r"^\(?\d{3}\)?[\s.-]*\d{3}[\s.-]\d{4}$")
SORT_CODE_SHAPE = re.compile(r"^\d\d-\d\d-\d\d$")


@dataclass
class _Token:
    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower()


@dataclass
class _Run:
    digits: str
    first: int  # token index of the first digit token
    last: int  # token index of the last digit token
    start: int  # char span
    end: int
    kind: str | None = None


def luhn(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) > 1 and total % 10 == 0


# ---------------------------------------------------------------- public API


def redact(text: str, options: RedactionOptions | None = None, context: str = "") -> Redacted:
    """Redact one utterance; ``context`` is what was said just before (not redacted here)."""
    options = options or RedactionOptions()
    if not options.enabled or not text:
        return Redacted(text)
    # the bar ends a number run: digits never join across two utterances
    joined = f"{context}\n|\n{text}" if context else text
    offset = len(joined) - len(text)
    spans = [s for s in _find(joined, options) if s[2] > offset]
    return _apply(text, [(k, max(s, offset) - offset, e - offset) for k, s, e in spans])


def redact_text(text: str, options: RedactionOptions | None = None, context: str = "") -> str:
    return redact(text, options, context).text


class Redactor:
    """Redacts a call's utterances in order, each with the one before as context."""

    def __init__(self, options: RedactionOptions | None = None):
        self.options = options or RedactionOptions()
        self._previous = ""

    def __call__(self, text: str) -> Redacted:
        result = redact(text, self.options, self._previous)
        self._previous = text
        return result

    def reset(self) -> None:
        self._previous = ""


# ---------------------------------------------------------------- internals


def _apply(text: str, spans: list[tuple[str, int, int]]) -> Redacted:
    out: list[str] = []
    redactions: list[Redaction] = []
    pos = 0
    length = 0
    for kind, start, end in sorted(spans, key=lambda s: s[1]):
        if start < pos:
            continue
        out.append(text[pos:start])
        length += start - pos
        label = LABELS[kind]
        redactions.append(Redaction(kind, start, end, length, length + len(label)))
        out.append(label)
        length += len(label)
        pos = end
    out.append(text[pos:])
    return Redacted("".join(out), redactions)


def _find(text: str, options: RedactionOptions) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    if options.wants("email"):
        spans += [("email", m.start(), m.end()) for m in WRITTEN_EMAIL.finditer(text)]
    tokens = [_Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text)]
    taken = [any(s <= t.start < e for _, s, e in spans) for t in tokens]
    if options.wants("email"):
        for start, end in _spoken_emails(tokens, taken, text):
            spans.append(("email", tokens[start].start, tokens[end].end))
            for i in range(start, end + 1):
                taken[i] = True
    runs = _runs(tokens, taken)
    _classify(runs, tokens, text, options)
    for run in runs:
        if run.kind and options.wants(run.kind):
            start = run.start
            if run.kind == "phone" and run.first and tokens[run.first - 1].low in ("+", "plus", "("):
                start = tokens[run.first - 1].start
            spans.append((run.kind, start, run.end))
    return spans


# ---- e-mail said aloud


def _is_word(token: _Token) -> bool:
    return token.text[0].isalnum()


def _spoken_emails(tokens: list[_Token], taken: list[bool], text: str) -> list[tuple[int, int]]:
    found = []
    for i, tok in enumerate(tokens):
        if taken[i] or tok.low not in ("at", "@"):
            continue
        end = _domain_end(tokens, i + 1)
        start = _local_start(tokens, i, text)
        if end is not None and start is not None and not any(taken[start:end + 1]):
            found.append((start, end))
    return found


def _domain_end(tokens: list[_Token], i: int) -> int | None:
    """Index of the TLD token of ``gmail dot co dot uk`` starting at ``i``, or None."""
    while i < len(tokens) and tokens[i].low in ("sign", "symbol", ","):
        i += 1
    if i >= len(tokens) or not _is_word(tokens[i]):
        return None
    end = None
    j = i + 1
    while j + 1 < len(tokens) and tokens[j].low in ("dot", ".", "-", "dash", "hyphen"):
        if not _is_word(tokens[j + 1]):
            break
        if tokens[j].low in ("dot", ".") and tokens[j + 1].low in TLDS:
            end = j + 1
        j += 2
    return end


def _local_start(tokens: list[_Token], at: int, text: str) -> int | None:
    """Start of the local part before ``at``: words joined by dot/underscore/dash,
    spelled letters and numbers said after a word ("smith eighty five")."""
    start = at - 1
    if start > 0 and tokens[start].text == ",":
        start -= 1
    if start < 0 or not _is_word(tokens[start]):
        return None
    while start > 0:
        k = start - 1
        if k >= 1 and tokens[k].low in EMAIL_CONNECTORS and _is_word(tokens[k - 1]):
            start = k - 1
        elif _is_word(tokens[k]) and _loose(tokens[start]) and tokens[k].low not in STOP_WORDS:
            start = k
        else:
            break
    # after "my email is", a local part said in two words ("john smith") is one address
    before = text[max(0, tokens[start].start - 40):tokens[start].start].lower()
    if EMAIL_CUE.search(before):
        k = start - 1
        while k >= 0 and start - k <= 2 and _is_word(tokens[k]) and tokens[k].low not in STOP_WORDS:
            k -= 1
        start = k + 1
    return start


def _loose(token: _Token) -> bool:
    """A spelled letter or a number: joins the word before it without a connector."""
    low = token.low
    return (len(low) == 1 and low.isalnum()) or low.isdigit() or low in UNITS or low in TEENS \
        or low in TENS


STOP_WORDS = {"is", "it's", "its", "email", "mail", "address", "me", "at", "on", "to", "was",
              "my", "the", "and", "that's", "try", "use", "send", "it", "please", "yes", "so"}


# ---- number runs


def _digit_value(tokens: list[_Token], i: int) -> tuple[str, int] | None:
    """Digits said by the token(s) at ``i`` and how many tokens they take."""
    low = tokens[i].low
    if low.isdigit():
        return low, 1
    if low in UNITS:
        return UNITS[low], 1
    if low in TEENS:
        return TEENS[low], 1
    if low in TENS:
        j = i + 1
        if j + 1 < len(tokens) and tokens[j].text == "-" and tokens[j + 1].low in UNITS:
            j += 1
        if j < len(tokens) and tokens[j].low in UNITS and tokens[j].low not in ("oh", "o"):
            return TENS[low] + UNITS[tokens[j].low], j - i + 1
        return TENS[low] + "0", 1
    if low in REPEAT and i + 1 < len(tokens):
        nxt = _digit_value(tokens, i + 1)
        if nxt is not None and nxt[1] == 1 and nxt[0]:
            return nxt[0][0] * REPEAT[low] + nxt[0][1:], 2
    return None


def _runs(tokens: list[_Token], taken: list[bool]) -> list[_Run]:
    runs: list[_Run] = []
    current: _Run | None = None
    i = 0
    while i < len(tokens):
        value = None if taken[i] else _digit_value(tokens, i)
        if value is not None:
            digits, width = value
            last = i + width - 1
            if current is None:
                current = _Run(digits, i, last, tokens[i].start, tokens[last].end)
            else:
                current.digits += digits
                current.last, current.end = last, tokens[last].end
            i += width
            continue
        if current is not None and not taken[i] and tokens[i].low in SEPARATORS:
            i += 1
            continue
        if current is not None:
            runs.append(current)
            current = None
        i += 1
    if current is not None:
        runs.append(current)
    return runs


def _classify(runs: list[_Run], tokens: list[_Token], text: str, options: RedactionOptions) -> None:
    previous: _Run | None = None  # the last run that was sensitive or long enough to claim a cue
    for run in runs:
        window_from = max(0, run.first - options.window)
        if previous is not None:
            window_from = max(window_from, previous.last + 1)
        before = text[tokens[window_from].start:run.start].lower() if window_from < run.first else ""
        run.kind = _kind(run, tokens, text, before, previous, options)
        if run.kind or len(run.digits) >= 3:
            previous = run
    _join_split_cards(runs, tokens, options)


def _join_split_cards(runs: list[_Run], tokens: list[_Token], options: RedactionOptions) -> None:
    """A card number broken by a word ("4539 1488, sorry, 0343 6467") is still a card."""
    if not options.wants("card"):
        return
    for a, b in zip(runs, runs[1:], strict=False):
        if a.kind or b.kind or len(a.digits) < 4 or len(b.digits) < 4:
            continue
        digits = a.digits + b.digits
        if 13 <= len(digits) <= 19 and luhn(digits) and _words_between(tokens, a.last, b.first) <= 2:
            a.kind = b.kind = "card"


def _kind(run: _Run, tokens: list[_Token], text: str, before: str, previous: _Run | None,
          options: RedactionOptions) -> str | None:
    n = len(run.digits)
    prev_tok = tokens[run.first - 1].low if run.first else ""
    next_tok = tokens[run.last + 1].low if run.last + 1 < len(tokens) else ""
    if prev_tok in CURRENCY or next_tok in AMOUNT_AFTER or (next_tok == ":" and n <= 2):
        return None
    if (previous is not None and previous.kind in MAX_DIGITS and n >= 3
            and len(previous.digits) + n <= MAX_DIGITS[previous.kind]
            and _words_between(tokens, previous.last, run.first) <= 3):
        return previous.kind  # the rest of a number read in two breaths
    for cue in _cues(before, _after(tokens, run)):
        if cue == "ref":
            return None
        if cue == "cvv" and 3 <= n <= 4:
            return "cvv"
        if cue == "card" and n >= 8:
            return "card"
        if cue == "sort" and n == 6:
            return "account"
        if cue == "account" and 6 <= n <= 10:
            return "account"
        if cue == "phone" and 7 <= n <= 13:
            return "phone"
    return _shape(run, text, prev_tok, options)


def _shape(run: _Run, text: str, prev_tok: str, options: RedactionOptions) -> str | None:
    """What a run is by its digits alone, when no word says."""
    digits, n = run.digits, len(run.digits)
    raw = text[run.start:run.end]
    if 13 <= n <= 19 and luhn(digits):
        return "card"
    if n in (15, 16) and not options.luhn_only:
        return "card"
    if n > 19 and any(luhn(digits[i:i + w]) for w in (15, 16) for i in range(n - w + 1)):
        return "card"
    if prev_tok in ("+", "plus") and 10 <= n <= 13:
        return "phone"
    if digits.startswith("0") and n in (10, 11) and not digits.startswith("00"):
        return "phone"
    if n == 10 and US_PHONE_SHAPE.match(raw):
        return "phone"
    if SORT_CODE_SHAPE.match(raw):
        return "account"
    return None


def _cues(before: str, after: str) -> list[str]:
    """Cue kinds found before the run, nearest first; then those said just after it."""
    hits = []
    for kind, pattern in CUES:
        last = None
        for m in pattern.finditer(before):
            last = m.end()
        if last is not None:
            hits.append((last, kind))
    ordered = [kind for _, kind in sorted(hits, reverse=True)]
    if ordered:
        return ordered
    return [kind for kind, pattern in CUES if pattern.search(after)]


def _after(tokens: list[_Token], run: _Run) -> str:
    """The few words said right after a run ("... that's my mobile")."""
    words = tokens[run.last + 1:run.last + 6]
    stop = next((k for k, t in enumerate(words) if _digit_value(tokens, run.last + 1 + k)), None)
    words = words[:stop]
    return " ".join(t.low for t in words)


def _words_between(tokens: list[_Token], a: int, b: int) -> int:
    return sum(1 for t in tokens[a + 1:b] if _is_word(t) and t.low not in SEPARATORS)
