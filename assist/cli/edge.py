"""The one error edge of the command line: library errors become one line, never a traceback."""

from __future__ import annotations

from typing import Any

import click

from ..errors import AssistError


class AssistGroup(click.Group):
    """Turns AssistError, OSError (and Ctrl-C) into a one-line message and exit code 1 (130).

    Every group of the command line is one, so a group invoked on its own (as the
    tests do) has the same edge as ``assist`` itself."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AssistError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
