"""Streaming transcription with the real tiny.en model (loaded once per session)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf
import soxr

from assist.asr import AsrOptions, StreamingTranscriber, agreed_prefix, context_frames, looks_looped
from helpers import of_type, run_file


def words(text: str) -> str:
    return re.sub(r"[^a-z ]", "", text.lower())


@pytest.fixture(scope="module")
def jfk_events(whisper_model, shared_data):
    return run_file(whisper_model, shared_data / "speech-samples" / "jfk.flac", channels="agent")


def test_jfk_is_transcribed(jfk_events):
    text = words(" ".join(u.text for u in of_type(jfk_events, "utterance")))
    for phrase in ("fellow americans", "ask not", "your country can do for you", "for your country"):
        assert phrase in text, text


def test_utterances_have_word_times_inside_their_span(jfk_events):
    utterances = of_type(jfk_events, "utterance")
    assert utterances
    for u in utterances:
        assert u.speaker == "agent"
        assert 0 <= u.start < u.end <= 11.1
        assert u.words and u.words[0].start == u.start and u.words[-1].end == u.end
        assert all(a.start <= b.start for a, b in zip(u.words, u.words[1:], strict=False))


def test_partials_show_a_tentative_tail_after_agreed_words_that_only_grow(jfk_events):
    partials = of_type(jfk_events, "partial")
    assert partials, "no partial text while speaking"
    by_start: dict[float, list] = {}
    for p in partials:
        assert 0 <= p.stable <= len(p.text.split())
        by_start.setdefault(p.start, []).append(p)
    tentative = 0
    for ps in by_start.values():
        for a, b in zip(ps, ps[1:], strict=False):
            # agreed words never change and never shrink; the tail may
            assert b.stable >= a.stable and words(b.stable_text).startswith(words(a.stable_text))
            assert b.text != a.text
        tentative += sum(p.stable < len(p.text.split()) for p in ps)
    assert tentative, "every partial waited for agreement: no tentative tail was shown"
    # the first words show after one decode, before any agreement
    assert partials[0].stable == 0 and partials[0].text


def test_each_channel_goes_to_its_own_speaker(whisper_model, shared_data):
    events = run_file(whisper_model, shared_data / "speech-samples" / "stereo_diarization.wav")
    by = {s: words(" ".join(u.text for u in of_type(events, "utterance") if u.speaker == s))
          for s in ("agent", "customer")}
    assert "wizard" in by["agent"] and "curtain" in by["agent"]
    assert "horizon" in by["customer"] and "distant" in by["customer"]
    assert "horizon" not in by["agent"] and "wizard" not in by["customer"]


def test_8khz_telephone_audio(whisper_model, shared_data, tmp_path):
    data, rate = sf.read(shared_data / "speech-samples" / "jfk.flac", dtype="float32", always_2d=True)
    path = tmp_path / "jfk8k.wav"
    sf.write(path, soxr.resample(data[:, 0], rate, 8000), 8000, subtype="PCM_16")
    events = run_file(whisper_model, path)
    text = words(" ".join(u.text for u in of_type(events, "utterance")))
    assert "america" in text and "your country can do for you" in text
    assert not looks_looped(text)


def _noise_file(tmp_path, name, signal):
    path = tmp_path / name
    sf.write(path, signal.astype(np.float32), 16000)
    return path


def test_no_text_on_silence_or_hold_music(whisper_model, tmp_path):
    rate = 16000
    t = np.arange(rate * 20) / rate
    # hold music: a looping I-IV-V chord progression with a soft beat
    chords = [(261.6, 329.6, 392.0), (349.2, 440.0, 523.3), (392.0, 493.9, 587.3)]
    music = np.zeros_like(t)
    for i, chord in enumerate(chords * 7):
        seg = (t >= i) & (t < i + 1)
        for f in chord:
            music[seg] += 0.08 * np.sin(2 * np.pi * f * t[seg]) * np.exp(-2 * (t[seg] - i))
    hum = 0.002 * np.random.default_rng(1).standard_normal(len(t))
    for name, signal in (("silence.wav", np.zeros_like(t)), ("hum.wav", hum), ("music.wav", music + hum)):
        events = run_file(whisper_model, _noise_file(tmp_path, name, signal))
        assert of_type(events, "utterance") == [], name
        assert of_type(events, "partial") == [], name


def test_agreed_prefix_ignores_case_and_punctuation():
    assert agreed_prefix(["Hello,", "my", "card"], ["hello", "my", "cart", "is"]) == 2
    assert agreed_prefix([], ["a"]) == 0


def test_decoder_loops_are_recognised():
    assert looks_looped("and so am i fell in america and so am i fell in america")
    assert not looks_looped("no no no, I said the card, not the account")
    assert not looks_looped("ask what you can do for your country")


def test_encoder_context_is_short_for_short_speech():
    assert context_frames(16000 * 2) == 1000
    assert context_frames(16000 * 10) == 1701
    assert context_frames(16000 * 40) == 3000


def test_transcriber_cuts_a_long_monologue(whisper_model, shared_data):
    data, rate = sf.read(shared_data / "speech-samples" / "jfk.flac", dtype="float32", always_2d=True)
    audio = soxr.resample(data[:, 0], rate, 16000)
    transcriber = StreamingTranscriber("agent", whisper_model, AsrOptions(max_utterance=3.0, min_silence=5.0))
    for i in range(0, len(audio), 1600):
        transcriber.insert_audio(audio[i : i + 1600])
    transcriber.flush()
    jobs = list(transcriber.finals)
    assert len(jobs) >= 3
    # each job is at most 3 s of speech (plus pre-roll) after the context it is heard with
    assert all(len(j.audio) / 16000 - ((j.keep_from or j.offset) - j.offset) <= 3.6 for j in jobs)
    assert any(j.keep_from is not None for j in jobs)


def test_scheduler_alternates_partials_and_puts_finals_first(shared_data):
    from assist.asr import DecodeScheduler

    data, rate = sf.read(shared_data / "speech-samples" / "jfk.flac", dtype="float32", always_2d=True)
    audio = soxr.resample(data[:, 0], rate, 16000)[: 16000 * 2]
    transcribers = {s: StreamingTranscriber(s, None) for s in ("agent", "customer")}
    for i in range(0, len(audio), 1600):
        for t in transcribers.values():
            t.insert_audio(audio[i : i + 1600])
    scheduler = DecodeScheduler(transcribers)
    order = []
    for _ in range(4):
        job = scheduler.next_job()
        order.append((job.speaker, job.kind))
        transcribers[job.speaker].speech.last_partial_at = transcribers[job.speaker].speech.samples - 8000
    assert [s for s, _ in order] in (["agent", "customer"] * 2, ["customer", "agent"] * 2)
    assert {k for _, k in order} == {"partial"}
    # a finished utterance jumps the queue
    transcribers["customer"].flush()
    assert scheduler.next_job().kind == "final"


def test_a_reconsidered_word_does_not_hold_later_words_off_the_screen():
    """Decodes that agree, then one that changes an agreed word ("back" -> "Bank"): the
    agreed words stay as promised, and the words said after them still reach the screen
    with the very next decode (they used to wait for the final)."""
    from types import SimpleNamespace

    from assist.asr.streaming import DecodeJob, _Speech

    class Scripted:
        def __init__(self, texts):
            self.texts = iter(texts)

        def transcribe(self, audio, **_kw):
            segment = SimpleNamespace(text=next(self.texts), no_speech_prob=0.0, avg_logprob=-0.1,
                                      words=None)
            return [segment], SimpleNamespace(language="en")

    transcriber = StreamingTranscriber("agent", Scripted([
        "thank you for calling riverside back",
        "thank you for calling riverside back my",
        "thank you for calling riverside bank my name is",
        "thank you for calling riverside bank my name is daniel",
    ]))
    transcriber.speech = _Speech(start_sample=0)
    shown = []
    for n in range(4):
        audio = np.zeros(8000 * (n + 2), dtype=np.float32)
        shown += transcriber.decode(DecodeJob("agent", "partial", audio, 0.0, 1.0))
    assert [p.stable_text for p in shown][1] == "thank you for calling riverside back"
    assert all(p.stable_text.startswith("thank you for calling riverside back") for p in shown[1:])
    assert shown[2].text.endswith("my name is")  # at once, not after the final
    assert shown[3].text.endswith("my name is daniel")
