"""Lint for phrase packs: structure and behaviour checks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..events import AGENT, CUSTOMER
from .detector import PhraseDetector
from .normalize import normalize
from .options import DetectorOptions
from .packs import PHRASES, PackKind, PackProblem, _check_pack_file, pack_files
from .pattern import match_pattern
from .regexes import slow_probe

if TYPE_CHECKING:
    from .packs import Pack, _Lines


def lint(phrases_dir: Path | None = None, detector_options: DetectorOptions | None = None,
         kind: PackKind = PHRASES, folder_name: str = "phrases") -> list[PackProblem]:
    """Every problem in every pack: format, duplicates, and patterns vs their own lines.

    Behaviour checks run on packs whose format is sound: each pattern must match
    at least one of its entry's examples (else it is untested), no ``not`` line
    may be flagged by the exact or fuzzy matcher of any entry of the pack, and no
    regex may take longer than the detector's ``regex_timeout`` on an adversarial line.
    """
    problems: list[PackProblem] = []
    ids: dict[tuple[str, str], str] = {}
    options = detector_options or DetectorOptions()
    for path in pack_files(phrases_dir, folder_name):
        pack, found, lines = _check_pack_file(path, kind)
        problems.extend(found)
        if pack is None or lines is None:
            continue
        for entry in pack.entries:
            key = (pack.language, entry.id)
            if key in ids and ids[key] != entry.file:
                problems.append(PackProblem(entry.file, entry.line,
                                            f"duplicate id '{entry.id}' (also in {ids[key]})"))
            ids.setdefault(key, entry.file)
        if found:
            continue
        problems.extend(_lint_behaviour(pack, lines, options))
    return problems


def _lint_behaviour(pack: Pack, lines: _Lines, options: DetectorOptions) -> list[PackProblem]:
    detector = PhraseDetector.from_packs([pack], options=options)
    problems = []
    for idx, entry in enumerate(pack.entries):
        examples = [normalize(x) for x in entry.examples]
        for pattern in entry.compiled:
            if not any(match_pattern(pattern, x.words, x.starts) for x in examples):
                problems.append(PackProblem(
                    entry.file, lines.item(idx, "patterns", pattern.source),
                    f"pattern {pattern.source!r} of '{entry.id}' matches none of its examples"))
        for source, compiled in zip(entry.regex, entry.regexes, strict=True):
            slow = slow_probe(compiled, source, options.regex_timeout)
            if slow is not None:
                problems.append(PackProblem(
                    entry.file, lines.item(idx, "regex", source),
                    f"regex {source!r} of '{entry.id}' took over "
                    f"{options.regex_timeout * 1000:.0f} ms on {_short(slow)}: it backtracks "
                    "catastrophically, and in a call it would count as no match"))
        for line in entry.not_:
            for speaker in (AGENT, CUSTOMER):
                hits = detector.hits(line, speaker, ("exact", "fuzzy"))
                if hits:
                    hit = hits[0]
                    problems.append(PackProblem(
                        entry.file, lines.item(idx, "not", line),
                        f"not line {line!r} of '{entry.id}' is flagged as '{hit.entry.id}' "
                        f"by the {hit.matcher} matcher"))
                    break
    return problems


def _short(text: str) -> str:
    return repr(text) if len(text) <= 24 else f"{text[:16]!r}... ({len(text)} characters)"
