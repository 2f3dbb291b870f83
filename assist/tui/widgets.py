"""The live screen's widgets.

They know nothing of the pipeline: the app hands them events and settings
("attributes down") and they only draw.  Colours come from the theme
variables in ``app.tcss`` or in content styles, never hard-coded.
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from ..events import (
    AGENT,
    CUSTOMER,
    SPEAKERS,
    ChecklistStatus,
    DeadAir,
    Flag,
    PainPoint,
    Repeat,
    Sentiment,
    Suggestion,
    WrapUp,
)
from ..review import clock_text
from .messages import Levels, RowsWanted

if TYPE_CHECKING:
    from ..models import Step

SPEAKER_LABELS = {AGENT: "Agent", CUSTOMER: "Customer"}
SEVERITY_STYLES = {"high": "$error", "medium": "$warning", "low": "$primary"}


def flag_span(text: str, flag: Flag) -> tuple[int, int] | None:
    """Where in ``text`` the flagged words are: the detector's span when it still
    matches the text, else the heard words found again, else nothing."""
    span = flag.span
    if span is not None and not 0 <= span[0] < span[1] <= len(text):
        span = None  # not within this text
    if span is not None and (not flag.text or text[span[0]:span[1]].lower() == flag.text.lower()):
        return span[0], span[1]
    if flag.text:
        at = text.lower().find(flag.text.lower())
        if at >= 0:
            return at, at + len(flag.text)
    return (span[0], span[1]) if span is not None else None


def highlighted(text: str, flags: Iterable[Flag]) -> Content:
    """The text with every flagged span marked in the flag's severity colour."""
    content = Content(text)
    for flag in flags:
        span = flag_span(text, flag)
        if span is not None:
            style = SEVERITY_STYLES.get(flag.severity, "$error")
            content = content.stylize(f"bold reverse {style}", *span)
    return content


# ---------------------------------------------------------------- header


