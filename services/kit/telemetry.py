"""OpenTelemetry set-up and trace-context propagation through Kafka headers."""

from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)


def setup_tracing(service: str, exporter: str, custom: SpanExporter | None = None) -> None:
    """Install a tracer provider for `service`; `exporter` is none, console, otlp or memory."""
    if exporter == "none" and custom is None:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if custom is not None:
        provider.add_span_processor(SimpleSpanProcessor(custom))
    elif exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
            OTLPSpanExporter,
        )

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def inject_context(carrier: dict[str, str]) -> dict[str, str]:
    """Add the current trace context (traceparent) to `carrier` and return it."""
    propagate.inject(carrier)
    return carrier


def extract_context(headers: Mapping[str, str]) -> Context:
    """The trace context carried in message headers."""
    return propagate.extract(dict(headers))
