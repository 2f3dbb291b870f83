"""The call machinery: the Analyzer interface and the seams' protocols (Source, Sink,
Embedder), the Pipeline that feeds audio through recognition to the analyzers and
sinks, a call's settings, and the dead-air monitor.
"""

from typing import TYPE_CHECKING, Any

from ..models import Embedder
from .analyzer import Analyzer, Describable, Reopenable, Sink, Source
from .deadair import DeadAirMonitor
from .transcript import ImportedCall, TranscriptCall, read_import

if TYPE_CHECKING:
    from .pipeline import Pipeline, PipelineStats
    from .settings import CallSettings

# The pipeline and the settings bring the recogniser and the model registry with them;
# an analyzer (phrases, kb, painpoints) needs only the interface, and `assist --help`
# none of it: they load when first asked for.
_LAZY = {"Pipeline": "pipeline", "PipelineStats": "pipeline", "CallSettings": "settings"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Analyzer",
    "CallSettings",
    "DeadAirMonitor",
    "Describable",
    "Embedder",
    "Pipeline",
    "PipelineStats",
    "Reopenable",
    "Sink",
    "Source",
    "TranscriptCall",
    "ImportedCall",
    "read_import",
]
