"""Hostile input is one clear line, never a traceback: JSON nested 100,000 deep or bytes
that are not UTF-8 on stdin, an output file in a missing folder, a flag number too large
for the database, and a store in a folder this user cannot write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from assist.cli import main
from assist.cli.kb import kb as kb_cli
from assist.cli.painpoints import painpoints as painpoints_cli
from assist.cli.phrases import phrases as phrases_cli
from assist.store import Store

DEEP = b"[" * 100_000 + b"]" * 100_000
NOT_UTF8 = b'{"text": "caf\xe9"}'  # Latin-1, not UTF-8


def one_line(output: str) -> str:
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def run_cli(*args: str, stdin: bytes = b"", prefix: tuple[str, ...] = (), **env: str):
    """The real command line in a fresh interpreter; stdin decoded strictly, whatever the
    locale, so a reader that trusts the text stream would fail here."""
    return subprocess.run([*prefix, sys.executable, "-m", "assist.cli", *args], input=stdin,
                          capture_output=True, timeout=300,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8:strict", **env})


# ---------------------------------------------------------------- phrases check --jsonl


@pytest.mark.parametrize("bad, message", [
    (DEEP, "stdin line 2: not valid JSON (nested too deep)"),
    (NOT_UTF8, "stdin line 2: not valid UTF-8 (byte 0xe9 at column 14)"),
], ids=["deep", "not-utf8"])
def test_phrases_check_stops_at_a_bad_line_naming_it(bad, message):
    """The command's contract: a bad line is an error (as invalid JSON always was)."""
    out = run_cli("phrases", "check", "--jsonl", "--no-semantic",
                  stdin=b'{"text": "Please calm down."}\n' + bad + b'\n{"text": "x"}\n')
    assert out.returncode == 1
    [answer] = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert answer["flags"][0]["phrase"] == "calm-down"  # the lines before it were answered
    assert one_line(out.stderr.decode()) == f"Error: {message}"


def test_phrases_check_in_process_reads_bytes_too():
    result = CliRunner().invoke(phrases_cli, ["check", "--jsonl", "--no-semantic"],
                                input=NOT_UTF8 + b"\n")
    assert result.exit_code == 1
    assert one_line(result.output) == "Error: stdin line 1: not valid UTF-8 (byte 0xe9 at column 14)"


# ---------------------------------------------------------------- kb search, painpoints cluster


def test_kb_search_answers_every_line_bad_ones_with_an_error(embedder, tmp_path, monkeypatch):
    """One output line per input line (DESIGN): a bad line gets an empty result and an
    error naming it, and the lines after it are still answered."""
    monkeypatch.setenv("ASSIST_CACHE_DIR", str(tmp_path / "cache"))
    stdin = DEEP + b"\n" + NOT_UTF8 + b"\n" + b'{"text": "my new card still has not arrived"}\n'
    result = CliRunner().invoke(kb_cli, ["search", "--jsonl", "--top", "1"], input=stdin)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0] == {"text": None, "results": [],
                      "error": "stdin line 1: not valid JSON (nested too deep)"}
    assert out[1] == {"text": None, "results": [],
                      "error": "stdin line 2: not valid UTF-8 (byte 0xe9 at column 14)"}
    assert out[2]["results"][0]["article"] == "card-arrival" and "error" not in out[2]


def test_painpoints_cluster_answers_every_line_bad_ones_with_an_error(embedder):
    stdin = (b'{"id": 1, "text": "my card has not arrived"}\n' + DEEP + b"\n" + NOT_UTF8
             + b"\n\n[1, 2]\n")
    result = CliRunner().invoke(painpoints_cli, ["cluster", "--jsonl"], input=stdin)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, None, None, None, None]  # one per line, blank included
    assert [o.get("error") for o in out] == [
        None, "stdin line 2: not valid JSON (nested too deep)",
        "stdin line 3: not valid UTF-8 (byte 0xe9 at column 14)", None,
        "stdin line 5: expected a JSON object"]
    assert all(o["cluster"] == "-1" for o in out[1:])


