"""Free loopback ports for servers the tests start as separate processes.

A port from ``bind(0)`` comes from the kernel's ephemeral range, the same
range every outgoing connection's local port is taken from: between the
probe and the server's own bind, a client socket of another test (or of a
parallel run on the same machine) may take it. Ports are picked below the
ephemeral range instead, at random, and checked free.
"""

from __future__ import annotations

import random
import socket

__all__ = ["free_port"]

LOW, HIGH = 20000, 32000
"""Below Linux's default ephemeral range (32768–60999)."""


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    for _ in range(200):
        port = random.randint(LOW, HIGH)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {LOW} and {HIGH}")
