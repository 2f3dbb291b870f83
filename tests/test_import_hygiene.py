"""The core never imports Textual: only assist/tui does (as Harlequin checks).

The modules are found by walking the package, so a new module is checked without
anyone adding it to a list; the import contracts in pyproject.toml (``lint-imports``
in CI) check the same rule statically, with the layers and cycles.
"""

import pkgutil
import subprocess
import sys

import pytest

import assist

CORE = sorted(m.name for m in pkgutil.walk_packages(assist.__path__, "assist.")
              if not (m.name == "assist.tui" or m.name.startswith("assist.tui.")
                      or m.name.endswith(".__main__")))


def test_the_walk_finds_the_packages():
    assert {"assist.cli", "assist.call.pipeline", "assist.store.store", "assist.phrases.detector",
            "assist.kb.search", "assist.painpoints.tracker"} <= set(CORE)


# one fresh interpreter per top-level part (all its modules), not one per module: same check
PARTS = sorted({".".join(m.split(".")[:2]) for m in CORE})


@pytest.mark.parametrize("part", PARTS)
def test_core_module_does_not_import_textual(part):
    modules = [m for m in CORE if m == part or m.startswith(part + ".")]
    code = (f"import sys, {', '.join(modules)}; "
            "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", modules


def test_help_is_instant_without_heavy_imports():
    code = ("import sys; from click.testing import CliRunner; from assist.cli import main; "
            "CliRunner().invoke(main, ['--help']); "
            "print(sorted(m for m in ('torch','faster_whisper','sentence_transformers','ctranslate2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
