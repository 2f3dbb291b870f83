"""Real-speech recognition: the live pipeline against the same model offline.

    python bench/asr.py                          # the configured model, every condition
    python bench/asr.py --models tiny.en,base,small,two-pass   # each in its own process
    python bench/asr.py --quick                  # fewer clips, shorter sessions

A model is a name or folder; ``A+B`` is two passes (A shows the partials, B
re-decodes each final utterance: ``final_model``); ``two-pass`` is tiny.en+base
(the bigger model there is: the small packages 1.0.0 are incomplete).  A model
that does not resolve gets a row saying why, the others still run.

Real recordings only (see bench/realspeech.py): numbers read aloud by the six FSDD
speakers, the Asterisk telephone prompts, jfk.flac and the two speakers of
stereo_diarization.wav.  Conditions, each wide band and through a phone line:
- clips: every clip alone, as its own call; quiet: the same 26 dB quieter;
- digits: the FSDD numbers alone (3-16 digits, read in groups);
- session: 20 minutes of clips with a call's pauses (a few seconds, sometimes
  half a minute) over a noise floor, and over digital silence;
- stereo: a call with one real speaker per channel taking turns, the idle channel
  digital silence; and the same audio on both channels (the two texts must match).

Per condition: WER of the live pipeline (fast replay, so decode speed does not
change the text) and of the same model offline on each clip (faster-whisper's own
``transcribe`` of the clip alone, default beam; for two passes the final model,
whose text is kept), normalised (case, punctuation, digits spelled out); utterances
lost (a clip of which the live transcript has no word); first words lost; digit
strings lost whole.  Then, in a fresh process that loads only the model(s) as the
app does (heap frozen), the latency figures of bench/latency.py on the bundled
sample call at real-time pace with both channels live: final p50/p95, word on
screen p95, real-time factor; a long call (``--long-minutes``, 30 by default,
looped from the sample call, at ``--long-speed`` x real time) and whether it keeps
up, skipped for a model the sample call already puts over a latency target (unless
``--long-always``); and that process's peak RSS.
Prints a table and one JSON line with the machine's core count.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realspeech as rs  # noqa: E402

from assist.asr import AsrOptions  # noqa: E402
from assist.audio import FileSource  # noqa: E402
from assist.call import Pipeline  # noqa: E402
from assist.events import Utterance  # noqa: E402
from assist.resources import sample_call  # noqa: E402

TARGETS = {"live_over_offline_phone": 1.15, "digits_wer": 0.10, "digits_lost": 0, "session_lost": 0,
           "final_p50_s": 0.8, "final_p95_s": 1.5, "word_on_screen_p95_s": 1.0, "peak_rss_mb": 1536}


@dataclass
class Tally:
    """Errors against the reference, summed over clips."""

    ref_words: int = 0
    live_errors: int = 0
    offline_errors: int = 0
    clips: int = 0
    lost: int = 0  # clips the live transcript has no word of
    lost_offline: int = 0
    first_lost: int = 0  # clips whose first word the live transcript misses
    first_lost_offline: int = 0
    examples: list[dict] = field(default_factory=list)

    def add(self, clip: rs.Clip, live: list[str], offline: list[str]) -> None:
        ref = rs.normalise(clip.text)
        self.clips += 1
        self.ref_words += len(ref)
        live_err = Levenshtein.distance(ref, live)
        self.live_errors += live_err
        self.offline_errors += Levenshtein.distance(ref, offline)
        self.lost += not live
        self.lost_offline += not offline
        self.first_lost += not _first_kept(ref, live)
        self.first_lost_offline += not _first_kept(ref, offline)
        if live_err and len(self.examples) < 400:
            self.examples.append({"clip": clip.name, "ref": " ".join(ref), "live": " ".join(live),
                                  "offline": " ".join(offline)})

    def row(self) -> dict:
        live = self.live_errors / max(1, self.ref_words)
        offline = self.offline_errors / max(1, self.ref_words)
        return {"clips": self.clips, "ref_words": self.ref_words, "wer_live": round(live, 4),
                "wer_offline": round(offline, 4), "live_over_offline": round(live / max(offline, 1e-9), 2),
                "lost": self.lost, "lost_offline": self.lost_offline, "first_lost": self.first_lost,
                "first_lost_offline": self.first_lost_offline}


def _first_kept(ref: list[str], hyp: list[str]) -> bool:
    """Whether the alignment keeps the reference's first word."""
    if not ref:
        return True
    for op in Levenshtein.opcodes(ref, hyp):
        if op.src_start == 0 < op.src_end:
            return op.tag == "equal"
    return False


