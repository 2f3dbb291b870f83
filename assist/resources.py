"""Where the shipped data (kb/, phrases/, models/models.toml, the sample call) lives.

In a wheel, kb/, phrases/ and models/models.toml are force-included under
``assist/_shipped``; in a source checkout (editable install) they sit at the top
of the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

PACKAGE_DIR = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """Path of a shipped data folder or file such as ``kb`` or ``models/models.toml``."""
    inside = PACKAGE_DIR / "_shipped" / name
    if inside.exists():
        return inside
    return PACKAGE_DIR.parent / name


def sample_call() -> Path:
    """The bundled sample call: stereo, agent left, customer right."""
    return PACKAGE_DIR / "data" / "sample_call.wav"


def templates(package: str, keep_trailing_newline: bool = False) -> jinja2.Environment:
    """A package's HTML templates (its ``templates/`` folder), every value HTML-escaped
    unless marked safe, a missing one an error, None shown as nothing."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
        finalize=lambda value: "" if value is None else value)
