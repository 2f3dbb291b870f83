"""Chinese transcripts in one script: simplified by default, whatever Whisper wrote."""

from __future__ import annotations

import tomllib
from types import SimpleNamespace

import numpy as np
import pytest

from assist.asr import AsrOptions, StreamingTranscriber
from assist.asr.script import simplified, to_script, traditional, words_to_script
from assist.asr.streaming import DecodeJob, _Speech
from assist.phrases import PhraseDetector
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


class Scripted:
    """A recogniser that writes what it is told, in the language it is told."""

    def __init__(self, texts, language="zh"):
        self.texts, self.language = iter(texts), language

    def transcribe(self, audio, **kw):
        text = next(self.texts)
        words = None
        if kw.get("word_timestamps"):
            step = 1.0 / max(1, len(text.split()))
            words = [SimpleNamespace(word=w, start=i * step, end=(i + 1) * step, probability=0.9)
                     for i, w in enumerate(text.split())]
        segment = SimpleNamespace(text=text, no_speech_prob=0.0, avg_logprob=-0.1, words=words)
        return [segment], SimpleNamespace(language=self.language)


def _run(texts, language="zh", **options):
    """Two partial decodes, then a final one, of one utterance; returns their events."""
    transcriber = StreamingTranscriber("agent", Scripted(texts, language),
                                       AsrOptions(language=language, **options))
    transcriber.speech = _Speech(start_sample=0)
    events = []
    for n in range(len(texts) - 1):
        audio = np.zeros(8000 * (n + 2), dtype=np.float32)
        events += transcriber.decode(DecodeJob("agent", "partial", audio, 0.0, 1.0))
    events += transcriber.decode(DecodeJob("agent", "final", np.zeros(16000, np.float32), 0.0, 1.0))
    return events


HEARD = ["請您", "請您冷靜", "請您 冷靜 一點"]


def test_partials_and_finals_of_a_chinese_call_are_simplified():
    events = _run(HEARD)
    assert [e.text for e in events] == ["请您", "请您冷静", "请您 冷静 一点"]
    final = events[-1]
    assert final.type == "utterance" and final.language == "zh"
    assert [w.word for w in final.words] == ["请您", "冷静", "一点"]
    assert [(w.start, w.end) for w in final.words] == [(0.0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.0)]


def test_as_heard_keeps_the_recognisers_characters_and_traditional_converts_back():
    assert [e.text for e in _run(HEARD, script="as-heard")] == HEARD
    assert _run(["请您", "请您冷静", "请您 冷静"], script="traditional")[-1].text == "請您 冷靜"


def test_only_chinese_is_converted():
    # a language detected as Japanese keeps its kanji (國 is Japanese 国's old form, 帳 is 帳)
    assert _run(["通帳", "通帳を", "通帳を 國"], language="ja")[-1].text == "通帳を 國"


def test_a_banned_phrase_heard_in_traditional_characters_is_flagged_in_simplified():
    detector = PhraseDetector(language="zh", semantic=False)
    utterance = _run(["請您", "請您冷靜", "請您冷靜一點，我幫您查"])[-1]
    assert utterance.text == "请您冷静一点，我帮您查"
    flags = detector.feed(utterance)
    assert [f.phrase for f in flags] == ["calm-down"]
    assert flags[0].text == "请您冷静"  # what the screen and the store show as heard


# ---------------------------------------------------------------- real recognition
# tests/data/mandarin_espeak.flac: 8 s of Mandarin, "请问您的地址是广州市天河区吗？我帮您
# 查一下银行卡号码。" as pinyin with tones (pypinyin) read by espeak-ng's cmn-latn-pinyin
# voice at 160 words a minute, 16 kHz mono.  Synthetic: no recording of real Mandarin
# speech is to be had here, and espeak-ng reads characters as English letters.


class Replayed:
    """The real model, each decode done once: a second pass over the same audio gets the
    very text the first one got, so the two scripts can be compared word for word."""

    def __init__(self, model):
        self.model, self.done = model, {}

    def transcribe(self, audio, **kw):
        from assist.asr.streaming import _audio_ctx

        key = (audio.tobytes(), _audio_ctx.get(), tuple(sorted((k, repr(v)) for k, v in kw.items())))
        if key not in self.done:
            segments, info = self.model.transcribe(audio, **kw)
            self.done[key] = (list(segments), info)
        return self.done[key]


@pytest.fixture(scope="module")
def mandarin():
    """The packaged multilingual base over the clip: its text events as heard and in
    simplified characters."""
    from assist.models import ModelSpec, load_whisper
    from helpers import run_file

    model = Replayed(load_whisper(ModelSpec("asr", "base")))
    return {script: [e for e in run_file(model, DATA / "mandarin_espeak.flac", channels="agent",
                                         language="zh", script=script)
                     if e.type in ("partial", "utterance")]
            for script in ("as-heard", "simplified")}


def _changed(texts: list[str]) -> list[str]:
    """Consecutive repeats dropped (two hypotheses may become one text once converted)."""
    return [t for i, t in enumerate(texts) if i == 0 or t != texts[i - 1]]


def test_whisper_writes_traditional_and_the_call_shows_simplified(mandarin):
    heard, shown = mandarin["as-heard"], mandarin["simplified"]
    heard_finals = [e.text for e in heard if e.type == "utterance"]
    shown_finals = [e.text for e in shown if e.type == "utterance"]
    assert heard_finals and any(simplified(t) != t for t in heard_finals), heard_finals
    assert shown_finals == [simplified(t) for t in heard_finals], (heard_finals, shown_finals)
    assert all(simplified(e.text) == e.text for e in shown), [e.text for e in shown]
    heard_partials = [simplified(e.text) for e in heard if e.type == "partial"]
    assert [e.text for e in shown if e.type == "partial"] == _changed(heard_partials)
    for before, after in zip([e for e in heard if e.type == "utterance"],
                             [e for e in shown if e.type == "utterance"], strict=True):
        assert [(w.start, w.end) for w in after.words] == [(w.start, w.end) for w in before.words]
