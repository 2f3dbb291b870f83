"""Redaction of one utterance with its call's earlier turns as context, and of whole calls."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .emails import spoken_emails
from .model import Redacted, Redaction, RedactionOptions, apply
from .numbers import BAR, Run, classify, find_runs, words_between
from .tokens import Token, fold, tokenize
from .vocab import (
    CUES,
    EMAIL_CUE,
    HAN_EXPIRY,
    HAN_SPOKEN_EMAIL,
    IBAN,
    MONTHS,
    SEPARATORS,
    WRITTEN_EMAIL,
)

_EXPIRY_CUE = dict(CUES)["expiry"]


def redact(text: str, options: RedactionOptions | None = None,
           context: str | Sequence[str] = "") -> Redacted:
    """Redact one utterance; ``context`` is what was said before it in the call, oldest
    first (one string or several turns); it is read for cues and never redacted here."""
    options = options or RedactionOptions()
    if not options.enabled or not text:
        return Redacted(text)
    turns = [context] if isinstance(context, str) else list(context)
    turns = [t for t in turns if t][-options.memory:] if options.memory else []
    # a bar between turns ends a run of digits, but not the number it belongs to
    joined = "".join(f"{t}\n{BAR}\n" for t in turns) + text
    offset = len(joined) - len(text)
    spans = [s for s in find(joined, options) if s[2] > offset]
    return apply(text, [(k, max(s, offset) - offset, e - offset) for k, s, e in spans])


def redact_text(text: str, options: RedactionOptions | None = None,
                context: str | Sequence[str] = "") -> str:
    return redact(text, options, context).text


class Redactor:
    """Redacts a call's utterances in order (both speakers), each with the turns before it."""

    def __init__(self, options: RedactionOptions | None = None):
        self.options = options or RedactionOptions()
        self._turns: list[str] = []
        self._removed: list[tuple[str, str]] = []  # (kind, digits) the latest turn lost
        self._recent: list[tuple[str, str]] = []  # and the turns before it

    def __call__(self, text: str) -> Redacted:
        # a number read back ("Ten twenty six, thank you.") is as sensitive as when first said
        result = _also(redact(text, self.options, self._turns), self._recent)
        self._turns = (self._turns + [text])[-max(1, self.options.memory + 1):]
        self._removed = [(r.kind, _digits(text[r.start:r.end])) for r in result.redactions]
        self._recent = (self._recent + self._removed)[-12:]
        return result

    def derived(self, text: str) -> Redacted:
        """A text cut out of the latest turn (a pain point's problem statement): read with
        the turns before that one, and whatever number the turn itself lost, it loses too."""
        return _also(redact(text, self.options, self._turns[:-1]), self._removed)

    def quoted(self, text: str) -> Redacted:
        """A text quoting the call's turns so far (a wrap-up summary, a restated problem):
        read with those turns, and every number they lost lately, it loses too."""
        return _also(redact(text, self.options, self._turns), self._recent)

    @property
    def context(self) -> list[str]:
        """The turns the next utterance is read with."""
        return list(self._turns)

    def reset(self) -> None:
        self._turns, self._removed, self._recent = [], [], []


def redact_call(texts: Iterable[str], options: RedactionOptions | None = None) -> list[Redacted]:
    """One call's utterances in order, each redacted with the ones before it."""
    redactor = Redactor(options)
    return [redactor(text) for text in texts]


# ---------------------------------------------------------------- finding the spans


def _also(result: Redacted, removed: list[tuple[str, str]]) -> Redacted:
    """``result`` with every run of three or more digits that is part of a number the call
    already lost (``removed``: kind, digits) redacted as that kind too."""
    removed = [(kind, digits) for kind, digits in removed if len(digits) >= 3]
    if not removed:
        return result
    spans = []
    for run in _runs_of(result.text):
        kind = next((k for k, digits in removed if len(run.digits) >= 3 and run.digits in digits),
                    None)
        if kind is not None:
            spans.append((kind, run.start, run.end))
    if not spans:
        return result
    again = apply(result.text, spans)
    return Redacted(again.text, _compose(result, again))


def _compose(first: Redacted, second: Redacted) -> list[Redaction]:
    """The redactions of two passes, as spans of the original and of the final text."""
    out = []
    for r in first.redactions:  # its labels stand where the second pass left them
        start = second.map_offset(r.out_start)
        out.append(Redaction(r.kind, r.start, r.end, start, start + len(r.label)))
    for r in second.redactions:
        out.append(Redaction(r.kind, _back(first, r.start), _back(first, r.end), r.out_start,
                             r.out_end))
    return sorted(out, key=lambda r: r.out_start)


def _back(result: Redacted, offset: int) -> int:
    """Where an offset of the redacted text was in the original (outside every label)."""
    shift = 0
    for r in result.redactions:
        if offset < r.out_start:
            break
        shift = r.end - r.out_end
    return offset + shift


