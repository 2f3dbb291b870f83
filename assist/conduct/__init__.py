"""How the call goes, beyond banned words: overtalk and talk share, the steps a call must
take (checklists), customer frustration, a customer repeating a problem, and the
after-call wrap-up note.  Each is an ``Analyzer``; ``conduct_analyzers`` wires them so
the wrap-up reads the others' figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .checklist import CHECKLISTS, ChecklistMonitor, load_checklists
from .frustration import FrustrationMonitor, FrustrationOptions, TextMood, label_of
from .mood import MOODS, EmbeddingMood, read_moods
from .repeats import RepeatMonitor
from .talk import TalkFigures, TalkMonitor
from .wrapup import WrapUpWriter

if TYPE_CHECKING:
    from ..call import Analyzer
    from ..models import Embedder


def conduct_analyzers(embedder: Embedder, text_mood: TextMood | None = None,
                      checklists: Path | None = None, language: str | None = None,
                      company: str | None = None) -> list[Analyzer]:
    """Talk, checklist, repeats, frustration and wrap-up, in the order they must run: a
    repeat or an overtalk is seen by the frustration score of the utterance after it.
    ``text_mood``: the words' scorer (default: ``EmbeddingMood`` on ``embedder``)."""
    talk = TalkMonitor()
    frustration = FrustrationMonitor(text_mood or EmbeddingMood(embedder))
    return [talk, ChecklistMonitor(checklists, language, company, embedder),
            RepeatMonitor(embedder), frustration, WrapUpWriter(talk, frustration)]


__all__ = [
    "CHECKLISTS",
    "ChecklistMonitor",
    "conduct_analyzers",
    "EmbeddingMood",
    "MOODS",
    "read_moods",
    "FrustrationMonitor",
    "FrustrationOptions",
    "label_of",
    "load_checklists",
    "RepeatMonitor",
    "TalkFigures",
    "TalkMonitor",
    "TextMood",
    "WrapUpWriter",
]
