"""KB articles: Markdown with YAML front matter, parsed and written."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import AssistError

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while texts are being embedded."""

MIN_QUESTIONS = 5
REQUIRED_KEYS = ("id", "title", "questions")
KNOWN_KEYS = ("id", "title", "tags", "questions", "language", "updated")
SKIPPED_FILES = {"readme.md"}
SNIPPET_CHARS = 320  # a suggestion card's first steps; a longer first passage ends at a sentence
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)


@dataclass
class Article:
    """One knowledge-base article.

    Attributes:
        id: stable slug used in events and URLs (``card-arrival``).
        title: what the agent sees.
        questions: how customers actually ask it; the main retrieval signal.
        body: the answer for the agent (Markdown), short steps first.
        tags, language, updated: editorial metadata.
        path: the file it came from (None for in-memory articles).
        extra: front-matter keys this version does not know; kept on rewrite.
        lines: file line of each front-matter key, for lint messages.
    """

    id: str
    title: str
    questions: list[str] = field(default_factory=list)
    body: str = ""
    tags: list[str] = field(default_factory=list)
    language: str = "en"
    updated: dt.date | None = None
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def passages(self) -> list[str]:
        """Body split into plain-text passages (a heading stays with its paragraph)."""
        return list(_passages(self.body))

    @property
    def snippet(self) -> str:
        """The first passage, which by the format is the short answer or first steps: whole
        up to ``SNIPPET_CHARS``, else its sentences that fit."""
        parts = self.passages()
        return _shorten(parts[0], SNIPPET_CHARS) if parts else ""

    def where(self, key: str = "id") -> str:
        """``file:line`` of a front-matter key, for messages."""
        return f"{self.path}:{self.lines.get(key, 1)}" if self.path else self.id


def _err(path: Path, line: int, message: str) -> AssistError:
    return AssistError(f"{path}:{line}: {message}")