def _runs_of(text: str) -> list[Run]:
    """The number runs of a text on its own (no cues, nothing taken)."""
    tokens = tokenize(fold(text))
    return find_runs(tokens, [False] * len(tokens))


def _digits(text: str) -> str:
    """Every digit a text says, in any spelling."""
    return "".join(run.digits for run in _runs_of(text))


def find(text: str, options: RedactionOptions) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every sensitive span of ``text``."""
    folded = fold(text)
    spans: list[tuple[str, int, int]] = []
    if options.wants("email"):
        spans += [("email", m.start(), m.end()) for m in WRITTEN_EMAIL.finditer(folded)]
        if "点" in folded or "艾特" in folded:  # only a Chinese sentence says an address so
            spans += [("email", m.start(), m.end())
                      for m in HAN_SPOKEN_EMAIL.finditer(folded.lower())
                      if EMAIL_CUE.search(folded[max(0, m.start() - 12):m.start()].lower())]
    if options.wants("account"):
        spans += [("account", m.start(), m.end()) for m in IBAN.finditer(folded)
                  if iban_valid(m.group())]
    if options.wants("expiry"):
        spans += _han_expiries(folded)
    tokens = tokenize(folded)
    taken = [any(s <= t.start < e for _, s, e in spans) for t in tokens]
    if options.wants("email"):
        for start, end in spoken_emails(tokens, taken, folded):
            spans.append(("email", tokens[start].start, tokens[end].end))
            for i in range(start, end + 1):
                taken[i] = True
    runs = find_runs(tokens, taken)
    classify(runs, tokens, folded, options)
    spans += _run_spans(runs, tokens, options)
    if options.wants("expiry"):
        spans += _written_expiries(tokens, taken, runs, folded, options)
        spans += _month_expiries(tokens, runs, folded, options)
    return spans


def iban_valid(text: str) -> bool:
    """The ISO 13616 check (mod 97): a tracking code with letters in front is not an IBAN."""
    code = text.replace(" ", "").upper()
    digits = "".join(str(int(ch, 36)) for ch in code[4:] + code[:4])
    return 15 <= len(code) <= 34 and int(digits) % 97 == 1


def _han_expiries(text: str) -> list[tuple[str, int, int]]:
    """二七年四月 / 2028年11月 named as a card's expiry."""
    found = []
    for m in HAN_EXPIRY.finditer(text):
        before = text[max(0, m.start() - 12):m.start()]
        if _EXPIRY_CUE.search(before):
            found.append(("expiry", m.start(), m.end()))
    return found


def _month_expiries(tokens: list[Token], runs: list[Run], text: str, options: RedactionOptions
                    ) -> list[tuple[str, int, int]]:
    """"November twenty eight", "April 2027" named as an expiry."""
    found = []
    starts = {run.first: run for run in runs}
    for i, tok in enumerate(tokens):
        run = starts.get(i + 1)
        if tok.low not in MONTHS or run is None or len(run.digits) not in (2, 4) or run.kind:
            continue
        if _EXPIRY_CUE.search(_words_before(tokens, i, text, options.window)):
            found.append(("expiry", tok.start, run.end))
    return found


def _words_before(tokens: list[Token], i: int, text: str, window: int) -> str:
    """The ``window`` tokens before token ``i``, as lower-case text."""
    back = tokens[max(0, i - window):i]
    return text[back[0].start:tokens[i].start].lower() if back else ""


def _run_spans(runs: list[Run], tokens: list[Token], options: RedactionOptions
               ) -> list[tuple[str, int, int]]:
    spans: list[tuple[str, int, int]] = []
    for run in runs:
        if not run.kind or not options.wants(run.kind):
            continue
        start = run.start
        if run.kind == "phone" and run.first and tokens[run.first - 1].low in ("+", "plus", "("):
            start = tokens[run.first - 1].start
        # the groups of one number in one turn are one span, the words between included
        if run.chained and spans and spans[-1][0] == run.kind and all(
                t.low in SEPARATORS for t in tokens if spans[-1][2] <= t.start < start):
            spans[-1] = (run.kind, spans[-1][1], run.end)
            continue
        spans.append((run.kind, start, run.end))
    return spans


def _written_expiries(tokens: list[Token], taken: list[bool], runs: list[Run], text: str,
                      options: RedactionOptions) -> list[tuple[str, int, int]]:
    """``04/27`` named as an expiry, or said right after a card number."""
    found = []
    for i, tok in enumerate(tokens):
        if tok.kind != "mmyy" or taken[i]:
            continue
        card = next((r for r in reversed(runs) if r.last < i), None)
        after_card = card is not None and card.kind == "card" \
            and words_between(tokens, card.last + 1, i) <= 3
        if _EXPIRY_CUE.search(_words_before(tokens, i, text, options.window)) or after_card:
            found.append(("expiry", tok.start, tok.end))
    return found
