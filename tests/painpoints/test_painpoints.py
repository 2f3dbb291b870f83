"""Pain points: filtering, extraction, clustering, labels, the tracker, the alert rule, the CLI."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner

from assist.cli.painpoints import painpoints
from assist.events import CUSTOMER, PainPoint, Utterance
from assist.painpoints import (
    SHORT_TURN,
    PainPointOptions,
    PainPointTracker,
    cluster_embeddings,
    cluster_texts,
    embed,
    is_problem,
    painpoint_article_draft,
    painpoint_labels,
    problem_statement,
    problem_statements,
    rise,
    sparkline,
)

INTENTS = ["card_arrival", "lost_or_stolen_card", "exchange_rate", "pending_transfer",
           "wrong_amount_of_cash_received", "age_limit"]
T0 = datetime(2026, 1, 5, 9, 0)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tracker embeds one sentence at a time: on shared cores one thread is many times
    faster than two (see bench/painpoints.py)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def banking_slice(shared_data):
    """6 intents x 15 questions from banking77 test."""
    with open(shared_data / "banking77" / "test.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    picked = []
    for intent in INTENTS:
        picked += [r for r in rows if r["category"] == intent][:15]
    return [r["text"] for r in picked], [r["category"] for r in picked]


# ---------------------------------------------------------------- filtering and extraction


@pytest.mark.parametrize("text", [
    "yes", "Yeah.", "no", "Thank you so much!", "Hi there", "hello, good morning", "okay great",
    "My name is John Smith", "my date of birth is March 3rd, 1980", "It's 12/04/1980",
    "the last four are 4 4 2 1", "uh huh", "",
])
def test_chatter_carries_no_problem(text):
    assert not is_problem(text)


@pytest.mark.parametrize("text", [
    "My card still hasn't arrived", "Why was I charged twice?", "I can't log in to the app",
    "I need a quote for my newest car", "the cash machine gave me the wrong amount",
])
def test_problems_are_kept(text):
    assert is_problem(text)


def test_problem_statement_drops_greeting_and_name():
    text = ("Hello, my name is Alisa Keller and I've been a customer for many years. "
            "I need help in getting a quote for my car insurance.")
    assert problem_statement(text) == "I need help in getting a quote for my car insurance"


@pytest.mark.parametrize("text, statements", [
    ("hi yes hello my name is john haddad my account number is four five double two oh nine "
     "i hope you can help me so why can't i take money from my account thanks a lot",
     ["why can't i take money from my account"]),
    ("Hello. It's Fatima here. My date of birth is the twelfth of june 1979. Why is there a "
     "pending hold on my statement? Oh and another thing, which countries do you operate in?",
     ["Why is there a pending hold on my statement", "which countries do you operate in?"]),
    ("yeah hi james tanaka speaking the last four of my card are 6942 um my card needs to be "
     "topped up", ["my card needs to be topped up"]),
    ("Hey! I'm Kelly Hart. I want to set up auto payments please",
     ["I want to set up auto payments"]),
])
def test_problem_statements_of_a_call_turn(text, statements):
    """Greetings, names, numbers read out and fillers go; two requests stay two, in order;
    "my card" without a number is no ID check."""
    assert problem_statements(text) == statements
    if len(text.split()) > SHORT_TURN:  # a short turn keeps its clauses whole
        assert problem_statement(text) == statements[0]


def test_problem_statement_of_a_long_turn_keeps_the_problem_clause():
    text = ("Hi, good morning. So I was at the shops yesterday with my sister and we had a lovely "
            "lunch and then we went to look at some shoes in the big department store downtown. "
            "When I tried to pay, my card was declined even though I have money in the account.")
    statement = problem_statement(text, max_words=20)
    assert "declined" in statement and "lunch" not in statement


# ---------------------------------------------------------------- clustering and labels


def test_clustering_finds_the_intents_without_k(embedder, banking_slice):
    from sklearn.metrics import adjusted_rand_score

    texts, truth = banking_slice
    result = cluster_texts(texts, embedder)
    found = {c for c in result.clusters if c != "-1"}
    assert 4 <= len(found) <= 10
    assert adjusted_rand_score(truth, result.clusters) > 0.6
    assert all(result.labels[c] for c in found)


def test_labels_are_phrases_cut_from_a_central_statement(embedder, banking_slice):
    """Each label is a short phrase a person would write: words of one of its cluster's
    statements, in the order said (not a keyword list), naming the cluster's topic."""
    texts, truth = banking_slice
    result = cluster_texts(texts, embedder)
    topics = {"card_arrival": "card", "lost_or_stolen_card": "card", "exchange_rate": "rate",
              "pending_transfer": "transfer", "wrong_amount_of_cash_received": "cash",
              "age_limit": "age"}
    for c, label in result.labels.items():
        members = [result.problems[i] for i, k in enumerate(result.clusters) if k == c]
        words = label.replace(",", "").lower().split()
        assert 1 <= len(words) <= PainPointOptions().label_words, label
        assert any(_in_order(words, m) for m in members), (label, members[:3])
        intent = Counter(t for t, k in zip(truth, result.clusters, strict=True) if k == c)
        assert topics[intent.most_common(1)[0][0]] in label.lower(), label


