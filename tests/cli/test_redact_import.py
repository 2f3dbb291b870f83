"""`assist redact` and `assist import` as DESIGN.md defines them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from assist.cli import main


def test_redact_prints_the_redacted_text():
    result = CliRunner().invoke(main, ["redact", "card 4539 5260 1815 9083, expiry 04/27, code 737"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "card [CARD], expiry [EXPIRY], code [CVV]"


def test_redact_jsonl_contract_one_line_out_per_line_in_without_carried_context():
    lines = [
        {"text": "And the three digits on the back?"},
        {"text": "seven three seven"},  # context never carries from one line to the next
        {"utterances": [{"speaker": "agent", "text": "And the three digits on the back?"},
                        {"speaker": "customer", "text": "seven three seven"}]},
        {"text": "sort code 20-00-04, my email is john.smith@example.com", "extra": 1},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n"
    result = CliRunner().invoke(main, ["redact", "--jsonl"], input=stdin)
    assert result.exit_code == 1  # the bad line
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 5 and "error" in out[4] and "line 5" in out[4]["error"]
    assert out[1] == {"text": "seven three seven", "redactions": []}
    call = out[2]["utterances"]
    assert [u["speaker"] for u in call] == ["agent", "customer"]
    assert call[1]["text"] == "[CVV]" and call[1]["redactions"] == [{"type": "CVV", "start": 0, "end": 5}]
    last = out[3]
    assert last["text"] == "sort code [SORTCODE], my email is [EMAIL]"
    for span in last["redactions"]:  # start / end index the redacted text
        assert last["text"][span["start"]:span["end"]] == f"[{span['type']}]"
    assert [s["type"] for s in last["redactions"]] == ["SORTCODE", "EMAIL"]


def test_redact_needs_text_or_jsonl():
    result = CliRunner().invoke(main, ["redact"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_import_errors_name_the_file_and_line(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "s.db")
    missing = runner.invoke(main, ["import", str(tmp_path / "nope.jsonl"), "--db", db])
    assert missing.exit_code == 1 and "no such file" in missing.output
    path = tmp_path / "calls.jsonl"
    good = {"id": "a", "utterances": [{"speaker": "agent", "text": "hello"}]}
    path.write_text(json.dumps(good) + "\n{broken\n", encoding="utf-8")
    bad = runner.invoke(main, ["import", str(path), "--db", db])
    assert bad.exit_code == 1 and f"{path}:2: not valid JSON" in bad.output
    assert "Traceback" not in bad.output and bad.stdout == ""  # nothing stored before the check
    path.write_text(json.dumps({"id": "b", "utterances": [{"speaker": "bot", "text": "x"}]}),
                    encoding="utf-8")
    speaker = runner.invoke(main, ["import", str(path), "--db", db])
    assert speaker.exit_code == 1 and "'speaker' must be 'agent' or 'customer'" in speaker.output


def test_import_csv_one_utterance_a_row_keeps_id_agent_and_start(tmp_path, embedder):
    path = tmp_path / "calls.csv"
    path.write_text("call,started,agent,speaker,start,end,text\n"
                    "c1,2026-11-02T08:00:00,amy,agent,0,2,Good morning\n"
                    "c1,2026-11-02T08:00:00,amy,customer,2,5,my card number is 4539 5260 1815 9083\n"
                    "c2,,,customer,0,3,hello\n", encoding="utf-8")
    db = str(tmp_path / "s.db")
    result = CliRunner().invoke(main, ["import", str(path), "--db", db, "--agent", "bob"])
    assert result.exit_code == 0, result.output
    mapping = [json.loads(line) for line in result.stdout.splitlines()]
    assert [m["id"] for m in mapping] == ["c1", "c2"]
    calls = CliRunner().invoke(main, ["calls", "--db", db, "--jsonl"])
    rows = {r["id"]: r for r in map(json.loads, calls.stdout.splitlines())}
    first = rows[mapping[0]["call"]]
    assert first["agent"] == "amy" and first["started"].startswith("2026-11-02T08:00")
    assert rows[mapping[1]["call"]]["agent"] == "bob"
