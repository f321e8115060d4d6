"""HTTP commands of the handoff loop: thin, they authorise, validate, call the desk."""

from datetime import timedelta
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends

from contracts import Event
from contracts.catalogue import EVENT_TABLE
from contracts.events import (
    CaseworkerAssigned,
    ContactAttempted,
    FirstContactMade,
    ReferralCancelled,
    ReferralCompleted,
    ReferralFailed,
    ReferralPaused,
    ReferralRedirected,
    ReferralRejected,
    ReferralRequested,
)
from services.features.handoffs.schemas import (
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
)
from services.features.handoffs.service import HandoffDesk
from services.features.subjects.api import Pseudonyms, subject_of
from services.kit.commands import Commands
from services.kit.dependencies import Caller
from services.kit.provided import provided
from services.kit.schemas import Act

Desk = Annotated[HandoffDesk, Depends(provided(HandoffDesk))]

# The request body of each action whose event carries a coded field; the others name only
# the acting agency.
BODIES: dict[type[Event], type[Act]] = {
    ReferralRejected: Reject,
    CaseworkerAssigned: Assign,
    ContactAttempted: Contact,
    FirstContactMade: Contact,
    ReferralPaused: Pause,
    ReferralCompleted: Complete,
    ReferralFailed: Fail,
    ReferralCancelled: Cancel,
}
# Redirecting opens a new referral as well: it has a route of its own.
_OWN_ROUTES = frozenset({ReferralRedirected})

# action -> (body, event), from the event table: every receiver or sender action is the same
# shape of call.
ACTIONS: dict[str, tuple[type[Act], type[Event]]] = {
    meaning.action: (BODIES.get(meaning.model, Act), meaning.model)
    for meaning in EVENT_TABLE.values()
    if meaning.action is not None and meaning.model not in _OWN_ROUTES
}


async def request_referral(
    body: ReferralRequest, caller: Caller, commands: Commands, desk: Desk, pseudonyms: Pseudonyms
) -> HandoffView:
    """Send a referral from a hosted agency to another agency."""
    async with commands.acting_for(caller, body.sender) as conn:
        subject, protected = await subject_of(conn, pseudonyms, body, body.sender)
        handoff = await desk.open(
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


async def redirect_referral(
    referral_id: UUID, body: Redirect, caller: Caller, commands: Commands, desk: Desk
) -> HandoffView:
    """Pass a rejected or failed referral on to another agency as a new, linked referral."""
    new_id = uuid4()
    async with commands.acting_for(caller, body.agency) as conn:
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


def _add_action(router: APIRouter, path: str, body_class: type[Act], event: type[Event]) -> None:
    """One route per action of the event table: the body names the acting agency and the
    action's coded field, and the desk makes the event."""

    async def action(
        referral_id: UUID,
        body: body_class,  # type: ignore[valid-type]
        caller: Caller,
        commands: Commands,
        desk: Desk,
    ) -> HandoffView:
        act: Act = body
        fields = act.model_dump(exclude={"agency"})
        async with commands.acting_for(caller, act.agency) as conn:
            handoff = await desk.act(conn, referral_id, act.agency, event, **fields)
        return HandoffView.of(handoff, act.agency)

    action.__name__ = f"{path.replace('-', '_')}_referral"
    router.post(f"/referrals/{{referral_id}}/{path}", summary=event.__doc__)(action)


def handoff_router() -> APIRouter:
    """Routes for sending referrals and moving them on."""
    router = APIRouter(tags=["handoffs"])
    router.post("/referrals", status_code=201)(request_referral)
    for path, (body_class, event) in ACTIONS.items():
        _add_action(router, path, body_class, event)
    router.post("/referrals/{referral_id}/redirect", status_code=201)(redirect_referral)
    return router
