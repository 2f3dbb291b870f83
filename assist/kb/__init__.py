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

from .advisor import AdvisorOptions, KbAdvisor
from .articles import (
    MIN_QUESTIONS,
    Article,
    article_files,
    load_articles,
    parse_article,
    readable_title,
    render_article,
    slugify,
)
from .cache import EmbeddingCache, cache_path_for, encode_texts, model_key
from .editing import COMPETING_COSINE, import_csv, kb_stats, lint_kb, new_article
from .lexical import word_tokens
from .rerank import (
    FEATURES,
    RERANK_FILE,
    TUNED_CALIBRATION,
    MlpReranker,
    RetrievalOptions,
    tuned_options,
)
from .search import KnowledgeBase, SearchResult
from .tune import TuneOptions, find_tuned, forget_tuned, training_groups, tune_home, tune_kb

__all__ = [
    "word_tokens",
    "AdvisorOptions",
    "Article",
    "article_files",
    "cache_path_for",
    "COMPETING_COSINE",
    "EmbeddingCache",
    "encode_texts",
    "FEATURES",
    "find_tuned",
    "forget_tuned",
    "import_csv",
    "kb_stats",
    "KbAdvisor",
    "KnowledgeBase",
    "lint_kb",
    "load_articles",
    "MIN_QUESTIONS",
    "MlpReranker",
    "model_key",
    "new_article",
    "parse_article",
    "readable_title",
    "render_article",
    "RERANK_FILE",
    "RetrievalOptions",
    "SearchResult",
    "slugify",
    "training_groups",
    "tune_home",
    "tune_kb",
    "TUNED_CALIBRATION",
    "tuned_options",
    "TuneOptions",
]
