"""The audit log at size: load many entries, then time chain queries and full verification.

Loading goes through the audit domain's own append (leaf hashes, hash chain, Merkle tree
nodes, a head signed with the service's key) in large batches written with COPY, under the
head row's lock like every other append; so the loaded log verifies like one the consumer
built. The events are realistic referral stories (consent, referral, receipt, reads, decision,
work, outcome; some rejected and redirected into a linked referral), valid contract events.

Chain queries and verification are timed over HTTP against the running audit service, as an
auditor calls them (each chain answer is itself logged as a read first).
"""

from __future__ import annotations

import random
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import timedelta
from operator import attrgetter
from typing import Any

import asyncpg
import httpx

from bench.deployment import Deployment
from bench.stats import summary
from contracts import ConsentBasis, DutyBasis, Event, LegalDuty, encode, topic_for, utc_now
from contracts.codes import (
    AccessedResource,
    AccessPurpose,
    ConsentGiver,
    ConsentMethod,
    ContactChannel,
    DataCategory,
    Outcome,
    PrincipalRole,
    ReferralReason,
    RejectionReason,
)
from contracts.events import (
    CaseworkerAssigned,
    ConsentRecorded,
    FirstContactMade,
    RecordAccessed,
    ReferralAccepted,
    ReferralCompleted,
    ReferralReceived,
    ReferralRedirected,
    ReferralRejected,
    ReferralRequested,
)
from services.audit import domain
from services.audit import repository as repo
from services.features.proofs.heads import Signer, TreeHead
from services.features.proofs.merkle import Entry, Frontier

SCHOOL = "ale.school.ale-gymnasium"
RECEIVERS = ("ale.social", "goteborg.social", "ale.kaa", "af.goteborg")
# The columns the hashes cover, in the order of merkle.Entry's fields.
_ENTRY_COLUMNS = [f.name for f in fields(Entry)]
_ENTRY_ROW = attrgetter(*_ENTRY_COLUMNS)


@dataclass
class AuditResult:
    """What the audit step measured."""

    entries: int
    load_seconds: float
    query_ms: list[float] = field(default_factory=list)
    verify_checked: int = 0
    verify_seconds: float = 0.0
    verify_ok: bool = False

    def to_json(self) -> dict[str, object]:
        """As results.json gives it."""
        return {
            "audit_entries": self.entries,
            "audit_load_per_s": round(self.entries / self.load_seconds) if self.load_seconds else 0,
            "audit_query_ms": {**summary(self.query_ms), "queries": len(self.query_ms)},
            "audit_verify_per_s": round(self.verify_checked / self.verify_seconds)
            if self.verify_seconds
            else 0,
            "audit_verify_checked": self.verify_checked,
            "audit_verify_ok": self.verify_ok,
        }


class Stories:
    """Referral stories as the audit log would receive them, with Kafka positions."""

    def __init__(self, topic_prefix: str, seed: int = 7) -> None:
        self._prefix = topic_prefix
        self._random = random.Random(seed)
        self._offsets: dict[tuple[str, int], int] = {}
        self.referrals: list[uuid.UUID] = []

    def records(self, count: int) -> Iterator[tuple[str, int, int, bytes]]:
        """(topic, partition, offset, event bytes), `count` of them."""
        made = 0
        while made < count:
            for event in self._story():
                if made == count:
                    return
                topic = topic_for(event)
                name = self._prefix + topic.name
                partition = zlib.crc32(event.key) % topic.partitions
                offset = self._offsets.get((name, partition), 0)
                self._offsets[(name, partition)] = offset + 1
                made += 1
                yield name, partition, offset, encode(event)

    def _story(self) -> list[Event]:
        """A consent, a referral and its loop; now and then rejected and redirected."""
        story = _Story(uuid.uuid4().hex + uuid.uuid4().hex)
        now = utc_now()
        consent = story.add(
            ConsentRecorded,
            SCHOOL,
            uuid.uuid4(),
            legal_basis=ConsentBasis(consent_id=uuid.uuid4()),
            given_by=ConsentGiver.SUBJECT,
            method=ConsentMethod.DIGITAL_SIGNATURE,
            recipients=RECEIVERS,
            data_categories=(DataCategory.ATTENDANCE, DataCategory.CASE_STATUS),
            valid_from=now,
            valid_until=now + timedelta(days=365),
        )
        story.basis = ConsentBasis(consent_id=consent.correlation_id)
        receiver = self._random.choice(RECEIVERS)
        referral = self._referral(story, SCHOOL, receiver, None)
        if self._random.random() < 0.15:
            story.add(ReferralRejected, receiver, referral, reason=RejectionReason.NOT_IN_REMIT)
            child = uuid.uuid4()
            other = self._random.choice([r for r in RECEIVERS if r != receiver])
            story.add(
                ReferralRedirected, receiver, referral, new_referral_id=child, new_receiver=other
            )
            referral = self._referral(story, receiver, other, referral, child)
            receiver = other
        story.add(ReferralAccepted, receiver, referral)
        story.add(CaseworkerAssigned, receiver, referral, caseworker="anna.lind")
        story.add(FirstContactMade, receiver, referral, channel=ContactChannel.MEETING)
        story.add(ReferralCompleted, receiver, referral, outcome=Outcome.RETURNED_TO_STUDIES)
        return story.events

    def _referral(
        self,
        story: _Story,
        sender: str,
        receiver: str,
        parent: uuid.UUID | None,
        referral: uuid.UUID | None = None,
    ) -> uuid.UUID:
        referral = referral or uuid.uuid4()
        self.referrals.append(referral)
        story.add(
            ReferralRequested,
            sender,
            referral,
            receiver=receiver,
            respond_by=utc_now() + timedelta(days=14),
            reason=ReferralReason.ABSENCE,
            data_categories=(DataCategory.ATTENDANCE,),
            parent_referral_id=parent,
        )
        story.add(ReferralReceived, receiver, referral)
        story.add(
            RecordAccessed,
            receiver,
            referral,
            legal_basis=DutyBasis(duty=LegalDuty.LOG_REVIEW),
            accessor=f"{receiver}.caseworker",
            accessor_role=PrincipalRole.CASEWORKER,
            resource=AccessedResource.INBOX,
            resource_id=referral,
            purpose=AccessPurpose.CASEWORK,
        )
        return referral


