"""HTTP reads of the handoff loop. Every read of a person's record is logged (loggkontroll)."""

from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Header, Query, Request
from sse_starlette.sse import EventSourceResponse

from contracts.codes import AccessedResource, AccessPurpose
from contracts.lifecycle import ReferralState
from services.kit.access_log import log_reads
from services.kit.auth import Principal, require_read
from services.kit.database import Connection
from services.kit.handoffs import repository as repo
from services.kit.handoffs.api import Caller, desk_of, pool_of
from services.kit.handoffs.domain import HandoffRefused
from services.kit.handoffs.notifications import NotificationHub
from services.kit.handoffs.schemas import HandoffView, Notification, TimelineEntry

Purpose = Annotated[AccessPurpose | None, Query(description="Why the record is read (logged).")]


def authorise_read(request: Request, caller: Principal, agency: str) -> None:
    """403 unless the caller may read the agency's records; 403 if it is not hosted here."""
    require_read(caller, agency)
    if agency not in desk_of(request).hosted:
        raise HandoffRefused("not_hosted", f"{agency} is not served by this service")


async def logged(
    request: Request,
    caller: Principal,
    purpose: AccessPurpose | None,
    resource: AccessedResource,
    records: Iterable[tuple[str, UUID | None]],
) -> None:
    """Log the reads of `records` (one access event each), in their own transaction."""
    async with pool_of(request).acquire() as conn, conn.transaction():
        prefix = desk_of(request).topic_prefix
        await log_reads(conn, caller, purpose, resource, records, prefix)


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


def read_router() -> APIRouter:
    """Routes for reading handoffs, timelines and notifications."""
    router = APIRouter(tags=["handoffs"])

    @router.get("/referrals/{referral_id}")
    async def get_referral(
        referral_id: UUID,
        request: Request,
        caller: Caller,
        agency: Annotated[str, Query()],
        purpose: Purpose = None,
    ) -> HandoffView:
        """One handoff, as seen by a hosted agency that is party to it."""
        authorise_read(request, caller, agency)
        async with pool_of(request).acquire() as conn:
            handoff = await repo.get(conn, referral_id)
        if handoff is None or handoff.side_of(agency) is None:
            raise HandoffRefused("not_found", f"{agency} has no handoff {referral_id}")
        await logged(
            request, caller, purpose, AccessedResource.REFERRAL, [(handoff.subject, referral_id)]
        )
        return HandoffView.of(handoff, agency)

    @router.get("/agencies/{agency}/inbox")
    async def inbox(
        agency: str,
        request: Request,
        caller: Caller,
        status: Annotated[list[ReferralState] | None, Query()] = None,
        caseworker: str | None = None,
        older_than_days: Annotated[int | None, Query(ge=0, le=36_500)] = None,
        role: Annotated[str, Query(pattern="^(receiver|sender)$")] = "receiver",
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        purpose: Purpose = None,
    ) -> list[HandoffView]:
        """Handoffs received (or, with role=sender, sent) by a hosted agency."""
        authorise_read(request, caller, agency)
        desk = desk_of(request)
        older = desk.clock() - timedelta(days=older_than_days) if older_than_days else None
        async with pool_of(request).acquire() as conn:
            handoffs = await repo.list_for_agency(
                conn, agency, role, [s.value for s in status or []], caseworker, older, limit
            )
        records = [(h.subject, h.referral_id) for h in handoffs]
        await logged(request, caller, purpose, AccessedResource.INBOX, records)
        return [HandoffView.of(h, agency) for h in handoffs]

    @router.get("/agencies/{agency}/subjects/{subject}/timeline")
    async def timeline(
        agency: str, subject: str, request: Request, caller: Caller, purpose: Purpose = None
    ) -> list[TimelineEntry]:
        """Handoffs about a subject across agencies: those the agency took part in, and the
        referral chains they belong to."""
        authorise_read(request, caller, agency)
        async with pool_of(request).acquire() as conn:
            rows = shared_with(await repo.timeline(conn, subject), agency)
        if not rows:
            raise HandoffRefused("not_found", f"{agency} has no handoffs about this subject")
        await logged(request, caller, purpose, AccessedResource.TIMELINE, [(subject, None)])
        return [TimelineEntry.model_validate(dict(r)) for r in rows]

    @router.get("/agencies/{agency}/notifications")
    async def notifications(
        agency: str,
        request: Request,
        caller: Caller,
        after: int = 0,
        caseworker: str | None = None,
        purpose: Purpose = None,
    ) -> list[Notification]:
        """Stored notifications after a cursor (for clients that poll)."""
        authorise_read(request, caller, agency)
        async with pool_of(request).acquire() as conn:
            rows = await repo.notifications_after(conn, agency, after, caseworker)
        records = [(r["subject"], r["referral_id"]) for r in rows]
        await logged(request, caller, purpose, AccessedResource.INBOX, records)
        return [Notification.model_validate(dict(r)) for r in rows]

    @router.get("/agencies/{agency}/notifications/stream")
    async def notification_stream(
        agency: str,
        request: Request,
        caller: Caller,
        caseworker: str | None = None,
        last_event_id: Annotated[int | None, Header()] = None,
        purpose: Purpose = None,
    ) -> EventSourceResponse:
        """Live Server-Sent Events: new handoffs and status changes for a hosted agency."""
        authorise_read(request, caller, agency)
        hub: NotificationHub = request.app.state.hub

        async def delivered(conn: Connection, rows: list[Any]) -> None:
            # One statement, so atomic on its own: no transaction of its own is needed.
            records = [(r["subject"], r["referral_id"]) for r in rows]
            prefix = desk_of(request).topic_prefix
            await log_reads(conn, caller, purpose, AccessedResource.INBOX, records, prefix)

        return EventSourceResponse(hub.stream(agency, caseworker, last_event_id, delivered))

    return router