def _in_order(words: list[str], statement: str) -> bool:
    said = iter(statement.lower().replace(",", " ").replace("?", " ").split())
    return all(any(w == s.strip(".!") for s in said) for w in words)


@pytest.mark.parametrize("statement, label", [
    ("I ordered a new debit card two weeks ago, and it still hasn't arrived.",
     "ordered a new debit card, still hasn't arrived"),
    ("Why have I been charged twice for the same transaction?",
     "charged twice for the same transaction"),
    ("Hi. I would like to set up Automatic credit card payments please",
     "set up automatic credit card payments"),
    ("I need a loan", "need a loan"),
    ("How do I activate my card?", "activate card"),
    ("I can't log in to the app", "can't log in to the app"),
    ("Is there a fee for using the ATM [CARD]", "fee for using the ATM"),
])
def test_a_statement_cut_to_a_label(statement, label):
    from assist.painpoints.labels import phrase

    weights = {w: 1.0 for w in ("arrived", "card", "ordered")}  # both clauses of the first weigh
    assert phrase(statement, weights) == label


def test_a_label_stays_while_its_statement_is_still_central(embedder):
    texts = CARD + CHARGE
    vectors = embed(embedder, texts)
    clusters = [0] * 5 + [1] * 5
    fresh = painpoint_labels(texts, vectors, clusters)
    assert "card" in fresh[0] and "charged twice" in fresh[1]
    held = painpoint_labels(texts, vectors, clusters,
                            keep={0: "card you sent never arrived", 1: "weather on mars"})
    assert held == {0: "card you sent never arrived", 1: fresh[1]}


# ---------------------------------------------------------------- the tracker

CARD = ["my new card has not arrived yet", "I am still waiting for my card to arrive",
        "when will my card be delivered", "my card hasn't come in the post",
        "the card you sent never arrived"]
CHARGE = ["I was charged twice for the same purchase", "there is a double charge on my account",
          "you took the payment two times", "why was my card charged twice",
          "a duplicate transaction shows on my statement"]


def _tracker(embedder, store=None, **kw) -> PainPointTracker:
    options = PainPointOptions(background=False, recluster_every=10**6, recluster_fraction=0,
                               **kw)
    return PainPointTracker(store=store, embedder=embedder, options=options)


def test_online_assignment_and_candidates(embedder):
    tracker = _tracker(embedder)
    for i, text in enumerate(CARD + CHARGE):
        tracker.observe(text, when=T0 + timedelta(minutes=i))
    assert tracker.points == {}  # before the first clustering, all are candidates
    tracker.recluster()
    assert len(tracker.points) == 2
    card, charge = tracker.assign(CARD[0]), tracker.assign(CHARGE[0])
    assert card and charge and card != charge
    assert tracker.assign("my parcel with the card is late, it has not arrived") == card
    assert tracker.assign("what is the weather like on mars") is None


def test_ids_stay_stable_across_reclustering(embedder):
    tracker = _tracker(embedder)
    for i, text in enumerate(CARD + CHARGE):
        tracker.observe(text, when=T0 + timedelta(minutes=i))
    tracker.recluster()
    before = {tracker.assign(CARD[0]), tracker.assign(CHARGE[0])}
    login = ["I can't log in to the app", "the app will not let me sign in",
             "login fails on my phone", "I am locked out of the mobile app"]
    for i, text in enumerate(login + CARD[:2]):
        tracker.observe(text, when=T0 + timedelta(hours=1, minutes=i))
    tracker.recluster()
    assert {tracker.assign(CARD[0]), tracker.assign(CHARGE[0])} == before
    assert len(tracker.points) == 3 and tracker.assign(login[0]) not in before


def test_background_reclustering_runs_every_n(embedder):
    options = PainPointOptions(recluster_every=10, background=True)
    tracker = PainPointTracker(embedder=embedder, options=options)
    for i, text in enumerate(CARD + CHARGE):
        tracker.observe(text, when=T0 + timedelta(minutes=i))
    tracker.wait()
    assert len(tracker.points) == 2


