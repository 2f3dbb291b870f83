"""Store throughput: sustained write rate, and the weekly report over 100,000 utterances.

On both back ends: SQLite (a file, WAL, synchronous=FULL, as the store opens it) and a
real PostgreSQL (a throw-away server on a loopback port, started with its default,
durable settings: fsync and synchronous_commit on).  Without the PostgreSQL binaries
the PostgreSQL half is skipped with the reason.

1. Write rate: calls replayed through ``StoreSink`` exactly as the live pipeline
   writes them: every final utterance and flag redacted and committed in its own
   transaction.  Reports events/s and the p50 / p95 time of one event.
2. Weekly report: the store filled to ``--utterances`` utterances (calls of 100
   utterances spread over the last 7 days, ~20 agents, texts from a small pool,
   some flags and verdicts) through ``Store.apply_many`` in batches of one call per
   transaction (texts redacted once per pool entry, not per row); then
   ``week_report`` (median of 3) and ``export_week(..., "html")`` are timed.

Prints a table and JSON (with os.cpu_count() and the SQLite file size).

    python bench/store.py                     # 100,000 utterances, both back ends
    python bench/store.py --quick             # 10,000 utterances, fewer write calls
    python bench/store.py --utterances 50000 --backend sqlite

A full run of both back ends takes about 3.5 minutes on 2 cores (the fill is most of
it); ``--backend sqlite`` and ``--backend postgresql`` run them one at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the throw-away PostgreSQL of the tests

from assist.events import End, Flag, Utterance  # noqa: E402
from assist.redact import redact  # noqa: E402
from assist.review import export_week, week_report  # noqa: E402
from assist.store import Store, StoreSink, now  # noqa: E402
from support.pg_server import PgServer, _bindir, run_as  # noqa: E402

UTTERANCES_PER_CALL = 100
AGENTS = [f"agent{i:02d}" for i in range(20)]
TEAMS = ["north", "south"]

AGENT_LINES = [
    "Thank you for calling, my name is Sam, how can I help you today?",
    "I'm sorry to hear that, let me have a look at your account for you.",
    "Can I take the first line of your address and your postcode please?",
    "I can see the payment went out on the third, it should clear in two working days.",
    "Unfortunately that's company policy, there's nothing I can do about it.",
    "Let me put you on hold for a moment while I check with my team leader.",
    "I've raised a ticket for the engineers, your reference is order 4471 2290.",
    "Calm down, I'm trying to help you here.",
    "The refund of forty two pounds fifty will be back on your card within five days.",
    "Is there anything else I can help you with today?",
    "That's not my department, you'll have to call back on the other number.",
    "I completely understand, I'd be frustrated too if my broadband kept dropping.",
]
CUSTOMER_LINES = [
    "Hi, my internet has been dropping out every evening for a week.",
    "I was charged twice for last month and nobody has called me back.",
    "My card number is 4111 1111 1111 1111 and the code on the back is 123.",
    "You can reach me on 07700 900123 or at jane.doe@example.com.",
    "It's the third time I've called about this and I'm getting really annoyed.",
    "The router lights are all green but nothing loads.",
    "I want to cancel my contract, this isn't good enough.",
    "Yes, it's 12 Station Road, and the postcode is AB1 2CD.",
    "Okay, thank you, that's all for now.",
    "Can you tell me when the engineer is coming out?",
    "four five six seven, that's the last four digits of the card",
    "I paid twenty pounds on the fifth of March and it still shows as owing.",
]
FLAGGED = {  # agent line index -> phrase id
    4: "company-policy",
    7: "calm-down",
    10: "not-my-department",
}


def _script(rng: random.Random) -> list[tuple[str, str, str | None]]:
    """One call: (speaker, line, phrase flagged or None), alternating speakers."""
    lines = []
    for i in range(UTTERANCES_PER_CALL):
        if i % 2 == 0:
            k = rng.randrange(len(AGENT_LINES))
            # banned phrases are rarer than the pool makes them
            if k in FLAGGED and rng.random() > 0.25:
                k = 0 if i == 0 else 9
            lines.append(("agent", AGENT_LINES[k], FLAGGED.get(k)))
        else:
            lines.append(("customer", CUSTOMER_LINES[rng.randrange(len(CUSTOMER_LINES))], None))
    return lines


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ---------------------------------------------------------------- 1. write rate


def write_rate(url: str, spool: Path, n_calls: int, seed: int = 1) -> dict:
    """Replay calls through StoreSink: one commit per final utterance / flag."""
    rng = random.Random(seed)
    store = Store(url, spool_dir=spool)
    per_event: list[float] = []
    n_utt = n_flags = 0
    began = time.perf_counter()
    for c in range(n_calls):
        sink = StoreSink(store, agent=AGENTS[c % len(AGENTS)], source="bench")
        sink.start_call(f"w{c:04d}")
        for i, (speaker, said, phrase) in enumerate(_script(rng)):
            t0 = time.perf_counter()
            sink(Utterance(speaker=speaker, text=said, start=i * 3.0, end=i * 3.0 + 2.5))
            per_event.append(time.perf_counter() - t0)
            n_utt += 1
            if phrase:
                t0 = time.perf_counter()
                sink(Flag(phrase=phrase, speaker=speaker, text=said, start=i * 3.0,
                          end=i * 3.0 + 2.5))
                per_event.append(time.perf_counter() - t0)
                n_flags += 1
        sink(End(duration=UTTERANCES_PER_CALL * 3.0))
        if not sink.close() or sink.spooling:
            raise SystemExit("the sink spooled during the bench: the database went away")
    elapsed = time.perf_counter() - began
    store.close()
    events = n_utt + n_flags
    return {"calls": n_calls, "utterances": n_utt, "flags": n_flags, "seconds": round(elapsed, 2),
            "events_per_s": round(events / elapsed, 1),
            "p50_ms": round(_pct(per_event, 0.50) * 1000, 2),
            "p95_ms": round(_pct(per_event, 0.95) * 1000, 2),
            "max_ms": round(max(per_event) * 1000, 2)}


# ---------------------------------------------------------------- 2. fill + weekly report


def _pool() -> dict[str, tuple[str, str | None]]:
    """Each pool line redacted once: (stored text, redaction kinds)."""
    out = {}
    for line in AGENT_LINES + CUSTOMER_LINES:
        result = redact(line)
        out[line] = (result.text, ",".join(result.kinds) or None)
    return out


def fill(url: str, spool: Path, n_utterances: int, seed: int = 2) -> dict:
    rng = random.Random(seed)
    pool = _pool()
    store = Store(url, spool_dir=spool)
    store.apply_many([{"op": "agent", "id": a, "name": a.title(), "team": TEAMS[i % len(TEAMS)]}
                      for i, a in enumerate(AGENTS)])
    n_calls = max(1, n_utterances // UTTERANCES_PER_CALL)
    # inside the report's window: today and the 6 days before it, up to now
    start = now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=6)
    window = (now() - start).total_seconds() - 3600
    n_flags = n_verdicts = 0
    began = time.perf_counter()
    for c in range(n_calls):
        call_id = f"f{c:06d}"
        started = start + timedelta(seconds=rng.uniform(0, window))
        ops: list[dict] = [{"op": "call", "id": call_id, "agent": AGENTS[c % len(AGENTS)],
                            "started": started.isoformat(), "status": "incomplete",
                            "source": "bench", "host": "bench", "redacted": True}]
        flag_seq = 0
        for i, (speaker, said, phrase) in enumerate(_script(rng)):
            stored, kinds = pool[said]
            ops.append({"op": "utterance", "call_id": call_id, "seq": i + 1, "speaker": speaker,
                        "start": i * 3.0, "end": i * 3.0 + 2.5, "text": stored,
                        "language": "en", "t": i * 3.0 + 2.8, "redactions": kinds,
                        "redacted": True})
            if phrase:
                flag_seq += 1
                ops.append({"op": "flag", "call_id": call_id, "seq": flag_seq,
                            "utterance_seq": i + 1, "phrase": phrase, "speaker": speaker,
                            "text": stored, "start": i * 3.0, "end": i * 3.0 + 2.5,
                            "severity": "medium", "matcher": "exact", "t": i * 3.0 + 2.9,
                            "redacted": True})
                if rng.random() < 0.3:
                    verdict = "confirmed" if rng.random() < 0.8 else "false-alarm"
                    ops.append({"op": "review", "call_id": call_id, "flag_seq": flag_seq,
                                "verdict": verdict, "reviewer": "coach", "redacted": True})
                    n_verdicts += 1
        n_flags += flag_seq
        ops.append({"op": "end", "call_id": call_id,
                    "ended": (started + timedelta(minutes=5)).isoformat(),
                    "duration": UTTERANCES_PER_CALL * 3.0})
        store.apply_many(ops)  # one transaction per call
    elapsed = time.perf_counter() - began
    store.close()
    return {"calls": n_calls, "utterances": n_calls * UTTERANCES_PER_CALL, "flags": n_flags,
            "verdicts": n_verdicts, "seconds": round(elapsed, 1),
            "utterances_per_s": round(n_calls * UTTERANCES_PER_CALL / elapsed, 1),
            "path": "Store.apply_many, one transaction per call of 100 utterances"}


def report_times(url: str, spool: Path, repeats: int = 3) -> dict:
    store = Store(url, spool_dir=spool)
    times = []
    report = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        report = week_report(store)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    html = export_week(store, "html")
    html_s = time.perf_counter() - t0
    store.close()
    return {"week_report_s": round(statistics.median(times), 3),
            "week_report_runs_s": [round(t, 3) for t in times],
            "export_html_s": round(html_s, 3), "html_bytes": len(html),
            "report_calls": report.calls, "report_flags": report.flags,
            "report_agents": len(report.per_agent)}


# ---------------------------------------------------------------- back ends


def run_backend(name: str, write_url: str, fill_url: str, work: Path, args) -> dict:
    """The write rate into one empty database, then fill another and time the report."""
    print(f"[{name}] write rate: {args.write_calls} calls x {UTTERANCES_PER_CALL} utterances "
          "through StoreSink ...", flush=True)
    result: dict = {"write": write_rate(write_url, work / "spool-w", args.write_calls)}
    print(f"[{name}]   {result['write']}", flush=True)
    print(f"[{name}] fill to {args.utterances:,} utterances ...", flush=True)
    result["fill"] = fill(fill_url, work / "spool-f", args.utterances)
    print(f"[{name}]   {result['fill']}", flush=True)
    result["report"] = report_times(fill_url, work / "spool-r")
    print(f"[{name}]   {result['report']}", flush=True)
    if name == "sqlite":
        db = work / "fill.db"
        size = db.stat().st_size + sum(p.stat().st_size for p in work.glob("fill.db-*"))
        result["sqlite_file_bytes"] = size
    else:
        with Store(fill_url, spool_dir=work / "spool-r") as store, store.engine.connect() as conn:
            result["pg_database_bytes"] = conn.exec_driver_sql(
                "SELECT pg_database_size(current_database())").scalar()
    return result


def start_postgres() -> tuple[PgServer | None, str]:
    """A durable throw-away server in its own temporary folder (owned by postgres as root)."""
    bindir = _bindir()
    if bindir is None:
        return None, "PostgreSQL server binaries not found (Debian: apt-get install postgresql)"
    base = Path(tempfile.mkdtemp(prefix="assist-pg-bench-"))
    try:
        as_user = run_as(base)
        server = PgServer(bindir, base, as_user)
        server.init()
        server.start(durable=True)
        server.admin("CREATE DATABASE fill")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(base, ignore_errors=True)
        return None, f"could not start a throw-away PostgreSQL: {exc}"
    return server, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=100_000,
                        help="utterances stored before the weekly report (default 100000)")
    parser.add_argument("--write-calls", type=int, default=20,
                        help="calls of 100 utterances replayed for the write rate (default 20)")
    parser.add_argument("--quick", action="store_true",
                        help="10,000 utterances and 5 write calls")
    parser.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument("--json", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.utterances = min(args.utterances, 10_000)
        args.write_calls = min(args.write_calls, 5)

    work = Path(tempfile.mkdtemp(prefix="assist-store-bench-"))
    out: dict = {"cpu_count": os.cpu_count(), "utterances": args.utterances,
                 "write_calls": args.write_calls,
                 "notes": {"write": "StoreSink: each final utterance and flag redacted and "
                                    "committed in its own transaction",
                           "fill": "Store.apply_many, one transaction per call of 100 "
                                   "utterances, pool texts redacted once",
                           "sqlite": "WAL, synchronous=FULL (as the store opens it), file in "
                                     + tempfile.gettempdir(),
                           "postgresql": "throw-away local server, durable defaults "
                                         "(fsync, synchronous_commit on), over TCP loopback"},
                 "backends": {}}
    server = None
    try:
        if args.backend in ("both", "sqlite"):
            lite = work / "sqlite"
            out["backends"]["sqlite"] = run_backend("sqlite", f"sqlite:///{lite / 'write.db'}",
                                                    f"sqlite:///{lite / 'fill.db'}", lite, args)
        if args.backend in ("both", "postgresql"):
            server, reason = start_postgres()
            if server is None:
                print(f"[postgresql] skipped: {reason}", flush=True)
                out["backends"]["postgresql"] = {"skipped": reason}
            else:
                out["backends"]["postgresql"] = run_backend("postgresql", server.url(),
                                                            server.url("fill"), work / "pg", args)
    finally:
        if server is not None:
            try:
                server.stop()
            except RuntimeError as exc:
                print(f"stopping PostgreSQL: {exc}", file=sys.stderr)
            shutil.rmtree(server.base, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    _table(out)
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


def _table(out: dict) -> None:
    print()
    print(f"store bench: {out['cpu_count']} CPUs, {out['utterances']:,} utterances, "
          f"write rate over {out['write_calls']} calls x {UTTERANCES_PER_CALL} utterances")
    print("write rate: StoreSink, each utterance/flag redacted and committed on its own; "
          "fill: Store.apply_many, one transaction per call (not a write-rate figure); "
          "db MB: SQLite file + WAL, or pg_database_size")
    head = (f"{'backend':<11} {'events/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'fill s':>7} "
            f"{'fill utt/s':>10} {'week_report s':>13} {'html s':>7} {'calls':>6} {'flags':>6} "
            f"{'db MB':>6}")
    print(head)
    print("-" * len(head))
    for name, r in out["backends"].items():
        if "skipped" in r:
            print(f"{name:<11} skipped: {r['skipped']}")
            continue
        w, f, rep = r["write"], r["fill"], r["report"]
        size = r.get("sqlite_file_bytes")
        size = size or r.get("pg_database_bytes")
        mb = f"{size / 1e6:6.1f}" if size else f"{'-':>6}"
        print(f"{name:<11} {w['events_per_s']:>9.1f} {w['p50_ms']:>7.2f} {w['p95_ms']:>7.2f} "
              f"{f['seconds']:>7.1f} {f['utterances_per_s']:>10.1f} "
              f"{rep['week_report_s']:>13.3f} {rep['export_html_s']:>7.3f} "
              f"{rep['report_calls']:>6} {rep['report_flags']:>6} {mb}")
    print()


if __name__ == "__main__":
    sys.exit(main())
