"""Helpers for driving the agency services over HTTP, as an agency system would."""

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from deploy.sse import sse_events

SCHOOL = "ale.school.ale-gymnasium"
ALE_SOCIAL = "ale.social"
ALE_KAA = "ale.kaa"
GBG_KAA = "goteborg.kaa"
AF_GBG = "af.goteborg"


def new_subject() -> str:
    """A fresh pseudonymous subject reference."""
    return uuid.uuid4().hex + uuid.uuid4().hex


def basis(consent_id: str) -> dict[str, str]:
    """A consent legal basis."""
    return {"kind": "consent", "consent_id": consent_id}


async def record_consent(
    http: httpx.AsyncClient,
    agencies: Any,
    subject: str,
    recipients: list[str],
    categories: list[str] | None = None,
    agency: str = SCHOOL,
    service: str = "school",
) -> str:
    """Record the subject's consent at `agency` to share with `recipients`; its id."""
    body = {
        "agency": agency,
        "subject": subject,
        "given_by": "subject",
        "method": "digital_signature",
        "recipients": recipients,
        "data_categories": categories or ["attendance", "case_status"],
        "valid_until": "2030-01-01T00:00:00Z",
    }
    answer = await http.post(
        agencies[service].url + "/consents",
        json=body,
        headers=agencies.headers(f"{agency}.caseworker"),
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["consent_id"])


async def eventually(
    probe: Callable[[], Any], check: Callable[[Any], bool], timeout: float = 30.0
) -> Any:
    """Poll `probe` until `check` accepts its result; fail with the last result."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if check(result):
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s; last: {result!r}")
        await asyncio.sleep(0.1)


class SseListener:
    """Collects the Server-Sent Events of one stream in the background."""

    def __init__(self, client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        self.events: list[dict[str, Any]] = []
        self._client, self._url, self._headers = client, url, headers
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "SseListener":
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 15)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        async with self._client.stream(
            "GET", self._url, headers=self._headers, timeout=None
        ) as response:
            async for kind, data in sse_events(response.aiter_lines()):
                if kind == "ready":
                    self._ready.set()
                elif kind == "handoff":
                    self.events.append(json.loads(data))

    def of(self, referral_id: str) -> list[str]:
        """Event types notified for one referral, in order."""
        return [e["event_type"] for e in self.events if e["referral_id"] == referral_id]

    async def wait_for(self, referral_id: str, event_type: str, timeout: float = 30.0) -> None:
        """Wait until a notification of `event_type` for the referral arrived."""

        async def probe() -> list[str]:
            return self.of(referral_id)

        await eventually(probe, lambda types: event_type in types, timeout)
