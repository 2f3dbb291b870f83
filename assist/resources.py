"""Where the shipped data (kb/, phrases/, models/models.toml, the sample call) lives.

In a wheel, kb/, phrases/ and models/models.toml are force-included under
``assist/_shipped``; in a source checkout (editable install) they sit at the top
of the repository.
"""

from __future__ import annotations

from pathlib import Path

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
