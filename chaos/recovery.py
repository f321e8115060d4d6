"""The dead-letter tools at work: a status event that reaches the agencies before the handoff
it is about is refused by each of them (``unknown_referral``) and dead-lettered. Once the
handoff's opening has arrived (the fix), the status event is replayed from the dead-letter
topic and every agency applies it. The consumers that had handled it the first time (the
audit log, reporting) skip the replayed copy: their inbox knows it.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from chaos.badinput import dead_letters
from chaos.deployment import Deployment
from chaos.load import GBG_KAA, SCHOOL
from chaos.quiet import wait_until_quiet
from contracts import Event, encode, topic_for, utc_now
from contracts import services as service_list
from contracts.codes import DropoutReason
from contracts.events import DropoutReported, ReferralAccepted
from deploy.deadletters import replay, select
from services.school.domain import KAA_BASIS

AGENCY_SERVICES = service_list.names(service_list.AGENCY_SERVICES)


@dataclass
class RecoveryReport:
    """What the dead-letter tools did with the status event."""

    dead_letters: list[str] = field(default_factory=list)
    replayed: int = 0
    #: Each agency service's state of the handoff after the replay.
    states: dict[str, str | None] = field(default_factory=dict)
    #: Audit entries of the status event after the replay (must be 1).
    audit_entries: int = 0

    @property
    def recovered(self) -> bool:
        """Whether the replay brought every agency to the accepted state, once."""
        return (
            len(self.dead_letters) == len(AGENCY_SERVICES)
            and all("unknown_referral" in letter for letter in self.dead_letters)
            and self.replayed == 1
            and set(self.states.values()) == {"accepted"}
            and self.audit_entries == 1
        )


async def recover(deployment: Deployment, quiet_timeout_s: float) -> RecoveryReport:
    """Dead-letter a status event that came too early, fix that, replay it; the report."""
    report = RecoveryReport()
    now, referral_id = utc_now(), uuid.uuid4()
    opening = DropoutReported(
        event_id=uuid.uuid4(), occurred_at=now, producer=SCHOOL, correlation_id=referral_id,
        subject=uuid.uuid4().hex * 2, legal_basis=KAA_BASIS, receiver=GBG_KAA,
        respond_by=now + timedelta(days=7), reason=DropoutReason.LEFT_PROGRAMME,
        left_on=date(2025, 1, 10), under_20=True,
    )  # fmt: skip
    accepted = ReferralAccepted(
        event_id=uuid.uuid4(), occurred_at=now, producer=GBG_KAA, correlation_id=referral_id,
        causation_id=opening.event_id, subject=opening.subject, legal_basis=KAA_BASIS,
    )  # fmt: skip
    await _publish(deployment, accepted)
    await wait_until_quiet(deployment, quiet_timeout_s)
    letters = select(await dead_letters(deployment), event_ids=[str(accepted.event_id)])
    report.dead_letters = sorted(f"{x.consumer}: {x.reason}" for x in letters)
    await _publish(deployment, opening)
    await wait_until_quiet(deployment, quiet_timeout_s)
    report.replayed = len(await replay(deployment.stack.kafka.client_config(), letters))
    await wait_until_quiet(deployment, quiet_timeout_s)
    for service in AGENCY_SERVICES:
        state = await _fetchval(
            deployment, service, "SELECT state FROM handoffs WHERE referral_id = $1", referral_id
        )
        report.states[service] = None if state is None else str(state)
    report.audit_entries = int(
        await _fetchval(
            deployment,
            "audit",
            "SELECT count(*) FROM audit_entries WHERE event_id = $1",
            accepted.event_id,
        )
    )
    return report


async def _publish(deployment: Deployment, event: Event) -> None:
    """Publish as the producing agency's system would (here through the admin login)."""
    producer = AIOKafkaProducer(
        **deployment.stack.kafka.client_config(), acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        topic = deployment.prefix + topic_for(event).name
        await producer.send_and_wait(topic, encode(event), key=event.key)
    finally:
        await producer.stop()


async def _fetchval(deployment: Deployment, service: str, sql: str, *args: object) -> Any:
    conn = await asyncpg.connect(deployment.services[service].database_dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()
