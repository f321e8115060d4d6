"""Who is signed in: the principal and its API key, sealed in a cookie.

The cookie is encrypted and authenticated (Fernet: AES-CBC with HMAC-SHA256, and a timestamp
for expiry) under a key derived from the portal's secret, so the API key in it can be neither
read nor forged by whoever holds the cookie, and no session store is needed: any portal
process with the same secret can serve any request. It is HttpOnly (no script reads it) and
SameSite=Strict (no other site's page can send it along with a request).
"""

import base64
import time
from dataclasses import dataclass
from typing import Annotated

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from services.kit.auth import Principal
from services.kit.provided import provided, provided_in

COOKIE = "samverkan_session"
_KEY_INFO = b"samverkan.portal.session.v1"


class Session(BaseModel):
    """A signed-in principal and the key the portal calls the services with on its behalf."""

    principal: Principal
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header for the services."""
        return {"Authorization": f"Bearer {self.api_key}"}


class SignInRequired(Exception):
    """The page needs a signed-in principal (or one with another role)."""


@dataclass(frozen=True)
class SessionSeal:
    """Seals sessions into cookie values and opens them again, until they are too old."""

    fernet: Fernet
    max_age_s: int

    @classmethod
    def from_secret(cls, secret: str, max_age_s: int) -> "SessionSeal":
        """A seal keyed by HKDF-SHA256 of the portal's secret."""
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(
            secret.encode()
        )
        return cls(Fernet(base64.urlsafe_b64encode(key)), max_age_s)

    def seal(self, session: Session) -> str:
        """The cookie value for `session`."""
        return self.fernet.encrypt(session.model_dump_json().encode()).decode()

    def seconds_left(self, value: str) -> float:
        """How long the session in a cookie value has left (0 if it cannot be read)."""
        try:
            issued = self.fernet.extract_timestamp(value)
        except InvalidToken:
            return 0.0
        return max(0.0, issued + self.max_age_s - time.time())

    def open(self, value: str) -> Session | None:
        """The session in a cookie value; None if it was tampered with, is foreign or too old."""
        try:
            return Session.model_validate_json(self.fernet.decrypt(value, ttl=self.max_age_s))
        except (InvalidToken, ValidationError):
            return None


Seal = Annotated[SessionSeal, Depends(provided(SessionSeal))]


def session_of(request: Request, seal: SessionSeal) -> Session | None:
    """The session of this request's cookie, if there is a valid one."""
    value = request.cookies.get(COOKIE)
    return seal.open(value) if value else None


def current_session(request: Request) -> Session | None:
    """The session of this request's cookie, for code that runs outside a route's
    dependencies (templates, error pages)."""
    return session_of(request, provided_in(request.app, SessionSeal))


def session_seconds_left(request: Request, seal: SessionSeal) -> float:
    """How long the session of this request's cookie has left."""
    value = request.cookies.get(COOKIE)
    return seal.seconds_left(value) if value else 0.0


async def maybe_signed_in(request: Request, seal: Seal) -> Session | None:
    """FastAPI dependency: the signed-in session, if there is one."""
    return session_of(request, seal)


async def signed_in(request: Request, seal: Seal) -> Session:
    """FastAPI dependency: the signed-in session, or SignInRequired (a redirect to sign in)."""
    session = session_of(request, seal)
    if session is None:
        raise SignInRequired
    return session
