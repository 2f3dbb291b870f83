"""The store: calls, utterances, flags, suggestions, pain points and reviews.

One SQLite file in the user data folder by default (WAL, so the review screen
reads while a call writes); a PostgreSQL server when the URL says
``postgresql://`` so a whole floor writes to one database.  The same SQLAlchemy
Core code serves both.  The schema is versioned: ``MIGRATIONS`` is an ordered
list, applied under a lock so twenty agent machines starting at once upgrade
it exactly once.

Writes are *operations* (plain dicts: ``{"op": "utterance", ...}``) that are
idempotent: every row a call writes has a natural key (call, sequence number)
and is inserted with ON CONFLICT DO NOTHING.  That is what makes the spool
safe: when the database goes away mid-call, ``StoreSink`` appends the
operations to a JSON-lines file and replays them, possibly twice, when it
returns; nothing is lost and nothing doubled.

Everything is redacted (``assist.redact``) before it is written, spooled or
read back for export.
"""

from .engine import _reason, now, resolve_url, safe_url
from .notify import CLUSTERED, ITEMS, RISING, Listener, listening, notify, worker_running
from .opening import open_for
from .painpoints import (
    ItemRow,
    StoreError,
    commit_clustering,
    first_item_seen,
    painpoint_examples,
    painpoint_generation,
    painpoint_members,
    painpoint_sightings,
    painpoint_warnings,
    read_painpoint_items,
    save_painpoint_item,
)
from .reads import (
    MIN_PREFIX,
    flag_exists,
    read_agents,
    read_call_events,
    read_call_review,
    read_calls,
    read_false_alarms,
    read_flagged_lines,
    read_flags,
    read_suggestions,
    read_utterances,
    resolve_call_id,
)
from .schema import (
    CALL_REVIEW,
    MIGRATIONS,
    SCHEMA_VERSION,
    VERDICTS,
    agents,
    call_events,
    calls,
    flags,
    metadata,
    painpoint_items,
    painpoint_mentions,
    painpoint_runs,
    painpoints,
    reviews,
    suggestions,
    utterances,
)
from .sink import StoreSink, default_agent
from .store import Store

__all__ = [
    "CLUSTERED",
    "ITEMS",
    "Listener",
    "listening",
    "notify",
    "RISING",
    "worker_running",
    "open_for",
    "_reason",
    "agents",
    "CALL_REVIEW",
    "call_events",
    "calls",
    "commit_clustering",
    "default_agent",
    "first_item_seen",
    "flag_exists",
    "MIN_PREFIX",
    "read_agents",
    "resolve_call_id",
    "flags",
    "ItemRow",
    "metadata",
    "MIGRATIONS",
    "now",
    "painpoint_examples",
    "painpoint_generation",
    "painpoint_items",
    "painpoint_members",
    "painpoint_mentions",
    "painpoint_runs",
    "painpoint_sightings",
    "painpoint_warnings",
    "painpoints",
    "read_call_events",
    "read_call_review",
    "read_calls",
    "read_false_alarms",
    "read_flagged_lines",
    "read_flags",
    "read_painpoint_items",
    "read_suggestions",
    "read_utterances",
    "resolve_url",
    "reviews",
    "safe_url",
    "save_painpoint_item",
    "SCHEMA_VERSION",
    "Store",
    "StoreError",
    "StoreSink",
    "suggestions",
    "utterances",
    "VERDICTS",
]
