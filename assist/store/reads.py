"""The store's read queries for the coach's review: plain rows, neither typed nor redacted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Row, RowMapping, and_, exists, func, select

from ..errors import AssistError
from .schema import (
    CALL_REVIEW,
    agents,
    call_events,
    calls,
    flags,
    reviews,
    suggestions,
    utterances,
)

if TYPE_CHECKING:
    from .store import Store

# "Call ids are accepted by any unique prefix of 4 or more characters" (DESIGN.md)
MIN_PREFIX = 4


def read_calls(store: Store, agent: str | None = None, since: datetime | date | None = None,
               until: datetime | date | None = None, phrase: str | None = None,
               unreviewed: bool = False, status: str | None = None, team: str | None = None,
               limit: int | None = 500, ids: list[str] | None = None) -> Sequence[RowMapping]:
    """Call rows, newest first, each with ``n_utt``, ``n_flags``, ``n_reviewed``,
    ``n_confirmed`` and ``n_false`` counts; ``until`` is exclusive."""
    f, r = flags.c, reviews.c
    reviewed_join = and_(r.call_id == f.call_id, r.flag_seq == f.seq, r.verdict.is_not(None))

    def flag_count(*where):
        source = flags.join(reviews, reviewed_join) if where else flags
        return (select(func.count()).select_from(source)
                .where(f.call_id == calls.c.id, *where).scalar_subquery())

    query = select(
        calls,
        select(func.count()).where(utterances.c.call_id == calls.c.id)
        .scalar_subquery().label("n_utt"),
        select(func.count()).where(f.call_id == calls.c.id).scalar_subquery().label("n_flags"),
        flag_count(r.verdict.is_not(None)).label("n_reviewed"),
        flag_count(r.verdict == "confirmed").label("n_confirmed"),
        flag_count(r.verdict == "false-alarm").label("n_false"),
    ).order_by(calls.c.started.desc(), calls.c.id)
    if ids is not None:
        query = query.where(calls.c.id.in_(ids))
    if agent:
        query = query.where(calls.c.agent == agent)
    if team:
        query = query.where(calls.c.agent.in_(select(agents.c.id).where(agents.c.team == team)))
    if since:
        query = query.where(calls.c.started >= _as_datetime(since))
    if until:
        query = query.where(calls.c.started < _as_datetime(until))
    if status:
        query = query.where(calls.c.status == status)
    if phrase:
        query = query.where(exists().where(f.call_id == calls.c.id, f.phrase == phrase))
    if unreviewed:
        no_verdict = ~exists().where(reviewed_join)
        query = query.where(exists().where(f.call_id == calls.c.id, no_verdict))
    if limit:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        return conn.execute(query).mappings().all()


def resolve_call_id(store: Store, given: str) -> str:
    """The id of the one call whose id is ``given`` or starts with it (4 characters at
    least); an unknown or ambiguous id is an ``AssistError`` that says which."""
    given = given.strip()
    with store.engine.connect() as conn:
        if conn.execute(select(calls.c.id).where(calls.c.id == given)).first() is not None:
            return given
        if len(given) < MIN_PREFIX:
            raise AssistError(f"no call '{given}' in {store!r} (a shortened id needs "
                              f"{MIN_PREFIX} characters at least)")
        escaped = given.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found = conn.execute(select(calls.c.id).where(calls.c.id.like(escaped + "%", escape="\\"))
                             .order_by(calls.c.id).limit(6)).scalars().all()
    if not found:
        raise AssistError(f"no call '{given}' in {store!r}")
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise AssistError(f"call id '{given}' is ambiguous: {shown} (give more characters)")
    return str(found[0])


def read_agents(store: Store) -> Sequence[RowMapping]:
    """Every agent (``id``, ``name``, ``team``) with ``n_calls`` and ``last_call``, by id."""
    query = select(
        agents.c.id, agents.c.name, agents.c.team,
        select(func.count()).where(calls.c.agent == agents.c.id).scalar_subquery().label("n_calls"),
        select(func.max(calls.c.started)).where(calls.c.agent == agents.c.id)
        .scalar_subquery().label("last_call"),
    ).order_by(agents.c.id)
    with store.engine.connect() as conn:
        return conn.execute(query).mappings().all()


def read_utterances(store: Store, call_id: str) -> Sequence[Row]:
    """A call's utterances in order: ``seq, speaker, start, end, text``."""
    u = utterances.c
    with store.engine.connect() as conn:
        return conn.execute(select(u.seq, u.speaker, u.start, u.end, u.text)
                            .where(u.call_id == call_id).order_by(u.seq)).all()


