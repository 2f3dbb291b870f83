"""UI responsiveness: time from a key press to the screen update, while both channels decode.

Runs ``assist demo`` (the real pipeline and models on the bundled sample call, both
channels at real-time pace) in a pseudo-terminal of the given size, exactly as a
terminal would: keys go in as bytes, the screen comes out as bytes.  It presses
keys at irregular intervals and, for each, times the interval from writing the
key to receiving the update that shows its effect:

    m  mark a moment      the "marked at" line in the transcript
    p  pause / resume     the header's new call state
    r  review screen      the review screen's filters
    l  live screen        the transcript panel
    k  KB screen          the KB search box (its hint: the first letter may be under the cursor)

First while the call runs (both channels decoding), then, as the baseline in the
same run, the same keys once the call has ended (decoding idle).  Prints per-key
and overall p50 / p95 / max, with the core count, as a table and as JSON.
Target: p95 <= 100 ms while decoding.

    python bench/ui.py                  # 140x42
    python bench/ui.py --size 100x30
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import dataclass, field

import numpy as np

TIMEOUT = 3.0  # seconds: a press with no visible effect by then counts as this long

# (key, what the screen shows once the key has taken effect, label), per phase
CALL_KEYS = [("m", "marked at", "m mark"), ("p", "⏸ paused", "p pause"),
             ("p", "● live", "p resume"), ("r", "since YYYY-MM-DD", "r review"),
             ("l", "Transcript", "l live, from review"), ("k", "the customer's words", "k KB"),
             ("l", "Transcript", "l live, from KB")]
IDLE_KEYS = [("m", "to mark", "m mark (no call)"), *CALL_KEYS[1:2],
             ("p", "■ call ended", "p resume"), *CALL_KEYS[3:]]


@dataclass
class Terminal:
    """The bench's side of a pseudo-terminal: everything the app wrote, with arrival times."""

    fd: int
    data: bytearray = field(default_factory=bytearray)
    chunks: list[tuple[float, int]] = field(default_factory=list)  # (arrival, end offset)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)
    closed: bool = False

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            now = time.monotonic()
            with self.arrived:
                if not chunk:
                    self.closed = True
                    self.arrived.notify_all()
                    return
                self.data += chunk
                self.chunks.append((now, len(self.data)))
                self.arrived.notify_all()

    def mark(self) -> int:
        with self.lock:
            return len(self.data)

    def wait_for(self, text: str, since: int, timeout: float) -> float | None:
        """Arrival time of the chunk that completed ``text`` after offset ``since``."""
        needle = text.encode()
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                at = self.data.find(needle, since)
                if at >= 0:
                    end = at + len(needle)
                    return next(t for t, offset in self.chunks if offset >= end)
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.arrived.wait(left)


def start_demo(columns: int, rows: int, home: str) -> tuple[subprocess.Popen, Terminal]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", HOME=home,
               XDG_DATA_HOME=os.path.join(home, "data"), ASSIST_DB=os.path.join(home, "assist.db"),
               COLUMNS=str(columns), LINES=str(rows))

    def controlling_tty() -> None:  # runs in the child after setsid
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    command = [shutil.which("assist") or "assist", "demo", "--no-store"]
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                               start_new_session=True, preexec_fn=controlling_tty, close_fds=True)
    os.close(slave)
    return process, Terminal(master)


def press_keys(term: Terminal, keys: list[tuple[str, str, str]], until: float | None,
               count: int | None, rng: random.Random) -> list[tuple[str, float]]:
    """Press the keys round and round (until a time, or ``count`` presses); (key, seconds) each."""
    out: list[tuple[str, float]] = []
    i = 0
    while (until is None or time.monotonic() < until) and (count is None or i < count):
        key, shows, label = keys[i % len(keys)]
        time.sleep(rng.uniform(0.25, 0.6))
        since = term.mark()
        sent = time.monotonic()
        os.write(term.fd, key.encode())
        seen = term.wait_for(shows, since, TIMEOUT)
        out.append((label, TIMEOUT if seen is None else seen - sent))
        if seen is None:
            print(f"  no update for {label!r} within {TIMEOUT:.0f} s", file=sys.stderr)
        i += 1
    return out


def stats(values: list[float]) -> dict:
    ms = np.array(values) * 1000
    return {"n": len(values), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(float(ms.max()), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="140x42", help="terminal COLUMNSxROWS")
    parser.add_argument("--idle-presses", type=int, default=35, help="presses after the call ended")
    parser.add_argument("--call-seconds", type=float, default=90.0,
                        help="how long to press keys while the call runs (the sample is 100 s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dump", help="write everything the app sent to the terminal here")
    args = parser.parse_args()
    columns, rows = (int(x) for x in args.size.lower().split("x"))
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as home:
        began = time.monotonic()
        process, term = start_demo(columns, rows, home)
        try:
            if term.wait_for("● live", 0, 180) is None:
                print("assist demo did not start a call within 180 s", file=sys.stderr)
                return 1
            loaded = time.monotonic() - began
            print(f"models loaded in {loaded:.1f} s; pressing keys while the call runs ...",
                  file=sys.stderr)
            call = press_keys(term, CALL_KEYS, time.monotonic() + args.call_seconds, None, rng)
            os.write(term.fd, b"l")  # back to the live screen (nothing if there already)
            if term.wait_for("■ call ended", 0, 120) is None:
                print("the call did not end", file=sys.stderr)
                return 1
            print("call ended; the idle baseline ...", file=sys.stderr)
            idle = press_keys(term, IDLE_KEYS, None, args.idle_presses, rng)
            os.write(term.fd, b"q")
            process.wait(timeout=30)
        finally:
            if args.dump:
                with open(args.dump, "wb") as out:
                    out.write(term.data)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    phases = {"while decoding": call, "idle (baseline)": idle}
    rows_out = []
    for phase, presses in phases.items():
        if not presses:
            continue
        rows_out.append({"phase": phase, "key": "all", **stats([s for _, s in presses])})
        for label in dict.fromkeys(k for k, _ in presses):
            rows_out.append({"phase": phase, "key": label,
                             **stats([s for k, s in presses if k == label])})
    overall = stats([s for _, s in call])
    result = {"bench": "ui", "cores": os.cpu_count(), "terminal": f"{columns}x{rows}",
              "load_avg_1min": round(os.getloadavg()[0], 2), "models_loaded_s": round(loaded, 1),
              "target_p95_ms": 100, "p95_ms_while_decoding": overall["p95_ms"],
              "met": overall["p95_ms"] <= 100, "rows": rows_out}
    print(f"cores={os.cpu_count()} terminal={columns}x{rows} load_avg={result['load_avg_1min']}")
    print(f"{'phase':<16} {'key':<22} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for r in rows_out:
        print(f"{r['phase']:<16} {r['key']:<22} {r['n']:>4} {r['p50_ms']:>8} {r['p95_ms']:>8} "
              f"{r['max_ms']:>8}")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
