"""Redaction: card numbers, security codes, expiry dates, account numbers and sort codes,
phone numbers and e-mail addresses become a typed placeholder (``[CARD]``) before
anything is stored, exported or shown to a coach.

Customers read these aloud and recognisers write them as digits ("4567 8901"), as
words ("four five six seven, double oh ..."), as a mixture, with fillers, split over
breaths and turns, in English or Chinese (四五三九, 幺, full-width digits).  The text is
cut into number runs, chained over soft words and turns, and classified by the
nearest cue (``numbers``), with the call's earlier turns as context (``Redactor``):
the agent asks "and the three digits on the back?", the customer says "hang on",
then "seven three seven".  Amounts, dates, times, quantities and order numbers stay.
"""

from .engine import Redactor, redact, redact_call, redact_text
from .model import KINDS, LABELS, Redacted, Redaction, RedactionOptions
from .numbers import luhn
from .vocab import MONTH_NAMES, NUMBER_WORDS

__all__ = [
    "KINDS",
    "LABELS",
    "MONTH_NAMES",
    "NUMBER_WORDS",
    "luhn",
    "redact",
    "redact_call",
    "redact_text",
    "Redacted",
    "Redaction",
    "RedactionOptions",
    "Redactor",
]
