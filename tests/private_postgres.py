"""A throwaway PostgreSQL server of a test module's own, which its tests may stop and start
(never the machine's shared one): the outage tests of the app and of the delivery worker.

Its modules run on one pytest-xdist worker (`xdist_group("private_postgres")`): they share
the module's server, and a second worker would start one more.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.servers import free_port


def _postgres_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name))
    for directory in reversed(candidates):
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").exists() else None


def _cluster_owner() -> pwd.struct_passwd | None:
    """Who runs the test cluster: PostgreSQL refuses root, so then the postgres user."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temporary directory, on its own port."""

    def __init__(self, bindir: Path, directory: Path) -> None:
        self.bindir = bindir
        self.data = directory / "data"
        self.log = directory / "server.log"
        self.socket_dir = directory
        self.port = free_port()
        # PostgreSQL refuses to run as root: then the clusters belong to the postgres user.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [*self.prefix, str(self.bindir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}{log}")

    def initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self.running = True

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A cluster for the module's tests, which stop and start it."""
    if not os.environ.get("FEEDSVC_TEST_DATABASE_URL"):
        # Outages are PostgreSQL's: the suite's SQLite run leaves them to the PostgreSQL run.
        pytest.skip("a PostgreSQL outage: part of the PostgreSQL run (FEEDSVC_TEST_DATABASE_URL)")
    bindir = _postgres_bin()
    owner = _cluster_owner()
    if bindir is None or owner is None:
        reason = "no PostgreSQL server binaries (initdb, pg_ctl) or no user to run them as"
        # CI's PostgreSQL run sets it: there the outage tests are part of what must pass.
        if os.environ.get("FEEDSVC_TEST_REQUIRE_OUTAGE_TEST"):
            pytest.fail(reason)
        pytest.skip(reason)
    # Not under pytest's tmp_path: the postgres user must be able to reach it.
    directory = Path(tempfile.mkdtemp(prefix="feedsvc-pg-"))
    os.chown(directory, owner.pw_uid, owner.pw_gid)
    server = PrivatePostgres(bindir, directory)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        if server.running:
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)