class _Story:
    """The events about one subject, each caused by the one before."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.basis: ConsentBasis | None = None
        self.events: list[Event] = []

    def add(self, kind: type[Event], producer: str, correlation: uuid.UUID, **fields: Any) -> Event:
        """Append an event of `kind` (on the story's consent unless a basis is given)."""
        event = kind(
            event_id=uuid.uuid4(),
            occurred_at=utc_now(),
            producer=producer,
            correlation_id=correlation,
            causation_id=self.events[-1].event_id if self.events else None,
            subject=self.subject,
            **{"legal_basis": self.basis, **fields},
        )
        self.events.append(event)
        return event


async def load(
    dsn: str, signing_key: str, stories: Stories, count: int, batch: int = 25_000
) -> float:
    """Append `count` entries to the audit log at `dsn` in batches; seconds it took."""
    signer = Signer.from_secret(signing_key)
    records = stories.records(count)
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        while chunk := [r for _, r in zip(range(batch), records, strict=False)]:
            async with conn.transaction():
                head = await conn.fetchrow(
                    "SELECT size, chain_hash, frontier FROM audit_head WHERE only_row FOR UPDATE"
                )
                assert head is not None, "the audit_head row is created by the first migration"
                now = utc_now()
                grown = domain.append(
                    Frontier(head["size"], list(head["frontier"])), head["chain_hash"], now, chunk
                )
                await conn.copy_records_to_table(
                    "audit_entries",
                    columns=_ENTRY_COLUMNS,
                    records=[_ENTRY_ROW(e) for e in grown.entries],
                )
                await conn.copy_records_to_table(
                    "audit_tree_nodes",
                    columns=["level", "idx", "hash"],
                    records=[(n.level, n.idx, h) for n, h in grown.nodes],
                )
                signed = signer.sign(TreeHead(grown.frontier.size, grown.frontier.root(), now))
                await repo.save_head(conn, signed, grown.chain_hash, grown.frontier)
        await conn.execute("ANALYZE audit_entries")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def measure(deployment: Deployment, entries: int, queries: int, seed: int = 7) -> AuditResult:
    """Load `entries` into the running audit service's log, then time `queries` chain queries
    (one at a time) and one verification of the whole log."""
    audit = deployment.services["audit"]
    stories = Stories(deployment.topic_prefix, seed)
    seconds = await load(audit.database_dsn, deployment.audit_signing_key, stories, entries)
    result = AuditResult(entries=entries, load_seconds=seconds)
    headers = deployment.headers("auditor")
    pick = random.Random(seed)
    async with httpx.AsyncClient(base_url=audit.url, headers=headers, timeout=600) as http:
        for referral in pick.sample(stories.referrals, min(queries, len(stories.referrals))):
            started = time.perf_counter()
            answer = await http.get(f"/audit/referrals/{referral}/chain")
            result.query_ms.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
        started = time.perf_counter()
        answer = await http.get("/audit/verify")
        result.verify_seconds = time.perf_counter() - started
        answer.raise_for_status()
        report = answer.json()
        result.verify_checked, result.verify_ok = int(report["checked"]), bool(report["ok"])
    return result
