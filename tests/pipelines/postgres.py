"""A real PostgreSQL server for the tests: a private cluster (``initdb``) in its own directory, on
a free loopback port, started and stopped by the test and killed by the kernel if the test
process dies.

The server programs are the ones ``tools/find-postgres`` prints (``$PG_BINDIR``, else Debian's
``postgresql`` package, installed once with apt). PostgreSQL refuses to run as root, so as root
the cluster belongs to the ``postgres`` user (Debian's package creates it) and the programs run
under ``setpriv`` as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIND = REPO / "tools" / "find-postgres"


def find_bindir() -> Path:
    """The server programs' directory, or an AssertionError saying why there is none."""
    found = subprocess.run([str(FIND)], capture_output=True, text=True, timeout=900)
    assert found.returncode == 0, found.stderr.strip().splitlines()[-1:]
    return Path(found.stdout.strip())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Postgres:
    """One cluster with a trust-authenticated superuser ``drey``, on 127.0.0.1 only."""

    bindir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="drey-pg-")))
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://drey@127.0.0.1:{self.port}/{database}"

    def _as_owner(self) -> list[str]:
        # The kernel kills the server if the test process dies (as for bitcoind).
        prefix = ["setpriv", "--pdeathsig", "KILL"]
        if os.geteuid() != 0:
            return [*prefix, "--"]
        owner = pwd.getpwnam("postgres")
        os.chown(self.root, owner.pw_uid, owner.pw_gid)
        return [*prefix, f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--clear-groups",
                "--"]  # fmt: skip

    def start(self) -> Postgres:
        run_as = self._as_owner()
        data = self.root / "data"
        subprocess.run(
            [*run_as, str(self.bindir / "initdb"), "-D", str(data), "-U", "drey",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        self.proc = subprocess.Popen(
            [*run_as, str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port),
             "-k", str(self.root), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            assert self.proc is not None and self.proc.poll() is None, self.proc.stderr.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "PostgreSQL did not accept connections in 60 s"
            time.sleep(0.2)

    def create_database(self, name: str) -> str:
        import psycopg2

        con = psycopg2.connect(self.url())
        try:
            con.autocommit = True
            con.cursor().execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: PostgreSQL's "smart" shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
