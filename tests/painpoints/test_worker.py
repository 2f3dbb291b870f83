"""``assist worker`` on a real PostgreSQL server: one agent's calls make a pain point rise,
and a second agent, mid-call, has it on screen within 5 s (two replays, real models)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from assist.cli import main
from assist.store import Store, read_painpoint_items, worker_running
from helpers import DATA

CALLS = DATA / "calls"
RISING_CALLS = [CALLS / "card-never-came.flac", CALLS / "card-not-delivered.flac",
                CALLS / "card-still-waiting.flac"]


class Lines(threading.Thread):
    """A process's output lines, each with the moment it was read."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.lines = stream, []

    def run(self) -> None:
        for line in self.stream:
            self.lines.append((time.time(), line.rstrip("\n")))

    def wait_for(self, text: str, timeout: float) -> float:
        end = time.time() + timeout
        while time.time() < end:
            for when, line in self.lines:
                if text in line:
                    return when
            time.sleep(0.1)
        raise AssertionError(f"no line with {text!r} in {timeout} s: {self.lines[-5:]}")


def _epoch(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _long_call(folder: Path) -> Path:
    """A second agent's call about something else, long enough to be live throughout."""
    audio, rate = sf.read(str(CALLS / "charged-twice.flac"), dtype="float32", always_2d=True)
    path = folder / "long-call.wav"
    sf.write(str(path), np.concatenate([audio] * 3), rate)
    return path


def test_a_rising_pain_point_reaches_a_second_agent_within_5_s(pg_url, tmp_path,
                                                                whisper_model, embedder):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "XDG_DATA_HOME": str(tmp_path / "data"),
           "PYTHONUNBUFFERED": "1"}
    rule = ["--alert-min-count", "3"]  # three calls about the card within the hour
    worker = subprocess.Popen([sys.executable, "-m", "assist", "worker", "--db", pg_url,
                               "--min-count", "3"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    second = None
    try:
        said, log = Lines(worker.stdout), Lines(worker.stderr)
        said.start()
        log.start()
        log.wait_for("pain points", timeout=60)  # its first pass is done
        with Store(pg_url) as store:
            assert worker_running(store)
        second = subprocess.Popen(
            [sys.executable, "-m", "assist", "replay", str(_long_call(tmp_path)), "--realtime",
             "--jsonl", "--db", pg_url, *rule],
            stdout=subprocess.PIPE, text=True, env=env)
        screen = Lines(second.stdout)
        screen.start()
        screen.wait_for('"type": "ready"', timeout=120)

        runner = CliRunner()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
            for path in RISING_CALLS:
                result = runner.invoke(main, ["replay", str(path), "--jsonl", "--db", pg_url,
                                              *rule])
                assert result.exit_code == 0, result.output
        rose = said.wait_for("rising:", timeout=30)
        assert second.poll() is None, "the second call must still be live"
        shown = screen.wait_for('"type": "painpoint"', timeout=10)
        # the cause: the last problem the first agent's calls saved before the worker warned
        with Store(pg_url) as store:
            seen = [_epoch(row.seen) for row in read_painpoint_items(store, 1000)[2]]
        cause = max(t for t in seen if t <= rose + 0.5)
        print(f"problem saved -> worker warns {rose - cause:.2f} s -> second screen "
              f"{shown - rose:.2f} s (total {shown - cause:.2f} s)")
        assert shown - cause <= 5.0, (shown - cause, rose - cause, said.lines)
        event = next(json.loads(line) for _, line in screen.lines if '"painpoint"' in line)
        assert event["label"] and event["count"] >= 3
        assert event["cluster"] in next(line for _, line in said.lines if "rising:" in line)
    finally:
        for process in (second, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    with Store(pg_url) as store:
        assert not worker_running(store)  # a stopped worker frees the store for the next
