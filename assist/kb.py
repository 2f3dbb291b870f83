"""Knowledge base: Markdown articles, hybrid retrieval, and the live KB advisor.

An article is one Markdown file with YAML front matter (``id``, ``title``,
``tags``, ``questions``, ``language``, ``updated``) and a body written for the
agent.  ``KnowledgeBase`` scores every article for a question by fusing

* dense features (all-MiniLM-L6-v2): best and top-2 question similarity, the
  question centroid, the title, body passages, and the same in a space
  whitened by the within-article scatter of the questions (an LDA metric that
  stretches the directions which separate articles);
* lexical features: BM25 over words (light stemming) and over character
  n-grams (typos, compounds), and BM25 over body passages;

then re-ranks the few best articles with a local LDA fitted on their questions
only, and maps the fused score to a confidence in [0, 1].  One threshold on
that confidence means "no suggestion".  The fusion weights and the calibration
were fitted on a split of banking77 *train* (``python bench/kb.py --tune``).

Embeddings are cached per text by content hash under the user cache folder, so
re-opening a KB embeds nothing, and a changed article only re-embeds its
changed texts.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import hashlib
import os
import re
import sys
import threading
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from .analyzer import Analyzer
from .errors import AssistError
from .events import CUSTOMER, Event, Suggestion, Utterance
from .models import ModelSpec, cache_root
from .resources import shipped

if TYPE_CHECKING:
    from .kb_tune import TunedModel

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while texts are being embedded."""

MIN_QUESTIONS = 5
REQUIRED_KEYS = ("id", "title", "questions")
KNOWN_KEYS = ("id", "title", "tags", "questions", "language", "updated")
SKIPPED_FILES = {"readme.md"}
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)


# --------------------------------------------------------------------------
# Articles: parsing and writing
# --------------------------------------------------------------------------


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
        """The first passage, which by the format is the short answer or first steps."""
        parts = self.passages()
        return _shorten(parts[0], 200) if parts else ""

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
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


# --------------------------------------------------------------------------
# Lexical analysis
# --------------------------------------------------------------------------

_STOPWORDS = frozenset(
    ["a", "an", "the", "i", "i'm", "im", "me", "my", "mine", "we", "our", "you", "your", "he", "she", "it", "its", "they", "them", "their", "this", "that", "these", "those", "is", "am", "are", "was", "were", "be", "been", "being", "do", "does", "did", "doing", "have", "has", "had", "having", "to", "of", "in", "on", "at", "by", "for", "from", "with", "about", "as", "into", "and", "or", "but", "if", "so", "than", "then", "there", "here", "what", "which", "who", "whom", "why", "how", "when", "where", "can", "could", "would", "should", "will", "shall", "may", "might", "must", "just", "please", "hi", "hello", "hey", "thanks", "thank", "ok", "okay", "yes", "no", "not", "any", "some", "all", "up", "out", "over", "again", "very", "too", "also", "get", "got"]
)
_WORD_RE = re.compile(r"[a-z0-9]+")


def _fold(text: str) -> str:
    """Lower case without accents, so 'café' and 'cafe' meet."""
    if text.isascii():
        return text.lower().replace("'", "")
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c)).replace("'", "")


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A light suffix stripper: arrive/arrived/arriving and top/topped meet; no dictionary."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # topped -> top
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def word_tokens(text: str) -> list[str]:
    """Stemmed content words."""
    return [_stem(w) for w in _WORD_RE.findall(_fold(text)) if w not in _STOPWORDS]


def char_tokens(text: str) -> list[str]:
    """Character 3- to 5-grams inside word boundaries: robust to typos and word forms."""
    grams: list[str] = []
    for word in _WORD_RE.findall(_fold(text)):
        grams.extend(_word_grams(word))
    return grams


@functools.lru_cache(maxsize=65536)
def _word_grams(word: str) -> tuple[str, ...]:
    padded = f" {word} "
    return tuple(
        padded[i : i + n] for n in (3, 4, 5) for i in range(max(1, len(padded) - n + 1))
    )


