"""When a pain point is rising: more calls in the last window than its baseline explains."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .options import PainPointOptions


def rise(times: Sequence[datetime], now: datetime, options: PainPointOptions,
         history_start: datetime | None = None) -> tuple[int, float]:
    """(recent count in the window, baseline count per window) for sorted times."""
    window = timedelta(seconds=options.window)
    recent = bisect.bisect_right(times, now) - bisect.bisect_right(times, now - window)
    start = now - window - timedelta(seconds=options.baseline)
    if history_start is not None:
        start = max(start, history_start)
    span = (now - window - start).total_seconds()
    if span < options.window:  # too little history to know the usual rate
        return recent, options.baseline_floor
    before = bisect.bisect_right(times, now - window) - bisect.bisect_left(times, start)
    return recent, max(before * options.window / span, options.baseline_floor)


def rises(recent: int, baseline: float, options: PainPointOptions) -> bool:
    """The early-warning test: enough calls in the window, and enough above the baseline."""
    return recent >= options.min_count and recent >= options.rise_factor * baseline
