"""The chaos run kills and restarts the broker and PostgreSQL, so it gets a stack of its own:
the rest of the session's tests never see those restarts."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.stack import Stack


@pytest.fixture(scope="module")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A broker and a database server only for this module's faults."""
    with Stack(Path(tmp_path_factory.mktemp("chaos-stack"))) as running:
        yield running
