"""The coach's review screens (``assist review``, key r): stored calls, then one call's flags.

Everything is read and written through ``assist.review`` in thread workers (a team
database may be a network away); results come back as messages.

Keys on the call list:
    enter  open the highlighted call
    /      type in the filters (agent, since, until, phrase id); escape back to the list
    u      unreviewed calls only (calls with a flag that has no verdict yet)
    e      export the highlighted call
Keys in a call:
    n / p  next / previous flag (the transcript scrolls to where it was said)
    c / x  confirm the flag / dismiss it as a false alarm
    a      a note on the flag (on the call when it has no flags)
    e      export the call (.html, .csv or .json: the file name says which)
    escape back to the list
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, DataTable, Input, Static
from textual.worker import get_current_worker

from ..events import AGENT, Flag, Utterance, WrapUp
from .keybar import KeyBar
from .messages import CallLoaded, CallsLoaded, ReviewSaved
from .shared import SteadyScreen, StoreHandle, TitleBar, failure
from .transcript import Transcript, UtteranceEntry
from .widgets import SEVERITY_STYLES, clock_text, evidence_text, flag_card, wrapup_text

if TYPE_CHECKING:
    from ..review import CallDetail, FlagView

VERDICT_MARKS = {"confirmed": ("✓ confirmed", "$error"), "false-alarm": ("✗ false alarm", "$success")}
FILTERS = ("agent", "since", "until", "phrase")
# fixed widths: the list fits 100 columns and never re-flows as rows come and go
COLUMNS = (("Started (UTC)", 16), ("Agent", 9), ("Status", 10), ("Length", 7), ("Flags", 5),
           ("To do", 5), ("Confirmed", 9), ("False", 5), ("Call", 14))


def _store(screen: Screen) -> StoreHandle:
    return cast(Any, screen.app).store


def _day(text: str) -> date | None:
    return datetime.strptime(text, "%Y-%m-%d").date() if text else None


def verdict_text(view: FlagView) -> Content:
    label, style = VERDICT_MARKS.get(view.verdict or "", ("· to review", "$text-muted"))
    return Content.styled(label, style)


def as_flag(view: FlagView, why: str = "") -> Flag:
    """A stored flag as the live screen's widgets draw it."""
    return Flag(phrase=view.phrase, speaker=view.speaker or AGENT, text=view.text or "",
                start=view.start or 0.0, end=view.end or 0.0, severity=view.severity or "medium",
                suggestion=view.suggestion or "", why=why, span=view.span,
                matcher=view.matcher or "",
                confidence=view.confidence if view.confidence is not None else -1.0)


# ---------------------------------------------------------------- the call list


