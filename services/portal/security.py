"""Headers and checks that keep the portal's pages safe in a browser.

Every answer forbids framing, sniffing and scripts or styles from anywhere but the portal
itself (no inline script at all), and sends no referrer, with the pseudonyms in its
addresses, to another site. A form posted from another site is refused before it reaches a
handler: the session cookie is SameSite=Strict already, and the Origin and Sec-Fetch-Site
checks make that hold for older browsers too.
"""

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cross_site(method: str, headers: dict[bytes, bytes]) -> bool:
    """Whether a request that changes something comes from another site's page."""
    if method in SAFE_METHODS:
        return False
    fetch_site = headers.get(b"sec-fetch-site", b"").decode()
    if fetch_site in ("cross-site", "same-site"):
        return True
    origin = headers.get(b"origin", b"").decode()
    host = headers.get(b"host", b"").decode()
    return bool(origin) and origin != "null" and urlsplit(origin).netloc != host


class BrowserSecurity:
    """ASGI middleware: security headers on every answer; cross-site form posts refused."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if cross_site(scope["method"], headers):
            await send({"type": "http.response.start", "status": 403, "headers": HEADERS})
            await send({"type": "http.response.body", "body": b"cross-site request refused"})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
