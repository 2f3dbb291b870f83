"""Phrase packs: loading, checking and editing the TOML files."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AssistError
from ..events import AGENT, CUSTOMER
from ..resources import shipped
from .normalize import _contains, _pack_script, normalize
from .pattern import PatternError, parse_pattern
from .regexes import RegexError, catastrophic, compile_regex

if TYPE_CHECKING:
    from regex import Pattern as Regex

    from .pattern import Pattern


MATCHERS = ("exact", "fuzzy", "semantic")
SEVERITIES = ("low", "medium", "high")
ENTRY_SPEAKERS = (AGENT, CUSTOMER, "any")
PACK_KEYS = {"language", "description", "neutral", "ordinary", "phrase"}
ENTRY_KEYS = {
    "id", "severity", "speaker", "why", "say_instead", "patterns", "regex", "examples", "not",
    "allow",
    "threshold",
}
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class PackKind:
    """What a pack file holds: banned phrases (``[[phrase]]``) or the steps of a call
    (``[[item]]``, checklists/), read, checked and matched the same way.

    Attributes:
        table: the TOML array of tables holding the entries.
        say_key: the key of the wordings shown to the agent (the entry's ``say_instead``).
        extra: further keys an entry may have, each with the types it accepts; they land
            in ``Entry.extra``.
    """

    table: str = "phrase"
    say_key: str = "say_instead"
    extra: tuple[tuple[str, tuple[type, ...]], ...] = ()

    @property
    def keys(self) -> set[str]:
        return (ENTRY_KEYS - {"say_instead"}) | {self.say_key} | {k for k, _ in self.extra}


PHRASES = PackKind(extra=(("audible", (bool,)),))
"""Phrase packs: ``audible = true`` on an entry makes its flags say whether the other
side was clearly heard just before (an agent claiming the line is bad)."""


@dataclass(frozen=True)
class Entry:
    """One banned phrase of a pack.

    Attributes:
        id: stable id such as ``calm-down``.
        severity: low, medium or high.
        speaker: who it applies to: agent (default), customer or any.
        why: one line a coach would say.
        say_instead: better wordings; the first is the suggestion.
        patterns: pattern sources (see phrases/README.md).
        examples: paraphrases for the semantic matcher.
        not_: near misses that must never fire (``not`` in the TOML); lint checks the
            matchers already get them right.
        allow: heard lines a coach marked as false alarms (``assist phrases learn``):
            an utterance that contains one never raises this phrase.
        regex: optional Python regexes over the normalised text (run by the ``regex``
            module, each match under a time limit; shapes that backtrack catastrophically,
            such as ``(a+)+``, are refused).
        threshold: semantic-classifier probability needed, overriding the detector default.
        file: the pack file, for messages.
        line: the line of the entry's ``[[phrase]]`` header.
    """

    id: str
    why: str
    say_instead: tuple[str, ...]
    severity: str = "medium"
    speaker: str = AGENT
    patterns: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    not_: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    threshold: float | None = None
    file: str = ""
    line: int = 0
    compiled: tuple[Pattern, ...] = field(default=(), repr=False, compare=False)
    regexes: tuple[Regex[str], ...] = field(default=(), repr=False, compare=False)
    allow: tuple[str, ...] = ()
    allow_words: tuple[tuple[str, ...], ...] = field(default=(), repr=False, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # a PackKind's own keys

    def allowed(self, words: Sequence[str]) -> bool:
        """True when the utterance contains a line a coach ruled a false alarm."""
        heard = tuple(words)
        return any(_contains(heard, line) for line in self.allow_words)

    def applies_to(self, speaker: str) -> bool:
        return self.speaker == "any" or self.speaker == speaker


@dataclass
class Pack:
    """The entries of one pack file."""

    path: Path
    language: str
    entries: list[Entry]
    description: str = ""
    neutral: tuple[str, ...] = ()  # ordinary lines: negatives for the semantic matcher
    # everyday agent talk across the topics: the semantic matcher's evidence gate (a window
    # must be nearer a phrase's examples than any of these) and more negatives for it
    ordinary: tuple[str, ...] = ()

    @property
    def script(self) -> str:
        return _pack_script(self.language)


@dataclass(frozen=True)
class PackProblem:
    """One problem in a pack file, printed as ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class _Lines:
    """Finds the source line of entries, keys and list items; tomllib gives no positions."""

    def __init__(self, text: str, table: str = "phrase"):
        self.lines = text.splitlines()
        self.headers = [i for i, line in enumerate(self.lines)
                        if re.match(rf"\s*\[\[\s*{table}\s*\]\]", line)]

    def block(self, entry: int | None) -> tuple[int, int]:
        if entry is None:
            return 0, self.headers[0] if self.headers else len(self.lines)
        start = self.headers[entry] if entry < len(self.headers) else 0
        later = [h for h in self.headers if h > start]
        return start, later[0] if later else len(self.lines)

    def entry(self, entry: int) -> int:
        return self.block(entry)[0] + 1

    def key(self, entry: int | None, key: str) -> int:
        start, stop = self.block(entry)
        pat = re.compile(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for i in range(start, stop):
            if pat.match(self.lines[i]):
                return i + 1
        return start + 1

    def item(self, entry: int, key: str, value: str) -> int:
        first = self.key(entry, key)
        stop = self.block(entry)[1]
        needle = value[:40]
        for i in range(first - 1, stop):
            if needle in self.lines[i] or needle.replace('"', '\\"') in self.lines[i]:
                return i + 1
        return first


def _str_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _check_entry(raw: Any, idx: int, lines: _Lines, file: str,
                 kind: PackKind = PHRASES) -> tuple[Entry | None, list[PackProblem]]:
    """Validate one ``[[phrase]]`` table; returns the entry (None if unusable) and problems."""
    at = lines.entry(idx)
    if not isinstance(raw, dict):
        return None, [PackProblem(file, at, f"each [[{kind.table}]] must be a table")]
    problems = []

    def bad(key: str | None, message: str, value: str | None = None) -> None:
        line = at if key is None else (
            lines.item(idx, key, value) if value is not None else lines.key(idx, key))
        problems.append(PackProblem(file, line, message))

    known = kind.keys
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            bad(key, f"unknown key '{key}'{hint}")
    ident = raw.get("id")
    if not isinstance(ident, str) or not _ID_RE.match(ident):
        bad("id" if "id" in raw else None,
            "missing 'id'" if ident is None else f"bad id {ident!r}: use lower-case words joined by '-'")
    label = ident if isinstance(ident, str) else f"entry {idx + 1}"
    texts: dict[str, tuple[str, ...]] = {}
    for key in (kind.say_key, "patterns", "regex", "examples", "not", "allow"):
        value = _str_list(raw.get(key, []))
        if value is None:
            bad(key, f"'{key}' of '{label}' must be a string or a list of strings")
            value = ()
        texts[key] = value
    for key in ("why", "severity", "speaker"):
        if key in raw and not isinstance(raw[key], str):
            bad(key, f"'{key}' of '{label}' must be a string")
    if not isinstance(raw.get("why"), str) or not raw["why"].strip():
        bad("why" if "why" in raw else None, f"'{label}' needs a 'why' line")
    if not texts[kind.say_key]:
        bad(kind.say_key if kind.say_key in raw else None,
            f"'{label}' needs at least one '{kind.say_key}' wording")
    extra = {}
    for key, types in kind.extra:
        if key in raw:
            if not isinstance(raw[key], types) or isinstance(raw[key], bool) != (bool in types):
                names = " or ".join(t.__name__ for t in types)
                bad(key, f"'{key}' of '{label}' must be {names}")
            else:
                extra[key] = raw[key]
    if not (texts["patterns"] or texts["examples"] or texts["regex"]):
        bad(None, f"'{label}' needs 'patterns', 'regex' or 'examples'")
    severity = raw.get("severity", "medium")
    if severity not in SEVERITIES:
        bad("severity", f"severity of '{label}' must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    speaker = raw.get("speaker", AGENT)
    if speaker not in ENTRY_SPEAKERS:
        bad("speaker", f"speaker of '{label}' must be one of {', '.join(ENTRY_SPEAKERS)}, not {speaker!r}")
    threshold = raw.get("threshold")
    if threshold is not None and (not isinstance(threshold, int | float) or not 0 < threshold <= 1):
        bad("threshold", f"threshold of '{label}' must be a number in (0, 1]")
    compiled = []
    for source in texts["patterns"]:
        try:
            compiled.append(parse_pattern(source))
        except PatternError as exc:
            bad("patterns", f"pattern {source!r} of '{label}': {exc}", source)
    regexes = []
    for source in texts["regex"]:
        try:
            regexes.append(compile_regex(source))
        except (RegexError, RecursionError, OverflowError) as exc:
            bad("regex", f"regex {source!r} of '{label}': {exc}", source)
            continue
        reason = catastrophic(source)
        if reason:
            bad("regex", f"regex {source!r} of '{label}': {reason}, which can take minutes "
                         "on one long line; make the repeated part match each text one way only",
                source)
    if problems:
        return None, problems
    assert isinstance(ident, str)  # a missing or non-string id was a problem, returned above
    entry = Entry(
        id=ident, why=raw["why"].strip(), say_instead=texts[kind.say_key], severity=severity,
        speaker=speaker, patterns=texts["patterns"], examples=texts["examples"], not_=texts["not"],
        regex=texts["regex"], threshold=float(threshold) if threshold is not None else None,
        file=file, line=at, compiled=tuple(compiled), regexes=tuple(regexes),
        allow=texts["allow"],
        allow_words=tuple(w for w in (tuple(normalize(a).words) for a in texts["allow"]) if w),
        extra=extra,
    )
    return entry, []


def _check_pack_file(path: Path, kind: PackKind = PHRASES
                     ) -> tuple[Pack | None, list[PackProblem], _Lines | None]:
    file = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [PackProblem(file, 1, f"cannot read: {exc}")], None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        return None, [PackProblem(file, int(m.group(1)) if m else 1, reason)], None
    lines = _Lines(text, kind.table)
    problems = []
    pack_keys = (PACK_KEYS - {"phrase"}) | {kind.table}
    for key in data:
        if key not in pack_keys:
            close = difflib.get_close_matches(key, sorted(pack_keys), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(PackProblem(file, lines.key(None, key), f"unknown key '{key}'{hint}"))
    raws = data.get(kind.table, [])
    if not isinstance(raws, list) or not raws:
        problems.append(PackProblem(file, 1, f"no [[{kind.table}]] entries"))
        raws = []
    language = data.get("language", path.stem)
    if not isinstance(language, str):
        problems.append(PackProblem(file, lines.key(None, "language"), "'language' must be a string"))
        language = path.stem
    entries = []
    for idx, raw in enumerate(raws):
        entry, more = _check_entry(raw, idx, lines, file, kind)
        problems.extend(more)
        if entry is not None:
            entries.append(entry)
    seen: dict[str, int] = {}
    for idx, raw in enumerate(raws):
        ident = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(ident, str):
            continue
        if ident in seen:
            problems.append(PackProblem(
                file, lines.entry(idx), f"duplicate id '{ident}' (first at line {seen[ident]})"))
        seen.setdefault(ident, lines.entry(idx))
    plain: dict[str, tuple[str, ...]] = {}
    for key in ("neutral", "ordinary"):
        value = _str_list(data.get(key, []))
        if value is None:
            problems.append(PackProblem(file, lines.key(None, key),
                                        f"'{key}' must be a list of strings"))
        plain[key] = value or ()
    pack = Pack(path, language, entries, str(data.get("description", "")), plain["neutral"],
                plain["ordinary"])
    return pack, problems, lines


def pack_files(phrases_dir: Path | None = None, folder_name: str = "phrases") -> list[Path]:
    """The pack files of a folder (the shipped ``phrases/`` by default)."""
    what = "phrase" if folder_name == "phrases" else folder_name.rstrip("s")
    folder = Path(phrases_dir) if phrases_dir else shipped(folder_name)
    if not folder.is_dir():
        raise AssistError(f"{what} pack folder not found: {folder}")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise AssistError(f"no {what} packs (*.toml) in {folder}")
    return files


def load_packs(phrases_dir: Path | None = None, language: str | None = None,
               kind: PackKind = PHRASES, folder_name: str = "phrases") -> list[Pack]:
    """Load and validate packs; the first problem is raised as an AssistError 'file:line: msg'.

    With ``language`` only that language's packs ("zh-CN" finds "zh"); none may match.
    ``kind`` and ``folder_name`` read another kind of pack (the checklists).
    """
    packs = []
    for path in pack_files(phrases_dir, folder_name):
        pack, problems, _ = _check_pack_file(path, kind)
        if problems:
            raise AssistError(str(problems[0]))
        assert pack is not None  # only a pack with problems comes back as None
        if language is None or _primary(pack.language) == _primary(language):
            packs.append(pack)
    return packs


def add_allow_lines(phrases_dir: Path | None, phrase_id: str, lines: Iterable[str]) -> tuple[Path, int]:
    """Append false alarms to a phrase's ``allow`` list in its pack file, keeping the file's
    layout and comments; returns the file and how many new lines went in.

    The edited pack is validated before it is written, so a bad line never
    leaves a broken pack behind.
    """
    for path in pack_files(phrases_dir):
        pack, problems, _ = _check_pack_file(path)
        if pack is None:  # a file that cannot be read or parsed: say so, in one line
            raise AssistError(str(problems[0]))
        entry = next((e for e in pack.entries if e.id == phrase_id), None)
        if entry is None:
            continue
        known = {" ".join(line) for line in entry.allow_words}
        new = []
        for line in lines:
            key = " ".join(normalize(line).words)
            if key and key not in known:
                known.add(key)
                new.append(line.strip())
        if not new:
            return path, 0
        original = path.read_text(encoding="utf-8")
        edited = _insert_list_lines(original, phrase_id, "allow", new, path)
        path.write_text(edited, encoding="utf-8")
        _, problems, _ = _check_pack_file(path)
        if problems:
            path.write_text(original, encoding="utf-8")
            raise AssistError(f"not learned, the pack would break: {problems[0]}")
        return path, len(new)
    raise AssistError(f"no phrase '{phrase_id}' in the packs of {phrases_dir or shipped('phrases')}")


def _insert_list_lines(text: str, phrase_id: str, key: str, new: list[str], path: Path) -> str:
    """Add quoted lines to the ``key = [...]`` list of one ``[[phrase]]`` entry, as text."""
    import json

    rows = text.split("\n")
    start = next((i for i, row in enumerate(rows) if re.fullmatch(
        rf'\s*id\s*=\s*["\']{re.escape(phrase_id)}["\']\s*(#.*)?', row)), None)
    if start is None:
        raise AssistError(f"{path}: cannot find the entry '{phrase_id}' to edit")
    end = next((i for i in range(start + 1, len(rows)) if rows[i].strip().startswith("[[")),
               len(rows))
    quoted = [f"  {json.dumps(line, ensure_ascii=False)}," for line in new]
    for i in range(start, end):
        if re.match(rf"\s*{key}\s*=\s*\[", rows[i]):
            if rows[i].rstrip().endswith("]"):  # a one-line list: open it up
                head, items = rows[i].split("[", 1)
                items = items.rstrip().rstrip("]").strip().rstrip(",")
                body = [f"  {items}," for _ in [0] if items]
                rows[i:i + 1] = [head + "[", *body, *quoted, "]"]
            else:
                rows[i + 1:i + 1] = quoted
            return "\n".join(rows)
    insert_at = end
    while insert_at > start + 1 and not rows[insert_at - 1].strip():
        insert_at -= 1
    rows[insert_at:insert_at] = [f"{key} = [", *quoted, "]"]
    return "\n".join(rows)


def _primary(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()
