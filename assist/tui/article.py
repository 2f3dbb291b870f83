"""The article modal (keys 1-3 on the live screen) and how it finds an article's text.

The full text comes from the KB folder through ``assist.kb.load_articles``;
when the article cannot be found the snippet the suggestion carried is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from ..events import Suggestion
from ..resources import shipped
from .keybar import KeyBar
from .messages import ArticleLoaded

ArticleLoader = Callable[[str, "Path | None"], "str | None"]


def load_article(article_id: str, kb_dir: Path | None = None) -> str | None:
    """The body of an article (Markdown, front matter dropped), or None if not found."""
    folder = Path(kb_dir) if kb_dir else shipped("kb")
    if not folder.is_dir():
        return None
    return _bodies(folder).get(article_id)


_cache: dict[Path, tuple[tuple[tuple[str, float], ...], dict[str, str]]] = {}


def _bodies(folder: Path) -> dict[str, str]:
    """Article bodies by id, parsed again only when a file changed: parsing the whole KB
    competes with the screen for the interpreter each time an article opens."""
    from ..kb import article_files, load_articles

    stamp = tuple((str(path), path.stat().st_mtime) for path in article_files(folder))
    cached = _cache.get(folder)
    if cached is None or cached[0] != stamp:
        cached = _cache[folder] = (stamp, {a.id: a.body for a in load_articles(folder)})
    return cached[1]


class ArticleScreen(ModalScreen[bool | None]):
    """One article over the live screen; dismissed with True (useful), False (not) or None."""

    BINDINGS = [
        Binding("y", "rate(True)", "Useful"),
        Binding("n", "rate(False)", "Not useful"),
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(self, suggestion: Suggestion, loader: ArticleLoader = load_article,
                 kb_dir: Path | None = None):
        super().__init__()
        self.suggestion = suggestion
        self.loader = loader
        self.kb_dir = kb_dir

    def compose(self) -> ComposeResult:
        with Vertical(id="article"):
            with VerticalScroll(id="article-body"):
                yield Markdown(self.suggestion.snippet or "*loading…*")
            yield Static("", id="article-note")
        yield KeyBar()

    def on_mount(self) -> None:
        dialog = self.query_one("#article")
        dialog.border_title = self.suggestion.title or self.suggestion.article
        dialog.border_subtitle = self.suggestion.article
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="article")
    def _load(self) -> None:
        article = self.suggestion.article
        try:
            body = self.loader(article, self.kb_dir)
            note = "" if body else "The full article was not found; showing the summary."
        except Exception as exc:  # a broken KB must not take the live screen down
            body, note = None, f"Could not read the article ({type(exc).__name__}); showing the summary."
        self.post_message(ArticleLoaded(article, body, note))

    async def on_article_loaded(self, message: ArticleLoaded) -> None:
        if message.body:
            await self.query_one(Markdown).update(message.body)
        elif not self.suggestion.snippet:
            await self.query_one(Markdown).update("*No text for this article.*")
        self.query_one("#article-note", Static).update(message.note)

    def action_rate(self, useful: bool) -> None:
        self.dismiss(useful)

    def action_close(self) -> None:
        self.dismiss(None)