class ReviewScreen(SteadyScreen):
    """Stored calls, newest first, with their flag counts, narrowed by the filters."""

    BINDINGS = [
        Binding("slash", "filters", "Filter"),
        Binding("u", "unreviewed", "Unreviewed only"),
        Binding("e", "export", "Export"),
        Binding("escape", "to_list", "List", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Any] = []

    def compose(self) -> ComposeResult:
        yield TitleBar("Review", id="review-title", classes="title-bar")
        with Horizontal(id="review-filters"):
            yield Input(placeholder="agent", id="filter-agent")
            yield Input(placeholder="since YYYY-MM-DD", id="filter-since")
            yield Input(placeholder="until YYYY-MM-DD", id="filter-until")
            yield Input(placeholder="phrase id", id="filter-phrase")
            yield Checkbox("unreviewed only", id="filter-unreviewed")
        yield DataTable(id="calls", cursor_type="row", zebra_stripes=True)
        yield Static("", id="review-status")
        yield KeyBar()

    def on_mount(self) -> None:
        if not self.app.is_running:
            return  # quit while the screen was being built ahead of time: its widgets are gone
        table = self.query_one("#calls", DataTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        table.focus()

    def on_screen_resume(self) -> None:
        if self.is_current:  # not when the app builds it ahead of time
            self.reload()  # verdicts given in a call change its counts

    # ------------------------------------------------------------ loading

    def filters(self) -> dict[str, Any] | None:
        """The list_calls filters, or None while a date does not parse (it is marked)."""
        values = {name: self.query_one(f"#filter-{name}", Input).value.strip() for name in FILTERS}
        found: dict[str, Any] = {"agent": values["agent"] or None,
                                 "phrase": values["phrase"] or None,
                                 "unreviewed": self.query_one("#filter-unreviewed", Checkbox).value}
        bad = []
        for name in ("since", "until"):
            box = self.query_one(f"#filter-{name}", Input)
            try:
                found[name] = _day(values[name])
                box.remove_class("-invalid")
            except ValueError:
                box.add_class("-invalid")
                bad.append(name)
        if bad:
            self.status(f"{' and '.join(bad)}: not a day; write it as YYYY-MM-DD", error=True)
            return None
        return found

    def reload(self) -> None:
        found = self.filters()
        if found is not None:
            self._load(found)

    @work(thread=True, exclusive=True, exit_on_error=False, group="review-calls")
    def _load(self, filters: dict[str, Any]) -> None:
        from ..review import list_calls

        worker = get_current_worker()
        try:
            message = CallsLoaded(list_calls(_store(self).get(), **filters))
        except Exception as exc:  # the screen says why; it never takes the app down
            message = CallsLoaded([], failure(exc))
        if not worker.is_cancelled:
            self.post_message(message)

    def on_calls_loaded(self, message: CallsLoaded) -> None:
        table = self.query_one("#calls", DataTable)
        keep = self.highlighted()
        table.clear()
        self.calls = message.calls
        for call in message.calls:
            table.add_row(f"{call.started:%Y-%m-%d %H:%M}", call.agent or "-", call.status,
                          clock_text(call.duration), str(call.flags), str(call.unreviewed),
                          str(call.confirmed), str(call.false_alarms), call.id, key=call.id)
        if keep is not None and keep in {c.id for c in message.calls}:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        title = self.query_one("#review-title", TitleBar)
        if message.error:
            title.show("no store")
            self.status(message.error, error=True)
            return
        todo = sum(c.unreviewed for c in message.calls)
        title.show(f"{len(message.calls)} calls · {todo} flags to review · "
                   f"{_store(self).where()}")
        self.status("Enter opens a call." if message.calls else
                    "No calls match. Calls appear here once a call runs with the store on.")

    def status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#review-status", Static)
        widget.update(text)
        widget.set_class(error, "-error")

    def highlighted(self) -> str | None:
        table = self.query_one("#calls", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    # ------------------------------------------------------------ keys and events

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("filter-"):
            self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_to_list()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(CallScreen(event.row_key.value))

    def action_filters(self) -> None:
        self.query_one("#filter-agent", Input).focus()

    def action_to_list(self) -> None:
        self.query_one("#calls", DataTable).focus()

    def action_unreviewed(self) -> None:
        self.query_one("#filter-unreviewed", Checkbox).toggle()

    def action_export(self) -> None:
        call = self.highlighted()
        if call is None:
            self.notify("No call to export.", severity="warning", timeout=3)
            return
        self.app.push_screen(ExportScreen(call), _exported(self))


def _exported(screen: Screen):
    def done(path: Path | None) -> None:
        if path is not None:
            screen.notify(f"Wrote {path}", timeout=5)

    return done


# ---------------------------------------------------------------- one call


class CallScreen(Screen[None]):
    """One call's transcript beside its flags: walk them, give verdicts, write notes."""

    BINDINGS = [
        Binding("n", "step(1)", "Next flag"),
        Binding("p", "step(-1)", "Prev flag"),
        Binding("c", "verdict('confirmed')", "Confirm"),
        Binding("x", "verdict('false-alarm')", "False alarm"),
        Binding("a", "note", "Note"),
        Binding("e", "export", "Export"),
        Binding("escape", "back", "Calls"),
    ]

    def __init__(self, call_id: str):
        super().__init__()
        self.call_id = call_id
        self.detail: CallDetail | None = None
        self.why: dict[str, str] = {}
        self.index = 0

    def compose(self) -> ComposeResult:
        yield TitleBar("Review", id="call-title", classes="title-bar")
        with Horizontal(id="call-main"):
            yield Transcript(follow=False, id="call-transcript")
            with Vertical(id="call-side"):
                yield Static("", id="review-card")
                yield Static("", id="review-flags")
                yield Static("", id="review-note")
        yield KeyBar()

    def on_mount(self) -> None:
        transcript = self.query_one("#call-transcript", Transcript)
        transcript.border_title = f"Call {self.call_id}"
        transcript.placeholder("Loading the call…")
        self.query_one("#call-side").border_title = "Flags"
        self._load()

    @property
    def lines(self) -> list[UtteranceEntry]:
        """The call's utterances as the transcript shows them."""
        return self.query_one("#call-transcript", Transcript).lines

    @property
    def flags(self) -> list[FlagView]:
        return self.detail.flags if self.detail is not None else []

    @property
    def current(self) -> FlagView | None:
        return self.flags[self.index] if self.flags else None

    # ------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, exit_on_error=False, group="review-call")
    def _load(self) -> None:
        from ..review import call_detail

        try:
            detail = call_detail(_store(self).get(), self.call_id)
            message = CallLoaded(detail, phrase_reasons(self.app, detail))
        except Exception as exc:
            message = CallLoaded(None, {}, failure(exc))
        self.post_message(message)

    def on_call_loaded(self, message: CallLoaded) -> None:
        if message.error:
            self.query_one("#call-transcript", Transcript).placeholder(message.error)
            self.notify(message.error, severity="error", timeout=10)
            return
        first = self.detail is None
        self.detail, self.why = message.detail, message.why
        self.index = min(self.index, max(0, len(self.flags) - 1))
        if first:
            self._fill_transcript()
        self._show()

    def _fill_transcript(self) -> None:
        """The stored utterances, flags marked, drawn by one widget (a long call opens fast)."""
        assert self.detail is not None
        by_line: dict[int, list[Flag]] = {}
        for view in self.detail.flags:
            if view.seq in self.detail.flag_lines:
                by_line.setdefault(self.detail.flag_lines[view.seq], []).append(as_flag(view))
        transcript = self.query_one("#call-transcript", Transcript)
        if not self.detail.lines:
            transcript.placeholder("No utterances were stored for this call.")
            return
        transcript.add_utterances([
            (Utterance(speaker=line.speaker, start=line.start or 0.0, end=line.end or 0.0,
                       text=line.text), by_line.get(i, []))
            for i, line in enumerate(self.detail.lines)])
        wrapup = self.detail.conduct.wrapup
        if wrapup is not None:
            known = {f.name for f in dataclasses.fields(WrapUp)} - {"t"}
            transcript.add_note(wrapup_text(WrapUp(**{k: v for k, v in wrapup.items() if k in known})),
                                "wrapup")

    # ------------------------------------------------------------ drawing

    def _show(self) -> None:
        """Title, the current flag's card, the flag list and the line it was said in."""
        detail = self.detail
        if detail is None:
            return
        call = detail.call
        confirmed = sum(f.verdict == "confirmed" for f in self.flags)
        dismissed = sum(f.verdict == "false-alarm" for f in self.flags)
        todo = len(self.flags) - confirmed - dismissed
        self.query_one("#call-title", TitleBar).show(
            f"{call.id} · {call.agent or '-'} · {call.started:%Y-%m-%d %H:%M} UTC · "
            f"{clock_text(call.duration)} · {len(self.flags)} flags: {todo} to review, "
            f"{confirmed} confirmed, {dismissed} false alarms")
        card = self.query_one("#review-card", Static)
        view = self.current
        if view is None:
            card.update(Content.styled("This call has no flags.", "$text-muted"))
            card.set_classes("-empty")
            card.border_title = card.border_subtitle = None
        else:
            flag = as_flag(view, self.why.get(view.phrase, ""))
            parts: list[Content | str] = [flag_card(flag)]
            if flag.matcher:  # how sure the matcher was: a coach weighs a paraphrase differently
                parts += ["\n", Content.assemble(("Found ", "bold"),
                                                  (evidence_text(flag), "$text-muted"))]
            parts += ["\n", verdict_text(view)]
            if view.note:
                parts += ["\n", Content.styled("Note ", "bold"), view.note]
            card.update(Content.assemble(*parts))
            card.set_classes(f"-{view.severity or 'medium'}")
            card.border_title = f"{self.index + 1} of {len(self.flags)} · {view.phrase}"
            card.border_subtitle = clock_text(view.start)
        self.query_one("#review-flags", Static).update(self._list())
        note = detail.note.note if detail.note is not None else None
        self.query_one("#review-note", Static).update(
            Content.assemble(("Call note ", "bold"), note) if note else "")
        self._mark_line()

    def _list(self) -> Content:
        rows = []
        for i, view in enumerate(self.flags):
            rows.append(Content.assemble(
                "▸ " if i == self.index else "  ", (clock_text(view.start), "$text-muted"), " ",
                (view.phrase, SEVERITY_STYLES.get(view.severity or "", "$error")), " ",
                verdict_text(view)))
        return Content("\n").join(rows)

    def _mark_line(self) -> None:
        view, detail = self.current, self.detail
        transcript = self.query_one("#call-transcript", Transcript)
        if view is None or detail is None or view.seq not in detail.flag_lines:
            transcript.set_current(None)
            return
        transcript.set_current(transcript.lines[detail.flag_lines[view.seq]])

    # ------------------------------------------------------------ keys

    def action_step(self, delta: int) -> None:
        if not self.flags:
            self.notify("This call has no flags.", severity="warning", timeout=3)
            return
        self.index = (self.index + delta) % len(self.flags)
        self._show()

    def action_verdict(self, verdict: str) -> None:
        view = self.current
        if view is None:
            self.notify("This call has no flags.", severity="warning", timeout=3)
            return
        view.verdict = verdict  # shown at once; the store write follows in a worker
        self._show()
        self._save("verdict", view.seq, verdict)

    def action_note(self) -> None:
        from ..store import CALL_REVIEW

        if self.detail is None:
            return
        view = self.current
        seq = view.seq if view is not None else CALL_REVIEW
        before = view.note if view is not None else (self.detail.note.note if self.detail.note else "")
        what = f"flag {self.index + 1} ({view.phrase})" if view is not None else "the call"

        def noted(text: str | None) -> None:
            if text is not None:
                self._save("note", seq, text)

        self.app.push_screen(NoteScreen(what, before or ""), noted)

    def action_export(self) -> None:
        self.app.push_screen(ExportScreen(self.call_id), _exported(self))

    def action_back(self) -> None:
        self.app.pop_screen()

    @work(thread=True, exit_on_error=False, group="review-save")
    def _save(self, kind: str, seq: int, value: str) -> None:
        from ..review import record_note, record_verdict

        try:
            store = _store(self).get()
            if kind == "verdict":
                record_verdict(store, self.call_id, seq, value)
                done = f"Flag {seq}: {value.replace('-', ' ')}"
            else:
                record_note(store, self.call_id, seq, value)
                done = "Note saved"
            message = ReviewSaved(done)
        except Exception as exc:
            message = ReviewSaved("", failure(exc))
        self.post_message(message)

    def on_review_saved(self, message: ReviewSaved) -> None:
        if message.error:
            self.notify(message.error, title="Not saved", severity="error", timeout=10)
        else:
            self.notify(message.done, timeout=2)
        self._load()  # what the store now holds (and undo the shown verdict if it failed)


def phrase_reasons(app: Any, detail: CallDetail) -> dict[str, str]:
    """Why each of the call's phrases hurts, from the phrase packs (the store keeps no 'why')."""
    from ..errors import AssistError
    from ..phrases import load_packs, script_of

    wanted = {f.phrase for f in detail.flags}
    try:
        packs = load_packs(getattr(app, "phrases_dir", None)) if wanted else []
    except AssistError:  # a broken pack costs the 'why' lines, not the review
        packs = []
    scripts = {script_of(f.text or "") for f in detail.flags}
    reasons: dict[str, str] = {}
    for pack in sorted(packs, key=lambda p: p.script not in scripts):  # the call's language first
        for entry in pack.entries:
            if entry.id in wanted:
                reasons.setdefault(entry.id, entry.why)
    return reasons


# ---------------------------------------------------------------- dialogs


class NoteScreen(ModalScreen[str | None]):
    """One line of text: Enter keeps it, Escape drops it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, what: str, text: str = ""):
        super().__init__()
        self.what = what
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="note-dialog", classes="dialog"):
            # an existing note is added to, not replaced by the first key typed
            yield Input(self.text, placeholder="What the agent should hear about this",
                        select_on_focus=False, id="note-text")
            yield Static("Enter saves · Escape cancels", classes="dialog-hint")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#note-dialog").border_title = f"Note on {self.what}"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ExportScreen(ModalScreen[Path | None]):
    """Where to write a call's export; the file's extension picks the format."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, call_id: str, folder: Path | None = None):
        super().__init__()
        self.call_id = call_id
        self.folder = folder or Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog", classes="dialog"):
            yield Input(str(self.folder / f"call-{self.call_id}.html"), id="export-path")
            yield Static("The extension picks the format: .html (a report), .csv (one row per "
                         "flag) or .json (everything). Enter writes · Escape cancels",
                         id="export-note", classes="dialog-hint")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#export-dialog").border_title = f"Export call {self.call_id}"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._write(Path(event.value.strip()).expanduser())

    @work(thread=True, exclusive=True, exit_on_error=False, group="review-export")
    def _write(self, path: Path) -> None:
        from ..review import export_call_to

        try:
            export_call_to(_store(self).get(), self.call_id, path)
            message = ReviewSaved(str(path))
        except Exception as exc:
            message = ReviewSaved("", failure(exc))
        self.post_message(message)

    def on_review_saved(self, message: ReviewSaved) -> None:
        if message.error:
            note = self.query_one("#export-note", Static)
            note.update(message.error)
            note.add_class("-error")
        else:
            self.dismiss(Path(message.done))

    def action_cancel(self) -> None:
        self.dismiss(None)
