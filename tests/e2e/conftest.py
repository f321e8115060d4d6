"""The three agency services as separate OS processes on the session's real stack."""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contracts.topics import topic_specs
from deploy._process import run_sync
from deploy.services import SERVICES, ServiceProcess
from deploy.stack import Stack
from deploy.topics import ensure_topics

StartAgencies = Callable[..., dict[str, ServiceProcess]]


@pytest.fixture(scope="module")
def start_agencies(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StartAgencies]:
    """Start school, social and employment with fresh databases and topics; stop them after."""
    started: list[ServiceProcess] = []

    def start(extra_env: dict[str, dict[str, str]] | None = None) -> dict[str, ServiceProcess]:
        prefix = f"e{uuid.uuid4().hex[:8]}."
        run_sync(ensure_topics(stack.kafka.bootstrap, topic_specs(prefix)))
        logs = Path(tmp_path_factory.mktemp("service-logs"))
        agencies = {}
        for name in SERVICES:
            database = f"{name}_{uuid.uuid4().hex[:8]}"
            stack.postgres.create_database(database)
            agencies[name] = ServiceProcess(
                name=name,
                database_dsn=stack.postgres.dsn(database),
                kafka_bootstrap=stack.kafka.bootstrap,
                log_dir=logs,
                topic_prefix=prefix,
                extra_env={
                    "SAMVERKAN_EXPIRY_CHECK_S": "0.5",
                    "SAMVERKAN_KAFKA_SESSION_TIMEOUT_MS": "6000",
                    **(extra_env or {}).get(name, {}),
                },
            )
        for process in agencies.values():
            process.start()
            started.append(process)
        return agencies

    yield start
    for process in started:
        process.stop()
