"""The pipeline sink that writes a call's events to the store."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy.exc import (
    DBAPIError,
)

from ..config import private_file
from ..events import (
    ChecklistStatus,
    End,
    Event,
    Flag,
    Overtalk,
    PainPoint,
    Repeat,
    Sentiment,
    Suggestion,
    Utterance,
    WrapUp,
)
from ..redact import Redacted, Redactor, redact
from .engine import _is_outage, _iso, _reason, now
from .schema import INCOMPLETE
from .store import _read_spool, _try_lock, log, redact_strings

if TYPE_CHECKING:
    from .store import Store


STORED_EVENTS = (Overtalk, ChecklistStatus, Sentiment, Repeat, WrapUp)
"""How the call went: kept whole (every string redacted) in ``call_events``."""


def default_agent() -> str:
    return os.environ.get("ASSIST_AGENT") or getpass.getuser()


class StoreSink:
    """A pipeline sink that writes a call into the store as it happens.

    Each final utterance, flag, suggestion and pain point is committed when it
    arrives (partials are not stored), redacted first.  ``start_call`` writes
    the call as *incomplete*; only the ``end`` event completes it, so a call cut
    off by a crash stays incomplete and keeps what was said.  When a write fails
    because the database went away, the operation and those after it go to a
    spool file (``<spool_dir>/<call>.jsonl``) and a background thread writes them
    when the database is back; the pipeline never waits for the network.

    Attributes:
        store: the store written to.
        agent: who takes the call (default ``$ASSIST_AGENT`` or the login name).
        source: what the audio is (file name, device).
        call_id: the call's id (the pipeline's, given to ``start_call``).
        retry_seconds: how often the spool thread tries the database again.
        team: the agent's team, recorded on the agent with the call (None: left as it is).
    """

    def __init__(self, store: Store, agent: str | None = None, source: str = "",
                 call_id: str | None = None, retry_seconds: float = 2.0,
                 redactor: Redactor | None = None, team: str | None = None):
        self.store = store
        self.agent = agent or default_agent()
        self.team = team
        self.source = source
        self.call_id = call_id
        self.retry_seconds = retry_seconds
        self.redactor = redactor  # None: the store's context for the call
        self._seq = {"utterance": 0, "flag": 0, "suggestion": 0, "painpoint": 0, "event": 0}
        self._last_utterance: dict[str, tuple[int, str, Redacted]] = {}
        self._lock = threading.RLock()
        self._started = False
        self._began: datetime | None = None  # a call of the past (imported): when it started
        self._spool_handle: TextIO | None = None
        self._held: list[dict[str, Any]] = []
        self._spooling = False
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None

    # ------------------------------------------------------------ public

    @property
    def spooling(self) -> bool:
        return self._spooling

    @property
    def held_in_memory(self) -> int:
        """Operations neither the database nor the spool could take (a full disk)."""
        return len(self._held)

    def start_call(self, call_id: str | None = None, started: datetime | None = None) -> str:
        """Write the call as incomplete; returns its id."""
        with self._lock:
            self.call_id = call_id or self.call_id or uuid.uuid4().hex[:12]
            self._started = True
            self._began = started
            self._write({"op": "call", "id": self.call_id, "agent": self.agent, "team": self.team,
                         "started": _iso(started or now()), "status": INCOMPLETE,
                         "source": self.source, "host": socket.gethostname()})
            return self.call_id

    def __call__(self, event: Event) -> None:
        op = self._op_for(event)
        if op is not None:
            with self._lock:
                if not self._started:
                    self.start_call()
                op["call_id"] = self.call_id
                self._write(op)

    def feedback(self, article: str, useful: bool) -> None:
        """The agent marked a KB suggestion of this call useful or not (spooled if need be)."""
        with self._lock:
            self._write({"op": "feedback", "call_id": self.call_id, "article": article,
                         "useful": useful, "at": _iso(now()), "redacted": True})

    def close(self, timeout: float = 5.0) -> bool:
        """Stop the spool thread after one last try; True when nothing is left unwritten."""
        if self._spooling:
            self._try_flush()
        self._closed.set()
        if self._flusher is not None:
            self._flusher.join(timeout)
        with self._lock:
            left = self._spooling
            if self._spool_handle is not None:
                # release the file (and its lock) either way: what is left is written at
                # the next start by Store.flush_spool
                self._spool_handle.close()
                self._spool_handle = None
                if not left:
                    with contextlib.suppress(FileNotFoundError):
                        self._spool_path().unlink()
        self.store.forget_call(self.call_id)
        return not left

    # ------------------------------------------------------------ events → operations

    def _op_for(self, event: Event) -> dict[str, Any] | None:
        if isinstance(event, Utterance):
            return self._utterance_op(event)
        if isinstance(event, Flag):
            return self._flag_op(event) if event.final else None
        if isinstance(event, Suggestion):
            return {"op": "suggestion", "seq": self._next("suggestion"), "article": event.article,
                    "title": event.title, "score": event.score, "t": event.t, "redacted": True}
        if isinstance(event, PainPoint):
            return {"op": "painpoint", "seq": self._next("painpoint"), "cluster": event.cluster,
                    "label": redact(event.label, self.store.redaction).text, "count": event.count,
                    "t": event.t, "seen": _iso(self._at(event.t)), "redacted": True}
        if isinstance(event, STORED_EVENTS):
            # what these say quotes the call (a restated problem, the summary): read with
            # the call's turns, losing every number they lost
            data = {k: v for k, v in event.to_dict().items() if k not in ("type", "t")}
            quoted = (self.redactor or self.store.call_redactor(self.call_id)).quoted
            return {"op": "event", "seq": self._next("event"), "type": event.type, "t": event.t,
                    "data": redact_strings(data, quoted), "redacted": True}
        if isinstance(event, End):
            return {"op": "end", "ended": _iso(now()), "duration": event.duration}
        return None

    def _at(self, t: float | None) -> datetime:
        """When an event happened: now, or in an imported call, ``t`` into it."""
        if self._began is None:
            return now()
        return self._began + timedelta(seconds=t or 0.0)

    def _utterance_op(self, event: Utterance) -> dict[str, Any]:
        seq = self._next("utterance")
        result = (self.redactor or self.store.call_redactor(self.call_id))(event.text)
        self._last_utterance[event.speaker] = (seq, event.text, result)
        return {"op": "utterance", "seq": seq, "speaker": event.speaker, "start": event.start,
                "end": event.end, "text": result.text, "language": event.language, "t": event.t,
                "redactions": ",".join(result.kinds) or None, "redacted": True}

    def _flag_op(self, event: Flag) -> dict[str, Any]:
        seq, said, result = self._last_utterance.get(event.speaker, (None, "", None))
        span: tuple[int | None, int | None] = (None, None)
        if event.span and result is not None:
            span = (result.map_offset(event.span[0]), result.map_offset(event.span[1]))
        return {"op": "flag", "seq": self._next("flag"), "utterance_seq": seq,
                "phrase": event.phrase, "speaker": event.speaker,
                "text": redact(event.text, self.store.redaction, context=said).text,
                "start": event.start, "end": event.end, "severity": event.severity,
                "suggestion": event.suggestion, "matcher": event.matcher,
                "span_start": span[0], "span_end": span[1], "t": event.t,
                "confidence": event.confidence, "audible": event.audible, "redacted": True}

    def _next(self, kind: str) -> int:
        self._seq[kind] += 1
        return self._seq[kind]

    # ------------------------------------------------------------ writing and spooling

    def _write(self, op: dict[str, Any]) -> None:
        if self._spooling:
            self._spool(op)
            return
        try:
            self.store.apply(op)
        except DBAPIError as exc:
            if not _is_outage(exc):
                raise
            log.warning("database unreachable (%s): spooling call %s", _reason(exc), self.call_id)
            self._spooling = True
            self._spool(op)
            self._start_flusher()

    def _spool_path(self) -> Path:
        return self.store.spool_dir / f"{self.call_id}.jsonl"

    def _spool(self, op: dict[str, Any]) -> None:
        try:
            if self._spool_handle is None:
                private_file(self._spool_path())  # what customers said: owner only
                self._spool_handle = open(self._spool_path(), "a", encoding="utf-8")  # noqa: SIM115
                _try_lock(self._spool_handle)
            self._spool_handle.write(json.dumps(op, ensure_ascii=False) + "\n")
            self._spool_handle.flush()
            os.fsync(self._spool_handle.fileno())
        except OSError as exc:
            # a full disk (or a spool folder gone): the call goes on, held in memory until
            # the database answers again
            if not self._held:
                log.warning("cannot spool call %s (%s): keeping it in memory", self.call_id,
                            exc.strerror or exc)
            self._held.append(op)

    def _start_flusher(self) -> None:
        if self._flusher is None or not self._flusher.is_alive():
            self._flusher = threading.Thread(target=self._flush_loop, name="assist-spool",
                                             daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._closed.wait(self.retry_seconds):
            if self._try_flush():
                return

    def _try_flush(self) -> bool:
        """Replay the spool if the database answers; True when it is empty again."""
        if not self.store.ping():  # outside the lock: connecting may take seconds
            return False
        with self._lock:
            if not self._spooling:
                return True
            try:
                with open(self._spool_path(), encoding="utf-8") as handle:
                    ops = _read_spool(handle)
            except OSError:  # nothing could be written to it
                ops = []
            ops += self._held
            try:
                self.store._apply_spooled(ops)
            except DBAPIError as exc:
                if _is_outage(exc):
                    return False
                raise
            self._held = []
            with contextlib.suppress(OSError):
                if self._spool_handle is not None:
                    self._spool_handle.truncate(0)
                else:
                    self._spool_path().unlink(missing_ok=True)
            self._spooling = False
            log.warning("database back: %d spooled operations written for call %s",
                        len(ops), self.call_id)
            return True
