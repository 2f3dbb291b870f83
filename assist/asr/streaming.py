"""Streaming transcription: LocalAgreement partials and final utterances per speaker."""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE, voice_features
from ..events import Partial, Utterance, Word
from .script import SIMPLIFIED, converts, to_script, warm, words_to_script
from .vad import VAD_WINDOW, StreamingVad

FRAMES_PER_SECOND = 100  # Whisper mel frames

# Whisper's encoder is trained on 30 s windows and faster-whisper pads every
# window to 3,000 mel frames, so a 3 s utterance costs as much as 30 s of audio.
# Like whisper.cpp's --audio-ctx we pad short utterances less: at least 10 s and
# 7 s past the speech.  Measured on jfk.flac with tiny.en: 3-4x faster, same
# text; 6 s of context for 3 s of speech makes tiny.en loop, hence the margins.
_audio_ctx: ContextVar[int | None] = ContextVar("assist_audio_ctx", default=None)
MIN_CTX_FRAMES, CTX_MARGIN_FRAMES, MAX_CTX_FRAMES = 1000, 700, 3000


def _install_audio_ctx() -> None:
    import faster_whisper.transcribe as fw_transcribe
    from faster_whisper.audio import pad_or_trim

    if getattr(fw_transcribe.pad_or_trim, "_assist", False):
        return

    def pad_to_context(array, length: int = MAX_CTX_FRAMES, *, axis: int = -1):
        return pad_or_trim(array, _audio_ctx.get() or length, axis=axis)

    pad_to_context._assist = True  # type: ignore[attr-defined]
    fw_transcribe.pad_or_trim = pad_to_context


def context_frames(samples: int) -> int:
    """Encoder frames to decode ``samples`` of 16 kHz audio with."""
    content = samples * FRAMES_PER_SECOND // SAMPLE_RATE + 1
    return int(min(MAX_CTX_FRAMES, max(MIN_CTX_FRAMES, content + CTX_MARGIN_FRAMES)))


@dataclass
class AsrOptions:
    """Streaming options.

    Attributes:
        language: language code ("en", "zh", ...) or None to detect (multilingual models).
        onset: VAD probability that starts speech.
        offset: VAD probability under which speech may end.
        min_silence: seconds under ``offset`` that end an utterance.
        number_silence: the same while the speaker is reading out a number (the
            latest partial ends in a digit): people pause between groups of digits,
            and each group alone is a few digits Whisper guesses at.
        early_silence: seconds of silence after which the final decode starts
            speculatively; if the speaker goes on, the result is thrown away.
        min_speech: utterances shorter than this are dropped (clicks, breaths).
        pre_roll: seconds of audio kept before the detected onset.
        left_context: seconds of this speaker's audio before an utterance that its
            final decode also hears, when the speaker spoke in them (a number read
            in groups: each group alone is a few digits Whisper guesses at); only
            the words inside the utterance are kept.
        partial_every: seconds of new speech between partial decodes.
        max_utterance: an utterance is cut at this length even without a pause.
        beam_size: beam for the final decode (partials are greedy).
        no_speech_threshold: segments above this no-speech probability ...
        logprob_threshold: ... and below this average log-probability are dropped.
        script: the characters Chinese (zh) partials and finals are written in:
            "simplified", "traditional", or "as-heard" (as the recogniser wrote them;
            Whisper mixes both).
    """

    language: str | None = "en"
    onset: float = 0.5
    offset: float = 0.35
    min_silence: float = 0.5
    early_silence: float = 0.2
    min_speech: float = 0.25
    pre_roll: float = 0.2
    left_context: float = 3.0
    number_silence: float = 1.0
    short_utterance: float = 0.0
    short_silence: float = 0.8
    prompt_previous: float = 0.0
    partial_every: float = 0.5
    max_utterance: float = 15.0
    beam_size: int = 1
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    script: str = SIMPLIFIED


@dataclass(eq=False)  # identity, not array comparison
class DecodeJob:
    """Audio a transcriber wants decoded: a partial (greedy, no word times) or a final."""

    speaker: str
    kind: str  # "partial" or "final"
    audio: np.ndarray
    offset: float  # audio time of audio[0]
    ready_at: float  # audio time at which the job became due (for scheduling fairness)
    seq: int = 0
    early: bool = False  # a speculative final, started before the pause is long enough
    keep_from: float | None = None  # words before this audio time are left context, not this utterance
    agreed: list[str] = field(default_factory=list)  # words partials already agreed on (a final keeps them)


