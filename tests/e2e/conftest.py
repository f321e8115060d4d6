"""The agency services as separate OS processes on the session's real stack."""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contracts.topics import topic_specs
from deploy._process import run_sync
from deploy.credentials import demo_principals, new_pseudonym_key, write_principals
from deploy.kafka_jars import REPO_ROOT
from deploy.kafka_security import grant
from deploy.services import SERVICES, ServiceProcess
from deploy.stack import Stack
from deploy.topics import ensure_topics
from services.kit.agencies import AgencyRegistry


class Deployment(dict[str, ServiceProcess]):
    """The running services by name, and the API keys of their principals."""

    api_keys: dict[str, str]

    def headers(self, principal: str) -> dict[str, str]:
        """Authorization header of a principal (e.g. 'ale.social.caseworker', 'auditor')."""
        return {"Authorization": f"Bearer {self.api_keys[principal]}"}


StartAgencies = Callable[..., Deployment]


@pytest.fixture(scope="module")
def start_agencies(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StartAgencies]:
    """Start every service with fresh databases, topics and secrets; stop them after."""
    started: list[ServiceProcess] = []

    def start(extra_env: dict[str, dict[str, str]] | None = None) -> Deployment:
        prefix = f"e{uuid.uuid4().hex[:8]}."
        run_sync(ensure_topics(stack.kafka.client_config(), topic_specs(prefix)))
        run_sync(grant(stack.kafka.client_config(), prefix))
        workdir = Path(tmp_path_factory.mktemp("services"))
        registry = AgencyRegistry.load(REPO_ROOT / "deploy" / "agencies.yaml")
        deployment = Deployment()
        deployment.api_keys = write_principals(
            demo_principals(registry), workdir / "principals.yaml", workdir / "api-keys.json"
        )
        shared_env = {
            "SAMVERKAN_EXPIRY_CHECK_S": "0.5",
            "SAMVERKAN_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "SAMVERKAN_PRINCIPALS_FILE": str(workdir / "principals.yaml"),
            "SAMVERKAN_PSEUDONYM_KEY": new_pseudonym_key(),
            # Spans go to the service logs, where the privacy scan reads them.
            "SAMVERKAN_TELEMETRY_EXPORTER": "console",
        }
        for name in SERVICES:
            env = {**shared_env, **(extra_env or {}).get(name, {})}
            deployment[name] = stack.service(name, prefix, workdir / "logs", env)
        for process in deployment.values():
            process.start()
            started.append(process)
        return deployment

    yield start
    for process in started:
        process.stop()
