"""A real PostgreSQL server in a private data directory on a loopback port.

Uses the distribution's PostgreSQL binaries (installed from Debian's packages
when missing and running as root). PostgreSQL refuses to run as root, so as
root every server command runs as the ``postgres`` user via ``runuser``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import asyncpg

from ._process import children, log_tail, process_alive, run_sync, wait_gone
from .ports import free_port

__all__ = ["PostgresServer", "ensure_binaries", "find_binaries"]

SUPERUSER = "postgres"
_OS_USER = "postgres"
# sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107


def find_binaries() -> Path | None:
    """Return the directory holding ``initdb`` and ``pg_ctl``, or None.

    Prefers the newest ``/usr/lib/postgresql/<major>/bin`` (Debian's layout,
    where nothing is on PATH), then ``pg_config --bindir``, then PATH.
    """
    versioned: list[tuple[int, Path]] = []
    for bindir in Path("/usr/lib/postgresql").glob("*/bin"):
        if bindir.parent.name.isdigit() and _has_server(bindir):
            versioned.append((int(bindir.parent.name), bindir))
    if versioned:
        return max(versioned)[1]
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        bindir = Path(result.stdout.strip())
        if result.returncode == 0 and _has_server(bindir):
            return bindir
    initdb = shutil.which("initdb")
    if initdb is not None and _has_server(Path(initdb).parent):
        return Path(initdb).parent
    return None


def ensure_binaries() -> Path:
    """Return the PostgreSQL server bin dir, installing PostgreSQL if needed.

    Installs Debian's ``postgresql`` package when running as root (machines here
    are rebuilt often, so the project must install what it uses); otherwise
    raises ``RuntimeError`` saying what to install.
    """
    found = find_binaries()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them, "
            "e.g. `sudo apt-get install -y postgresql`, or put their directory on PATH."
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
    ):
        result = subprocess.run(
            command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
            raise RuntimeError(f"`{' '.join(command)}` failed ({result.returncode}):\n{tail}")
    found = find_binaries()
    if found is None:
        raise RuntimeError("apt-get installed postgresql but no initdb/pg_ctl was found")
    return found


def _has_server(bindir: Path) -> bool:
    return (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresServer:
    """One PostgreSQL cluster with its data, socket and log in ``workdir``.

    Authentication is ``trust``, and the server listens on 127.0.0.1 only, so
    only local processes can reach it. ``fsync`` stays on: durability tests kill
    the server and expect committed rows to survive.
    """

    host = "127.0.0.1"
    user = SUPERUSER

    def __init__(
        self, workdir: Path, port: int | None = None, *, start_timeout: float = 60.0
    ) -> None:
        """Describe a server; nothing is started or written until ``start()``."""
        self.workdir = Path(workdir).resolve()
        self._port = port
        self._start_timeout = start_timeout
        self._bindir: Path | None = None
        self._started = False

    # -- addresses and files -------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (chosen at the first ``start()`` when not given)."""
        if self._port is None:
            raise RuntimeError("PostgresServer has no port yet; call start() first")
        return self._port

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (PGDATA)."""
        return self.workdir / "pgdata"

    @property
    def log_file(self) -> Path:
        """The server log (stderr of the postmaster)."""
        return self.workdir / "postgres.log"

    @property
    def pid(self) -> int | None:
        """PID of the running postmaster, read from ``postmaster.pid``."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if process_alive(pid) else None

    @property
    def running(self) -> bool:
        """True while a postmaster runs on this data directory."""
        return self.pid is not None

    def dsn(self, database: str) -> str:
        """Return ``postgresql://postgres@127.0.0.1:PORT/DATABASE``."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{quote(database, safe='')}"

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Create the cluster on first use, start it, and wait until it accepts SQL."""
        if self._started and self.running:
            return
        self._bindir = ensure_binaries()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            _make_traversable(self.workdir)
            _chown_tree(self.workdir, _OS_USER)
        if self.running:
            # Left by a crashed earlier run (or another object); it may use
            # another port, and two postmasters cannot share a data directory.
            self._pg_ctl("stop", "-m", "fast", "-w")
        if not (self.data_dir / "PG_VERSION").is_file():
            self._initdb()
        if self._port is None:
            self._port = free_port()
        self._write_config()
        result = self._pg_ctl(
            "start", "-w", "-t", str(int(self._start_timeout)), "-l", str(self.log_file)
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start failed ({result.returncode}): {result.stdout}{result.stderr}\n"
                f"--- {self.log_file} ---\n{log_tail(self.log_file)}"
            )
        # A safety net for callers that forget stop(): the postmaster is detached
        # from us and would otherwise run on after this interpreter exits.
        atexit.register(self.stop)
        self._started = True
        run_sync(self._wait_ready())

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``); a no-op when it is not running."""
        atexit.unregister(self.stop)
        self._started = False
        if not self.running:
            return
        result = self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
        if result.returncode != 0 and self.running:
            raise RuntimeError(f"pg_ctl stop failed: {result.stdout}{result.stderr}")

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends at once, as a crash would.

        Returns once they are gone, because the next start refuses to run while
        the old postmaster PID still exists, even as an unreaped zombie.
        """
        self._started = False
        pid = self.pid
        if pid is None:
            return
        # The children are listed while the postmaster still lives (afterwards
        # they belong to init), and the postmaster dies first so that it cannot
        # notice a dead child and begin crash recovery on its own.
        victims = [pid, *children(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        for victim in victims:
            wait_gone(victim, 15)

    def restart(self, *, hard: bool = False) -> None:
        """Stop (or kill, when ``hard``) and start again on the same port and data."""
        if hard:
            self.kill()
        else:
            self.stop()
        self.start()

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- databases -----------------------------------------------------------

    def create_database(self, name: str) -> None:
        """Create database ``name`` unless it exists."""
        run_sync(self._create_database(name))

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, closing its open connections."""
        run_sync(self._execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)"))

    async def _create_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.dsn("postgres"))
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                # Another caller may create it between the check and here: fine.
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                    await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
        finally:
            await conn.close()

    async def _execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.dsn("postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    # -- internals -----------------------------------------------------------

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        assert self._bindir is not None
        argv = [str(self._bindir / command[0]), *command[1:]]
        if self._as_root:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            argv = [runuser, "-u", _OS_USER, "--", *argv]
            # Again each time: a pytest session starting meanwhile resets its temporary
            # root to 0700, which would lock the postgres user out of its own cluster.
            _make_traversable(self.workdir)
        # cwd inside the workdir: the postgres user may not be allowed into ours.
        return subprocess.run(
            argv,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run(["pg_ctl", "-D", str(self.data_dir), *args])

    def _initdb(self) -> None:
        # A failed earlier initdb leaves a non-empty directory that initdb refuses.
        shutil.rmtree(self.data_dir, ignore_errors=True)
        result = self._run(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                # The C locale exists everywhere; services compare text in code.
                "--no-locale",
                # Skips ~1 s of fsyncs for the template files only; the running
                # server still fsyncs every commit.
                "--no-sync",
            ]
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write("\ninclude_if_exists = 'samverkan.conf'\n")
        (self.data_dir / "pg_hba.conf").write_text(
            "# Trust, but only over the local socket and IPv4 loopback.\n"
            "local all all trust\n"
            "host  all all 127.0.0.1/32 trust\n"
        )

    def _write_config(self) -> None:
        socket_dir = str(self.workdir)
        if len(socket_dir) + len("/.s.PGSQL.65535") > _MAX_SOCKET_PATH:
            # Too long for a Unix socket address: TCP only, which is what the
            # services use anyway.
            socket_dir = ""
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{socket_dir}'",
            "max_connections": "200",
            "shared_buffers": "128MB",
            "fsync": "on",
            "synchronous_commit": "on",
            "log_line_prefix": "'%m [%p] %d '",
        }
        # Rewritten at each start, so a reused data dir can move to a new port.
        (self.data_dir / "samverkan.conf").write_text(
            "".join(f"{key} = {value}\n" for key, value in settings.items())
        )
        if self._as_root:
            _chown_tree(self.workdir, _OS_USER)

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._start_timeout
        while True:
            try:
                conn = await asyncpg.connect(self.dsn("postgres"), timeout=5)
            except (TimeoutError, OSError, asyncpg.PostgresError) as error:
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"PostgreSQL did not accept connections: {error}\n"
                        f"--- {self.log_file} ---\n{log_tail(self.log_file)}"
                    ) from error
                await asyncio.sleep(0.1)
            else:
                await conn.close()
                return


def _chown_tree(root: Path, user: str) -> None:
    """Give ``root`` and everything below it to ``user`` (as root only)."""
    entry = pwd.getpwnam(user)
    for path in [root, *root.rglob("*")]:
        os.lchown(path, entry.pw_uid, entry.pw_gid)


def _make_traversable(path: Path) -> None:
    """Let other users pass through every ancestor of ``path``.

    ``tempfile.mkdtemp`` and pytest make 0700 directories, which would stop the
    postgres user on its way to its own data directory. Only the search (x) bit
    is added, so listing those directories stays forbidden.
    """
    for ancestor in path.parents:
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(ancestor, stat.S_IMODE(mode) | stat.S_IXOTH)
