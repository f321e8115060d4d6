"""Moving code between packages must not change any public HTTP API: every service's OpenAPI
document (paths, operation ids, request and response models) equals the snapshot taken before
the loop left the kit. A deliberate API change updates the snapshot in the same commit
(`python -m tests.structure.openapi_snapshot`)."""

import json

import pytest

from tests.structure.openapi_snapshot import SERVICE_NAMES, SNAPSHOTS, openapi_of

pytestmark = [pytest.mark.unit, pytest.mark.structure]


@pytest.mark.parametrize("name", [*SERVICE_NAMES, "portal"])
def test_the_openapi_document_is_the_snapshot(name, tmp_path, monkeypatch):
    expected = json.loads((SNAPSHOTS / f"{name}.json").read_text())
    actual = json.loads(json.dumps(openapi_of(name, tmp_path, monkeypatch), sort_keys=True))
    assert sorted(actual["paths"]) == sorted(expected["paths"])
    for path, operations in expected["paths"].items():
        for method, operation in operations.items():
            got = actual["paths"][path].get(method)
            assert got is not None, f"{method.upper()} {path} is gone"
            assert got["operationId"] == operation["operationId"], (method, path)
    assert actual == expected