class _Bm25:
    """bm25s over token lists; empty corpora and empty queries score 0."""

    def __init__(self, docs: Sequence[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.n = len(docs)
        self._ret: Any = None
        self._vocab: dict[str, int] = {}
        if any(docs):
            import bm25s

            self._ret = bm25s.BM25(k1=k1, b=b)
            self._ret.index([d or [""] for d in docs], show_progress=False)
            self._vocab = self._ret.vocab_dict

    def scores(self, tokens: list[str]) -> np.ndarray:
        # bm25s fails on an empty query; unknown tokens add nothing anyway.
        tokens = [t for t in tokens if t in self._vocab]
        if not tokens:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._ret.get_scores(tokens), dtype=np.float32)


# --------------------------------------------------------------------------
# Embedding cache
# --------------------------------------------------------------------------


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by content hash of the text, in one ``.npz`` file per KB and model.

    Only texts whose hash is missing are embedded; ``save`` keeps just the texts
    still in use, so the file does not grow with every edit.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        self.embedded = 0  # texts embedded by the last ``embed`` call
        self._dirty = False
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vecs = data["keys"], data["vectors"]
            self.vectors = {k.decode(): v for k, v in zip(keys, vecs, strict=True)}
        except (OSError, ValueError, KeyError):
            self.vectors = {}  # unreadable cache: rebuild it rather than fail

    def embed(
        self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray], progress: Progress | None = None
    ) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.vectors))
        self.embedded = len(missing)
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            # Length order across all chunks: batches of similar length waste
            # no compute on padding.
            missing.sort(key=lambda k: len(by_key[k]))
            todo = [by_key[k] for k in missing]
            step = 256
            for start in range(0, len(todo), step):
                vecs = encode(todo[start : start + step])
                for key, vec in zip(missing[start : start + step], vecs, strict=True):
                    self.vectors[key] = vec.astype(np.float32)
                if progress:
                    progress(min(start + step, len(todo)), len(todo))
            self._dirty = True
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def save(self, keep: Iterable[str]) -> None:
        keep = set(keep)
        if self.path is None or not (self._dirty or keep != set(self.vectors)):
            return
        self.vectors = {k: v for k, v in self.vectors.items() if k in keep}
        keys = np.array(sorted(self.vectors), dtype="S40")
        vecs = np.stack([self.vectors[k.decode()] for k in keys]) if len(keys) else np.zeros((0, 1))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, keys=keys, vectors=vecs.astype(np.float32))
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            pass  # a read-only cache only costs time on the next start


# --------------------------------------------------------------------------
# Retrieval
# --------------------------------------------------------------------------

FEATURES = (
    "qmax", "qtop2", "qcen", "title", "wmax", "wcen", "passage", "bm25w", "bm25c", "bm25p",
)
DENSE = frozenset({"qmax", "qtop2", "qcen", "title", "wmax", "wcen", "passage"})
LEXICAL = frozenset({"bm25w", "bm25c", "bm25p"})

# Fitted with `python bench/kb.py --tune` (listwise softmax on banking77 train:
# first 10 questions per intent as the KB, the rest of train as questions).
# `passage`/`bm25p` cannot be fitted there (imported articles have no body) and
# are set by hand, at about the title's weight.
TUNED_WEIGHTS = {
    "qmax": 3.93, "qtop2": 2.66, "qcen": 2.83, "title": 0.96, "wmax": 2.82, "wcen": 6.06,
    "passage": 1.2, "bm25w": 4.29, "bm25c": 3.74, "bm25p": 1.0,
}

# With a KB-tuned embedder (`assist kb tune`) scores run higher, so the same
# fusion (plus the MLP re-ranker) needs its own calibration, fitted with
# `python bench/kb.py --tune --tuned`; its bias is set so that the
# out-of-domain tuning sentences get no suggestion as often as with the base
# model (0.95).
TUNED_CALIBRATION = (-7.898, 0.551, 0.674)


RERANK_FILE = "kb_rerank_tuned.npz"