# ---------------------------------------------------------------- running the model


TWO_PASS = "tiny.en+base"
LONG_ALWAYS = False  # --long-always: the long call even for a model the sample call put out


def load_models(name: str):
    """(partial model, final model or None) for a name, ``A+B`` or ``two-pass``."""
    from assist.models import load_specs, load_whisper

    first, _, final = (TWO_PASS if name == "two-pass" else name).partition("+")
    spec = load_specs(asr=first, final=final or "none")["asr"]
    final_spec = spec.final_spec()
    model = load_whisper(spec, cpu_threads=os.cpu_count())
    return model, (load_whisper(final_spec, cpu_threads=os.cpu_count()) if final_spec else None)


def make_factory(name: str, model, final_model, options: AsrOptions):
    def make(speakers, sink, all_events=False):
        from assist.call import DeadAirMonitor

        keep = sink.append if all_events else (lambda e: sink.append(e) if isinstance(e, Utterance) else None)
        return Pipeline(model, speakers, options, analyzers=[DeadAirMonitor()] if all_events else [],
                        sinks=[keep], model_name=name, final_model=final_model)

    return make


OVERRIDES: dict[str, float] = {}  # --set key=value, for experiments


def options_for(name: str) -> AsrOptions:
    return AsrOptions(language="en", **OVERRIDES)


def live_words(pipeline_factory, path: Path, channels: str | None = None) -> list[Utterance]:
    utterances: list[Utterance] = []
    source = FileSource(path, channels=channels)
    pipeline_factory(source.speakers, utterances).run(source)
    return utterances


def offline_words(model, audio: np.ndarray) -> list[str]:
    segments, _ = model.transcribe(audio, language="en", vad_filter=False)
    return rs.normalise(" ".join(s.text for s in segments))


def words_of(utterances: list[Utterance]) -> list[tuple[float, str]]:
    out = []
    for u in utterances:
        if u.words:
            out += [((w.start + w.end) / 2, w.word) for w in u.words]
        else:
            out.append(((u.start + u.end) / 2, u.text))
    return out


def assign(placed: list[rs.Placed], utterances: list[Utterance]) -> list[list[str]]:
    """The live words of each placed clip: by time, to the nearest clip."""
    per: list[list[str]] = [[] for _ in placed]
    starts = np.array([p.start for p in placed])
    ends = np.array([p.end for p in placed])
    for when, word in sorted(words_of(utterances)):
        distance = np.maximum(starts - when, 0) + np.maximum(when - ends, 0)
        per[int(np.argmin(distance))] += rs.normalise(word)
    return per


# ---------------------------------------------------------------- conditions


QUIET = 10 ** (-26 / 20)  # a quiet caller: 26 dB under the recordings' level


