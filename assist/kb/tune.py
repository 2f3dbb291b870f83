"""Adapting the sentence embedder to one knowledge base (``assist kb tune``).

all-MiniLM-L6-v2 knows English in general, not which wordings a bank's
customers use for *the same* problem.  A KB already says so: each article's
questions are different wordings of one need.  Tuning fine-tunes a copy of the
embedder on them with a contrastive loss (MultipleNegativesRanking: a question
and another question of its article are pulled together, every other article
in the batch is pushed away), SetFit-style, on the KB's own text only.

The tuned copy is saved under the user cache, in a folder per KB folder, and
``KnowledgeBase.open`` uses it for that folder from then on.  Embeddings are
cached per model path, and every tune gets a new path, so vectors of the base
model and of an older tune are never mixed.  After the KB is edited the tuned
model is still used (it remains better than the base model for the articles it
saw), and ``assist kb stats`` says it is out of date until the next tune.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import AssistError
from ..models import ModelSpec, cache_root, load_embedder, load_specs, resolve
from .articles import Article, Progress, load_articles
from .cache import cache_name, questions_hash

CURRENT = "current.json"


@dataclass
class TuneOptions:
    """How the embedder is fine-tuned.

    Attributes:
        epochs: passes over the questions.
        lr: peak learning rate (linear warm-up, then linear decay to 0).
        batch: articles per batch (each contributes one question pair).
        scale: inverse temperature of the in-batch softmax.
        max_per_article: questions per article and epoch at most, so a KB with
            hundreds of questions per article still tunes in minutes.
        warmup: share of the steps spent warming up.
        seed: for the pairing and the order (a tune is repeatable).
        threads: torch threads (None: all cores).
    """

    epochs: int = 3
    lr: float = 3e-5
    batch: int = 32
    scale: float = 20.0
    max_per_article: int = 10
    warmup: float = 0.1
    seed: int = 0
    threads: int | None = None


@dataclass
class TunedModel:
    """A tuned embedder on disk and what it learned from."""

    path: Path
    base: str
    questions_hash: str
    articles: int
    questions: int
    seconds: float
    created: str
    options: dict[str, Any]

    def spec(self, runtime: str | None = None) -> ModelSpec:
        """The model spec that loads it (same runtime as the configured embedder)."""
        runtime = runtime or load_specs()["embeddings"].runtime
        return ModelSpec("embeddings", f"tuned:{self.path.parent.name}", str(self.path), runtime=runtime)

    def stale(self, articles: Sequence[Article]) -> bool:
        """True when the KB's questions changed since the tune."""
        return questions_hash(articles) != self.questions_hash


def tune_home(kb_dir: Path) -> Path:
    """The cache folder that holds a KB folder's tuned models."""
    return cache_root() / "kb-models" / cache_name(kb_dir)


def find_tuned(kb_dir: Path) -> TunedModel | None:
    """The current tuned model of a KB folder, or None (never tuned, removed, or unreadable)."""
    home = tune_home(kb_dir)
    try:
        data = json.loads((home / CURRENT).read_text(encoding="utf-8"))
        model = TunedModel(**{**data, "path": home / data["path"]})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return model if (model.path / "modules.json").exists() else None


def forget_tuned(kb_dir: Path) -> bool:
    """Delete a KB folder's tuned models; True if there were any."""
    home = tune_home(kb_dir)
    if not home.exists():
        return False
    shutil.rmtree(home)
    return True


def training_groups(articles: Sequence[Article]) -> list[list[str]]:
    """Each article's distinct questions (articles with fewer than two teach nothing)."""
    groups = [list(dict.fromkeys(q.strip() for q in art.questions if q.strip())) for art in articles]
    return [g for g in groups if len(g) >= 2]


