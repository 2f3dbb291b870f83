"""Write docs/commands.md: every `assist` command with its help, from the command line
itself, so the page cannot fall behind (tests/cli/test_docs.py checks it is current).

    python scripts/make_commands_doc.py          # rewrite docs/commands.md
    python scripts/make_commands_doc.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import click

DOC = Path(__file__).resolve().parents[1] / "docs" / "commands.md"

HEAD = """# Commands

Every `assist` command and its options, as `--help` prints them (this page is made by
`scripts/make_commands_doc.py`; a test fails when it falls behind the code). The event
stream that `--jsonl` prints is in [events.md](events.md).

Settings resolve the same way for every command: flag > environment (`ASSIST_DB`,
`ASSIST_KB`, `ASSIST_PHRASES`, `ASSIST_CHECKLISTS`, `ASSIST_AGENT`) > the config file
(`assist config show`) > default.
"""


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name in sorted(group.commands):
        command = group.commands[name]
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def render() -> str:
    from assist.cli import main

    parts = [HEAD, "## Contents\n"]
    paths = list(commands(main))
    parts += [f"- [`assist {' '.join(p)}`](#assist-{'-'.join(p)})" for p in paths]
    for path in paths:
        command: click.Command = main
        context = click.Context(main, info_name="assist", terminal_width=88, max_content_width=88,
                                help_option_names=["-h", "--help"])
        for name in path:
            assert isinstance(command, click.Group)
            command = command.commands[name]
            context = click.Context(command, info_name=name, parent=context,
                                    terminal_width=88, max_content_width=88,
                                    help_option_names=["-h", "--help"])
        parts.append(f"\n## assist {' '.join(path)}\n\n```text\n{command.get_help(context)}\n```")
    return "\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/commands.md is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python scripts/make_commands_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
