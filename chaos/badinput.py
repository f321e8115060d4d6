"""Bad input through the real broker: messages that are not events, published straight onto
the event topics. Every consumer of the topic must dead-letter each one with a reason, keep
running, and do nothing else with it.
"""

import json
import random
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from chaos.deployment import Deployment
from chaos.quiet import SUBSCRIPTIONS
from contracts import ConsentBasis, encode, utc_now
from contracts.catalogue import type_of
from contracts.codes import DataCategory, ReferralReason
from contracts.events import ReferralRequested
from contracts.topics import ACCESS, CONSENTS, DEAD_LETTER, HANDOFFS, PARTICIPATION, SIGNALS
from deploy.deadletters import DeadLetter, read_dead_letters

#: Kinds of bad message and the reason each must be dead-lettered with.
KINDS = {
    "random_bytes": "not_json",
    "truncated_json": "not_json",
    "not_an_object": "not_an_object",
    "missing_type": "missing_type",
    "unknown_type": "unknown_type",
    "unknown_version": "unknown_version",
    "invalid_field": "invalid_field",
    "missing_legal_basis": "invalid_field",
    "oversized": "oversized",
}
#: How often each kind is made (oversized ones are large, so fewer of them).
WEIGHTS = {kind: 12 for kind in KINDS} | {"oversized": 2}
#: Which topics they go to, and how often.
TOPICS = {
    HANDOFFS.name: 6,
    CONSENTS.name: 2,
    PARTICIPATION.name: 1,
    ACCESS.name: 1,
    SIGNALS.name: 1,
}
#: Tables whose row counts must not change while bad input is handled.
TABLES = {
    "school": ("handoffs", "handoff_events", "notifications", "consents", "inbox", "outbox"),
    "social": ("handoffs", "handoff_events", "notifications", "consents", "inbox", "outbox"),
    "employment": ("handoffs", "handoff_events", "notifications", "consents", "inbox", "outbox"),
    "audit": ("audit_entries", "inbox", "outbox"),
    "reporting": ("referrals", "referral_events", "participants", "inbox"),
}


def _valid_event() -> dict[str, Any]:
    """A well-formed referral, as the JSON object a producer would send."""
    now = utc_now()
    event = ReferralRequested(
        event_id=uuid.uuid4(),
        occurred_at=now,
        producer="ale.school.ale-gymnasium",
        correlation_id=uuid.uuid4(),
        subject=uuid.uuid4().hex * 2,
        legal_basis=ConsentBasis(consent_id=uuid.uuid4()),
        receiver="ale.social",
        respond_by=now,
        reason=ReferralReason.ABSENCE,
        data_categories=(DataCategory.ATTENDANCE,),
    )
    data: dict[str, Any] = json.loads(encode(event))
    return data


def make_message(kind: str, rng: random.Random, max_event_bytes: int) -> bytes:
    """One bad message of `kind`."""
    event = _valid_event()
    if kind == "random_bytes":
        # 0xff never starts UTF-8 text, so no run of random bytes is accidentally JSON.
        return b"\xff" + rng.randbytes(rng.randint(0, 512))
    if kind == "truncated_json":
        whole = json.dumps(event).encode()
        return whole[: rng.randint(1, len(whole) - 1)]
    if kind == "not_an_object":
        return json.dumps(
            rng.choice([[event], type_of(ReferralRequested), 42, None, True])
        ).encode()
    if kind == "missing_type":
        del event["event_type"]
    elif kind == "unknown_type":
        event["event_type"] = rng.choice(["ReferralTeleported", "referralrequested", ""])
    elif kind == "unknown_version":
        event["schema_version"] = rng.choice([0, 2, 99, -1, "1"])
    elif kind == "invalid_field":
        name, value = rng.choice(
            [("correlation_id", "not-a-uuid"), ("occurred_at", "yesterday"),
             ("subject", "NOT-A-PSEUDONYM"), ("receiver", "Ale Social!"), ("reason", "boredom"),
             ("data_categories", []), ("producer", None), ("respond_by", "soon")]
        )  # fmt: skip
        event[name] = value
    elif kind == "missing_legal_basis":
        del event["legal_basis"]
    elif kind == "oversized":
        # Valid but for its size: unknown fields are dropped, so only the limit stops it.
        event["padding"] = "x" * (max_event_bytes + rng.randint(1, 4096))
    else:
        raise ValueError(f"no kind {kind}")
    return json.dumps(event).encode()


