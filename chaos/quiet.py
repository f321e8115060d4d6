"""Waiting until the deployment has done all it was given: every service answers, no outbox
holds an unsent event, and every consumer group has committed every topic it reads to its end.

The lag is measured here with the admin login, not taken from the services' own metrics: the
checker does not rely on what the system under test says about itself.
"""

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from chaos.deployment import Deployment
from contracts.services import AGENCY_SERVICES, names
from contracts.topics import CONSENTS, EVENT_TOPICS, HANDOFFS, PARTICIPATION, Topic

#: The consumer groups of each service (``samverkan.<service>.<consumer>``) and what they read,
#: as the services subscribe them (services.features.handoffs.part, services.audit.part,
#: services.reporting.part).
SUBSCRIPTIONS: dict[str, dict[str, tuple[Topic, ...]]] = {
    **{
        agency: {"handoffs": (HANDOFFS,), "consents": (CONSENTS,)}
        for agency in names(AGENCY_SERVICES)
    },
    "audit": {"log": EVENT_TOPICS},
    "reporting": {"read-model": (HANDOFFS, PARTICIPATION)},
}


async def consumer_lag(client: Mapping[str, Any], prefix: str) -> dict[str, int]:
    """Messages each consumer group has not yet committed, on the topics under `prefix`."""
    admin = AIOKafkaAdminClient(**client)
    ends_reader = AIOKafkaConsumer(**client)
    await admin.start()
    try:
        await ends_reader.start()
        described = await admin.describe_topics([prefix + t.name for t in EVENT_TOPICS])
        partitions = {
            topic["topic"]: [
                TopicPartition(topic["topic"], p["partition"]) for p in topic["partitions"]
            ]
            for topic in described
        }
        ends = await ends_reader.end_offsets([tp for tps in partitions.values() for tp in tps])
        lag: dict[str, int] = {}
        for service, groups in SUBSCRIPTIONS.items():
            for consumer, topics in groups.items():
                group = f"samverkan.{service}.{consumer}"
                committed = await admin.list_consumer_group_offsets(group)
                lag[group] = sum(
                    ends[tp] - (committed[tp].offset if tp in committed else 0)
                    for topic in topics
                    for tp in partitions[prefix + topic.name]
                )
        return lag
    finally:
        with contextlib.suppress(Exception):
            await ends_reader.stop()
        await admin.close()


async def outbox_backlogs(deployment: Deployment) -> dict[str, int | None]:
    """Each service's unsent events as its /health says (None: it did not answer)."""
    backlogs: dict[str, int | None] = {}
    async with httpx.AsyncClient(timeout=5) as http:
        for name, process in deployment.services.items():
            try:
                answer = await http.get(f"{process.url}/health")
                backlogs[name] = int(answer.json()["outbox_backlog"])
            except (httpx.HTTPError, ValueError, KeyError):
                backlogs[name] = None
    return backlogs


async def wait_until_quiet(deployment: Deployment, timeout_s: float) -> float:
    """Wait until nothing is left to do, twice in a row a second apart; the seconds it took.

    Raises TimeoutError naming what was still busy.
    """
    loop = asyncio.get_running_loop()
    began = loop.time()
    client = deployment.stack.kafka.client_config()
    calm = 0
    while True:
        backlogs = await outbox_backlogs(deployment)
        try:
            lag = await consumer_lag(client, deployment.prefix)
        except Exception as exc:  # the broker may still be coming back
            lag = {f"(lag unknown: {exc!r})": -1}
        busy = {n: b for n, b in backlogs.items() if b != 0} | {g: n for g, n in lag.items() if n}
        calm = 0 if busy else calm + 1
        if calm >= 2:
            return loop.time() - began
        if loop.time() - began > timeout_s:
            raise TimeoutError(f"still busy after {timeout_s:.0f}s: {busy}")
        await asyncio.sleep(1.0)
