"""Pack regexes: a catastrophic pattern is refused by the pack checks and lint, and one
that slips through still cannot hold up a call (every match has a time limit)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from assist.cli.phrases import phrases as phrases_cli
from assist.errors import AssistError
from assist.phrases import DetectorOptions, PhraseDetector, lint, load_packs
from assist.phrases.packs import Entry, Pack
from assist.phrases.regexes import catastrophic, compile_regex, slow_probe

EN = 'language = "en"\n'
FREEZER = r"^(\w+\s?)*!$"  # with the re module, a 60-character line takes over a minute


def write_pack(folder: Path, regex: str) -> Path:
    """A valid pack whose one phrase has ``regex`` (as a TOML literal string, line 7)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "en.toml"
    path.write_text(EN + "\n".join([
        "[[phrase]]", 'id = "calm-down"', 'why = "it never works"', 'say_instead = ["I hear you."]',
        'examples = ["Please calm down now."]', f"regex = ['{regex}']"]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("source", [
    r"(a+)+", FREEZER, r"(a|aa)*", r"^(\w|\w\w)+$", r"(.*a){12}", r"(x+x+)+y", r"(\s*\w+)+",
    r"(\w+ \w+)*$", r"(?:a+|b)*", r"(a*)*b", r"(?:a?a)*", r"^(\p{L}|\p{L}\p{L})+$",
])
def test_catastrophic_shapes_are_found(source):
    assert catastrophic(source)


@pytest.mark.parametrize("source", [
    r"\bcalm\s+down\b", r"(\w+\s)+", r"(?:ab|cd)*", r"(calm|come)*", r"(\w+ ){0,3}down",
    r"a++", r"(?>a+)+", r"(\w+ \w+){2}", r"^(?:please )?calm down", r"(?:\d+ )+pounds",
    "我已经说过(了)?", r"(?:already|all ready) (?:said|told)",
])
def test_ordinary_regexes_pass(source):
    assert catastrophic(source) is None
    assert slow_probe(compile_regex(source), source, DetectorOptions().regex_timeout) is None


def test_loading_refuses_a_catastrophic_regex_naming_file_and_line(tmp_path):
    write_pack(tmp_path, FREEZER)
    with pytest.raises(AssistError, match=r"en\.toml:7: regex .* of 'calm-down': a repeat "
                                          r"inside a repeat"):
        load_packs(tmp_path)
    [problem] = lint(tmp_path)
    assert str(problem).endswith("en.toml:7: " + problem.message)
    assert "can take minutes on one long line" in problem.message
    result = CliRunner().invoke(phrases_cli, ["check", "hi", "--phrases", str(tmp_path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = result.output.splitlines()
    assert line.startswith("Error: ") and "en.toml:7: regex" in line


def test_lint_times_what_the_shape_check_cannot_read(tmp_path):
    """Branch reset is regex-only syntax: the standard parser cannot judge it, the probe can."""
    source = r"^(?|a|aa)+$"
    assert catastrophic(source) is None
    write_pack(tmp_path, source)
    load_packs(tmp_path)  # loads: in a call the time limit is the defence
    started = time.perf_counter()
    [problem] = lint(tmp_path)
    assert time.perf_counter() - started < 5
    assert problem.line == 7
    assert "took over 50 ms" in problem.message and "backtracks catastrophically" in problem.message
    result = CliRunner().invoke(phrases_cli, ["lint", "--phrases", str(tmp_path)])
    assert result.exit_code == 1
    assert "en.toml:7: regex" in result.output and "Traceback" not in result.output


def _pack_with(tmp_path: Path, *sources: str) -> Pack:
    """A pack built by hand: what a pack that slipped past the checks would hold."""
    entry = Entry(id="too-slow", why="w", say_instead=("x",), regex=sources,
                  regexes=tuple(compile_regex(s) for s in sources), file="en.toml", line=3)
    return Pack(tmp_path / "en.toml", "en", [entry])


def test_a_slow_match_counts_as_no_match_and_is_logged_once(tmp_path, caplog):
    detector = PhraseDetector.from_packs([_pack_with(tmp_path, r"^(a|aa)+$", r"\bb\b")])
    line = "a" * 58 + " b"
    with caplog.at_level(logging.WARNING, logger="assist.phrases.detector"):
        started = time.perf_counter()
        flags = [detector.check(line), detector.check(line)]
        elapsed = time.perf_counter() - started
    assert elapsed < 2  # two utterances, each held at most about 50 ms by the slow regex
    # the slow regex is no match; the entry's other regex still finds "b"
    assert [[(f.phrase, f.text) for f in fl] for fl in flags] == [[("too-slow", "b")]] * 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "en.toml:3" in warnings[0].getMessage() and "too-slow" in warnings[0].getMessage()
    assert [f.phrase for f in detector.check("aaaa")] == ["too-slow"]  # quick lines still match


def test_the_time_limit_is_an_option(tmp_path):
    options = DetectorOptions(regex_timeout=0.2)
    detector = PhraseDetector.from_packs([_pack_with(tmp_path, r"^(a|aa)+$")], options=options)
    started = time.perf_counter()
    assert detector.check("a" * 58 + " b") == []
    assert 0.15 < time.perf_counter() - started < 2


def test_pack_regexes_keep_their_meaning(tmp_path):
    """Compiled by the regex module now: the same matches and spans as with re."""
    path = tmp_path / "en.toml"
    path.write_text(EN + "\n".join([
        "[[phrase]]", 'id = "calm-down"', 'why = "w"', 'say_instead = ["I hear you."]',
        r"regex = ['\bcalm(?:ing)?\s+(?:down|it)\b', '(?i)^SETTLE']"]) + "\n",
        encoding="utf-8")
    (tmp_path / "zh.toml").write_text("\n".join([
        'language = "zh"', "[[phrase]]", 'id = "already-said"', 'why = "w"',
        'say_instead = ["我再总结一下。"]', "regex = ['我已经说过(了)?']"]) + "\n", encoding="utf-8")
    assert lint(tmp_path) == []
    detector = PhraseDetector(tmp_path, semantic=False)
    [flag] = detector.check("Sir, please CALM down, OK?")
    assert (flag.phrase, flag.text, flag.matcher) == ("calm-down", "CALM down", "exact")
    assert [f.phrase for f in detector.check("Settle, sir.")] == ["calm-down"]
    assert detector.check("It is calmer down here.") == []
    [flag] = detector.check("这个我已经说过了。")
    assert (flag.phrase, flag.text) == ("already-said", "我已经说过了")


def test_a_regex_that_does_not_compile_names_file_and_line(tmp_path):
    write_pack(tmp_path, "(calm")
    with pytest.raises(AssistError, match=r"en\.toml:7: regex '\(calm' of 'calm-down': missing \)"):
        load_packs(tmp_path)