def parse_article(path: Path, text: str | None = None) -> Article:
    """Read one article; any front-matter problem raises ``AssistError("file:line: ...")``."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise _err(path, 1, "not UTF-8 text") from None
        except OSError as exc:
            raise _err(path, 1, f"cannot read: {exc.strerror}") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise _err(path, 1, "missing front matter: the file must start with a '---' line")
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        raise _err(path, 1, "front matter is not closed by a '---' line")
    data, key_lines, item_lines = _load_front_matter(path, "\n".join(lines[1:end]))
    article = _article_from(path, data, key_lines, item_lines)
    article.body = "\n".join(lines[end + 1 :]).strip()
    return article


def _yaml_loader() -> type:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_front_matter(
    path: Path, source: str
) -> tuple[dict[str, Any], dict[str, int], dict[str, list[int]]]:
    """Parse the YAML, keeping the file line of every key and list item.

    The front matter starts on file line 2, so a YAML mark's 0-based line + 2
    is the file line.
    """
    loader = _yaml_loader()(source)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and mark and mark.index >= len(source.rstrip()):
            mark = exc.context_mark  # "unclosed [" is found at the end: point at the opening
        line = min(mark.line + 2, source.count("\n") + 2) if mark else 2
        raise _err(path, line, f"front matter is not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise _err(path, 2, f"front matter is not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if node is None:
        return {}, {}, {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise _err(path, 2, "front matter must be 'key: value' lines")
    key_lines: dict[str, int] = {}
    item_lines: dict[str, list[int]] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        key_lines[key] = key_node.start_mark.line + 2
        if isinstance(value_node, yaml.SequenceNode):
            item_lines[key] = [item.start_mark.line + 2 for item in value_node.value]
    return data, key_lines, item_lines


def _article_from(
    path: Path, data: dict[str, Any], key_lines: dict[str, int], item_lines: dict[str, list[int]]
) -> Article:
    def line(key: str) -> int:
        return key_lines.get(key, 1)

    for key in REQUIRED_KEYS:
        if key not in data:
            raise _err(path, 1, f"front matter has no '{key}'")
    art_id = data["id"]
    if not isinstance(art_id, str) or not _ID_RE.match(art_id):
        raise _err(path, line("id"), f"id {art_id!r} must be a slug: a-z, 0-9 and single '-'")
    title = data["title"]
    if not isinstance(title, str) or not title.strip():
        raise _err(path, line("title"), "title must be non-empty text")
    questions = _text_list(path, data, "questions", key_lines, item_lines)
    tags = _text_list(path, data, "tags", key_lines, item_lines) if "tags" in data else []
    language = data.get("language", "en")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)?", language):
        raise _err(path, line("language"), f"language {language!r} must be a code such as 'en'")
    return Article(
        id=art_id,
        title=title.strip(),
        questions=questions,
        tags=tags,
        language=language,
        updated=_date(path, data.get("updated"), line("updated")),
        path=path,
        extra={k: v for k, v in data.items() if k not in KNOWN_KEYS},
        lines=dict(key_lines),
    )


def _text_list(
    path: Path,
    data: dict[str, Any],
    key: str,
    key_lines: dict[str, int],
    item_lines: dict[str, list[int]],
) -> list[str]:
    value = data[key]
    if value is None:
        return []
    if not isinstance(value, list):
        raise _err(path, key_lines.get(key, 1), f"'{key}' must be a list ('- item' lines)")
    out = []
    for i, item in enumerate(value):
        # YAML turns bare yes/no/12 into bool/int: make the editor quote them
        # rather than silently index "True".
        if not isinstance(item, str) or not item.strip():
            lines = item_lines.get(key, [])
            where = lines[i] if i < len(lines) else key_lines.get(key, 1)
            raise _err(path, where, f"'{key}' item {item!r} must be text (quote it)")
        out.append(" ".join(item.split()))
    return out


def _date(path: Path, value: Any, line: int) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _err(path, line, f"updated {value!r} must be a date like 2025-01-31") from None


def render_article(article: Article) -> str:
    """The file text of an article: front matter in the canonical key order, then the body."""
    front: dict[str, Any] = {
        "id": article.id,
        "title": article.title,
        "tags": list(article.tags),
        "questions": list(article.questions),
        "language": article.language,
        "updated": article.updated or dt.date.today(),
    }
    front.update(article.extra)
    text = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{text}---\n\n{article.body.strip()}\n"


def article_files(kb_dir: Path) -> list[Path]:
    """The article files of a KB folder (README.md and ``_*.md`` are not articles)."""
    kb_dir = Path(kb_dir)
    if not kb_dir.is_dir():
        raise AssistError(f"knowledge base folder not found: {kb_dir}")
    return sorted(
        p
        for p in kb_dir.rglob("*.md")
        if p.name.lower() not in SKIPPED_FILES and not p.name.startswith(("_", "."))
    )


def scan_articles(kb_dir: Path) -> tuple[list[Article], list[AssistError]]:
    """Parse every article, collecting errors instead of stopping at the first (for lint)."""
    articles, errors = [], []
    for path in article_files(kb_dir):
        try:
            articles.append(parse_article(path))
        except AssistError as exc:
            errors.append(exc)
    return articles, errors


def load_articles(kb_dir: Path) -> list[Article]:
    """Parse every article; the first bad file or a duplicate id raises ``AssistError``."""
    articles, errors = scan_articles(kb_dir)
    if errors:
        more = f" (and {len(errors) - 1} more; run 'assist kb lint')" if len(errors) > 1 else ""
        raise AssistError(f"{errors[0]}{more}")
    seen: dict[str, Article] = {}
    for art in articles:
        if art.id in seen:
            raise AssistError(f"{art.where()}: duplicate id '{art.id}' (also in {seen[art.id].path})")
        seen[art.id] = art
    return articles


def slugify(text: str) -> str:
    """Lower case; each run of characters other than a-z0-9 becomes '-'; trimmed of '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def readable_title(topic: str) -> str:
    """``card_arrival`` -> ``Card arrival``: separators become spaces, first letter upper."""
    words = " ".join(re.sub(r"[_\-]+", " ", topic).split())
    return words[:1].upper() + words[1:]


def _plain(markdown: str) -> str:
    """Markdown to plain text good enough for embedding and BM25."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)  # links keep their text
    text = re.sub(r"^\s{0,3}(#{1,6}|[-*+]|\d+[.)]|>)\s+", "", text, flags=re.M)
    text = re.sub(r"[*_`|]+", "", text)
    return " ".join(text.split())


@functools.lru_cache(maxsize=4096)
def _passages(body: str, max_words: int = 80) -> tuple[str, ...]:
    """Paragraphs of the body, a heading joined to what follows, long ones split."""
    body = _COMMENT_RE.sub("", body)
    out: list[str] = []
    pending = ""
    for block in re.split(r"\n\s*\n", body):
        text = _plain(block)
        if not text:
            continue
        if re.match(r"^\s{0,3}#{1,6}\s", block) and len(block.strip().splitlines()) == 1:
            pending = f"{pending} {text}".strip()  # a lone heading: keep it for the next block
            continue
        words = f"{pending} {text}".split()
        pending = ""
        out.extend(" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words))
    if pending:
        out.append(pending)
    return tuple(out)


def _shorten(text: str, limit: int) -> str:
    """Whole when it fits, else up to its last sentence that fits, else its last word; "…"
    marks a cut."""
    if len(text) <= limit:
        return text
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", text[: limit - 1])]
    if ends:
        return text[: ends[-1]] + " …"
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"
