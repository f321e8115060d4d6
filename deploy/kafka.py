"""A real single-node Apache Kafka broker (KRaft, combined broker+controller).

The broker runs from jars fetched by :func:`fetch_jars` in a JVM that this
module spawns; no Docker and no Kafka distribution are needed, only Java 17+.
Clients log in with SASL/SCRAM and are held to ACLs (see :mod:`deploy.kafka_security`).
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from ._process import cmdline, log_tail, run_sync, wait_gone
from .kafka_jars import DEFAULT_CACHE_DIR, KAFKA_VERSION, fetch_jars
from .kafka_security import (
    ADMIN,
    CLIENT_LISTENER,
    CONTROLLER_LISTENER,
    Credentials,
    broker_properties,
    create_principals,
    scram_format_argument,
)
from .ports import free_ports

__all__ = ["DEFAULT_CACHE_DIR", "KAFKA_VERSION", "KafkaServer", "fetch_jars"]

_NODE_ID = 1


def _random_kafka_id() -> str:
    """Return a random id in Kafka's Uuid text form (22 chars of base64url)."""
    while True:
        text = base64.urlsafe_b64encode(os.urandom(16)).decode("ascii").rstrip("=")
        # Kafka's own generator avoids a leading '-', which CLI tools read as a flag.
        if not text.startswith("-"):
            return text


