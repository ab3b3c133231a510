"""A real bolt ``AsyncApp`` on the fake Slack: Socket Mode, or HTTP mode behind aiohttp.

These are the seams the Slack channel uses: ``AsyncWebClient(base_url=…)``
given to ``AsyncApp(client=…)`` points the Web API *and*
``apps.connections.open`` at another server (the Socket Mode handler uses
``app.client`` unless given ``web_client``); HTTP mode is one aiohttp route
that turns the request into an ``AsyncBoltRequest`` and back.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_server import FakeSlack

__all__ = ["FAST_PING", "http_app", "new_app", "socket_mode"]

FAST_PING = 0.3
"""A ping interval that notices a dead connection within a test (bolt's default is 10 s).

slack_sdk's monitor looks at the connection every ``ping_interval`` and
aiohttp's heartbeat (also ``ping_interval``) wants each pong within half of
it: too short an interval reconnects a merely slow connection.
"""


def new_app(slack: FakeSlack, **options: Any) -> AsyncApp:
    """An ``AsyncApp`` whose Web API (and ``apps.connections.open``) is the fake's."""
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    return AsyncApp(client=client, **options)


@contextlib.asynccontextmanager
async def socket_mode(
    app: AsyncApp, slack: FakeSlack, ping_interval: float = 5.0
) -> AsyncIterator[AsyncSocketModeHandler]:
    """``app`` connected over Socket Mode (``connect_async``), closed afterwards."""
    handler = AsyncSocketModeHandler(app, slack.app_token, ping_interval=ping_interval)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # bolt leaves it untyped
    try:
        yield handler
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


@contextlib.asynccontextmanager
async def http_app(app: AsyncApp, path: str = "/slack/events") -> AsyncIterator[str]:
    """``app`` behind an aiohttp route on loopback; yields the Request URL."""

    async def route(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    server = web.Application()
    server.router.add_post(path, route)
    runner = web.AppRunner(server, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        await runner.cleanup()