def test_rise_rule_with_fake_times():
    options = PainPointOptions(window=3600, baseline=24 * 3600, rise_factor=3, min_count=5)
    # two a day for a day before (0.083/h → floor 1): five in the last hour rise
    history = [T0 - timedelta(hours=h) for h in (3, 15)]
    recent = [T0 + timedelta(minutes=m) for m in range(0, 50, 10)]
    times = sorted(history + recent)
    now = T0 + timedelta(minutes=50)
    count, baseline = rise(times, now, options, history_start=T0 - timedelta(days=2))
    assert count == 5 and baseline == 1.0
    # a steady 6 per hour all day is its own baseline: no rise
    steady = [T0 - timedelta(minutes=10 * i) for i in range(6 * 25)]
    count, baseline = rise(sorted(steady), T0, options, history_start=T0 - timedelta(days=2))
    assert count >= 5 and count < options.rise_factor * baseline


def test_tracker_warns_once_per_rise_with_cooldown(embedder):
    tracker = _tracker(embedder, min_count=4, rise_factor=3, cooldown=2 * 3600)
    for i, text in enumerate(CARD + CHARGE):  # a day earlier: the history
        tracker.observe(text, when=T0 - timedelta(days=1, minutes=-i))
    tracker.recluster()
    events = []
    for i in range(8):  # the card problem comes back 8 times in 40 minutes
        events += tracker.observe(CARD[i % 5] + " please help", when=T0 + timedelta(minutes=5 * i))
    assert len(events) == 1 and isinstance(events[0], PainPoint)
    assert events[0].cluster == tracker.assign(CARD[0]) and events[0].count == 4
    assert "card" in events[0].label
    # the rise subsides, comes back within the cool-down: quiet; after it: a new warning
    later = T0 + timedelta(hours=3)
    quiet = tracker.observe(CARD[0], when=later)
    assert quiet == []
    again = []
    for i in range(6):
        again += tracker.observe(CARD[i % 5], when=later + timedelta(minutes=i))
    assert len(again) == 1


def test_feed_takes_customer_problems_only(embedder):
    tracker = _tracker(embedder)
    tracker.start("call-1")
    assert tracker.feed(Utterance(speaker="agent", text="my card has not arrived")) == []
    tracker.feed(Utterance(speaker=CUSTOMER, text="thank you"))
    tracker.feed(Utterance(speaker=CUSTOMER, text="my card has not arrived"))
    assert [i.call_id for i in tracker._items] == ["call-1"]


# ---------------------------------------------------------------- store and CLI


def _filled(tmp_path, embedder, follow_ups: tuple[str, ...] | list[str] = ()):
    """A real SQLite store: the card and the charge problems of four calls over a day and
    a bit, re-clustered; then ``follow_ups`` from a fifth call, ten minutes ago."""
    from assist.store import Store

    url = str(tmp_path / "pp.db")
    store = Store(url, spool_dir=tmp_path / "spool")
    tracker = _tracker(embedder, store=store)
    now = datetime.utcnow()
    for i, text in enumerate(CARD * 2 + CHARGE):
        tracker.observe(text, when=now - timedelta(hours=30 - i), call_id=f"c{i % 4}")
    tracker.recluster()
    for i, text in enumerate(follow_ups):
        tracker.observe(text, when=now - timedelta(minutes=10 - i), call_id="c9")
    return url, store, tracker.assign(CARD[0]), tracker


@pytest.fixture(scope="module")
def filled_db(tmp_path_factory, embedder):
    url, store, card, tracker = _filled(tmp_path_factory.mktemp("painpoints"), embedder)
    yield url, store, card, tracker
    store.close()


def test_state_survives_in_the_store(filled_db, embedder):
    url, store, card, tracker = filled_db
    again = _tracker(embedder, store=store)
    assert again.points == tracker.points and again.assign(CARD[1]) == card


def test_list_show_report(filled_db, tmp_path):
    url, store, card, _ = filled_db
    runner = CliRunner()
    listed = runner.invoke(painpoints, ["list", "--db", url])
    assert listed.exit_code == 0, listed.output
    assert card in listed.output and "card" in listed.output
    shown = runner.invoke(painpoints, ["show", card, "--db", url])
    assert shown.exit_code == 0 and "10 problems" in shown.output and CARD[0] in shown.output
    md = runner.invoke(painpoints, ["report", "--db", url, "--format", "md"])
    assert md.exit_code == 0 and "## " in md.output and any(s in md.output for s in "▁▂▃█")
    out = tmp_path / "r.html"
    html = runner.invoke(painpoints, ["report", "--db", url, "--format", "html", "-o", str(out)])
    assert html.exit_code == 0 and out.read_text().count("<svg") == 2
    rising = runner.invoke(painpoints, ["rising", "--db", url, "--window", "48", "--min-count", "3"])
    assert rising.exit_code == 0, rising.output
    assert any(card in line and line.endswith("YES") for line in rising.output.splitlines())


