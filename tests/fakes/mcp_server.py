"""A small FastMCP server for the tests: real processes, real MCP over stdio or HTTP.

    python -m tests.fakes.mcp_server                  # stdio
    python tests/fakes/mcp_server.py --http --port 0  # streamable HTTP on 127.0.0.1;
                                                      # prints "PORT <n>" when listening

It imports nothing from facio or the tests, so it runs by file path from any
working directory. Flags for failure cases: ``--crash`` (exit 3 at start,
after a line on stderr), ``--hang`` (start, never answer), ``--say-env NAME``
(write ``NAME=<value>`` to stderr at start: the client must redact it),
``--touch PATH`` (create PATH at start) and ``--wait-for PATH`` (answer only
once PATH exists: two servers that wait for each other start only together).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import sys
import time
from pathlib import Path

from mcp.server.fastmcp import Context, FastMCP, Image
from pydantic import BaseModel, Field

# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
LONG_NAME = "a_tool_with_a_name_that_is_much_too_long_for_the_model_apis_to_accept_it"


class Item(BaseModel):
    name: str
    qty: int = Field(ge=1)


class Order(BaseModel):
    customer: str
    items: list[Item]
    note: str | None = None


mcp = FastMCP("fake")


@mcp.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@mcp.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@mcp.tool()
def fail(message: str) -> str:
    """Always fails with the message."""
    raise ValueError(message)


@mcp.tool()
def place_order(order: Order) -> str:
    """Place an order (a nested schema)."""
    items = ", ".join(f"{i.qty}x {i.name}" for i in order.items)
    return f"order for {order.customer}: {items}"


@mcp.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@mcp.tool()
def getenv(name: str) -> str:
    """An environment variable of the server ("" when unset)."""
    return os.environ.get(name, "")


@mcp.tool()
def env_names() -> str:
    """The names of the server's environment variables, comma-separated."""
    return ",".join(sorted(os.environ))


@mcp.tool()
def touch(path: str) -> str:
    """Create a file (a side effect the tests can see)."""
    Path(path).write_text(f"touched at {time.time()}")
    return f"touched {path}"


@mcp.tool()
def picture() -> Image:
    """A tiny PNG."""
    return Image(data=PNG, format="png")


@mcp.tool()
def header(name: str, ctx: Context) -> str:  # type: ignore[type-arg]
    """An HTTP request header the server received ("" over stdio)."""
    request = ctx.request_context.request
    headers = getattr(request, "headers", None)
    return str(headers.get(name, "")) if headers is not None else ""


@mcp.tool(name="dotted.name")
def dotted() -> str:
    """A tool whose name has a dot."""
    return "dotted"


@mcp.tool(name=LONG_NAME)
def long_name() -> str:
    """A tool whose name is too long."""
    return "long"


def _serve_http(port: int) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)  # connections made from now on wait until uvicorn accepts them
    server = uvicorn.Server(uvicorn.Config(mcp.streamable_http_app(), log_level="warning"))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--crash", action="store_true")
    parser.add_argument("--crash-if", default="", metavar="PATH", help="crash when PATH exists")
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--say-env", default="")
    parser.add_argument("--touch", default="", metavar="PATH")
    parser.add_argument("--wait-for", default="", metavar="PATH")
    args = parser.parse_args()
    if args.touch:
        Path(args.touch).touch()
    while args.wait_for and not Path(args.wait_for).exists():
        time.sleep(0.05)
    if args.say_env:
        print(f"{args.say_env}={os.environ.get(args.say_env, '')}", file=sys.stderr, flush=True)
    if args.crash or (args.crash_if and Path(args.crash_if).exists()):
        print("fake server: cannot start (crash requested)", file=sys.stderr, flush=True)
        sys.exit(3)
    if args.hang:
        time.sleep(3600)
    if args.http:
        _serve_http(args.port)
    else:
        mcp.run("stdio")


if __name__ == "__main__":
    main()
