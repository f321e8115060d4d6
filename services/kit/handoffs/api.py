"""HTTP commands of the handoff loop: thin, they authorise, validate, call the desk."""

from datetime import timedelta
from typing import Annotated
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

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
from services.kit.auth import Principal, current_principal, require_act
from services.kit.consumer import UNAVAILABLE
from services.kit.database import Connection
from services.kit.handoffs import subjects
from services.kit.handoffs.domain import HandoffRefused
from services.kit.handoffs.schemas import (
    Act,
    Assign,
    Cancel,
    Complete,
    Contact,
    Fail,
    HandoffView,
    Pause,
    Redirect,
    ReferralRequest,
    Reject,
    SubjectInput,
    SubjectRegistration,
    SubjectView,
)
from services.kit.handoffs.service import HandoffDesk
from services.kit.identity import Pseudonymizer, parse_personnummer

Caller = Annotated[Principal, Depends(current_principal)]

STATUS_OF_REFUSAL = {
    "not_found": 404,
    "not_hosted": 403,
    "not_a_party": 403,
    "illegal_transition": 409,
    "duplicate_open_referral": 409,
    "unknown_receiver": 422,
    "unknown_referral": 404,
    "unlawful": 422,
    "consent_unknown": 422,
    "invalid_consent": 422,
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


async def subject_of(
    conn: Connection, request: Request, body: SubjectInput, agency: str
) -> tuple[str, bool]:
    """The pseudonym for the person in `body` (registering a personnummer), and protection."""
    if body.personnummer is None:
        assert body.subject is not None
        return body.subject, body.protected_identity or await subjects.is_protected(
            conn, body.subject
        )
    pseudonyms: Pseudonymizer = request.app.state.pseudonyms
    identity = parse_personnummer(body.personnummer)
    return await subjects.register(conn, pseudonyms, identity, agency, body.protected_identity)


def install_error_handler(app: FastAPI) -> None:
    """Map refused changes to 4xx answers that say what is wrong and what is allowed."""

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HandoffRefused)
        body = {"error": exc.code, "detail": exc.detail, **exc.context}
        return JSONResponse(body, status_code=STATUS_OF_REFUSAL.get(exc.code, 400))

    app.add_exception_handler(HandoffRefused, refused)

    async def unstorable_text(_: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL text cannot hold a NUL character, so no stored value can match one.
        body = {"error": "invalid_text", "detail": "text may not contain NUL characters"}
        return JSONResponse(body, status_code=422)

    app.add_exception_handler(asyncpg.CharacterNotInRepertoireError, unstorable_text)

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        # The database is restarting or unreachable: a client may try again shortly.
        body = {"error": "unavailable", "detail": "the database is unavailable; try again"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})

    for error in UNAVAILABLE:
        app.add_exception_handler(error, unavailable)


def _add_action(router: APIRouter, path: str, body_class: type[Act], event: type[Event]) -> None:
    async def action(
        referral_id: UUID,
        body: body_class,  # type: ignore[valid-type]
        request: Request,
        caller: Caller,
    ) -> HandoffView:
        act: Act = body
        require_act(caller, act.agency)
        fields = act.model_dump(exclude={"agency"})
        async with pool_of(request).acquire() as conn, conn.transaction():
            handoff = await desk_of(request).act(conn, referral_id, act.agency, event, **fields)
        return HandoffView.of(handoff, act.agency)

    action.__name__ = f"{path.replace('-', '_')}_referral"
    router.post(f"/referrals/{{referral_id}}/{path}", summary=event.__doc__)(action)


def handoff_router() -> APIRouter:
    """Routes for registering subjects, sending referrals and moving them on."""
    router = APIRouter(tags=["handoffs"])

    @router.post("/subjects", status_code=201)
    async def register_subject(
        body: SubjectRegistration, request: Request, caller: Caller
    ) -> SubjectView:
        """Register a person (by personnummer) and get the pseudonym used for them."""
        require_act(caller, body.agency)
        async with pool_of(request).acquire() as conn, conn.transaction():
            subject, protected = await subject_of(conn, request, body, body.agency)
        return SubjectView(subject=subject, protected_identity=protected)

    @router.post("/referrals", status_code=201)
    async def request_referral(
        body: ReferralRequest, request: Request, caller: Caller
    ) -> HandoffView:
        """Send a referral from a hosted agency to another agency."""
        require_act(caller, body.sender)
        async with pool_of(request).acquire() as conn, conn.transaction():
            subject, protected = await subject_of(conn, request, body, body.sender)
            handoff = await desk_of(request).open(
                conn,
                ReferralRequested,
                sender=body.sender,
                receiver=body.receiver,
                subject=subject,
                legal_basis=body.legal_basis,
                respond_within=timedelta(days=body.respond_within_days),
                reason=body.reason,
                data_categories=tuple(body.data_categories),
                protected_identity=protected,
            )
        return HandoffView.of(handoff, body.sender)

    for path, (body_class, event) in ACTIONS.items():
        _add_action(router, path, body_class, event)

    @router.post("/referrals/{referral_id}/redirect", status_code=201)
    async def redirect_referral(
        referral_id: UUID, body: Redirect, request: Request, caller: Caller
    ) -> HandoffView:
        """Pass a rejected or failed referral on to another agency as a new, linked referral."""
        require_act(caller, body.agency)
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

    return router
