"""Which model serves each role, where it resolves, loading it (Whisper, the embedder), and
the steps of getting a call ready.
"""

from .embedder import Embedder, OnnxEmbedder, UnsupportedModel, load_onnx_embedder
from .preparation import Preparation, Step, StepReport
from .resolve import (
    RUNTIMES,
    ModelSpec,
    cache_root,
    call_language,
    load_embedder,
    load_specs,
    load_whisper,
    resolve,
)

__all__ = [
    "Embedder",
    "call_language",
    "cache_root",
    "load_embedder",
    "load_onnx_embedder",
    "load_specs",
    "load_whisper",
    "ModelSpec",
    "OnnxEmbedder",
    "Preparation",
    "resolve",
    "RUNTIMES",
    "Step",
    "StepReport",
    "UnsupportedModel",
]
