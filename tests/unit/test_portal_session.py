"""Sessions: the API key is sealed (encrypted and authenticated) in the cookie, expires, and
the portal refuses to start without a secret or the services' addresses."""

import time

import pytest
from pydantic import ValidationError

from contracts.codes import PrincipalRole
from services.kit.auth import Principal
from services.portal.session import Session, SessionSeal
from services.portal.settings import PortalSettings

pytestmark = [pytest.mark.unit, pytest.mark.lawful]

SECRET = "a-test-secret-that-is-long-enough-0123456789"
SESSION = Session(
    principal=Principal(
        id="ale.social.caseworker", role=PrincipalRole.CASEWORKER, agency="ale.social"
    ),
    api_key="the-api-key-itself",
)


def test_a_sealed_session_opens_again_and_hides_the_key():
    seal = SessionSeal.from_secret(SECRET, 3600)
    value = seal.seal(SESSION)
    assert "the-api-key-itself" not in value
    assert seal.open(value) == SESSION


def test_a_session_knows_how_long_it_has_left():
    seal = SessionSeal.from_secret(SECRET, 3600)
    issued = int(time.time()) - 600
    value = seal.fernet.encrypt_at_time(SESSION.model_dump_json().encode(), issued).decode()
    assert 2990 <= seal.seconds_left(value) <= 3000
    old = seal.fernet.encrypt_at_time(SESSION.model_dump_json().encode(), issued - 3600)
    assert seal.seconds_left(old.decode()) == 0
    assert seal.seconds_left(value[:-6] + ("A" if value[-6] != "A" else "B") + value[-5:]) == 0
    assert seal.seconds_left("not a token") == 0


def test_a_tampered_foreign_or_old_cookie_is_no_session():
    seal = SessionSeal.from_secret(SECRET, 3600)
    value = seal.seal(SESSION)
    assert seal.open(value[:-6] + ("A" if value[-6] != "A" else "B") + value[-5:]) is None
    assert SessionSeal.from_secret(SECRET + "x", 3600).open(value) is None
    old = seal.fernet.encrypt_at_time(SESSION.model_dump_json().encode(), int(time.time()) - 3601)
    assert seal.open(old.decode()) is None
    assert seal.open("not a token") is None


def test_the_portal_refuses_to_start_without_a_strong_secret_or_services():
    urls = {"school": "http://127.0.0.1:8001"}
    with pytest.raises(RuntimeError, match="SESSION_SECRET"):
        PortalSettings(service_urls=urls).checked()
    with pytest.raises(RuntimeError, match="SESSION_SECRET"):
        PortalSettings(service_urls=urls, portal_session_secret="short").checked()
    with pytest.raises(RuntimeError, match="SERVICE_URLS"):
        PortalSettings(portal_session_secret=SECRET).checked()
    with pytest.raises(ValidationError, match="http"):
        PortalSettings(service_urls={"school": "file:///etc/passwd"})
    with pytest.raises(ValidationError, match="32 bytes"):
        PortalSettings(audit_public_key="c2hvcnQ=")
    ok = PortalSettings(
        service_urls={"school": "http://school:8000/"}, portal_session_secret=SECRET
    )
    assert ok.checked().service_urls == {"school": "http://school:8000"}


def test_service_urls_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv("SAMVERKAN_SERVICE_URLS", '{"audit": "http://audit:8000"}')
    assert PortalSettings().service_urls == {"audit": "http://audit:8000"}
