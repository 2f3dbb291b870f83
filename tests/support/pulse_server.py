"""A private PulseAudio server with null sinks, for capture tests and the drift bench.

Runs as any user (root included: ``--system`` is not needed when the runtime,
state and config folders point at a temporary folder).  PortAudio reaches it
through ALSA's ``pulse`` plugin (Debian: libasound2-plugins).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

PACKAGES = "pulseaudio pulseaudio-utils libasound2-plugins libportaudio2"


def missing() -> str | None:
    """Why a private server cannot run here, or None."""
    for tool in ("pulseaudio", "pactl", "paplay"):
        if not shutil.which(tool):
            return f"{tool} is not installed (apt-get install {PACKAGES})"
    if not any(Path(p).exists() for p in ("/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so",
                                          "/usr/lib/aarch64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so",
                                          "/usr/lib/alsa-lib/libasound_module_pcm_pulse.so")):
        return f"ALSA's pulse plugin is not installed (apt-get install {PACKAGES})"
    return None


class PulseServer:
    """``with PulseServer(tmp, ["agent_out", "customer_out"]) as pulse:`` sets the env for clients."""

    def __init__(self, folder: Path, sinks: list[str]):
        self.folder = Path(folder)
        self.sinks = sinks
        self.proc: subprocess.Popen | None = None
        self.modules: dict[str, str] = {}
        self._saved: dict[str, str | None] = {}

    @property
    def env(self) -> dict[str, str]:
        run = self.folder / "run"
        return {"PULSE_RUNTIME_PATH": str(run), "PULSE_STATE_PATH": str(self.folder / "state"),
                "PULSE_CONFIG_PATH": str(self.folder / "config"),
                "PULSE_SERVER": f"unix:{run}/native", "PULSE_COOKIE": str(self.folder / "cookie")}

    def __enter__(self) -> PulseServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        script = self.folder / "default.pa"
        script.write_text("load-module module-native-protocol-unix auth-anonymous=1\n")
        for key, value in self.env.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value
        self.proc = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "-n",
             "-F", str(script), "--disable-shm=yes", "--log-target=stderr"],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / "pulse.log", "w"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 15
        while subprocess.run(["pactl", "info"], capture_output=True).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.folder / "pulse.log").read_text()[-800:]
                self.__exit__()
                raise RuntimeError(f"pulseaudio did not start: {log}")
            time.sleep(0.2)
        for sink in self.sinks:
            self.load_sink(sink)
        _refresh_portaudio()
        return self

    def load_sink(self, name: str) -> None:
        out = subprocess.run(["pactl", "load-module", "module-null-sink", f"sink_name={name}"],
                             capture_output=True, text=True, check=True)
        self.modules[name] = out.stdout.strip()

    def load(self, name: str, module: str, *args: str) -> None:
        out = subprocess.run(["pactl", "load-module", module, *args],
                             capture_output=True, text=True, check=True)
        self.modules[name] = out.stdout.strip()

    def unload_sink(self, name: str) -> None:
        subprocess.run(["pactl", "unload-module", self.modules.pop(name)], check=True)

    def play(self, sink: str, path: Path) -> subprocess.Popen:
        return subprocess.Popen(["paplay", f"--device={sink}", str(path)])

    def __exit__(self, *_exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _refresh_portaudio() -> None:
    """PortAudio lists ALSA's ``pulse`` device only if a server ran when it started."""
    try:
        import sounddevice as sd
    except OSError:
        return
    sd._terminate()
    sd._initialize()
