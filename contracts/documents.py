"""JSON Schema per event and the AsyncAPI document, built from the models (pure functions)."""

from typing import Any

from contracts.envelope import Event
from contracts.registry import REGISTRY
from contracts.topics import DEAD_LETTER, EVENT_TOPICS

ASYNCAPI_VERSION = "3.0.0"


def schema_name(event_type: str, version: int) -> str:
    """File name of one event's schema."""
    return f"{event_type}.v{version}.json"


def event_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12, as Pydantic writes it) for every registered event."""
    return {
        schema_name(event_type, version): model.model_json_schema(mode="serialization")
        for (event_type, version), model in sorted(REGISTRY.items())
    }


def _message(model: type[Event]) -> dict[str, Any]:
    event_type = model.model_fields["event_type"].default
    version = model.model_fields["schema_version"].default
    return {
        "name": event_type,
        "title": f"{event_type} v{version}",
        "summary": (model.__doc__ or "").strip().splitlines()[0],
        "contentType": "application/json",
        "headers": {"type": "object", "properties": {"event_type": {"const": event_type}}},
        "correlationId": {"location": "$message.payload#/correlation_id"},
        "payload": {"$ref": f"schemas/{schema_name(event_type, version)}"},
    }


def asyncapi_document() -> dict[str, Any]:
    """An AsyncAPI 3 document describing every topic and the events on it."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in EVENT_TOPICS:
        channel_id = topic.name.replace(".", "_")
        refs = {}
        for model in topic.events:
            msg = _message(model)
            messages[msg["name"]] = msg
            refs[msg["name"]] = {"$ref": f"#/components/messages/{msg['name']}"}
        channels[channel_id] = {
            "address": topic.name,
            "description": f"{topic.partitions} partitions, keyed by correlation (referral) id.",
            "messages": refs,
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
        }
    channels[DEAD_LETTER.name.replace(".", "_")] = {
        "address": DEAD_LETTER.name,
        "description": "Messages that could not be handled: original bytes plus reason headers.",
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Samverkan events",
            "version": "1.0.0",
            "description": "Referral and status events exchanged between agencies.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
