"""Folds events from the bus into the reporting read model; the consumer makes each event
count once, and the repository makes a replay harmless anyway."""

from contracts import Event
from contracts.events import (
    HandoffOpened,
    OutcomeFollowUpRecorded,
    ParticipantEnrolled,
    ParticipantExited,
)
from contracts.topics import HANDOFFS, topic_for
from services.kit.database import Connection
from services.reporting import repository as repo


async def project(conn: Connection, event: Event) -> None:
    """Record what `event` tells the reports."""
    if isinstance(event, ParticipantEnrolled):
        await repo.save_enrolment(conn, event)
    elif isinstance(event, ParticipantExited):
        await repo.save_exit(conn, event)
    elif isinstance(event, OutcomeFollowUpRecorded):
        await repo.save_follow_up(conn, event)
    elif isinstance(event, HandoffOpened):
        await repo.save_opening(conn, event)
    elif topic_for(event) is HANDOFFS:
        await repo.save_handoff_event(conn, event)
