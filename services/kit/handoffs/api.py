"""HTTP entry points of the handoff loop: thin, they validate, call the desk and map errors."""

from datetime import timedelta
from typing import Annotated
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from sse_starlette.sse import EventSourceResponse

from contracts import Event
from contracts.events import (
    CaseworkerAssigned,
    ConcernAcknowledged,
    ContactAttempted,
    FirstContactMade,
    ReferralAccepted,
    ReferralCancelled,
    ReferralCompleted,
    ReferralEnteredInError,
    ReferralFailed,
    ReferralPaused,
    ReferralRedirected,
    ReferralRejected,
    ReferralRequested,
    ReferralResumed,
)
from contracts.lifecycle import ReferralState
from services.kit.handoffs import repository as repo
from services.kit.handoffs.domain import HandoffRefused
from services.kit.handoffs.notifications import NotificationHub
from services.kit.handoffs.schemas import (
    Act,
    Assign,
    Cancel,
    Complete,
    Contact,
    Fail,
    HandoffView,
    Notification,
    Pause,
    Redirect,
    ReferralRequest,
    Reject,
    TimelineEntry,
)
from services.kit.handoffs.service import HandoffDesk

STATUS_OF_REFUSAL = {
    "not_found": 404,
    "not_hosted": 403,
    "not_a_party": 403,
    "illegal_transition": 409,
    "duplicate_open_referral": 409,
    "unknown_receiver": 422,
    "unknown_referral": 404,
}

# path -> (body, event): every receiver or sender action is the same shape of call.
ACTIONS: dict[str, tuple[type[Act], type[Event]]] = {
    "accept": (Act, ReferralAccepted),
    "acknowledge": (Act, ConcernAcknowledged),
    "reject": (Reject, ReferralRejected),
    "assign": (Assign, CaseworkerAssigned),
    "contact-attempts": (Contact, ContactAttempted),
    "first-contact": (Contact, FirstContactMade),
    "pause": (Pause, ReferralPaused),
    "resume": (Act, ReferralResumed),
    "complete": (Complete, ReferralCompleted),
    "fail": (Fail, ReferralFailed),
    "cancel": (Cancel, ReferralCancelled),
    "entered-in-error": (Act, ReferralEnteredInError),
}


def desk_of(request: Request) -> HandoffDesk:
    """The service's handoff desk."""
    desk: HandoffDesk = request.app.state.desk
    return desk


def pool_of(request: Request) -> asyncpg.Pool:
    """The service's database pool."""
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def install_error_handler(app: FastAPI) -> None:
    """Map refused changes to 4xx answers that say what is wrong and what is allowed."""

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HandoffRefused)
        body = {"error": exc.code, "detail": exc.detail, **exc.context}
        return JSONResponse(body, status_code=STATUS_OF_REFUSAL.get(exc.code, 400))

    app.add_exception_handler(HandoffRefused, refused)


def _require_hosted(request: Request, agency: str) -> None:
    if agency not in desk_of(request).hosted:
        raise HandoffRefused("not_hosted", f"{agency} is not served by this service")


def _add_action(router: APIRouter, path: str, body_class: type[Act], event: type[Event]) -> None:
    async def action(referral_id: UUID, body: body_class, request: Request) -> HandoffView:  # type: ignore[valid-type]
        act: Act = body
        fields = act.model_dump(exclude={"agency"})
        async with pool_of(request).acquire() as conn, conn.transaction():
            handoff = await desk_of(request).act(conn, referral_id, act.agency, event, **fields)
        return HandoffView.of(handoff, act.agency)

    action.__name__ = f"{path.replace('-', '_')}_referral"
    router.post(f"/referrals/{{referral_id}}/{path}", summary=event.__doc__)(action)


