"""Chinese transcripts in one script: simplified by default, whatever Whisper wrote."""

from __future__ import annotations

import tomllib

import pytest

from assist.asr.script import simplified, to_script, traditional, words_to_script
from helpers import DATA, REPO


def labelled() -> list[tuple[str, str, str]]:
    lines = [line for line in (DATA / "zh_traditional.tsv").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    return [tuple(line.split("\t")) for line in lines[1:]]  # type: ignore[misc]


@pytest.mark.parametrize(("category", "heard", "written"), labelled(),
                         ids=lambda v: v if len(v) < 12 else None)
def test_call_vocabulary_comes_out_simplified(category, heard, written):
    assert simplified(heard) == written


def test_the_phrase_packs_own_simplified_lines_stay_as_they_are():
    for name in ("phrases", "checklists"):
        pack = tomllib.loads((REPO / name / "zh.toml").read_text(encoding="utf-8"))
        for entry in pack.get("phrase", []) + pack.get("item", []):
            for line in entry.get("examples", []) + entry.get("say_instead", []):
                assert simplified(line) == line


def test_account_is_not_the_tent():
    assert simplified("轉帳到對方帳戶") == "转账到对方账户"
    assert simplified("帳篷和蚊帳") == "帐篷和蚊帐"


def test_words_keep_their_boundaries_and_the_phrase_decides_the_character():
    assert words_to_script(["我", "很", "著", "急"], "simplified") == ["我", "很", "着", "急"]
    assert words_to_script(["著名", "的", "銀行"], "simplified") == ["著名", "的", "银行"]
    assert words_to_script(["OK,", "帳號"], "as-heard") == ["OK,", "帳號"]


def test_traditional_and_as_heard():
    assert traditional("广州市的银行卡") == "廣州市的銀行卡"
    assert to_script("廣州市 广州市", "as-heard") == "廣州市 广州市"
    assert simplified("calm down, 2 cards") == "calm down, 2 cards"
