"""One trace follows a referral across the school, social and employment services.

The three services run in this process, each its own application with its own lifespan,
database, Kafka principal, consumer groups and outbox relay, on the real broker and database,
so that one in-memory span exporter sees every span. Nothing but Kafka connects them: each
relay and consumer runs in a task started by its own service with no trace context of its
own, so a span can only join the referral's trace through the traceparent stored in an
outbox row and carried in a Kafka header. (As OS processes, the same spans go to each
process's own exporter, OTLP or console, and no single test exporter could see them all.)
"""

import contextlib
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from deploy.credentials import demo_principals, new_pseudonym_key, write_principals
from services.employment.bootstrap import create_app as employment_app
from services.employment.settings import EmploymentSettings
from services.kit.agencies import AgencyRegistry
from services.kit.settings import DatabaseSettings, ServiceSettings
from services.kit.telemetry import setup_tracing
from services.school.bootstrap import create_app as school_app
from services.school.settings import SchoolSettings
from services.social.bootstrap import create_app as social_app
from services.social.settings import SocialSettings
from tests.e2e.agencies import ALE_SOCIAL, SCHOOL, basis, eventually, new_subject

pytestmark = [pytest.mark.e2e, pytest.mark.audit]

SERVICES = {
    "school": (SchoolSettings, school_app),
    "social": (SocialSettings, social_app),
    "employment": (EmploymentSettings, employment_app),
}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span this process finishes while the test runs."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):  # installed earlier in this process
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        setup_tracing("samverkan", "none", custom=exporter)
    yield exporter
    exporter.shutdown()


class Agencies(dict[str, httpx.AsyncClient]):
    """An HTTP client per service, and the API keys of the principals."""

    api_keys: dict[str, str]

    def headers(self, agency: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_keys[f'{agency}.caseworker']}"}


@pytest.fixture
async def agencies(spans, topic_prefix, new_database, kafka_settings, tmp_path):
    registry = AgencyRegistry.load(ServiceSettings.model_fields["agencies_file"].default)
    keys = write_principals(
        demo_principals(registry), tmp_path / "principals.yaml", tmp_path / "keys.json"
    )
    pseudonym_key = new_pseudonym_key()
    clients = Agencies()
    clients.api_keys = keys
    async with contextlib.AsyncExitStack() as stack:
        for name, (settings_class, create_app) in SERVICES.items():
            settings = settings_class(
                kafka=kafka_settings(name, topic_prefix=topic_prefix, session_timeout_ms=6000),
                db=DatabaseSettings(dsn=await new_database(name)),
                principals_file=tmp_path / "principals.yaml",
                pseudonym_key=pseudonym_key,
            )
            app: FastAPI = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=f"http://{name}", timeout=30
                )
            )
        yield clients


def children(parent: ReadableSpan, found: list[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in found if s.parent is not None and s.parent.span_id == parent.context.span_id]


def one(candidates: list[ReadableSpan], name: str, **attributes: str) -> ReadableSpan:
    matching = [
        s
        for s in candidates
        if s.name == name and all(s.attributes.get(k) == v for k, v in attributes.items())
    ]
    assert len(matching) == 1, (name, attributes, [(s.name, s.attributes) for s in candidates])
    return matching[0]


async def test_one_trace_covers_a_referral_from_school_through_social_to_employment(
    agencies, spans
):
    school, social = agencies["school"], agencies["social"]
    subject = new_subject()
    consent = await school.post(
        "/consents",
        headers=agencies.headers(SCHOOL),
        json={
            "agency": SCHOOL, "subject": subject, "given_by": "subject",
            "method": "digital_signature", "recipients": [ALE_SOCIAL],
            "data_categories": ["attendance"], "valid_until": "2030-01-01T00:00:00Z",
        },
    )  # fmt: skip
    assert consent.status_code == 201, consent.text
    referral = await school.post(
        "/referrals",
        headers=agencies.headers(SCHOOL),
        json={
            "sender": SCHOOL, "receiver": ALE_SOCIAL, "subject": subject, "reason": "absence",
            "data_categories": ["attendance"],
            "legal_basis": basis(consent.json()["consent_id"]),
        },
    )  # fmt: skip
    assert referral.status_code == 201, referral.text
    rid = referral.json()["referral_id"]

    def finished() -> list[ReadableSpan]:
        return list(spans.get_finished_spans())

    async def employment_saw_the_receipt() -> list[ReadableSpan]:
        return [
            s
            for s in finished()
            if s.name == "handle ReferralReceived"
            and s.attributes.get("samverkan.consumer") == "employment.handoffs"
        ]

    await eventually(employment_saw_the_receipt, bool)
    request = one([s for s in finished() if s.kind is SpanKind.SERVER], "POST /referrals")
    trace_id = request.context.trace_id
    in_trace = [s for s in finished() if s.context.trace_id == trace_id]

    staged = one(children(request, in_trace), "publish ReferralRequested")
    assert staged.kind is SpanKind.PRODUCER
    assert staged.attributes["messaging.destination.name"].endswith("samverkan.handoffs.v1")
    # Social services may handle it more than once in the trace (a retry while the consent
    # is still on its way); exactly one of those attempts publishes the receipt.
    attempts = [
        s
        for s in children(staged, in_trace)
        if s.name == "handle ReferralRequested"
        and s.attributes.get("samverkan.consumer") == "social.handoffs"
    ]
    assert attempts, "social services' handling is not in the school's trace"
    receipt = one(
        [c for attempt in attempts for c in children(attempt, in_trace)], "publish ReferralReceived"
    )
    one(
        children(receipt, in_trace),
        "handle ReferralReceived",
        **{"samverkan.consumer": "employment.handoffs"},
    )
    # Every service took part in this one trace: the school's request and publication above,
    # social services' and employment's handlers. (The school's own copy of its event is a
    # known duplicate to its inbox and is not handled again.)
    consumers = {s.attributes.get("samverkan.consumer") for s in in_trace}
    assert {"social.handoffs", "employment.handoffs"} <= consumers
    answer = await social.get(
        f"/referrals/{rid}", params={"agency": ALE_SOCIAL}, headers=agencies.headers(ALE_SOCIAL)
    )
    assert answer.json()["state"] == "received"
