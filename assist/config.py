"""The user's settings file: who the agent is, which devices, which model and database.

``config.toml`` in the user config folder (platformdirs), or ``$ASSIST_CONFIG``.
Precedence, lowest first: defaults < the file < environment (``ASSIST_DB``,
``ASSIST_AGENT``, ``ASSIST_KB``, ``ASSIST_PHRASES``, ``ASSIST_CHECKLISTS``) <
command-line flags.  ``assist config set`` checks a value before it saves it.  The file is flat ``key = "value"``
TOML; a broken one is an ``AssistError`` that names the file and line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import AssistError

ENVIRONMENT = {"db": "ASSIST_DB", "agent": "ASSIST_AGENT", "kb": "ASSIST_KB",
               "phrases": "ASSIST_PHRASES", "checklists": "ASSIST_CHECKLISTS"}


@dataclass
class Config:
    """Settings saved once and used by every call.

    Attributes:
        agent: the agent's name on stored calls (None: $ASSIST_AGENT, else the login name).
        language: language of calls (None: from the model).
        model: ASR model name or path (None: models.toml).
        db: database URL or SQLite path (None: the user data folder).
        agent_device: input for the agent's voice (index, name or ``pulse:SOURCE``).
        customer_device: input for the customer's voice (a monitor / loopback).
        channels: channel-to-speaker map for a single stereo device (``agent,customer``).
        kb: the team's knowledge-base folder (None: the shipped kb/).
        phrases: the team's phrase-pack folder (None: the shipped phrases/).
        checklists: the team's checklist-pack folder (None: the shipped checklists/).
        team: the team the agent belongs to (for the coach's week report).
        company: the company name the agent greets with.
        script: the characters Chinese transcripts are written in: simplified,
            traditional or as-heard (None: simplified).
    """

    agent: str | None = None
    language: str | None = None
    model: str | None = None
    db: str | None = None
    agent_device: str | None = None
    customer_device: str | None = None
    channels: str | None = None
    kb: str | None = None
    phrases: str | None = None
    checklists: str | None = None
    team: str | None = None
    company: str | None = None
    script: str | None = None

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def merged(self, overrides: Mapping[str, Any]) -> Config:
        """These settings with every non-None override applied (flags beat the file)."""
        given = {k: v for k, v in overrides.items() if k in self.names() and v is not None}
        return dataclasses.replace(self, **given)


def config_path() -> Path:
    """``$ASSIST_CONFIG``, else ``config.toml`` in the user config folder."""
    env = os.environ.get("ASSIST_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("assist")) / "config.toml"


def read_file(path: Path) -> dict[str, str]:
    """The settings a file sets; a missing file sets none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise AssistError(f"{path}: cannot read the config file ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = match.group(1) if match else "1"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise AssistError(f"{path}:{line}: {message}") from None
    known = Config.names()
    for key, value in data.items():
        line = _line_of(text, key)
        if key not in known:
            raise AssistError(f"{path}:{line}: unknown setting '{key}' (known: {', '.join(known)})")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise AssistError(f"{path}:{line}: '{key}' must be a string, not {type(value).__name__}")
    return {k: str(v) for k, v in data.items()}


def _line_of(text: str, key: str) -> int:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return 1


def load(path: Path | None = None, environ: Mapping[str, str] | None = None,
         flags: Mapping[str, Any] | None = None) -> Config:
    """Defaults < the file < environment < flags."""
    environ = os.environ if environ is None else environ
    config = Config().merged(read_file(path or config_path()))
    config = config.merged({k: environ.get(var) or None for k, var in ENVIRONMENT.items()})
    return config.merged(flags or {})


FOLDERS = ("kb", "phrases", "checklists")  # settings that name a content folder


def write_value(path: Path, key: str, value: str | None) -> None:
    """Set (or with None remove) one key, keeping the file's other lines and comments."""
    if key not in Config.names():
        raise AssistError(f"unknown setting '{key}' (known: {', '.join(Config.names())})")
    read_file(path)  # refuse to edit a broken file
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    new = None if value is None else f"{key} = {_toml_string(value)}"
    out, done = [], False
    for line in lines:
        if pattern.match(line):
            if new is not None and not done:
                out.append(new)
            done = True
        else:
            out.append(line)
    if not done and new is not None:
        out.append(new)
    private_file(path)  # it may hold a database password
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    read_file(path)


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


# ---------------------------------------------------------------- private files
# The config file, the database and the spool hold settings, passwords and what
# customers said: only their owner may read them, whatever the umask.  Modes of
# files and folders that already exist are left as they are.


def private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents as 0700 folders (an OSError if it cannot)."""
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by someone else: theirs, its mode too
            if not folder.is_dir():
                raise


def private_file(path: Path) -> None:
    """Create ``path`` empty and 0600, in 0700 folders, unless it exists; before any data
    is written to it."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


# ---------------------------------------------------------------- workspaces
# A team's content (kb/, phrases/, checklists/) lives in a workspace made by
# 'assist init DIR'; the shipped folders are defaults and never edited in place.


def init_workspace(folder: Path) -> dict[str, Path]:
    """Copy the shipped content folders into ``folder`` (new or empty); returns each
    setting's new folder, absolute.  A non-empty ``folder`` is an ``AssistError``."""
    import shutil

    from .resources import shipped

    folder = folder.expanduser()
    if folder.exists() and not folder.is_dir():
        raise AssistError(f"{folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise AssistError(f"{folder} is not empty: 'assist init' makes a workspace in a new or "
                          "empty folder")
    made: dict[str, Path] = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for key in FOLDERS:
            target = folder.resolve() / key
            shutil.copytree(shipped(key), target)
            made[key] = target
    except OSError as exc:
        raise AssistError(f"cannot make the workspace {folder}: {exc.strerror or exc}") from None
    return made


def writable_content(folder: Path | None, key: str) -> Path:
    """The content folder a command may write into: the one the settings name (flag,
    environment or config file), never the installed package's own copy."""
    from .resources import PACKAGE_DIR

    if folder is None:
        raise AssistError(f"no {key} folder is set, and the shipped {key}/ is never edited: "
                          f"run 'assist init DIR' for a team workspace, or give --{key} DIR")
    resolved = folder.expanduser().resolve()
    if resolved.is_relative_to(PACKAGE_DIR):
        raise AssistError(f"{folder} is inside the installed assist package (lost on the next "
                          f"install): run 'assist init DIR' for a team workspace")
    return folder
