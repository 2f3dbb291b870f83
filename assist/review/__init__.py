"""The coach's review workflow over the store: find calls, read each flag in its
transcript, record a verdict and a note, export a call or a team's week.

The review screen (``assist review``) and the CLI (``assist calls``,
``assist verdict``, ``assist export``) are thin fronts over these functions.
Everything a coach sees or exports is redacted again on the way out, so a row
written before redaction was switched on (or imported) never leaks.
"""

from .exports import (
    call_record,
    export_call,
    export_call_to,
    export_week,
    import_call,
    write_report,
)
from .queries import (
    call_conduct,
    call_detail,
    call_flags,
    call_review,
    flag_contexts,
    get_call,
    list_calls,
    transcript,
)
from .results import CallConduct, CallDetail, CallSummary, FlagView, clock_text
from .verdicts import false_alarms, record_call_note, record_note, record_verdict
from .week import week_report

__all__ = [
    "call_conduct",
    "clock_text",
    "CallConduct",
    "call_detail",
    "call_flags",
    "call_record",
    "call_review",
    "CallDetail",
    "CallSummary",
    "export_call",
    "export_call_to",
    "export_week",
    "false_alarms",
    "flag_contexts",
    "FlagView",
    "get_call",
    "import_call",
    "list_calls",
    "record_call_note",
    "record_note",
    "record_verdict",
    "transcript",
    "week_report",
    "write_report",
]
