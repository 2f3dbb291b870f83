"""The ``assist`` command line: a thin Click front over the library.

Library errors (``AssistError``) become one clean line and exit code 1; heavy
imports happen inside the commands so ``assist --help`` is instant.
"""

from __future__ import annotations

import click

from .edge import AssistGroup


@click.group(cls=AssistGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="assist", message="assist %(version)s")
def main() -> None:
    """assist: live conversation assist for contact-centre agents.

    Listens to both sides of a call on this machine (no cloud), flags phrases
    customers hate, suggests knowledge-base answers and spots recurring problems.
    """


def _register_groups() -> None:
    """Sub-commands that live in their own modules (each imports its library lazily)."""
    from .calls import demo, import_, live, models, replay
    from .checklists import checklists
    from .config import config, devices, init
    from .kb import kb
    from .painpoints import kb_gaps, painpoints
    from .phrases import phrases
    from .redact import redact
    from .store import register
    from .worker import worker

    for command in (replay, demo, live, models, import_, redact):
        main.add_command(command)
    register(main)  # review, calls, flags, verdict, export, agents, db
    for command in (init, config, devices, phrases, checklists, kb, painpoints, worker):
        main.add_command(command)
    kb.add_command(kb_gaps)  # assist kb gaps: pain points without an article


_register_groups()


__all__ = ["AssistGroup", "main"]
