"""The semantic matcher's evidence gate, flag confidence, partial flags and `assist phrases
replay` on a real SQLite store filled through `assist import`."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from assist.cli import main
from assist.events import Partial, Utterance
from assist.phrases import DetectorOptions, PhraseDetector
from assist.resources import shipped
from assist.store import Store, StoreSink, read_flags

# the issue's false alarms: ordinary agent lines of seven bank calls
ISSUE_LINES = [
    "No problem, in the meantime you can use the virtual card in the app.",
    "So it's been 12 working days.",
    "If it's not there by Friday, ask your employer for the payment reference.",
]


@pytest.fixture(scope="module")
def gated(embedder):
    detector = PhraseDetector(embedder=embedder)
    detector.warm_up()
    return detector


def _real_agent_turns(shared_data) -> list[str]:
    turns = [text for convo in json.loads((shared_data / "abcd" / "abcd_sample.json").read_text())
             for who, text in convo["original"] if who == "agent"]
    hv = json.loads((shared_data / "harper-valley" / "hvb_2calls_reduced.json").read_text())
    for call in hv["calls"]:
        turns += [s[col] for s in call["segments"] if s[2] == "agent" for col in (5, 6)]
    return turns


def test_ordinary_agent_speech_stays_quiet(gated, shared_data):
    turns = ISSUE_LINES + _real_agent_turns(shared_data)
    flagged = [(t, [f.phrase for f in gated.check(t)]) for t in turns]
    assert [pair for pair in flagged if pair[1]] == []


def test_the_gate_is_what_keeps_them_quiet(embedder):
    ungated = PhraseDetector(embedder=embedder, options=DetectorOptions(semantic_evidence=False))
    assert any(ungated.check(line) for line in ISSUE_LINES)


# near a phrase to the embedding model, but sharing no words with any way of saying it
WORDLESS = "It has its own card number, so it's safer for shopping on websites you don't know."


def test_a_semantic_flag_needs_words_as_well(embedder, gated):
    embedding_only = PhraseDetector(embedder=embedder, options=DetectorOptions(word_evidence=None))
    assert [f.phrase for f in embedding_only.check(WORDLESS)] == ["shouldnt-have"]
    assert gated.check(WORDLESS) == []


def test_word_evidence_is_read_clause_by_clause(embedder, gated):
    # whole, the line is nearer the everyday "Your card expires at the end of the month"
    # than any calm-down example; its clause "Relax" is the phrase
    line = "Relax, it's hardly the end of the month."
    assert [(f.phrase, f.matcher) for f in gated.check(line)] == [("calm-down", "semantic")]
    index = next(ix for ix in gated._index if ix.pack.language == "en")
    assert index.words is not None
    calm = [e.id for e in index.pack.entries].index("calm-down")
    whole = index.words.margins([line.replace(",", "")], index.example_owner,
                                len(index.pack.entries))
    by_clause = index.words.margins([line], index.example_owner, len(index.pack.entries))
    assert whole[0, calm] < gated.options.word_evidence <= by_clause[0, calm]


def test_paraphrases_still_flag_with_their_confidence(gated):
    (flag,) = gated.check("I've been over this with you already, the fee stands.")
    assert flag.phrase == "already-said" and flag.matcher == "semantic"
    assert 0.5 < flag.confidence < 1.0
    (exact,) = gated.check("Please calm down, sir.")
    assert exact.matcher == "exact" and exact.confidence == 1.0
    (fuzzy,) = gated.check("Please come down so I can help you.")
    assert fuzzy.matcher == "fuzzy" and 0.5 < fuzzy.confidence < 1.0


def test_a_withdrawn_early_flag_never_reaches_the_store(gated, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.db'}", spool_dir=tmp_path / "spool")
    sink = StoreSink(store, agent="dan")
    sink.start_call("c1")
    early = gated.feed_partial(Partial(speaker="agent", text="okay calm down", start=1.0,
                                       stable=3))
    assert [f.phrase for f in early] == ["calm-down"] and not early[0].final
    final = Utterance(speaker="agent", text="Okay, come down to the branch with your ID.",
                      start=1.0, end=3.0)
    for event in [*early, final, *gated.feed(final)]:
        sink(event)
    assert read_flags(store, call_id="c1") == []
    sink.close()
    store.close()


def _import(tmp_path, db: str) -> None:
    calls = [
        {"id": "a1", "started": "2026-03-02T10:00:00Z", "agent": "dan", "utterances": [
            {"speaker": "customer", "start": 0, "end": 2, "text": "My card is not working."},
            {"speaker": "agent", "start": 2, "end": 4, "text": "Please calm down, sir."},
            {"speaker": "agent", "start": 5, "end": 7, "text": "No worries, it's sorted now."}]},
        {"id": "a0", "started": "2026-01-05T10:00:00Z", "agent": "dan", "utterances": [
            {"speaker": "agent", "start": 0, "end": 2, "text": "No worries at all."}]},
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in calls))
    result = CliRunner().invoke(main, ["import", str(path), "--db", db])
    assert result.exit_code == 0, result.output


def test_replay_shows_what_a_pack_edit_would_change(tmp_path, embedder):
    db = f"sqlite:///{tmp_path / 'calls.db'}"
    _import(tmp_path, db)
    packs = tmp_path / "phrases"
    shutil.copytree(shipped("phrases"), packs)
    run = CliRunner().invoke
    same = run(main, ["phrases", "replay", "--db", db, "--phrases", str(packs)])
    assert same.exit_code == 0, same.output
    assert same.output.startswith("no change")
    with (packs / "en.toml").open("a") as handle:  # a new phrase, and calm-down allowed here
        handle.write('\n[[phrase]]\nid = "no-worries"\nwhy = "Too casual."\n'
                     'say_instead = ["Happy to help."]\npatterns = ["no worries"]\n')
    text = (packs / "en.toml").read_text().replace(
        'id = "calm-down"\n', 'id = "calm-down"\nallow = ["please calm down sir"]\n', 1)
    (packs / "en.toml").write_text(text)
    out = run(main, ["phrases", "replay", "--db", db, "--phrases", str(packs), "--jsonl",
                     "--since", "2026-02-01"])
    assert out.exit_code == 0, out.output
    changes = [json.loads(line) for line in out.output.splitlines()]
    assert {(c["change"], c["phrase"], c["said"]) for c in changes} == {
        ("+", "no-worries", "No worries, it's sorted now."),
        ("-", "calm-down", "Please calm down, sir."),
    }  # the January call is before --since
    assert next(c for c in changes if c["change"] == "-")["confidence"] == 1.0
    table = run(main, ["phrases", "replay", "--db", db, "--phrases", str(packs), "--no-semantic"])
    assert "2 would appear, 1 would disappear" in table.output


def test_replay_errors_are_one_line(tmp_path):
    run = CliRunner().invoke
    bad = run(main, ["phrases", "replay", "--db", f"sqlite:///{tmp_path / 'x.db'}",
                     "--since", "2026-13-01"])
    assert bad.exit_code == 2 and "--since" in bad.output and "Traceback" not in bad.output
    gone = run(main, ["phrases", "replay", "--db", "postgresql://nobody@127.0.0.1:1/none"])
    assert gone.exit_code == 1 and "Traceback" not in gone.output
    assert len(gone.output.strip().splitlines()) == 1
    assert "replay" in run(main, ["phrases", "--help"]).output