def run_clips(make, model, clips: list[rs.Clip], phone: bool, folder: Path, offline: dict,
              gain: float = 1.0) -> Tally:
    tally = Tally()
    for clip in clips:
        audio = (clip.phone() if phone else clip.audio) * gain
        path = rs.write(folder / "clip.wav", np.concatenate([np.zeros(rs.RATE // 4, np.float32), audio,
                                                             np.zeros(rs.RATE // 2, np.float32)]))
        live = [w for u in live_words(make, path) for w in rs.normalise(u.text)]
        key = (clip.name, phone, gain)
        if key not in offline:
            offline[key] = offline_words(model, audio)
        tally.add(clip, live, offline[key])
    return tally


def run_session(make, model, clips, minutes, silence, phone, folder, offline, rng, channels=1,
                mirror=False) -> tuple[Tally, dict]:
    data, placed = rs.session(clips, minutes, rng, silence=silence, phone=phone, channels=channels)
    extra: dict = {"audio_min": round(len(data) / rs.RATE / 60, 1)}
    if mirror:
        data = np.repeat(data[:, :1], 2, axis=1)
    path = rs.write(folder / "session.wav", data)
    utterances = live_words(make, path)
    tally = Tally()
    for side in range(channels if not mirror else 1):
        speaker = "agent" if side == 0 else "customer"
        mine = [p for p in placed if p.channel == side]
        said = assign(mine, [u for u in utterances if u.speaker == speaker])
        for p, live in zip(mine, said, strict=True):
            key = (p.clip.name, phone, 1.0)
            if key not in offline:
                offline[key] = offline_words(model, p.clip.phone() if phone else p.clip.audio)
            tally.add(p.clip, live, offline[key])
    if mirror:
        texts = {s: [u.text for u in utterances if u.speaker == s] for s in ("agent", "customer")}
        extra["mirror_finals"] = [len(texts["agent"]), len(texts["customer"])]
        extra["mirror_differ"] = sum(a != b for a, b in zip(texts["agent"], texts["customer"], strict=False)) \
            + abs(len(texts["agent"]) - len(texts["customer"]))
    return tally, extra


def latency(name: str, long_minutes: float, long_speed: float) -> dict:
    """The sample call at real-time pace, then a long call, both channels live, in this
    process alone: the model(s) loaded as the app loads them, the heap frozen after."""
    spec = importlib.util.spec_from_file_location("latency", Path(__file__).with_name("latency.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from assist.session import freeze_heap

    model, final_model = load_models(name)
    make = make_factory(name, model, final_model, options_for(name))
    freeze_heap()  # as session.build_pipeline does: a full collection stalls decoding otherwise

    def replay(path: Path, speed: float) -> dict:
        events: list = []
        source = FileSource(path, realtime=True, speed=speed)
        pipeline = make(source.speakers, events, all_events=True)
        began = time.monotonic()
        pipeline.run(source)
        row = module.summarise(path.name, events, pipeline, time.monotonic() - began, speed)
        row["final_retries_full"] = sum(t.full_retries for t in pipeline.transcribers.values())
        return row

    keys = ("final_p50_s", "final_p95_s", "word_on_screen_p95_s", "rtf", "utterances", "partial_decode_ms",
            "final_decode_ms", "max_queue_s", "final_retries_full")
    result = {k: v for k, v in replay(sample_call(), 1.0).items() if k in keys}
    missed = [k for k in ("final_p50_s", "final_p95_s", "word_on_screen_p95_s") if result[k] > TARGETS[k]]
    if long_minutes > 0 and missed and not LONG_ALWAYS:
        # half an hour per model for one already out on latency would tell nothing new
        result["long"] = {"minutes": long_minutes, "skipped": f"the sample call misses {', '.join(missed)}"}
    elif long_minutes > 0:
        with tempfile.TemporaryDirectory() as tmp:
            row = replay(module.long_call(long_minutes, Path(tmp)), long_speed)
        result["long"] = {"minutes": long_minutes, "speed": long_speed,
                          **{k: v for k, v in row.items() if k not in ("run", "speed")}}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def evaluate(name: str, quick: bool, seed: int, only: set[str] | None, bands: set[str] | None = None) -> dict:
    model, final_model = load_models(name)
    make = make_factory(name, model, final_model, options_for(name))
    offline_model = final_model or model  # the model whose text a final keeps

    rng = random.Random(seed)
    prompts = rs.prompt_clips(rng, limit=60 if quick else 200)
    digits = rs.digit_clips(rng, per_speaker=3 if quick else 6)
    samples = rs.sample_clips()
    rng.shuffle(prompts)
    clips = samples + digits + prompts[: 40 if quick else 120]
    minutes = 4.0 if quick else 20.0
    mixed = prompts + digits
    rng.shuffle(mixed)
    offline: dict = {}
    rows: dict[str, dict] = {}
    examples: dict[str, list] = {}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for band, phone in (("wide", False), ("phone", True)):
            if bands and band not in bands:
                continue
            for index, kind in enumerate(KINDS):
                condition = f"{kind}/{band}"
                if only and kind not in only:
                    continue
                t0 = time.perf_counter()
                if kind in ("clips", "quiet", "digits"):
                    chosen = digits if kind == "digits" else [c for c in clips if c.source != "digits"]
                    tally = run_clips(make, offline_model, chosen, phone, folder, offline, QUIET if kind == "quiet" else 1.0)
                    extra = {}
                else:
                    length = {"stereo": minutes / 2, "mirror": minutes / 4}.get(kind, minutes)
                    silence = "noise" if kind == "session-noise" else "digital"
                    tally, extra = run_session(make, offline_model, mixed, length, silence, phone, folder, offline,
                                               random.Random(seed + 1 + index),
                                               channels=2 if kind == "stereo" else 1, mirror=kind == "mirror")
                rows[condition] = {**tally.row(), **extra, "seconds": round(time.perf_counter() - t0, 1)}
                examples[condition] = tally.examples
                print(f"  {name} {condition}: {rows[condition]}", file=sys.stderr)
        digit_lost = sum(1 for c in ("digits/wide", "digits/phone") if c in rows for _ in range(rows[c]["lost"]))
    return {"model": name, "conditions": rows, "digits_lost_whole": digit_lost,
            "seconds": round(time.perf_counter() - began, 1), "examples": examples,
            "wer_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


# ---------------------------------------------------------------- output


KINDS = ("clips", "quiet", "digits", "session-noise", "session-digital", "stereo", "mirror")
COLUMNS = ["clips", "ref_words", "wer_live", "wer_offline", "live_over_offline", "lost", "lost_offline",
           "first_lost", "first_lost_offline"]


def print_tables(results: list[dict], cores: int | None) -> None:
    print(f"cores={cores}")
    for result in results:
        if "error" in result or not result.get("conditions"):
            continue
        print(f"\nmodel {result['model']} ({result['seconds']} s)")
        print(f"{'condition':<24}" + "".join(f"{c:>19}" for c in COLUMNS))
        for condition, row in result["conditions"].items():
            print(f"{condition:<24}" + "".join(f"{row.get(c, ''):>19}" for c in COLUMNS)
                  + (f"   mirror differ {row['mirror_differ']}" if "mirror_differ" in row else ""))
    heads = ["phone WER", "offline", "digits WER", "offline", "session lost", "final p50", "final p95",
             "word p95", "RTF", "long keeps up", "long final p95", "peak RSS MB"]
    print(f"\n{'model':<14}" + "".join(f"{h:>16}" for h in heads))
    for r in results:
        if "error" in r:
            print(f"{r['model']:<14}  unavailable: {r['error']}")
            continue
        c, lat = r.get("conditions", {}), r.get("latency", {})
        phone, digits, long = c.get("clips/phone", {}), c.get("digits/phone", {}), lat.get("long", {})
        lost = sum(c[k]["lost"] for k in c if k.startswith("session")) if c else ""
        keeps = (f"{long['keeps_up']} @{long['speed']}x {long['minutes']:.0f}m" if "keeps_up" in long
                 else "skipped" if "skipped" in long else "")
        cells = [phone.get("wer_live", ""), phone.get("wer_offline", ""), digits.get("wer_live", ""),
                 digits.get("wer_offline", ""), lost, lat.get("final_p50_s", ""), lat.get("final_p95_s", ""),
                 lat.get("word_on_screen_p95_s", ""), lat.get("rtf", ""), keeps,
                 long.get("final_p95_last5min_s", ""), lat.get("peak_rss_mb", "")]
        print(f"{r['model']:<14}" + "".join(f"{str(x):>16}" for x in cells))
    print("phone/digits: clips/phone and digits/phone, live and offline; latency: the sample call at "
          "real time, both channels; peak RSS: the latency process (model(s) and a live call)")


def run_child(name: str, phase: str, args: argparse.Namespace) -> dict:
    """One model's phase in a fresh process (the WER conditions, or the latency runs)."""
    cmd = [sys.executable, __file__, "--models", name, "--child", phase, "--seed", str(args.seed),
           "--long-minutes", str(args.long_minutes), "--long-speed", str(args.long_speed)]
    cmd += ["--long-always"] if args.long_always else []
    cmd += ["--quick"] if args.quick else []
    cmd += ["--only", args.only] if args.only else []
    cmd += ["--bands", args.bands] if args.bands else []
    cmd += [f"--set={item}" for item in args.set]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()
    try:
        return json.loads(out[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"the {phase} run of {name} failed (its traceback is above)"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=None,
                        help="comma-separated models, each run in its own processes: a name or folder, "
                             "A+B (two passes: B re-decodes finals), two-pass (= tiny.en+base); "
                             "default: the configured one")
    parser.add_argument("--quick", action="store_true", help="fewer clips and 4-minute sessions (20 by default)")
    parser.add_argument("--only", default=None,
                        help="comma-separated conditions: clips,quiet,digits,session-noise,session-digital,stereo,mirror,latency")
    parser.add_argument("--bands", default=None, help="wide, phone or both (default)")
    parser.add_argument("--long-minutes", type=float, default=30.0,
                        help="the long call of the latency run, in minutes (0: none)")
    parser.add_argument("--long-speed", type=float, default=1.0,
                        help="its replay speed (>1 shows headroom sooner; keeping up at 2x implies 1x)")
    parser.add_argument("--long-always", action="store_true",
                        help="run the long call even when the sample call misses a latency target")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--examples", action="store_true", help="print the clips the live transcript got wrong")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an AsrOptions value to try (repeatable)")
    parser.add_argument("--from-json", type=Path, nargs="+", default=None, metavar="JSON",
                        help="print the table of earlier runs (their --json-out files) instead of running; "
                             "a model's later run adds to or replaces its earlier figures")
    parser.add_argument("--child", choices=("wer", "latency"), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.from_json:
        saved = [json.loads(path.read_text()) for path in args.from_json]
        merged: dict[str, dict] = {}  # a model's later run (say --only latency) adds to its earlier one
        for run in saved:
            for r in run["results"]:
                into = merged.setdefault(r["model"], {})
                peak = into.get("latency", {}).get("peak_rss_mb", 0.0)
                for key, value in r.items():  # conditions and latency figures add up, one level deep
                    into[key] = {**into[key], **value} if isinstance(into.get(key), dict) else value
                if "peak_rss_mb" in into.get("latency", {}):  # the peak over the model's runs
                    into["latency"]["peak_rss_mb"] = max(peak, into["latency"]["peak_rss_mb"])
                merged[r["model"]].setdefault("examples", run.get("examples", {}).get(r["model"], {}))
        return report(list(merged.values()), args, saved[0]["cores"])
    missing = rs.available()
    if missing:
        print("real speech missing: " + "; ".join(missing), file=sys.stderr)
        return 1
    only = set(args.only.split(",")) if args.only else None
    for item in args.set:
        key, _, value = item.partition("=")
        OVERRIDES[key] = type(getattr(AsrOptions(), key))(value)
    if args.child:
        from assist.errors import AssistError

        global LONG_ALWAYS
        LONG_ALWAYS = args.long_always
        try:
            if args.child == "wer":
                out = evaluate(args.models, args.quick, args.seed, only,
                               set(args.bands.split(",")) if args.bands else None)
            else:
                out = latency(args.models, args.long_minutes, args.long_speed)
        except AssistError as exc:
            out = {"error": str(exc)}
        print(json.dumps(out))
        return 0
    from assist.models import load_specs

    results = []
    for name in (args.models or load_specs()["asr"].name).split(","):
        result: dict = {"model": name}
        if not only or only - {"latency"}:
            result.update(run_child(name, "wer", args))
        if "error" not in result and (not only or "latency" in only):
            lat = run_child(name, "latency", args)
            result.update({"error": lat["error"]} if "error" in lat else {"latency": lat})
        results.append(result)
    return report(results, args, os.cpu_count())


def report(results: list[dict], args: argparse.Namespace, cores: int | None) -> int:
    print_tables(results, cores)
    if args.examples:
        for r in results:
            for condition, items in r.get("examples", {}).items():
                for item in items[:30]:
                    print(f"[{r['model']} {condition}] {item['clip']}\n   ref  {item['ref']}\n   live "
                          f"{item['live']}\n   off  {item['offline']}")
    summary = {"bench": "asr", "cores": cores, "targets": TARGETS, "two_pass": TWO_PASS,
               "results": [{k: v for k, v in r.items() if k != "examples"} for r in results]}
    if args.json_out:
        args.json_out.write_text(json.dumps({**summary, "examples": {r["model"]: r.get("examples", {})
                                                                     for r in results}}, indent=1))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