def tune_kb(
    kb_dir: Path,
    options: TuneOptions | None = None,
    spec: ModelSpec | None = None,
    progress: Progress | None = None,
) -> TunedModel:
    """Fine-tune the configured embedder on a KB folder's questions and make it current.

    ``progress(step, total_steps)`` is called after each training step.
    """
    opts = options or TuneOptions()
    kb_dir = Path(kb_dir)
    articles = load_articles(kb_dir)
    groups = training_groups(articles)
    if len(groups) < 2:
        raise AssistError(f"{kb_dir}: tuning needs at least 2 articles with 2 or more questions each")
    spec = spec or load_specs()["embeddings"]
    base = resolve(spec)
    if base.path is None or not (base.path / "modules.json").exists():
        raise AssistError(f"the embedding model at {base.path} is not a sentence-transformers folder")
    started = time.perf_counter()
    model = _train(base.path, groups, opts, progress)
    seconds = time.perf_counter() - started
    home = tune_home(kb_dir)
    home.mkdir(parents=True, exist_ok=True)
    digest = questions_hash(articles)
    name = f"{digest}-{int(time.time())}"
    tmp = home / f".{name}.part"
    model.save(str(tmp))
    os.replace(tmp, home / name)
    tuned = TunedModel(
        path=home / name, base=str(base.path), questions_hash=digest, articles=len(groups),
        questions=sum(len(g) for g in groups), seconds=round(seconds, 1),
        created=dt.datetime.now().isoformat(timespec="seconds"), options=asdict(opts),
    )
    record = {**asdict(tuned), "path": name}
    (home / f".{CURRENT}.part").write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(home / f".{CURRENT}.part", home / CURRENT)
    for old in home.iterdir():  # older tunes (and any half-written one) go
        if old.is_dir() and old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    load_embedder(tuned.spec(spec.runtime))  # export for the fast runtime now, not at the first search
    return tuned


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def _pairs(groups: list[list[str]], cap: int, rng: random.Random) -> list[list[tuple[int, str, str]]]:
    """Per article: up to ``cap`` (article, question, another question of it) pairs."""
    out = []
    for a, qs in enumerate(groups):
        anchors = rng.sample(range(len(qs)), min(cap, len(qs)))
        pairs = []
        for i in anchors:
            j = rng.randrange(len(qs) - 1)
            pairs.append((a, qs[i], qs[j + (j >= i)]))
        out.append(pairs)
    return out


def _batches(groups: list[list[str]], opts: TuneOptions, rng: random.Random) -> list[list[tuple[int, str, str]]]:
    """One epoch: rounds of one pair per article, cut into batches of distinct articles.

    (Batches of look-alike articles, for harder negatives, did worse on
    banking77 dev: see bench/kb.py.)
    """
    per_article = _pairs(groups, opts.max_per_article, rng)
    rounds = max(len(p) for p in per_article)
    out = []
    for r in range(rounds):
        items = [p[r] for p in per_article if r < len(p)]
        rng.shuffle(items)
        out += [items[i : i + opts.batch] for i in range(0, len(items), opts.batch)]
    rng.shuffle(out)
    return [b for b in out if len(b) >= 2]


def _train(base_dir: Path, groups: list[list[str]], opts: TuneOptions, progress: Progress | None) -> Any:
    import torch
    import torch.nn.functional as F
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Writing model shards" bar over our own progress
    before = torch.get_num_threads()
    torch.set_num_threads(opts.threads or max(1, os.cpu_count() or 1))
    try:
        torch.manual_seed(opts.seed)
        rng = random.Random(opts.seed)
        model = SentenceTransformer(str(base_dir), device="cpu")
        epochs = [_batches(groups, opts, rng) for _ in range(opts.epochs)]
        total = sum(len(e) for e in epochs)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=opts.lr, weight_decay=0.01)
        warm = max(1, int(opts.warmup * total))

        def factor(step: int) -> float:
            return (step + 1) / warm if step < warm else max(0.0, (total - step) / max(1, total - warm))

        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

        tokenize = getattr(model, "preprocess", None) or model.tokenize  # renamed in 6.x

        def embed(texts: list[str]) -> Any:
            feats = tokenize(texts)
            return F.normalize(model(feats)["sentence_embedding"], dim=-1)

        model.train()
        step = 0
        for batches in epochs:
            for batch in batches:
                sims = opts.scale * embed([b[1] for b in batch]) @ embed([b[2] for b in batch]).T
                target = torch.arange(len(batch))
                loss = 0.5 * (F.cross_entropy(sims, target) + F.cross_entropy(sims.T, target))
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                schedule.step()
                step += 1
                if progress:
                    progress(step, total)
        model.eval()
        return model
    finally:
        torch.set_num_threads(before)
