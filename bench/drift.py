"""Clock drift between two capture devices, and what DualSource's correction leaves.

Measured: a private PulseAudio server with two null sinks, a paplay loop into
each, and DualSource recording both monitors through PortAudio for --minutes.
Every --every seconds it samples, per side, the device clock against the
monotonic clock (fitted ppm, and the seconds the raw stream gained) and the
samples the corrector inserted or dropped.  Residual = gained + corrected: the
misalignment that is left; "between" is agent minus customer.

Null sinks are driven by the system timer, so their true drift is ~0 ppm; real
sound cards drift 10-100 ppm.  So the script also runs the same DriftCorrector
offline over a simulated 30-minute capture of a device that is off by --sim-ppm
with scheduling jitter, which shows what the correction does with real drift.

    python bench/drift.py --minutes 30          # prints a table, then one JSON line
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from assist.capture import DriftCorrector, DualSource  # noqa: E402

RATE = 16000


def measure(minutes: float, every: float, speech: Path | None) -> list[dict]:
    from pulse_server import PulseServer, missing

    why = missing()
    if why:
        raise SystemExit(f"cannot measure: {why}")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp, PulseServer(Path(tmp), ["agent_out", "customer_out"]) as pulse:
        stop = threading.Event()

        def loop(sink: str) -> None:
            while speech and not stop.is_set():
                pulse.play(sink, speech).wait()

        players = [threading.Thread(target=loop, args=(s,), daemon=True) for s in ("agent_out", "customer_out")]
        for p in players:
            p.start()
        source = DualSource("pulse:agent_out.monitor", "pulse:customer_out.monitor", echo=None)
        start = time.monotonic()
        next_sample = start + every
        for frame in source:
            now = time.monotonic()
            if now >= next_sample:
                next_sample += every
                rows.append(_row(now - start, frame.start + frame.duration, source))
                print(_fmt(rows[-1]), flush=True)
            if now - start >= minutes * 60:
                break
        source.stop()
        stop.set()
    return rows


def _row(elapsed: float, audio: float, source: DualSource) -> dict:
    row = {"elapsed_s": round(elapsed, 1), "audio_s": round(audio, 3)}
    residual = {}
    for name, side in source.sides.items():
        d = side.drift
        corrected = d.applied / RATE
        residual[name] = d.gained + corrected
        row[name] = {"ppm": round(d.ppm(), 3), "gained_ms": round(1000 * d.gained, 3),
                     "corrected_ms": round(1000 * corrected, 3),
                     "residual_ms": round(1000 * residual[name], 3)}
    row["between_raw_ms"] = round(row["agent"]["gained_ms"] - row["customer"]["gained_ms"], 3)
    row["between_residual_ms"] = round(1000 * (residual["agent"] - residual["customer"]), 3)
    return row


def _fmt(r: dict) -> str:
    a, c = r["agent"], r["customer"]
    return (f"{r['elapsed_s']:>7.0f}  {a['ppm']:>8.2f} {c['ppm']:>8.2f}  {r['between_raw_ms']:>9.2f}"
            f"  {a['corrected_ms']:>8.2f} {c['corrected_ms']:>8.2f}  {r['between_residual_ms']:>9.2f}")


def simulate(minutes: float, ppm: float, jitter_ms: float, rate: int = 48000, seed: int = 0) -> dict:
    """The corrector alone, on a device that runs ``ppm`` fast, with capture-time jitter."""
    rng = np.random.default_rng(seed)
    corrector = DriftCorrector(rate)
    block = rate // 20
    true_rate = rate * (1 + ppm * 1e-6)
    n_blocks = int(minutes * 60 * true_rate / block)
    out = 0
    worst = 0.0
    for k in range(n_blocks):
        t = k * block / true_rate  # capture time of the block's first sample
        stamp = t + rng.normal(0, jitter_ms / 1000)
        corrector.arrived(t, stamp, block)
        got = corrector.correct(np.zeros(block * RATE // rate, np.float32) + 0.01)
        out += len(got)
        # residual: where the corrected stream is against the clock, in seconds
        if t > 60:
            worst = max(worst, abs(out / RATE - (t + block / true_rate)))
    end = n_blocks * block / true_rate
    return {"minutes": minutes, "true_ppm": ppm, "jitter_ms": jitter_ms,
            "measured_ppm": round(corrector.ppm(), 3),
            "raw_drift_ms": round(1000 * ppm * 1e-6 * end, 2),
            "corrected_ms": round(1000 * corrector.applied / RATE, 2),
            "residual_end_ms": round(1000 * (out / RATE - end), 3),
            "residual_worst_after_60s_ms": round(1000 * worst, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--speech", type=Path, help="file played in a loop into both sinks")
    parser.add_argument("--sim-ppm", type=float, default=100.0)
    parser.add_argument("--no-measure", action="store_true", help="only the simulation")
    args = parser.parse_args()
    rows = []
    if not args.no_measure:
        print(f"{'t (s)':>7}  {'agent':>8} {'cust':>8}  {'raw diff':>9}  {'corr a':>8} {'corr c':>8}"
              f"  {'residual':>9}   (ppm vs monotonic clock; ms)")
        rows = measure(args.minutes, args.every, args.speech)
    sims = [simulate(30, p, 5.0) for p in (args.sim_ppm, -args.sim_ppm)]
    for s in sims:
        print(f"simulated {s['minutes']:.0f} min at {s['true_ppm']:+.0f} ppm, {s['jitter_ms']} ms jitter: "
              f"measured {s['measured_ppm']:+.2f} ppm, raw drift {s['raw_drift_ms']:+.1f} ms, "
              f"corrected {s['corrected_ms']:+.1f} ms, left {s['residual_end_ms']:+.3f} ms "
              f"(worst after 60 s {s['residual_worst_after_60s_ms']:.3f} ms)")
    last = rows[-1] if rows else None
    extrapolated = None
    if last:
        diff_ppm = last["agent"]["ppm"] - last["customer"]["ppm"]
        extrapolated = {"between_ppm": round(diff_ppm, 3),
                        "between_raw_ms_at_30min": round(diff_ppm * 1e-6 * 1800 * 1000, 3)}
    print(json.dumps({"cpu_count": os.cpu_count(), "measured_minutes": args.minutes if rows else 0,
                      "rows": rows, "extrapolated_30min": extrapolated, "simulated": sims}))


if __name__ == "__main__":
    main()