def handoff_router() -> APIRouter:
    """Routes for sending, acting on and following handoffs."""
    router = APIRouter(tags=["handoffs"])

    @router.post("/referrals", status_code=201)
    async def request_referral(body: ReferralRequest, request: Request) -> HandoffView:
        """Send a referral from a hosted agency to another agency."""
        async with pool_of(request).acquire() as conn, conn.transaction():
            handoff = await desk_of(request).open(
                conn,
                ReferralRequested,
                sender=body.sender,
                receiver=body.receiver,
                subject=body.subject,
                legal_basis=body.legal_basis,
                respond_within=timedelta(days=body.respond_within_days),
                reason=body.reason,
                data_categories=tuple(body.data_categories),
                protected_identity=body.protected_identity,
            )
        return HandoffView.of(handoff, body.sender)

    for path, (body_class, event) in ACTIONS.items():
        _add_action(router, path, body_class, event)

    @router.post("/referrals/{referral_id}/redirect", status_code=201)
    async def redirect_referral(referral_id: UUID, body: Redirect, request: Request) -> HandoffView:
        """Pass a rejected or failed referral on to another agency as a new, linked referral."""
        desk, new_id = desk_of(request), uuid4()
        async with pool_of(request).acquire() as conn, conn.transaction():
            old = await desk.act(
                conn, referral_id, body.agency, ReferralRedirected,
                new_referral_id=new_id, new_receiver=body.receiver,
            )  # fmt: skip
            handoff = await desk.open(
                conn,
                ReferralRequested,
                referral_id=new_id,
                sender=body.agency,
                receiver=body.receiver,
                subject=old.subject,
                legal_basis=body.legal_basis or old.basis,
                respond_within=timedelta(days=body.respond_within_days),
                reason=body.reason,
                data_categories=tuple(body.data_categories),
                parent_referral_id=referral_id,
                protected_identity=old.protected_identity,
            )
        return HandoffView.of(handoff, body.agency)

    @router.get("/referrals/{referral_id}")
    async def get_referral(
        referral_id: UUID, request: Request, agency: Annotated[str, Query()]
    ) -> HandoffView:
        """One handoff, as seen by a hosted agency that is party to it."""
        _require_hosted(request, agency)
        async with pool_of(request).acquire() as conn:
            handoff = await repo.get(conn, referral_id)
        if handoff is None or handoff.side_of(agency) is None:
            raise HandoffRefused("not_found", f"{agency} has no handoff {referral_id}")
        return HandoffView.of(handoff, agency)

    @router.get("/agencies/{agency}/inbox")
    async def inbox(
        agency: str,
        request: Request,
        status: Annotated[list[ReferralState] | None, Query()] = None,
        caseworker: str | None = None,
        older_than_days: Annotated[int | None, Query(ge=0)] = None,
        role: Annotated[str, Query(pattern="^(receiver|sender)$")] = "receiver",
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[HandoffView]:
        """Handoffs received (or, with role=sender, sent) by a hosted agency."""
        _require_hosted(request, agency)
        desk = desk_of(request)
        older = desk.clock() - timedelta(days=older_than_days) if older_than_days else None
        async with pool_of(request).acquire() as conn:
            handoffs = await repo.list_for_agency(
                conn, agency, role, [s.value for s in status or []], caseworker, older, limit
            )
        return [HandoffView.of(h, agency) for h in handoffs]

    @router.get("/agencies/{agency}/subjects/{subject}/timeline")
    async def timeline(agency: str, subject: str, request: Request) -> list[TimelineEntry]:
        """Every handoff about a subject the agency deals with, across all agencies."""
        _require_hosted(request, agency)
        async with pool_of(request).acquire() as conn:
            if not await repo.is_party_to_subject(conn, subject, frozenset({agency})):
                raise HandoffRefused("not_found", f"{agency} has no handoffs about this subject")
            rows = await repo.timeline(conn, subject)
        return [TimelineEntry.model_validate(dict(r)) for r in rows]

    @router.get("/agencies/{agency}/notifications")
    async def notifications(
        agency: str, request: Request, after: int = 0, caseworker: str | None = None
    ) -> list[Notification]:
        """Stored notifications after a cursor (for clients that poll)."""
        _require_hosted(request, agency)
        async with pool_of(request).acquire() as conn:
            rows = await repo.notifications_after(conn, agency, after, caseworker)
        return [Notification.model_validate(dict(r)) for r in rows]

    @router.get("/agencies/{agency}/notifications/stream")
    async def notification_stream(
        agency: str,
        request: Request,
        caseworker: str | None = None,
        last_event_id: Annotated[int | None, Header()] = None,
    ) -> EventSourceResponse:
        """Live Server-Sent Events: new handoffs and status changes for a hosted agency."""
        _require_hosted(request, agency)
        hub: NotificationHub = request.app.state.hub
        return EventSourceResponse(hub.stream(agency, caseworker, last_event_id))

    return router
