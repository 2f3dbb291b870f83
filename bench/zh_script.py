"""Traditional -> simplified converters from PyPI, compared for the recogniser's Mandarin text.

    python bench/zh_script.py [--site DIR] [--json-only]

Whisper writes Mandarin in traditional characters as often as not (廣州市 for 广州市);
every partial and final is converted before anyone sees it, so the converter must be
right on call vocabulary and cost far under a millisecond for a 30-character line.

Per candidate (each in its own process, so imports and memory do not mix):
- ``right``: lines of ``tests/data/zh_traditional.tsv`` (addresses, bank words, numbers,
  the phrase pack's kind of lines, one-to-two characters such as 帳 -> 账/帐) converted
  exactly as labelled;
- ``damaged``: simplified lines the converter altered, out of every Chinese string of
  phrases/zh.toml, checklists/zh.toml and the labelled zh phrase and redaction sets
  (the phrase sets hold a few traditional lines on purpose: a line counts as
  traditional when most candidates change it);
- ``us/line``: microseconds per 30-character line (median of 15 rounds over 200 lines),
  and ``p99`` of single calls;
- ``load ms`` (import and first converter) and ``RSS MB`` added by it;
- the latest release month on PyPI, whether the wheel is native code, and the licence
  (assist is MIT: a GPL converter in its process is not an option).

Candidates not installed in this environment are looked for in ``--site DIR``:
``pip install --no-deps --target DIR opencc zhconv hanziconv zhconv-rs opencc-pyo3
opencc-purepy`` (``opencc``, the official binding, and ``opencc-python-reimplemented``
both install a module named ``opencc``; the official one is taken from DIR).  Prints a
table, then one JSON line with the figures and the core count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

# name: (PyPI distribution, its latest release month as the package index listed it when
# this was written, the code it runs, its licence as its wheel states it); the converter
# itself is built by _build()
CANDIDATES: dict[str, tuple[str, str, str, str]] = {
    "opencc-python-reimplemented t2s": ("opencc-python-reimplemented", "2023-02", "pure", "Apache-2.0"),
    "opencc t2s": ("opencc", "2026-08", "C++", "Apache-2.0"),
    "opencc-pyo3 t2s": ("opencc-pyo3", "2026-10", "Rust", "MIT"),
    "opencc-purepy t2s": ("opencc-purepy", "2026-10", "pure", "MIT"),
    "zhconv zh-hans": ("zhconv", "2021-10", "pure", "GPL-2.0+"),
    "zhconv zh-cn": ("zhconv", "2021-10", "pure", "GPL-2.0+"),
    "hanziconv": ("hanziconv", "2016-09", "pure", "Apache-2.0"),
    "zhconv-rs zh-hans": ("zhconv-rs", "2026-09", "Rust", "GPL-2.0+"),
    "zhconv-rs zh-cn": ("zhconv-rs", "2026-09", "Rust", "GPL-2.0+"),
    # what assist runs: opencc-pyo3's t2s after writing the account 帳 as 賬 (assist/asr/script.py)
    "assist: opencc-pyo3 + account": ("opencc-pyo3", "2026-10", "Rust", "MIT"),
}


def _build(name: str, site: str | None):
    """The converter ``str -> str`` of candidate ``name``, imported in this process."""
    if name.startswith("assist"):
        from assist.asr.script import simplified  # imported by measure(), loaded lazily

        return simplified
    if name.startswith("opencc t2s"):
        if site:
            sys.path.insert(0, site)
        import opencc

        if not (Path(opencc.__file__).parent / "clib").exists():
            raise ImportError("the official opencc binding is not installed (only the reimplementation)")
        return opencc.OpenCC("t2s").convert
    if site:
        sys.path.append(site)
    if name.startswith("opencc-python-reimplemented"):
        import opencc

        if (Path(opencc.__file__).parent / "clib").exists():
            raise ImportError("'opencc' here is the official binding, not the reimplementation")
        return opencc.OpenCC("t2s").convert
    if name.startswith("opencc-pyo3"):
        import opencc_pyo3

        return opencc_pyo3.OpenCC("t2s").convert
    if name.startswith("opencc-purepy"):
        import opencc_purepy

        return opencc_purepy.OpenCC("t2s").convert
    if name.startswith("zhconv-rs"):
        import zhconv_rs

        target = name.split()[-1]
        return lambda text: zhconv_rs.zhconv(text, target)
    if name.startswith("zhconv"):
        import zhconv

        target = name.split()[-1]
        return lambda text: zhconv.convert(text, target)
    if name == "hanziconv":
        from hanziconv import HanziConv

        return HanziConv.toSimplified
    raise KeyError(name)


def labelled() -> list[dict[str, str]]:
    lines = [line for line in (DATA / "zh_traditional.tsv").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def simplified_lines() -> list[str]:
    """Every Chinese line the project already holds in simplified characters."""
    texts: list[str] = []
    for pack in (ROOT / "phrases" / "zh.toml", ROOT / "checklists" / "zh.toml"):
        texts += _strings(tomllib.loads(pack.read_text(encoding="utf-8")))
    for name in ("phrases_eval_zh.tsv", "phrases_dev_zh.tsv", "redaction_speech.tsv"):
        rows = [line.split("\t") for line in (DATA / name).read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#")]
        texts += [cell for row in rows[1:] for cell in row[:2]]
    han = [t for t in texts if any("\u4e00" <= c <= "\u9fff" for c in t)]
    return sorted(set(han))


def lines_of(length: int, count: int, rows: list[dict[str, str]]) -> list[str]:
    """``count`` lines of ``length`` characters cut from the traditional lines in turn."""
    stream = "，".join(r["traditional"] for r in rows)
    while len(stream) < (count + 1) * length:
        stream += "，" + stream
    return [stream[i * length:(i + 1) * length] for i in range(count)]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(name: str, site: str | None) -> dict:
    """One candidate's figures, in this process."""
    rows = labelled()
    if name.startswith("assist"):  # the package's own imports are not the converter's cost
        sys.path.insert(0, str(ROOT))
        import assist.asr.script  # noqa: F401
    rss = _rss_mb()
    began = time.perf_counter()
    convert = _build(name, site)
    convert("廣州市")  # a lazy dictionary load counts as loading
    load_ms = (time.perf_counter() - began) * 1000
    rss_added = _rss_mb() - rss
    misses = [{"category": r["category"], "traditional": r["traditional"], "got": convert(r["traditional"]),
               "want": r["simplified"]} for r in rows if convert(r["traditional"]) != r["simplified"]]
    by_category: dict[str, list[int]] = {}
    for r in rows:
        right = convert(r["traditional"]) == r["simplified"]
        by_category.setdefault(r["category"], [0, 0])[0] += right
        by_category[r["category"]][1] += 1
    simple = simplified_lines()
    changed = [{"text": t, "got": convert(t)} for t in simple if convert(t) != t]
    batch = lines_of(30, 200, rows)
    rounds = []
    for _ in range(15):
        began = time.perf_counter()
        for line in batch:
            convert(line)
        rounds.append((time.perf_counter() - began) / len(batch) * 1e6)
    singles = []
    for line in batch * 5:
        began = time.perf_counter()
        convert(line)
        singles.append((time.perf_counter() - began) * 1e6)
    singles.sort()
    return {"right": len(rows) - len(misses), "lines": len(rows),
            "by_category": {k: f"{v[0]}/{v[1]}" for k, v in by_category.items()},
            "project_lines": len(simple),
            "us_per_line": round(statistics.median(rounds), 2),
            "p99_us": round(singles[int(0.99 * len(singles))], 2),
            "load_ms": round(load_ms, 1), "rss_mb": round(rss_added, 1),
            "misses": misses, "changed_lines": changed}


