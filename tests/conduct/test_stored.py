"""How the call went, stored and shown to the coach: the events through `assist import`
into a real SQLite store, read back redacted, and the wrap-up in the HTML report."""

from __future__ import annotations

import json

from click.testing import CliRunner

from assist.cli import main
from assist.review import call_conduct, export_call
from assist.store import Store, read_call_events, read_calls

CALL = {"id": "c-77", "started": "2026-11-02T10:00:00Z", "agent": "dan", "utterances": [
    {"speaker": "agent", "start": 0.0, "end": 3.0,
     "text": "Good morning, thank you for calling, how can I help?"},
    {"speaker": "customer", "start": 3.5, "end": 8.0,
     "text": "My card 4539 1488 0343 6467 was charged twice for the same shopping."},
    {"speaker": "agent", "start": 7.0, "end": 11.0,
     "text": "Okay, let me look at the account for you now."},
    {"speaker": "customer", "start": 11.5, "end": 16.0,
     "text": "I was charged twice, card 4539 1488 0343 6467, the same shop, two payments!"},
    {"speaker": "agent", "start": 16.5, "end": 21.0,
     "text": "I've refunded the second payment, it shows in three days."},
    {"speaker": "agent", "start": 21.5, "end": 24.0,
     "text": "Anything else I can help with? Thanks for calling, bye."},
]}


def test_imported_call_keeps_how_it_went_and_no_card_number(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps(CALL) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "--db", db])
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        (call,) = read_calls(store)
        events = read_call_events(store, call["id"])
        kinds = {e["type"] for e in events}
        assert {"checklist", "overtalk", "sentiment", "repeat", "wrapup"} <= kinds
        (overtalk,) = [e for e in events if e["type"] == "overtalk"]
        assert overtalk["speaker"] == "agent" and overtalk["duration"] == 1.0
        stored = json.dumps(events)
        assert "4539" not in stored and "6467" not in stored and "[CARD]" in stored
        conduct = call_conduct(store, call["id"])
        assert conduct.wrapup is not None and conduct.wrapup["overtalk"] == 1
        assert {i["item"]: i["status"] for i in conduct.checklist}["verify-identity"] == "missed"
        page = export_call(store, call["id"], "html")
        assert "<h2>Wrap-up</h2>" in page and "verify-identity" in page
        assert "spoke over the other side" in page and "4539" not in page
        record = json.loads(export_call(store, call["id"], "json"))
        assert [e["type"] for e in record["events"]] == [e["type"] for e in events]
