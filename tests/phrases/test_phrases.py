"""Banned-phrase detection: normalisation, pack format, the three matchers, streaming, lint, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assist.cli.phrases import phrases as phrases_cli
from assist.errors import AssistError
from assist.events import Partial, Utterance, Word
from assist.phrases import (
    CharGramEncoder,
    DetectorOptions,
    PatternError,
    PhraseDetector,
    lint,
    load_packs,
    match_pattern,
    normalize,
    parse_pattern,
    script_of,
)
from assist.resources import shipped

EN = 'language = "en"\n'


@pytest.fixture(scope="module")
def lexical() -> PhraseDetector:
    """The shipped packs with the exact and fuzzy matchers only (no model)."""
    return PhraseDetector(semantic=False)


@pytest.fixture(scope="module")
def full(embedder) -> PhraseDetector:
    """The shipped packs with all three matchers and the real embedding model."""
    return PhraseDetector(embedder=embedder)


def ids(flags) -> set[str]:
    return {f.phrase for f in flags}


def write_pack(folder: Path, body: str, name: str = "en.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def entry(id_: str = "calm-down", **keys: str) -> str:
    """A valid [[phrase]] table (6 lines); ``keys`` replace or add TOML values."""
    values = {"why": '"it never works"', "say_instead": '["I hear you."]',
              "patterns": '["(please|just) calm down"]', "examples": '["Please calm down now."]'}
    values.update(keys)
    lines = ["[[phrase]]", f'id = "{id_}"'] + [f"{k} = {v}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- normalisation


def test_normalize_contractions_numbers_fillers_and_case():
    words = normalize("Sir, you've got the WRONG dept, um, it's 5 o'clock; can't help").words
    assert words[:5] == ["sir", "you", "have", "got", "the"]
    assert "um" not in words and "five" in words
    assert words[-3:] == ["can", "not", "help"]
    assert normalize("You shouldn't of clicked").words == ["you", "should", "not", "have", "clicked"]
    assert normalize("dont worry, its fine").words[:2] == ["do", "not"]


def test_normalize_chinese_fullwidth_traditional_and_offsets():
    text = "請您冷靜一下，等５分鐘！"
    norm = normalize(text)
    assert "".join(norm.words) == "请您冷静一下等五分钟"
    first = norm.tokens[0]
    assert text[first.start:first.end] == "請"  # offsets point into the original text
    assert script_of(text) == "han" and script_of("calm down") == "latin"


def test_traditional_text_reads_as_the_live_transcript_does():
    """Typed or imported traditional text goes through the recogniser's converter: the
    account 帳 is 账 as the packs write it (转账), not 帐."""
    assert "".join(normalize("您不該轉帳到對方帳戶").words) == "您不该转账到对方账户"
    flags = PhraseDetector(language="zh", semantic=False).feed(
        Utterance(speaker="agent", text="您當時就不應該轉帳給他", start=0.0, end=1.0))
    assert [(f.phrase, f.text) for f in flags] == [("shouldnt-have", "您當時就不應該轉帳")]


def test_sentence_starts():
    norm = normalize("Okay. Calm down! Now")
    assert norm.starts == frozenset({0, 1, 3})


# --------------------------------------------------------------------------- pattern syntax


@pytest.mark.parametrize(("pattern", "text", "heard"), [
    ("(please|just) calm down", "ok please calm down sir", "please calm down"),
    ("calm* down", "things calmed down", "calmed down"),
    ("you [have|are] * wrong team", "you have the wrong team", "you have the wrong team"),
    ("i ** said", "i have already said", "i have already said"),
    ("wrong department within 3 words of you", "the wrong department you are in", None),
    ("^ calm down", "fine. calm down", "calm down"),
    ("我 ** 说过", "我已经说过了", "我已经说过"),
])
def test_pattern_forms(pattern: str, text: str, heard: str | None):
    norm = normalize(text)
    span = match_pattern(parse_pattern(pattern), norm.words, norm.starts)
    assert span is not None
    if heard is not None:
        assert " ".join(norm.words[span[0]:span[1] + 1]).replace("我 已 经 说 过", "我已经说过") \
            == heard


def test_pattern_non_matches():
    assert match_pattern(parse_pattern("^ calm down"), normalize("things calm down").words) is None
    far = normalize("you said the department was the wrong one")
    assert match_pattern(parse_pattern("wrong within 1 words of you"), far.words) is None


@pytest.mark.parametrize("bad", ["(please|just calm down", "* **", "calm down)", "a within 2 words of"])
def test_pattern_errors(bad: str):
    with pytest.raises(PatternError):
        parse_pattern(bad)


# --------------------------------------------------------------------------- matchers


def test_exact_matcher_span_and_fields(lexical):
    text = "Okay sir, please calm down so I can help."
    [flag] = lexical.check(text)
    assert flag.phrase == "calm-down" and flag.matcher == "exact" and flag.final
    assert text[flag.span[0]:flag.span[1]] == flag.text
    assert "calm down" in flag.text
    assert flag.severity == "high" and flag.suggestion and flag.why


@pytest.mark.parametrize(("text", "phrase"), [
    ("please come down sir i'm trying to help", "calm-down"),
    ("you've come through to the wrong apartment", "wrong-department"),
    ("as i all ready explained the contract runs to march", "already-said"),
    ("sorry that's just company palsy", "company-policy"),
    ("sorry we don't handel that kind of thing", "dont-handle"),
    ("you've got the wrong dip art meant", "wrong-department"),  # three words heard for one
])
def test_fuzzy_matcher_survives_recognition_errors(lexical, text, phrase):
    assert ids(lexical.check(text, matchers=("exact",))) == set()
    flags = lexical.check(text, matchers=("exact", "fuzzy"))
    assert ids(flags) == {phrase}
    assert flags[0].matcher == "fuzzy"


@pytest.mark.parametrize("text", [
    "Prices should come down next month.",
    "You'll need to come down to the branch with your passport.",
    "Your balance should come down to zero after the refund.",
    "It was our mistake, not yours.",
    "That's not your fault at all.",
    "You shouldn't have been charged twice, I'll refund it.",
    "You're in the right place for that.",
])
def test_fuzzy_matcher_keeps_precision(lexical, text):
    assert lexical.check(text, matchers=("exact", "fuzzy")) == []


def test_fuzzy_chinese_homophones(lexical):
    pytest.importorskip("pypinyin")
    assert ids(lexical.check("这是公司归定，我没办法")) == {"company-policy"}
    assert ids(lexical.check("你先冷净一下")) == {"calm-down"}


def test_semantic_matcher_catches_paraphrase(full):
    text = "Shouting at me isn't going to get your parcel here any faster."
    assert full.check(text, matchers=("exact", "fuzzy")) == []
    [flag] = full.check(text)
    assert flag.phrase == "calm-down" and flag.matcher == "semantic"
    assert text[flag.span[0]:flag.span[1]] == flag.text


@pytest.mark.parametrize("text", [
    "Our privacy policy lets me update that for you.",
    "I'll give you a ring back tomorrow afternoon.",
    "Can I take the first line of your address?",
])
def test_semantic_matcher_held_back(full, text):
    assert full.check(text) == []


def test_a_pack_the_model_cannot_read_gets_character_ngrams(full, embedder):
    # all-MiniLM-L6-v2 turns most Chinese characters into [UNK]: the zh pack's
    # paraphrase matcher reads the pack's own character n-grams instead.
    zh = next(ix for ix in full._index if ix.pack.language == "zh")
    assert full._ensure_semantic(zh) is True and isinstance(zh.encoder, CharGramEncoder)
    en = next(ix for ix in full._index if ix.pack.language == "en")
    assert full._ensure_semantic(en) is True and en.encoder is embedder
    text = "您控制一下自己的情绪好吗？"  # no pattern says this
    assert full.check(text, matchers=("exact", "fuzzy")) == []
    [flag] = full.check(text)
    assert flag.phrase == "calm-down" and flag.matcher == "semantic"
    # ...and the same characters in a kind sentence stay quiet
    assert full.check("您的情绪我能理解，我们一起想办法。") == []
    assert full.check("好的，这边已经给您改好了。") == []
    off = PhraseDetector(embedder=embedder, options=DetectorOptions(lexical_fallback=False))
    assert off.check(text) == []
    assert off._ensure_semantic(next(ix for ix in off._index if ix.pack.language == "zh")) is False


def test_character_ngram_vectors():
    import numpy as np

    encoder = CharGramEncoder.fit(["请您冷静一下", "公司规定"])
    vectors = encoder.encode(["请您冷静", "公司的规定", "天气很好"])
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0)
    assert not vectors[2].any()  # nothing the pack ever said: no direction at all
    again = encoder.encode(["冷静一下请您"])[0]
    assert float(vectors[0] @ again) > float(vectors[1] @ again)


class FakeEmbedder:
    """Bag-of-keywords vectors: enough to test the semantic plumbing without a model."""

    words = ("relax", "angry", "rules", "line", "hello")

    def encode(self, texts, **_):
        import numpy as np

        rows = [[float(w in t.lower()) for w in self.words] + [0.1] for t in texts]
        vectors = np.asarray(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_semantic_uses_one_batch_per_utterance(tmp_path):
    calls = []

    class Counting(FakeEmbedder):
        def encode(self, texts, **kw):
            calls.append(list(texts))
            return super().encode(texts, **kw)

    body = EN + entry(examples='["relax please", "do not get angry", "relax now, sir"]',
                      **{"not": '["hello there friend"]'})
    detector = PhraseDetector(write_pack(tmp_path, body).parent, embedder=Counting())
    detector.check("warm up line here")
    calls.clear()
    flags = detector.check("Sir you must relax. This is one sentence. And angry relax here now.")
    assert len(calls) == 1 and len(calls[0]) >= 2  # every window in a single encode call
    assert ids(flags) == {"calm-down"} and flags[0].matcher == "semantic"


# --------------------------------------------------------------------------- detector behaviour


def test_customer_speech_never_flags_agent_phrases(lexical):
    assert lexical.check("Calm down? Don't tell me to calm down!", speaker="customer") == []
    assert lexical.check("It's company policy, I can't do anything.", speaker="customer") == []


def test_one_flag_per_phrase_per_utterance(lexical):
    flags = lexical.check("Calm down. Please calm down. Calm down sir, it's company policy.")
    assert sorted(ids(flags)) == ["calm-down", "company-policy"] and len(flags) == 2


def test_language_choice(tmp_path):
    zh_only = PhraseDetector(language="zh", semantic=False)
    assert zh_only.check("It's company policy.") == []
    assert ids(zh_only.check("这是公司规定。")) == {"company-policy"}
    assert ids(PhraseDetector(language="zh-CN", semantic=False).check("这是公司规定。")) \
        == {"company-policy"}
    french = PhraseDetector(language="fr", semantic=False)  # no pack: flags nothing, no error
    assert french.packs == [] and french.check("Please calm down.") == []


def test_feed_uses_word_timestamps():
    detector = PhraseDetector(semantic=False)
    text = "Okay, well, please calm down for me."
    words = [Word(1.0, 1.3, " Okay,"), Word(1.3, 1.5, " well,"), Word(1.5, 1.9, " please"),
             Word(1.9, 2.2, " calm"), Word(2.2, 2.5, " down"), Word(2.5, 2.7, " for"),
             Word(2.7, 2.9, " me.")]
    [flag] = detector.feed(Utterance(speaker="agent", start=1.0, end=2.9, text=text, words=words))
    assert (flag.start, flag.end) == (1.5, 2.5) and flag.final
    [flag] = detector.feed(Utterance(speaker="agent", start=4.0, end=5.0, text="calm down sir"))
    assert (flag.start, flag.end) == (4.0, 5.0)  # no words: the utterance's own times


def agreed(speaker: str, text: str, start: float, stable: int | None = None) -> Partial:
    """A partial whose words two decodes agreed on (all of them unless ``stable`` says)."""
    return Partial(speaker=speaker, text=text, start=start,
                   stable=len(text.split()) if stable is None else stable)


def test_partials_raise_early_flags_once_and_the_utterance_settles_them():
    detector = PhraseDetector(semantic=False)
    first = detector.feed_partial(agreed("agent", "please calm down", 3.0))
    assert ids(first) == {"calm-down"} and not first[0].final
    assert (first[0].start, first[0].end) == (3.0, 3.0)
    again = detector.feed_partial(agreed("agent", "please calm down sir", 3.0))
    assert again == []  # once per phrase per utterance
    final = detector.feed(Utterance(speaker="agent", start=3.0, end=4.0,
                                    text="please calm down sir"))
    assert ids(final) == {"calm-down"} and final[0].final  # confirmed
    early = detector.feed_partial(agreed("agent", "please calm down", 9.0))
    assert ids(early) == {"calm-down"}  # a new utterance may flag again
    withdrawn = detector.feed(Utterance(speaker="agent", start=9.0, end=10.0,
                                        text="please come downstairs to reception"))
    assert withdrawn == []  # no final flag: the early one is withdrawn
    assert detector.feed_partial(agreed("customer", "calm down", 1)) == []


def test_tentative_partial_words_raise_no_early_flag():
    detector = PhraseDetector(semantic=False)
    # "calm down" is only in the tentative tail: the next decode may hear it otherwise
    assert detector.feed_partial(agreed("agent", "please calm down", 3.0, stable=1)) == []
    firmed = detector.feed_partial(agreed("agent", "please calm down now", 3.0, stable=3))
    assert ids(firmed) == {"calm-down"}


# --------------------------------------------------------------------------- packs and lint


def test_shipped_packs_carry_every_design_id_and_lint_clean():
    design = {"calm-down", "wrong-department", "shouldnt-have", "already-said",
              "company-policy", "dont-handle", "hiring-excuse", "cant-hear-call-back"}
    packs = {p.language: p for p in load_packs()}
    assert set(packs) == {"en", "zh"}
    for pack in packs.values():
        assert design <= {e.id for e in pack.entries}
    assert lint() == []
    assert (shipped("phrases") / "README.md").exists()


def test_broken_pack_gives_one_line_with_file_and_line(tmp_path):
    path = write_pack(tmp_path, EN + entry() + 'sevrity = "high"\n')
    with pytest.raises(AssistError) as info:
        load_packs(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith("en.toml:8: unknown key 'sevrity' (did you mean 'severity'?)")
    assert str(path.name) in message


@pytest.mark.parametrize(("body", "expected"), [
    (EN + "[[phrase]]\nid = 'x'\nwhy = \"unterminated\n", "en.toml:4: "),
    (EN + entry() + 'severity = "urgent"\n', "en.toml:8: severity of 'calm-down' must be one of"),
    (EN + entry() + 'speaker = "robot"\n', "en.toml:8: speaker of 'calm-down' must be one of"),
    (EN + entry().replace("(please|just) calm down", "(please calm down"),
     "en.toml:6: pattern '(please calm down' of 'calm-down': missing ')'"),
    (EN + entry().replace('why = "it never works"\n', ""), "en.toml:2: 'calm-down' needs a 'why'"),
    (EN + entry(id_="Calm Down"), "en.toml:3: bad id 'Calm Down'"),
    (EN + "colour = 1\n" + entry(), "en.toml:2: unknown key 'colour'"),
    (EN + entry() + "\n" + entry(), "en.toml:9: duplicate id 'calm-down' (first at line 2)"),
    (EN + entry(threshold="2"), "en.toml:8: threshold of 'calm-down' must be a number"),
])
def test_pack_format_errors(tmp_path, body, expected):
    write_pack(tmp_path, body)
    with pytest.raises(AssistError, match=None) as info:
        load_packs(tmp_path)
    assert expected in str(info.value)


def test_lint_reports_every_problem_with_lines(tmp_path):
    body = (EN + entry() + 'sevrity = "high"\n' + "\n" + entry(id_="calm-down")
            + "\n" + entry(id_="policy"))
    write_pack(tmp_path, body)
    problems = [str(p) for p in lint(tmp_path)]
    assert any(p.endswith("en.toml:8: unknown key 'sevrity' (did you mean 'severity'?)")
               for p in problems)
    assert any("en.toml:10: duplicate id 'calm-down' (first at line 2)" in p for p in problems)


def test_lint_behaviour_checks(tmp_path):
    body = EN + entry(patterns='["(please|just) calm down", "settle down now"]',
                      **{"not": '["Prices should come down next month.", "Please calm down."]'})
    write_pack(tmp_path, body)
    problems = [str(p) for p in lint(tmp_path)]
    assert any("en.toml:6: pattern 'settle down now' of 'calm-down' matches none of its examples"
               in p for p in problems)
    assert any("en.toml:8: not line 'Please calm down.' of 'calm-down' is flagged as 'calm-down' "
               "by the exact matcher" in p for p in problems)
    assert not any("Prices" in p for p in problems)


def test_lint_duplicate_ids_across_files(tmp_path):
    write_pack(tmp_path, EN + entry(), "en.toml")
    write_pack(tmp_path, EN + entry(), "en-extra.toml")
    problems = [str(p) for p in lint(tmp_path)]
    assert any("en.toml:2: duplicate id 'calm-down' (also in" in p for p in problems)


# --------------------------------------------------------------------------- CLI


def run(args, input_text=None):
    return CliRunner().invoke(phrases_cli, args, input=input_text, catch_exceptions=False)


def test_cli_every_command_has_help():
    assert phrases_cli.help
    for name, command in phrases_cli.commands.items():
        assert command.help, name
        result = run([name, "--help"])
        assert result.exit_code == 0 and "--phrases" in result.output


def test_cli_check_table():
    result = run(["check", "Please calm down, it's company policy.", "--no-semantic"])
    assert result.exit_code == 0
    assert "calm-down" in result.output and "company-policy" in result.output
    assert "say instead" in result.output
    quiet = run(["check", "Thanks for calling.", "--no-semantic"])
    assert quiet.output.strip() == "no banned phrases"


def test_cli_check_table_columns_line_up_with_chinese():
    from rich.cells import cell_len

    result = run(["check", "你先冷静一下，这是公司规定，我也没办法。", "--no-semantic"])
    head, _, *rows = result.output.splitlines()
    assert len(rows) == 2
    column = head.index("say instead")  # the header is ASCII: characters are cells
    for row in rows:
        say = next(s for s in ("我能理解", "这样做是") if s in row)
        assert cell_len(row[:row.index(say)]) == column


def test_cli_check_jsonl_contract():
    lines = [
        {"speaker": "agent", "text": "Please calm down sir.", "call": 7},
        {"speaker": "customer", "text": "Please calm down sir."},
        {"speaker": "agent", "text": "Thanks for holding."},
        {"text": "我已经说过了。"},
    ]
    stdin = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n"
    result = run(["check", "--jsonl", "--no-semantic"], stdin)
    assert result.exit_code == 0
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o["text"] for o in out] == [x["text"] for x in lines]
    assert [len(o["flags"]) for o in out] == [1, 0, 0, 1]
    flag = out[0]["flags"][0]
    assert list(flag) == ["phrase", "speaker", "text", "start", "end", "severity", "suggestion",
                          "matcher"]
    assert flag["phrase"] == "calm-down" and flag["speaker"] == "agent"
    assert out[3]["flags"][0]["phrase"] == "already-said"


def test_cli_check_bad_json_line():
    stdin = '{"text": "hello"}\n{"text": oops}\n'
    result = CliRunner().invoke(phrases_cli, ["check", "--jsonl", "--no-semantic"], input=stdin)
    assert result.exit_code == 1
    assert "stdin line 2: not valid JSON" in result.output
    assert "Traceback" not in result.output


def test_cli_lint_and_list(tmp_path):
    assert run(["lint"]).exit_code == 0
    listed = run(["list"])
    assert listed.exit_code == 0 and "cant-hear-call-back" in listed.output
    write_pack(tmp_path, EN + entry() + 'sevrity = "high"\n')
    result = CliRunner().invoke(phrases_cli, ["lint", "--phrases", str(tmp_path)])
    assert result.exit_code == 1
    assert "en.toml:8: unknown key 'sevrity'" in result.output


def test_cli_broken_pack_is_one_clean_line(tmp_path):
    write_pack(tmp_path, EN + entry() + 'sevrity = "high"\n')
    result = CliRunner().invoke(phrases_cli, ["check", "hi", "--phrases", str(tmp_path)])
    assert result.exit_code == 1
    [line] = [x for x in result.output.splitlines() if x.strip()]
    assert line.startswith("Error: ") and "en.toml:8: unknown key 'sevrity'" in line


def test_options_are_a_dataclass_with_defaults():
    options = DetectorOptions()
    assert 0 < options.semantic_threshold < 1 and options.fuzzy_min_words >= 3


def test_core_imports_stay_light():
    """No UI and no heavy model libraries just from importing the phrase modules."""
    import subprocess
    import sys

    code = ("import sys, assist.phrases, assist.cli.phrases; "
            "print(sorted(m for m in ('textual', 'torch', 'sentence_transformers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_matcher_is_an_error(lexical):
    with pytest.raises(AssistError, match="unknown matcher"):
        lexical.check("calm down", matchers=("exact", "psychic"))


def test_bundled_sample_call_flags_the_agent_phrases_only(lexical):
    """The sample call's script: three banned agent lines, none from the customer."""
    from assist.resources import PACKAGE_DIR

    script = PACKAGE_DIR / "data" / "sample_call.json"
    if not script.exists():
        pytest.skip("no bundled sample call in this checkout")
    turns = json.loads(script.read_text(encoding="utf-8"))["turns"]
    flagged = {(t["speaker"], f.phrase) for t in turns for f in lexical.check(t["text"], t["speaker"])}
    assert flagged == {("agent", "calm-down"), ("agent", "already-said"),
                       ("agent", "company-policy")}