@dataclass(frozen=True)
class MlpReranker:
    """A small listwise re-ranker over the fused score's ``depth`` best articles.

    For each candidate it sees every feature, the feature's gap to the best
    candidate's, its z-score among the candidates, the rank and the fused
    score's gap to the best; one tanh layer adds a correction to the fused
    score.  Fitted with a softmax over the candidates (``python bench/kb.py
    --tune --tuned``).  Near-duplicate articles are told apart by how the
    features *relate* (the best question close, the centroid not), which one
    linear weight per feature cannot express.
    """

    w1: np.ndarray  # inputs x hidden
    b1: np.ndarray
    w2: np.ndarray  # hidden
    b2: float
    depth: int = 10

    @classmethod
    def load(cls, path: Path) -> MlpReranker:
        data = np.load(path)
        return cls(data["w1"], data["b1"], data["w2"], float(data["b2"]), int(data["depth"]))

    def save(self, path: Path) -> None:
        np.savez(path, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2, depth=self.depth)

    @staticmethod
    def inputs(feats: np.ndarray, fused: np.ndarray) -> np.ndarray:
        """queries x candidates x features (+ fused score) -> the network's inputs."""
        depth = feats.shape[1]
        sd = feats.std(1, keepdims=True) + 1e-6
        rank = np.broadcast_to(np.arange(depth, dtype=np.float32)[None, :, None] / depth,
                               (len(feats), depth, 1))
        return np.concatenate([
            feats, feats - feats.max(1, keepdims=True), (feats - feats.mean(1, keepdims=True)) / sd,
            rank, (fused - fused.max(1, keepdims=True))[..., None],
        ], axis=-1).astype(np.float32)

    def correction(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x @ self.w1 + self.b1) @ self.w2 + self.b2

    @classmethod
    def candidates(
        cls, fused: np.ndarray, feats: dict[str, np.ndarray], depth: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each query's ``depth`` best articles by the fused score, and the network's inputs for them."""
        top = np.argsort(-fused, axis=1, kind="stable")[:, :depth]
        rows = np.arange(len(fused))[:, None]
        stacked = np.stack([feats[name][rows, top] for name in FEATURES], axis=-1)
        return top, cls.inputs(stacked, fused[rows, top])

    def apply(self, fused: np.ndarray, feats: dict[str, np.ndarray]) -> None:
        """Re-score each query's best candidates in place (the best score never rises)."""
        depth = min(self.depth, fused.shape[1])
        if depth < 2:
            return
        top, x = self.candidates(fused, feats, depth)
        delta = self.correction(x)
        fused[np.arange(len(fused))[:, None], top] += delta - delta.max(1, keepdims=True)


@functools.lru_cache(maxsize=1)
def tuned_reranker() -> MlpReranker | None:
    """The re-ranker fitted for KB-tuned embedders (None if the package lacks it)."""
    path = Path(__file__).with_name("data") / RERANK_FILE
    return MlpReranker.load(path) if path.exists() else None


def tuned_options() -> RetrievalOptions:
    """Retrieval options for a KB whose embedder was tuned on it."""
    return RetrievalOptions(calibration=TUNED_CALIBRATION, reranker=tuned_reranker())


@dataclass
class RetrievalOptions:
    """How articles are scored.

    Attributes:
        weights: linear fusion weight of each feature in ``FEATURES``.
        lda_shrinkage: shrinkage of the within-article scatter towards a
            multiple of the identity for the whitened (LDA) space.
        rerank_depth: how many top articles the local LDA re-ranks.
        rerank_shrinkage: shrinkage of the local LDA's scatter.
        rerank_weight: weight of the local LDA log-posterior in the score.
        bm25_words_k, bm25_chars_k: BM25 saturation ``s / (s + k)``, so scores
            are comparable between queries (needed for the threshold); the
            char scale is per query n-gram.
        calibration: (bias, score weight, margin weight) of the logistic that
            turns the fused score and its margin over the runner-up into a
            confidence in [0, 1].
        threshold: confidence below which the advisor shows nothing.
        reranker: an MLP re-ranker of the best few (hybrid only), after the
            local LDA.
    """

    weights: dict[str, float] = field(default_factory=lambda: dict(TUNED_WEIGHTS))
    lda_shrinkage: float = 0.6
    rerank_depth: int = 5
    rerank_shrinkage: float = 0.5
    rerank_weight: float = 0.02
    bm25_words_k: float = 8.0
    bm25_chars_k: float = 1.0
    calibration: tuple[float, float, float] = (-6.478, 0.443, 0.434)
    threshold: float = 0.5
    reranker: MlpReranker | None = None


@dataclass(frozen=True)
class SearchResult:
    """One article found for a question; ``score`` is a confidence in [0, 1]."""

    article: str
    title: str
    score: float
    snippet: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"article": self.article, "title": self.title, "score": round(self.score, 3)}


def _normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _model_key(embedder: Any) -> str:
    explicit = getattr(embedder, "cache_key", None)
    if explicit:
        return str(explicit)
    tokenizer = getattr(embedder, "tokenizer", None)
    return str(getattr(tokenizer, "name_or_path", None) or type(embedder).__name__)


def _spec_model_key(spec: ModelSpec | None = None) -> str:
    """A model spec's key without loading it (a warm re-open stays fast); None: the default."""
    from .models import load_specs, resolve

    resolved = resolve(spec or load_specs()["embeddings"])
    return str(resolved.path or resolved.name)


