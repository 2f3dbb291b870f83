"""End to end: recorded calls in which customers make the same complaint, replayed one
after another through the real CLI (``assist replay FILE --jsonl --db ...``: real tiny.en,
real embeddings, real SQLite store), raise the pain point with a readable label and,
once enough calls have raised it within the hour, one ``painpoint`` event.

The calls are made by ``scripts/make_sample_call.py`` (the bundled sample call, and
``--calls`` for tests/data/calls).  The default run replays four short calls (three
about the card and a control) with ``--alert-min-count 3``, a documented threshold;
the slow test replays the sample call and all five short calls with the default
thresholds (five calls), as README.md shows.  The CLI runs in this process, so it
takes the models the session fixtures loaded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from assist.cli import main
from assist.resources import sample_call
from helpers import DATA

CALLS = DATA / "calls"
CONTROL = CALLS / "charged-twice.flac"  # a different complaint
SHORT = [CALLS / "card-never-came.flac", CONTROL, CALLS / "card-not-delivered.flac",
         CALLS / "card-still-waiting.flac"]
ALL = [sample_call(), CALLS / "card-never-came.flac", CONTROL, CALLS / "card-not-delivered.flac",
       CALLS / "card-still-waiting.flac", CALLS / "card-lost-in-post.flac"]


@dataclass
class Replayed:
    """Calls replayed into one store.

    Attributes:
        db: the store; paths: the calls in order; streams: each call's JSON lines.
    """

    db: str
    paths: list[Path]
    streams: list[list[dict]]


def replay_all(paths: list[Path], base: Path, *flags: str) -> Replayed:
    """``assist replay`` each call into one store, in this process."""
    import torch


    db = str(base / "team.db")
    threads = torch.get_num_threads()
    runner = CliRunner()
    streams = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(base / "data"))  # the spool, away from the user's
        for path in paths:
            result = runner.invoke(main, ["replay", str(path), "--jsonl", "--db", db, *flags])
            assert result.exit_code == 0, result.output
            streams.append([json.loads(line) for line in result.stdout.splitlines()])
    torch.set_num_threads(threads)
    return Replayed(db, paths, streams)


@pytest.fixture(scope="module")
def replayed(whisper_model, embedder, tmp_path_factory) -> Replayed:
    return replay_all(SHORT, tmp_path_factory.mktemp("e2e"), "--alert-min-count", "3")


def _call_id(stream: list[dict]) -> str:
    return next(e["call"] for e in stream if e["type"] == "end")


def check_one_event_on_the_last_call(run: Replayed, calls: int) -> dict:
    raised = [(n, e) for n, stream in enumerate(run.streams) for e in stream
              if e["type"] == "painpoint"]
    # the control does not count: the last call is the one that reaches the threshold
    assert [n for n, _e in raised] == [len(run.paths) - 1], raised
    event = raised[0][1]
    assert event["count"] == calls and "card" in event["label"]
    return event


def check_list_and_show(run: Replayed, calls: int) -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["painpoints", "list", "--db", run.db, "--jsonl"])
    assert listed.exit_code == 0, listed.output
    top = json.loads(listed.stdout.splitlines()[0])
    assert "card" in top["label"] and top["calls"] == calls
    event = next(e for e in run.streams[-1] if e["type"] == "painpoint")
    # one name: the live event's label is the one the list (and every report) shows
    assert top["id"] == event["cluster"] and top["label"] == event["label"]
    shown = runner.invoke(main, ["painpoints", "show", top["id"], "--db", run.db,
                                 "--examples", "100"])
    assert shown.exit_code == 0, shown.output
    found = set(re.findall(r"\[(\w+)\]", shown.stdout))
    card_calls = {_call_id(s) for p, s in zip(run.paths, run.streams, strict=True)
                  if p != CONTROL}
    assert found == card_calls


def test_calls_are_transcribed_on_both_sides(replayed):
    for path, stream in zip(replayed.paths, replayed.streams, strict=True):
        said = {e["speaker"] for e in stream if e["type"] == "utterance"}
        assert said == {"agent", "customer"}, path.name


def test_the_third_call_about_the_card_raises_one_painpoint_event(replayed):
    check_one_event_on_the_last_call(replayed, calls=3)


def test_painpoints_list_shows_the_card_problem_without_the_control(replayed):
    check_list_and_show(replayed, calls=3)


def test_the_event_is_stored_with_the_call(replayed):
    from sqlalchemy import select

    from assist.store import Store, painpoint_mentions

    with Store(replayed.db) as store, store.engine.connect() as conn:
        stored = conn.execute(select(painpoint_mentions.c.call_id,
                                     painpoint_mentions.c.painpoint_id)).all()
    event = next(e for e in replayed.streams[-1] if e["type"] == "painpoint")
    assert [tuple(r) for r in stored] == [(_call_id(replayed.streams[-1]), event["cluster"])]


@pytest.mark.slow
def test_sample_call_and_five_more_with_the_default_thresholds(whisper_model, embedder,
                                                               tmp_path):
    """The issue's Must-show: the fifth call about the card warns (about 4 min here)."""
    run = replay_all(ALL, tmp_path)
    check_one_event_on_the_last_call(run, calls=5)
    check_list_and_show(run, calls=5)
