"""What assist keeps on disk is its owner's alone: the SQLite store (and its -wal/-shm),
the spool and the config file are created 0600, the folders assist makes for them 0700.
Also here: a password never printed, and a bad PostgreSQL URL as one clean line.

The file tests run with a umask of 0, so each mode seen is the one assist asked for."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from assist.cli import main
from assist.config import config_path, private_dir, private_file, write_value
from assist.errors import AssistError
from assist.events import End, Utterance
from assist.review import transcript
from assist.store import Store, StoreSink, resolve_url, safe_url

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """Umask 0 for one test (put back after): without assist's own modes, files would be
    0644/0666 and folders 0777."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


# ---------------------------------------------------------------- the store


@posix_only
def test_sqlite_store_and_its_wal_and_shm_are_0600_in_0700_folders(tmp_path, open_umask):
    (tmp_path / "shared").mkdir(mode=0o755)
    db = tmp_path / "shared" / "team" / "assist" / "assist.db"
    with Store(f"sqlite:///{db}", spool_dir=tmp_path / "spool") as store:
        store.set_agent("dan")
        with store.engine.connect():  # an open connection keeps -wal and -shm
            wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
            assert wal.is_file() and shm.is_file()
            assert (mode(db), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700
    assert mode(tmp_path / "shared") == 0o755  # a folder that was there keeps its mode


@posix_only
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG folders")
def test_the_default_store_in_the_user_data_folder(tmp_path, monkeypatch, open_umask):
    monkeypatch.delenv("ASSIST_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    with Store() as store:
        assert Path(store.url.database) == tmp_path / "share" / "assist" / "assist.db"
        store.set_agent("dan")
    assert mode(tmp_path / "share") == 0o700 and mode(tmp_path / "share" / "assist") == 0o700
    assert mode(tmp_path / "share" / "assist" / "assist.db") == 0o600


@posix_only
def test_an_existing_database_keeps_its_mode(tmp_path, open_umask):
    db = tmp_path / "shared.db"
    sqlite3.connect(db).close()
    db.chmod(0o640)  # a team's choice: assist does not change it
    with Store(f"sqlite:///{db}", spool_dir=tmp_path / "spool") as store:
        store.set_agent("dan")
    assert mode(db) == 0o640


def test_a_database_folder_that_cannot_be_made_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AssistError, match="cannot create the database") as caught:
        Store(str(blocker / "sub" / "assist.db"), spool_dir=tmp_path)
    assert "\n" not in str(caught.value)


@posix_only
def test_the_spool_is_0600_in_a_0700_folder(tmp_path, open_umask):
    """A real outage: another process holds SQLite's write lock past the busy timeout
    (5 s), so the sink spools; the lock goes, and the spool is written."""
    db = tmp_path / "assist.db"
    spool = tmp_path / "data" / "spool"
    with Store(f"sqlite:///{db}", spool_dir=spool) as store:
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        sink = StoreSink(store, agent="dan", retry_seconds=60)
        try:
            sink.start_call("c1")
            sink(Utterance(speaker="customer", text="my card never came", start=0, end=1))
            assert sink.spooling
            spooled = spool / "c1.jsonl"
            assert len(spooled.read_text().splitlines()) == 2
            assert mode(spooled) == 0o600
            assert mode(spool) == 0o700 and mode(tmp_path / "data") == 0o700
        finally:
            blocker.rollback()
            blocker.close()
        sink(End(call="c1", duration=1.0))
        assert sink.close()
        assert [line.text for line in transcript(store, "c1")] == ["my card never came"]


def test_flushing_the_spool_leaves_no_file_behind(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "c9.jsonl").write_text(json.dumps({"op": "agent", "id": "eve"}) + "\n")
    with Store(f"sqlite:///{tmp_path / 'assist.db'}", spool_dir=spool):
        pass
    assert list(spool.iterdir()) == []


# ---------------------------------------------------------------- the config file


@posix_only
def test_config_file_is_0600_in_0700_folders(tmp_path, open_umask):
    path = tmp_path / "config" / "assist" / "config.toml"
    write_value(path, "db", "postgresql://bob:secret@db.example/assist")
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
    write_value(path, "agent", "bob")  # rewriting keeps it so
    assert mode(path) == 0o600 and "agent" in path.read_text()


@posix_only
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG folders")
def test_config_in_the_user_config_folder(tmp_path, monkeypatch, open_umask):
    monkeypatch.delenv("ASSIST_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = CliRunner().invoke(main, ["config", "set", "agent", "bob"])
    assert result.exit_code == 0, result.output
    assert config_path() == tmp_path / "xdg" / "assist" / "config.toml"
    assert mode(config_path()) == 0o600
    assert mode(tmp_path / "xdg") == 0o700 and mode(tmp_path / "xdg" / "assist") == 0o700


@posix_only
def test_config_edit_creates_the_file_0600(tmp_path, monkeypatch, open_umask):
    path = tmp_path / "new" / "config.toml"
    monkeypatch.setenv("ASSIST_CONFIG", str(path))
    monkeypatch.setenv("VISUAL", "true")  # an editor that changes nothing
    result = CliRunner().invoke(main, ["config", "edit"])
    assert result.exit_code == 0, result.output
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


@posix_only
def test_private_helpers_leave_what_exists_alone(tmp_path, open_umask):
    (tmp_path / "mine").mkdir(mode=0o755)
    (tmp_path / "mine" / "f").write_text("kept")
    (tmp_path / "mine" / "f").chmod(0o644)
    private_dir(tmp_path / "mine")
    private_file(tmp_path / "mine" / "f")
    assert mode(tmp_path / "mine") == 0o755 and mode(tmp_path / "mine" / "f") == 0o644
    assert (tmp_path / "mine" / "f").read_text() == "kept"


# ---------------------------------------------------------------- passwords never shown


def test_config_show_masks_the_database_password(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    monkeypatch.setenv("ASSIST_CONFIG", str(path))
    monkeypatch.delenv("ASSIST_DB", raising=False)
    runner = CliRunner()
    done = runner.invoke(main, ["config", "set", "db", "postgresql://bob:secret@host/db"])
    assert done.exit_code == 0 and "secret" not in done.output
    assert "secret" in path.read_text()  # saved as given
    shown = runner.invoke(main, ["config", "show"])
    assert shown.exit_code == 0, shown.output
    assert "postgresql://bob:***@host/db" in shown.output and "secret" not in shown.output
    monkeypatch.setenv("ASSIST_DB", "postgresql://eve:hunter2@host:abc/db")  # not even parsable
    shown = runner.invoke(main, ["config", "show"])
    assert "postgresql://eve:***@host:abc/db" in shown.output and "hunter2" not in shown.output
    monkeypatch.setenv("ASSIST_DB", str(tmp_path / "a.db"))
    assert str(tmp_path / "a.db") in runner.invoke(main, ["config", "show"]).output


@pytest.mark.parametrize(("given", "shown"), [
    ("postgresql://bob:secret@host/db", "postgresql://bob:***@host/db"),
    ("postgresql+psycopg://bob:secret@host:5433/db", "postgresql://bob:***@host:5433/db"),
    ("postgresql://bob@host/db", "postgresql://bob@host/db"),
    ("postgresql://bob:secret@host:abc/db", "postgresql://bob:***@host:abc/db"),
    ("postgresql://bob:se:c@ret@host:x/db", "postgresql://bob:***@host:x/db"),
    ("/home/bob/assist.db", "/home/bob/assist.db"),
    ("sqlite:////home/bob/assist.db", "sqlite:////home/bob/assist.db"),
])
def test_safe_url_of_a_string(given, shown):
    assert safe_url(given) == shown


def test_safe_url_of_a_resolved_url():
    assert safe_url(resolve_url("postgresql://bob:secret@host/db")) == \
        "postgresql://bob:***@host/db"


# ---------------------------------------------------------------- bad PostgreSQL URLs


@pytest.mark.parametrize(("url", "says"), [
    ("postgresql://u@host:abc/db", "the port must be a number"),
    ("postgresql://u:secret@host:abc/db", "the port must be a number"),
    ("postgresql://u@host:99999/db", "the port must be 1 to 65535"),
    ("postgresql://u@host:0/db", "the port must be 1 to 65535"),
])
def test_a_bad_port_is_one_line(url, says):
    with pytest.raises(AssistError, match=says) as caught:
        resolve_url(url)
    message = str(caught.value)
    assert "\n" not in message and "secret" not in message


@pytest.mark.parametrize("url", [
    "postgresql://u@host:abc/db",
    "postgresql://u:secret@host:abc/db",
    "postgresql://u@nonexistent.invalid/db",  # .invalid never resolves (RFC 2606)
    "postgresql://u@" + "a" * 70 + "/db",  # a label too long to look up at all
    "postgresql://u@127.0.0.1:1/db?foo=bar",
])
def test_cli_bad_postgresql_url_is_one_clean_line(url):
    result = CliRunner().invoke(main, ["calls", "--db", url])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception  # handled, not raised
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output and "secret" not in result.output


def test_cli_bad_port_in_a_real_process():
    done = subprocess.run([sys.executable, "-m", "assist.cli", "calls", "--db",
                           "postgresql://u@host:abc/db"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.strip() == ("Error: not a database URL: postgresql://u@host:abc/db "
                                   "(the port must be a number)")
