"""What-if on stored calls: the flags the current packs would raise on stored transcripts,
next to the flags stored when the calls were taken (read through the store's read API)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from ..store import read_calls, read_flags, read_utterances

if TYPE_CHECKING:
    from ..store import Store
    from .detector import PhraseDetector


@dataclass(frozen=True)
class FlagChange:
    """One flag that would appear (``change="+"``) or disappear (``"-"``) on a stored utterance.

    Attributes:
        change: "+" the current packs raise it and the store has no such flag; "-" the
            store has it and the current packs no longer raise it.
        call: the stored call's id.
        utterance: the utterance's sequence number in the call.
        phrase: the pack id.
        text: the words flagged (for "-": as stored), redacted like every stored text.
        matcher: which matcher raised it ("" for a stored flag that did not say).
        confidence: how sure the matcher is (None for a stored flag without one).
        said: the whole stored utterance.
    """

    change: str
    call: str
    utterance: int
    phrase: str
    text: str
    matcher: str
    confidence: float | None
    said: str


def replay_stored(store: Store, detector: PhraseDetector, since: datetime | date | None = None,
                  limit: int | None = None) -> Iterator[FlagChange]:
    """Re-run every stored call (started on or after ``since``, newest first) through the
    detector, utterance by utterance; yields the flags that differ from the stored ones.

    A stored flag and a new one match when they are on the same utterance for the same
    phrase: a flag moved by a word is no change.  Stored texts are redacted, so a pack
    that needs a card number to fire cannot fire here either.
    """
    for call in read_calls(store, since=since, limit=limit):
        stored: dict[tuple[int, str], tuple[str, str, float | None]] = {}
        for row in read_flags(store, call_id=call["id"]):
            if row.utterance_seq is not None:
                stored[(row.utterance_seq, row.phrase)] = (row.text or "", row.matcher or "",
                                                           row.confidence)
        said: dict[int, str] = {}
        for utt in read_utterances(store, call["id"]):
            said[utt.seq] = utt.text
            for flag in detector.check(utt.text, utt.speaker) if utt.text.strip() else []:
                if stored.pop((utt.seq, flag.phrase), None) is None:
                    yield FlagChange("+", call["id"], utt.seq, flag.phrase, flag.text,
                                     flag.matcher, flag.confidence, utt.text)
        for (seq, phrase), (text, matcher, confidence) in sorted(stored.items()):
            yield FlagChange("-", call["id"], seq, phrase, text, matcher, confidence,
                             said.get(seq, ""))