class KafkaServer:
    """One Kafka broker process with its data, config and logs in ``workdir``.

    ``start()`` blocks until the broker answers metadata requests and every
    service principal can log in. ``restart()`` keeps the ports, the data and the
    passwords, so clients can reconnect to the same address with the same login.
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        controller_port: int | None = None,
        lib_dir: Path | None = None,
        startup_timeout: float = 90.0,
        stop_timeout: float = 30.0,
    ) -> None:
        """Describe a broker; nothing is started or written until ``start()``.

        ``lib_dir`` defaults to the jars that :func:`fetch_jars` caches; free
        loopback ports are chosen at the first start when none are given.
        """
        self.workdir = Path(workdir).resolve()
        self._port = port
        self._controller_port = controller_port
        self._lib_dir = lib_dir
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._credentials: Credentials | None = None

    # -- addresses and files -------------------------------------------------

    @property
    def port(self) -> int:
        """The client (SASL) listener port (chosen at the first ``start()``)."""
        if self._port is None:
            raise RuntimeError("KafkaServer has no port yet; call start() first")
        return self._port

    @property
    def bootstrap(self) -> str:
        """Bootstrap address for clients, e.g. ``"127.0.0.1:39092"``."""
        return f"127.0.0.1:{self.port}"

    @property
    def credentials(self) -> Credentials:
        """The passwords of the admin and of every service principal of this broker."""
        if self._credentials is None:
            raise RuntimeError("KafkaServer has no credentials yet; call start() first")
        return self._credentials

    def client_config(self, principal: str = ADMIN) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients: the address and ``principal``'s login."""
        return {"bootstrap_servers": self.bootstrap, **self.credentials.client_config(principal)}

    @property
    def credentials_dir(self) -> Path:
        """``<principal>/password`` files, readable by the owner only; kept across restarts."""
        return self.workdir / "credentials"

    @property
    def data_dir(self) -> Path:
        """Kafka's ``log.dirs``: topic data and the KRaft metadata log."""
        return self.workdir / "data"

    @property
    def log_file(self) -> Path:
        """The broker's own log (log4j, WARN and lifecycle messages)."""
        return self.workdir / "kafka.log"

    @property
    def console_file(self) -> Path:
        """The JVM's stdout/stderr: startup failures land here."""
        return self.workdir / "kafka.out"

    @property
    def running(self) -> bool:
        """True while the broker process started by this object is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """PID of the broker JVM while it runs."""
        return self._proc.pid if self.running and self._proc is not None else None

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Start the broker and block until it serves metadata requests.

        Raises ``RuntimeError`` with the tail of the broker log when the JVM
        exits early or the broker is not ready within ``startup_timeout``.
        """
        if self.running:
            return
        lib = self._lib_dir or fetch_jars()
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("'java' is not on PATH; Kafka 4 needs Java 17 or newer")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        if self._port is None or self._controller_port is None:
            broker, controller = free_ports(2)
            self._port = self._port or broker
            self._controller_port = self._controller_port or controller
        self._credentials = self._load_credentials()
        self._write_config()
        self._format(java, lib)

        command = [
            java,
            "-Xms256m",
            "-Xmx512m",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            "-cp",
            f"{lib}/*",
            "kafka.Kafka",
            str(self._config_path),
        ]
        with self.console_file.open("ab") as console:
            # A session of its own: Ctrl-C in a terminal reaches only our Python
            # process, which then stops the broker in order instead of racing it.
            self._proc = subprocess.Popen(
                command,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._pid_file.write_text(f"{self._proc.pid}\n")
        # A safety net for callers that forget stop(): an orphaned broker would
        # hold its ports and memory until someone notices.
        atexit.register(self.stop)
        try:
            run_sync(self._wait_ready())
            # Idempotent, and it also enrols a service added to GRANTS since the data was made.
            run_sync(create_principals(self.client_config(), self.credentials))
        except BaseException:
            self.kill()
            raise

    def stop(self) -> None:
        """Shut the broker down cleanly (SIGTERM), SIGKILL after ``stop_timeout``.

        Safe to call when it is not running, and to call twice.
        """
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                proc.wait(self._stop_timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                proc.wait()
        self._forget()

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL), as a crash would; for fault tests."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal(signal.SIGKILL)
            proc.wait()
        self._forget()

    def restart(self, *, hard: bool = False) -> None:
        """Stop (or kill, when ``hard``) and start again on the same ports and data."""
        if hard:
            self.kill()
        else:
            self.stop()
        self.start()

    def __enter__(self) -> KafkaServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------

    @property
    def _config_path(self) -> Path:
        return self.workdir / "server.properties"

    @property
    def _pid_file(self) -> Path:
        return self.workdir / "kafka.pid"

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        # The whole group: the JVM is its leader and has no children, but a
        # wrapper (a future launcher script) would otherwise survive.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def _forget(self) -> None:
        self._proc = None
        atexit.unregister(self.stop)
        self._pid_file.unlink(missing_ok=True)

    def _stop_leftover(self) -> None:
        """Stop a broker that a crashed earlier run left on this workdir.

        It would hold the data dir lock and the ports. The command line is
        checked so that a recycled PID of some other program is left alone.
        """
        try:
            pid = int(self._pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if str(self._config_path) in cmdline(pid):
            os.kill(pid, signal.SIGTERM)
            if not wait_gone(pid, self._stop_timeout):
                os.kill(pid, signal.SIGKILL)
                wait_gone(pid, 10)
        self._pid_file.unlink(missing_ok=True)

    def _load_credentials(self) -> Credentials:
        """The passwords kept in ``credentials_dir``, plus fresh ones for new principals.

        Data formatted without them (an older, unauthenticated runner) cannot be
        administered, so that is refused with the way out rather than wiped.
        """
        kept = Credentials.load(self.credentials_dir)
        if ADMIN not in kept.passwords and (self.data_dir / "meta.properties").exists():
            raise RuntimeError(
                f"{self.data_dir} was formatted without an admin SCRAM credential "
                f"(no {self.credentials_dir / ADMIN / 'password'}); delete {self.workdir} "
                "to start the broker afresh"
            )
        credentials = kept.including()
        credentials.save(self.credentials_dir)
        return credentials

    def _format(self, java: str, lib: Path) -> None:
        """Format the storage once, with the admin's SCRAM credential in the first metadata.

        `kafka-storage format` (a JVM start, about a second) rather than a hand-written
        meta.properties: only the format step can create a SCRAM credential before the broker
        runs, and without one nobody could log in to create the others.
        """
        if (self.data_dir / "meta.properties").exists():
            return
        arguments = [
            "-Xms64m",
            "-Xmx256m",
            # Short-lived: the JIT's first tier is all it needs, and starts faster.
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            "-cp",
            f"{lib}/*",
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            _random_kafka_id(),
            "--config",
            str(self._config_path),
            "--add-scram",
            scram_format_argument(self.credentials),
        ]
        # In a Java argument file, owner-only, rather than on the command line, where any
        # local user could read the admin password in /proc while the tool runs.
        argfile = self.workdir / "format.args"
        argfile.unlink(missing_ok=True)
        with os.fdopen(os.open(argfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write("".join(f'"{argument}"\n' for argument in arguments))
        try:
            result = subprocess.run(
                [java, f"@{argfile}"],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            argfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"formatting Kafka storage failed (exit {result.returncode}):\n"
                + (result.stdout + result.stderr).strip()
            )

    def _write_config(self) -> None:
        assert self._port is not None and self._controller_port is not None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        client, controller = CLIENT_LISTENER, CONTROLLER_LISTENER
        properties = {
            "process.roles": "broker,controller",
            "node.id": str(_NODE_ID),
            # Static voters: no quorum bootstrap step, and `--standalone` formatting
            # is not needed.
            "controller.quorum.voters": f"{_NODE_ID}@127.0.0.1:{self._controller_port}",
            "controller.listener.names": controller,
            "listeners": (
                f"{client}://127.0.0.1:{self._port},{controller}://127.0.0.1:{self._controller_port}"
            ),
            "advertised.listeners": f"{client}://127.0.0.1:{self._port}",
            "listener.security.protocol.map": (
                f"{client}:SASL_PLAINTEXT,{controller}:SASL_PLAINTEXT"
            ),
            "inter.broker.listener.name": client,
            "log.dirs": str(self.data_dir),
            # One node: every internal topic must be satisfiable by one replica.
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Few partitions for internal topics: creating 50 at the first
            # consumer group join costs seconds on a 2-core machine.
            "offsets.topic.num.partitions": "3",
            "transaction.state.log.num.partitions": "3",
            "num.partitions": "1",
            # Tests join groups constantly; the 3 s default delay only slows them.
            "group.initial.rebalance.delay.ms": "0",
            # After a SIGKILL the restarted controller waits for the dead
            # incarnation's session to lapse before unfencing the broker: 9 s by
            # default. Loopback heartbeats are cheap, so a short session makes
            # crash-restart tests ~7 s faster without spurious fencing.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "background.threads": "2",
            # Topics are declared by the deployment (ensure_topics), so a typo in a
            # topic name fails loudly instead of creating a stray topic.
            "auto.create.topics.enable": "false",
            **broker_properties(self.credentials),
        }
        # It holds the admin password: readable by the owner only.
        self._config_path.touch(mode=0o600)
        os.chmod(self._config_path, 0o600)
        self._config_path.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
        (self.workdir / "log4j2.properties").write_text(_LOG4J2.format(log=self.log_file))

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while True:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise RuntimeError(f"Kafka exited during startup (code {code}).\n{self._tails()}")
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"Kafka was not ready within {self._startup_timeout:.0f} s.\n{self._tails()}"
                )
            # A plain TCP probe first: aiokafka logs an error for every refused
            # connection, which would bury real problems in test output.
            if _port_open(self.port) and await _broker_registered(self.client_config()):
                return
            await asyncio.sleep(0.2)

    def _tails(self) -> str:
        return (
            f"--- {self.console_file} ---\n{log_tail(self.console_file)}\n"
            f"--- {self.log_file} ---\n{log_tail(self.log_file)}"
        )


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def _broker_registered(client: Mapping[str, Any]) -> bool:
    """True once the broker lists itself in metadata, i.e. it is unfenced."""
    admin = AIOKafkaAdminClient(**client, request_timeout_ms=5000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
    except Exception:  # any failure here just means "not ready yet"
        return False
    finally:
        await admin.close()
    return any(broker["node_id"] == _NODE_ID for broker in cluster.get("brokers", []))


# WARN keeps the file small; the lifecycle loggers stay at INFO so the log says
# when the broker started and stopped.
_LOG4J2 = """\
status = warn
name = samverkan-kafka
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
"""
