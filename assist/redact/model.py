"""What redaction is asked to do and what it did: options, spans, results."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("card", "cvv", "expiry", "account", "sortcode", "phone", "email")
LABELS = {kind: f"[{kind.upper()}]" for kind in KINDS}


@dataclass
class RedactionOptions:
    """What to redact; everything is on by default.

    Attributes:
        enabled: master switch; False returns the text unchanged.
        cards: card numbers (PAN) -> ``[CARD]``, and their expiry dates -> ``[EXPIRY]``.
        security_codes: CVV/CVC, PINs and passcodes -> ``[CVV]``.
        accounts: bank account numbers -> ``[ACCOUNT]``, sort codes -> ``[SORTCODE]``.
        phones: phone numbers -> ``[PHONE]``.
        emails: e-mail addresses, written or spoken ("john dot smith at gmail
            dot com") -> ``[EMAIL]``.
        luhn_only: without a card word nearby, treat a 13-19 digit run as a card
            only when it passes the Luhn check.  Off by default: a 15-16 digit run
            with no other explanation is taken for a card even when a
            misrecognised digit breaks the checksum (PCI DSS forbids keeping it).
        window: how many words before a number are searched for a cue in the same
            utterance.
        turns: how many earlier utterances of the call a number said at the start
            of an utterance may take its cue from ("the three digits on the back?",
            "hang on", "take your time", "seven three seven").
        memory: how many earlier utterances a number said in breaths may continue over
            ("five one two four" / "okay" / "six oh two nine" / "go on" / "four one ...").
    """

    enabled: bool = True
    cards: bool = True
    security_codes: bool = True
    accounts: bool = True
    phones: bool = True
    emails: bool = True
    luhn_only: bool = False
    window: int = 8
    turns: int = 3
    memory: int = 6

    def wants(self, kind: str) -> bool:
        return self.enabled and {
            "card": self.cards, "expiry": self.cards, "cvv": self.security_codes,
            "account": self.accounts, "sortcode": self.accounts, "phone": self.phones,
            "email": self.emails,
        }[kind]


@dataclass(frozen=True)
class Redaction:
    """One replaced span: where it was in the original and where its label is now."""

    kind: str
    start: int
    end: int
    out_start: int
    out_end: int

    @property
    def label(self) -> str:
        return LABELS[self.kind]


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


def apply(text: str, spans: list[tuple[str, int, int]]) -> Redacted:
    """Replace the spans (kind, start, end) of ``text`` by their labels; overlaps keep the first."""
    out: list[str] = []
    redactions: list[Redaction] = []
    pos = length = 0
    for kind, start, end in sorted(spans, key=lambda s: (s[1], -s[2])):
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
