"""Two-device capture: a real PulseAudio server with null sinks, drift, echo, unplug, config."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from assist.audio import DriftCorrector, DualSource, EchoDetector, list_inputs
from assist.config import Config, load, read_file, write_value
from assist.errors import AssistError
from support.pulse_server import PulseServer, missing

RATE = 16000


def _portaudio() -> str | None:
    try:
        import sounddevice  # noqa: F401
    except OSError:
        return "PortAudio is not installed (apt-get install libportaudio2)"
    return None


needs_pulse = pytest.mark.skipif(
    sys.platform != "linux" or bool(missing()) or bool(_portaudio()),
    reason=(f"real capture needs Linux with PulseAudio and PortAudio: "
            f"{missing() or _portaudio() or sys.platform}"),
)


@pytest.fixture
def pulse(tmp_path):
    with PulseServer(tmp_path / "pulse", ["agent_out", "customer_out"]) as server:
        yield server


def _mono(src: Path, channel: int, dest: Path) -> Path:
    # paplay plays this FLAC far faster than real time into a null sink: hand it a WAV
    data, rate = sf.read(src, always_2d=True)
    sf.write(dest, data[:, channel], rate)
    return dest


# ---------------------------------------------------------------- real capture


@needs_pulse
def test_two_monitors_land_on_the_right_speaker(pulse, shared_data, whisper_model, tmp_path):
    """jfk into the agent's sink, the other file into the customer's: each text on its side."""
    from assist.asr import AsrOptions
    from assist.call import Pipeline

    customer_file = _mono(shared_data / "speech-samples" / "stereo_diarization.wav", 1,
                          tmp_path / "customer.wav")
    agent_file = _mono(shared_data / "speech-samples" / "jfk.flac", 0, tmp_path / "agent.wav")
    source = DualSource("pulse:agent_out.monitor", "pulse:customer_out.monitor")
    events = []
    pipeline = Pipeline(whisper_model, source.speakers, AsrOptions(language="en"),
                        sinks=[events.append])

    def stop_after_playback():
        players = [pulse.play("agent_out", agent_file),
                   pulse.play("customer_out", customer_file)]
        for p in players:
            p.wait(60)
        time.sleep(1.5)
        pipeline.stop()

    import threading

    starter = threading.Timer(1.0, stop_after_playback)
    starter.start()
    pipeline.run(source)
    starter.join()
    said = {s: " ".join(e.text for e in events if e.type == "utterance" and e.speaker == s).lower()
            for s in ("agent", "customer")}
    # (the words, not their exact first syllables: a loaded machine may clip the onset)
    assert "country" in said["agent"] and "fellow americans" in said["agent"], said
    assert "country" not in said["customer"] and said["customer"].strip(), said
    # the customer's words are those of the file's customer channel, transcribed offline
    from assist.audio import FileSource

    offline = np.concatenate([f.audio["customer"] for f in FileSource(
        shared_data / "speech-samples" / "stereo_diarization.wav", channels="-,customer")])
    segments, _ = whisper_model.transcribe(offline, language="en")
    reference = {w.strip(".,?!").lower() for s in segments for w in s.text.split()}
    heard = {w.strip(".,?!") for w in said["customer"].split()}
    assert len(heard & reference) >= 0.6 * len(heard), (said, reference)


@needs_pulse
def test_monitors_are_listed_as_loopbacks(pulse):
    names = {d.name: d for d in list_inputs()}
    assert "pulse:agent_out.monitor" in names and "pulse:customer_out.monitor" in names
    assert names["pulse:agent_out.monitor"].looks_like_loopback
    assert not names["pulse"].looks_like_loopback


@needs_pulse
def test_devices_command_lists_monitors(pulse):
    from assist.cli.config import devices

    result = CliRunner().invoke(devices, [])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "agent_out.monitor" in x)
    assert "loopback" in line


@needs_pulse
def test_devices_test_shows_level_bars(pulse, shared_data, tmp_path):
    from assist.cli.config import devices

    player = pulse.play("agent_out", _mono(shared_data / "speech-samples" / "jfk.flac", 0,
                                           tmp_path / "agent.wav"))
    result = CliRunner().invoke(devices, ["--test", "--seconds", "3",
                                          "--agent-device", "pulse:agent_out.monitor",
                                          "--customer-device", "pulse:customer_out.monitor"])
    player.kill()
    assert result.exit_code == 0, result.output
    assert "agent" in result.output and "#" in result.output
    assert "agent: pulse:agent_out.monitor open" in result.output


@needs_pulse
def test_unplugged_device_is_reported_filled_with_silence_and_resumes(pulse, tmp_path, shared_data):
    statuses = []
    speech = _mono(shared_data / "speech-samples" / "jfk.flac", 0, tmp_path / "agent.wav")
    source = DualSource("pulse:agent_out.monitor", "pulse:customer_out.monitor",
                        on_status=lambda s: statuses.append(s.message))
    unplugged = replugged = played = None
    gap = 0.0
    began = time.monotonic()
    for frame in source:
        now = time.monotonic() - began
        state = source.status.sides["agent"].state
        if unplugged is None and now > 3:
            pulse.unload_sink("agent_out")
            unplugged = now
        if unplugged is not None and state == "gone":
            gap += frame.duration
            assert not frame.audio["agent"].any()  # silence for the missing side
            if replugged is None and gap > 1.5:
                pulse.load_sink("agent_out")
                replugged = now
        if replugged is not None and state == "open" and frame.audio["agent"].any():
            states = {s: side.state for s, side in source.status.sides.items()}
            break  # speech from the re-plugged device reaches the agent's speaker
        if replugged is not None and state == "open" and played is None:
            played = pulse.play("agent_out", speech)
        assert now < 40, f"never resumed: {statuses}"
    source.stop()
    played.kill()
    assert any("agent device" in m and "gone" in m for m in statuses), statuses
    assert "is back" not in statuses[-1] and statuses[-1] == "capturing", statuses
    assert gap > 1.0  # the call kept going while the device was missing
    assert states == {"agent": "open", "customer": "open"}


@needs_pulse
def test_echo_of_the_customer_in_the_agent_sink_is_flagged(pulse, shared_data, tmp_path):
    """Speakers, no headset: the agent's microphone hears the customer 150 ms late, quieter."""
    voice = _mono(shared_data / "speech-samples" / "stereo_diarization.wav", 1, tmp_path / "c.wav")
    data, rate = sf.read(voice, dtype="float32")
    sf.write(tmp_path / "echo.wav", 0.5 * np.concatenate([np.zeros(int(0.15 * rate)), data]), rate)
    statuses = []
    source = DualSource("pulse:agent_out.monitor", "pulse:customer_out.monitor",
                        on_status=lambda s: statuses.append(s.message))
    began = time.monotonic()
    players = []
    for _frame in source:
        now = time.monotonic() - began
        if not players and now > 0.5:
            players = [pulse.play("customer_out", voice), pulse.play("agent_out", tmp_path / "echo.wav")]
        if source.status.echo or now > 20:
            break
    source.stop()
    for p in players:
        p.kill()
    assert source.status.echo, statuses
    assert any("echo" in m and "headset" in m for m in statuses)
    assert 50 < source.status.echo_lag_ms < 300, source.status


