"""The services' public HTTP APIs, called with the signed-in principal's own API key.

The portal holds no data and no privileges of its own: every answer it shows is one the
principal could have fetched itself, and every read is logged by the service that answers it,
under the principal's name.
"""

from collections.abc import Mapping
from typing import Any

import httpx

from services.kit.agencies import AgencyRegistry
from services.kit.auth import Principal
from services.kit.telemetry import inject_context
from services.portal.session import Session

AUDIT_SERVICE = "audit"


class ServiceRefused(Exception):
    """A service answered with an error; `detail` says why, as the service put it."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class ServiceUnavailable(Exception):
    """A service could not be reached."""


def _detail(answer: httpx.Response) -> str:
    """A readable reason from an error answer (refusals, validation errors, plain text)."""
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:300] or answer.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):  # validation errors: where and what
        return "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg', '')}"
            for d in detail
            if isinstance(d, dict)
        )
    return str(detail)


class Services:
    """Where each agency's service is, and calls to it on a principal's behalf."""

    def __init__(
        self, http: httpx.AsyncClient, registry: AgencyRegistry, urls: Mapping[str, str]
    ) -> None:
        self.http = http
        self.registry = registry
        self.urls = dict(urls)

    def of_agency(self, agency: str) -> str:
        """Base URL of the service that hosts `agency`."""
        found = self.registry.get(agency)
        if found is None or found.service not in self.urls:
            raise ServiceUnavailable(f"no service is configured for agency {agency}")
        return self.urls[found.service]

    @property
    def audit(self) -> str:
        """Base URL of the audit service."""
        if AUDIT_SERVICE not in self.urls:
            raise ServiceUnavailable("no audit service is configured")
        return self.urls[AUDIT_SERVICE]

    async def whoami(self, api_key: str) -> Principal | None:
        """The principal holding `api_key`, asked of the configured services in turn."""
        if not (api_key.isascii() and api_key.isprintable()):
            return None  # no key has such characters, and no header could carry them
        headers = {"Authorization": f"Bearer {api_key}"}
        for url in self.urls.values():
            try:
                answer = await self.http.get(f"{url}/whoami", headers=inject_context(headers))
            except httpx.HTTPError:
                continue
            if answer.status_code == 200:
                return Principal.model_validate(answer.json())
            if answer.status_code == 401:
                return None
        raise ServiceUnavailable("no service answered")

    async def get(
        self, session: Session, base: str, path: str, params: Mapping[str, Any] | None = None
    ) -> Any:
        """GET a JSON answer, or ServiceRefused / ServiceUnavailable."""
        return await self._call("GET", session, base, path, params=params)

    async def post(self, session: Session, base: str, path: str, body: Mapping[str, Any]) -> Any:
        """POST a JSON body, or ServiceRefused / ServiceUnavailable."""
        return await self._call("POST", session, base, path, json=body)

    async def get_own(
        self, session: Session, path: str, params: Mapping[str, Any] | None = None
    ) -> Any:
        """GET from the service that hosts the signed-in principal's agency."""
        return await self.get(session, self.of_agency(session.principal.agency), path, params)

    async def post_own(self, session: Session, path: str, body: Mapping[str, Any]) -> Any:
        """POST to the service that hosts the signed-in principal's agency."""
        return await self.post(session, self.of_agency(session.principal.agency), path, body)

    async def _call(self, method: str, session: Session, base: str, path: str, **kw: Any) -> Any:
        headers = inject_context(dict(session.headers))
        try:
            answer = await self.http.request(method, base + path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"{base}: {exc}") from exc
        if answer.status_code >= 400:
            raise ServiceRefused(answer.status_code, _detail(answer))
        return answer.json()

    async def open_stream(
        self, session: Session, base: str, path: str, last_event_id: str | None
    ) -> httpx.Response:
        """An open Server-Sent Events answer (the caller closes it), or ServiceRefused."""
        headers = inject_context({**session.headers, "Accept": "text/event-stream"})
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        # No read timeout: the stream is quiet until something happens (the service pings).
        timeout = httpx.Timeout(self.http.timeout.connect, read=None)
        request = self.http.build_request("GET", base + path, headers=headers, timeout=timeout)
        try:
            answer = await self.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"{base}: {exc}") from exc
        if answer.status_code >= 400:
            await answer.aread()
            await answer.aclose()
            raise ServiceRefused(answer.status_code, _detail(answer))
        return answer