def test_chart_counts_calls_and_draws_the_early_warnings_baseline():
    """A pain point raised by one call a day for nine days, then by six calls within the
    hour: the bars count calls per day; the dashed line is the usual calls per day that
    'painpoints rising' reckons (per window, times the windows in a day), none on the
    first day of history; the warning is marked on its day."""
    from assist.painpoints import PainPointRow, painpoint_chart

    options = PainPointOptions()
    start = datetime(2026, 3, 1, 12, 0)
    times = [start + timedelta(days=d) for d in range(9)]
    times += [start + timedelta(days=9, minutes=5 * i) for i in range(1, 7)]
    row = PainPointRow("pp1", "card has not arrived", 15, 15, times[0], times[-1], [], times)
    now = start + timedelta(days=9, hours=1)
    chart = painpoint_chart(row, 10, now, options, history_start=start,
                            warnings=[start + timedelta(days=9, minutes=25)])
    assert [d.day for d in chart.days] == list(range(1, 11))
    assert chart.series == {"calls": [1] * 9 + [6]}
    assert np.isnan(chart.baseline[0])
    _recent, per_window = rise(times, now, replace(options, baseline_floor=0.0), start)
    assert chart.baseline[-1] == pytest.approx(per_window * 24, abs=0.01)
    assert chart.baseline[-1] == pytest.approx(1.0, abs=0.05)  # one call a day, as it was
    assert chart.marks == [date(2026, 3, 10)]


def test_report_html_charts_each_painpoint_with_its_axes(filled_db, tmp_path):
    url, _store, card, _ = filled_db
    out = tmp_path / "r.html"
    result = CliRunner().invoke(painpoints, ["report", "--db", url, "--format", "html", "-o",
                                             str(out), "--days", "7", "--window", "2"])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.count("<svg") == 2 and "<script" not in page
    assert not re.findall(r'(?:src|href)="(?!#)', page)  # self-contained: nothing fetched
    assert f'href="#{card}"' in page and "within 2 hours" in page
    chart = page[page.index(f'id="{card}"'):]
    today = datetime.utcnow().date()
    for day in (today - timedelta(days=6), today):  # the first and last days on the axis
        assert f">{day:%a}</text>" in chart and f">{day.day}" in chart
    assert ">calls</text>" in chart and "usual calls per day" in chart


def test_import_puts_problems_on_the_calls_days(tmp_path, embedder):
    """Calls imported today that happened on three days are counted on those days."""
    from assist.cli import main

    now = datetime.utcnow().replace(microsecond=0)
    when = [now - timedelta(days=2), now - timedelta(days=1), now - timedelta(hours=1)]
    calls = [{"id": f"c{i}", "started": w.isoformat() + "Z", "agent": "amy", "utterances": [
        {"speaker": "customer", "start": 0, "end": 3, "text": text}]}
        for i, (w, text) in enumerate(zip(when, CARD, strict=False))]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in calls))
    db = str(tmp_path / "imported.db")
    runner = CliRunner()
    assert runner.invoke(main, ["import", str(path), "--db", db]).exit_code == 0
    [row] = [json.loads(line) for line in
             runner.invoke(painpoints, ["list", "--db", db, "--jsonl"]).output.splitlines()]
    assert row["daily"][-3:] == [1, 1, 1] and sum(row["daily"]) == 3
    assert row["last_seen"] == f"{when[-1]:%Y-%m-%d %H:%M}"


def test_list_jsonl_as_calls_jsonl_and_the_old_json(filled_db):
    url, _store, card, _ = filled_db
    runner = CliRunner()
    lines = runner.invoke(painpoints, ["list", "--db", url, "--jsonl"]).output.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["id"] for r in rows][0] == card and len(rows) == 2
    assert set(rows[0]) == {"id", "label", "count", "calls", "trend", "daily", "last_seen"}
    old = runner.invoke(painpoints, ["list", "--db", url, "--json"])
    assert json.loads(old.stdout) == rows and "deprecated" in old.stderr
    assert "--json " not in runner.invoke(painpoints, ["list", "--help"]).output


