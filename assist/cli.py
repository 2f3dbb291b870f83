"""The ``assist`` command line: a thin Click front over the library.

Library errors (``AssistError``) become one clean line and exit code 1; heavy
imports happen inside the commands so ``assist --help`` is instant.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from .cli_painpoints import RULE_HELP, alert_flags, options_from
from .errors import AssistError


class AssistGroup(click.Group):
    """Turns AssistError (and Ctrl-C) into a one-line message instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AssistError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=AssistGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="assist", message="assist %(version)s")
def main() -> None:
    """assist: live conversation assist for contact-centre agents.

    Listens to both sides of a call on this machine (no cloud), flags phrases
    customers hate, suggests knowledge-base answers and spots recurring problems.
    """


# ---------------------------------------------------------------- shared options


def call_options(func: Callable) -> Callable:
    """Options every command that runs a call shares."""
    options = [
        click.option("--model", "model", metavar="NAME|PATH",
                     help="ASR model: a faster-whisper name (tiny.en, base, ...) or a local folder. "
                          "Default: models.toml (tiny.en, packaged)."),
        click.option("--models", "models_toml", type=click.Path(dir_okay=False, path_type=Path),
                     help="models.toml to read instead of the shipped one."),
        click.option("--language", metavar="CODE",
                     help="Language of the call (en, zh, ...). 'auto' detects it (needs a "
                          "multilingual model such as base). Default: en for .en models, else auto."),
        click.option("--deadair", "deadair_seconds", type=float, default=10.0, show_default=True,
                     help="Seconds with neither side speaking that raise a dead-air warning."),
        click.option("--jsonl", is_flag=True,
                     help="Print the event stream as JSON lines on stdout instead of opening the UI."),
        click.option("--db", metavar="URL|PATH",
                     help="Store the call in this database (SQLite path or postgresql://...). "
                          "Default: $ASSIST_DB, else assist.db in the user data folder."),
        click.option("--store/--no-store", "store", default=None,
                     help="Keep the call in the store (default: yes for live, or when --db or "
                          "$ASSIST_DB is given)."),
        click.option("--agent", metavar="NAME",
                     help="Who takes the call (default: $ASSIST_AGENT, else the login name)."),
    ]
    func = alert_flags("alert-")(func)
    for option in reversed(options):
        func = option(func)
    return func


def _language(model_name: str, language: str | None) -> str | None:
    if language in (None, "") and model_name.endswith(".en"):
        return "en"
    if language in (None, "", "auto"):
        if model_name.endswith(".en"):
            raise AssistError(f"model '{model_name}' is English-only; use a multilingual model "
                              "(--model base) to detect the language")
        return None
    if model_name.endswith(".en") and language != "en":
        raise AssistError(f"model '{model_name}' is English-only; --language {language} needs a "
                          "multilingual model such as --model base")
    return language


def _run_call(source, *, model, models_toml, language, deadair_seconds, jsonl, db, store, agent,
              live: bool = False, **alerts) -> None:
    import os

    from .config import load as load_config
    from .session import CallSettings, run_jsonl, run_ui

    # defaults < config file < $ASSIST_DB / $ASSIST_AGENT < flags
    saved = load_config(flags={"model": model, "language": language, "db": db, "agent": agent})
    model, language, db, agent = saved.model, saved.language, saved.db, saved.agent
    if store is None:
        store = live or db is not None or bool(os.environ.get("ASSIST_DB"))
    settings = CallSettings.build(model=model, models_toml=models_toml, language=language,
                                  deadair_seconds=deadair_seconds, language_rule=_language,
                                  store=store, db=db, agent=agent,
                                  painpoints=options_from(**alerts))
    if jsonl:
        run_jsonl(source, settings)
    else:
        run_ui(source, settings)


# ---------------------------------------------------------------- calls


@main.command(epilog=RULE_HELP)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--realtime", is_flag=True,
              help="Feed the file at real-time pace, as a live call (then t - end is the true latency).")
@click.option("--channels", metavar="SPEAKERS",
              help="Channel-to-speaker map, e.g. 'agent,customer' (default), 'customer,agent', "
                   "'agent' for mono; '-' skips a channel.")
