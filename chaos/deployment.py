"""Every service as an OS process on a stack, with its own topic prefix, databases and fresh
secrets, as in production: each logs in to Kafka as its own principal."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from contracts.topics import topic_specs
from deploy._process import run_sync
from deploy.credentials import demo_principals, new_pseudonym_key, write_principals
from deploy.kafka_jars import REPO_ROOT
from deploy.kafka_security import grant
from deploy.services import SERVICES, ServiceProcess
from deploy.stack import Stack
from deploy.topics import ensure_topics
from services.kit.agencies import AgencyRegistry

REGISTRY = AgencyRegistry.load(REPO_ROOT / "deploy" / "agencies.yaml")


@dataclass
class Deployment:
    """The running services by name, their topic prefix and the API keys of their principals."""

    stack: Stack
    prefix: str
    services: dict[str, ServiceProcess]
    api_keys: dict[str, str] = field(repr=False)

    def headers(self, principal: str) -> dict[str, str]:
        """Authorization header of a principal ('ale.social.caseworker', 'auditor', ...)."""
        return {"Authorization": f"Bearer {self.api_keys[principal]}"}

    def service_hosting(self, agency: str) -> str:
        """Name of the service hosting `agency`."""
        found = REGISTRY.get(agency)
        if found is None:
            raise KeyError(f"no agency {agency} in the registry")
        return found.service

    def url_of(self, agency: str) -> str:
        """Base URL of the service hosting `agency`."""
        return self.services[self.service_hosting(agency)].url

    def stop(self) -> None:
        """Stop every service (SIGTERM, then SIGKILL), side by side."""
        with ThreadPoolExecutor(len(self.services)) as stopping:
            list(stopping.map(ServiceProcess.stop, self.services.values()))


def deploy(stack: Stack, workdir: Path, extra_env: dict[str, str] | None = None) -> Deployment:
    """Start every service on `stack` under a fresh topic prefix, with fresh databases,
    API keys and pseudonym key; `extra_env` goes to every service."""
    prefix = f"c{uuid.uuid4().hex[:8]}."
    run_sync(ensure_topics(stack.kafka.client_config(), topic_specs(prefix)))
    run_sync(grant(stack.kafka.client_config(), prefix))
    workdir.mkdir(parents=True, exist_ok=True)
    api_keys = write_principals(
        demo_principals(REGISTRY), workdir / "principals.yaml", workdir / "api-keys.json"
    )
    shared_env = {
        "SAMVERKAN_EXPIRY_CHECK_S": "1",
        # Short, so that a stopped service loses its partitions within the run.
        "SAMVERKAN_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "SAMVERKAN_PRINCIPALS_FILE": str(workdir / "principals.yaml"),
        "SAMVERKAN_PSEUDONYM_KEY": new_pseudonym_key(),
        **(extra_env or {}),
    }
    services = {
        name: stack.service(name, prefix, workdir / "logs", shared_env) for name in SERVICES
    }
    deployment = Deployment(stack, prefix, services, api_keys)
    try:
        # Side by side: most of a start is the interpreter importing, and waiting for Kafka.
        with ThreadPoolExecutor(len(services)) as starting:
            list(starting.map(ServiceProcess.start, services.values()))
    except BaseException:
        deployment.stop()
        raise
    return deployment