def test_painpoints_cluster_plain_text_names_a_line_that_is_not_utf8():
    result = CliRunner().invoke(painpoints_cli, ["cluster"], input=b"my card\n\xff\xfe\n")
    assert result.exit_code == 1
    assert one_line(result.output) == "Error: stdin line 2: not valid UTF-8 (byte 0xff at column 1)"


# ---------------------------------------------------------------- files and numbers


def test_report_into_a_missing_folder(tmp_path):
    result = CliRunner().invoke(painpoints_cli, [
        "report", "--db", str(tmp_path / "a.db"), "-o", str(tmp_path / "missing/folder/x.md")])
    assert result.exit_code == 1
    line = one_line(result.output)
    assert line == f"Error: cannot write {tmp_path}/missing/folder/x.md: no such folder " \
                   f"{tmp_path}/missing/folder"


def _store_with_a_flag(path: Path) -> None:
    with Store(str(path), spool_dir=path.parent / "spool") as store:
        store.apply_many([
            {"op": "call", "id": "call0001", "agent": "dan", "started": "2024-06-03T10:00:00"},
            {"op": "utterance", "call_id": "call0001", "seq": 1, "speaker": "agent",
             "text": "calm down"},
            {"op": "flag", "call_id": "call0001", "seq": 1, "utterance_seq": 1,
             "phrase": "calm-down", "text": "calm down"},
            {"op": "end", "call_id": "call0001", "duration": 3.0}])


@pytest.mark.parametrize("number", ["99999999999999999999", "2147483648", "0"])
def test_verdict_on_a_flag_number_the_database_cannot_hold(tmp_path, number):
    db = tmp_path / "a.db"
    _store_with_a_flag(db)
    result = CliRunner().invoke(main, ["verdict", "--db", str(db), "call0001", number, "confirmed"])
    assert result.exit_code == 1
    assert one_line(result.output) == (f"Error: call 'call0001' has no flag {number} "
                                       "(see 'assist flags call0001')")
    ok = CliRunner().invoke(main, ["verdict", "--db", str(db), "call0001", "1", "confirmed"])
    assert ok.exit_code == 0, ok.output


# ---------------------------------------------------------------- a read-only data folder


def _without_write_rights() -> tuple[str, ...]:
    """What to run a command under so a 0555 folder is read-only to it: as root, root
    without the capabilities that override file modes."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--") \
        if setpriv else None
    if prefix is None or subprocess.run([*prefix, "true"], capture_output=True).returncode:
        pytest.skip("running as root and cannot drop the capability to write anywhere")
    return prefix


@pytest.fixture
def read_only_store(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    _store_with_a_flag(folder / "assist.db")
    folder.chmod(0o555)
    yield folder / "assist.db"
    folder.chmod(0o755)


@pytest.mark.parametrize("args, shown", [
    (["calls", "--jsonl"], '"id": "call0001"'),
    (["flags", "call0001"], "#1 calm-down"),
    (["db", "info", "--json"], '"calls": 1'),
    (["painpoints", "list"], "no pain points yet"),
    (["export", "--call", "call0001", "--format", "json", "-o", "-"], "call0001"),
], ids=["calls", "flags", "db-info", "painpoints-list", "export"])
def test_reading_commands_work_in_a_read_only_folder(read_only_store, tmp_path, args, shown):
    data = tmp_path / "data"  # the user's data folder: never made just to read
    out = run_cli(*args, "--db", str(read_only_store), prefix=_without_write_rights(),
                  XDG_DATA_HOME=str(data))
    assert out.returncode == 0, out.stderr.decode()
    assert shown in out.stdout.decode()
    assert sorted(p.name for p in read_only_store.parent.iterdir()) == ["assist.db"]
    assert not data.exists()


@pytest.mark.parametrize("args", [["verdict", "call0001", "1", "confirmed"], ["db", "upgrade"]],
                         ids=["verdict", "db-upgrade"])
def test_writing_commands_in_a_read_only_folder_are_one_line(read_only_store, args):
    out = run_cli(*args, "--db", str(read_only_store), prefix=_without_write_rights())
    assert out.returncode == 1
    assert one_line(out.stderr.decode()) == (f"Error: cannot write the database {read_only_store}: "
                                             "it or its folder is read-only")
