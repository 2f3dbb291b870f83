"""Editor tools: import, new article, lint, stats."""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AssistError
from .articles import (
    MIN_QUESTIONS,
    Article,
    article_files,
    load_articles,
    parse_article,
    readable_title,
    render_article,
    scan_articles,
    slugify,
)
from .cache import cache_path_for, questions_hash
from .lexical import _fold
from .search import KnowledgeBase

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..call import Embedder
    from .articles import Progress


TEMPLATE_BODY = """<!--
Write the answer for the agent here (this comment is not indexed). Short steps first:

## Steps
1. First thing to check or do.
2. Next step.

## Good to know
- Limits, fees, timings; when to escalate.
-->
"""


def _question_key(question: str) -> str:
    return " ".join(_fold(question).split()).rstrip("?.! ")


@dataclass
class ImportReport:
    """What ``import_csv`` did."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    questions_added: int = 0


def read_topic_questions(
    csv_path: Path, question_column: str, topic_column: str, per_topic: int | None = None
) -> dict[str, list[str]]:
    """Questions per topic value in file order, de-duplicated, the first ``per_topic`` of each."""
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            for col in (question_column, topic_column):
                if col not in columns:
                    raise AssistError(
                        f"{csv_path}: no column '{col}' (columns: {', '.join(columns) or 'none'})"
                    )
            topics: dict[str, list[str]] = {}
            seen: dict[str, set[str]] = {}
            for row in reader:
                topic = (row.get(topic_column) or "").strip()
                question = " ".join((row.get(question_column) or "").split())
                if not topic or not question:
                    continue
                qs = topics.setdefault(topic, [])
                key = _question_key(question)
                if key in seen.setdefault(topic, set()):
                    continue
                if per_topic is None or len(qs) < per_topic:
                    qs.append(question)
                    seen[topic].add(key)
    except OSError as exc:
        raise AssistError(f"cannot read {csv_path}: {exc.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise AssistError(f"{csv_path}: not a readable UTF-8 CSV file ({exc})") from None
    return topics


def import_csv(
    csv_path: Path,
    kb_dir: Path,
    question_column: str,
    topic_column: str,
    per_topic: int | None = None,
    today: dt.date | None = None,
) -> ImportReport:
    """Create or update one article per topic (id = slug of the topic), merging questions in.

    Existing titles, bodies and metadata are kept; a file is rewritten only
    when it gains questions, so importing twice changes nothing.
    """
    if per_topic is not None and per_topic < 1:
        raise AssistError("--per-topic must be at least 1")
    topics = read_topic_questions(Path(csv_path), question_column, topic_column, per_topic)
    kb_dir = Path(kb_dir)
    kb_dir.mkdir(parents=True, exist_ok=True)
    existing = {a.id: a for a in load_articles(kb_dir)}
    status: dict[str, str] = {}
    added_total = 0
    for topic, questions in topics.items():
        art_id = slugify(topic)
        if not art_id:
            raise AssistError(f"topic {topic!r} has no letters or digits to make an id from")
        art = existing.get(art_id)
        if art is None:
            path = kb_dir / f"{art_id}.md"
            art = Article(id=art_id, title=readable_title(topic), body=TEMPLATE_BODY,
                          tags=["imported"], updated=today or dt.date.today(), path=path)
            if path.exists():
                raise AssistError(f"{path} exists but does not hold article '{art_id}'")
            existing[art_id] = art
            status[art_id] = "created"
        added = _merge_questions(art, questions)
        added_total += added
        if added and status.get(art_id) != "created":
            status[art_id] = "updated"
            art.updated = today or dt.date.today()
        status.setdefault(art_id, "unchanged")
    for art_id, state in status.items():
        if state != "unchanged":
            changed = existing[art_id]
            assert changed.path is not None  # parsed from a file in kb_dir, or made with one above
            changed.path.write_text(render_article(changed), encoding="utf-8")
    return ImportReport(
        created=[i for i, st in status.items() if st == "created"],
        updated=[i for i, st in status.items() if st == "updated"],
        unchanged=[i for i, st in status.items() if st == "unchanged"],
        questions_added=added_total,
    )


def _merge_questions(article: Article, questions: list[str]) -> int:
    have = {_question_key(q) for q in article.questions}
    added = 0
    for q in questions:
        key = _question_key(q)
        if key not in have:
            article.questions.append(q)
            have.add(key)
            added += 1
    return added


def new_article(kb_dir: Path, title: str, today: dt.date | None = None,
                questions: Sequence[str] = ()) -> Path:
    """Write a template article for ``title`` (with seed ``questions``, e.g. a pain point's
    problem statements); never overwrites."""
    title = " ".join(title.split())
    art_id = slugify(title)
    if not art_id:
        raise AssistError("the title needs letters or digits to make an id from")
    kb_dir = Path(kb_dir)
    kb_dir.mkdir(parents=True, exist_ok=True)
    path = kb_dir / f"{art_id}.md"
    if path.exists():
        raise AssistError(f"{path} already exists")
    for other in article_files(kb_dir):
        try:
            other_id = parse_article(other).id
        except AssistError:
            continue  # a broken file is lint's business, not a reason to refuse
        if other_id == art_id:
            raise AssistError(f"article id '{art_id}' already exists in {other}")
    art = Article(id=art_id, title=title, body=TEMPLATE_BODY, tags=[],
                  questions=[" ".join(q.split()) for q in questions if q.strip()],
                  updated=today or dt.date.today())
    text = render_article(art).replace(
        "questions: []", f"questions: []  # add at least {MIN_QUESTIONS} ways customers ask this"
    )
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class LintIssue:
    """One finding of ``lint_kb``; ``where`` is ``file:line``."""

    where: str
    level: str  # "error" or "warning"
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.message} [{self.code}]"


COMPETING_COSINE = 0.85
"""Question centroids closer than this compete: the advisor flips between them.