def test_learn_turns_false_alarms_into_not_lines(tmp_path):
    """A coach's false-alarm verdict becomes a `not` line; the detector then stays quiet."""
    import shutil

    from assist.cli.phrases import phrases as phrases_group
    from assist.events import End, Flag, Utterance
    from assist.phrases import PhraseDetector
    from assist.resources import shipped
    from assist.review import record_verdict
    from assist.store import Store, StoreSink

    packs = tmp_path / "phrases"
    shutil.copytree(shipped("phrases"), packs)
    heard = "you have got the wrong department number on your form"
    detector = PhraseDetector(packs, semantic=False)
    flags = detector.check(heard)
    assert [f.phrase for f in flags] == ["wrong-department"]

    db = str(tmp_path / "store.db")
    store = Store(db)
    sink = StoreSink(store, agent="ana")
    sink.start_call("c1")
    sink(Utterance(speaker="agent", start=1.0, end=3.0, text=heard))
    sink(Flag(phrase="wrong-department", speaker="agent", text=flags[0].text, start=1.0, end=2.0))
    sink(End(call="c1"))
    sink.close()
    record_verdict(store, "c1", 1, "false-alarm", note="wording, not the customer")
    store.close()

    runner = CliRunner()
    dry = runner.invoke(phrases_group, ["learn", "--db", db, "--phrases", str(packs), "--dry-run"])
    assert dry.exit_code == 0 and "would allow" in dry.output
    result = runner.invoke(phrases_group, ["learn", "--db", db, "--phrases", str(packs)])
    assert result.exit_code == 0, result.output
    assert "1 new 'allow' line(s)" in result.output
    assert PhraseDetector(packs, semantic=False).check(heard) == []
    assert PhraseDetector(packs, semantic=False).check("you've got the wrong department, sorry")
    again = runner.invoke(phrases_group, ["learn", "--db", db, "--phrases", str(packs)])
    assert "0 new" in again.output  # idempotent
    lint = runner.invoke(phrases_group, ["lint", "--phrases", str(packs)])
    assert lint.exit_code == 0, lint.output
