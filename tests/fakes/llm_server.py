"""A real loopback HTTP server that plays an LLM API: OpenAI Chat Completions and
Anthropic Messages, streamed over SSE exactly as the real services do.

Tests script it (a queue of replies, see :mod:`tests.fakes.llm_script`) and read
back every request it got. In a test::

    async with FakeLLMServer(api_key="k") as server:
        server.push(TurnReply(text="Hello"), StatusReply(429, retry_after="2"))
        provider = OpenAIChatProvider(client, api_base=server.openai_base, api_key="k")
        ...
        assert server.requests[0].body["stream"] is True

As a process (integration tests run facio against it)::

    python -m tests.fakes.llm_server --port 0 --script replies.json [--api-key K]

It prints one JSON line ``{"url", "openai_base", "anthropic_base"}`` once it
listens, and runs until SIGTERM/SIGINT. More replies can be queued with
``POST /_fake/replies`` (a script) and the recorded requests read with
``GET /_fake/requests``.

Routes: ``POST /v1/chat/completions`` (OpenAI; ``openai_base`` is ``<url>/v1``)
and ``POST /v1/messages`` (Anthropic; ``anthropic_base`` is ``<url>``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from tests.fakes.llm_script import (
    Fault,
    Reply,
    ScriptedToolCall,
    StatusReply,
    TurnReply,
    replies_from_json,
)
from tests.fakes.llm_wire import (
    MALFORMED_ANTHROPIC,
    MALFORMED_OPENAI,
    anthropic_error_body,
    anthropic_error_frame,
    anthropic_frames,
    openai_error_body,
    openai_error_frame,
    openai_frames,
)

__all__ = [
    "FakeLLMServer",
    "Fault",
    "RecordedRequest",
    "ScriptedToolCall",
    "StatusReply",
    "TurnReply",
    "main",
]

Wire = Literal["openai", "anthropic"]
KEEPALIVE_INTERVAL = 0.02


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    protocol: Wire
    path: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: Any
    """The parsed JSON body (the raw text when it was not JSON)."""


class FakeLLMServer:
    """The scripted fake; an async context manager that starts and stops it.

    Args:
        api_key: the key clients must send (``Authorization: Bearer`` for OpenAI,
            ``x-api-key`` for Anthropic); None accepts any.
        replies: the initial script.
        when_empty: with no reply queued, ``"error"`` answers 400 naming the
            problem; ``"echo"`` streams ``echo: <last user text>`` (handy for demos).
    """

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        host: str = "127.0.0.1",
        port: int = 0,
        replies: tuple[Reply, ...] | list[Reply] = (),
        when_empty: Literal["error", "echo"] = "error",
    ) -> None:
        self.api_key = api_key
        self.requests: list[RecordedRequest] = []
        self.client_gone = asyncio.Event()
        """Set when a client left a stream the server was still writing (a ``stall``)."""
        self._host = host
        self._port = port
        self._replies: deque[Reply] = deque(replies)
        self._when_empty = when_empty
        self._runner: web.AppRunner | None = None
        self._url = ""

    @property
    def url(self) -> str:
        if not self._url:
            raise RuntimeError("the fake LLM server is not started")
        return self._url

    @property
    def openai_base(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base(self) -> str:
        return self.url

    def push(self, *replies: Reply) -> None:
        """Queue replies; each request takes the next one."""
        self._replies.extend(replies)

    @property
    def pending(self) -> int:
        """Replies not yet used."""
        return len(self._replies)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/messages", self._anthropic)
        app.router.add_post("/_fake/replies", self._push_replies)
        app.router.add_get("/_fake/requests", self._list_requests)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLMServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- the two APIs -------------------------------------------------------------

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        body = await self._record("openai", request)
        given = request.headers.get("Authorization", "")
        if self.api_key is not None and given != f"Bearer {self.api_key}":
            key = given.removeprefix("Bearer ")
            # The real API names the key it got (masked); echoing it whole tests redaction.
            return _error("openai", 401, f"Incorrect API key provided: {key}.")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error("openai", 400, "'messages' is a required property")
        if body.get("stream") is not True:
            return _error("openai", 400, "the fake LLM server only streams")
        reply = self._next(body)
        if reply is None:
            return _error("openai", 400, "fake LLM server: no scripted reply left")
        if isinstance(reply, StatusReply):
            return _status("openai", reply)
        frames = openai_frames(reply, model=str(body.get("model")), seq=len(self.requests))
        return await self._stream(request, "openai", reply, frames)

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        body = await self._record("anthropic", request)
        if self.api_key is not None and request.headers.get("x-api-key") != self.api_key:
            return _error("anthropic", 401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error("anthropic", 400, "anthropic-version: header is required")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error("anthropic", 400, "messages: Field required")
        if not isinstance(body.get("max_tokens"), int):
            return _error("anthropic", 400, "max_tokens: Field required")
        if body.get("stream") is not True:
            return _error("anthropic", 400, "the fake LLM server only streams")
        reply = self._next(body)
        if reply is None:
            return _error("anthropic", 400, "fake LLM server: no scripted reply left")
        if isinstance(reply, StatusReply):
            return _status("anthropic", reply)
        frames = anthropic_frames(reply, model=str(body.get("model")), seq=len(self.requests))
        return await self._stream(request, "anthropic", reply, frames)

    async def _record(self, protocol: Wire, request: web.Request) -> Any:
        raw = await request.text()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append(RecordedRequest(protocol, request.path, headers, body))
        return body

    def _next(self, body: dict[str, Any]) -> Reply | None:
        if self._replies:
            return self._replies.popleft()
        if self._when_empty == "echo":
            return TurnReply(text=f"echo: {_last_user_text(body['messages'])}")
        return None

    async def _stream(
        self, request: web.Request, protocol: Wire, reply: TurnReply, frames: list[bytes]
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        try:
            fault = reply.fault
            for index, frame in enumerate([*frames, None]):
                if (
                    fault is not None
                    and index == min(fault.after, len(frames))
                    and not await self._fault(request, response, protocol, fault)
                ):
                    return response
                if frame is None:
                    break
                await response.write(frame)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
            await response.write_eof()
        except ConnectionError:
            self.client_gone.set()
        return response

    async def _fault(
        self, request: web.Request, response: web.StreamResponse, protocol: Wire, fault: Fault
    ) -> bool:
        """Play the fault; False when the body ends with it."""
        if fault.kind == "disconnect":
            if request.transport is not None:
                request.transport.close()  # flushes what was written, then FIN mid-body
            return False
        if fault.kind == "stall":
            while True:  # until the client leaves: a write then fails
                await response.write(b": keep-alive\n\n")
                await asyncio.sleep(KEEPALIVE_INTERVAL)
        if fault.kind == "malformed":
            await response.write(MALFORMED_OPENAI if protocol == "openai" else MALFORMED_ANTHROPIC)
            return True
        error = openai_error_frame if protocol == "openai" else anthropic_error_frame
        await response.write(error(fault))
        await response.write_eof()
        return False

    # -- control endpoints for the standalone process --------------------------------

    async def _push_replies(self, request: web.Request) -> web.Response:
        try:
            replies = replies_from_json(await request.json())
        except (ValueError, TypeError, KeyError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        self.push(*replies)
        return web.json_response({"queued": len(replies), "pending": self.pending})

    async def _list_requests(self, request: web.Request) -> web.Response:
        return web.json_response([asdict(r) for r in self.requests])


def _error(protocol: Wire, status: int, message: str) -> web.Response:
    make: Callable[[int, str], dict[str, Any]] = (
        openai_error_body if protocol == "openai" else anthropic_error_body
    )
    return web.json_response(make(status, message), status=status)


def _status(protocol: Wire, reply: StatusReply) -> web.Response:
    if reply.body is None:
        response = _error(protocol, reply.status, f"scripted HTTP {reply.status}")
    else:
        response = web.Response(status=reply.status, text=reply.body)
    for name, value in reply.headers:
        response.headers[name] = value
    if reply.retry_after is not None:
        response.headers["Retry-After"] = reply.retry_after
    return response


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            texts = [b.get("text", "") for b in content if isinstance(b, dict)]
            return "".join(t for t in texts if isinstance(t, str))
    return ""


async def _serve(args: argparse.Namespace) -> None:
    replies = replies_from_json(json.loads(Path(args.script).read_text())) if args.script else []
    server = FakeLLMServer(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        replies=replies,
        when_empty=args.when_empty,
    )
    async with server:
        addresses = {
            "url": server.url,
            "openai_base": server.openai_base,
            "anthropic_base": server.anthropic_base,
        }
        print(json.dumps(addresses), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the fake as a process until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.llm_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", help="JSON file of scripted replies")
    parser.add_argument("--api-key", default=None, help="the key clients must send")
    parser.add_argument("--when-empty", choices=("error", "echo"), default="error")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
