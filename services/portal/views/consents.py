"""The consents a person gave: listed, recorded and withdrawn by a caseworker of the agency
that holds them (a signed paper form, a documented conversation). A consent in force is what
a referral may be sent on; withdrawing one stops all sharing under it."""

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from contracts.codes import ConsentGiver, ConsentMethod, DataCategory, HandoffKind
from services.portal.session import Session
from services.portal.upstream import ServiceRefused, Services
from services.portal.views.common import (
    LOCAL_TIME,
    Caseworker,
    Subject,
    Upstream,
    page,
    see_other,
)

DONE = ("recorded", "withdrawn")
STANDINGS = ("in_force", "withdrawn", "expired", "pending")


def standing(consent: dict[str, Any], now: datetime) -> str:
    """Whether a consent is in force, withdrawn, expired or not yet valid."""
    if consent["withdrawn_at"] is not None:
        return "withdrawn"
    if now >= datetime.fromisoformat(consent["valid_until"]):
        return "expired"
    if now < datetime.fromisoformat(consent["valid_from"]):
        return "pending"
    return "in_force"


def end_of_day(day: date) -> str:
    """The last moment of `day` in Swedish local time: a consent valid "until" a date covers
    that whole date."""
    return datetime.combine(day, time.max, LOCAL_TIME).isoformat()


async def subject_consents(
    services: Services, session: Session, subject: str
) -> list[dict[str, Any]]:
    """The person's consents the signed-in agency recorded or is named in, each with its
    `standing` now."""
    agency = session.principal.agency
    found = await services.get_own(session, f"/agencies/{agency}/subjects/{subject}/consents")
    now = datetime.now(LOCAL_TIME)
    return [{**c, "standing": standing(c, now)} for c in found]


async def _consents_page(
    request: Request,
    services: Services,
    session: Session,
    subject: str,
    done: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    agency = session.principal.agency
    return page(
        request,
        "consents.html",
        status_code,
        subject=subject,
        consents=await subject_consents(services, session, subject),
        recipients=services.registry.receivers(HandoffKind.REFERRAL, {agency}),
        givers=[g.value for g in ConsentGiver],
        methods=[m.value for m in ConsentMethod],
        categories=[c.value for c in DataCategory],
        default_until=(datetime.now(LOCAL_TIME) + timedelta(days=365)).date().isoformat(),
        done=done if done in DONE else None,
        error=error,
    )


async def _call(
    request: Request,
    services: Services,
    session: Session,
    subject: str,
    path: str,
    body: dict[str, Any],
    done: str,
) -> HTMLResponse | RedirectResponse:
    """Send a consent's change to the agency's service; the page again if it refuses."""
    try:
        await services.post_own(session, path, body)
    except ServiceRefused as refused:
        return await _consents_page(
            request, services, session, subject, error=refused.detail, status_code=refused.status
        )
    return see_other(f"/subjects/{subject}/consents?done={done}")


async def consents(
    request: Request,
    session: Caseworker,
    services: Upstream,
    subject: Subject,
    done: str | None = None,
) -> HTMLResponse:
    """The person's consents that the agency recorded or is named in; a form for a new
    one."""
    return await _consents_page(request, services, session, subject, done)


async def record(
    request: Request,
    session: Caseworker,
    services: Upstream,
    subject: Subject,
    given_by: Annotated[ConsentGiver, Form()],
    method: Annotated[ConsentMethod, Form()],
    recipients: Annotated[list[str], Form()],
    data_categories: Annotated[list[DataCategory], Form()],
    valid_until: Annotated[date, Form()],
) -> HTMLResponse | RedirectResponse:
    """Record a consent the person gave to the caseworker's agency."""
    body = {
        "agency": session.principal.agency,
        "subject": subject,
        "given_by": given_by.value,
        "method": method.value,
        "recipients": recipients,
        "data_categories": [c.value for c in data_categories],
        "valid_until": end_of_day(valid_until),
    }
    return await _call(request, services, session, subject, "/consents", body, "recorded")


async def withdraw(
    request: Request, session: Caseworker, services: Upstream, subject: Subject, consent_id: UUID
) -> HTMLResponse | RedirectResponse:
    """Withdraw a consent the agency recorded: nothing more is shared under it."""
    body = {"agency": session.principal.agency}
    path = f"/consents/{consent_id}/withdraw"
    return await _call(request, services, session, subject, path, body, "withdrawn")


def router() -> APIRouter:
    """Routes of the consent page."""
    routes = APIRouter()
    routes.get("/subjects/{subject}/consents", response_class=HTMLResponse)(consents)
    routes.post("/subjects/{subject}/consents", response_model=None)(record)
    routes.post("/subjects/{subject}/consents/{consent_id}/withdraw", response_model=None)(withdraw)
    return routes