def cache_name(kb_dir: Path, *parts: str, digits: int = 16) -> str:
    """A cache entry's name for a KB folder (and whatever else keys it): readable and unique."""
    folder = Path(kb_dir).resolve()
    digest = hashlib.sha1("\0".join([str(folder), *parts]).encode()).hexdigest()[:digits]
    return f"{slugify(folder.name)[:30] or 'kb'}-{digest}"


def cache_path_for(kb_dir: Path, embedder: Any = None, spec: ModelSpec | None = None) -> Path:
    """The embedding cache file of a KB folder for an embedder, else for a model spec
    (None: the configured default)."""
    model = _model_key(embedder) if embedder is not None else _spec_model_key(spec)
    return cache_root() / "kb" / f"{cache_name(kb_dir, model, digits=20)}.npz"


def questions_hash(articles: Sequence[Article]) -> str:
    """Fingerprint of what ``assist kb tune`` learns from: each article's id, title and questions."""
    h = hashlib.sha1()
    for art in sorted(articles, key=lambda a: a.id):
        h.update("\0".join([art.id, art.title, *art.questions]).encode())
        h.update(b"\1")
    return h.hexdigest()[:16]


_threads_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    try:  # comes with scikit-learn, which sentence-transformers needs
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()
    except Exception:  # optional: without it BLAS keeps its own threading
        return None


@contextlib.contextmanager
def _single_threaded(enabled: bool = True, torch_too: bool = True) -> Iterator[None]:
    """Run small work (one query's search, the index's 384 x 384 algebra) on one thread.

    It gains nothing from intra-op threads, and on a busy machine their
    synchronisation dominates: one query's encode took 17 ms on one thread and
    240 ms (median) on two with the cores shared; a 384 x 384 Cholesky 0.3 s.
    """
    if not enabled:
        yield
        return
    torch = sys.modules.get("torch") if torch_too else None
    blas = _blas_controller()
    with _threads_lock, contextlib.ExitStack() as stack:
        if blas is not None:
            stack.enter_context(blas.limit(limits=1, user_api="blas"))
        before = torch.get_num_threads() if torch else 1
        if torch:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch:
                torch.set_num_threads(before)


def encode_texts(embedder: Any, texts: list[str]) -> np.ndarray:
    """Unit-length float32 sentence vectors."""
    vecs = embedder.encode(
        texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vecs, dtype=np.float32)


class _Index:
    """Everything ``search`` needs, derived from the articles and their vectors."""

    def __init__(self, articles: list[Article], vectors: dict[str, np.ndarray], opts: RetrievalOptions):
        n = len(articles)
        self.n = n
        pool_owner, pool_vecs, pass_owner, pass_vecs = [], [], [], []
        for a, art in enumerate(articles):
            # An article without questions still has its title to be found by.
            for q in art.questions or [art.title]:
                pool_owner.append(a)
                pool_vecs.append(vectors[q])
            for p in art.passages():
                pass_owner.append(a)
                pass_vecs.append(vectors[p])
        dim = len(next(iter(vectors.values()))) if vectors else 1
        self.q = np.array(pool_vecs, dtype=np.float32).reshape(-1, dim)
        self.q_owner = np.array(pool_owner, dtype=np.int64)
        self.q_pad = _pad_groups(self.q_owner, n)
        self.q_count = np.bincount(self.q_owner, minlength=n)
        self.p = np.array(pass_vecs, dtype=np.float32).reshape(-1, dim)
        self.p_pad = _pad_groups(np.array(pass_owner, dtype=np.int64), n)
        self.titles = np.array([vectors[a.title] for a in articles], dtype=np.float32).reshape(-1, dim)
        self.centroids = _normalize(_group_means(self.q, self.q_owner, n))
        self.mean, self.whiten = _lda_whitening(self.q, self.q_owner, n, opts.lda_shrinkage)
        self.qw = self._to_white(self.q)
        self.wcentroids = _normalize(_group_means(self.qw, self.q_owner, n))
        self.bm25w = _Bm25([word_tokens(_lexical_doc(a)) for a in articles])
        self.bm25c = _Bm25([char_tokens(_lexical_doc(a)) for a in articles])
        self.bm25p = _Bm25([word_tokens(p) for art in articles for p in art.passages()])

    def _to_white(self, x: np.ndarray) -> np.ndarray:
        return _normalize((x - self.mean) @ self.whiten)


def _lexical_doc(article: Article) -> str:
    # The body is left out: long answers would drown the questions in BM25's
    # length normalisation; it gets its own passage-level BM25 instead.
    return " ".join([article.title, " ".join(article.tags), *article.questions])


