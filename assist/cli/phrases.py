"""`assist phrases`: check text against the banned-phrase packs, lint packs, list phrases.

A thin Click front over ``assist.phrases``; library errors become one-line
``ClickException`` messages, never tracebacks.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from ..events import AGENT, CUSTOMER, Flag
from .edge import AssistGroup
from .options import db_option, phrases_option
from .stdin import json_line, stdin_lines


def _detector(phrases_dir: Path | None, semantic: bool):
    from ..phrases import PhraseDetector

    return PhraseDetector(phrases_dir, semantic=semantic)


def _flag_json(flag: Flag) -> dict[str, Any]:
    """Exactly the keys of the `assist phrases check --jsonl` contract."""
    return {
        "phrase": flag.phrase, "speaker": flag.speaker, "text": flag.text,
        "start": round(flag.start, 3), "end": round(flag.end, 3), "severity": flag.severity,
        "suggestion": flag.suggestion, "matcher": flag.matcher,
    }


def _table(rows: list[list[str]], headers: list[str], widths: list[int]) -> str:
    """Columns by terminal cells, not characters: a Chinese character takes two."""
    from rich.cells import cell_len, set_cell_size

    def cell(value: str, width: int) -> str:
        if cell_len(value) <= width:
            return set_cell_size(value, width)
        return set_cell_size(set_cell_size(value, width - 1) + "…", width)

    lines = ["  ".join(cell(h, w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(cell(c, w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    return "\n".join(lines)


no_semantic_option = click.option(
    "--no-semantic", is_flag=True, help="Exact and fuzzy matchers only: no embedding model is loaded.")


@click.group(cls=AssistGroup, name="phrases", help="Banned phrases: check text, lint phrase packs, list phrases.")
def phrases() -> None:
    pass


@phrases.command(help="Check TEXT (or JSON lines on stdin with --jsonl) for banned phrases.")
@click.argument("text", required=False)
@click.option("--speaker", type=click.Choice([AGENT, CUSTOMER]), default=AGENT, show_default=True,
              help="Who said TEXT; customer speech never flags agent phrases.")
@click.option("--jsonl", is_flag=True,
              help='Read {"speaker": .., "text": ..} lines on stdin; print one '
                   '{"text": .., "flags": [..]} line per input line, in order.')
@phrases_option
@no_semantic_option
def check(text: str | None, speaker: str, jsonl: bool, phrases_dir: Path | None,
          no_semantic: bool) -> None:
    if jsonl and text is not None:
        raise click.UsageError("give TEXT or --jsonl, not both")
    if not jsonl and text is None:
        raise click.UsageError("give TEXT to check, or --jsonl to read JSON lines on stdin")
    detector = _detector(phrases_dir, not no_semantic)
    if jsonl:
        _check_jsonl(detector, stdin_lines(), speaker)
    else:
        assert text is not None  # without --jsonl, a missing TEXT was a usage error above
        _check_text(detector, text, speaker)


def _check_text(detector, text: str, speaker: str) -> None:
    flags = detector.check(text, speaker)
    if not flags:
        click.echo("no banned phrases")
        return
    rows = [[f.phrase, f.severity, f.matcher, f.text, f.suggestion] for f in flags]
    click.echo(_table(rows, ["phrase", "severity", "matcher", "heard", "say instead"],
                      [20, 8, 8, 30, 60]))


def _check_jsonl(detector, lines: Iterable[tuple[int, str | None, str | None]],
                 default_speaker: str) -> None:
    for number, line, problem in lines:
        if line is None:
            raise click.ClickException(f"stdin line {number}: {problem}")
        speaker, text = _parse_line(line, number, default_speaker)
        flags = detector.check(text, speaker) if text.strip() else []
        out = {"text": text, "flags": [_flag_json(f) for f in flags]}
        click.echo(json.dumps(out, ensure_ascii=False))
        sys.stdout.flush()  # a live consumer reads each answer before sending the next line


def _parse_line(line: str, number: int, default_speaker: str) -> tuple[str, str]:
    if not line.strip():
        return default_speaker, ""  # still one output line per input line
    data, problem = json_line(line)
    if problem:
        raise click.ClickException(f"stdin line {number}: {problem}")
    if not isinstance(data, dict):
        raise click.ClickException(f"stdin line {number}: expected a JSON object")
    text, speaker = data.get("text"), data.get("speaker", default_speaker)
    if not isinstance(text, str):
        raise click.ClickException(f"stdin line {number}: 'text' must be a string")
    if speaker not in (AGENT, CUSTOMER):
        raise click.ClickException(
            f"stdin line {number}: 'speaker' must be '{AGENT}' or '{CUSTOMER}', not {speaker!r}")
    return speaker, text


@phrases.command(help="Validate phrase packs: format, unknown keys, duplicate ids, patterns "
                      "that match none of their examples, 'not' lines that would be flagged. "
                      "Prints file:line: message per problem; exits 1 if there is any.")
@phrases_option
def lint(phrases_dir: Path | None) -> None:
    from ..phrases import lint as lint_packs
    from ..phrases import pack_files

    report_lint(lint_packs(phrases_dir), pack_files(phrases_dir))


def report_lint(problems: list, files: list[Path]) -> None:
    """Print each problem as file:line: message; exit 1 if there is any."""
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len(files)} pack(s)", err=True)
        raise SystemExit(1)
    click.echo(f"ok: {len(files)} pack(s)")


@phrases.command(name="list", help="List the phrases of every pack: id, severity, speaker, "
                                   "how many patterns and examples, the first better wording.")
@phrases_option
def list_phrases(phrases_dir: Path | None) -> None:
    from ..phrases import load_packs

    packs = load_packs(phrases_dir)
    rows = [
        [pack.language, e.id, e.severity, e.speaker, str(len(e.patterns)), str(len(e.examples)),
         e.say_instead[0]]
        for pack in packs for e in pack.entries
    ]
    click.echo(_table(rows, ["lang", "phrase", "severity", "speaker", "patterns", "examples",
                             "say instead"], [4, 20, 8, 8, 8, 8, 60]))


@phrases.command(help="Turn coaches' false-alarm verdicts into 'allow' lines of their phrases "
                      "(the learned part of a phrase's 'not' examples): an utterance containing "
                      "one no longer raises that phrase.")
@db_option
@click.option("--phrase", "phrase_id", metavar="ID", help="Only this phrase.")
@click.option("--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@phrases_option
def learn(db: str | None, phrase_id: str | None, dry_run: bool, phrases_dir: Path | None) -> None:
    from ..config import writable_content
    from ..phrases import add_allow_lines
    from ..review import false_alarms
    from ..store import open_for

    if not dry_run:  # refused before anything is read
        phrases_dir = writable_content(phrases_dir, "phrases")
    store = open_for(db, write=False)
    try:
        alarms = false_alarms(store, phrase=phrase_id)
    finally:
        store.close()
    by_phrase: dict[str, list[str]] = {}
    for alarm in alarms:
        line = alarm.utterance or alarm.text
        if line:
            by_phrase.setdefault(alarm.phrase, []).append(line)
    if not by_phrase:
        click.echo("no false alarms to learn from")
        return
    for pid, lines in sorted(by_phrase.items()):
        if dry_run:
            for line in lines:
                click.echo(f"{pid}: would allow {line!r}")
            continue
        path, added = add_allow_lines(phrases_dir, pid, lines)
        click.echo(f"{pid}: {added} new 'allow' line(s) in {path}")


@phrases.command(help="What-if on stored calls: re-run their transcripts against the current "
                      "packs and print the flags that would appear (+) and disappear (-) "
                      "compared with the flags stored at the time. Nothing is written.")
@db_option
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Only calls started on or after this day.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True,
              help="At most this many calls, newest first.")
@click.option("--jsonl", is_flag=True,
              help='One {"change": "+"|"-", "call", "utterance", "phrase", "text", "matcher", '
                   '"confidence", "said"} line per changed flag.')
@phrases_option
@no_semantic_option
def replay(db: str | None, since, limit: int, jsonl: bool, phrases_dir: Path | None,
           no_semantic: bool) -> None:
    from dataclasses import asdict

    from ..phrases.whatif import replay_stored
    from ..store import open_for

    store = open_for(db, write=False)  # an unreachable store fails here, in one line
    try:
        detector = _detector(phrases_dir, not no_semantic)
        changes = []
        for change in replay_stored(store, detector, since=since, limit=limit):
            if jsonl:
                click.echo(json.dumps(asdict(change), ensure_ascii=False))
            changes.append(change)
    finally:
        store.close()
    if jsonl:
        return
    if not changes:
        click.echo("no change: the current packs raise exactly the stored flags")
        return
    rows = [[c.change, c.call, str(c.utterance), c.phrase, c.matcher,
             "" if c.confidence is None else f"{c.confidence:.2f}", c.said] for c in changes]
    click.echo(_table(rows, ["", "call", "utt", "phrase", "matcher", "conf", "said"],
                      [1, 12, 4, 20, 8, 5, 60]))
    added = sum(c.change == "+" for c in changes)
    click.echo(f"{added} would appear, {len(changes) - added} would disappear")
