"""``assist kb tune``: fine-tuning the real embedder on a small KB's questions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from test_kb import QUESTIONS, write_article

from assist.cli.kb import kb as kb_cli
from assist.errors import AssistError
from assist.kb import (
    KnowledgeBase,
    TuneOptions,
    cache_path_for,
    encode_texts,
    find_tuned,
    forget_tuned,
    load_articles,
    training_groups,
    tune_home,
    tune_kb,
)
from assist.models import load_embedder

# Two more articles that the base model confuses with the first ones: a tune
# has to separate cards that have not come from cards that were taken.
MORE = {
    "lost-card": [
        "I lost my card.",
        "My card was stolen yesterday.",
        "Someone took my wallet with my card in it.",
        "I can't find my debit card anywhere.",
        "How do I block a missing card?",
    ],
    "card-declined": [
        "My card was declined at the shop.",
        "Why did my card payment fail?",
        "The terminal refused my card.",
        "My card doesn't work in shops.",
        "Payment rejected with my card, why?",
    ],
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("assist-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSIST_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def tuned_kb(tmp_path_factory, cache_dir):
    """A five-article KB, tuned once for the module (two epochs: a few seconds)."""
    folder = tmp_path_factory.mktemp("kb")
    for art_id, questions in {**QUESTIONS, **MORE}.items():
        write_article(folder, art_id, questions)
    tuned = tune_kb(folder, TuneOptions(epochs=2, batch=8))
    return folder, tuned


def _separation(embedder, folder) -> float:
    """Mean cosine of questions to their own article's others minus to other articles'."""
    groups = training_groups(load_articles(folder))
    vecs = encode_texts(embedder, [q for g in groups for q in g])
    owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    sims = vecs @ vecs.T
    same = owner[:, None] == owner[None, :]
    np.fill_diagonal(same, False)
    other = owner[:, None] != owner[None, :]
    return float(sims[same].mean() - sims[other].mean())


def test_tune_pulls_an_articles_questions_together(tuned_kb, embedder):
    folder, tuned = tuned_kb
    assert tuned.articles == 5 and tuned.questions == 25
    assert (tuned.path / "modules.json").exists()
    tuned_embedder = load_embedder(tuned.spec())
    before, after = _separation(embedder, folder), _separation(tuned_embedder, folder)
    assert after > before + 0.05, (before, after)


def test_open_uses_the_tuned_model_with_its_own_cache(tuned_kb, embedder):
    folder, tuned = tuned_kb
    kb = KnowledgeBase.open(folder)
    assert kb.tuned is not None and kb.tuned.path == tuned.path
    assert kb.model is not None and kb.model.path == str(tuned.path)
    assert cache_path_for(folder, spec=kb.model) != cache_path_for(folder)
    assert kb.search("my card got nicked on the bus")[0].article == "lost-card"
    base = KnowledgeBase.open(folder, tuned=False)
    assert base.tuned is None and base.model is None
    explicit = KnowledgeBase.open(folder, embedder=embedder)  # an explicit embedder wins
    assert explicit.tuned is None


def test_edit_makes_it_stale_and_stats_say_so(tuned_kb):
    folder, tuned = tuned_kb
    path = folder / "change-pin.md"
    original = path.read_text()
    try:
        path.write_text(original.replace("I forgot my PIN number.", "My PIN is lost."))
        assert tuned.stale(load_articles(folder))
        out = CliRunner().invoke(kb_cli, ["stats", "--kb", str(folder)]).output
        assert "tuned model" in out and "out of date" in out
        assert KnowledgeBase.open(folder).tuned is not None  # still used until the next tune
    finally:
        path.write_text(original)
    assert not tuned.stale(load_articles(folder))
    out = CliRunner().invoke(kb_cli, ["stats", "--kb", str(folder)]).output
    assert "up to date" in out


def test_cli_tune_retune_and_remove(tmp_path, cache_dir):
    folder = tmp_path / "kb"
    folder.mkdir()
    for art_id, questions in QUESTIONS.items():
        write_article(folder, art_id, questions)
    runner = CliRunner()
    result = runner.invoke(kb_cli, ["tune", "--kb", str(folder)])
    assert result.exit_code == 0, result.output
    assert "tuned on 15 questions of 3 articles" in result.output
    first = find_tuned(folder)
    assert first is not None
    assert KnowledgeBase.open(folder).embedded == 0  # the CLI embedded the KB with it already
    write_article(folder, "exchange-rates", [*QUESTIONS["exchange-rates"], "Do you charge for euros?"])
    assert first.stale(load_articles(folder))
    assert runner.invoke(kb_cli, ["tune", "--kb", str(folder)]).exit_code == 0
    second = find_tuned(folder)
    assert second is not None and second.path != first.path and not first.path.exists()
    assert not second.stale(load_articles(folder))
    result = runner.invoke(kb_cli, ["tune", "--kb", str(folder), "--remove"])
    assert result.exit_code == 0 and "removed" in result.output
    assert find_tuned(folder) is None and KnowledgeBase.open(folder).tuned is None
    assert "has no tuned model" in runner.invoke(kb_cli, ["tune", "--kb", str(folder), "--remove"]).output


def test_tune_errors_are_one_line(tmp_path, cache_dir):
    folder = tmp_path / "kb"
    folder.mkdir()
    write_article(folder, "only-one", QUESTIONS["card-arrival"])
    with pytest.raises(AssistError, match="at least 2 articles"):
        tune_kb(folder)
    result = CliRunner().invoke(kb_cli, ["tune", "--kb", str(folder)])
    assert result.exit_code == 1 and "at least 2 articles" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(kb_cli, ["tune", "--kb", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "no knowledge base folder" in result.output


def test_unreadable_record_falls_back_to_the_base_model(tmp_path, cache_dir):
    folder = tmp_path / "kb"
    folder.mkdir()
    home = tune_home(folder)
    home.mkdir(parents=True)
    (home / "current.json").write_text("{not json")
    assert find_tuned(folder) is None
    (home / "current.json").write_text(json.dumps({"path": "gone"}))
    assert find_tuned(folder) is None
    assert forget_tuned(folder) and not home.exists()


def test_reranker_file_round_trip_and_apply(tmp_path):
    from assist.kb import FEATURES, MlpReranker

    rng = np.random.default_rng(0)
    width = 3 * len(FEATURES) + 2
    r = MlpReranker(rng.normal(size=(width, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32),
                    rng.normal(size=4).astype(np.float32), 0.3, depth=3)
    r.save(tmp_path / "r.npz")
    back = MlpReranker.load(tmp_path / "r.npz")
    assert back.depth == 3 and np.allclose(back.w1, r.w1) and back.b2 == pytest.approx(0.3)
    fused = rng.normal(size=(5, 8)).astype(np.float32)
    feats = {name: rng.normal(size=(5, 8)).astype(np.float32) for name in FEATURES}
    out = fused.copy()
    back.apply(out, feats)
    top = np.argsort(-fused, axis=1)[:, :3]
    rest = np.argsort(-fused, axis=1)[:, 3:]
    rows = np.arange(5)[:, None]
    assert np.array_equal(out[rows, rest], fused[rows, rest])  # only the best three move
    assert np.all(out.max(1) <= fused.max(1) + 1e-6)  # the best score never rises
    assert not np.allclose(out[rows, top], fused[rows, top])


def test_tuned_options_carry_the_shipped_reranker():
    from assist.kb import FEATURES, TUNED_CALIBRATION, tuned_options

    opts = tuned_options()
    assert opts.calibration == TUNED_CALIBRATION
    assert opts.reranker is not None, "assist/data/kb_rerank_tuned.npz is missing"
    assert opts.reranker.w1.shape == (3 * len(FEATURES) + 2, len(opts.reranker.b1))


def test_live_advisor_uses_the_tuned_model(tuned_kb):
    from assist.events import CUSTOMER, Utterance
    from assist.kb import KbAdvisor

    folder, tuned = tuned_kb
    advisor = KbAdvisor(kb_dir=folder)
    assert advisor.kb.tuned is not None and advisor.kb.tuned.path == tuned.path
    said = Utterance(speaker=CUSTOMER, start=0.0, end=3.0,
                     text="Someone stole my wallet with my bank card.")
    assert [e.article for e in advisor.feed(said)] == ["lost-card"]
