"""A small MCP server (FastMCP over stdio) for the programmatic-tool-call tests.

Run as ``python tests/fakes/ptc_server.py``. Environment:

- ``FACIO_PTC_SECRET``: a secret only the server should know; ``whisper`` tells it,
  ``fail`` writes it to stderr and fails with it in the error (a careless server).
- ``FACIO_PTC_LOG``: a file each call that reaches the server is appended to,
  so a test can prove that a rejected call never arrived.
- ``FACIO_PTC_EXTRA``: when set, one more tool (``shout``) is offered: the
  tool list changes, and generated APIs must follow.
"""

from __future__ import annotations

import os
import sys

from mcp.server.fastmcp import FastMCP

server = FastMCP("facio-test")


def _record(line: str) -> None:
    log = os.environ.get("FACIO_PTC_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    _record(f"add {a} {b}")
    return a + b


@server.tool()
def whisper() -> str:
    """Tell the secret this server was started with."""
    _record("whisper")
    return f"secret={os.environ.get('FACIO_PTC_SECRET', '')}"


@server.tool()
def fail() -> str:
    """Fail, telling the secret on stderr and in the error."""
    secret = os.environ.get("FACIO_PTC_SECRET", "")
    _record("fail")
    print(f"fail: using {secret}", file=sys.stderr, flush=True)
    raise ValueError(f"the token {secret} was refused")


if os.environ.get("FACIO_PTC_EXTRA"):

    @server.tool()
    def shout(text: str) -> str:
        """Repeat text in capitals."""
        _record(f"shout {text}")
        return text.upper()


if __name__ == "__main__":
    server.run("stdio")