@dataclass
class BadInputReport:
    """What became of the bad messages."""

    sent: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    #: Messages every consumer of their topic dead-lettered with the expected reason.
    dead_lettered: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    #: Dead letters missing, with a wrong reason, or more than one per consumer.
    problems: list[str] = field(default_factory=list)
    #: Rows that appeared or vanished in the services' tables.
    effects: dict[str, int] = field(default_factory=dict)


def readers(prefix: str) -> dict[str, list[str]]:
    """The consumers (``<service>.<consumer>``) of each topic under `prefix`."""
    found: dict[str, list[str]] = {}
    for service, groups in SUBSCRIPTIONS.items():
        for consumer, topics in groups.items():
            for topic in topics:
                found.setdefault(prefix + topic.name, []).append(f"{service}.{consumer}")
    return found


async def publish(
    client: Mapping[str, Any], prefix: str, count: int, rng: random.Random, max_event_bytes: int
) -> dict[tuple[str, int, int], str]:
    """Publish `count` bad messages as the admin; the kind of each, by where it landed."""
    producer = AIOKafkaProducer(
        **client, acks="all", enable_idempotence=True, max_request_size=4 * max_event_bytes
    )
    await producer.start()
    try:
        pending = []
        for n in range(count):
            kind = rng.choices(list(WEIGHTS), list(WEIGHTS.values()))[0]
            topic = prefix + rng.choices(list(TOPICS), list(TOPICS.values()))[0]
            message = make_message(kind, rng, max_event_bytes)
            sent = await producer.send(topic, message, key=f"bad-{kind}-{n}".encode())
            pending.append((kind, sent))
        landed = {}
        for kind, sent in pending:
            meta = await sent
            landed[(meta.topic, meta.partition, meta.offset)] = kind
        return landed
    finally:
        await producer.stop()


def judge(
    landed: Mapping[tuple[str, int, int], str], letters: list[DeadLetter], prefix: str
) -> BadInputReport:
    """Hold the dead letters against what was published."""
    report = BadInputReport(sent=len(landed), by_kind=Counter(landed.values()))
    consumers_of = readers(prefix)
    got: dict[tuple[str, int, int], list[DeadLetter]] = {}
    for letter in letters:
        source = letter.source
        if source is not None and source in landed:
            got.setdefault(source, []).append(letter)
    for source, kind in landed.items():
        found = got.get(source, [])
        wanted = sorted(consumers_of[source[0]])
        reasons = {letter.reason for letter in found}
        if sorted(letter.consumer for letter in found) != wanted:
            report.problems.append(
                f"{kind} at {source}: dead-lettered by {sorted(x.consumer for x in found)},"
                f" expected {wanted}"
            )
        elif reasons != {KINDS[kind]}:
            report.problems.append(f"{kind} at {source}: reasons {reasons}, not {KINDS[kind]}")
        else:
            report.dead_lettered += 1
        report.by_reason.update(letter.reason for letter in found)
    return report


async def row_counts(deployment: Deployment) -> dict[str, int]:
    """Rows in every table that bad input must leave alone."""
    counts: dict[str, int] = {}
    for service, tables in TABLES.items():
        conn = await asyncpg.connect(deployment.services[service].database_dsn)
        try:
            for table in tables:
                counts[f"{service}.{table}"] = int(
                    await conn.fetchval(f"SELECT count(*) FROM {table}")
                )
        finally:
            await conn.close()
    return counts


async def dead_letters(deployment: Deployment) -> list[DeadLetter]:
    """Everything on the deployment's dead-letter topic."""
    client = deployment.stack.kafka.client_config()
    return await read_dead_letters(client, deployment.prefix + DEAD_LETTER.name)
