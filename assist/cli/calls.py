"""The commands that run a call (``replay``, ``demo``, ``live``) and ``models``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import AssistError
from .options import (
    RULE_HELP,
    call_options,
    db_option,
    kb_option,
    models_option,
    options_from,
    phrases_option,
)

if TYPE_CHECKING:
    from ..call import CallSettings, Source
    from ..config import Config


def _run_call(source, *, model, models_toml, language, deadair_seconds, jsonl, db, store, agent,
              final_model=None, script=None, kb_dir=None, phrases_dir=None, live: bool = False, **alerts) -> None:
    import os

    from ..call import CallSettings
    from ..config import load as load_config
    from ..models import call_language
    from ..session import run_jsonl

    # defaults < config file < $ASSIST_DB / $ASSIST_AGENT < flags
    saved = load_config(flags={"model": model, "language": language, "db": db, "agent": agent,
                               "script": script})
    model, language, db, agent = saved.model, saved.language, saved.db, saved.agent
    if store is None:
        store = live or db is not None or bool(os.environ.get("ASSIST_DB"))
    settings = CallSettings.build(model=model, models_toml=models_toml, final_model=final_model,
                                  language=language, deadair_seconds=deadair_seconds, language_rule=call_language,
                                  script=saved.script, store=store, db=db, agent=agent, kb_dir=kb_dir,
                                  phrases_dir=phrases_dir, painpoints=options_from(**alerts),
                                  team=saved.team, **_content(saved))
    if jsonl:
        run_jsonl(source, settings)
    else:
        run_ui(source, settings)


def _content(saved: Config) -> dict[str, Any]:
    """The call settings the config file alone gives: the company name, the checklists."""
    folder = saved.checklists
    return {"company": saved.company, "checklists_dir": Path(folder).expanduser() if folder else None}


def run_ui(source: Source, settings: CallSettings) -> None:
    """Open the live screen on a call; each call it runs is stored, and the review screen
    reads the same store (``settings.db`` when calls are not stored)."""
    from ..session import Session, open_store
    from ..tui import StoreHandle, run_app

    session = Session(source, open_store(settings))
    try:
        run_app(source, settings, pipeline_factory=session.pipeline_factory,
                on_feedback=session.on_feedback, store=StoreHandle(settings.db, session.store),
                store_status=session.store_status)
    finally:
        session.close()


@click.command(epilog=RULE_HELP)
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
    from ..audio import FileSource

    _run_call(FileSource(file, realtime=realtime, channels=channels), **opts)


@click.command(epilog=RULE_HELP)
@click.option("--fast", is_flag=True, help="Feed the sample as fast as possible instead of in real time.")
@call_options
def demo(fast: bool, **opts) -> None:
    """Open assist on the bundled sample call (a bank-support call, agent left, customer right).

    The call is kept in a throw-away store of its own, so the review screen (r) shows
    it and nothing reaches the team's store; --db keeps it there instead.
    """
    import tempfile

    from click.core import ParameterSource

    from ..audio import FileSource
    from ..resources import sample_call

    path = sample_call()
    if not path.exists():
        raise AssistError(f"the bundled sample call is missing: {path}")
    given = click.get_current_context().get_parameter_source("db") is ParameterSource.COMMANDLINE
    if given or opts.get("store") is False:
        _run_call(FileSource(path, realtime=not fast), **opts)
        return
    with tempfile.TemporaryDirectory(prefix="assist-demo-") as folder:
        opts.update(db=str(Path(folder) / "demo.db"), store=True)
        _run_call(FileSource(path, realtime=not fast), **opts)


@click.command(epilog=RULE_HELP)
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
    from ..config import load as load_config

    saved = load_config(flags={"channels": channels, "agent_device": agent_device,
                               "customer_device": customer_device})
    source: Source
    if device is None and (saved.agent_device or saved.customer_device):
        if not (saved.agent_device and saved.customer_device):
            raise AssistError("two-device capture needs both --agent-device and --customer-device "
                              "(or 'assist config set ...'); use --device for one input")
        from ..audio import DualSource

        source = DualSource(saved.agent_device, saved.customer_device)
    else:
        from ..audio import MicSource

        source = MicSource(device=device, channels=saved.channels)
    _run_call(source, live=True, **opts)


@click.command()
@models_option
@click.option("--model", help="Resolve this ASR model name or path instead of the configured one.")
@click.option("--final-model", "final_model", metavar="NAME|PATH",
              help="Resolve this model as the one that re-decodes finals (two passes; 'none': one model).")
@click.option("--embeddings", help="Resolve this embedding model name or path instead of the configured one.")
def models(models_toml: Path | None, model: str | None, final_model: str | None,
           embeddings: str | None) -> None:
    """Show which model serves each role, where it resolved and its size.

    Resolution: an explicit path, else an installed package that carries the
    model, else the hub cache or a download (fails clearly when offline).
    """
    from ..models import load_specs, resolve

    specs = load_specs(models_toml, asr=model, embeddings=embeddings, final=final_model)
    click.echo(f"{'role':<11} {'model':<18} {'size':>9}  source / path")
    rows = [(role, spec) for role, spec in specs.items()]
    final = specs["asr"].final_spec()
    if final is not None:
        rows.insert(1, ("asr final", final))
    for role, spec in rows:
        resolved = resolve(spec)
        click.echo(f"{role:<11} {spec.name:<18} {resolved.size_mb:>7.1f}MB  {resolved.source}: {resolved.path}")


@click.command(name="import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@db_option
@click.option("--agent", metavar="NAME",
              help="Who took the calls that do not say (default: $ASSIST_AGENT, else the login "
                   "name); a call's own 'agent' wins.")
@phrases_option
@kb_option
@models_option
def import_(file: Path, db: str | None, agent: str | None, phrases_dir: Path | None,
            kb_dir: Path | None, models_toml: Path | None) -> None:
    """Store calls transcribed by another system, through the same analyzers (banned
    phrases, KB, pain points) and redaction as a live call.

    FILE is JSON lines, one call a line: {"id": .., "started": ISO-8601, "agent": ..,
    "utterances": [{"speaker": "agent"|"customer", "start": s, "end": s, "text": ..}]};
    or CSV, one utterance a row, with the columns call, started, agent, speaker, start,
    end, text.  Each call keeps its started time and its id (as the stored call's
    source); prints {"id": <source id>, "call": <stored call id>} per call.
    """
    import json

    from ..call import CallSettings, read_import
    from ..config import load as load_config
    from ..session import import_calls
    from ..store import Store

    saved = load_config(flags={"db": db, "agent": agent})
    settings = CallSettings.build(models_toml=models_toml, language=saved.language,
                                  store=True, db=saved.db, agent=saved.agent,
                                  phrases_dir=phrases_dir, kb_dir=kb_dir, **_content(saved))
    calls = list(read_import(file))  # the whole file is checked before anything is stored
    with Store(saved.db) as store:
        for source_id, call_id in import_calls(calls, settings, store):
            click.echo(json.dumps({"id": source_id, "call": call_id}, ensure_ascii=False))
