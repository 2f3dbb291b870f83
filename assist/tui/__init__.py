"""The Textual UI (the only part of assist that imports Textual).

``app.run_app(source, settings)`` opens the live screen on a call.
"""

from .app import AssistApp, fresh_source, run_app
from .article import ArticleScreen, load_article
from .base import BackOfficeApp, run_back_office
from .kb_screen import KbScreen
from .keybar import KeyBar
from .messages import Levels, PartialText
from .review import CallScreen, ExportScreen, NoteScreen, ReviewScreen
from .shared import StoreHandle
from .transcript import Transcript, tail_start
from .widgets import Banner, CallHeader, CoachPanel, KbPanel, LevelMeter, PainTicker, flag_span

__all__ = [
    "fresh_source",
    "ArticleScreen",
    "AssistApp",
    "BackOfficeApp",
    "Banner",
    "CallHeader",
    "CallScreen",
    "CoachPanel",
    "ExportScreen",
    "flag_span",
    "KbPanel",
    "KbScreen",
    "KeyBar",
    "LevelMeter",
    "Levels",
    "load_article",
    "NoteScreen",
    "PainTicker",
    "PartialText",
    "ReviewScreen",
    "run_app",
    "run_back_office",
    "StoreHandle",
    "tail_start",
    "Transcript",
]
