"""Numbers said aloud: cut into runs of digits, chained over breaths and turns, classified.

A *run* is consecutive digit tokens, digit words, "double"/"triple", teens and tens,
Chinese digits, with punctuation and hesitation between them.  Runs separated by
soft words only ("and", "then", "let me see", an agent's "mhm" in the turn between)
continue one number: the groups of a card read in breaths.  Each run is classified
by the nearest cue before it (in its own utterance, or, for a number that opens an
utterance, in the few turns before: the agent asked for the three digits on the
back), by what it continues, and by its shape (13-19 digits passing the Luhn check,
an 11-digit number starting with 0, a ``12-34-56`` sort code).  Amounts, times,
dates, quantities and order numbers stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import RedactionOptions
from .tokens import Token, is_word
from .vocab import (
    AMOUNT_AFTER,
    CUES,
    CURRENCY,
    HAN_DIGITS,
    HAN_TEN,
    MONTHS,
    REPEAT,
    SEPARATORS,
    SOFT,
    SORT_CODE_SHAPE,
    SOUND_ALIKES,
    SOUND_ALIKES_TOO,
    TEENS,
    TENS,
    UNITS,
    US_PHONE_SHAPE,
)

BAR = "|"  # between two utterances of the context: ends a run, never a chain
# the most digits each kind holds: a run continues the one before while it fits
MAX_DIGITS = {"card": 19, "account": 12, "phone": 13, "sortcode": 6, "expiry": 6}
PRONOUN_BEFORE = {"this", "that", "the", "which", "another", "new", "old", "each", "every", "no",
                  "any", "other", "right", "wrong", "same", "first", "last", "only", "a"}
YEAR_BEFORE = {"in", "since", "from", "of", "until", "till", "year", "before", "after", "by"}


@dataclass
class Run:
    digits: str
    first: int  # token index of the first digit token
    last: int  # token index of the last digit token
    start: int  # char span
    end: int
    kind: str | None = None
    total: int = 0  # digits of the number so far, this run and the runs it continues
    number: str = ""  # those digits
    chained: bool = False  # continues the run before it


def find_runs(tokens: list[Token], taken: list[bool]) -> list[Run]:
    runs: list[Run] = []
    current: Run | None = None
    i = 0
    while i < len(tokens):
        value = None if taken[i] else digit_value(tokens, i, current is not None)
        if value is not None:
            digits, width = value
            last = i + width - 1
            if current is None:
                current = Run(digits, i, last, tokens[i].start, tokens[last].end)
            else:
                current.digits += digits
                current.last, current.end = last, tokens[last].end
            i += width
            continue
        if current is not None and not taken[i] and tokens[i].low in SEPARATORS \
                and _continues(tokens, i + 1, taken):
            i += 1
            continue
        if current is not None:
            runs.append(current)
            current = None
        i += 1
    if current is not None:
        runs.append(current)
    return [r for r in runs if r.digits]


def _continues(tokens: list[Token], i: int, taken: list[bool]) -> bool:
    """A separator joins a run only when more digits follow it."""
    while i < len(tokens) and tokens[i].low in SEPARATORS:
        i += 1
    # 十 after a pause starts a new number ("...零七，十九位的": nineteen digits)
    if i >= len(tokens) or taken[i] or tokens[i].low == HAN_TEN \
            or digit_value(tokens, i, True) is None:
        return False
    j = i  # nor does a date or an amount after a pause ("...幺九，四月三号")
    while j < len(tokens) and digit_value(tokens, j, True) is not None:
        j += 1
    return j >= len(tokens) or tokens[j].low not in AMOUNT_AFTER


def digit_value(tokens: list[Token], i: int, in_run: bool) -> tuple[str, int] | None:
    """Digits said by the token(s) at ``i`` and how many tokens they take."""
    tok = tokens[i]
    low = tok.low
    if tok.kind == "digit":
        return low, 1
    if tok.kind == "han":
        if low in HAN_DIGITS and i + 2 < len(tokens) and tokens[i + 1].low == "个" \
                and tokens[i + 2].low in HAN_DIGITS and HAN_DIGITS[low] in "234":
            return HAN_DIGITS[tokens[i + 2].low] * int(HAN_DIGITS[low]), 3  # 四个七: 7777
        if low in HAN_DIGITS:
            return HAN_DIGITS[low], 1
        if low == HAN_TEN:
            digit_after = i + 1 < len(tokens) and tokens[i + 1].low in HAN_DIGITS
            return ("" if digit_after else "0", 1) if in_run else ("1" if digit_after else "10", 1)
        return None
    if tok.kind != "word":
        return None
    if low in SOUND_ALIKES_TOO:
        return ("0", 1) if in_run or _digit_next(tokens, i) else None
    if low in SOUND_ALIKES:
        return (SOUND_ALIKES[low], 1) if _sound_alike_is_digit(tokens, i, in_run) else None
    if low == "one" and i and tokens[i - 1].low in PRONOUN_BEFORE:
        return None  # "this one", "the new one": not a digit
    if low in UNITS:
        return UNITS[low], 1
    if low in TEENS:
        return TEENS[low], 1
    if low in TENS:
        j = i + 1
        if j + 1 < len(tokens) and tokens[j].text == "-" and tokens[j + 1].low in UNITS:
            j += 1
        if j < len(tokens) and tokens[j].low in UNITS and tokens[j].low not in SOUND_ALIKES_TOO:
            return TENS[low] + UNITS[tokens[j].low], j - i + 1
        return TENS[low] + "0", 1
    if low in REPEAT and i + 1 < len(tokens):
        nxt = digit_value(tokens, i + 1, True)
        if nxt is not None and nxt[1] == 1 and nxt[0]:
            return nxt[0][0] * REPEAT[low] + nxt[0][1:], 2
    return None


def _sound_alike_is_digit(tokens: list[Token], i: int, in_run: bool) -> bool:
    """"for", "won", "ate" are digits among digits: inside a run with more to come, ending a
    run of two or more digits ("five six too."), or opening one that two digits follow
    ("won six eight"); never on their own ("for 3 weeks")."""
    j = i + 1
    while in_run and j < len(tokens) and tokens[j].low in SEPARATORS:
        j += 1
    if in_run:
        if j < len(tokens) and digit_value(tokens, j, True) is not None:
            return True
        before = [digit_value(tokens, k, False) for k in (i - 1, i - 2) if k >= 0]
        return (all(v is not None for v in before) and len(before) == 2
                and (i + 1 >= len(tokens) or not is_word(tokens[i + 1])))
    return _digit_next(tokens, i) and i + 2 < len(tokens) and \
        digit_value(tokens, i + 2, True) is not None


def _digit_next(tokens: list[Token], i: int) -> bool:
    """The next token, right after this one, says a digit (no punctuation between)."""
    j = i + 1
    if j >= len(tokens) or tokens[j].low in SOUND_ALIKES or tokens[j].low in SOUND_ALIKES_TOO:
        return False
    return digit_value(tokens, j, False) is not None


# ---------------------------------------------------------------- classification


def classify(runs: list[Run], tokens: list[Token], text: str, options: RedactionOptions) -> None:
    previous: Run | None = None  # the last run that was sensitive or long enough to claim a cue
    befores = []
    for run in runs:
        before = _before(run, previous, tokens, text, options)
        befores.append(before)
        run.kind = _kind(run, tokens, text, before, previous, options)
        if run.kind and run.kind != "last4" or len(run.digits) >= 3:
            previous = run
        if run.kind == "last4":
            run.kind = None
    _luhn_chains(runs, tokens, options)
    for run, before in zip(runs, befores, strict=True):
        if run.kind is None:
            run.kind = _answer_fragment(run, before, tokens)


# the fewest digits of an answer to "the three digits on the back?" (or the card, the
# account) that are still part of it: recognition often writes only some of a read-out's
# digits ("6." for "six one nine", "four, one..." for a card number)
FRAGMENT_DIGITS = {"cvv": 1, "card": 2, "account": 2}


def _answer_fragment(run: Run, before: str, tokens: list[Token]) -> str | None:
    """What a number too short for its cue is when it answers a question of an earlier turn
    (the turn itself names nothing) and nothing else in the answer took the question."""
    said = tokens[run.first:run.last + 1]
    after = [t.low for t in tokens[run.last + 1:run.last + 3]]
    if _plain_amount(run, tokens) or any(a in AMOUNT_AFTER for a in after):
        return None  # "two to three working days"
    if any(t.low in SOUND_ALIKES for t in said) or (len(run.digits) == 1 and said[0].kind != "digit"):
        return None  # a guess of the recogniser's, or 一 in 稍等一下: a word, not a fragment
    here = before.rsplit(BAR, 1)[-1]
    if BAR not in before or _cues(here, ""):
        return None
    cues = _cues(before, "")
    if not cues or cues[0] not in FRAGMENT_DIGITS or "last4" in cues:
        return None
    return cues[0] if len(run.digits) >= FRAGMENT_DIGITS[cues[0]] else None


def _plain_amount(run: Run, tokens: list[Token]) -> bool:
    """A price, a quantity, a time or a year, by the words right around the run."""
    n = len(run.digits)
    prev_tok = tokens[run.first - 1].low if run.first else ""
    next_tok = tokens[run.last + 1].low if run.last + 1 < len(tokens) else ""
    if prev_tok in CURRENCY or next_tok in AMOUNT_AFTER or (next_tok == ":" and n <= 2):
        return True
    return n == 4 and run.digits[:2] in ("19", "20") and (prev_tok in YEAR_BEFORE
                                                           or prev_tok in MONTHS)


def _before(run: Run, previous: Run | None, tokens: list[Token], text: str,
            options: RedactionOptions) -> str:
    """The words a cue is looked for in: up to ``window`` words back in this utterance; for
    the first number of its utterance, all of the utterance before it and the ``turns``
    utterances before that ("the three digits on the back?" / "hang on, the light's bad in
    here, six one nine").  Never further back than the last number that claimed a cue."""
    floor = previous.last + 1 if previous is not None else 0
    i, words, bars = run.first - 1, 0.0, 0
    first = True  # no other number before this one in its utterance
    while i >= floor:
        tok = tokens[i]
        if tok.text == BAR:
            if not first or bars >= options.turns:
                break
            bars += 1
        elif bars == 0:
            if _number_here(tokens, i):
                first = False
            words += 0.5 if tok.kind == "han" else 1.0
            if words > options.window and not first:
                break
        i -= 1
    start = tokens[i + 1].start if i + 1 < run.first else run.start
    return text[start:run.start].lower()


def _number_here(tokens: list[Token], i: int) -> bool:
    """A digit of a number at ``i``: a written digit, or a Chinese one next to another
    (三个数字, "three digits", is not a number)."""
    tok = tokens[i]
    if tok.kind == "digit":
        return True
    return tok.kind == "han" and tok.low in HAN_DIGITS and any(
        0 <= k < len(tokens) and tokens[k].low in HAN_DIGITS for k in (i - 1, i + 1))


def _kind(run: Run, tokens: list[Token], text: str, before: str, previous: Run | None,
          options: RedactionOptions) -> str | None:
    n = len(run.digits)
    prev_tok = tokens[run.first - 1].low if run.first else ""
    if _plain_amount(run, tokens):
        return None
    if previous is not None and previous.kind == "sortcode" and previous.total == 6 \
            and 4 <= n <= 10 and _words_between(tokens, previous, run) <= 4:
        run.total, run.number = n, run.digits
        return "account"  # the account number after its sort code ("and the number is ...")
    if _expiry_after_card(run, previous, tokens):
        run.total, run.number = n, run.digits
        return "expiry"
    if previous is not None and previous.kind in MAX_DIGITS \
            and (_soft_between(tokens, previous, run) or _unfinished_card(previous, run, tokens)) \
            and previous.total + n <= MAX_DIGITS[previous.kind] and (n >= 2 or previous.total < 4):
        run.total, run.chained = previous.total + n, True
        run.number = previous.number + run.digits
        return previous.kind  # the rest of a number read in breaths, or over turns
    run.total, run.number = n, run.digits
    kind = _cued(run, n, before, tokens)
    if kind is not None:
        return kind or None
    return _shape(run, text, prev_tok, options)


def _expiry_after_card(run: Run, previous: Run | None, tokens: list[Token]) -> bool:
    """MMYY said right after a whole card number ("..., oh three twenty eight")."""
    if previous is None or previous.kind != "card" or len(run.digits) != 4:
        return False
    whole = previous.total >= 15 or (previous.total >= 13 and luhn(previous.number))
    return whole and 1 <= int(run.digits[:2]) <= 12 and _words_between(tokens, previous, run) <= 4


def _words_between(tokens: list[Token], a: Run, b: Run) -> int:
    """Words that are not soft between two runs."""
    return words_between(tokens, a.last + 1, b.first)


def words_between(tokens: list[Token], start: int, stop: int) -> int:
    """Words that are not soft among ``tokens[start:stop]``."""
    return sum(1 for t in tokens[start:stop] if is_word(t) and t.low not in SOFT)


def _cued(run: Run, n: int, before: str, tokens: list[Token]) -> str | None:
    """What the nearest cue says the run is; "" for a cue that says it is not sensitive."""
    cues = _cues(before, _after(tokens, run))
    if "last4" in cues and n <= 4:
        return "last4"  # PCI DSS lets the last four be shown: "the card ending 4821"
    for cue in cues:
        if cue in ("ref", "amount", "issued"):
            # an order or a price is not sensitive; a whole card number said beside one is
            return None if 13 <= n <= 19 and luhn(run.digits) else ""
        if cue == "last4":
            continue
        if cue == "expiry" and n in (2, 3, 4, 6) and _month_first(run.digits):
            return "expiry"
        if cue == "card" and "expiry" in cues and n == 4 and _month_first(run.digits):
            return "expiry"  # "the end date on the card is oh nine slash two eight"
        if cue == "cvv" and 3 <= n <= 4:
            return "cvv"
        if cue == "card" and n >= 4:
            return "card"
        if cue == "sortcode" and 2 <= n <= 6:
            return "sortcode"
        if cue == "account" and n == 6 and "sortcode" in cues:
            return "sortcode"  # "the sort code for that account?"
        if cue == "account" and 4 <= n <= 12:
            # "the contact number on the account is oh two oh ...": a phone by its shape
            return "phone" if n == 11 and run.digits.startswith("0") else "account"
        if cue == "phone" and 4 <= n <= 13:
            return "phone"  # four digits on: the start of a number read in breaths
    return None


def _unfinished_card(previous: Run, run: Run, tokens: list[Token]) -> bool:
    """A card number cut short by a few words ("4751 6561, sorry, the light's bad, 4053")."""
    bars = sum(t.text == BAR for t in tokens[previous.last + 1:run.first])
    # over a turn, the agent's few words between ("no problem, take your time") count less
    return previous.kind == "card" and previous.total < 13 and len(run.digits) >= 3 \
        and _words_between(tokens, previous, run) <= (8 if bars else 4) and bars <= 2


def _month_first(digits: str) -> bool:
    """MMYY / MYY / MM: the month a card's expiry starts with."""
    return 1 <= int(digits[:1] if len(digits) == 3 else digits[:2]) <= 12


def _soft_between(tokens: list[Token], a: Run, b: Run) -> bool:
    """Only soft words (and at most two turns) between two runs."""
    between = tokens[a.last + 1:b.first]
    bars = sum(t.text == BAR for t in between)
    words = sum(1 for t in between if is_word(t))
    return bars <= 2 and words <= 8 and all(
        t.low in SOFT or not (is_word(t) or t.kind == "han") for t in between)


def _luhn_chains(runs: list[Run], tokens: list[Token], options: RedactionOptions) -> None:
    """Groups read in breaths with no word to say what they are ("4539 1488, sorry, 0343
    6467") are a card when together they pass the Luhn check, a phone number when they make
    an 11-digit national number ("oh seven seven oh oh, then nine oh oh ...")."""
    if not options.wants("card"):
        return
    for i, first in enumerate(runs):
        if first.kind or len(first.digits) < 3:
            continue
        digits, chain = first.digits, [first]
        for nxt in runs[i + 1:i + 6]:
            if nxt.kind or len(nxt.digits) < 3 or not _soft_between(tokens, chain[-1], nxt):
                break
            digits += nxt.digits
            chain.append(nxt)
            if len(digits) > 19:
                break
            kind = "card" if len(digits) >= 13 and luhn(digits) else \
                "phone" if len(digits) == 11 and digits[0] == "0" and digits[1] != "0" \
                and options.wants("phone") else None
            if kind:
                for run in chain:
                    run.kind, run.chained = kind, run is not first
                break


def _shape(run: Run, text: str, prev_tok: str, options: RedactionOptions) -> str | None:
    """What a run is by its digits alone, when no word says."""
    digits, n = run.digits, len(run.digits)
    raw = text[run.start:run.end]
    if 13 <= n <= 19 and luhn(digits):
        return "card"
    if n in (15, 16) and not options.luhn_only:
        return "card"
    if n > 16 and any(luhn(digits[i:i + w]) for w in (15, 16) for i in range(n - w + 1)):
        return "card"  # a card with a stray digit said before or after it
    if prev_tok in ("+", "plus") and 10 <= n <= 13:
        return "phone"
    if digits.startswith("0") and n in (10, 11) and not digits.startswith("00"):
        return "phone"
    if n == 11 and digits[0] == "1" and digits[1] in "3456789":
        return "phone"  # a Chinese mobile number
    if n == 10 and US_PHONE_SHAPE.match(raw):
        return "phone"
    if SORT_CODE_SHAPE.match(raw):
        return "sortcode"
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
    return [kind for kind, pattern in CUES if kind != "last4" and pattern.search(after)]


def _after(tokens: list[Token], run: Run) -> str:
    """The few words said right after a run ("... that's my mobile")."""
    words = []
    for k in range(run.last + 1, min(len(tokens), run.last + 6)):
        if tokens[k].text == BAR or digit_value(tokens, k, False) is not None:
            break
        words.append(tokens[k].low)
    return " ".join(words)


def luhn(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) > 1 and total % 10 == 0
