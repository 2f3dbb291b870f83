"""The steps a call must take, ticked live: greeting, identity check before account
details, offering more help, closing.

A checklist pack (``checklists/<language>.toml``) holds ``[[item]]`` entries matched
like phrase entries (patterns, sound-alikes, paraphrase examples, ``not`` lines) by
the phrase detector's matchers, plus when a match counts:

- ``within`` (seconds from the agent's first word): ``done`` inside it, ``late`` after;
  with ``company = true`` the setting ``company`` must be said too; ``first_turns = N``:
  only the agent's first N turns can take the step (a "thanks for calling Riverside
  Bank, bye" at the end is no late greeting);
- ``answer = true``: the agent asks and the customer answers; ``at`` is the end of the
  answer; ``before = "other"``: if that item (usually a ``trigger``) matched first the
  status is ``order``, and it stays ``order``;
- ``by_end = N``: said in the agent's last N turns, decided when the call ends;
- ``trigger = true``: no status of its own, only what ``before`` looks at.

Anything not decided when the call ends is ``missed``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..call import Analyzer
from ..events import AGENT, CUSTOMER, ChecklistStatus, Event, Utterance
from ..phrases import Entry, PackKind, PhraseDetector, load_packs, normalize

if TYPE_CHECKING:
    from ..models import Embedder
    from ..phrases import Pack

CHECKLISTS = PackKind(table="item", say_key="say", extra=(
    ("title", (str,)), ("within", (int, float)), ("company", (bool,)), ("answer", (bool,)),
    ("before", (str,)), ("by_end", (int,)), ("trigger", (bool,)), ("first_turns", (int,))))
PENDING, DONE, LATE, MISSED, ORDER = "pending", "done", "late", "missed", "order"


def load_checklists(folder: Path | None = None, language: str | None = None) -> list[Pack]:
    """The checklist packs of a folder (the shipped ``checklists/``); errors name file:line."""
    return load_packs(folder, language, kind=CHECKLISTS, folder_name="checklists")


@dataclass
class _State:
    entry: Entry
    status: str = PENDING
    asked: float | None = None  # an ``answer`` item: when the agent asked


class ChecklistMonitor(Analyzer):
    """Emits ``checklist`` events: every item ``pending`` at the start, then each decision."""

    name = "checklist"

    def __init__(self, folder: Path | None = None, language: str | None = None,
                 company: str | None = None, embedder: Embedder | None = None):
        packs = load_checklists(folder, language)
        self.company_name = company or ""
        self.company = tuple(normalize(company).words) if company else ()
        self.matcher = PhraseDetector.from_packs(packs, semantic=True, embedder=embedder)
        # one state per item id: the English and the Chinese pack tick the same items
        self.entries = list({e.id: e for pack in reversed(packs) for e in pack.entries}.values())
        self.start()

    def warm_up(self) -> None:
        self.matcher.warm_up()

    def start(self, call_id: str | None = None) -> list[Event]:
        self.items = {e.id: _State(e) for e in self.entries}
        self.first_word: float | None = None
        self.turns = 0  # agent turns so far
        self.greeted: float | None = None  # greeting said (company still missing)
        self.named: float | None = None  # company said
        self.agent_turns: deque[set[str]] = deque(maxlen=max(
            [int(e.extra.get("by_end", 0)) for e in self.entries] + [1]))
        return [self._event(s, PENDING, 0.0) for s in self.items.values() if not _trigger(s.entry)]

    def _event(self, state: _State, status: str, at: float) -> ChecklistStatus:
        state.status = status
        entry = state.entry
        hint = entry.say_instead[0].replace("{company}", self.company_name or "our company")
        return ChecklistStatus(item=entry.id, status=status, at=at,
                               title=str(entry.extra.get("title", entry.id)), hint=hint)

    def feed(self, utterance: Utterance) -> list[Event]:
        if utterance.speaker == CUSTOMER:
            return self._answered(utterance)
        if utterance.speaker != AGENT:
            return []
        if self.first_word is None:
            self.first_word = utterance.start
        self.turns += 1
        said = {h.entry.id for h in self.matcher.hits(utterance.text, AGENT)}
        said = {i for i in said if self._open_turn(self.items[i].entry)}
        if any("within" in self.items[i].entry.extra for i in said):
            # "thanks for calling Riverside Bank" opening the call is its greeting, not its close
            said = {i for i in said if "by_end" not in self.items[i].entry.extra}
        self.agent_turns.append(said)
        events: list[Event] = []
        for ident in said:
            state = self.items[ident]
            if _trigger(state.entry):
                events += self._order(ident, utterance.end)
            elif "within" in state.entry.extra and self.greeted is None:
                self.greeted = utterance.end
            elif state.entry.extra.get("answer") and state.status == PENDING:
                state.asked = utterance.end
        if self.company and self.named is None and _says(utterance.text, self.company):
            self.named = utterance.end
        for state in self.items.values():
            if "within" in state.entry.extra and state.status == PENDING:
                events += self._greeting(state, utterance)
        return events

    def _open_turn(self, entry: Entry) -> bool:
        """Can this agent turn still take the step (``first_turns``)?"""
        return self.turns <= int(entry.extra.get("first_turns", self.turns))

    def _greeting(self, state: _State, utterance: Utterance) -> list[Event]:
        """Decided once the greeting and (``company = true``) the company's name are said,
        in the turns that may take it."""
        needs_name = bool(state.entry.extra.get("company") and self.company)
        if self.greeted is None or (needs_name and self.named is None) or not self._open_turn(
                state.entry):
            return []
        assert self.first_word is not None
        late = utterance.end - self.first_word > float(state.entry.extra["within"])
        return [self._event(state, LATE if late else DONE, utterance.end)]

    def _order(self, trigger: str, at: float) -> list[Event]:
        return [self._event(s, ORDER, at) for s in self.items.values()
                if s.entry.extra.get("before") == trigger and s.status == PENDING]

    def _answered(self, utterance: Utterance) -> list[Event]:
        if not normalize(utterance.text).words:
            return []
        return [self._event(state, DONE, utterance.end) for state in self.items.values()
                if state.asked is not None and state.status == PENDING]

    def finish(self, audio_time: float) -> list[Event]:
        events: list[Event] = []
        for state in self.items.values():
            entry = state.entry
            if _trigger(entry) or state.status != PENDING:
                continue
            turns = int(entry.extra.get("by_end", 0))
            recent = set().union(*list(self.agent_turns)[-turns:]) if turns else set()
            done = entry.id in recent
            events.append(self._event(state, DONE if done else MISSED, audio_time))
        return events


def _trigger(entry: Entry) -> bool:
    return bool(entry.extra.get("trigger"))


def _says(text: str, words: tuple[str, ...]) -> bool:
    """The company's name said, as a recogniser writes it: spacing and spelling may differ
    ("clear line tell com" for Clearline Telecom, "Harbor" for Harbour): letters only,
    an approximate match of the whole name inside the turn."""
    from rapidfuzz import fuzz

    name, heard = "".join(words), "".join(normalize(text).words)
    if len(name) < _MIN_FUZZY_NAME:
        return name in heard
    return fuzz.partial_ratio(name, heard) >= _NAME_SIMILARITY


_MIN_FUZZY_NAME = 6  # letters: a shorter name must be heard exactly
_NAME_SIMILARITY = 85  # rapidfuzz partial ratio: about one letter wrong in seven