def _pad_groups(owner: np.ndarray, n: int) -> np.ndarray:
    """Row indices per group as an ``n x width`` matrix, padded with -1."""
    counts = np.bincount(owner, minlength=n) if len(owner) else np.zeros(n, dtype=np.int64)
    pad = np.full((n, max(1, int(counts.max(initial=0)))), -1, dtype=np.int64)
    fill = np.zeros(n, dtype=np.int64)
    for row, g in enumerate(owner):
        pad[g, fill[g]] = row
        fill[g] += 1
    return pad


def _group_means(x: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Mean row per group (zeros for an empty group)."""
    sums = np.zeros((n, x.shape[1]), dtype=np.float32)
    counts = np.bincount(owner, minlength=n)
    if len(x):
        order = np.argsort(owner, kind="stable")
        starts = np.searchsorted(owner[order], np.arange(n))
        full = counts > 0
        sums[full] = np.add.reduceat(x[order], starts[full], axis=0)
    return sums / np.maximum(counts, 1)[:, None]


def _lda_whitening(
    x: np.ndarray, owner: np.ndarray, n: int, shrinkage: float
) -> tuple[np.ndarray, np.ndarray]:
    """Centre and whiten by the shrunk within-article scatter of the questions.

    Directions in which questions of one article vary (wording) shrink;
    directions that separate articles stretch.  Shrinkage keeps it sane when
    articles have few questions.
    """
    dim = x.shape[1]
    if len(x) == 0:
        return np.zeros(dim, dtype=np.float32), np.eye(dim, dtype=np.float32)
    mean = x.mean(0)
    resid = (x - mean) - (_group_means(x, owner, n) - mean)[owner]
    scatter = resid.T @ resid / len(x)
    scale = np.trace(scatter) / dim
    if scale <= 1e-12:
        return mean.astype(np.float32), np.eye(dim, dtype=np.float32)
    scatter = (1 - shrinkage) * scatter + shrinkage * scale * np.eye(dim, dtype=scatter.dtype)
    # Any W with W W^T = scatter^-1 gives the same cosines after the transform;
    # the Cholesky factor is several times cheaper than an eigendecomposition.
    chol = np.linalg.cholesky(scatter.astype(np.float64))
    whiten = np.linalg.inv(chol).T
    return mean.astype(np.float32), whiten.astype(np.float32)


def _group_top(sims: np.ndarray, pad: np.ndarray, k: int) -> np.ndarray:
    """Mean of the k best similarities per group (fewer if a group is smaller); -1 if empty."""
    ext = np.concatenate([sims, np.full((len(sims), 1), -np.inf, dtype=sims.dtype)], axis=1)
    grouped = ext[:, pad]  # queries x groups x width; -1 pads index the -inf column
    if k == 1 or grouped.shape[2] == 1:
        best = grouped.max(axis=2)
        return np.where(np.isfinite(best), best, -1.0)
    part = -np.partition(-grouped, k - 1, axis=2)[:, :, :k]
    finite = np.isfinite(part)
    mean = np.where(finite, part, 0).sum(2) / np.maximum(finite.sum(2), 1)
    return np.where(finite.any(2), mean, -1.0)


class KnowledgeBase:
    """Hybrid (BM25 + dense) retrieval over a folder of articles.

    Build with ``KnowledgeBase.open(kb_dir)`` (cached embeddings) or directly
    from a list of articles (``cache_path=None`` means no disk cache).
    """

    _chunk = 128

    def __init__(
        self,
        articles: list[Article],
        embedder: Any = None,
        options: RetrievalOptions | None = None,
        cache_path: Path | None = None,
        progress: Progress | None = None,
        kb_dir: Path | None = None,
        model: ModelSpec | None = None,
        tuned: TunedModel | None = None,
    ) -> None:
        self.articles = list(articles)
        self.options = options or RetrievalOptions()
        self.kb_dir = kb_dir
        self.model = model
        self.tuned = tuned
        self._by_id = {a.id: i for i, a in enumerate(self.articles)}
        if len(self._by_id) != len(self.articles):
            raise AssistError("duplicate article ids; run 'assist kb lint'")
        self._embedder = embedder
        self._lock = threading.Lock()
        texts = self._texts()
        self.cache = EmbeddingCache(cache_path)
        vecs = self.cache.embed(texts, self._encode, progress) if texts else np.zeros((0, 1))
        self.cache.save(text_key(t) for t in texts)
        self.embedded = self.cache.embedded
        with _single_threaded(torch_too=False):
            self._index = _Index(self.articles, dict(zip(texts, vecs, strict=True)), self.options)

    @classmethod
    def open(
        cls,
        kb_dir: Path | None = None,
        embedder: Any = None,
        options: RetrievalOptions | None = None,
        progress: Progress | None = None,
        cache: bool = True,
        tuned: bool = True,
    ) -> KnowledgeBase:
        """Load a KB folder (default: the shipped ``kb/``), embedding only what the cache lacks.

        Without an explicit ``embedder``, the folder's tuned model (``assist kb
        tune``) is used when there is one and ``tuned`` is true; else the
        configured embedder.
        """
        from .kb_tune import find_tuned

        kb_dir = Path(kb_dir) if kb_dir else shipped("kb")
        articles = load_articles(kb_dir)
        found = find_tuned(kb_dir) if tuned and embedder is None else None
        spec = found.spec() if found else None
        if found and options is None:
            options = tuned_options()
        cache_path = cache_path_for(kb_dir, embedder, spec) if cache else None
        return cls(articles, embedder, options, cache_path, progress, kb_dir, spec, found)

    # -- embedding ---------------------------------------------------------

    @property
    def embedder(self) -> Any:
        """The sentence embedder, loaded on first use (a warm open never needs it)."""
        with self._lock:
            if self._embedder is None:
                from .models import load_embedder

                self._embedder = load_embedder(self.model)
            return self._embedder

    def _encode(self, texts: list[str]) -> np.ndarray:
        return encode_texts(self.embedder, texts)

    def _texts(self) -> list[str]:
        texts: dict[str, None] = {}
        for art in self.articles:
            for t in (art.title, *art.questions, *art.passages()):
                texts[t] = None
        return list(texts)

    # -- lookup ------------------------------------------------------------

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.articles]

    def __len__(self) -> int:
        return len(self.articles)

    def get(self, article_id: str) -> Article | None:
        i = self._by_id.get(article_id)
        return self.articles[i] if i is not None else None

    def question_centroids(self) -> np.ndarray:
        """Unit centroid of each article's question vectors (lint's 'competing' check)."""
        return self._index.centroids

    # -- scoring -----------------------------------------------------------

    def features(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every feature of ``FEATURES`` as a queries x articles matrix."""
        ix = self._index
        q = self._encode(list(texts)) if vectors is None else np.asarray(vectors, dtype=np.float32)
        sims = q @ ix.q.T
        qw = ix._to_white(q)
        wsims = qw @ ix.qw.T
        feats = {
            "qmax": _group_top(sims, ix.q_pad, 1),
            "qtop2": _group_top(sims, ix.q_pad, 2),
            "qcen": q @ ix.centroids.T,
            "title": q @ ix.titles.T,
            "wmax": _group_top(wsims, ix.q_pad, 1),
            "wcen": qw @ ix.wcentroids.T,
            "passage": np.maximum(_group_top(q @ ix.p.T, ix.p_pad, 1), 0.0),
        }
        feats.update(self._lexical(texts))
        return feats

    def _lexical(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        ix, opts = self._index, self.options
        words = np.zeros((len(texts), ix.n), dtype=np.float32)
        chars = np.zeros_like(words)
        body = np.zeros_like(words)
        for i, text in enumerate(texts):
            wt, ct = word_tokens(text), char_tokens(text)
            s = ix.bm25w.scores(wt)
            words[i] = s / (s + opts.bm25_words_k)
            # Char scores grow with query length: take them per query n-gram.
            s = ix.bm25c.scores(ct) / max(1, len(ct))
            chars[i] = s / (s + opts.bm25_chars_k)
            if ix.bm25p.n:  # passages are indexed in the same order as ix.p
                s = ix.bm25p.scores(wt)
                body[i] = np.maximum(_group_top((s / (s + opts.bm25_words_k))[None], ix.p_pad, 1), 0)
        return {"bm25w": words, "bm25c": chars, "bm25p": body}

    def score_all(
        self, texts: Sequence[str], mode: str = "hybrid", vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """Fused score of every article for every text (queries x articles), before calibration."""
        if mode not in ("hybrid", "dense", "lexical"):
            raise AssistError(f"unknown retrieval mode {mode!r}")
        if not texts or not self.articles:
            return np.zeros((len(texts), len(self.articles)), dtype=np.float32)
        if vectors is None and mode != "lexical":
            vectors = self._encode(list(texts))
        if len(texts) > self._chunk:  # bounds the queries x articles x questions gather
            return np.concatenate([
                self.score_all(texts[i : i + self._chunk], mode,
                               None if vectors is None else vectors[i : i + self._chunk])
                for i in range(0, len(texts), self._chunk)
            ])
        # Lexical only needs no vectors (and no model).
        feats = self._lexical(texts) if vectors is None else self.features(texts, vectors)
        fused = self.fuse(feats, vectors, mode)
        if mode == "hybrid" and self.options.reranker is not None:
            self.options.reranker.apply(fused, feats)
        return fused

    def fuse(self, feats: dict[str, np.ndarray], vectors: np.ndarray | None, mode: str) -> np.ndarray:
        """The weighted sum of a mode's features plus the local-LDA re-rank (no MLP re-ranker)."""
        keep = {"dense": DENSE, "lexical": LEXICAL}.get(mode, DENSE | LEXICAL)
        w = self.options.weights
        fused = sum(w.get(name, 0.0) * feats[name] for name in FEATURES if name in keep)
        fused = np.asarray(fused, dtype=np.float32)
        if mode != "lexical" and self.options.rerank_weight:
            self._rerank(fused, vectors)
        return fused

    def _rerank(self, fused: np.ndarray, vectors: np.ndarray) -> None:
        """Add a local LDA's log-posterior among the top few articles (in place).

        Near-duplicate articles (pending vs failed top-up) differ in a few
        directions a global metric blurs; an LDA fitted on just the candidates'
        questions sharpens exactly those.
        """
        opts = self.options
        depth = min(opts.rerank_depth, fused.shape[1])
        if depth < 2:
            return
        for i in range(len(fused)):
            top = np.argpartition(-fused[i], depth - 1)[:depth]
            post = _local_lda(vectors[i], top, self._index, opts.rerank_shrinkage)
            if post is not None:
                fused[i, top] += opts.rerank_weight * post

    def confidence(self, fused: np.ndarray) -> np.ndarray:
        """Calibrated confidence of each article from its fused score and its margin."""
        if fused.shape[1] == 0:
            return fused
        bias, w_score, w_margin = self.options.calibration
        order = np.sort(fused, axis=1)
        best, second = order[:, -1:], (order[:, -2:-1] if fused.shape[1] > 1 else order[:, -1:] - 1)
        # Margin over the best *other* article: positive only for the leader.
        other = np.where(fused >= best, second, best)
        z = bias + w_score * fused + w_margin * (fused - other)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def search_many(
        self, texts: Sequence[str], top: int = 3, mode: str = "hybrid"
    ) -> list[list[SearchResult]]:
        """Best articles for each text, most confident first."""
        texts = [t.strip() for t in texts]
        _ = self.embedder if mode != "lexical" else None  # load outside the thread limit
        with _single_threaded(len(texts) <= 8):
            fused = self.score_all(texts, mode)
        conf = self.confidence(fused)
        out = []
        for i, text in enumerate(texts):
            if not text:
                out.append([])
                continue
            order = np.argsort(-fused[i], kind="stable")[: max(0, top)]
            out.append([self._result(a, float(conf[i, a])) for a in order])
        return out

    def search(self, text: str, top: int = 3, mode: str = "hybrid") -> list[SearchResult]:
        """Best articles for one question, most confident first (compare ``score`` to the threshold)."""
        return self.search_many([text], top, mode)[0]

    def _result(self, a: int, score: float) -> SearchResult:
        art = self.articles[a]
        return SearchResult(art.id, art.title, score, art.snippet)

    @property
    def threshold(self) -> float:
        return self.options.threshold


LOCAL_LDA_QUESTIONS = 24


def _local_lda(q: np.ndarray, top: np.ndarray, ix: _Index, shrinkage: float) -> np.ndarray | None:
    """Log-posterior of a shrunk shared-covariance Gaussian over the candidates' questions.

    Solved in the span of the candidates' residuals (Woodbury), so it costs an
    n x n solve with n = their question count, not 384 x 384.
    """
    # A bounded sample per article keeps this a small solve when articles have
    # hundreds of questions; the first ones are the editor's own.
    rows = [ix.q_pad[a][ix.q_pad[a] >= 0][:LOCAL_LDA_QUESTIONS] for a in top]
    means = np.stack([ix.q[r].mean(0) for r in rows])
    resid = np.concatenate([ix.q[r] - means[j] for j, r in enumerate(rows)])
    n, dim = resid.shape
    s2 = float((resid * resid).sum()) / n / dim
    if s2 <= 1e-12:
        return None  # one question each: no scatter to learn from
    c = shrinkage * s2 * n / (1 - shrinkage)
    gram = resid @ resid.T + c * np.eye(n, dtype=resid.dtype)
    # (shrunk scatter)^-1 @ means.T, up to the common factor 1 / (shrinkage * s2)
    proj = means.T - resid.T @ np.linalg.solve(gram, resid @ means.T)
    proj /= shrinkage * s2
    g = q @ proj - 0.5 * np.sum(means.T * proj, axis=0)
    g -= g.max()
    return g - np.log(np.exp(g).sum())


# --------------------------------------------------------------------------
# Live advisor
# --------------------------------------------------------------------------


@dataclass
class AdvisorOptions:
    """How the advisor turns customer speech into suggestions.

    Attributes:
        context_turns: how many recent customer turns are searched together.
        context_seconds: older turns than this (before the latest end) drop out.
        cooldown: seconds before the same article may be suggested again.
        short_words: a query with fewer content words than this is a
            fragment ("my debit card", "the app"): it names a topic, not a
            problem, and needs ``short_threshold`` to be shown.
        short_threshold: confidence a fragment needs.
    """

    context_turns: int = 3
    context_seconds: float = 30.0
    cooldown: float = 90.0
    short_words: int = 3
    short_threshold: float = 0.9


class KbAdvisor(Analyzer):
    """Suggests the article that answers what the customer is asking.

    Each customer utterance is searched alone and together with the previous
    one or two (a question spread over two turns still finds its article); the
    most confident hit above the threshold becomes a ``Suggestion``, unless the
    same article was suggested less than ``cooldown`` seconds ago.  Fragments
    of one or two content words need a much higher confidence.
    """

    name = "kb"

    def __init__(
        self,
        kb: KnowledgeBase | None = None,
        kb_dir: Path | None = None,
        embedder: Any = None,
        threshold: float | None = None,
        options: AdvisorOptions | None = None,
    ) -> None:
        self.kb = kb or KnowledgeBase.open(kb_dir, embedder=embedder)
        self.threshold = self.kb.threshold if threshold is None else threshold
        self.options = options or AdvisorOptions()
        self._turns: deque[Utterance] = deque(maxlen=self.options.context_turns)
        self._last_shown: dict[str, float] = {}

    def start(self, call_id: str | None = None) -> list[Event]:
        self._turns.clear()
        self._last_shown.clear()
        return []

    def feed(self, utterance: Utterance) -> list[Event]:
        if utterance.speaker != CUSTOMER or not utterance.text.strip():
            return []
        self._turns.append(utterance)
        if not word_tokens(utterance.text):
            return []  # "yes", "okay": nothing new to search for
        queries = self._queries(utterance.end)
        hits = [
            r[0] for q, r in zip(queries, self.kb.search_many(queries, top=1), strict=True)
            if r and r[0].score >= self._needed(q)
        ]
        best = max(hits, key=lambda r: r.score, default=None)
        if best is None:
            return []
        last = self._last_shown.get(best.article)
        if last is not None and utterance.end - last < self.options.cooldown:
            return []
        self._last_shown[best.article] = utterance.end
        return [Suggestion(article=best.article, title=best.title, score=best.score, snippet=best.snippet)]

    def _needed(self, query: str) -> float:
        # The calibration was fitted on whole questions; a bare topic
        # ("my debit card") matches its article's words without saying what
        # is wrong, so it must be far more certain to reach the agent.
        if len(word_tokens(query)) < self.options.short_words:
            return max(self.threshold, self.options.short_threshold)
        return self.threshold

    def _queries(self, now: float) -> list[str]:
        """The latest turn alone, then with one and two turns before it (within the window)."""
        recent = [u.text.strip() for u in self._turns if now - u.end <= self.options.context_seconds]
        if not recent:
            recent = [self._turns[-1].text.strip()]
        return [" ".join(recent[-k:]) for k in range(1, len(recent) + 1)]


# --------------------------------------------------------------------------
# Editor tools: import, new, lint, stats
# --------------------------------------------------------------------------

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
            art = Article(id=art_id, title=readable_title(topic), body=TEMPLATE_BODY,
                          tags=["imported"], updated=today or dt.date.today(),
                          path=kb_dir / f"{art_id}.md")
            if art.path.exists():
                raise AssistError(f"{art.path} exists but does not hold article '{art_id}'")
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
            existing[art_id].path.write_text(render_article(existing[art_id]), encoding="utf-8")
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


def new_article(kb_dir: Path, title: str, today: dt.date | None = None) -> Path:
    """Write a template article for ``title``; never overwrites."""
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
    embedder: Any = None,
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
