"""The live transcript: the call so far, newest at the bottom, one widget.

Every line is drawn by the widget itself (Textual's line API: ``render_line``), not
mounted as widgets of its own.  With a widget per utterance, each new utterance laid
out the whole screen again, two or three times, at a cost that grew with the call: at
100 utterances one new line was 250 ms of the screen's time and a key press waited
behind it (``bench/ui.py``).  Here a new line renders that line only; lines are
wrapped once per width and kept.
"""

from __future__ import annotations

import re

from textual.content import Content
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import Visual

from ..events import AGENT, CUSTOMER, SPEAKERS, Flag, Utterance
from .widgets import SPEAKER_LABELS, clock_text, highlighted

WHO_WIDTH = 15  # "MM:SS Customer" and a space
SPEAKER_STYLES = {AGENT: "bold $primary", CUSTOMER: "bold $accent"}
NOTE_STYLES = {"mark": "bold $warning", "overtalk": "$warning", "repeat": "$warning",
               "wrapup": "$text"}


def tail_start(text: str, stable: int | None) -> int | None:
    """Character offset where the tentative words after the first ``stable`` begin."""
    if stable is None:
        return None
    words = list(re.finditer(r"\S+", text))
    return words[stable].start() if stable < len(words) else None


class Entry:
    """One block of rows: drawn once per width, again only when it changes."""

    gap = 1  # blank rows after it

    def __init__(self) -> None:
        self._cache: tuple[int, list[Strip]] | None = None

    def changed(self) -> None:
        self._cache = None

    def rows(self, owner: Transcript, width: int) -> list[Strip]:
        if self._cache is None or self._cache[0] != width:
            rows = self.draw(owner, width)
            gap = [Strip.blank(width, owner.rich_style)] * self.gap if rows else []
            self._cache = (width, rows + gap)
        return self._cache[1]

    def draw(self, owner: Transcript, width: int) -> list[Strip]:
        raise NotImplementedError


def _two_columns(owner: Transcript, who: Content, said: Content, width: int,
                 style: VisualStyle | None = None) -> list[Strip]:
    """The speaker column beside the wrapped words."""
    style = style or owner.visual_style
    left = Visual.to_strips(owner, who, WHO_WIDTH, 1, style, pad=True)[0]
    right = Visual.to_strips(owner, said, max(1, width - WHO_WIDTH), None, style, pad=True)
    blank = Strip.blank(WHO_WIDTH, style.rich_style)
    return [Strip.join([left if i == 0 else blank, strip]) for i, strip in enumerate(right)]


class UtteranceEntry(Entry):
    """One finished utterance: time and speaker on the left, the words (flags marked) right."""

    def __init__(self, utterance: Utterance) -> None:
        super().__init__()
        self.utterance = utterance
        self.flags: list[Flag] = []
        self.current = False  # the line a reviewer is looking at: drawn highlighted

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def said(self) -> Content:
        """The words, flagged spans marked, and a ⚑ in front when it has any flag."""
        text = highlighted(self.utterance.text, self.flags)
        return Content.assemble(("⚑ ", "$error bold"), text) if self.flags else text

    def who(self) -> Content:
        u = self.utterance
        label = SPEAKER_LABELS.get(u.speaker, u.speaker)
        speaker = SPEAKER_STYLES.get(u.speaker, "bold") + (" reverse" if self.current else "")
        return Content.assemble((clock_text(u.start), "$text-muted"), " ", (label, speaker))

    def add_flag(self, flag: Flag) -> None:
        self.flags.append(flag)
        self.changed()

    def draw(self, owner: Transcript, width: int) -> list[Strip]:
        style = owner.get_visual_style("transcript--current") if self.current else None
        return _two_columns(owner, self.who(), self.said(), width, style)


