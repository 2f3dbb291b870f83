"""The ONNX Runtime embedder: the same vectors as sentence-transformers, exported once."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from assist.errors import AssistError
from assist.models import (
    ModelSpec,
    OnnxEmbedder,
    UnsupportedModel,
    load_embedder,
    load_onnx_embedder,
    load_specs,
    resolve,
)

TEXTS = [
    "hi",
    "my new card still hasn't arrived and it's been two weeks since I ordered it",
    "calm down please",
    "我的卡还没到",
    "word " * 400,  # longer than max_seq_length: truncated like sentence-transformers does
]


@pytest.fixture(scope="session")
def torch_embedder():
    return load_embedder(ModelSpec("embeddings", "all-MiniLM-L6-v2", runtime="torch"))


def test_default_runtime_is_onnx_and_matches_torch(embedder, torch_embedder):
    assert isinstance(embedder, OnnxEmbedder)
    assert type(torch_embedder).__name__ == "SentenceTransformer"
    ours = embedder.encode(TEXTS, batch_size=2, normalize_embeddings=True)
    theirs = torch_embedder.encode(TEXTS, batch_size=2, normalize_embeddings=True)
    assert ours.shape == theirs.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.all((ours * theirs).sum(axis=1) > 0.9999)
    # Order is kept although batches are sorted by length internally.
    single = np.stack([embedder.encode(t) for t in TEXTS])
    assert np.allclose(single, ours, atol=1e-4)


def test_export_is_cached_and_reused(tmp_path):
    model_dir = resolve(load_specs()["embeddings"]).path
    first = load_onnx_embedder(model_dir, tmp_path)
    files = list((tmp_path / "onnx").glob("*.onnx"))
    assert files == [first.onnx_path] and not list((tmp_path / "onnx").glob("*.part"))
    stamp = first.onnx_path.stat().st_mtime_ns
    second = load_onnx_embedder(model_dir, tmp_path)
    assert second.onnx_path == first.onnx_path and first.onnx_path.stat().st_mtime_ns == stamp
    assert np.allclose(first.encode(["card"]), second.encode(["card"]))


def test_unsupported_layout_falls_back_to_torch(tmp_path, monkeypatch, caplog):
    model_dir = resolve(load_specs()["embeddings"]).path
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    pooling = copy / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    pooling.write_text(json.dumps(config))
    with pytest.raises(UnsupportedModel, match="max_tokens"):
        load_onnx_embedder(copy, tmp_path)
    monkeypatch.setenv("ASSIST_CACHE_DIR", str(tmp_path))
    fallback = load_embedder(ModelSpec("embeddings", "max-pooled", path=str(copy)))
    assert type(fallback).__name__ == "SentenceTransformer"
    assert "ONNX runtime unavailable" in caplog.text and "using PyTorch" in caplog.text
    assert fallback.encode(["card"]).shape == (1, 384)
    assert not (tmp_path / "onnx").exists()


def test_runtime_is_checked_in_models_toml(tmp_path):
    toml = tmp_path / "models.toml"
    toml.write_text('[embeddings]\nmodel = "all-MiniLM-L6-v2"\nruntime = "tensorrt"\n')
    with pytest.raises(AssistError, match="runtime must be one of onnx, torch"):
        load_specs(toml)
    toml.write_text('[embeddings]\nruntime = "torch"\n')
    assert load_specs(toml)["embeddings"].runtime == "torch"