def damage(candidates: dict[str, dict]) -> None:
    """Mark each candidate's alterations of lines most candidates leave as they are."""
    measured = [r for r in candidates.values() if "error" not in r]
    votes: dict[str, int] = {}
    for r in measured:
        for item in r["changed_lines"]:
            votes[item["text"]] = votes.get(item["text"], 0) + 1
    traditional = {text for text, n in votes.items() if n * 2 > len(measured)}
    for r in measured:
        r["simplified_lines"] = r["project_lines"] - len(traditional)
        r["damaged_lines"] = [i for i in r.pop("changed_lines") if i["text"] not in traditional]
        r["damaged"] = len(r["damaged_lines"])


def run_one(name: str, site: str | None) -> dict:
    command = [sys.executable, __file__, "--one", name] + (["--site", site] if site else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last}
    return json.loads(done.stdout)


def version_of(dist: str, site: str | None) -> str | None:
    from importlib import metadata

    paths = sys.path + ([site] if site else [])
    for found in metadata.distributions(path=paths):
        if found.metadata["Name"].lower().replace("_", "-") == dist:
            return found.version
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", help="a folder where candidates missing here are installed")
    parser.add_argument("--json-only", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.site), ensure_ascii=False))
        return 0
    result: dict = {"cpu_count": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)),
                    "python": sys.version.split()[0], "candidates": {}}
    for name, (dist, released, code, licence) in CANDIDATES.items():
        figures = run_one(name, args.site)
        figures.update(dist=dist, version=version_of(dist, args.site), released=released, code=code,
                       licence=licence)
        result["candidates"][name] = figures
    damage(result["candidates"])
    if not args.json_only:
        print(f"{'converter':<32} {'version':<8} {'released':<8} {'code':<5} {'licence':<10} {'right':>7} "
              f"{'damaged':>8} {'us/line':>8} {'p99 us':>7} {'load ms':>8} {'RSS MB':>7}")
        for name, r in result["candidates"].items():
            head = f"{name:<32} {r['version'] or '-':<8} {r['released']:<8} {r['code']:<5} {r['licence']:<10}"
            if "error" in r:
                print(f"{head} not measured: {r['error']}")
                continue
            print(f"{head} {r['right']:>3}/{r['lines']:<3} {r['damaged']:>3}/{r['simplified_lines']:<4} "
                  f"{r['us_per_line']:>8.2f} {r['p99_us']:>7.2f} {r['load_ms']:>8.1f} {r['rss_mb']:>7.1f}")
        print("\nright = traditional lines converted exactly as labelled (tests/data/zh_traditional.tsv); "
              "damaged = simplified project lines altered; us/line = one 30-character line")
        for name, r in result["candidates"].items():
            for miss in r.get("misses", []):
                print(f"  {name}: {miss['traditional']} -> {miss['got']} (want {miss['want']})")
            for item in r.get("damaged_lines", []):
                print(f"  {name}: damaged {item['text']} -> {item['got']}")
        print(f"\n{result['cpu_count']} CPUs ({result['cores_usable']} usable), Python {result['python']}")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