class NoteEntry(Entry):
    """A line across the transcript: a marked moment, the end of the call."""

    def __init__(self, text: str, kind: str) -> None:
        super().__init__()
        self.text, self.kind = text, kind

    def draw(self, owner: Transcript, width: int) -> list[Strip]:
        content = Content.styled(self.text, NOTE_STYLES.get(self.kind, "$text-muted"))
        pad = max(0, (width - content.cell_length) // 2)
        return Visual.to_strips(owner, Content(" " * pad) + content, width, None,
                                owner.visual_style, pad=True)


class PartialEntry(Entry):
    """Interim text for one speaker, dimmed, replaced as it firms up; no rows when empty.

    Words two decodes agreed on are dimmed; the tentative tail after them is dimmer
    still, so the agent can tell which words may yet change."""

    gap = 0

    def __init__(self, speaker: str) -> None:
        super().__init__()
        self.speaker = speaker
        self.text = ""
        self.stable: int | None = None
        self.early: list[Flag] = []

    @property
    def display(self) -> bool:
        return bool(self.text.strip())

    def show(self, text: str, stable: int | None = None) -> None:
        self.text, self.stable = text, stable
        self.changed()

    def said(self) -> Content:
        content = highlighted(self.text, self.early).stylize_before("italic $text-muted")
        tail = tail_start(self.text, self.stable)
        return content.stylize("dim", tail, len(self.text)) if tail is not None else content

    def draw(self, owner: Transcript, width: int) -> list[Strip]:
        if not self.display:
            return []
        label = SPEAKER_LABELS.get(self.speaker, self.speaker)
        who = Content.assemble(("  …  ", "$text-muted"), (label, SPEAKER_STYLES.get(self.speaker, "bold")))
        return _two_columns(owner, who, self.said(), width)

    def clear(self) -> None:
        self.early.clear()
        self.show("")


class PlaceholderEntry(Entry):
    """What the empty transcript says (loading, listening, no call)."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    def draw(self, owner: Transcript, width: int) -> list[Strip]:
        if not self.text:
            return []
        blank = Strip.blank(width, owner.rich_style)
        text = Content.styled(self.text, "italic $text-muted")
        return [blank, *Visual.to_strips(owner, text, width, None, owner.visual_style, pad=True)]


class Transcript(ScrollView, can_focus=True):
    """The call so far, newest at the bottom; follows the end unless scrolled up.

    Attributes:
        lines: the utterances shown, oldest first.
        notes: the notes shown (marks, the call's end), oldest first.
        partials: the interim line of each speaker.
    """

    COMPONENT_CLASSES = {"transcript--current"}
    DEFAULT_CSS = """
    Transcript {
        scrollbar-gutter: stable;
    }
    Transcript > .transcript--current {
        background: $boost;
    }
    """

    def __init__(self, follow: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.placeholder_entry = PlaceholderEntry()
        self.entries: list[UtteranceEntry | NoteEntry] = []
        self.lines: list[UtteranceEntry] = []
        self.notes: list[NoteEntry] = []
        self.partials = {speaker: PartialEntry(speaker) for speaker in SPEAKERS}
        self._rows: list[Strip] = []
        self._starts: list[int] = []  # first row of each entry in ``entries``
        self._tail = 0  # rows before the placeholder / partial rows
        self._following = follow  # keep the newest rows in view (a live call)
        self._current: UtteranceEntry | None = None  # the highlighted line (review)

    # ------------------------------------------------------------ what it shows

    @property
    def placeholder_text(self) -> str:
        return self.placeholder_entry.text

    def placeholder(self, text: str) -> None:
        if text != self.placeholder_entry.text:
            self.placeholder_entry.text = text
            self.placeholder_entry.changed()
            self._update(full=True)

    def _clear_placeholder(self) -> None:
        """The first line of the call replaces the placeholder (drawn with the rows it adds)."""
        if self.placeholder_entry.text:
            self.placeholder_entry.text = ""
            self.placeholder_entry.changed()

    def show_partial(self, speaker: str, text: str, stable: int | None = None) -> None:
        partial = self.partials.get(speaker)
        if partial is not None and (text, stable) != (partial.text, partial.stable):
            partial.show(text, stable)
            self._update()

    def add_utterance(self, utterance: Utterance) -> UtteranceEntry:
        self._clear_placeholder()
        partial = self.partials.get(utterance.speaker)
        if partial is not None:
            partial.clear()
        line = UtteranceEntry(utterance)
        self.lines.append(line)
        self._append(line)
        return line

    def add_note(self, text: str, kind: str = "note") -> NoteEntry:
        self._clear_placeholder()
        note = NoteEntry(text, kind)
        self.notes.append(note)
        self._append(note)
        return note

    def add_flag(self, flag: Flag) -> None:
        """Mark the flagged words: in the live partial for an early flag, else in the
        utterance it was heard in (the speaker's latest one that covers its time)."""
        if not flag.final:
            partial = self.partials.get(flag.speaker)
            if partial is not None:
                partial.early.append(flag)
                partial.changed()
                self._update()
            return
        line = self.line_for(flag)
        if line is not None:
            line.add_flag(flag)
            self._update(since=self.entries.index(line))

    def line_for(self, flag: Flag) -> UtteranceEntry | None:
        candidates = [line for line in self.lines[-20:] if line.utterance.speaker == flag.speaker]
        for line in reversed(candidates):
            u = line.utterance
            if u.start - 0.5 <= flag.start and flag.end <= u.end + 0.5:
                return line
        return candidates[-1] if candidates else None

    def add_utterances(self, utterances: list[tuple[Utterance, list[Flag]]]) -> None:
        """A whole stored call at once, each utterance with its flags: drawn in one pass."""
        self._clear_placeholder()
        for utterance, flags in utterances:
            line = UtteranceEntry(utterance)
            line.flags.extend(flags)
            self.lines.append(line)
            self.entries.append(line)
        self._update(full=True)

    def set_current(self, line: UtteranceEntry | None) -> None:
        """Highlight ``line`` (None: no line) and bring it to the middle of the view."""
        self._following = False
        old, self._current = self._current, line
        for entry, current in ((old, False), (line, True)):
            if entry is not None:
                entry.current = current
                entry.changed()
        changed = [self.entries.index(e) for e in (old, line) if e is not None]
        self._update(since=min(changed, default=0))
        if line is None:
            return
        index = self.entries.index(line)
        middle = self._starts_row(index) + len(line.rows(self, self._width)) // 2
        top = max(0, middle - self.scrollable_content_region.height // 2)
        self.call_after_refresh(self.scroll_to, y=top, animate=False)  # once the size is known

    def reset(self) -> None:
        self._current = None
        self.entries.clear()
        self.lines.clear()
        self.notes.clear()
        for partial in self.partials.values():
            partial.clear()
        self._update(full=True)
        self.scroll_home(animate=False)

    def plain(self) -> list[str]:
        """The rows as plain text (what a reader of the screen gets), trailing spaces cut."""
        return [strip.text.rstrip() for strip in self._rows]

    # ------------------------------------------------------------ rows

    @property
    def _width(self) -> int:
        return max(WHO_WIDTH + 10, self.scrollable_content_region.width)

    def _append(self, entry: UtteranceEntry | NoteEntry) -> None:
        self.entries.append(entry)
        self._update(since=len(self.entries) - 1)

    def _update(self, since: int | None = None, full: bool = False) -> None:
        """Rebuild the rows from entry ``since`` on (None: only the tail), then show them."""
        if not self.is_attached:
            return
        width = self._width
        if full:
            since = 0
        if since is not None:
            rows = self._rows[: self._starts_row(since)] if since else []
            del self._starts[since:]
            for entry in self.entries[since:]:
                self._starts.append(len(rows))
                rows.extend(entry.rows(self, width))
            self._rows, self._tail = rows, len(rows)
        else:
            del self._rows[self._tail:]
        self._rows.extend(self.placeholder_entry.rows(self, width))
        for speaker in SPEAKERS:
            self._rows.extend(self.partials[speaker].rows(self, width))
        self.virtual_size = Size(width, len(self._rows))
        if self._following:
            self.scroll_end(animate=False)  # once laid out: the scroll bar may be new
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # scrolled up to read: stay there; back at the end: follow again
        self._following = new_value >= self.max_scroll_y - 1

    def _starts_row(self, index: int) -> int:
        return self._starts[index] if index < len(self._starts) else self._tail

    def on_resize(self) -> None:
        self._update(full=True)

    def on_mount(self) -> None:
        self._update(full=True)

    def render_line(self, y: int) -> Strip:
        row = y + int(self.scroll_y)
        width = self.scrollable_content_region.width
        if not 0 <= row < len(self._rows):
            return Strip.blank(width, self.rich_style)
        return self._rows[row].crop_extend(0, width, self.rich_style)
