"""Audio sources: decoding, resampling to 16 kHz, channel mapping, bad files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import soxr

from assist.audio import SAMPLE_RATE, FileSource, parse_channels
from assist.errors import AssistError


def test_stereo_file_maps_channel_0_to_agent_and_1_to_customer(shared_data):
    source = FileSource(shared_data / "speech-samples" / "stereo_diarization.wav")
    assert source.speakers == ["agent", "customer"]
    frames = list(source)
    assert all(len(f.audio["agent"]) == len(f.audio["customer"]) for f in frames)
    assert abs(sum(f.duration for f in frames) - source.duration) < 0.01


def test_mono_file_is_the_agent_alone(shared_data):
    source = FileSource(shared_data / "speech-samples" / "multilingual.mp3")
    assert source.n_channels == 1 and source.speakers == ["agent"]


def test_channels_override_swaps_and_skips():
    assert parse_channels("customer,agent", 2) == ["customer", "agent"]
    assert parse_channels("agent,-", 2) == ["agent", None]
    assert parse_channels(None, 1) == ["agent"]
    with pytest.raises(AssistError, match="unknown speaker"):
        parse_channels("agent,boss", 2)
    with pytest.raises(AssistError, match="input has 1"):
        parse_channels("agent,customer", 1)


def test_fixed_chunks_at_16k(shared_data):
    frames = list(FileSource(shared_data / "speech-samples" / "jfk.flac", chunk_seconds=0.2))
    sizes = {len(f.audio["agent"]) for f in frames[:-1]}
    assert sizes == {int(0.2 * SAMPLE_RATE)}
    assert frames[0].audio["agent"].dtype == np.float32


def test_8khz_telephony_is_resampled_properly(tmp_path):
    # a 1 kHz tone at 8 kHz must stay a 1 kHz tone at 16 kHz, with no aliasing junk
    t = np.arange(8000 * 2) / 8000
    path = tmp_path / "tone8k.wav"
    sf.write(path, 0.5 * np.sin(2 * np.pi * 1000 * t), 8000)
    audio = np.concatenate([f.audio["agent"] for f in FileSource(path)])
    assert abs(len(audio) - 2 * SAMPLE_RATE) <= 16
    spectrum = np.abs(np.fft.rfft(audio[4000:-4000]))
    freqs = np.fft.rfftfreq(len(audio[4000:-4000]), 1 / SAMPLE_RATE)
    assert abs(freqs[spectrum.argmax()] - 1000) < 5
    assert spectrum[freqs > 4100].max() < spectrum.max() * 1e-3


def test_realtime_pace(tmp_path):
    import time

    path = tmp_path / "short.wav"
    sf.write(path, np.zeros(SAMPLE_RATE), SAMPLE_RATE)
    began = time.monotonic()
    list(FileSource(path, realtime=True))
    assert 0.9 < time.monotonic() - began < 1.6


def test_ogg_is_read(tmp_path, shared_data):
    data, rate = sf.read(shared_data / "speech-samples" / "jfk.flac")
    path = tmp_path / "jfk.ogg"
    sf.write(path, data, rate, format="OGG")
    assert FileSource(path).duration == pytest.approx(11.0, abs=0.1)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "not found"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 20), "cannot decode"),
        (lambda p: p.write_text("hello, this is not audio\n" * 50), "cannot decode"),
    ],
    ids=["missing", "empty", "corrupt-wav", "text-file"],
)
def test_bad_audio_files_give_one_clear_error(tmp_path, make, message):
    path = tmp_path / "call.wav"
    make(path)
    with pytest.raises(AssistError, match=message):
        list(FileSource(path))


def test_unsupported_extension_with_text_content(tmp_path):
    path = tmp_path / "notes.docx"
    path.write_text("not audio at all")
    with pytest.raises(AssistError, match="cannot decode|no audio"):
        list(FileSource(path))


def test_file_replay_works_without_portaudio(tmp_path, shared_data):
    # sounddevice raises OSError when PortAudio is missing; replay must not care
    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def fake(name, *a, **k):\n"
        "    if name == 'sounddevice': raise OSError('PortAudio library not found')\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = fake\n"
        "from assist.audio import FileSource\n"
        f"print(len(list(FileSource(r'{shared_data / 'speech-samples' / 'jfk.flac'}'))))\n"
        "from assist.audio import list_devices\n"
        "try:\n    list_devices()\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "110"
    assert lines[1].startswith("AssistError PortAudio is not installed")


def test_resampler_matches_soxr_reference(tmp_path):
    rng = np.random.default_rng(0)
    signal = rng.standard_normal(44100).astype(np.float32) * 0.1
    path = tmp_path / "noise.wav"
    sf.write(path, signal, 44100, subtype="FLOAT")
    ours = np.concatenate([f.audio["agent"] for f in FileSource(path)])
    reference = soxr.resample(signal, 44100, SAMPLE_RATE, quality="HQ")
    n = min(len(ours), len(reference))
    assert abs(len(ours) - len(reference)) <= 2
    assert np.abs(ours[100 : n - 100] - reference[100 : n - 100]).max() < 1e-3
