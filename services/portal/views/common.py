"""What every page shares: templates with the catalogue, the signed-in principal, errors."""

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi import Path as InPath
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from contracts.codes import PrincipalRole
from services.kit.agencies import AgencyRegistry
from services.kit.provided import provided, provided_in
from services.portal.i18n import LANGUAGE_COOKIE, LANGUAGES, Texts, choose_language
from services.portal.session import Session, current_session, signed_in
from services.portal.settings import PortalSettings
from services.portal.upstream import Services

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LOCAL_TIME = ZoneInfo("Europe/Stockholm")

SignedIn = Annotated[Session, Depends(signed_in)]
#: The services' APIs (provided once the portal has started: its HTTP client lives in the
#: lifespan). A handler asks for it after the session, so that a page needing a sign-in
#: redirects before any service is involved.
Upstream = Annotated[Services, Depends(provided(Services))]
Settings = Annotated[PortalSettings, Depends(provided(PortalSettings))]
PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
#: A person in an address: always the pseudonym, never a personnummer.
Subject = Annotated[str, InPath(pattern=PSEUDONYM.pattern)]


class RoleRefused(Exception):
    """The signed-in principal's role may not use this page."""


def language(request: Request) -> str:
    """The language of this request's pages."""
    return choose_language(
        request.query_params.get("lang"),
        request.cookies.get(LANGUAGE_COOKIE),
        request.headers.get("accept-language", ""),
    )


def texts(request: Request) -> Texts:
    """The catalogue in this request's language."""
    return Texts(language(request))


def local_time(value: str | datetime | None) -> str:
    """An instant as Swedish local time, to the minute."""
    if value is None:
        return "–"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")


def _page_context(request: Request) -> dict[str, Any]:
    # A context processor is no route: it cannot ask for dependencies.
    registry = provided_in(request.app, AgencyRegistry)
    lang = language(request)

    def agency_name(agency_id: str | None) -> str:
        found = registry.get(agency_id or "")
        return found.name if found is not None else (agency_id or "–")

    def agency_names(agency_ids: list[str]) -> str:
        return ", ".join(agency_name(a) for a in agency_ids)

    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "t": Texts(lang),
        "lang": lang,
        "other_lang": next(code for code in LANGUAGES if code != lang),
        "here": path,
        "session": current_session(request),
        "agency_name": agency_name,
        "agency_names": agency_names,
        "local_time": local_time,
    }


templates = Jinja2Templates(directory=TEMPLATES, context_processors=[_page_context])


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page (or a fragment) of the portal."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    """Redirect after a form was handled, so that reloading does not send it again."""
    return RedirectResponse(url, status_code=303)


def caseworker(session: SignedIn) -> Session:
    """FastAPI dependency: a principal that works handoffs for its agency (not an auditor)."""
    if session.principal.role is PrincipalRole.AUDITOR:
        raise RoleRefused
    return session


def auditor(session: SignedIn) -> Session:
    """FastAPI dependency: an auditor."""
    if session.principal.role is not PrincipalRole.AUDITOR:
        raise RoleRefused
    return session


Caseworker = Annotated[Session, Depends(caseworker)]
Auditor = Annotated[Session, Depends(auditor)]


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to; anything else (another site) becomes `default`."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
