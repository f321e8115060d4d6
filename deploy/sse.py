"""Reading a Server-Sent Events stream, for clients of the notification streams."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """(event name, data) for each event in a stream of SSE lines."""
    kind, data = "message", ""
    async for line in lines:
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data += line.split(":", 1)[1].strip()
        elif not line:
            if data:
                yield kind, data
            kind, data = "message", ""
