"""``assist kb``: browse, search, import, lint, new and stats for knowledge-base editors.

A thin front over ``assist.kb``: library errors (``AssistError``) become a
one-line ``ClickException``; long work reports progress on stderr.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from ..kb import COMPETING_COSINE, MIN_QUESTIONS
from .edge import AssistGroup
from .options import db_option, kb_option


def _kb_dir(path: Path | None) -> Path:
    from ..resources import shipped

    return Path(path) if path else shipped("kb")


class _StderrProgress:
    """Embedding progress on stderr, only when there is enough work to wait for."""

    def __init__(self, what: str, min_total: int = 200) -> None:
        self.what = what
        self.min_total = min_total
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total < self.min_total:
            return
        if not self.shown:
            click.echo(f"embedding {total} texts of {self.what} (cached for next time)...", err=True)
            self.shown = True
        rate = done / max(time.monotonic() - self.started, 1e-6)
        end = "\n" if done >= total else "\r"
        click.echo(f"  {done}/{total} ({rate:.0f}/s)", err=True, nl=False)
        click.echo(end, err=True, nl=False)


def open_kb(kb_dir: Path | None) -> Any:
    """The KB folder (default: the shipped one) as every command searches it."""
    from ..kb import KnowledgeBase

    folder = _kb_dir(kb_dir)
    return KnowledgeBase.open(folder, progress=_StderrProgress(str(folder)))


@click.group(cls=AssistGroup, name="kb")
def kb() -> None:
    """Knowledge base: find articles, import seed questions, check and grow the KB."""


@kb.command()
@kb_option
@db_option
def browse(kb_dir: Path | None, db: str | None) -> None:
    """Open the knowledge-base screen: search and read articles, see the gaps (recurring
    problems without a good article), open an article in $EDITOR.

    Keys are in the footer; r switches to the review screen, q quits.
    """
    from ..tui import StoreHandle, run_back_office

    folder = _kb_dir(kb_dir)
    if not folder.is_dir():
        raise click.ClickException(f"no knowledge base folder at {folder}")
    run_back_office("kb", StoreHandle(db), folder)


@kb.command()
@click.argument("question", required=False)
@click.option("--top", default=3, show_default=True, type=click.IntRange(1, 50),
              help="How many articles to show per question.")
@click.option("--jsonl", is_flag=True,
              help='Read {"text": ...} lines on stdin; print one JSON result line per input line.')
@kb_option
def search(question: str | None, top: int, jsonl: bool, kb_dir: Path | None) -> None:
    """Find the articles that answer QUESTION (a table), or answer JSON lines with --jsonl.

    Scores are confidences in [0, 1]; below the threshold the live advisor
    shows nothing (marked '-' in the table).
    """
    if jsonl == bool(question):
        raise click.UsageError("give a QUESTION, or --jsonl to read questions from stdin")
    base = open_kb(kb_dir)
    if jsonl:
        _search_jsonl(base, top)
        return
    results = base.search(question, top)
    _print_results(results, base.threshold)


def _search_jsonl(base: Any, top: int) -> None:
    """One output line per input line, in order; bad lines get an empty result and an error
    naming the line."""
    from .stdin import stdin_lines

    for number, line, problem in stdin_lines():
        text, error = _text_of(line) if line is not None else (None, problem)
        results = base.search(text, top) if text else []
        out: dict[str, Any] = {"text": text, "results": [r.to_dict() for r in results]}
        if error:
            out["error"] = f"stdin line {number}: {error}"
        click.echo(json.dumps(out, ensure_ascii=False))
        sys.stdout.flush()


def _text_of(line: str) -> tuple[str | None, str | None]:
    from .stdin import json_line

    if not line.strip():
        return "", None
    data, problem = json_line(line)
    if problem:
        return None, problem
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None, 'expected an object with a "text" string'
    return data["text"], None


def _print_results(results: list[Any], threshold: float) -> None:
    if not results:
        click.echo("no articles")
        return
    rows = [("score", "", "article", "title")]
    for r in results:
        rows.append((f"{r.score:.2f}", "*" if r.score >= threshold else "-", r.article, r.title))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    best = results[0]
    if best.score >= threshold and best.snippet:
        click.echo(f"\n{best.snippet}")
    elif best.score < threshold:
        click.echo(f"\nno suggestion: best score {best.score:.2f} < threshold {threshold:.2f}")


@kb.command(name="import")
@click.argument("csv_file", type=click.Path(path_type=Path, dir_okay=False))
@kb_option
@click.option("--question-column", "-q", required=True, help="CSV column with the customer's words.")
@click.option("--topic-column", "-t", required=True, help="CSV column with the topic / intent.")
@click.option("--per-topic", type=click.IntRange(min=1), default=None,
              help="Take only the first N questions of each topic.")
def import_(csv_file: Path, kb_dir: Path | None, question_column: str, topic_column: str,
            per_topic: int | None) -> None:
    """Create or update one article per topic of CSV_FILE, merging its questions in, in the
    team's KB folder (see 'assist init'; never the installed package's).

    The article id is the topic's slug (card_arrival -> card-arrival), the
    title the readable topic (Card arrival).  Existing titles and bodies are
    kept and questions are never duplicated, so importing again is harmless.
    """
    from ..config import writable_content
    from ..kb import import_csv

    kb_dir = writable_content(kb_dir, "kb")
    report = import_csv(csv_file, kb_dir, question_column, topic_column, per_topic)
    click.echo(
        f"{len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged; {report.questions_added} questions added in {kb_dir}"
    )


@kb.command()
@kb_option
@click.option("--min-questions", default=MIN_QUESTIONS, show_default=True,
              type=click.IntRange(min=1), help="Fewer questions than this is an error.")
@click.option("--similar", default=COMPETING_COSINE, show_default=True, type=click.FloatRange(0, 1),
              help="Question-centroid cosine above which two articles compete.")
def lint(kb_dir: Path | None, min_questions: int, similar: float) -> None:
    """Check the KB: front matter, duplicate ids, too few questions, competing articles.

    Prints one 'file:line: level: message' per finding; exits 1 if any is an error.
    """
    from ..kb import lint_kb

    folder = _kb_dir(kb_dir)
    issues = lint_kb(folder, min_questions=min_questions, competing_cosine=similar,
                  progress=_StderrProgress(str(folder)))
    for issue in issues:
        click.echo(str(issue))
    errors = sum(i.level == "error" for i in issues)
    warnings = len(issues) - errors
    click.echo(f"{folder}: {errors} errors, {warnings} warnings", err=True)
    if errors:
        sys.exit(1)


@kb.command()
@click.argument("title", required=False)
@kb_option
@click.option("--from-painpoint", "painpoint", metavar="ID",
              help="Pre-fill the article from a pain point (see 'assist kb gaps'): its label "
                   "is the title unless TITLE is given, its most central problem statements "
                   "the questions.")
@db_option
def new(title: str | None, kb_dir: Path | None, painpoint: str | None, db: str | None) -> None:
    """Write a template article for TITLE (id = slug of the title) in the team's KB folder
    (see 'assist init'); never overwrites, never writes into the installed package."""
    from ..config import writable_content
    from ..kb import new_article

    folder = writable_content(kb_dir, "kb")
    questions: list[str] = []
    if painpoint:
        from ..painpoints import painpoint_article_draft
        from ..store import open_for

        with open_for(db, write=False) as store:
            drafted, questions = painpoint_article_draft(store, painpoint)
        title = title or drafted
    if not title:
        raise click.UsageError("give a TITLE, or --from-painpoint ID")
    path = new_article(folder, title, questions=questions)
    seeded = f" with {len(questions)} questions from pain point {painpoint}" if painpoint else ""
    click.echo(f"wrote {path}{seeded}")


@kb.command()
@kb_option
def stats(kb_dir: Path | None) -> None:
    """Size and health of the KB: articles, questions per article, tags, dates."""
    from ..kb import kb_stats

    s = kb_stats(_kb_dir(kb_dir))
    rows = [
        ("folder", str(s.folder)),
        ("articles", str(s.articles)),
        ("questions", f"{s.questions} (per article: min {s.min_questions}, "
                      f"median {s.median_questions:g}, max {s.max_questions})"),
        (f"< {MIN_QUESTIONS} questions", _list(s.few_questions)),
        ("no answer text", _list(s.empty_bodies)),
        ("languages", ", ".join(f"{k} {v}" for k, v in s.languages.items()) or "-"),
        ("tags", ", ".join(f"{k} {v}" for k, v in list(s.tags.items())[:12]) or "-"),
        ("oldest update", f"{s.oldest[1]} ({s.oldest[0]})" if s.oldest else "-"),
        ("newest update", f"{s.newest[1]} ({s.newest[0]})" if s.newest else "-"),
        ("tuned model", _tuned_state(s.folder, s.questions_hash)),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key.ljust(width)}  {value}")


def _list(ids: list[str], limit: int = 8) -> str:
    if not ids:
        return "none"
    more = f" (+{len(ids) - limit} more)" if len(ids) > limit else ""
    return f"{len(ids)}: " + ", ".join(ids[:limit]) + more


def _tuned_state(folder: Path, questions_hash: str) -> str:
    from ..kb import find_tuned

    tuned = find_tuned(folder)
    if tuned is None:
        return "none (assist kb tune adapts the embedder to this KB)"
    state = "out of date: run assist kb tune" if tuned.questions_hash != questions_hash else "up to date"
    return f"{state} (tuned {tuned.created} on {tuned.questions} questions)"


@kb.command()
@kb_option
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1, 20),
              help="Passes over the questions.")
@click.option("--max-per-article", default=10, show_default=True, type=click.IntRange(2),
              help="Questions per article and pass at most (bounds the time on large KBs).")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="CPU threads for training (default: all cores).")
@click.option("--remove", is_flag=True, help="Delete the tuned model; searches use the base model again.")
def tune(kb_dir: Path | None, epochs: int, max_per_article: int, threads: int | None,
         remove: bool) -> None:
    """Adapt the sentence embedder to this KB's questions (a few minutes on a laptop CPU).

    Fine-tunes a copy of the embedding model so that the questions of one
    article lie together and apart from other articles'; searches and the live
    advisor on this KB folder use it from then on.  Run it again after editing
    questions ('assist kb stats' says when it is out of date).
    """
    from ..kb import TuneOptions, forget_tuned, tune_kb

    folder = _kb_dir(kb_dir)
    if remove:
        gone = forget_tuned(folder)
        click.echo(f"removed the tuned model of {folder}" if gone else f"{folder} has no tuned model")
        return
    if not folder.is_dir():
        raise click.ClickException(f"no knowledge base folder at {folder}")
    options = TuneOptions(epochs=epochs, max_per_article=max_per_article, threads=threads)
    progress = _StepProgress()
    tuned = tune_kb(folder, options, progress=progress)
    open_kb(folder)  # embed the KB with the tuned model now, so the next search is quick
    click.echo(f"tuned on {tuned.questions} questions of {tuned.articles} articles in "
               f"{tuned.seconds:.0f} s; saved to {tuned.path}")


class _StepProgress:
    """Training progress on stderr: step, total and time left."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, step: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        left = elapsed / max(step, 1) * (total - step)
        end = "\n" if step >= total else "\r"
        click.echo(f"  training step {step}/{total}, about {left:.0f} s left   ", err=True, nl=False)
        click.echo(end, err=True, nl=False)
