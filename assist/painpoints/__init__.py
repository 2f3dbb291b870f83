"""Recurring pain points: the problems customers keep calling about, and an early warning.

Customer utterances that carry a problem (greetings, "yes", "thank you" and
verification chatter are dropped) are cut down to their problem statement,
embedded, and clustered without being told how many clusters there are.
Agglomerative clustering (average linkage, cosine distance) cut at a distance
threshold, clusters below a minimum size dissolved and small fragments merged
into the nearest bigger cluster, finds how many there are; spectral clustering
of the nearest-neighbour graph into that many then draws the borders again
(average linkage carries on over its clusters to a distance), and the
dissolved members join the nearest centroid when close enough (else noise).
That method won the measurement in ``bench/painpoints.py`` against the
agglomerative clusters alone, HDBSCAN and community detection.
Each pain point is labelled with a short phrase cut from its most central problem
statement ("new card never came in post"; see ``labels``).

``PainPointTracker`` does this across calls as they happen: a new problem joins
the pain point whose centroid it is close to, or waits as a candidate; every
``recluster_every`` new problems (sooner while there are few) all of them are
clustered again (in a background thread) and the new clusters are matched to
the old ones by their members, so a pain point keeps its id and history.  With a
store shared by several machines, re-clusterings take turns through the store
(see ``PainPointTracker``).  When the number of calls that raised a pain point in
the last window rises above its own baseline (see ``PainPointOptions``), the
tracker emits a ``PainPoint`` event, once per rise.
"""

from .alerts import rise, rises
from .clustering import (
    average_merge,
    cluster_embeddings,
    cluster_problems,
    cluster_texts,
    embed,
    merge_fragments,
)
from .labels import painpoint_labels
from .options import PainPointOptions
from .reports import (
    KbGap,
    PainPointRow,
    central_examples,
    examples,
    kb_gaps,
    load_rows,
    painpoint_article_draft,
    painpoint_chart,
    render_html,
    render_md,
    report_charts,
    sparkline,
    when_text,
)
from .text import SHORT_TURN, is_problem, problem_statement, problem_statements
from .tracker import PainPointTracker, call_times
from .worker import serve_floor

__all__ = [
    "SHORT_TURN",
    "average_merge",
    "call_times",
    "central_examples",
    "cluster_embeddings",
    "cluster_problems",
    "cluster_texts",
    "embed",
    "examples",
    "is_problem",
    "kb_gaps",
    "KbGap",
    "load_rows",
    "merge_fragments",
    "painpoint_article_draft",
    "painpoint_chart",
    "painpoint_labels",
    "PainPointOptions",
    "PainPointRow",
    "PainPointTracker",
    "problem_statement",
    "problem_statements",
    "render_html",
    "render_md",
    "report_charts",
    "rise",
    "rises",
    "serve_floor",
    "sparkline",
    "when_text",
]