@call_options
def replay(file: Path, realtime: bool, channels: str | None, **opts) -> None:
    """Replay a recorded call FILE (wav, flac, ogg, mp3; any sample rate).

    A stereo file maps channel 0 to the agent and 1 to the customer; a mono
    file is the agent alone.
    """
    from .audio import FileSource

    _run_call(FileSource(file, realtime=realtime, channels=channels), **opts)


@main.command(epilog=RULE_HELP)
@click.option("--fast", is_flag=True, help="Feed the sample as fast as possible instead of in real time.")
@call_options
def demo(fast: bool, **opts) -> None:
    """Open assist on the bundled sample call (a bank-support call, agent left, customer right)."""
    from .audio import FileSource
    from .resources import sample_call

    path = sample_call()
    if not path.exists():
        raise AssistError(f"the bundled sample call is missing: {path}")
    _run_call(FileSource(path, realtime=not fast), **opts)


@main.command(epilog=RULE_HELP)
@click.option("--device", metavar="INDEX|NAME",
              help="One input device by index or part of its name (see 'assist devices'); a stereo "
                   "device or loopback gives agent and customer. Default: the system default input.")
@click.option("--channels", metavar="SPEAKERS",
              help="Channel-to-speaker map, e.g. 'agent,customer' for a stereo device or loopback; "
                   "a mono device is the agent alone.")
@click.option("--agent-device", metavar="INDEX|NAME",
              help="The agent's microphone, with --customer-device: two inputs at once "
                   "(default: the config file).")
@click.option("--customer-device", metavar="INDEX|NAME",
              help="The customer's side: a monitor / loopback of the softphone's output, "
                   "e.g. pulse:softphone.monitor (default: the config file).")
@call_options
def live(device: str | None, channels: str | None, agent_device: str | None,
         customer_device: str | None, **opts) -> None:
    """Assist a live call: one input device, or the agent's microphone and the customer's loopback.

    See docs/softphone-audio.md for exposing the softphone's audio as an input.
    """
    from .config import load as load_config

    saved = load_config(flags={"channels": channels, "agent_device": agent_device,
                               "customer_device": customer_device})
    if device is None and (saved.agent_device or saved.customer_device):
        if not (saved.agent_device and saved.customer_device):
            raise AssistError("two-device capture needs both --agent-device and --customer-device "
                              "(or 'assist config set ...'); use --device for one input")
        from .capture import DualSource

        source = DualSource(saved.agent_device, saved.customer_device)
    else:
        from .audio import MicSource

        source = MicSource(device=device, channels=saved.channels)
    _run_call(source, live=True, **opts)


# ---------------------------------------------------------------- set-up


@main.command()
@click.option("--models", "models_toml", type=click.Path(dir_okay=False, path_type=Path),
              help="models.toml to read instead of the shipped one.")
@click.option("--model", help="Resolve this ASR model name or path instead of the configured one.")
@click.option("--embeddings", help="Resolve this embedding model name or path instead of the configured one.")
def models(models_toml: Path | None, model: str | None, embeddings: str | None) -> None:
    """Show which model serves each role, where it resolved and its size.

    Resolution: an explicit path, else an installed package that carries the
    model, else the hub cache or a download (fails clearly when offline).
    """
    from .models import load_specs, resolve

    specs = load_specs(models_toml, asr=model, embeddings=embeddings)
    click.echo(f"{'role':<11} {'model':<18} {'size':>9}  source / path")
    for role, spec in specs.items():
        resolved = resolve(spec)
        click.echo(f"{role:<11} {spec.name:<18} {resolved.size_mb:>7.1f}MB  {resolved.source}: {resolved.path}")


def _register_groups() -> None:
    """Sub-commands that live in their own modules (each imports its library lazily)."""
    from .cli_config import config, devices
    from .cli_kb import kb
    from .cli_painpoints import kb_gaps, painpoints
    from .cli_phrases import phrases
    from .cli_store import register

    register(main)  # calls, flags, verdict, export, db
    for command in (config, devices, phrases, kb, painpoints):
        main.add_command(command)
    kb.add_command(kb_gaps)  # assist kb gaps: pain points without an article


_register_groups()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
