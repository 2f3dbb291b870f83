"""Knowledge base: article format, import, lint, retrieval threshold, cache, advisor, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from assist.cli.kb import kb as kb_cli
from assist.errors import AssistError
from assist.events import AGENT, CUSTOMER, Suggestion, Utterance
from assist.kb import (
    AdvisorOptions,
    KbAdvisor,
    KnowledgeBase,
    import_csv,
    lint_kb,
    load_articles,
    parse_article,
    readable_title,
    slugify,
)
from assist.kb.articles import SNIPPET_CHARS
from assist.resources import shipped
from helpers import REPO

QUESTIONS = {
    "card-arrival": [
        "My new card hasn't arrived yet.",
        "When will my card be delivered?",
        "I ordered a card two weeks ago and it's still not here.",
        "How long does card delivery take?",
        "Can I track my card in the post?",
    ],
    "change-pin": [
        "How do I change my PIN?",
        "Where can I see my PIN?",
        "I forgot my PIN number.",
        "Can I set a new PIN at an ATM?",
        "How do I reset the PIN on my card?",
    ],
    "exchange-rates": [
        "What exchange rate do you use?",
        "Why was the exchange rate on my purchase abroad wrong?",
        "How are your currency rates calculated?",
        "Is the rate worse at weekends?",
        "Which rate applies when I pay in euros?",
    ],
}


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory):
    """Every test in this module caches embeddings in one fresh folder."""
    folder = tmp_path_factory.mktemp("assist-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSIST_CACHE_DIR", str(folder))
        yield folder


def write_article(folder: Path, art_id: str, questions: list[str], body: str = "Do the thing.",
                  title: str | None = None, extra: str = "") -> Path:
    qs = "\n".join(f"  - {json.dumps(q)}" for q in questions)
    text = (f"---\nid: {art_id}\ntitle: {title or readable_title(art_id)}\ntags: [test]\n"
            f"questions:\n{qs}\nlanguage: en\nupdated: 2025-01-01\n{extra}---\n\n{body}\n")
    path = folder / f"{art_id}.md"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def small_kb(tmp_path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    for art_id, questions in QUESTIONS.items():
        write_article(folder, art_id, questions)
    return folder


@pytest.fixture(scope="module")
def shipped_kb(embedder, cache_dir) -> KnowledgeBase:
    return KnowledgeBase.open(shipped("kb"), embedder=embedder)


class CountingEmbedder:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.tokenizer = inner.tokenizer  # same cache key as the real model
        self.texts: list[str] = []

    def encode(self, texts, **kwargs):
        self.texts.extend(texts)
        return self.inner.encode(texts, **kwargs)


# -- format -------------------------------------------------------------------


def test_parse_article(tmp_path):
    path = write_article(tmp_path, "card-arrival", QUESTIONS["card-arrival"],
                         body="Check the address first.\n\n## Steps\n1. Reissue with **express**.",
                         extra="owner: cards-team\n")
    art = parse_article(path)
    assert art.id == "card-arrival" and art.title == "Card arrival"
    assert art.questions == QUESTIONS["card-arrival"] and art.tags == ["test"]
    assert art.language == "en" and str(art.updated) == "2025-01-01"
    assert art.extra == {"owner": "cards-team"}
    assert art.passages() == ["Check the address first.", "Steps Reissue with express."]
    assert art.snippet == "Check the address first."


def test_a_long_first_passage_ends_at_a_sentence(tmp_path):
    first = " ".join(f"Step {n}: check the address on file before anything else." for n in range(7))
    long = parse_article(write_article(tmp_path, "card-arrival", QUESTIONS["card-arrival"],
                                       body=first))
    assert len(first) > SNIPPET_CHARS and long.snippet.endswith("anything else. …")
    assert first.startswith(long.snippet.removesuffix(" …")) and len(long.snippet) <= SNIPPET_CHARS
    assert parse_article(write_article(tmp_path, "card-arrival", QUESTIONS["card-arrival"],
                                       body=first[:300])).snippet == first[:300]  # whole


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("id: x\n", 1, "missing front matter"),
        ("---\nid: x\ntitle: X\n", 1, "not closed"),
        ("---\nid: a-b\ntitle: X\nquestions: [a, b\n---\n", 4, "not valid YAML"),
        ("---\nid: Card_Arrival\ntitle: X\nquestions: []\n---\n", 2, "must be a slug"),
        ("---\nid: a\ntitle: X\nquestions: just one\n---\n", 4, "must be a list"),
        ("---\nid: a\ntitle: X\nquestions:\n  - fine\n  - yes\n---\n", 6, "must be text"),
        ("---\nid: a\nquestions: []\n---\n", 1, "no 'title'"),
        ("---\nid: a\ntitle: X\nquestions: []\nupdated: last week\n---\n", 5, "must be a date"),
    ],
)
def test_front_matter_errors_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AssistError) as info:
        parse_article(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)


def test_shipped_kb_is_complete():
    articles = load_articles(shipped("kb"))
    assert len(articles) >= 40
    for art in articles:
        assert len(art.questions) >= 5, art.id
        assert art.path.stem == art.id and art.language == "en" and art.updated and art.tags
        assert art.passages(), art.id
    arrival = next(a for a in articles if a.id == "card-arrival")
    assert "10 working days" in arrival.body and "virtual card" in arrival.body.lower()


# -- import -------------------------------------------------------------------


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["text,category"] + [f'"{q}",{t}' for q, t in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_slug_and_title():
    assert slugify("card_arrival") == "card-arrival"
    assert slugify("  Reverted card payment?? ") == "reverted-card-payment"
    assert slugify("Refund_not_showing_up") == "refund-not-showing-up"
    assert readable_title("card_arrival") == "Card arrival"


def test_import_creates_one_article_per_topic(tmp_path):
    csv_path = write_csv(tmp_path / "q.csv", [
        ("Where is my card?", "card_arrival"), ("My card is late", "card_arrival"),
        ("Payment came back?", "reverted_card_payment?"), ("Is my card coming?", "card_arrival"),
    ])
    report = import_csv(csv_path, tmp_path / "kb", "text", "category", per_topic=2)
    assert report.created == ["card-arrival", "reverted-card-payment"]
    art = parse_article(tmp_path / "kb" / "card-arrival.md")
    assert art.title == "Card arrival"
    assert art.questions == ["Where is my card?", "My card is late"]  # the first 2 only


def test_import_merges_keeps_body_and_is_idempotent(tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    write_article(folder, "card-arrival", ["Where is my card?"], body="Our own answer.",
                  title="Card hasn't arrived")
    csv_path = write_csv(tmp_path / "q.csv", [
        ("where is my  card", "card_arrival"), ("My card is late", "card_arrival"),
        ("How do I change my PIN?", "change_pin"),
    ])
    report = import_csv(csv_path, folder, "text", "category")
    assert report.updated == ["card-arrival"] and report.created == ["change-pin"]
    art = parse_article(folder / "card-arrival.md")
    assert art.questions == ["Where is my card?", "My card is late"]  # no near-duplicate
    assert art.title == "Card hasn't arrived" and art.body == "Our own answer."
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = import_csv(csv_path, folder, "text", "category")
    assert again.created == again.updated == [] and again.questions_added == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_import_unknown_column(tmp_path):
    csv_path = write_csv(tmp_path / "q.csv", [("Where is my card?", "card_arrival")])
    with pytest.raises(AssistError, match="no column 'intent'"):
        import_csv(csv_path, tmp_path / "kb", "text", "intent")


# -- lint -----------------------------------------------------------------------


def codes(issues, level="error"):
    return sorted(i.code for i in issues if i.level == level)


def test_lint_clean_kb(small_kb, embedder):
    assert codes(lint_kb(small_kb, embedder=embedder)) == []


def test_lint_front_matter_error(small_kb, embedder):
    bad = small_kb / "broken.md"
    bad.write_text("---\nid: broken\ntitle: [unclosed\n---\n", encoding="utf-8")
    issues = lint_kb(small_kb, embedder=embedder)
    assert codes(issues) == ["front-matter"]
    assert issues[0].where == f"{bad}:3"


def test_lint_duplicate_id_and_few_questions(small_kb, embedder):
    write_article(small_kb, "card-arrival-copy", ["Totally different wording here"], extra="")
    text = (small_kb / "card-arrival-copy.md").read_text().replace(
        "id: card-arrival-copy", "id: change-pin")
    (small_kb / "card-arrival-copy.md").write_text(text)
    issues = lint_kb(small_kb, embedder=embedder)
    assert codes(issues) == ["duplicate-id", "few-questions"]
    dup = next(i for i in issues if i.code == "duplicate-id")
    assert dup.where == f"{small_kb / 'change-pin.md'}:2"  # the later file, naming the first
    assert "card-arrival-copy.md" in dup.message


def test_lint_competing_articles(small_kb, embedder):
    write_article(small_kb, "card-delivery", [
        "My new card has not arrived yet.", "When is my card going to be delivered?",
        "I ordered my card 2 weeks ago and it is still not here.",
        "How long does it take to deliver a card?", "Can I track the card you posted?",
    ])
    issues = lint_kb(small_kb, embedder=embedder)
    assert codes(issues) == ["competing"]
    assert "card-arrival" in issues[0].message and "card-delivery" in issues[0].message


# -- retrieval and threshold ------------------------------------------------------


@pytest.mark.parametrize("question", [
    "my new card still hasn't arrived",
    "I ordered a replacement debit card two weeks ago and it still hasn't come, "
    "I can't pay for anything",
])
def test_card_arrival_is_top1(shipped_kb, question):
    best = shipped_kb.search(question)[0]
    assert best.article == "card-arrival"
    assert best.score >= shipped_kb.threshold
    assert 0.0 <= best.score <= 1.0 and best.snippet


@pytest.mark.parametrize("question", [
    "what's the weather in Paris",
    "I'd like a quote for my car insurance",
    "can you book me a table for two tonight",
    "yes that's right",
])
def test_off_topic_gets_no_suggestion(shipped_kb, question):
    assert shipped_kb.search(question)[0].score < shipped_kb.threshold


def test_search_modes_and_empty(shipped_kb):
    for mode in ("lexical", "dense"):
        assert shipped_kb.search("I lost my card", mode=mode)[0].article == "lost-or-stolen-card"
    assert shipped_kb.search("   ") == []


# -- cache ------------------------------------------------------------------------


def test_cache_reopen_and_changed_article(small_kb, embedder):
    counting = CountingEmbedder(embedder)
    first = KnowledgeBase.open(small_kb, embedder=counting)
    assert first.embedded > 0 and len(counting.texts) == first.embedded
    counting.texts.clear()
    again = KnowledgeBase.open(small_kb, embedder=counting)
    assert again.embedded == 0 and counting.texts == []
    path = small_kb / "change-pin.md"
    path.write_text(path.read_text().replace("I forgot my PIN number.", "My PIN is lost."))
    changed = KnowledgeBase.open(small_kb, embedder=counting)
    assert counting.texts == ["My PIN is lost."] and changed.embedded == 1
    assert changed.search("My PIN is lost")[0].article == "change-pin"


# -- advisor ----------------------------------------------------------------------


def say(speaker: str, text: str, end: float) -> Utterance:
    return Utterance(speaker=speaker, start=end - 2.0, end=end, text=text)


def test_advisor_finds_question_spread_over_two_turns(shipped_kb):
    advisor = KbAdvisor(kb=shipped_kb)
    first = advisor.feed(say(CUSTOMER, "It's about the replacement debit card you sent me.", 5.0))
    assert not any(e.article == "card-arrival" for e in first)
    assert advisor.feed(say(AGENT, "Okay, let me have a look.", 7.0)) == []
    second = advisor.feed(say(CUSTOMER, "It's been two weeks and it's still not here.", 10.0))
    assert [e.article for e in second] == ["card-arrival"]
    assert isinstance(second[0], Suggestion) and second[0].score >= advisor.threshold


def test_advisor_does_not_repeat_until_cooldown(shipped_kb):
    advisor = KbAdvisor(kb=shipped_kb, options=AdvisorOptions(cooldown=60.0))
    question = "My new card still hasn't arrived."
    assert [e.article for e in advisor.feed(say(CUSTOMER, question, 3.0))] == ["card-arrival"]
    assert advisor.feed(say(CUSTOMER, "It's really annoying, my card hasn't arrived.", 8.0)) == []
    assert advisor.feed(say(CUSTOMER, "What's the weather like today?", 40.0)) == []
    later = advisor.feed(say(CUSTOMER, question, 70.0))
    assert [e.article for e in later] == ["card-arrival"]


def test_advisor_ignores_fillers_and_the_agent(shipped_kb):
    advisor = KbAdvisor(kb=shipped_kb)
    assert advisor.feed(say(AGENT, "My new card still hasn't arrived.", 2.0)) == []
    assert advisor.feed(say(CUSTOMER, "my debit card", 4.0)) == []  # a topic, not a problem
    assert advisor.feed(say(CUSTOMER, "yes", 6.0)) == []
    assert [e.article for e in advisor.feed(say(CUSTOMER, "card stolen", 8.0))] == [
        "lost-or-stolen-card"]  # short but unambiguous


def test_advisor_threshold_override(shipped_kb):
    assert KbAdvisor(kb=shipped_kb, threshold=1.01).feed(
        say(CUSTOMER, "My new card still hasn't arrived.", 3.0)) == []


# -- CLI --------------------------------------------------------------------------


def test_every_command_has_help():
    runner = CliRunner()
    for name, command in kb_cli.commands.items():
        assert command.help, name
        result = runner.invoke(kb_cli, [name, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_cli_search_table_and_jsonl(shipped_kb):
    runner = CliRunner()
    result = runner.invoke(kb_cli, ["search", "my new card still hasn't arrived", "--top", "2"])
    assert result.exit_code == 0, result.output
    assert "card-arrival" in result.output.splitlines()[1]
    lines = [
        json.dumps({"text": "my new card still hasn't arrived", "id": 7}),
        "not json",
        json.dumps({"text": "what's the weather in Paris"}),
        "",
    ]
    result = runner.invoke(kb_cli, ["search", "--jsonl", "--top", "1"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 4
    assert out[0]["text"] == "my new card still hasn't arrived"
    assert out[0]["results"][0]["article"] == "card-arrival"
    assert set(out[0]["results"][0]) == {"article", "title", "score"}
    assert out[1]["results"] == [] and "error" in out[1]
    assert out[2]["results"][0]["score"] < shipped_kb.threshold
    assert out[3] == {"text": "", "results": []}


def test_cli_import_new_lint_stats(tmp_path, embedder):
    runner = CliRunner()
    folder = tmp_path / "kb"
    rows = [(q, "card_arrival") for q in QUESTIONS["card-arrival"]]
    rows += [(q, "change_pin") for q in QUESTIONS["change-pin"]]
    csv_path = write_csv(tmp_path / "q.csv", rows)
    args = ["import", str(csv_path), "--kb", str(folder), "-q", "text", "-t", "category"]
    result = runner.invoke(kb_cli, args)
    assert result.exit_code == 0 and "2 created" in result.output
    assert "0 created, 0 updated, 2 unchanged" in runner.invoke(kb_cli, args).output

    result = runner.invoke(kb_cli, ["new", "Exchange rates", "--kb", str(folder)])
    assert result.exit_code == 0 and (folder / "exchange-rates.md").exists()
    result = runner.invoke(kb_cli, ["new", "Exchange rates", "--kb", str(folder)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1

    result = runner.invoke(kb_cli, ["lint", "--kb", str(folder)])
    assert result.exit_code == 1
    assert f"{folder / 'exchange-rates.md'}:5: error: 'exchange-rates' has 0 questions" in result.output

    result = runner.invoke(kb_cli, ["stats", "--kb", str(folder)])
    assert result.exit_code == 0 and "articles" in result.output and "3" in result.output


def test_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(kb_cli, ["search", "hello", "--kb", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: knowledge base folder not found: {tmp_path / 'missing'}"]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.md").write_text("no front matter\n")
    result = runner.invoke(kb_cli, ["stats", "--kb", str(bad)])
    assert result.exit_code == 1 and f"{bad / 'a.md'}:1: missing front matter" in result.output
    assert runner.invoke(kb_cli, ["search"]).exit_code == 2  # neither a question nor --jsonl


def test_core_does_not_import_textual():
    code = "import sys, assist.kb, assist.cli.kb; sys.exit(any(m.startswith('textual') for m in sys.modules))"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    assert subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env).returncode == 0
