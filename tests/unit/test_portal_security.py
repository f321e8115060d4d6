"""The portal's pages in a browser's terms: security headers, cross-site posts refused,
sign-in required, safe redirects, language chosen and kept. No service is called."""

import httpx
import pytest

from services.portal.bootstrap import create_app
from services.portal.security import cross_site
from services.portal.settings import PortalSettings
from services.portal.views.common import safe_next

pytestmark = [pytest.mark.unit, pytest.mark.ui]


@pytest.fixture
async def client():
    # These pages call no service, so the app runs without its lifespan's HTTP client.
    settings = PortalSettings(
        service_urls={"school": "http://127.0.0.1:9"},
        portal_session_secret="a-test-secret-that-is-long-enough-0123456789",
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


async def test_pages_forbid_framing_foreign_scripts_and_sniffing(client):
    page = await client.get("/sign-in")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<html lang="sv">' in page.text
    assert '<label for="api-key">API-nyckel</label>' in page.text


async def test_pages_that_need_a_principal_send_to_sign_in(client):
    for path in ("/inbox", "/audit", "/referrals/new"):
        answer = await client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/sign-in?next=")


def test_a_post_from_another_site_is_refused():
    assert cross_site("POST", {b"origin": b"https://evil.example", b"host": b"portal.test"})
    assert cross_site("POST", {b"sec-fetch-site": b"cross-site", b"host": b"portal.test"})
    assert not cross_site("POST", {b"origin": b"http://portal.test", b"host": b"portal.test"})
    assert not cross_site("GET", {b"origin": b"https://evil.example", b"host": b"portal.test"})


async def test_the_language_switch_is_kept_and_returns_only_to_local_pages(client):
    answer = await client.get("/language?lang=en&next=/sign-in")
    assert answer.headers["location"] == "/sign-in"
    assert '<html lang="en">' in (await client.get("/sign-in")).text
    assert safe_next("https://evil.example/") == "/"
    assert safe_next("//evil.example/") == "/"
    assert safe_next("/\\evil.example/") == "/"
    assert safe_next("/inbox?status=received") == "/inbox?status=received"
