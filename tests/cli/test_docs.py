"""The docs cannot fall behind: docs/commands.md is the commands' own help, and README's
table names every command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from assist.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_commands_page_is_current():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_commands_doc.py"),
                          "--check"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_readme_table_names_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = "\n".join(line for line in readme.splitlines() if line.startswith("| `assist"))
    named = set(re.findall(r"`assist ([a-z]+)", table)) | set(re.findall(r"`([a-z]+)`", table))
    assert set(main.commands) - named == set()