_WORD_KEY = re.compile(r"[^\w']+")
_NUMBERISH = re.compile(r"\d|^(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|double|triple)\W*$"
                        r"|[零〇一二两三四五六七八九幺]$", re.I)


def _key(word: str) -> str:
    return _WORD_KEY.sub("", word.lower())


def agreed_prefix(a: list[str], b: list[str]) -> int:
    """Number of leading words two hypotheses agree on (case and punctuation ignored)."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if _key(x) != _key(y):
            break
        n += 1
    return n


def _repeats(tokens: list[str], i: int, n: int) -> int:
    """How many times the run tokens[i:i+n] occurs back to back from i."""
    count = 1
    while tokens[i + count * n: i + (count + 1) * n] == tokens[i: i + n]:
        count += 1
    return count


# a run of n words said this many times in a row is a decoder loop, not speech
_LOOP_REPEATS = {1: 6, 2: 4}


def looks_looped(text: str) -> bool:
    """True when the decoder looped: a run of three or more words repeats back to
    back, or one or two words repeat more often than anyone says them."""
    tokens = [_key(w) for w in text.split()]
    for n in range(1, len(tokens) // 2 + 1):
        need = _LOOP_REPEATS.get(n, 2)
        for i in range(len(tokens) - need * n + 1):
            if _repeats(tokens, i, n) >= need:
                return True
    return False


def unlooped(words: list[str]) -> list[int]:
    """Indices of the words to keep so that every looped run is said once."""
    tokens = [_key(w) for w in words]
    out: list[int] = []
    i = 0
    while i < len(words):
        for n in range(1, (len(words) - i) // 2 + 1):
            count = _repeats(tokens, i, n)
            if count >= _LOOP_REPEATS.get(n, 2):
                out += range(i, i + n)
                i += count * n
                break
        else:
            out.append(i)
            i += 1
    return out


# Whisper's favourite inventions on noise; dropped only when the decode is unsure anyway.
_HALLUCINATIONS = {
    "thank you", "thanks for watching", "thank you for watching", "you", "bye",
    "subtitles by the amara org community", "please subscribe", "so", "okay",
}


def level(audio: np.ndarray, target: float = 0.5, most: float = 20.0) -> np.ndarray:
    """A quiet line's speech brought up towards ``target`` peak (never turned down):
    Whisper's log-mel input is not level-free, and a quiet caller decodes worse."""
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    if peak <= 0.0 or peak >= target / 2:
        return audio
    return (audio * min(most, target / peak)).astype(np.float32)


def spread(texts: list[str], start: float, end: float) -> list[Word]:
    """Words with no timing of their own, spread evenly over [start, end]."""
    step = (end - start) / max(1, len(texts))
    return [Word(start + i * step, start + (i + 1) * step, t, 0.0) for i, t in enumerate(texts)]


@dataclass
class _Speech:
    start_sample: int
    chunks: list[np.ndarray] = field(default_factory=list)
    samples: int = 0
    last_partial_at: int = 0
    hypothesis: list[str] = field(default_factory=list)
    committed: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    early: DecodeJob | None = None
    early_result: list[Utterance] | None = None
    left: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # context before it

    def job(self, speaker: str, audio: np.ndarray, ready_at: float, seq: int, early: bool = False) -> DecodeJob:
        """A final decode of ``audio`` (this utterance's), heard after its left context."""
        start = self.start_sample / SAMPLE_RATE
        agreed = list(self.committed)
        if not len(self.left):
            return DecodeJob(speaker, "final", audio, start, ready_at, seq, early=early, agreed=agreed)
        return DecodeJob(speaker, "final", np.concatenate([self.left, audio]), start - len(self.left) / SAMPLE_RATE,
                         ready_at, seq, early=early, keep_from=start, agreed=agreed)


