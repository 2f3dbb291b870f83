"""Everything one call needs, typed, built once by the CLI and passed in."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..asr import AsrOptions
from ..asr.script import SCRIPTS
from ..errors import AssistError
from ..models import ModelSpec, load_specs

if TYPE_CHECKING:
    from ..painpoints import PainPointOptions


@dataclass
class CallSettings:
    """Everything one call needs, typed, built once by the CLI.

    Attributes:
        asr: the ASR model spec.
        embeddings: the sentence-embedding model spec.
        asr_options: streaming options (language among them).
        deadair_seconds: silence that raises a dead-air warning.
        phrases_dir: banned-phrase packs (None: the shipped ones).
        kb_dir: knowledge base (None: the shipped one).
        cpu_threads: threads for the ASR model.
        store: keep the call in the store (assist.store).
        db: the store's URL or SQLite path (None: $ASSIST_DB, else the user data folder).
        agent: who takes the call (None: $ASSIST_AGENT, else the login name).
        team: the agent's team, recorded on the agent when a call is stored (None: unchanged).
        painpoints: pain-point options, the early-warning thresholds among them
            (None: the defaults).
        company: the company name the greeting must say (None: a greeting is enough).
        checklists_dir: checklist packs (None: the shipped checklists/).
    """

    asr: ModelSpec
    embeddings: ModelSpec
    asr_options: AsrOptions = field(default_factory=AsrOptions)
    deadair_seconds: float = 10.0
    phrases_dir: Path | None = None
    kb_dir: Path | None = None
    cpu_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    store: bool = False
    db: str | None = None
    agent: str | None = None
    team: str | None = None
    painpoints: PainPointOptions | None = None
    company: str | None = None
    checklists_dir: Path | None = None

    @classmethod
    def build(cls, model: str | None = None, models_toml: Path | None = None,
              final_model: str | None = None, language: str | None = None, deadair_seconds: float = 10.0,
              language_rule: Callable[[str, str | None], str | None] | None = None,
              script: str | None = None, **extra: Any) -> CallSettings:
        specs = load_specs(models_toml, asr=model, final=final_model)
        if language_rule is not None:
            language = language_rule(specs["asr"].name, language)
            final = specs["asr"].final_spec()
            if final is not None:  # an English-only final model hears English only
                language = language_rule(final.name, language)
        options = replace(AsrOptions(), language=language)
        if script is not None:
            if script not in SCRIPTS:
                raise AssistError(f"script must be {', '.join(SCRIPTS)}, not '{script}'")
            options.script = script
        return cls(specs["asr"], specs["embeddings"], options, deadair_seconds, **extra)
