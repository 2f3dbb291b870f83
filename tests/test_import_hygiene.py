"""The core never imports Textual: only assist/tui does (as Harlequin checks)."""

import subprocess
import sys

import pytest

CORE = ["assist.audio", "assist.asr", "assist.events", "assist.pipeline", "assist.models",
        "assist.deadair", "assist.session", "assist.cli", "assist.analyzer", "assist.store",
        "assist.review", "assist.redact", "assist.cli_store", "assist.phrases", "assist.cli_phrases",
        "assist.painpoints", "assist.cli_painpoints", "assist.capture", "assist.config",
        "assist.cli_config", "assist.kb", "assist.cli_kb"]


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_import_textual(module):
    code = f"import sys, {module}; print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_help_is_instant_without_heavy_imports():
    code = ("import sys; from click.testing import CliRunner; from assist.cli import main; "
            "CliRunner().invoke(main, ['--help']); "
            "print(sorted(m for m in ('torch','faster_whisper','sentence_transformers','ctranslate2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