class StreamingTranscriber:
    """One speaker's audio in, ``Partial`` and ``Utterance`` events out (via the scheduler).

    ``final_model``, when given, decodes the final utterances and ``model`` only the
    partials (two passes: a small fast model shows words while someone speaks, a bigger
    one writes what is kept).
    """

    def __init__(self, speaker: str, model: Any, options: AsrOptions | None = None,
                 final_model: Any | None = None):
        self.speaker = speaker
        self.model = model
        self.final_model = final_model if final_model is not None else model
        self.options = options or AsrOptions()
        self.full_retries = 0  # finals shorter than the agreed words, decoded again in full
        self.kept_agreed = 0  # ... and still shorter: the agreed words were kept
        self.vad = StreamingVad()
        self.samples_in = 0
        self.history: deque[np.ndarray] = deque()
        self.history_samples = 0
        self.speech: _Speech | None = None
        self.silence_windows = 0
        self.finals: deque[DecodeJob] = deque()
        self.outbox: list[Utterance] = []  # finished without a decode of their own
        self.language: str | None = self.options.language
        self._seq = 0
        self._vad_cursor = 0  # samples already judged by the VAD
        self._last_end: int | None = None  # sample where the last utterance's audio ended
        self._said: deque[Utterance] = deque(maxlen=8)  # this speaker's latest finals
        self.voiced = False  # the latest audio held voice (a VAD window over offset, in speech)
        if converts(self.language or "zh", self.options.script):
            warm(self.options.script)  # Chinese may come: load the converter before the call

    # ------------------------------------------------------------ audio in

    @property
    def speaking(self) -> bool:
        return self.speech is not None

    def insert_audio(self, audio: np.ndarray) -> None:
        """Feed 16 kHz float32 audio; updates the speech state, never decodes."""
        audio = np.asarray(audio, dtype=np.float32)
        self._remember(audio)
        if self.speech is not None:
            self.speech.chunks.append(audio)
            self.speech.samples += len(audio)
        self.samples_in += len(audio)
        voiced = False
        for prob in self.vad(audio):
            self._vad_cursor += VAD_WINDOW
            self._on_window(float(prob))
            voiced = voiced or (self.speech is not None and prob >= self.options.offset)
        self.voiced = voiced

    def _remember(self, audio: np.ndarray) -> None:
        """Keep a short history so an utterance starts a little before the VAD onset."""
        self.history.append(audio)
        self.history_samples += len(audio)
        keep = int((self.options.pre_roll + self.options.left_context + 0.1) * SAMPLE_RATE) + VAD_WINDOW * 4
        while self.history and self.history_samples - len(self.history[0]) >= keep:
            self.history_samples -= len(self.history.popleft())

    def _on_window(self, prob: float) -> None:
        opts = self.options
        if self.speech is None:
            if prob >= opts.onset:
                self._begin(self._vad_cursor - VAD_WINDOW)
            return
        if prob < opts.offset:
            self.silence_windows += 1
        else:
            self.silence_windows = 0
            self._drop_early()
        silence = self.silence_windows * VAD_WINDOW / SAMPLE_RATE
        length = (self._vad_cursor - self.speech.start_sample) / SAMPLE_RATE
        if silence >= self._silence_to_end(length - silence):
            self._end(trim=self.silence_windows * VAD_WINDOW)
        elif length >= opts.max_utterance:
            self._end(trim=0)
        elif silence >= opts.early_silence and self.speech.early is None:
            self._start_early()

    def _silence_to_end(self, spoken: float) -> float:
        """How long a pause ends this utterance: longer while a number is being read
        (the latest partial ends in a digit) or after only a word or two."""
        opts, speech = self.options, self.speech
        if speech and speech.shown and _NUMBERISH.search(speech.shown[-1]):
            return opts.number_silence
        return opts.short_silence if spoken < opts.short_utterance else opts.min_silence

    def _start_early(self) -> None:
        """Decode the utterance now, while we wait to learn whether the pause is an end."""
        speech = self.speech
        assert speech is not None
        self._seq += 1
        job = speech.job(self.speaker, np.concatenate(speech.chunks), self.samples_in / SAMPLE_RATE,
                         self._seq, early=True)
        speech.early = job
        self.finals.append(job)

    def _drop_early(self) -> None:
        speech = self.speech
        if speech is None or speech.early is None:
            return
        if speech.early in self.finals:
            self.finals.remove(speech.early)
        speech.early, speech.early_result = None, None

    def _begin(self, onset_sample: int) -> None:
        start = max(0, onset_sample - int(self.options.pre_roll * SAMPLE_RATE))
        history = np.concatenate(list(self.history)) if self.history else np.zeros(0, np.float32)
        history_start = self.samples_in - len(history)
        start = max(start, history_start)
        speech = _Speech(start_sample=start)
        reach = int(self.options.left_context * SAMPLE_RATE)
        if reach and self._last_end is not None and start - self._last_end < reach:
            speech.left = history[max(0, start - reach - history_start): start - history_start]
        head = history[start - history_start :]
        speech.chunks.append(head)
        speech.samples = len(head)
        self.speech = speech
        self.silence_windows = 0

    def _end(self, trim: int) -> None:
        speech, self.speech = self.speech, None
        self.silence_windows = 0
        self.vad.reset()  # a state carried across a call drifts: quiet speech stops rising past onset
        assert speech is not None
        self._last_end = self._vad_cursor - trim
        if speech.early is not None:
            # the speculative decode covered this very utterance: use it
            if speech.early_result is not None:
                self.outbox.extend(speech.early_result)
                self._said.extend(speech.early_result)
            else:
                speech.early.early = False  # still queued: it becomes the final job
            return
        audio = np.concatenate(speech.chunks) if speech.chunks else np.zeros(0, np.float32)
        # keep ~0.2 s of the trailing silence: Whisper clips the last word without it
        keep_tail = int(0.2 * SAMPLE_RATE)
        if trim > keep_tail:
            audio = audio[: max(0, len(audio) - (trim - keep_tail))]
        voiced = len(audio) - min(trim, keep_tail)
        if voiced / SAMPLE_RATE < self.options.min_speech:
            return
        self._seq += 1
        self.finals.append(speech.job(self.speaker, audio, self.samples_in / SAMPLE_RATE, self._seq))

    def flush(self) -> None:
        """End of input: whatever is being said becomes a final job."""
        if self.speech is not None:
            self._end(trim=self.silence_windows * VAD_WINDOW)

    # ------------------------------------------------------------ jobs out

    def next_final(self) -> DecodeJob | None:
        return self.finals.popleft() if self.finals else None

    def partial_ready(self) -> bool:
        """Enough new speech arrived since the last partial decode (and no pause began)."""
        speech = self.speech
        step = int(self.options.partial_every * SAMPLE_RATE)
        return (speech is not None and speech.early is None
                and speech.samples - speech.last_partial_at >= step)

    def partial_due(self) -> DecodeJob | None:
        """A partial job if one is ready."""
        speech = self.speech
        if speech is None or not self.partial_ready():
            return None
        return DecodeJob(self.speaker, "partial", np.concatenate(speech.chunks),
                         speech.start_sample / SAMPLE_RATE, self.samples_in / SAMPLE_RATE)

    # ------------------------------------------------------------ decoding

    def _transcribe(self, audio: np.ndarray, final: bool, full: bool = False, prompt: str | None = None):
        _install_audio_ctx()
        audio = level(audio)
        segments, info = self._transcribe_with_context(
            audio, final, MAX_CTX_FRAMES if full else context_frames(len(audio)), prompt)
        if not full and looks_looped(" ".join(s.text for s in segments)):
            # the short context occasionally makes the decoder repeat itself: retry in full
            segments, info = self._transcribe_with_context(audio, final, MAX_CTX_FRAMES, prompt)
        return segments, info

    def _transcribe_with_context(self, audio: np.ndarray, final: bool, frames: int, prompt: str | None):
        token = _audio_ctx.set(frames)
        try:
            return self._transcribe_padded(audio, final, prompt)
        finally:
            _audio_ctx.reset(token)

    def _transcribe_padded(self, audio: np.ndarray, final: bool, prompt: str | None = None):
        opts = self.options
        model = self.final_model if final else self.model
        segments, info = model.transcribe(
            audio,
            # with detection on, each final detects afresh (calls switch language);
            # partials reuse the last detected one to stay cheap
            language=self.options.language if final else self.language,
            beam_size=opts.beam_size if final else 1,
            temperature=0.0,  # fallback re-decodes cost latency and invent text on noise
            word_timestamps=final,
            condition_on_previous_text=False,
            initial_prompt=prompt,
            without_timestamps=not final,
            vad_filter=False,
            no_speech_threshold=opts.no_speech_threshold,
            log_prob_threshold=opts.logprob_threshold,
        )
        return list(segments), info

    def _keep(self, segment) -> bool:
        opts = self.options
        if segment.no_speech_prob > opts.no_speech_threshold and segment.avg_logprob < opts.logprob_threshold:
            return False
        text = _key(segment.text.replace(" ", "_")).replace("_", " ").strip()
        if not text:
            return False
        unsure = segment.avg_logprob < -0.7 or segment.no_speech_prob > 0.3
        return not (unsure and text in _HALLUCINATIONS)

    def _prompt(self, job: DecodeJob) -> str | None:
        """What this speaker said just before the job's utterance, as the decoder's prompt."""
        reach = self.options.prompt_previous
        if not reach:
            return None
        start = job.keep_from if job.keep_from is not None else job.offset
        said = [u.text for u in self._said if u.end >= start - reach and u.end <= start]
        return " ".join(said)[-200:] or None

    def decode(self, job: DecodeJob) -> Sequence[Partial | Utterance]:
        """Run one job; returns the events it produced."""
        if job.kind == "partial":
            return self._decode_partial(job)
        result = self._decode_final(job)
        if not job.early:
            self._said.extend(result)
            return result
        if self.speech is not None and self.speech.early is job:
            self.speech.early_result = result  # held until the pause proves to be an end
        return []

    def take_ready(self) -> list[Utterance]:
        """Utterances that ended on an already-finished speculative decode."""
        ready, self.outbox = self.outbox, []
        return ready

    def _decode_partial(self, job: DecodeJob) -> list[Partial]:
        speech = self.speech
        if speech is None or speech.start_sample / SAMPLE_RATE != job.offset:
            return []  # the utterance ended meanwhile; its final decode supersedes this
        speech.last_partial_at = len(job.audio)
        segments, info = self._transcribe(job.audio, final=False)
        text = " ".join(s.text.strip() for s in segments if self._keep(s))
        if converts(info.language if info is not None else self.language, self.options.script):
            text = to_script(text, self.options.script)
        words = text.split()
        agreed = agreed_prefix(speech.hypothesis, words)
        speech.hypothesis = words
        committed = speech.committed
        # Agreed words are a promise: they only grow, by the words two decodes in a row
        # agree on past them.  Where the newest decode reconsidered a committed word
        # ("back" -> "Bank"), its words are aligned by position: waiting for it to agree
        # with the committed words again held every later word off the screen until the
        # final (word on screen p95 3.2 s against 1.0 s, bench/latency.py).
        if agreed > len(committed):
            speech.committed = committed = committed + words[len(committed):agreed]
        shown = committed + words[len(committed):]
        if not shown or shown == speech.shown:
            return []
        speech.shown = shown
        return [Partial(speaker=self.speaker, text=" ".join(shown), start=job.offset,
                        stable=len(committed))]

    def _decode_final(self, job: DecodeJob) -> list[Utterance]:
        words, info = self._final_words(job)
        alone = job
        if not words and job.keep_from is not None:
            # heard after its context the utterance vanished (the decoder ended on the
            # context, or timed the words into it): decode it alone
            alone = dataclasses.replace(job, audio=job.audio[round((job.keep_from - job.offset) * SAMPLE_RATE):],
                                        offset=job.keep_from, keep_from=None)
            words, info = self._final_words(alone)
        words = [words[i] for i in unlooped([w.word for w in words])]
        if len(words) < len(job.agreed):
            # the short encoder context sometimes stops a decode early ("Cab" for a whole
            # sentence the partials agreed on): decode in full, else keep what was agreed
            self.full_retries += 1
            words, info = self._final_words(alone, full=True)
            if len(words) < len(job.agreed):
                self.kept_agreed += 1
                words = spread(job.agreed, alone.keep_from or alone.offset,
                               alone.offset + len(alone.audio) / SAMPLE_RATE)
        language = info.language if info is not None else self.language
        if converts(language, self.options.script):
            written = words_to_script([w.word for w in words], self.options.script)
            words = [dataclasses.replace(w, word=t) for w, t in zip(words, written, strict=True)]
        text = " ".join(w.word for w in words).strip()
        if not text:
            return []
        start, end = words[0].start, words[-1].end
        voice = voice_features(alone.audio[max(0, round((start - alone.offset) * SAMPLE_RATE)):
                                           round((end - alone.offset) * SAMPLE_RATE)])
        return [Utterance(speaker=self.speaker, start=start, end=end, text=text, words=words,
                          language=language, loudness=voice.loudness if voice else None,
                          pitch=voice.pitch if voice else None)]

    def _final_words(self, job: DecodeJob, full: bool = False) -> tuple[list[Word], Any]:
        segments, info = self._transcribe(job.audio, final=True, full=full, prompt=self._prompt(job))
        if self.options.language is None and info is not None:
            self.language = info.language
        words = [
            Word(job.offset + w.start, job.offset + w.end, w.word.strip(), w.probability)
            for s in segments if self._keep(s) for w in (s.words or []) if w.word.strip()
        ]
        if job.keep_from is not None:  # the left context was heard, not said now
            words = [w for w in words if (w.start + w.end) / 2 >= job.keep_from - 0.05]
        return words, info
