"""Session fixtures: one real Kafka broker and one real PostgreSQL cluster per test session,
started lazily by the first test that needs them, with unique topics and databases per test."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from contracts.topics import topic_specs
from deploy.kafka_security import ADMIN, MECHANISM, grant
from deploy.stack import Stack
from deploy.topics import ensure_topics
from services.kit.settings import KafkaSettings

NewDatabase = Callable[[str], Awaitable[str]]
LAST = "test_privacy_scan.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The privacy scan looks at what the whole suite left behind, so it runs last."""
    items.sort(key=lambda item: LAST in item.nodeid)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real broker and database server for this session."""
    with Stack(Path(tmp_path_factory.mktemp("stack"))) as running:
        yield running


@pytest.fixture
def bootstrap(stack: Stack) -> str:
    """Kafka bootstrap address of the session broker."""
    return stack.kafka.bootstrap


@pytest.fixture
def kafka_config(stack: Stack) -> Callable[..., dict[str, Any]]:
    """aiokafka keyword arguments (address and login) for a principal, the admin by default:
    ``AIOKafkaConsumer(topic, **kafka_config("school"), ...)``."""
    return stack.kafka.client_config


@pytest.fixture
def kafka_settings(stack: Stack) -> Callable[..., KafkaSettings]:
    """The kit's Kafka settings logged in as a principal, the admin by default:
    ``Publisher(kafka_settings("school"), "test")``."""

    def settings(principal: str = ADMIN, **more: Any) -> KafkaSettings:
        return KafkaSettings(
            bootstrap=stack.kafka.bootstrap,
            sasl_mechanism=MECHANISM,
            username=principal,
            password=stack.kafka.credentials.password(principal),
            **more,
        )

    return settings


@pytest.fixture
async def topic_prefix(stack: Stack) -> str:
    """A prefix under which every contract topic exists, unique to this test, and each
    service principal has its grants (deploy.kafka_security.GRANTS)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(stack.kafka.client_config(), topic_specs(prefix))
    await grant(stack.kafka.client_config(), prefix)
    return prefix


@pytest.fixture
async def new_database(stack: Stack) -> AsyncIterator[NewDatabase]:
    """Create fresh databases on the session cluster; returns their DSNs."""
    admin = await asyncpg.connect(stack.postgres.dsn("postgres"))

    async def create(label: str) -> str:
        name = f"{label}_{uuid.uuid4().hex[:10]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        return stack.postgres.dsn(name)

    yield create
    await admin.close()
