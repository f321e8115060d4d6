"""The services under benchmark: every service as its own OS process on a real stack, with
fresh databases, topics, Kafka grants, API keys and pseudonym key, as in production."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import topic_specs
from deploy.credentials import demo_principals, new_pseudonym_key, write_principals
from deploy.kafka_jars import REPO_ROOT
from deploy.kafka_security import grant
from deploy.services import SERVICES, ServiceProcess
from deploy.stack import Stack
from deploy.topics import ensure_topics
from services.kit.agencies import AgencyRegistry


@dataclass
class Deployment:
    """The running services of one benchmark, by name, and how to call them."""

    stack: Stack
    workdir: Path
    topic_prefix: str
    api_keys: dict[str, str]
    shared_env: dict[str, str]
    audit_signing_key: str = field(
        default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    @classmethod
    async def create(
        cls, stack: Stack, workdir: Path, topic_prefix: str | None = None
    ) -> Deployment:
        """Topics, grants and secrets for a new deployment on `stack`; no service runs yet."""
        prefix = f"b{uuid.uuid4().hex[:8]}." if topic_prefix is None else topic_prefix
        await provision_topics(stack, prefix)
        await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
        registry = AgencyRegistry.load(REPO_ROOT / "deploy" / "agencies.yaml")
        keys = write_principals(
            demo_principals(registry), workdir / "principals.yaml", workdir / "api-keys.json"
        )
        env = {
            "SAMVERKAN_PRINCIPALS_FILE": str(workdir / "principals.yaml"),
            "SAMVERKAN_PSEUDONYM_KEY": new_pseudonym_key(),
            "SAMVERKAN_TELEMETRY_EXPORTER": "none",
        }
        return cls(stack, workdir, prefix, keys, env)

    def headers(self, principal: str) -> dict[str, str]:
        """Authorization header of a principal (e.g. 'ale.social.caseworker', 'auditor')."""
        return {"Authorization": f"Bearer {self.api_keys[principal]}"}

    def start(self, names: Iterable[str] = SERVICES) -> None:
        """Start the named services, each with a fresh database, and wait until healthy."""
        for name in names:
            self.services[name] = self.start_one(name, self.topic_prefix)

    def start_one(self, name: str, topic_prefix: str, label: str | None = None) -> ServiceProcess:
        """One more process of service `name` with a fresh database, on `topic_prefix`."""
        process = self.stack.service(
            name, topic_prefix, self.workdir / "logs" / (label or name), self.shared_env, label
        )
        process.audit_signing_key = self.audit_signing_key
        process.start()
        return process

    def pids(self) -> dict[str, int | None]:
        """The process id of each running service."""
        return {
            name: process.process.pid
            for name, process in self.services.items()
            if process.process is not None and process.process.poll() is None
        }

    def infrastructure(self) -> dict[str, int | None]:
        """The process ids of the broker and the database server."""
        return {"kafka": self.stack.kafka.pid, "postgres": self.stack.postgres.pid}

    def databases(self) -> list[str]:
        """The names of the services' databases."""
        return [p.database_dsn.rsplit("/", 1)[-1] for p in self.services.values()]

    def stop(self) -> None:
        """Stop every service started here."""
        for process in self.services.values():
            process.stop()

    async def settle(self, timeout_s: float = 300.0) -> float:
        """Wait until every outbox is empty and every consumer group has caught up; how long
        it took. Keeps one phase's backlog from being measured in the next."""
        started = time.monotonic()
        deadline = started + timeout_s
        async with httpx.AsyncClient(timeout=10) as http:
            while True:
                backlog = 0
                for process in self.services.values():
                    answer = await http.get(process.url + "/health")
                    backlog += int(answer.json()["outbox_backlog"])
                behind = await consumer_lag(self.stack, self.topic_prefix)
                if backlog == 0 and behind == 0:
                    return time.monotonic() - started
                if time.monotonic() > deadline:
                    raise TimeoutError(f"not settled: outbox {backlog}, consumer lag {behind}")
                await asyncio.sleep(0.25)


async def database_work(stack: Stack, databases: Iterable[str]) -> dict[str, int]:
    """Counters of the work the database server has done so far: transactions committed in
    `databases`, and WAL flushes to disk (cluster-wide: each is a wait for the disk)."""
    conn = await asyncpg.connect(stack.postgres.dsn("postgres"))
    try:
        commits = await conn.fetchval(
            "SELECT coalesce(sum(xact_commit), 0) FROM pg_stat_database"
            " WHERE datname = ANY($1::text[])",
            list(databases),
        )
        syncs = await conn.fetchval("SELECT wal_sync FROM pg_stat_wal")
    finally:
        await conn.close()
    return {"commits": int(commits), "wal_syncs": int(syncs)}


async def provision_topics(stack: Stack, prefix: str) -> None:
    """Every contract topic under `prefix`, and each service principal's grants on them."""
    admin = stack.kafka.client_config()
    await ensure_topics(admin, topic_specs(prefix))
    await grant(admin, prefix)


async def consumer_lag(stack: Stack, topic_prefix: str) -> int:
    """Messages under `topic_prefix` that the services' consumer groups have not committed."""
    admin_config = stack.kafka.client_config()
    admin = AIOKafkaAdminClient(**admin_config)
    ends = AIOKafkaConsumer(**admin_config)
    await admin.start()
    try:
        await ends.start()
        behind = 0
        for group in await admin.list_consumer_groups():
            if not str(group[0]).startswith("samverkan."):
                continue
            committed = {
                tp: max(meta.offset, 0)
                for tp, meta in (await admin.list_consumer_group_offsets(group[0])).items()
                if tp.topic.startswith(topic_prefix)
            }
            if not committed:
                continue
            # A partition the group has not committed on yet lags by all it holds.
            described = await admin.describe_topics(sorted({tp.topic for tp in committed}))
            partitions = [
                TopicPartition(t["topic"], p["partition"])
                for t in described
                for p in t["partitions"]
            ]
            for tp, end in (await ends.end_offsets(partitions)).items():
                behind += max(end - committed.get(tp, 0), 0)
        return behind
    finally:
        await ends.stop()
        await admin.close()


async def count(dsn: str, sql: str, *args: Any) -> Any:
    """One value from a service's database (for progress checks, never for the service)."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()
