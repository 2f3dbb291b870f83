"""The knowledge-base screen (``assist kb browse``, key k): search and read articles, see
the gaps (recurring pain points no article answers well), edit an article in $EDITOR.

The KB and its embedding model load in a thread worker while the screen says so;
searches and the gap analysis run in workers too, so typing never waits on the model.

Keys:
    /       search (type what a customer asks); Enter or escape goes back to the list
    g       the gaps instead of the articles, and back
    e       open the highlighted article (for a gap: its nearest article) in $VISUAL or
            $EDITOR; the KB is read again when the editor exits
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from ..resources import shipped
from .keybar import KeyBar
from .messages import GapsFound, KbFound, KbOpened
from .shared import SteadyScreen, TitleBar, failure, short_path

if TYPE_CHECKING:
    from ..kb import Article, KnowledgeBase, SearchResult
    from ..painpoints import KbGap

TOP = 10  # search results shown


def editor_command() -> list[str] | None:
    """The user's editor as an argument list ($VISUAL, else $EDITOR), or None."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    return shlex.split(editor) if editor and editor.strip() else None


def article_markdown(article: Article) -> str:
    questions = "\n".join(f"- {q}" for q in article.questions)
    where = f" · {article.path}" if article.path else ""
    return (f"# {article.title}\n\n{article.body.strip()}\n\n---\n\n**Customers ask**\n\n"
            f"{questions or '*no questions yet*'}\n\n`{article.id}`{where}\n")


def gap_markdown(gap: KbGap, threshold: float) -> str:
    row, nearest = gap.painpoint, gap.nearest
    said = "\n".join(f"- {text}" for text in gap.examples)
    closest = (f"**{nearest.title}** (`{nearest.article}`, {nearest.score:.2f}): press e to "
               "open it in the editor, or write a new article (`assist kb new`)."
               if nearest is not None else "none")
    return (f"# Gap: {row.label or row.id}\n\n{row.count} problems in {row.calls} calls "
            f"({row.trend}); the best article scores {gap.score:.2f}, under the "
            f"{threshold:.2f} a suggestion needs.\n\n## What customers said\n\n{said}\n\n"
            f"## Nearest article\n\n{closest}\n")