class LevelMeter(Static):
    """Peak level of one side of the call on a dBFS scale (-60 dB .. 0 dB)."""

    level: reactive[float] = reactive(0.0)
    cells: reactive[int] = reactive(8, layout=True)

    def __init__(self, speaker: str, active: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.speaker = speaker
        self.active = active

    def render(self) -> Content:
        label = (SPEAKER_LABELS.get(self.speaker, self.speaker), "$text-muted")
        if not self.active:
            return Content.assemble(label, " ", ("off", "$text-muted"))
        db = 20 * math.log10(self.level) if self.level > 1e-6 else -120.0
        fraction = min(1.0, max(0.0, (db + 60) / 60))
        lit = round(fraction * self.cells)
        style = "$error" if db > -1 else "$warning" if db > -9 else "$success"
        return Content.assemble(label, " ", ("█" * lit, style), ("░" * (self.cells - lit), "$text-muted"))


class CallHeader(Horizontal):
    """One line: call state, call timer, a level meter per side, the model in use."""

    STATES = {
        "loading": "◌ getting ready",
        "live": "● live",
        "paused": "⏸ paused",
        "ended": "■ call ended",
        "failed": "✕ call failed",
        "idle": "○ no call",
    }
    NARROW = 100
    """Below this many columns the app's name goes and the meters shorten, so the talk
    figures still fit at 80."""

    def __init__(self, speakers: Iterable[str], model: str, source: str, **kwargs):
        super().__init__(**kwargs)
        self.speakers = list(speakers)
        self.model = model
        self.source_text = source

    def compose(self) -> ComposeResult:
        # kept as attributes: a timer may fire while the app closes and the DOM empties
        self.state = Static(self.STATES["idle"], id="call-state")
        self.timer = Static(clock_text(None), id="call-timer")
        self.meters = {s: LevelMeter(s, active=s in self.speakers, id=f"meter-{s}", classes="meter")
                       for s in SPEAKERS}
        self.model_name = Static(self._model_text(), id="model-name")
        self.talk = Static("", id="call-talk")
        yield Static("assist", id="app-name")
        yield self.state
        yield self.timer
        yield from self.meters.values()
        yield self.talk
        yield self.model_name

    def on_resize(self) -> None:
        narrow = self.size.width < self.NARROW
        self.query_one("#app-name").display = not narrow
        for meter in self.meters.values():
            meter.cells = 5 if narrow else 8

    def _model_text(self) -> str:
        return " · ".join(part for part in (self.model, self.source_text) if part)

    def set_state(self, state: str, detail: str = "") -> None:
        label = self.STATES.get(state, state)
        self.state.update(f"{label} {detail}".rstrip())
        self.state.set_classes(f"-{state}")

    def set_elapsed(self, seconds: float | None) -> None:
        text = clock_text(seconds)
        # every second: a layout of the whole screen only when the width changes
        self.timer.update(text, layout=len(text) != len(str(self.timer.content)))

    def set_model(self, model: str) -> None:
        if model and model != self.model:
            self.model = model
            self.model_name.update(self._model_text())

    def set_talk(self, agent_share: float | None, overtalk: int, monologue: float) -> None:
        """Agent talk share, overtalk count and the longest agent monologue so far."""
        if agent_share is None:
            text = ""
        else:
            text = f"agent {100 * agent_share:.0f}% · overtalk {overtalk} · mono {monologue:.0f}s"
        if text != str(self.talk.content):
            self.talk.update(text)

    def set_levels(self, levels: dict[str, float]) -> None:
        for speaker, level in levels.items():
            if speaker in self.meters:
                self.meters[speaker].level = level

    def on_levels(self, message: Levels) -> None:
        self.set_levels(message.levels)


def step_under_way(latest: Step) -> int:
    """The number of the step getting ready is at, from the latest one reported (a step
    done: the next one, which starts at once)."""
    return min(latest.total, latest.number + 1) if latest.done else latest.number


def preparation_text(steps: Iterable[Step], elapsed: float) -> str:
    """Getting the call ready, as the empty transcript says it: how far, how long so
    far, each step done with its time and the one under way."""
    latest: dict[int, Step] = {}
    for step in steps:
        latest[step.number] = step
    if not latest:
        return "Getting the call ready…"
    now = latest[max(latest)]
    if now.done and now.number == now.total:
        head = f"Ready after {elapsed:.0f}s: the call starts."
    else:
        head = (f"Getting the call ready: step {step_under_way(now)} of {now.total}, "
                f"{elapsed:.0f}s so far.")
    lines = [head]
    for step in (latest[number] for number in sorted(latest)):
        # the time first: a wrapped line never parts a step from its time
        lines.append(f"✓ {step.took:4.1f}s  {step.label}" if step.done
                     else f"◌ {'':5}  {step.label}…")
    return "\n".join(lines)


# ---------------------------------------------------------------- coach


@dataclass
class FlagEntry:
    """One flag in this call's history; an early flag is replaced by its final one."""

    flag: Flag
    shown: bool = False


class CoachPanel(Vertical):
    """The current flag (phrase, why it hurts, what to say instead) and this call's history.

    A flag stays on the card at least ``hold`` seconds, so a second flag right
    after the first waits its turn instead of wiping it before it is read.
    """

    def __init__(self, hold: float = 8.0, **kwargs):
        super().__init__(**kwargs)
        self.hold = hold
        self.entries: list[FlagEntry] = []
        self.current: FlagEntry | None = None
        self._queue: deque[FlagEntry] = deque()
        self._shown_at = 0.0
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        self.card = FlagCard(id="flag-card")
        yield Static(Content.styled("No flags yet.", "$text-muted"), id="coach-empty")
        yield self.card
        with VerticalScroll(id="flag-history-scroll"):
            yield Static("", id="flag-history")

    def on_mount(self) -> None:
        self.border_title = "Coach"
        self._render_all()

    def add_flag(self, flag: Flag) -> None:
        if flag.final:
            for entry in self.entries:
                early = entry.flag
                if (not early.final and early.phrase == flag.phrase
                        and early.speaker == flag.speaker):
                    entry.flag = flag  # the final flag settles the early one
                    self._render_all()
                    return
        entry = FlagEntry(flag)
        self.entries.append(entry)
        self._queue.append(entry)
        self._advance()

    def _advance(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        left = self._shown_at + self.hold - time.monotonic()
        if self.current is not None and left > 0:
            if self._queue:
                self._timer = self.set_timer(left, self._advance)
        elif self._queue:
            self.current = self._queue.popleft()
            self.current.shown = True
            self._shown_at = time.monotonic()
            if self._queue:
                self._timer = self.set_timer(self.hold, self._advance)
        self._render_all()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def fit(self, rows: int) -> None:
        """Take at most ``rows`` rows (the column's share): the card fits itself into them,
        the history below it shows what is left."""
        self.styles.max_height = rows
        self.card.fit(rows - self.styles.gutter.height)

    def wanted(self) -> tuple[int, int, int]:
        """Rows the panel needs (its border included) to show the heard words and the
        better wording, the whole card, and the card with this call's history."""
        chrome = self.styles.gutter.height
        width = self.content_size.width
        if self.current is None or not width:
            rows = chrome + 1  # "No flags yet."
            return rows, rows, rows
        say, card = self.card.wanted(width)
        history = 1 + min(len(self.entries), 8)  # the card's margin, the lines
        return chrome + say, chrome + card, chrome + card + history

    def _render_all(self) -> None:
        card = self.card
        flag = self.current.flag if self.current else None
        self.query_one("#coach-empty").display = flag is None
        card.display = flag is not None
        card.show(flag)
        if flag is not None:
            card.set_classes(f"-{flag.severity}")
            card.border_title = flag.phrase
            waiting = f"+{self.waiting} next · " if self.waiting else ""
            card.border_subtitle = f"{waiting}{clock_text(flag.start)}"
        self.post_message(RowsWanted())
        self.border_subtitle = f"{len(self.entries)} flagged this call" if self.entries else ""
        self.query_one("#flag-history", Static).update(self._history())

    def _history(self) -> Content:
        lines = []
        for entry in reversed(self.entries):
            flag = entry.flag
            mark = "▸ " if entry is self.current else "  " if entry.shown else "… "
            lines.append(Content.assemble(
                mark, (clock_text(flag.start), "$text-muted"), " ",
                (flag.phrase, SEVERITY_STYLES.get(flag.severity, "$error")),
                " ", (f"“{flag.text}”", "italic"),
            ))
        return Content("\n").join(lines)

    def reset(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.entries.clear()
        self._queue.clear()
        self.current = None
        self._render_all()


class SideColumn(Vertical):
    """The coach above the knowledge base, beside the transcript, sharing its rows out.

    What each panel needs comes first in this order: the heard words and the better
    wording (up to half the column), the top article's first steps, the rest of the
    flag's card, the other articles, the call's flag history (``share_rows``).  The
    coach gets its share, the KB the rest.
    """

    def __init__(self, coach: CoachPanel, kb: KbPanel, **kwargs):
        super().__init__(**kwargs)
        self.coach, self.kb = coach, kb

    def compose(self) -> ComposeResult:
        yield self.coach
        yield self.kb

    def on_resize(self) -> None:
        self.fit()

    def on_rows_wanted(self, message: RowsWanted) -> None:
        message.stop()
        self.fit()

    def fit(self) -> None:
        total = self.content_size.height
        if total:
            self.coach.fit(share_rows(total, self.coach.wanted(), self.kb.wanted()))


def share_rows(total: int, coach: tuple[int, int, int], kb: tuple[int, int]) -> int:
    """The coach's rows of ``total``, the KB having the rest: ``coach`` wants rows for its
    better wording, its whole card, the card and its history; ``kb`` for the top card, for
    every card.  Each want in order of need gets what is left of ``total``; the better
    wording at first no more than half, so the top article keeps some rows."""
    say, card, everything = coach
    top, cards = kb
    wants = [("coach", min(say, total // 2)), ("kb", top), ("coach", say), ("coach", card),
             ("kb", cards), ("coach", everything)]
    got = {"coach": 0, "kb": 0}
    left = total
    for who, rows in wants:
        more = max(0, min(rows - got[who], left))
        got[who] += more
        left -= more
    return got["coach"]


def flag_card(flag: Flag, width: int = 0, rows: int | None = None) -> Content:
    """The flag as its card shows it: the heard words, what to say instead, why it hurts,
    how the line was.  With ``width`` and ``rows`` it fits them: each part in that order
    whole while rows are free, else cut after its last sentence that fits (``fit_text``),
    and the parts with no row left dropped."""
    style = SEVERITY_STYLES.get(flag.severity, "$error")
    head = Content.assemble(("⚑ ", style), (f"“{flag.text}”", f"bold {style}"),
                            ("" if flag.final else "  (heard)", "$text-muted"))
    parts: list[tuple[str, str, str]] = []
    if flag.suggestion:  # first: the words to use are what a glance must catch
        parts.append(("Say", "bold $success", flag.suggestion))
    if flag.why:
        parts.append(("Why", "bold", flag.why))
    if flag.audible is not None:
        parts.append(("Line", "bold", "the customer was heard clearly just before"
                      if flag.audible else "the customer was hard to make out just before"))
    fitted = rows is not None and width > 0
    left = rows - len(head.wrap(width)) if fitted and rows is not None else None
    lines = [head]
    for label, label_style, text in parts:
        said = fit_text(f"{label} {text}", max(1, width), left)
        if len(said) <= len(label) + 2:  # not even its first word: no room left
            break
        if left is not None:
            left -= len(Content(said).wrap(width))
        lines.append(Content.assemble((label, label_style), said[len(label):]))
    return Content("\n").join(lines)


class FlagCard(Widget):
    """The current flag's card (``flag_card``), fitted to ``room`` rows when the column
    has fewer to give than it needs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flag: Flag | None = None
        self.room: int | None = None  # rows it may take, its border included

    def show(self, flag: Flag | None) -> None:
        """A new flag (or the same, settled): whole until the column fits it again."""
        self.flag, self.room = flag, None
        self.refresh(layout=True)

    def fit(self, room: int | None) -> None:
        if room != self.room:
            self.room = room
            self.refresh(layout=True)

    def wanted(self, outer_width: int) -> tuple[int, int]:
        """Rows (its border included) for the heard words and the better wording, and for
        the whole card, at ``outer_width`` columns."""
        if self.flag is None:
            return 0, 0
        gutter = self.styles.gutter
        width = max(1, outer_width - gutter.width)
        say = flag_card(replace(self.flag, why="", audible=None))
        return (gutter.height + len(say.wrap(width)),
                gutter.height + len(flag_card(self.flag).wrap(width)))

    def content(self, width: int) -> Content:
        if self.flag is None:
            return Content("")
        rows = None if self.room is None else max(0, self.room - self.styles.gutter.height)
        return flag_card(self.flag, width, rows)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.content(width).wrap(width)) if width else 0

    def render(self) -> Content:
        return self.content(self.content_size.width)


MATCHER_WORDS = {"exact": "the exact words", "fuzzy": "words that sound alike",
                 "semantic": "a paraphrase"}


def evidence_text(flag: Flag) -> str:
    """How the flag was found and how sure the matcher is ("a paraphrase · 81% sure");
    empty for a flag stored before flags had a confidence (negative)."""
    how = MATCHER_WORDS.get(flag.matcher, flag.matcher)
    if flag.confidence < 0:
        return how
    return f"{how} · {flag.confidence:.0%} sure" if how else f"{flag.confidence:.0%} sure"


# ---------------------------------------------------------------- knowledge base


class KbPanel(Vertical):
    """The top suggestions, keyed 1-3, each its title and the article's first steps.

    Suggestions that arrive together (within half a second) are one batch: a
    batch goes on top, sorted by score, above what was there before.  The cards
    are fitted to the rows the panel has (``fit_cards``); the column it sits in
    reads ``wanted`` to give it those rows when it can.
    """

    SHOWN = 3
    EMPTY = "Suggestions appear when the customer asks something."

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shown: list[Suggestion] = []
        self._before: list[Suggestion] = []
        self._batch: list[Suggestion] = []
        self._batch_t: float | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.EMPTY, id="kb-empty")
        for n in range(self.SHOWN):
            yield Static("", id=f"kb-{n + 1}", classes="kb-card")

    def on_mount(self) -> None:
        self.border_title = "Knowledge base"
        self._render_all()

    def on_resize(self) -> None:
        self._render_all()

    def add(self, suggestion: Suggestion) -> None:
        if self._batch_t is None or abs(suggestion.t - self._batch_t) > 0.5:
            self._before = list(self.shown)
            self._batch = []
            self._batch_t = suggestion.t
        self._batch = [s for s in self._batch if s.article != suggestion.article] + [suggestion]
        batch = sorted(self._batch, key=lambda s: -s.score)
        ids = {s.article for s in batch}
        self.shown = (batch + [s for s in self._before if s.article not in ids])[: self.SHOWN]
        self._render_all()
        self.post_message(RowsWanted())

    def wanted(self) -> tuple[int, int]:
        """Rows the panel needs (its border included) to show the top card whole, and
        every card whole."""
        width = max(1, self.content_size.width)
        chrome = self.styles.gutter.height
        if not self.shown:
            rows = chrome + len(Content(self.EMPTY).wrap(width))
            return rows, rows
        heights = [len(card.wrap(width)) for card in fit_cards(self.shown, width, None)]
        return chrome + heights[0], chrome + sum(heights) + len(heights) - 1

    def _render_all(self) -> None:
        self.query_one("#kb-empty").display = not self.shown
        size = self.content_size
        cards = fit_cards(self.shown, size.width, size.height) if size.width else []
        for n in range(self.SHOWN):
            card = self.query_one(f"#kb-{n + 1}", Static)
            card.display = n < len(cards)
            if card.display:
                card.update(cards[n])

    def reset(self) -> None:
        self.shown, self._before, self._batch, self._batch_t = [], [], [], None
        self._render_all()
        self.post_message(RowsWanted())


def suggestion_title(key: int, suggestion: Suggestion) -> Content:
    return Content.assemble(
        (f" {key} ", "reverse bold"), " ", (suggestion.title or suggestion.article, "bold"),
        (f"  {suggestion.score:.2f}", "$text-muted"))


def fit_cards(suggestions: list[Suggestion], width: int, rows: int | None) -> list[Content]:
    """The suggestion cards in ``rows`` rows of ``width`` cells (None: as many as they
    need), a blank row between cards.  In order of need: the top card's title and first
    steps, the other cards' titles (a card whose title has no row left is dropped, and
    those after it), their first steps.  First steps are whole while rows are free, else
    cut after the last sentence that fits (``fit_text``)."""
    width = max(1, width)
    titles = [suggestion_title(n + 1, s) for n, s in enumerate(suggestions)]
    steps = [" ".join(s.snippet.split()) for s in suggestions]
    later = range(1, len(titles))
    order = [(0, "title"), (0, "steps")] if titles else []
    order += [(n, "title") for n in later] + [(n, "steps") for n in later]
    left = rows
    kept: dict[int, str] = {}  # card -> its first steps as they fit
    for n, part in order:
        if part == "title":
            need = len(titles[n].wrap(width)) + (1 if n else 0)
            if n != len(kept) or (left is not None and need > left):
                continue  # no row for it, or a card before it was dropped
            kept[n] = ""
        elif n in kept:
            kept[n] = fit_text(steps[n], width, left)
            need = len(Content(kept[n]).wrap(width)) if kept[n] else 0
        else:
            continue
        left = None if left is None else left - need
    return [Content.assemble(titles[n], "\n", (kept[n], "$text-muted")) if kept[n] else titles[n]
            for n in sorted(kept)]


_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_CLAUSE_END = re.compile(r"[;:,](?=\s)|\s(?=[-–—]\s)")
_WORD_END = re.compile(r"\S(?=\s)")


def fit_text(text: str, width: int, rows: int | None) -> str:
    """``text`` in ``rows`` rows of ``width`` cells: whole when it fits (or ``rows`` is None),
    else up to its last sentence end that fits, else its last clause end, else its last
    word, followed by " …"; "" when not even a word fits."""
    def fits(candidate: str) -> bool:
        return len(Content(candidate).wrap(width)) <= (rows or 0)

    if rows is None or (text and fits(text)):
        return text
    for boundary in (_SENTENCE_END, _CLAUSE_END, _WORD_END):
        for end in reversed([m.end() for m in boundary.finditer(text)]):
            candidate = text[:end].rstrip(" ,;:-–—") + " …"
            if fits(candidate):
                return candidate
    return ""


# ---------------------------------------------------------------- ticker and banner


class PainTicker(Static):
    """One line: the recurring problems rising across calls, newest first."""

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.points: dict[str, PainPoint] = {}

    def on_mount(self) -> None:
        self._render_line()

    def add(self, point: PainPoint) -> None:
        self.points.pop(point.cluster, None)
        self.points[point.cluster] = point
        self._render_line()

    def _render_line(self) -> None:
        if not self.points:
            self.update(Content.styled("Rising across calls: nothing yet", "$text-muted"))
            return
        parts: list[str | tuple[str, str]] = [("▲ Rising across calls ", "bold $warning")]
        for n, point in enumerate(reversed(self.points.values())):
            parts += [(" · ", "$text-muted")] if n else []
            parts += [point.label or point.cluster, (f" ×{point.count}", "$text-muted")]
        self.update(Content.assemble(*parts))


class Banner(Static):
    """The dead-air warning: shown until someone speaks again."""

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.dead_air: DeadAir | None = None
        self._since = 0.0

    def on_mount(self) -> None:
        self.display = False

    def show_dead_air(self, event: DeadAir, now: float) -> None:
        self.dead_air, self._since = event, now
        self.tick(now)
        self.display = True

    def tick(self, now: float) -> None:
        if self.dead_air is None:
            return
        seconds = self.dead_air.duration + max(0.0, now - self._since)
        self.update(f"⚠ Dead air: {seconds:.0f} s of silence. Tell the customer what you are doing.")

    def clear(self) -> None:
        if self.dead_air is not None:
            self.dead_air = None
            self.display = False


# ---------------------------------------------------------------- how the call goes

CHECK_MARKS = {"pending": ("○", "$text-muted"), "done": ("✓", "$success"),
               "late": ("✓ late", "$warning"), "order": ("✗ out of order", "$error"),
               "missed": ("✗ missed", "$error")}


class ChecklistPanel(Static):
    """The call's required steps, one line each, ticking as they are done; an open or
    missed step shows what to say for it."""

    def __init__(self, **kwargs):
        super().__init__("", **kwargs)
        self.items: dict[str, ChecklistStatus] = {}

    def on_mount(self) -> None:
        self.border_title = "Checklist"
        self._render_all()

    def set_status(self, event: ChecklistStatus) -> None:
        self.items[event.item] = event
        self._render_all()

    def reset(self) -> None:
        self.items.clear()
        self._render_all()

    def _render_all(self) -> None:
        if not self.items:
            self.update(Content.styled("The call's steps appear here.", "$text-muted"))
            return
        lines = []
        for item in self.items.values():
            mark, style = CHECK_MARKS.get(item.status, ("?", "$text-muted"))
            line = Content.assemble((mark, style), " ", item.title or item.item)
            if item.status in ("order", "missed") and item.hint:
                line = Content.assemble(line, ("  say: " + item.hint, "$text-muted"))
            lines.append(line)
        self.update(Content("\n").join(lines))


MOOD_STYLES = {"positive": "$success", "neutral": "$text-muted", "frustrated": "$warning",
               "angry": "$error"}


class MoodBar(Static):
    """The customer's mood and what to do about it: shown while the customer is
    frustrated or angry, and for ``repeat_hold`` seconds after they had to repeat a problem."""

    def __init__(self, repeat_hold: float = 20.0, **kwargs):
        super().__init__("", **kwargs)
        self.repeat_hold = repeat_hold
        self.mood: Sentiment | None = None
        self.move = ""
        self.repeat: Repeat | None = None
        self._repeat_at = 0.0

    def on_mount(self) -> None:
        self.display = False

    def set_mood(self, event: Sentiment) -> None:
        self.mood = event
        if event.suggestion:
            self.move = event.suggestion
        if event.label not in ("frustrated", "angry"):
            self.move = ""
        self._render_all()

    def set_repeat(self, event: Repeat, now: float) -> None:
        self.repeat, self._repeat_at = event, now
        self._render_all()

    def tick(self, now: float) -> None:
        if self.repeat is not None and now - self._repeat_at >= self.repeat_hold:
            self.repeat = None
            self._render_all()

    def reset(self) -> None:
        self.mood, self.move, self.repeat = None, "", None
        self._render_all()

    def _render_all(self) -> None:
        parts: list[Content] = []
        mood = self.mood
        if mood is not None and mood.label in ("frustrated", "angry"):
            parts.append(Content.assemble((f"▼ Customer {mood.label}", f"bold {MOOD_STYLES[mood.label]}"),
                                          (f" ({mood.score:+.2f})", "$text-muted"),
                                          f"  {self.move}" if self.move else ""))
        if self.repeat is not None:  # their words first: the bar's last row may be cut
            parts.append(Content.assemble(
                (f"↻ Said {self.repeat.count} times:", "bold $warning"),
                f" “{self.repeat.text}”. Sum it up in their words so they know you have it."))
        self.display = bool(parts)
        if parts:
            self.update(Content("\n").join(parts))


def wrapup_text(event: WrapUp) -> str:
    """The wrap-up as the transcript's closing note."""
    reason = event.reason_title or event.reason or "not found"
    mood = ""
    if event.sentiment_start is not None and event.sentiment_end is not None:
        mood = f" · mood {event.sentiment_start:+.1f} → {event.sentiment_end:+.1f}"
    missed = ", ".join(event.checklist_missed) or "none"
    return (f"Wrap-up · reason: {reason} · steps missed: {missed} · agent talk "
            f"{100 * event.talk_agent:.0f}% · overtalk {event.overtalk} · dead air "
            f"{event.dead_air:.0f}s{mood}\n{event.summary}")
