"""A throw-away PostgreSQL server on a loopback port, for the tests and the benches.

Uses the Debian binaries (``apt-get install postgresql``: /usr/lib/postgresql/*/bin);
as root the server runs as the ``postgres`` user through ``runuser`` (initdb refuses root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_as(base: Path) -> list[str]:
    """The command prefix the server runs under (``runuser -u postgres --`` as root).

    Raises RuntimeError with the reason when the server cannot be run here.
    """
    if os.geteuid() != 0:
        return []
    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and there is no 'postgres' user to run the "
                           "server as") from None
    if not shutil.which("runuser"):
        raise RuntimeError("running as root and 'runuser' is missing")
    os.chown(base, postgres.pw_uid, postgres.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


class PgServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1:port.

    ``start()`` turns durability off (fsync, synchronous commit, full page writes) so
    the tests run fast; ``start(durable=True)`` keeps PostgreSQL's defaults, for benches
    that time commits.
    """

    def __init__(self, bindir: Path, base: Path, as_user: list[str]):
        self.bindir, self.base, self.as_user = bindir, base, as_user
        self.data = base / "data"
        self.port = _free_port()

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def init(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")

    def start(self, durable: bool = False) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
        if not durable:
            options += "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        options += "-c max_connections=200"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)
