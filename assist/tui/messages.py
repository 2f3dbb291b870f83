"""Messages the pipeline thread and the widgets send up to the app.

Every message is a dataclass.  Interim things a newer message makes stale
(partial text, audio levels) set ``can_replace``, so a slow terminal drops
them instead of building a backlog: Textual asks the message being handled
whether the next queued one supersedes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from ..events import Event, Partial

if TYPE_CHECKING:
    from ..kb import KnowledgeBase, SearchResult
    from ..models import Step
    from ..painpoints import KbGap
    from ..review import CallDetail, CallSummary


@dataclass
class PipelineEvent(Message):
    """One event from the pipeline thread (anything but partial text)."""

    event: Event


@dataclass
class Preparing(Message):
    """A step of getting the call ready (loading a model, building an index) started or
    finished, from the pipeline thread."""

    step: Step


@dataclass
class PartialText(Message):
    """Interim text for one speaker; the next partial of the same speaker supersedes it."""

    event: Partial

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PartialText) and message.event.speaker == self.event.speaker


@dataclass
class Levels(Message):
    """Peak audio level (0..1) per speaker since the last message; the next one supersedes it."""

    bubble = False
    levels: dict[str, float]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Levels)


@dataclass
class RowsWanted(Message):
    """A side panel's content changed, so the rows it wants may have (``SideColumn``
    shares the rows out again)."""


@dataclass
class ArticleLoaded(Message):
    """The full text of an article, loaded off the UI thread (None: not found)."""

    article: str
    body: str | None
    note: str = ""



# ---------------------------------------------------------------- review and KB screens
# Their thread workers read the store or the KB and post one of these; ``error`` is the
# one-line reason they could not (then the data is empty).


@dataclass
class CallsLoaded(Message):
    """The call list for the current filters."""

    calls: list[CallSummary]
    error: str = ""


@dataclass
class CallLoaded(Message):
    """One call to review; ``why`` maps phrase ids to why they hurt (from the phrase packs)."""

    detail: CallDetail | None
    why: dict[str, str]
    error: str = ""


@dataclass
class ReviewSaved(Message):
    """A verdict, note or export was written (``done`` says what, for the notification)."""

    done: str
    error: str = ""


@dataclass
class KbOpened(Message):
    """The knowledge base and its embedding model are loaded."""

    kb: KnowledgeBase | None
    error: str = ""


@dataclass
class KbFound(Message):
    """Search results for ``query``."""

    query: str
    results: list[SearchResult]
    error: str = ""


@dataclass
class GapsFound(Message):
    """Pain points without a good article."""

    gaps: list[KbGap]
    error: str = ""
