"""The checklist: each item's status on calls that do and do not take the steps, the
packs' format checks, and the shipped packs linting clean."""

from __future__ import annotations

import pytest

from assist.call import TranscriptCall
from assist.conduct import CHECKLISTS, ChecklistMonitor, load_checklists
from assist.errors import AssistError
from assist.events import AGENT, CUSTOMER, ChecklistStatus, Utterance
from assist.phrases import lint


@pytest.fixture(scope="module")
def monitor(embedder):
    checklist = ChecklistMonitor(company="Riverside Bank", embedder=embedder)
    checklist.warm_up()
    return checklist


def statuses(monitor, turns: list[tuple[str, float, str]]) -> dict[str, tuple[str, float]]:
    """Each item's last (status, at) after a call of (speaker, start, text) turns."""
    utterances = [Utterance(speaker=s, start=t, end=t + max(1.0, len(x.split()) / 3), text=x)
                  for s, t, x in turns]
    events: list = []
    TranscriptCall(utterances, [monitor], [events.append]).run()
    last = {}
    for e in events:
        if isinstance(e, ChecklistStatus):
            last[e.item] = (e.status, e.at)
    return last


GOOD = [
    (AGENT, 0.5, "Good morning, thank you for calling Riverside Bank, my name is Dan."),
    (CUSTOMER, 5.0, "Hi, my card has been declined twice today."),
    (AGENT, 9.0, "Sorry about that. Can I take your full name and date of birth?"),
    (CUSTOMER, 13.0, "Sure, it's Amy Lee, twelfth of May eighty-nine."),
    (AGENT, 18.0, "Thanks Amy. I can see a payment of forty pounds was declined at the shop."),
    (CUSTOMER, 24.0, "Yes that's the one."),
    (AGENT, 27.0, "It was a fraud check, I've cleared it now, so it will work again."),
    (AGENT, 33.0, "Is there anything else I can help you with today?"),
    (CUSTOMER, 36.0, "No, that's everything, thanks."),
    (AGENT, 38.0, "Thanks for calling, have a lovely day."),
]


def test_a_call_that_takes_every_step(monitor):
    got = statuses(monitor, GOOD)
    assert {k: v[0] for k, v in got.items()} == {
        "greeting": "done", "verify-identity": "done", "anything-else": "done", "closing": "done"}
    answer = GOOD[3][2]
    assert got["verify-identity"][1] == pytest.approx(13.0 + len(answer.split()) / 3)  # its end


def test_account_details_before_verification_is_out_of_order_and_stays_so(monitor):
    turns = [GOOD[0], GOOD[1], (AGENT, 9.0, "I can see a payment of forty pounds to Tesco yesterday."),
             *GOOD[2:]]
    assert statuses(monitor, turns)["verify-identity"][0] == "order"


def test_a_late_greeting_a_missing_company_and_missed_endings(monitor):
    late = [(AGENT, 0.5, "Yeah?"), (CUSTOMER, 2.0, "Hello? Is this the bank? My card is stuck."),
            (AGENT, 20.0, "Hello, thanks for calling Riverside Bank, sorry about that."),
            (AGENT, 25.0, "So your card is stuck in the machine, let's get it sorted.")]
    got = statuses(monitor, late)
    assert got["greeting"][0] == "late"
    assert got["verify-identity"][0] == "missed"
    assert got["anything-else"][0] == "missed" and got["closing"][0] == "missed"
    nameless = [(AGENT, 0.5, "Good morning, how can I help?"), *GOOD[1:]]
    assert statuses(monitor, nameless)["greeting"][0] == "missed"


def test_anything_else_counts_only_near_the_end(monitor):
    early = [GOOD[0], (AGENT, 3.0, "Is there anything else I can help you with?"), *GOOD[1:7],
             (AGENT, 40.0, "Right, I'll send you the form by post."),
             (AGENT, 45.0, "You should have it on Monday."),
             (AGENT, 50.0, "Okay, bye now.")]
    got = statuses(monitor, early)
    assert got["anything-else"][0] == "missed" and got["closing"][0] == "done"


def test_a_broken_checklist_pack_names_file_and_line(tmp_path):
    (tmp_path / "en.toml").write_text(
        'language = "en"\n[[item]]\nid = "greeting"\nwhy = "w"\nsay = ["s"]\n'
        'patterns = ["hello"]\nwithin = "soon"\n', encoding="utf-8")
    with pytest.raises(AssistError, match=r"en.toml:7: 'within' of 'greeting' must be int or float"):
        load_checklists(tmp_path)
    (tmp_path / "en.toml").write_text(
        'language = "en"\n[[item]]\nid = "greeting"\nwhy = "w"\nsay = ["s"]\n'
        'patterns = ["hello"]\nwithn = 15\n', encoding="utf-8")
    with pytest.raises(AssistError, match=r"en.toml:7: unknown key 'withn' \(did you mean 'within'\?\)"):
        load_checklists(tmp_path)


def test_the_shipped_checklists_lint_clean():
    assert lint(None, kind=CHECKLISTS, folder_name="checklists") == []


def test_the_company_name_counts_as_the_recogniser_writes_it(embedder):
    monitor = ChecklistMonitor(company="Clearline Telecom", embedder=embedder)
    said = [(AGENT, 0.5, "Hello and welcome to clear line tell com, you're speaking with Ben."),
            (CUSTOMER, 4.0, "Hi, my broadband keeps dropping out.")]
    assert statuses(monitor, said)["greeting"][0] == "done"
    other = [(AGENT, 0.5, "Hello and welcome to Northwind Mobile, you're speaking with Ben."),
             (CUSTOMER, 4.0, "Hi, my broadband keeps dropping out.")]
    assert statuses(monitor, other)["greeting"][0] == "missed"
