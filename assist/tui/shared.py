"""What the review and KB screens share: the store they read, one-line errors, the title bar."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from ..errors import AssistError

if TYPE_CHECKING:
    from ..store import Store


def failure(exc: BaseException) -> str:
    """One line for the user: an AssistError's own message, else what went wrong."""
    if isinstance(exc, AssistError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


def short_path(path: str | Path) -> str:
    """A path as a title bar shows it: relative below the working folder, else from ~."""
    path = Path(path)
    for base, shown in ((Path.cwd(), ""), (Path.home(), "~")):
        try:
            rest = path.relative_to(base)
        except ValueError:
            continue
        return str(Path(shown) / rest) if shown else str(rest)
    return str(path)


class SteadyScreen(Screen[None]):
    """A screen that keeps its styles while another one shows.

    Textual restyles every widget of a screen each time it comes back, in case the
    theme changed meanwhile: ~90 ms a switch here with a call's transcript on the live
    screen (``bench/ui.py``).  Widgets that changed while the screen was away were
    restyled as they changed, so this screen restyles only when what the styles depend
    on from outside (the theme, the app's pseudo-classes) differs from last time."""

    _styled_for: tuple | None = None

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # runs before Screen's own handler (subclass first), which reads refresh_styles
        outside = (self.app.theme, frozenset(self.app.pseudo_classes))
        if outside == self._styled_for:
            event.refresh_styles = False
        self._styled_for = outside


class StoreHandle:
    """The store the review and KB screens read, opened on first use (from a worker thread:
    reaching a PostgreSQL server may take seconds) and kept for the app's life.

    Attributes:
        db: the URL or SQLite path (None: ``$ASSIST_DB``, else the user data folder).
        store: an already open store (the live call's); its owner closes it.
    """

    def __init__(self, db: str | None = None, store: Store | None = None):
        self.db = db
        self._store = store
        self._owned = False
        self._lock = threading.Lock()

    def get(self) -> Store:
        """The open store; raises AssistError (one line) when it cannot be opened."""
        with self._lock:
            if self._store is None:
                from ..store import Store

                # reading a database that is not there is a wrong path, not a new store
                self._store = Store(self.db, create=False)
                self._owned = True
            return self._store

    def where(self) -> str:
        """The database, for a title bar (a password never shows)."""
        if self._store is None:
            return self.db or "the default store"
        from ..store import safe_url

        url = self._store.url
        if url.get_backend_name() == "sqlite" and url.database:
            return short_path(url.database)
        return safe_url(url)

    def close(self) -> None:
        with self._lock:
            if self._owned and self._store is not None:
                self._store.close()
            self._store, self._owned = None, False


class TitleBar(Static):
    """One line on top of a screen: the app, the screen's name, and what it shows."""

    def __init__(self, screen_name: str, **kwargs):
        super().__init__("", **kwargs)
        self.screen_name = screen_name

    def on_mount(self) -> None:
        self.show("")

    def show(self, detail: str | Content, style: str = "$text-muted") -> None:
        self.update(Content.assemble(("assist", "bold $primary"), "  ",
                                     (self.screen_name, "bold"), "  ",
                                     detail if isinstance(detail, Content) else (detail, style)))
