import copy

import pytest

from contracts.__main__ import ASYNCAPI_FILE, committed_schemas
from contracts.compat import breaking_changes, catalogue_breaks
from contracts.documents import asyncapi_document, event_schemas

pytestmark = [pytest.mark.unit, pytest.mark.contracts]
NAME = "ReferralRequested.v1.json"


@pytest.fixture
def schema():
    return copy.deepcopy(event_schemas()[NAME])


def test_committed_schemas_are_current_and_unbroken():
    assert catalogue_breaks(committed_schemas(), event_schemas()) == []
    assert committed_schemas() == event_schemas(), "run `make schemas` and commit the result"
    import json

    assert json.loads(ASYNCAPI_FILE.read_text()) == asyncapi_document()


def test_removing_a_field_breaks(schema):
    new = copy.deepcopy(schema)
    del new["properties"]["reason"]
    assert breaking_changes(schema, new) == ["reason: field removed or renamed"]


def test_renaming_a_field_breaks(schema):
    new = copy.deepcopy(schema)
    new["properties"]["cause"] = new["properties"].pop("reason")
    assert "reason: field removed or renamed" in breaking_changes(schema, new)


def test_retyping_a_field_breaks(schema):
    new = copy.deepcopy(schema)
    new["properties"]["protected_identity"] = {"type": "string"}
    assert breaking_changes(schema, new) == ["protected_identity: type changed"]


def test_a_new_required_field_breaks(schema):
    new = copy.deepcopy(schema)
    new["properties"]["priority"] = {"type": "integer"}
    new["required"] = [*new["required"], "priority"]
    assert breaking_changes(schema, new) == ["priority: new required field"]


def test_removing_an_enum_value_breaks(schema):
    new = copy.deepcopy(schema)
    enum = new["$defs"]["ReferralReason"]["enum"]
    enum.remove("absence")
    assert breaking_changes(schema, new) == ["reason: enum values removed ['absence']"]


def test_additive_changes_do_not_break(schema):
    new = copy.deepcopy(schema)
    new["properties"]["priority"] = {"type": "integer", "default": 0}
    new["$defs"]["ReferralReason"]["enum"].append("new_reason")
    assert breaking_changes(schema, new) == []


def test_removing_an_event_version_breaks():
    old = event_schemas()
    new = {k: v for k, v in old.items() if k != NAME}
    assert catalogue_breaks(old, new) == [f"{NAME}: event schema removed"]
