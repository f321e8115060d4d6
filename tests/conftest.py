"""Session fixtures: one real Kafka broker and one real PostgreSQL cluster per test session,
started lazily by the first test that needs them, with unique topics and databases per test."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from contracts.topics import topic_specs
from deploy.stack import Stack
from deploy.topics import ensure_topics

NewDatabase = Callable[[str], Awaitable[str]]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real broker and database server for this session."""
    running = Stack(Path(tmp_path_factory.mktemp("stack")))
    running.start(databases=[], topics=[])
    yield running
    running.stop()


@pytest.fixture
def bootstrap(stack: Stack) -> str:
    """Kafka bootstrap address of the session broker."""
    return stack.kafka.bootstrap


@pytest.fixture
async def topic_prefix(bootstrap: str) -> str:
    """A prefix under which every contract topic exists, unique to this test."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(bootstrap, topic_specs(prefix))
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
