"""Declare Kafka topics: create the missing ones and wait until they are usable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

__all__ = ["ensure_topics"]

_NO_ERROR = 0


async def ensure_topics(
    admin: Mapping[str, Any],
    topics: Iterable[tuple[str, int]],
    *,
    timeout_s: float = 30.0,
) -> None:
    """Create each ``(name, partitions)`` topic that is missing (replication 1).

    ``admin`` is aiokafka's keyword arguments for the admin principal: the
    broker's address and login (``KafkaServer.client_config()``).

    Idempotent: existing topics are left as they are, even when their partition
    count differs (growing a keyed topic would move keys between partitions and
    break per-referral ordering, so that is a deliberate act, not a side effect).
    Returns once metadata shows every topic with a leader on every partition,
    so producers and consumers can use them at once.
    """
    wanted = dict(topics)
    if not wanted:
        return
    client = AIOKafkaAdminClient(**admin, request_timeout_ms=int(timeout_s * 1000))
    await client.start()
    try:
        existing = set(await client.list_topics())
        missing = [
            NewTopic(name, partitions, replication_factor=1)
            for name, partitions in wanted.items()
            if name not in existing
        ]
        if missing:
            response = await client.create_topics(missing, timeout_ms=int(timeout_s * 1000))
            for name, code, *rest in response.topic_errors:
                # Another process may have created it between our list and create.
                if code not in (_NO_ERROR, TopicAlreadyExistsError.errno):
                    message = rest[0] if rest else ""
                    raise for_code(code)(f"creating topic {name!r}: {message}")
        await _wait_for_leaders(client, wanted, timeout_s)
    finally:
        await client.close()


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, wanted: dict[str, int], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        described = await admin.describe_topics(list(wanted))
        pending = [
            topic["topic"]
            for topic in described
            if topic["error_code"] != _NO_ERROR
            or not topic["partitions"]
            or any(p["leader"] < 0 for p in topic["partitions"])
        ]
        if not pending and {t["topic"] for t in described} >= wanted.keys():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"topics without leaders after {timeout_s:.0f} s: {sorted(pending)}")
        await asyncio.sleep(0.1)