def test_cluster_the_stored_problems_with_db(filled_db):
    """--db clusters what the store holds, with the options given, and writes nothing."""
    from assist.store import painpoint_generation

    url, store, card, _ = filled_db
    before = painpoint_generation(store)
    result = CliRunner().invoke(painpoints, ["cluster", "--db", url, "--jsonl"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 15 and set(out[0]) == {"id", "cluster", "label", "text"}
    card_clusters = {o["cluster"] for o in out if o["text"] in CARD}
    assert len(card_clusters) == 1 and "-1" not in card_clusters
    assert all("card" in o["label"] for o in out if o["text"] in CARD)
    assert painpoint_generation(store) == before
    table = CliRunner().invoke(painpoints, ["cluster", "--db", url, "--min-size", "20"])
    assert table.exit_code == 0 and "(noise / no problem)" in table.output


def test_article_draft(filled_db):
    url, store, card, _ = filled_db
    title, questions = painpoint_article_draft(store, card)
    assert "card" in title.lower() and set(questions) <= set(CARD) and len(questions) == 5


def test_cluster_jsonl_contract(embedder, monkeypatch):
    import assist.models

    monkeypatch.setattr(assist.models, "load_embedder", lambda *a, **k: embedder)
    lines = [{"id": i, "text": t} for i, t in enumerate(CARD + ["thank you"] + CHARGE)]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\n"
    result = CliRunner().invoke(painpoints, ["cluster", "--jsonl"], input=stdin)
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["id"] for o in out] == [x["id"] for x in lines]
    assert out[5] == {"id": 5, "cluster": "-1", "label": ""}
    assert len({o["cluster"] for o in out[:5]}) == 1 and out[0]["cluster"] != out[6]["cluster"]
    assert out[0]["label"]


def test_every_command_has_help():
    runner = CliRunner()
    for name in painpoints.commands:
        result = runner.invoke(painpoints, [name, "--help"])
        assert result.exit_code == 0 and len(result.output) > 100
    assert "BASELINE" in runner.invoke(painpoints, ["--help"]).output


def test_sparkline():
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█" and sparkline([0, 0]) == "▁▁"


def test_helpers_work_without_numpy_surprises():
    assert np.isclose(rise([], T0, PainPointOptions())[1], 1.0)


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory, embedder):
    """Three real articles: double charges are answered, cards that never came are not."""
    import shutil

    from assist.kb import KnowledgeBase
    from assist.resources import shipped

    folder = tmp_path_factory.mktemp("kb")
    for name in ("transaction-charged-twice", "exchange-rates", "change-pin"):
        shutil.copy(shipped("kb") / f"{name}.md", folder)
    return KnowledgeBase.open(folder, embedder=embedder)


def test_kb_gaps_finds_poorly_answered_pain_points(filled_db, small_kb):
    from assist.painpoints import kb_gaps

    _url, store, card, _ = filled_db
    gaps = kb_gaps(store, small_kb)
    assert [g.painpoint.id for g in gaps] == [card]  # the charge pain point is answered
    gap = gaps[0]
    assert gap.score < small_kb.threshold and len(gap.examples) == 3
    assert all(text in CARD for text in gap.examples)
    assert gap.nearest is not None and gap.nearest.article in small_kb.ids
    assert kb_gaps(store, small_kb, threshold=0.0) == []


def test_kb_gaps_command(filled_db, small_kb):
    from assist.cli.painpoints import kb_gaps

    url, _store, card, _ = filled_db
    result = CliRunner().invoke(kb_gaps, ["--db", url, "--kb", str(small_kb.kb_dir)])
    assert result.exit_code == 0, result.output
    assert card in result.output and "< 0.50" in result.output and "nearest article:" in result.output
    assert result.output.count("problems,") == 1


# a customer's follow-ups: near the card problem (they join it online), but each alone
# does not say what is wrong, so no article answers it by itself
FOLLOW_UPS = ["I just need a card I can use", "I can't even pay for my shopping without a card",
              "still nothing, the card is not here", "I need the card for my holiday next week"]


@pytest.fixture(scope="module")
def followed_up(tmp_path_factory, embedder):
    """A store whose card pain point's latest problems are follow-ups (as in the demo call:
    "it never came in the post", "I just need a card I can use")."""
    url, store, card, tracker = _filled(tmp_path_factory.mktemp("followed"), embedder,
                                        FOLLOW_UPS)
    assert {tracker.assign(t) for t in FOLLOW_UPS} == {card}  # the latest five: 4 follow-ups
    yield url, store, card
    store.close()


@pytest.fixture(scope="module")
def card_kb(tmp_path_factory, embedder):
    """Real articles: cards that never came and double charges are both answered."""
    import shutil

    from assist.kb import KnowledgeBase
    from assist.resources import shipped

    folder = tmp_path_factory.mktemp("card-kb")
    for name in ("card-arrival", "transaction-charged-twice", "exchange-rates", "change-pin"):
        shutil.copy(shipped("kb") / f"{name}.md", folder)
    return KnowledgeBase.open(folder, embedder=embedder)


