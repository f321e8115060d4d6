"""OpenTelemetry set-up and trace-context propagation through Kafka headers.

One trace follows a handoff across services: the HTTP request that stages an event (FastAPI
instrumentation), the outbox relay that publishes it (a producer span, child of the context
stored with the event), and each consumer that handles it (a consumer span, child of the
producer span, whose own outgoing events carry its context on in turn).
"""

import contextlib
from collections.abc import Iterator, Mapping, Sequence

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

tracer = trace.get_tracer("samverkan.outbox")


def setup_tracing(service: str, exporter: str, custom: SpanExporter | None = None) -> None:
    """Install a tracer provider for `service`; `exporter` is none, console, otlp or memory.

    OTLP is configured by the standard OTEL_EXPORTER_OTLP_* variables. A tracer provider can
    be installed once per process; later calls leave the first one in place.
    """
    if exporter == "none" and custom is None:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if custom is not None:
        provider.add_span_processor(SimpleSpanProcessor(custom))
    elif exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def instrument_http(app: FastAPI) -> None:
    """Trace every HTTP request of `app` (not the health and metrics probes)."""
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/health,/metrics")


def inject_context(carrier: dict[str, str], context: Context | None = None) -> dict[str, str]:
    """Add the trace context (traceparent), the current one by default, to `carrier`."""
    propagate.inject(carrier, context=context)
    return carrier


def extract_context(headers: Mapping[str, str]) -> Context:
    """The trace context carried in message headers."""
    return propagate.extract(dict(headers))


@contextlib.contextmanager
def publishing(messages: Sequence[tuple[str, Mapping[str, str]]]) -> Iterator[list[dict[str, str]]]:
    """Producer spans for a batch of (topic, stored headers) being published.

    Each span continues the trace its event was staged in; yields the headers to send, which
    carry the producer span's context so that consumers become its children.
    """
    spans: list[Span] = []
    headers_out: list[dict[str, str]] = []
    for topic, headers in messages:
        span = tracer.start_span(
            f"publish {headers.get('event_type', 'event')}",
            context=extract_context(headers),
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
        )
        spans.append(span)
        headers_out.append(inject_context(dict(headers), trace.set_span_in_context(span)))
    try:
        yield headers_out
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        for span in spans:
            span.end()
