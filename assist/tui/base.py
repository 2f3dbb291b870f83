"""The screens of assist and the keys that switch between them.

Each screen is a Textual mode with its own stack, so it keeps its place (the
call running, the filters, the article open) while another one shows:

    live    the call: ``assist live``, ``assist demo``, ``assist replay FILE``
    review  the coach's review of stored calls: ``assist review`` opens it directly
    kb      knowledge-base search, gaps and editing: ``assist kb browse`` opens it directly

Keys, from every screen: l or F1 live (when there is a call), r or F2 review, k or F3
knowledge base, q quit.  The F-keys work while typing in a search or filter box.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding

from .kb_screen import KbScreen
from .review import ReviewScreen
from .shared import StoreHandle

SWITCH_BINDINGS = [
    Binding("l,f1", "switch('live')", "Live"),
    Binding("r,f2", "switch('review')", "Review"),
    Binding("k,f3", "switch('kb')", "KB"),
]


def default_theme() -> str:
    """Follow the terminal's own palette (ANSI colours), light or dark as it says."""
    background = os.environ.get("COLORFGBG", "").rsplit(";", 1)[-1]
    return "ansi-light" if background in ("7", "15") else "ansi-dark"


class ScreensApp(App[None]):
    """An app with the review and KB screens; subclasses add the live one.

    Attributes:
        store: the store the review screen and the KB gaps read.
        kb_dir: the knowledge base (None: the shipped one).
        phrases_dir: the phrase packs, for why a flag hurts (None: the shipped ones).
    """

    CSS_PATH = "app.tcss"
    TITLE = "assist"

    def __init__(self, *, store: StoreHandle | None = None, kb_dir: Path | None = None,
                 phrases_dir: Path | None = None, theme: str | None = None,
                 mode: str | None = None):
        if mode is not None:
            # read by App.__init__ (the screen to open on); textual types it a ClassVar,
            # but an instance value shadows it fine for this one app
            self.DEFAULT_MODE = mode  # type: ignore[misc]
        super().__init__()
        self.store = store or StoreHandle()
        self.kb_dir = kb_dir
        self.phrases_dir = phrases_dir
        self._theme_name = theme or default_theme()
        self.screens_prepared = False
        self.add_mode("review", ReviewScreen)
        self.add_mode("kb", KbScreen)

    def on_mount(self) -> None:
        self.theme = self._theme_name
        self.set_timer(0.2, self._prepare_screens)  # once the first screen is drawn

    async def _prepare_screens(self) -> None:
        """Build and style the other screens now, off screen: the first switch to a screen
        otherwise composes it and restyles the whole app (hundreds of ms) while the user
        waits.  The screens load their data when first shown, not here.

        Every switch here is undone before anything else runs (no await between), so the
        user's screen stays current for the keys and for whatever queries the app."""
        if not self.is_running:
            return  # closing: shutdown walks the screen stacks a switch would add to
        others = [mode for mode in self._modes if mode != self.current_mode]
        with self.batch_update():  # nothing of this reaches the terminal
            back = self.current_mode
            mounts = [self.switch_mode(mode) for mode in others]
            self.switch_mode(back)
        for mount in mounts:
            await mount
        if not self.is_running:
            return
        with self.batch_update():  # mounted now: a switch styles them for the app's CSS
            back = self.current_mode
            for mode in others:
                self.switch_mode(mode)
            self.switch_mode(back)
        self.screens_prepared = True

    def action_switch(self, mode: str) -> None:
        if mode in self._modes and mode != self.current_mode:
            self._instant = self.screens_prepared
            try:
                with self.batch_update():  # one frame, drawn as soon as the switch is done
                    self.switch_mode(mode)
            finally:
                self._instant = False
            self.refresh_bindings()

    _instant = False

    def delay_update(self, delay: float = 0.05) -> None:
        """``switch_mode`` holds the screen back 50 ms to hide a screen being built; a
        prepared screen is built already, so a switch to it shows at once (measured by
        ``bench/ui.py``: the delay was half of a switch's time)."""
        if not self._instant:
            super().delay_update(delay)

    def refresh_bindings(self) -> None:
        """Tell the footer the keys changed.  Textual's own does nothing until the app has
        finished mounting, and a call started from ``on_mount`` changes them before that
        (the footer said "Start call" through the whole first call)."""
        if self._screen_stacks.get(self._current_mode):
            self.screen.refresh_bindings()

    def loaded_kb(self) -> Any:
        """A knowledge base something in the app has loaded already (the live call's), or
        None; the KB screen reads its own otherwise."""
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch":
            return parameters[0] in self._modes and parameters[0] != self.current_mode
        return True

    def on_unmount(self) -> None:
        self.store.close()


class BackOfficeApp(ScreensApp):
    """The review and KB screens without a call (``assist review``, ``assist kb browse``)."""

    BINDINGS = [*SWITCH_BINDINGS, Binding("q", "quit", "Quit")]


def run_back_office(mode: str, store: StoreHandle, kb_dir: Path | None = None) -> None:
    """Open the review (``mode="review"``) or KB (``"kb"``) screen until the user quits."""
    BackOfficeApp(store=store, kb_dir=kb_dir, mode=mode).run()
