"""JSON lines on standard input, read the same way by every command that takes them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any


def stdin_lines() -> Iterator[tuple[int, str | None, str | None]]:
    """Standard input line by line, as it arrives: (line number, text, problem), the text
    None when the line is not UTF-8 and the problem then says where.

    Read as bytes: a text stream would stop with a UnicodeDecodeError at the first bad
    byte (or, in a C.UTF-8 locale, pass it on as a lone surrogate) instead of naming the line.
    """
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            yield number, raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            yield number, None, (f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column "
                                 f"{exc.start + 1})")


def json_line(line: str) -> tuple[Any, str | None]:
    """One line's JSON value, or None and what is wrong with it."""
    try:
        return json.loads(line), None
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg})"
    except RecursionError:  # the decoder recurses once per level: [[[[...]]]] 100,000 deep
        return None, "not valid JSON (nested too deep)"
