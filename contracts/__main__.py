"""`python -m contracts generate|check`: write or verify the committed schemas and AsyncAPI."""

import argparse
import json
import sys
from pathlib import Path

from contracts.compat import catalogue_breaks
from contracts.documents import asyncapi_document, event_schemas

HERE = Path(__file__).parent
SCHEMA_DIR = HERE / "schemas"
ASYNCAPI_FILE = HERE / "asyncapi.json"


def _dump(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def committed_schemas() -> dict[str, dict[str, object]]:
    """The schemas as committed in the repository."""
    return {p.name: json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.json"))}


def generate() -> int:
    """Refuse a breaking change; otherwise (re)write schemas and the AsyncAPI document."""
    breaks = catalogue_breaks(committed_schemas(), event_schemas())
    if breaks:
        print("Breaking schema changes (publish a new version instead):", *breaks, sep="\n  ")
        return 1
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, schema in event_schemas().items():
        (SCHEMA_DIR / name).write_text(_dump(schema))
    ASYNCAPI_FILE.write_text(_dump(asyncapi_document()))
    print(f"wrote {len(event_schemas())} schemas and {ASYNCAPI_FILE.name}")
    return 0


def check() -> int:
    """Fail when committed documents are stale or the models break them."""
    breaks = catalogue_breaks(committed_schemas(), event_schemas())
    stale = committed_schemas() != event_schemas() or (
        not ASYNCAPI_FILE.exists() or json.loads(ASYNCAPI_FILE.read_text()) != asyncapi_document()
    )
    for line in breaks:
        print("breaking:", line)
    if stale:
        print("committed schemas are out of date: run `make schemas`")
    return 1 if breaks or stale else 0


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m contracts")
    parser.add_argument("command", choices=["generate", "check"])
    args = parser.parse_args()
    return generate() if args.command == "generate" else check()


if __name__ == "__main__":
    sys.exit(main())