@needs_pulse
def test_missing_device_at_start_is_a_clear_error(pulse):
    with pytest.raises(AssistError, match="cannot open audio device"):
        list(DualSource("pulse:nothing_here.monitor", "pulse:customer_out.monitor"))


# ---------------------------------------------------------------- drift and echo


def test_drift_corrector_removes_a_fast_clock():
    rate, block, ppm = 48000, 2400, 200.0
    true_rate = rate * (1 + ppm * 1e-6)
    corrector = DriftCorrector(rate)
    out = 0
    rng = np.random.default_rng(1)
    n = int(600 * true_rate / block)  # ten minutes
    for k in range(n):
        t = k * block / true_rate
        corrector.arrived(t, t + rng.normal(0, 0.003), block)
        out += len(corrector.correct(np.full(block // 3, 0.01, np.float32)))
    assert abs(corrector.ppm() - ppm) < 2
    raw_ms = 1000 * ppm * 1e-6 * 600
    left_ms = 1000 * (out / RATE - n * block / true_rate)
    assert abs(left_ms) < 1.0 < raw_ms


def test_lost_samples_are_found_from_capture_times_and_jitter_is_not_a_loss():
    rate, block = 48000, 2400
    corrector = DriftCorrector(rate)
    rng = np.random.default_rng(3)
    lost, position = 0, 0
    for k in range(2000):
        if k == 1000:
            position += 4800  # an overflow drops 100 ms
        t = position / rate
        late = 0.04 if k % 97 == 0 else rng.normal(0, 0.002)  # scheduling jitter, some outliers
        lost += corrector.arrived(t, t + late, block, overflow=k == 1000)
        position += block
    # the refill is as exact as the capture times (2 ms jitter here); unflagged jumps add nothing
    assert abs(lost - 4800) < 0.006 * rate
    assert abs(corrector.received - position) < 0.006 * rate


def test_drift_corrector_ignores_a_wild_start():
    corrector = DriftCorrector(48000)
    corrector.arrived(0.0, 0.0, 48000 * 3)  # a start-up burst
    for k in range(1, 100):
        corrector.arrived(0.05 * k, 0.0, 2400)
    assert corrector.owed() == 0


def _speech(shared_data: Path, channel: int) -> np.ndarray:
    from assist.audio import FileSource

    name = "customer" if channel else "agent"
    src = FileSource(shared_data / "speech-samples" / "stereo_diarization.wav",
                     channels="agent,-" if channel == 0 else "-,customer")
    return np.concatenate([f.audio[name] for f in src])


def test_echo_of_the_customer_in_the_agent_mic_is_detected(shared_data):
    customer = _speech(shared_data, 1)
    delay = int(0.12 * RATE)
    rng = np.random.default_rng(0)
    echo = 0.3 * np.concatenate([np.zeros(delay, np.float32), customer[:-delay]])
    agent = (echo + 0.005 * rng.standard_normal(len(customer))).astype(np.float32)
    detector = EchoDetector()
    flags = [detector.feed(agent[i:i + 1600], customer[i:i + 1600]) for i in range(0, len(agent), 1600)]
    assert True in flags
    assert abs(detector.lag_ms - 120) < 5


def test_two_different_voices_are_not_echo(shared_data):
    agent, customer = _speech(shared_data, 0), _speech(shared_data, 1)
    detector = EchoDetector()
    for i in range(0, min(len(agent), len(customer)), 1600):
        detector.feed(agent[i:i + 1600], customer[i:i + 1600])
        assert not detector.echo


class _FakeStream:
    """A fake device: delivers blocks from a thread at a fixed pace until unplugged."""

    def __init__(self, spec, callback, plugged):
        import threading

        self.spec, self.callback, self.plugged = spec, callback, plugged
        self.active = True
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        block = self.spec.samplerate // 20
        tone = (0.2 * np.sin(np.arange(block) / 5)).astype(np.float32)[:, None]
        while not self._stop.is_set() and self.plugged[self.spec.label]:
            self.callback(tone, block, None, None)
            time.sleep(0.05)

    def abort(self):
        self._stop.set()

    def close(self):
        self.active = False


def test_unplug_path_with_a_fake_device(monkeypatch):
    """The same path as the pulse test, without any audio system."""
    from assist.audio import DeviceSpec, capture

    plugged = {"mic": True, "loop": True}
    monkeypatch.setattr(capture, "resolve", lambda s: DeviceSpec(str(s), str(s), 1, 16000))

    def opener(spec, callback):
        if not plugged[spec.label]:
            raise AssistError(f"cannot open audio device '{spec.label}': gone")
        return _FakeStream(spec, callback, plugged)

    statuses = []
    source = DualSource("mic", "loop", opener=opener, poll_seconds=0.3, echo=None,
                        on_status=lambda s: statuses.append(s.message))
    began = time.monotonic()
    states = []
    for frame in source:
        now = time.monotonic() - began
        if now > 1.0 and not states:
            plugged["mic"] = False
            states.append("unplugged")
        if source.status.sides["agent"].state == "gone" and len(states) == 1:
            assert not frame.audio["agent"].any() and frame.audio["customer"].any()
            plugged["mic"] = True
            states.append("replugged")
        if len(states) == 2 and source.status.sides["agent"].state == "open" and frame.audio["agent"].any():
            break
        assert now < 15, statuses
    source.stop()
    assert any("gone" in m for m in statuses) and statuses[-1] == "capturing"


# ---------------------------------------------------------------- config


def test_config_defaults_when_there_is_no_file(tmp_path):
    assert load(tmp_path / "none.toml", environ={}) == Config()


def test_config_override_order(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('agent = "file-agent"\ndb = "file.db"\nmodel = "base"\nagent_device = "3"\n')
    env = {"ASSIST_DB": "env.db", "ASSIST_AGENT": "env-agent"}
    config = load(path, environ=env, flags={"agent": "flag-agent", "model": None})
    assert config.agent == "flag-agent"  # flags beat the environment
    assert config.db == "env.db"  # the environment beats the file
    assert config.model == "base"  # the file beats the defaults; a None flag is no flag
    assert config.agent_device == "3" and config.language is None


def test_config_env_var_names_the_file(tmp_path, monkeypatch):
    from assist.config import config_path

    monkeypatch.setenv("ASSIST_CONFIG", str(tmp_path / "x.toml"))
    assert config_path() == tmp_path / "x.toml"


@pytest.mark.parametrize("text,line,words", [
    ('agent = "a"\nlanguage = en\n', 2, "invalid value"),
    ('agent = "a"\n\ncolour = "blue"\n', 3, "unknown setting 'colour'"),
    ('agent = "a"\nchannels = ["agent"]\n', 2, "must be a string"),
    ('agent = "a"\nagent = "b"\n', 2, ""),
])
def test_broken_config_names_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(AssistError) as info:
        read_file(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert words.lower() in str(info.value).lower()


def test_config_set_keeps_comments_and_show_reports_origin(tmp_path, monkeypatch):
    from assist.cli.config import config

    path = tmp_path / "c" / "config.toml"
    monkeypatch.setenv("ASSIST_CONFIG", str(path))
    monkeypatch.delenv("ASSIST_DB", raising=False)
    monkeypatch.setenv("ASSIST_AGENT", "from-env")
    runner = CliRunner()
    assert runner.invoke(config, ["set", "customer_device", 'pulse:sink "x".monitor']).exit_code == 0
    path.write_text("# mine\n" + path.read_text())
    assert runner.invoke(config, ["set", "language", "en"]).exit_code == 0
    assert load(path, environ={}).customer_device == 'pulse:sink "x".monitor'
    assert path.read_text().startswith("# mine\n")
    shown = runner.invoke(config, ["show"]).output
    assert "language" in shown and "# file" in shown and "from-env" in shown and "$ASSIST_AGENT" in shown
    assert runner.invoke(config, ["set", "colour", "blue"]).exit_code != 0
    assert runner.invoke(config, ["path"]).output.strip() == str(path)
    write_value(path, "language", None)
    assert load(path, environ={}).language is None


def test_config_edit_runs_the_editor(tmp_path, monkeypatch):
    from assist.cli.config import config

    path = tmp_path / "config.toml"
    monkeypatch.setenv("ASSIST_CONFIG", str(path))
    monkeypatch.setenv("EDITOR", f"{sys.executable} -c \"import sys; open(sys.argv[1], 'a').write('model = \\'base\\'\\n')\"")
    result = CliRunner().invoke(config, ["edit"])
    assert result.exit_code == 0, result.output
    assert load(path, environ={}).model == "base"


def test_level_bar_scale():
    from assist.cli.config import bar

    assert bar(0.0) == "." * 30 and bar(1.0) == "#" * 30
    assert 10 < bar(0.05).count("#") < 25


def test_capture_module_has_no_textual():
    code = "import sys, assist.audio, assist.config, assist.cli.config; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