class KbScreen(SteadyScreen):
    """Articles (all of them, or the best for a search) beside the one highlighted."""

    AUTO_FOCUS = "#kb-list"  # single keys work on arrival; / goes to the search box

    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("g", "gaps(True)", "Gaps"),
        Binding("g", "gaps(False)", "Articles"),
        Binding("e", "edit", "Edit"),
        Binding("escape", "to_list", "List", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.kb: KnowledgeBase | None = None
        self.results: list[SearchResult] | None = None  # None: no search, every article
        self.gaps: list[KbGap] | None = None
        self.showing_gaps = False
        self.shown_id: str | None = None  # the article or gap in the reader
        self.edited: list[Path] = []  # articles opened in the editor, in order
        self.opening = False  # the KB is being read

    def compose(self) -> ComposeResult:
        yield TitleBar("Knowledge base", id="kb-title", classes="title-bar")
        with Horizontal(id="kb-main"):
            with Vertical(id="kb-left"):
                yield Input(placeholder="Search: the customer's words", id="kb-query")
                yield Static("", id="kb-hint")
                yield OptionList(id="kb-list")
                yield OptionList(id="kb-gaps")
            with VerticalScroll(id="kb-reader"):
                yield Markdown("# Knowledge base\n\nThe articles show here once they have loaded.",
                               id="kb-article")
        yield KeyBar()

    def on_mount(self) -> None:
        if not self.app.is_running:
            return  # quit while the screen was being built ahead of time: its widgets are gone
        self.query_one("#kb-gaps").display = False
        self.query_one("#kb-left").border_title = "Articles"
        self._loading()

    def on_screen_resume(self) -> None:
        if self.is_current and self.kb is None and not self.opening:
            self._open()  # first shown: not when the app builds it ahead of time

    @property
    def kb_dir(self) -> Path | None:
        return cast(Any, self.app).kb_dir

    def _loading(self) -> None:
        self.query_one("#kb-title", TitleBar).show("◌ loading models…", "$warning")
        self.hint("Loading the knowledge base and its embedding model…")

    def hint(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#kb-hint", Static)
        widget.update(text)
        widget.set_class(error, "-error")

    # ------------------------------------------------------------ loading

    def _open(self, fresh: bool = False) -> None:
        self.opening = True
        self._read_kb(fresh)

    @work(thread=True, exclusive=True, exit_on_error=False, group="kb-open")
    def _read_kb(self, fresh: bool) -> None:
        from ..kb import KnowledgeBase

        try:
            kb = None if fresh else self._shared_kb()
            kb = kb or KnowledgeBase.open(self.kb_dir)
            kb.embedder  # noqa: B018 -- load the model here, not at the first search
            message = KbOpened(kb)
        except Exception as exc:
            message = KbOpened(None, failure(exc))
        self.post_message(message)

    def _shared_kb(self) -> KnowledgeBase | None:
        """The live call's KB when it is this folder's: no second copy to load (reading a
        KB holds the interpreter for seconds, which the screen would feel)."""
        kb = cast(Any, self.app).loaded_kb()
        wanted = Path(self.kb_dir) if self.kb_dir else shipped("kb")
        if kb is None or kb.kb_dir is None or Path(kb.kb_dir).resolve() != wanted.resolve():
            return None
        return kb

    async def on_kb_opened(self, message: KbOpened) -> None:
        self.opening = False
        title = self.query_one("#kb-title", TitleBar)
        if message.kb is None:
            title.show("✕ not loaded", "$error")
            self.hint(message.error, error=True)
            self.notify(message.error, severity="error", timeout=10)
            return
        self.kb = message.kb
        title.show(f"{len(self.kb)} articles · {short_path(self.kb.kb_dir or '')}")
        self.gaps = None
        self._search(self.query_one("#kb-query", Input).value, keep=True)
        if self.showing_gaps:
            self._find_gaps()

    def _search(self, query: str, keep: bool = False) -> None:
        if self.kb is None:
            return  # the search runs when the KB has loaded
        if not query.strip():
            self.results = None
            self._list_articles(keep)
        else:
            self._run_search(query)

    @work(thread=True, exclusive=True, exit_on_error=False, group="kb-search")
    def _run_search(self, query: str) -> None:
        worker = get_current_worker()
        assert self.kb is not None
        try:
            message = KbFound(query, self.kb.search(query, top=TOP))
        except Exception as exc:
            message = KbFound(query, [], failure(exc))
        if not worker.is_cancelled:
            self.post_message(message)

    def on_kb_found(self, message: KbFound) -> None:
        if message.query != self.query_one("#kb-query", Input).value:
            return  # typed on since
        if message.error:
            self.hint(message.error, error=True)
            return
        self.results = message.results
        self._list_articles()

    def _list_articles(self, keep: bool = False) -> None:
        """Fill the list; ``keep`` stays on the article shown (after the KB was read again)."""
        assert self.kb is not None
        options = []
        if self.results is None:
            for article in sorted(self.kb.articles, key=lambda a: a.title.lower()):
                options.append(Option(article.title, id=article.id))
            self.hint(f"{len(self.kb)} articles. / to search.")
        else:
            bar = self.kb.threshold
            for result in self.results:
                mark = ("●", "$success") if result.score >= bar else ("○", "$text-muted")
                options.append(Option(Content.assemble(
                    mark, (f" {result.score:.2f} ", "$text-muted"), result.title),
                    id=result.article))
            good = sum(r.score >= bar for r in self.results)
            self.hint(f"{good} of the best {len(self.results)} reach {bar:.2f} (●): "
                      "the live screen would suggest those.")
        listing = self.query_one("#kb-list", OptionList)
        listing.clear_options()
        listing.add_options(options)
        ids = [option.id for option in options]
        if options:
            listing.highlighted = ids.index(self.shown_id) if keep and self.shown_id in ids else 0

    # ------------------------------------------------------------ gaps

    @work(thread=True, exclusive=True, exit_on_error=False, group="kb-gaps")
    def _find_gaps(self) -> None:
        from ..painpoints import kb_gaps

        assert self.kb is not None
        try:
            message = GapsFound(kb_gaps(cast(Any, self.app).store.get(), self.kb))
        except Exception as exc:
            message = GapsFound([], failure(exc))
        self.post_message(message)

    def on_gaps_found(self, message: GapsFound) -> None:
        self.gaps = message.gaps
        if self.showing_gaps:
            self._list_gaps(message.error)

    def _list_gaps(self, error: str = "") -> None:
        listing = self.query_one("#kb-gaps", OptionList)
        listing.clear_options()
        if error:
            self.hint(f"No gaps: {error}", error=True)
            return
        gaps = self.gaps or []
        listing.add_options([Option(Content.assemble(
            gap.painpoint.label or gap.painpoint.id, (f"  ×{gap.painpoint.count}", "$text-muted"),
            (f"  best {gap.score:.2f}", "$warning")), id=gap.painpoint.id) for gap in gaps])
        self.hint(f"{len(gaps)} recurring problems have no article scoring "
                  f"{self.kb.threshold if self.kb else 0:.2f}." if gaps else
                  "No gaps: every recurring problem has a good article.")
        if gaps:
            listing.highlighted = 0

    def action_gaps(self, show: bool) -> None:
        self.showing_gaps = show
        self.query_one("#kb-list").display = not show
        gaps = self.query_one("#kb-gaps", OptionList)
        gaps.display = show
        self.query_one("#kb-left").border_title = "Gaps" if show else "Articles"
        self.refresh_bindings()
        if not show:
            self._search(self.query_one("#kb-query", Input).value)
            self.query_one("#kb-list").focus()
            return
        gaps.focus()
        if self.kb is None:
            self.hint("The gaps show once the knowledge base has loaded.")
        elif self.gaps is None:
            gaps.clear_options()
            self.hint("Finding pain points without a good article…")
            self._find_gaps()
        else:
            self._list_gaps()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "gaps":
            return parameters[0] != self.showing_gaps
        return True

    # ------------------------------------------------------------ reading

    async def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        await self.show(event.option_id)

    async def show(self, item_id: str | None) -> None:
        """Put an article (or, in the gaps, a gap) in the reader."""
        if self.kb is None or item_id is None:
            return
        text = None
        if self.showing_gaps:
            gap = next((g for g in self.gaps or [] if g.painpoint.id == item_id), None)
            text = gap_markdown(gap, self.kb.threshold) if gap is not None else None
        else:
            article = self.kb.get(item_id)
            text = article_markdown(article) if article is not None else None
        if text is not None:
            self.shown_id = item_id
            reader = self.query_one("#kb-reader", VerticalScroll)
            await self.query_one("#kb-article", Markdown).update(text)
            reader.scroll_home(animate=False)
            reader.border_title = item_id

    def target(self) -> Article | None:
        """The article ``e`` edits: the one shown, or the nearest one of the gap shown."""
        if self.kb is None or self.shown_id is None:
            return None
        if self.showing_gaps:
            gap = next((g for g in self.gaps or [] if g.painpoint.id == self.shown_id), None)
            nearest = gap.nearest if gap is not None else None
            return self.kb.get(nearest.article) if nearest is not None else None
        return self.kb.get(self.shown_id)

    # ------------------------------------------------------------ keys

    def on_input_changed(self, event: Input.Changed) -> None:
        if self.showing_gaps:
            self.action_gaps(False)
        self._search(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_to_list()

    def action_search(self) -> None:
        self.query_one("#kb-query", Input).focus()

    def action_to_list(self) -> None:
        self.query_one("#kb-gaps" if self.showing_gaps else "#kb-list").focus()

    def action_edit(self) -> None:
        article = self.target()
        if article is None or article.path is None:
            self.notify("No article to edit here.", severity="warning", timeout=3)
            return
        command = editor_command()
        if command is None:
            self.notify("Set $EDITOR (or $VISUAL) to edit articles, e.g. EDITOR=nano.",
                        severity="error", timeout=8)
            return
        try:
            code = self._run_editor([*command, str(article.path)])
        except (OSError, SuspendNotSupported) as exc:
            self.notify(f"Cannot run the editor {command[0]}: {exc}", severity="error", timeout=8)
            return
        if code:
            self.notify(f"The editor exited with code {code}.", severity="warning", timeout=5)
        self.edited.append(article.path)
        self._loading()
        self._open(fresh=True)  # an edited article changes what searches find

    def _run_editor(self, command: list[str]) -> int:
        """Hand the terminal to the editor until it exits."""
        if self.app.is_headless:  # no terminal to hand over (tests, benchmarks)
            return subprocess.run(command, check=False).returncode
        with self.app.suspend():
            return subprocess.run(command, check=False).returncode
