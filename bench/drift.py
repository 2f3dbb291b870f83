"""Clock drift between two capture devices, and what DualSource's correction leaves.

Measured: a private PulseAudio server with two null sinks fed one stream of
noise bursts through a combine sink, and DualSource recording both monitors
through PortAudio for --minutes.  Every --every seconds it cross-correlates the
last seconds of the two captured sides: the change of that lag since the first
sample is the misalignment the correction left ("left lag"); minus the samples
the corrector inserted/dropped it is what the raw streams drifted ("raw lag").
Per side it also prints the fitted device rate against the monotonic clock.

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
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from assist.audio import DriftCorrector, DualSource  # noqa: E402

RATE = 16000


def measure(minutes: float, every: float) -> list[dict]:
    """Both sinks get one stream of noise bursts (a combine sink): any change in the lag
    between the two captured sides is drift that the correction did not remove."""
    from support.pulse_server import PulseServer, missing

    why = missing()
    if why:
        raise SystemExit(f"cannot measure: {why}")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp, PulseServer(Path(tmp), ["agent_out", "customer_out"]) as pulse:
        pulse.load("both", "module-combine-sink", "sink_name=both", "slaves=agent_out,customer_out")
        signal = Path(tmp) / "bursts.wav"
        _bursts(signal, minutes * 60 + 30)
        source = DualSource("pulse:agent_out.monitor", "pulse:customer_out.monitor", echo=None)
        keep = 3 * RATE
        recent = {"agent": np.zeros(0, np.float32), "customer": np.zeros(0, np.float32)}
        player = None
        start = time.monotonic()
        next_sample = start + every
        first_lag = None
        for frame in source:
            if player is None:
                player = pulse.play("both", signal)
            for name, audio in frame.audio.items():
                recent[name] = np.concatenate([recent[name], audio])[-keep:]
            now = time.monotonic()
            if now >= next_sample and len(recent["agent"]) == keep:
                next_sample += every
                lag = _lag_ms(recent["agent"], recent["customer"])
                if lag is None:
                    continue
                first_lag = lag if first_lag is None else first_lag
                rows.append(_row(now - start, lag - first_lag, source))
                print(_fmt(rows[-1]), flush=True)
            if now - start >= minutes * 60:
                break
        source.stop()
        player.kill()
    return rows


def _bursts(path: Path, seconds: float) -> None:
    import soundfile as sf

    rng = np.random.default_rng(7)
    with sf.SoundFile(str(path), "w", RATE, 1, subtype="PCM_16") as out:
        for _ in range(int(seconds)):
            second = np.zeros(RATE, np.float32)
            at = int(rng.integers(0, RATE // 2))
            second[at:at + RATE // 5] = 0.3 * rng.standard_normal(RATE // 5)
            out.write(second)


def _lag_ms(agent: np.ndarray, customer: np.ndarray, search: int = 1600) -> float | None:
    """Lag of the agent side behind the customer side (ms, sub-sample), by cross-correlation."""
    a = agent[search:-search].astype(np.float64)
    if np.sqrt(np.mean(a * a)) < 1e-3:
        return None
    c = customer.astype(np.float64)
    corr = np.array([a @ c[search + k: search + k + len(a)] for k in range(-search, search + 1)])
    i = int(np.argmax(corr))
    if 0 < i < len(corr) - 1:  # parabolic peak
        y0, y1, y2 = corr[i - 1], corr[i], corr[i + 1]
        shift = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
    else:
        shift = 0.0
    return -1000.0 * (i - search + shift) / RATE


def _row(elapsed: float, lag_change_ms: float, source: DualSource) -> dict:
    row = {"elapsed_s": round(elapsed, 1), "lag_change_ms": round(lag_change_ms, 3)}
    for name, side in source.sides.items():
        d = side.drift
        row[name] = {"ppm": round(d.ppm(), 3), "ppm_error": round(d.ppm_error(), 3),
                     "corrected_ms": round(1000 * d.applied / RATE, 3)}
    # what the lag would have been without the correction
    row["raw_lag_change_ms"] = round(
        lag_change_ms - (row["agent"]["corrected_ms"] - row["customer"]["corrected_ms"]), 3)
    return row


def _fmt(r: dict) -> str:
    a, c = r["agent"], r["customer"]
    return (f"{r['elapsed_s']:>7.0f}  {a['ppm']:>8.2f} {c['ppm']:>8.2f}  {r['raw_lag_change_ms']:>9.3f}"
            f"  {a['corrected_ms']:>8.2f} {c['corrected_ms']:>8.2f}  {r['lag_change_ms']:>9.3f}")


def simulate(minutes: float, ppm: float, jitter_ms: float, rate: int = 48000, seed: int = 0,
             overflows: int = 3) -> dict:
    """The corrector alone, on a device that runs ``ppm`` fast, with capture-time jitter
    and ``overflows`` losses of 50 ms spread over the capture."""
    rng = np.random.default_rng(seed)
    corrector = DriftCorrector(rate)
    block = rate // 20
    true_rate = rate * (1 + ppm * 1e-6)
    n_blocks = int(minutes * 60 * true_rate / block)
    out = 0
    worst = 0.0
    losses = set(np.linspace(0, n_blocks, overflows + 2)[1:-1].astype(int))
    skipped = 0
    for k in range(n_blocks):
        if k in losses:
            skipped += block  # the device's samples of one block never arrive
            continue
        t = k * block / true_rate  # capture time of the block's first sample
        stamp = t + rng.normal(0, jitter_ms / 1000)
        lost = corrector.arrived(t, stamp, block, overflow=k - 1 in losses)
        got = corrector.correct(np.zeros((block + lost) * RATE // rate, np.float32) + 0.01)
        out += len(got)
        # residual: where the corrected stream is against the clock, in seconds
        if t > 60:
            worst = max(worst, abs(out / RATE - (t + block / true_rate)))
    end = n_blocks * block / true_rate
    return {"minutes": minutes, "true_ppm": ppm, "jitter_ms": jitter_ms,
            "overflows": overflows, "lost_ms": round(1000 * skipped / rate, 1),
            "refilled_ms": round(1000 * corrector.lost / rate, 1),
            "measured_ppm": round(corrector.ppm(), 3),
            "raw_drift_ms": round(1000 * ppm * 1e-6 * end, 2),
            "corrected_ms": round(1000 * corrector.applied / RATE, 2),
            "residual_end_ms": round(1000 * (out / RATE - end), 3),
            "residual_worst_after_60s_ms": round(1000 * worst, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--sim-ppm", type=float, default=100.0)
    parser.add_argument("--no-measure", action="store_true", help="only the simulation")
    args = parser.parse_args()
    rows = []
    if not args.no_measure:
        print(f"{'t (s)':>7}  {'ppm a':>8} {'ppm c':>8}  {'raw lag':>9}  {'corr a':>8} {'corr c':>8}"
              f"  {'left lag':>9}   (ppm vs monotonic clock; ms, lag change since first sample)")
        rows = measure(args.minutes, args.every)
    sims = [simulate(30, p, 2.0) for p in (args.sim_ppm, -args.sim_ppm)]
    for s in sims:
        print(f"simulated {s['minutes']:.0f} min at {s['true_ppm']:+.0f} ppm, {s['jitter_ms']} ms jitter: "
              f"measured {s['measured_ppm']:+.2f} ppm, raw drift {s['raw_drift_ms']:+.1f} ms, "
              f"corrected {s['corrected_ms']:+.1f} ms, left {s['residual_end_ms']:+.3f} ms "
              f"(worst after 60 s {s['residual_worst_after_60s_ms']:.3f} ms); "
              f"{s['overflows']} overflows lost {s['lost_ms']} ms, refilled {s['refilled_ms']} ms")
    last = rows[-1] if rows else None
    extrapolated = None
    if last:
        diff_ppm = last["agent"]["ppm"] - last["customer"]["ppm"]
        slope = last["raw_lag_change_ms"] / max(last["elapsed_s"], 1.0)  # ms per second
        extrapolated = {"between_ppm_fit": round(diff_ppm, 3),
                        "raw_lag_ms_per_minute": round(60 * slope, 4),
                        "raw_lag_ms_at_30min": round(1800 * slope, 3)}
    print(json.dumps({"cpu_count": os.cpu_count(), "measured_minutes": args.minutes if rows else 0,
                      "rows": rows, "extrapolated_30min": extrapolated, "simulated": sims}))


if __name__ == "__main__":
    main()
