"""Messages the pipeline thread and the widgets send up to the app.

Every message is a dataclass.  Interim things a newer message makes stale
(partial text, audio levels) set ``can_replace``, so a slow terminal drops
them instead of building a backlog: Textual asks the message being handled
whether the next queued one supersedes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ..events import Event, Partial


@dataclass
class PipelineEvent(Message):
    """One event from the pipeline thread (anything but partial text)."""

    event: Event


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
class ArticleLoaded(Message):
    """The full text of an article, loaded off the UI thread (None: not found)."""

    article: str
    body: str | None
    note: str = ""
