"""End to end: calls with cards and codes imported with `assist import`, then every column of
every table, every export (CSV, JSON, HTML, Markdown) and every file the store wrote hold
none of them, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from assist.cli import main

CARD = ["4539", "5260", "1815", "9083"]
SECRETS_SPOKEN = ["seven three seven", "four five three nine", "oh four twenty seven",
                  "three one nine two", "two oh double oh oh four"]
SECRETS_DIGITS = ["4539526018159083", "4539 5260", "5599528907866665", "55779911", "31926548"]

CALLS = [
    {"id": "ext-cvv", "started": "2026-11-30T09:15:00Z", "agent": "dana", "utterances": [
        {"speaker": "agent", "start": 0, "end": 3, "text": "Good morning, Riverside Bank, how can I help?"},
        {"speaker": "customer", "start": 3.5, "end": 8, "text": "Hi, my new card still hasn't arrived."},
        {"speaker": "agent", "start": 9, "end": 12, "text": "Can I take the three digits on the back of your old card?"},
        {"speaker": "customer", "start": 12.5, "end": 15, "text": "Seven three seven, and my new card still hasn't arrived"},
        {"speaker": "agent", "start": 16, "end": 18, "text": "Please calm down, it's company policy."}]},
    {"id": "ext-card", "started": "2026-11-30T10:00:00Z", "utterances": [
        {"speaker": "agent", "start": 0, "end": 2, "text": "What's the long number on the card?"},
        {"speaker": "customer", "start": 2, "end": 5, "text": "four five three nine, 5260"},
        {"speaker": "agent", "start": 5, "end": 6, "text": "mhm"},
        {"speaker": "customer", "start": 6, "end": 9, "text": "1815 9083 and my card was charged twice"},
        {"speaker": "agent", "start": 9, "end": 10, "text": "And the expiry?"},
        {"speaker": "customer", "start": 10, "end": 12, "text": "oh four twenty seven"}]},
    {"id": "ext-acct", "started": "2026-11-30T11:00:00Z", "utterances": [
        {"speaker": "customer", "start": 0, "end": 4, "text": "I was charged twice, card 5599 5289 0786 6665."},
        {"speaker": "agent", "start": 4, "end": 6, "text": "Which account should the refund go to?"},
        {"speaker": "customer", "start": 6, "end": 9, "text": "sort code two oh double oh oh four, account 55779911"},
        {"speaker": "agent", "start": 9, "end": 10, "text": "and the account number again?"},
        {"speaker": "customer", "start": 10, "end": 12, "text": "three one nine two, six five four eight"}]},
]


def _leaks(blob: str) -> list[str]:
    low = blob.lower()
    squeezed = re.sub(r"[\s,.-]", "", low)
    found = [s for s in SECRETS_SPOKEN if s in low]
    found += [s for s in SECRETS_DIGITS if s.replace(" ", "") in squeezed or s in low]
    return found


def _import(db: str, tmp_path: Path) -> list[dict]:
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in CALLS) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "--db", db, "--agent", "lee"])
    assert result.exit_code == 0, result.output
    mapping = [json.loads(line) for line in result.stdout.splitlines()]
    assert [m["id"] for m in mapping] == [c["id"] for c in CALLS]
    return mapping


def _dump_tables(url: str) -> str:
    engine = create_engine(url)
    out = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                out.extend(str(v) for v in row if not isinstance(v, bytes | memoryview))
    engine.dispose()
    return "\n".join(out)


def _exports(db: str, mapping: list[dict], tmp_path: Path) -> str:
    runner = CliRunner()
    texts = []
    for m in mapping:
        for fmt in ("csv", "json", "html"):
            out = tmp_path / f"{m['call']}.{fmt}"
            result = runner.invoke(main, ["export", "--db", db, "--call", m["call"], "--format",
                                          fmt, "-o", str(out)])
            assert result.exit_code == 0, result.output
            texts.append(out.read_text(encoding="utf-8"))
    for fmt in ("csv", "json", "html"):
        out = tmp_path / f"week.{fmt}"
        result = runner.invoke(main, ["export", "--db", db, "--week", "--since", "2026-11-28",
                                      "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        texts.append(out.read_text(encoding="utf-8"))
    for fmt in ("md", "html"):
        result = runner.invoke(main, ["painpoints", "report", "--db", db, "--format", fmt])
        assert result.exit_code == 0, result.output
        texts.append(result.stdout)
    for command in (["calls"], ["painpoints", "list"]):
        result = runner.invoke(main, [*command, "--db", db])
        assert result.exit_code == 0, result.output
        texts.append(result.stdout)
    for m in mapping:
        result = runner.invoke(main, ["flags", m["call"], "--db", db])
        assert result.exit_code == 0, result.output
        texts.append(result.stdout)
    return "\n".join(texts)


def _check(db: str, url: str, tmp_path: Path) -> None:
    mapping = _import(db, tmp_path)
    tables = _dump_tables(url)
    assert "[CVV]" in tables and "[CARD]" in tables and "[ACCOUNT]" in tables
    assert "calm-down" in tables  # the analyzers ran on the imported calls
    assert "ext-cvv" in tables and "2026-11-30 09:15:00" in tables  # source id and started kept
    assert _leaks(tables) == []
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    assert _leaks(_exports(db, mapping, out)) == []


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the spool, away from the user's
    monkeypatch.delenv("ASSIST_DB", raising=False)
    return tmp_path


def test_no_secret_is_stored_exported_or_written_sqlite(isolated, embedder):
    db = isolated / "team.db"
    _check(str(db), f"sqlite:///{db}", isolated)
    written = [p for p in isolated.rglob("*") if p.is_file() and p.suffix not in (".jsonl",)
               and "out" not in p.parts]
    assert any(p.name.startswith("team.db") for p in written)
    for path in written:  # the database and its journal, the spool: as bytes
        blob = path.read_bytes().decode("utf-8", "replace")
        assert _leaks(blob) == [], path


def test_no_secret_is_stored_or_exported_postgresql(isolated, pg_url, embedder):
    _check(pg_url, pg_url.replace("postgresql://", "postgresql+psycopg://", 1), isolated)
