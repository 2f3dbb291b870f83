"""The footer of every screen: its keys on one line, as one widget.

Textual's ``Footer`` does the same with a widget per key and rebuilds and restyles
all of them whenever the bindings change: every screen switch, pause, call start or
end.  Measured with ``bench/ui.py`` that was about 120 ms of each screen switch on
this 2-core machine; one line of text costs next to nothing.
"""

from __future__ import annotations

from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

KEY_STYLE = "bold $footer-key-foreground on $footer-key-background"
DESCRIPTION_STYLE = "$footer-description-foreground"


class KeyBar(Static):
    """The screen's shown bindings, ``key Description``, one entry per action; a key the
    screen cannot take now is dimmed.  A click on an entry presses its key."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            self.update(self.line(), layout=False)  # one line, always: no layout needed

    def line(self) -> Content:
        entries: list[Content] = []
        seen: set[str] = set()
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            press = f"app.simulate_key({binding.key!r})"
            dim = "" if enabled else " dim"
            entries.append(Content.assemble(
                (f" {self.app.get_key_display(binding)} ", f"{KEY_STYLE}{dim}"),
                (f" {binding.description} ", f"{DESCRIPTION_STYLE}{dim}"),
            ).stylize(f"@click={press}"))
        return Content(" ").join(entries)
