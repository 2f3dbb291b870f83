"""A coach's verdicts and notes on flags."""

from __future__ import annotations

from datetime import date, datetime

from ..errors import AssistError
from ..store import (
    CALL_REVIEW,
    VERDICTS,
    Store,
    flag_exists,
    read_false_alarms,
)
from .queries import _scrub, get_call
from .results import FalseAlarm


def record_verdict(store: Store, call_id: str, flag_seq: int, verdict: str,
                   note: str | None = None, reviewer: str | None = None) -> None:
    """Confirm a flag or dismiss it as a false alarm; a later verdict replaces the earlier one."""
    if verdict not in VERDICTS:
        raise AssistError(f"verdict must be one of {', '.join(VERDICTS)}, not '{verdict}'")
    _check_flag(store, call_id, flag_seq)
    store.apply({"op": "review", "call_id": call_id, "flag_seq": flag_seq, "verdict": verdict,
                 "note": note, "reviewer": reviewer or _reviewer()})


def record_note(store: Store, call_id: str, flag_seq: int, note: str,
                reviewer: str | None = None) -> None:
    """A note on one flag that keeps its verdict (or none yet); ``CALL_REVIEW`` notes the call."""
    if flag_seq == CALL_REVIEW:
        record_call_note(store, call_id, note, reviewer)
        return
    _check_flag(store, call_id, flag_seq)
    store.apply({"op": "review", "call_id": call_id, "flag_seq": flag_seq, "note": note,
                 "reviewer": reviewer or _reviewer()})


def _check_flag(store: Store, call_id: str, flag_seq: int) -> None:
    if not flag_exists(store, call_id, flag_seq):
        raise AssistError(f"call '{call_id}' has no flag {flag_seq}")


def record_call_note(store: Store, call_id: str, note: str, reviewer: str | None = None) -> None:
    """A note about the call as a whole."""
    get_call(store, call_id)
    store.apply({"op": "review", "call_id": call_id, "flag_seq": CALL_REVIEW, "verdict": None,
                 "note": note, "reviewer": reviewer or _reviewer()})


def _reviewer() -> str:
    from ..store import default_agent

    return default_agent()


def false_alarms(store: Store, phrase: str | None = None, since: datetime | date | None = None
                 ) -> list[FalseAlarm]:
    """Flags dismissed as false alarms, with what was said: for ``assist phrases learn``."""
    rows = read_false_alarms(store, phrase=phrase, since=since)
    return [FalseAlarm(row.call_id, row.seq, row.phrase, _scrub(store, row.text),
                       _scrub(store, row.utterance), _scrub(store, row.note)) for row in rows]
