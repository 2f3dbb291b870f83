"""Options more than one command takes, each declared once with one help text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ..painpoints import PainPointOptions

F = TypeVar("F", bound=Callable[..., Any])

def _resolved(key: str, as_path: bool = False) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """The one resolution of a setting: the flag, else $ASSIST_..., else the config file."""
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        from ..config import load

        resolved = getattr(load(flags={key: None if value is None else str(value)}), key)
        return Path(resolved).expanduser() if as_path and resolved is not None else resolved
    return callback


db_option = click.option(
    "--db", "db", metavar="URL|PATH", callback=_resolved("db"),
    help="The store: a SQLite file or URL, or postgresql://user@host/name for a team. "
         "Default: $ASSIST_DB, else the config file's db, else assist.db in the user data folder.")

KB_HELP = "Knowledge-base folder (default: $ASSIST_KB, else the config file's kb, else the shipped kb/)."
kb_option = click.option("--kb", "kb_dir", type=click.Path(path_type=Path, file_okay=False),
                         callback=_resolved("kb", as_path=True), help=KB_HELP)

phrases_option = click.option(
    "--phrases", "phrases_dir", type=click.Path(file_okay=False, path_type=Path),
    callback=_resolved("phrases", as_path=True),
    help="Folder of phrase packs (*.toml). Default: $ASSIST_PHRASES, else the config file's "
         "phrases, else the shipped phrases/.")

models_option = click.option(
    "--models", "models_toml", type=click.Path(dir_okay=False, path_type=Path),
    help="models.toml to read instead of the shipped one.")

jsonl_option = click.option(
    "--jsonl", is_flag=True,
    help="Print the event stream as JSON lines on stdout instead of opening the UI.")

RULE_HELP = """
\b
Early warning (live calls): for each pain point, RECENT is the number of
calls that raised it in the last --window (default 1 h; a customer who says
it five times is one call); BASELINE is its average per window over the
--baseline period before that (default 7 days; at least 1, and 1 while the
history is shorter than a window). A 'painpoint' event is raised when
RECENT >= --min-count (default 5) and RECENT >= --factor (default 3) x
BASELINE, once per rise: not again until the rise has subsided and
--cooldown (default 1 h) has passed. 'assist painpoints rising' applies the
rule to the store now; the commands that run calls take the same thresholds
as --alert-window, --alert-baseline, ...
"""


def _apply(func: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def alert_flags(prefix: str = "") -> Callable[[F], F]:
    """The early-warning thresholds as options named --{prefix}window, ...: bare for
    'painpoints rising', with 'alert-' on the commands that run calls."""
    def decorate(func: F) -> F:
        return _apply(func, [
            click.option(f"--{prefix}window", "pp_window", type=float, default=1.0,
                         show_default=True, metavar="HOURS", help="Early warning: the recent window."),
            click.option(f"--{prefix}baseline", "pp_baseline", type=float, default=7 * 24.0,
                         show_default=True, metavar="HOURS",
                         help="Early warning: history before the window that sets the usual rate."),
            click.option(f"--{prefix}factor", "pp_factor", type=float, default=3.0,
                         show_default=True,
                         help="Early warning: how many times the usual rate counts as a rise."),
            click.option(f"--{prefix}min-count", "pp_min_count", type=int, default=5,
                         show_default=True,
                         help="Early warning: the fewest calls in the window that can warn."),
            click.option(f"--{prefix}cooldown", "pp_cooldown", type=float, default=1.0,
                         show_default=True, metavar="HOURS",
                         help="Early warning: quiet time after a warning."),
        ])
    return decorate


alert_options = alert_flags()


def options_from(pp_window: float = 1.0, pp_baseline: float = 168.0, pp_factor: float = 3.0,
                 pp_min_count: int = 5, pp_cooldown: float = 1.0, **_ignored: Any
                 ) -> PainPointOptions:
    """PainPointOptions from the alert_options flags (hours on the command line)."""
    from ..painpoints import PainPointOptions

    return PainPointOptions(window=pp_window * 3600.0, baseline=pp_baseline * 3600.0,
                            rise_factor=pp_factor, min_count=pp_min_count,
                            cooldown=pp_cooldown * 3600.0)


def call_options(func: F) -> F:
    """Options every command that runs a call shares."""
    func = alert_flags("alert-")(func)
    return _apply(func, [
        click.option("--model", "model", metavar="NAME|PATH",
                     help="ASR model: a faster-whisper name (tiny.en, base, ...) or a local folder. "
                          "Default: models.toml (tiny.en, packaged)."),
        click.option("--final-model", "final_model", metavar="NAME|PATH",
                     help="Two passes: this model re-decodes each final utterance, --model "
                          "shows the partials ('none': one model). Default: models.toml's "
                          "final_model, else none."),
        models_option,
        click.option("--language", metavar="CODE",
                     help="Language of the call (en, zh, ...). 'auto' detects it (needs a "
                          "multilingual model such as base). Default: en for .en models, else auto."),
        click.option("--script", type=click.Choice(["simplified", "traditional", "as-heard"]),
                     metavar="SCRIPT",
                     help="Characters a Chinese call is shown and stored in (Whisper writes "
                          "Mandarin in either): simplified, traditional, or as-heard (the "
                          "recogniser's). Default: the config file's script, else simplified."),
        click.option("--deadair", "deadair_seconds", type=float, default=10.0, show_default=True,
                     help="Seconds with neither side speaking that raise a dead-air warning."),
        jsonl_option,
        db_option,
        kb_option,
        phrases_option,
        click.option("--store/--no-store", "store", default=None,
                     help="Keep the call in the store (default: yes for live, or when --db or "
                          "$ASSIST_DB is given)."),
        click.option("--agent", metavar="NAME",
                     help="Who takes the call (default: $ASSIST_AGENT, else the login name)."),
    ])
