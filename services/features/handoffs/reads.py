"""HTTP reads of the handoff loop. Every read of a person's record is logged (loggkontroll)."""

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Header, Query
from sse_starlette.sse import EventSourceResponse

from contracts.codes import AccessedResource
from contracts.lifecycle import ReferralState
from services.features.handoffs import repository as repo
from services.features.handoffs.api import Desk
from services.features.handoffs.domain import HandoffRefused
from services.features.handoffs.notifications import NotificationHub
from services.features.handoffs.schemas import HandoffView, Notification, TimelineEntry
from services.kit.access_log import Purpose, Reads, log_reads
from services.kit.database import Connection
from services.kit.dependencies import Caller, Pool
from services.kit.provided import provided

Hub = Annotated[NotificationHub, Depends(provided(NotificationHub))]


def shared_with(rows: list[asyncpg.Record], agency: str) -> list[asyncpg.Record]:
    """The timeline entries `agency` may see: its own handoffs and the referral chains
    (redirects, both ways) they belong to."""
    parent = {r["referral_id"]: r["parent_referral_id"] for r in rows}
    visible = {r["referral_id"] for r in rows if agency in (r["sender"], r["receiver"])}
    changed = True
    while changed:
        linked = {p for rid, p in parent.items() if rid in visible and p} | {
            rid for rid, p in parent.items() if p in visible
        }
        changed = not linked <= visible
        visible |= linked
    return [r for r in rows if r["referral_id"] in visible]


async def get_referral(
    referral_id: UUID,
    caller: Caller,
    pool: Pool,
    reads: Reads,
    agency: Annotated[str, Query()],
    purpose: Purpose = None,
) -> HandoffView:
    """One handoff, as seen by a hosted agency that is party to it."""
    reads.authorise(caller, agency)
    async with pool.acquire() as conn:
        handoff = await repo.get(conn, referral_id)
    if handoff is None or handoff.side_of(agency) is None:
        raise HandoffRefused("not_found", f"{agency} has no handoff {referral_id}")
    await reads.log(caller, purpose, AccessedResource.REFERRAL, [(handoff.subject, referral_id)])
    return HandoffView.of(handoff, agency)


async def inbox(
    agency: str,
    caller: Caller,
    pool: Pool,
    reads: Reads,
    desk: Desk,
    status: Annotated[list[ReferralState] | None, Query()] = None,
    caseworker: str | None = None,
    older_than_days: Annotated[int | None, Query(ge=0, le=36_500)] = None,
    role: Annotated[str, Query(pattern="^(receiver|sender)$")] = "receiver",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    purpose: Purpose = None,
) -> list[HandoffView]:
    """Handoffs received (or, with role=sender, sent) by a hosted agency."""
    reads.authorise(caller, agency)
    older = desk.clock() - timedelta(days=older_than_days) if older_than_days else None
    async with pool.acquire() as conn:
        handoffs = await repo.list_for_agency(
            conn, agency, role, [s.value for s in status or []], caseworker, older, limit
        )
    records = [(h.subject, h.referral_id) for h in handoffs]
    await reads.log(caller, purpose, AccessedResource.INBOX, records)
    return [HandoffView.of(h, agency) for h in handoffs]


async def timeline(
    agency: str, subject: str, caller: Caller, pool: Pool, reads: Reads, purpose: Purpose = None
) -> list[TimelineEntry]:
    """Handoffs about a subject across agencies: those the agency took part in, and the
    referral chains they belong to."""
    reads.authorise(caller, agency)
    async with pool.acquire() as conn:
        rows = shared_with(await repo.timeline(conn, subject), agency)
    if not rows:
        raise HandoffRefused("not_found", f"{agency} has no handoffs about this subject")
    await reads.log(caller, purpose, AccessedResource.TIMELINE, [(subject, None)])
    return [TimelineEntry.model_validate(dict(r)) for r in rows]


async def notifications(
    agency: str,
    caller: Caller,
    pool: Pool,
    reads: Reads,
    after: int = 0,
    caseworker: str | None = None,
    purpose: Purpose = None,
) -> list[Notification]:
    """Stored notifications after a cursor (for clients that poll)."""
    reads.authorise(caller, agency)
    async with pool.acquire() as conn:
        rows = await repo.notifications_after(conn, agency, after, caseworker)
    records = [(r["subject"], r["referral_id"]) for r in rows]
    await reads.log(caller, purpose, AccessedResource.INBOX, records)
    return [Notification.model_validate(dict(r)) for r in rows]


async def notification_stream(
    agency: str,
    caller: Caller,
    reads: Reads,
    hub: Hub,
    caseworker: str | None = None,
    last_event_id: Annotated[int | None, Header()] = None,
    purpose: Purpose = None,
) -> EventSourceResponse:
    """Live Server-Sent Events: new handoffs and status changes for a hosted agency."""
    reads.authorise(caller, agency)

    async def delivered(conn: Connection, rows: list[Any]) -> None:
        # One statement, so atomic on its own: no transaction of its own is needed.
        records = [(r["subject"], r["referral_id"]) for r in rows]
        await log_reads(conn, caller, purpose, AccessedResource.INBOX, records, reads.topic_prefix)

    return EventSourceResponse(hub.stream(agency, caseworker, last_event_id, delivered))


def read_router() -> APIRouter:
    """Routes for reading handoffs, timelines and notifications."""
    router = APIRouter(tags=["handoffs"])
    router.get("/referrals/{referral_id}")(get_referral)
    router.get("/agencies/{agency}/inbox")(inbox)
    router.get("/agencies/{agency}/subjects/{subject}/timeline")(timeline)
    router.get("/agencies/{agency}/notifications")(notifications)
    router.get("/agencies/{agency}/notifications/stream")(notification_stream)
    return router