def test_kb_gaps_score_each_pain_point_as_kb_search_does(followed_up, card_kb):
    """The issue: 'kb gaps' called the demo's card problem unanswered (0.37) while 'kb
    search' scored its examples 0.96-0.99: gaps took the median over the latest problems,
    mostly follow-ups, and showed others.  Now every score it shows is the one 'kb search'
    gives that example, and the card pain point, answered, is no gap."""
    import statistics

    from assist.painpoints import kb_gaps

    _url, store, card = followed_up
    assert [g.painpoint.id for g in kb_gaps(store, card_kb)] == []
    every = kb_gaps(store, card_kb, threshold=1.01, limit=5)  # every pain point, all it scored
    assert len(every) == 2 and card in {g.painpoint.id for g in every}
    for gap in every:
        searched = [card_kb.search(text, top=1)[0] for text in gap.examples]
        assert [(f.article, round(f.score, 3)) for f in gap.found] == \
            [(f.article, round(f.score, 3)) for f in searched]
        assert gap.score == pytest.approx(statistics.median(f.score for f in searched))
    card_gap = next(g for g in every if g.painpoint.id == card)
    assert set(card_gap.examples) == set(CARD) and card_gap.score > 0.9
    assert card_gap.nearest.article == "card-arrival"


def test_kb_gaps_command_shows_the_search_score_of_each_example(followed_up, card_kb):
    from assist.cli.kb import kb as kb_group

    url, _store, card = followed_up
    runner = CliRunner()
    result = runner.invoke(kb_group, ["gaps", "--db", url, "--kb", str(card_kb.kb_dir),
                                      "--threshold", "1.01", "--examples", "1"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("    - "))
    text, shown = line[6:].rsplit("  (", 1)
    searched = runner.invoke(kb_group, ["search", text, "--kb", str(card_kb.kb_dir), "--top", "1"])
    score, _mark, article = searched.output.splitlines()[1].split()[:3]
    assert shown == f"{score} {article})"


def test_kb_new_from_a_painpoint_drafts_the_missing_article(filled_db, small_kb, tmp_path):
    """The card pain point has no article in small_kb; the drafted article, once in the
    KB, answers it: 'kb gaps' no longer lists it."""
    import shutil

    from assist.cli.kb import kb as kb_group
    from assist.kb import KnowledgeBase, load_articles
    from assist.painpoints import kb_gaps, load_rows

    url, store, card, _ = filled_db
    folder = tmp_path / "kb"
    shutil.copytree(small_kb.kb_dir, folder)
    result = CliRunner().invoke(kb_group, ["new", "--from-painpoint", card, "--kb", str(folder),
                                           "--db", url])
    assert result.exit_code == 0, result.output
    assert "with 5 questions from pain point" in result.output
    drafted = next(a for a in load_articles(folder) if a.id not in small_kb.ids)
    label = next(r for r in load_rows(store) if r.id == card).label
    assert drafted.title.lower() == label.lower() and sorted(drafted.questions) == sorted(CARD)
    grown = KnowledgeBase.open(folder, embedder=small_kb.embedder, cache=False)
    assert card in {g.painpoint.id for g in kb_gaps(store, small_kb)}
    assert card not in {g.painpoint.id for g in kb_gaps(store, grown)}


@pytest.mark.parametrize("args, message", [
    (["new", "--from-painpoint", "pp999"], "no pain point 'pp999'"),
    (["new"], "give a TITLE, or --from-painpoint ID"),
])
def test_kb_new_bad_input_is_one_line(filled_db, tmp_path, args, message):
    from assist.cli import main

    url = filled_db[0]
    result = CliRunner().invoke(main, ["kb", *args, "--kb", str(tmp_path / "kb"), "--db", url])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output and not (tmp_path / "kb").exists()


@pytest.mark.parametrize("module", ["assist.painpoints", "assist.cli.painpoints"])
def test_no_textual_or_torch_on_import(module):
    import subprocess
    import sys

    code = (f"import sys, {module}; print(sorted(m for m in ('textual', 'torch', "
            "'sentence_transformers', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_calls_with_the_same_complaint_raise_one_painpoint_event(tmp_path, embedder):
    """Six short calls, each with chatter and the same complaint, through the analyzer
    hooks and a StoreSink, as the live pipeline runs them."""
    from assist.store import Store, StoreSink

    clock = [T0]
    store = Store(str(tmp_path / "e2e.db"), spool_dir=tmp_path / "spool")
    options = PainPointOptions(recluster_every=3, background=False, min_count=4)
    tracker = PainPointTracker(store, embedder, options, clock=lambda: clock[0])
    raised = []
    for n in range(6):
        sink = StoreSink(store, agent="amy")
        tracker.start(sink.start_call(f"call{n}"))
        for text in ["hello", "yes it's Jo Bloggs", CARD[n % 5], "okay thank you"]:
            utterance = Utterance(speaker=CUSTOMER, text=text)
            sink(utterance)
            for event in tracker.feed(utterance):
                sink(event)
                raised.append(event)
        tracker.finish(0.0)
        sink.close()
        clock[0] += timedelta(minutes=5)
    assert len(raised) == 1 and raised[0].count == 4 and "card" in raised[0].label
    listed = CliRunner().invoke(painpoints, ["list", "--db", str(tmp_path / "e2e.db"), "--jsonl"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert rows[0]["id"] == raised[0].cluster and rows[0]["count"] == 6 and rows[0]["calls"] == 6
    # two calls and re-clusterings later, the list names it as the live event did
    assert rows[0]["label"] == raised[0].label
    store.close()


def test_the_rule_counts_calls_not_repeats(embedder):
    tracker = _tracker(embedder, min_count=3, rise_factor=3)
    for i, text in enumerate(CARD):
        tracker.observe(text, when=T0 + timedelta(minutes=i), call_id="c0")
    tracker.recluster()
    # one customer says it again and again: one call, no warning
    said = [tracker.observe(CARD[i % 5], when=T0 + timedelta(minutes=10 + i), call_id="c1")
            for i in range(6)]
    assert not any(said)
    # a third call about it within the hour does warn, with the count of calls
    events = tracker.observe(CARD[0], when=T0 + timedelta(minutes=30), call_id="c2")
    assert [e.count for e in events] == [3]


def test_a_rise_a_reclustering_finds_is_warned_on_the_calls_next_hook(embedder):
    """The problems of three calls form a pain point only when re-clustered (nothing to
    join online before): the call whose problem made it rise still gets the warning,
    once, on its next hook."""
    tracker = _tracker(embedder, min_count=3, rise_factor=3)
    for n, text in enumerate(CARD[:3]):
        tracker.start(f"c{n}")
        assert tracker.observe(text, when=T0 + timedelta(minutes=n), call_id=f"c{n}") == []
    assert tracker.points == {}
    tracker.clock = lambda: T0 + timedelta(minutes=3)
    tracker.recluster()
    events = tracker.tick(30.0, {CUSTOMER: False})
    assert [(e.count, "card" in e.label) for e in events] == [(3, True)]
    assert tracker.tick(31.0, {CUSTOMER: False}) == [] and tracker.finish(32.0) == []
    # a call the pain point does not hold is not told of it by its own re-clustering
    other = _tracker(embedder, min_count=3, rise_factor=3)
    for n, text in enumerate(CARD[:3]):
        other.observe(text, when=T0 + timedelta(minutes=n), call_id=f"c{n}")
    other.start("c9")
    other.clock = lambda: T0 + timedelta(minutes=3)
    other.recluster()
    assert other.finish(30.0) == []


def test_a_young_tracker_finds_its_first_pain_point_within_a_call(embedder):
    options = PainPointOptions(background=False)  # recluster_every 50, recluster_fraction 0.1
    tracker = PainPointTracker(embedder=embedder, options=options)
    for i, text in enumerate(CARD[:3]):
        tracker.observe(text, when=T0 + timedelta(minutes=i), call_id="c0")
    assert len(tracker.points) == 1  # after 3 problems, not 50
    assert "card" in next(iter(tracker.points.values()))


def test_call_commands_take_the_alert_thresholds_and_explain_the_rule():
    from assist.cli import main

    for command in ("replay", "demo", "live"):
        shown = CliRunner().invoke(main, [command, "--help"])
        assert shown.exit_code == 0
        assert "--alert-min-count" in shown.output and "RECENT" in shown.output


def test_fragments_join_a_close_bigger_cluster_and_distinct_ones_stay():
    from assist.painpoints import merge_fragments

    rng = np.random.default_rng(0)
    axes = np.eye(8, dtype=np.float32)

    def blob(direction, n):
        points = direction + rng.normal(0, 0.05, (n, 8)).astype(np.float32)
        return points / np.linalg.norm(points, axis=1, keepdims=True)

    near = (axes[0] + 0.8 * axes[1]) / np.linalg.norm(axes[0] + 0.8 * axes[1])  # cos 0.78
    vectors = np.concatenate([blob(axes[0], 100), blob(near, 4), blob(axes[2], 4),
                              blob(axes[3], 2)])
    labels = np.array([0] * 100 + [1] * 4 + [2] * 4 + [-1] * 2)
    merged = merge_fragments(vectors, labels, fragment=5, similarity=0.55)
    assert merged.tolist() == [0] * 104 + [2] * 4 + [-1] * 2


def _blobs(rng, centres: np.ndarray, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    points = np.repeat(centres, n, axis=0) + rng.normal(0, noise, (len(centres) * n,
                                                                   centres.shape[1]))
    points = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)
    return points, np.repeat(np.arange(len(centres)), n)


def test_spectral_redraws_the_clusters_the_agglomerative_cut_counts(monkeypatch):
    from sklearn.metrics import adjusted_rand_score

    import assist.painpoints.clustering as pp

    calls = []
    spectral = pp._spectral
    monkeypatch.setattr(pp, "_spectral", lambda graph, k: calls.append(k) or spectral(graph, k))

    rng = np.random.default_rng(1)
    vectors, truth = _blobs(rng, np.eye(16)[:6], 40, 0.2)  # 240 problems, 6 topics, touching
    options = PainPointOptions()
    assert options.method == "spectral" and len(vectors) >= options.spectral_min_items
    found = cluster_embeddings(vectors, options)
    agglomerative = cluster_embeddings(vectors, PainPointOptions(method="agglomerative"))
    assert calls == [int(agglomerative.max()) + 1]  # spectral ran with the k the cut found
    assert adjusted_rand_score(truth, found) > 0.8
    assert found.tolist() == cluster_embeddings(vectors, options).tolist()  # deterministic

    calls.clear()  # six far-apart topics: the graph falls in six pieces, which are the answer
    vectors, truth = _blobs(rng, np.eye(16)[:6], 30, 0.12)
    found = cluster_embeddings(vectors, options)
    assert calls == [] and adjusted_rand_score(truth, found) > 0.95


def test_spectral_leaves_a_small_set_to_the_agglomerative_clusters():
    rng = np.random.default_rng(2)
    vectors, _ = _blobs(rng, np.eye(8)[:3], 10, 0.1)  # 30 < spectral_min_items
    spectral = cluster_embeddings(vectors, PainPointOptions())
    agglomerative = cluster_embeddings(vectors, PainPointOptions(method="agglomerative"))
    assert spectral.tolist() == agglomerative.tolist()


def test_average_merge_rejoins_a_split_cluster_only():
    from assist.painpoints import average_merge

    rng = np.random.default_rng(3)
    a, _ = _blobs(rng, np.eye(8)[:1], 40, 0.1)
    b, _ = _blobs(rng, np.eye(8)[1:2], 40, 0.1)
    vectors = np.concatenate([a, b])
    split = np.array([0] * 20 + [1] * 20 + [2] * 40)  # the first topic cut in two
    merged = average_merge(vectors, split, distance=0.40)
    assert len(set(merged[:40].tolist())) == 1 and merged[0] != merged[40]
    assert average_merge(vectors, split, distance=0.0).tolist() == split.tolist()


def test_ids_stay_stable_when_spectral_clustering_redraws(embedder, shared_data, monkeypatch):
    import assist.painpoints.clustering as pp

    runs = []
    spectral = pp._spectral
    monkeypatch.setattr(pp, "_spectral", lambda graph, k: runs.append(k) or spectral(graph, k))
    with open(shared_data / "banking77" / "test.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    intents = sorted({r["category"] for r in rows})[:20]
    by_intent = {i: [r["text"] for r in rows if r["category"] == i][:15] for i in intents}
    tracker = _tracker(embedder)
    assert tracker.options.method == "spectral"

    def majority() -> dict[str, str | None]:
        return {intent: Counter(tracker.assign(t) for t in texts).most_common(1)[0][0]
                for intent, texts in by_intent.items()}

    for i, texts in enumerate(by_intent.values()):
        for j, text in enumerate(texts[:10]):  # ~200 problems: spectral clustering runs
            tracker.observe(text, when=T0 + timedelta(minutes=20 * i + j))
    tracker.recluster()
    before = majority()
    for i, texts in enumerate(by_intent.values()):
        for j, text in enumerate(texts[10:]):
            tracker.observe(text, when=T0 + timedelta(hours=8, minutes=10 * i + j))
    tracker.recluster()
    after = majority()
    assert len(runs) == 2  # both re-clusterings were redrawn by spectral clustering
    named = [i for i in intents if before[i]]
    assert len(named) >= 15
    assert sum(before[i] == after[i] for i in named) >= 0.8 * len(named)
