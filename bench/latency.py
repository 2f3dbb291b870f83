"""Live-pipeline latency: replay calls at real-time pace, both channels live.

Prints, with the machine's core count, as a table and as JSON:
- end of speech → final utterance latency, p50 / p95;
- how soon a spoken word is on screen (the first partial or final with a word
  in its place), the same counting only the word as it finally is (exact), and
  counting only agreed partial words (the LocalAgreement-only baseline: what
  the screen showed before the tentative tail);
- real-time factor (decode seconds / audio seconds), peak RSS;
- a long call (default 30 minutes, built by looping the bundled sample call)
  replayed at ``--long-speed`` x real time: whether it keeps up without a growing
  backlog (final latency and mean audio queue in its first and last five minutes;
  the worst queue is printed too).

Targets (2 cores, tiny.en): final p50 <= 0.8 s, p95 <= 1.5 s; words on screen
within 1.0 s; peak RSS <= 1.5 GB; no backlog.

    python bench/latency.py                 # sample call x1 real time + 30-minute call
    python bench/latency.py --long-minutes 0
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from assist.asr import AsrOptions
from assist.audio import FileSource
from assist.call import DeadAirMonitor, Pipeline
from assist.events import Event, Partial, Utterance
from assist.models import load_specs, load_whisper
from assist.resources import sample_call
from assist.session import freeze_heap


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run(model, path: Path, speed: float, options: AsrOptions) -> tuple[list[Event], Pipeline, float]:
    events: list[Event] = []
    source = FileSource(path, realtime=True, speed=speed)
    pipeline = Pipeline(model, source.speakers, options, analyzers=[DeadAirMonitor()],
                        sinks=[events.append], model_name="tiny.en")
    began = time.monotonic()
    pipeline.run(source)
    return events, pipeline, time.monotonic() - began


def final_latencies(events: list[Event], speed: float) -> list[tuple[float, float]]:
    """(audio end, latency) per utterance: wall time of the event minus the wall time
    at which the last word had been fed."""
    return [(e.end, e.t - e.end / speed) for e in events if isinstance(e, Utterance)]


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def word_latencies(events: list[Event], speed: float, agreed_only: bool = False,
                   exact: bool = False) -> list[float]:
    """For each final word: how long after it was spoken the screen first showed it.

    Each partial's words are aligned to the final words (difflib, case and
    punctuation aside).  A final word counts as shown by a partial that has a
    word in its place: the same word, or a different one where the recogniser
    still heard it otherwise (a substitution, position by position).  ``exact``
    counts only the same word, so a word shown wrong first counts when it is
    shown right, at the latest with the final.  ``agreed_only`` counts only the
    agreed (stable) words of partials: the LocalAgreement-only baseline.
    """
    partials: dict[tuple[str, float], list[Partial]] = {}
    for e in events:
        if isinstance(e, Partial):
            partials.setdefault((e.speaker, e.start), []).append(e)
    out = []
    utterances = [e for e in events if isinstance(e, Utterance)]
    for u in utterances:
        # partials of this utterance share its speaker and began at or before its first word
        candidates = [(p.t, [_key(w) for w in p.text.split()[: p.stable if agreed_only else None]])
                      for (spk, start), ps in partials.items()
                      if spk == u.speaker and start <= u.start + 0.5 and start >= u.start - 1.0
                      for p in ps]
        final = [_key(w.word) for w in u.words]
        shown = [u.t] * len(final)
        for t, ws in sorted(candidates, key=lambda c: c[0]):
            matcher = difflib.SequenceMatcher(None, ws, final, autojunk=False)
            for op, i1, i2, j1, j2 in matcher.get_opcodes():
                if op == "equal" or (op == "replace" and not exact):
                    for k in range(j1, j1 + min(i2 - i1, j2 - j1)):
                        shown[k] = min(shown[k], t)
        out.extend(max(0.0, when - w.end / speed) for when, w in zip(shown, u.words, strict=True))
    return out


def long_call(minutes: float, folder: Path) -> Path:
    """Loop the bundled sample call into a call of the given length."""
    data, rate = sf.read(str(sample_call()), dtype="float32", always_2d=True)
    repeats = int(np.ceil(minutes * 60 * rate / len(data)))
    path = folder / f"long_{int(minutes)}min.wav"
    with sf.SoundFile(str(path), "w", rate, data.shape[1], subtype="PCM_16") as out:
        for _ in range(repeats):
            out.write(data)
    return path


def summarise(name: str, events, pipeline: Pipeline, wall: float, speed: float) -> dict:
    finals = final_latencies(events, speed)
    lat = [x for _, x in finals]
    words = word_latencies(events, speed)
    exact = word_latencies(events, speed, exact=True)
    agreed = word_latencies(events, speed, agreed_only=True)
    audio = pipeline.stats.audio_seconds
    row = {
        "run": name,
        "audio_s": round(audio, 1),
        "speed": speed,
        "utterances": len(finals),
        "final_p50_s": round(pct(lat, 50), 3),
        "final_p95_s": round(pct(lat, 95), 3),
        "word_on_screen_p50_s": round(pct(words, 50), 3),
        "word_on_screen_p95_s": round(pct(words, 95), 3),
        "word_exact_p50_s": round(pct(exact, 50), 3),
        "word_exact_p95_s": round(pct(exact, 95), 3),
        "word_agreed_p50_s": round(pct(agreed, 50), 3),
        "word_agreed_p95_s": round(pct(agreed, 95), 3),
        "rtf": round(pipeline.stats.decode_seconds / max(audio, 1e-9), 3),
        "decodes_partial": pipeline.stats.decodes["partial"],
        "decodes_final": pipeline.stats.decodes["final"],
        "partial_decode_ms": round(1000 * pipeline.stats.decode_time["partial"]
                                   / max(1, pipeline.stats.decodes["partial"])),
        "final_decode_ms": round(1000 * pipeline.stats.decode_time["final"]
                                 / max(1, pipeline.stats.decodes["final"])),
        "max_queue_s": round(pipeline.stats.max_backlog, 2),
        "max_queue_at_s": round(pipeline.stats.max_backlog_at, 1),
        "wall_s": round(wall, 1),
    }
    if audio > 600:
        first = [x for end, x in finals if end < 300]
        last = [x for end, x in finals if end > audio - 300]
        row["final_p95_first5min_s"] = round(pct(first, 95), 3)
        row["final_p95_last5min_s"] = round(pct(last, 95), 3)
        trace = pipeline.stats.backlog
        row["queue_mean_first5min_s"] = round(float(np.mean([b for t, b in trace if t < 300] or [0])), 3)
        row["queue_mean_last5min_s"] = round(float(np.mean([b for t, b in trace if t > audio - 300]
                                                           or [0])), 3)
        # a growing backlog shows as later finals and a fuller queue at the end than at the
        # start; one slow moment (the worst queue, printed too) is not a backlog
        row["keeps_up"] = bool(row["final_p95_last5min_s"] < 1.5 * max(row["final_p95_first5min_s"], 0.5)
                               and row["queue_mean_last5min_s"] < 0.5)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=sample_call(), help="call to replay (stereo)")
    parser.add_argument("--long-minutes", type=float, default=30.0, help="0 skips the long call")
    parser.add_argument("--long-speed", type=float, default=1.0,
                        help="replay speed of the long call (>1 proves headroom faster)")
    parser.add_argument("--partial-every", type=float, default=AsrOptions().partial_every,
                        help="seconds of new speech between partial decodes")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    options = AsrOptions(partial_every=args.partial_every)
    model = load_whisper(load_specs()["asr"], cpu_threads=args.threads)
    freeze_heap()  # as session.build_pipeline does after loading
    rows = []
    events, pipeline, wall = run(model, args.file, 1.0, options)
    rows.append(summarise(args.file.name, events, pipeline, wall, 1.0))
    if args.long_minutes > 0:
        with tempfile.TemporaryDirectory() as tmp:
            path = long_call(args.long_minutes, Path(tmp))
            print(f"long call: {args.long_minutes:.0f} min at {args.long_speed}x ...", file=sys.stderr)
            events, pipeline, wall = run(model, path, args.long_speed, options)
            rows.append(summarise(path.name, events, pipeline, wall, args.long_speed))

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"bench": "latency", "cores": os.cpu_count(), "threads": args.threads, "model": "tiny.en",
              "peak_rss_mb": round(peak_rss_mb, 1),
              "targets": {"final_p50_s": 0.8, "final_p95_s": 1.5, "word_on_screen_p95_s": 1.0,
                          "peak_rss_mb": 1536},
              "runs": rows}
    keys = list(rows[0].keys() | set().union(*[r.keys() for r in rows]))
    keys = [k for k in rows[-1] if k in keys] + [k for k in keys if k not in rows[-1]]
    print(f"cores={os.cpu_count()} threads={args.threads} model=tiny.en peak_rss={peak_rss_mb:.0f} MB")
    width = max(len(k) for k in keys)
    for key in keys:
        print(f"{key:<{width}}  " + "  ".join(f"{str(r.get(key, '')):>22}" for r in rows))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
