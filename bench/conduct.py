"""How the call goes: overtalk, checklists, customer frustration, repeats and the wrap-up,
measured on labelled calls with real overlaps, through the live pipeline.

The calls are ``bench/data/conduct_calls.jsonl`` (scripted bank and telecom calls, two
voices, interruptions and backchannels, missed and late steps, customers who get upset
and restate their problem), rendered by ``bench/conduct_calls.py`` into
``bench/data/conduct/`` on first use (minutes; the labels' times come from the rendered
audio).  Each call is replayed through the real pipeline (tiny.en, both channels, every
analyzer, the company name set) and scored against its labels:

- overtalk: precision and recall of ``overtalk`` events (same speaker, overlapping the
  labelled stretch);
- checklist: share of items whose last status is the labelled one;
- frustration: ROC AUC on the held-out labelled customer turns
  (``tests/data/moods_eval.tsv``; words only), and on the calls' heard customer turns
  (words only vs words, voice, overtalk and repeats); a rise counts as flagged when the
  first ``frustrated``/``angry`` event comes at the labelled turn or within the two
  customer turns after it; a call without an upset turn must raise none;
- repeats: recall of restated problems (a ``repeat`` after the heard turn), and repeats
  on calls where nothing is restated;
- latency: with ``--realtime N``, the first N calls are replayed again at real-time pace:
  each event's ``t`` after its cause (an overtalk's end, the utterance it follows);
- cost: the added analyzers' time per second of audio (share of one core).

Targets (issue 20): overtalk P and R >= 0.9; checklist >= 0.95; AUC >= 0.85 and the rise
within two turns; repeats recall >= 0.9 with none on calm calls; events <= 1 s after their
cause; the addition <= 5 % of one core.

    python bench/conduct.py [--split dev|heldout|all] [--realtime 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assist.audio import FileSource
from assist.call import Analyzer, CallSettings
from assist.conduct import (
    ChecklistMonitor,
    EmbeddingMood,
    FrustrationMonitor,
    RepeatMonitor,
    TalkMonitor,
    WrapUpWriter,
    read_moods,
)
from assist.events import (
    CUSTOMER,
    ChecklistStatus,
    Event,
    Overtalk,
    Repeat,
    Sentiment,
    Utterance,
    WrapUp,
)
from assist.models import load_embedder
from assist.session import build_pipeline, default_analyzers

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "bench" / "data" / "conduct_calls.jsonl"
RENDERS = ROOT / "bench" / "data" / "conduct"
MOODS_EVAL = ROOT / "tests" / "data" / "moods_eval.tsv"
CONDUCT = (TalkMonitor, ChecklistMonitor, RepeatMonitor, FrustrationMonitor, WrapUpWriter)
UPSET = ("frustrated", "angry")


class Timed(Analyzer):
    """An analyzer whose hooks are timed (the bench's cost figure)."""

    def __init__(self, inner: Analyzer):
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0

    def _timed(self, hook: str, *args: Any) -> Any:
        began = time.perf_counter()
        try:
            return getattr(self.inner, hook)(*args)
        finally:
            self.seconds += time.perf_counter() - began

    def warm_up(self) -> None:
        self.inner.warm_up()

    def start(self, call_id: str | None = None) -> Sequence[Event]:
        return self._timed("start", call_id)

    def feed(self, utterance: Utterance) -> Sequence[Event]:
        return self._timed("feed", utterance)

    def feed_partial(self, partial) -> Sequence[Event]:
        return self._timed("feed_partial", partial)

    def tick(self, audio_time: float, speaking: dict[str, bool]) -> Sequence[Event]:
        return self._timed("tick", audio_time, speaking)

    def hear(self, audio_time: float, voiced: dict[str, bool]) -> Sequence[Event]:
        return self._timed("hear", audio_time, voiced)

    def notice(self, event: Event) -> None:
        self._timed("notice", event)

    def finish(self, audio_time: float) -> Sequence[Event]:
        return self._timed("finish", audio_time)


def load_calls(split: str) -> list[dict[str, Any]]:
    calls = [json.loads(line) for line in SCRIPTS.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    return [c for c in calls if split == "all" or c["split"] == split]


def ensure_rendered(calls: list[dict[str, Any]]) -> None:
    missing = [c["id"] for c in calls if not (RENDERS / f"{c['id']}.wav").exists()]
    if missing:
        print(f"rendering {len(missing)} calls into {RENDERS} (Piper + espeak-ng; minutes)",
              flush=True)
        command = [sys.executable, str(ROOT / "bench" / "conduct_calls.py"), "--out", str(RENDERS),
                   "--scripts", str(SCRIPTS)]
        for ident in missing:
            command += ["--only", ident]
        subprocess.run(command, check=True)


@dataclass
class CallRun:
    call: dict[str, Any]
    labels: dict[str, Any]
    events: list[Event]
    audio_seconds: float
    conduct_seconds: float
    wall_seconds: float
    moods: list[tuple[float, float, float]] = field(default_factory=list)


def run_call(call: dict[str, Any], realtime: bool = False) -> CallRun:
    labels = json.loads((RENDERS / f"{call['id']}.json").read_text(encoding="utf-8"))
    settings = CallSettings.build(company=call["company"])
    source = FileSource(RENDERS / f"{call['id']}.wav", realtime=realtime)
    analyzers: list[Analyzer] = [Timed(a) if isinstance(a, CONDUCT) else a
                                 for a in default_analyzers(settings)]
    events: list[Event] = []
    pipeline = build_pipeline(settings, source.speakers, [events.append], analyzers)
    began = time.monotonic()
    end = pipeline.run(source)
    wall = time.monotonic() - began
    frustration = next(a.inner for a in analyzers
                       if isinstance(a, Timed) and isinstance(a.inner, FrustrationMonitor))
    assert isinstance(frustration, FrustrationMonitor)
    if not realtime:  # what --rescore reads back
        saved = RENDERS / f"{call['id']}.events.jsonl"
        saved.write_text("".join(e.to_json() + "\n" for e in events), encoding="utf-8")
    return CallRun(call, labels, events, end.duration,
                   sum(a.seconds for a in analyzers if isinstance(a, Timed)), wall,
                   list(frustration.history))


class SavedOvertalk(Analyzer):
    """The overtalk a saved run found, sent again as the transcript reaches it."""

    def __init__(self, found: list[Overtalk]):
        self.found = found

    def start(self, call_id: str | None = None) -> list[Event]:
        self.left = list(self.found)
        return []

    def feed(self, utterance: Utterance) -> list[Event]:
        due = [e for e in self.left if e.start + e.duration <= utterance.end]
        self.left = [e for e in self.left if e not in due]
        return due


def rescore_call(call: dict[str, Any], embedder: Any) -> CallRun:
    """A saved run's utterances through the analyzers again (no recognition: seconds); the
    saved overtalk stands in for the voice activity a transcript does not have."""
    from assist.call import TranscriptCall
    from assist.events import EVENT_TYPES

    labels = json.loads((RENDERS / f"{call['id']}.json").read_text(encoding="utf-8"))
    saved = []
    for line in (RENDERS / f"{call['id']}.events.jsonl").read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        kind = data.pop("type")
        data.pop("words", None)
        data.pop("t", None)
        if kind in ("utterance", "overtalk"):
            saved.append(EVENT_TYPES[kind](**data))
    utterances = [e for e in saved if isinstance(e, Utterance)]
    frustration = FrustrationMonitor(EmbeddingMood(embedder))
    analyzers = [SavedOvertalk([e for e in saved if isinstance(e, Overtalk)]),
                 ChecklistMonitor(company=call["company"], embedder=embedder),
                 RepeatMonitor(embedder), frustration]
    events: list[Event] = []
    TranscriptCall(utterances, analyzers, [events.append]).run()
    return CallRun(call, labels, events, utterances[-1].end if utterances else 0.0, 0.0, 0.0,
                   list(frustration.history))


def turn_of(labels: dict[str, Any], utterance: Utterance) -> int | None:
    """The script turn a heard utterance belongs to (most time in common, same speaker)."""
    best, most = None, 0.0
    for i, turn in enumerate(labels["turns"]):
        if turn["speaker"] != utterance.speaker:
            continue
        common = min(turn["end"], utterance.end) - max(turn["start"], utterance.start)
        if common > most:
            best, most = i, common
    return best


def after_utterance(events: list[Event]) -> list[tuple[Event, Utterance | None]]:
    """Each event with the last customer utterance before it in the stream."""
    last: Utterance | None = None
    out = []
    for event in events:
        if isinstance(event, Utterance) and event.speaker == CUSTOMER:
            last = event
        out.append((event, last))
    return out


def auc(scores: Sequence[float], upset: Sequence[bool]) -> float:
    """ROC AUC of 'lower score = more upset'."""
    s, y = np.asarray(scores), np.asarray(upset, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    pairs = s[y][:, None] - s[~y][None, :]
    return float((pairs < 0).mean() + 0.5 * (pairs == 0).mean())


def score_runs(runs: list[CallRun], mood: EmbeddingMood) -> dict[str, Any]:
    tp = fp = fn = 0
    check_right = check_all = 0
    rise_ok = rise_calls = false_rises = calm_calls = 0
    repeat_found = repeat_total = calm_repeats = 0
    heard_words, heard_full, heard_upset = [], [], []
    misses: list[str] = []
    for run in runs:
        labels, events = run.labels, run.events
        ident = run.call["id"]
        # overtalk
        found = [e for e in events if isinstance(e, Overtalk)]
        matched = set()
        for want in labels["overtalk"]:
            hit = next((i for i, e in enumerate(found) if i not in matched
                        and e.speaker == want["speaker"]
                        and e.start < want["start"] + want["duration"]
                        and want["start"] < e.start + e.duration), None)
            if hit is None:
                fn += 1
                misses.append(f"{ident}: overtalk missed {want}")
            else:
                matched.add(hit)
                tp += 1
        fp += len(found) - len(matched)
        misses += [f"{ident}: overtalk not labelled {e.speaker} {e.start:.1f}+{e.duration:.1f}"
                   for i, e in enumerate(found) if i not in matched]
        # checklist
        last = {e.item: e.status for e in events if isinstance(e, ChecklistStatus)}
        for item, want in labels["expect"]["checklist"].items():
            check_all += 1
            check_right += last.get(item) == want
            if last.get(item) != want:
                misses.append(f"{ident}: checklist {item} {last.get(item)} (labelled {want})")
        # frustration: heard customer turns, and the rise
        customer_turns = [i for i, t in enumerate(labels["turns"]) if t["speaker"] == CUSTOMER]
        upset_turns = [i for i in customer_turns if labels["turns"][i].get("mood") in UPSET]
        heard = [e for e in events if isinstance(e, Utterance) and e.speaker == CUSTOMER]
        for utterance, (_, raw, _) in zip(heard, run.moods, strict=False):
            turn = turn_of(labels, utterance)
            if turn is None:
                continue
            heard_words.append(float(mood.score([utterance.text])[0]))
            heard_full.append(raw)
            heard_upset.append(labels["turns"][turn].get("mood") in UPSET)
        first_upset = next(((e, u) for e, u in after_utterance(events)
                            if isinstance(e, Sentiment) and e.label in UPSET), None)
        if upset_turns:
            rise_calls += 1
            want = customer_turns.index(upset_turns[0])
            got = None
            if first_upset is not None and first_upset[1] is not None:
                turn = turn_of(labels, first_upset[1])
                got = customer_turns.index(turn) if turn in customer_turns else None
            ok = got is not None and want <= got <= want + 2
            rise_ok += ok
            if not ok:
                misses.append(f"{ident}: rise labelled at customer turn {want}, flagged at {got}")
        else:
            calm_calls += 1
            if first_upset is not None:
                false_rises += 1
                misses.append(f"{ident}: upset flagged on a calm call "
                              f"({first_upset[0].label}, {first_upset[0].score:+.2f})")
        # repeats
        restated = {i for i in customer_turns if (labels["turns"][i].get("repeat") or 0) >= 2}
        said = {turn_of(labels, u) for e, u in after_utterance(events)
                if isinstance(e, Repeat) and u is not None}
        if restated:
            repeat_total += len(restated)
            repeat_found += len(restated & said)
            misses += [f"{ident}: restatement at turn {i} not counted" for i in restated - said]
        else:
            calm_repeats += len(said)
            misses += [f"{ident}: repeat on a call that restates nothing (turn {i})" for i in said]
    texts, moods = read_moods(MOODS_EVAL)
    eval_auc = auc(mood.score(texts).tolist(), [m in UPSET for m in moods])
    audio = sum(r.audio_seconds for r in runs)
    return {
        "calls": len(runs), "audio_minutes": round(audio / 60, 1),
        "overtalk": {"precision": tp / (tp + fp) if tp + fp else 1.0,
                     "recall": tp / (tp + fn) if tp + fn else 1.0, "labelled": tp + fn,
                     "found": tp + fp},
        "checklist": {"accuracy": check_right / check_all if check_all else 1.0,
                      "items": check_all},
        "frustration": {"auc_turns_heldout_words": eval_auc,
                        "auc_calls_words": auc(heard_words, heard_upset),
                        "auc_calls_words_voice_events": auc(heard_full, heard_upset),
                        "rises_flagged_in_time": rise_ok, "rise_calls": rise_calls,
                        "false_rises": false_rises, "calm_calls": calm_calls},
        "repeats": {"recall": repeat_found / repeat_total if repeat_total else 1.0,
                    "restatements": repeat_total, "on_calls_without": calm_repeats},
        "cost_share_of_one_core": sum(r.conduct_seconds for r in runs) / audio if audio else 0.0,
        "misses": misses,
    }


def latencies(runs: list[CallRun]) -> dict[str, list[float]]:
    """Seconds from each event's cause to its ``t`` (real-time replays only): an overtalk's
    end, the end of the speech an utterance-driven event follows (recognition's final
    latency included), the call's end; and, for those, the analyzers' own share: ``t``
    after the utterance event they follow."""
    out: dict[str, list[float]] = {k: [] for k in (
        "overtalk", "checklist", "sentiment", "repeat", "wrapup",
        "checklist after its utterance", "sentiment after its utterance",
        "repeat after its utterance")}
    for run in runs:
        last: Utterance | None = None
        for event in run.events:
            if isinstance(event, Utterance):
                last = event
            elif isinstance(event, Overtalk):
                out["overtalk"].append(event.t - (event.start + event.duration))
            elif isinstance(event, WrapUp):
                out["wrapup"].append(event.t - run.audio_seconds)
            elif isinstance(event, ChecklistStatus) and event.status != "pending":
                out["checklist"].append(event.t - event.at)
                if last is not None and event.at == last.end:
                    out["checklist after its utterance"].append(event.t - last.t)
            elif isinstance(event, Sentiment | Repeat) and last is not None:
                out[event.type].append(event.t - last.end)
                out[f"{event.type} after its utterance"].append(event.t - last.t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="all")
    parser.add_argument("--realtime", type=int, default=0, metavar="N",
                        help="also replay the first N calls at real-time pace (latency)")
    parser.add_argument("--only", action="append", metavar="ID",
                        help="only this call (repeatable)")
    parser.add_argument("--errors", action="store_true", help="list every miss")
    parser.add_argument("--rescore", action="store_true",
                        help="re-run the analyzers on the last run's saved utterances (no "
                             "recognition; for tuning; no cost or latency figures)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    calls = [c for c in load_calls(args.split) if not args.only or c["id"] in args.only]
    ensure_rendered(calls)
    mood = EmbeddingMood(load_embedder())
    runs = []
    for n, call in enumerate(calls, 1):
        if args.rescore:
            runs.append(rescore_call(call, mood.embedder))
            continue
        run = run_call(call)
        runs.append(run)
        print(f"[{n}/{len(calls)}] {call['id']}: {run.audio_seconds:.0f} s of audio in "
              f"{run.wall_seconds:.0f} s", flush=True)
    report: dict[str, Any] = {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                              "split": args.split, "rescored": args.rescore}
    by_split = {}
    for split in ("dev", "heldout"):
        part = [r for r in runs if r.call["split"] == split]
        if part:
            by_split[split] = score_runs(part, mood)
    by_split["all"] = score_runs(runs, mood)
    report["results"] = by_split
    if args.realtime:
        timed = [run_call(call, realtime=True) for call in calls[: args.realtime]]
        lat = latencies(timed)
        report["latency"] = {k: {"n": len(v), "p50": statistics.median(v) if v else None,
                                 "max": max(v) if v else None} for k, v in lat.items()}
    print()
    print(table(report))
    if args.errors:
        for line in by_split["all"]["misses"]:
            print("  " + line)
    out = {**report, "results": {k: {kk: vv for kk, vv in v.items() if kk != "misses"}
                                 for k, v in by_split.items()}}
    print(json.dumps(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


def table(report: dict[str, Any]) -> str:
    results = report["results"]
    cols = [k for k in ("dev", "heldout", "all") if k in results]
    rows = [
        ("calls", lambda r: f"{r['calls']}"),
        ("audio minutes", lambda r: f"{r['audio_minutes']}"),
        ("overtalk precision", lambda r: f"{r['overtalk']['precision']:.2f}"),
        ("overtalk recall", lambda r: f"{r['overtalk']['recall']:.2f} "
                                      f"({r['overtalk']['labelled']})"),
        ("checklist accuracy", lambda r: f"{r['checklist']['accuracy']:.3f} "
                                         f"({r['checklist']['items']})"),
        ("AUC held-out turns (words)", lambda r: f"{r['frustration']['auc_turns_heldout_words']:.3f}"),
        ("AUC heard turns, words", lambda r: f"{r['frustration']['auc_calls_words']:.3f}"),
        ("AUC heard, words+voice+events",
         lambda r: f"{r['frustration']['auc_calls_words_voice_events']:.3f}"),
        ("rises flagged within 2 turns", lambda r: f"{r['frustration']['rises_flagged_in_time']}"
                                                   f"/{r['frustration']['rise_calls']}"),
        ("upset flagged on calm calls", lambda r: f"{r['frustration']['false_rises']}"
                                                  f"/{r['frustration']['calm_calls']}"),
        ("repeats recall", lambda r: f"{r['repeats']['recall']:.2f} "
                                     f"({r['repeats']['restatements']})"),
        ("repeats on calls without", lambda r: f"{r['repeats']['on_calls_without']}"),
        ("cost, share of one core", lambda r: f"{100 * r['cost_share_of_one_core']:.2f} %"),
    ]
    if report.get("rescored"):
        rows = rows[:-1]
    how = ("rescored: the last run's saved utterances and overtalk through the analyzers "
           "again (no recognition; cost not measured)" if report.get("rescored")
           else "tiny.en, every analyzer on, fast replay")
    lines = [f"cpu_count={report['cpu_count']}, {how}",
             f"{'':32}" + "".join(f"{c:>16}" for c in cols)]
    lines += [f"{name:32}" + "".join(f"{fmt(results[c]):>16}" for c in cols) for name, fmt in rows]
    if "latency" in report:
        lines.append("")
        lines.append("real-time replay: event t after its cause (s)     n     p50     max")
        for kind, v in report["latency"].items():
            if v["n"]:
                lines.append(f"  {kind:46} {v['n']:>5} {v['p50']:7.2f} {v['max']:7.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