def read_flags(store: Store, call_id: str | None = None, call_ids: list[str] | None = None
               ) -> Sequence[Row]:
    """Flag rows (of one call, of several, or all) with their review's verdict, note, reviewer."""
    f, r = flags.c, reviews.c
    query = (select(f.call_id, f.seq, f.phrase, f.speaker, f.text, f.start, f.end, f.severity,
                    f.suggestion, f.utterance_seq, r.verdict, r.note, r.reviewer, f.span_start,
                    f.span_end, f.matcher, f.confidence)
             .select_from(flags.outerjoin(reviews,
                                          and_(r.call_id == f.call_id, r.flag_seq == f.seq)))
             .order_by(f.call_id, f.seq))
    if call_id is not None:
        query = query.where(f.call_id == call_id)
    if call_ids is not None:
        query = query.where(f.call_id.in_(call_ids))
    with store.engine.connect() as conn:
        return conn.execute(query).all()


def read_call_review(store: Store, call_id: str) -> Row | None:
    """The ``verdict, note, reviewer`` row about the call as a whole, or None."""
    r = reviews.c
    with store.engine.connect() as conn:
        return conn.execute(select(r.verdict, r.note, r.reviewer).where(
            r.call_id == call_id, r.flag_seq == CALL_REVIEW)).first()


def flag_exists(store: Store, call_id: str, flag_seq: int) -> bool:
    with store.engine.connect() as conn:
        found = conn.execute(select(flags.c.id).where(
            flags.c.call_id == call_id, flags.c.seq == flag_seq)).first()
    return found is not None


def read_false_alarms(store: Store, phrase: str | None = None,
                      since: datetime | date | None = None) -> Sequence[Row]:
    """Flags dismissed as false alarms: ``call_id, seq, phrase, text, utterance, note``."""
    f, r, u = flags.c, reviews.c, utterances.c
    said = and_(u.call_id == f.call_id, u.seq == f.utterance_seq)
    query = (select(f.call_id, f.seq, f.phrase, f.text, u.text.label("utterance"), r.note)
             .select_from(flags.join(reviews, and_(r.call_id == f.call_id, r.flag_seq == f.seq))
                          .outerjoin(utterances, said))
             .where(r.verdict == "false-alarm").order_by(f.phrase, f.call_id, f.seq))
    if phrase:
        query = query.where(f.phrase == phrase)
    if since:
        query = query.where(r.updated >= _as_datetime(since))
    with store.engine.connect() as conn:
        return conn.execute(query).all()


def read_flagged_lines(store: Store, call_ids: list[str]) -> Sequence[Row]:
    """The utterances some flag of these calls was heard in: ``call_id, seq, text``."""
    u = utterances.c
    flagged = select(flags.c.utterance_seq).where(flags.c.call_id == u.call_id)
    with store.engine.connect() as conn:
        return conn.execute(select(u.call_id, u.seq, u.text).where(
            u.call_id.in_(call_ids), u.seq.in_(flagged))).all()


def read_suggestions(store: Store, call_id: str) -> Sequence[RowMapping]:
    """A call's KB suggestions in order: ``seq, article, title, score, t, feedback``."""
    s = suggestions.c
    with store.engine.connect() as conn:
        return conn.execute(select(s.seq, s.article, s.title, s.score, s.t, s.feedback)
                            .where(s.call_id == call_id).order_by(s.seq)).mappings().all()


def _as_datetime(value: datetime | date) -> datetime:
    # stored times are naive: a bound must be naive too, and a bare date means its midnight
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def read_call_events(store: Store, call_id: str, types: Sequence[str] | None = None
                     ) -> list[dict[str, object]]:
    """A call's stored overtalk, checklist, sentiment, repeat and wrapup events, in order,
    each as its ``--jsonl`` keys (``type``, ``t`` and the event's own)."""
    import json

    query = select(call_events).where(call_events.c.call_id == call_id).order_by(call_events.c.seq)
    if types:
        query = query.where(call_events.c.type.in_(list(types)))
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{"type": r["type"], "t": r["t"], **json.loads(r["data"])} for r in rows]
