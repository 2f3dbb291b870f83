"""A team adopts assist: its own workspace, agents and teams, call ids by prefix, settings
checked before they are saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import assist
from assist.cli import main
from assist.config import load
from assist.store import Store, StoreSink

CALLS = Path(__file__).resolve().parents[1] / "data" / "calls"

OUR_PHRASE = '''
[[phrase]]
id = "dispute-promise"
severity = "low"
why = "Check the payment can be disputed before promising a dispute."
say_instead = ["Let me check whether this payment can be disputed."]
patterns = ["raise a dispute"]
examples = ["I'll raise a dispute for that payment now.", "Let me raise a dispute for you."]
'''

OUR_ARTICLE = '''---
id: supermarket-double-charge
title: Supermarket double charge
questions:
  - I was charged twice for the same shopping at the supermarket.
  - The supermarket took the same payment two times.
  - My shopping went out twice, I want the double payment back.
  - Two payments for one shop at the supermarket.
  - The same payment went out two times.
language: en
updated: 2026-12-07
---

Check whether one of the two payments is only pending before raising anything.

## Steps
1. Look at both payments.
2. Refund the duplicate once it has settled.
'''


@pytest.fixture
def config(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("ASSIST_CONFIG", str(path))
    for var in ("ASSIST_DB", "ASSIST_KB", "ASSIST_PHRASES", "ASSIST_CHECKLISTS", "ASSIST_AGENT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return path


def _ok(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _fails(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_init_makes_a_workspace_the_config_points_at(tmp_path, config):
    workspace = tmp_path / "team"
    _ok("init", str(workspace))
    saved = load(config)
    for key in ("kb", "phrases", "checklists"):
        folder = Path(getattr(saved, key))
        assert folder == (workspace / key).resolve() and folder.is_absolute()
        assert any(folder.iterdir())
    assert "not empty" in _fails("init", str(workspace))  # never over a team's content


def test_content_is_written_into_the_workspace_and_never_into_the_package(tmp_path, config):
    assert "assist init" in _fails("kb", "new", "Card stuck in an ATM")  # no workspace yet
    assert "assist init" in _fails("phrases", "learn")
    inside = Path(assist.__file__).parent / "data"
    assert "installed assist package" in _fails("kb", "new", "Card stuck", "--kb", str(inside))
    _ok("init", str(tmp_path / "team"))
    out = _ok("kb", "new", "Card stuck in an ATM")
    assert (tmp_path / "team" / "kb" / "card-stuck-in-an-atm.md").is_file(), out


def test_settings_are_checked_before_they_are_saved(tmp_path, config):
    message = _fails("config", "set", "language", "klingon")
    assert "'language'" in message and "auto" in message
    assert "'model'" in _fails("config", "set", "model", "enormous")
    assert "'kb'" in _fails("config", "set", "kb", str(tmp_path / "nowhere"))
    assert "port" in _fails("config", "set", "db", "postgresql://u@host:99999/x")
    assert not config.exists() or "klingon" not in config.read_text()
    _ok("config", "set", "language", "zh")
    assert load(config).language == "zh"


def test_config_show_says_what_the_defaults_are(config):
    shown = {line.split("=")[0].strip(): line for line in _ok("config", "show").splitlines()[1:]}
    assert "(not set)" not in "".join(shown.values())
    assert "tiny.en" in shown["model"] and "shipped" in shown["kb"]
    assert "assist.db" in shown["db"]


def _stored_call(db: str, agent: str, call_id: str, team: str | None = None) -> None:
    store = Store(db)
    sink = StoreSink(store, agent=agent, source="x.wav (2 ch, 16000 Hz, 3.0 s)", team=team)
    sink.start_call(call_id)
    sink.close()
    store.close()


def test_agents_and_teams(tmp_path, config):
    db = str(tmp_path / "store.db")
    _stored_call(db, "alice", "aaaa11112222")
    _stored_call(db, "bob", "bbbb11112222")
    _stored_call(db, "carol", "cccc11112222", team="green")  # the config's team, on her call
    _ok("agents", "set", "alice", "--team", "blue", "--db", db)
    rows = {json.loads(line)["id"]: json.loads(line) for line in
            _ok("agents", "--jsonl", "--db", db).splitlines()}
    assert rows["alice"]["team"] == "blue" and rows["alice"]["calls"] == 1
    assert rows["bob"]["team"] is None and rows["carol"]["team"] == "green"
    listed = [json.loads(line)["id"] for line in
              _ok("calls", "--team", "blue", "--jsonl", "--db", db).splitlines()]
    assert listed == ["aaaa11112222"]
    _ok("agents", "set", "alice", "--team", "", "--db", db)
    assert _ok("calls", "--team", "blue", "--db", db).strip() == "no calls"


def test_call_ids_by_any_unique_prefix(tmp_path, config):
    db = str(tmp_path / "store.db")
    _stored_call(db, "alice", "abcd11112222")
    _stored_call(db, "alice", "abcd99998888")
    assert "abcd11112222" in _ok("flags", "abcd1", "--db", db).splitlines()[0]
    ambiguous = _fails("flags", "abcd", "--db", db)
    assert "ambiguous" in ambiguous and "abcd11112222" in ambiguous
    assert "4 characters" in _fails("flags", "abc", "--db", db)
    assert "no call" in _fails("export", "--call", "ffff", "--format", "json", "-o", "-",
                               "--db", db)
    exported = json.loads(_ok("export", "--call", "abcd9", "--format", "json", "-o", "-",
                              "--db", db))
    assert json.dumps(exported).count("abcd99998888") >= 1
    table = _ok("calls", "--db", db)
    assert "x.wav" in table and "source" in table.splitlines()[0]


def test_a_workspace_article_and_phrase_reach_a_replay_with_no_flags(tmp_path, config):
    """The must-show of issue 19: config only, no --kb/--phrases/--db on any command."""
    workspace = tmp_path / "team"
    db = tmp_path / "floor.db"
    _ok("init", str(workspace))
    _ok("config", "set", "db", str(db))
    (workspace / "kb" / "transaction-charged-twice.md").unlink()  # ours answers instead
    (workspace / "kb" / "supermarket-double-charge.md").write_text(OUR_ARTICLE, encoding="utf-8")
    with (workspace / "phrases" / "en.toml").open("a", encoding="utf-8") as pack:
        pack.write(OUR_PHRASE)
    _ok("phrases", "lint")
    env = {**os.environ, "ASSIST_CONFIG": str(config), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "assist", "replay",
                          str(CALLS / "charged-twice.flac"), "--jsonl"],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert "supermarket-double-charge" in {e["article"] for e in events if e["type"] == "suggestion"}
    assert "dispute-promise" in {e["phrase"] for e in events if e["type"] == "flag"}
    call = events[-1]["call"]
    assert db.exists()
    assert call in _ok("calls")  # no --db: the config's store
    assert "dispute-promise" in _ok("flags", call[:6])


def test_demo_keeps_its_call_in_a_store_of_its_own(tmp_path, config):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "ASSIST_CONFIG": str(config), "HF_HUB_OFFLINE": "1",
           "XDG_DATA_HOME": str(tmp_path / "data"), "TMPDIR": str(scratch)}
    demo = subprocess.Popen([sys.executable, "-m", "assist", "demo", "--fast", "--jsonl"],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert demo.stdout is not None
    during, lines = [], []
    for line in demo.stdout:
        lines.append(json.loads(line))
        if lines[-1]["type"] == "utterance" and not during:
            during = list(scratch.glob("assist-demo-*/demo.db"))
    assert demo.wait(timeout=600) == 0
    assert len(during) == 1  # stored while it ran: the review key has the call to show
    assert lines[-1]["type"] == "end" and lines[-1]["call"]
    assert not list(scratch.glob("assist-demo-*"))  # thrown away after
    assert not (tmp_path / "data").exists()  # and the user's own store never touched
