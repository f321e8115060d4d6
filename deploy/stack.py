"""The local infrastructure of Samverkan: one Kafka broker and one PostgreSQL server.

``Stack`` starts both in a work directory, creates the databases and topics it
is given, grants each service principal its topics, and describes the result
(with the principals' passwords) in ``stack.json`` for services and tests.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from ._process import run_sync
from .kafka import KafkaServer
from .kafka_security import MECHANISM, grant
from .postgres import PostgresServer
from .services import ServiceProcess
from .topics import ensure_topics

__all__ = ["Stack"]


class Stack:
    """Kafka in ``workdir/kafka`` and PostgreSQL in ``workdir/postgres``.

    Use ``start(databases, topics)`` and ``stop()``, or the context-manager
    form, which starts with the databases and topics given to the constructor::

        with Stack(path, databases=["school"], topics=[("referrals", 3)]) as stack:
            ...
    """

    def __init__(
        self,
        workdir: Path,
        *,
        databases: Iterable[str] = (),
        topics: Iterable[tuple[str, int]] = (),
        kafka_port: int | None = None,
        postgres_port: int | None = None,
    ) -> None:
        """Describe a stack; nothing runs until ``start()`` or ``with``."""
        self.workdir = Path(workdir).resolve()
        self.kafka = KafkaServer(self.workdir / "kafka", kafka_port)
        self.postgres = PostgresServer(self.workdir / "postgres", postgres_port)
        self._default_databases = list(databases)
        self._default_topics = list(topics)
        self.databases: dict[str, str] = {}

    @property
    def info_file(self) -> Path:
        """``stack.json``: present exactly while the stack is up."""
        return self.workdir / "stack.json"

    def start(
        self,
        databases: Iterable[str] | None = None,
        topics: Iterable[tuple[str, int]] | None = None,
    ) -> dict[str, Any]:
        """Start both servers, create databases and topics, write ``stack.json``.

        ``None`` means the databases or topics given to the constructor. Returns
        the same description that ``stack.json`` holds. If anything fails, what
        was already started is stopped again before the error propagates.
        """
        wanted_databases = self._default_databases if databases is None else list(databases)
        wanted_topics = self._default_topics if topics is None else list(topics)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.info_file.unlink(missing_ok=True)
        try:
            # PostgreSQL first: it takes about a second, the broker several.
            self.postgres.start()
            for name in wanted_databases:
                self.postgres.create_database(name)
                self.databases[name] = self.postgres.dsn(name)
            self.kafka.start()
            run_sync(ensure_topics(self.kafka.client_config(), wanted_topics))
            run_sync(grant(self.kafka.client_config()))
        except BaseException:
            self.stop()
            raise
        info = self.describe()
        # Written last and atomically: its presence means "ready to use".
        staging = self.info_file.with_suffix(".json.tmp")
        # It holds passwords: readable by the owner only.
        staging.touch(mode=0o600)
        os.chmod(staging, 0o600)
        staging.write_text(json.dumps(info, indent=2) + "\n")
        os.replace(staging, self.info_file)
        return info

    def describe(self) -> dict[str, Any]:
        """Return addresses, logins, DSNs and log files of the running stack."""
        return {
            "kafka_bootstrap": self.kafka.bootstrap,
            "kafka_login": {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": MECHANISM,
                "passwords": dict(self.kafka.credentials.passwords),
            },
            "postgres": {
                "host": self.postgres.host,
                "port": self.postgres.port,
                "user": self.postgres.user,
            },
            "databases": dict(self.databases),
            "logs": {
                "kafka": str(self.kafka.log_file),
                "kafka_console": str(self.kafka.console_file),
                "postgres": str(self.postgres.log_file),
            },
        }

    def service(
        self,
        name: str,
        topic_prefix: str,
        log_dir: Path,
        env: dict[str, str],
        database_label: str | None = None,
    ) -> ServiceProcess:
        """A process of service `name` (not started yet) on this stack: a fresh database
        of its own, logged in to Kafka as its principal, on `topic_prefix`, with `env`."""
        database = f"{database_label or name}_{uuid.uuid4().hex[:8]}"
        self.postgres.create_database(database)
        return ServiceProcess(
            name=name,
            database_dsn=self.postgres.dsn(database),
            kafka_bootstrap=self.kafka.bootstrap,
            kafka_login=self.kafka.credentials.service_env(name),
            log_dir=log_dir,
            topic_prefix=topic_prefix,
            extra_env=dict(env),
        )

    def stop(self) -> None:
        """Stop Kafka, then PostgreSQL; safe to call more than once."""
        self.info_file.unlink(missing_ok=True)
        try:
            self.kafka.stop()
        finally:
            self.postgres.stop()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
