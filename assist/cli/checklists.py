"""`assist checklists`: the steps a call must take (checklist packs)."""

from __future__ import annotations

from pathlib import Path

import click

from .edge import AssistGroup
from .phrases import _table, report_lint

checklists_option = click.option(
    "--checklists", "checklists_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Folder of checklist packs (*.toml). Default: the shipped checklists/.")


@click.group(cls=AssistGroup, name="checklists",
             help="The steps a call must take: lint checklist packs, list their items.")
def checklists() -> None:
    pass


@checklists.command(help="Validate checklist packs like phrase packs: format, unknown keys, "
                         "timing keys, duplicate ids, patterns that match none of their "
                         "examples, 'not' lines that would match. Prints file:line: message per "
                         "problem; exits 1 if there is any.")
@checklists_option
def lint(checklists_dir: Path | None) -> None:
    from ..conduct import CHECKLISTS
    from ..phrases import lint as lint_packs
    from ..phrases import pack_files

    report_lint(lint_packs(checklists_dir, kind=CHECKLISTS, folder_name="checklists"),
                pack_files(checklists_dir, "checklists"))


@checklists.command(name="list", help="List the items of every checklist pack: id, when it "
                                      "counts, how many patterns and examples, what to say.")
@checklists_option
def list_items(checklists_dir: Path | None) -> None:
    from ..conduct import load_checklists

    rows = []
    for pack in load_checklists(checklists_dir):
        for e in pack.entries:
            x = e.extra
            when = ("trigger" if x.get("trigger") else f"within {x['within']:g} s" if "within" in x
                    else f"in the last {x['by_end']} agent turns" if "by_end" in x
                    else f"asked and answered, before {x['before']}" if "before" in x
                    else "any time")
            rows.append([pack.language, e.id, when, str(len(e.patterns)), str(len(e.examples)),
                         e.say_instead[0]])
    click.echo(_table(rows, ["lang", "item", "counts", "patterns", "examples", "say"],
                      [4, 16, 34, 8, 8, 60]))
