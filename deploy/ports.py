"""Free loopback TCP ports for locally started servers."""

from __future__ import annotations

import socket
from contextlib import ExitStack


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Return ``count`` distinct TCP ports that are free on ``host`` right now.

    All sockets stay bound until every port is chosen, so the kernel cannot hand
    the same port out twice within one call. A port can still be taken by another
    process before the caller binds it; callers start servers right away.
    """
    with ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def free_port(host: str = "127.0.0.1") -> int:
    """Return one TCP port that is free on ``host`` right now."""
    return free_ports(1, host)[0]
