"""The three HTML reports on a store of two weeks of calls, as headless Chromium shows them.

    python bench/report_screens.py [--data ../shared/data] [--out bench/results] [--keep DIR]

Builds two weeks of calls (ending today) through ``assist import``: each call the
sample call's agent turns around a customer question from banking77 test, five intents
at their own daily rates, the card that never arrived rising over the last three days
(a burst of calls within an hour, so the early warning fires); the agent says a banned
phrase in some calls and a coach reviews some flags.  Then writes
``assist painpoints report --format html``, ``assist export --week --format html`` and
``assist export --call ... --format html`` and screenshots each with
``chromium --headless`` (1200 px wide) into report_painpoints.png, report_week.png and
report_call.png, reduced to a small palette.  Needs chromium (Debian: apt-get install
chromium).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# intent -> calls per day, oldest first (14 days); card_arrival rises at the end
RATES = {
    "card_arrival": [1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 3, 5, 8],
    "transaction_charged_twice": [2, 1, 2, 2, 1, 2, 1, 2, 2, 1, 2, 1, 2, 1],
    "exchange_rate": [1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1],
    "pin_blocked": [0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0],
    "cash_withdrawal_charge": [1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1],
}
POLITE = ["I'm sorry to hear that. Let me check that for you.",
          "Thank you for waiting. I can see what happened there.",
          "I can sort that out for you now."]


def calls(data: Path, today: datetime) -> list[dict]:
    """The import file's calls, oldest first."""
    with open(data / "banking77" / "test.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    asked = {intent: [r["text"] for r in rows if r["category"] == intent] for intent in RATES}
    sample = json.loads((ROOT / "assist" / "data" / "sample_call.json").read_text())
    agent = [t["text"] for t in sample["turns"] if t["speaker"] == "agent"]
    rude = [agent[i] for i in (4, 5, 6)]  # calm down, as I already said, company policy
    rng = random.Random(7)
    out = []
    start = today.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=13)
    for day in range(14):
        for intent, rates in RATES.items():
            for n in range(rates[day]):
                burst = intent == "card_arrival" and day >= 11
                at = start + timedelta(days=day, hours=9 + (n * 10 / 60 if burst else rng.uniform(0, 8)))
                if at > today:
                    at = today - timedelta(minutes=5 * (n + 1))
                said = rng.choice(POLITE) if rng.random() < 0.7 else rng.choice(rude)
                turns = [("agent", agent[0]), ("customer", rng.choice(asked[intent])),
                         ("agent", said), ("customer", "Okay, thank you."),
                         ("agent", agent[-1])]
                clock, utterances = 0.5, []
                for speaker, text in turns:
                    length = 0.35 * len(text.split()) + 0.5
                    utterances.append({"speaker": speaker, "start": round(clock, 2),
                                       "end": round(clock + length, 2), "text": text})
                    clock += length + 0.6
                out.append({"id": f"{intent[:6]}-{day}-{n}", "started": at.isoformat(),
                            "agent": rng.choice(["amy", "ben", "cara"]), "utterances": utterances})
    return sorted(out, key=lambda c: c["started"])


def assist(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "assist", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=False)
    if done.returncode:
        raise SystemExit(f"assist {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def screenshot(page: Path, png: Path, height: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found (Debian: apt-get install chromium)")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={png}", f"--window-size=1200,{height}", page.as_uri()],
                   capture_output=True, check=True, timeout=120)
    from PIL import Image

    with Image.open(png) as image:  # small enough to commit: 64 colours
        image.convert("RGB").quantize(64).save(png, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--keep", type=Path, help="keep the store and the HTML files here")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="assist-reports-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ASSIST_CONFIG": str(work / "config.toml"), "HF_HUB_OFFLINE": "1",
           "ASSIST_DB": str(work / "team.db"), "XDG_DATA_HOME": str(work / "data")}
    (work / "team.db").unlink(missing_ok=True)
    today = datetime.utcnow()
    made = calls(args.data, today)
    (work / "calls.jsonl").write_text("".join(json.dumps(c) + "\n" for c in made))
    stored = [json.loads(line)["call"] for line in
              assist("import", str(work / "calls.jsonl"), env=env).splitlines()]
    print(f"imported {len(stored)} calls")
    listed = [json.loads(line) for line in
              assist("calls", "--limit", "500", "--jsonl", env=env).splitlines()]
    flagged = [c["id"] for c in listed if c["flags"]]
    for n, call in enumerate(flagged):
        if n % 3 != 2:  # a third stays unreviewed
            assist("verdict", call, "1", "confirmed" if n % 3 == 0 else "false-alarm", env=env)
    pages = {"painpoints": work / "painpoints.html", "week": work / "week.html",
             "call": work / "call.html"}
    assist("painpoints", "report", "--format", "html", "-o", str(pages["painpoints"]), env=env)
    assist("export", "--week", "--format", "html", "-o", str(pages["week"]), env=env)
    assist("export", "--call", flagged[0], "--format", "html", "-o", str(pages["call"]), env=env)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, page in pages.items():
        png = args.out / f"report_{name}.png"
        screenshot(page, png, 1600)
        print(f"{png}: {png.stat().st_size // 1024} KB, from {page} ({page.stat().st_size // 1024} KB)")
    print(assist("painpoints", "list", env=env))


if __name__ == "__main__":
    main()
