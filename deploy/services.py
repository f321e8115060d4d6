"""Agency services as separate OS processes, for `make run` and the end-to-end tests."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from contracts import services as service_list
from services.features.proofs.heads import Signer

from ._process import log_tail
from .ports import free_port

#: The names of the services with a database and a Kafka login (contracts/services.py).
SERVICES = service_list.names(service_list.SERVICES)
#: The web interface. Unlike SERVICES it has no database and no Kafka login (so no entry in
#: the Kafka grants): it only calls the services' HTTP APIs.
PORTAL = service_list.PORTAL.name


@dataclass
class ServiceProcess:
    """One service (`python -m services.<name>`) with its own database and HTTP port."""

    name: str
    database_dsn: str
    kafka_bootstrap: str
    log_dir: Path
    topic_prefix: str = ""
    port: int = field(default_factory=free_port)
    #: SAMVERKAN_KAFKA_* variables that log the service in as its own Kafka principal
    #: (``Credentials.service_env``).
    kafka_login: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    #: The local runner's audit service signs tree heads with a throwaway Ed25519 key, unless
    #: SAMVERKAN_AUDIT_SIGNING_KEY is set; a real deployment always sets its own.
    audit_signing_key: str = field(
        default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the service's HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        """Where the service writes its output."""
        return self.log_dir / f"{self.name}.log"

    def env(self) -> dict[str, str]:
        """The process environment: settings by SAMVERKAN_* variables."""
        return {
            "SAMVERKAN_AUDIT_SIGNING_KEY": self.audit_signing_key,
            **os.environ,
            "SAMVERKAN_SERVICE": self.name,
            "SAMVERKAN_DB_DSN": self.database_dsn,
            "SAMVERKAN_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "SAMVERKAN_KAFKA_TOPIC_PREFIX": self.topic_prefix,
            "SAMVERKAN_HTTP_PORT": str(self.port),
            **self.kafka_login,
            **self.extra_env,
        }

    def start(self, wait_s: float = 60.0) -> None:
        """Start the process and wait until /health answers."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", service_list.service(self.name).package],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_healthy(wait_s)

    def wait_healthy(self, wait_s: float) -> None:
        """Poll /health until it answers 200, or fail with the log's tail."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become healthy:\n{log_tail(self.log_file)}")

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def wait_exit(self, timeout_s: float) -> int:
        """Wait for the process to end by itself; its exit code (negative for a signal)."""
        assert self.process is not None
        return self.process.wait(timeout_s)


def portal_process(
    services: Mapping[str, ServiceProcess], log_dir: Path, port: int | None = None
) -> ServiceProcess:
    """The portal, pointed at the services' HTTP APIs, with a fresh session secret and the
    audit log's public key pinned (the key the audit process signs with)."""
    signing_key = services["audit"].env()["SAMVERKAN_AUDIT_SIGNING_KEY"]
    public_key = base64.b64encode(Signer.from_secret(signing_key).public_key).decode()
    return ServiceProcess(
        name=PORTAL,
        database_dsn="",
        kafka_bootstrap="",
        log_dir=log_dir,
        port=port or free_port(),
        audit_signing_key="",
        extra_env={
            "SAMVERKAN_SERVICE_URLS": json.dumps({n: p.url for n, p in services.items()}),
            "SAMVERKAN_PORTAL_SESSION_SECRET": secrets.token_urlsafe(32),
            "SAMVERKAN_AUDIT_PUBLIC_KEY": public_key,
        },
    )
