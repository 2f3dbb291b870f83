"""``assist config`` (show, set, path, edit) and ``assist devices [--test]``."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

import click

from ..errors import AssistError
from .edge import AssistGroup


@click.group("config", cls=AssistGroup)
def config() -> None:
    """Show and edit the saved settings (agent, language, model, database, devices).

    Precedence: built-in defaults < the config file < $ASSIST_DB / $ASSIST_AGENT
    < command-line flags.  The file is $ASSIST_CONFIG or config.toml in the user
    config folder.
    """


@config.command("path")
def config_path_cmd() -> None:
    """Print where the config file is (it may not exist yet)."""
    from ..config import config_path

    click.echo(str(config_path()))


@config.command("show")
def config_show() -> None:
    """Print every setting, its value and where the value comes from."""
    from ..config import ENVIRONMENT, Config, config_path, load, read_file

    path = config_path()
    in_file = read_file(path)
    settings = load(path)
    click.echo(f"# {path}{'' if path.exists() else ' (not created yet)'}")
    for key in Config.names():
        value = getattr(settings, key)
        if key in ENVIRONMENT and os.environ.get(ENVIRONMENT[key]):
            origin = f"${ENVIRONMENT[key]}"
        elif key in in_file:
            origin = "file"
        else:
            origin = "default"
        shown = _default(key, settings.model) if value is None else _shown(key, value)
        click.echo(f"{key:<16} = {shown:<32}  # {origin}")


@config.command("set")
@click.argument("key")
@click.argument("value", required=False)
@click.option("--unset", is_flag=True, help="Remove KEY from the file (back to the default).")
def config_set(key: str, value: str | None, unset: bool) -> None:
    """Save KEY = VALUE in the config file (e.g. 'assist config set agent_device 3')."""
    from ..config import config_path, write_value

    if value is None and not unset:
        raise click.UsageError("give a VALUE, or --unset")
    path = config_path()
    write_value(path, key, None if unset else _checked(key, value or ""))
    click.echo(f"{path}: {key} {'removed' if unset else f'= {_shown(key, value)}'}")


def _default(key: str, model: str | None) -> str:
    """What a setting that is not set comes to, in words."""
    from ..models import load_specs
    from ..resources import shipped

    if key == "agent":
        from ..store import default_agent

        return f"{default_agent()} (the login name)"
    if key == "model":
        return f"{load_specs()['asr'].name} (models.toml)"
    if key == "language":
        name = model or load_specs()["asr"].name
        return "en (an English-only model)" if name.endswith(".en") else "auto (detected)"
    if key == "db":
        from ..store import resolve_url, safe_url

        return safe_url(resolve_url(None))
    if key in ("kb", "phrases", "checklists"):
        return f"{shipped(key)} (shipped)"
    return {"agent_device": "the system default input",
            "customer_device": "none (the agent device alone)",
            "channels": "agent,customer (stereo), agent (mono)",
            "team": "(none)", "company": "(none: any greeting will do)",
            "script": "simplified (Chinese calls)"}.get(key, "(not set)")


def _checked(key: str, value: str) -> str:
    """``value`` as it will be saved for ``key`` (a folder made absolute), or an
    ``AssistError`` in one line naming the key and what is allowed."""
    from ..config import FOLDERS, Config

    if key not in Config.names():
        raise AssistError(f"unknown setting '{key}' (known: {', '.join(Config.names())})")
    value = value.strip()
    if not value:
        raise AssistError(f"'{key}' cannot be empty (--unset goes back to the default)")
    if key == "language":
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        if value != "auto" and value not in _LANGUAGE_CODES:
            raise AssistError(f"'language' must be 'auto' or a language code Whisper knows "
                              f"(en, zh, de, fr, es, ...; {len(_LANGUAGE_CODES)} in all), "
                              f"not '{value}'")
    elif key in FOLDERS:
        folder = Path(value).expanduser()
        if not folder.is_dir():
            raise AssistError(f"'{key}' must be an existing folder, and {folder} is not one "
                              "('assist init DIR' makes a workspace)")
        value = str(folder.resolve())
    elif key == "model":
        from faster_whisper.utils import available_models

        if value not in available_models() and not Path(value).expanduser().is_dir():
            raise AssistError(f"'model' must be a faster-whisper model name "
                              f"({', '.join(available_models()[:6])}, ...) or a model folder, "
                              f"not '{value}'")
    elif key == "db":
        from ..store import resolve_url

        resolve_url(value)
    elif key == "script":
        from ..asr.script import SCRIPTS

        if value not in SCRIPTS:
            raise AssistError(f"'script' must be {', '.join(SCRIPTS)}, not '{value}'")
    elif key == "channels":
        parts = [part.strip() for part in value.split(",")]
        if any(part not in ("agent", "customer", "-") for part in parts):
            raise AssistError("'channels' must name agent, customer or - per channel, "
                              f"e.g. 'agent,customer', not '{value}'")
    return value


def _shown(key: str, value: str | None) -> str:
    """A setting as printed: a database password as ***."""
    if key != "db" or not value:
        return value or ""
    from ..store import safe_url

    return safe_url(value)


@config.command("edit")
def config_edit() -> None:
    """Open the config file in $VISUAL / $EDITOR, then check it."""
    from ..config import Config, config_path, private_file, read_file

    path = config_path()
    if not path.exists():
        private_file(path)
        path.write_text("# assist settings; keys: " + ", ".join(Config.names()) + "\n", encoding="utf-8")
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        subprocess.run([*shlex.split(editor), str(path)], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise AssistError(f"cannot run the editor '{editor}': {exc}") from None
    for key, value in read_file(path).items():
        try:
            _checked(key, value)
        except AssistError as exc:
            raise AssistError(f"{path}: {exc}") from None
    click.echo(f"{path}: ok")


# ---------------------------------------------------------------- workspace


@click.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
def init(folder: Path) -> None:
    """Make a workspace for a team's own content in FOLDER (new or empty): copies of the
    shipped kb/, phrases/ and checklists/, which the config file then points at.

    'kb new', 'kb import' and 'phrases learn' write there, and every call reads
    its articles, phrase packs and checklists from there; the shipped folders
    stay as installed.
    """
    from ..config import config_path, init_workspace, write_value

    made = init_workspace(folder)
    path = config_path()
    for key, target in made.items():
        write_value(path, key, str(target))
        click.echo(f"{key:<10} {target}")
    click.echo(f"{path}: kb, phrases and checklists now point at {folder}")
    click.echo("next: 'assist kb new TITLE' adds an article; 'assist phrases lint' checks the packs")


# ---------------------------------------------------------------- devices


@click.command("devices")
@click.option("--test", is_flag=True,
              help="Show a live level meter for the chosen agent and customer inputs.")
@click.option("--seconds", type=float, default=10.0, show_default=True,
              help="How long --test runs.")
@click.option("--agent-device", metavar="INDEX|NAME",
              help="Agent input for --test (default: the config file, else the default input).")
@click.option("--customer-device", metavar="INDEX|NAME",
              help="Customer input for --test (default: the config file).")
def devices(test: bool, seconds: float, agent_device: str | None, customer_device: str | None) -> None:
    """List audio inputs (PulseAudio/PipeWire monitors included; loopbacks marked).

    With --test, both chosen inputs are opened and a level bar per side moves
    for a few seconds, so both sides can be checked before the first call.
    """
    from ..audio import list_inputs

    if not test:
        found = list_inputs()
        if not found:
            click.echo("no audio input devices found: PortAudio sees no input (is a microphone "
                       "or headset plugged in, and PulseAudio/PipeWire running?)")
            return
        click.echo(f"{'idx':>3}  {'ch':>2}  {'rate':>6}  {'':8}  name")
        for d in found:
            marks = ("default " if d.is_default else "") + ("loopback" if d.looks_like_loopback else "")
            idx = "-" if d.index < 0 else str(d.index)
            click.echo(f"{idx:>3}  {d.channels:>2}  {int(d.samplerate):>6}  {marks:8}  {d.name} [{d.hostapi}]")
        return
    _level_test(agent_device, customer_device, seconds)


def _level_test(agent_device: str | None, customer_device: str | None, seconds: float) -> None:
    from ..audio import DualSource
    from ..config import load

    settings = load(flags={"agent_device": agent_device, "customer_device": customer_device})
    if settings.agent_device is None and settings.customer_device is None:
        raise AssistError("choose the inputs: --agent-device and --customer-device "
                          "(or 'assist config set agent_device ...')")
    agent = settings.agent_device if settings.agent_device is not None else ""
    customer = settings.customer_device if settings.customer_device is not None else agent
    source = DualSource(agent or _default_input(), customer or _default_input(), echo=None)
    click.echo(f"testing {source.describe()} for {seconds:g} s: speak, and play something "
               "in the softphone", err=True)
    began = time.monotonic()
    peaks = {s: 0.0 for s in source.speakers}
    shown = began
    states = []
    for frame in source:
        for speaker, audio in frame.audio.items():
            peaks[speaker] = max(peaks[speaker], float(abs(audio).max()) if len(audio) else 0.0)
        now = time.monotonic()
        if now - shown >= 0.1:
            click.echo("\r" + "  ".join(_bar(s, peaks[s], source.status.sides[s].state)
                                         for s in source.speakers), nl=False, err=True)
            peaks = dict.fromkeys(peaks, 0.0)
            shown = now
        if now - began >= seconds:
            # before the loop ends: leaving it closes the devices
            states = [(side.speaker, side.device, side.state, side.error)
                      for side in source.status.sides.values()]
            break
    source.stop()
    click.echo("", err=True)
    for speaker, device, state, error in states:
        click.echo(f"{speaker}: {device} {state}" + (f" ({error})" if state == "gone" else ""))


def _default_input() -> str:
    from ..audio import find_device

    return str(find_device(None).index)


def bar(level: float, width: int = 30) -> str:
    """A text meter for a 0-1 peak, on a dB scale (-60 dB empty)."""
    import math

    db = 20 * math.log10(max(level, 1e-6))
    filled = max(0, min(width, round((db + 60) / 60 * width)))
    return "#" * filled + "." * (width - filled)


def _bar(speaker: str, level: float, state: str) -> str:
    if state == "gone":
        return f"{speaker:<8} [{'device gone':^30}]"
    return f"{speaker:<8} [{bar(level)}]"