On banking77 (10 questions per intent) exactly the four pairs people confuse
pass 0.85 (verify identity / unable to verify, top-up failed / reverted, card
arrival / delivery estimate, the two wrong-exchange-rate intents); the
shipped KB's closest pair is at 0.84."""


def lint_kb(
    kb_dir: Path,
    embedder: Embedder | None = None,
    min_questions: int = MIN_QUESTIONS,
    competing_cosine: float = COMPETING_COSINE,
    progress: Progress | None = None,
) -> list[LintIssue]:
    """Every problem in a KB folder: front matter, duplicate ids and questions, too few
    questions, competing articles (errors); id/file name mismatch and empty bodies (warnings)."""
    articles, errors = scan_articles(kb_dir)
    issues = [_issue_from_error(e) for e in errors]
    unique: list[Article] = []
    first: dict[str, Article] = {}
    for art in articles:
        issues.extend(_article_issues(art, min_questions))
        if art.id in first:
            issues.append(LintIssue(art.where("id"), "error", "duplicate-id",
                                    f"id '{art.id}' is also used by {first[art.id].path}"))
        else:
            first[art.id] = art
            unique.append(art)
    issues.extend(_shared_questions(unique))
    if len(unique) > 1:
        kb = KnowledgeBase(unique, embedder=embedder, progress=progress,
                           cache_path=cache_path_for(Path(kb_dir), embedder))
        issues.extend(_competing(kb, competing_cosine))
    return issues


def _issue_from_error(exc: AssistError) -> LintIssue:
    m = re.match(r"^(.*?:\d+): (.*)$", str(exc), re.S)
    where, message = (m.group(1), m.group(2)) if m else ("?", str(exc))
    return LintIssue(where, "error", "front-matter", message)


def _article_issues(art: Article, min_questions: int) -> list[LintIssue]:
    issues = []
    if len(art.questions) < min_questions:
        issues.append(LintIssue(art.where("questions"), "error", "few-questions",
                                f"'{art.id}' has {len(art.questions)} questions; "
                                f"give at least {min_questions} ways customers ask it"))
    keys = [_question_key(q) for q in art.questions]
    if len(set(keys)) != len(keys):
        issues.append(LintIssue(art.where("questions"), "warning", "repeated-question",
                                f"'{art.id}' lists the same question twice"))
    if art.path and art.path.stem != art.id:
        issues.append(LintIssue(art.where("id"), "warning", "file-name",
                                f"id '{art.id}' differs from the file name '{art.path.name}'"))
    if not art.passages():
        issues.append(LintIssue(art.where("id"), "warning", "empty-body",
                                f"'{art.id}' has no answer text yet"))
    return issues


def _shared_questions(articles: list[Article]) -> list[LintIssue]:
    owner: dict[str, Article] = {}
    issues = []
    for art in articles:
        for q in dict.fromkeys(_question_key(q) for q in art.questions):
            other = owner.setdefault(q, art)
            if other is not art:
                issues.append(LintIssue(art.where("questions"), "error", "competing",
                                        f"question '{q}' is in both '{other.id}' and '{art.id}'"))
    return issues


def _competing(kb: KnowledgeBase, threshold: float) -> list[LintIssue]:
    cent = kb.question_centroids()
    sims = np.triu(cent @ cent.T, k=1)
    issues = []
    for a, b in zip(*np.nonzero(sims > threshold), strict=True):
        first, second = kb.articles[a], kb.articles[b]
        issues.append(LintIssue(
            second.where("questions"), "error", "competing",
            f"'{second.id}' and '{first.id}' are asked about in nearly the same words "
            f"(cosine {sims[a, b]:.2f}); merge them or make their questions distinct",
        ))
    return issues


@dataclass
class KbStats:
    """Numbers for ``assist kb stats``."""

    folder: Path
    articles: int
    questions: int
    min_questions: int
    median_questions: float
    max_questions: int
    few_questions: list[str]
    empty_bodies: list[str]
    languages: dict[str, int]
    tags: dict[str, int]
    oldest: tuple[str, dt.date] | None
    newest: tuple[str, dt.date] | None
    questions_hash: str


def kb_stats(kb_dir: Path) -> KbStats:
    articles = load_articles(kb_dir)
    counts = [len(a.questions) for a in articles] or [0]
    dated = sorted((a.updated, a.id) for a in articles if a.updated)
    tags: dict[str, int] = {}
    langs: dict[str, int] = {}
    for a in articles:
        langs[a.language] = langs.get(a.language, 0) + 1
        for t in a.tags:
            tags[t] = tags.get(t, 0) + 1
    return KbStats(
        folder=Path(kb_dir),
        articles=len(articles),
        questions=sum(counts),
        min_questions=min(counts),
        median_questions=float(np.median(counts)),
        max_questions=max(counts),
        few_questions=[a.id for a in articles if len(a.questions) < MIN_QUESTIONS],
        empty_bodies=[a.id for a in articles if not a.passages()],
        languages=dict(sorted(langs.items(), key=lambda kv: -kv[1])),
        tags=dict(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))),
        oldest=(dated[0][1], dated[0][0]) if dated else None,
        newest=(dated[-1][1], dated[-1][0]) if dated else None,
        questions_hash=questions_hash(articles),
    )
